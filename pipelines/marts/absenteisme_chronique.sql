-- absenteisme_chronique: students absent {{ seuil_chronique }} (10%) or more of their enrolled
-- school days, and the distribution of students by number of days absent (0 / 1 / 2-5 / 6-10 /
-- >10), per school year, CSS and establishment. Definition in words: absenteisme_chronique.yaml.
-- Runs over the shared zone (`inscription`, `calendrier`, `absence`).
--
-- Performance: no student x day cross join. Enrolled school days come from running counts over
-- the school's calendar (each enrolment's start and end events sorted among the school's days:
-- count at the end minus count at the start). Absent days come from the absence rows grouped to
-- one row per student and day, compared with the day's nb_periodes.
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
jour AS (
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
-- Event stream per school: school days (1) and enrolment starts (0, before a day of the same
-- date) and ends (2, after it: the departure day counts).
evenement AS (
  SELECT annee_scolaire, code_css, code_etablissement, jour, 1 AS ordre, '' AS cle_eleve, 1 AS jours
  FROM jour
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
-- Enrolled school days of each student in each school.
jours_inscrits AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_eleve,
    max(CASE WHEN ordre = 2 THEN jours_cumul END) - max(CASE WHEN ordre = 0 THEN jours_cumul END) AS nb_jours
  FROM cumul
  WHERE ordre <> 1
  GROUP BY annee_scolaire, code_css, code_etablissement, cle_eleve
),
-- Absent periods per student and day: distinct periods (a period recorded twice counts once)
-- that are absences (any category but retard: a late is not an absence; a period both late and
-- absent counts as absent).
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
-- Days absent per student and school: school days within the enrolment where the share of the
-- day's periods absent reaches {{ part_jour_absent }} (1.0 = every period: a full day). The
-- ratio is compared with the parameter (not the product) so that an exact share equals it.
jours_absents AS (
  SELECT b.annee_scolaire, b.code_css, b.code_etablissement, b.cle_eleve, count(*) AS nb_jours
  FROM absence_jour b
  JOIN jour j
    ON j.annee_scolaire = b.annee_scolaire AND j.code_css = b.code_css
   AND j.code_etablissement = b.code_etablissement AND j.jour = b.date_absence
  JOIN inscrit i
    ON i.annee_scolaire = b.annee_scolaire AND i.code_css = b.code_css
   AND i.code_etablissement = b.code_etablissement AND i.cle_eleve = b.cle_eleve
  WHERE b.date_absence >= i.debut AND b.date_absence <= i.fin
    AND CAST(b.p_absence AS DOUBLE) / CAST(j.nb_periodes AS DOUBLE) >= {{ part_jour_absent }}
  GROUP BY b.annee_scolaire, b.code_css, b.code_etablissement, b.cle_eleve
),
-- One row per student and school enrolled at least one school day.
eleve AS (
  SELECT
    p.annee_scolaire, p.code_css, p.code_etablissement, p.cle_eleve,
    p.nb_jours AS jours_inscrits,
    COALESCE(x.nb_jours, 0) AS jours_absents
  FROM jours_inscrits p
  LEFT JOIN jours_absents x
    ON x.annee_scolaire = p.annee_scolaire AND x.code_css = p.code_css
   AND x.code_etablissement = p.code_etablissement AND x.cle_eleve = p.cle_eleve
  WHERE p.nb_jours > 0
),
statut AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, jours_absents,
    CASE
      WHEN CAST(jours_absents AS DOUBLE) / CAST(jours_inscrits AS DOUBLE) >= {{ seuil_chronique }} THEN 1
      ELSE 0
    END AS chronique
  FROM eleve
)
SELECT
  annee_scolaire,
  code_css,
  code_etablissement,
  CAST(count(*) AS BIGINT) AS nb_eleves,
  CAST(sum(chronique) AS BIGINT) AS nb_chroniques,
  CAST(sum(1 - chronique) AS BIGINT) AS nb_non_chroniques,
  CAST(sum(chronique) AS DOUBLE) / CAST(count(*) AS DOUBLE) AS taux_chronique,
  CAST(sum(CASE WHEN jours_absents = 0 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_0_jour,
  CAST(sum(CASE WHEN jours_absents = 1 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_1_jour,
  CAST(sum(CASE WHEN jours_absents BETWEEN 2 AND 5 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_2_5_jours,
  CAST(sum(CASE WHEN jours_absents BETWEEN 6 AND 10 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_6_10_jours,
  CAST(sum(CASE WHEN jours_absents > 10 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_plus_10_jours
FROM statut
GROUP BY annee_scolaire, code_css, code_etablissement
ORDER BY annee_scolaire, code_css, code_etablissement
