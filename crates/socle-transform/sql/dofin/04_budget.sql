-- Budget lines, mapped exactly as the ledger's (same unit check, same finance mapping, same
-- quarantine of unmapped codes), so budget and actuals compare field by field.
SELECT
  concat(CAST(b.exer_fin AS VARCHAR), '-', CAST(b.exer_fin + 1 AS VARCHAR)) AS annee_scolaire,
  '{css}' AS code_css,
  b.exer_fin,
  b.version,
  CAST(b.fonds AS VARCHAR) AS fonds,
  b.activite,
  b.objet,
  b.unite_adm,
  u.code_etablissement,
  b.montant,
  o.nature,
  a.champ,
  a.champ_libelle,
  o.categorie_objet,
  coalesce(a.ressources_informationnelles, false) AS ressources_informationnelles,
  COALESCE(a.secteur, 'commun') AS secteur,
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
    WHEN u.code_unite IS NULL THEN concat('administrative unit ', b.unite_adm, ' is not a loaded unit of fin_nomen_unit_adm for fiscal year ', CAST(b.exer_fin AS VARCHAR))
    WHEN a.champ IS NULL THEN concat('activity ', b.activite, ' matches no prefix of the finance mapping (schemas/finance.yaml, or finance: in css/{css}.yaml)')
    WHEN o.categorie_objet IS NULL THEN concat('object ', b.objet, ' matches no prefix of the finance mapping (schemas/finance.yaml, or finance: in css/{css}.yaml)')
  END AS _message,
  b._file,
  b._line
FROM fin_budget b
LEFT JOIN unite_administrative_ok u ON u.exer_fin = b.exer_fin AND u.code_unite = b.unite_adm
LEFT JOIN code_activite a ON a.activite = b.activite
LEFT JOIN code_objet o ON o.objet = b.objet
