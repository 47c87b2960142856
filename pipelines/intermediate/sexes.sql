-- sexes: one sex per student in each CSS. Definition in words: sexes.yaml.
SELECT code_css, cle_eleve, sexe, systeme_source
FROM (
  SELECT
    code_css, cle_eleve, sexe, systeme_source,
    row_number() OVER (
      PARTITION BY code_css, cle_eleve
      ORDER BY
        CASE WHEN sexe IS NULL THEN 1 ELSE 0 END,
        CASE systeme_source WHEN 'mozaik' THEN 0 WHEN 'gpi' THEN 1 ELSE 2 END,
        sexe
    ) AS rang
  FROM eleve
) e
WHERE rang = 1
