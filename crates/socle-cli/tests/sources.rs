//! End-to-end tests of the four sources in one model, checked against the generator's ground
//! truth: GPI and Mozaïk giving the same canonical rows, students who change CSS counted once in
//! the shared zone, each CSS zone holding only its own data, finance totals, incremental nights,
//! and a failing source or CSS isolated from the rest.

use crate::common::{copy_dir, load, query_csv, read_csv_file, root, socle, text};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const CSS: &str = "866000,881000,751000";

struct Generated {
    dir: PathBuf,
    exports: PathBuf,
    truth: PathBuf,
    warehouse: PathBuf,
}

/// Three CSS, 881000 on Mozaïk, GPI elsewhere, JADE and Dofin everywhere, 3 school years, clean
/// exports: generated and loaded once.
fn generated() -> &'static Generated {
    static G: OnceLock<Generated> = OnceLock::new();
    G.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("socle-sources-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let exports = dir.join("exports");
        let truth = dir.join("truth");
        let warehouse = dir.join("warehouse");
        generate(
            &exports,
            Some(&truth),
            &["--css", CSS, "--students", "1500", "--years", "3", "--mozaik", "881000"],
        );
        let o = load(&exports, &warehouse, &["--jobs", "2"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        Generated {
            dir,
            exports,
            truth,
            warehouse,
        }
    })
}

fn generate(out: &Path, truth: Option<&Path>, extra: &[&str]) {
    let mut args = vec!["generate", "--out", out.to_str().unwrap(), "--seed", "31"];
    if !extra.contains(&"--night") {
        args.extend(["--night", "2025-11-20"]);
    }
    if let Some(t) = truth {
        args.extend(["--truth", t.to_str().unwrap()]);
    }
    args.extend_from_slice(extra);
    let o = socle(&args);
    assert!(o.status.success(), "{}", text(&o));
}

/// Rows as sorted lists of values, for order-free comparison.
fn sorted(rows: Vec<BTreeMap<String, String>>) -> Vec<Vec<String>> {
    let mut v: Vec<Vec<String>> = rows.into_iter().map(|r| r.into_values().collect()).collect();
    v.sort();
    v
}

/// An amount `-123.4` / `5.67` in cents.
fn cents(s: &str) -> i64 {
    if s.is_empty() {
        return 0;
    }
    let neg = s.starts_with('-');
    let s = s.trim_start_matches('-');
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<2}");
    let v = int.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap();
    if neg { -v } else { v }
}

/// The same CSS exported by GPI and by Mozaïk from the same facts loads into the same canonical
/// rows (apart from the source system and GPI's local school number) and the same
/// `taux_reussite`.
#[test]
fn gpi_and_mozaik_exports_of_the_same_facts_load_identically() {
    let dir = std::env::temp_dir().join(format!("socle-gpi-mozaik-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (gpi, mozaik) = (dir.join("gpi"), dir.join("mozaik"));
    let common = ["--css", "881000", "--students", "250", "--years", "2"];
    generate(&gpi, None, &common);
    let mut with_mozaik = common.to_vec();
    with_mozaik.extend(["--mozaik", "881000"]);
    generate(&mozaik, None, &with_mozaik);
    let night = |root: &Path| root.join("881000/2025-11-20");
    assert!(night(&gpi).join("gpi").is_dir() && !night(&gpi).join("mozaik").exists());
    assert!(night(&mozaik).join("mozaik").is_dir() && !night(&mozaik).join("gpi").exists());

    let (wh_gpi, wh_mozaik) = (dir.join("wh-gpi"), dir.join("wh-mozaik"));
    for (exports, wh) in [(&gpi, &wh_gpi), (&mozaik, &wh_mozaik)] {
        let o = load(exports, wh, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let queries = [
        (
            "eleve",
            "SELECT * EXCLUDE (systeme_source) FROM eleve WHERE systeme_source <> 'jade'",
        ),
        ("inscription", "SELECT * EXCLUDE (systeme_source, eco) FROM inscription"),
        ("resultat", "SELECT * EXCLUDE (systeme_source) FROM resultat"),
        ("absence", "SELECT * EXCLUDE (systeme_source) FROM absence"),
        ("cours", "SELECT * EXCLUDE (systeme_source) FROM cours"),
        ("taux_reussite", "SELECT * FROM taux_reussite"),
    ];
    for (name, sql) in queries {
        // The CSS zone: fiche (= Mozaïk's eleve_id) and the code permanent included.
        let a = sorted(query_csv(&wh_gpi, Some("881000"), sql));
        let b = sorted(query_csv(&wh_mozaik, Some("881000"), sql));
        assert!(a.len() > 10, "{name}: too few rows to compare ({})", a.len());
        assert_eq!(a.len(), b.len(), "{name}: row counts differ");
        let first_diff = a.iter().zip(&b).position(|(x, y)| x != y);
        assert!(
            first_diff.is_none(),
            "{name}: first differing row (GPI, Mozaïk):\n{:?}\n{:?}",
            first_diff.map(|i| &a[i]),
            first_diff.map(|i| &b[i])
        );
    }
}

/// A student who changes CSS (same code permanent, new fiche) is one student in the shared
/// zone: the same key in every CSS, so counting students over the province counts them once.
#[test]
fn a_student_who_changes_css_is_one_student_in_the_shared_zone() {
    let g = generated();
    let movers = read_csv_file(&g.truth.join("movers.csv"));
    assert!(movers.len() >= 3, "too few movers generated: {}", movers.len());
    let pseudo = socle_core::Pseudonymiser::demo();
    let per_key = query_csv(
        &g.warehouse,
        None,
        "SELECT cle_eleve, count(DISTINCT code_css) AS n_css FROM inscription GROUP BY cle_eleve",
    );
    let per_key: BTreeMap<String, u64> = per_key
        .into_iter()
        .map(|r| (r["cle_eleve"].clone(), r["n_css"].parse().unwrap()))
        .collect();
    let mut expected_extra = 0u64;
    for m in &movers {
        let key = pseudo.student_key(&m["code_permanent"]);
        let css: BTreeSet<&str> = m["css"].split(',').collect();
        let found = per_key.get(&key).copied().unwrap_or(0);
        assert_eq!(
            found,
            css.len() as u64,
            "a mover's key is not in each of its CSS ({css:?})"
        );
        expected_extra += css.len() as u64 - 1;
    }
    // Counting per CSS and summing counts each mover once per CSS; the province counts once.
    let per_css: u64 = query_csv(
        &g.warehouse,
        None,
        "SELECT code_css, count(DISTINCT cle_eleve) AS n FROM inscription GROUP BY code_css",
    )
    .iter()
    .map(|r| r["n"].parse::<u64>().unwrap())
    .sum();
    let province: u64 = query_csv(
        &g.warehouse,
        None,
        "SELECT count(DISTINCT cle_eleve) AS n FROM inscription",
    )[0]["n"]
        .parse()
        .unwrap();
    assert_eq!(
        per_css - province,
        expected_extra,
        "movers are not counted exactly once"
    );
}

/// The per-CSS zone of one CSS never holds another CSS's rows, in any table.
#[test]
fn each_css_zone_holds_only_its_own_data() {
    let g = generated();
    let dict = socle_dictionary::Dictionary::load(root().join("schemas")).unwrap();
    for css in CSS.split(',') {
        let tables: Vec<String> = dict
            .entities
            .iter()
            .map(|e| format!("SELECT DISTINCT code_css FROM {}", e.name))
            .collect();
        let sql = format!("SELECT DISTINCT code_css FROM ({})", tables.join(" UNION ALL "));
        let found: BTreeSet<String> = query_csv(&g.warehouse, Some(css), &sql)
            .into_iter()
            .map(|r| r["code_css"].clone())
            .collect();
        assert_eq!(found, BTreeSet::from([css.to_string()]), "zone of {css}");
        // And its folder holds nothing but its own code.
        let zone = g.warehouse.join("css").join(css);
        let mut files = Vec::new();
        collect(&zone, &mut files);
        assert!(!files.is_empty());
        for other in CSS.split(',').filter(|c| *c != css) {
            assert!(
                files.iter().all(|f| !f.contains(other)),
                "{other} under the zone of {css}"
            );
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<String>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
}

/// Ledger lines summed by fiscal year, fund and field of the annual financial report (from the
/// dictionary's activity mapping) equal the generator's totals to the cent; so do budgets.
#[test]
fn finance_sums_by_field_equal_the_generators_totals() {
    let g = generated();
    let truth = read_csv_file(&g.truth.join("finance.csv"));
    assert!(!truth.is_empty());
    let key = |r: &BTreeMap<String, String>| {
        (
            r["code_css"].clone(),
            r["exer_fin"].clone(),
            r["version"].clone(),
            r["fonds"].clone(),
            r["champ"].clone(),
        )
    };
    let expected: BTreeMap<_, (i64, i64, i64, u64)> = truth
        .iter()
        .map(|r| {
            (
                key(r),
                (
                    cents(&r["depenses"]),
                    cents(&r["revenus"]),
                    cents(&r["ressources_informationnelles"]),
                    r["lignes"].parse().unwrap(),
                ),
            )
        })
        .collect();
    let sums = |table: &str, version: &str| {
        format!(
            "SELECT code_css, CAST(exer_fin AS VARCHAR) AS exer_fin, {version} AS version, fonds, champ, \
               CAST(coalesce(sum(CASE WHEN nature = 'depense' THEN montant END), 0) AS VARCHAR) AS depenses, \
               CAST(coalesce(sum(CASE WHEN nature = 'revenu' THEN montant END), 0) AS VARCHAR) AS revenus, \
               CAST(coalesce(sum(CASE WHEN ressources_informationnelles AND nature = 'depense' THEN montant END), 0) AS VARCHAR) AS ri, \
               count(*) AS lignes \
             FROM {table} GROUP BY 1, 2, 3, 4, 5"
        )
    };
    let mut rows = query_csv(&g.warehouse, None, &sums("ecriture", "'REEL'"));
    rows.extend(query_csv(&g.warehouse, None, &sums("budget", "version")));
    let actual: BTreeMap<_, (i64, i64, i64, u64)> = rows
        .iter()
        .map(|r| {
            (
                key(r),
                (
                    cents(&r["depenses"]),
                    cents(&r["revenus"]),
                    cents(&r["ri"]),
                    r["lignes"].parse().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(actual.len(), expected.len(), "groups differ");
    for (k, v) in &expected {
        assert_eq!(actual.get(k), Some(v), "totals of {k:?}");
    }
}

/// The finance marts over a generated night equal the generator's totals to the cent (the
/// identities their YAML states): `budget_reel`'s actual and budgets, `cout_par_eleve`'s
/// operating expenses (the CSS rows) and `depenses_ri`'s IT expenses, by CSS, year, fund and
/// field where the mart has them.
#[test]
fn finance_marts_equal_the_generators_totals() {
    let g = generated();
    let truth = read_csv_file(&g.truth.join("finance.csv"));
    // Truth in cents (expenses, revenues, IT expenses) by (CSS, first year, version, fund, field).
    type Key = (String, String, String, String, String);
    let mut by: BTreeMap<Key, (i64, i64, i64)> = BTreeMap::new();
    for r in &truth {
        by.insert(
            (
                r["code_css"].clone(),
                r["exer_fin"].clone(),
                r["version"].clone(),
                r["fonds"].clone(),
                r["champ"].clone(),
            ),
            (
                cents(&r["depenses"]),
                cents(&r["revenus"]),
                cents(&r["ressources_informationnelles"]),
            ),
        );
    }
    assert!(!by.is_empty());
    let grouped = |sql: &str| -> BTreeMap<Vec<String>, i64> {
        query_csv(&g.warehouse, None, sql)
            .into_iter()
            .map(|mut r| {
                let v = cents(&r.remove("v").unwrap_or_default());
                (r.into_values().collect(), v)
            })
            .collect()
    };
    // budget_reel: each version's depenses + revenus per CSS, year, fund and field.
    for (version, column) in [
        ("REEL", "reel"),
        ("INITIAL", "budget_initial"),
        ("REVISE", "budget_revise"),
    ] {
        let got = grouped(&format!(
            "SELECT code_css, substr(annee_scolaire, 1, 4) AS exer_fin, fonds, champ, CAST(sum({column}) AS VARCHAR) AS v \
             FROM budget_reel GROUP BY 1, 2, 3, 4 HAVING sum({column}) IS NOT NULL"
        ));
        // Keys in query_csv's column order (by name): champ, code_css, exer_fin, fonds.
        let expected: BTreeMap<Vec<String>, i64> = by
            .iter()
            .filter(|(k, _)| k.2 == version)
            .map(|((css, year, _, fonds, champ), (d, r, _))| {
                (vec![champ.clone(), css.clone(), year.clone(), fonds.clone()], d + r)
            })
            .collect();
        for (k, v) in &expected {
            assert_eq!(got.get(k).copied().unwrap_or(0), *v, "budget_reel.{column} {k:?}");
        }
        for (k, v) in &got {
            assert!(
                expected.contains_key(k) || *v == 0,
                "budget_reel.{column}: {k:?} not in the truth"
            );
        }
    }
    // cout_par_eleve: the CSS rows' expenses = the fund-1 expenses, by CSS, year and field.
    let got = grouped(
        "SELECT code_css, substr(annee_scolaire, 1, 4) AS exer_fin, champ, CAST(sum(depenses) AS VARCHAR) AS v \
         FROM cout_par_eleve WHERE code_etablissement IS NULL GROUP BY 1, 2, 3",
    );
    for ((css, year, version, fonds, champ), (d, _, _)) in &by {
        if version == "REEL" && fonds == "1" && *d != 0 {
            let k = vec![champ.clone(), css.clone(), year.clone()];
            assert_eq!(got.get(&k).copied(), Some(*d), "cout_par_eleve.depenses {k:?}");
        }
    }
    // depenses_ri: the IT expenses (nature depense), by CSS and year.
    let got = grouped(
        "SELECT code_css, substr(annee_scolaire, 1, 4) AS exer_fin, CAST(sum(depenses_ri) AS VARCHAR) AS v \
         FROM depenses_ri WHERE nature = 'depense' GROUP BY 1, 2",
    );
    let mut expected: BTreeMap<Vec<String>, i64> = BTreeMap::new();
    for ((css, year, version, _, _), (_, _, ri)) in &by {
        if version == "REEL" {
            *expected.entry(vec![css.clone(), year.clone()]).or_default() += ri;
        }
    }
    expected.retain(|_, v| *v != 0);
    assert!(!expected.is_empty(), "the generated night has IT spending");
    assert_eq!(got, expected, "depenses_ri by CSS and year");
}

/// Ministry results keep the latest copy only, and diplomas match the generator's truth.
#[test]
fn ministry_results_and_diplomas_match_the_truth() {
    let g = generated();
    let sanctions = read_csv_file(&g.truth.join("sanctions.csv"));
    let got = query_csv(
        &g.warehouse,
        None,
        "SELECT code_css, annee_scolaire, type_diplome, count(*) AS nb_obtenus FROM sanction WHERE obtenu GROUP BY 1, 2, 3",
    );
    assert!(!sanctions.is_empty());
    assert_eq!(sorted(got), sorted(sanctions));
    let ministere = read_csv_file(&g.truth.join("ministere.csv"));
    let got = query_csv(
        &g.warehouse,
        None,
        "SELECT code_css, annee_scolaire, code_cours, count(*) AS nb_eleves, \
           CAST(sum(CASE WHEN reussi THEN 1 ELSE 0 END) AS BIGINT) AS nb_reussites \
         FROM resultat_ministere WHERE mois_session = 6 AND note_finale IS NOT NULL GROUP BY 1, 2, 3",
    );
    assert!(!ministere.is_empty());
    assert_eq!(sorted(got), sorted(ministere));
    // One row per student, course, year and session month: older copies are not loaded.
    let dup = query_csv(
        &g.warehouse,
        None,
        "SELECT count(*) AS n FROM (SELECT cle_eleve, code_cours, annee_scolaire, mois_session FROM resultat_ministere \
         GROUP BY 1, 2, 3, 4 HAVING count(*) > 1)",
    );
    assert_eq!(dup[0]["n"], "0");
}

/// Nights: unchanged files are skipped; a new night replaces only the school years it holds;
/// a source that fails keeps its tables' previous state while the CSS's other sources and the
/// other CSS load; `socle status` says it all.
#[test]
fn incremental_nights_and_isolated_failures() {
    let g = generated();
    let dir = g.dir.join("nights");
    let _ = std::fs::remove_dir_all(&dir);
    let (exports, wh) = (dir.join("exports"), dir.join("warehouse"));
    copy_dir(&g.exports, &exports);
    copy_dir(&g.warehouse, &wh);
    let count_by_year = |table: &str, css: &str| -> BTreeMap<String, String> {
        query_csv(
            &wh,
            None,
            &format!(
                "SELECT annee_scolaire, count(*) AS n FROM {table} WHERE code_css = '{css}' GROUP BY annee_scolaire"
            ),
        )
        .into_iter()
        .map(|r| (r["annee_scolaire"].clone(), r["n"].clone()))
        .collect()
    };
    let before = count_by_year("resultat", "866000");
    assert_eq!(before.len(), 3, "{before:?}");

    // 1. Same files: every CSS skipped.
    let o = load(&exports, &wh, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout)
            .matches("unchanged since the last load")
            .count(),
        3,
        "{}",
        text(&o)
    );

    // 2. A new night of 866000 holding the current school year only.
    let night2 = dir.join("night2");
    generate(
        &night2,
        None,
        &[
            "--css",
            "866000",
            "--students",
            "300",
            "--years",
            "1",
            "--night",
            "2025-11-21",
        ],
    );
    copy_dir(&night2.join("866000/2025-11-21"), &exports.join("866000/2025-11-21"));
    // A night of another, smaller population: the drop guard holds it (exit 2, the school year's
    // rows kept) until the operator accepts the drops, as they would for a real one.
    let held_before = count_by_year("resultat", "866000");
    assert!(!held_before.is_empty());
    let o = load(&exports, &wh, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("HELD resultat 2025-2026"),
        "{}",
        text(&o)
    );
    assert_eq!(
        count_by_year("resultat", "866000"),
        held_before,
        "a held night changed resultat"
    );
    let entities: Vec<String> = std::fs::read_dir(root().join("schemas/entities"))
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(|n| format!("866000:{n}")))
        .collect();
    assert!(!entities.is_empty());
    let mut accept: Vec<&str> = Vec::new();
    for e in &entities {
        accept.extend(["--accept-drop", e.as_str()]);
    }
    let o = load(&exports, &wh, &accept);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("866000  night 2025-11-21  rows loaded"), "{out}");
    assert_eq!(out.matches("unchanged since the last load").count(), 2, "{out}");
    let after = count_by_year("resultat", "866000");
    let wh2 = dir.join("warehouse-night2");
    let o = load(&night2, &wh2, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let only_night2: BTreeMap<String, String> = query_csv(
        &wh2,
        None,
        "SELECT annee_scolaire, count(*) AS n FROM resultat GROUP BY annee_scolaire",
    )
    .into_iter()
    .map(|r| (r["annee_scolaire"].clone(), r["n"].clone()))
    .collect();
    assert_eq!(only_night2.len(), 1);
    for (year, n) in &before {
        let expected = only_night2.get(year).unwrap_or(n);
        assert_eq!(after.get(year), Some(expected), "year {year}: {before:?} -> {after:?}");
    }

    // 3. 751000's Dofin loses a file, 881000 sends nothing usable: both reported, the rest loads.
    let n751 = latest_night(&exports.join("751000"));
    std::fs::remove_file(n751.join("dofin/fin_budget.csv")).unwrap();
    append_line(&n751.join("jade/e_ele.csv"));
    let n881 = latest_night(&exports.join("881000"));
    for s in ["mozaik", "jade", "dofin"] {
        std::fs::remove_dir_all(n881.join(s)).unwrap();
    }
    let ecriture_751 = count_by_year("ecriture", "751000");
    let m881 = std::fs::read_to_string(wh.join("_socle/manifests/881000.json")).unwrap();
    let o = load(&exports, &wh, &["--jobs", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("881000  FAILED"), "{out}");
    assert!(
        out.contains("dofin   FAILED") && out.contains("fin_budget.csv"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(wh.join("_socle/manifests/881000.json")).unwrap(),
        m881
    );
    assert_eq!(
        count_by_year("ecriture", "751000"),
        ecriture_751,
        "Dofin tables must keep their state"
    );

    let o = socle(&["status", "--warehouse", wh.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let status = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(status.contains("2025-11-21"), "{status}");
    assert!(
        status.contains("fin_budget.csv"),
        "the failure shows in the status: {status}"
    );
    let o = socle(&["status", "--warehouse", wh.to_str().unwrap(), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let css = json["css"].as_array().unwrap();
    let c866 = css.iter().find(|c| c["code_css"] == "866000").unwrap();
    for s in ["gpi", "jade", "dofin"] {
        assert_eq!(c866["sources"][s]["night"], "2025-11-21", "{c866:#}");
    }
    let c751 = css.iter().find(|c| c["code_css"] == "751000").unwrap();
    assert_eq!(c751["sources"]["dofin"]["night"], "2025-11-20");
    assert_eq!(c751["sources"]["jade"]["last_failure"], serde_json::Value::Null);
    assert!(
        c751["sources"]["dofin"]["last_failure"]["error"]
            .as_str()
            .unwrap()
            .contains("fin_budget.csv")
    );
}

fn latest_night(css_dir: &Path) -> PathBuf {
    let mut nights: Vec<PathBuf> = std::fs::read_dir(css_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    nights.sort();
    nights.pop().unwrap()
}

/// Changes a file's content (so its checksum) without making it invalid: a trailing newline.
fn append_line(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(b"\n").unwrap();
}
