-- taux_reussite: success rate by school year, CSS, establishment, course and étape.
-- A view of `reussite`: its 'ensemble' rows (no breakdown), with the columns taux_reussite has
-- always had. Definition in words: taux_reussite.yaml and reussite.yaml.
SELECT
  annee_scolaire,
  code_css,
  code_etablissement,
  code_cours,
  etape,
  nb_evalues,
  nb_reussites,
  nb_echecs,
  taux_reussite,
  nb_absents,
  nb_exemptes,
  nb_non_evalues,
  nb_non_applicables,
  nb_vides
FROM reussite
WHERE ventilation = 'ensemble'
ORDER BY annee_scolaire, code_css, code_etablissement, code_cours, etape
