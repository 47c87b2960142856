-- rapport_financier_annuel: a CSS's annual financial report by fund, field of the report and
-- object category: initial and revised budget, actual, from the budget_reel mart summed over the
-- administrative units. Definition in words: rapport_financier_annuel.yaml.
SELECT
  annee_scolaire,
  code_css,
  fonds,
  champ,
  champ_libelle,
  categorie_objet,
  nature,
  sum(budget_initial) AS budget_initial,
  sum(budget_revise) AS budget_revise,
  sum(reel) AS reel,
  sum(reel) - sum(budget_reference) AS ecart,
  max(part_exercice_ecoulee) AS part_exercice_ecoulee
FROM budget_reel
GROUP BY annee_scolaire, code_css, fonds, champ, champ_libelle, categorie_objet, nature
