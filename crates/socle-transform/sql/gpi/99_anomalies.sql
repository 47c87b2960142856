-- Loaded but worth a look (quality report, `anomalies.gpi`): repeated fiches (loaded, reported
-- by the anomalies mart), students with a local key, subjects whose local code has no mapping,
-- absences whose reason is unknown (kept without a category).
SELECT 'fiches_repetees' AS nom, count(*) - count(DISTINCT fiche) AS n FROM gpm_e_ele
UNION ALL
SELECT 'cles_locales' AS nom, count(*) AS n FROM eleve_ok WHERE cle_locale
UNION ALL
SELECT 'cours_locaux_sans_correspondance' AS nom, count(*) AS n FROM cours_ok WHERE cours_local
UNION ALL
-- Absences kept without a category: a reason code missing from the school's reason table (or a
-- cpt_abs without a canonical category). Counted as absences without a category by the marts.
SELECT 'motifs_absence_inconnus' AS nom, count(*) AS n FROM absence_ok WHERE motif_absence IS NOT NULL AND categorie IS NULL
