-- reussite: success, failure, at-risk (60-69) and mastery (>= 70) rates and the average mark,
-- per school year, CSS, establishment, course and étape, overall ('ensemble') and broken down by
-- subject group, sex, EHDAA and intervention plan (one `ventilation` per breakdown).
-- Definition in words: reussite.yaml. Runs over the shared zone. `taux_reussite` is the view of
-- its 'ensemble' rows.
WITH
-- GPI -> Mozaïk migration: per CSS and year, only the most recent system present in
-- `inscription` ('mozaik' > 'gpi'); failing any enrolment that year, the most recent system of
-- the results themselves. (A row without a system, never in production, is kept.)
systeme_inscription AS (
  SELECT annee_scolaire, code_css, max(systeme_source) AS systeme_retenu
  FROM inscription
  GROUP BY annee_scolaire, code_css
),
systeme_resultat AS (
  SELECT annee_scolaire, code_css, max(systeme_source) AS systeme_retenu
  FROM resultat
  GROUP BY annee_scolaire, code_css
),
resultats AS (
  SELECT r.*
  FROM resultat r
  LEFT JOIN systeme_inscription si
    ON si.annee_scolaire = r.annee_scolaire AND si.code_css = r.code_css
  LEFT JOIN systeme_resultat sr
    ON sr.annee_scolaire = r.annee_scolaire AND sr.code_css = r.code_css
  WHERE NOT r.reprise
    AND r.etat <> 0
    AND NOT r.ecole_bidon
    AND COALESCE(r.systeme_source = COALESCE(si.systeme_retenu, sr.systeme_retenu), true)
),
-- Sex: one row per (CSS, student) of `eleve`, picked deterministically: a known sex first, then
-- the most recent youth system (mozaik, gpi, then jade), then the smallest value.
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
),
-- EHDAA and intervention plan: true if any enrolment of the student that year in that CSS (of
-- the system kept) says so; null when the student has no enrolment there that year.
profils AS (
  SELECT
    i.annee_scolaire,
    i.code_css,
    i.cle_eleve,
    max(CASE WHEN i.ehdaa THEN 1 ELSE 0 END) = 1 AS ehdaa,
    max(CASE WHEN i.plan_intervention THEN 1 ELSE 0 END) = 1 AS plan_intervention
  FROM inscription i
  JOIN systeme_inscription si
    ON si.annee_scolaire = i.annee_scolaire AND si.code_css = i.code_css
  WHERE COALESCE(i.systeme_source = si.systeme_retenu, true)
  GROUP BY i.annee_scolaire, i.code_css, i.cle_eleve
),
base AS (
  SELECT
    r.annee_scolaire,
    r.code_css,
    r.code_etablissement,
    r.code_cours,
    r.etape,
    r.groupe,
    r.sexe,
    p.ehdaa,
    p.plan_intervention,
    r.statut_resultat,
    r.evalue,
    r.reussi,
    r.note
  -- The small sides first (RIGHT JOIN): a hash join builds its table on its left input, and
  -- the results are the large side (30 million rows at the province scale).
  FROM profils p
  RIGHT JOIN (
    SELECT r.*, x.sexe
    FROM sexes x
    RIGHT JOIN resultats r ON x.code_css = r.code_css AND x.cle_eleve = r.cle_eleve
  ) r
    ON p.annee_scolaire = r.annee_scolaire AND p.code_css = r.code_css AND p.cle_eleve = r.cle_eleve
),
-- Each breakdown is a grouping set over the same results, read once: the overall cell
-- ('ensemble'), and the cell by group, sex, EHDAA and plan (the other breakdown columns null).
-- (A cross join of the results with the list of breakdowns materialised the results in memory.)
comptes AS (
  SELECT
    annee_scolaire,
    code_css,
    code_etablissement,
    code_cours,
    etape,
    CASE
      WHEN grouping(groupe) = 0 THEN 'groupe'
      WHEN grouping(sexe) = 0 THEN 'sexe'
      WHEN grouping(ehdaa) = 0 THEN 'ehdaa'
      WHEN grouping(plan_intervention) = 0 THEN 'plan_intervention'
      ELSE 'ensemble'
    END AS ventilation,
    groupe,
    sexe,
    ehdaa,
    plan_intervention,
    sum(CASE WHEN evalue THEN 1 ELSE 0 END) AS nb_evalues,
    sum(CASE WHEN reussi THEN 1 ELSE 0 END) AS nb_reussites,
    sum(CASE WHEN evalue AND NOT reussi THEN 1 ELSE 0 END) AS nb_echecs,
    sum(CASE WHEN note_evaluee >= 60 AND note_evaluee < 70 THEN 1 ELSE 0 END) AS nb_a_risque,
    sum(CASE WHEN note_evaluee >= 70 THEN 1 ELSE 0 END) AS nb_maitrise,
    avg(note_evaluee) AS moyenne,
    sum(CASE WHEN statut_resultat = 'absent' THEN 1 ELSE 0 END) AS nb_absents,
    sum(CASE WHEN statut_resultat = 'exempte' THEN 1 ELSE 0 END) AS nb_exemptes,
    sum(CASE WHEN statut_resultat = 'non_evalue' THEN 1 ELSE 0 END) AS nb_non_evalues,
    sum(CASE WHEN statut_resultat = 'non_applicable' THEN 1 ELSE 0 END) AS nb_non_applicables,
    sum(CASE WHEN statut_resultat = 'vide' THEN 1 ELSE 0 END) AS nb_vides
  FROM (
    SELECT
      b.annee_scolaire, b.code_css, b.code_etablissement, b.code_cours, b.etape,
      b.groupe, b.sexe, b.ehdaa, b.plan_intervention,
      b.statut_resultat, b.evalue, b.reussi,
      CASE WHEN b.evalue THEN CAST(b.note AS DOUBLE) END AS note_evaluee
    FROM base b
  ) r
  GROUP BY GROUPING SETS (
    (annee_scolaire, code_css, code_etablissement, code_cours, etape),
    (annee_scolaire, code_css, code_etablissement, code_cours, etape, groupe),
    (annee_scolaire, code_css, code_etablissement, code_cours, etape, sexe),
    (annee_scolaire, code_css, code_etablissement, code_cours, etape, ehdaa),
    (annee_scolaire, code_css, code_etablissement, code_cours, etape, plan_intervention)
  )
)
SELECT
  annee_scolaire,
  code_css,
  code_etablissement,
  code_cours,
  etape,
  ventilation,
  groupe,
  sexe,
  ehdaa,
  plan_intervention,
  nb_evalues,
  nb_reussites,
  nb_echecs,
  nb_a_risque,
  nb_maitrise,
  CASE WHEN nb_evalues = 0 THEN NULL ELSE CAST(nb_reussites AS DOUBLE) / CAST(nb_evalues AS DOUBLE) END AS taux_reussite,
  CASE WHEN nb_evalues = 0 THEN NULL ELSE CAST(nb_echecs AS DOUBLE) / CAST(nb_evalues AS DOUBLE) END AS taux_echec,
  CASE WHEN nb_evalues = 0 THEN NULL ELSE CAST(nb_a_risque AS DOUBLE) / CAST(nb_evalues AS DOUBLE) END AS taux_a_risque,
  CASE WHEN nb_evalues = 0 THEN NULL ELSE CAST(nb_maitrise AS DOUBLE) / CAST(nb_evalues AS DOUBLE) END AS taux_maitrise,
  moyenne,
  nb_absents,
  nb_exemptes,
  nb_non_evalues,
  nb_non_applicables,
  nb_vides
FROM comptes
ORDER BY annee_scolaire, code_css, code_etablissement, code_cours, etape, ventilation, groupe, sexe, ehdaa, plan_intervention
