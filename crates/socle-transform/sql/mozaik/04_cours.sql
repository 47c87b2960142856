-- Mozaïk courses per school and year; canonical codes as for GPI (the CSS's mapping of its local
-- codes, else the code itself, flagged local when neither mapped nor canonical).
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'mozaik' AS systeme_source,
  e.code_etablissement,
  coalesce(m.code_cours, c.code_cours) AS code_cours,
  c.code_cours AS code_cours_source,
  m.code_cours IS NULL AND NOT regexp_like(c.code_cours, '^([0-9]{6}|[A-Z]{3}[1-6]00)$') AS cours_local,
  c.description,
  c.unites,
  CASE WHEN e.id_eco IS NULL THEN 'unknown_school' END AS _reason,
  CASE WHEN e.id_eco IS NULL THEN 'etablissement_id' END AS _column,
  CASE WHEN e.id_eco IS NULL THEN concat('etablissement_id ', CAST(c.etablissement_id AS VARCHAR), ' is not a loaded school of etablissements') END AS _message,
  c._file,
  c._line
FROM cours c
LEFT JOIN etablissement_ok e ON e.id_eco = c.etablissement_id
LEFT JOIN map_cours m ON m.code_source = c.code_cours
