SELECT code_permanent, 'éééé' AS lieu, '2024-2025' AS annee_scolaire
FROM eleve
WHERE code_permanent IS NOT NULL
