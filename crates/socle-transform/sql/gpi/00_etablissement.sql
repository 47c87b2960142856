-- Schools by year, checked against the ministry registry. `{css}` is the CSS being loaded.
-- A school whose organisation is not this CSS, or whose establishment code is not one of this
-- CSS's establishments in the registry, is quarantined: every row pointing at it follows.
SELECT
  e.id_eco,
  concat(CAST(e.annee AS VARCHAR), '-', CAST(e.annee + 1 AS VARCHAR)) AS annee_scolaire,
  '{css}' AS code_css,
  'gpi' AS systeme_source,
  e.eco_off AS code_etablissement,
  e.eco,
  e.nom_eco AS nom_etablissement,
  r.nom AS nom_registre,
  coalesce(e.indic_eco_bidon, 0) = 1 AS ecole_bidon,
  CASE
    WHEN e.org <> '{css}' THEN 'wrong_organisation'
    WHEN o.code_css IS NULL THEN 'unknown_organisation'
    WHEN r.code_etablissement IS NULL THEN 'unknown_establishment'
  END AS _reason,
  CASE
    WHEN e.org <> '{css}' THEN 'org'
    WHEN o.code_css IS NULL THEN 'org'
    WHEN r.code_etablissement IS NULL THEN 'eco_off'
  END AS _column,
  CASE
    WHEN e.org <> '{css}' THEN concat('organisation ', e.org, ' is not the CSS being loaded ({css})')
    WHEN o.code_css IS NULL THEN concat('organisation ', e.org, ' is not in the ministry registry')
    WHEN r.code_etablissement IS NULL THEN concat('establishment ', e.eco_off, ' is not an establishment of CSS ', e.org, ' in the ministry registry')
  END AS _message,
  e._file,
  e._line
FROM gpm_t_eco e
LEFT JOIN ref_organismes o ON o.code_css = e.org
LEFT JOIN ref_etablissements r ON r.code_etablissement = e.eco_off AND r.code_css = e.org
