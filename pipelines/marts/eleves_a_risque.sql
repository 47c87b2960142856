-- eleves_a_risque: early warning per current student of the latest school year (attendance,
-- French and math averages; Ed-Fi Analytics Middle Tier thresholds). Definition in words:
-- eleves_a_risque.yaml. Runs in each CSS's zone (names, fiche); one CSS at a time.
-- Reads the intermediate models eleves_courants (population, names), inscriptions_ecole,
-- jours_classe, absences_jour (attendance) and resultats_retenus (marks).
WITH
-- How far the attendance data goes: the last date with an attendance row (absence or late) in the
-- CSS this year (absences_jour: system kept, no dummy establishment), never after the night.
horizon AS (
  SELECT b.code_css, max(b.date_absence) AS date_horizon
  FROM absences_jour b
  JOIN (SELECT DISTINCT code_css, annee_scolaire FROM eleves_courants) d
    ON d.code_css = b.code_css AND d.annee_scolaire = b.annee_scolaire
  WHERE b.date_absence <= (SELECT max(nuit) FROM nuits)
  GROUP BY b.code_css
),
-- Expected periods: the school days up to the horizon of every school the student was enrolled
-- in this year (inscriptions_ecole: valid enrolments, active or departed, bounds included), so a
-- student who changed school keeps the days of the school they left.
prevues AS (
  SELECT p.code_css, p.cle_eleve, sum(j.nb_periodes) AS periodes_prevues
  FROM eleves_courants p
  JOIN horizon h ON h.code_css = p.code_css
  JOIN inscriptions_ecole i
    ON i.code_css = p.code_css AND i.annee_scolaire = p.annee_scolaire AND i.cle_eleve = p.cle_eleve
  JOIN jours_classe j
    ON j.annee_scolaire = i.annee_scolaire AND j.code_css = i.code_css AND j.code_etablissement = i.code_etablissement
  WHERE j.jour >= i.debut AND j.jour <= i.fin AND j.jour <= h.date_horizon
  GROUP BY p.code_css, p.cle_eleve
),
-- Absent periods (lates are not absences) of the enrolled school days up to the horizon, at most
-- the day's periods.
absentes AS (
  SELECT p.code_css, p.cle_eleve, sum(least(b.p_absence, b.nb_periodes)) AS periodes_absent
  FROM eleves_courants p
  JOIN horizon h ON h.code_css = p.code_css
  JOIN absences_jour b
    ON b.code_css = p.code_css AND b.annee_scolaire = p.annee_scolaire AND b.cle_eleve = p.cle_eleve
  WHERE b.jour_inscrit AND b.date_absence <= h.date_horizon
  GROUP BY p.code_css, p.cle_eleve
),
-- Numeric marks of the latest year in French and math (subject = the course code's first three
-- characters), with the étape's rank (final after 3): resultats_retenus (system kept, no dummy
-- school, etat <> 0), retake groups and exam parts (volets) out.
notes AS (
  SELECT
    r.code_css, r.cle_eleve,
    CASE
      WHEN strpos(',' || {{ prefixes_francais }} || ',', ',' || substr(r.code_cours, 1, 3) || ',') > 0 THEN 'francais'
      WHEN strpos(',' || {{ prefixes_mathematique }} || ',', ',' || substr(r.code_cours, 1, 3) || ',') > 0 THEN 'mathematique'
    END AS matiere,
    CASE r.etape WHEN '1' THEN 1 WHEN '2' THEN 2 WHEN '3' THEN 3 WHEN 'final' THEN 4 END AS rang_etape,
    CAST(r.note AS DOUBLE) AS note
  FROM resultats_retenus r
  JOIN (SELECT DISTINCT code_css, annee_scolaire FROM eleves_courants) d
    ON d.code_css = r.code_css AND d.annee_scolaire = r.annee_scolaire
  LEFT JOIN ref_cours rc ON rc.code_cours = r.code_cours
  WHERE NOT r.reprise
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
-- The three indicators as rows (indicator, value, its two thresholds), each classed once.
indicateurs AS (
  SELECT p.code_css, p.cle_eleve, 'assiduite' AS indicateur,
         taux(p.periodes_prevues - COALESCE(a.periodes_absent, 0), p.periodes_prevues) AS valeur,
         {{ seuil_risque_assiduite }} AS seuil_risque, {{ seuil_alerte_assiduite }} AS seuil_alerte
  FROM prevues p
  LEFT JOIN absentes a ON a.code_css = p.code_css AND a.cle_eleve = p.cle_eleve
  UNION ALL
  SELECT n.code_css, n.cle_eleve, n.matiere, avg(n.note), {{ seuil_risque_note }}, {{ seuil_alerte_note }}
  FROM notes n
  JOIN derniere_etape e
    ON e.code_css = n.code_css AND e.cle_eleve = n.cle_eleve AND e.matiere = n.matiere
    AND e.rang_etape = n.rang_etape
  GROUP BY n.code_css, n.cle_eleve, n.matiere
),
-- Level: 2 risque (under the risk threshold), 1 alerte (under the warning one), 0 aucun; null
-- without a value. A value equal to a threshold is not under it.
libelles AS (
  SELECT * FROM (VALUES (0, 'aucun'), (1, 'alerte'), (2, 'risque')) AS t(niveau, libelle)
),
niveaux AS (
  SELECT i.code_css, i.cle_eleve, i.indicateur, i.valeur, l.niveau, l.libelle
  FROM indicateurs i
  LEFT JOIN libelles l
    ON l.niveau = CASE WHEN i.valeur < i.seuil_risque THEN 2 WHEN i.valeur < i.seuil_alerte THEN 1 WHEN i.valeur IS NOT NULL THEN 0 END
),
-- The worst known level, and how many indicators are at alerte or risque.
global AS (
  SELECT n.code_css, n.cle_eleve, l.libelle, n.nb_indicateurs_risque
  FROM (
    SELECT code_css, cle_eleve, max(niveau) AS niveau, sum(CASE WHEN niveau >= 1 THEN 1 ELSE 0 END) AS nb_indicateurs_risque
    FROM niveaux
    GROUP BY code_css, cle_eleve
  ) n
  LEFT JOIN libelles l ON l.niveau = n.niveau
)
SELECT
  -- The student's columns: eleves_courants' but the keys the output does not show.
  p.* EXCLUDE (annee_precedente, systeme_source, cle_eleve),
  a.valeur AS taux_assiduite,
  a.libelle AS niveau_assiduite,
  f.valeur AS moyenne_francais,
  f.libelle AS niveau_francais,
  m.valeur AS moyenne_mathematique,
  m.libelle AS niveau_mathematique,
  g.libelle AS niveau_global,
  CAST(COALESCE(g.nb_indicateurs_risque, 0) AS BIGINT) AS nb_indicateurs_risque
FROM eleves_courants p
LEFT JOIN niveaux a ON a.code_css = p.code_css AND a.cle_eleve = p.cle_eleve AND a.indicateur = 'assiduite'
LEFT JOIN niveaux f ON f.code_css = p.code_css AND f.cle_eleve = p.cle_eleve AND f.indicateur = 'francais'
LEFT JOIN niveaux m ON m.code_css = p.code_css AND m.cle_eleve = p.cle_eleve AND m.indicateur = 'mathematique'
LEFT JOIN global g ON g.code_css = p.code_css AND g.cle_eleve = p.cle_eleve
ORDER BY p.code_css, p.code_etablissement, p.classe, p.groupe_repere, p.nom, p.prenom, p.fiche
