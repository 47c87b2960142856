-- taux_reussite: success rate by school year, CSS, establishment, course and étape.
-- Definition in words: taux_reussite.yaml. Runs over the shared zone (`resultat`).
SELECT
  annee_scolaire,
  code_css,
  code_etablissement,
  code_cours,
  etape,
  sum(CASE WHEN evalue THEN 1 ELSE 0 END) AS nb_evalues,
  sum(CASE WHEN reussi THEN 1 ELSE 0 END) AS nb_reussites,
  CASE
    WHEN sum(CASE WHEN evalue THEN 1 ELSE 0 END) = 0 THEN NULL
    ELSE CAST(sum(CASE WHEN reussi THEN 1 ELSE 0 END) AS DOUBLE) / CAST(sum(CASE WHEN evalue THEN 1 ELSE 0 END) AS DOUBLE)
  END AS taux_reussite,
  sum(CASE WHEN statut_resultat = 'absent' THEN 1 ELSE 0 END) AS nb_absents,
  sum(CASE WHEN statut_resultat = 'exempte' THEN 1 ELSE 0 END) AS nb_exemptes,
  sum(CASE WHEN statut_resultat = 'non_evalue' THEN 1 ELSE 0 END) AS nb_non_evalues,
  sum(CASE WHEN statut_resultat = 'non_applicable' THEN 1 ELSE 0 END) AS nb_non_applicables,
  sum(CASE WHEN statut_resultat = 'vide' THEN 1 ELSE 0 END) AS nb_vides
FROM resultat
WHERE NOT reprise
  AND etat <> 0
  AND NOT ecole_bidon
GROUP BY annee_scolaire, code_css, code_etablissement, code_cours, etape
ORDER BY annee_scolaire, code_css, code_etablissement, code_cours, etape
