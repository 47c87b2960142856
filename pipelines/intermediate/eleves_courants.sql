-- eleves_courants: the current students of a CSS, each with the enrolment that describes them
-- and their name. Definition in words: eleves_courants.yaml. A CSS-zone model (fiche, names).
WITH
-- The last school year of the CSS's data (its kept enrolments), and the one before it.
derniere AS (
  SELECT m.code_css, m.annee_scolaire, a.annee_precedente
  FROM (SELECT code_css, max(annee_scolaire) AS annee_scolaire FROM inscriptions_retenues GROUP BY code_css) m
  JOIN annees_scolaires a ON a.annee_scolaire = m.annee_scolaire
),
-- Enrolled now: an active enrolment of that year without a departure, of the system kept
-- (systemes_retenus), outside dummy schools; one per student, the one that started last.
courantes AS (
  SELECT
    i.code_css, i.annee_scolaire, d.annee_precedente, i.systeme_source, i.code_etablissement,
    i.cle_eleve, i.fiche, i.ordre_enseignement, i.classe, i.groupe_repere,
    row_number() OVER (
      PARTITION BY i.code_css, i.cle_eleve
      ORDER BY i.date_debut DESC NULLS LAST, i.code_etablissement, i.fiche
    ) AS rang
  FROM inscription i
  JOIN derniere d ON d.code_css = i.code_css AND d.annee_scolaire = i.annee_scolaire
  JOIN systemes_retenus s
    ON s.code_css = i.code_css AND s.annee_scolaire = i.annee_scolaire AND s.systeme_source = i.systeme_source
  WHERE i.actif AND i.date_depart IS NULL AND i.ecole_bidon IS NOT TRUE
),
-- The name: the eleve row of the same system and fiche (the first by name if a fiche repeats).
noms AS (
  SELECT code_css, systeme_source, fiche,
         min(nom) AS nom,
         min(prenom) FILTER (WHERE rang_nom = 1) AS prenom
  FROM (
    SELECT code_css, systeme_source, fiche, nom, prenom,
           rank() OVER (PARTITION BY code_css, systeme_source, fiche ORDER BY nom) AS rang_nom
    FROM eleve
  ) e
  GROUP BY code_css, systeme_source, fiche
)
SELECT c.code_css, c.annee_scolaire, c.annee_precedente, c.systeme_source, c.code_etablissement,
       c.cle_eleve, c.fiche, n.nom, n.prenom, c.ordre_enseignement, c.classe, c.groupe_repere
FROM courantes c
LEFT JOIN noms n ON n.code_css = c.code_css AND n.systeme_source = c.systeme_source AND n.fiche = c.fiche
WHERE c.rang = 1
