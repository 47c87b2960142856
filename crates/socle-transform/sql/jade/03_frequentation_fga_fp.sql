-- JADE attendance spells (FGA or FP). `annee` is the school year's start year (as GPI's); the
-- centre's establishment comes from t_ecocen and must be one of this CSS's in the registry.
SELECT
  concat(CAST(f.annee AS VARCHAR), '-', CAST(f.annee + 1 AS VARCHAR)) AS annee_scolaire,
  '{css}' AS code_css,
  c.code_etablissement,
  k.cle_eleve,
  f.fiche,
  f.ecocen AS centre,
  f.prog AS programme,
  upper(f.serviceenseign) AS service,
  upper(f.typefreq) AS type_frequentation,
  f.datedeb AS date_debut,
  f.datefin AS date_fin,
  f.motifdep AS motif_depart,
  CASE
    WHEN f.org IS NOT NULL AND f.org <> '{css}' THEN 'wrong_organisation'
    WHEN c.ecocen IS NULL THEN 'unknown_centre'
    WHEN c.code_etablissement IS NULL THEN 'unknown_establishment'
    WHEN k.fiche IS NULL THEN 'unknown_student'
  END AS _reason,
  CASE
    WHEN f.org IS NOT NULL AND f.org <> '{css}' THEN 'org'
    WHEN c.ecocen IS NULL THEN 'ecocen'
    WHEN c.code_etablissement IS NULL THEN 'ecocen'
    WHEN k.fiche IS NULL THEN 'fiche'
  END AS _column,
  CASE
    WHEN f.org IS NOT NULL AND f.org <> '{css}' THEN concat('organisation ', f.org, ' is not the CSS being loaded ({css})')
    WHEN c.ecocen IS NULL THEN concat('centre ', f.ecocen, ' is not a centre of t_ecocen')
    WHEN c.code_etablissement IS NULL THEN concat('centre ', f.ecocen, ': establishment ', coalesce(c.ecooff, '(none)'), ' is not an establishment of CSS {css} in the ministry registry')
    WHEN k.fiche IS NULL THEN 'fiche is not a student of e_ele'
  END AS _message,
  f._file,
  f._line
FROM e_freq f
LEFT JOIN centre c ON c.ecocen = f.ecocen
LEFT JOIN eleve_key k ON k.fiche = f.fiche
