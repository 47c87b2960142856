-- bris_de_service: runs of more than {{ jours_bris }} consecutive school days absent all day, per
-- school year, CSS and establishment. Definition in words: bris_de_service.yaml. Reads the
-- intermediate models jours_inscrits (students enrolled at least one school day) and
-- absences_jour (absences per student and day, with the school day's rank in the calendar).
--
-- Consecutive means consecutive in the school's sequence of school days (jours_classe.rang:
-- weekends, holidays and pedagogical days have no rank, so they never break a run). Gaps and
-- islands: over a student's full-day absences in date order, rank - row_number() is constant
-- along a run of consecutive school days; grouping by it gives the runs.
WITH
eleves AS (
  SELECT annee_scolaire, code_css, code_etablissement, CAST(count(DISTINCT cle_eleve) AS BIGINT) AS nb_eleves
  FROM jours_inscrits
  GROUP BY annee_scolaire, code_css, code_etablissement
),
-- Full days absent (every period of the day) on school days within the enrolment; ilot = the
-- day's rank - the student's own row number: constant along a run.
jour_absent AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_eleve,
    CAST(rang AS BIGINT) - CAST(row_number() OVER (
      PARTITION BY annee_scolaire, code_css, code_etablissement, cle_eleve
      ORDER BY rang
    ) AS BIGINT) AS ilot
  FROM absences_jour
  WHERE jour_inscrit AND p_absence >= nb_periodes
),
-- Runs of consecutive school days absent all day, kept when longer than {{ jours_bris }} days.
bris AS (
  SELECT annee_scolaire, code_css, code_etablissement, cle_eleve, ilot, count(*) AS duree
  FROM jour_absent
  GROUP BY annee_scolaire, code_css, code_etablissement, cle_eleve, ilot
  HAVING count(*) > {{ jours_bris }}
),
bris_etablissement AS (
  SELECT
    annee_scolaire, code_css, code_etablissement,
    CAST(count(DISTINCT cle_eleve) AS BIGINT) AS nb_eleves_bris,
    CAST(count(*) AS BIGINT) AS nb_bris,
    CAST(max(duree) AS BIGINT) AS duree_max,
    avg(CAST(duree AS DOUBLE)) AS duree_moyenne
  FROM bris
  GROUP BY annee_scolaire, code_css, code_etablissement
)
SELECT
  e.annee_scolaire,
  e.code_css,
  e.code_etablissement,
  e.nb_eleves,
  COALESCE(b.nb_eleves_bris, CAST(0 AS BIGINT)) AS nb_eleves_bris,
  taux(COALESCE(b.nb_eleves_bris, 0), e.nb_eleves) AS taux_eleves_bris,
  COALESCE(b.nb_bris, CAST(0 AS BIGINT)) AS nb_bris,
  b.duree_max AS duree_max_bris,
  b.duree_moyenne AS duree_moyenne_bris
FROM eleves e
LEFT JOIN bris_etablissement b
  ON b.annee_scolaire = e.annee_scolaire AND b.code_css = e.code_css AND b.code_etablissement = e.code_etablissement
ORDER BY e.annee_scolaire, e.code_css, e.code_etablissement
