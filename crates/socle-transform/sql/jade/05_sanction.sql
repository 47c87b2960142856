-- Diplomas and qualifications (youth and adult). The key comes from the code permanent as for
-- ministry results. annee_scolaire is the school year containing the date obtained (July 1 to
-- June 30): 2025-06-30 is 2024-2025, 2025-07-01 is 2025-2026. The establishment must be in the
-- registry, of this CSS or of another: a diploma is the student's wherever it was earned, and a
-- CSS may be the only one to receive it (a student who moved). One naming another CSS's
-- establishment is loaded as it is, flagged (etablissement_autre_css, counted in the quality
-- report's anomalies); the marts count a student's diploma once across CSS. A code that is not in
-- the registry is quarantined (unknown_establishment).
WITH s AS (
  SELECT
    m.*,
    CAST(date_part('year', m.dateobtmention) AS BIGINT) AS an,
    CAST(date_part('month', m.dateobtmention) AS BIGINT) AS mois,
    r.code_etablissement AS etablissement_registre,
    r.code_css AS css_etablissement
  FROM e_ri_mentions m
  LEFT JOIN ref_etablissements r ON r.code_etablissement = m.ecocenoff
)
SELECT
  CASE
    WHEN s.mois >= 7 THEN concat(CAST(s.an AS VARCHAR), '-', CAST(s.an + 1 AS VARCHAR))
    ELSE concat(CAST(s.an - 1 AS VARCHAR), '-', CAST(s.an AS VARCHAR))
  END AS annee_scolaire,
  '{css}' AS code_css,
  s.ecocenoff AS code_etablissement,
  cle_eleve(
    s.codeperm,
    '{css}',
    CASE WHEN s.fiche IS NOT NULL THEN concat('jade:', CAST(s.fiche AS VARCHAR)) ELSE concat('jade-codeperm:', upper(s.codeperm)) END
  ) AS cle_eleve,
  NOT coalesce(regexp_like(upper(s.codeperm), '^[A-Z]{4}[0-9]{8}$'), false) AS cle_locale,
  coalesce(s.css_etablissement <> '{css}', false) AS etablissement_autre_css,
  s.progcharl AS programme,
  upper(s.typediplomecharl) AS type_diplome,
  coalesce(upper(s.indreussanctcharl) = 'O', false) AS obtenu,
  s.dateobtmention AS date_obtention,
  CASE WHEN s.ecocenoff IS NOT NULL AND s.etablissement_registre IS NULL THEN 'unknown_establishment' END AS _reason,
  CASE WHEN s.ecocenoff IS NOT NULL AND s.etablissement_registre IS NULL THEN 'ecocenoff' END AS _column,
  CASE
    WHEN s.ecocenoff IS NOT NULL AND s.etablissement_registre IS NULL THEN concat('establishment ', s.ecocenoff, ' is not in the ministry registry')
  END AS _message,
  s._file,
  s._line
FROM s
