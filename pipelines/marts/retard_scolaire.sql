-- retard_scolaire: share of students entering secondary 1 aged {{ age_retard }} or more on
-- September 30, per school year, CSS, establishment and sex. Definition in words:
-- retard_scolaire.yaml. Runs in each CSS's zone (it needs eleve.date_naissance, which never
-- leaves it); only the counts below leave it. No birth date and no age per student is output.
-- Reads the intermediate models inscriptions_retenues, inscription_30_septembre (enrolments) and
-- sexes (sex).
WITH
-- The first year each student was enrolled in secondary 1 in this CSS (inscriptions_retenues:
-- system kept, no dummy school, valid; any date of the year): a student enrolled in secondary 1
-- in an earlier year is a repeater, not an entrant.
premiere_annee AS (
  SELECT code_css, cle_eleve, min(annee_scolaire) AS annee_scolaire
  FROM inscriptions_retenues
  WHERE ordre_enseignement = 4 AND classe = '1'
  GROUP BY code_css, cle_eleve
),
-- Entrants: enrolled in secondary 1 on September 30 (inscription_30_septembre, as
-- effectif_30_septembre) of their first secondary-1 year. A student enrolled in two schools that
-- day counts once: the enrolment that started last (no start date = since the start of the
-- year), then the smallest code.
entrant AS (
  SELECT
    s.annee_scolaire, s.code_css, s.cle_eleve,
    array_agg(s.code_etablissement ORDER BY s.date_debut DESC NULLS LAST, s.code_etablissement)[1]
      AS code_etablissement
  FROM inscription_30_septembre s
  JOIN premiere_annee p
    ON p.code_css = s.code_css AND p.cle_eleve = s.cle_eleve AND p.annee_scolaire = s.annee_scolaire
  WHERE s.ordre_enseignement = 4 AND s.classe = '1'
  GROUP BY s.annee_scolaire, s.code_css, s.cle_eleve
),
-- Birth date: one value per (CSS, student) of `eleve` (a student known to several systems has
-- several rows): a known value first, then mozaik, gpi, jade (or another), then the smallest.
naissances AS (
  SELECT code_css, cle_eleve,
         COALESCE(
           min(CASE WHEN systeme_source = 'mozaik' THEN date_naissance END),
           min(CASE WHEN systeme_source = 'gpi' THEN date_naissance END),
           min(date_naissance)
         ) AS date_naissance
  FROM eleve
  GROUP BY code_css, cle_eleve
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
      ELSE CAST(date_part('year', y.date_30_septembre) AS BIGINT)
        - CAST(date_part('year', n.date_naissance) AS BIGINT)
        - CASE
            WHEN date_part('month', n.date_naissance) > date_part('month', y.date_30_septembre)
              OR (date_part('month', n.date_naissance) = date_part('month', y.date_30_septembre)
                  AND date_part('day', n.date_naissance) > date_part('day', y.date_30_septembre))
            THEN 1
            ELSE 0
          END
    END AS age
  FROM entrant e
  JOIN annees_scolaires y ON y.annee_scolaire = e.annee_scolaire
  -- Sex: of this CSS (intermediate model sexes).
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
