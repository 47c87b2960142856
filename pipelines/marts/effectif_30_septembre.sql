-- effectif_30_septembre: students enrolled on September 30 (annees_scolaires.date_30_septembre)
-- per school year, CSS, establishment, sector (jeunes, FGA, FP), order, grade, sex, EHDAA and
-- intervention plan. Definition in words: effectif_30_septembre.yaml.
WITH
-- GPI -> Mozaïk migration: per CSS and year, only the most recent system present in
-- `inscription` ('mozaik' > 'gpi'). (A row without a system, never in production, is kept.)
systeme AS (
  SELECT annee_scolaire, code_css, max(systeme_source) AS systeme_retenu
  FROM inscription
  GROUP BY annee_scolaire, code_css
),
-- Youth sector: enrolments open on September 30 (started that day or before, or no start date;
-- no departure, or a departure after that day). An inactive enrolment counts only if it has a
-- departure date (the student was there, then left); inactive without one is a cancelled
-- enrolment.
jeunes AS (
  SELECT
    i.annee_scolaire,
    i.code_css,
    i.code_etablissement,
    'jeunes' AS secteur,
    i.ordre_enseignement,
    i.classe,
    i.ehdaa,
    i.plan_intervention,
    i.cle_eleve,
    i.date_debut
  FROM inscription i
  JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
  JOIN systeme s ON s.annee_scolaire = i.annee_scolaire AND s.code_css = i.code_css
  WHERE COALESCE(i.systeme_source = s.systeme_retenu, true)
    AND NOT i.ecole_bidon
    AND (i.date_debut IS NULL OR i.date_debut <= a.date_30_septembre)
    AND (i.date_depart IS NULL OR i.date_depart >= a.date_30_septembre)
    AND (i.actif OR i.date_depart IS NOT NULL)
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
),
-- Sex: one row per (CSS, student) of `eleve`: a known sex first, then mozaik, gpi, jade, then
-- the smallest value.
sexes AS (
  SELECT code_css, cle_eleve, sexe
  FROM (
    SELECT
      code_css,
      cle_eleve,
      sexe,
      row_number() OVER (
        PARTITION BY code_css, cle_eleve
        ORDER BY
          CASE WHEN sexe IS NULL THEN 1 ELSE 0 END,
          CASE systeme_source WHEN 'mozaik' THEN 0 WHEN 'gpi' THEN 1 ELSE 2 END,
          sexe
      ) AS rang
    FROM eleve
  ) e
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
LEFT JOIN sexes x ON x.code_css = r.code_css AND x.cle_eleve = r.cle_eleve
GROUP BY r.annee_scolaire, r.code_css, r.code_etablissement, r.secteur, r.ordre_enseignement, r.classe, x.sexe, r.ehdaa, r.plan_intervention
ORDER BY r.annee_scolaire, r.code_css, r.code_etablissement, r.secteur, r.ordre_enseignement, r.classe, x.sexe, r.ehdaa, r.plan_intervention
