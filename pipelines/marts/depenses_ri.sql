-- depenses_ri: information-resources (IT) spending by school year, CSS and object category, per
-- student, as a share of operating expenses, and its change from the previous year. Definition
-- in words: depenses_ri.yaml. Amounts stay exact decimals.
WITH
-- Every ledger line of an IT activity (ecriture.ressources_informationnelles: the activity is
-- under a prefix of finance.yaml's ressources_informationnelles), any fund and nature.
ri AS (
  SELECT annee_scolaire, code_css, categorie_objet, max(nature) AS nature,
         sum(montant) AS depenses_ri
  FROM ecriture
  WHERE ressources_informationnelles
  GROUP BY annee_scolaire, code_css, categorie_objet
),
-- Operating expenses of the CSS that year (fund 1, nature depense), IT or not.
fonctionnement AS (
  SELECT annee_scolaire, code_css, sum(montant) AS depenses_fonctionnement
  FROM ecriture
  WHERE fonds = '1' AND nature = 'depense'
  GROUP BY annee_scolaire, code_css
),
-- The CSS's students on September 30 (eleves_30_septembre), every sector, each student once.
effectifs AS (
  SELECT annee_scolaire, code_css, count(DISTINCT cle_eleve) AS nb_eleves
  FROM eleves_30_septembre
  GROUP BY annee_scolaire, code_css
)
SELECT
  r.annee_scolaire,
  r.code_css,
  r.categorie_objet,
  r.nature,
  CAST(r.depenses_ri AS DECIMAL(28, 2)) AS depenses_ri,
  CAST(COALESCE(e.nb_eleves, 0) AS BIGINT) AS nb_eleves,
  -- au_cent: exact, half away from zero, NULL when dividing by 0.
  au_cent(r.depenses_ri, COALESCE(e.nb_eleves, 0)) AS ri_par_eleve,
  CAST(f.depenses_fonctionnement AS DECIMAL(28, 2)) AS depenses_fonctionnement,
  CAST(au_cent(r.depenses_ri * 100, f.depenses_fonctionnement) AS DECIMAL(12, 2)) AS part_fonctionnement_pct,
  CAST(p.depenses_ri AS DECIMAL(28, 2)) AS depenses_ri_annee_precedente,
  CAST(r.depenses_ri - p.depenses_ri AS DECIMAL(28, 2)) AS variation,
  CAST(au_cent((r.depenses_ri - p.depenses_ri) * 100, p.depenses_ri) AS DECIMAL(12, 2)) AS variation_pct
FROM ri r
LEFT JOIN effectifs e ON e.annee_scolaire = r.annee_scolaire AND e.code_css = r.code_css
LEFT JOIN fonctionnement f ON f.annee_scolaire = r.annee_scolaire AND f.code_css = r.code_css
-- The previous school year of the same CSS and category: its first year is this one's minus one.
LEFT JOIN ri p
  ON p.code_css = r.code_css AND p.categorie_objet = r.categorie_objet
  AND p.annee_scolaire = concat(CAST(CAST(substr(r.annee_scolaire, 1, 4) AS INT) - 1 AS VARCHAR), '-', substr(r.annee_scolaire, 1, 4))
ORDER BY r.annee_scolaire, r.code_css, r.categorie_objet
