//! `socle query` is read-only unless `--allow-files`: COPY writes no file, CREATE EXTERNAL TABLE
//! reads none, and the refusal says why without quoting the query.

use crate::common::{socle, text};
use std::path::Path;

/// An empty warehouse, queried without the pipelines (their reference tables are not needed,
/// and a mart being edited must not fail these tests).
fn query(warehouse: &Path, extra: &[&str], sql: &str) -> std::process::Output {
    let mut args = vec![
        "query",
        "--warehouse",
        warehouse.to_str().unwrap(),
        "--pipelines",
        "no-pipelines-here",
    ];
    args.extend(extra);
    args.push(sql);
    socle(&args)
}

fn empty_warehouse(dir: &Path) -> std::path::PathBuf {
    let w = dir.join("warehouse");
    socle_warehouse::Warehouse::open(&w).unwrap();
    w
}

#[test]
fn copy_is_refused_and_writes_nothing_unless_files_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let w = empty_warehouse(dir.path());
    let target = dir.path().join("x.csv");
    let copy = format!("COPY (SELECT 1 AS n) TO '{}'", target.display());

    let o = query(&w, &[], &copy);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("requête refusée: COPY n'est pas permis (lecture seule)"),
        "{err}"
    );
    assert!(err.contains("refused: COPY is not allowed (read-only)"), "{err}");
    assert!(err.contains("--allow-files"), "says how the data team does it: {err}");
    assert!(
        !err.contains(&*target.to_string_lossy()),
        "the query is not quoted: {err}"
    );
    assert!(!target.exists(), "a refused COPY writes no file");

    // Hidden behind a comment or a first statement: refused all the same.
    for sql in [format!("/* c */ {copy}"), format!("SELECT 1; {copy}")] {
        let o = query(&w, &[], &sql);
        assert_eq!(o.status.code(), Some(1), "{sql}\n{}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("COPY"), "{}", text(&o));
    }
    assert!(!target.exists());

    // The data team, on the warehouse machine.
    let o = query(&w, &["--allow-files"], &copy);
    assert!(o.status.success(), "{}", text(&o));
    let written = std::fs::read_to_string(&target).unwrap();
    assert_eq!(written.lines().collect::<Vec<_>>(), ["n", "1"], "{written}");
}

#[test]
fn external_tables_and_table_functions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let w = empty_warehouse(dir.path());
    let csv = dir.path().join("secret.csv");
    std::fs::write(&csv, "code_permanent\nABCD12345678\n").unwrap();

    let create = format!(
        "CREATE EXTERNAL TABLE secret STORED AS CSV LOCATION '{}' OPTIONS ('format.has_header' 'true')",
        csv.display()
    );
    let o = query(&w, &[], &create);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("requête refusée: CREATE n'est pas permis (lecture seule)"),
        "{err}"
    );
    assert!(!err.contains("secret.csv"), "{err}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("ABCD12345678"));

    let o = query(
        &w,
        &[],
        &format!("SELECT * FROM (SELECT * FROM read_csv('{}')) t", csv.display()),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("fonction de table read_csv"), "{err}");

    // Reading still works.
    let o = query(&w, &["--format", "csv"], "SELECT 1 AS n UNION ALL SELECT 2 ORDER BY n");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "n\n1\n2\n");
}
