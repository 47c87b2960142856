-- inscriptions_ecole: one enrolment window per student, school and year. Definition in words:
-- inscriptions_ecole.yaml.
SELECT
  i.annee_scolaire,
  i.code_css,
  i.code_etablissement,
  i.cle_eleve,
  CASE WHEN count(*) > count(i.date_debut) THEN min(a.date_debut) ELSE min(i.date_debut) END AS debut,
  CASE WHEN count(*) > count(i.date_depart) THEN min(a.date_fin) ELSE max(i.date_depart) END AS fin
FROM inscriptions_retenues i
JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
GROUP BY i.annee_scolaire, i.code_css, i.code_etablissement, i.cle_eleve
