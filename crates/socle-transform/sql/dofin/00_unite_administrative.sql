-- Administrative units by fiscal year. A unit that is a school names its establishment
-- (eco_off), which must be one of this CSS's in the registry; otherwise the unit is quarantined,
-- and so are the ledger and budget lines that point at it. `exer_fin` is the start year.
SELECT
  concat(CAST(u.exer_fin AS VARCHAR), '-', CAST(u.exer_fin + 1 AS VARCHAR)) AS annee_scolaire,
  '{css}' AS code_css,
  u.exer_fin,
  u.code AS code_unite,
  u.descr AS description,
  u.eco_off AS code_etablissement,
  CASE WHEN u.eco_off IS NOT NULL AND r.code_etablissement IS NULL THEN 'unknown_establishment' END AS _reason,
  CASE WHEN u.eco_off IS NOT NULL AND r.code_etablissement IS NULL THEN 'eco_off' END AS _column,
  CASE
    WHEN u.eco_off IS NOT NULL AND r.code_etablissement IS NULL THEN concat('establishment ', u.eco_off, ' is not an establishment of CSS {css} in the ministry registry')
  END AS _message,
  u._file,
  u._line
FROM fin_nomen_unit_adm u
LEFT JOIN ref_etablissements r ON r.code_etablissement = u.eco_off AND r.code_css = '{css}'
