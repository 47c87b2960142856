-- budget_reel: budget (initial and revised) against actual by school year, CSS, fund, field of
-- the annual financial report, object category and administrative unit. Definition in words:
-- budget_reel.yaml. Amounts stay exact decimals (sums as DECIMAL(28,2)); no float touches them.
WITH
-- Budget and ledger lines side by side (a UNION, then one aggregation: a key present on one side
-- only still gets its row, and a null establishment groups with itself).
lignes AS (
  SELECT annee_scolaire, code_css, fonds, champ, champ_libelle, categorie_objet, nature, unite_adm,
         code_etablissement,
         CASE WHEN version = 'INITIAL' THEN montant END AS budget_initial,
         CASE WHEN version = 'REVISE' THEN montant END AS budget_revise,
         CAST(NULL AS DECIMAL(18, 2)) AS reel,
         CASE WHEN version = 'REVISE' THEN 1 ELSE 0 END AS est_revise
  FROM budget
  UNION ALL
  SELECT annee_scolaire, code_css, fonds, champ, champ_libelle, categorie_objet, nature, unite_adm,
         code_etablissement,
         CAST(NULL AS DECIMAL(18, 2)), CAST(NULL AS DECIMAL(18, 2)), montant, 0
  FROM ecriture
),
montants AS (
  SELECT
    annee_scolaire, code_css, fonds, champ, max(champ_libelle) AS champ_libelle, categorie_objet,
    max(nature) AS nature, unite_adm, code_etablissement,
    CAST(COALESCE(sum(budget_initial), 0) AS DECIMAL(28, 2)) AS budget_initial,
    CAST(sum(budget_revise) AS DECIMAL(28, 2)) AS budget_revise,
    CAST(COALESCE(sum(reel), 0) AS DECIMAL(28, 2)) AS reel,
    max(est_revise) AS a_budget_revise
  FROM lignes
  GROUP BY annee_scolaire, code_css, fonds, champ, categorie_objet, unite_adm, code_etablissement
),
-- Whether the CSS adopted a revised budget that year: then the revised one is the reference
-- (0 for a key it does not budget), else the initial one.
revise AS (
  SELECT annee_scolaire, code_css, max(a_budget_revise) AS revise
  FROM montants
  GROUP BY annee_scolaire, code_css
),
-- The share of the fiscal year (July 1 to June 30) elapsed at the CSS's export night: 0 before
-- it starts, 1 once it is over; the night's day counts as elapsed.
exercice AS (
  SELECT
    m.annee_scolaire, m.code_css,
    (date_part('epoch', n.nuit) - date_part('epoch', make_date(CAST(substr(m.annee_scolaire, 1, 4) AS INT), 7, 1))) / 86400 + 1 AS jours_ecoules,
    (date_part('epoch', make_date(CAST(substr(m.annee_scolaire, 1, 4) AS INT) + 1, 7, 1))
      - date_part('epoch', make_date(CAST(substr(m.annee_scolaire, 1, 4) AS INT), 7, 1))) / 86400 AS jours_exercice
  FROM (SELECT DISTINCT annee_scolaire, code_css FROM montants) m
  JOIN nuits n ON n.code_css = m.code_css
),
avec_reference AS (
  SELECT
    m.*,
    CASE WHEN r.revise = 1 THEN COALESCE(m.budget_revise, CAST(0 AS DECIMAL(28, 2))) ELSE m.budget_initial END AS budget_reference,
    e.jours_ecoules, e.jours_exercice
  FROM montants m
  JOIN revise r ON r.annee_scolaire = m.annee_scolaire AND r.code_css = m.code_css
  LEFT JOIN exercice e ON e.annee_scolaire = m.annee_scolaire AND e.code_css = m.code_css
)
SELECT
  annee_scolaire,
  code_css,
  fonds,
  champ,
  champ_libelle,
  categorie_objet,
  nature,
  unite_adm,
  code_etablissement,
  budget_initial,
  budget_revise,
  budget_reference,
  reel,
  CAST(reel - budget_reference AS DECIMAL(28, 2)) AS ecart,
  -- au_cent: exact, half away from zero, NULL when the reference budget is 0.
  CAST(au_cent((reel - budget_reference) * 100, budget_reference) AS DECIMAL(12, 2)) AS ecart_pct,
  CAST(round(least(greatest(jours_ecoules, 0), jours_exercice) / jours_exercice, 4) AS DECIMAL(5, 4)) AS part_exercice_ecoulee
FROM avec_reference
ORDER BY annee_scolaire, code_css, fonds, champ, categorie_objet, unite_adm, code_etablissement
