//! The marts stage end to end, with the binary on the committed fixtures (3 CSS): `par_css`
//! marts built one CSS at a time give what a province build gives; a repeated `unique_key` fails
//! that mart and the marts reading it only (exit 2, their previous files kept); intermediate
//! models stay out of every published zone; an incremental night keeps the rows of the CSS that
//! did not change; a memory limit fails marts cleanly (never the process) while the others
//! publish.

use crate::common::{copy_dir, load, root, socle, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A scratch folder of this test, removed first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("socle-marts-engine-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixtures() -> PathBuf {
    root().join("fixtures/exports")
}

/// A copy of the repository's pipelines.
fn pipelines_copy(to: &Path) -> PathBuf {
    let p = to.join("pipelines");
    copy_dir(&root().join("pipelines"), &p);
    p
}

fn run(exports: &Path, warehouse: &Path, pipelines: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--pipelines", pipelines.to_str().unwrap()];
    args.extend_from_slice(extra);
    load(exports, warehouse, &args)
}

fn marts_manifest(warehouse: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(warehouse.join("_socle/manifests/_marts.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn files_of(manifest: &serde_json::Value, section: &str, name: &str, kind: &str) -> Vec<String> {
    manifest[section][name][kind]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// `socle query` as CSV lines, sorted (the header first).
fn query(warehouse: &Path, css: Option<&str>, sql: &str) -> Vec<String> {
    let mut args = vec!["query", "--warehouse", warehouse.to_str().unwrap(), "--format", "csv"];
    if let Some(c) = css {
        args.extend(["--css", c]);
    }
    args.push(sql);
    let o = socle(&args);
    assert_eq!(o.status.code(), Some(0), "{sql}: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout)
        .trim_start_matches('\u{feff}')
        .to_string();
    let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
    if lines.len() > 1 {
        lines[1..].sort();
    }
    lines
}

/// Two CSV lines equal, numbers within a relative 1e-9 (a sum computed in another order).
fn same_line(a: &str, b: &str) -> bool {
    let (fa, fb): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), b.split(',').collect());
    fa.len() == fb.len()
        && fa.iter().zip(&fb).all(|(x, y)| {
            x == y
                || match (x.parse::<f64>(), y.parse::<f64>()) {
                    (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                    _ => false,
                }
        })
}

const CSS: [&str; 3] = ["751000", "866000", "881000"];

#[test]
fn every_par_css_mart_built_per_css_equals_its_province_build() {
    let dir = scratch("equal");
    let per_css = pipelines_copy(&dir.join("per_css"));
    // The same pipelines with every `source: shared` model run over the province at once.
    let province = pipelines_copy(&dir.join("province"));
    let mut par_css_marts = Vec::new();
    for sub in ["marts", "intermediate"] {
        let Ok(entries) = std::fs::read_dir(province.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("yaml") {
                continue;
            }
            let yaml = std::fs::read_to_string(&path).unwrap();
            if yaml.contains("execution: par_css") && !yaml.contains("source: css") {
                if sub == "marts" {
                    par_css_marts.push(path.file_stem().unwrap().to_string_lossy().to_string());
                }
                let yaml = yaml.replace(
                    "execution: par_css",
                    "execution: province\nexecution_reason: test of the per-CSS build against the province build",
                );
                std::fs::write(&path, yaml).unwrap();
            }
        }
    }
    assert!(par_css_marts.len() >= 5, "{par_css_marts:?}");
    let (wa, wb) = (dir.join("wa"), dir.join("wb"));
    let o = run(&fixtures(), &wa, &per_css, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&fixtures(), &wb, &province, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for mart in &par_css_marts {
        let sql = format!("SELECT * FROM {mart}");
        let mut zones: Vec<Option<&str>> = vec![None];
        zones.extend(CSS.iter().map(|c| Some(*c)));
        for zone in zones {
            let (a, b) = (query(&wa, zone, &sql), query(&wb, zone, &sql));
            assert!(a.len() > 1 || zone.is_some(), "{mart}: no rows in the shared zone");
            assert_eq!(
                a.len(),
                b.len(),
                "{mart} in {zone:?}: {} rows per CSS, {} province",
                a.len(),
                b.len()
            );
            for (x, y) in a.iter().zip(&b) {
                assert!(same_line(x, y), "{mart} in {zone:?}:\nper CSS:  {x}\nprovince: {y}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Adds mart `name` (`source: shared`, `par_css`, published shared) to `pipelines`.
fn add_mart(pipelines: &Path, name: &str, sql: &str, key: &str, columns: &[&str], count: &str) {
    std::fs::write(pipelines.join("marts").join(format!("{name}.sql")), sql).unwrap();
    let cols: String = columns
        .iter()
        .map(|c| format!("  - {{name: {c}, libelle: {c}, description: {c}}}\n"))
        .collect();
    std::fs::write(
        pipelines.join("marts").join(format!("{name}.yaml")),
        format!(
            "name: {name}\n\
             title: {{fr: {name}, en: {name}}}\n\
             summary: {{fr: Un mart de test., en: A test mart.}}\n\
             source: shared\n\
             publication: shared\n\
             execution: par_css\n\
             grain: une ligne par CSS et année\n\
             unique_key: [{key}]\n\
             definition: {{fr: Test., en: Test.}}\n\
             suppression:\n  - {{count: {count}, hides: []}}\n\
             tableau_de_bord: {{graphique: barres, etiquette: [{key}], valeur: {count}, filtres: [{key}]}}\n\
             columns:\n{cols}"
        ),
    )
    .unwrap();
}

#[test]
fn a_repeated_key_fails_that_mart_and_its_readers_only_keeping_their_files() {
    let dir = scratch("key");
    let pipelines = pipelines_copy(&dir);
    let sql = "SELECT annee_scolaire, code_css, count(*) AS nb FROM inscription GROUP BY annee_scolaire, code_css";
    let cols = ["annee_scolaire", "code_css", "nb"];
    add_mart(
        &pipelines,
        "inscriptions_test",
        sql,
        "annee_scolaire, code_css",
        &cols,
        "nb",
    );
    add_mart(
        &pipelines,
        "inscriptions_test_vue",
        "SELECT annee_scolaire, code_css, nb FROM inscriptions_test",
        "annee_scolaire, code_css",
        &cols,
        "nb",
    );
    let warehouse = dir.join("warehouse");
    let o = run(&fixtures(), &warehouse, &pipelines, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = marts_manifest(&warehouse);

    // The grain declared wrong: one row per year, the key says one per CSS.
    let yaml_path = pipelines.join("marts/inscriptions_test.yaml");
    let yaml = std::fs::read_to_string(&yaml_path).unwrap();
    std::fs::write(
        &yaml_path,
        yaml.replace("unique_key: [annee_scolaire, code_css]", "unique_key: [code_css]"),
    )
    .unwrap();
    // The pipelines changed: the marts are rebuilt though no CSS changed.
    let o = run(&fixtures(), &warehouse, &pipelines, &[]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let failed: Vec<&str> = out.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failed.len(), 2, "{}", text(&o));
    assert!(
        out.contains("mart inscriptions_test FAILED") && out.contains("code_css=") && out.contains("(code_css)"),
        "the message names the key and a sample: {out}"
    );
    assert!(out.contains("mart inscriptions_test_vue FAILED"), "{out}");
    assert!(out.contains("reads inscriptions_test, which failed"), "{out}");
    let after = marts_manifest(&warehouse);
    for name in ["inscriptions_test", "inscriptions_test_vue"] {
        for kind in ["css_files", "shared_files"] {
            assert_eq!(
                files_of(&before, "marts", name, kind),
                files_of(&after, "marts", name, kind),
                "{name} kept"
            );
        }
        for f in files_of(&after, "marts", name, "css_files") {
            assert!(warehouse.join(&f).exists(), "{f}");
        }
        assert!(after["failed"][name].is_string(), "{after}");
    }
    // The other marts were rebuilt and published.
    assert_ne!(
        files_of(&before, "marts", "taux_reussite", "shared_files"),
        files_of(&after, "marts", "taux_reussite", "shared_files")
    );
    // Status says the marts are incomplete; the rows are still queryable.
    let s = socle(&["status", "--warehouse", warehouse.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&s.stdout).contains("inscriptions_test"),
        "{}",
        text(&s)
    );
    assert!(query(&warehouse, None, "SELECT * FROM inscriptions_test_vue").len() > 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn intermediate_models_are_never_published_nor_downloadable() {
    let dir = scratch("intermediate");
    let pipelines = pipelines_copy(&dir);
    let inter = pipelines.join("intermediate");
    std::fs::create_dir_all(&inter).unwrap();
    std::fs::write(
        inter.join("inscrits_test.sql"),
        "SELECT DISTINCT annee_scolaire, code_css, cle_eleve FROM inscription",
    )
    .unwrap();
    std::fs::write(
        inter.join("inscrits_test.yaml"),
        "name: inscrits_test\n\
         definition: {fr: Les élèves inscrits., en: Enrolled students.}\n\
         source: shared\n\
         execution: par_css\n\
         grain: une ligne par année, CSS et élève\n\
         unique_key: [annee_scolaire, code_css, cle_eleve]\n\
         columns:\n\
         \x20 - {name: annee_scolaire, description: Année}\n\
         \x20 - {name: code_css, description: CSS}\n\
         \x20 - {name: cle_eleve, description: Clé}\n",
    )
    .unwrap();
    let cols = ["annee_scolaire", "code_css", "nb"];
    add_mart(
        &pipelines,
        "compte_inscrits_test",
        "SELECT annee_scolaire, code_css, count(*) AS nb FROM inscrits_test GROUP BY annee_scolaire, code_css",
        "annee_scolaire, code_css",
        &cols,
        "nb",
    );
    let warehouse = dir.join("warehouse");
    let o = run(&fixtures(), &warehouse, &pipelines, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let manifest = marts_manifest(&warehouse);
    let files = files_of(&manifest, "intermediates", "inscrits_test", "shared_files");
    assert_eq!(files.len(), 3, "one file per CSS: {manifest}");
    for f in &files {
        assert!(
            f.starts_with("_socle/intermediate/shared/inscrits_test/code_css="),
            "{f}"
        );
        assert!(warehouse.join(f).exists());
    }
    assert!(manifest["marts"].get("inscrits_test").is_none());
    assert!(query(&warehouse, None, "SELECT * FROM compte_inscrits_test").len() > 1);
    let w = warehouse.to_str().unwrap();
    for css in [None, Some("866000")] {
        let mut args = vec!["query", "--warehouse", w];
        if let Some(c) = css {
            args.extend(["--css", c]);
        }
        args.push("SELECT * FROM inscrits_test");
        let o = socle(&args);
        assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    }
    let o = socle(&["dashboards", "list", "--pipelines", pipelines.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let listed = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(listed.contains("compte_inscrits_test"), "{listed}");
    assert!(
        !listed.replace("compte_inscrits_test", "").contains("inscrits_test"),
        "{listed}"
    );
    for css in [None, Some("866000")] {
        let out = dir.join("export.csv");
        let mut args = vec![
            "dashboards",
            "export",
            "inscrits_test",
            "--warehouse",
            w,
            "--pipelines",
            pipelines.to_str().unwrap(),
            "--format",
            "csv",
            "--output",
            out.to_str().unwrap(),
        ];
        if let Some(c) = css {
            args.extend(["--css", c]);
        }
        let o = socle(&args);
        assert_ne!(o.status.code(), Some(0), "{}", text(&o));
        assert!(!out.exists());
    }
    // Nothing of it in a published zone.
    for zone in ["shared", "marts", "css"] {
        let mut stack = vec![warehouse.join(zone)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                assert!(
                    !e.path().to_string_lossy().contains("/inscrits_test"),
                    "{}",
                    e.path().display()
                );
                if e.path().is_dir() {
                    stack.push(e.path());
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_incremental_night_keeps_the_rows_of_the_css_that_did_not_change() {
    let dir = scratch("incremental");
    let exports = dir.join("exports");
    copy_dir(&fixtures(), &exports);
    let warehouse = dir.join("warehouse");
    let pipelines = root().join("pipelines");
    let o = run(&exports, &warehouse, &pipelines, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = marts_manifest(&warehouse);
    let rows_before: BTreeMap<&str, Vec<String>> = CSS
        .iter()
        .map(|c| (*c, query(&warehouse, Some(c), "SELECT * FROM reussite")))
        .collect();

    // A new night for 866000 only: the same exports with one absence less.
    let night = exports.join("866000/2025-11-21");
    copy_dir(&exports.join("866000/2025-11-20"), &night);
    let abs = night.join("gpi/gpm_e_abs.csv");
    let bytes = std::fs::read(&abs).unwrap();
    let body = &bytes[..bytes.len() - 1];
    let cut = body.iter().rposition(|b| *b == b'\n').unwrap() + 1;
    std::fs::write(&abs, &bytes[..cut]).unwrap();
    let o = run(&exports, &warehouse, &pipelines, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let after = marts_manifest(&warehouse);
    let css_file = |m: &serde_json::Value, mart: &str, code: &str| -> String {
        files_of(m, "marts", mart, "css_files")
            .into_iter()
            .find(|f| f.starts_with(&format!("css/{code}/")))
            .unwrap()
    };
    for mart in ["reussite", "absenteisme", "effectif_30_septembre", "suivi_des"] {
        for code in ["751000", "881000"] {
            assert_eq!(
                css_file(&before, mart, code),
                css_file(&after, mart, code),
                "{mart} of {code} kept"
            );
        }
        assert_ne!(
            css_file(&before, mart, "866000"),
            css_file(&after, mart, "866000"),
            "{mart} rebuilt"
        );
    }
    // A province mart is rebuilt for every CSS.
    for code in CSS {
        assert_ne!(
            css_file(&before, "diplomation_cohorte", code),
            css_file(&after, "diplomation_cohorte", code)
        );
    }
    for code in ["751000", "881000"] {
        assert_eq!(
            rows_before[code],
            query(&warehouse, Some(code), "SELECT * FROM reussite")
        );
    }
    // The shared zone's file is rebuilt from every CSS's rows: the unchanged CSS's rows in it too.
    let shared = query(
        &warehouse,
        None,
        "SELECT * FROM reussite WHERE code_css IN ('751000', '881000')",
    );
    assert!(shared.len() > 1);
    // And a full rebuild gives the same rows.
    let incremental = query(&warehouse, None, "SELECT * FROM reussite");
    let o = run(&exports, &warehouse, &pipelines, &["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(incremental, query(&warehouse, None, "SELECT * FROM reussite"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tiny_memory_limit_fails_marts_cleanly_and_the_others_publish() {
    let dir = scratch("memory");
    let pipelines = pipelines_copy(&dir);
    std::fs::write(
        pipelines.join("config.yaml"),
        "seuil_petites_cellules: 5\nmemoire_max: 8MiB\n",
    )
    .unwrap();
    let warehouse = dir.join("warehouse");
    let o = run(&fixtures(), &warehouse, &pipelines, &[]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    // Never killed: the run ends with its summary and exit 2.
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let failed: Vec<&str> = out.lines().filter(|l| l.contains("FAILED")).collect();
    let built: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  mart ") && l.ends_with(" rows"))
        .collect();
    assert!(!failed.is_empty(), "{out}");
    assert!(!built.is_empty(), "some marts fit in the limit: {out}");
    assert!(out.contains("memoire_max (8 MiB"), "the limit is named: {out}");
    let manifest = marts_manifest(&warehouse);
    for line in built {
        let name = line.trim_start_matches("  mart ").split(':').next().unwrap();
        assert!(manifest["marts"][name].is_object(), "{name} published");
    }
    // No spill file is left behind.
    assert!(!warehouse.join("_socle/staging").read_dir().unwrap().any(|_| true));
    let _ = std::fs::remove_dir_all(&dir);
}
