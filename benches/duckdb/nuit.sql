-- benches/duckdb/nuit.sql: Socle's `resultat` night done by DuckDB, for the side-by-side benchmark
-- (issue 5). It reads the same raw GPI exports Socle reads, `<exports>/<css>/<night>/gpi/*.csv`,
-- with their encodings and delimiters, builds the canonical `resultat` table (wide étapes to
-- long, legend resolution, hashed student key, school year and establishment) as Parquet, then
-- the `taux_reussite` mart from that Parquet with the DuckDB side's SQL of the same definition
-- (benches/duckdb/taux_reussite.sql: Socle's own mart is now a view of `reussite`, which also
-- reads tables this script does not build; the harness checks that both give the same cells).
--
-- How it runs. `benches/bench.py` (function `duckdb_night`) fills the placeholders and runs the
-- steps below in one in-memory DuckDB connection with as many threads as the machine has cores,
-- timing each step. The placeholders are values, never logic:
--   {{threads}}            os.cpu_count()
--   {{schemas}}            the data dictionary folder (ministry registry under reference/)
--   {{maps}}               a folder where the harness wrote the effective value maps of each CSS
--                          from schemas/valeurs.yaml + schemas/css/<code>.yaml (defaults, then the
--                          CSS's own codes added or replacing): valeurs_speciales.csv
--                          (code_css, code, statut; codes trimmed and upper-cased, as Socle
--                          matches them) and cours.csv (code_css, code_source, code_cours)
--   {{default_pass_mark}}  schemas/valeurs.yaml seuil_reussite_defaut
--   {{pseudo_key}}         the secret the student key is derived from
--   {{auto_files}}         SQL list of the files whose encoding is not declared (see step 1)
--   {{out}}                the output folder (emptied by the harness before each run)
--   {{read:<table>}}       the union (UNION ALL BY NAME) of the `read` block at the end of this
--                          file, once per GPI CSS of the night, with that CSS's file, header
--                          columns, delimiter and encoding
--   {{taux_reussite}}      the text of benches/duckdb/taux_reussite.sql (the mart's definition
--                          over `resultat` alone; see that file's header)
-- The harness reads only the first line of each file, as Socle's reader does, to find the
-- delimiter (the most frequent of ; , | tab in the header, that order on a tie) and the header's
-- column names (trimmed, lower-cased: Socle matches them case-insensitively, in any order, extra
-- columns ignored). That sniffing is timed as part of the `resultat` step. DuckDB's own CSV
-- sniffer is not used: it gives up on files whose sample holds the bad rows every export has.
--
-- What it matches. The row count of `resultat` per CSS equals Socle's (the harness checks it),
-- because it drops what Socle quarantines on the resultat path:
--   - records Socle's reader rejects: wrong field count, unterminated quote, truncated last line
--     (DuckDB `ignore_errors` skips them), bytes that are not UTF-8 in a file read as UTF-8;
--   - rows failing the contract's typing and domains (schemas/sources/gpi.yaml) in the six
--     tables the path reads: a missing required value, an unparsable integer, decimal or date,
--     a value out of its domain (values, pattern, bounds);
--   - later rows of a repeated key (first row in file order kept; gpm_e_ele keeps repeats and
--     uses the first as the student's key);
--   - schools that are not this CSS's in the ministry registry, and every result pointing at
--     them; results of a fiche that is not a student; result cells that are neither a legend
--     code, a number up to 100, a special value of the CSS's value map, nor empty.
--
-- What Socle does that this script does not (read the time ratio with this list in mind):
--   - quarantine: Socle keeps every rejected record with its file, line, column, reason and
--     message (per-CSS `quarantaine` table) and writes a data-quality report per CSS; this script
--     only drops those rows (no trace, no counts);
--   - lineage: Socle carries `_file`/`_line` through normalisation; here file order survives only
--     as DuckDB's row order (insertion order preserved) to keep the first of a repeated key;
--   - the other 13 canonical entities (etablissement, eleve, inscription, cours, absence,
--     legende, calendrier from GPI, and everything from JADE and Dofin; Mozaïk is not read at
--     all) and the validation of every column of the 6 other GPI files (gpm_e_abs, the largest
--     export, gpm_e_dan, gpm_t_mat, gpm_t_etape, gpm_t_cal, gpm_t_motif_abs) are not done:
--     only the six files the resultat path reads (gpm_e_mat_ele, gpm_t_mat_grp, gpm_t_leg,
--     gpm_t_cotes, gpm_t_eco, gpm_e_ele) are read;
--   - the per-CSS zone: Socle writes every table twice (CSS zone with all columns, shared zone
--     without personal data); this script writes the shared zone's `resultat` only;
--   - SHA-256 of every input file, incremental skip of unchanged CSS, the manifest and the
--     atomic per-CSS commit (staging, rename, manifest swap), isolation of a failing CSS or
--     source, the summary and its tracing spans;
--   - the student key: Socle computes HMAC-SHA256(secret, code permanent) (32 hex characters,
--     see socle-core's Pseudonymiser); DuckDB has no HMAC, so this script uses
--     sha256(secret || code permanent), cut to the same 32 characters: one hash per student
--     as in Socle (HMAC hashes twice), not the same keys;
--   - Windows-1252: DuckDB reads it as Latin-1 (its `encodings` extension is a download); the
--     two differ only on bytes 0x80-0x9F (€, œ, curly quotes), which never occur in the codes
--     and numbers `resultat` keeps, so its content is the same;
--   - an export folder missing a file or a required column fails Socle's source cleanly and the
--     rest of the night loads; here the whole script fails.
--
-- Output layout, like Socle's shared zone: {{out}}/resultat/annee_scolaire=<y>/code_css=<c>/*.parquet
-- (zstd, partition values also inside the files), then {{out}}/marts/taux_reussite.parquet.

-- @step setup
SET threads = {{threads}};
-- Insertion order is file order: the first row of a repeated key is the one with the lowest rowid.
SET preserve_insertion_order = true;
SET VARIABLE cle_secrete = '{{pseudo_key}}';

-- The ministry registry, as Socle embeds it (socle-core Registry): organisations, and each
-- establishment with its organisation (one row per building in the file: distinct codes).
CREATE OR REPLACE TABLE ref_organismes AS
SELECT DISTINCT trim(CD_CS) AS code_css
FROM read_csv('{{schemas}}/reference/organismes_meq.csv', all_varchar = true, header = true);
CREATE OR REPLACE TABLE ref_etablissements AS
SELECT DISTINCT trim(CD_ORGNS) AS code_etablissement, trim(CD_CS) AS code_css
FROM read_csv('{{schemas}}/reference/etablissements_meq.csv', all_varchar = true, header = true);

-- Each CSS's effective value maps (written by the harness from the dictionary's YAML).
CREATE OR REPLACE TABLE map_valeurs_speciales AS
SELECT * FROM read_csv('{{maps}}/valeurs_speciales.csv', header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
  columns = {'code_css': 'VARCHAR', 'code': 'VARCHAR', 'statut': 'VARCHAR'});
CREATE OR REPLACE TABLE map_cours AS
SELECT * FROM read_csv('{{maps}}/cours.csv', header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
  columns = {'code_css': 'VARCHAR', 'code_source': 'VARCHAR', 'code_cours': 'VARCHAR'});

-- Typing as Socle's connector does it (socle-connect typing.rs): every value trimmed, empty is
-- null; integers are digits only (DuckDB would round '1.5'), decimals take a comma or a point,
-- dates come as YYYY-MM-DD, YYYYMMDD or DD/MM/YYYY and an impossible date is unparsable.
CREATE OR REPLACE MACRO txt(s) AS nullif(trim(s), '');
CREATE OR REPLACE MACRO as_int(t) AS
  CASE WHEN regexp_full_match(t, '[+-]?[0-9]+') THEN try_cast(t AS BIGINT) END;
CREATE OR REPLACE MACRO as_dec(t) AS
  CASE WHEN regexp_full_match(t, '[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)') THEN try_cast(replace(t, ',', '.') AS DOUBLE) END;
CREATE OR REPLACE MACRO as_date(t) AS try_cast(CASE
    WHEN regexp_full_match(t, '[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN t
    WHEN regexp_full_match(t, '[0-9]{8}') THEN concat(t[1:4], '-', t[5:6], '-', t[7:8])
    WHEN regexp_full_match(t, '[0-9]{2}/[0-9]{2}/[0-9]{4}') THEN concat(t[7:10], '-', t[4:5], '-', t[1:2])
  END AS DATE);
-- A column of a row passes when it is empty and may be, or when it has a typed value within its
-- domain. A row is kept when all its columns pass (Socle names the first that fails).
CREATE OR REPLACE MACRO passe(t, typed, nullable, in_domain) AS
  CASE WHEN t IS NULL THEN nullable ELSE typed IS NOT NULL AND coalesce(in_domain, false) END;

-- @step resultat
-- 1. Encoding of each file whose CSS declares none (schemas/css/<code>.yaml `encodage`): UTF-8
--    when the whole file is valid UTF-8, else Windows-1252 (read as Latin-1), as Socle decides.
--    The files are scanned once here, as Socle scans them before reading.
SET VARIABLE encodages = (
  SELECT map_from_entries(list((filename, CASE WHEN try(decode(content)) IS NULL THEN 'latin-1' ELSE 'utf-8' END)))
  FROM read_blob({{auto_files}})
);

-- 2. The six source tables of the resultat path, typed and checked against the contract
--    (schemas/sources/gpi.yaml), every CSS at once. `_ok`: the row passes every check.
CREATE OR REPLACE TEMP TABLE gpm_t_eco AS
WITH s AS (
  SELECT code_css, txt(id_eco) AS id_eco, txt(org) AS org, txt(annee) AS annee, txt(eco) AS eco,
    txt(eco_off) AS eco_off, txt(nom_eco) AS nom_eco, txt(indic_eco_bidon) AS indic_eco_bidon
  FROM ({{read:gpm_t_eco}})
)
SELECT code_css, as_int(id_eco) AS id_eco, org, as_int(annee) AS annee, eco, eco_off, nom_eco,
  as_int(indic_eco_bidon) AS indic_eco_bidon,
  passe(id_eco, as_int(id_eco), false, true)
  AND passe(org, org, false, regexp_full_match(org, '[0-9]{6}'))
  AND passe(annee, as_int(annee), false, as_int(annee) BETWEEN 1990 AND 2100)
  AND passe(eco, eco, false, true)
  AND passe(eco_off, eco_off, false, regexp_full_match(eco_off, '[0-9]{6}'))
  AND passe(indic_eco_bidon, as_int(indic_eco_bidon), true, as_int(indic_eco_bidon) IN (0, 1)) AS _ok
FROM s;

CREATE OR REPLACE TEMP TABLE gpm_e_ele AS
WITH s AS (
  SELECT code_css, txt(fiche) AS fiche, txt(code_perm) AS code_perm, txt(sexe) AS sexe, txt(date_naiss) AS date_naiss
  FROM ({{read:gpm_e_ele}})
)
SELECT code_css, as_int(fiche) AS fiche, code_perm,
  passe(fiche, as_int(fiche), false, true)
  AND passe(sexe, sexe, true, sexe IN ('F', 'M', 'X'))
  AND passe(date_naiss, as_date(date_naiss), true, true) AS _ok
FROM s;

CREATE OR REPLACE TEMP TABLE gpm_t_mat_grp AS
WITH s AS (
  SELECT code_css, txt(id_mat_grp) AS id_mat_grp, txt(id_eco) AS id_eco, txt(mat) AS mat,
    txt(leg_etape_01) AS leg_etape_01, txt(leg_etape_02) AS leg_etape_02,
    txt(leg_etape_03) AS leg_etape_03, txt(leg_som) AS leg_som
  FROM ({{read:gpm_t_mat_grp}})
)
SELECT code_css, as_int(id_mat_grp) AS id_mat_grp, leg_etape_01, leg_etape_02, leg_etape_03, leg_som,
  passe(id_mat_grp, as_int(id_mat_grp), false, true)
  AND passe(id_eco, as_int(id_eco), false, true)
  AND passe(mat, mat, false, true) AS _ok
FROM s;

CREATE OR REPLACE TEMP TABLE gpm_t_leg AS
WITH s AS (
  SELECT code_css, txt(id_eco) AS id_eco, txt(leg) AS leg, txt(seuil_reus) AS seuil_reus
  FROM ({{read:gpm_t_leg}})
)
SELECT code_css, as_int(id_eco) AS id_eco, leg, as_dec(seuil_reus) AS seuil_reus,
  passe(id_eco, as_int(id_eco), false, true)
  AND passe(leg, leg, false, true)
  AND passe(seuil_reus, as_dec(seuil_reus), true, as_dec(seuil_reus) BETWEEN 0 AND 100) AS _ok
FROM s;

CREATE OR REPLACE TEMP TABLE gpm_t_cotes AS
WITH s AS (
  SELECT code_css, txt(id_eco) AS id_eco, txt(leg) AS leg, txt(cote) AS cote,
    txt(note_equiv) AS note_equiv, txt(indic_reus_echec) AS indic_reus_echec
  FROM ({{read:gpm_t_cotes}})
)
SELECT code_css, as_int(id_eco) AS id_eco, leg, cote, as_dec(note_equiv) AS note_equiv,
  as_int(indic_reus_echec) AS indic_reus_echec,
  passe(id_eco, as_int(id_eco), false, true)
  AND passe(leg, leg, false, true)
  AND passe(cote, cote, false, true)
  AND passe(note_equiv, as_dec(note_equiv), true, as_dec(note_equiv) BETWEEN 0 AND 100)
  AND passe(indic_reus_echec, as_int(indic_reus_echec), true, as_int(indic_reus_echec) IN (1, 2)) AS _ok
FROM s;

CREATE OR REPLACE TEMP TABLE gpm_e_mat_ele AS
WITH s AS (
  SELECT code_css, txt(id_mat_ele) AS id_mat_ele, txt(id_mat_grp) AS id_mat_grp, txt(fiche) AS fiche,
    txt(id_eco) AS id_eco, txt(mat) AS mat, txt(grp) AS grp, txt(etat) AS etat,
    txt(res_etape_01) AS res_etape_01, txt(res_etape_02) AS res_etape_02,
    txt(res_etape_03) AS res_etape_03, txt(res_som) AS res_som, txt(unites_ele) AS unites_ele
  FROM ({{read:gpm_e_mat_ele}})
)
SELECT code_css, as_int(id_mat_ele) AS id_mat_ele, as_int(id_mat_grp) AS id_mat_grp,
  as_int(fiche) AS fiche, as_int(id_eco) AS id_eco, mat, grp, as_int(etat) AS etat,
  res_etape_01, res_etape_02, res_etape_03, res_som, as_int(unites_ele) AS unites_ele,
  passe(id_mat_ele, as_int(id_mat_ele), false, true)
  AND passe(id_mat_grp, as_int(id_mat_grp), true, true)
  AND passe(fiche, as_int(fiche), false, true)
  AND passe(id_eco, as_int(id_eco), false, true)
  AND passe(mat, mat, false, true)
  AND passe(etat, as_int(etat), false, as_int(etat) IN (0, 1, 5, 6, 8))
  AND passe(unites_ele, as_int(unites_ele), true, as_int(unites_ele) BETWEEN 0 AND 20) AS _ok
FROM s;

-- 3. Schools by year kept by Socle (sql/gpi/00_etablissement.sql): the CSS's own organisation,
--    and an establishment of that organisation in the registry. A repeated id_eco keeps its
--    first row.
CREATE OR REPLACE TEMP TABLE etablissement_ok AS
SELECT e.code_css, e.id_eco,
  concat(CAST(e.annee AS VARCHAR), '-', CAST(e.annee + 1 AS VARCHAR)) AS annee_scolaire,
  e.eco_off AS code_etablissement,
  coalesce(e.indic_eco_bidon, 0) = 1 AS ecole_bidon
FROM (
  SELECT * FROM gpm_t_eco WHERE _ok
  QUALIFY row_number() OVER (PARTITION BY code_css, id_eco ORDER BY rowid) = 1
) e
JOIN ref_organismes o ON o.code_css = e.org
JOIN ref_etablissements r ON r.code_etablissement = e.eco_off AND r.code_css = e.org
WHERE e.org = e.code_css;

-- 4. The student key of each fiche (sql/gpi/02_eleve_key.sql): its first row. A valid code
--    permanent gives the shared key, anything else a local key from (CSS, fiche).
CREATE OR REPLACE TEMP TABLE eleve_key AS
SELECT code_css, fiche,
  CASE
    WHEN regexp_full_match(upper(code_perm), '[A-Z]{4}[0-9]{8}')
      THEN sha256(getvariable('cle_secrete') || upper(code_perm))[1:32]
    ELSE sha256(getvariable('cle_secrete') || 'local:' || code_css || ':' || CAST(fiche AS VARCHAR))[1:32]
  END AS cle_eleve
FROM gpm_e_ele
WHERE _ok
QUALIFY row_number() OVER (PARTITION BY code_css, fiche ORDER BY rowid) = 1;

-- 5. The canonical `resultat` (sql/gpi/05_resultat.sql), written as Parquet. The group's legend
--    travels with the result cells of the same étape; each cell is read in the order of
--    formats/README.md: a code of that legend (evaluated when its flag is 1 pass or 2 fail),
--    else a number (evaluated; passed at or above the legend's pass mark, the dictionary's
--    default when the legend has none; above 100 is out of domain), else a special value of the
--    CSS's map, else empty (`vide`). Rows Socle would quarantine are dropped by the inner joins
--    and the final filter.
COPY (
  WITH m AS (
    -- The school (with its year and ministry code) and the student key join here, before the
    -- étapes are unpivoted: four times fewer rows to join.
    SELECT x.*, e.annee_scolaire, e.code_etablissement, e.ecole_bidon, k.cle_eleve
    FROM (
      SELECT * FROM gpm_e_mat_ele WHERE _ok
      QUALIFY row_number() OVER (PARTITION BY code_css, id_mat_ele ORDER BY rowid) = 1
    ) x
    JOIN etablissement_ok e ON e.code_css = x.code_css AND e.id_eco = x.id_eco
    JOIN eleve_key k ON k.code_css = x.code_css AND k.fiche = x.fiche
  ),
  g AS (
    SELECT * FROM gpm_t_mat_grp WHERE _ok
    QUALIFY row_number() OVER (PARTITION BY code_css, id_mat_grp ORDER BY rowid) = 1
  ),
  l AS (
    SELECT * FROM gpm_t_leg WHERE _ok
    QUALIFY row_number() OVER (PARTITION BY code_css, id_eco, leg ORDER BY rowid) = 1
  ),
  c AS (
    SELECT * FROM gpm_t_cotes WHERE _ok
    QUALIFY row_number() OVER (PARTITION BY code_css, id_eco, leg, cote ORDER BY rowid) = 1
  ),
  cells AS (
    -- Wide to long: one row per étape (1, 2, 3) and the final result, with that étape's legend.
    SELECT m.* EXCLUDE (res_etape_01, res_etape_02, res_etape_03, res_som),
      unnest(['1', '2', '3', 'final']) AS etape,
      unnest([m.res_etape_01, m.res_etape_02, m.res_etape_03, m.res_som]) AS res,
      unnest([g.leg_etape_01, g.leg_etape_02, g.leg_etape_03, g.leg_som]) AS leg
    FROM m
    LEFT JOIN g ON g.code_css = m.code_css AND g.id_mat_grp = m.id_mat_grp
  ),
  numbers AS (
    -- The number a cell holds, computed once, below the legend joins (a filter pushed down
    -- through the same projection would repeat the regular expression for every use).
    SELECT *,
      CASE WHEN regexp_full_match(res, '[0-9]+([.,][0-9]+)?') THEN CAST(replace(res, ',', '.') AS DOUBLE) END AS num,
      upper(res) AS res_upper
    FROM cells
  ),
  decoded AS (
    SELECT r.*,
      c.cote, c.note_equiv, c.indic_reus_echec,
      coalesce(l.seuil_reus, CAST({{default_pass_mark}} AS DOUBLE)) AS seuil,
      s.statut AS statut_special
    FROM numbers r
    LEFT JOIN c ON c.code_css = r.code_css AND c.id_eco = r.id_eco AND c.leg = r.leg AND c.cote = r.res
    LEFT JOIN l ON l.code_css = r.code_css AND l.id_eco = r.id_eco AND l.leg = r.leg
    LEFT JOIN map_valeurs_speciales s ON s.code_css = r.code_css AND s.code = r.res_upper
  ),
  classified AS (
    SELECT r.*,
      CASE
        WHEN r.res IS NULL THEN 'vide'
        WHEN r.cote IS NOT NULL THEN
          CASE r.indic_reus_echec WHEN 1 THEN 'reussi' WHEN 2 THEN 'echec' ELSE 'non_evalue' END
        WHEN r.num IS NOT NULL AND r.num <= 100 THEN
          CASE WHEN r.num >= r.seuil THEN 'reussi' ELSE 'echec' END
        WHEN r.num IS NOT NULL THEN NULL
        ELSE r.statut_special
      END AS statut_resultat
    FROM decoded r
  )
  SELECT
    r.annee_scolaire,
    r.code_css,
    'gpi' AS systeme_source,
    r.code_etablissement,
    r.cle_eleve,
    r.ecole_bidon,
    coalesce(mc.code_cours, r.mat) AS code_cours,
    r.mat AS code_cours_source,
    mc.code_cours IS NULL AND NOT regexp_full_match(r.mat, '([0-9]{6}|[A-Z]{3}[1-6]00)') AS cours_local,
    r.grp AS groupe,
    coalesce(regexp_matches(r.grp, '^[A-Za-z]'), false) AS reprise,
    r.etat,
    r.etape,
    r.res AS resultat_source,
    r.leg AS code_legende,
    r.statut_resultat,
    r.statut_resultat IN ('reussi', 'echec') AS evalue,
    CASE WHEN r.statut_resultat IN ('reussi', 'echec') THEN r.statut_resultat = 'reussi' END AS reussi,
    CASE WHEN r.cote IS NOT NULL THEN r.note_equiv ELSE r.num END AS note,
    r.seuil AS seuil_reussite,
    r.unites_ele AS unites_obtenues
  FROM classified r
  LEFT JOIN map_cours mc ON mc.code_css = r.code_css AND mc.code_source = r.mat
  WHERE r.statut_resultat IS NOT NULL
) TO '{{out}}/resultat' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (annee_scolaire, code_css), WRITE_PARTITION_COLUMNS true);

-- @step taux_reussite
-- The mart over the Parquet just written, as Socle's marts stage reads its shared zone
-- (benches/duckdb/taux_reussite.sql).
CREATE OR REPLACE VIEW resultat AS
SELECT * FROM read_parquet('{{out}}/resultat/*/*/*.parquet', hive_partitioning = false);
COPY (
{{taux_reussite}}
) TO '{{out}}/marts/taux_reussite.parquet' (FORMAT parquet, COMPRESSION zstd);

-- @block read
-- One CSS's file of a table, every column as text; the header line gives the names (the
-- harness read it), `ignore_errors` drops the records Socle's reader rejects (wrong field count,
-- unterminated quote, truncated last line, invalid UTF-8).
SELECT '{{css}}' AS code_css, *
FROM read_csv('{{file}}', columns = {{columns}}, delim = {{delim}},
  encoding = coalesce(getvariable('encodages')['{{file}}'], '{{encoding}}'),
  header = true, auto_detect = false, quote = '"', escape = '"', ignore_errors = true)
-- @end
