//! JADE exports: the contract's columns, real centres, post-youth trajectories consistent with
//! the youth facts, ministry results that follow the youth final results, and the truth files
//! (sanctions, ministere, movers) recounted from the written files.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::common::*;
use chrono::Datelike;
use socle_core::Registry;
use socle_fixtures::{GenerateOptions, MozaikSelection, jade_table_names};

/// The JADE contract's columns (formats/jade.md).
const CONTRACT: [(&str, &[&str]); 5] = [
    ("e_ele", &["fiche", "codeperm", "nom", "pnom", "datenaiss", "sexe"]),
    (
        "e_freq",
        &[
            "fiche",
            "annee",
            "ecocen",
            "prog",
            "datedeb",
            "org",
            "serviceenseign",
            "typefreq",
            "datefin",
            "motifdep",
        ],
    ),
    (
        "e_ri_resultats",
        &[
            "codeperm",
            "fiche",
            "ecocenoff",
            "matcharl",
            "annee",
            "moissanct",
            "resecobrute",
            "resecomod",
            "resoffbrute",
            "resofffinal",
            "indreuscharl",
            "nbunitecharl",
            "typeformcharl",
            "secteurenseignfreq",
            "datehrerecup",
        ],
    ),
    (
        "e_ri_mentions",
        &[
            "codeperm",
            "fiche",
            "ecocenoff",
            "progcharl",
            "typediplomecharl",
            "indreussanctcharl",
            "dateobtmention",
        ],
    ),
    ("t_ecocen", &["ecocen", "ecooff", "descr"]),
];

/// Ministry courses of sec 4 and 5 with an exam in the registry sample.
const MINISTRY: [&str; 10] = [
    "132506", "134504", "136506", "063414", "064426", "065426", "055444", "057416", "085404", "087404",
];

fn number(s: &str) -> Option<f64> {
    s.trim().replace(',', ".").parse().ok()
}

#[test]
fn jade_files_have_the_contract_columns_and_real_centres() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css = vec!["866000".into(), "881000".into(), "751000".into()];
    o.students = 900;
    o.years = 4;
    o.mozaik = MozaikSelection::Codes(vec!["881000".into()]);
    let s = run(&o);
    let truth = o.truth.clone().unwrap();
    let convs = convs(&truth);
    let registry = Registry::embedded().unwrap();
    assert_eq!(jade_table_names(), CONTRACT.iter().map(|(t, _)| *t).collect::<Vec<_>>());
    for css in &s.css {
        let conv = &convs[css];
        let dir = jade_dir(&o, css);
        for (t, cols) in CONTRACT {
            let table = read_table(&dir, t, conv);
            let mut got: Vec<&str> = table
                .header
                .iter()
                .map(String::as_str)
                .filter(|h| !EXTRAS.contains(h))
                .collect();
            got.sort_unstable();
            let mut want = cols.to_vec();
            want.sort_unstable();
            assert_eq!(got, want, "{css} {t}");
            assert!(!table.rows.is_empty(), "{css} {t} is empty");
            assert!(table.rows.iter().all(|r| r.len() == table.header.len()));
        }
        // Centres: every adult or vocational establishment of the CSS, none other.
        let cen = read_table(&dir, "t_ecocen", conv);
        let centres: HashMap<String, String> = cen
            .rows
            .iter()
            .map(|r| (cen.get(r, "ecocen").to_string(), cen.get(r, "ecooff").to_string()))
            .collect();
        let want: BTreeSet<String> = registry
            .establishments_of(css)
            .filter(|e| e.adult || e.vocational)
            .map(|e| e.code.clone())
            .collect();
        assert_eq!(centres.values().cloned().collect::<BTreeSet<_>>(), want, "{css}");
        for r in &cen.rows {
            assert_eq!(cen.get(r, "descr"), registry.establishments[cen.get(r, "ecooff")].name);
        }
        // Students and spells.
        let ele = read_table(&dir, "e_ele", conv);
        let fiches: HashSet<&str> = ele.rows.iter().map(|r| ele.get(r, "fiche")).collect();
        assert_eq!(fiches.len(), ele.rows.len(), "{css}: JADE fiches are unique");
        let freq = read_table(&dir, "e_freq", conv);
        let mut services = BTreeSet::new();
        for r in &freq.rows {
            assert!(fiches.contains(freq.get(r, "fiche")));
            assert_eq!(freq.get(r, "org"), css);
            let est = &registry.establishments[&centres[freq.get(r, "ecocen")]];
            let service = freq.get(r, "serviceenseign");
            match service {
                "FP" => assert!(est.vocational, "{css}: FP at {}", est.code),
                "FGA" => assert!(est.adult, "{css}: FGA at {}", est.code),
                other => panic!("service {other}"),
            }
            services.insert(service.to_string());
            assert!(["FIN", "FRE"].contains(&freq.get(r, "typefreq")));
            let deb = parse_date(freq.get(r, "datedeb"), &conv.date_format).unwrap();
            assert!(deb <= o.night);
            let annee: i32 = freq.get(r, "annee").parse().unwrap();
            assert_eq!(
                annee,
                deb.year() - i32::from(deb.month() < 7),
                "{css}: annee is the school year"
            );
            if !freq.get(r, "datefin").is_empty() {
                let fin = parse_date(freq.get(r, "datefin"), &conv.date_format).unwrap();
                assert!(deb < fin && fin <= o.night);
            }
        }
        assert!(!services.is_empty());
        // Results and diplomas point to real establishments.
        let res = read_table(&dir, "e_ri_resultats", conv);
        for r in &res.rows {
            assert!(registry.establishments.contains_key(res.get(r, "ecocenoff")));
            assert!(MINISTRY.contains(&res.get(r, "matcharl")));
            assert!(["JE", "AD"].contains(&res.get(r, "secteurenseignfreq")));
            assert_eq!(res.get(r, "fiche").is_empty(), res.get(r, "secteurenseignfreq") == "JE");
            assert!(parse_timestamp(res.get(r, "datehrerecup")).unwrap().date() < o.night);
        }
        let men = read_table(&dir, "e_ri_mentions", conv);
        for r in &men.rows {
            let est = &registry.establishments[men.get(r, "ecocenoff")];
            assert_eq!(&est.css, css);
            assert!(["O", "N"].contains(&men.get(r, "indreussanctcharl")));
            assert!(parse_date(men.get(r, "dateobtmention"), &conv.date_format).unwrap() <= o.night);
        }
    }
    // JADE students have their youth identity; adults never in the youth sector exist.
    let personal: HashMap<String, (String, String, String)> = read_truth(&truth, "personal.csv")
        .into_iter()
        .map(|r| {
            (
                r["code_perm"].clone(),
                (r["nom"].clone(), r["pnom"].clone(), r["date_naiss"].clone()),
            )
        })
        .collect();
    assert_eq!(personal.len() as u64, s.students + s.adults);
    let mut youth_codes: HashSet<String> = HashSet::new();
    for css in &s.css {
        if convs[css].youth_system == "gpi" {
            let t = read_table(&gpi_dir(&o, css), "gpm_e_ele", &convs[css]);
            youth_codes.extend(t.rows.iter().map(|r| t.get(r, "code_perm").to_string()));
        } else {
            let t = read_jsonl(&mozaik_dir(&o, css).join("eleves.jsonl"));
            youth_codes.extend(t.iter().map(|r| r["code_permanent"].as_str().unwrap().to_string()));
        }
    }
    let mut adults = 0;
    let mut from_youth = 0;
    for css in &s.css {
        let conv = &convs[css];
        let ele = read_table(&jade_dir(&o, css), "e_ele", conv);
        for r in &ele.rows {
            let cp = ele.get(r, "codeperm");
            let (nom, pnom, birth) = &personal[cp];
            assert_eq!(ele.get(r, "nom"), nom);
            assert_eq!(ele.get(r, "pnom"), pnom);
            assert_eq!(
                parse_date(ele.get(r, "datenaiss"), &conv.date_format)
                    .unwrap()
                    .to_string(),
                *birth
            );
            if youth_codes.contains(cp) {
                from_youth += 1;
            } else {
                adults += 1;
            }
        }
    }
    assert_eq!(adults as u64, s.adults);
    assert!(from_youth > 0);
}

/// One youth enrolment as the GPI files say.
#[derive(Debug, Clone)]
struct Enrolment {
    start: i32,
    css: String,
    eco_off: String,
    secondary: bool,
    classe: u32,
    active: bool,
    departed: bool,
    dummy: bool,
}

/// Over 8 years, youth DES follow the sec 5 trajectories; the truth files match a recount.
#[test]
fn diplomas_follow_the_youth_trajectories_and_the_truth_recounts() {
    let d = tempfile::tempdir().unwrap();
    let mut o: GenerateOptions = opts(d.path());
    o.css = vec!["866000".into(), "751000".into()];
    o.students = 5000;
    o.years = 8;
    o.seed = 2025;
    let s = run(&o);
    let truth = o.truth.clone().unwrap();
    let convs = convs(&truth);
    let first_year = o.night.year() - i32::from(o.night.month() < 7) - 7;
    let current = first_year + 7;

    // Youth trajectories by code permanent (movers included) and final results.
    let mut traj: HashMap<String, Vec<Enrolment>> = HashMap::new();
    let mut finals: HashMap<(String, String, i32), String> = HashMap::new();
    for css in &s.css {
        let conv = &convs[css];
        let dir = gpi_dir(&o, css);
        let ele = read_table(&dir, "gpm_e_ele", conv);
        let cp_of: HashMap<String, String> = ele
            .rows
            .iter()
            .map(|r| (ele.get(r, "fiche").to_string(), ele.get(r, "code_perm").to_string()))
            .collect();
        let eco = read_table(&dir, "gpm_t_eco", conv);
        let schools: HashMap<String, (i32, String, bool)> = eco
            .rows
            .iter()
            .map(|r| {
                (
                    eco.get(r, "id_eco").to_string(),
                    (
                        eco.get(r, "annee").parse().unwrap(),
                        eco.get(r, "eco_off").to_string(),
                        eco.get(r, "indic_eco_bidon") == "1",
                    ),
                )
            })
            .collect();
        let dan = read_table(&dir, "gpm_e_dan", conv);
        for r in &dan.rows {
            let (start, eco_off, dummy) = schools[dan.get(r, "id_eco")].clone();
            traj.entry(cp_of[dan.get(r, "fiche")].clone())
                .or_default()
                .push(Enrolment {
                    start,
                    css: css.clone(),
                    eco_off,
                    secondary: dan.get(r, "ordre_ens") == "4",
                    classe: dan.get(r, "classe").parse().unwrap(),
                    active: dan.get(r, "statut_don_an") == "A",
                    departed: !dan.get(r, "date_depart").is_empty(),
                    dummy,
                });
        }
        let reverse: HashMap<&str, &str> = conv
            .course_codes
            .iter()
            .map(|(k, v)| (v.as_str(), k.as_str()))
            .collect();
        let res = read_table(&dir, "gpm_e_mat_ele", conv);
        for r in &res.rows {
            let (start, _, dummy) = &schools[res.get(r, "id_eco")];
            let grp = res.get(r, "grp");
            if *dummy || grp.starts_with(|c: char| c.is_ascii_alphabetic()) {
                continue;
            }
            let mat = res.get(r, "mat").trim();
            let canon = reverse.get(mat).copied().unwrap_or(mat).to_string();
            finals.insert(
                (cp_of[res.get(r, "fiche")].clone(), canon, *start),
                res.get(r, "res_som").to_string(),
            );
        }
    }
    for v in traj.values_mut() {
        v.retain(|e| !e.dummy);
        v.sort_by_key(|e| e.start);
    }

    // Mentions.
    let mut des_after: BTreeMap<i32, usize> = BTreeMap::new();
    let mut recount_sanctions: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let mut youth_des: HashSet<String> = HashSet::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for css in &s.css {
        let conv = &convs[css];
        let men = read_table(&jade_dir(&o, css), "e_ri_mentions", conv);
        for r in &men.rows {
            let date = parse_date(men.get(r, "dateobtmention"), &conv.date_format).unwrap();
            let kind = men.get(r, "typediplomecharl").to_string();
            *kinds.entry(format!("{kind} {}", men.get(r, "progcharl"))).or_default() += 1;
            if men.get(r, "indreussanctcharl") == "O" {
                let annee = date.year() - i32::from(date.month() < 7);
                *recount_sanctions
                    .entry((css.clone(), format!("{annee}-{}", annee + 1), kind.clone()))
                    .or_default() += 1;
            }
            if men.get(r, "progcharl") != "DES-FGJ" {
                continue;
            }
            // A youth DES: early July after the student's last youth year, in sec 5, at the
            // school of that year, in the CSS of that year.
            assert!(men.get(r, "fiche").is_empty());
            assert_eq!((date.month(), date.day() <= 10), (7, true));
            let cp = men.get(r, "codeperm").to_string();
            let t = &traj[&cp];
            let last = t.last().unwrap();
            assert_eq!(last.start, date.year() - 1, "DES the July after the last youth year");
            assert!(last.secondary && last.classe == 5 && last.active && !last.departed);
            assert_eq!(&last.css, css);
            assert_eq!(last.eco_off, men.get(r, "ecocenoff"));
            assert!(youth_des.insert(cp.clone()), "one youth DES per student");
            // Years from entering sec 1 (in the generated years: nobody repeats a year before
            // the first one).
            if let Some(entry) = t.iter().find(|e| e.secondary && e.classe == 1) {
                *des_after.entry(date.year() - entry.start).or_default() += 1;
            }
        }
    }
    for n in [5, 6, 7] {
        assert!(
            des_after.get(&n).copied().unwrap_or(0) > 0,
            "DES after {n} years: {des_after:?}"
        );
    }
    assert!(des_after.keys().all(|n| (5..=7).contains(n)), "{des_after:?}");
    assert!(
        des_after[&5] > des_after[&6] && des_after[&6] > des_after[&7],
        "{des_after:?}"
    );
    for k in ["DES DES-FGJ", "DES DES-FGA"] {
        assert!(kinds.contains_key(k), "{k}: {kinds:?}");
    }
    assert!(kinds.keys().any(|k| k.starts_with("DEP ")), "{kinds:?}");

    // Most students who finish sec 5 get their DES; leavers never do.
    let mut finished = 0;
    let mut with_des = 0;
    for (cp, t) in &traj {
        let last = t.last().unwrap();
        let done = last.secondary && last.classe == 5 && last.active && !last.departed && last.start < current;
        if done {
            finished += 1;
            with_des += usize::from(youth_des.contains(cp));
        }
        if last.departed {
            assert!(!youth_des.contains(cp));
        }
    }
    let share = with_des as f64 / finished as f64;
    assert!(finished > 500 && (0.85..0.99).contains(&share), "{with_des}/{finished}");

    // sanctions.csv is the recount of the obtained mentions.
    let got: BTreeMap<(String, String, String), u64> = read_truth(&truth, "sanctions.csv")
        .into_iter()
        .map(|r| {
            (
                (
                    r["code_css"].clone(),
                    r["annee_scolaire"].clone(),
                    r["type_diplome"].clone(),
                ),
                r["nb_obtenus"].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, recount_sanctions);

    // Ministry results: the school mark is the youth final result; the latest copy is the truth.
    // (css, code permanent, course, annee, month) -> (copy time, [resofffinal, indreuscharl]).
    type ResultKey = (String, String, String, String, String);
    let mut latest: HashMap<ResultKey, (chrono::NaiveDateTime, Vec<String>)> = HashMap::new();
    let mut months = BTreeSet::new();
    let mut several_copies = 0;
    let mut latest_not_last_line = 0;
    for css in &s.css {
        let conv = &convs[css];
        let res = read_table(&jade_dir(&o, css), "e_ri_resultats", conv);
        let mut seen_keys: HashMap<(String, String, String, String), chrono::NaiveDateTime> = HashMap::new();
        for r in &res.rows {
            let g = |c: &str| res.get(r, c).to_string();
            let at = parse_timestamp(&g("datehrerecup")).unwrap();
            months.insert(g("moissanct"));
            if g("secteurenseignfreq") == "JE" {
                let annee: i32 = g("annee").parse().unwrap();
                let start = if g("moissanct") == "6" { annee } else { annee - 1 };
                let fin = &finals[&(g("codeperm"), g("matcharl"), start)];
                if !g("resecobrute").is_empty() {
                    assert_eq!(
                        number(&g("resecobrute")),
                        number(fin),
                        "school mark of {}",
                        g("matcharl")
                    );
                }
                if let (Some(a), Some(b)) = (number(&g("resecobrute")), number(&g("resecomod"))) {
                    assert!((a - b).abs() <= 5.0);
                }
            }
            let k4 = (g("codeperm"), g("matcharl"), g("annee"), g("moissanct"));
            if let Some(prev) = seen_keys.get(&k4) {
                several_copies += 1;
                if *prev > at {
                    latest_not_last_line += 1;
                }
            }
            seen_keys.insert(k4, at);
            let key = (css.clone(), g("codeperm"), g("matcharl"), g("annee"), g("moissanct"));
            let vals = vec![g("resofffinal"), g("indreuscharl")];
            match latest.get(&key) {
                Some((t, _)) if *t >= at => {}
                _ => {
                    latest.insert(key, (at, vals));
                }
            }
        }
    }
    assert!(several_copies > 100 && latest_not_last_line > 10);
    for m in ["1", "6", "8"] {
        assert!(months.contains(m), "session month {m}: {months:?}");
    }
    let mut recount: BTreeMap<(String, String, String), (u64, u64)> = BTreeMap::new();
    let mut codes = BTreeSet::new();
    for ((css, _, course, annee, month), (_, vals)) in &latest {
        if number(&vals[0]).is_none() {
            codes.insert(vals[0].clone());
        }
        if month != "6" || number(&vals[0]).is_none() {
            continue;
        }
        let y: i32 = annee.parse().unwrap();
        let e = recount
            .entry((css.clone(), format!("{y}-{}", y + 1), course.clone()))
            .or_default();
        e.0 += 1;
        e.1 += u64::from(vals[1] == "R");
        assert_eq!(vals[1] == "R", number(&vals[0]).unwrap() >= 60.0);
    }
    assert!(codes.contains("ABS") && codes.contains("EQU"), "{codes:?}");
    let got: BTreeMap<(String, String, String), (u64, u64)> = read_truth(&truth, "ministere.csv")
        .into_iter()
        .map(|r| {
            (
                (
                    r["code_css"].clone(),
                    r["annee_scolaire"].clone(),
                    r["code_cours"].clone(),
                ),
                (r["nb_eleves"].parse().unwrap(), r["nb_reussites"].parse().unwrap()),
            )
        })
        .collect();
    assert_eq!(got, recount);
    let (n, ok) = got.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1));
    let rate = ok as f64 / n as f64;
    assert!(n > 1000 && (0.7..0.97).contains(&rate), "{ok}/{n}");
}

/// Students who change CSS keep their code permanent and get a new fiche; movers.csv lists them.
#[test]
fn movers_appear_in_each_css_they_attend() {
    let d = tempfile::tempdir().unwrap();
    let mut o = opts(d.path());
    o.css = vec!["866000".into(), "881000".into(), "751000".into()];
    o.students = 60;
    o.years = 2;
    o.mozaik = MozaikSelection::Codes(vec!["881000".into()]);
    let s = run(&o);
    let truth = o.truth.clone().unwrap();
    let convs = convs(&truth);
    let mut fiches: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    for css in &s.css {
        if convs[css].youth_system == "gpi" {
            let t = read_table(&gpi_dir(&o, css), "gpm_e_ele", &convs[css]);
            for r in &t.rows {
                fiches
                    .entry(t.get(r, "code_perm").to_string())
                    .or_default()
                    .insert(css.clone(), t.get(r, "fiche").to_string());
            }
        } else {
            for r in read_jsonl(&mozaik_dir(&o, css).join("eleves.jsonl")) {
                fiches
                    .entry(r["code_permanent"].as_str().unwrap().to_string())
                    .or_default()
                    .insert(css.clone(), r["eleve_id"].to_string());
            }
        }
    }
    let movers = read_truth(&truth, "movers.csv");
    // Even with few students, every CSS sends at least one.
    assert!(movers.len() >= 3, "{}", movers.len());
    let listed: BTreeMap<String, Vec<String>> = movers
        .iter()
        .map(|m| {
            (
                m["code_permanent"].clone(),
                m["css"].split(',').map(String::from).collect(),
            )
        })
        .collect();
    let in_several: BTreeMap<String, Vec<String>> = fiches
        .iter()
        .filter(|(_, f)| f.len() >= 2)
        .map(|(cp, f)| (cp.clone(), f.keys().cloned().collect()))
        .collect();
    assert_eq!(listed.keys().collect::<Vec<_>>(), in_several.keys().collect::<Vec<_>>());
    for (cp, path) in &listed {
        let mut sorted = path.clone();
        sorted.sort();
        assert_eq!(&sorted, &in_several[cp]);
    }
}
