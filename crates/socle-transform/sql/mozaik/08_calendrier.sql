-- Mozaïk calendar days. jour_classe is the line's own flag; Mozaïk exports no cycle day and no
-- étape dates, so jour_cycle and etape are null (indicators by étape need GPI's calendar).
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'mozaik' AS systeme_source,
  e.code_etablissement,
  c."date" AS "date",
  coalesce(c.jour_classe, false) AS jour_classe,
  CAST(NULL AS VARCHAR) AS jour_cycle,
  c.nb_periodes,
  CAST(NULL AS VARCHAR) AS etape,
  CASE WHEN e.id_eco IS NULL THEN 'unknown_school' END AS _reason,
  CASE WHEN e.id_eco IS NULL THEN 'etablissement_id' END AS _column,
  CASE WHEN e.id_eco IS NULL THEN concat('etablissement_id ', CAST(c.etablissement_id AS VARCHAR), ' is not a loaded school of etablissements') END AS _message,
  c._file,
  c._line
FROM calendrier c
LEFT JOIN etablissement_ok e ON e.id_eco = c.etablissement_id
