-- Loaded but worth a look (quality report, `anomalies.gpi`): repeated fiches (loaded, reported
-- by the anomalies mart), students with a local key, subjects whose local code has no mapping.
SELECT 'fiches_repetees' AS nom, count(*) - count(DISTINCT fiche) AS n FROM gpm_e_ele
UNION ALL
SELECT 'cles_locales' AS nom, count(*) AS n FROM eleve_ok WHERE cle_locale
UNION ALL
SELECT 'cours_locaux_sans_correspondance' AS nom, count(*) AS n FROM cours_ok WHERE cours_local
