//! Mozaïk exports: the same facts as GPI, valid JSON Lines of the contract's types, bad lines
//! of every kind at their line, and determinism whatever the thread count.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use crate::common::*;
use chrono::NaiveDate;
use serde_json::Value;
use socle_fixtures::{
    ConventionOverrides, Encoding, GenerateOptions, MozaikSelection, mozaik_fields, mozaik_table_names,
};

/// The Mozaïk contract (formats/mozaik.md): fields and JSON types; `?` = may be null.
const CONTRACT: [(&str, &[(&str, &str)]); 8] = [
    (
        "etablissements",
        &[
            ("etablissement_id", "int"),
            ("code_organisme", "string"),
            ("nom", "string"),
            ("annee_scolaire", "string"),
            ("fictif", "bool"),
        ],
    ),
    (
        "eleves",
        &[
            ("eleve_id", "int"),
            ("code_permanent", "string"),
            ("nom", "string"),
            ("prenom", "string"),
            ("genre", "string"),
            ("date_naissance", "date"),
        ],
    ),
    (
        "cours",
        &[
            ("etablissement_id", "int"),
            ("code_cours", "string"),
            ("description", "string"),
            ("unites", "int"),
        ],
    ),
    (
        "frequentations",
        &[
            ("eleve_id", "int"),
            ("etablissement_id", "int"),
            ("annee_scolaire", "string"),
            ("ordre_enseignement", "string"),
            ("niveau", "int"),
            ("groupe_repere", "string"),
            ("plan_intervention", "bool"),
            ("code_difficulte", "string?"),
            ("date_debut", "date"),
            ("date_fin", "date?"),
            ("active", "bool"),
            ("motif_depart", "string?"),
        ],
    ),
    (
        "resultats",
        &[
            ("eleve_id", "int"),
            ("etablissement_id", "int"),
            ("annee_scolaire", "string"),
            ("code_cours", "string"),
            ("groupe", "string"),
            ("etape", "string"),
            ("resultat", "string?"),
            ("legende", "string"),
            ("unites_obtenues", "int?"),
            ("reprise", "bool"),
            ("etat", "string"),
        ],
    ),
    (
        "legendes",
        &[
            ("etablissement_id", "int"),
            ("legende", "string"),
            ("seuil_reussite", "dec"),
            ("codes", "array"),
        ],
    ),
    (
        "absences",
        &[
            ("eleve_id", "int"),
            ("etablissement_id", "int"),
            ("date", "date"),
            ("periode", "int"),
            ("motif", "string"),
            ("categorie", "string"),
        ],
    ),
    (
        "calendrier",
        &[
            ("etablissement_id", "int"),
            ("date", "date"),
            ("jour_classe", "bool"),
            ("nb_periodes", "int"),
        ],
    ),
];

fn key_fields(table: &str) -> &'static [&'static str] {
    match table {
        "etablissements" => &["etablissement_id"],
        "eleves" => &["eleve_id"],
        "cours" => &["etablissement_id", "code_cours"],
        "frequentations" => &["eleve_id", "etablissement_id"],
        "resultats" => &["eleve_id", "etablissement_id", "code_cours", "groupe", "etape"],
        "legendes" => &["etablissement_id", "legende"],
        "absences" => &["eleve_id", "etablissement_id", "date", "periode"],
        "calendrier" => &["etablissement_id", "date"],
        other => panic!("unknown table {other}"),
    }
}

fn domain_ok(field: &str, v: &Value) -> bool {
    let Some(s) = v.as_str() else { return true };
    match field {
        "etape" => ["1", "2", "3", "sommaire"].contains(&s),
        "etat" => ["actif", "inactif", "termine", "equivalence"].contains(&s),
        "categorie" => ["motivee", "non_motivee", "retard"].contains(&s),
        "ordre_enseignement" => ["prescolaire", "primaire", "secondaire"].contains(&s),
        "annee_scolaire" => {
            s.len() == 9 && s.as_bytes()[4] == b'-' && s[..4].bytes().chain(s[5..].bytes()).all(|b| b.is_ascii_digit())
        }
        _ => true,
    }
}

fn iso_date(v: &Value) -> Option<NaiveDate> {
    let s = v.as_str()?;
    (s.len() == 10)
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
}

/// Checks one clean object against the contract.
fn check_types(table: &str, obj: &serde_json::Map<String, Value>, ctx: &str) {
    let fields = CONTRACT.iter().find(|(t, _)| *t == table).unwrap().1;
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(keys, want, "{ctx}");
    for (name, ty) in fields {
        let v = &obj[*name];
        let nullable = ty.ends_with('?');
        if v.is_null() {
            assert!(nullable, "{ctx}: {name} is null");
            continue;
        }
        let ok = match ty.trim_end_matches('?') {
            "int" => v.is_i64() || v.is_u64(),
            "dec" => v.is_number(),
            "string" => v.is_string(),
            "bool" => v.is_boolean(),
            "date" => iso_date(v).is_some(),
            "array" => v.as_array().is_some_and(|a| {
                a.iter().all(|c| {
                    c["code"].is_string()
                        && (c["note_equivalente"].is_null() || c["note_equivalente"].is_number())
                        && (c["reussite"].is_null() || c["reussite"].is_boolean())
                })
            }),
            other => panic!("type {other}"),
        };
        assert!(ok, "{ctx}: {name} = {v} is not a {ty}");
        assert!(domain_ok(name, v), "{ctx}: {name} = {v} out of domain");
    }
}

fn three_css(dir: &Path) -> GenerateOptions {
    let mut o = opts(dir);
    o.css = vec!["866000".into(), "881000".into(), "751000".into()];
    o.students = 450;
    o
}

#[test]
fn mozaik_files_are_json_lines_of_the_contract_types() {
    let d = tempfile::tempdir().unwrap();
    let mut o = three_css(d.path());
    o.mozaik = MozaikSelection::Codes(vec!["881000".into()]);
    let s = run(&o);
    let truth = o.truth.clone().unwrap();
    let convs = convs(&truth);
    assert_eq!(convs["881000"].youth_system, "mozaik");
    assert_eq!(convs["866000"].youth_system, "gpi");
    assert!(!gpi_dir(&o, "881000").exists());
    assert!(!mozaik_dir(&o, "866000").exists());
    // The crate's own description is the contract's.
    assert_eq!(
        mozaik_table_names(),
        CONTRACT.iter().map(|(t, _)| *t).collect::<Vec<_>>()
    );
    for (t, fields) in CONTRACT {
        let got = mozaik_fields(t).unwrap();
        let want: Vec<(&str, &str)> = fields.iter().map(|(n, ty)| (*n, ty.trim_end_matches('?'))).collect();
        assert_eq!(got, want, "{t}");
    }
    let mut etats = BTreeSet::new();
    let mut etapes = BTreeSet::new();
    let mut nulls = BTreeMap::new();
    for t in mozaik_table_names() {
        let path = mozaik_dir(&o, "881000").join(format!("{t}.jsonl"));
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.starts_with(b"\xEF\xBB\xBF"), "{t}: no BOM");
        let text = std::str::from_utf8(&bytes).expect("UTF-8");
        assert!(text.ends_with('\n'), "{t}");
        assert!(!text.contains('\r'), "{t}");
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let ctx = format!("{t}.jsonl line {}", i + 1);
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let obj = v.as_object().unwrap_or_else(|| panic!("{ctx}: not an object"));
            check_types(t, obj, &ctx);
            if t == "resultats" {
                etats.insert(obj["etat"].as_str().unwrap().to_string());
                etapes.insert(obj["etape"].as_str().unwrap().to_string());
            }
            for (k, v) in obj {
                if v.is_null() {
                    *nulls.entry(format!("{t}.{k}")).or_insert(0) += 1;
                }
            }
            n += 1;
        }
        assert!(n > 0, "{t} is empty");
    }
    assert_eq!(etapes, ["1", "2", "3", "sommaire"].map(String::from).into());
    assert_eq!(
        etats,
        ["actif", "equivalence", "inactif", "termine"].map(String::from).into()
    );
    for f in [
        "resultats.resultat",
        "resultats.unites_obtenues",
        "frequentations.date_fin",
    ] {
        assert!(nulls.contains_key(f), "some {f} are null");
    }
    assert_eq!(s.css.len(), 3);
}

fn canon_number(s: &str) -> String {
    match s.trim().replace(',', ".").parse::<f64>() {
        Ok(x) => format!("{x}"),
        Err(_) => s.trim().to_string(),
    }
}

fn json_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The facts of one CSS, rendered as comparable lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct Facts {
    students: Vec<String>,
    schools: Vec<String>,
    enrolments: Vec<String>,
    courses: Vec<String>,
    results: Vec<String>,
    legends: Vec<String>,
    codes: Vec<String>,
    absences: Vec<String>,
    calendar: Vec<String>,
}

impl Facts {
    fn sort(mut self) -> Self {
        for v in [
            &mut self.students,
            &mut self.schools,
            &mut self.enrolments,
            &mut self.courses,
            &mut self.results,
            &mut self.legends,
            &mut self.codes,
            &mut self.absences,
            &mut self.calendar,
        ] {
            v.sort();
        }
        self
    }
}

fn gpi_facts(o: &GenerateOptions, css: &str, conv: &Conv) -> Facts {
    let dir = gpi_dir(o, css);
    let t = |name: &str| read_table(&dir, name, conv);
    let date = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            parse_date(s, &conv.date_format).unwrap().to_string()
        }
    };
    let mut f = Facts::default();
    let ele = t("gpm_e_ele");
    for r in &ele.rows {
        let g = |c: &str| ele.get(r, c).to_string();
        f.students.push(format!(
            "{}|{}|{}|{}|{}|{}",
            g("fiche"),
            g("code_perm"),
            g("nom"),
            g("pnom"),
            g("sexe"),
            date(&g("date_naiss"))
        ));
    }
    let eco = t("gpm_t_eco");
    let mut annee = HashMap::new();
    for r in &eco.rows {
        let g = |c: &str| eco.get(r, c).to_string();
        let y: i32 = g("annee").parse().unwrap();
        annee.insert(g("id_eco"), format!("{y}-{}", y + 1));
        f.schools.push(format!(
            "{}|{}|{}|{y}-{}|{}",
            g("id_eco"),
            g("eco_off"),
            g("nom_eco"),
            y + 1,
            g("indic_eco_bidon") == "1"
        ));
    }
    let dan = t("gpm_e_dan");
    for r in &dan.rows {
        let g = |c: &str| dan.get(r, c).to_string();
        f.enrolments.push(format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            g("fiche"),
            g("id_eco"),
            annee[&g("id_eco")],
            g("statut_don_an") == "A",
            if g("ordre_ens") == "3" {
                "primaire"
            } else {
                "secondaire"
            },
            g("classe"),
            g("grp_rep"),
            g("plan_interv_ehdaa") == "1",
            g("difficulte"),
            date(&g("date_deb")),
            date(&g("date_depart")),
            g("motif_depart")
        ));
    }
    let mat = t("gpm_t_mat");
    for r in &mat.rows {
        let g = |c: &str| mat.get(r, c).to_string();
        f.courses.push(format!(
            "{}|{}|{}|{}",
            g("id_eco"),
            g("mat").trim(),
            g("descr"),
            g("unites")
        ));
    }
    let grp = t("gpm_t_mat_grp");
    let legends: HashMap<String, [String; 4]> = grp
        .rows
        .iter()
        .map(|r| {
            let g = |c: &str| grp.get(r, c).to_string();
            (
                g("id_mat_grp"),
                [g("leg_etape_01"), g("leg_etape_02"), g("leg_etape_03"), g("leg_som")],
            )
        })
        .collect();
    let res = t("gpm_e_mat_ele");
    for r in &res.rows {
        let g = |c: &str| res.get(r, c).to_string();
        let etat = match g("etat").as_str() {
            "0" => "inactif",
            "1" => "actif",
            "6" => "equivalence",
            "8" => "termine",
            other => panic!("etat {other} has no Mozaïk equivalent"),
        };
        let grp_label = g("grp");
        let retake = grp_label.starts_with(|c: char| c.is_ascii_alphabetic());
        let legs = &legends[&g("id_mat_grp")];
        for (k, (col, etape)) in [
            ("res_etape_01", "1"),
            ("res_etape_02", "2"),
            ("res_etape_03", "3"),
            ("res_som", "sommaire"),
        ]
        .iter()
        .enumerate()
        {
            f.results.push(format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
                g("fiche"),
                g("id_eco"),
                annee[&g("id_eco")],
                g("mat").trim(),
                grp_label,
                etape,
                canon_number(&g(col)),
                legs[k],
                g("unites_ele"),
                retake,
                etat
            ));
        }
    }
    let leg = t("gpm_t_leg");
    for r in &leg.rows {
        let g = |c: &str| leg.get(r, c).to_string();
        f.legends.push(format!(
            "{}|{}|{}",
            g("id_eco"),
            g("leg"),
            canon_number(&g("seuil_reus"))
        ));
    }
    let cotes = t("gpm_t_cotes");
    for r in &cotes.rows {
        let g = |c: &str| cotes.get(r, c).to_string();
        let reussite = match g("indic_reus_echec").as_str() {
            "1" => "true",
            "2" => "false",
            _ => "",
        };
        f.codes.push(format!(
            "{}|{}|{}|{}|{}",
            g("id_eco"),
            g("leg"),
            g("cote"),
            canon_number(&g("note_equiv")),
            reussite
        ));
    }
    let abs = t("gpm_e_abs");
    for r in &abs.rows {
        let g = |c: &str| abs.get(r, c).to_string();
        let cat = match conv.motifs[&g("motif_abs")] {
            1 => "motivee",
            2 => "non_motivee",
            _ => "retard",
        };
        f.absences.push(format!(
            "{}|{}|{}|{}|{}|{cat}",
            g("fiche"),
            g("id_eco"),
            date(&g("date_abs")),
            g("periode"),
            g("motif_abs")
        ));
    }
    let cal = t("gpm_t_cal");
    for r in &cal.rows {
        let g = |c: &str| cal.get(r, c).to_string();
        f.calendar.push(format!(
            "{}|{}|{}|{}",
            g("id_eco"),
            date(&g("date_evenement")),
            !g("jour_cycle").is_empty(),
            g("nb_periodes")
        ));
    }
    f.sort()
}

fn mozaik_facts(o: &GenerateOptions, css: &str) -> Facts {
    let dir = mozaik_dir(o, css);
    let t = |name: &str| read_jsonl(&dir.join(format!("{name}.jsonl")));
    let line = |obj: &serde_json::Map<String, Value>, fields: &[&str]| -> String {
        fields.iter().map(|k| json_text(&obj[*k])).collect::<Vec<_>>().join("|")
    };
    let mut f = Facts::default();
    for obj in t("eleves") {
        f.students.push(line(
            &obj,
            &["eleve_id", "code_permanent", "nom", "prenom", "genre", "date_naissance"],
        ));
    }
    for obj in t("etablissements") {
        f.schools.push(line(
            &obj,
            &["etablissement_id", "code_organisme", "nom", "annee_scolaire", "fictif"],
        ));
    }
    for obj in t("frequentations") {
        f.enrolments.push(line(
            &obj,
            &[
                "eleve_id",
                "etablissement_id",
                "annee_scolaire",
                "active",
                "ordre_enseignement",
                "niveau",
                "groupe_repere",
                "plan_intervention",
                "code_difficulte",
                "date_debut",
                "date_fin",
                "motif_depart",
            ],
        ));
    }
    for obj in t("cours") {
        f.courses
            .push(line(&obj, &["etablissement_id", "code_cours", "description", "unites"]));
    }
    for obj in t("resultats") {
        let mut obj = obj.clone();
        let r = canon_number(&json_text(&obj["resultat"]));
        obj.insert("resultat".into(), Value::String(r));
        f.results.push(line(
            &obj,
            &[
                "eleve_id",
                "etablissement_id",
                "annee_scolaire",
                "code_cours",
                "groupe",
                "etape",
                "resultat",
                "legende",
                "unites_obtenues",
                "reprise",
                "etat",
            ],
        ));
    }
    for obj in t("legendes") {
        let id = json_text(&obj["etablissement_id"]);
        let leg = json_text(&obj["legende"]);
        f.legends.push(format!(
            "{id}|{leg}|{}",
            canon_number(&json_text(&obj["seuil_reussite"]))
        ));
        for c in obj["codes"].as_array().unwrap() {
            f.codes.push(format!(
                "{id}|{leg}|{}|{}|{}",
                json_text(&c["code"]),
                canon_number(&json_text(&c["note_equivalente"])),
                json_text(&c["reussite"])
            ));
        }
    }
    for obj in t("absences") {
        f.absences.push(line(
            &obj,
            &["eleve_id", "etablissement_id", "date", "periode", "motif", "categorie"],
        ));
    }
    for obj in t("calendrier") {
        f.calendar
            .push(line(&obj, &["etablissement_id", "date", "jour_classe", "nb_periodes"]));
    }
    f.sort()
}

/// The same CSS generated once as GPI and once as Mozaïk holds the same facts, and the same
/// JADE export and truth.
#[test]
fn the_same_css_as_gpi_and_as_mozaik_has_the_same_facts() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mk = |dir: &Path| {
        let mut o = opts(dir);
        o.css = vec!["866000".into(), "881000".into()];
        o.students = 500;
        o.years = 3;
        let mut ov = ConventionOverrides {
            encoding: Some(Encoding::Windows1252),
            ..Default::default()
        };
        ov.special_values.insert("absent".into(), "AB".into());
        ov.course_codes.insert("FRA400".into(), "FR-4".into());
        ov.course_codes.insert("132406".into(), "FRA406".into());
        o.conventions.insert("866000".into(), ov);
        o
    };
    let oa = mk(a.path());
    let mut ob = mk(b.path());
    ob.mozaik = MozaikSelection::All;
    let sa = run(&oa);
    let sb = run(&ob);
    assert_eq!(sa.students, sb.students);
    assert_eq!(sa.adults, sb.adults);
    let convs = convs(oa.truth.as_ref().unwrap());
    for css in &sa.css {
        let g = gpi_facts(&oa, css, &convs[css]);
        let m = mozaik_facts(&ob, css);
        assert!(g.results.len() > 1000 && g.absences.len() > 1000, "{css}: enough facts");
        for (name, x, y) in [
            ("students", &g.students, &m.students),
            ("schools", &g.schools, &m.schools),
            ("enrolments", &g.enrolments, &m.enrolments),
            ("courses", &g.courses, &m.courses),
            ("results", &g.results, &m.results),
            ("legends", &g.legends, &m.legends),
            ("legend codes", &g.codes, &m.codes),
            ("absences", &g.absences, &m.absences),
            ("calendar", &g.calendar, &m.calendar),
        ] {
            if x != y {
                let xs: BTreeSet<&String> = x.iter().collect();
                let ys: BTreeSet<&String> = y.iter().collect();
                let only_g: Vec<_> = xs.difference(&ys).take(3).collect();
                let only_m: Vec<_> = ys.difference(&xs).take(3).collect();
                panic!("{css} {name}: GPI only {only_g:?}, Mozaïk only {only_m:?}");
            }
        }
        // Local codes and special values are the CSS's, in both.
        if css == "866000" {
            assert!(m.results.iter().any(|r| r.contains("|FRA406|")));
            assert!(m.results.iter().any(|r| r.contains("|AB|")));
        }
        // JADE does not depend on the youth system.
        for t in socle_fixtures::jade_table_names() {
            let file = format!("{t}.csv");
            assert!(
                std::fs::read(jade_dir(&oa, css).join(&file)).unwrap()
                    == std::fs::read(jade_dir(&ob, css).join(&file)).unwrap(),
                "{css} {file}"
            );
        }
    }
    for t in [
        "taux_reussite.csv",
        "personal.csv",
        "movers.csv",
        "sanctions.csv",
        "ministere.csv",
    ] {
        assert_eq!(
            std::fs::read(oa.truth.as_ref().unwrap().join(t)).unwrap(),
            std::fs::read(ob.truth.as_ref().unwrap().join(t)).unwrap(),
            "{t}"
        );
    }
}

/// Checks that line `line` (1-based) of a Mozaïk file is a bad line of the given kind.
fn assert_json_line_is_bad(path: &Path, table: &str, line: usize, kind: &str) {
    let bytes = std::fs::read(path).unwrap();
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let raw = lines[line - 1];
    let ctx = format!(
        "{} line {line} ({kind}): {}",
        path.display(),
        String::from_utf8_lossy(raw)
    );
    let fields = CONTRACT.iter().find(|(t, _)| *t == table).unwrap().1;
    let parsed = || -> serde_json::Map<String, Value> {
        match serde_json::from_slice::<Value>(raw) {
            Ok(Value::Object(m)) => m,
            other => panic!("{ctx}: {other:?}"),
        }
    };
    let keys = key_fields(table);
    match kind {
        "malformed_json" => {
            let bad_shape = match serde_json::from_slice::<Value>(raw) {
                Err(_) => true,
                Ok(Value::Object(m)) => fields
                    .iter()
                    .filter(|(_, ty)| *ty != "array")
                    .any(|(n, _)| m.get(*n).is_some_and(|v| v.is_array() || v.is_object())),
                Ok(_) => true,
            };
            assert!(bad_shape, "{ctx}");
        }
        "invalid_encoding" => assert!(std::str::from_utf8(raw).is_err(), "{ctx}"),
        "unparsable_date" => {
            let m = parsed();
            assert!(
                fields
                    .iter()
                    .filter(|(_, ty)| ty.starts_with("date"))
                    .any(|(n, _)| m[*n].is_string() && iso_date(&m[*n]).is_none()),
                "{ctx}"
            );
        }
        "out_of_domain" => {
            let m = parsed();
            assert!(m.iter().any(|(k, v)| !domain_ok(k, v)), "{ctx}");
        }
        "missing_value" => {
            let m = parsed();
            assert!(keys.iter().any(|k| m[*k].is_null()), "{ctx}");
        }
        "duplicate_key" => {
            let m = parsed();
            let key = |o: &serde_json::Map<String, Value>| keys.iter().map(|k| o[*k].clone()).collect::<Vec<_>>();
            let me = key(&m);
            let earlier = lines[..line - 1]
                .iter()
                .any(|l| match serde_json::from_slice::<Value>(l) {
                    Ok(Value::Object(o)) => key(&o) == me && o != m,
                    _ => false,
                });
            assert!(earlier, "{ctx}");
        }
        other => panic!("unexpected kind {other} for a Mozaïk file"),
    }
}

#[test]
fn mozaik_bad_lines_of_every_kind_are_listed_at_their_line_and_are_extra() {
    let clean = tempfile::tempdir().unwrap();
    let dirty = tempfile::tempdir().unwrap();
    let mut oc = three_css(clean.path());
    oc.mozaik = MozaikSelection::All;
    let mut od = oc.clone();
    od.out = dirty.path().join("exports");
    od.truth = Some(dirty.path().join("truth"));
    od.bad_rate = 0.01;
    let sc = run(&oc);
    let sd = run(&od);
    assert_eq!(sc.rows, sd.rows);
    let mut kinds: HashMap<String, HashSet<String>> = HashMap::new();
    let mut bad: HashMap<(String, String), HashSet<usize>> = HashMap::new();
    for b in read_truth(od.truth.as_ref().unwrap(), "bad_rows.csv") {
        let file = &b["file"];
        if folder_of(file) != Some("mozaik") {
            continue;
        }
        let line: usize = b["line"].parse().unwrap();
        let table = file.trim_end_matches(".jsonl");
        assert_json_line_is_bad(&mozaik_dir(&od, &b["code_css"]).join(file), table, line, &b["kind"]);
        kinds
            .entry(b["code_css"].clone())
            .or_default()
            .insert(b["kind"].clone());
        bad.entry((b["code_css"].clone(), file.clone()))
            .or_default()
            .insert(line);
    }
    for css in &sd.css {
        for k in [
            "malformed_json",
            "unparsable_date",
            "out_of_domain",
            "duplicate_key",
            "missing_value",
            "invalid_encoding",
        ] {
            assert!(kinds[css].contains(k), "{css} lacks {k}");
        }
        // Removing the listed lines gives back the clean files.
        for t in mozaik_table_names() {
            let file = format!("{t}.jsonl");
            let want = std::fs::read(mozaik_dir(&oc, css).join(&file)).unwrap();
            let got = std::fs::read(mozaik_dir(&od, css).join(&file)).unwrap();
            let skip = bad.get(&(css.clone(), file.clone())).cloned().unwrap_or_default();
            let mut kept = Vec::new();
            for (i, l) in got.split_inclusive(|b| *b == b'\n').enumerate() {
                if !skip.contains(&(i + 1)) {
                    kept.extend_from_slice(l);
                }
            }
            assert!(kept == want, "{css} {file}");
        }
    }
}

#[test]
fn output_is_byte_identical_whatever_the_thread_count() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mk = |dir: &Path| {
        let mut o = three_css(dir);
        o.mozaik = MozaikSelection::Codes(vec!["881000".into()]);
        o.years = 3;
        o.bad_rate = 0.01;
        o
    };
    let (oa, ob) = (mk(a.path()), mk(b.path()));
    let pool = |n: usize| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
    let sa = pool(1).install(|| run(&oa));
    let sb = pool(4).install(|| run(&ob));
    assert_eq!(sa, sb);
    let fa = all_files(a.path());
    let fb = all_files(b.path());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    assert!(fa.keys().any(|p| p.to_string_lossy().ends_with(".jsonl")));
    for (p, bytes) in &fa {
        if !p.ends_with("summary.json") {
            assert!(*bytes == fb[p], "{} differs", p.display());
        }
    }
}

#[test]
fn mozaik_names_only_generated_css() {
    let d = tempfile::tempdir().unwrap();
    let mut o = three_css(d.path());
    o.mozaik = MozaikSelection::Codes(vec!["761000".into()]);
    assert!(socle_fixtures::generate(&o).is_err());
    assert_eq!(MozaikSelection::parse("all"), MozaikSelection::All);
    assert_eq!(MozaikSelection::parse(""), MozaikSelection::None);
    assert_eq!(
        MozaikSelection::parse("881000, 866000"),
        MozaikSelection::Codes(vec!["881000".into(), "866000".into()])
    );
}
