-- General-ledger lines with their field, IT flag, object category and nature from the finance
-- mapping, and the establishment of their administrative unit. A line whose unit is not a loaded
-- unit of its fiscal year, or whose activity or object no prefix of the mapping matches
-- (`unmapped_code`), is quarantined: totals by field never silently lose money. The amount is
-- kept exact (money: Decimal128(18, 2)) and signed as exported; descr is free text that may hold
-- names (personal class `name`: never in the shared zone).
SELECT
  concat(CAST(f.exer_fin AS VARCHAR), '-', CAST(f.exer_fin + 1 AS VARCHAR)) AS annee_scolaire,
  '{css}' AS code_css,
  f.exer_fin,
  f.no_piece,
  f.no_ligne,
  f.date_ecriture,
  CAST(f.fonds AS VARCHAR) AS fonds,
  f.activite,
  f.objet,
  f.unite_adm,
  u.code_etablissement,
  f.montant,
  o.nature,
  a.champ,
  a.champ_libelle,
  o.categorie_objet,
  coalesce(a.ressources_informationnelles, false) AS ressources_informationnelles,
  COALESCE(a.secteur, 'commun') AS secteur,
  f.descr AS description,
  CASE
    WHEN u.code_unite IS NULL THEN 'unknown_unit'
    WHEN a.champ IS NULL THEN 'unmapped_code'
    WHEN o.categorie_objet IS NULL THEN 'unmapped_code'
  END AS _reason,
  CASE
    WHEN u.code_unite IS NULL THEN 'unite_adm'
    WHEN a.champ IS NULL THEN 'activite'
    WHEN o.categorie_objet IS NULL THEN 'objet'
  END AS _column,
  CASE
    WHEN u.code_unite IS NULL THEN concat('administrative unit ', f.unite_adm, ' is not a loaded unit of fin_nomen_unit_adm for fiscal year ', CAST(f.exer_fin AS VARCHAR))
    WHEN a.champ IS NULL THEN concat('activity ', f.activite, ' matches no prefix of the finance mapping (schemas/finance.yaml, or finance: in css/{css}.yaml)')
    WHEN o.categorie_objet IS NULL THEN concat('object ', f.objet, ' matches no prefix of the finance mapping (schemas/finance.yaml, or finance: in css/{css}.yaml)')
  END AS _message,
  f._file,
  f._line
FROM fin_ecriture f
LEFT JOIN unite_administrative_ok u ON u.exer_fin = f.exer_fin AND u.code_unite = f.unite_adm
LEFT JOIN code_activite a ON a.activite = f.activite
LEFT JOIN code_objet o ON o.objet = f.objet
