-- epreuves_ministerielles: ministry exams of the June session, per school year, CSS,
-- establishment, sector and course (or exam part, volet): students present, success rate, average
-- marks (exam, school raw and moderated, final), moderation and the school-exam gap, with the
-- year's weighting (seed ponderation_epreuves). Definition in words: epreuves_ministerielles.yaml.
WITH
-- Dummy schools: an establishment code that is only ever a dummy school that year in that CSS.
ecoles_bidon AS (
  SELECT annee_scolaire, code_css, code_etablissement
  FROM etablissement
  GROUP BY annee_scolaire, code_css, code_etablissement
  HAVING min(CASE WHEN ecole_bidon THEN 1 ELSE 0 END) = 1
),
-- June session (main session) of courses and volets with a ministry exam. A result is counted in
-- the CSS of the establishment it names (the registry's), which is not always the CSS that
-- received it (code_css_recu): a student who moved, a course taken in another CSS's centre.
juin AS (
  SELECT
    m.annee_scolaire,
    coalesce(e.code_css, m.code_css) AS code_css,
    m.code_css AS code_css_recu,
    coalesce(e.code_css = m.code_css, false) AS etablissement_du_css_recu,
    m.code_etablissement,
    m.secteur,
    m.code_cours,
    c.volet_de,
    m.cle_eleve,
    m.resultat_epreuve_brut,
    m.note_ecole_brute,
    m.note_ecole_moderee,
    m.note_epreuve,
    m.note_finale,
    m.reussi,
    m.date_copie
  FROM resultat_ministere m
  JOIN ref_cours c ON c.code_cours = m.code_cours
  LEFT JOIN ref_etablissements e ON e.code_etablissement = m.code_etablissement
  WHERE m.mois_session = 6
    AND c.epreuve_ministerielle
),
-- One copy per receiving CSS, student and course: the latest retrieved (date_copie).
copie_css AS (
  SELECT *
  FROM (
    SELECT
      j.*,
      row_number() OVER (
        PARTITION BY j.annee_scolaire, j.code_css_recu, j.cle_eleve, j.code_cours
        ORDER BY j.date_copie DESC, j.code_etablissement
      ) AS rang
    FROM juin j
  ) t
  WHERE rang = 1
),
-- One result per student and course in the province: a student's official result sent to two
-- CSS (a mover) counts once: the copy of the CSS that received it about one of its own
-- establishments, else the latest copy, else the smallest receiving CSS code. A result only one
-- CSS received, about another CSS's establishment, counts once too, in that establishment.
copie AS (
  SELECT *
  FROM (
    SELECT
      c.*,
      row_number() OVER (
        PARTITION BY c.annee_scolaire, c.cle_eleve, c.code_cours
        ORDER BY CASE WHEN c.etablissement_du_css_recu THEN 0 ELSE 1 END, c.date_copie DESC, c.code_css_recu
      ) AS rang_province
    FROM copie_css c
  ) t
  WHERE rang_province = 1
),
retenus AS (
  SELECT
    c.*,
    c.note_epreuve IS NOT NULL AS present
  FROM copie c
  LEFT JOIN ecoles_bidon b
    ON b.annee_scolaire = c.annee_scolaire
    AND b.code_css = c.code_css
    AND b.code_etablissement = c.code_etablissement
  WHERE b.code_etablissement IS NULL
)
-- The counts and averages, with the year's weighting (seed ponderation_epreuves, one row a year).
SELECT
  c.annee_scolaire,
  c.code_css,
  c.code_etablissement,
  c.secteur,
  c.code_cours,
  c.volet_de,
  p.ponderation_ecole,
  p.ponderation_epreuve,
  sum(CASE WHEN c.present THEN 1 ELSE 0 END) AS nb_presents,
  sum(CASE WHEN NOT c.present AND upper(trim(c.resultat_epreuve_brut)) = 'ABS' THEN 1 ELSE 0 END) AS nb_absents,
  sum(CASE WHEN c.present AND c.reussi THEN 1 ELSE 0 END) AS nb_reussites,
  sum(CASE WHEN c.present AND NOT c.reussi THEN 1 ELSE 0 END) AS nb_echecs,
  taux(sum(CASE WHEN c.present AND c.reussi THEN 1 ELSE 0 END), sum(CASE WHEN c.present THEN 1 ELSE 0 END))
    AS taux_reussite,
  avg(CASE WHEN c.present THEN CAST(c.note_epreuve AS DOUBLE) END) AS moyenne_epreuve,
  avg(CASE WHEN c.present THEN CAST(c.note_ecole_brute AS DOUBLE) END) AS moyenne_ecole_brute,
  avg(CASE WHEN c.present THEN CAST(c.note_ecole_moderee AS DOUBLE) END) AS moyenne_ecole_moderee,
  avg(CASE WHEN c.present THEN CAST(c.note_finale AS DOUBLE) END) AS moyenne_finale,
  avg(CASE WHEN c.present THEN CAST(c.note_ecole_moderee AS DOUBLE) - CAST(c.note_ecole_brute AS DOUBLE) END) AS moderation,
  avg(CASE WHEN c.present THEN CAST(c.note_ecole_moderee AS DOUBLE) - CAST(c.note_epreuve AS DOUBLE) END) AS ecart_ecole_epreuve,
  -- The PEVR's "share at 70% or more" (indicators 1.1.1.4-6): the exam mark of the present.
  sum(CASE WHEN c.present AND c.note_epreuve >= 70 THEN 1 ELSE 0 END) AS nb_70_plus,
  sum(CASE WHEN c.present AND c.note_epreuve < 70 THEN 1 ELSE 0 END) AS nb_sous_70,
  taux(sum(CASE WHEN c.present AND c.note_epreuve >= 70 THEN 1 ELSE 0 END), sum(CASE WHEN c.present THEN 1 ELSE 0 END))
    AS taux_70_plus
FROM retenus c
LEFT JOIN ponderation_epreuves p ON p.annee_scolaire = c.annee_scolaire
GROUP BY c.annee_scolaire, c.code_css, c.code_etablissement, c.secteur, c.code_cours, c.volet_de,
         p.ponderation_ecole, p.ponderation_epreuve
ORDER BY c.annee_scolaire, c.code_css, c.code_etablissement, c.secteur, c.code_cours
