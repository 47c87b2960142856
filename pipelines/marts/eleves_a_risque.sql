-- eleves_a_risque: early warning per current student of the latest school year (attendance,
-- French and math averages; Ed-Fi Analytics Middle Tier thresholds). Definition in words:
-- eleves_a_risque.yaml. Runs in each CSS's zone (names, fiche); one CSS at a time.
WITH
-- Migration GPI -> Mozaïk: per CSS and year, only the most recent system present in inscription.
systeme AS (
  SELECT code_css, annee_scolaire, max(systeme_source) AS systeme_source
  FROM inscription
  GROUP BY code_css, annee_scolaire
),
-- Active enrolments outside dummy schools.
insc AS (
  SELECT i.*
  FROM inscription i
  JOIN systeme s
    ON s.code_css = i.code_css AND s.annee_scolaire = i.annee_scolaire AND s.systeme_source = i.systeme_source
  WHERE NOT i.ecole_bidon AND i.actif
),
derniere AS (
  SELECT code_css, max(annee_scolaire) AS annee_scolaire FROM insc GROUP BY code_css
),
-- Enrolments of the latest year (each one a window of enrolled days: date_debut to date_depart,
-- both included).
insc_annee AS (
  SELECT i.*
  FROM insc i
  JOIN derniere d ON d.code_css = i.code_css AND d.annee_scolaire = i.annee_scolaire
),
-- Population: students still enrolled (an enrolment of the latest year without a departure); the
-- row describes the enrolment that started last.
population AS (
  SELECT *
  FROM (
    SELECT
      code_css, annee_scolaire, systeme_source, code_etablissement, cle_eleve, fiche,
      ordre_enseignement, classe, groupe_repere,
      row_number() OVER (
        PARTITION BY code_css, cle_eleve
        ORDER BY date_debut DESC NULLS LAST, code_etablissement, fiche
      ) AS rang
    FROM insc_annee
    WHERE date_depart IS NULL
  ) p
  WHERE rang = 1
),
noms AS (
  SELECT code_css, systeme_source, fiche, nom, prenom
  FROM (
    SELECT
      e.code_css, e.systeme_source, e.fiche, e.nom, e.prenom,
      row_number() OVER (PARTITION BY e.code_css, e.systeme_source, e.fiche ORDER BY e.nom, e.prenom) AS rang
    FROM eleve e
  ) n
  WHERE rang = 1
),
-- Absence rows of the latest year, of the year's system, outside dummy establishments.
absences AS (
  SELECT a.*
  FROM absence a
  JOIN derniere d ON d.code_css = a.code_css AND d.annee_scolaire = a.annee_scolaire
  JOIN systeme s
    ON s.code_css = a.code_css AND s.annee_scolaire = a.annee_scolaire AND s.systeme_source = a.systeme_source
  WHERE a.ecole_bidon IS NOT TRUE
),
-- How far the attendance data goes: the last date with an attendance row (absence or late) in the
-- CSS this year, and never after today.
horizon AS (
  SELECT code_css, max(date_absence) AS date_horizon
  FROM absences
  WHERE date_absence <= (SELECT max(nuit) FROM nuits)
  GROUP BY code_css
),
-- School days of the latest year, of the year's system.
jours_classe AS (
  SELECT c.code_css, c.code_etablissement, c.date, c.nb_periodes
  FROM calendrier c
  JOIN derniere d ON d.code_css = c.code_css AND d.annee_scolaire = c.annee_scolaire
  JOIN systeme s
    ON s.code_css = c.code_css AND s.annee_scolaire = c.annee_scolaire AND s.systeme_source = c.systeme_source
  WHERE c.jour_classe AND c.nb_periodes > 0
),
-- Each student's enrolled school days up to the horizon (once per school and date).
jours_inscrits AS (
  SELECT DISTINCT i.code_css, i.cle_eleve, j.code_etablissement, j.date, j.nb_periodes
  FROM insc_annee i
  JOIN population p ON p.code_css = i.code_css AND p.cle_eleve = i.cle_eleve
  JOIN horizon h ON h.code_css = i.code_css
  JOIN jours_classe j ON j.code_css = i.code_css AND j.code_etablissement = i.code_etablissement
  WHERE (i.date_debut IS NULL OR j.date >= i.date_debut)
    AND (i.date_depart IS NULL OR j.date <= i.date_depart)
    AND j.date <= h.date_horizon
),
-- Absent periods per student, school and date (lates are not absences).
absences_jour AS (
  SELECT code_css, cle_eleve, code_etablissement, date_absence, count(DISTINCT periode) AS nb_periodes_absent
  FROM absences
  WHERE categorie IS NULL OR categorie <> 'retard'
  GROUP BY code_css, cle_eleve, code_etablissement, date_absence
),
assiduite AS (
  SELECT
    j.code_css, j.cle_eleve,
    sum(j.nb_periodes) AS periodes_prevues,
    sum(
      CASE
        WHEN a.nb_periodes_absent IS NULL THEN 0
        WHEN a.nb_periodes_absent > j.nb_periodes THEN j.nb_periodes
        ELSE a.nb_periodes_absent
      END
    ) AS periodes_absent
  FROM jours_inscrits j
  LEFT JOIN absences_jour a
    ON a.code_css = j.code_css AND a.cle_eleve = j.cle_eleve
    AND a.code_etablissement = j.code_etablissement AND a.date_absence = j.date
  GROUP BY j.code_css, j.cle_eleve
),
-- Numeric marks of the latest year in French and math (subject = the course code's first three
-- characters), with the étape's rank (final after 3).
notes AS (
  SELECT
    r.code_css, r.cle_eleve,
    CASE
      WHEN strpos(',' || {{ prefixes_francais }} || ',', ',' || substr(r.code_cours, 1, 3) || ',') > 0 THEN 'francais'
      WHEN strpos(',' || {{ prefixes_mathematique }} || ',', ',' || substr(r.code_cours, 1, 3) || ',') > 0 THEN 'mathematique'
    END AS matiere,
    CASE r.etape WHEN '1' THEN 1 WHEN '2' THEN 2 WHEN '3' THEN 3 WHEN 'final' THEN 4 END AS rang_etape,
    CAST(r.note AS DOUBLE) AS note
  FROM resultat r
  JOIN derniere d ON d.code_css = r.code_css AND d.annee_scolaire = r.annee_scolaire
  JOIN systeme s
    ON s.code_css = r.code_css AND s.annee_scolaire = r.annee_scolaire AND s.systeme_source = r.systeme_source
  LEFT JOIN ref_cours rc ON rc.code_cours = r.code_cours
  WHERE NOT r.ecole_bidon
    AND r.etat <> 0
    AND NOT r.reprise
    AND r.evalue
    AND r.note IS NOT NULL
    AND rc.volet_de IS NULL
    AND NOT (
      length(r.code_cours) = 6
      AND translate(r.code_cours, '0123456789', '') = ''
      AND substr(r.code_cours, 6, 1) = '0'
    )
),
-- Per student and subject: the average of the marks of the latest étape that has marks.
derniere_etape AS (
  SELECT code_css, cle_eleve, matiere, max(rang_etape) AS rang_etape
  FROM notes
  WHERE matiere IS NOT NULL
  GROUP BY code_css, cle_eleve, matiere
),
moyennes AS (
  SELECT
    n.code_css, n.cle_eleve,
    avg(CASE WHEN n.matiere = 'francais' THEN n.note END) AS moyenne_francais,
    avg(CASE WHEN n.matiere = 'mathematique' THEN n.note END) AS moyenne_mathematique
  FROM notes n
  JOIN derniere_etape e
    ON e.code_css = n.code_css AND e.cle_eleve = n.cle_eleve AND e.matiere = n.matiere
    AND e.rang_etape = n.rang_etape
  GROUP BY n.code_css, n.cle_eleve
),
indicateurs AS (
  SELECT
    p.*,
    taux(a.periodes_prevues - a.periodes_absent, a.periodes_prevues) AS taux_assiduite,
    m.moyenne_francais,
    m.moyenne_mathematique
  FROM population p
  LEFT JOIN assiduite a ON a.code_css = p.code_css AND a.cle_eleve = p.cle_eleve
  LEFT JOIN moyennes m ON m.code_css = p.code_css AND m.cle_eleve = p.cle_eleve
),
niveaux AS (
  SELECT
    i.*,
    CASE
      WHEN i.taux_assiduite IS NULL THEN NULL
      WHEN i.taux_assiduite < {{ seuil_risque_assiduite }} THEN 'risque'
      WHEN i.taux_assiduite < {{ seuil_alerte_assiduite }} THEN 'alerte'
      ELSE 'aucun'
    END AS niveau_assiduite,
    CASE
      WHEN i.moyenne_francais IS NULL THEN NULL
      WHEN i.moyenne_francais < {{ seuil_risque_note }} THEN 'risque'
      WHEN i.moyenne_francais < {{ seuil_alerte_note }} THEN 'alerte'
      ELSE 'aucun'
    END AS niveau_francais,
    CASE
      WHEN i.moyenne_mathematique IS NULL THEN NULL
      WHEN i.moyenne_mathematique < {{ seuil_risque_note }} THEN 'risque'
      WHEN i.moyenne_mathematique < {{ seuil_alerte_note }} THEN 'alerte'
      ELSE 'aucun'
    END AS niveau_mathematique
  FROM indicateurs i
)
SELECT
  n.code_css,
  n.annee_scolaire,
  n.code_etablissement,
  n.fiche,
  nm.nom,
  nm.prenom,
  n.ordre_enseignement,
  n.classe,
  n.groupe_repere,
  n.taux_assiduite,
  n.niveau_assiduite,
  n.moyenne_francais,
  n.niveau_francais,
  n.moyenne_mathematique,
  n.niveau_mathematique,
  CASE
    WHEN n.niveau_assiduite = 'risque' OR n.niveau_francais = 'risque' OR n.niveau_mathematique = 'risque' THEN 'risque'
    WHEN n.niveau_assiduite = 'alerte' OR n.niveau_francais = 'alerte' OR n.niveau_mathematique = 'alerte' THEN 'alerte'
    WHEN n.niveau_assiduite IS NULL AND n.niveau_francais IS NULL AND n.niveau_mathematique IS NULL THEN NULL
    ELSE 'aucun'
  END AS niveau_global,
  CAST(
    CASE WHEN n.niveau_assiduite IN ('alerte', 'risque') THEN 1 ELSE 0 END
    + CASE WHEN n.niveau_francais IN ('alerte', 'risque') THEN 1 ELSE 0 END
    + CASE WHEN n.niveau_mathematique IN ('alerte', 'risque') THEN 1 ELSE 0 END
  AS BIGINT) AS nb_indicateurs_risque
FROM niveaux n
LEFT JOIN noms nm ON nm.code_css = n.code_css AND nm.systeme_source = n.systeme_source AND nm.fiche = n.fiche
ORDER BY n.code_css, n.code_etablissement, n.classe, n.groupe_repere, nm.nom, nm.prenom, n.fiche
