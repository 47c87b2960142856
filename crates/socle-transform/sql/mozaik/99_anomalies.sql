-- Loaded but worth a look (quality report, `anomalies.mozaik`): students with a local key,
-- courses whose local code has no mapping.
SELECT 'cles_locales' AS nom, count(*) AS n FROM eleve_ok WHERE cle_locale
UNION ALL
SELECT 'cours_locaux_sans_correspondance' AS nom, count(*) AS n FROM cours_ok WHERE cours_local
