-- Absent periods with their canonical category (from the school's reason table and the
-- dictionary's cpt_abs map). A reason code unknown to the school's table is kept with no category
-- (the marts count it as an absence without a category, absenteeism is never undercounted) and
-- reported: the quality report's anomaly motifs_absence_inconnus (99_anomalies.sql) and the
-- anomalies mart (motif_absence_inconnu). The dummy-school flag comes with the school.
SELECT
  e.annee_scolaire,
  '{css}' AS code_css,
  'gpi' AS systeme_source,
  e.code_etablissement,
  k.cle_eleve,
  e.ecole_bidon,
  a.fiche,
  a.date_abs AS date_absence,
  a.periode,
  a.motif_abs AS motif_absence,
  c.categorie,
  CASE
    WHEN e.id_eco IS NULL THEN 'unknown_school'
    WHEN k.fiche IS NULL THEN 'unknown_student'
  END AS _reason,
  CASE
    WHEN e.id_eco IS NULL THEN 'id_eco'
    WHEN k.fiche IS NULL THEN 'fiche'
  END AS _column,
  CASE
    WHEN e.id_eco IS NULL THEN concat('id_eco ', CAST(a.id_eco AS VARCHAR), ' is not a loaded school of gpm_t_eco')
    WHEN k.fiche IS NULL THEN 'fiche is not a student of gpm_e_ele'
  END AS _message,
  a._file,
  a._line
FROM gpm_e_abs a
LEFT JOIN etablissement_ok e ON e.id_eco = a.id_eco
LEFT JOIN eleve_key k ON k.fiche = a.fiche
LEFT JOIN gpm_t_motif_abs m ON m.id_eco = a.id_eco AND m.motif_abs = a.motif_abs
LEFT JOIN map_categories_absence c ON c.cpt_abs = CAST(m.cpt_abs AS VARCHAR)
