-- diplomation_cohorte: taux de diplomation et de qualification par cohorte de nouveaux inscrits
-- en 1re secondaire, après 5, 6 et 7 ans. Definition in words: diplomation_cohorte.yaml.
-- Runs over the shared zone: students are followed across CSS by cle_eleve.
WITH
-- The last school year of the warehouse (any CSS).
derniere_annee AS (
  SELECT max(a.annee_debut) AS annee_debut
  FROM (SELECT DISTINCT annee_scolaire FROM inscription) i
  JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
),
annees_donnees AS (
  SELECT DISTINCT annee_scolaire FROM inscription
),
-- Secondary 1 enrolments on September 30 of their year (intermediate model
-- inscription_30_septembre: system kept, no dummy school, cancelled enrolments out).
entrees AS (
  SELECT i.cle_eleve, i.code_css, i.code_etablissement, i.ehdaa, i.date_debut,
         a.annee_scolaire, a.annee_debut
  FROM inscription_30_septembre i
  JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
  WHERE i.ordre_enseignement = 4 AND i.classe = '1'
),
-- First year with any kept secondary 1 enrolment (inscriptions_retenues), in any CSS or school,
-- at any date of the year: a student whose first September 30 in sec 1 comes later is a
-- repeater.
premiere_sec1 AS (
  SELECT i.cle_eleve, min(a.annee_debut) AS annee_debut
  FROM inscriptions_retenues i
  JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
  WHERE i.ordre_enseignement = 4 AND i.classe = '1'
  GROUP BY i.cle_eleve
),
premiere_entree AS (
  SELECT cle_eleve, min(annee_debut) AS annee_debut
  FROM entrees
  GROUP BY cle_eleve
),
-- The cohort: one row per new entrant, attached to the CSS and school of their September 30
-- enrolment (earliest start first if there are several, then by CSS and school code).
cohorte_rangs AS (
  SELECT e.cle_eleve, e.code_css, e.code_etablissement, e.ehdaa, e.annee_scolaire, e.annee_debut,
         row_number() OVER (
           PARTITION BY e.cle_eleve
           ORDER BY e.date_debut ASC NULLS FIRST, e.code_css, e.code_etablissement
         ) AS rang
  FROM entrees e
  JOIN premiere_entree p ON p.cle_eleve = e.cle_eleve AND p.annee_debut = e.annee_debut
  JOIN premiere_sec1 s ON s.cle_eleve = e.cle_eleve AND s.annee_debut = e.annee_debut
),
cohorte AS (
  SELECT cle_eleve, code_css, code_etablissement, ehdaa, annee_scolaire, annee_debut
  FROM cohorte_rangs
  WHERE rang = 1
),
sanction_eleve AS (
  SELECT cle_eleve,
         min(annee_sanction) AS premiere,
         min(CASE WHEN des_ou_dep THEN annee_sanction END) AS premiere_des_dep
  FROM sanctions_comptees
  GROUP BY cle_eleve
),
-- Per entry year (a small table): the September 30 that closes each horizon, and whether the
-- year before is in the warehouse. Joined to the cohort once: chaining joins of the cohort to
-- annees_scolaires (one per horizon) made DataFusion 55 re-collect the cohort at each join and
-- grow to tens of GiB at the province scale.
horizons AS (
  SELECT a.annee_scolaire,
         prec.annee_scolaire AS annee_precedente_donnees,
         h5.date_30_septembre AS date_30_septembre_5,
         h6.date_30_septembre AS date_30_septembre_6,
         h7.date_30_septembre AS date_30_septembre_7
  FROM annees_scolaires a
  LEFT JOIN annees_donnees prec ON prec.annee_scolaire = a.annee_precedente
  LEFT JOIN annees_scolaires h5 ON h5.annee_debut = a.annee_debut + 5
  LEFT JOIN annees_scolaires h6 ON h6.annee_debut = a.annee_debut + 6
  LEFT JOIN annees_scolaires h7 ON h7.annee_debut = a.annee_debut + 7
),
-- A horizon of k years is reached when its last school year (entry year + k - 1) is in the
-- warehouse and the sanctions attributed to it are all issued: its following September 30
-- (the entry year + k) has passed. Flags are 0/1 here, booleans only in the output: DataFusion 55
-- disagrees with itself on the nullability of a boolean CASE/COALESCE carried through GROUP BY.
eleves AS (
  SELECT c.annee_scolaire, c.code_css, c.code_etablissement, c.annee_debut,
         COALESCE(sc.sexe, sp.sexe, 'inconnu') AS sexe,
         CASE WHEN c.ehdaa THEN 'ehdaa' ELSE 'non_ehdaa' END AS ehdaa,
         CASE WHEN h.annee_precedente_donnees IS NULL THEN false ELSE true END AS annee_precedente_observee,
         CASE WHEN c.annee_debut + 4 <= d.annee_debut AND h.date_30_septembre_5 < n.nuit THEN 1 ELSE 0 END
           AS atteint_5,
         CASE WHEN c.annee_debut + 5 <= d.annee_debut AND h.date_30_septembre_6 < n.nuit THEN 1 ELSE 0 END
           AS atteint_6,
         CASE WHEN c.annee_debut + 6 <= d.annee_debut AND h.date_30_septembre_7 < n.nuit THEN 1 ELSE 0 END
           AS atteint_7,
         se.premiere,
         se.premiere_des_dep
  FROM cohorte c
  CROSS JOIN derniere_annee d
  -- The latest night of the warehouse: "as of" for every horizon (never the wall clock).
  CROSS JOIN (SELECT max(nuit) AS nuit FROM nuits) n
  JOIN horizons h ON h.annee_scolaire = c.annee_scolaire
  -- Sex: a known sex of the CSS of entry first (intermediate model sexes), else the student's
  -- sex among every CSS (sexe_province); without a known sex: 'inconnu'.
  LEFT JOIN sexes sc ON sc.code_css = c.code_css AND sc.cle_eleve = c.cle_eleve
  LEFT JOIN sexe_province sp ON sp.cle_eleve = c.cle_eleve
  LEFT JOIN sanction_eleve se ON se.cle_eleve = c.cle_eleve
),
-- Ventilations, as grouping sets over the students read once: every student once in `ensemble`,
-- once by sex, once by EHDAA status, each at two levels: the entry school, and the whole entry
-- CSS (code_etablissement null). The horizon flags are the same for every student of a year.
comptes AS (
  SELECT annee_scolaire, code_css, code_etablissement,
         CASE WHEN grouping(sexe) = 0 THEN 'sexe' WHEN grouping(ehdaa) = 0 THEN 'ehdaa' ELSE 'ensemble' END
           AS ventilation,
         CASE WHEN grouping(sexe) = 0 THEN sexe WHEN grouping(ehdaa) = 0 THEN ehdaa ELSE 'tous' END AS sous_groupe,
         annee_precedente_observee, atteint_5, atteint_6, atteint_7,
         CAST(count(*) AS BIGINT) AS nb_eleves_cohorte,
         CASE WHEN atteint_5 = 1 THEN CAST(sum(CASE WHEN premiere <= annee_debut + 4 THEN 1 ELSE 0 END) AS BIGINT) END AS nb_5,
         CASE WHEN atteint_5 = 1 THEN CAST(sum(CASE WHEN premiere_des_dep <= annee_debut + 4 THEN 1 ELSE 0 END) AS BIGINT) END AS nb_des_dep_5,
         CASE WHEN atteint_6 = 1 THEN CAST(sum(CASE WHEN premiere <= annee_debut + 5 THEN 1 ELSE 0 END) AS BIGINT) END AS nb_6,
         CASE WHEN atteint_6 = 1 THEN CAST(sum(CASE WHEN premiere_des_dep <= annee_debut + 5 THEN 1 ELSE 0 END) AS BIGINT) END AS nb_des_dep_6,
         CASE WHEN atteint_7 = 1 THEN CAST(sum(CASE WHEN premiere <= annee_debut + 6 THEN 1 ELSE 0 END) AS BIGINT) END AS nb_7,
         CASE WHEN atteint_7 = 1 THEN CAST(sum(CASE WHEN premiere_des_dep <= annee_debut + 6 THEN 1 ELSE 0 END) AS BIGINT) END AS nb_des_dep_7
  FROM eleves
  GROUP BY GROUPING SETS (
    (annee_scolaire, code_css, annee_precedente_observee, atteint_5, atteint_6, atteint_7, code_etablissement),
    (annee_scolaire, code_css, annee_precedente_observee, atteint_5, atteint_6, atteint_7, code_etablissement, sexe),
    (annee_scolaire, code_css, annee_precedente_observee, atteint_5, atteint_6, atteint_7, code_etablissement, ehdaa),
    (annee_scolaire, code_css, annee_precedente_observee, atteint_5, atteint_6, atteint_7),
    (annee_scolaire, code_css, annee_precedente_observee, atteint_5, atteint_6, atteint_7, sexe),
    (annee_scolaire, code_css, annee_precedente_observee, atteint_5, atteint_6, atteint_7, ehdaa)
  )
)
SELECT
  -- The grain (the YAML's unique_key), then the cohort's size.
  annee_scolaire, code_css, code_etablissement, ventilation, sous_groupe,
  annee_precedente_observee,
  nb_eleves_cohorte,
  -- Each horizon k: counts null (hence rates null) until it is reached, and the flag.
  nb_5 AS nb_diplomes_qualifies_5ans, taux(nb_5, nb_eleves_cohorte) AS taux_diplomation_qualification_5ans,
  nb_des_dep_5 AS nb_des_dep_5ans, taux(nb_des_dep_5, nb_eleves_cohorte) AS taux_des_dep_5ans, atteint_5 = 1 AS horizon_atteint_5ans,
  nb_6 AS nb_diplomes_qualifies_6ans, taux(nb_6, nb_eleves_cohorte) AS taux_diplomation_qualification_6ans,
  nb_des_dep_6 AS nb_des_dep_6ans, taux(nb_des_dep_6, nb_eleves_cohorte) AS taux_des_dep_6ans, atteint_6 = 1 AS horizon_atteint_6ans,
  nb_7 AS nb_diplomes_qualifies_7ans, taux(nb_7, nb_eleves_cohorte) AS taux_diplomation_qualification_7ans,
  nb_des_dep_7 AS nb_des_dep_7ans, taux(nb_des_dep_7, nb_eleves_cohorte) AS taux_des_dep_7ans, atteint_7 = 1 AS horizon_atteint_7ans
FROM comptes
ORDER BY annee_scolaire, code_css, code_etablissement NULLS FIRST, ventilation, sous_groupe
