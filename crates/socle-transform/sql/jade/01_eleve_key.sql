-- The key of each JADE fiche, for the attendance spells.
SELECT fiche, cle_eleve
FROM (
  SELECT fiche, cle_eleve, row_number() OVER (PARTITION BY fiche ORDER BY _line) AS rang
  FROM eleve_ok
)
WHERE rang = 1
