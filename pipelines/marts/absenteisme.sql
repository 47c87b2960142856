-- absenteisme: periods expected vs periods absent (by reason category), lates counted apart, per
-- school year, CSS, establishment and étape. Definition in words: absenteisme.yaml. Reads the
-- intermediate models jours_inscrits (expected days and periods per student and étape) and
-- absences_jour (absences per student and day, already on the system kept, outside dummy
-- establishments, with the school day and whether it is within the student's enrolment).
WITH
-- Absence days kept: school days within the student's enrolment there. Absent periods are
-- capped at the day's periods (a period number beyond the calendar's count cannot make a day
-- more than fully absent); a day is absent all day when every period is absent.
absence_eleve AS (
  SELECT
    annee_scolaire, code_css, code_etablissement, cle_etape, cle_eleve,
    sum(least(p_absence, nb_periodes)) AS p_absence,
    sum(least(p_motivee, nb_periodes)) AS p_motivee,
    sum(least(p_non_motivee, nb_periodes)) AS p_non_motivee,
    sum(least(p_sans_categorie, nb_periodes)) AS p_sans_categorie,
    sum(p_retard) AS p_retard,
    sum(CASE WHEN p_absence >= nb_periodes THEN 1 ELSE 0 END) AS jours_absence
  FROM absences_jour
  WHERE jour_inscrit
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
  taux(COALESCE(sum(e.p_absence), 0), sum(p.nb_periodes)) AS taux_absence,
  taux(COALESCE(sum(e.p_motivee), 0), sum(p.nb_periodes)) AS taux_absence_motivee,
  taux(COALESCE(sum(e.p_non_motivee), 0), sum(p.nb_periodes)) AS taux_absence_non_motivee,
  CAST(sum(CASE WHEN e.p_retard > 0 THEN 1 ELSE 0 END) AS BIGINT) AS nb_eleves_retard,
  CAST(COALESCE(sum(e.p_retard), 0) AS BIGINT) AS nb_periodes_retard
FROM jours_inscrits p
LEFT JOIN absence_eleve e
  ON e.annee_scolaire = p.annee_scolaire AND e.code_css = p.code_css
 AND e.code_etablissement = p.code_etablissement AND e.cle_etape = p.cle_etape AND e.cle_eleve = p.cle_eleve
GROUP BY p.annee_scolaire, p.code_css, p.code_etablissement, p.cle_etape
ORDER BY p.annee_scolaire, p.code_css, p.code_etablissement, p.cle_etape
