//! Guards against a bad night, end to end: the drop guard (a fall to zero, a fall over the
//! threshold, its acceptance, the thresholds of the dictionary and of a CSS profile), a night
//! older than the one loaded, `socle status --check` for schedulers, the exclusive run lock, and
//! quiet output (no escape code in a log that is not a terminal, each error said once).
//!
//! Every night is a copy of the committed fixtures' 751000 (night 2025-11-20) with one file
//! edited, loaded with `--css 751000` into a fresh warehouse.

use crate::common::{copy_dir, load, load_command, root, socle, text};

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Output;

const CSS: &str = "751000";
const FIRST: &str = "2025-11-20";
const ABSENCES: &str = "gpi/gpm_e_abs.csv";

/// A scratch folder with an exports root holding the committed night of 751000.
struct Scratch {
    _dir: tempfile::TempDir,
    exports: PathBuf,
    warehouse: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let exports = dir.path().join("exports");
        copy_dir(
            &root().join("fixtures/exports").join(CSS).join(FIRST),
            &exports.join(CSS).join(FIRST),
        );
        let warehouse = dir.path().join("warehouse");
        Scratch {
            exports,
            warehouse,
            _dir: dir,
        }
    }

    /// A new night folder: a copy of the committed night, `edit` applied to its absences file.
    fn night(&self, night: &str, edit: impl Fn(&[u8]) -> Vec<u8>) -> PathBuf {
        let dir = self.exports.join(CSS).join(night);
        copy_dir(&self.exports.join(CSS).join(FIRST), &dir);
        let path = dir.join(ABSENCES);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, edit(&bytes)).unwrap();
        dir
    }

    fn run(&self, extra: &[&str]) -> Output {
        let mut args = vec!["--css", CSS];
        args.extend_from_slice(extra);
        let o = load(&self.exports, &self.warehouse, &args);
        assert_no_escape_codes(&o);
        o
    }

    fn w(&self) -> &str {
        self.warehouse.to_str().unwrap()
    }

    fn manifest(&self) -> serde_json::Value {
        let path = self.warehouse.join(format!("_socle/manifests/{CSS}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Rows of `table` per school year in the CSS's zone, as a query reads them.
    fn rows_by_year(&self, table: &str) -> BTreeMap<String, u64> {
        let sql = format!("SELECT annee_scolaire, count(*) AS n FROM {table} GROUP BY annee_scolaire");
        let o = socle(&["query", "--warehouse", self.w(), "--css", CSS, "--format", "json", &sql]);
        assert!(o.status.success(), "{}", text(&o));
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
        rows.iter()
            .map(|r| {
                (
                    r["annee_scolaire"].as_str().unwrap().to_string(),
                    r["n"].as_u64().unwrap(),
                )
            })
            .collect()
    }
}

/// The header and one data line of every `keep_one_in` (the first data line kept), each line
/// with its end: a well-formed file with fewer rows.
fn keep_one_in(keep_one_in: usize, offset: usize) -> impl Fn(&[u8]) -> Vec<u8> {
    move |bytes: &[u8]| {
        let mut out = Vec::new();
        for (i, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
            if i == 0 || (i - 1) % keep_one_in == offset {
                out.extend_from_slice(line);
            }
        }
        out
    }
}

/// Every line but the last: one row less, a new night that is no drop.
fn one_row_less(bytes: &[u8]) -> Vec<u8> {
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    lines[..lines.len() - 1].concat()
}

/// The header only: a valid empty table.
fn header_only(bytes: &[u8]) -> Vec<u8> {
    bytes.split_inclusive(|b| *b == b'\n').next().unwrap().to_vec()
}

fn assert_no_escape_codes(o: &Output) {
    for (name, stream) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(
            !String::from_utf8_lossy(stream).contains("\u{1b}["),
            "escape codes in {name} though it is not a terminal: {}",
            text(o)
        );
    }
}

fn partition_rows(manifest: &serde_json::Value, table: &str) -> BTreeMap<String, u64> {
    manifest["tables"][table]["partition_rows"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect())
        .unwrap_or_default()
}

/// The canonical tables fed by GPI (held with it) and those fed only by other sources.
fn tables_by_gpi() -> (BTreeSet<String>, BTreeSet<String>) {
    let dict = socle_dictionary::Dictionary::load(root().join("schemas")).unwrap();
    let fed = socle_pipeline::entities_fed(&dict);
    let (gpi, others): (Vec<_>, Vec<_>) = fed.iter().partition(|(_, sources)| sources.contains("gpi"));
    (
        gpi.into_iter().map(|(e, _)| e.clone()).collect(),
        others.into_iter().map(|(e, _)| e.clone()).collect(),
    )
}

/// Every table GPI feeds is as in `first` (GPI is held), every other one was republished.
fn assert_gpi_held(first: &serde_json::Value, second: &serde_json::Value) {
    let (gpi_tables, other_tables) = tables_by_gpi();
    assert!(
        gpi_tables.contains("absence") && gpi_tables.contains("eleve"),
        "{gpi_tables:?}"
    );
    assert!(other_tables.contains("ecriture"), "{other_tables:?}");
    for t in &gpi_tables {
        assert_eq!(
            second["tables"][t], first["tables"][t],
            "{t} changed though GPI is held"
        );
    }
    for t in &other_tables {
        if first["tables"][t]["rows"].as_u64().unwrap() > 0 {
            assert_ne!(
                second["tables"][t]["css_files"], first["tables"][t]["css_files"],
                "{t} was not republished"
            );
        }
    }
    assert_eq!(
        second["sources"]["gpi"], first["sources"]["gpi"],
        "GPI keeps its loaded state"
    );
}

/// The held drops of a manifest as (entity, year, before, now, sources).
fn held(manifest: &serde_json::Value) -> Vec<(String, String, u64, u64, String)> {
    manifest["held_drops"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    (
                        d["entity"].as_str().unwrap().to_string(),
                        d["annee_scolaire"].as_str().unwrap_or("-").to_string(),
                        d["rows_before"].as_u64().unwrap(),
                        d["rows_now"].as_u64().unwrap(),
                        d["sources"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|s| s.as_str().unwrap())
                            .collect::<Vec<_>>()
                            .join(","),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A night whose absences file has its header and no row (what a failing export query leaves)
/// empties every year of `absence`: GPI is held, its tables keep their previous state (manifest
/// and query), the other sources publish, exit 2, and the summary, the log, `status` (table,
/// json, --check) name the entity, the year, the rows before and now and the command that
/// accepts it. The same night again is held again; `--accept-drop` publishes it and the manifest
/// records the acceptance.
#[test]
fn a_fall_to_zero_is_held_until_accepted() {
    let s = Scratch::new();
    let o = s.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let first = s.manifest();
    let absences = partition_rows(&first, "absence");
    assert!(absences.len() >= 2 && absences.values().all(|n| *n > 0), "{absences:?}");
    assert_eq!(s.rows_by_year("absence"), absences);

    s.night("2025-11-21", header_only);
    let o = s.run(&[]);
    assert_eq!(o.status.code(), Some(2), "a held source exits 2: {}", text(&o));
    let second = s.manifest();
    assert_eq!(second["night"], "2025-11-21");
    let expected: Vec<(String, String, u64, u64, String)> = absences
        .iter()
        .map(|(y, n)| ("absence".to_string(), y.clone(), *n, 0, "gpi".to_string()))
        .collect();
    assert_eq!(held(&second), expected, "{second:#}");

    assert_gpi_held(&first, &second);
    assert_eq!(second["sources"]["jade"]["night"], "2025-11-21");
    assert_eq!(
        s.rows_by_year("absence"),
        absences,
        "the query reads the previous absences"
    );

    // The summary and the log say what and how to accept.
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let (year, before) = absences.iter().next_back().unwrap();
    let line = format!("HELD absence {year}: {before} rows loaded, 0 in the new night");
    assert!(out.contains(&line), "{line}\n{out}");
    assert!(out.contains("gpi     HELD by the drop guard"), "{out}");
    assert!(out.contains("socle run --accept-drop 751000:absence"), "{out}");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let log = err
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("drop guard") && l.contains(&format!("absence {year}")))
        .unwrap_or_else(|| panic!("no log line of the hold: {err}"));
    assert!(log.contains("socle run --accept-drop 751000:absence"), "{log}");

    // `socle status`, as a table and as JSON, and --check.
    let o = socle(&["status", "--warehouse", s.w()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let status = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        status.contains(&format!("{line} (-100%"))
            && status.contains("(night 2025-11-21)")
            && status.contains("socle run --accept-drop 751000:absence"),
        "{status}"
    );
    let o = socle(&["status", "--warehouse", s.w(), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let drops = json["css"][0]["held_drops"].as_array().unwrap();
    assert_eq!(drops.len(), absences.len());
    assert!(
        drops
            .iter()
            .all(|d| d["accept"] == "socle run --accept-drop 751000:absence"),
        "{json:#}"
    );
    let o = socle(&["status", "--warehouse", s.w(), "--check"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let check = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(check.lines().count(), 1, "{check}");
    assert!(
        check.starts_with("751000  HELD absence") && check.contains("accept: socle run --accept-drop 751000:absence"),
        "{check}"
    );

    // The same night again is not "unchanged": it is checked, and held, again.
    let o = s.run(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("unchanged since the last load"),
        "{}",
        text(&o)
    );
    assert_eq!(held(&s.manifest()), expected);
    assert_eq!(s.rows_by_year("absence"), absences);

    // Accepted: published, recorded, nothing held any more.
    let o = s.run(&["--accept-drop", "751000:absence"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains(&format!(
            "accepted drop (--accept-drop): absence {year}: {before} rows loaded, 0"
        )),
        "{out}"
    );
    let third = s.manifest();
    assert_eq!(held(&third), vec![]);
    let accepted = third["accepted_drops"].as_array().unwrap();
    assert_eq!(accepted.len(), absences.len(), "{third:#}");
    for (d, (y, n)) in accepted.iter().zip(&absences) {
        assert_eq!(
            (
                d["entity"].as_str(),
                d["annee_scolaire"].as_str(),
                d["rows_before"].as_u64(),
                d["rows_now"].as_u64()
            ),
            (Some("absence"), Some(y.as_str()), Some(*n), Some(0))
        );
        assert_eq!(d["run_id"], third["run_id"]);
        assert_eq!(d["night"], "2025-11-21");
        assert_eq!(d["accepted_at"], third["published_at"]);
    }
    assert_eq!(third["tables"]["absence"]["rows"], 0);
    assert!(s.rows_by_year("absence").is_empty());
    assert_ne!(
        third["tables"]["resultat"], first["tables"]["resultat"],
        "GPI published again"
    );
    let o = socle(&["status", "--warehouse", s.w(), "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "751000  OK  night 2025-11-21\n");
}

/// A night keeping a quarter of the absences falls by about 75% in every year: held at the
/// default threshold (0.5); accepted, the next night is compared with the accepted numbers
/// (another quarter is no drop); an entity threshold of 0.9 lets it through; a CSS profile's
/// 0.6 wins over the entity's 0.9.
#[test]
fn a_fall_over_the_threshold_is_held_and_thresholds_come_from_the_dictionary() {
    let s = Scratch::new();
    let o = s.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let first = s.manifest();
    let absences = partition_rows(&first, "absence");

    // What the quarter night holds, loaded alone into another warehouse.
    let alone = Scratch::new();
    alone.night("2025-11-21", keep_one_in(4, 0));
    std::fs::remove_dir_all(alone.exports.join(CSS).join(FIRST)).unwrap();
    let o = alone.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let quarter = partition_rows(&alone.manifest(), "absence");
    assert_eq!(quarter.keys().collect::<Vec<_>>(), absences.keys().collect::<Vec<_>>());

    s.night("2025-11-21", keep_one_in(4, 0));
    let o = s.run(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let expected: Vec<(String, String, u64, u64, String)> = absences
        .iter()
        .map(|(y, n)| ("absence".to_string(), y.clone(), *n, quarter[y], "gpi".to_string()))
        .collect();
    assert!(
        expected.iter().all(|(_, _, b, n, _)| *n > 0 && (*b - *n) * 2 > *b),
        "{expected:?}"
    );
    assert_eq!(held(&s.manifest()), expected);
    assert_gpi_held(&first, &s.manifest());
    assert_eq!(s.rows_by_year("absence"), absences);

    let o = s.run(&["--accept-drop", "751000:absence"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(s.rows_by_year("absence"), quarter);
    assert_eq!(partition_rows(&s.manifest(), "absence"), quarter);

    // The next night is compared with the accepted numbers: another quarter is no drop.
    s.night("2025-11-22", keep_one_in(4, 1));
    let o = s.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(held(&s.manifest()), vec![]);

    // Thresholds from a copy of the dictionary.
    let schemas = tempfile::tempdir().unwrap();
    copy_dir(&root().join("schemas"), schemas.path());
    let entity = schemas.path().join("entities/absence.yaml");
    let yaml = std::fs::read_to_string(&entity).unwrap().replace(
        "partitioning: annee_scolaire\n",
        "partitioning: annee_scolaire\nbaisse_max: 0.9\n",
    );
    std::fs::write(&entity, yaml).unwrap();
    let schemas_arg = schemas.path().to_str().unwrap();

    let by_entity = Scratch::new();
    assert_eq!(by_entity.run(&["--schemas", schemas_arg]).status.code(), Some(0));
    by_entity.night("2025-11-21", keep_one_in(4, 0));
    let o = by_entity.run(&["--schemas", schemas_arg]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a 75% fall is within the entity's 0.9: {}",
        text(&o)
    );
    assert_eq!(by_entity.rows_by_year("absence"), quarter);

    std::fs::write(
        schemas.path().join("css/751000.yaml"),
        "code_css: \"751000\"\nbaisse_max:\n  absence: 0.6\n",
    )
    .unwrap();
    let by_css = Scratch::new();
    assert_eq!(by_css.run(&["--schemas", schemas_arg]).status.code(), Some(0));
    by_css.night("2025-11-21", keep_one_in(4, 0));
    let o = by_css.run(&["--schemas", schemas_arg]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "the CSS's 0.6 wins over the entity's 0.9: {}",
        text(&o)
    );
    let drops = by_css.manifest()["held_drops"].as_array().unwrap().clone();
    assert_eq!(drops.len(), absences.len());
    assert!(drops.iter().all(|d| d["baisse_max"] == 0.6), "{drops:?}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("more than the 60% allowed"),
        "{}",
        text(&o)
    );
    assert_eq!(by_css.rows_by_year("absence"), absences);
}

/// A night older than the one loaded is refused (the CSS fails, its state is kept, the message
/// names both nights and the option) unless `--allow-older-night`.
#[test]
fn an_older_night_is_refused_unless_allowed() {
    let s = Scratch::new();
    s.night("2025-11-21", one_row_less);
    let o = s.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let loaded = s.manifest();
    assert_eq!(loaded["night"], "2025-11-21");

    let o = s.run(&["--night", FIRST]);
    assert_eq!(o.status.code(), Some(1), "nothing published: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("751000  FAILED (previous state kept): night 2025-11-20 is older than night 2025-11-21 already loaded for CSS 751000")
            && out.contains("--allow-older-night"),
        "{out}"
    );
    assert_eq!(s.manifest(), loaded);

    let o = s.run(&["--night", FIRST, "--allow-older-night"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(s.manifest()["night"], FIRST);
}

/// `status --check`: 0 when all is well, 2 with one line per CSS when a source failed or the
/// last night is older than --max-age.
#[test]
fn status_check_tells_a_scheduler_what_is_wrong() {
    let s = Scratch::new();
    let o = socle(&["status", "--warehouse", s.w(), "--check"]);
    assert_ne!(o.status.code(), Some(0), "no warehouse: {}", text(&o));
    assert_eq!(s.run(&[]).status.code(), Some(0));
    let o = socle(&["status", "--warehouse", s.w(), "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "751000  OK  night 2025-11-20\n");

    // Too old: the fixtures' night is more than 2 days before today.
    let age = (chrono::Local::now().date_naive() - chrono::NaiveDate::from_ymd_opt(2025, 11, 20).unwrap()).num_days();
    assert!(age > 2);
    let o = socle(&["status", "--warehouse", s.w(), "--check", "--max-age", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("751000  TOO OLD: last night loaded 2025-11-20 is {age} days old (more than --max-age 2)\n")
    );
    let days = (age + 1).to_string();
    let o = socle(&["status", "--warehouse", s.w(), "--check", "--max-age", &days]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A failed source.
    let night = s.night("2025-11-21", one_row_less);
    std::fs::remove_file(night.join("dofin/fin_budget.csv")).unwrap();
    assert_eq!(s.run(&[]).status.code(), Some(2));
    let o = socle(&["status", "--warehouse", s.w(), "--check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let problems = json["css"][0]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{json:#}");
    let p = problems[0].as_str().unwrap();
    assert!(
        p.starts_with("FAILED dofin night 2025-11-21: ") && p.contains("fin_budget.csv"),
        "{p}"
    );
}

/// A second run on a warehouse whose run lock is held exits 1 at once naming the holder; readers
/// go on meanwhile; a lock file left by a dead process does not block.
#[test]
fn a_second_run_exits_at_once_naming_the_holder() {
    let s = Scratch::new();
    let wh = socle_warehouse::Warehouse::open(&s.warehouse).unwrap();
    let lock = wh.lock_run("socle run --from-the-test").unwrap();
    let started = std::time::Instant::now();
    let o = s.run(&[]);
    let elapsed = started.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(elapsed < std::time::Duration::from_secs(20), "it waited {elapsed:?}");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let line = err
        .lines()
        .find(|l| l.starts_with("error: another run holds this warehouse"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains(&format!("process {}", std::process::id()))
            && line.contains(&format!("host {}", lock.holder().host))
            && line.contains(&format!("started {}", lock.holder().started_at))
            && line.contains("command `socle run --from-the-test`"),
        "{line}"
    );
    assert!(
        s.warehouse
            .join("_socle/manifests")
            .read_dir()
            .unwrap()
            .next()
            .is_none(),
        "nothing was loaded"
    );
    // Readers do not take the lock.
    let o = socle(&["status", "--warehouse", s.w()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // What a killed run leaves: its holder in the file, no lock.
    drop(lock);
    std::fs::write(
        wh.run_lock_path(),
        r#"{"host":"elsewhere","pid":999999,"started_at":"2025-11-20T03:00:00Z","command":"socle run"}"#,
    )
    .unwrap();
    let o = s.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(wh.run_lock_path()).unwrap(),
        "",
        "released at the end"
    );
}

/// A run's log redirected to a file has no escape codes; a query's planning error is printed
/// once, on one line.
#[test]
fn output_that_is_not_a_terminal_is_plain_and_errors_are_said_once() {
    let s = Scratch::new();
    let log = tempfile::NamedTempFile::new().unwrap();
    let status = load_command(&s.exports, &s.warehouse, &["--css", CSS])
        .stderr(log.reopen().unwrap())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let logged = std::fs::read_to_string(log.path()).unwrap();
    assert!(logged.contains("INFO") && logged.contains("run started"), "{logged}");
    assert!(!logged.contains('\u{1b}'), "{logged}");

    let o = socle(&["query", "--warehouse", s.w(), "SELECT * FROM no_such_table"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!err.contains('\u{1b}'), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("no_such_table")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].starts_with("error: SQL error: "), "{err}");
    assert_eq!(errors[0].matches("no_such_table").count(), 1, "{err}");
}
