-- Mozaïk schools by year, checked against the ministry registry like GPI's: an establishment
-- code that is not one of this CSS's establishments is quarantined, and every row pointing at
-- the school follows. Mozaïk has no organisation column (the CSS is the export folder's) and no
-- local school number (`eco` is null); `etablissement_id` is its key of a school for a year.
SELECT
  e.etablissement_id AS id_eco,
  e.annee_scolaire,
  '{css}' AS code_css,
  'mozaik' AS systeme_source,
  e.code_organisme AS code_etablissement,
  CAST(NULL AS VARCHAR) AS eco,
  e.nom AS nom_etablissement,
  r.nom AS nom_registre,
  coalesce(e.fictif, false) AS ecole_bidon,
  CASE WHEN r.code_etablissement IS NULL THEN 'unknown_establishment' END AS _reason,
  CASE WHEN r.code_etablissement IS NULL THEN 'code_organisme' END AS _column,
  CASE
    WHEN r.code_etablissement IS NULL THEN concat('establishment ', e.code_organisme, ' is not an establishment of CSS {css} in the ministry registry')
  END AS _message,
  e._file,
  e._line
FROM etablissements e
LEFT JOIN ref_etablissements r ON r.code_etablissement = e.code_organisme AND r.code_css = '{css}'
