-- JADE centres and their ministry establishment, checked against the registry: a centre whose
-- `ecooff` is not an establishment of this CSS keeps a null code_etablissement, and its spells
-- are quarantined.
SELECT
  c.ecocen,
  c.ecooff,
  r.code_etablissement
FROM t_ecocen c
LEFT JOIN ref_etablissements r ON r.code_etablissement = c.ecooff AND r.code_css = '{css}'
