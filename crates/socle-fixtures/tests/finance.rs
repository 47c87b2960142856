//! Tests of the Dofin finance exports (`dofin/fin_*.csv`): they read the written files back as a
//! connector would (the CSS's delimiter, encoding, decimal separator and date format from
//! `summary.json`, column order from the header) and compare them with `finance.csv`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use socle_fixtures::{ConventionOverrides, Encoding, GenerateOptions, MozaikSelection, generate};

/// The contract columns of formats/dofin.md, in contract order.
const CONTRACT: [(&str, &[&str]); 5] = [
    (
        "fin_ecriture",
        &[
            "exer_fin",
            "no_piece",
            "no_ligne",
            "date_ecriture",
            "fonds",
            "activite",
            "objet",
            "unite_adm",
            "montant",
            "descr",
        ],
    ),
    (
        "fin_budget",
        &[
            "exer_fin",
            "version",
            "fonds",
            "activite",
            "objet",
            "unite_adm",
            "montant",
        ],
    ),
    ("fin_nomen_unit_adm", &["exer_fin", "code", "descr", "eco_off"]),
    ("fin_nomen_activite", &["code", "descr"]),
    ("fin_nomen_objet", &["code", "descr"]),
];

/// Columns formats/README.md allows a CSS to add (ignored by the connectors).
const EXTRAS: [&str; 5] = ["dt_maj", "usager_maj", "no_lot", "commentaire", "ind_synchro"];

fn opts(dir: &Path) -> GenerateOptions {
    let mut o = GenerateOptions::default_for(dir.join("exports"));
    o.truth = Some(dir.join("truth"));
    o
}

fn dofin_dir(o: &GenerateOptions, css: &str) -> PathBuf {
    o.out
        .join(css)
        .join(o.night.format("%Y-%m-%d").to_string())
        .join("dofin")
}

#[derive(Debug, Clone)]
struct Conv {
    delimiter: u8,
    encoding: String,
    date_format: String,
    decimal_comma: bool,
}

fn convs(truth: &Path) -> BTreeMap<String, Conv> {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(truth.join("summary.json")).unwrap()).unwrap();
    s["css"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let k = &c["conventions"];
            (
                c["code_css"].as_str().unwrap().to_string(),
                Conv {
                    delimiter: k["delimiter"].as_str().unwrap().as_bytes()[0],
                    encoding: k["encoding"].as_str().unwrap().to_string(),
                    date_format: k["date_format"].as_str().unwrap().to_string(),
                    decimal_comma: k["decimal_separator"].as_str().unwrap() == ",",
                },
            )
        })
        .collect()
}

fn decode(bytes: &[u8], encoding: &str) -> String {
    if encoding == "windows-1252" {
        encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

fn split_line(line: &str, delimiter: u8) -> Vec<String> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    r.records()
        .next()
        .map(|x| x.map(|x| x.iter().map(String::from).collect()).unwrap_or_default())
        .unwrap_or_default()
}

/// The physical lines of a file (BOM and line ending removed, not decoded).
fn raw_lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes).to_vec();
    let mut lines: Vec<Vec<u8>> = bytes
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect();
    if bytes.ends_with(b"\n") {
        lines.pop();
    }
    lines
}

struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
}

/// Reads a table without the lines `bad_rows.csv` lists: every other line is a clean row with
/// exactly the header's fields.
fn read_clean(path: &Path, conv: &Conv, skip: &HashSet<usize>) -> Table {
    let lines = raw_lines(path);
    let header: Vec<String> = split_line(&decode(&lines[0], &conv.encoding), conv.delimiter)
        .into_iter()
        .map(|h| h.to_lowercase())
        .collect();
    let mut rows = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(1) {
        if skip.contains(&(i + 1)) {
            continue;
        }
        let text = std::str::from_utf8(l)
            .map(String::from)
            .unwrap_or_else(|_| decode(l, &conv.encoding));
        let fields = split_line(&text, conv.delimiter);
        assert_eq!(
            fields.len(),
            header.len(),
            "{} line {}: {text:?}",
            path.display(),
            i + 1
        );
        rows.push(fields);
    }
    Table { header, rows }
}

/// Cents of an amount written with the CSS's decimal separator; `None` if not exactly 2 decimals.
fn cents(s: &str, decimal_comma: bool) -> Option<i64> {
    let sep = if decimal_comma { ',' } else { '.' };
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (int, frac) = body.split_once(sep)?;
    if frac.len() != 2 || int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = int.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?;
    Some(if neg { -v } else { v })
}

fn truth_cents(s: &str) -> i64 {
    cents(s, false).unwrap_or_else(|| panic!("bad truth amount {s:?}"))
}

fn parse_date(s: &str, format: &str) -> Option<NaiveDate> {
    let (f, len) = match format {
        "YYYY-MM-DD" => ("%Y-%m-%d", 10),
        "YYYYMMDD" => ("%Y%m%d", 8),
        _ => ("%d/%m/%Y", 10),
    };
    if s.len() != len {
        return None;
    }
    NaiveDate::parse_from_str(s, f).ok()
}

/// `bad_rows.csv`: (css, file) -> lines.
fn bad_lines(truth: &Path) -> HashMap<(String, String), Vec<(usize, String)>> {
    let mut out: HashMap<(String, String), Vec<(usize, String)>> = HashMap::new();
    let mut r = csv::Reader::from_path(truth.join("bad_rows.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        out.entry((rec[0].to_string(), rec[1].to_string()))
            .or_default()
            .push((rec[2].parse().unwrap(), rec[3].to_string()));
    }
    out
}

fn skip_set(bad: &HashMap<(String, String), Vec<(usize, String)>>, css: &str, table: &str) -> HashSet<usize> {
    bad.get(&(css.to_string(), format!("{table}.csv")))
        .map(|v| v.iter().map(|(l, _)| *l).collect())
        .unwrap_or_default()
}

/// One row of `finance.csv`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums {
    depenses: i64,
    revenus: i64,
    it: i64,
    lignes: u64,
}

/// (css, exer_fin, version, fonds, champ) -> sums.
type Key = (String, i32, String, String, String);

fn read_truth(truth: &Path) -> BTreeMap<Key, Sums> {
    let mut r = csv::Reader::from_path(truth.join("finance.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "code_css",
            "exer_fin",
            "version",
            "fonds",
            "champ",
            "depenses",
            "revenus",
            "ressources_informationnelles",
            "lignes"
        ]
    );
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let key = (
            rec[0].to_string(),
            rec[1].parse().unwrap(),
            rec[2].to_string(),
            rec[3].to_string(),
            rec[4].to_string(),
        );
        let s = Sums {
            depenses: truth_cents(&rec[5]),
            revenus: truth_cents(&rec[6]),
            it: truth_cents(&rec[7]),
            lignes: rec[8].parse().unwrap(),
        };
        assert!(out.insert(key, s).is_none(), "duplicate truth row");
    }
    out
}

/// Recounts finance.csv from the clean rows of fin_ecriture and fin_budget.
fn recount(o: &GenerateOptions, css: &[String]) -> BTreeMap<Key, Sums> {
    let truth = o.truth.as_ref().unwrap();
    let convs = convs(truth);
    let bad = bad_lines(truth);
    let mut out: BTreeMap<Key, Sums> = BTreeMap::new();
    for c in css {
        let conv = &convs[c];
        let dir = dofin_dir(o, c);
        for (table, montant) in [("fin_ecriture", None), ("fin_budget", Some(()))] {
            let t = read_clean(&dir.join(format!("{table}.csv")), conv, &skip_set(&bad, c, table));
            let (ex, fo, ac, ob, mo) = (
                t.col("exer_fin"),
                t.col("fonds"),
                t.col("activite"),
                t.col("objet"),
                t.col("montant"),
            );
            let ve = montant.map(|_| t.col("version"));
            for row in &t.rows {
                let amount =
                    cents(&row[mo], conv.decimal_comma).unwrap_or_else(|| panic!("{c} {table}: amount {:?}", row[mo]));
                let version = ve.map_or("REEL".to_string(), |v| row[v].clone());
                let key = (
                    c.clone(),
                    row[ex].parse().unwrap(),
                    version,
                    row[fo].clone(),
                    row[ac][..1].to_string(),
                );
                let s = out.entry(key).or_default();
                if row[ob].starts_with('9') {
                    s.revenus += amount;
                } else {
                    s.depenses += amount;
                    if row[ac].starts_with("26") || row[ac].starts_with("46") {
                        s.it += amount;
                    }
                }
                s.lignes += 1;
            }
        }
    }
    out
}

fn all_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The Dofin files of a generation, and finance.csv.
fn finance_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut f: BTreeMap<PathBuf, Vec<u8>> = all_files(&dir.join("exports"))
        .into_iter()
        .filter(|(p, _)| p.components().any(|c| c.as_os_str() == "dofin"))
        .collect();
    f.insert(
        PathBuf::from("finance.csv"),
        std::fs::read(dir.join("truth/finance.csv")).unwrap(),
    );
    f
}

#[test]
fn same_seed_same_bytes_whatever_the_youth_system() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let mut oa = opts(a.path());
    oa.bad_rate = 0.02;
    let mut ob = oa.clone();
    ob.out = b.path().join("exports");
    ob.truth = Some(b.path().join("truth"));
    // The youth system changes the youth folders, never the finance files.
    ob.mozaik = MozaikSelection::All;
    let mut oc = oa.clone();
    oc.out = c.path().join("exports");
    oc.truth = Some(c.path().join("truth"));
    oc.seed = 7;
    let sa = generate(&oa).unwrap();
    generate(&ob).unwrap();
    generate(&oc).unwrap();
    let fa = finance_files(a.path());
    let fb = finance_files(b.path());
    let fc = finance_files(c.path());
    assert_eq!(fa.len(), 5 * sa.css.len() + 1);
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (p, bytes) in &fa {
        assert!(*bytes == fb[p], "{} differs", p.display());
    }
    let differing = fa.iter().filter(|(p, v)| fc.get(*p) != Some(*v)).count();
    assert!(differing >= 5, "another seed changes the files ({differing} differ)");
}

#[test]
fn files_have_exactly_the_contract_columns() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css_count = 5;
    o.students = 500;
    let s = generate(&o).unwrap();
    let truth = o.truth.clone().unwrap();
    let convs = convs(&truth);
    let mut saw_extra = false;
    let mut saw_shuffled = false;
    let mut saw_upper = false;
    for css in &s.css {
        let conv = &convs[css];
        let dir = dofin_dir(&o, css);
        for (table, contract) in CONTRACT {
            let path = dir.join(format!("{table}.csv"));
            let lines = raw_lines(&path);
            let raw_header = decode(&lines[0], &conv.encoding);
            saw_upper |= raw_header.contains("MONTANT") || raw_header.contains("CODE");
            let t = read_clean(&path, conv, &HashSet::new());
            let got: Vec<&str> = t
                .header
                .iter()
                .map(String::as_str)
                .filter(|h| !EXTRAS.contains(h))
                .collect();
            saw_extra |= got.len() < t.header.len();
            saw_shuffled |= got != contract;
            let mut sorted = got.clone();
            sorted.sort_unstable();
            let mut want = contract.to_vec();
            want.sort_unstable();
            assert_eq!(sorted, want, "{css} {table}");
            assert!(!t.rows.is_empty(), "{css} {table} is empty");
            // Keys are unique among clean rows.
            let key: &[&str] = match table {
                "fin_ecriture" => &["exer_fin", "no_piece", "no_ligne"],
                "fin_budget" => &["exer_fin", "version", "fonds", "activite", "objet", "unite_adm"],
                "fin_nomen_unit_adm" => &["exer_fin", "code"],
                _ => &["code"],
            };
            let cols: Vec<usize> = key.iter().map(|k| t.col(k)).collect();
            let mut seen = HashSet::new();
            for r in &t.rows {
                let k: Vec<&str> = cols.iter().map(|&c| r[c].as_str()).collect();
                assert!(seen.insert(k.join("|")), "{css} {table}: duplicate key {k:?}");
            }
        }
    }
    assert!(
        saw_extra || saw_shuffled || saw_upper,
        "conventions vary the finance files"
    );
}

#[test]
fn values_follow_the_code_convention() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css = vec!["761000".into(), "881000".into(), "866000".into()];
    o.years = 3;
    let s = generate(&o).unwrap();
    let truth = o.truth.clone().unwrap();
    let convs = convs(&truth);
    let registry = socle_core::Registry::embedded().unwrap();
    let none = HashSet::new();
    let last = 2025;
    for css in &s.css {
        let conv = &convs[css];
        let dir = dofin_dir(&o, css);
        let act = read_clean(&dir.join("fin_nomen_activite.csv"), conv, &none);
        let activities: HashSet<String> = act.rows.iter().map(|r| r[act.col("code")].clone()).collect();
        assert!(
            activities
                .iter()
                .all(|c| c.len() == 5 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        for f in '1'..='6' {
            assert!(
                activities.iter().any(|c| c.starts_with(f)),
                "{css}: no activity of field {f}"
            );
        }
        assert!(activities.iter().any(|c| c.starts_with("26")));
        assert!(activities.iter().any(|c| c.starts_with("46")));
        let obj = read_clean(&dir.join("fin_nomen_objet.csv"), conv, &none);
        let objects: HashSet<String> = obj.rows.iter().map(|r| r[obj.col("code")].clone()).collect();
        for f in ['1', '2', '3', '4', '5', '6', '9'] {
            assert!(
                objects.iter().any(|c| c.len() == 3 && c.starts_with(f)),
                "{css}: no object {f}xx"
            );
        }
        assert!(obj.rows.iter().all(|r| !r[obj.col("descr")].is_empty()));

        // Units: the schools of the youth generator (real codes of this CSS) and services.
        let units = read_clean(&dir.join("fin_nomen_unit_adm.csv"), conv, &none);
        let (ue, uc, uo) = (units.col("exer_fin"), units.col("code"), units.col("eco_off"));
        let ests: HashSet<String> = registry.establishments_of(css).map(|e| e.code.clone()).collect();
        let mut per_year: BTreeMap<i32, (usize, usize)> = BTreeMap::new();
        let mut unit_codes: HashMap<i32, HashSet<String>> = HashMap::new();
        for r in &units.rows {
            let y: i32 = r[ue].parse().unwrap();
            let e = per_year.entry(y).or_default();
            if r[uo].is_empty() {
                e.1 += 1;
            } else {
                assert!(
                    ests.contains(&r[uo]),
                    "{css}: eco_off {} is not one of its establishments",
                    r[uo]
                );
                e.0 += 1;
            }
            unit_codes.entry(y).or_default().insert(r[uc].clone());
        }
        assert_eq!(
            per_year.keys().copied().collect::<Vec<_>>(),
            vec![last - 2, last - 1, last]
        );
        assert!(
            per_year
                .values()
                .all(|(schools, services)| *schools >= 2 && *services >= 3)
        );
        assert!(
            unit_codes.values().flatten().any(|c| c.starts_with('0')),
            "leading zeros kept"
        );
        let gpi_eco = o
            .out
            .join(css)
            .join(o.night.format("%Y-%m-%d").to_string())
            .join("gpi/gpm_t_eco.csv");
        if gpi_eco.exists() {
            let eco = read_clean(&gpi_eco, conv, &none);
            let youth: HashSet<String> = eco.rows.iter().map(|r| r[eco.col("eco_off")].clone()).collect();
            let fin: HashSet<String> = units
                .rows
                .iter()
                .map(|r| r[uo].clone())
                .filter(|c| !c.is_empty())
                .collect();
            assert_eq!(fin, youth, "{css}: finance schools are the youth schools");
        }

        // Ledger lines.
        let led = read_clean(&dir.join("fin_ecriture.csv"), conv, &none);
        let c = |n: &str| led.col(n);
        let night = o.night;
        for r in &led.rows {
            let exer: i32 = r[c("exer_fin")].parse().unwrap();
            let date = parse_date(&r[c("date_ecriture")], &conv.date_format).unwrap();
            let start = NaiveDate::from_ymd_opt(exer, 7, 1).unwrap();
            let end = NaiveDate::from_ymd_opt(exer + 1, 6, 30).unwrap().min(night);
            assert!(date >= start && date <= end, "{css}: {date} outside {exer}");
            assert!(["1", "2"].contains(&r[c("fonds")].as_str()));
            assert!(activities.contains(&r[c("activite")]), "{}", r[c("activite")]);
            assert!(objects.contains(&r[c("objet")]), "{}", r[c("objet")]);
            assert!(unit_codes[&exer].contains(&r[c("unite_adm")]));
            let amount = cents(&r[c("montant")], conv.decimal_comma).unwrap();
            assert_ne!(amount, 0);
            if r[c("objet")].starts_with('9') {
                assert!(amount < 0, "revenues are negative");
            }
            assert!(!r[c("descr")].is_empty());
            assert!(r[c("no_ligne")].parse::<u32>().unwrap() >= 1);
        }
        // Expenses are positive, but for a few credit notes.
        let credits = led
            .rows
            .iter()
            .filter(|r| !r[c("objet")].starts_with('9') && r[c("montant")].starts_with('-'))
            .count();
        assert!(credits * 50 < led.rows.len(), "{css}: {credits} credit notes");
        // Bounded: a few lines per student and year.
        let students = s.students.max(1) as usize;
        assert!(
            led.rows.len() < 6 * students * 3 + 600,
            "{css}: {} lines",
            led.rows.len()
        );

        // The revised budget of the current year is adopted by the export night (November 20).
        let bud = read_clean(&dir.join("fin_budget.csv"), conv, &none);
        let versions: HashSet<(String, String)> = bud
            .rows
            .iter()
            .map(|r| (r[bud.col("exer_fin")].clone(), r[bud.col("version")].clone()))
            .collect();
        for y in last - 2..=last {
            for v in ["INITIAL", "REVISE"] {
                assert!(versions.contains(&(y.to_string(), v.to_string())), "{css} {y} {v}");
            }
        }
    }

    // No student's name in the free text.
    let mut r = csv::Reader::from_path(truth.join("personal.csv")).unwrap();
    let names: Vec<String> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            format!("{} {}", &x[2], &x[1])
        })
        .collect();
    for css in &s.css {
        let led = read_clean(&dofin_dir(&o, css).join("fin_ecriture.csv"), &convs[css], &none);
        let descr: HashSet<&str> = led.rows.iter().map(|r| r[led.col("descr")].as_str()).collect();
        for n in &names {
            assert!(
                !descr.iter().any(|d| d.contains(n.as_str())),
                "a student's name in descr"
            );
        }
    }
}

#[test]
fn truth_is_the_exact_sum_of_the_clean_rows() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css = vec!["761000".into(), "881000".into(), "866000".into()];
    o.students = 900;
    o.years = 3;
    o.bad_rate = 0.02;
    o.conventions.insert(
        "761000".into(),
        ConventionOverrides {
            encoding: Some(Encoding::Utf8),
            ..Default::default()
        },
    );
    let s = generate(&o).unwrap();
    let truth = read_truth(o.truth.as_ref().unwrap());
    let got = recount(&o, &s.css);
    assert!(!truth.is_empty());
    assert_eq!(got.keys().collect::<Vec<_>>(), truth.keys().collect::<Vec<_>>());
    for (k, v) in &truth {
        assert_eq!(got[k], *v, "{k:?}");
    }
    for (k, v) in &truth {
        // Six fields of spending every year, IT only in fields 2 and 4.
        if v.it != 0 {
            assert!(k.4 == "2" || k.4 == "4", "{k:?}");
        }
    }
    for css in &s.css {
        for y in 2023..=2025 {
            let fields: HashSet<&str> = truth
                .keys()
                .filter(|k| &k.0 == css && k.1 == y && k.2 == "REEL" && k.3 == "1")
                .map(|k| k.4.as_str())
                .collect();
            assert_eq!(fields.len(), 6, "{css} {y}: {fields:?}");
        }
    }
}

/// Sums by (css, exer_fin, version, fonds) over the fields.
fn totals(truth: &BTreeMap<Key, Sums>) -> BTreeMap<(String, i32, String, String), Sums> {
    let mut out: BTreeMap<(String, i32, String, String), Sums> = BTreeMap::new();
    for (k, v) in truth {
        let t = out.entry((k.0.clone(), k.1, k.2.clone(), k.3.clone())).or_default();
        t.depenses += v.depenses;
        t.revenus += v.revenus;
        t.it += v.it;
        t.lignes += v.lignes;
    }
    out
}

#[test]
fn amounts_are_plausible() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css_count = 4;
    o.students = 4000;
    o.years = 3;
    let s = generate(&o).unwrap();
    let truth_dir = o.truth.clone().unwrap();
    let truth = read_truth(&truth_dir);
    let totals = totals(&truth);
    let convs = convs(&truth_dir);
    let none = HashSet::new();
    let complete = [2023, 2024];
    for css in &s.css {
        let conv = &convs[css];
        let dir = dofin_dir(&o, css);
        // Salaries are the largest object, 55-65 % of the operating expenses; benefits next.
        let led = read_clean(&dir.join("fin_ecriture.csv"), conv, &none);
        let (ce, cf, co, cm) = (
            led.col("exer_fin"),
            led.col("fonds"),
            led.col("objet"),
            led.col("montant"),
        );
        for y in complete {
            let mut by_cat = [0i64; 10];
            for r in led.rows.iter().filter(|r| r[ce] == y.to_string() && r[cf] == "1") {
                let cat = usize::from(r[co].as_bytes()[0] - b'0');
                by_cat[cat] += cents(&r[cm], conv.decimal_comma).unwrap();
            }
            let spent: i64 = by_cat[1..9].iter().sum();
            let salaries = by_cat[1] as f64 / spent as f64;
            assert!((0.55..=0.65).contains(&salaries), "{css} {y}: salaries {salaries:.3}");
            assert!(
                by_cat[2] > by_cat[3..9].iter().copied().max().unwrap(),
                "{css} {y}: {by_cat:?}"
            );
            // Revenues (negative) roughly match the spending.
            let rev = -(by_cat[9] as f64) / spent as f64;
            assert!((0.93..=1.07).contains(&rev), "{css} {y}: revenues/spending {rev:.3}");
        }
        for y in complete {
            let real = &totals[&(css.clone(), y, "REEL".to_string(), "1".to_string())];
            let rev = &totals[&(css.clone(), y, "REVISE".to_string(), "1".to_string())];
            let ratio = real.depenses as f64 / rev.depenses as f64;
            assert!((0.95..=1.05).contains(&ratio), "{css} {y}: actual/REVISE {ratio:.3}");
            assert!((ratio - 1.0).abs() >= 0.005, "{css} {y}: actual exactly the budget");
            let it = real.it as f64 / real.depenses as f64;
            assert!((0.015..=0.07).contains(&it), "{css} {y}: IT {it:.3}");
            // Teaching is the largest field.
            let field = |f: &str| {
                truth
                    .get(&(css.clone(), y, "REEL".to_string(), "1".to_string(), f.to_string()))
                    .map_or(0, |s| s.depenses)
            };
            let teaching = field("1");
            assert!(
                ["2", "3", "4", "5", "6"].iter().all(|f| field(f) < teaching),
                "{css} {y}"
            );
            assert!(teaching as f64 > 0.4 * real.depenses as f64);
        }
        // The current year stops at the export night (November 20): about 40 % of a year.
        let cur = &totals[&(css.clone(), 2025, "REEL".to_string(), "1".to_string())];
        let prev = &totals[&(css.clone(), 2024, "REEL".to_string(), "1".to_string())];
        let part = cur.depenses as f64 / prev.depenses as f64;
        assert!((0.2..0.6).contains(&part), "{css}: current year so far {part:.2}");
    }
    // Spending per student: join with the enrolment of the youth files (GPI, distinct fiches by
    // school year outside dummy schools).
    for css in &s.css {
        let conv = &convs[css];
        let gpi = o.out.join(css).join(o.night.format("%Y-%m-%d").to_string()).join("gpi");
        let eco = read_clean(&gpi.join("gpm_t_eco.csv"), conv, &none);
        let years: HashMap<String, (String, bool)> = eco
            .rows
            .iter()
            .map(|r| {
                (
                    r[eco.col("id_eco")].clone(),
                    (r[eco.col("annee")].clone(), r[eco.col("indic_eco_bidon")] == "1"),
                )
            })
            .collect();
        let dan = read_clean(&gpi.join("gpm_e_dan.csv"), conv, &none);
        let mut students: HashMap<String, HashSet<String>> = HashMap::new();
        for r in &dan.rows {
            let (y, dummy) = &years[&r[dan.col("id_eco")]];
            if !dummy {
                students
                    .entry(y.clone())
                    .or_default()
                    .insert(r[dan.col("fiche")].clone());
            }
        }
        for y in complete {
            let n = students[&y.to_string()].len() as f64;
            let real = &totals[&(css.clone(), y, "REEL".to_string(), "1".to_string())];
            let per = real.depenses as f64 / 100.0 / n;
            assert!(
                (11_000.0..=17_000.0).contains(&per),
                "{css} {y}: {per:.0} $ per student"
            );
        }
    }
}

/// Checks that the physical line `line` of a Dofin file looks like a bad row of its kind.
fn assert_line_is_bad(path: &Path, conv: &Conv, table: &str, line: usize, kind: &str) {
    let lines = raw_lines(path);
    let raw = &lines[line - 1];
    let text = decode(raw, &conv.encoding);
    let header: Vec<String> = split_line(&decode(&lines[0], &conv.encoding), conv.delimiter)
        .into_iter()
        .map(|h| h.to_lowercase())
        .collect();
    let fields = split_line(&text, conv.delimiter);
    let col = |name: &str| header.iter().position(|h| h == name);
    let field = |name: &str| col(name).and_then(|i| fields.get(i)).map(String::as_str);
    let ctx = format!("{} line {line} ({kind}): {text:?}", path.display());
    match kind {
        "wrong_column_count" => assert_ne!(fields.len(), header.len(), "{ctx}"),
        "unterminated_quote" => {
            assert_eq!(text.matches('"').count() % 2, 1, "{ctx}");
            assert_eq!(line, lines.len(), "{ctx}: the quote stays open to the end of the file");
        }
        "undecodable_bytes" => assert!(std::str::from_utf8(raw).is_err(), "{ctx}"),
        "unparsable_date" => {
            let v = field("date_ecriture").unwrap();
            assert!(parse_date(v, &conv.date_format).is_none(), "{ctx}");
        }
        "unparsable_number" => {
            let bad_int = ["exer_fin", "no_ligne"]
                .iter()
                .any(|c| field(c).is_some_and(|v| v.parse::<i64>().is_err()));
            let bad_money = field("montant").is_some_and(|v| cents(v, conv.decimal_comma).is_none());
            assert!(bad_int || bad_money, "{ctx}");
        }
        "out_of_domain" => {
            let ok = match table {
                "fin_ecriture" => field("fonds").is_some_and(|v| !["1", "2"].contains(&v)),
                "fin_budget" => field("version").is_some_and(|v| !["INITIAL", "REVISE"].contains(&v)),
                "fin_nomen_unit_adm" => {
                    field("eco_off").is_some_and(|v| v.len() != 6 || !v.bytes().all(|b| b.is_ascii_digit()))
                }
                "fin_nomen_activite" => {
                    field("code").is_some_and(|v| v.len() != 5 || !v.bytes().all(|b| b.is_ascii_digit()))
                }
                _ => field("code").is_some_and(|v| v.len() != 3 || !v.bytes().all(|b| b.is_ascii_digit())),
            };
            assert!(ok, "{ctx}");
        }
        "duplicate_key" => {
            let key: &[&str] = match table {
                "fin_ecriture" => &["exer_fin", "no_piece", "no_ligne"],
                "fin_budget" => &["exer_fin", "version", "fonds", "activite", "objet", "unite_adm"],
                "fin_nomen_unit_adm" => &["exer_fin", "code"],
                _ => &["code"],
            };
            let key_of = |f: &[String]| -> Vec<String> {
                key.iter()
                    .map(|k| f.get(col(k).unwrap()).cloned().unwrap_or_default())
                    .collect()
            };
            let me = key_of(&fields);
            let earlier = lines[1..line - 1].iter().any(|l| {
                let f = split_line(&decode(l, &conv.encoding), conv.delimiter);
                f.len() == header.len() && key_of(&f) == me && f != fields
            });
            assert!(earlier, "{ctx}");
        }
        other => panic!("unexpected kind {other} in {ctx}"),
    }
}

#[test]
fn bad_rows_of_every_kind_are_logged_at_their_line() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css = vec!["761000".into(), "881000".into(), "866000".into()];
    o.bad_rate = 0.01;
    o.conventions.insert(
        "761000".into(),
        ConventionOverrides {
            encoding: Some(Encoding::Utf8),
            ..Default::default()
        },
    );
    let s = generate(&o).unwrap();
    let truth = o.truth.clone().unwrap();
    let convs = convs(&truth);
    let bad = bad_lines(&truth);
    let mut kinds: HashMap<String, HashSet<String>> = HashMap::new();
    let mut n = 0u64;
    for ((css, file), list) in &bad {
        let table = file.trim_end_matches(".csv");
        if !CONTRACT.iter().any(|(t, _)| *t == table) {
            continue;
        }
        for (line, kind) in list {
            assert_line_is_bad(&dofin_dir(&o, css).join(file), &convs[css], table, *line, kind);
            kinds.entry(css.clone()).or_default().insert(kind.clone());
            n += 1;
        }
    }
    assert!(n > 0);
    for css in &s.css {
        let mut want = vec![
            "wrong_column_count",
            "unterminated_quote",
            "unparsable_date",
            "unparsable_number",
            "out_of_domain",
            "duplicate_key",
        ];
        if css == "761000" {
            want.push("undecodable_bytes");
        } else {
            assert!(!kinds[css].contains("undecodable_bytes"), "{css}");
        }
        for k in want {
            assert!(kinds[css].contains(k), "{css} lacks {k}");
        }
    }
    // counts.csv lists the Dofin tables with their bad rows.
    let mut r = csv::Reader::from_path(truth.join("counts.csv")).unwrap();
    let mut counted = 0u64;
    for rec in r.records() {
        let rec = rec.unwrap();
        if rec[1].starts_with("fin_") {
            counted += rec[3].parse::<u64>().unwrap();
        }
    }
    assert_eq!(counted, n);
}

#[test]
fn bad_rows_are_extra_rows_only() {
    let clean = tempfile::tempdir().unwrap();
    let dirty = tempfile::tempdir().unwrap();
    let oc = opts(clean.path());
    let mut od = opts(dirty.path());
    od.bad_rate = 0.03;
    let sc = generate(&oc).unwrap();
    generate(&od).unwrap();
    let bad = bad_lines(od.truth.as_ref().unwrap());
    for css in &sc.css {
        for (table, _) in CONTRACT {
            let file = format!("{table}.csv");
            let want = std::fs::read(dofin_dir(&oc, css).join(&file)).unwrap();
            let got = std::fs::read(dofin_dir(&od, css).join(&file)).unwrap();
            let skip: HashSet<usize> = bad
                .get(&(css.clone(), file.clone()))
                .map(|v| v.iter().map(|(l, _)| *l).collect())
                .unwrap_or_default();
            let mut kept: Vec<u8> = Vec::new();
            for (i, l) in got.split_inclusive(|b| *b == b'\n').enumerate() {
                if !skip.contains(&(i + 1)) {
                    kept.extend_from_slice(l);
                }
            }
            assert_eq!(kept, want, "{css} {file}");
        }
    }
}

#[test]
fn a_night_before_november_has_no_revised_budget_for_the_current_year() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css_count = 2;
    o.night = NaiveDate::from_ymd_opt(2025, 9, 15).unwrap();
    let s = generate(&o).unwrap();
    let truth = read_truth(o.truth.as_ref().unwrap());
    for css in &s.css {
        let has = |v: &str, y: i32| truth.keys().any(|k| &k.0 == css && k.1 == y && k.2 == v);
        assert!(has("INITIAL", 2025) && !has("REVISE", 2025), "{css}");
        assert!(has("REVISE", 2024) && has("REEL", 2025), "{css}");
    }
}
