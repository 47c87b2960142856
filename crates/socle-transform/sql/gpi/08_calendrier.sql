-- Calendar days, with the étape whose dates contain the day.
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'gpi' AS systeme_source,
  e.code_etablissement,
  c.date_evenement AS "date",
  c.jour_cycle IS NOT NULL AS jour_classe,
  c.jour_cycle,
  c.nb_periodes,
  t.etape,
  CASE WHEN e.id_eco IS NULL THEN 'unknown_school' END AS _reason,
  CASE WHEN e.id_eco IS NULL THEN 'id_eco' END AS _column,
  CASE WHEN e.id_eco IS NULL THEN concat('id_eco ', CAST(c.id_eco AS VARCHAR), ' is not a loaded school of gpm_t_eco') END AS _message,
  c._file,
  c._line
FROM gpm_t_cal c
LEFT JOIN etablissement_ok e ON e.id_eco = c.id_eco
LEFT JOIN gpm_t_etape t ON t.id_eco = c.id_eco AND c.date_evenement BETWEEN t.date_deb AND t.date_fin
