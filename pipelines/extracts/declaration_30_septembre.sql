-- declaration_30_septembre: the students enrolled on September 30, one row per school year,
-- sector and student, with their code permanent, read in the CSS's own zone. The count itself
-- (who is enrolled, where) is the intermediate model eleves_30_septembre: the same definition as
-- the effectif_30_septembre mart. Definition in words: declaration_30_septembre.yaml.
WITH
-- The code permanent of each student key of the CSS. A student known to two systems of the CSS
-- (GPI and JADE) has one key and the same code; a key made from a fiche (no valid code
-- permanent, cle_locale) has none: the declaration's `required` rule refuses it by line.
codes AS (
  SELECT cle_eleve, min(code_permanent) AS code_permanent, count(DISTINCT code_permanent) AS nb_codes
  FROM eleve
  GROUP BY cle_eleve
)
SELECT
  e.annee_scolaire,
  e.code_css,
  e.code_etablissement,
  e.secteur,
  e.ordre_enseignement,
  e.classe,
  e.ehdaa,
  e.plan_intervention,
  c.code_permanent,
  coalesce(c.nb_codes, 0) AS nb_codes_permanents
FROM eleves_30_septembre e
LEFT JOIN codes c ON c.cle_eleve = e.cle_eleve
