-- sorties_sans_diplome: taux annuel de sorties sans diplôme ni qualification (secteur des jeunes,
-- secondaire). Definition in words: sorties_sans_diplome.yaml. Runs over the shared zone: a
-- student who continues in another CSS is followed by cle_eleve.
WITH
annees_donnees AS (
  SELECT DISTINCT annee_scolaire FROM inscription
),
-- The youth sector of year Y: students with a kept secondary enrolment (order 4) in Y
-- (intermediate model inscriptions_retenues: system kept, no dummy school, cancelled enrolments
-- out), in any CSS. Their last enrolment of Y (latest start, an open one before
-- one with a departure, then the highest CSS and school code) gives their CSS and school.
jeunes_rangs AS (
  SELECT i.annee_scolaire, i.cle_eleve, i.code_css, i.code_etablissement, i.ehdaa,
         row_number() OVER (
           PARTITION BY i.annee_scolaire, i.cle_eleve
           ORDER BY i.date_debut DESC NULLS LAST, i.date_depart DESC NULLS FIRST,
                    i.code_css DESC, i.code_etablissement DESC
         ) AS rang
  FROM inscriptions_retenues i
  WHERE i.ordre_enseignement = 4
),
jeunes AS (
  SELECT annee_scolaire, cle_eleve, code_css, code_etablissement, ehdaa
  FROM jeunes_rangs
  WHERE rang = 1
),
-- Still in school in a year: an active youth enrolment (any order, any CSS, no dummy school),
-- or an adult education / vocational spell of that year (or of the year before and still open
-- or ending after that year's start: it continues into it), in any CSS.
presences AS (
  SELECT cle_eleve, annee_scolaire FROM inscriptions_retenues
  UNION
  SELECT cle_eleve, annee_scolaire FROM frequentation_fga_fp
  UNION
  SELECT f.cle_eleve, a.annee_suivante AS annee_scolaire
  FROM frequentation_fga_fp f
  JOIN annees_scolaires a ON a.annee_scolaire = f.annee_scolaire
  WHERE f.date_fin IS NULL OR f.date_fin > a.date_fin
),
sanction_annee AS (
  SELECT cle_eleve, annee_sanction, max(CASE WHEN categorie = 'diplome' THEN 1 ELSE 0 END) AS diplome
  FROM sanctions_comptees
  GROUP BY cle_eleve, annee_sanction
),
premiere_sanction AS (
  SELECT cle_eleve, min(annee_sanction) AS annee_sanction
  FROM sanctions_comptees
  GROUP BY cle_eleve
),
-- Each student of Y: a diploma attributed to Y, else a qualification attributed to Y, else
-- already holding a sanction of an earlier year (counted as a leaver that year: not again in Y),
-- else in school in Y+1 (continues), else a leaver without diploma nor qualification. Y+1 is
-- observed when the warehouse holds it and its September 30 has passed.
eleves AS (
  SELECT j.annee_scolaire, j.code_css, j.code_etablissement,
         COALESCE(sc.sexe, sp.sexe, 'inconnu') AS sexe,
         CASE WHEN j.ehdaa THEN 'ehdaa' ELSE 'non_ehdaa' END AS ehdaa,
         CASE WHEN ad.annee_scolaire IS NOT NULL AND sa.date_30_septembre < n.nuit THEN 1 ELSE 0 END
           AS observee, -- 0/1: DataFusion 55 mistakes the nullability of a boolean CASE over a join

         CASE
           WHEN sy.diplome = 1 THEN 'diplome'
           WHEN sy.cle_eleve IS NOT NULL THEN 'qualification'
           WHEN ps.annee_sanction < a.annee_debut THEN 'deja_sanctionne'
           WHEN p.cle_eleve IS NOT NULL THEN 'poursuit'
           ELSE 'sans_diplome'
         END AS statut
  FROM jeunes j
  CROSS JOIN (SELECT max(nuit) AS nuit FROM nuits) n
  JOIN annees_scolaires a ON a.annee_scolaire = j.annee_scolaire
  JOIN annees_scolaires sa ON sa.annee_scolaire = a.annee_suivante
  LEFT JOIN annees_donnees ad ON ad.annee_scolaire = a.annee_suivante
  LEFT JOIN sanction_annee sy ON sy.cle_eleve = j.cle_eleve AND sy.annee_sanction = a.annee_debut
  LEFT JOIN premiere_sanction ps ON ps.cle_eleve = j.cle_eleve
  LEFT JOIN presences p ON p.cle_eleve = j.cle_eleve AND p.annee_scolaire = a.annee_suivante
  -- Sex: a known sex of the student's CSS of the year first (intermediate model sexes), else
  -- the student's sex among every CSS (sexe_province); without a known sex: 'inconnu'.
  LEFT JOIN sexes sc ON sc.code_css = j.code_css AND sc.cle_eleve = j.cle_eleve
  LEFT JOIN sexe_province sp ON sp.cle_eleve = j.cle_eleve
),
-- Ventilations: every student once in `ensemble`, once by sex, once by EHDAA status, each at
-- two levels: the student's last school of the year, and the whole CSS (code_etablissement null).
niveaux AS (
  SELECT e.annee_scolaire, e.code_css,
         CASE WHEN v.par_etablissement THEN e.code_etablissement END AS code_etablissement,
         e.observee, e.statut, v.ventilation,
         CASE v.ventilation WHEN 'sexe' THEN e.sexe WHEN 'ehdaa' THEN e.ehdaa ELSE 'tous' END AS sous_groupe
  FROM eleves e
  CROSS JOIN (
    VALUES ('ensemble', true), ('sexe', true), ('ehdaa', true), ('ensemble', false), ('sexe', false), ('ehdaa', false)
  ) AS v(ventilation, par_etablissement)
),
comptes AS (
  SELECT annee_scolaire, code_css, code_etablissement, ventilation, sous_groupe, observee,
         CAST(count(*) AS BIGINT) AS nb_eleves,
         sum(CASE WHEN statut = 'diplome' THEN 1 ELSE 0 END) AS nb_diplome,
         sum(CASE WHEN statut = 'qualification' THEN 1 ELSE 0 END) AS nb_qualification,
         sum(CASE WHEN statut = 'sans_diplome' THEN 1 ELSE 0 END) AS nb_sans
  FROM niveaux
  GROUP BY annee_scolaire, code_css, code_etablissement, ventilation, sous_groupe, observee
)
SELECT
  annee_scolaire,
  code_css,
  code_etablissement,
  ventilation,
  sous_groupe,
  observee = 1 AS annee_suivante_observee,
  nb_eleves,
  CAST(nb_diplome AS BIGINT) AS nb_sortants_diplome,
  CAST(nb_qualification AS BIGINT) AS nb_sortants_qualification,
  CASE WHEN observee = 1 THEN CAST(nb_sans AS BIGINT) END AS nb_sortants_sans_diplome,
  CASE WHEN observee = 1 THEN CAST(nb_diplome + nb_qualification + nb_sans AS BIGINT) END AS nb_sortants,
  CASE WHEN observee = 1 THEN taux(nb_sans, nb_diplome + nb_qualification + nb_sans) END AS taux_sortie_sans_diplome
FROM comptes
ORDER BY annee_scolaire, code_css, code_etablissement NULLS FIRST, ventilation, sous_groupe
