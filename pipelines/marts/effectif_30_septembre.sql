-- effectif_30_septembre: students enrolled on September 30 (annees_scolaires.date_30_septembre)
-- per school year, CSS, establishment, sector (jeunes, FGA, FP), order, grade, sex, EHDAA and
-- intervention plan. Definition in words: effectif_30_septembre.yaml.
WITH
-- Youth sector: the kept enrolments open on September 30 (intermediate model
-- inscription_30_septembre: system kept, no dummy school, cancelled enrolments out).
jeunes AS (
  SELECT annee_scolaire, code_css, code_etablissement, 'jeunes' AS secteur, ordre_enseignement,
         classe, ehdaa, plan_intervention, cle_eleve, date_debut
  FROM inscription_30_septembre
),
-- Adult general education (FGA) and vocational training (FP): spells open on September 30 (the
-- end date is the spell's last day). Untyped NULLs take the youth branch's types in the UNION
-- (a CAST to VARCHAR would give DataFusion a different string type than the table's).
adultes AS (
  SELECT
    f.annee_scolaire,
    f.code_css,
    f.code_etablissement,
    f.service AS secteur,
    NULL AS ordre_enseignement,
    NULL AS classe,
    NULL AS ehdaa,
    NULL AS plan_intervention,
    f.cle_eleve,
    f.date_debut
  FROM frequentation_fga_fp f
  JOIN annees_scolaires a ON a.annee_scolaire = f.annee_scolaire
  WHERE f.date_debut <= a.date_30_septembre
    AND (f.date_fin IS NULL OR f.date_fin >= a.date_30_septembre)
),
presents AS (
  SELECT * FROM jeunes
  UNION ALL
  SELECT * FROM adultes
),
-- One place per student, year and sector: a student enrolled in two schools (or two CSS) that
-- day counts once, in the enrolment that started last (no start date = since the start of the
-- year), then the smallest CSS and establishment codes.
retenus AS (
  SELECT *
  FROM (
    SELECT
      p.*,
      row_number() OVER (
        PARTITION BY p.annee_scolaire, p.secteur, p.cle_eleve
        ORDER BY
          CASE WHEN p.date_debut IS NULL THEN 1 ELSE 0 END,
          p.date_debut DESC,
          p.code_css,
          p.code_etablissement,
          p.ordre_enseignement,
          p.classe
      ) AS rang
    FROM presents p
  ) t
  WHERE rang = 1
)
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
FROM retenus r
-- Sex: of the CSS of the enrolment kept (intermediate model sexes).
LEFT JOIN sexes x ON x.code_css = r.code_css AND x.cle_eleve = r.cle_eleve
GROUP BY r.annee_scolaire, r.code_css, r.code_etablissement, r.secteur, r.ordre_enseignement, r.classe, x.sexe, r.ehdaa, r.plan_intervention
ORDER BY r.annee_scolaire, r.code_css, r.code_etablissement, r.secteur, r.ordre_enseignement, r.classe, x.sexe, r.ehdaa, r.plan_intervention
