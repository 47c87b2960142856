//! End to end, the rule of JADE facts about another CSS's establishment (`schemas/entities/
//! resultat_ministere.yaml`, `sanction.yaml`): the ministry results and diplomas of some students
//! of CSS 866000, taken out of its JADE export and given to CSS 881000 only, or given to both,
//! leave the province's marts exactly as when 866000 alone received them: each fact counted once,
//! never lost to the quarantine.

use crate::common::{copy_dir, load, query_csv, socle, text};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CSS: [&str; 2] = ["866000", "881000"];
/// The marts that read `resultat_ministere` or `sanction`.
const MARTS: [&str; 3] = ["epreuves_ministerielles", "sorties_sans_diplome", "diplomation_cohorte"];

/// Every row of the marts in the CSS zones (exact figures), sorted, per mart.
fn marts(warehouse: &Path) -> BTreeMap<&'static str, Vec<String>> {
    MARTS
        .iter()
        .map(|m| {
            let mut rows: Vec<String> = CSS
                .iter()
                .flat_map(|c| query_csv(warehouse, Some(c), &format!("SELECT * FROM {m}")))
                .map(|r| format!("{r:?}"))
                .collect();
            rows.sort();
            (*m, rows)
        })
        .collect()
}

/// A JADE file of one CSS: its header, delimiter, line ending and lines (clean exports: one
/// record per line, ASCII in the columns read here).
struct JadeFile {
    path: PathBuf,
    delimiter: u8,
    crlf: bool,
    header: Vec<String>,
    lines: Vec<String>,
}

impl JadeFile {
    fn open(path: PathBuf) -> Self {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let crlf = text.contains("\r\n");
        let mut lines: Vec<String> = text
            .trim_start_matches('\u{feff}')
            .split('\n')
            .map(|l| l.trim_end_matches('\r').to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let head = lines.remove(0);
        let delimiter = [b';', b',', b'|', b'\t']
            .into_iter()
            .max_by_key(|d| head.bytes().filter(|b| b == d).count())
            .unwrap();
        let header = Self::fields(&head, delimiter)
            .into_iter()
            .map(|h| h.trim().to_lowercase())
            .collect();
        JadeFile {
            path,
            delimiter,
            crlf,
            header,
            lines,
        }
    }

    fn fields(line: &str, delimiter: u8) -> Vec<String> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .from_reader(line.as_bytes());
        r.records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect()
    }

    /// A line as column -> value.
    fn record(&self, line: &str) -> BTreeMap<String, String> {
        self.header
            .iter()
            .cloned()
            .zip(Self::fields(line, self.delimiter))
            .collect()
    }

    /// A record of another CSS's file written in this file's conventions (columns it lacks empty).
    fn line_of(&self, record: &BTreeMap<String, String>) -> String {
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .from_writer(Vec::new());
        w.write_record(self.header.iter().map(|h| record.get(h).cloned().unwrap_or_default()))
            .unwrap();
        String::from_utf8(w.into_inner().unwrap())
            .unwrap()
            .trim_end()
            .to_string()
    }

    fn save(&self) {
        let bytes = std::fs::read(&self.path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let head = text.split('\n').next().unwrap().trim_end_matches('\r');
        let end = if self.crlf { "\r\n" } else { "\n" };
        let mut out = String::from(head);
        out.push_str(end);
        for l in &self.lines {
            out.push_str(l);
            out.push_str(end);
        }
        std::fs::write(&self.path, out).unwrap();
    }
}

fn night(exports: &Path, css: &str) -> PathBuf {
    std::fs::read_dir(exports.join(css))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// Moves (or copies) the `e_ri_resultats` and `e_ri_mentions` lines of `students` from 866000's
/// export to 881000's. Returns the number of (student, course, year, session) results and of
/// diploma lines given to 881000.
fn give_to_881000(exports: &Path, students: &BTreeSet<String>, keep_in_866000: bool) -> (usize, usize) {
    let mut given = (0, 0);
    for name in ["e_ri_resultats.csv", "e_ri_mentions.csv"] {
        let mut from = JadeFile::open(night(exports, "866000").join("jade").join(name));
        let mut to = JadeFile::open(night(exports, "881000").join("jade").join(name));
        let mut results = BTreeSet::new();
        let mut kept = Vec::new();
        for line in &from.lines {
            let r = from.record(line);
            if students.contains(&r["codeperm"]) {
                to.lines.push(to.line_of(&r));
                if name == "e_ri_mentions.csv" {
                    given.1 += 1;
                } else {
                    results.insert([&r["codeperm"], &r["matcharl"], &r["annee"], &r["moissanct"]].map(|s| s.clone()));
                }
                if keep_in_866000 {
                    kept.push(line.clone());
                }
            } else {
                kept.push(line.clone());
            }
        }
        if name == "e_ri_resultats.csv" {
            given.0 = results.len();
        }
        from.lines = kept;
        from.save();
        to.save();
    }
    given
}

/// The quality report of a CSS (a warehouse of one run).
fn quality(warehouse: &Path, css: &str) -> serde_json::Value {
    let runs: Vec<PathBuf> = std::fs::read_dir(warehouse.join("_socle/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    serde_json::from_str(&std::fs::read_to_string(runs[0].join(format!("{css}-quality.json"))).unwrap()).unwrap()
}

fn quality_anomaly(warehouse: &Path, css: &str, name: &str) -> u64 {
    quality(warehouse, css)["anomalies"]["jade"][name].as_u64().unwrap_or(0)
}

#[test]
fn a_jade_fact_about_another_css_is_counted_once_whoever_received_it() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("exports");
    let o = socle(&[
        "generate",
        "--out",
        base.to_str().unwrap(),
        "--css",
        &CSS.join(","),
        "--students",
        "400",
        "--years",
        "2",
        "--seed",
        "12",
        "--night",
        "2025-11-20",
        "--bad-rate",
        "0",
    ]);
    assert!(o.status.success(), "{}", text(&o));

    // Students of 866000 with an obtained diploma and a June ministry result.
    let mentions = JadeFile::open(night(&base, "866000").join("jade/e_ri_mentions.csv"));
    let results = JadeFile::open(night(&base, "866000").join("jade/e_ri_resultats.csv"));
    let with_results: BTreeSet<String> = results
        .lines
        .iter()
        .map(|l| results.record(l))
        .filter(|r| r["moissanct"] == "6")
        .map(|r| r["codeperm"].clone())
        .collect();
    let students: BTreeSet<String> = mentions
        .lines
        .iter()
        .map(|l| mentions.record(l))
        .filter(|r| r["indreussanctcharl"] == "O" && with_results.contains(&r["codeperm"]))
        .map(|r| r["codeperm"].clone())
        .take(6)
        .collect();
    assert_eq!(students.len(), 6, "too few students with a diploma and a June result");

    // The reference: 866000 alone received them.
    let wh_base = tmp.path().join("wh-base");
    let o = load(&base, &wh_base, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let expected = marts(&wh_base);
    for m in MARTS {
        assert!(!expected[m].is_empty(), "{m} is empty");
    }
    let shared_diplomas = |wh: &Path| {
        query_csv(wh, None, "SELECT count(*) AS n FROM sanction")[0]["n"]
            .parse::<usize>()
            .unwrap()
    };
    let diplomas_base = shared_diplomas(&wh_base);

    for keep_in_866000 in [false, true] {
        let exports = tmp.path().join(format!("exports-{keep_in_866000}"));
        copy_dir(&base, &exports);
        let (results_given, diplomas_given) = give_to_881000(&exports, &students, keep_in_866000);
        assert!(
            results_given >= 6 && diplomas_given >= 6,
            "{results_given} {diplomas_given}"
        );
        let wh = tmp.path().join(format!("wh-{keep_in_866000}"));
        let o = load(&exports, &wh, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let what = if keep_in_866000 {
            "received by both CSS"
        } else {
            "received by 881000 only"
        };
        // Loaded in 881000, with the establishment they name, flagged; nothing quarantined.
        let report = quality(&wh, "881000");
        for entity in ["resultat_ministere", "sanction"] {
            let e = &report["entites"][entity];
            assert!(e["lignes_chargees"].as_u64().unwrap() > 0, "{entity}: {what}");
            assert_eq!(e["lignes_chargees"], e["lignes_entree"], "{entity} quarantined: {what}");
        }
        let loaded = query_csv(
            &wh,
            Some("881000"),
            "SELECT count(*) AS n FROM sanction WHERE code_etablissement LIKE '866%'",
        );
        assert_eq!(loaded[0]["n"], diplomas_given.to_string(), "{what}");
        assert_eq!(
            quality_anomaly(&wh, "881000", "sanctions_autre_css"),
            diplomas_given as u64,
            "{what}"
        );
        assert_eq!(
            quality_anomaly(&wh, "881000", "resultats_ministere_autre_css"),
            results_given as u64,
            "{what}"
        );
        assert_eq!(quality_anomaly(&wh, "866000", "sanctions_autre_css"), 0, "{what}");
        // The shared zone keeps each copy as received; the marts count each fact once.
        let extra = if keep_in_866000 { diplomas_given } else { 0 };
        assert_eq!(shared_diplomas(&wh), diplomas_base + extra, "{what}");
        let got = marts(&wh);
        for m in MARTS {
            assert_eq!(got[m], expected[m], "{m}, facts {what}");
        }
    }
}
