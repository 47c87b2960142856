-- effectif_30_septembre: students enrolled on September 30 (annees_scolaires.date_30_septembre)
-- per school year, CSS, establishment, sector (jeunes, FGA, FP), order, grade, sex, EHDAA and
-- intervention plan. Definition in words: effectif_30_septembre.yaml.
-- The students and the place each is counted in: intermediate model eleves_30_septembre.
SELECT
  r.annee_scolaire,
  r.code_css,
  r.code_etablissement,
  r.secteur,
  r.ordre_enseignement,
  r.classe,
  x.sexe,
  r.ehdaa,
  r.plan_intervention,
  CAST(count(DISTINCT r.cle_eleve) AS BIGINT) AS nb_eleves
FROM eleves_30_septembre r
-- Sex: of the CSS of the enrolment kept (intermediate model sexes).
LEFT JOIN sexes x ON x.code_css = r.code_css AND x.cle_eleve = r.cle_eleve
GROUP BY r.annee_scolaire, r.code_css, r.code_etablissement, r.secteur, r.ordre_enseignement, r.classe, x.sexe, r.ehdaa, r.plan_intervention
ORDER BY r.annee_scolaire, r.code_css, r.code_etablissement, r.secteur, r.ordre_enseignement, r.classe, x.sexe, r.ehdaa, r.plan_intervention
