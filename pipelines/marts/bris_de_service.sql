-- bris_de_service: runs of more than {{ jours_bris }} consecutive school days absent all day, per
-- school year, CSS and establishment. Definition in words: bris_de_service.yaml. Runs over the
-- shared zone (`inscription`, `calendrier`, `absence`).
--
-- Consecutive means consecutive in the school's sequence of school days: each school day gets
-- its rank in the school's calendar (weekends, holidays and pedagogical days have no rank, so
-- they never break a run). Gaps and islands: over a student's full-day absences in date order,
-- rank - row_number() is constant along a run of consecutive school days; grouping by it gives
-- the runs. Performance: only the absence days are numbered (no student x day cross join);
-- enrolled students are counted from running counts over the calendar (start and end events).
WITH
-- GPI -> Mozaïk migration: per CSS and year, only the most recent system present in
-- `inscription` ('mozaik' > 'gpi').
systeme AS (
  SELECT annee_scolaire, code_css, max(systeme_source) AS systeme_retenu
  FROM inscription
  GROUP BY annee_scolaire, code_css
),
-- One enrolment per student, school and year (repeated rows merged); missing start = the year's
-- first day, missing departure = its last day; the departure day is enrolled. Inactive without
-- a departure date = cancelled: not counted. Dummy schools excluded.
inscrit AS (
  SELECT
    i.annee_scolaire,
    i.code_css,
    i.code_etablissement,
    i.cle_eleve,
    CASE WHEN count(*) > count(i.date_debut) THEN min(a.date_debut) ELSE min(i.date_debut) END AS debut,
    CASE WHEN count(*) > count(i.date_depart) THEN min(a.date_fin) ELSE max(i.date_depart) END AS fin
  FROM inscription i
  JOIN systeme s
    ON s.annee_scolaire = i.annee_scolaire AND s.code_css = i.code_css AND s.systeme_retenu = i.systeme_source
  JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
  WHERE i.ecole_bidon IS NOT TRUE
    AND (i.actif OR i.date_depart IS NOT NULL)
  GROUP BY i.annee_scolaire, i.code_css, i.code_etablissement, i.cle_eleve
),
-- School days (jour_classe, at least one period), one row per school and date.
jour_classe AS (
  SELECT
    c.annee_scolaire,
    c.code_css,
    c.code_etablissement,
    c."date" AS jour,
    max(c.nb_periodes) AS nb_periodes
  FROM calendrier c
  JOIN systeme s
    ON s.annee_scolaire = c.annee_scolaire AND s.code_css = c.code_css AND s.systeme_retenu = c.systeme_source
  WHERE c.jour_classe AND c.nb_periodes > 0
  GROUP BY c.annee_scolaire, c.code_css, c.code_etablissement, c."date"
),
-- The school-day sequence number of each school day.
jour AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, jour, nb_periodes,
    row_number() OVER (PARTITION BY annee_scolaire, code_css, code_etablissement ORDER BY jour) AS rang
  FROM jour_classe
),
-- Enrolled students (at least one school day): running count of school days at the end event
-- minus at the start event (start before a day of the same date, end after it).
evenement AS (
  SELECT annee_scolaire, code_css, code_etablissement, jour, 1 AS ordre, '' AS cle_eleve, 1 AS jours
  FROM jour_classe
  UNION ALL
  SELECT annee_scolaire, code_css, code_etablissement, debut, 0, cle_eleve, 0
  FROM inscrit
  UNION ALL
  SELECT annee_scolaire, code_css, code_etablissement, fin, 2, cle_eleve, 0
  FROM inscrit
),
cumul AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_eleve, ordre,
    sum(jours) OVER (
      PARTITION BY annee_scolaire, code_css, code_etablissement
      ORDER BY jour, ordre
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS jours_cumul
  FROM evenement
),
jours_inscrits AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_eleve,
    max(CASE WHEN ordre = 2 THEN jours_cumul END) - max(CASE WHEN ordre = 0 THEN jours_cumul END) AS nb_jours
  FROM cumul
  WHERE ordre <> 1
  GROUP BY annee_scolaire, code_css, code_etablissement, cle_eleve
),
eleves AS (
  SELECT annee_scolaire, code_css, code_etablissement, CAST(count(*) AS BIGINT) AS nb_eleves
  FROM jours_inscrits
  WHERE nb_jours > 0
  GROUP BY annee_scolaire, code_css, code_etablissement
),
-- Absent periods per student and day: distinct periods that are absences (any category but
-- retard; a period both late and absent counts as absent).
absence_periode AS (
  SELECT
    a.annee_scolaire, a.code_css, a.code_etablissement, a.cle_eleve, a.date_absence, a.periode
  FROM absence a
  JOIN systeme s
    ON s.annee_scolaire = a.annee_scolaire AND s.code_css = a.code_css AND s.systeme_retenu = a.systeme_source
  WHERE a.categorie IS NULL OR a.categorie <> 'retard'
  GROUP BY a.annee_scolaire, a.code_css, a.code_etablissement, a.cle_eleve, a.date_absence, a.periode
),
absence_jour AS (
  SELECT annee_scolaire, code_css, code_etablissement, cle_eleve, date_absence, count(*) AS p_absence
  FROM absence_periode
  GROUP BY annee_scolaire, code_css, code_etablissement, cle_eleve, date_absence
),
-- Full days absent (every period of the day) on school days within the enrolment, with the
-- day's rank; ilot = rank - the student's own row number: constant along a run.
jour_absent AS (
  SELECT
    b.annee_scolaire, b.code_css, b.code_etablissement, b.cle_eleve,
    CAST(j.rang AS BIGINT) - CAST(row_number() OVER (
      PARTITION BY b.annee_scolaire, b.code_css, b.code_etablissement, b.cle_eleve
      ORDER BY j.rang
    ) AS BIGINT) AS ilot
  FROM absence_jour b
  JOIN jour j
    ON j.annee_scolaire = b.annee_scolaire AND j.code_css = b.code_css
   AND j.code_etablissement = b.code_etablissement AND j.jour = b.date_absence
  JOIN inscrit i
    ON i.annee_scolaire = b.annee_scolaire AND i.code_css = b.code_css
   AND i.code_etablissement = b.code_etablissement AND i.cle_eleve = b.cle_eleve
  WHERE b.date_absence >= i.debut AND b.date_absence <= i.fin
    AND b.p_absence >= j.nb_periodes
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
  CAST(COALESCE(b.nb_eleves_bris, 0) AS DOUBLE) / CAST(e.nb_eleves AS DOUBLE) AS taux_eleves_bris,
  COALESCE(b.nb_bris, CAST(0 AS BIGINT)) AS nb_bris,
  b.duree_max AS duree_max_bris,
  b.duree_moyenne AS duree_moyenne_bris
FROM eleves e
LEFT JOIN bris_etablissement b
  ON b.annee_scolaire = e.annee_scolaire AND b.code_css = e.code_css AND b.code_etablissement = e.code_etablissement
ORDER BY e.annee_scolaire, e.code_css, e.code_etablissement
