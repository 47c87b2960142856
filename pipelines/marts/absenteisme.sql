-- absenteisme: periods expected vs periods absent (by reason category), lates counted apart, per
-- school year, CSS, establishment and étape. Definition in words: absenteisme.yaml. Runs over
-- the shared zone (`inscription`, `calendrier`, `absence`).
--
-- Performance (province: ~1M students, tens of millions of absence rows): no student x day
-- cross join. Expected days and periods come from running sums over the school's calendar:
-- each enrolment contributes two events (its start and its end) to a stream that also holds the
-- school's days, sorted by date; the running sum of periods at the end event minus the one at
-- the start event is the enrolment's expected periods (one sort per school and étape of
-- days + 2 x enrolments rows). Absences are grouped to one row per student and day first, then
-- joined on equality keys to that day of the calendar and to the student's enrolment.
WITH
-- GPI -> Mozaïk migration: per CSS and year, only the most recent system present in
-- `inscription` ('mozaik' > 'gpi'); enrolments, calendar and absences of the other system are
-- dropped.
systeme AS (
  SELECT annee_scolaire, code_css, max(systeme_source) AS systeme_retenu
  FROM inscription
  GROUP BY annee_scolaire, code_css
),
-- One enrolment per student, school and year (repeated rows merged: the earliest start and the
-- latest departure, open when one of them is open). A missing start is the year's first day, a
-- missing departure its last day. The departure day is an enrolled day (bounds inclusive). An
-- inactive enrolment without a departure date is a cancelled enrolment: not counted.
inscrit AS (
  SELECT
    i.annee_scolaire,
    i.code_css,
    i.code_etablissement,
    i.cle_eleve,
    CASE WHEN count(*) > count(i.date_debut) THEN min(a.date_debut) ELSE min(i.date_debut) END AS debut,
    CASE WHEN count(*) > count(i.date_depart) THEN min(a.date_fin) ELSE max(i.date_depart) END AS fin
  FROM inscription i
  JOIN systeme s
    ON s.annee_scolaire = i.annee_scolaire AND s.code_css = i.code_css AND s.systeme_retenu = i.systeme_source
  JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
  WHERE i.ecole_bidon IS NOT TRUE
    AND (i.actif OR i.date_depart IS NOT NULL)
  GROUP BY i.annee_scolaire, i.code_css, i.code_etablissement, i.cle_eleve
),
-- School days: calendar days flagged jour_classe with at least one period, one row per school
-- and date (two source schools sharing a ministry code give one day). `cle_etape` is the étape,
-- '' when the calendar has none (Mozaïk exports no étape), so that it can be a join key.
jour AS (
  SELECT
    c.annee_scolaire,
    c.code_css,
    c.code_etablissement,
    c."date" AS jour,
    COALESCE(max(c.etape), '') AS cle_etape,
    max(c.nb_periodes) AS nb_periodes
  FROM calendrier c
  JOIN systeme s
    ON s.annee_scolaire = c.annee_scolaire AND s.code_css = c.code_css AND s.systeme_retenu = c.systeme_source
  WHERE c.jour_classe AND c.nb_periodes > 0
  GROUP BY c.annee_scolaire, c.code_css, c.code_etablissement, c."date"
),
etape AS (
  SELECT DISTINCT annee_scolaire, code_css, code_etablissement, cle_etape
  FROM jour
),
-- The event stream, per school and étape: each school day with its periods, and each
-- enrolment's start (ordre 0) and end (ordre 2). On the same date the start comes before the day
-- and the end after it, so the running sum at a start counts the days before it and at an end
-- the days up to and including it.
evenement AS (
  SELECT annee_scolaire, code_css, code_etablissement, cle_etape, jour, 1 AS ordre,
         '' AS cle_eleve, 1 AS jours, nb_periodes AS periodes
  FROM jour
  UNION ALL
  SELECT i.annee_scolaire, i.code_css, i.code_etablissement, t.cle_etape, i.debut, 0,
         i.cle_eleve, 0, 0
  FROM inscrit i
  JOIN etape t
    ON t.annee_scolaire = i.annee_scolaire AND t.code_css = i.code_css AND t.code_etablissement = i.code_etablissement
  UNION ALL
  SELECT i.annee_scolaire, i.code_css, i.code_etablissement, t.cle_etape, i.fin, 2,
         i.cle_eleve, 0, 0
  FROM inscrit i
  JOIN etape t
    ON t.annee_scolaire = i.annee_scolaire AND t.code_css = i.code_css AND t.code_etablissement = i.code_etablissement
),
cumul AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve, ordre,
    sum(jours) OVER (
      PARTITION BY annee_scolaire, code_css, code_etablissement, cle_etape
      ORDER BY jour, ordre
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS jours_cumul,
    sum(periodes) OVER (
      PARTITION BY annee_scolaire, code_css, code_etablissement, cle_etape
      ORDER BY jour, ordre
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS periodes_cumul
  FROM evenement
),
-- Expected school days and periods of each enrolment in each étape (end minus start); an
-- enrolment ending before it starts gets nothing.
prevu AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve,
    max(CASE WHEN ordre = 2 THEN jours_cumul END) - max(CASE WHEN ordre = 0 THEN jours_cumul END) AS nb_jours,
    max(CASE WHEN ordre = 2 THEN periodes_cumul END) - max(CASE WHEN ordre = 0 THEN periodes_cumul END) AS nb_periodes
  FROM cumul
  WHERE ordre <> 1
  GROUP BY annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve
),
-- One category per absent period: a period recorded twice (a student key behind two source
-- records) counts once, an absence winning over a late, excused over unexcused, a known
-- category over none.
absence_periode AS (
  SELECT
    a.annee_scolaire, a.code_css, a.code_etablissement, a.cle_eleve, a.date_absence, a.periode,
    CASE
      WHEN sum(CASE WHEN a.categorie = 'motivee' THEN 1 ELSE 0 END) > 0 THEN 'motivee'
      WHEN sum(CASE WHEN a.categorie = 'non_motivee' THEN 1 ELSE 0 END) > 0 THEN 'non_motivee'
      WHEN sum(CASE WHEN a.categorie IS NULL THEN 1 ELSE 0 END) > 0 THEN 'sans_categorie'
      ELSE 'retard'
    END AS categorie
  FROM absence a
  JOIN systeme s
    ON s.annee_scolaire = a.annee_scolaire AND s.code_css = a.code_css AND s.systeme_retenu = a.systeme_source
  GROUP BY a.annee_scolaire, a.code_css, a.code_etablissement, a.cle_eleve, a.date_absence, a.periode
),
-- One row per student, school and day: absent periods (lates excluded) by category, and lates.
absence_jour AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_eleve, date_absence,
    sum(CASE WHEN categorie <> 'retard' THEN 1 ELSE 0 END) AS p_absence,
    sum(CASE WHEN categorie = 'motivee' THEN 1 ELSE 0 END) AS p_motivee,
    sum(CASE WHEN categorie = 'non_motivee' THEN 1 ELSE 0 END) AS p_non_motivee,
    sum(CASE WHEN categorie = 'sans_categorie' THEN 1 ELSE 0 END) AS p_sans_categorie,
    sum(CASE WHEN categorie = 'retard' THEN 1 ELSE 0 END) AS p_retard
  FROM absence_periode
  GROUP BY annee_scolaire, code_css, code_etablissement, cle_eleve, date_absence
),
-- Absence days kept: school days of the school within the student's enrolment there. Absent
-- periods are capped at the day's periods (a period number beyond the calendar's count cannot
-- make a day more than fully absent); a day is absent all day when every period is absent.
absence_inscrite AS (
  SELECT
    j.annee_scolaire, j.code_css, j.code_etablissement, j.cle_etape, b.cle_eleve,
    CASE WHEN b.p_absence > j.nb_periodes THEN j.nb_periodes ELSE b.p_absence END AS p_absence,
    CASE WHEN b.p_motivee > j.nb_periodes THEN j.nb_periodes ELSE b.p_motivee END AS p_motivee,
    CASE WHEN b.p_non_motivee > j.nb_periodes THEN j.nb_periodes ELSE b.p_non_motivee END AS p_non_motivee,
    CASE WHEN b.p_sans_categorie > j.nb_periodes THEN j.nb_periodes ELSE b.p_sans_categorie END AS p_sans_categorie,
    b.p_retard,
    CASE WHEN b.p_absence >= j.nb_periodes THEN 1 ELSE 0 END AS jour_complet
  FROM absence_jour b
  JOIN jour j
    ON j.annee_scolaire = b.annee_scolaire AND j.code_css = b.code_css
   AND j.code_etablissement = b.code_etablissement AND j.jour = b.date_absence
  JOIN inscrit i
    ON i.annee_scolaire = b.annee_scolaire AND i.code_css = b.code_css
   AND i.code_etablissement = b.code_etablissement AND i.cle_eleve = b.cle_eleve
  WHERE b.date_absence >= i.debut AND b.date_absence <= i.fin
),
absence_eleve AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve,
    sum(p_absence) AS p_absence,
    sum(p_motivee) AS p_motivee,
    sum(p_non_motivee) AS p_non_motivee,
    sum(p_sans_categorie) AS p_sans_categorie,
    sum(p_retard) AS p_retard,
    sum(jour_complet) AS jours_absence
  FROM absence_inscrite
  GROUP BY annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve
)
SELECT
  p.annee_scolaire,
  p.code_css,
  p.code_etablissement,
  NULLIF(p.cle_etape, '') AS etape,
  CAST(count(*) AS BIGINT) AS nb_eleves,
  CAST(sum(p.nb_jours) AS BIGINT) AS nb_jours_eleve,
  CAST(sum(p.nb_periodes) AS BIGINT) AS nb_periodes_prevues,
  CAST(sum(CASE WHEN e.p_absence > 0 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_absents,
  CAST(COALESCE(sum(e.p_absence), 0) AS BIGINT) AS nb_periodes_absence,
  CAST(COALESCE(sum(e.p_motivee), 0) AS BIGINT) AS nb_periodes_motivees,
  CAST(COALESCE(sum(e.p_non_motivee), 0) AS BIGINT) AS nb_periodes_non_motivees,
  CAST(COALESCE(sum(e.p_sans_categorie), 0) AS BIGINT) AS nb_periodes_sans_categorie,
  CAST(COALESCE(sum(e.jours_absence), 0) AS BIGINT) AS nb_jours_absence,
  CASE
    WHEN sum(p.nb_periodes) = 0 THEN NULL
    ELSE CAST(COALESCE(sum(e.p_absence), 0) AS DOUBLE) / CAST(sum(p.nb_periodes) AS DOUBLE)
  END AS taux_absence,
  CASE
    WHEN sum(p.nb_periodes) = 0 THEN NULL
    ELSE CAST(COALESCE(sum(e.p_motivee), 0) AS DOUBLE) / CAST(sum(p.nb_periodes) AS DOUBLE)
  END AS taux_absence_motivee,
  CASE
    WHEN sum(p.nb_periodes) = 0 THEN NULL
    ELSE CAST(COALESCE(sum(e.p_non_motivee), 0) AS DOUBLE) / CAST(sum(p.nb_periodes) AS DOUBLE)
  END AS taux_absence_non_motivee,
  CAST(sum(CASE WHEN e.p_retard > 0 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_retard,
  CAST(COALESCE(sum(e.p_retard), 0) AS BIGINT) AS nb_periodes_retard
FROM prevu p
LEFT JOIN absence_eleve e
  ON e.annee_scolaire = p.annee_scolaire AND e.code_css = p.code_css
 AND e.code_etablissement = p.code_etablissement AND e.cle_etape = p.cle_etape AND e.cle_eleve = p.cle_eleve
WHERE p.nb_jours > 0
GROUP BY p.annee_scolaire, p.code_css, p.code_etablissement, p.cle_etape
ORDER BY p.annee_scolaire, p.code_css, p.code_etablissement, p.cle_etape
