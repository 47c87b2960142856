-- Yearly enrolments, with the school's year and ministry code and the student's shared key.
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'gpi' AS systeme_source,
  e.code_etablissement,
  k.cle_eleve,
  d.fiche,
  e.eco,
  e.ecole_bidon,
  upper(coalesce(d.statut_don_an, '')) = 'A' AS actif,
  d.ordre_ens AS ordre_enseignement,
  d.classe,
  d.grp_rep AS groupe_repere,
  coalesce(d.plan_interv_ehdaa, 0) = 1 AS plan_intervention,
  d.difficulte AS code_difficulte,
  d.difficulte IS NOT NULL AS ehdaa,
  d.date_deb AS date_debut,
  d.date_depart,
  d.motif_depart,
  CASE WHEN e.id_eco IS NULL THEN 'unknown_school' WHEN k.fiche IS NULL THEN 'unknown_student' END AS _reason,
  CASE WHEN e.id_eco IS NULL THEN 'id_eco' WHEN k.fiche IS NULL THEN 'fiche' END AS _column,
  CASE
    WHEN e.id_eco IS NULL THEN concat('id_eco ', CAST(d.id_eco AS VARCHAR), ' is not a loaded school of gpm_t_eco')
    WHEN k.fiche IS NULL THEN 'fiche is not a student of gpm_e_ele'
  END AS _message,
  d._file,
  d._line
FROM gpm_e_dan d
LEFT JOIN etablissement_ok e ON e.id_eco = d.id_eco
LEFT JOIN eleve_key k ON k.fiche = d.fiche
