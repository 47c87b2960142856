-- reussite: success, failure, at-risk (60-69) and mastery (>= 70) rates and the average mark,
-- per school year, CSS, establishment, course and étape, overall ('ensemble') and broken down by
-- subject group, sex, EHDAA and intervention plan (one `ventilation` per breakdown).
-- Definition in words: reussite.yaml. Runs over the shared zone. `taux_reussite` is the view of
-- its 'ensemble' rows.
WITH
-- The results counted (intermediate model resultats_retenus: system kept, no dummy school, no
-- inactive subject enrolment), retakes excluded.
resultats AS (
  SELECT * FROM resultats_retenus WHERE NOT reprise
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
  JOIN systemes_retenus si
    ON si.annee_scolaire = i.annee_scolaire AND si.code_css = i.code_css
  WHERE COALESCE(i.systeme_source = si.systeme_source, true)
  GROUP BY i.annee_scolaire, i.code_css, i.cle_eleve
),
-- Each result with its breakdown columns and as 0/1 flags: the counts are their sums.
base AS (
  SELECT
    r.annee_scolaire, r.code_css, r.code_etablissement, r.code_cours, r.etape,
    r.groupe, r.sexe, p.ehdaa, p.plan_intervention,
    CAST(CASE WHEN r.evalue THEN 1 ELSE 0 END AS BIGINT) AS evalue,
    CAST(CASE WHEN r.reussi THEN 1 ELSE 0 END AS BIGINT) AS reussi,
    CAST(CASE WHEN r.evalue AND NOT r.reussi THEN 1 ELSE 0 END AS BIGINT) AS echec,
    CASE WHEN r.evalue THEN CAST(r.note AS DOUBLE) END AS note_evaluee,
    CAST(CASE WHEN r.statut_resultat = 'absent' THEN 1 ELSE 0 END AS BIGINT) AS absent,
    CAST(CASE WHEN r.statut_resultat = 'exempte' THEN 1 ELSE 0 END AS BIGINT) AS exempte,
    CAST(CASE WHEN r.statut_resultat = 'non_evalue' THEN 1 ELSE 0 END AS BIGINT) AS non_evalue,
    CAST(CASE WHEN r.statut_resultat = 'non_applicable' THEN 1 ELSE 0 END AS BIGINT) AS non_applicable,
    CAST(CASE WHEN r.statut_resultat = 'vide' THEN 1 ELSE 0 END AS BIGINT) AS vide
  -- The small sides first (RIGHT JOIN): a hash join builds its table on its left input, and
  -- the results are the large side (30 million rows at the province scale).
  FROM profils p
  RIGHT JOIN (
    -- Sex: of the result's CSS (intermediate model sexes).
    SELECT r.*, x.sexe
    FROM sexes x
    RIGHT JOIN resultats r ON x.code_css = r.code_css AND x.cle_eleve = r.cle_eleve
  ) r
    ON p.annee_scolaire = r.annee_scolaire AND p.code_css = r.code_css AND p.cle_eleve = r.cle_eleve
)
-- Each breakdown is a grouping set over the same results, read once: the overall cell
-- ('ensemble'), and the cell by group, sex, EHDAA and plan (the other breakdown columns null).
-- (A cross join of the results with the list of breakdowns materialised the results in memory.)
SELECT
  annee_scolaire, code_css, code_etablissement, code_cours, etape,
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
  sum(evalue) AS nb_evalues,
  sum(reussi) AS nb_reussites,
  sum(echec) AS nb_echecs,
  sum(a_risque) AS nb_a_risque,
  sum(maitrise) AS nb_maitrise,
  taux(sum(reussi), sum(evalue)) AS taux_reussite,
  taux(sum(echec), sum(evalue)) AS taux_echec,
  taux(sum(a_risque), sum(evalue)) AS taux_a_risque,
  taux(sum(maitrise), sum(evalue)) AS taux_maitrise,
  avg(note_evaluee) AS moyenne,
  sum(absent) AS nb_absents,
  sum(exempte) AS nb_exemptes,
  sum(non_evalue) AS nb_non_evalues,
  sum(non_applicable) AS nb_non_applicables,
  sum(vide) AS nb_vides
FROM (
  SELECT b.*,
         CASE WHEN b.note_evaluee >= 60 AND b.note_evaluee < 70 THEN 1 ELSE 0 END AS a_risque,
         CASE WHEN b.note_evaluee >= 70 THEN 1 ELSE 0 END AS maitrise
  FROM base b
) r
GROUP BY GROUPING SETS (
  (annee_scolaire, code_css, code_etablissement, code_cours, etape),
  (annee_scolaire, code_css, code_etablissement, code_cours, etape, groupe),
  (annee_scolaire, code_css, code_etablissement, code_cours, etape, sexe),
  (annee_scolaire, code_css, code_etablissement, code_cours, etape, ehdaa),
  (annee_scolaire, code_css, code_etablissement, code_cours, etape, plan_intervention)
)
ORDER BY annee_scolaire, code_css, code_etablissement, code_cours, etape, ventilation, groupe, sexe, ehdaa, plan_intervention
