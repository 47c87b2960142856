-- Loaded but worth a look (quality report, `anomalies.jade`): students with a local key (JADE's
-- own, ministry results, diplomas), superseded copies of ministry results (an older copy
-- of a result retrieved again: the latest is kept, the others are counted here), and ministry
-- results and diplomas naming an establishment of another CSS (loaded: see 04 and 05).
SELECT 'cles_locales' AS nom, count(*) AS n FROM eleve_ok WHERE cle_locale
UNION ALL
SELECT 'cles_locales_resultats_ministere' AS nom, count(*) AS n FROM resultat_ministere_ok WHERE cle_locale
UNION ALL
SELECT 'cles_locales_sanctions' AS nom, count(*) AS n FROM sanction_ok WHERE cle_locale
UNION ALL
SELECT 'resultats_ministere_autre_css' AS nom, count(*) AS n FROM resultat_ministere_ok WHERE etablissement_autre_css
UNION ALL
SELECT 'sanctions_autre_css' AS nom, count(*) AS n FROM sanction_ok WHERE etablissement_autre_css
UNION ALL
SELECT 'copies_remplacees' AS nom, count(*) AS n
FROM (
  SELECT row_number() OVER (PARTITION BY upper(codeperm), matcharl, annee, moissanct ORDER BY datehrerecup DESC, _line DESC) AS copie
  FROM e_ri_resultats
)
WHERE copie > 1
