-- eleves_30_septembre: the students counted on September 30, one row per school year, sector
-- and student: the place each is counted in (youth enrolments and FGA/FP spells). Definition in
-- words: eleves_30_septembre.yaml. Read by effectif_30_septembre (the counts), cout_par_eleve and
-- depenses_ri (the students spending is divided by): one definition of "enrolled on September 30".
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
SELECT annee_scolaire, code_css, code_etablissement, secteur, ordre_enseignement, classe, ehdaa,
       plan_intervention, cle_eleve
FROM retenus
