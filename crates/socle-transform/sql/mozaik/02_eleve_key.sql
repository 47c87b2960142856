-- The key of each student number, for the plans that follow (first row by line if repeated).
SELECT fiche, cle_eleve
FROM (
  SELECT fiche, cle_eleve, row_number() OVER (PARTITION BY fiche ORDER BY _line) AS rang
  FROM eleve_ok
)
WHERE rang = 1
