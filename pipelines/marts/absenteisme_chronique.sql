-- absenteisme_chronique: students absent {{ seuil_chronique }} (10%) or more of their enrolled
-- school days, and the distribution of students by number of days absent (0 / 1 / 2-5 / 6-10 /
-- >10), per school year, CSS and establishment. Definition in words: absenteisme_chronique.yaml.
-- Reads the intermediate models jours_inscrits (enrolled school days per student, school and
-- étape) and absences_jour (absences per student and day, outside dummy establishments).
WITH
-- Days absent per student and school: school days within the enrolment where the share of the
-- day's periods absent reaches {{ part_jour_absent }} (1.0 = every period: a full day). The
-- ratio is compared with the parameter (not the product) so that an exact share equals it.
jours_absents AS (
  SELECT annee_scolaire, code_css, code_etablissement, cle_eleve, count(*) AS nb_jours
  FROM absences_jour
  WHERE jour_inscrit AND p_absence > 0 AND taux(p_absence, nb_periodes) >= {{ part_jour_absent }}
  GROUP BY annee_scolaire, code_css, code_etablissement, cle_eleve
),
-- One row per student and school enrolled at least one school day (the étapes added up).
eleve AS (
  SELECT
    p.annee_scolaire, p.code_css, p.code_etablissement, p.cle_eleve,
    p.jours_inscrits,
    COALESCE(x.nb_jours, 0) AS jours_absents
  FROM (
    SELECT annee_scolaire, code_css, code_etablissement, cle_eleve, sum(nb_jours) AS jours_inscrits
    FROM jours_inscrits
    GROUP BY annee_scolaire, code_css, code_etablissement, cle_eleve
  ) p
  LEFT JOIN jours_absents x
    ON x.annee_scolaire = p.annee_scolaire AND x.code_css = p.code_css
   AND x.code_etablissement = p.code_etablissement AND x.cle_eleve = p.cle_eleve
),
statut AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, jours_absents,
    CASE WHEN taux(jours_absents, jours_inscrits) >= {{ seuil_chronique }} THEN 1 ELSE 0 END AS chronique
  FROM eleve
)
SELECT
  annee_scolaire,
  code_css,
  code_etablissement,
  CAST(count(*) AS BIGINT) AS nb_eleves,
  CAST(sum(chronique) AS BIGINT) AS nb_chroniques,
  CAST(sum(1 - chronique) AS BIGINT) AS nb_non_chroniques,
  taux(sum(chronique), count(*)) AS taux_chronique,
  CAST(sum(CASE WHEN jours_absents = 0 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_0_jour,
  CAST(sum(CASE WHEN jours_absents = 1 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_1_jour,
  CAST(sum(CASE WHEN jours_absents BETWEEN 2 AND 5 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_2_5_jours,
  CAST(sum(CASE WHEN jours_absents BETWEEN 6 AND 10 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_6_10_jours,
  CAST(sum(CASE WHEN jours_absents > 10 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_plus_10_jours
FROM statut
GROUP BY annee_scolaire, code_css, code_etablissement
ORDER BY annee_scolaire, code_css, code_etablissement
