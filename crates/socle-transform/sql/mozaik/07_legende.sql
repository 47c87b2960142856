-- Mozaïk legends and their codes (the `codes` array of legendes.jsonl, unnested by the
-- connector); a legend without codes gives one row with a null code. reussite true -> reussite,
-- false -> echec, null -> not evaluated (null indicator).
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'mozaik' AS systeme_source,
  e.code_etablissement,
  l.legende AS code_legende,
  coalesce(l.seuil_reussite, {default_pass_mark}) AS seuil_reussite,
  c.code AS cote,
  c.note_equivalente,
  CASE WHEN c.reussite THEN 'reussite' WHEN NOT c.reussite THEN 'echec' END AS indicateur,
  CASE WHEN e.id_eco IS NULL THEN 'unknown_school' END AS _reason,
  CASE WHEN e.id_eco IS NULL THEN 'etablissement_id' END AS _column,
  CASE WHEN e.id_eco IS NULL THEN concat('etablissement_id ', CAST(l.etablissement_id AS VARCHAR), ' is not a loaded school of etablissements') END AS _message,
  l._file,
  l._line
FROM legendes l
LEFT JOIN etablissement_ok e ON e.id_eco = l.etablissement_id
LEFT JOIN legendes_codes c ON c.etablissement_id = l.etablissement_id AND c.legende = l.legende
