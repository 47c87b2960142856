-- Each activity code of the ledger and the budget with its field of the annual financial report
-- (the longest matching prefix of the CSS's finance mapping, schemas/finance.yaml with its
-- profile's `finance:` applied), whether it is information-resources (IT) spending, and its
-- teaching sector (the longest `secteurs:` prefix; none: commun). A code no prefix matches has a
-- null field: its lines are quarantined.
WITH codes AS (
  SELECT activite FROM fin_ecriture
  UNION
  SELECT activite FROM fin_budget
),
champs AS (
  SELECT
    c.activite,
    m.champ,
    m.champ_libelle,
    row_number() OVER (PARTITION BY c.activite ORDER BY length(m.prefixe) DESC) AS rang
  FROM codes c
  JOIN map_finance_activite m ON starts_with(c.activite, m.prefixe)
),
secteurs AS (
  SELECT
    c.activite,
    m.secteur,
    row_number() OVER (PARTITION BY c.activite ORDER BY length(m.prefixe) DESC) AS rang
  FROM codes c
  JOIN map_finance_secteur m ON starts_with(c.activite, m.prefixe)
),
ri AS (
  SELECT DISTINCT c.activite
  FROM codes c
  JOIN map_finance_ri m ON starts_with(c.activite, m.prefixe)
)
SELECT
  c.activite,
  ch.champ,
  ch.champ_libelle,
  ri.activite IS NOT NULL AS ressources_informationnelles,
  COALESCE(s.secteur, 'commun') AS secteur
FROM codes c
LEFT JOIN champs ch ON ch.activite = c.activite AND ch.rang = 1
LEFT JOIN ri ON ri.activite = c.activite
LEFT JOIN secteurs s ON s.activite = c.activite AND s.rang = 1
