//! The duties of Québec's Law 25 through the `socle` binary, on the committed fixtures (3 CSS,
//! one on Mozaïk, 8 school years): the right of access (`personne`) and its audit line, the
//! audit of queries and exports, retention and key rotation, each atomic under a failpoint.

use crate::common::{load, load_command, query_csv, root, socle, socle_command, text};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CSS: [&str; 3] = ["751000", "866000", "881000"];

/// The committed fixtures loaded into a new warehouse in a temporary folder.
fn loaded() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("warehouse");
    let o = load(&root().join("fixtures/exports"), &wh, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    (dir, wh)
}

fn sorted(mut rows: Vec<BTreeMap<String, String>>) -> Vec<BTreeMap<String, String>> {
    rows.sort();
    rows
}

fn count(warehouse: &Path, css: Option<&str>, sql: &str) -> u64 {
    let rows = query_csv(warehouse, css, sql);
    assert_eq!(rows.len(), 1, "{sql}");
    rows[0]["n"].parse().unwrap()
}

/// Every audit line of the warehouse, in file order.
fn audit_lines(warehouse: &Path) -> Vec<serde_json::Value> {
    let dir = warehouse.join("_socle/audit");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<serde_json::Value>>()
        })
        .collect()
}

fn audit_text(warehouse: &Path) -> String {
    let dir = warehouse.join("_socle/audit");
    let mut s = String::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        s.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    s
}

/// The student of 866000 with the most rows of results, with a valid code permanent.
fn a_student(wh: &Path) -> (String, String, String, String) {
    let rows = query_csv(
        wh,
        Some("866000"),
        "SELECT e.code_permanent, e.cle_eleve, e.nom, e.prenom FROM eleve e JOIN resultat r ON r.cle_eleve = e.cle_eleve \
         WHERE NOT e.cle_locale GROUP BY e.code_permanent, e.cle_eleve, e.nom, e.prenom \
         ORDER BY count(*) DESC, e.code_permanent LIMIT 1",
    );
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    (
        r["code_permanent"].clone(),
        r["cle_eleve"].clone(),
        r["nom"].clone(),
        r["prenom"].clone(),
    )
}

#[test]
fn personne_returns_exactly_that_students_rows_and_audits_the_key_only() {
    let (dir, wh) = loaded();
    let (cp, key, nom, prenom) = a_student(&wh);
    let out = dir.path().join("acces.json");
    let o = socle(&[
        "personne",
        "--warehouse",
        wh.to_str().unwrap(),
        "--css",
        "866000",
        "--code-permanent",
        &cp.to_lowercase(),
        "--output",
        out.to_str().unwrap(),
        "--by",
        "responsable-acces",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["code_css"], "866000");
    let tables = doc["tables"].as_object().unwrap();
    let names: BTreeSet<&str> = tables.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "eleve",
        "inscription",
        "resultat",
        "absence",
        "frequentation_fga_fp",
        "resultat_ministere",
        "sanction",
        "suivi_des",
        "eleves_a_risque",
        "anomalies_detail",
        "quarantaine",
    ]
    .into();
    assert_eq!(names, expected);

    // Every keyed table: exactly the rows of that key (a query per table), none of another.
    let mut total = 0u64;
    for t in [
        "eleve",
        "inscription",
        "resultat",
        "absence",
        "frequentation_fga_fp",
        "resultat_ministere",
        "sanction",
    ] {
        let rows = tables[t].as_array().unwrap();
        let n = count(
            &wh,
            Some("866000"),
            &format!("SELECT count(*) AS n FROM {t} WHERE cle_eleve = '{key}'"),
        );
        assert_eq!(rows.len() as u64, n, "{t}");
        assert!(rows.iter().all(|r| r["cle_eleve"] == key.as_str()), "{t}");
        total += n;
    }
    for t in ["eleve", "inscription", "resultat"] {
        assert!(!tables[t].as_array().unwrap().is_empty(), "{t} is empty");
    }
    let eleve = tables["eleve"].as_array().unwrap();
    assert!(eleve.iter().all(|r| r["code_permanent"] == cp.as_str()));
    // The nominative marts: the student's fiches only.
    let fiches: BTreeSet<String> = eleve
        .iter()
        .filter(|r| r["systeme_source"] != "jade")
        .map(|r| r["fiche"].to_string())
        .collect();
    assert!(!fiches.is_empty());
    for m in ["suivi_des", "eleves_a_risque", "anomalies_detail"] {
        let rows = tables[m].as_array().unwrap();
        let list = fiches.iter().cloned().collect::<Vec<_>>().join(",");
        let n = count(
            &wh,
            Some("866000"),
            &format!("SELECT count(*) AS n FROM {m} WHERE fiche IN ({list})"),
        );
        assert_eq!(rows.len() as u64, n, "{m}");
        assert!(rows.iter().all(|r| fiches.contains(&r["fiche"].to_string())), "{m}");
        total += n;
    }
    let q = tables["quarantaine"].as_array().unwrap();
    assert!(
        q.iter()
            .all(|r| r["enregistrement"].as_str().unwrap().to_uppercase().contains(&cp))
    );
    total += q.len() as u64;
    assert_eq!(doc["lignes"].as_u64(), Some(total));

    // The audit line: who, the key, the rows; never the code permanent nor the name.
    let lines = audit_lines(&wh);
    let line = lines.iter().rev().find(|l| l["action"] == "personne").unwrap();
    assert_eq!(line["who"], "responsable-acces");
    assert_eq!(line["zone"], "css:866000");
    assert_eq!(line["target"], format!("cle_eleve:{key}").as_str());
    assert_eq!(line["rows"].as_u64(), Some(total));
    let all = audit_text(&wh);
    assert!(!all.is_empty());
    assert!(!all.to_uppercase().contains(&cp), "audit log holds the code permanent");
    // Names as a value or a part of a target (a short name can be part of a table name).
    for name in [&nom, &prenom] {
        assert!(!all.contains(&format!("\"{name}\"")), "audit log holds a name");
        assert!(!all.contains(&format!(":{name}")), "audit log holds a name");
    }

    // The same as Excel: one sheet per table.
    let xlsx = dir.path().join("acces.xlsx");
    let o = socle(&[
        "personne",
        "--warehouse",
        wh.to_str().unwrap(),
        "--css",
        "866000",
        "--code-permanent",
        &cp,
        "--output",
        xlsx.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let zip = zip::ZipArchive::new(std::fs::File::open(&xlsx).unwrap()).unwrap();
    let sheets = zip
        .file_names()
        .filter(|n| n.as_ref().is_ok_and(|n| n.starts_with("xl/worksheets/sheet")))
        .count();
    assert_eq!(sheets, expected.len());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
}

#[test]
fn personne_of_an_unknown_code_permanent_is_empty_and_still_audited() {
    let (dir, wh) = loaded();
    let out = dir.path().join("vide.json");
    let o = socle(&[
        "personne",
        "--warehouse",
        wh.to_str().unwrap(),
        "--css",
        "881000",
        "--code-permanent",
        "ZZZZ99999999",
        "--output",
        out.to_str().unwrap(),
        "--by",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no row about this code permanent"));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["lignes"].as_u64(), Some(0));
    let tables = doc["tables"].as_object().unwrap();
    assert!(!tables.is_empty());
    assert!(tables.values().all(|v| v.as_array().unwrap().is_empty()));
    let lines = audit_lines(&wh);
    let line = lines.iter().rev().find(|l| l["action"] == "personne").unwrap();
    assert_eq!(line["target"], "none");
    assert_eq!(line["rows"].as_u64(), Some(0));
    assert!(!audit_text(&wh).contains("ZZZZ99999999"));
    // A malformed code permanent is refused (a partial one would match others' raw records).
    let o = socle(&[
        "personne",
        "--warehouse",
        wh.to_str().unwrap(),
        "--css",
        "881000",
        "--code-permanent",
        "ZZ",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn queries_and_exports_are_audited_without_their_literals() {
    let (dir, wh) = loaded();
    let sql = "SELECT count(*) AS n FROM eleve e JOIN inscription i ON i.cle_eleve = e.cle_eleve WHERE e.code_permanent = 'QWER12345678'";
    assert_eq!(count(&wh, Some("866000"), sql), 0);
    let out = dir.path().join("taux.csv");
    let o = socle(&[
        "dashboards",
        "export",
        "taux_reussite",
        "--warehouse",
        wh.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--by",
        "analyste",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lines = audit_lines(&wh);
    assert!(!lines.is_empty());
    let q = lines.iter().find(|l| l["action"] == "query").unwrap();
    assert_eq!(q["zone"], "css:866000");
    let target = q["target"].as_str().unwrap();
    assert!(target.starts_with("tables:eleve,inscription;sql_sha256:"), "{target}");
    assert_eq!(q["rows"].as_u64(), Some(1));
    assert!(!q["who"].as_str().unwrap().is_empty());
    let d = lines.iter().find(|l| l["action"] == "dashboards_export").unwrap();
    assert_eq!(d["who"], "analyste");
    assert_eq!(d["zone"], "shared");
    assert_eq!(d["target"], "mart:taux_reussite");
    assert!(d["rows"].as_u64().unwrap() > 0);
    assert!(!audit_text(&wh).contains("QWER"));
}

/// Everything a reader sees: each CSS manifest's tables (files and rows per year), the marts
/// manifest's files, and row counts per table, CSS and year in the shared zone.
fn state(wh: &Path) -> String {
    let mut s = String::new();
    let w = socle_warehouse::Warehouse::open(wh).unwrap();
    for m in w.manifests().unwrap() {
        s.push_str(&format!("{} {} {:?}\n", m.code_css, m.key_fingerprint, m.tables));
        s.push_str(&format!("quarantine {:?}\n", m.quarantine));
    }
    s.push_str(&format!("{:?}\n", w.marts_manifest().unwrap().map(|m| m.marts)));
    for t in ["inscription", "resultat", "absence", "sanction"] {
        let rows = query_csv(
            wh,
            None,
            &format!(
                "SELECT code_css, annee_scolaire, count(*) AS n, count(DISTINCT cle_eleve) AS k FROM {t} \
                 GROUP BY 1, 2 ORDER BY 1, 2"
            ),
        );
        assert!(!rows.is_empty(), "{t}");
        s.push_str(&format!("{t}: {rows:?}\n"));
    }
    s
}

/// Every Parquet file under the data zones, relative to the warehouse.
fn data_files(wh: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                // A table's Delta log is not a data file.
                if !p.ends_with("_delta_log") {
                    walk(&p, base, out);
                }
            } else {
                out.insert(p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    // The zones, and the intermediate models of the marts stage (listed by the marts manifest).
    for zone in ["css", "shared", "marts", "_socle/intermediate"] {
        walk(&wh.join(zone), wh, &mut out);
    }
    out
}

/// The files the current manifests list.
fn listed_files(wh: &Path) -> BTreeSet<String> {
    let w = socle_warehouse::Warehouse::open(wh).unwrap();
    let mut out: BTreeSet<String> = w
        .manifests()
        .unwrap()
        .iter()
        .flat_map(|m| m.files().cloned().collect::<Vec<_>>())
        .collect();
    out.extend(w.marts_manifest().unwrap().unwrap().files().cloned());
    out
}

#[test]
fn retention_lists_refuses_below_eight_years_and_removes_years_at_once() {
    let (_dir, wh) = loaded();
    let w = wh.to_str().unwrap();
    let before = state(&wh);
    // Every school year of the warehouse's partitions (all tables), oldest first.
    let years: Vec<String> = socle_warehouse::Warehouse::open(&wh)
        .unwrap()
        .manifests()
        .unwrap()
        .iter()
        .flat_map(|m| {
            m.tables
                .values()
                .flat_map(|t| t.partition_rows.keys().cloned())
                .collect::<Vec<_>>()
        })
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    assert!(years.len() >= 8, "{years:?}");
    // Keeping 5 years removes the others.
    let cut = years.len() - 5;
    let removed = years[..cut].to_vec();
    let first_kept = years[cut].clone();

    // Below 8 years: refused without --force.
    let o = socle(&["retention", "--warehouse", w, "--keep-years", "5", "--apply"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"), "{}", text(&o));
    // The dry run lists and changes nothing.
    let o = socle(&["retention", "--warehouse", w, "--keep-years", "5", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let listed = String::from_utf8_lossy(&o.stdout);
    assert!(
        listed.contains(&format!("past retention {}\n", removed.join(", "))),
        "{listed}"
    );
    assert!(listed.contains("add --apply"), "{listed}");
    assert_eq!(state(&wh), before);

    // Killed at the switch: every CSS as it was.
    let o = socle_command()
        .args(["retention", "--warehouse", w, "--keep-years", "5", "--force", "--apply"])
        .env("SOCLE_FAILPOINT", "retention:switch")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("failpoint `retention:switch`"),
        "{}",
        text(&o)
    );
    assert_eq!(state(&wh), before);
    assert_eq!(data_files(&wh), listed_files(&wh));

    let o = socle(&[
        "retention",
        "--warehouse",
        w,
        "--keep-years",
        "5",
        "--force",
        "--apply",
        "--by",
        "dpo",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("marts rebuilt"),
        "{}",
        text(&o)
    );
    let kept: Vec<String> = years[cut..].to_vec();
    for css in CSS {
        let rows = query_csv(
            &wh,
            Some(css),
            "SELECT DISTINCT annee_scolaire FROM resultat ORDER BY 1",
        );
        let got: Vec<String> = rows.into_iter().map(|r| r["annee_scolaire"].clone()).collect();
        assert!(!got.is_empty());
        assert!(got.iter().all(|y| kept.contains(y)), "{css}: {got:?}");
    }
    for t in ["inscription", "resultat", "absence", "calendrier"] {
        let n = count(
            &wh,
            None,
            &format!("SELECT count(*) AS n FROM {t} WHERE annee_scolaire < '{}'", first_kept),
        );
        assert_eq!(n, 0, "{t}");
    }
    // The marts were rebuilt from what is kept.
    let n = count(
        &wh,
        None,
        &format!(
            "SELECT count(*) AS n FROM taux_reussite WHERE annee_scolaire < '{}'",
            first_kept
        ),
    );
    assert_eq!(n, 0);
    // Recorded in every manifest; no file of a removed year is left in either zone.
    let m = socle_warehouse::Warehouse::open(&wh).unwrap().manifests().unwrap();
    assert_eq!(m.len(), 3);
    for man in &m {
        assert_eq!(man.retention.len(), 1, "{}", man.code_css);
        assert!(!man.retention[0].years_removed.is_empty());
        assert!(man.retention[0].years_removed.iter().all(|y| removed.contains(y)));
        assert!(man.retention[0].rows_removed > 0);
    }
    let files = data_files(&wh);
    assert!(!files.is_empty());
    for y in &removed {
        assert!(!files.iter().any(|f| f.contains(&format!("annee_scolaire={y}"))), "{y}");
    }
    assert_eq!(files, listed_files(&wh));
    assert!(wh.join("_socle/CURRENT").is_file());
    assert!(!wh.join("_socle/manifests").exists());
    // The next night loads on top of the new generation.
    let o = load(&root().join("fixtures/exports"), &wh, &["--force", "--css", "866000"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let m = socle_warehouse::Warehouse::open(&wh)
        .unwrap()
        .manifest("866000")
        .unwrap()
        .unwrap();
    assert_eq!(m.retention.len(), 1);
    // ... and the years it still exports stay removed.
    let n = count(
        &wh,
        Some("866000"),
        &format!(
            "SELECT count(*) AS n FROM resultat WHERE annee_scolaire < '{}'",
            first_kept
        ),
    );
    assert_eq!(n, 0);
    assert!(count(&wh, Some("866000"), "SELECT count(*) AS n FROM resultat") > 0);
}

#[test]
fn rekey_recomputes_every_key_from_the_code_permanent_in_one_switch() {
    let (dir, wh) = loaded();
    let w = wh.to_str().unwrap();
    let key_file = dir.path().join("nouvelle.cle");
    std::fs::write(
        &key_file,
        "a new secret of the operator, 32 bytes or more: 0123456789\n",
    )
    .unwrap();
    let new = socle_core::Pseudonymiser::from_file(key_file.clone()).unwrap();
    let before = state(&wh);
    let marts_before: Vec<Vec<BTreeMap<String, String>>> =
        ["taux_reussite", "diplomation_cohorte", "effectif_30_septembre"]
            .iter()
            .map(|m| sorted(query_csv(&wh, None, &format!("SELECT * FROM {m}"))))
            .collect();
    let movers = "SELECT count(*) AS n FROM (SELECT cle_eleve FROM inscription GROUP BY cle_eleve HAVING count(DISTINCT code_css) > 1)";
    let movers_before = count(&wh, None, movers);
    assert!(movers_before > 0);

    // Killed at the switch: the warehouse reads exactly as before, with no new file left.
    let o = socle_command()
        .args(["rekey", "--warehouse", w, "--new-key-file", key_file.to_str().unwrap()])
        .env("SOCLE_FAILPOINT", "rekey:switch")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("failpoint `rekey:switch`"),
        "{}",
        text(&o)
    );
    assert_eq!(state(&wh), before);
    assert_eq!(data_files(&wh), listed_files(&wh));

    let o = socle(&["rekey", "--warehouse", w, "--new-key-file", key_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Every key of a valid code permanent is HMAC(new key, code permanent), in both zones.
    for css in CSS {
        let rows = query_csv(
            &wh,
            Some(css),
            "SELECT code_permanent, cle_eleve, cle_locale FROM eleve",
        );
        assert!(!rows.is_empty());
        let mut valid = 0;
        for r in &rows {
            if r["cle_locale"] == "false" {
                assert_eq!(r["cle_eleve"], new.student_key(&r["code_permanent"]), "{css}");
                valid += 1;
            }
        }
        assert!(valid > 0);
        let keys: BTreeSet<String> = rows.iter().map(|r| r["cle_eleve"].clone()).collect();
        for t in ["inscription", "resultat", "absence"] {
            let shared = query_csv(
                &wh,
                None,
                &format!("SELECT DISTINCT cle_eleve FROM {t} WHERE code_css = '{css}'"),
            );
            assert!(!shared.is_empty(), "{css} {t}");
            assert!(shared.iter().all(|r| keys.contains(&r["cle_eleve"])), "{css} {t}");
        }
    }
    // Cohorts still link movers across CSS; the marts are the same (they hold no key).
    assert_eq!(count(&wh, None, movers), movers_before);
    let marts_after: Vec<Vec<BTreeMap<String, String>>> =
        ["taux_reussite", "diplomation_cohorte", "effectif_30_septembre"]
            .iter()
            .map(|m| sorted(query_csv(&wh, None, &format!("SELECT * FROM {m}"))))
            .collect();
    assert!(marts_after.iter().all(|m| !m.is_empty()));
    assert_eq!(marts_after, marts_before);
    // The old generation is gone; the manifests record the new key.
    assert_eq!(data_files(&wh), listed_files(&wh));
    assert!(!wh.join("_socle/manifests").exists());
    let manifests = socle_warehouse::Warehouse::open(&wh).unwrap().manifests().unwrap();
    assert_eq!(manifests.len(), 3);
    for m in &manifests {
        assert_eq!(m.key_fingerprint, new.fingerprint());
        assert_eq!(
            m.rekeyed.as_ref().map(|r| r.previous_fingerprint.clone()),
            Some(socle_core::Pseudonymiser::demo().fingerprint())
        );
    }

    // The next night: accepted with the new key (unchanged files: skipped), refused with the old.
    let o = load_command(&root().join("fixtures/exports"), &wh, &[])
        .env("SOCLE_PSEUDO_KEY_FILE", &key_file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("3 unchanged"),
        "{}",
        text(&o)
    );
    let o = load(&root().join("fixtures/exports"), &wh, &["--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("key fingerprint"),
        "{}",
        text(&o)
    );
}
