-- anomalies_detail: the data anomalies a CSS must fix, one row per finding (nominative: fiche).
-- Definition in words: anomalies_detail.yaml. Runs in each CSS's zone (fiche, quarantaine);
-- never selects code permanent, names or birth dates.
-- Reads the intermediate model systemes_retenus (the GPI -> Mozaïk rule).
WITH
-- Migration GPI -> Mozaïk: per year, the rows of the system kept (systemes_retenus) only.
insc AS (
  SELECT i.annee_scolaire, i.code_css, i.systeme_source, i.code_etablissement, i.cle_eleve, i.fiche,
         i.eco, i.ecole_bidon, i.actif, i.ordre_enseignement, i.classe, i.date_debut, i.date_depart
  FROM inscription i
  JOIN systemes_retenus s
    ON s.annee_scolaire = i.annee_scolaire AND s.code_css = i.code_css AND s.systeme_source = i.systeme_source
),
-- Findings without a school year of their own (fiches, quarantine) go to the CSS's most recent
-- school year: the year its staff works on.
annee_courante AS (
  SELECT max(annee_scolaire) AS annee_scolaire FROM inscription
),
-- (a) Active twice in the same year: two active enrolments (dummy schools aside: see (e)) of the
-- same student whose periods overlap. A period runs from date_debut (null: the year's first
-- day) to date_depart excluded (null: still enrolled), so a departure on the day the next
-- enrolment starts is a transfer, not an overlap; two enrolments without departure always overlap.
actives AS (
  SELECT i.annee_scolaire, i.code_css, i.code_etablissement, i.cle_eleve, i.fiche,
         CASE WHEN i.date_debut IS NULL THEN a.date_debut ELSE i.date_debut END AS debut, i.date_debut, i.date_depart,
         row_number() OVER (
           PARTITION BY i.annee_scolaire, i.cle_eleve
           ORDER BY i.code_etablissement, i.fiche, i.date_debut NULLS FIRST, i.date_depart NULLS LAST, i.classe
         ) AS rang
  FROM insc i
  JOIN annees_scolaires a ON a.annee_scolaire = i.annee_scolaire
  WHERE i.actif AND NOT i.ecole_bidon
),
double_actif AS (
  SELECT x.code_css, x.annee_scolaire, 'eleve_actif_deux_fois' AS type_anomalie, x.fiche,
         x.code_etablissement,
         'fiche ' || CAST(x.fiche AS VARCHAR) || ' active à ' || x.code_etablissement
           || ' (du ' || CASE WHEN x.date_debut IS NULL THEN 'début d''année' ELSE CAST(x.date_debut AS VARCHAR) END
           || CASE WHEN x.date_depart IS NULL THEN ', sans départ' ELSE ' au ' || CAST(x.date_depart AS VARCHAR) END || ') et fiche '
           || CAST(y.fiche AS VARCHAR) || ' active à ' || y.code_etablissement
           || ' (du ' || CASE WHEN y.date_debut IS NULL THEN 'début d''année' ELSE CAST(y.date_debut AS VARCHAR) END
           || CASE WHEN y.date_depart IS NULL THEN ', sans départ' ELSE ' au ' || CAST(y.date_depart AS VARCHAR) END || ')' AS detail
  FROM actives x
  JOIN actives y
    ON y.annee_scolaire = x.annee_scolaire AND y.cle_eleve = x.cle_eleve AND x.rang < y.rang
  WHERE (y.date_depart IS NULL OR x.debut < y.date_depart)
    AND (x.date_depart IS NULL OR y.debut < x.date_depart)
),
-- (b) Results without an enrolment: result rows of a student with no enrolment row at all (any
-- school, system or status) that year in this CSS; one finding per student, school and year.
res AS (
  SELECT r.annee_scolaire, r.code_css, r.code_etablissement, r.cle_eleve, r.fiche, r.code_cours,
         r.code_cours_source, r.cours_local
  FROM resultat r
  LEFT JOIN systemes_retenus s ON s.annee_scolaire = r.annee_scolaire AND s.code_css = r.code_css
  WHERE s.systeme_source IS NULL OR s.systeme_source = r.systeme_source
),
inscrits AS (
  SELECT DISTINCT annee_scolaire, cle_eleve FROM inscription
),
orphelins AS (
  SELECT r.code_css, r.annee_scolaire, r.fiche, r.code_etablissement, r.code_cours
  FROM res r
  LEFT JOIN inscrits i ON i.annee_scolaire = r.annee_scolaire AND i.cle_eleve = r.cle_eleve
  WHERE i.cle_eleve IS NULL
),
orphelins_cours AS (
  SELECT code_css, annee_scolaire, fiche, code_etablissement, code_cours, count(*) AS nb
  FROM orphelins
  GROUP BY code_css, annee_scolaire, fiche, code_etablissement, code_cours
),
resultat_sans_inscription AS (
  SELECT code_css, annee_scolaire, 'resultat_sans_inscription' AS type_anomalie, fiche, code_etablissement,
         CAST(sum(nb) AS VARCHAR) || ' résultat(s) de la fiche ' || CAST(fiche AS VARCHAR)
           || ' sans inscription dans le CSS en ' || annee_scolaire || ', cours: '
           || string_agg(code_cours, ', ' ORDER BY code_cours) AS detail
  FROM orphelins_cours
  GROUP BY code_css, annee_scolaire, fiche, code_etablissement
),
-- (c) One code permanent under two fiches of the same system (cle_locale false: the key comes
-- from the code permanent). One finding per pair of fiches, shown in the most recent school of
-- either fiche.
fiches AS (
  SELECT DISTINCT code_css, systeme_source, cle_eleve, fiche FROM eleve WHERE NOT cle_locale
),
paires AS (
  SELECT a.code_css, a.systeme_source, a.fiche AS fiche_a, b.fiche AS fiche_b
  FROM fiches a
  JOIN fiches b
    ON b.code_css = a.code_css AND b.systeme_source = a.systeme_source AND b.cle_eleve = a.cle_eleve
   AND a.fiche < b.fiche
),
inscriptions_paires AS (
  SELECT p.systeme_source, p.fiche_a, p.fiche_b, i.annee_scolaire, i.date_debut, i.code_etablissement
  FROM paires p
  JOIN inscription i ON i.systeme_source = p.systeme_source AND i.fiche = p.fiche_a
  UNION ALL
  SELECT p.systeme_source, p.fiche_a, p.fiche_b, i.annee_scolaire, i.date_debut, i.code_etablissement
  FROM paires p
  JOIN inscription i ON i.systeme_source = p.systeme_source AND i.fiche = p.fiche_b
),
ecole_recente AS (
  SELECT systeme_source, fiche_a, fiche_b, code_etablissement,
         row_number() OVER (
           PARTITION BY systeme_source, fiche_a, fiche_b
           ORDER BY annee_scolaire DESC, date_debut DESC NULLS LAST, code_etablissement
         ) AS rang
  FROM inscriptions_paires
),
deux_fiches AS (
  SELECT p.code_css, c.annee_scolaire, 'code_permanent_deux_fiches' AS type_anomalie, p.fiche_a AS fiche,
         e.code_etablissement,
         'fiches ' || CAST(p.fiche_a AS VARCHAR) || ' et ' || CAST(p.fiche_b AS VARCHAR) || ' (' || p.systeme_source
           || ') portent le même code permanent' AS detail
  FROM paires p
  CROSS JOIN annee_courante c
  LEFT JOIN ecole_recente e
    ON e.systeme_source = p.systeme_source AND e.fiche_a = p.fiche_a AND e.fiche_b = p.fiche_b AND e.rang = 1
),
-- (d) Codes unknown to the dictionary: quarantined rows whose reason is an unknown or unmapped
-- code or a value out of its domain (file:line:column, reason and message: connectors never put
-- personal values in messages), ...
quarantaine_codes AS (
  SELECT q.code_css, c.annee_scolaire, 'code_inconnu' AS type_anomalie, CAST(NULL AS BIGINT) AS fiche,
         -- A null of the text type of the other branches (CAST(NULL AS VARCHAR) is a Utf8View in
         -- DataFusion, which the union does not reconcile).
         NULLIF(q.code_css, q.code_css) AS code_etablissement,
         q.source || ' ' || CASE WHEN q.fichier IS NULL THEN '?' ELSE q.fichier END || ':' || CASE WHEN q.ligne IS NULL THEN '?' ELSE CAST(q.ligne AS VARCHAR) END || ':'
           || CASE WHEN q.colonne IS NULL THEN '?' ELSE q.colonne END || ' ' || q.raison || CASE WHEN q.message IS NULL THEN '' ELSE ': ' || q.message END AS detail
  FROM quarantaine q
  CROSS JOIN annee_courante c
  WHERE q.raison LIKE 'unknown%' OR q.raison IN ('out_of_domain', 'unmapped_code')
),
-- ... and local course codes without a mapping in results (one finding per code, school and year).
cours_locaux AS (
  SELECT code_css, annee_scolaire, 'cours_local_sans_correspondance' AS type_anomalie,
         CAST(NULL AS BIGINT) AS fiche, code_etablissement,
         'code de cours local ' || code_cours_source || ' sans correspondance: '
           || CAST(count(*) AS VARCHAR) || ' résultat(s), ' || CAST(count(DISTINCT cle_eleve) AS VARCHAR)
           || ' élève(s)' AS detail
  FROM res
  WHERE cours_local
  GROUP BY code_css, annee_scolaire, code_etablissement, code_cours_source
),
-- (e) Dummy schools in use: active enrolments in a dummy (transfer) school.
ecoles_bidon AS (
  SELECT code_css, annee_scolaire, 'ecole_bidon_active' AS type_anomalie, fiche, code_etablissement,
         'fiche ' || CAST(fiche AS VARCHAR) || ' inscrite active à l''école fictive ' || code_etablissement
           || CASE WHEN eco IS NULL THEN '' ELSE ' (eco ' || eco || ')' END || ', du ' || CASE WHEN date_debut IS NULL THEN 'début d''année' ELSE CAST(date_debut AS VARCHAR) END
           || CASE WHEN date_depart IS NULL THEN ', sans départ' ELSE ' au ' || CAST(date_depart AS VARCHAR) END AS detail
  FROM insc
  WHERE actif AND ecole_bidon
),
toutes AS (
  SELECT code_css, annee_scolaire, type_anomalie, fiche, code_etablissement, detail FROM double_actif
  UNION ALL
  SELECT code_css, annee_scolaire, type_anomalie, fiche, code_etablissement, detail FROM resultat_sans_inscription
  UNION ALL
  SELECT code_css, annee_scolaire, type_anomalie, fiche, code_etablissement, detail FROM deux_fiches
  UNION ALL
  SELECT code_css, annee_scolaire, type_anomalie, fiche, code_etablissement, detail FROM quarantaine_codes
  UNION ALL
  SELECT code_css, annee_scolaire, type_anomalie, fiche, code_etablissement, detail FROM cours_locaux
  UNION ALL
  SELECT code_css, annee_scolaire, type_anomalie, fiche, code_etablissement, detail FROM ecoles_bidon
)
SELECT code_css, annee_scolaire, type_anomalie, fiche, code_etablissement, detail
FROM toutes
ORDER BY code_css, annee_scolaire, type_anomalie, code_etablissement, fiche, detail
