-- Legends and their codes; a numeric legend without codes gives one row with a null code.
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'gpi' AS systeme_source,
  e.code_etablissement,
  l.leg AS code_legende,
  coalesce(l.seuil_reus, {default_pass_mark}) AS seuil_reussite,
  c.cote,
  c.note_equiv AS note_equivalente,
  CASE c.indic_reus_echec WHEN 1 THEN 'reussite' WHEN 2 THEN 'echec' END AS indicateur,
  CASE WHEN e.id_eco IS NULL THEN 'unknown_school' END AS _reason,
  CASE WHEN e.id_eco IS NULL THEN 'id_eco' END AS _column,
  CASE WHEN e.id_eco IS NULL THEN concat('id_eco ', CAST(l.id_eco AS VARCHAR), ' is not a loaded school of gpm_t_eco') END AS _message,
  l._file,
  l._line
FROM gpm_t_leg l
LEFT JOIN etablissement_ok e ON e.id_eco = l.id_eco
LEFT JOIN gpm_t_cotes c ON c.id_eco = l.id_eco AND c.leg = l.leg
