//! Golden test of the marts: the committed fixture night (`fixtures/exports`) is run into a
//! temporary warehouse, and every mart of every zone (the shared zone and each CSS's zone) is
//! read back with `socle query`, its rows sorted, and compared with
//! `tests/golden/<zone>/<mart>.csv`. The snapshots were taken from the marts before the "mart
//! tests as data" rewrite: a change of SQL that changes any row of any mart on the fixtures fails
//! here, with the differing lines.
//!
//! `SOCLE_BLESS=1 cargo test --workspace --test command golden::` rewrites the snapshots (review the diff!).
//!
//! Privacy (Law 25): a snapshot never holds a code permanent, a name, a birth date or a fiche.
//! The values of the columns `code_permanent`, `nom`, `prenom`, `date_naissance` and `fiche`, and
//! of `anomalies_detail.detail` (which names fiches), are replaced by the first 16 hex characters
//! of their SHA-256 (a change is still seen; the value is not readable).

use crate::common::{load, root, socle, text};

use sha2::{Digest, Sha256};
use socle_marts::Publication;
use std::collections::BTreeSet;
use std::path::Path;

/// Columns whose values are personal data, replaced by a hash prefix in the snapshots.
const HASHED_COLUMNS: [&str; 5] = ["code_permanent", "nom", "prenom", "date_naissance", "fiche"];
/// `(mart, column)`: free-text columns that can name a fiche, hashed too.
const HASHED_MART_COLUMNS: [(&str, &str); 1] = [("anomalies_detail", "detail")];

fn hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    hex::encode(digest)[..16].to_string()
}

/// The mart's rows in `zone` (`shared` or a CSS code) as a CSV text: header, then the rows
/// sorted, personal values hashed.
fn snapshot(warehouse: &Path, zone: &str, mart: &str) -> String {
    let sql = format!("SELECT * FROM {mart}");
    let mut args = vec!["query", "--warehouse", warehouse.to_str().unwrap(), "--format", "csv"];
    if zone != "shared" {
        args.extend(["--css", zone]);
    }
    args.push(&sql);
    let o = socle(&args);
    assert!(o.status.success(), "{zone}/{mart}: {}", text(&o));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(o.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let hashed: Vec<bool> = header
        .iter()
        .map(|c| HASHED_COLUMNS.contains(&c.as_str()) || HASHED_MART_COLUMNS.contains(&(mart, c.as_str())))
        .collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        rows.push(
            record
                .iter()
                .zip(&hashed)
                .map(|(v, h)| if *h && !v.is_empty() { hash(v) } else { v.to_string() })
                .collect(),
        );
    }
    rows.sort();
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer.write_record(&header).unwrap();
    for r in &rows {
        writer.write_record(r).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// The first differing lines of two snapshots, for the failure message.
fn diff(expected: &str, actual: &str) -> String {
    let e: BTreeSet<&str> = expected.lines().collect();
    let a: BTreeSet<&str> = actual.lines().collect();
    let mut out = String::new();
    for l in e.difference(&a).take(10) {
        out.push_str(&format!("  - {l}\n"));
    }
    for l in a.difference(&e).take(10) {
        out.push_str(&format!("  + {l}\n"));
    }
    out
}

#[test]
fn every_mart_on_the_fixtures_matches_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("warehouse");
    let exports = root().join("fixtures/exports");
    let o = load(&exports, &warehouse, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let (project, problems) = socle_marts::load(&root().join("pipelines")).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let mut css: Vec<String> = std::fs::read_dir(&exports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    css.sort();

    // Every (zone, mart) the warehouse publishes: shared marts in the shared zone, every mart in
    // each CSS's zone.
    let mut expected_files: Vec<(String, String)> = Vec::new();
    for m in &project.marts {
        if m.spec.publication == Publication::Shared {
            expected_files.push(("shared".into(), m.spec.name.clone()));
        }
        for c in &css {
            expected_files.push((c.clone(), m.spec.name.clone()));
        }
    }

    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var("SOCLE_BLESS").is_ok_and(|v| v == "1");
    // Read the marts four at a time (each read is one `socle query` process).
    let mut actuals: Vec<String> = vec![String::new(); expected_files.len()];
    let per_thread = expected_files.len().div_ceil(4).max(1);
    std::thread::scope(|s| {
        for (files, out) in expected_files.chunks(per_thread).zip(actuals.chunks_mut(per_thread)) {
            let warehouse = &warehouse;
            s.spawn(move || {
                for ((zone, mart), o) in files.iter().zip(out) {
                    *o = snapshot(warehouse, zone, mart);
                }
            });
        }
    });
    let mut failures = Vec::new();
    for ((zone, mart), actual) in expected_files.iter().zip(actuals) {
        let path = golden.join(zone).join(format!("{mart}.csv"));
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{zone}/{mart}: rows differ from {} (- snapshot, + now):\n{}",
                path.display(),
                diff(&expected, &actual)
            )),
            Err(e) => failures.push(format!("{zone}/{mart}: no snapshot {} ({e})", path.display())),
        }
    }
    // A snapshot with no mart any more is stale.
    let wanted: BTreeSet<(String, String)> = expected_files.iter().cloned().collect();
    for zone in std::fs::read_dir(&golden).unwrap() {
        let zone = zone.unwrap();
        for f in std::fs::read_dir(zone.path()).unwrap() {
            let f = f.unwrap().path();
            let key = (
                zone.file_name().to_string_lossy().into_owned(),
                f.file_stem().unwrap().to_string_lossy().into_owned(),
            );
            if !wanted.contains(&key) {
                if bless {
                    std::fs::remove_file(&f).unwrap();
                } else {
                    failures.push(format!("{}: a snapshot of no published mart", f.display()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mart snapshot(s) differ (SOCLE_BLESS=1 rewrites them after review):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
