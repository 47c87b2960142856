-- jours_inscrits: enrolled school days and periods per student, school and étape. Definition
-- in words: jours_inscrits.yaml.
--
-- Performance (province: ~1M students): no student x day cross join. Each enrolment window
-- contributes two events (its start and its end) to a stream that also holds the school's days,
-- sorted by date per school and étape; the running sum at the end event minus the one at the
-- start event is the window's days (periods). On the same date the start (ordre 0) comes before
-- the day (1) and the end (2) after it, so both bounds are enrolled days.
WITH
etape AS (
  SELECT DISTINCT annee_scolaire, code_css, code_etablissement, cle_etape
  FROM jours_classe
),
evenement AS (
  SELECT annee_scolaire, code_css, code_etablissement, cle_etape, jour, 1 AS ordre,
         '' AS cle_eleve, 1 AS jours, nb_periodes AS periodes
  FROM jours_classe
  UNION ALL
  -- Each window's two events: its start (ordre 0) and its end (ordre 2).
  SELECT i.annee_scolaire, i.code_css, i.code_etablissement, t.cle_etape,
         CASE WHEN b.ordre = 0 THEN i.debut ELSE i.fin END, b.ordre,
         i.cle_eleve, 0, 0
  FROM inscriptions_ecole i
  JOIN etape t
    ON t.annee_scolaire = i.annee_scolaire AND t.code_css = i.code_css AND t.code_etablissement = i.code_etablissement
  CROSS JOIN (SELECT 0 AS ordre UNION ALL SELECT 2) b
),
cumul AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve, ordre,
    sum(jours) OVER (
      PARTITION BY annee_scolaire, code_css, code_etablissement, cle_etape
      ORDER BY jour, ordre
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS jours_cumul,
    sum(periodes) OVER (
      PARTITION BY annee_scolaire, code_css, code_etablissement, cle_etape
      ORDER BY jour, ordre
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS periodes_cumul
  FROM evenement
),
prevu AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve,
    max(CASE WHEN ordre = 2 THEN jours_cumul END) - max(CASE WHEN ordre = 0 THEN jours_cumul END) AS nb_jours,
    max(CASE WHEN ordre = 2 THEN periodes_cumul END) - max(CASE WHEN ordre = 0 THEN periodes_cumul END) AS nb_periodes
  FROM cumul
  WHERE ordre <> 1
  GROUP BY annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve
)
SELECT annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve, nb_jours, nb_periodes
FROM prevu
WHERE nb_jours > 0
