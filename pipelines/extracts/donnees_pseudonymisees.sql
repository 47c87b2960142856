-- donnees_pseudonymisees: the students enrolled on September 30 of a CSS, one row per school year,
-- sector and student key, for the ministry's pseudonymous zone: the shared key, the birth year
-- (never the date), sex, the place and the special-needs flags. No name, no code permanent, no
-- fiche, no free text. Definition in words: donnees_pseudonymisees.yaml.
WITH
-- One sex and birth year per key: a student known to two systems of the CSS has one key; the
-- smallest value is taken when they differ (the CSS's own data quality report lists those).
eleves AS (
  SELECT cle_eleve, min(sexe) AS sexe, min(CAST(date_part('year', date_naissance) AS BIGINT)) AS annee_naissance
  FROM eleve
  GROUP BY cle_eleve
)
SELECT
  e.annee_scolaire,
  e.cle_eleve,
  e.code_css,
  e.code_etablissement,
  e.secteur,
  e.ordre_enseignement,
  e.classe,
  s.sexe,
  s.annee_naissance,
  e.ehdaa,
  e.plan_intervention
FROM eleves_30_septembre e
LEFT JOIN eleves s ON s.cle_eleve = e.cle_eleve
