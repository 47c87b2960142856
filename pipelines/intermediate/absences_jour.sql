-- absences_jour: a student's absent periods and lates of one day in one school. Definition in
-- words: absences_jour.yaml.
WITH
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
  JOIN systemes_retenus s
    ON s.annee_scolaire = a.annee_scolaire AND s.code_css = a.code_css AND s.systeme_source = a.systeme_source
  WHERE a.ecole_bidon IS NOT TRUE
  GROUP BY a.annee_scolaire, a.code_css, a.code_etablissement, a.cle_eleve, a.date_absence, a.periode
),
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
)
-- The school day (equality keys) and the student's enrolment window in that school: a day is
-- counted by the attendance marts only when it is a school day within that window.
SELECT
  b.annee_scolaire, b.code_css, b.code_etablissement, b.cle_eleve, b.date_absence,
  b.p_absence, b.p_motivee, b.p_non_motivee, b.p_sans_categorie, b.p_retard,
  j.cle_etape,
  j.nb_periodes,
  j.rang,
  COALESCE(j.jour IS NOT NULL AND b.date_absence >= i.debut AND b.date_absence <= i.fin, false) AS jour_inscrit
FROM absence_jour b
LEFT JOIN jours_classe j
  ON j.annee_scolaire = b.annee_scolaire AND j.code_css = b.code_css
 AND j.code_etablissement = b.code_etablissement AND j.jour = b.date_absence
LEFT JOIN inscriptions_ecole i
  ON i.annee_scolaire = b.annee_scolaire AND i.code_css = b.code_css
 AND i.code_etablissement = b.code_etablissement AND i.cle_eleve = b.cle_eleve
