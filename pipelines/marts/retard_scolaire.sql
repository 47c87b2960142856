-- retard_scolaire: share of students entering secondary 1 aged {{ age_retard }} or more on
-- September 30, per school year, CSS, establishment and sex. Definition in words:
-- retard_scolaire.yaml. Runs in each CSS's zone (it needs eleve.date_naissance, which never
-- leaves it); only the counts below leave it. No birth date and no age per student is output.
WITH
-- GPI -> Mozaïk migration: per CSS and year, only the most recent system present in
-- `inscription` ('mozaik' > 'gpi').
systeme AS (
  SELECT annee_scolaire, code_css, max(systeme_source) AS systeme_retenu
  FROM inscription
  GROUP BY annee_scolaire, code_css
),
-- Secondary 1 enrolments (ordre 4, classe 1) of every year in this CSS, dummy schools and
-- cancelled enrolments (inactive without a departure date) excluded, with the year's
-- September 30 (annees_scolaires, never computed here).
secondaire_1 AS (
  SELECT
    i.annee_scolaire,
    i.code_css,
    i.code_etablissement,
    i.cle_eleve,
    i.date_debut,
    i.date_depart,
    a.annee_debut,
    a.date_30_septembre
  FROM inscription i
  JOIN systeme s
    ON s.annee_scolaire = i.annee_scolaire AND s.code_css = i.code_css AND s.systeme_retenu = i.systeme_source
  JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
  WHERE i.ecole_bidon IS NOT TRUE
    AND (i.actif OR i.date_depart IS NOT NULL)
    AND i.ordre_enseignement = 4
    AND i.classe = '1'
),
-- The first year each student was enrolled in secondary 1 in this CSS: a student enrolled in
-- secondary 1 in an earlier year is a repeater, not an entrant.
premiere_annee AS (
  SELECT code_css, cle_eleve, min(annee_debut) AS annee_debut
  FROM secondaire_1
  GROUP BY code_css, cle_eleve
),
-- Entrants: enrolled in secondary 1 on September 30 (as effectif_30_septembre: started that day
-- or before, or no start date; no departure, or a departure after that day) of their first
-- secondary-1 year. A student enrolled in two schools that day counts once: the enrolment that
-- started last (no start date = since the start of the year), then the smallest code.
entrant AS (
  SELECT annee_scolaire, code_css, code_etablissement, cle_eleve, date_30_septembre
  FROM (
    SELECT
      s.*,
      row_number() OVER (
        PARTITION BY s.annee_scolaire, s.code_css, s.cle_eleve
        ORDER BY
          CASE WHEN s.date_debut IS NULL THEN 1 ELSE 0 END,
          s.date_debut DESC,
          s.code_etablissement
      ) AS rang
    FROM secondaire_1 s
    JOIN premiere_annee p
      ON p.code_css = s.code_css AND p.cle_eleve = s.cle_eleve AND p.annee_debut = s.annee_debut
    WHERE (s.date_debut IS NULL OR s.date_debut <= s.date_30_septembre)
      AND (s.date_depart IS NULL OR s.date_depart >= s.date_30_septembre)
  ) t
  WHERE rang = 1
),
-- Sex and birth date: one value per (CSS, student) of `eleve` (a student known to several
-- systems has several rows): a known value first, then mozaik, gpi, jade, then the smallest.
sexes AS (
  SELECT code_css, cle_eleve, sexe
  FROM (
    SELECT
      code_css, cle_eleve, sexe,
      row_number() OVER (
        PARTITION BY code_css, cle_eleve
        ORDER BY
          CASE WHEN sexe IS NULL THEN 1 ELSE 0 END,
          CASE systeme_source WHEN 'mozaik' THEN 0 WHEN 'gpi' THEN 1 ELSE 2 END,
          sexe
      ) AS rang
    FROM eleve
  ) e
  WHERE rang = 1
),
naissances AS (
  SELECT code_css, cle_eleve, date_naissance
  FROM (
    SELECT
      code_css, cle_eleve, date_naissance,
      row_number() OVER (
        PARTITION BY code_css, cle_eleve
        ORDER BY
          CASE WHEN date_naissance IS NULL THEN 1 ELSE 0 END,
          CASE systeme_source WHEN 'mozaik' THEN 0 WHEN 'gpi' THEN 1 ELSE 2 END,
          date_naissance
      ) AS rang
    FROM eleve
  ) e
  WHERE rang = 1
),
-- Age in full years on September 30: the difference of years, minus one when the birthday
-- (month, day) comes after September 30 (not reached yet). Null without a birth date.
age AS (
  SELECT
    e.annee_scolaire,
    e.code_css,
    e.code_etablissement,
    x.sexe,
    CASE
      WHEN n.date_naissance IS NULL THEN NULL
      ELSE CAST(date_part('year', e.date_30_septembre) AS BIGINT)
        - CAST(date_part('year', n.date_naissance) AS BIGINT)
        - CASE
            WHEN date_part('month', n.date_naissance) > date_part('month', e.date_30_septembre)
              OR (date_part('month', n.date_naissance) = date_part('month', e.date_30_septembre)
                  AND date_part('day', n.date_naissance) > date_part('day', e.date_30_septembre))
            THEN 1
            ELSE 0
          END
    END AS age
  FROM entrant e
  LEFT JOIN sexes x ON x.code_css = e.code_css AND x.cle_eleve = e.cle_eleve
  LEFT JOIN naissances n ON n.code_css = e.code_css AND n.cle_eleve = e.cle_eleve
)
SELECT
  annee_scolaire,
  code_css,
  code_etablissement,
  sexe,
  CAST(sum(CASE WHEN age IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS nb_entrants,
  CAST(sum(CASE WHEN age >= {{ age_retard }} THEN 1 ELSE 0 END) AS BIGINT) AS nb_retard,
  CAST(sum(CASE WHEN age < {{ age_retard }} THEN 1 ELSE 0 END) AS BIGINT) AS nb_sans_retard,
  taux(sum(CASE WHEN age >= {{ age_retard }} THEN 1 ELSE 0 END), sum(CASE WHEN age IS NOT NULL THEN 1 ELSE 0 END))
    AS taux_retard,
  CAST(sum(CASE WHEN age IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS nb_sans_date_naissance
FROM age
GROUP BY annee_scolaire, code_css, code_etablissement, sexe
ORDER BY annee_scolaire, code_css, code_etablissement, sexe
