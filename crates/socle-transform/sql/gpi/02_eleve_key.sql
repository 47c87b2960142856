-- The key of each fiche, for the plans that follow: a repeated fiche (gpm_e_ele keeps them) uses
-- its first row by line as the key of its enrolments, results and absences.
SELECT fiche, cle_eleve
FROM (
  SELECT fiche, cle_eleve, row_number() OVER (PARTITION BY fiche ORDER BY _line) AS rang
  FROM eleve_ok
)
WHERE rang = 1
