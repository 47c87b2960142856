-- Subjects per school and year. The canonical course code is the CSS's mapping of its local
-- code (schemas/css/<code>.yaml), else the code itself; a code that is neither mapped nor
-- canonical (6-digit ministry code, or primary code like FRA400) is kept and flagged local.
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'gpi' AS systeme_source,
  e.code_etablissement,
  coalesce(m.code_cours, t.mat) AS code_cours,
  t.mat AS code_cours_source,
  m.code_cours IS NULL AND NOT regexp_like(t.mat, '^([0-9]{6}|[A-Z]{3}[1-6]00)$') AS cours_local,
  t.descr AS description,
  t.unites,
  CASE WHEN e.id_eco IS NULL THEN 'unknown_school' END AS _reason,
  CASE WHEN e.id_eco IS NULL THEN 'id_eco' END AS _column,
  CASE WHEN e.id_eco IS NULL THEN concat('id_eco ', CAST(t.id_eco AS VARCHAR), ' is not a loaded school of gpm_t_eco') END AS _message,
  t._file,
  t._line
FROM gpm_t_mat t
LEFT JOIN etablissement_ok e ON e.id_eco = t.id_eco
LEFT JOIN map_cours m ON m.code_source = t.mat
