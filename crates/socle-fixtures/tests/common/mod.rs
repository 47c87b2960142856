//! Helpers shared by the generator's integration tests: they read the written files back as a
//! connector would. Each test binary uses a part of them.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use socle_fixtures::{GenerateOptions, GenerateSummary, generate};

pub fn opts(dir: &Path) -> GenerateOptions {
    let mut o = GenerateOptions::default_for(dir.join("exports"));
    o.truth = Some(dir.join("truth"));
    o
}

pub fn run(o: &GenerateOptions) -> GenerateSummary {
    generate(o).expect("generation succeeds")
}

/// The conventions of one CSS as summary.json reports them.
#[derive(Debug, Clone)]
pub struct Conv {
    pub delimiter: u8,
    pub encoding: String,
    pub date_format: String,
    pub decimal_comma: bool,
    pub specials: BTreeMap<String, String>,
    pub course_codes: BTreeMap<String, String>,
    pub leg_num: String,
    pub leg_let: String,
    /// Absence reason code -> cpt_abs.
    pub motifs: BTreeMap<String, u8>,
    pub youth_system: String,
}

pub fn summary_json(truth: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(truth.join("summary.json")).unwrap()).unwrap()
}

pub fn convs(truth: &Path) -> BTreeMap<String, Conv> {
    let s = summary_json(truth);
    s["css"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let k = &c["conventions"];
            let map = |v: &serde_json::Value| -> BTreeMap<String, String> {
                v.as_object()
                    .unwrap()
                    .iter()
                    .map(|(a, b)| (a.clone(), b.as_str().unwrap().to_string()))
                    .collect()
            };
            (
                c["code_css"].as_str().unwrap().to_string(),
                Conv {
                    delimiter: k["delimiter"].as_str().unwrap().as_bytes()[0],
                    encoding: k["encoding"].as_str().unwrap().to_string(),
                    date_format: k["date_format"].as_str().unwrap().to_string(),
                    decimal_comma: k["decimal_separator"] == ",",
                    specials: map(&k["special_values"]),
                    course_codes: map(&k["course_codes"]),
                    leg_num: k["legends"]["numeric"].as_str().unwrap().to_string(),
                    leg_let: k["legends"]["letter"].as_str().unwrap().to_string(),
                    motifs: k["absence_reasons"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| {
                            (
                                m["code"].as_str().unwrap().to_string(),
                                m["cpt_abs"].as_u64().unwrap() as u8,
                            )
                        })
                        .collect(),
                    youth_system: c["youth_system"].as_str().unwrap().to_string(),
                },
            )
        })
        .collect()
}

pub fn night_dir(o: &GenerateOptions, css: &str) -> PathBuf {
    o.out.join(css).join(o.night.format("%Y-%m-%d").to_string())
}

pub fn gpi_dir(o: &GenerateOptions, css: &str) -> PathBuf {
    night_dir(o, css).join("gpi")
}

pub fn jade_dir(o: &GenerateOptions, css: &str) -> PathBuf {
    night_dir(o, css).join("jade")
}

pub fn mozaik_dir(o: &GenerateOptions, css: &str) -> PathBuf {
    night_dir(o, css).join("mozaik")
}

/// The system folder of a file named in `bad_rows.csv`, or `None` for a system these tests do
/// not cover (finance).
pub fn folder_of(file: &str) -> Option<&'static str> {
    if file.ends_with(".jsonl") {
        Some("mozaik")
    } else if file.starts_with("gpm_") {
        Some("gpi")
    } else if file.starts_with("e_") || file == "t_ecocen.csv" {
        Some("jade")
    } else {
        None
    }
}

/// Reads a CSV truth file as maps of column -> value.
pub fn read_truth(truth: &Path, file: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(truth.join(file)).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Reads a clean JSON Lines file.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| match serde_json::from_str(l).unwrap() {
            serde_json::Value::Object(m) => m,
            other => panic!("{}: not an object: {other}", path.display()),
        })
        .collect()
}

pub fn decode(bytes: &[u8], encoding: &str) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if encoding == "windows-1252" {
        encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
    pub fn get<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        &row[self.col(name)]
    }
}

/// Reads a clean table (bad_rate 0) with the CSS's delimiter and encoding.
pub fn read_table(dir: &Path, table: &str, conv: &Conv) -> Table {
    let bytes = std::fs::read(dir.join(format!("{table}.csv"))).unwrap();
    let text = decode(&bytes, &conv.encoding);
    let mut r = csv::ReaderBuilder::new()
        .delimiter(conv.delimiter)
        .from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(|h| h.to_lowercase()).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    Table { header, rows }
}

pub fn all_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
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

/// Extra columns a CSS may add to a table.
pub const EXTRAS: [&str; 5] = ["dt_maj", "usager_maj", "no_lot", "commentaire", "ind_synchro"];

pub fn keys_of(table: &str) -> &'static [&'static str] {
    match table {
        "gpm_t_eco" => &["id_eco"],
        "gpm_t_mat" => &["id_eco", "mat"],
        "gpm_t_mat_grp" => &["id_mat_grp"],
        "gpm_e_mat_ele" => &["id_mat_ele"],
        "gpm_t_leg" => &["id_eco", "leg"],
        "gpm_t_cotes" => &["id_eco", "leg", "cote"],
        "gpm_t_etape" => &["id_eco", "etape"],
        "gpm_t_cal" => &["id_eco", "date_evenement"],
        "gpm_e_abs" => &["fiche", "id_eco", "date_abs", "periode"],
        "gpm_t_motif_abs" => &["id_eco", "motif_abs"],
        "e_ele" => &["fiche"],
        "e_freq" => &["fiche", "annee", "ecocen", "prog", "datedeb"],
        "e_ri_resultats" => &["codeperm", "matcharl", "annee", "moissanct", "datehrerecup"],
        "e_ri_mentions" => &["codeperm", "progcharl", "typediplomecharl"],
        "t_ecocen" => &["ecocen"],
        _ => &[],
    }
}

pub fn parse_date(s: &str, format: &str) -> Option<NaiveDate> {
    let f = match format {
        "YYYY-MM-DD" => "%Y-%m-%d",
        "YYYYMMDD" => "%Y%m%d",
        _ => "%d/%m/%Y",
    };
    if s.len() != if format == "YYYYMMDD" { 8 } else { 10 } {
        return None;
    }
    NaiveDate::parse_from_str(s, f).ok()
}

/// A timestamp as JADE writes it: ISO (`T` or space) or day-first, seconds optional.
pub fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    None
}

pub fn split_line(line: &str, delimiter: u8) -> Vec<String> {
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

/// Checks that the physical line `line` of a file looks like a bad row of the given kind.
pub fn assert_line_is_bad(path: &Path, conv: &Conv, table: &str, line: usize, kind: &str) {
    let bytes = std::fs::read(path).unwrap();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes).to_vec();
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let raw = lines[line - 1];
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let text = decode(raw, &conv.encoding);
    let header: Vec<String> = split_line(
        &decode(lines[0].strip_suffix(b"\r").unwrap_or(lines[0]), &conv.encoding),
        conv.delimiter,
    )
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
            let rest: usize = lines[line..]
                .iter()
                .map(|l| l.iter().filter(|b| **b == b'"').count())
                .sum();
            assert_eq!(rest, 0, "{ctx}: the quote must stay open to the end of the file");
        }
        "undecodable_bytes" => assert!(std::str::from_utf8(raw).is_err(), "{ctx}"),
        "unparsable_date" => {
            let dates = [
                "date_naiss",
                "date_deb",
                "date_depart",
                "date_fin",
                "date_evenement",
                "date_abs",
                "datenaiss",
                "datedeb",
                "datefin",
                "dateobtmention",
            ];
            let bad_date = dates
                .iter()
                .any(|d| field(d).is_some_and(|v| !v.is_empty() && parse_date(v, &conv.date_format).is_none()));
            let bad_timestamp = field("datehrerecup").is_some_and(|v| parse_timestamp(v).is_none());
            assert!(bad_date || bad_timestamp, "{ctx}");
        }
        "unparsable_number" => {
            let ints = [
                "id_eco",
                "annee",
                "fiche",
                "id_mat_grp",
                "id_mat_ele",
                "etat",
                "unites_ele",
                "unites",
                "indic_reus_echec",
                "nb_jours_classe",
                "nb_periodes",
                "periode",
                "cpt_abs",
                "moissanct",
                "nbunitecharl",
            ];
            assert!(
                ints.iter()
                    .any(|d| field(d).is_some_and(|v| !v.is_empty() && v.parse::<u64>().is_err())),
                "{ctx}"
            );
        }
        "out_of_domain" => {
            let bad = [
                ("sexe", &["F", "M", "X"][..]),
                ("ordre_ens", &["1", "2", "3", "4"][..]),
                ("etat", &["0", "1", "5", "6", "8"][..]),
                ("indic_reus_echec", &["", "1", "2"][..]),
                ("etape", &["1", "2", "3"][..]),
                ("cpt_abs", &["1", "2", "3"][..]),
                ("serviceenseign", &["FGA", "FP"][..]),
                ("typefreq", &["FIN", "FRE"][..]),
                ("secteurenseignfreq", &["JE", "AD"][..]),
                ("indreussanctcharl", &["O", "N"][..]),
            ];
            let six_digits = |v: &str| v.len() == 6 && v.bytes().all(|b| b.is_ascii_digit());
            assert!(
                bad.iter().any(|(c, ok)| field(c).is_some_and(|v| !ok.contains(&v)))
                    || field("ecooff").is_some_and(|v| !six_digits(v)),
                "{ctx}"
            );
        }
        "duplicate_key" => {
            let keys = keys_of(table);
            assert!(!keys.is_empty(), "{ctx}");
            let key_of = |f: &[String]| -> Vec<String> {
                keys.iter()
                    .map(|k| f.get(col(k).unwrap()).cloned().unwrap_or_default())
                    .collect()
            };
            let me = key_of(&fields);
            let earlier = lines[1..line - 1].iter().any(|l| {
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                let f = split_line(&decode(l, &conv.encoding), conv.delimiter);
                f.len() == header.len() && key_of(&f) == me && f != fields
            });
            assert!(earlier, "{ctx}");
        }
        "unknown_result_code" => {
            let res = ["res_etape_01", "res_etape_02", "res_etape_03", "res_som"];
            assert!(
                res.iter()
                    .any(|c| field(c).is_some_and(|v| ["ZZ", "XQ", "??", "A++"].contains(&v))),
                "{ctx}"
            );
        }
        other => panic!("unknown kind {other}"),
    }
}
