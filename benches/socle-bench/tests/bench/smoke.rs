//! CI smoke test of the benchmark harness (`benches/bench.py`) at the `small` scale (the committed
//! fixtures): the harness runs end to end with this build of `socle` and its JSON has every
//! section, with sane values. Benchmarks are not timed tests: no figure is compared with a target
//! here; the figures come from the full runs (benches/README.md).

use crate::common::{root, socle_bench, socle_bench_binary, text};
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

/// A mart as `socle-bench sql` describes it (marts.json).
struct MartInfo {
    name: String,
    source: String,
    publication: String,
}

/// The marts of pipelines/marts, with their source and publication, from `socle-bench sql`
/// (which also writes the reference tables and seeds another engine registers: checked here).
fn marts_of_pipelines(out: &Path) -> Vec<MartInfo> {
    let o = socle_bench(&["sql", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "socle-bench sql: {}", text(&o));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("marts.json")).unwrap()).unwrap();
    let listed = doc.as_array().expect("marts.json is a list");
    let mut seen: Vec<&str> = Vec::new();
    let mut marts = Vec::new();
    for m in listed {
        let name = m["name"].as_str().unwrap();
        // Dependency order: what a model reads comes before it.
        for d in m["depends_on"].as_array().expect("depends_on") {
            assert!(seen.contains(&d.as_str().unwrap()), "{name} is listed before {d}");
        }
        seen.push(name);
        assert!(
            m["unique_key"].as_array().is_some_and(|k| !k.is_empty()),
            "{name}: unique_key"
        );
        if m["kind"] == "intermediate" {
            assert_eq!(
                m["publication"], "internal",
                "{name}: an intermediate model is never published"
            );
            continue;
        }
        assert_eq!(m["kind"], "mart", "{name}: kind");
        assert!(
            !m["sql"].as_str().unwrap().contains("{{"),
            "{name}: parameters filled in"
        );
        assert!(
            m["columns"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "code_css")),
            "{name}: columns"
        );
        let source = m["source"].as_str().unwrap().to_string();
        let publication = m["publication"].as_str().unwrap().to_string();
        assert!(["shared", "css"].contains(&source.as_str()), "{name}: source {source}");
        assert!(
            ["shared", "css"].contains(&publication.as_str()),
            "{name}: publication {publication}"
        );
        marts.push(MartInfo {
            name: name.to_string(),
            source,
            publication,
        });
    }
    // Every mart of pipelines/marts, each once.
    let mut names: Vec<String> = std::fs::read_dir(root().join("pipelines/marts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut listed_names: Vec<String> = marts.iter().map(|m| m.name.clone()).collect();
    listed_names.sort();
    assert_eq!(listed_names, names, "marts.json lists every mart of pipelines/marts");
    // The pipelines' SQL functions as DuckDB macros.
    let functions = std::fs::read_to_string(out.join("duckdb_functions.sql")).unwrap();
    assert!(functions.contains("MACRO taux(n, d)"), "{functions}");
    // The reference tables and every seed, as Parquet.
    let seeds = std::fs::read_dir(root().join("pipelines/seeds"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for table in [
        "annees_scolaires",
        "ref_cours",
        "ref_etablissements",
        "ref_organismes",
        "nuits",
    ]
    .into_iter()
    .map(String::from)
    .chain(seeds)
    {
        let f = out.join("reference").join(format!("{table}.parquet"));
        assert!(std::fs::metadata(&f).is_ok_and(|m| m.len() > 0), "{}", f.display());
    }
    assert!(out.join("shared_schemas/resultat.parquet").exists());
    marts
}

/// The figures of `name` in one engine's section.
fn mart_figures<'a>(section: &'a serde_json::Value, engine: &str, name: &str) -> &'a serde_json::Value {
    section["marts"]
        .as_array()
        .unwrap_or_else(|| panic!("{engine}: no marts in {section}"))
        .iter()
        .find(|m| m["mart"] == name)
        .unwrap_or_else(|| panic!("{engine}: no figures for mart {name}"))
}

/// Rebuild and read figures of `mart` in one engine's section. A nominative mart (no shared
/// file) is read in one CSS's own zone, its province read skipped with a reason.
fn assert_mart(section: &serde_json::Value, engine: &str, mart: &MartInfo) {
    let name = &mart.name;
    let m = mart_figures(section, engine, name);
    assert!(m.get("error").is_none(), "{engine} {name}: {}", m["error"]);
    assert_latency(&m["rebuild"], &format!("{engine} {name} rebuild"));
    let reads = m["read"]
        .as_array()
        .unwrap_or_else(|| panic!("{engine} {name}: no reads"));
    if mart.publication == "css" {
        assert!(
            reads.iter().all(|r| r["scope"] == "css" && r["zone"] == "css"),
            "{engine} {name}: a nominative mart is read in a CSS zone only: {m}"
        );
        let skipped = m["read_skipped"].as_array().expect("read_skipped");
        assert!(
            skipped
                .iter()
                .any(|s| s["scope"] == "province" && s["reason"].as_str().is_some_and(|r| !r.is_empty())),
            "{engine} {name}: the province read is skipped with a reason: {m}"
        );
    } else {
        assert!(
            reads.iter().any(|r| r["scope"] == "province" && r["zone"] == "shared"),
            "{engine} {name}: no province read in the shared zone"
        );
    }
    for r in reads {
        let scope = r["scope"].as_str().unwrap();
        let rows = r["rows"].as_u64();
        // A nominative list may be empty on the fixtures; an aggregate never is.
        if mart.publication == "css" {
            assert!(rows.is_some(), "{engine} {name} {scope}: rows");
        } else {
            assert!(rows.is_some_and(|n| n > 0), "{engine} {name} {scope}: rows");
        }
        assert_latency(&r["cold"], &format!("{engine} {name} read {scope} cold"));
        assert_latency(&r["warm"], &format!("{engine} {name} read {scope} warm"));
    }
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
        .arg(crate::common::socle_binary())
        .arg("--socle-bench")
        .arg(socle_bench_binary())
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
    // taux_reussite: DuckDB's cells (benches/duckdb/taux_reussite.sql) against Socle's exact
    // cells (the CSS zones' files, not the suppressed shared file), every count compared.
    let mc = &v["check"]["taux_reussite"];
    assert_eq!(mc["equal"], true, "the mart's cells: {mc}");
    assert!(mc["socle_cells"].as_u64().is_some_and(|n| n > 0), "{mc}");
    assert_eq!(mc["socle_cells"], mc["duckdb_cells"], "{mc}");
    let compared: Vec<&str> = mc["columns"]
        .as_array()
        .expect("columns compared")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for c in [
        "code_css",
        "code_etablissement",
        "code_cours",
        "etape",
        "nb_evalues",
        "nb_reussites",
    ] {
        assert!(compared.contains(&c), "{c} compared: {mc}");
    }
    assert!(!compared.contains(&"cellule_supprimee"), "{mc}");
    for step in ["night", "resultat", "taux_reussite"] {
        assert!(f64_at(&v, &format!("/ratios/{step}/median")) > 0.0, "ratio {step}");
    }

    // Every mart of pipelines/marts has latency figures in DataFusion; in DuckDB every mart of
    // `source: shared` (no error), while a `source: css` mart (run in each CSS's own zone) is
    // n/a with its reason.
    let marts = marts_of_pipelines(&tmp.path().join("sql"));
    assert!(!marts.is_empty());
    let df = &v["datafusion_marts"];
    assert!(df.get("error").is_none(), "socle-bench queries: {}", df["error"]);
    let duck = &v["duckdb_marts"];
    for m in &marts {
        assert_mart(df, "DataFusion", m);
        assert_eq!(mart_figures(df, "DataFusion", &m.name)["source"], m.source.as_str());
        if m.source == "shared" {
            assert_mart(duck, "DuckDB", m);
            assert_eq!(mart_figures(duck, "DuckDB", &m.name)["status"], "ok");
        } else {
            let d = mart_figures(duck, "DuckDB", &m.name);
            assert_eq!(d["status"], "n/a (runs per CSS zone)", "DuckDB {}: {d}", m.name);
            assert!(
                d["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "DuckDB {}: {d}",
                m.name
            );
            assert!(d.get("error").is_none(), "DuckDB {}: {d}", m.name);
        }
    }
    assert_latency(&df["rebuild_all_ms"], "DataFusion rebuild all");
    if marts.iter().any(|m| m.source == "shared") {
        assert_latency(&df["rebuild_all_shared_ms"], "DataFusion rebuild all (source: shared)");
        assert_latency(&duck["rebuild_all_ms"], "DuckDB rebuild all (source: shared)");
        assert_eq!(duck["rebuild_all_excluded"], serde_json::json!([]), "{duck}");
    }

    // The targets table, with a status for each (n/a below the province scale).
    let targets = v["targets"].as_array().expect("targets");
    assert!(targets.len() >= 7);
    for t in targets {
        assert!(["pass", "fail", "n/a"].contains(&t["status"].as_str().unwrap()), "{t}");
    }
    let table = std::fs::read_to_string(&md).unwrap();
    assert!(table.contains("| resultat"), "{table}");
}
