-- Each object code of the ledger and the budget with its category and nature (the longest
-- matching prefix of the CSS's finance mapping). A code no prefix matches has a null category:
-- its lines are quarantined.
WITH codes AS (
  SELECT objet FROM fin_ecriture
  UNION
  SELECT objet FROM fin_budget
),
classes AS (
  SELECT
    c.objet,
    m.categorie_objet,
    m.nature,
    row_number() OVER (PARTITION BY c.objet ORDER BY length(m.prefixe) DESC) AS rang
  FROM codes c
  JOIN map_finance_objet m ON starts_with(c.objet, m.prefixe)
)
SELECT c.objet, k.categorie_objet, k.nature
FROM codes c
LEFT JOIN classes k ON k.objet = c.objet AND k.rang = 1
