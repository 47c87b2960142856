-- Mozaïk absent periods. The category is the line's own (motivee, non_motivee, retard: already
-- canonical, checked by the contract); the local reason code is kept as motif_absence. Mozaïk has
-- no table of reasons, so a reason is not checked against one (GPI's are). The dummy-school flag
-- (fictif) comes with the school: an absence entered at a dummy school is loaded, flagged, and
-- never counted by the marts.
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'mozaik' AS systeme_source,
  e.code_etablissement,
  k.cle_eleve,
  e.ecole_bidon,
  a.eleve_id AS fiche,
  a."date" AS date_absence,
  a.periode,
  a.motif AS motif_absence,
  a.categorie,
  CASE
    WHEN e.id_eco IS NULL THEN 'unknown_school'
    WHEN k.fiche IS NULL THEN 'unknown_student'
  END AS _reason,
  CASE
    WHEN e.id_eco IS NULL THEN 'etablissement_id'
    WHEN k.fiche IS NULL THEN 'eleve_id'
  END AS _column,
  CASE
    WHEN e.id_eco IS NULL THEN concat('etablissement_id ', CAST(a.etablissement_id AS VARCHAR), ' is not a loaded school of etablissements')
    WHEN k.fiche IS NULL THEN 'eleve_id is not a student of eleves'
  END AS _message,
  a._file,
  a._line
FROM absences a
LEFT JOIN etablissement_ok e ON e.id_eco = a.etablissement_id
LEFT JOIN eleve_key k ON k.fiche = a.eleve_id
