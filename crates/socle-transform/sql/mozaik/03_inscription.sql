-- Mozaïk frequentations -> yearly enrolments, the same canonical rows as GPI's gpm_e_dan.
-- ordre_enseignement: primaire 3, secondaire 4, prescolaire by level: niveau 4 -> 1 (4-year-old
-- preschool), niveau 5 -> 2 (5-year-old kindergarten); any other preschool level is out of
-- domain. classe is the level as text; actif is `active`; date_depart is `date_fin`.
SELECT
  f.annee_scolaire,
  '{css}' AS code_css,
  'mozaik' AS systeme_source,
  e.code_etablissement,
  k.cle_eleve,
  f.eleve_id AS fiche,
  CAST(NULL AS VARCHAR) AS eco,
  e.ecole_bidon,
  coalesce(f.active, false) AS actif,
  f.ordre AS ordre_enseignement,
  CAST(f.niveau AS VARCHAR) AS classe,
  f.groupe_repere,
  coalesce(f.plan_intervention, false) AS plan_intervention,
  f.code_difficulte,
  f.code_difficulte IS NOT NULL AS ehdaa,
  f.date_debut,
  f.date_fin AS date_depart,
  f.motif_depart,
  CASE
    WHEN e.id_eco IS NULL THEN 'unknown_school'
    WHEN k.fiche IS NULL THEN 'unknown_student'
    WHEN f.ordre IS NULL THEN 'out_of_domain'
  END AS _reason,
  CASE
    WHEN e.id_eco IS NULL THEN 'etablissement_id'
    WHEN k.fiche IS NULL THEN 'eleve_id'
    WHEN f.ordre IS NULL THEN 'niveau'
  END AS _column,
  CASE
    WHEN e.id_eco IS NULL THEN concat('etablissement_id ', CAST(f.etablissement_id AS VARCHAR), ' is not a loaded school of etablissements')
    WHEN k.fiche IS NULL THEN 'eleve_id is not a student of eleves'
    WHEN f.ordre IS NULL THEN concat('order ', coalesce(f.ordre_enseignement, '(none)'), ' at level ', coalesce(CAST(f.niveau AS VARCHAR), '(none)'), ' has no canonical ordre_enseignement (preschool is level 4 or 5)')
  END AS _message,
  f._file,
  f._line
FROM (
  SELECT
    *,
    CASE ordre_enseignement
      WHEN 'primaire' THEN 3
      WHEN 'secondaire' THEN 4
      WHEN 'prescolaire' THEN CASE niveau WHEN 4 THEN 1 WHEN 5 THEN 2 END
    END AS ordre
  FROM frequentations
) f
LEFT JOIN etablissement_ok e ON e.id_eco = f.etablissement_id
LEFT JOIN eleve_key k ON k.fiche = f.eleve_id
