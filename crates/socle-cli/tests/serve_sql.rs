//! `socle serve`'s SQL endpoint with real clients: Debian's `psql` and Python's psycopg, against
//! a server started on free loopback ports. Role scoping; each forbidden kind of statement
//! refused with a clear error (and no file written); the statement timeout and the row cap; a
//! wrong password refused and audited; DBeaver's and Npgsql's start-up queries; and a query with
//! a code permanent literal leaves no trace of it in the audit log.
//!
//! Needs `psql` (`apt-get install postgresql-client`) and psycopg
//! (`python3 -m pip install "psycopg[binary]"`): `.ci/run` installs both; a missing one fails
//! with the command that installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::common::server::{ACCOUNTS, PASSWORD, Served, add_account, fixture_warehouse, start};

struct Fixture {
    dir: tempfile::TempDir,
    warehouse: PathBuf,
    access: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = fixture_warehouse(dir.path());
        let access = dir.path().join("access.yaml");
        for (name, role, css, e, nominatif) in ACCOUNTS {
            add_account(&access, name, role, *css, e, *nominatif);
        }
        // A school account: web only, refused by the SQL endpoint.
        add_account(&access, "ecole", "ecole", Some("866000"), &["866012"], false);
        Fixture { dir, warehouse, access }
    })
}

fn psql_path() -> &'static str {
    let ok = Command::new("psql")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "psql is missing: install it with `apt-get install -y postgresql-client`"
    );
    "psql"
}

/// `psql` as `user` running `sql` (one -c), with the test password.
fn psql(s: &Served, user: &str, password: &str, sql: &str) -> Output {
    let pg = s.pg.expect("SQL endpoint");
    Command::new(psql_path())
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &pg.ip().to_string(),
            "-p",
            &pg.port().to_string(),
            "-U",
            user,
            "-d",
            "socle",
            "-A",
            "-t",
            "-c",
            sql,
        ])
        .env("PGPASSWORD", password)
        .env("PGSSLMODE", "disable")
        .env("PGCONNECT_TIMEOUT", "20")
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn audit_text(warehouse: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(warehouse.join("_socle/audit")).unwrap() {
        all.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    all
}

#[test]
fn psql_lists_describes_and_queries_within_the_scope() {
    let f = fixture();
    let s = start(&f.warehouse, &f.access, &[]);
    let o = psql(&s, "css866", PASSWORD, "SELECT count(*) FROM taux_reussite");
    assert!(o.status.success(), "{}", out(&o));
    let o = psql(&s, "css866", PASSWORD, "\\dt");
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("taux_reussite"),
        "{}",
        out(&o)
    );
    // A table's columns, from the catalog and with psql's `\d`.
    let o = psql(
        &s,
        "css866",
        PASSWORD,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'taux_reussite'",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("code_css"), "{}", out(&o));
    let o = psql(&s, "css866", PASSWORD, "\\d taux_reussite");
    assert!(o.status.success(), "{}", out(&o));
    let described = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        described.contains("code_css") && described.contains("taux_reussite"),
        "{}",
        out(&o)
    );
    // Its own CSS only, whatever the table.
    let o = psql(
        &s,
        "css866",
        PASSWORD,
        "SELECT DISTINCT code_css FROM inscription ORDER BY 1",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "866000");
    // Not nominatif: no nominative mart, no personal column, no quarantine.
    for sql in [
        "SELECT * FROM eleves_a_risque LIMIT 1",
        "SELECT code_permanent FROM eleve LIMIT 1",
        "SELECT * FROM quarantaine LIMIT 1",
    ] {
        let o = psql(&s, "css866", PASSWORD, sql);
        assert!(
            !o.status.success(),
            "{sql} allowed to a non-nominatif account: {}",
            out(&o)
        );
    }
    let o = psql(&s, "css866n", PASSWORD, "SELECT count(*) FROM eleves_a_risque");
    assert!(o.status.success(), "{}", out(&o));
    // The ministry: every CSS, never a nominative mart, never a code permanent.
    let o = psql(
        &s,
        "analyste",
        PASSWORD,
        "SELECT count(DISTINCT code_css) FROM taux_reussite",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "3");
    assert!(
        !psql(&s, "analyste", PASSWORD, "SELECT * FROM eleves_a_risque")
            .status
            .success()
    );
    assert!(
        !psql(&s, "analyste", PASSWORD, "SELECT code_permanent FROM eleve")
            .status
            .success()
    );
    // Web-only and data-less roles have no SQL.
    assert!(!psql(&s, "ecole", PASSWORD, "SELECT 1").status.success());
    assert!(!psql(&s, "admin", PASSWORD, "SELECT 1").status.success());
}

#[test]
fn every_forbidden_kind_is_refused_and_writes_nothing() {
    let f = fixture();
    let s = start(&f.warehouse, &f.access, &[]);
    let target = f.dir.path().join("copie.csv");
    let t = target.display();
    let csv = f.dir.path().join("lu.csv");
    std::fs::write(&csv, "a\n1\n").unwrap();
    let c = csv.display();
    let forbidden = [
        format!("COPY (SELECT 1) TO '{t}'"),
        format!("/* c */ COPY (SELECT 1) TO '{t}'"),
        format!("SELECT 1; COPY (SELECT 1) TO '{t}'"),
        format!("EXPLAIN ANALYZE COPY (SELECT 1) TO '{t}'"),
        format!("CREATE EXTERNAL TABLE lu STORED AS CSV LOCATION '{c}'"),
        "DROP TABLE taux_reussite".to_string(),
        "INSERT INTO taux_reussite SELECT * FROM taux_reussite".to_string(),
        "SET datafusion.execution.target_partitions = 1".to_string(),
        format!("SELECT * FROM read_csv('{c}')"),
    ];
    for sql in &forbidden {
        let o = psql(&s, "css866", PASSWORD, sql);
        let text = out(&o);
        assert!(!o.status.success(), "allowed: {sql}\n{text}");
        assert!(text.contains("refus"), "no clear refusal for {sql}: {text}");
        assert!(!target.exists(), "{sql} wrote a file");
    }
    let audit = audit_text(&f.warehouse);
    assert!(audit.matches("\"outcome\":\"refusé:").count() >= forbidden.len());
}

#[test]
fn statement_timeout_and_row_cap_are_enforced() {
    let f = fixture();
    // A copy of the accounts with tight limits (`passwd` wrote the default settings).
    let access = f.dir.path().join("access-limites.yaml");
    let text = std::fs::read_to_string(&f.access).unwrap();
    assert!(
        text.contains("statement_timeout_seconds: 30") && text.contains("max_rows: 100000"),
        "{text}"
    );
    let text = text
        .replace("statement_timeout_seconds: 30", "statement_timeout_seconds: 2")
        .replace("max_rows: 100000", "max_rows: 1000");
    std::fs::write(&access, text).unwrap();
    let s = start(&f.warehouse, &access, &[]);
    let o = psql(&s, "analyste", PASSWORD, "SELECT * FROM generate_series(1, 999)");
    assert!(o.status.success(), "{}", out(&o));
    let o = psql(&s, "analyste", PASSWORD, "SELECT * FROM generate_series(1, 5000)");
    assert!(!o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("1000"), "{}", out(&o));
    let started = std::time::Instant::now();
    let o = psql(
        &s,
        "analyste",
        PASSWORD,
        "SELECT count(*) FROM generate_series(1, 200000) a CROSS JOIN generate_series(1, 200000) b WHERE a.value + b.value = 7",
    );
    assert!(!o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("timeout") || out(&o).contains("délai"), "{}", out(&o));
    assert!(
        started.elapsed().as_secs() < 30,
        "the timeout did not stop the statement"
    );
}

#[test]
fn a_wrong_password_is_refused_and_audited_and_literals_are_never_logged() {
    let f = fixture();
    let s = start(&f.warehouse, &f.access, &[]);
    let o = psql(&s, "css751", "pas le bon mot de passe", "SELECT 1");
    assert!(!o.status.success());
    assert!(
        out(&o).contains("password") || out(&o).contains("mot de passe"),
        "{}",
        out(&o)
    );
    let o = psql(
        &s,
        "css866n",
        PASSWORD,
        "SELECT count(*) FROM eleve WHERE code_permanent = 'ZZZZ99999999'",
    );
    assert!(o.status.success(), "{}", out(&o));
    let audit = audit_text(&f.warehouse);
    assert!(
        !audit.contains("ZZZZ99999999"),
        "a code permanent literal reached the audit log"
    );
    assert!(
        audit.contains("code_permanent = ?"),
        "the statement is logged with its literal replaced"
    );
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"who\":\"css751\"") && l.contains("\"outcome\":\"refusé: mot de passe\""))
    );
}

#[test]
fn psycopg_and_the_start_up_queries_of_dbeaver_and_npgsql() {
    let f = fixture();
    let has = Command::new("python3")
        .args(["-c", "import psycopg"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has,
        "psycopg is missing: install it with `python3 -m pip install \"psycopg[binary]\"`"
    );
    let s = start(&f.warehouse, &f.access, &[]);
    let pg = s.pg.unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve_sql.py");
    for user in ["css866", "analyste"] {
        let o = Command::new("python3")
            .arg(&script)
            .args([&pg.ip().to_string(), &pg.port().to_string(), user, PASSWORD])
            .output()
            .unwrap();
        assert!(o.status.success(), "{user}: {}", out(&o));
        // What passed, for the log of a CI run.
        eprintln!("{user}:\n{}", out(&o));
    }
}
