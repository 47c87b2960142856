-- sexe_province: one sex per student across every CSS. Definition in words: sexe_province.yaml.
SELECT cle_eleve, sexe
FROM (
  SELECT
    cle_eleve, sexe,
    row_number() OVER (
      PARTITION BY cle_eleve
      ORDER BY
        CASE WHEN sexe IS NULL THEN 1 ELSE 0 END,
        CASE WHEN systeme_source = 'jade' THEN 1 ELSE 0 END,
        systeme_source DESC,
        sexe
    ) AS rang
  FROM sexes
) e
WHERE rang = 1
