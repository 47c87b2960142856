-- inscriptions_retenues: the youth-sector enrolments every indicator counts. Definition in
-- words: inscriptions_retenues.yaml. Narrow: only the columns the marts read.
SELECT DISTINCT
  i.annee_scolaire,
  i.code_css,
  i.code_etablissement,
  i.cle_eleve,
  i.ordre_enseignement,
  i.classe,
  i.ehdaa,
  i.plan_intervention,
  i.actif,
  i.date_debut,
  i.date_depart
FROM inscription i
JOIN systemes_retenus s
  ON s.annee_scolaire = i.annee_scolaire AND s.code_css = i.code_css AND s.systeme_source = i.systeme_source
WHERE i.ecole_bidon IS NOT TRUE
  AND (i.actif OR i.date_depart IS NOT NULL)
