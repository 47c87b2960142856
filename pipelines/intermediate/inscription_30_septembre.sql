-- inscription_30_septembre: the kept enrolments open on the year's September 30
-- (annees_scolaires.date_30_septembre). Definition in words: inscription_30_septembre.yaml.
SELECT DISTINCT
  i.annee_scolaire,
  i.code_css,
  i.code_etablissement,
  i.cle_eleve,
  i.ordre_enseignement,
  i.classe,
  i.ehdaa,
  i.plan_intervention,
  i.date_debut
FROM inscriptions_retenues i
JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
WHERE (i.date_debut IS NULL OR i.date_debut <= a.date_30_septembre)
  AND (i.date_depart IS NULL OR i.date_depart >= a.date_30_septembre)
