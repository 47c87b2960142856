-- Rows that exercise every layout option: accents, quotes, delimiters, XML specials, a null,
-- negative and rounded decimals, one date in three formats, booleans.
SELECT * FROM (VALUES
  ('2024-2025', 1, 'Élève « spécial »; "guillemets", virgule', CAST(1234.5 AS DECIMAL(12, 3)), CAST(-7 AS BIGINT), DATE '2025-09-30', true, 'Hôpital Sainte-Justine'),
  ('2024-2025', 2, 'a < b & c > ''d''', CAST(-0.005 AS DECIMAL(12, 3)), CAST(42 AS BIGINT), DATE '2024-02-29', false, 'Montréal-Nord'),
  ('2024-2025', 3, NULL, CAST(0.004 AS DECIMAL(12, 3)), CAST(0 AS BIGINT), NULL, NULL, 'Îles-de-la-Madeleine')
) AS t(annee_scolaire, no, texte, montant, entier, jour, vrai, lieu)
