-- inscription_30_septembre: the kept enrolments open on the year's September 30
-- (annees_scolaires.date_30_septembre). Definition in words: inscription_30_septembre.yaml.
-- The columns are those of inscriptions_retenues but the status and the departure.
SELECT DISTINCT i.* EXCLUDE (actif, date_depart)
FROM inscriptions_retenues i
JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
WHERE (i.date_debut IS NULL OR i.date_debut <= a.date_30_septembre)
  AND (i.date_depart IS NULL OR i.date_depart >= a.date_30_septembre)
