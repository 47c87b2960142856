-- suivi_des: DES eligibility forecast for each current secondary-5 student of a CSS.
-- Definition in words: suivi_des.yaml. Runs in each CSS's zone (names, fiche); one CSS at a time.
-- Reads the intermediate models eleves_courants (population, names), resultats_retenus (results)
-- and inscriptions_retenues (enrolment history).
WITH
-- The latest school year of the CSS's data, and the one before it.
derniere AS (
  SELECT DISTINCT code_css, annee_scolaire, annee_precedente FROM eleves_courants
),
-- Population: the current students (eleves_courants: active, not departed, latest year; one per
-- student, the enrolment that started last) whose enrolment is in secondary 5.
population AS (
  SELECT *
  FROM eleves_courants
  WHERE ordre_enseignement = 4 AND trim(classe) = '5'
),
-- Results of every year of this CSS (resultats_retenus: system kept, no dummy school, no
-- inactive subject enrolment), of the population's students only: every figure below is of a
-- student of the population, and the courses of cours_des matter only through their results.
-- (Reading every student's results cost about ten times more, for rows the output never shows.)
res AS (
  SELECT r.*
  FROM resultats_retenus r
  WHERE EXISTS (
    SELECT 1 FROM population p WHERE p.code_css = r.code_css AND p.cle_eleve = r.cle_eleve
  )
),
-- Ministry courses of secondary 4 and 5 (6 digits; volets, ending in 0, excluded) and their units:
-- ref_cours when the code is in the ministry sample, else the code's last digit.
cours_des AS (
  SELECT
    c.code_cours,
    COALESCE(rc.annee_secondaire, CAST(substr(c.code_cours, 4, 1) AS BIGINT)) AS annee_secondaire,
    COALESCE(rc.unites, CAST(substr(c.code_cours, 6, 1) AS BIGINT)) AS unites
  FROM (
    SELECT DISTINCT code_cours
    FROM res
    WHERE length(code_cours) = 6
      AND translate(code_cours, '0123456789', '') = ''
      AND substr(code_cours, 6, 1) <> '0'
      AND substr(code_cours, 4, 1) IN ('4', '5')
  ) c
  LEFT JOIN ref_cours rc ON rc.code_cours = c.code_cours
  WHERE rc.volet_de IS NULL
),
-- Courses passed, any year (retakes included), each once.
reussis AS (
  SELECT code_css, cle_eleve, code_cours
  FROM res
  WHERE etape = 'final' AND reussi
  GROUP BY code_css, cle_eleve, code_cours
),
-- Results of the latest year; each subject enrolment's (course x group) latest evaluated étape.
annee_res AS (
  SELECT r.*
  FROM res r
  JOIN derniere d ON d.code_css = r.code_css AND d.annee_scolaire = r.annee_scolaire
),
dernieres_etapes AS (
  SELECT
    code_css, cle_eleve, code_cours, code_etablissement, groupe, reussi,
    row_number() OVER (
      PARTITION BY code_css, cle_eleve, code_cours, code_etablissement, groupe
      ORDER BY etape DESC
    ) AS rang
  FROM annee_res
  WHERE etape IN ('1', '2', '3') AND evalue
),
-- Subject enrolments of the latest year: whether a final result was entered, and whether the
-- latest evaluated étape is a fail.
matieres_etat AS (
  SELECT
    m.code_css, m.cle_eleve, m.code_cours, m.nb_finals,
    CASE WHEN de.reussi = false THEN true ELSE false END AS en_echec
  FROM (
    SELECT
      code_css, cle_eleve, code_cours, code_etablissement, groupe,
      sum(CASE WHEN etape = 'final' AND statut_resultat <> 'vide' THEN 1 ELSE 0 END) AS nb_finals
    FROM annee_res
    GROUP BY code_css, cle_eleve, code_cours, code_etablissement, groupe
  ) m
  LEFT JOIN dernieres_etapes de
    ON de.code_css = m.code_css AND de.cle_eleve = m.cle_eleve AND de.code_cours = m.code_cours
    AND de.code_etablissement = m.code_etablissement AND (de.groupe IS NOT DISTINCT FROM m.groupe)
    AND de.rang = 1
),
-- Courses in progress: enrolled this year with no final result entered, not passed before.
-- Currently failing: every such enrolment's latest evaluated étape is a fail.
en_cours AS (
  SELECT
    m.code_css, m.cle_eleve, m.code_cours,
    bool_and(m.en_echec) AS en_echec
  FROM matieres_etat m
  LEFT JOIN reussis p ON p.code_css = m.code_css AND p.cle_eleve = m.cle_eleve AND p.code_cours = m.code_cours
  WHERE m.nb_finals = 0 AND p.code_cours IS NULL
  GROUP BY m.code_css, m.cle_eleve, m.code_cours
),
-- Every course of a student with its state: 3 passed, 2 in progress, 1 in progress but failing.
parcours AS (
  SELECT code_css, cle_eleve, code_cours, 3 AS etat_cours FROM reussis
  UNION ALL
  SELECT code_css, cle_eleve, code_cours, CASE WHEN en_echec THEN 1 ELSE 2 END AS etat_cours FROM en_cours
),
unites AS (
  SELECT
    p.code_css, p.cle_eleve,
    sum(CASE WHEN p.etat_cours = 3 THEN c.unites ELSE 0 END) AS unites_sec4_5,
    sum(CASE WHEN p.etat_cours = 3 AND c.annee_secondaire = 5 THEN c.unites ELSE 0 END) AS unites_sec5,
    sum(CASE WHEN p.etat_cours < 3 THEN c.unites ELSE 0 END) AS unites_en_cours_sec4_5,
    sum(CASE WHEN p.etat_cours < 3 AND c.annee_secondaire = 5 THEN c.unites ELSE 0 END) AS unites_en_cours_sec5,
    sum(CASE WHEN p.etat_cours = 1 THEN c.unites ELSE 0 END) AS unites_en_echec_sec4_5,
    sum(CASE WHEN p.etat_cours = 1 AND c.annee_secondaire = 5 THEN c.unites ELSE 0 END) AS unites_en_echec_sec5,
    sum(CASE WHEN p.etat_cours = 1 THEN 1 ELSE 0 END) AS nb_cours_en_echec
  FROM parcours p
  JOIN cours_des c ON c.code_cours = p.code_cours
  GROUP BY p.code_css, p.cle_eleve
),
-- Each requirement of the seed for each student: its best course state (0 = missing).
exigences AS (
  SELECT DISTINCT exigence FROM exigences_des
),
exigence_cours AS (
  SELECT
    p.code_css, p.cle_eleve, e.exigence, max(p.etat_cours) AS etat
  FROM parcours p
  JOIN exigences_des e
    ON (NULLIF(e.code_cours, '') IS NOT NULL AND e.code_cours = p.code_cours)
    OR (
      NULLIF(e.code_cours, '') IS NULL
      AND length(p.code_cours) = 6
      AND substr(p.code_cours, 1, 3) = e.prefixe_matiere
      AND substr(p.code_cours, 4, 1) = CAST(e.annee_secondaire AS VARCHAR)
      AND substr(p.code_cours, 6, 1) <> '0'
    )
  GROUP BY p.code_css, p.cle_eleve, e.exigence
),
exigence_eleve AS (
  SELECT pop.code_css, pop.cle_eleve, x.exigence, COALESCE(ec.etat, 0) AS etat
  FROM population pop
  CROSS JOIN exigences x
  LEFT JOIN exigence_cours ec
    ON ec.code_css = pop.code_css AND ec.cle_eleve = pop.cle_eleve AND ec.exigence = x.exigence
),
bilan AS (
  SELECT
    code_css, cle_eleve,
    max(CASE WHEN exigence = 'francais_5' THEN etat END) AS francais_5,
    max(CASE WHEN exigence = 'anglais_5' THEN etat END) AS anglais_5,
    max(CASE WHEN exigence = 'mathematique_4' THEN etat END) AS mathematique_4,
    max(CASE WHEN exigence = 'science_4' THEN etat END) AS science_4,
    max(CASE WHEN exigence = 'histoire_4' THEN etat END) AS histoire_4,
    max(CASE WHEN exigence = 'arts_4' THEN etat END) AS arts_4,
    max(CASE WHEN exigence = 'ethique_citoyennete_5' THEN etat END) AS ethique_citoyennete_5,
    max(CASE WHEN exigence = 'education_physique_5' THEN etat END) AS education_physique_5,
    sum(CASE WHEN etat = 3 THEN 1 ELSE 0 END) AS nb_exigences_reussies,
    sum(CASE WHEN etat = 2 THEN 1 ELSE 0 END) AS nb_exigences_en_cours,
    sum(CASE WHEN etat = 1 THEN 1 ELSE 0 END) AS nb_exigences_en_echec,
    sum(CASE WHEN etat = 0 THEN 1 ELSE 0 END) AS nb_exigences_manquantes
  FROM exigence_eleve
  GROUP BY code_css, cle_eleve
),
-- Students who may have earned units in another CSS: the previous year is in this CSS's data and
-- the student has no enrolment in it, or never had a secondary-4 enrolment in this CSS.
-- Unknown (null) when the CSS's data does not reach the previous year.
historique AS (
  SELECT
    pop.code_css, pop.cle_eleve,
    max(CASE WHEN i.annee_scolaire = d.annee_precedente THEN 1 ELSE 0 END) AS inscrit_annee_precedente,
    max(CASE WHEN i.annee_scolaire < d.annee_scolaire AND i.ordre_enseignement = 4 AND trim(i.classe) = '4'
             THEN 1 ELSE 0 END) AS inscrit_sec4
  FROM population pop
  JOIN derniere d ON d.code_css = pop.code_css
  LEFT JOIN inscriptions_retenues i ON i.code_css = pop.code_css AND i.cle_eleve = pop.cle_eleve
  GROUP BY pop.code_css, pop.cle_eleve
),
couverture AS (
  SELECT d.code_css, CASE WHEN count(i.cle_eleve) > 0 THEN true ELSE false END AS annee_precedente_couverte
  FROM derniere d
  LEFT JOIN inscriptions_retenues i ON i.code_css = d.code_css AND i.annee_scolaire = d.annee_precedente
  GROUP BY d.code_css
),
synthese AS (
  SELECT
    pop.*,
    CAST(COALESCE(u.unites_sec4_5, 0) AS BIGINT) AS unites_sec4_5,
    CAST(COALESCE(u.unites_sec5, 0) AS BIGINT) AS unites_sec5,
    CAST(COALESCE(u.unites_en_cours_sec4_5, 0) AS BIGINT) AS unites_en_cours_sec4_5,
    CAST(COALESCE(u.unites_en_cours_sec5, 0) AS BIGINT) AS unites_en_cours_sec5,
    CAST(COALESCE(u.unites_en_echec_sec4_5, 0) AS BIGINT) AS unites_en_echec_sec4_5,
    CAST(COALESCE(u.unites_en_echec_sec5, 0) AS BIGINT) AS unites_en_echec_sec5,
    CAST(COALESCE(u.nb_cours_en_echec, 0) AS BIGINT) AS nb_cours_en_echec,
    b.francais_5, b.anglais_5, b.mathematique_4, b.science_4, b.histoire_4, b.arts_4,
    b.ethique_citoyennete_5, b.education_physique_5,
    CAST(b.nb_exigences_reussies AS BIGINT) AS nb_exigences_reussies,
    CAST(b.nb_exigences_en_cours + b.nb_exigences_en_echec AS BIGINT) AS nb_exigences_en_cours,
    CAST(b.nb_exigences_manquantes AS BIGINT) AS nb_exigences_manquantes,
    b.nb_exigences_en_echec,
    CASE
      WHEN NOT cv.annee_precedente_couverte THEN NULL
      WHEN h.inscrit_annee_precedente = 0 OR h.inscrit_sec4 = 0 THEN true
      ELSE false
    END AS changement_css_possible
  FROM population pop
  JOIN bilan b ON b.code_css = pop.code_css AND b.cle_eleve = pop.cle_eleve
  JOIN historique h ON h.code_css = pop.code_css AND h.cle_eleve = pop.cle_eleve
  JOIN couverture cv ON cv.code_css = pop.code_css
  LEFT JOIN unites u ON u.code_css = pop.code_css AND u.cle_eleve = pop.cle_eleve
)
SELECT
  p.code_css,
  p.annee_scolaire,
  p.code_etablissement,
  p.fiche,
  p.nom,
  p.prenom,
  p.groupe_repere,
  p.unites_sec4_5,
  p.unites_sec5,
  p.unites_en_cours_sec4_5,
  p.unites_en_cours_sec5,
  p.nb_cours_en_echec,
  CASE p.francais_5 WHEN 3 THEN 'reussi' WHEN 2 THEN 'en_cours' WHEN 1 THEN 'en_cours_echec' ELSE 'manquant' END AS exigence_francais_5,
  CASE p.anglais_5 WHEN 3 THEN 'reussi' WHEN 2 THEN 'en_cours' WHEN 1 THEN 'en_cours_echec' ELSE 'manquant' END AS exigence_anglais_5,
  CASE p.mathematique_4 WHEN 3 THEN 'reussi' WHEN 2 THEN 'en_cours' WHEN 1 THEN 'en_cours_echec' ELSE 'manquant' END AS exigence_mathematique_4,
  CASE p.science_4 WHEN 3 THEN 'reussi' WHEN 2 THEN 'en_cours' WHEN 1 THEN 'en_cours_echec' ELSE 'manquant' END AS exigence_science_4,
  CASE p.histoire_4 WHEN 3 THEN 'reussi' WHEN 2 THEN 'en_cours' WHEN 1 THEN 'en_cours_echec' ELSE 'manquant' END AS exigence_histoire_4,
  CASE p.arts_4 WHEN 3 THEN 'reussi' WHEN 2 THEN 'en_cours' WHEN 1 THEN 'en_cours_echec' ELSE 'manquant' END AS exigence_arts_4,
  CASE p.ethique_citoyennete_5 WHEN 3 THEN 'reussi' WHEN 2 THEN 'en_cours' WHEN 1 THEN 'en_cours_echec' ELSE 'manquant' END AS exigence_ethique_citoyennete_5,
  CASE p.education_physique_5 WHEN 3 THEN 'reussi' WHEN 2 THEN 'en_cours' WHEN 1 THEN 'en_cours_echec' ELSE 'manquant' END AS exigence_education_physique_5,
  p.nb_exigences_reussies,
  p.nb_exigences_en_cours,
  p.nb_exigences_manquantes,
  CASE
    WHEN p.nb_exigences_manquantes > 0
      OR p.unites_sec4_5 + p.unites_en_cours_sec4_5 < {{ seuil_unites_sec4_5 }}
      OR p.unites_sec5 + p.unites_en_cours_sec5 < {{ seuil_unites_sec5 }}
      THEN 'non_diplomable_cette_annee'
    WHEN p.nb_exigences_en_echec > 0
      OR p.unites_sec4_5 + p.unites_en_cours_sec4_5 - p.unites_en_echec_sec4_5 < {{ seuil_unites_sec4_5 }}
      OR p.unites_sec5 + p.unites_en_cours_sec5 - p.unites_en_echec_sec5 < {{ seuil_unites_sec5 }}
      THEN 'a_risque'
    ELSE 'en_voie'
  END AS prevision,
  p.changement_css_possible
FROM synthese p
ORDER BY p.code_css, p.code_etablissement, p.groupe_repere, p.nom, p.prenom, p.fiche
