-- sanctions_comptees: the diplomas and qualifications the graduation marts count, each with its
-- school year. Definition in words: sanctions_comptees.yaml.
SELECT DISTINCT
  s.code_css,
  s.cle_eleve,
  s.programme,
  s.type_diplome,
  t.categorie,
  t.des_ou_dep,
  CASE WHEN s.date_obtention <= a.date_30_septembre THEN a.annee_debut - 1 ELSE a.annee_debut END
    AS annee_sanction
FROM sanction s
JOIN types_sanction t ON t.type_diplome = s.type_diplome
JOIN annees_scolaires a ON a.annee_scolaire = s.annee_scolaire
WHERE s.obtenu AND t.compte_diplomation
