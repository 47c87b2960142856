-- jours_classe: the school days of each school's calendar. Definition in words:
-- jours_classe.yaml.
SELECT
  annee_scolaire, code_css, code_etablissement, jour, cle_etape, nb_periodes,
  row_number() OVER (PARTITION BY annee_scolaire, code_css, code_etablissement ORDER BY jour) AS rang
FROM (
  SELECT
    c.annee_scolaire,
    c.code_css,
    c.code_etablissement,
    c."date" AS jour,
    COALESCE(max(c.etape), '') AS cle_etape,
    max(c.nb_periodes) AS nb_periodes
  FROM calendrier c
  JOIN systemes_retenus s
    ON s.annee_scolaire = c.annee_scolaire AND s.code_css = c.code_css AND s.systeme_source = c.systeme_source
  WHERE c.jour_classe AND c.nb_periodes > 0
  GROUP BY c.annee_scolaire, c.code_css, c.code_etablissement, c."date"
) j
