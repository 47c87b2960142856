-- taux_reussite: success rate by school year, CSS, establishment, course and étape.
-- A view of `reussite`: its 'ensemble' rows (no breakdown), with the columns taux_reussite has
-- always had (reussite's, in its order, without the breakdown and the bands). Definition in
-- words: taux_reussite.yaml and reussite.yaml.
SELECT * EXCLUDE (
  ventilation, groupe, sexe, ehdaa, plan_intervention, nb_a_risque, nb_maitrise,
  taux_echec, taux_a_risque, taux_maitrise, moyenne
)
FROM reussite
WHERE ventilation = 'ensemble'
ORDER BY annee_scolaire, code_css, code_etablissement, code_cours, etape
