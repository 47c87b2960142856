//! `socle extracts` and `socle run --extracts`: the ministry accountability extracts, on a
//! warehouse built once from the committed fixtures (with `--extracts`, so the night builds
//! every shipped extract).
//!
//! The test extracts of `tests/extracts/` are copied beside the shipped ones in a copy of the
//! pipelines: one per layout using every option (read back field by field), one whose rules fail
//! (nothing written, a report without personal values), one read from a seed the test edits
//! (build, submit, rebuild, diff).

use crate::common::{copy_dir, query_csv, root, socle, text};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

struct Built {
    warehouse: PathBuf,
    night_output: String,
    _dir: tempfile::TempDir,
}

/// The fixtures' warehouse, built once by `socle run --extracts`.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = dir.path().join("warehouse");
        let o = crate::common::load(&root().join("fixtures/exports"), &warehouse, &["--extracts"]);
        assert!(o.status.success(), "{}", text(&o));
        Built {
            warehouse,
            night_output: String::from_utf8_lossy(&o.stdout).to_string(),
            _dir: dir,
        }
    })
}

/// A copy of the pipelines with the test extracts and their seed.
fn pipelines_with_tests(dir: &Path) -> PathBuf {
    let p = dir.join("pipelines");
    copy_dir(&root().join("pipelines"), &p);
    let tests = root().join("crates/socle-cli/tests/extracts");
    for e in std::fs::read_dir(&tests).unwrap() {
        let path = e.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, p.join("extracts").join(path.file_name().unwrap())).unwrap();
        }
    }
    copy_dir(&tests.join("seeds"), &p.join("seeds"));
    p
}

fn extracts(pipelines: &Path, out: &Path, args: &[&str]) -> Output {
    let b = built();
    let mut all = vec![args[0]];
    all.extend_from_slice(&args[1..]);
    all.extend([
        "--pipelines",
        pipelines.to_str().unwrap(),
        "--warehouse",
        b.warehouse.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let mut cmd = vec!["extracts"];
    cmd.extend(all);
    socle(&cmd)
}

/// The only version folder of a unit.
fn version_dir(out: &Path, extract: &str, unit: &str, annee: &str) -> PathBuf {
    let dir = out.join(extract).join(unit).join(annee);
    let current = std::fs::read_to_string(dir.join("COURANTE")).unwrap();
    dir.join("versions").join(current.trim())
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// What every layout must read back, field by field (row order = key `no`).
fn expected_rows() -> Vec<BTreeMap<&'static str, Option<&'static str>>> {
    let row = |v: [Option<&'static str>; 9]| -> BTreeMap<&'static str, Option<&'static str>> {
        [
            "no",
            "texte",
            "montant",
            "entier",
            "jour_iso",
            "jour_compact",
            "jour_fr",
            "vrai",
            "lieu",
        ]
        .into_iter()
        .zip(v)
        .collect()
    };
    vec![
        row([
            Some("0001"),
            Some("Élève « spécial »; \"guillemets\", virgule"),
            Some("+01234,50"),
            Some("-7"),
            Some("2025-09-30"),
            Some("20250930"),
            Some("30/09/2025"),
            Some("O"),
            Some("Hôpital Sainte-Justine"),
        ]),
        // -0.005 rounds half away from zero to -0.01.
        row([
            Some("0002"),
            Some("a < b & c > 'd'"),
            Some("-00000,01"),
            Some("+42"),
            Some("2024-02-29"),
            Some("20240229"),
            Some("29/02/2024"),
            Some("N"),
            Some("Montréal-Nord"),
        ]),
        row([
            Some("0003"),
            None,
            Some("+00000,00"),
            Some("+0"),
            None,
            None,
            None,
            None,
            Some("Îles-de-la-Madeleine"),
        ]),
    ]
}

#[test]
fn the_night_builds_every_shipped_extract_and_code_permanent_files_are_private() {
    let b = built();
    for e in [
        "declaration_30_septembre",
        "indicateurs_pevr",
        "rapport_financier_annuel",
        "donnees_pseudonymisees",
    ] {
        for css in ["751000", "866000", "881000"] {
            assert!(
                b.night_output.contains(&format!("{e} {css} ")),
                "{e} {css} not reported:\n{}",
                b.night_output
            );
            let dir = version_dir(&b.warehouse.join("extracts"), e, css, "2025-2026");
            let m = manifest(&dir);
            assert_eq!(m["status"], "provisoire");
            assert_eq!(m["unit"], css);
            assert!(m["css_runs"][css].is_string(), "{m}");
            // The manifest's checksum is the file's.
            let f = &m["files"][0];
            let bytes = std::fs::read(dir.join(f["name"].as_str().unwrap())).unwrap();
            use sha2::Digest;
            assert_eq!(f["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(&bytes)));
            assert!(dir.join(m["files"][1]["name"].as_str().unwrap()).exists(), "xlsx copy");
        }
    }
    assert!(
        b.night_output.contains("depenses_ri province 2025-2026"),
        "{}",
        b.night_output
    );

    // The declaration holds codes permanents: owner-only files, in the CSS's folder.
    use std::os::unix::fs::PermissionsExt;
    let dir = version_dir(
        &b.warehouse.join("extracts"),
        "declaration_30_septembre",
        "866000",
        "2025-2026",
    );
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let mode = e.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", e.path().display());
    }
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    // Its students are those of the effectif_30_septembre mart (a set rule checks it per
    // establishment; here the total), each with its code permanent.
    let name = "declaration_30_septembre_866000_2025-2026.txt";
    let text = encoding_rs::WINDOWS_1252
        .decode(&std::fs::read(dir.join(name)).unwrap())
        .0
        .to_string();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    let effectif = query_csv(
        &b.warehouse,
        Some("866000"),
        "SELECT sum(nb_eleves) AS n FROM effectif_30_septembre WHERE annee_scolaire = '2025-2026'",
    );
    assert_eq!(lines.len().to_string(), effectif[0]["n"]);
    let codes = query_csv(
        &b.warehouse,
        Some("866000"),
        "SELECT DISTINCT code_permanent FROM eleve",
    );
    for l in &lines {
        assert_eq!(l.len(), 44, "{l:?}");
        let code = &l[32..44];
        assert!(
            codes.iter().any(|r| r["code_permanent"] == code),
            "{code} is not a code of the CSS"
        );
    }
    // The PEVR report: 5 indicators, "aucune donnée" rather than a guess.
    let pevr = version_dir(&b.warehouse.join("extracts"), "indicateurs_pevr", "866000", "2025-2026");
    let csv = std::fs::read(pevr.join("indicateurs_pevr_866000_2025-2026.csv")).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(&csv[3..]);
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<BTreeMap<String, String>> = reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 5);
    for r in &rows {
        match r["statut"].as_str() {
            "aucune donnée" => assert!(r["valeur"].is_empty() && r["ecart"].is_empty(), "{r:?}"),
            "sans cible" => assert!(r["cible"].is_empty()),
            "atteinte" | "non atteinte" => assert!(!r["valeur"].is_empty() && !r["cible"].is_empty()),
            other => panic!("statut {other}"),
        }
    }
}

#[test]
fn every_layout_option_reads_back_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipelines_with_tests(dir.path());
    let out = dir.path().join("out");
    for name in ["essai_csv", "essai_largeur_fixe", "essai_xml"] {
        let o = extracts(&p, &out, &["build", name, "--year", "2024-2025"]);
        assert!(o.status.success(), "{name}: {}", text(&o));
    }
    let expected = expected_rows();
    let fields = [
        "no",
        "texte",
        "montant",
        "entier",
        "jour_iso",
        "jour_compact",
        "jour_fr",
        "vrai",
        "lieu",
    ];

    // CSV: Windows-1252, CRLF, `;`, quotes doubled inside quoted values.
    let v = version_dir(&out, "essai_csv", "province", "2024-2025");
    let bytes = std::fs::read(v.join("essai_csv_2024-2025.csv")).unwrap();
    assert!(
        bytes.windows(2).filter(|w| w == b"\r\n").count() == 4,
        "4 CRLF line ends"
    );
    assert!(
        !bytes
            .iter()
            .enumerate()
            .any(|(i, b)| *b == b'\n' && (i == 0 || bytes[i - 1] != b'\r'))
    );
    assert!(bytes.contains(&0xC9), "É is one byte (0xC9) in Windows-1252");
    let (decoded, _, errors) = encoding_rs::WINDOWS_1252.decode(&bytes);
    assert!(!errors);
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(decoded.as_bytes());
    assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), fields);
    let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    for (rec, exp) in records.iter().zip(&expected) {
        for (i, f) in fields.iter().enumerate() {
            assert_eq!(rec.get(i).unwrap(), exp[f].unwrap_or(""), "csv field {f}");
        }
    }

    // Fixed width: positions in bytes of UTF-8 (an accent is two bytes), LF, spaces around.
    let v = version_dir(&out, "essai_largeur_fixe", "province", "2024-2025");
    let bytes = std::fs::read(v.join("essai_largeur_fixe_2024-2025.txt")).unwrap();
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3);
    let spans = [
        ("no", 1, 4),
        ("texte", 5, 50),
        ("montant", 55, 9),
        ("entier", 64, 4),
        ("jour_iso", 68, 10),
        ("jour_compact", 78, 8),
        ("jour_fr", 86, 10),
        ("vrai", 96, 1),
        ("lieu", 97, 25),
    ];
    for (line, exp) in lines.iter().zip(&expected) {
        assert_eq!(line.len(), 121, "every line is 121 bytes");
        for (f, start, width) in spans {
            let cell = std::str::from_utf8(&line[start - 1..start - 1 + width]).unwrap();
            assert_eq!(cell.trim(), exp[f].unwrap_or(""), "fixed-width field {f}");
        }
    }
    // Numbers right-aligned, text left-aligned.
    assert_eq!(&lines[0][63..67], b"  -7");
    assert!(lines[0][96..].starts_with("Hôpital".as_bytes()));

    // XML: escaped, read back unescaped; a null has no element.
    let v = version_dir(&out, "essai_xml", "province", "2024-2025");
    let xml = std::fs::read_to_string(v.join("essai_xml_2024-2025.xml")).unwrap();
    assert!(xml.contains("a &lt; b &amp; c &gt;"));
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut rows: Vec<BTreeMap<String, String>> = Vec::new();
    let mut current: Option<String> = None;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) => {
                let n = e.name().into_inner().to_string();
                if n == "ligne" {
                    rows.push(BTreeMap::new());
                } else {
                    current = Some(n);
                }
            }
            quick_xml::events::Event::Text(t) => {
                if let (Some(n), Some(row)) = (&current, rows.last_mut()) {
                    let value = quick_xml::escape::unescape(&t).unwrap().to_string();
                    row.entry(n.clone()).or_default().push_str(&value);
                }
            }
            quick_xml::events::Event::GeneralRef(r) => {
                if let (Some(n), Some(row)) = (&current, rows.last_mut()) {
                    let name: &str = &r;
                    let c = quick_xml::escape::resolve_predefined_entity(name).unwrap();
                    row.entry(n.clone()).or_default().push_str(c);
                }
            }
            quick_xml::events::Event::End(_) => current = None,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(rows.len(), 3);
    for (row, exp) in rows.iter().zip(&expected) {
        for f in fields {
            assert_eq!(row.get(f).map(String::as_str), exp[f], "xml field {f}");
        }
    }
}

#[test]
fn a_failing_rule_writes_nothing_and_names_no_personal_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipelines_with_tests(dir.path());
    let out = dir.path().join("out");
    let o = extracts(&p, &out, &["build", "essai_refus", "--css", "866000"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("essai_refus 866000 2024-2025: REFUSÉ"), "{stdout}");
    for needle in [
        "règle width (integree), champ code_permanent, ligne 1, clé *",
        "règle width (integree), champ lieu, ligne 1",
        "règle toujours_faux (ligne), champ lieu, ligne 1",
        "règle ensemble_faux (ensemble), ligne 2",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }
    // Nothing of the unit is written (not even a folder with a partial file).
    let unit = out.join("essai_refus/866000/2024-2025");
    assert!(!unit.join("COURANTE").exists());
    assert!(
        std::fs::read_dir(unit.join("versions")).map(|d| d.count()).unwrap_or(0) == 0,
        "a version was written"
    );
    // No code permanent, name or birth date in the report.
    let people = query_csv(
        &built().warehouse,
        Some("866000"),
        "SELECT code_permanent, nom, prenom, CAST(date_naissance AS VARCHAR) AS naissance FROM eleve",
    );
    let all = format!("{}{}", stdout, String::from_utf8_lossy(&o.stderr));
    for r in &people {
        for c in ["code_permanent", "nom", "prenom", "naissance"] {
            let v = &r[c];
            if v.len() >= 4 {
                assert!(!all.contains(v.as_str()), "the report shows a personal value ({c})");
            }
        }
    }
}

#[test]
fn shared_zone_extracts_hold_no_personal_column_or_value() {
    let b = built();
    // Every file of every province extract the night built.
    let mut texts = String::new();
    let root = b.warehouse.join("extracts");
    let mut province_files = 0;
    for e in std::fs::read_dir(&root).unwrap() {
        let province = e.unwrap().path().join("province");
        if !province.exists() {
            continue;
        }
        let mut stack = vec![province];
        while let Some(d) = stack.pop() {
            for f in std::fs::read_dir(&d).unwrap() {
                let path = f.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "csv" || x == "json") {
                    texts.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
                    province_files += 1;
                }
            }
        }
    }
    assert!(province_files >= 3, "the night built a province extract");
    for css in ["751000", "866000", "881000"] {
        let people = query_csv(
            &b.warehouse,
            Some(css),
            "SELECT code_permanent, nom, prenom, CAST(date_naissance AS VARCHAR) AS naissance, CAST(fiche AS VARCHAR) AS fiche FROM eleve",
        );
        for r in &people {
            for c in ["code_permanent", "nom", "prenom", "naissance"] {
                let v = &r[c];
                if v.len() >= 4 {
                    assert!(!texts.contains(&format!(",{v},")), "a province extract holds a {c}");
                }
            }
        }
    }
    // A shared-zone extract declaring a never-shared field is refused by `socle check`.
    let dir = tempfile::tempdir().unwrap();
    let p = pipelines_with_tests(dir.path());
    let yaml = std::fs::read_to_string(p.join("extracts/essai_csv.yaml"))
        .unwrap()
        .replace("name: essai_csv", "name: essai_personnel")
        .replace(
            "{name: lieu, description: accents, type: text, max_length: 30}",
            "{name: lieu, description: accents, type: text, max_length: 30, personal: birth_date}",
        );
    std::fs::write(p.join("extracts/essai_personnel.yaml"), yaml).unwrap();
    let o = socle(&["check", "--pipelines", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("personal class birth_date never reaches the shared zone"),
        "{}",
        text(&o)
    );
}

#[test]
fn build_submit_rebuild_gives_the_diff_and_never_overwrites_a_submitted_version() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipelines_with_tests(dir.path());
    let out = dir.path().join("out");
    let unit = out.join("essai_diff/province/2024-2025");
    let build = || {
        let o = extracts(&p, &out, &["build", "essai_diff"]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let submit = |by: &str| extracts(&p, &out, &["submit", "essai_diff", "--year", "2024-2025", "--by", by]);

    let first = build();
    assert!(first.contains("aucune version transmise encore"), "{first}");
    // A second build before any submission replaces the first (unsubmitted builds are not kept).
    build();
    assert_eq!(std::fs::read_dir(unit.join("versions")).unwrap().count(), 1);
    let o = submit("mtremblay");
    assert!(o.status.success(), "{}", text(&o));
    let submitted = version_dir(&out, "essai_diff", "province", "2024-2025");
    let m = manifest(&submitted);
    assert_eq!(m["status"], "transmis");
    assert_eq!(m["submitted_by"], "mtremblay");
    let file = submitted.join("essai_diff_2024-2025.csv");
    let before = std::fs::read(&file).unwrap();
    // Submitting the same version again is refused.
    let again = submit("mtremblay");
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("submitted already"));

    // a removed, b changed, c unchanged, d added.
    std::fs::write(
        p.join("seeds/essai_seed.csv"),
        "annee_scolaire,cle,valeur,note\n2024-2025,b,20,deux\n2024-2025,c,3,trois\n2024-2025,d,4,quatre\n",
    )
    .unwrap();
    let second = build();
    assert!(second.contains("1 ajoutée(s), 1 retirée(s), 1 modifiée(s)"), "{second}");
    let current = version_dir(&out, "essai_diff", "province", "2024-2025");
    assert_ne!(current, submitted);
    let diff: serde_json::Value = serde_json::from_slice(&std::fs::read(current.join("diff.json")).unwrap()).unwrap();
    assert_eq!(diff["summary"]["against"], m["build_id"]);
    assert_eq!(diff["summary"]["unchanged"], 1);
    let rows = diff["rows"].as_array().unwrap();
    let find = |k: &str| rows.iter().find(|r| r["key"][0] == k).cloned();
    assert_eq!(find("a").unwrap()["change"], "retiree");
    assert_eq!(find("d").unwrap()["change"], "ajoutee");
    assert_eq!(find("b").unwrap()["change"], "modifiee");
    assert_eq!(find("b").unwrap()["fields"], serde_json::json!(["valeur"]));
    assert!(find("c").is_none());
    assert_eq!(manifest(&current)["status"], "provisoire");

    // The submitted version is untouched, read-only, still `transmis`, and a third build keeps it.
    build();
    assert_eq!(std::fs::read(&file).unwrap(), before);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o222, 0);
    assert_eq!(manifest(&submitted)["status"], "transmis");
    assert!(submitted.exists());
    assert_eq!(
        std::fs::read_dir(unit.join("versions")).unwrap().count(),
        2,
        "the submitted version and the last build"
    );
    // The audit log has the builds and the submission.
    let audit: String = std::fs::read_dir(built().warehouse.join("_socle/audit"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(audit.contains("\"action\":\"extract_submit\""));
    assert!(audit.contains("extract:essai_diff:2024-2025"));
}

#[test]
fn extracts_list_names_each_extract_first() {
    let o = socle(&["extracts", "list"]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let names: Vec<&str> = stdout.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(
        names,
        [
            "declaration_30_septembre",
            "depenses_ri",
            "donnees_pseudonymisees",
            "indicateurs_pevr",
            "rapport_financier_annuel"
        ]
    );
    assert!(stdout.contains("(nominatif)"));
}

/// The PEVR indicators of a year with data equal the CSS's marts they come from.
#[test]
fn pevr_indicators_are_their_marts_figures_against_the_seed() {
    let b = built();
    let dir = tempfile::tempdir().unwrap();
    let p = pipelines_with_tests(dir.path());
    let out = dir.path().join("out");
    let o = extracts(
        &p,
        &out,
        &["build", "indicateurs_pevr", "--css", "866000", "--year", "2024-2025"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v = version_dir(&out, "indicateurs_pevr", "866000", "2024-2025");
    let csv = std::fs::read(v.join("indicateurs_pevr_866000_2024-2025.csv")).unwrap();
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(&csv[3..]);
    let headers = reader.headers().unwrap().clone();
    let rows: BTreeMap<String, BTreeMap<String, String>> = reader
        .records()
        .map(|r| {
            let r: BTreeMap<String, String> = headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect();
            (r["indicateur"].clone(), r)
        })
        .collect();
    let q = |sql: &str| query_csv(&b.warehouse, Some("866000"), sql).remove(0);
    let exams = q(
        "SELECT CAST(sum(nb_reussites) AS VARCHAR) AS r, CAST(sum(nb_70_plus) AS VARCHAR) AS s, \
                   CAST(sum(nb_presents) AS VARCHAR) AS p FROM epreuves_ministerielles \
                   WHERE annee_scolaire = '2024-2025' AND volet_de IS NULL",
    );
    assert_eq!(rows["reussite_epreuves"]["numerateur"], exams["r"]);
    assert_eq!(rows["reussite_epreuves"]["denominateur"], exams["p"]);
    assert_eq!(rows["part_70_plus_epreuves"]["numerateur"], exams["s"]);
    let retard = q(
        "SELECT CAST(sum(nb_retard) AS VARCHAR) AS n, CAST(sum(nb_entrants) AS VARCHAR) AS d \
                    FROM retard_scolaire WHERE annee_scolaire = '2024-2025'",
    );
    assert_eq!(rows["retard_entree_secondaire"]["numerateur"], retard["n"]);
    assert_eq!(rows["retard_entree_secondaire"]["denominateur"], retard["d"]);
    // 1.1.1.1 in 2024-2025: the cohort of 2018-2019, whose 7-year horizon is reached.
    let cohort = q(
        "SELECT CAST(nb_diplomes_qualifies_7ans AS VARCHAR) AS n, CAST(nb_eleves_cohorte AS VARCHAR) AS d \
                    FROM diplomation_cohorte WHERE annee_scolaire = '2018-2019' AND code_etablissement IS NULL \
                    AND ventilation = 'ensemble' AND sous_groupe = 'tous'",
    );
    assert_eq!(rows["diplomation_qualification_7ans"]["numerateur"], cohort["n"]);
    assert_eq!(rows["diplomation_qualification_7ans"]["denominateur"], cohort["d"]);
    // Value = n / d to 4 decimals with a decimal comma; the target is the seed's; the gap signed.
    let seed = std::fs::read_to_string(root().join("pipelines/seeds/cibles_pevr.csv")).unwrap();
    for (indicator, r) in &rows {
        let target = seed
            .lines()
            .find(|l| l.starts_with(&format!("866000,{indicator},2024-2025,")))
            .and_then(|l| l.rsplit(',').next())
            .unwrap();
        let target: f64 = target.parse().unwrap();
        assert_eq!(r["cible"], format!("{target:.4}").replace('.', ","));
        if r["denominateur"].is_empty() || r["denominateur"] == "0" {
            assert_eq!(r["statut"], "aucune donnée");
            continue;
        }
        let value = r["numerateur"].parse::<f64>().unwrap() / r["denominateur"].parse::<f64>().unwrap();
        assert_eq!(r["valeur"], format!("{value:.4}").replace('.', ","), "{indicator}");
        let gap = r["ecart"].replace(',', ".").parse::<f64>().unwrap();
        assert!((gap - (value - target)).abs() < 0.0001, "{indicator}");
        assert!(r["ecart"].starts_with('+') || r["ecart"].starts_with('-'));
    }
}
