//! CI smoke test of the benchmark harness (`benches/bench.py`) at the `small` scale (the committed
//! fixtures): the harness runs end to end with this build of `socle` and its JSON has every
//! section, with sane values. Benchmarks are not timed tests: no figure is compared with a target
//! here; the figures come from the full runs (benches/README.md).

mod common;

use common::{root, text};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The harness needs python3 and its `duckdb` module; say how to get them rather than fail
/// obscurely.
fn require_python_duckdb() {
    let probe = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .unwrap_or_else(|e| {
            panic!("the benchmark smoke test needs python3 ({e}); then `python3 -m pip install duckdb`")
        });
    assert!(
        probe.status.success(),
        "the benchmark smoke test needs DuckDB's Python module: `python3 -m pip install duckdb` (done by .ci/run)\n{}",
        text(&probe)
    );
}

fn f64_at(v: &serde_json::Value, path: &str) -> f64 {
    v.pointer(path)
        .and_then(|x| x.as_f64())
        .unwrap_or_else(|| panic!("{path} is missing or not a number"))
}

fn only_file_with_extension(dir: &Path, ext: &str) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    assert_eq!(files.len(), 1, "one .{ext} result in {}: {files:?}", dir.display());
    files.into_iter().next().unwrap()
}

/// Timing figures of one measure (`{median_ms, p95_ms, min_ms, max_ms}`) are present and sane.
fn assert_latency(v: &serde_json::Value, what: &str) {
    for k in ["median_ms", "p95_ms", "min_ms", "max_ms"] {
        let x = v
            .get(k)
            .and_then(|x| x.as_f64())
            .unwrap_or_else(|| panic!("{what}: no {k} in {v}"));
        assert!(x > 0.0 && x.is_finite(), "{what}: {k} = {x}");
    }
    assert!(v["min_ms"].as_f64() <= v["median_ms"].as_f64(), "{what}: min > median");
    assert!(v["median_ms"].as_f64() <= v["max_ms"].as_f64(), "{what}: median > max");
}

/// Rebuild and read figures of every mart of pipelines/marts in one engine's section.
fn assert_marts(section: &serde_json::Value, engine: &str, marts: &[String]) {
    let listed = section["marts"]
        .as_array()
        .unwrap_or_else(|| panic!("{engine}: no marts in {section}"));
    for name in marts {
        let m = listed
            .iter()
            .find(|m| m["mart"] == name.as_str())
            .unwrap_or_else(|| panic!("{engine}: no figures for mart {name}"));
        assert!(m.get("error").is_none(), "{engine} {name}: {}", m["error"]);
        assert_latency(&m["rebuild"], &format!("{engine} {name} rebuild"));
        let reads = m["read"]
            .as_array()
            .unwrap_or_else(|| panic!("{engine} {name}: no reads"));
        assert!(
            reads.iter().any(|r| r["scope"] == "province"),
            "{engine} {name}: no province read"
        );
        for r in reads {
            let scope = r["scope"].as_str().unwrap();
            assert!(
                r["rows"].as_u64().is_some_and(|n| n > 0),
                "{engine} {name} {scope}: rows"
            );
            assert_latency(&r["cold"], &format!("{engine} {name} read {scope} cold"));
            assert_latency(&r["warm"], &format!("{engine} {name} read {scope} warm"));
        }
    }
    assert_latency(&section["rebuild_all_ms"], &format!("{engine} rebuild all"));
}

#[test]
fn the_benchmark_harness_runs_at_the_small_scale() {
    require_python_duckdb();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = tmp.path().join("results");
    // One night per engine and few query runs: the small scale is a few MB, this checks that
    // the harness works, not how fast anything is.
    let o = Command::new("python3")
        .current_dir(root())
        .arg("benches/bench.py")
        .args(["--scale", "small", "--runs", "1", "--query-runs", "3", "--socle"])
        .arg(env!("CARGO_BIN_EXE_socle"))
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .env_remove("SOCLE_PSEUDO_KEY")
        .env_remove("SOCLE_PSEUDO_KEY_FILE")
        .env_remove("SOCLE_FAILPOINT")
        .output()
        .unwrap();
    assert!(o.status.success(), "benches/bench.py failed: {}", text(&o));

    let json = only_file_with_extension(&out, "json");
    let md = only_file_with_extension(&out, "md");
    assert!(json.file_name().unwrap().to_string_lossy().starts_with("small-"));
    assert_eq!(
        md.file_stem(),
        json.file_stem(),
        "the Markdown table sits beside the JSON"
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["scale"], "small");

    // Machine.
    assert!(v["machine"]["cores"].as_u64().is_some_and(|n| n >= 1));
    assert!(v["machine"]["memory_bytes"].as_u64().is_some_and(|n| n > 0));
    assert!(v["machine"]["duckdb"].is_string());

    // Input sizes per table.
    let inputs = v["inputs"].as_array().expect("inputs");
    assert!(
        inputs
            .iter()
            .any(|i| i["system"] == "gpi" && i["table"] == "gpm_e_mat_ele")
    );
    for i in inputs {
        assert!(i["bytes"].as_u64().is_some_and(|b| b > 0), "input {i}");
        assert!(i["rows"].as_u64().is_some(), "input {i}");
    }

    // Socle's night.
    assert!(f64_at(&v, "/socle/wall_s/median") > 0.0);
    assert!(f64_at(&v, "/socle/rows_per_s/median") > 0.0);
    assert!(f64_at(&v, "/socle/mb_per_s/median") > 0.0);
    assert!(v["socle"]["rows_read"].as_u64().is_some_and(|n| n > 0));
    assert!(v["socle"]["rows_loaded"].as_u64().is_some_and(|n| n > 0));
    assert!(f64_at(&v, "/socle/peak_rss_bytes/median") > 0.0);
    assert!(f64_at(&v, "/socle/peak_rss_wait4_bytes/median") > 0.0);
    for stage in ["read", "normalise", "write", "marts"] {
        assert!(
            f64_at(&v, &format!("/socle/stages_s/{stage}/median")) >= 0.0,
            "stage {stage}"
        );
    }

    // DuckDB's night, and the same canonical rows for each GPI CSS of the fixtures.
    assert!(f64_at(&v, "/duckdb/total_s/median") > 0.0);
    assert!(f64_at(&v, "/duckdb/steps_s/resultat/median") > 0.0);
    assert!(f64_at(&v, "/duckdb/steps_s/taux_reussite/median") > 0.0);
    assert!(f64_at(&v, "/duckdb/peak_rss_wait4_bytes/median") > 0.0);
    let checked = v["check"]["resultat"].as_array().expect("check.resultat");
    let codes: Vec<&str> = checked.iter().map(|c| c["code_css"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        ["751000", "866000"],
        "the fixtures' GPI CSS (881000 is on Mozaïk)"
    );
    for c in checked {
        assert!(c["socle"].as_u64().is_some_and(|n| n > 0), "{c}");
        assert_eq!(c["duckdb"], c["socle"], "resultat rows, DuckDB vs Socle: {c}");
    }
    assert_eq!(v["check"]["excluded_css"], serde_json::json!(["881000"]));
    assert_eq!(
        v["check"]["taux_reussite"]["equal"], true,
        "the mart's cells: {}",
        v["check"]["taux_reussite"]
    );
    for step in ["night", "resultat", "taux_reussite"] {
        assert!(f64_at(&v, &format!("/ratios/{step}/median")) > 0.0, "ratio {step}");
    }

    // Every mart of pipelines/marts has latency figures in both engines.
    let mut marts: Vec<String> = std::fs::read_dir(root().join("pipelines/marts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    marts.sort();
    assert!(!marts.is_empty());
    assert!(
        v["datafusion_marts"].get("error").is_none(),
        "socle bench queries: {}",
        v["datafusion_marts"]["error"]
    );
    assert_marts(&v["datafusion_marts"], "DataFusion", &marts);
    assert_marts(&v["duckdb_marts"], "DuckDB", &marts);

    // The targets table, with a status for each (n/a below the province scale).
    let targets = v["targets"].as_array().expect("targets");
    assert!(targets.len() >= 7);
    for t in targets {
        assert!(["pass", "fail", "n/a"].contains(&t["status"].as_str().unwrap()), "{t}");
    }
    let table = std::fs::read_to_string(&md).unwrap();
    assert!(table.contains("| resultat"), "{table}");
}
