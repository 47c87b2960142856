-- indicateurs_pevr: the PEVR indicators of a CSS against its targets (seed cibles_pevr), one row
-- per school year and indicator, from the CSS's own marts (exact counts). An indicator with no
-- measure for a year is reported as "aucune donnée", one with no target as "sans cible": never
-- a guess. Definition in words: indicateurs_pevr.yaml.
WITH
css AS (SELECT code_css FROM nuits),
-- The school year of the night: later years (targets of the plan ahead) are not reported yet.
annee_nuit AS (
  SELECT max(a.annee_scolaire) AS annee_scolaire
  FROM nuits n JOIN annees_scolaires a ON n.nuit BETWEEN a.date_debut AND a.date_fin
),
indicateurs AS (
  SELECT * FROM (VALUES
    ('diplomation_qualification_7ans', '1.1.1.1', 'Diplomation et qualification en 7 ans (cohorte entrée en 1re secondaire 6 ans plus tôt)', false),
    ('reussite_epreuves', 'E.R', 'Taux de réussite aux épreuves ministérielles (session de juin)', false),
    ('part_70_plus_epreuves', 'E.70', 'Part des présents à 70 % ou plus aux épreuves ministérielles', false),
    ('retard_entree_secondaire', 'R.1', 'Part des entrants en 1re secondaire en retard', true),
    ('sortie_sans_diplome', 'S.1', 'Taux de sortie sans diplôme ni qualification', true)
  ) AS t(indicateur, numero, libelle, plus_bas_est_mieux)
),
-- 1.1.1.1: the cohort that entered six years before the year reaches its 7-year horizon at the
-- end of the year; no figure before the horizon is reached.
diplomation AS (
  SELECT y.annee_scolaire, 'diplomation_qualification_7ans' AS indicateur,
         CASE WHEN d.horizon_atteint_7ans THEN d.nb_diplomes_qualifies_7ans END AS numerateur,
         CASE WHEN d.horizon_atteint_7ans THEN d.nb_eleves_cohorte END AS denominateur
  FROM diplomation_cohorte d
  JOIN annees_scolaires c ON c.annee_scolaire = d.annee_scolaire
  JOIN annees_scolaires y ON y.annee_debut = c.annee_debut + 6
  WHERE d.code_etablissement IS NULL AND d.ventilation = 'ensemble' AND d.sous_groupe = 'tous'
),
epreuves AS (
  SELECT annee_scolaire, 'reussite_epreuves' AS indicateur, sum(nb_reussites) AS numerateur, sum(nb_presents) AS denominateur
  FROM epreuves_ministerielles WHERE volet_de IS NULL GROUP BY annee_scolaire
  UNION ALL
  SELECT annee_scolaire, 'part_70_plus_epreuves', sum(nb_70_plus), sum(nb_presents)
  FROM epreuves_ministerielles WHERE volet_de IS NULL GROUP BY annee_scolaire
),
retard AS (
  SELECT annee_scolaire, 'retard_entree_secondaire' AS indicateur, sum(nb_retard) AS numerateur, sum(nb_entrants) AS denominateur
  FROM retard_scolaire GROUP BY annee_scolaire
),
sorties AS (
  SELECT annee_scolaire, 'sortie_sans_diplome' AS indicateur,
         CASE WHEN annee_suivante_observee THEN nb_sortants_sans_diplome END AS numerateur,
         CASE WHEN annee_suivante_observee THEN nb_sortants END AS denominateur
  FROM sorties_sans_diplome
  WHERE code_etablissement IS NULL AND ventilation = 'ensemble' AND sous_groupe = 'tous'
),
mesures AS (
  SELECT annee_scolaire, indicateur, CAST(numerateur AS BIGINT) AS numerateur, CAST(denominateur AS BIGINT) AS denominateur FROM diplomation
  UNION ALL SELECT annee_scolaire, indicateur, CAST(numerateur AS BIGINT), CAST(denominateur AS BIGINT) FROM epreuves
  UNION ALL SELECT annee_scolaire, indicateur, CAST(numerateur AS BIGINT), CAST(denominateur AS BIGINT) FROM retard
  UNION ALL SELECT annee_scolaire, indicateur, CAST(numerateur AS BIGINT), CAST(denominateur AS BIGINT) FROM sorties
),
cibles AS (
  SELECT t.annee_scolaire, t.indicateur, t.cible
  FROM cibles_pevr t JOIN css ON css.code_css = t.code_css
),
-- Every year with a measure or a target, up to the night's year.
annees AS (
  SELECT annee_scolaire FROM mesures
  UNION SELECT annee_scolaire FROM cibles
),
lignes AS (
  SELECT a.annee_scolaire, i.indicateur, i.numero, i.libelle, i.plus_bas_est_mieux,
         m.numerateur, m.denominateur, taux(m.numerateur, m.denominateur) AS valeur, c.cible
  FROM annees a
  CROSS JOIN indicateurs i
  LEFT JOIN mesures m ON m.annee_scolaire = a.annee_scolaire AND m.indicateur = i.indicateur
  LEFT JOIN cibles c ON c.annee_scolaire = a.annee_scolaire AND c.indicateur = i.indicateur
  WHERE a.annee_scolaire <= (SELECT annee_scolaire FROM annee_nuit)
)
SELECT
  l.annee_scolaire,
  css.code_css,
  l.indicateur,
  l.numero,
  l.libelle,
  l.numerateur,
  l.denominateur,
  l.valeur,
  l.cible,
  l.valeur - l.cible AS ecart,
  CASE
    WHEN l.valeur IS NULL THEN 'aucune donnée'
    WHEN l.cible IS NULL THEN 'sans cible'
    WHEN (l.plus_bas_est_mieux AND l.valeur <= l.cible) OR (NOT l.plus_bas_est_mieux AND l.valeur >= l.cible) THEN 'atteinte'
    ELSE 'non atteinte'
  END AS statut
FROM lignes l CROSS JOIN css
