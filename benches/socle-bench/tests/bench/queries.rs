//! `socle-bench queries` on the committed fixtures: the JSON it writes, checked against the
//! marts read independently with `socle query`.

use crate::common::{load, root, socle, socle_bench, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// `socle query --format json SQL` on the shared zone of `wh`.
fn query(wh: &Path, sql: &str) -> Vec<Value> {
    let o = socle(&["query", "--warehouse", wh.to_str().unwrap(), "--format", "json", sql]);
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    v.as_array().cloned().unwrap_or_default()
}

/// Rows of `mart` in CSS `code`'s own zone (`socle query --css`): a nominative mart
/// (`publication: css`) is only there.
fn rows_in_css_zone(wh: &Path, mart: &str, code: &str) -> u64 {
    let o = socle(&[
        "query",
        "--warehouse",
        wh.to_str().unwrap(),
        "--css",
        code,
        "--format",
        "json",
        &format!("SELECT count(*) AS n FROM {mart}"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    v[0]["n"].as_u64().unwrap()
}

/// Rows of each CSS in `mart`, by `socle query`.
fn rows_by_css(wh: &Path, mart: &str) -> BTreeMap<String, u64> {
    query(
        wh,
        &format!("SELECT CAST(code_css AS VARCHAR) AS code_css, count(*) AS n FROM {mart} GROUP BY 1"),
    )
    .iter()
    .map(|r| (r["code_css"].as_str().unwrap().to_string(), r["n"].as_u64().unwrap()))
    .collect()
}

/// Whether `mart` has a `code_css` column (from the CSV header of an empty read).
fn has_code_css(wh: &Path, mart: &str) -> bool {
    let o = socle(&[
        "query",
        "--warehouse",
        wh.to_str().unwrap(),
        "--format",
        "csv",
        &format!("SELECT * FROM {mart} LIMIT 0"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    out.lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .any(|c| c == "code_css")
}

/// The marts the pipelines define.
fn pipeline_marts() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("pipelines/marts"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension().and_then(|x| x.to_str()) == Some("yaml"))
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// A timing object: every figure positive, min <= median <= p95 <= max.
fn check_timing(t: &Value, what: &str) {
    let f = |k: &str| t[k].as_f64().unwrap_or_else(|| panic!("{what}: {k} missing in {t}"));
    let (median, p95, min, max) = (f("median_ms"), f("p95_ms"), f("min_ms"), f("max_ms"));
    assert!(min > 0.0, "{what}: {t}");
    assert!(min <= median && median <= p95 && p95 <= max, "{what}: {t}");
}

fn bench(wh: &Path, json: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "queries",
        "--warehouse",
        wh.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = socle_bench(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("read province") && out.contains("rebuild"), "{out}");
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

#[test]
fn bench_queries_times_every_mart_and_reads_the_right_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let wh = tmp.path().join("warehouse");
    let o = load(&root().join("fixtures/exports"), &wh, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let json = tmp.path().join("bench.json");
    let v = bench(&wh, &json, &["--runs", "3"]);
    assert_eq!(v["runs"], 3);
    assert_eq!(v["warehouse"], wh.to_str().unwrap());
    check_timing(&v["rebuild_all_ms"], "rebuild_all_ms");

    let marts = v["marts"].as_array().unwrap();
    let mut names: Vec<String> = marts.iter().map(|m| m["mart"].as_str().unwrap().to_string()).collect();
    names.sort();
    assert_eq!(names, pipeline_marts());

    let mut css_reads = 0;
    for m in marts {
        let name = m["mart"].as_str().unwrap();
        check_timing(&m["rebuild"], &format!("{name} rebuild"));
        let reads = m["read"].as_array().unwrap();
        if m["publication"] == "css" {
            // Nominative: no shared file; read in the CSS zone with the most rows (ties: the
            // smallest code), the province read skipped with its reason.
            assert_eq!(reads.len(), 1, "{name}: one CSS zone: {m}");
            let r = &reads[0];
            assert_eq!(
                (r["scope"].as_str(), r["zone"].as_str()),
                (Some("css"), Some("css")),
                "{name}"
            );
            check_timing(&r["cold"], &format!("{name} cold"));
            check_timing(&r["warm"], &format!("{name} warm"));
            let by_css: BTreeMap<&str, u64> = ["751000", "866000", "881000"]
                .into_iter()
                .map(|c| (c, rows_in_css_zone(&wh, name, c)))
                .collect();
            let largest = by_css
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(c, _)| *c)
                .unwrap();
            assert_eq!(r["code_css"].as_str(), Some(largest), "{name}: {by_css:?}");
            assert_eq!(r["rows"].as_u64(), Some(by_css[largest]), "{name}");
            assert_eq!(m["rows"].as_u64(), Some(by_css.values().sum()), "{name}");
            assert_eq!(m["read_skipped"][0]["scope"], "province", "{name}: {m}");
            continue;
        }
        assert_eq!(m["read_skipped"], serde_json::json!([]), "{name}: {m}");
        let province = reads.last().unwrap();
        assert_eq!(province["scope"], "province", "{name}: {m}");
        assert!(province.get("code_css").is_none());
        for r in reads {
            check_timing(&r["cold"], &format!("{name} cold"));
            check_timing(&r["warm"], &format!("{name} warm"));
        }
        if !has_code_css(&wh, name) {
            // A provincial mart: no CSS to read.
            assert_eq!(reads.len(), 1, "{name}: {m}");
            let n = query(&wh, &format!("SELECT count(*) AS n FROM {name}"))[0]["n"].as_u64();
            assert_eq!(m["rows"].as_u64(), n, "{name}");
            assert_eq!(province["rows"].as_u64(), n, "{name}");
            continue;
        }
        let by_css = rows_by_css(&wh, name);
        let total: u64 = by_css.values().sum();
        assert_eq!(m["rows"].as_u64(), Some(total), "{name}");
        assert_eq!(province["rows"].as_u64(), Some(total), "{name}");
        if by_css.is_empty() {
            assert_eq!(reads.len(), 1, "{name}: no rows, no CSS to read: {m}");
            continue;
        }
        // Default CSS: the one with the most rows in the mart (ties: the smallest code).
        assert_eq!(reads.len(), 2, "{name}: one CSS and the province: {m}");
        let css = &reads[0];
        assert_eq!(css["scope"], "css");
        let largest = by_css
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(c, _)| c.clone())
            .unwrap();
        assert_eq!(css["code_css"].as_str(), Some(largest.as_str()), "{name}");
        assert_eq!(css["rows"].as_u64(), Some(by_css[&largest]), "{name}");
        assert!(by_css[&largest] < total, "{name}: the fixtures hold several CSS");
        css_reads += 1;
    }
    assert!(css_reads > 0, "taux_reussite at least is read per CSS");

    // Chosen CSS, repeated or comma-separated, in the order given.
    let v = bench(
        &wh,
        &json,
        &["--runs", "1", "--css", "881000,751000", "--css", "866000"],
    );
    assert_eq!(v["runs"], 1);
    for m in v["marts"].as_array().unwrap() {
        let name = m["mart"].as_str().unwrap();
        let reads = m["read"].as_array().unwrap();
        if m["publication"] == "css" {
            let codes: Vec<&str> = reads.iter().filter_map(|r| r["code_css"].as_str()).collect();
            assert_eq!(codes, ["881000", "751000", "866000"], "{name}");
            for r in reads {
                let code = r["code_css"].as_str().unwrap();
                assert_eq!(r["zone"], "css", "{name} {code}");
                assert_eq!(
                    r["rows"].as_u64(),
                    Some(rows_in_css_zone(&wh, name, code)),
                    "{name} {code}"
                );
            }
            continue;
        }
        if !has_code_css(&wh, name) {
            assert_eq!(reads.len(), 1, "{name}: {m}");
            continue;
        }
        let by_css = rows_by_css(&wh, name);
        let codes: Vec<&str> = reads.iter().filter_map(|r| r["code_css"].as_str()).collect();
        assert_eq!(codes, ["881000", "751000", "866000"], "{name}");
        for r in &reads[..3] {
            let code = r["code_css"].as_str().unwrap();
            assert_eq!(
                r["rows"].as_u64(),
                Some(by_css.get(code).copied().unwrap_or(0)),
                "{name} {code}"
            );
        }
    }

    // A CSS the warehouse does not hold is refused.
    let o = socle_bench(&[
        "queries",
        "--warehouse",
        wh.to_str().unwrap(),
        "--css",
        "999999",
        "--runs",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("999999"), "{}", text(&o));
}
