-- cout_par_eleve: operating expenses per student by school year, CSS, field and sector, for the
-- CSS as a whole (code_etablissement empty) and for each school that is an administrative unit.
-- Definition in words: cout_par_eleve.yaml. Amounts stay exact decimals.
WITH
-- Operating expenses: fund 1, nature depense (ecriture: mapped lines only).
depenses AS (
  SELECT annee_scolaire, code_css, code_etablissement, champ, champ_libelle, secteur, montant
  FROM ecriture
  WHERE fonds = '1' AND nature = 'depense'
),
-- The CSS as a whole, then each school's units.
cellules AS (
  SELECT annee_scolaire, code_css, CAST(NULL AS VARCHAR) AS code_etablissement, champ,
         max(champ_libelle) AS champ_libelle, secteur, sum(montant) AS depenses
  FROM depenses
  GROUP BY annee_scolaire, code_css, champ, secteur
  UNION ALL
  SELECT annee_scolaire, code_css, code_etablissement, champ, max(champ_libelle), secteur,
         sum(montant)
  FROM depenses
  WHERE code_etablissement IS NOT NULL
  GROUP BY annee_scolaire, code_css, code_etablissement, champ, secteur
),
-- The students of September 30 (intermediate model eleves_30_septembre: one row per year, sector
-- and student, where counted): per sector (jeunes, fga, fp) and, for the activities common to
-- every sector, all sectors (a student in two sectors once); for the CSS and for each school.
eleves AS (
  SELECT annee_scolaire, code_css, lower(secteur) AS secteur, cle_eleve, code_etablissement
  FROM eleves_30_septembre
),
effectifs AS (
  SELECT annee_scolaire, code_css, CAST(NULL AS VARCHAR) AS code_etablissement, secteur,
         count(DISTINCT cle_eleve) AS nb_eleves
  FROM eleves
  GROUP BY annee_scolaire, code_css, secteur
  UNION ALL
  SELECT annee_scolaire, code_css, CAST(NULL AS VARCHAR), 'commun', count(DISTINCT cle_eleve)
  FROM eleves
  GROUP BY annee_scolaire, code_css
  UNION ALL
  SELECT annee_scolaire, code_css, code_etablissement, secteur, count(DISTINCT cle_eleve)
  FROM eleves
  GROUP BY annee_scolaire, code_css, code_etablissement, secteur
  UNION ALL
  SELECT annee_scolaire, code_css, code_etablissement, 'commun', count(DISTINCT cle_eleve)
  FROM eleves
  GROUP BY annee_scolaire, code_css, code_etablissement
)
SELECT
  c.annee_scolaire,
  c.code_css,
  c.code_etablissement,
  c.champ,
  c.champ_libelle,
  c.secteur,
  CAST(c.depenses AS DECIMAL(28, 2)) AS depenses,
  CAST(COALESCE(e.nb_eleves, 0) AS BIGINT) AS nb_eleves,
  -- au_cent: exact, half away from zero, NULL without students.
  au_cent(c.depenses, COALESCE(e.nb_eleves, 0)) AS cout_par_eleve
FROM cellules c
LEFT JOIN effectifs e
  ON e.annee_scolaire = c.annee_scolaire AND e.code_css = c.code_css AND e.secteur = c.secteur
  AND e.code_etablissement IS NOT DISTINCT FROM c.code_etablissement
ORDER BY c.annee_scolaire, c.code_css, c.code_etablissement NULLS FIRST, c.champ, c.secteur
