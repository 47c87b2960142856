-- Ministry results (Charlemagne copies retrieved by JADE), for adult and youth students alike.
-- - Only the latest copy (datehrerecup) of a result per student, course, year and session month
--   is kept; superseded copies are not errors (anomaly `copies_remplacees`).
-- - The key comes from the code permanent, also for youth students (empty fiche); a malformed
--   one gets a local key from (CSS, 'jade:' fiche), or (CSS, 'jade-codeperm:' code) without a
--   fiche, never GPI's namespace.
-- - Each result text is a number (decimal comma or point, 0 to 100: note_*) or a code of
--   valeurs.yaml `codes_resultat_ministere` (kept in code_resultat: the final result's code, else
--   the first code of the exam, moderated school and raw school results); anything else is
--   quarantined (unknown_result_code; above 100: out_of_domain). Pass or fail is indreuscharl
--   alone (R or RE).
-- - session: `annee` is the school year's start year (as GPI's); a session month from July to
--   December falls in that calendar year, January to June in the next, so the June session of
--   2024-2025 is 2025-06.
-- - code_etablissement (ecocenoff) must be an establishment of the ministry registry, of this
--   CSS or of another: a ministry result is a fact about the student wherever it was earned
--   (a student who moved, a course taken in another CSS's centre), and a CSS may be the only one
--   to receive it. One naming another CSS's establishment is loaded as it is, flagged
--   (etablissement_autre_css, counted in the quality report's anomalies); the marts count each
--   (student, course, session) once across CSS. A code that is not in the registry is quarantined
--   (unknown_establishment).
WITH latest AS (
  SELECT *
  FROM (
    SELECT
      r.*,
      row_number() OVER (
        PARTITION BY upper(r.codeperm), r.matcharl, r.annee, r.moissanct
        ORDER BY r.datehrerecup DESC, r._line DESC
      ) AS copie
    FROM e_ri_resultats r
  )
  WHERE copie = 1
),
cells AS (
  SELECT
    l.*,
    CASE WHEN regexp_like(l.resecobrute, '^[0-9]+([.,][0-9]+)?$') THEN CAST(replace(l.resecobrute, ',', '.') AS DOUBLE) END AS n1,
    CASE WHEN regexp_like(l.resecomod, '^[0-9]+([.,][0-9]+)?$') THEN CAST(replace(l.resecomod, ',', '.') AS DOUBLE) END AS n2,
    CASE WHEN regexp_like(l.resoffbrute, '^[0-9]+([.,][0-9]+)?$') THEN CAST(replace(l.resoffbrute, ',', '.') AS DOUBLE) END AS n3,
    CASE WHEN regexp_like(l.resofffinal, '^[0-9]+([.,][0-9]+)?$') THEN CAST(replace(l.resofffinal, ',', '.') AS DOUBLE) END AS n4,
    m1.code AS k1,
    m2.code AS k2,
    m3.code AS k3,
    m4.code AS k4,
    r.code_etablissement AS etablissement_registre,
    r.code_css AS css_etablissement,
    NOT coalesce(regexp_like(upper(l.codeperm), '^[A-Z]{4}[0-9]{8}$'), false) AS cle_locale
  FROM latest l
  LEFT JOIN map_codes_resultat_ministere m1 ON m1.code = upper(l.resecobrute)
  LEFT JOIN map_codes_resultat_ministere m2 ON m2.code = upper(l.resecomod)
  LEFT JOIN map_codes_resultat_ministere m3 ON m3.code = upper(l.resoffbrute)
  LEFT JOIN map_codes_resultat_ministere m4 ON m4.code = upper(l.resofffinal)
  LEFT JOIN ref_etablissements r ON r.code_etablissement = l.ecocenoff
)
SELECT
  concat(CAST(c.annee AS VARCHAR), '-', CAST(c.annee + 1 AS VARCHAR)) AS annee_scolaire,
  '{css}' AS code_css,
  c.ecocenoff AS code_etablissement,
  cle_eleve(
    c.codeperm,
    '{css}',
    CASE WHEN c.fiche IS NOT NULL THEN concat('jade:', CAST(c.fiche AS VARCHAR)) ELSE concat('jade-codeperm:', upper(c.codeperm)) END
  ) AS cle_eleve,
  c.cle_locale,
  coalesce(c.css_etablissement <> '{css}', false) AS etablissement_autre_css,
  c.matcharl AS code_cours,
  c.moissanct AS mois_session,
  concat(
    CAST(CASE WHEN c.moissanct >= 7 THEN c.annee ELSE c.annee + 1 END AS VARCHAR),
    '-',
    lpad(CAST(c.moissanct AS VARCHAR), 2, '0')
  ) AS session,
  c.resecobrute AS resultat_ecole_brut,
  c.resecomod AS resultat_ecole_modere,
  c.resoffbrute AS resultat_epreuve_brut,
  c.resofffinal AS resultat_final,
  c.n1 AS note_ecole_brute,
  c.n2 AS note_ecole_moderee,
  c.n3 AS note_epreuve,
  c.n4 AS note_finale,
  coalesce(c.k4, c.k3, c.k2, c.k1) AS code_resultat,
  coalesce(upper(c.indreuscharl) IN ('R', 'RE'), false) AS reussi,
  c.nbunitecharl AS unites,
  c.typeformcharl AS type_formation,
  upper(c.secteurenseignfreq) AS secteur,
  c.datehrerecup AS date_copie,
  CASE
    WHEN c.ecocenoff IS NOT NULL AND c.etablissement_registre IS NULL THEN 'unknown_establishment'
    WHEN c.resecobrute IS NOT NULL AND c.n1 IS NULL AND c.k1 IS NULL THEN 'unknown_result_code'
    WHEN c.n1 > 100 THEN 'out_of_domain'
    WHEN c.resecomod IS NOT NULL AND c.n2 IS NULL AND c.k2 IS NULL THEN 'unknown_result_code'
    WHEN c.n2 > 100 THEN 'out_of_domain'
    WHEN c.resoffbrute IS NOT NULL AND c.n3 IS NULL AND c.k3 IS NULL THEN 'unknown_result_code'
    WHEN c.n3 > 100 THEN 'out_of_domain'
    WHEN c.resofffinal IS NOT NULL AND c.n4 IS NULL AND c.k4 IS NULL THEN 'unknown_result_code'
    WHEN c.n4 > 100 THEN 'out_of_domain'
  END AS _reason,
  CASE
    WHEN c.ecocenoff IS NOT NULL AND c.etablissement_registre IS NULL THEN 'ecocenoff'
    WHEN c.resecobrute IS NOT NULL AND c.n1 IS NULL AND c.k1 IS NULL THEN 'resecobrute'
    WHEN c.n1 > 100 THEN 'resecobrute'
    WHEN c.resecomod IS NOT NULL AND c.n2 IS NULL AND c.k2 IS NULL THEN 'resecomod'
    WHEN c.n2 > 100 THEN 'resecomod'
    WHEN c.resoffbrute IS NOT NULL AND c.n3 IS NULL AND c.k3 IS NULL THEN 'resoffbrute'
    WHEN c.n3 > 100 THEN 'resoffbrute'
    WHEN c.resofffinal IS NOT NULL AND c.n4 IS NULL AND c.k4 IS NULL THEN 'resofffinal'
    WHEN c.n4 > 100 THEN 'resofffinal'
  END AS _column,
  CASE
    WHEN c.ecocenoff IS NOT NULL AND c.etablissement_registre IS NULL THEN concat('establishment ', c.ecocenoff, ' is not in the ministry registry')
    WHEN c.resecobrute IS NOT NULL AND c.n1 IS NULL AND c.k1 IS NULL THEN concat('unknown result code ''', c.resecobrute, ''' (not a number, not a ministry result code)')
    WHEN c.n1 > 100 THEN concat('result ', c.resecobrute, ' is above 100')
    WHEN c.resecomod IS NOT NULL AND c.n2 IS NULL AND c.k2 IS NULL THEN concat('unknown result code ''', c.resecomod, ''' (not a number, not a ministry result code)')
    WHEN c.n2 > 100 THEN concat('result ', c.resecomod, ' is above 100')
    WHEN c.resoffbrute IS NOT NULL AND c.n3 IS NULL AND c.k3 IS NULL THEN concat('unknown result code ''', c.resoffbrute, ''' (not a number, not a ministry result code)')
    WHEN c.n3 > 100 THEN concat('result ', c.resoffbrute, ' is above 100')
    WHEN c.resofffinal IS NOT NULL AND c.n4 IS NULL AND c.k4 IS NULL THEN concat('unknown result code ''', c.resofffinal, ''' (not a number, not a ministry result code)')
    WHEN c.n4 > 100 THEN concat('result ', c.resofffinal, ' is above 100')
  END AS _message,
  c._file,
  c._line
FROM cells c
