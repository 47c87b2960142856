//! End-to-end tests of the `socle` binary: generated exports -> run -> warehouse -> marts, checked
//! against the generator's own ground truth (never against Socle's output), plus privacy,
//! atomicity, idempotency and interoperability (DuckDB, polars).

#[path = "privacy/mod.rs"]
mod privacy;
use crate::common::warehouse_state as ws;
use crate::common::{copy_dir, load, load_command, query_csv, read_csv, read_csv_file, root, socle, socle_bench, text};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const CSS: &str = "866000,881000,751000";
/// The CSS exported by Mozaïk (the others by GPI), so that every check covers both youth systems.
const MOZAIK_CSS: &str = "751000";

struct Generated {
    dir: PathBuf,
    exports: PathBuf,
    truth: PathBuf,
    warehouse: PathBuf,
    run_log: String,
}

/// Generates exports with bad rows once (751000 on Mozaïk) and loads them once, with logs at
/// debug level (the privacy test reads them); the tests read the result.
fn generated() -> &'static Generated {
    static G: OnceLock<Generated> = OnceLock::new();
    G.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("socle-e2e-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let exports = dir.join("exports");
        let truth = dir.join("truth");
        let warehouse = dir.join("warehouse");
        let o = socle(&[
            "generate",
            "--out",
            exports.to_str().unwrap(),
            "--css",
            CSS,
            "--students",
            "900",
            "--years",
            "2",
            "--seed",
            "11",
            "--night",
            "2025-11-20",
            "--bad-rate",
            "0.01",
            "--mozaik",
            MOZAIK_CSS,
            "--truth",
            truth.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let o = load_command(&exports, &warehouse, &["--log-format", "json"])
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let run_log = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        Generated {
            dir,
            exports,
            truth,
            warehouse,
            run_log,
        }
    })
}

/// Every row of a mart over the CSS zones (exact values), all CSS together.
fn exact_rows(warehouse: &Path, mart: &str) -> Vec<BTreeMap<String, String>> {
    CSS.split(',')
        .flat_map(|c| query_csv(warehouse, Some(c), &format!("SELECT * FROM {mart}")))
        .collect()
}

#[test]
fn taux_reussite_matches_the_generators_ground_truth() {
    let g = generated();
    let truth = read_csv_file(&g.truth.join("taux_reussite.csv"));
    assert!(truth.len() > 50, "truth too small: {}", truth.len());
    // The exact cells: each CSS's own zone (the shared zone hides small cells).
    let mart = exact_rows(&g.warehouse, "taux_reussite");
    let key = |r: &BTreeMap<String, String>| {
        [
            "annee_scolaire",
            "code_css",
            "code_etablissement",
            "code_cours",
            "etape",
        ]
        .map(|k| r[k].clone())
        .join("|")
    };
    let mart: BTreeMap<String, &BTreeMap<String, String>> = mart.iter().map(|r| (key(r), r)).collect();
    assert_eq!(
        mart.len(),
        truth.len(),
        "number of (year, css, school, course, étape) groups"
    );
    let mut evaluated = 0u64;
    for t in &truth {
        let m = mart
            .get(&key(t))
            .unwrap_or_else(|| panic!("group {} missing from the mart", key(t)));
        for c in [
            "nb_evalues",
            "nb_reussites",
            "nb_absents",
            "nb_exemptes",
            "nb_non_evalues",
            "nb_non_applicables",
            "nb_vides",
        ] {
            assert_eq!(m[c], t[c], "{c} of {}", key(t));
        }
        let ev: u64 = t["nb_evalues"].parse().unwrap();
        let ok: u64 = t["nb_reussites"].parse().unwrap();
        evaluated += ev;
        if ev == 0 {
            assert_eq!(
                m["taux_reussite"],
                "",
                "taux_reussite must be null when nothing is evaluated ({})",
                key(t)
            );
        } else {
            let rate: f64 = m["taux_reussite"].parse().unwrap();
            assert!(
                (rate - ok as f64 / ev as f64).abs() < 1e-9,
                "taux_reussite of {}",
                key(t)
            );
        }
    }
    assert!(evaluated > 1000);
    // Results around 70-75 with ~10% failures: the overall rate is plausible.
    let (ok, ev) = mart.values().fold((0u64, 0u64), |(ok, ev), r| {
        (
            ok + r["nb_reussites"].parse::<u64>().unwrap(),
            ev + r["nb_evalues"].parse::<u64>().unwrap(),
        )
    });
    let overall = ok as f64 / ev as f64;
    assert!((0.8..0.97).contains(&overall), "overall success rate {overall}");
}

/// Every bad row the generator injected (whatever kinds it logs, on GPI, Mozaïk, JADE and Dofin)
/// is in its CSS's quarantine with its file, line, reason and, where the row was spoiled in one
/// column, that column; nothing else is quarantined; and per source table, the rows written =
/// rows read = rows loaded + rows quarantined, against the generator's `counts.csv`.
#[test]
fn every_injected_bad_row_is_quarantined_with_file_line_and_reason() {
    let g = generated();
    let bad = read_csv_file(&g.truth.join("bad_rows.csv"));
    assert!(!bad.is_empty(), "the generator injected no bad row");
    let kinds: BTreeSet<&str> = bad.iter().map(|b| b["kind"].as_str()).collect();
    // The kinds every night gets (those of a cut last record are not among them: such a file
    // fails its source, it is not a bad row).
    for k in [
        "wrong_column_count",
        "unparsable_date",
        "unparsable_number",
        "out_of_domain",
        "duplicate_key",
        "unknown_result_code",
        "malformed_json",
        "missing_value",
    ] {
        assert!(kinds.contains(k), "the generator injected no {k}");
    }
    assert!(
        bad.iter()
            .any(|b| b["code_css"] == MOZAIK_CSS && b["file"].ends_with(".jsonl")),
        "no bad Mozaïk line"
    );
    // The contract of each file (a Mozaïk file may feed two tables): for duplicate keys, the
    // reject names the contract's key.
    let dict = socle_dictionary::Dictionary::load(root().join("schemas")).unwrap();
    let mut keys_of_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for src in &dict.sources {
        for t in &src.tables {
            keys_of_file
                .entry(format!("{}/{}", src.folder, t.file))
                .or_default()
                .push(t.key.join(", "));
        }
    }
    let folder_of = |name: &str| {
        if name.ends_with(".jsonl") {
            "mozaik"
        } else if name.starts_with("gpm_") {
            "gpi"
        } else if name.starts_with("fin_") {
            "dofin"
        } else {
            "jade"
        }
    };

    for css in CSS.split(',') {
        let quarantine = query_csv(
            &g.warehouse,
            Some(css),
            "SELECT fichier, ligne, colonne, raison, message FROM quarantaine",
        );
        assert!(!quarantine.is_empty(), "{css}: empty quarantine");
        let mut at: BTreeMap<(String, String), Vec<&BTreeMap<String, String>>> = BTreeMap::new();
        for q in &quarantine {
            at.entry((q["fichier"].clone(), q["ligne"].clone()))
                .or_default()
                .push(q);
        }
        let injected: Vec<&BTreeMap<String, String>> = bad.iter().filter(|b| b["code_css"] == css).collect();
        assert!(!injected.is_empty(), "{css}: no bad row injected");
        let mut expected_lines = BTreeSet::new();
        for b in &injected {
            let file = format!("{}/{}", folder_of(&b["file"]), b["file"]);
            let reason = match b["kind"].as_str() {
                "undecodable_bytes" => "invalid_encoding",
                k => k,
            };
            let rows = at
                .get(&(file.clone(), b["line"].clone()))
                .unwrap_or_else(|| panic!("bad row {b:?} is not in the quarantine"));
            assert!(!rows.is_empty());
            let with_reason: Vec<&&BTreeMap<String, String>> = rows.iter().filter(|r| r["raison"] == reason).collect();
            assert!(!with_reason.is_empty(), "reason of {b:?}: {rows:?}");
            for r in &with_reason {
                assert!(!r["message"].is_empty(), "{r:?}");
            }
            // The column: the one the generator spoiled, the contract's key for a duplicate,
            // none for a record that could not be split into fields.
            let expected_columns: Vec<String> = match b["kind"].as_str() {
                "duplicate_key" => keys_of_file[&file].clone(),
                "wrong_column_count" | "unterminated_quote" | "truncated_last_line" => vec![String::new()],
                _ if !b["column"].is_empty() => vec![b["column"].clone()],
                _ => Vec::new(),
            };
            if !expected_columns.is_empty() {
                assert!(
                    with_reason.iter().any(|r| expected_columns.contains(&r["colonne"])),
                    "column of {b:?}: {with_reason:?}, expected one of {expected_columns:?}"
                );
            }
            expected_lines.insert((file, b["line"].clone()));
        }
        // Nothing but the injected rows is quarantined.
        let quarantined_lines: BTreeSet<(String, String)> = at.keys().cloned().collect();
        assert_eq!(
            quarantined_lines, expected_lines,
            "{css}: the quarantined lines are not exactly the injected bad rows"
        );
    }
    assert!(
        bad.iter().any(|b| !b["column"].is_empty()),
        "the truth names no spoiled column"
    );

    // Rows in = rows loaded + rows quarantined, per source table, against counts.csv. The quality
    // report of each CSS is in the run's folder.
    let counts = read_csv_file(&g.truth.join("counts.csv"));
    assert!(!counts.is_empty());
    let runs: Vec<PathBuf> = std::fs::read_dir(g.warehouse.join("_socle/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let mut tables_checked = 0;
    for css in CSS.split(',') {
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(runs[0].join(format!("{css}-quality.json"))).unwrap())
                .unwrap();
        let sources = report["sources"].as_object().unwrap();
        assert!(!sources.is_empty());
        let rows: Vec<&BTreeMap<String, String>> = counts.iter().filter(|c| c["code_css"] == css).collect();
        assert!(!rows.is_empty(), "{css} not in counts.csv");
        for c in rows {
            let table = c["table"].as_str();
            let written = c["clean_rows"].parse::<u64>().unwrap() + c["bad_rows"].parse::<u64>().unwrap();
            let s = sources
                .get(table)
                .unwrap_or_else(|| panic!("{css}: {table} is not in the quality report"));
            let read = s["lignes_lues"].as_u64().unwrap();
            let loaded = s["lignes_chargees"].as_u64().unwrap();
            let quarantined: u64 = s["quarantaine"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            assert_eq!(read, written, "{css} {table}: rows read vs rows written");
            assert_eq!(read, loaded + quarantined, "{css} {table}: read = loaded + quarantined");
            // The rows rejected at reading are bad rows of that file; the others were loaded
            // (and some quarantined later, at normalisation: unknown result codes...).
            let bad_in_file = bad
                .iter()
                .filter(|b| b["code_css"] == css && b["file"].rsplit_once('.').map(|(stem, _)| stem) == Some(table))
                .count() as u64;
            assert_eq!(bad_in_file, c["bad_rows"].parse::<u64>().unwrap(), "{css} {table}");
            assert!(
                quarantined <= bad_in_file,
                "{css} {table}: {quarantined} rejected, {bad_in_file} bad"
            );
            tables_checked += 1;
        }
    }
    // 3 CSS x (12 GPI or 8 Mozaïk files, 5 JADE, 5 Dofin).
    assert_eq!(tables_checked, 2 * 22 + 18, "source tables checked");
    // The quality report counts the normalisation's quarantine too.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs[0].join("866000-quality.json")).unwrap()).unwrap();
    assert!(
        report["entites"]["resultat"]["quarantaine"]["unknown_result_code"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// The personal data the generator wrote, ready to search (see `privacy/mod.rs` for the rule),
/// with the names of the public ministry registry left out.
fn personal_data(truth: &Path) -> privacy::PersonalData {
    let registry = socle_core::Registry::embedded().unwrap();
    let public: Vec<&str> = registry
        .establishments
        .values()
        .flat_map(|e| [e.name.as_str(), e.short_name.as_str(), e.municipality.as_str()])
        .chain(registry.organisations.values().map(|o| o.name.as_str()))
        .collect();
    assert!(!public.is_empty());
    let p = privacy::PersonalData::load(truth, public);
    p.assert_finds_its_own_values(truth);
    p
}

/// Every value of a column as text, whatever its type (dates as ISO, timestamps as ISO with a
/// `T`, binary as hex and as UTF-8 where it is).
fn column_texts(col: &datafusion::arrow::array::ArrayRef, out: &mut BTreeSet<String>) {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::DataType;
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let formatter = ArrayFormatter::try_new(col.as_ref(), &options).unwrap();
    for i in 0..col.len() {
        if col.is_valid(i) {
            out.insert(formatter.value(i).to_string());
        }
    }
    let binary: Vec<&[u8]> = match col.data_type() {
        DataType::Binary => col.as_binary::<i32>().iter().flatten().collect(),
        DataType::LargeBinary => col.as_binary::<i64>().iter().flatten().collect(),
        DataType::BinaryView => col.as_binary_view().iter().flatten().collect(),
        DataType::FixedSizeBinary(_) => col.as_fixed_size_binary().iter().flatten().collect(),
        _ => Vec::new(),
    };
    for b in binary {
        out.insert(String::from_utf8_lossy(b).into_owned());
    }
}

/// Decodes every value of every table and mart of the shared zone through the engine, every
/// column statistic (row groups and pages, every type, decoded as the reader would, and the raw
/// bytes) of every Parquet file of the shared zone and the marts, the quality reports and run
/// reports, and the run's logs at debug level, on a night with GPI and Mozaïk CSS: no code
/// permanent, full name or birth date the generator wrote may appear in any of them.
#[test]
fn the_shared_zone_and_the_logs_hold_no_personal_data() {
    let g = generated();
    let personal = personal_data(&g.truth);
    assert!(personal.people > 900, "only {} people", personal.people);
    let check = |where_: &str, value: &str| {
        if let Some(kind) = personal.find(value) {
            panic!("{kind:?} found in {where_}");
        }
    };

    // 1. Every value of every shared table and shared mart, read through the engine.
    let dict = socle_dictionary::Dictionary::load(root().join("schemas")).unwrap();
    let (project, problems) = socle_marts::load(&root().join("pipelines")).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let expected: BTreeSet<String> = dict
        .entities
        .iter()
        .map(|e| e.name.clone())
        .chain(
            project
                .marts
                .iter()
                .filter(|m| matches!(m.spec.publication, socle_marts::Publication::Shared))
                .map(|m| m.spec.name.clone()),
        )
        .collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut scanned = BTreeSet::new();
    let mut values_scanned = 0usize;
    rt.block_on(async {
        let wh = socle_warehouse::Warehouse::open(&g.warehouse).unwrap();
        let ctx = wh
            .session(socle_warehouse::Zone::Shared, &BTreeMap::new())
            .await
            .unwrap();
        for name in ctx.catalog_names() {
            let catalog = ctx.catalog(&name).unwrap();
            for schema_name in catalog.schema_names() {
                let schema = catalog.schema(&schema_name).unwrap();
                for table in schema.table_names() {
                    if !expected.contains(&table) {
                        // Reference tables and seeds: public, not from the exports.
                        continue;
                    }
                    let batches = ctx
                        .sql(&format!("SELECT * FROM \"{table}\""))
                        .await
                        .unwrap()
                        .collect()
                        .await
                        .unwrap();
                    let mut texts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
                    for b in &batches {
                        for (i, col) in b.columns().iter().enumerate() {
                            let field = b.schema().field(i).name().to_lowercase();
                            assert!(
                                !["code_permanent", "nom", "prenom", "date_naissance", "fiche"]
                                    .contains(&field.as_str()),
                                "{field} in shared {table}"
                            );
                            column_texts(col, texts.entry(field).or_default());
                        }
                    }
                    for (field, values) in &texts {
                        for v in values {
                            values_scanned += 1;
                            check(&format!("shared {table}.{field}"), v);
                        }
                    }
                    if !batches.is_empty() {
                        scanned.insert(table);
                    }
                }
            }
        }
    });
    assert!(values_scanned > 10_000, "only {values_scanned} distinct values scanned");
    for t in [
        "eleve",
        "resultat",
        "resultat_ministere",
        "sanction",
        "taux_reussite",
        "diplomation_cohorte",
    ] {
        assert!(scanned.contains(t), "shared {t} not scanned: {scanned:?}");
    }
    assert!(
        scanned.len() >= 15,
        "only {} shared tables and marts scanned: {scanned:?}",
        scanned.len()
    );

    // 2. Column statistics of every Parquet file of the shared zone and the marts: row groups and
    // pages, decoded to their Arrow type (dates, timestamps, integers, decimals, booleans,
    // strings, binary), and the raw min/max bytes.
    let mut files = Vec::new();
    collect_parquet(&g.warehouse.join("shared"), &mut files);
    collect_parquet(&g.warehouse.join("marts"), &mut files);
    assert!(!files.is_empty());
    let mut types_decoded: BTreeSet<String> = BTreeSet::new();
    let mut statistics = 0usize;
    for f in &files {
        use datafusion::arrow::array::Array;
        use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
        use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
        use datafusion::parquet::file::metadata::PageIndexPolicy;
        let file = std::fs::File::open(f).unwrap();
        let meta = ArrowReaderMetadata::load(
            &file,
            ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
        )
        .unwrap();
        let md = meta.metadata();
        let schema = meta.schema();
        let where_ = format!("statistics of {}", f.display());
        let groups: Vec<usize> = (0..md.num_row_groups()).collect();
        for field in schema.fields() {
            let conv = StatisticsConverter::try_new(field.name(), schema, md.file_metadata().schema_descr()).unwrap();
            let mut arrays = vec![
                conv.row_group_mins(md.row_groups().iter()).unwrap(),
                conv.row_group_maxes(md.row_groups().iter()).unwrap(),
            ];
            if let (Some(ci), Some(oi)) = (md.column_index(), md.offset_index()) {
                arrays.push(conv.data_page_mins(ci, oi, &groups).unwrap());
                arrays.push(conv.data_page_maxes(ci, oi, &groups).unwrap());
            }
            let mut texts = BTreeSet::new();
            for a in &arrays {
                if a.null_count() < a.len() {
                    types_decoded.insert(format!("{:?}", field.data_type()));
                }
                column_texts(a, &mut texts);
            }
            for t in &texts {
                statistics += 1;
                check(&where_, t);
            }
        }
        for rg in md.row_groups() {
            for col in rg.columns() {
                if let Some(stats) = col.statistics() {
                    for bytes in [stats.min_bytes_opt(), stats.max_bytes_opt()].into_iter().flatten() {
                        check(&where_, &String::from_utf8_lossy(bytes));
                    }
                }
            }
        }
    }
    assert!(statistics > 1000, "only {statistics} statistics decoded");
    for t in ["Utf8", "Date32", "Int64", "Boolean", "Timestamp"] {
        assert!(
            types_decoded.iter().any(|d| d.starts_with(t)),
            "no statistic of type {t} decoded: {types_decoded:?}"
        );
    }

    // 3. The logs of the run, at debug level (JSON lines).
    let log_lines: Vec<&str> = g.run_log.lines().collect();
    assert!(
        log_lines.iter().any(|l| l.contains("\"DEBUG\"")),
        "the run's logs have no debug line"
    );
    for line in &log_lines {
        check("the run's logs", line);
    }

    // 4. Quality reports and run reports, every file under _socle/runs.
    let mut reports = Vec::new();
    collect_files(&g.warehouse.join("_socle/runs"), &mut reports);
    assert!(reports.len() >= 3, "{reports:?}");
    for f in &reports {
        let t = std::fs::read_to_string(f).unwrap();
        assert!(!t.is_empty());
        check(&format!("{}", f.display()), &t);
    }
}

fn collect_parquet(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect_parquet(&p, out);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
}

/// Students who changed CSS keep one key across CSS in the shared zone.
#[test]
fn a_student_changing_css_keeps_the_same_shared_key() {
    let g = generated();
    let rows = query_csv(
        &g.warehouse,
        None,
        "SELECT count(*) AS n FROM (SELECT cle_eleve FROM eleve WHERE NOT cle_locale GROUP BY cle_eleve HAVING count(DISTINCT code_css) > 1)",
    );
    assert!(
        rows[0]["n"].parse::<u64>().unwrap() > 0,
        "no student followed across CSS"
    );
    // The CSS zone keeps the code permanent for the CSS's own staff.
    let own = query_csv(
        &g.warehouse,
        Some("866000"),
        "SELECT count(code_permanent) AS n FROM eleve",
    );
    assert!(own[0]["n"].parse::<u64>().unwrap() > 0);
}

fn snapshot(warehouse: &Path) -> String {
    let mut s = String::new();
    for t in [
        "eleve",
        "inscription",
        "resultat",
        "absence",
        "etablissement",
        "cours",
        "legende",
        "calendrier",
        "taux_reussite",
    ] {
        let rows = query_csv(
            warehouse,
            None,
            &format!("SELECT code_css, count(*) AS n FROM {t} GROUP BY code_css ORDER BY code_css"),
        );
        s.push_str(&format!("{t}: {rows:?}\n"));
    }
    let mart = query_csv(
        warehouse,
        None,
        "SELECT * FROM taux_reussite ORDER BY annee_scolaire, code_css, code_etablissement, code_cours, etape",
    );
    s.push_str(&format!("{mart:?}"));
    s
}

/// A run failing mid-way (at the commit of one CSS, or a source missing a file) leaves that
/// CSS's previous state intact and readable; the other CSS publish; the exit code says so.
#[test]
fn a_failed_run_leaves_the_previous_warehouse_intact() {
    let g = generated();
    let wh = g.dir.join("atomic-warehouse");
    let _ = std::fs::remove_dir_all(&wh);
    copy_dir(&g.warehouse, &wh);
    let before = snapshot(&wh);
    // Every table of both zones and every mart, row by row, per CSS.
    let (state_before, problems) = ws::state(&wh, true);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(state_before.len(), 4, "3 CSS and the marts");
    let manifest = |css: &str| std::fs::read_to_string(wh.join(format!("_socle/manifests/{css}.json"))).unwrap();
    let m866 = manifest("866000");
    let m881 = manifest("881000");

    // 1. Failure inside the commit of 866000 (files moved, manifest not swapped). `--force`:
    // the files are unchanged, so a plain run would skip every CSS.
    let o = load_command(&g.exports, &wh, &["--force"])
        .env("SOCLE_FAILPOINT", "commit:866000")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("866000  FAILED"),
        "{}",
        text(&o)
    );
    assert_eq!(manifest("866000"), m866, "the failed CSS's manifest changed");
    assert_ne!(manifest("881000"), m881, "the other CSS did not publish");
    assert_eq!(
        snapshot(&wh),
        before,
        "the warehouse as read changed after a failed run"
    );
    assert!(
        ws::state(&wh, true).0 == state_before,
        "a table or mart changed after a failed run"
    );

    // 2. A source missing a file: that source fails with a clear message; the tables it feeds
    // keep their state (the CSS's other sources still load).
    let exports = g.dir.join("exports-missing");
    let _ = std::fs::remove_dir_all(&exports);
    copy_dir(&g.exports, &exports);
    let night = std::fs::read_dir(exports.join("881000"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(night.join("gpi/gpm_e_ele.csv")).unwrap();
    let tables_before = tables_of(&manifest("881000"));
    let o = load(&exports, &wh, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("gpm_e_ele.csv"),
        "the error must name the missing file: {}",
        text(&o)
    );
    let after: serde_json::Value = serde_json::from_str(&manifest("881000")).unwrap();
    let failure = after["sources"]["gpi"]["last_failure"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(failure.contains("gpm_e_ele.csv"), "{after:#}");
    let tables_after = tables_of(&manifest("881000"));
    for t in [
        "eleve",
        "inscription",
        "resultat",
        "absence",
        "etablissement",
        "cours",
        "legende",
        "calendrier",
    ] {
        assert_eq!(
            tables_after.get(t),
            tables_before.get(t),
            "{t} changed though its source failed"
        );
    }
    assert_eq!(snapshot(&wh), before);
    // Every table and mart as before, but the quarantine of 881000, which is the night's (its gpi
    // rows were not read), and the marts of the quarantine (`anomalies*`).
    let drop_quarantine = |mut state: ws::State| {
        state
            .get_mut("881000")
            .unwrap()
            .retain(|part, _| !part.starts_with("css/881000/quarantaine"));
        state
            .get_mut(ws::MARTS)
            .unwrap()
            .retain(|part, _| !part.contains("/anomalies"));
        state
    };
    assert!(
        drop_quarantine(ws::state(&wh, true).0) == drop_quarantine(state_before.clone()),
        "a table or mart changed after a failed source"
    );

    // 3. Killed in the middle of a run loading another night, which a completed run would see.
    killed_runs_leave_each_css_as_before_or_as_the_new_night(g, &wh);
}

/// Generates and loads (into a warehouse of its own) a second night of the same CSS, different
/// from `generated()`'s: its state, as the reference of a completed run.
fn night_b(g: &Generated) -> (PathBuf, ws::State) {
    let exports = g.dir.join("exports-night-b");
    let _ = std::fs::remove_dir_all(&exports);
    let o = socle(&[
        "generate",
        "--out",
        exports.to_str().unwrap(),
        "--css",
        CSS,
        "--students",
        "900",
        "--years",
        "2",
        "--seed",
        "12",
        "--night",
        "2025-11-21",
        "--bad-rate",
        "0.01",
        "--mozaik",
        MOZAIK_CSS,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let reference = g.dir.join("night-b-warehouse");
    let _ = std::fs::remove_dir_all(&reference);
    let o = load(&exports, &reference, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (state, problems) = ws::state(&reference, true);
    assert!(problems.is_empty(), "{problems:#?}");
    (exports, state)
}

/// Checks that every CSS of `wh`, and the marts, are each exactly their state in `before`
/// (when their manifest is still the run of `runs_before`) or in `after` (a new run); returns
/// which, by owner.
fn each_as_before_or_after(
    wh: &Path,
    runs_before: &BTreeMap<String, String>,
    before: &ws::State,
    after: &ws::State,
) -> BTreeMap<String, &'static str> {
    let (state, problems) = ws::state(wh, true);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        state.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "not the same CSS and marts"
    );
    let runs = run_ids(wh);
    let mut which = BTreeMap::new();
    for (owner, parts) in &state {
        assert!(!parts.is_empty(), "{owner} holds nothing");
        if runs.get(owner) == runs_before.get(owner) {
            assert!(
                parts == &before[owner],
                "{owner}: its manifest is unchanged but not its data"
            );
            which.insert(owner.clone(), "before");
        } else {
            assert!(
                parts == &after[owner],
                "{owner}: a new manifest that is not the new night"
            );
            which.insert(owner.clone(), "after");
        }
    }
    which
}

/// `args` plus `--accept-drop CSS:ENTITY` for every CSS and entity of the dictionary. Night B is
/// another draw of students: some small table of a school year may hold less than half the rows
/// of night A, and the drop guard would hold it (rightly). This test is about kills, not the
/// guard: the operator has accepted night B, so a completed run loads it whole.
fn accepting_every_drop(args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let mut entities: Vec<String> = std::fs::read_dir(root().join("schemas/entities"))
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(str::to_string))
        .collect();
    entities.sort();
    assert!(!entities.is_empty(), "no entity in schemas/entities");
    for css in CSS.split(',') {
        for entity in &entities {
            out.push("--accept-drop".to_string());
            out.push(format!("{css}:{entity}"));
        }
    }
    out
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The run ids of the manifests of a warehouse (the marts as `ws::MARTS`).
fn run_ids(wh: &Path) -> BTreeMap<String, String> {
    let (css, marts) = ws::manifests(wh);
    let mut runs: BTreeMap<String, String> = css.into_iter().map(|(c, m)| (c, m.run_id)).collect();
    if let Some(m) = marts {
        runs.insert(ws::MARTS.to_string(), m.run_id);
    }
    runs
}

/// Part 3 of `a_failed_run_leaves_the_previous_warehouse_intact`: a run of another night killed
/// (a) at an exact step, aborted after moving 866000's files and before swapping its manifest,
/// (b) at a time-based moment, once it has begun writing and while it is checked running. After
/// each, every CSS and the marts are exactly as before or exactly as the new night (every table of
/// both zones and every mart, row by row); the next run removes the orphans and completes the
/// night.
fn killed_runs_leave_each_css_as_before_or_as_the_new_night(g: &Generated, wh: &Path) {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let (exports_b, after) = night_b(g);
    let runs_before = run_ids(wh);
    let (before, problems) = ws::state(wh, true);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(before.len(), 4, "3 CSS and the marts: {:?}", before.keys());
    for (owner, parts) in &before {
        assert!(parts != &after[owner], "{owner}: the new night would not show");
    }

    // (a) Aborted at `renamed:866000`, one CSS at a time.
    let status = load_command(&exports_b, wh, &as_strs(&accepting_every_drop(&["--jobs", "1"])))
        .env("SOCLE_FAILPOINT", "renamed:866000")
        .env("SOCLE_FAILPOINT_MODE", "abort")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(6), "not aborted at the failpoint: {status:?}");
    let which = each_as_before_or_after(wh, &runs_before, &before, &after);
    assert_eq!(which["866000"], "before");
    assert_eq!(which[ws::MARTS], "before");
    assert!(
        !ws::orphans(wh).is_empty(),
        "866000's moved files should be orphans until the next run"
    );

    // (b) Killed once writing: the next run (this one) first removes (a)'s orphans.
    let staging = wh.join("_socle/staging");
    let old_staging: BTreeSet<std::ffi::OsString> = std::fs::read_dir(&staging)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut child = load_command(&exports_b, wh, &as_strs(&accepting_every_drop(&[])))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let writing = |dir: &Path| {
        let mut files = Vec::new();
        collect_files(dir, &mut files);
        !files.is_empty()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let new_run = std::fs::read_dir(&staging)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| !old_staging.contains(&e.file_name()) && writing(e.path().as_path()));
        if new_run || std::time::Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before it could be killed"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    each_as_before_or_after(wh, &runs_before, &before, &after);

    // The next run completes the night: exactly the reference, and no orphan left.
    let o = load(&exports_b, wh, &as_strs(&accepting_every_drop(&[])));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let listed = ws::listed_files(wh);
    assert!(!listed.is_empty());
    assert_eq!(
        ws::data_files(wh),
        listed,
        "files present are not the files the manifests list"
    );
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0, "staging left");
    let which = each_as_before_or_after(wh, &runs_before, &before, &after);
    assert!(which.values().all(|w| *w == "after"), "{which:?}");
}

/// Every file under `dir`, recursively.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The tables of a manifest (JSON text) with their files.
fn tables_of(manifest: &str) -> BTreeMap<String, serde_json::Value> {
    let m: serde_json::Value = serde_json::from_str(manifest).unwrap();
    m["tables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The same night loaded twice gives the same warehouse, with no leftover files: skipped when
/// its files are unchanged, and the same when forced.
#[test]
fn loading_the_same_night_twice_is_idempotent() {
    let g = generated();
    let wh = g.dir.join("idem-warehouse");
    let _ = std::fs::remove_dir_all(&wh);
    copy_dir(&g.warehouse, &wh);
    let before = snapshot(&wh);
    let mut files_before = Vec::new();
    collect_parquet(&wh, &mut files_before);
    let manifests_before: Vec<String> = ["866000", "881000", "751000"]
        .iter()
        .map(|c| std::fs::read_to_string(wh.join(format!("_socle/manifests/{c}.json"))).unwrap())
        .collect();
    // Unchanged files: every CSS skipped, nothing rewritten.
    let o = load(&g.exports, &wh, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .matches("unchanged since the last load")
            .count(),
        3,
        "{}",
        text(&o)
    );
    let manifests_after: Vec<String> = ["866000", "881000", "751000"]
        .iter()
        .map(|c| std::fs::read_to_string(wh.join(format!("_socle/manifests/{c}.json"))).unwrap())
        .collect();
    assert_eq!(manifests_after, manifests_before, "a skipped night rewrote a manifest");
    // Forced: loaded again, same warehouse.
    let o = load(&g.exports, &wh, &["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(snapshot(&wh), before);
    let mut files_after = Vec::new();
    collect_parquet(&wh, &mut files_after);
    assert_eq!(files_after.len(), files_before.len(), "leftover files after a re-run");
    // Re-running one CSS replaces only its partitions.
    let m881 = std::fs::read_to_string(wh.join("_socle/manifests/881000.json")).unwrap();
    let o = load(&g.exports, &wh, &["--css", "866000", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(wh.join("_socle/manifests/881000.json")).unwrap(),
        m881
    );
    assert_eq!(snapshot(&wh), before);
}

/// DuckDB runs the pipeline's own SQL of every shared mart (what `socle-bench sql` exports: the
/// intermediate models, the marts, the `taux` macro) over the warehouse, and every column of
/// every row equals Socle's exact cells; polars reads the same files.
#[test]
fn duckdb_and_polars_read_the_same_warehouse() {
    let g = generated();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop.py");
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("spec");
    let o = socle_bench(&[
        "sql",
        "--out",
        spec.to_str().unwrap(),
        "--warehouse",
        g.warehouse.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "socle-bench sql: {}", text(&o));
    // Socle's exact cells of every shared mart: every CSS zone's rows put together.
    let exact = tmp.path().join("exact");
    std::fs::create_dir_all(&exact).unwrap();
    let (project, _) = socle_marts::load(&root().join("pipelines")).unwrap();
    let shared: Vec<&socle_marts::Mart> = project.marts_of(socle_marts::Source::Shared);
    assert!(shared.len() >= 8, "the shared marts");
    let mut socle_rows = BTreeMap::new();
    for m in &shared {
        let name = &m.spec.name;
        let mut out = csv::Writer::from_path(exact.join(format!("{name}.csv"))).unwrap();
        let columns: Vec<String> = m.spec.columns.iter().map(|c| c.name.clone()).collect();
        out.write_record(&columns).unwrap();
        let rows = exact_rows(&g.warehouse, name);
        for r in &rows {
            out.write_record(columns.iter().map(|c| r[c].as_str())).unwrap();
        }
        out.flush().unwrap();
        socle_rows.insert(name.clone(), rows.len() as u64);
    }
    let o = Command::new("python3")
        .arg(&script)
        .arg(&g.warehouse)
        .arg(&spec)
        .arg(&exact)
        .output()
        .expect("python3 is needed");
    assert!(
        o.status.success(),
        "the interoperability check needs `python3 -m pip install duckdb polars deltalake` (done by .ci/run): {}",
        text(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let marts = v["duckdb"]["marts"].as_object().unwrap();
    assert_eq!(marts.len(), shared.len(), "every shared mart ran in DuckDB: {v}");
    let mut nonempty = 0;
    for (name, r) in marts {
        assert!(
            r.get("error").is_none(),
            "{name} does not run in DuckDB: {}",
            r["error"]
        );
        assert_eq!(r["socle_rows"].as_u64(), socle_rows.get(name).copied(), "{name}");
        assert_eq!(r["duckdb_rows"], r["socle_rows"], "{name}: rows");
        assert_eq!(r["columns_missing_in_duckdb"], serde_json::json!([]), "{name}");
        assert_eq!(r["differences"], 0, "{name}: cells differ: {}", r["sample"]);
        if r["socle_rows"].as_u64() > Some(0) {
            nonempty += 1;
        }
        // polars reads Socle's own mart files: the same rows.
        assert_eq!(v["polars"]["mart_rows"][name], r["socle_rows"], "polars rows of {name}");
    }
    assert!(
        nonempty >= shared.len() - 1,
        "the fixtures give rows to the shared marts: {v}"
    );
    let resultat = query_csv(&g.warehouse, None, "SELECT count(*) AS n FROM resultat")[0]["n"]
        .parse::<u64>()
        .unwrap();
    assert_eq!(
        v["polars"]["resultat_rows"].as_u64(),
        Some(resultat),
        "polars rows of resultat"
    );
    // Every table read through its Delta log by Python `deltalake` has the rows of the files the
    // manifests list there, and no other table has a log.
    let expected: BTreeMap<String, serde_json::Value> = ws::delta_table_rows(&g.warehouse)
        .into_iter()
        .map(|(t, n)| (t, serde_json::json!(n)))
        .collect();
    assert!(expected.len() > 50, "tables: {}", expected.len());
    let got: BTreeMap<String, serde_json::Value> = v["delta"]["tables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(got, expected, "rows read through Delta by Python deltalake");
    // taux_reussite read through Delta by polars: Socle's exact cells.
    let taux = &v["delta"]["taux_reussite"];
    assert_eq!(taux["rows"], taux["socle_rows"], "{taux}");
    assert!(taux["rows"].as_u64() > Some(0), "{taux}");
    assert_eq!(taux["differences"], 0, "{taux}");
}

/// Without a key, a run on anything but the fixtures is refused with a clear message.
#[test]
fn a_run_without_a_key_is_refused_outside_the_fixtures() {
    let g = generated();
    let o = socle(&[
        "run",
        "--exports",
        g.exports.to_str().unwrap(),
        "--warehouse",
        g.dir.join("nokey").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("SOCLE_PSEUDO_KEY"), "{}", text(&o));
}

/// The loaded warehouse conforms to the dictionary: in every CSS's zone, every canonical field
/// respects its declared domain (values, pattern, bounds, registry) and nullability. Checked
/// through the engine, like dbt tests beside their models.
#[test]
fn the_warehouse_conforms_to_the_data_dictionary() {
    let g = generated();
    let dict = socle_dictionary::Dictionary::load(root().join("schemas")).unwrap();
    let registry = socle_core::Registry::embedded().unwrap();
    let orgs: Vec<String> = registry.organisations.keys().map(|c| format!("'{c}'")).collect();
    let etabs: Vec<String> = registry.establishments.keys().map(|c| format!("'{c}'")).collect();
    let mut checks = 0;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let wh = socle_warehouse::Warehouse::open(&g.warehouse).unwrap();
    for css in CSS.split(',') {
        let ctx = rt
            .block_on(wh.session(socle_warehouse::Zone::Css(css.to_string()), &BTreeMap::new()))
            .unwrap();
        for e in &dict.entities {
            for f in &e.fields {
                let col = format!("\"{}\"", f.name);
                let mut violations = Vec::new();
                if !f.nullable {
                    violations.push(format!("{col} IS NULL"));
                }
                if let Some(d) = &f.domain {
                    if let Some(values) = &d.values {
                        let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
                        violations.push(format!("CAST({col} AS VARCHAR) NOT IN ({})", list.join(", ")));
                    }
                    if let Some(p) = &d.pattern {
                        violations.push(format!("NOT regexp_like(CAST({col} AS VARCHAR), '{p}')"));
                    }
                    if let Some(min) = d.min {
                        violations.push(format!("{col} < {min}"));
                    }
                    if let Some(max) = d.max {
                        violations.push(format!("{col} > {max}"));
                    }
                    match d.reference.as_deref() {
                        Some("organismes") => violations.push(format!("{col} NOT IN ({})", orgs.join(", "))),
                        Some("etablissements") => violations.push(format!("{col} NOT IN ({})", etabs.join(", "))),
                        _ => {}
                    }
                }
                for v in violations {
                    checks += 1;
                    let sql = format!("SELECT count(*) AS n FROM {} WHERE {v}", e.name);
                    let batches = rt.block_on(async { ctx.sql(&sql).await.unwrap().collect().await.unwrap() });
                    let n = batches[0]
                        .column(0)
                        .as_any()
                        .downcast_ref::<datafusion::arrow::array::Int64Array>()
                        .unwrap()
                        .value(0);
                    assert_eq!(n, 0, "{css} {}.{}: {n} rows where {v}", e.name, f.name);
                }
            }
        }
    }
    assert!(checks > 100, "only {checks} checks");
}

/// Every mart of the pipelines is published in its zones: aggregates in the shared zone with
/// small cells hidden (and exact in each CSS's zone), nominative marts never in the shared zone,
/// and no personal column in any shared mart.
#[test]
fn marts_reach_their_zones_with_small_cells_hidden_in_the_shared_zone() {
    let g = generated();
    let (project, problems) = socle_marts::load(&root().join("pipelines")).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let threshold = project.config.seuil_petites_cellules;
    let personal = ["fiche", "nom", "prenom", "code_permanent", "date_naissance"];
    let mut hidden_somewhere = false;
    for m in &project.marts {
        let name = &m.spec.name;
        let exact = exact_rows(&g.warehouse, name);
        let o = socle(&[
            "query",
            "--warehouse",
            g.warehouse.to_str().unwrap(),
            "--format",
            "csv",
            &format!("SELECT * FROM {name}"),
        ]);
        match m.spec.publication {
            socle_marts::Publication::Css => {
                assert!(!o.status.success(), "nominative mart {name} is in the shared zone");
                assert!(text(&o).contains(name.as_str()), "{}", text(&o));
            }
            socle_marts::Publication::Internal => panic!("{name}: an intermediate model among the marts"),
            socle_marts::Publication::Shared => {
                assert!(o.status.success(), "{name}: {}", text(&o));
                let shared = read_csv(&o.stdout);
                assert_eq!(shared.len(), exact.len(), "{name}: same cells in both zones");
                if let Some(first) = shared.first() {
                    for p in personal {
                        assert!(!first.contains_key(p), "{name} has {p} in the shared zone");
                    }
                }
                // Each rule: where the exact count is under the threshold, the shared value is
                // hidden and the row flagged; elsewhere the shared row has the exact count.
                let key_cols: Vec<&str> = m.spec.columns.iter().map(|c| c.name.as_str()).collect();
                let counted: BTreeSet<&str> = m
                    .spec
                    .suppression
                    .iter()
                    .flat_map(|r| std::iter::once(r.count.as_str()).chain(r.hides.iter().map(String::as_str)))
                    .collect();
                let dims: Vec<&str> = key_cols.iter().copied().filter(|c| !counted.contains(c)).collect();
                let key =
                    |r: &BTreeMap<String, String>| dims.iter().map(|d| r[*d].clone()).collect::<Vec<_>>().join("|");
                let by_key: BTreeMap<String, &BTreeMap<String, String>> = shared.iter().map(|r| (key(r), r)).collect();
                for e in &exact {
                    let Some(s) = by_key.get(&key(e)) else {
                        panic!("{name}: cell {} missing from the shared zone", key(e));
                    };
                    assert_eq!(s["cellule_supprimee"], e["cellule_supprimee"], "{name} {}", key(e));
                    for rule in &m.spec.suppression {
                        let n: Option<i64> = e[&rule.count].parse().ok();
                        if n.is_some_and(|n| n < threshold) {
                            hidden_somewhere = true;
                            assert_eq!(e["cellule_supprimee"], "true", "{name} {}", key(e));
                            for c in std::iter::once(&rule.count).chain(rule.hides.iter()) {
                                assert_eq!(s[c], "", "{name}: {c} shown in the shared zone for {}", key(e));
                            }
                        } else if s["cellule_supprimee"] == "false" {
                            assert_eq!(s[&rule.count], e[&rule.count], "{name} {}", key(e));
                        }
                    }
                }
            }
        }
    }
    assert!(
        hidden_somewhere,
        "no small cell at all in the generated data: the test proves nothing"
    );
}
