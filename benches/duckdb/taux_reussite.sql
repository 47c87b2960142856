-- benches/duckdb/taux_reussite.sql: the DuckDB side's implementation of the `taux_reussite`
-- definition (pipelines/marts/taux_reussite.yaml), run by the DuckDB night (benches/duckdb/nuit.sql,
-- step `taux_reussite`) over the `resultat` Parquet that night wrote.
--
-- Why a copy here. In Socle, `taux_reussite` is now a view of the `reussite` mart, which also
-- reads `inscription` (the GPI -> Mozaïk rule, EHDAA and intervention plan) and `eleve` (sex):
-- tables the DuckDB night does not build. This file is the same definition over `resultat`
-- alone, the SQL of pipelines/marts/taux_reussite.sql before that change (git history). For the
-- CSS the DuckDB night reads (GPI only, one system per CSS and year), the migration rule keeps
-- every row, so both give the same cells; the harness checks it (benches/bench.py,
-- `compare_marts`) against the exact cells Socle publishes in the CSS zones (not the shared
-- zone's file, whose small cells are suppressed).
--
-- Definition: success rate by school year, CSS, establishment, course and étape; results of
-- retakes (`reprise`), inactive subject enrolments (etat 0) and dummy schools excluded.
SELECT
  annee_scolaire,
  code_css,
  code_etablissement,
  code_cours,
  etape,
  sum(CASE WHEN evalue THEN 1 ELSE 0 END) AS nb_evalues,
  sum(CASE WHEN reussi THEN 1 ELSE 0 END) AS nb_reussites,
  CASE
    WHEN sum(CASE WHEN evalue THEN 1 ELSE 0 END) = 0 THEN NULL
    ELSE CAST(sum(CASE WHEN reussi THEN 1 ELSE 0 END) AS DOUBLE) / CAST(sum(CASE WHEN evalue THEN 1 ELSE 0 END) AS DOUBLE)
  END AS taux_reussite,
  sum(CASE WHEN statut_resultat = 'absent' THEN 1 ELSE 0 END) AS nb_absents,
  sum(CASE WHEN statut_resultat = 'exempte' THEN 1 ELSE 0 END) AS nb_exemptes,
  sum(CASE WHEN statut_resultat = 'non_evalue' THEN 1 ELSE 0 END) AS nb_non_evalues,
  sum(CASE WHEN statut_resultat = 'non_applicable' THEN 1 ELSE 0 END) AS nb_non_applicables,
  sum(CASE WHEN statut_resultat = 'vide' THEN 1 ELSE 0 END) AS nb_vides
FROM resultat
WHERE NOT reprise
  AND etat <> 0
  AND NOT ecole_bidon
GROUP BY annee_scolaire, code_css, code_etablissement, code_cours, etape
ORDER BY annee_scolaire, code_css, code_etablissement, code_cours, etape
