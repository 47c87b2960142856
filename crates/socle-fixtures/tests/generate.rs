//! End-to-end tests of the generator: they read the written files back as a connector would.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use crate::common::*;
use chrono::NaiveDate;
use socle_fixtures::{ConventionOverrides, Encoding, generate, jade_table_names, table_names};

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let mut oa = opts(a.path());
    oa.bad_rate = 0.02;
    let mut ob = opts(b.path());
    ob.bad_rate = 0.02;
    let mut oc = opts(c.path());
    oc.bad_rate = 0.02;
    oc.seed = 7;
    let sa = run(&oa);
    let sb = run(&ob);
    run(&oc);
    assert_eq!(sa, sb);
    let fa = all_files(a.path());
    let fb = all_files(b.path());
    let fc = all_files(c.path());
    // 12 GPI and 5 JADE files per CSS, and the truth files (other systems may add theirs).
    let in_folder = |f: &str| fa.keys().filter(|p| p.parent().is_some_and(|d| d.ends_with(f))).count();
    assert_eq!(in_folder("gpi"), 36);
    assert_eq!(in_folder("jade"), 15);
    for t in [
        "personal.csv",
        "bad_rows.csv",
        "taux_reussite.csv",
        "counts.csv",
        "movers.csv",
        "sanctions.csv",
        "ministere.csv",
        "summary.json",
    ] {
        assert!(fa.contains_key(&Path::new("truth").join(t)), "truth/{t}");
    }
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    let summary = Path::new("truth/summary.json");
    for (path, bytes) in &fa {
        if path != summary {
            assert!(*bytes == fb[path], "{} differs between two runs", path.display());
        }
    }
    // summary.json only differs by the output folder.
    let strip = |dir: &Path| {
        let mut v = summary_json(&dir.join("truth"));
        v["options"]["out"] = serde_json::Value::Null;
        v
    };
    assert_eq!(strip(a.path()), strip(b.path()));
    let differing = fa
        .iter()
        .filter(|(p, bytes)| fc.get(*p).is_none_or(|other| other != *bytes))
        .count();
    assert!(differing > 30, "another seed changes the files ({differing} differ)");
}

#[test]
fn every_table_has_the_contract_header() {
    let d = tempfile::tempdir().unwrap();
    let o = opts(d.path());
    let s = run(&o);
    assert!(s.files >= 36 + 15, "{} files", s.files);
    assert_eq!(table_names().len(), 12);
    assert_eq!(jade_table_names().len(), 5);
    let extras = EXTRAS;
    let convs = convs(o.truth.as_ref().unwrap());
    let mut padded = 0;
    for css in &s.css {
        let conv = &convs[css];
        let mat = read_table(&gpi_dir(&o, css), "gpm_t_mat", conv);
        padded += mat
            .rows
            .iter()
            .filter(|r| mat.get(r, "mat") != mat.get(r, "mat").trim())
            .count();
        for t in table_names() {
            let table = read_table(&gpi_dir(&o, css), t, conv);
            let contract = socle_fixtures::table_columns(t).unwrap();
            let mut got: Vec<&str> = table
                .header
                .iter()
                .map(String::as_str)
                .filter(|h| !extras.contains(h))
                .collect();
            got.sort_unstable();
            let mut want = contract.to_vec();
            want.sort_unstable();
            assert_eq!(got, want, "{css} {t}");
            assert!(!table.rows.is_empty(), "{css} {t} is empty");
            assert!(table.rows.iter().all(|r| r.len() == table.header.len()));
        }
    }
    assert!(padded > 0, "a few course codes carry stray spaces");
}

#[test]
fn conventions_differ_across_the_first_three_css() {
    let d = tempfile::tempdir().unwrap();
    let o = opts(d.path());
    let s = run(&o);
    let convs = convs(o.truth.as_ref().unwrap());
    let first: Vec<&Conv> = s.css.iter().take(3).map(|c| &convs[c]).collect();
    assert_eq!(first.len(), 3);
    for (i, a) in first.iter().enumerate() {
        for b in &first[i + 1..] {
            assert_ne!(a.delimiter, b.delimiter);
            assert_ne!(a.encoding, b.encoding);
            assert_ne!(a.date_format, b.date_format);
        }
    }
    assert!(first.iter().any(|c| c.delimiter == b';'));
    // The files really are written that way.
    for (css, conv) in s.css.iter().zip(&first) {
        let bytes = std::fs::read(gpi_dir(&o, css).join("gpm_e_ele.csv")).unwrap();
        assert_eq!(bytes.starts_with(b"\xEF\xBB\xBF"), conv.encoding == "utf-8-bom");
        assert_eq!(
            std::str::from_utf8(&bytes).is_ok(),
            conv.encoding != "windows-1252",
            "{css}"
        );
        let first_line = bytes.split(|b| *b == b'\n').next().unwrap();
        assert!(first_line.contains(&conv.delimiter));
    }
}

#[test]
fn bad_rows_of_every_kind_are_listed_at_their_line() {
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
    let s = run(&o);
    assert!(s.bad_rows > 0);
    let truth = o.truth.clone().unwrap();
    let convs = convs(&truth);
    let mut r = csv::Reader::from_path(truth.join("bad_rows.csv")).unwrap();
    let mut kinds: HashMap<String, HashSet<String>> = HashMap::new();
    let mut tables: HashMap<String, HashSet<String>> = HashMap::new();
    let mut jade_kinds: HashMap<String, HashSet<String>> = HashMap::new();
    let mut n = 0u64;
    for rec in r.records() {
        let rec = rec.unwrap();
        let (css, file, line, kind) = (&rec[0], &rec[1], rec[2].parse::<usize>().unwrap(), &rec[3]);
        let table = file.trim_end_matches(".csv");
        let Some(folder) = folder_of(file) else {
            continue;
        };
        assert_line_is_bad(
            &night_dir(&o, css).join(folder).join(file),
            &convs[css],
            table,
            line,
            kind,
        );
        n += 1;
        if folder == "jade" {
            jade_kinds.entry(css.to_string()).or_default().insert(kind.to_string());
        }
        kinds.entry(css.to_string()).or_default().insert(kind.to_string());
        tables.entry(css.to_string()).or_default().insert(file.to_string());
    }
    assert!(n > 0);
    // No file of a night is empty or cut (its last record without a line end): those fail their
    // whole source, they are not bad rows of an ordinary night.
    let mut files = 0;
    for css in &s.css {
        for folder in ["gpi", "mozaik", "jade", "dofin"] {
            let Ok(entries) = std::fs::read_dir(night_dir(&o, css).join(folder)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                assert!(bytes.ends_with(b"\n"), "{} is cut", path.display());
                files += 1;
            }
        }
    }
    assert!(files > 3 * 20, "{files} files");
    for css in &s.css {
        let mut want = vec![
            "wrong_column_count",
            "unterminated_quote",
            "unparsable_date",
            "unparsable_number",
            "out_of_domain",
            "duplicate_key",
            "unknown_result_code",
        ];
        if css == "761000" {
            want.push("undecodable_bytes");
        } else {
            assert!(!kinds[css].contains("undecodable_bytes"), "{css}");
        }
        for k in &want {
            assert!(kinds[css].contains(*k), "{css} lacks {k}");
        }
        // JADE gets every CSV kind but unknown result codes (its results are not read through
        // legends).
        for k in want.iter().filter(|k| **k != "unknown_result_code") {
            assert!(jade_kinds[css].contains(*k), "{css}: JADE lacks {k}");
        }
        assert!(!jade_kinds[css].contains("unknown_result_code"));
        assert!(tables[css].len() >= 6, "{css}: bad rows in too few tables");
    }
    // counts.csv agrees.
    let mut r = csv::Reader::from_path(truth.join("counts.csv")).unwrap();
    let total: u64 = r.records().map(|x| x.unwrap()[3].parse::<u64>().unwrap()).sum();
    assert_eq!(total, s.bad_rows);
    let listed = read_truth(&truth, "bad_rows.csv").len() as u64;
    assert_eq!(listed, s.bad_rows);
}

#[test]
fn bad_rows_are_extra_rows_only() {
    let clean = tempfile::tempdir().unwrap();
    let dirty = tempfile::tempdir().unwrap();
    let oc = opts(clean.path());
    let mut od = opts(dirty.path());
    od.bad_rate = 0.03;
    let sc = run(&oc);
    let sd = run(&od);
    assert_eq!(sc.rows, sd.rows);
    let mut bad: HashMap<(String, String), Vec<usize>> = HashMap::new();
    let mut r = csv::Reader::from_path(od.truth.as_ref().unwrap().join("bad_rows.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        bad.entry((rec[0].to_string(), rec[1].to_string()))
            .or_default()
            .push(rec[2].parse().unwrap());
    }
    let files = table_names()
        .into_iter()
        .map(|t| ("gpi", t))
        .chain(jade_table_names().into_iter().map(|t| ("jade", t)));
    for css in &sc.css {
        for (folder, t) in files.clone() {
            let file = format!("{t}.csv");
            let want = std::fs::read(night_dir(&oc, css).join(folder).join(&file)).unwrap();
            let got = std::fs::read(night_dir(&od, css).join(folder).join(&file)).unwrap();
            let skip: HashSet<usize> = bad
                .get(&(css.clone(), file.clone()))
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect();
            let mut kept: Vec<u8> = Vec::new();
            let parts: Vec<&[u8]> = got.split_inclusive(|b| *b == b'\n').collect();
            for (i, l) in parts.iter().enumerate() {
                if !skip.contains(&(i + 1)) {
                    kept.extend_from_slice(l);
                }
            }
            assert_eq!(kept, want, "{css} {file}");
        }
    }
}

/// Recounts taux_reussite.csv from the written files, as formats/README.md says to read them.
#[test]
fn truth_matches_a_recount_of_the_written_results() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.students = 450;
    for c in ["761000", "881000", "866000"] {
        o.css.push(c.to_string());
        o.conventions.insert(
            c.to_string(),
            ConventionOverrides {
                encoding: Some(Encoding::Utf8),
                ..Default::default()
            },
        );
    }
    let ov = o.conventions.get_mut("866000").unwrap();
    ov.special_values.insert("absent".into(), "AB".into());
    ov.course_codes.insert("FRA400".into(), "FR-4".into());
    ov.course_codes.insert("132406".into(), "FRA406".into());
    ov.course_codes.insert("063126".into(), "MAT106".into());
    let s = run(&o);
    let truth_dir = o.truth.clone().unwrap();
    let convs = convs(&truth_dir);
    assert!(
        s.css
            .iter()
            .any(|c| convs[c].delimiter == b';' && convs[c].encoding == "utf-8")
    );
    assert_eq!(convs["866000"].specials["absent"], "AB");

    let mut expected: BTreeMap<(String, String, String, String, String), Vec<u64>> = BTreeMap::new();
    let mut r = csv::Reader::from_path(truth_dir.join("taux_reussite.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let key = (
            rec[0].to_string(),
            rec[1].to_string(),
            rec[2].to_string(),
            rec[3].to_string(),
            rec[4].to_string(),
        );
        expected.insert(key, (5..12).map(|i| rec[i].parse().unwrap()).collect());
    }
    assert!(!expected.is_empty());

    let mut recount: BTreeMap<(String, String, String, String, String), Vec<u64>> = BTreeMap::new();
    let mut saw_local = (false, false);
    for css in &s.css {
        let conv = &convs[css];
        let dir = gpi_dir(&o, css);
        let reverse: HashMap<&str, &str> = conv
            .course_codes
            .iter()
            .map(|(k, v)| (v.as_str(), k.as_str()))
            .collect();
        let eco = read_table(&dir, "gpm_t_eco", conv);
        let schools: HashMap<String, (String, String, bool)> = eco
            .rows
            .iter()
            .map(|r| {
                let y: i32 = eco.get(r, "annee").parse().unwrap();
                (
                    eco.get(r, "id_eco").to_string(),
                    (
                        format!("{y}-{}", y + 1),
                        eco.get(r, "eco_off").to_string(),
                        eco.get(r, "indic_eco_bidon") == "1",
                    ),
                )
            })
            .collect();
        let grp = read_table(&dir, "gpm_t_mat_grp", conv);
        let legends: HashMap<String, (String, [String; 4])> = grp
            .rows
            .iter()
            .map(|r| {
                let l = |c: &str| grp.get(r, c).to_string();
                (
                    l("id_mat_grp"),
                    (
                        l("id_eco"),
                        [l("leg_etape_01"), l("leg_etape_02"), l("leg_etape_03"), l("leg_som")],
                    ),
                )
            })
            .collect();
        let cotes = read_table(&dir, "gpm_t_cotes", conv);
        let codes: HashMap<(String, String, String), String> = cotes
            .rows
            .iter()
            .map(|r| {
                (
                    (
                        cotes.get(r, "id_eco").into(),
                        cotes.get(r, "leg").into(),
                        cotes.get(r, "cote").into(),
                    ),
                    cotes.get(r, "indic_reus_echec").to_string(),
                )
            })
            .collect();
        let legt = read_table(&dir, "gpm_t_leg", conv);
        let seuils: HashMap<(String, String), f64> = legt
            .rows
            .iter()
            .map(|r| {
                (
                    (legt.get(r, "id_eco").into(), legt.get(r, "leg").into()),
                    legt.get(r, "seuil_reus").replace(',', ".").parse().unwrap(),
                )
            })
            .collect();
        let specials: HashMap<&str, usize> = [("absent", 2), ("exempte", 3), ("non_evalue", 4), ("non_applicable", 5)]
            .iter()
            .map(|(k, i)| (conv.specials[*k].as_str(), *i))
            .collect();
        let res = read_table(&dir, "gpm_e_mat_ele", conv);
        for row in &res.rows {
            let g = res.get(row, "grp").trim();
            let etat = res.get(row, "etat");
            let (annee, eco_off, bidon) = &schools[res.get(row, "id_eco")];
            if g.starts_with(|c: char| c.is_ascii_alphabetic()) || etat == "0" || *bidon {
                continue;
            }
            let mat = res.get(row, "mat").trim();
            if mat == "FR-4" {
                saw_local.0 = true;
            }
            if mat == "FRA406" {
                saw_local.1 = true;
            }
            let canon = reverse.get(mat).copied().unwrap_or(mat).to_string();
            let (id_eco, legs) = &legends[res.get(row, "id_mat_grp")];
            for (k, (cell_col, etape)) in [
                ("res_etape_01", "1"),
                ("res_etape_02", "2"),
                ("res_etape_03", "3"),
                ("res_som", "final"),
            ]
            .iter()
            .enumerate()
            {
                let cell = res.get(row, cell_col).trim();
                let counts = recount
                    .entry((
                        annee.clone(),
                        css.clone(),
                        eco_off.clone(),
                        canon.clone(),
                        etape.to_string(),
                    ))
                    .or_insert_with(|| vec![0; 7]);
                let leg = &legs[k];
                if let Some(indic) = codes.get(&(id_eco.clone(), leg.clone(), cell.to_string())) {
                    match indic.as_str() {
                        "1" => {
                            counts[0] += 1;
                            counts[1] += 1;
                        }
                        "2" => counts[0] += 1,
                        _ => counts[4] += 1,
                    }
                } else if let Ok(x) = cell.replace(',', ".").parse::<f64>() {
                    counts[0] += 1;
                    if x >= seuils[&(id_eco.clone(), leg.clone())] {
                        counts[1] += 1;
                    }
                } else if let Some(i) = specials.get(cell) {
                    counts[*i] += 1;
                } else if cell.is_empty() {
                    counts[6] += 1;
                } else {
                    panic!("{css}: unreadable result {cell:?}");
                }
            }
        }
        // Letter legends are used somewhere.
        assert!(legends.values().any(|(_, l)| l.contains(&conv.leg_let)), "{css}");
    }
    assert!(saw_local.0 && saw_local.1, "local course codes written");
    assert_eq!(recount, expected);
    assert!(expected.keys().all(|k| !k.3.starts_with(' ') && !k.3.ends_with(' ')));
    assert!(expected.keys().any(|k| k.3 == "FRA400") && expected.keys().any(|k| k.3 == "132406"));
    // Proportions look like a school: about 10% failing, some absents.
    let sum = |i: usize| expected.values().map(|v| v[i]).sum::<u64>() as f64;
    let fail = 1.0 - sum(1) / sum(0);
    assert!((0.04..0.25).contains(&fail), "failing share {fail}");
    assert!(sum(2) > 0.0 && sum(6) > 0.0);
}

#[test]
fn current_year_results_are_blank_after_the_night() {
    let d = tempfile::tempdir().unwrap();
    let o = opts(d.path());
    let s = run(&o);
    let convs = convs(o.truth.as_ref().unwrap());
    for css in &s.css {
        let conv = &convs[css];
        let dir = gpi_dir(&o, css);
        let eco = read_table(&dir, "gpm_t_eco", conv);
        let current: HashSet<&str> = eco
            .rows
            .iter()
            .filter(|r| eco.get(r, "annee") == "2025")
            .map(|r| eco.get(r, "id_eco"))
            .collect();
        let res = read_table(&dir, "gpm_e_mat_ele", conv);
        let mut filled_first = 0;
        for r in &res.rows {
            if current.contains(res.get(r, "id_eco")) {
                assert_eq!(res.get(r, "res_etape_02"), "");
                assert_eq!(res.get(r, "res_etape_03"), "");
                assert_eq!(res.get(r, "res_som"), "");
                filled_first += usize::from(!res.get(r, "res_etape_01").is_empty());
            }
        }
        assert!(filled_first > 0, "{css}: étape 1 of 2025-2026 ended before the night");
    }
}

#[test]
fn codes_permanents_are_unique_and_well_formed() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.students = 600;
    let s = run(&o);
    let truth = o.truth.clone().unwrap();
    let mut r = csv::Reader::from_path(truth.join("personal.csv")).unwrap();
    let mut seen = HashSet::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let cp = rec[0].to_string();
        assert_eq!(cp.len(), 12);
        assert!(cp[..4].bytes().all(|b| b.is_ascii_uppercase()), "{cp}");
        assert!(cp[4..].bytes().all(|b| b.is_ascii_digit()), "{cp}");
        assert!(NaiveDate::parse_from_str(&rec[3], "%Y-%m-%d").is_ok());
        assert!(seen.insert(cp));
    }
    // Youth students and the adults of JADE never in the youth sector.
    assert_eq!(seen.len() as u64, s.students + s.adults);
    assert_eq!(s.students, 600);
    assert!(s.adults > 0);
    // Every e_ele row is a known student; a few students appear in two CSS (moves).
    let convs = convs(&truth);
    let mut css_of: HashMap<String, HashSet<String>> = HashMap::new();
    for css in &s.css {
        let t = read_table(&gpi_dir(&o, css), "gpm_e_ele", &convs[css]);
        let mut fiches = HashSet::new();
        let mut in_file = HashSet::new();
        for r in &t.rows {
            let cp = t.get(r, "code_perm");
            assert!(seen.contains(cp));
            assert!(in_file.insert(cp.to_string()));
            assert!(fiches.insert(t.get(r, "fiche").to_string()));
            assert!(["F", "M", "X"].contains(&t.get(r, "sexe")));
            css_of.entry(cp.to_string()).or_default().insert(css.clone());
        }
    }
    assert!(css_of.values().any(|c| c.len() == 2), "some students change CSS");
}

#[test]
fn only_registry_establishment_codes_are_used() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css_count = 5;
    o.students = 500;
    let s = run(&o);
    let registry = socle_core::Registry::embedded().unwrap();
    let convs = convs(o.truth.as_ref().unwrap());
    for css in &s.css {
        let org = registry.organisation(css).unwrap();
        assert_ne!(org.kind, "Particulière");
        let t = read_table(&gpi_dir(&o, css), "gpm_t_eco", &convs[css]);
        let mut dummies = HashMap::new();
        for r in &t.rows {
            assert_eq!(t.get(r, "org"), css);
            let est = &registry.establishments[t.get(r, "eco_off")];
            assert_eq!(&est.css, css);
            assert!(est.primary || est.secondary);
            assert_eq!(t.get(r, "eco").len(), 3);
            if t.get(r, "indic_eco_bidon") == "1" {
                *dummies.entry(t.get(r, "annee").to_string()).or_insert(0) += 1;
            } else {
                assert_eq!(t.get(r, "nom_eco"), est.name);
            }
        }
        assert_eq!(dummies.len(), 2);
        assert!(dummies.values().all(|n| *n == 1));
    }
}

#[test]
fn absences_fall_on_school_days_with_unique_keys() {
    let d = tempfile::tempdir().unwrap();
    let o = opts(d.path());
    let s = run(&o);
    let convs = convs(o.truth.as_ref().unwrap());
    for css in &s.css {
        let conv = &convs[css];
        let dir = gpi_dir(&o, css);
        let cal = read_table(&dir, "gpm_t_cal", conv);
        let days: HashMap<(String, String), (String, u32)> = cal
            .rows
            .iter()
            .map(|r| {
                (
                    (
                        cal.get(r, "id_eco").to_string(),
                        cal.get(r, "date_evenement").to_string(),
                    ),
                    (
                        cal.get(r, "jour_cycle").to_string(),
                        cal.get(r, "nb_periodes").parse().unwrap(),
                    ),
                )
            })
            .collect();
        let motifs = read_table(&dir, "gpm_t_motif_abs", conv);
        let codes: HashSet<(String, String)> = motifs
            .rows
            .iter()
            .map(|r| {
                (
                    motifs.get(r, "id_eco").to_string(),
                    motifs.get(r, "motif_abs").to_string(),
                )
            })
            .collect();
        let abs = read_table(&dir, "gpm_e_abs", conv);
        assert!(abs.rows.len() > 100);
        let mut keys = HashSet::new();
        for r in &abs.rows {
            let id_eco = abs.get(r, "id_eco").to_string();
            let (cycle, periods) = &days[&(id_eco.clone(), abs.get(r, "date_abs").to_string())];
            assert!(!cycle.is_empty());
            let p: u32 = abs.get(r, "periode").parse().unwrap();
            assert!((1..=*periods).contains(&p));
            assert!(codes.contains(&(id_eco, abs.get(r, "motif_abs").to_string())));
            assert!(keys.insert((
                abs.get(r, "fiche").to_string(),
                abs.get(r, "id_eco").to_string(),
                abs.get(r, "date_abs").to_string(),
                p
            )));
            let date = parse_date(abs.get(r, "date_abs"), &conv.date_format).unwrap();
            assert!(date <= o.night);
        }
        let etapes = read_table(&dir, "gpm_t_etape", conv);
        for r in &etapes.rows {
            let n: u32 = etapes.get(r, "nb_jours_classe").parse().unwrap();
            assert!((45..=75).contains(&n));
        }
    }
}

#[test]
fn invalid_options_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css = vec!["123000".into()];
    assert!(matches!(
        generate(&o),
        Err(socle_fixtures::GenerateError::UnknownCss(_))
    ));
    let mut o = opts(d.path());
    o.years = 0;
    assert!(generate(&o).is_err());
    let mut o = opts(d.path());
    o.years = 11;
    assert!(generate(&o).is_err());
    let mut o = opts(d.path());
    o.css_count = 0;
    assert!(generate(&o).is_err());
    let mut o = opts(d.path());
    o.truth = Some(o.out.join("truth"));
    assert!(generate(&o).is_err());
    let mut o = opts(d.path());
    o.conventions.insert("866000".into(), ConventionOverrides::default());
    o.conventions
        .get_mut("866000")
        .unwrap()
        .special_values
        .insert("en_cours".into(), "EC".into());
    // Statuses the generator does not write are ignored, not refused.
    assert!(generate(&o).is_ok());
}
