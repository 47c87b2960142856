-- anomalies: counts of the data anomalies of each CSS, by school year and type. Computed from
-- anomalies_detail (the rows a CSS must fix), so counts and rows never disagree.
-- Definition in words: anomalies.yaml.
SELECT
  annee_scolaire,
  code_css,
  type_anomalie,
  CAST(count(*) AS BIGINT) AS nb_cas,
  CASE type_anomalie
    WHEN 'eleve_actif_deux_fois' THEN 'Élève actif deux fois la même année (deux inscriptions actives qui se chevauchent)'
    WHEN 'resultat_sans_inscription' THEN 'Résultats d''un élève sans inscription cette année dans le CSS'
    WHEN 'code_permanent_deux_fiches' THEN 'Un même code permanent sous deux fiches du même système'
    WHEN 'code_inconnu' THEN 'Ligne en quarantaine: code inconnu du dictionnaire, sans correspondance ou hors domaine'
    WHEN 'cours_local_sans_correspondance' THEN 'Code de cours local sans correspondance dans les résultats'
    WHEN 'ecole_bidon_active' THEN 'Inscription active dans une école fictive de transfert'
  END AS description
FROM anomalies_detail
GROUP BY annee_scolaire, code_css, type_anomalie
ORDER BY annee_scolaire, code_css, type_anomalie
