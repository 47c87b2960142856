-- sorties_sans_diplome: taux annuel de sorties sans diplôme ni qualification (secteur des jeunes,
-- secondaire). Definition in words: sorties_sans_diplome.yaml. Runs over the shared zone: a
-- student who continues in another CSS is followed by cle_eleve.
WITH
-- Migration GPI -> Mozaïk: per CSS and year, the rows of the most recent system only.
systeme AS (
  SELECT code_css, annee_scolaire, max(systeme_source) AS systeme_source
  FROM inscription
  GROUP BY code_css, annee_scolaire
),
insc AS (
  SELECT i.annee_scolaire, i.code_css, i.code_etablissement, i.cle_eleve, i.ecole_bidon, i.actif,
         i.ordre_enseignement, i.ehdaa, i.date_debut, i.date_depart
  FROM inscription i
  JOIN systeme s
    ON s.code_css = i.code_css AND s.annee_scolaire = i.annee_scolaire AND s.systeme_source = i.systeme_source
),
annees_donnees AS (
  SELECT DISTINCT annee_scolaire FROM inscription
),
-- The youth sector of year Y: students with an active secondary enrolment (order 4) in Y,
-- outside dummy schools, in any CSS. Their last enrolment of Y (latest start, an open one before
-- one with a departure, then the highest CSS and school code) gives their CSS and school.
jeunes_rangs AS (
  SELECT i.annee_scolaire, i.cle_eleve, i.code_css, i.code_etablissement, i.ehdaa,
         row_number() OVER (
           PARTITION BY i.annee_scolaire, i.cle_eleve
           ORDER BY i.date_debut DESC NULLS LAST, i.date_depart DESC NULLS FIRST,
                    i.code_css DESC, i.code_etablissement DESC
         ) AS rang
  FROM insc i
  WHERE (i.actif OR i.date_depart IS NOT NULL) AND NOT i.ecole_bidon AND i.ordre_enseignement = 4
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
  SELECT cle_eleve, annee_scolaire FROM insc WHERE (actif OR date_depart IS NOT NULL) AND NOT ecole_bidon
  UNION
  SELECT cle_eleve, annee_scolaire FROM frequentation_fga_fp
  UNION
  SELECT f.cle_eleve, a.annee_suivante AS annee_scolaire
  FROM frequentation_fga_fp f
  JOIN annees_scolaires a ON a.annee_scolaire = f.annee_scolaire
  WHERE f.date_fin IS NULL OR f.date_fin > a.date_fin
),
-- Counted sanctions (obtained, a type of types_sanction that counts), each attributed to a
-- school year: the year of its date, except that a sanction dated July 1 to September 30 belongs
-- to the year that just ended (the June session's diplomas are issued in the summer).
sanctions AS (
  SELECT s.cle_eleve, t.categorie,
         CASE WHEN s.date_obtention <= a.date_30_septembre THEN a.annee_debut - 1 ELSE a.annee_debut END
           AS annee_sanction
  FROM sanction s
  JOIN types_sanction t ON t.type_diplome = s.type_diplome
  JOIN annees_scolaires a ON a.annee_scolaire = s.annee_scolaire
  WHERE s.obtenu AND t.compte_diplomation
),
-- Sex: one eleve row per student, chosen in this order: a known sex, a row of the student's CSS
-- of the year, a youth-sector row (gpi, mozaik) before JADE, the most recent system, the value.
sexe_rangs AS (
  SELECT j.annee_scolaire, j.cle_eleve, e.sexe,
         row_number() OVER (
           PARTITION BY j.annee_scolaire, j.cle_eleve
           ORDER BY CASE WHEN e.sexe IS NULL THEN 1 ELSE 0 END,
                    CASE WHEN e.code_css = j.code_css THEN 0 ELSE 1 END,
                    CASE WHEN e.systeme_source = 'jade' THEN 1 ELSE 0 END,
                    e.systeme_source DESC,
                    e.sexe
         ) AS rang
  FROM jeunes j
  JOIN eleve e ON e.cle_eleve = j.cle_eleve
),
sanction_annee AS (
  SELECT cle_eleve, annee_sanction, max(CASE WHEN categorie = 'diplome' THEN 1 ELSE 0 END) AS diplome
  FROM sanctions
  GROUP BY cle_eleve, annee_sanction
),
premiere_sanction AS (
  SELECT cle_eleve, min(annee_sanction) AS annee_sanction
  FROM sanctions
  GROUP BY cle_eleve
),
-- Each student of Y: a diploma attributed to Y, else a qualification attributed to Y, else
-- already holding a sanction of an earlier year (counted as a leaver that year: not again in Y),
-- else in school in Y+1 (continues), else a leaver without diploma nor qualification. Y+1 is
-- observed when the warehouse holds it and its September 30 has passed.
eleves AS (
  SELECT j.annee_scolaire, j.code_css, j.code_etablissement,
         CASE WHEN sx.sexe IS NULL THEN 'inconnu' ELSE sx.sexe END AS sexe,
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
  LEFT JOIN sexe_rangs sx ON sx.annee_scolaire = j.annee_scolaire AND sx.cle_eleve = j.cle_eleve AND sx.rang = 1
),
-- Ventilations: every student once in `ensemble`, once by sex, once by EHDAA status ...
ventile AS (
  SELECT annee_scolaire, code_css, code_etablissement, observee, statut,
         'ensemble' AS ventilation, 'tous' AS sous_groupe
  FROM eleves
  UNION ALL
  SELECT annee_scolaire, code_css, code_etablissement, observee, statut, 'sexe' AS ventilation, sexe AS sous_groupe
  FROM eleves
  UNION ALL
  SELECT annee_scolaire, code_css, code_etablissement, observee, statut, 'ehdaa' AS ventilation, ehdaa AS sous_groupe
  FROM eleves
),
-- ... and at two levels: the student's last school of the year, and the whole CSS
-- (code_etablissement null).
niveaux AS (
  SELECT v.annee_scolaire, v.code_css,
         CASE WHEN n.niveau = 'etablissement' THEN v.code_etablissement END AS code_etablissement,
         v.observee, v.statut, v.ventilation, v.sous_groupe
  FROM ventile v
  CROSS JOIN (SELECT 'etablissement' AS niveau UNION ALL SELECT 'css' AS niveau) n
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
  CASE
    WHEN observee = 0 OR nb_diplome + nb_qualification + nb_sans = 0 THEN NULL
    ELSE CAST(nb_sans AS DOUBLE) / CAST(nb_diplome + nb_qualification + nb_sans AS DOUBLE)
  END AS taux_sortie_sans_diplome
FROM comptes
ORDER BY annee_scolaire, code_css, code_etablissement NULLS FIRST, ventilation, sous_groupe
