//! Student follow-up marts of the CSS zones (nominative, `publication: css`): `suivi_des` (DES
//! eligibility forecast of secondary 5 students) and `eleves_a_risque` (early warning on
//! attendance, French and math). Each test builds a small canonical dataset by hand; the
//! expected numbers are computed in the comments beside the assertions.

use socle_marts::testing::{Fixture, Row, approx};
use std::error::Error;

type TestResult = Result<(), Box<dyn Error>>;

const RESULTAT_HEADER: &str = "annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,fiche,ecole_bidon,code_cours,groupe,reprise,etat,etape,resultat_source,code_legende,statut_resultat,evalue,reussi,note";

/// One `resultat` CSV line from a compact spec, whitespace-separated:
/// `year system school key fiche course group retake(y/n) etat etape statut note [source legend]`.
/// The CSS is the school's first three digits + `000`; `evalue` and `reussi` follow the status as
/// the loader sets them (reussi/echec: evaluated; absent, exempte, vide: not evaluated, reussi
/// null); note `-` is null; the source defaults to the note (or ABS/EX for absent/exempte).
fn res(spec: &str) -> String {
    let f: Vec<&str> = spec.split_whitespace().collect();
    assert!(f.len() == 12 || f.len() == 14, "bad result spec {spec}");
    let (year, sys, school, key, fiche, code, group, retake, etat, etape, statut, note) =
        (f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]);
    let css = format!("{}000", &school[..3]);
    let bidon = school == "866055";
    let (evalue, reussi) = match statut {
        "reussi" => ("true", "true"),
        "echec" => ("true", "false"),
        _ => ("false", ""),
    };
    let note = if note == "-" { "" } else { note };
    let (source, legend) = if f.len() == 14 {
        (f[12].to_string(), f[13].to_string())
    } else {
        let s = match statut {
            "absent" => "ABS".to_string(),
            "exempte" => "EX".to_string(),
            _ => note.to_string(),
        };
        (s, String::new())
    };
    let retake = if retake == "y" { "true" } else { "false" };
    format!(
        "{year},{css},{sys},{school},{key},{fiche},{bidon},{code},{group},{retake},{etat},{etape},{source},{legend},{statut},{evalue},{reussi},{note}"
    )
}

/// A `resultat` CSV text from compact specs (see [`res`]); `#` starts a comment line.
fn resultats(specs: &str) -> String {
    let mut out = vec![RESULTAT_HEADER.to_string()];
    out.extend(
        specs
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(res),
    );
    out.join("\n")
}

// ---------------------------------------------------------------------------------------------
// suivi_des
// ---------------------------------------------------------------------------------------------

const SUIVI_INSCRIPTIONS: &str = "
    annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,fiche,ecole_bidon,actif,ordre_enseignement,classe,groupe_repere,date_debut,date_depart
    2022-2023,866000,gpi,866052,k1,901,false,true,4,3,301,2022-08-29,
    2023-2024,866000,gpi,866052,k1,901,false,true,4,4,401,2023-08-28,
    2024-2025,866000,gpi,866052,k1,901,false,true,4,5,599,2024-08-27,
    2024-2025,866000,mozaik,866052,k1,101,false,true,4,5,501,2024-08-27,
    2023-2024,866000,gpi,866052,k2,902,false,true,4,4,401,2023-08-28,
    2024-2025,866000,mozaik,866052,k2,102,false,true,4,5,501,2024-08-27,
    2023-2024,866000,gpi,866053,k3,903,false,true,4,4,402,2023-08-28,
    2024-2025,866000,mozaik,866053,k3,103,false,true,4,5,502,2024-08-27,
    2024-2025,866000,mozaik,866052,k4,104,false,true,4,5,501,2024-08-27,
    2024-2025,866000,mozaik,866052,k5,105,false,true,4,5,501,2024-08-27,2025-01-15
    2024-2025,866000,mozaik,866055,k6,106,true,true,4,5,501,2024-08-27,
    2024-2025,866000,mozaik,866052,k7,107,false,true,4,4,401,2024-08-27,
    2024-2025,866000,mozaik,866052,k8,108,false,false,4,5,501,2024-08-27,
    2022-2023,866000,gpi,866052,k9,909,false,true,4,4,401,2022-08-29,
    2024-2025,866000,mozaik,866052,k9,109,false,true,4,5,502,2024-08-27,
    2023-2024,866000,gpi,866052,k12,912,false,true,4,4,401,2023-08-28,
    2024-2025,866000,mozaik,866052,k12,112,false,true,4,5,502,2024-08-27,
    2023-2024,866000,gpi,866052,k13,913,false,true,4,5,501,2023-08-28,
    2023-2024,881000,mozaik,881003,k4,4004,false,true,4,4,401,2023-08-28,
    2024-2025,751000,gpi,751006,k11,1101,false,true,4,5,501,2024-08-27,
";

const SUIVI_ELEVES: &str = "
    code_css,systeme_source,cle_eleve,cle_locale,fiche,nom,prenom,sexe
    866000,gpi,k1,false,901,Tremblay,Alpha,F
    866000,mozaik,k1,false,101,Tremblay,Alpha,F
    866000,gpi,k2,false,902,Gagnon,Béa,F
    866000,mozaik,k2,false,102,Gagnon,Béa,F
    866000,gpi,k3,false,903,Roy,Chloé,F
    866000,mozaik,k3,false,103,Roy,Chloé,F
    866000,mozaik,k4,false,104,Côté,Denis,M
    866000,mozaik,k5,false,105,Lavoie,Ève,F
    866000,mozaik,k6,false,106,Morin,Félix,M
    866000,mozaik,k7,false,107,Ouellet,Gaby,X
    866000,mozaik,k8,false,108,Pelletier,Hugo,M
    866000,gpi,k9,false,909,Fortin,Éloi,M
    866000,mozaik,k9,false,109,Fortin,Éloi,M
    866000,gpi,k12,false,912,Gauthier,Karim,M
    866000,mozaik,k12,false,112,Gauthier,Karim,M
    866000,gpi,k13,false,913,Bélanger,Iris,F
    881000,mozaik,k4,false,4004,Côté,Denis,M
    751000,gpi,k11,false,1101,Caron,Jade,F
";

/// Results of every student of the suivi_des dataset (compact specs, see `res`).
const SUIVI_RESULTATS: &str = "
    # k1: regular path, exactly 54 units (34 in sec 4 + 20 in sec 5), every requirement passed.
    2022-2023 gpi 866052 k1 901 063306 301 n 8 final reussi 70
    2023-2024 gpi 866052 k1 901 132406 401 n 8 1 reussi 70
    2023-2024 gpi 866052 k1 901 132406 401 n 8 final reussi 75
    2023-2024 gpi 866052 k1 901 134404 401 n 8 final reussi 80
    2023-2024 gpi 866052 k1 901 065426 401 n 8 final reussi 72
    2023-2024 gpi 866052 k1 901 055444 401 n 8 final reussi 68
    2023-2024 gpi 866052 k1 901 085404 401 n 8 final reussi 77
    2023-2024 gpi 866052 k1 901 168402 401 n 8 final reussi 85
    2023-2024 gpi 866052 k1 901 043402 401 n 8 final reussi 90
    2023-2024 gpi 866052 k1 901 058404 401 n 8 final reussi 66
    2023-2024 gpi 866052 k1 901 069402 401 n 8 final reussi 88
    2024-2025 mozaik 866052 k1 101 132506 501 n 1 final reussi 71
    2024-2025 mozaik 866052 k1 101 132520 501 n 1 final reussi 70
    2024-2025 mozaik 866052 k1 101 134504 501 n 1 final reussi 78
    2024-2025 mozaik 866052 k1 101 069502 501 n 1 final reussi 81
    2024-2025 mozaik 866052 k1 101 043502 501 n 1 final reussi 90
    2024-2025 mozaik 866052 k1 101 043502 502 n 1 final reussi 88
    2024-2025 mozaik 866052 k1 101 065506 501 n 1 final reussi 64
    # k1's GPI copy of the migration year: Mozaïk is the year's system, so this is ignored.
    2024-2025 gpi 866052 k1 901 102522 599 n 1 final reussi 80
    # k2: failed math 4 last year, retake passed this year; a legend code (B = 75); 32 units in
    # progress, none failing: en_voie.
    2023-2024 gpi 866052 k2 902 132406 401 n 8 final reussi 66
    2023-2024 gpi 866052 k2 902 134404 401 n 8 final reussi 75 B L1
    2023-2024 gpi 866052 k2 902 055444 401 n 8 final reussi 61
    2023-2024 gpi 866052 k2 902 085404 401 n 8 final reussi 70
    2023-2024 gpi 866052 k2 902 170402 401 n 8 final reussi 80
    2023-2024 gpi 866052 k2 902 063414 401 n 8 final echec 55
    2024-2025 mozaik 866052 k2 102 063414 R01 y 8 final reussi 68
    2024-2025 mozaik 866052 k2 102 132506 501 n 1 1 reussi 70
    2024-2025 mozaik 866052 k2 102 132506 501 n 1 2 vide -
    2024-2025 mozaik 866052 k2 102 132506 501 n 1 final vide -
    2024-2025 mozaik 866052 k2 102 134504 501 n 1 1 reussi 75
    2024-2025 mozaik 866052 k2 102 134504 501 n 1 final vide -
    2024-2025 mozaik 866052 k2 102 080502 501 n 1 final vide -
    2024-2025 mozaik 866052 k2 102 043502 501 n 1 final vide -
    2024-2025 mozaik 866052 k2 102 051504 501 n 1 final vide -
    2024-2025 mozaik 866052 k2 102 053504 501 n 1 final vide -
    2024-2025 mozaik 866052 k2 102 065506 501 n 1 final vide -
    2024-2025 mozaik 866052 k2 102 092502 501 n 1 final vide -
    2024-2025 mozaik 866052 k2 102 102522 501 n 1 final vide -
    # k3: history 4 absent (ABS) at the final, English 4 exempted (EX): no units; history passed
    # only at a dummy school (ignored) and re-enrolled this year but inactive (etat 0): missing.
    2023-2024 gpi 866053 k3 903 132406 402 n 8 final reussi 64
    2023-2024 gpi 866053 k3 903 063414 402 n 8 final reussi 60
    2023-2024 gpi 866053 k3 903 055444 402 n 8 final reussi 62
    2023-2024 gpi 866053 k3 903 169402 402 n 8 final reussi 75
    2023-2024 gpi 866053 k3 903 085404 402 n 8 final absent -
    2023-2024 gpi 866053 k3 903 134404 402 n 8 final exempte -
    2023-2024 gpi 866055 k3 903 085404 402 n 8 final reussi 90
    2024-2025 mozaik 866053 k3 103 087404 502 n 0 final vide -
    2024-2025 mozaik 866053 k3 103 132506 502 n 1 final vide -
    2024-2025 mozaik 866053 k3 103 134504 502 n 1 final vide -
    2024-2025 mozaik 866053 k3 103 069502 502 n 1 final vide -
    2024-2025 mozaik 866053 k3 103 043502 502 n 1 final vide -
    # k4: mover, first enrolment in 866000 in secondary 5; French 4 passed in 881000 (out of reach).
    2024-2025 mozaik 866052 k4 104 132506 501 n 1 final vide -
    2024-2025 mozaik 866052 k4 104 134504 501 n 1 final vide -
    2023-2024 mozaik 881003 k4 4004 132406 401 n 8 final reussi 80
    # k5 (left in January): excluded, whatever the results.
    2024-2025 mozaik 866052 k5 105 132506 501 n 0 final vide -
    # k9: sec 4 two years ago here, away last year; French 5 failing at étape 1 (étape 2 absent):
    # 24 units earned + 30 in progress = 54, but the French requirement is failing: a_risque.
    2022-2023 gpi 866052 k9 909 132406 401 n 8 final reussi 70
    2022-2023 gpi 866052 k9 909 134404 401 n 8 final reussi 70
    2022-2023 gpi 866052 k9 909 063414 401 n 8 final reussi 70
    2022-2023 gpi 866052 k9 909 055444 401 n 8 final reussi 70
    2022-2023 gpi 866052 k9 909 085404 401 n 8 final reussi 70
    2022-2023 gpi 866052 k9 909 172402 401 n 8 final reussi 70
    2024-2025 mozaik 866052 k9 109 132506 502 n 1 1 echec 58
    2024-2025 mozaik 866052 k9 109 132506 502 n 1 2 absent -
    2024-2025 mozaik 866052 k9 109 132506 502 n 1 final vide -
    2024-2025 mozaik 866052 k9 109 134504 502 n 1 final vide -
    2024-2025 mozaik 866052 k9 109 069502 502 n 1 final vide -
    2024-2025 mozaik 866052 k9 109 043502 502 n 1 final vide -
    2024-2025 mozaik 866052 k9 109 051504 502 n 1 final vide -
    2024-2025 mozaik 866052 k9 109 053504 502 n 1 final vide -
    2024-2025 mozaik 866052 k9 109 065506 502 n 1 final vide -
    2024-2025 mozaik 866052 k9 109 092502 502 n 1 final vide -
    # k12: every requirement passed or in progress and passing, but failing an elective (065506,
    # 6 units) that the 54 units need: a_risque on units alone.
    2023-2024 gpi 866052 k12 912 132406 401 n 8 final reussi 70
    2023-2024 gpi 866052 k12 912 134404 401 n 8 final reussi 70
    2023-2024 gpi 866052 k12 912 063414 401 n 8 final reussi 70
    2023-2024 gpi 866052 k12 912 055444 401 n 8 final reussi 70
    2023-2024 gpi 866052 k12 912 085404 401 n 8 final reussi 70
    2023-2024 gpi 866052 k12 912 168402 401 n 8 final reussi 70
    2024-2025 mozaik 866052 k12 112 132506 502 n 1 1 reussi 75
    2024-2025 mozaik 866052 k12 112 132506 502 n 1 final vide -
    2024-2025 mozaik 866052 k12 112 134504 502 n 1 final vide -
    2024-2025 mozaik 866052 k12 112 069502 502 n 1 final vide -
    2024-2025 mozaik 866052 k12 112 043502 502 n 1 final vide -
    2024-2025 mozaik 866052 k12 112 051504 502 n 1 final vide -
    2024-2025 mozaik 866052 k12 112 053504 502 n 1 final vide -
    2024-2025 mozaik 866052 k12 112 065506 502 n 1 1 echec 50
    2024-2025 mozaik 866052 k12 112 065506 502 n 1 2 reussi 61
    2024-2025 mozaik 866052 k12 112 065506 502 n 1 3 echec 52
    2024-2025 mozaik 866052 k12 112 065506 502 n 1 final vide -
    2024-2025 mozaik 866052 k12 112 092502 502 n 1 final vide -
    # k11: the only student of 751000, whose data starts this year.
    2024-2025 gpi 751006 k11 1101 132506 501 n 8 final reussi 80
";

fn suivi_fixture() -> Result<Fixture, Box<dyn Error>> {
    Ok(Fixture::new()?
        .table("inscription", SUIVI_INSCRIPTIONS)
        .table("eleve", SUIVI_ELEVES)
        .table("resultat", &resultats(SUIVI_RESULTATS)))
}

/// The eight requirement columns, in the seed's order.
const EXIGENCES: [&str; 8] = [
    "exigence_francais_5",
    "exigence_anglais_5",
    "exigence_mathematique_4",
    "exigence_science_4",
    "exigence_histoire_4",
    "exigence_arts_4",
    "exigence_ethique_citoyennete_5",
    "exigence_education_physique_5",
];

fn assert_exigences(r: &Row<'_>, expected: [&str; 8]) {
    for (c, e) in EXIGENCES.iter().zip(expected) {
        assert_eq!(r.get(c), Some(e), "{c}");
    }
}

/// Units, in progress, failing courses, requirement counts of one row.
fn assert_counts(r: &Row<'_>, units: [i64; 5], exigences: [i64; 3]) {
    assert_eq!(r.int("unites_sec4_5"), Some(units[0]), "unites_sec4_5");
    assert_eq!(r.int("unites_sec5"), Some(units[1]), "unites_sec5");
    assert_eq!(
        r.int("unites_en_cours_sec4_5"),
        Some(units[2]),
        "unites_en_cours_sec4_5"
    );
    assert_eq!(r.int("unites_en_cours_sec5"), Some(units[3]), "unites_en_cours_sec5");
    assert_eq!(r.int("nb_cours_en_echec"), Some(units[4]), "nb_cours_en_echec");
    assert_eq!(
        r.int("nb_exigences_reussies"),
        Some(exigences[0]),
        "nb_exigences_reussies"
    );
    assert_eq!(
        r.int("nb_exigences_en_cours"),
        Some(exigences[1]),
        "nb_exigences_en_cours"
    );
    assert_eq!(
        r.int("nb_exigences_manquantes"),
        Some(exigences[2]),
        "nb_exigences_manquantes"
    );
}

#[tokio::test]
async fn suivi_des_population_and_columns() -> TestResult {
    let rows = suivi_fixture()?.css_zone("suivi_des").await?;
    // Never a code permanent or a birth date; names and fiche are allowed (CSS zone only).
    assert_eq!(
        rows.columns,
        [
            "code_css",
            "annee_scolaire",
            "code_etablissement",
            "fiche",
            "nom",
            "prenom",
            "groupe_repere",
            "unites_sec4_5",
            "unites_sec5",
            "unites_en_cours_sec4_5",
            "unites_en_cours_sec5",
            "nb_cours_en_echec",
            "exigence_francais_5",
            "exigence_anglais_5",
            "exigence_mathematique_4",
            "exigence_science_4",
            "exigence_histoire_4",
            "exigence_arts_4",
            "exigence_ethique_citoyennete_5",
            "exigence_education_physique_5",
            "nb_exigences_reussies",
            "nb_exigences_en_cours",
            "nb_exigences_manquantes",
            "prevision",
            "changement_css_possible",
        ]
    );
    // 866000: k1, k2, k3, k4, k9 (k5 left, k6 dummy school, k7 sec 4, k8 inactive, k13 sec 5
    // last year only), k12; 881000: its latest year is 2023-2024, with no sec 5 student;
    // 751000: k11.
    assert_eq!(rows.len(), 7, "{rows}");
    let mut fiches: Vec<i64> = rows.all().iter().filter_map(|r| r.int("fiche")).collect();
    fiches.sort();
    assert_eq!(fiches, [101, 102, 103, 104, 109, 112, 1101]);
    for r in rows.all() {
        assert_eq!(r.get("annee_scolaire"), Some("2024-2025"));
    }
    Ok(())
}

#[tokio::test]
async fn suivi_des_exactly_54_units_is_en_voie() -> TestResult {
    let rows = suivi_fixture()?.css_zone("suivi_des").await?;
    // k1, Mozaïk fiche 101 (the migration year's system; the GPI row 901 / group 599 is ignored).
    let r = rows.find(&[("code_css", "866000"), ("fiche", "101")]);
    assert_eq!(r.get("nom"), Some("Tremblay"));
    assert_eq!(r.get("prenom"), Some("Alpha"));
    assert_eq!(r.get("code_etablissement"), Some("866052"));
    assert_eq!(r.get("groupe_repere"), Some("501"));
    // Sec 4 (2023-2024): 132406 6 + 134404 4 + 065426 6 + 055444 4 + 085404 4 + 168402 2
    //   + 043402 2 + 058404 4 (not in ref_cours: last digit) + 069402 2 = 34.
    // Sec 5 (2024-2025): 132506 6 + 134504 4 + 069502 2 + 043502 2 (passed in two groups: once)
    //   + 065506 6 = 20; the volet 132520 (0 units) and the GPI copy's 102522 do not count;
    //   063306 is sec 3.
    // Total 34 + 20 = 54 = the threshold; sec 5 20 = the threshold: en_voie.
    assert_counts(&r, [54, 20, 0, 0, 0], [8, 0, 0]);
    assert_exigences(&r, ["reussi"; 8]);
    assert_eq!(r.get("prevision"), Some("en_voie"));
    // Enrolled in 866000 last year, in secondary 4.
    assert_eq!(r.bool("changement_css_possible"), Some(false));
    Ok(())
}

#[tokio::test]
async fn suivi_des_retake_legend_code_and_courses_in_progress() -> TestResult {
    let rows = suivi_fixture()?.css_zone("suivi_des").await?;
    let r = rows.find(&[("code_css", "866000"), ("fiche", "102")]);
    assert_eq!(r.get("nom"), Some("Gagnon"));
    // Earned: 132406 6 + 134404 4 (legend code B, passed) + 055444 4 + 085404 4 + 170402 2 = 20
    //   in 2023-2024, + 063414 4 (failed in 2023-2024, retake passed in 2024-2025: counted once)
    //   = 24; none in sec 5.
    // In progress (2024-2025, no final entered): 132506 6 + 134504 4 + 080502 2 + 043502 2
    //   + 051504 4 + 053504 4 + 065506 6 + 092502 2 + 102522 2 = 32, all sec 5; none failing
    //   (132506 and 134504 pass étape 1).
    // Requirements: math, science, history, arts passed (4); French 5, English 5, CCQ 5 (the
    //   successor of ECR), phys. ed. 5 in progress (4).
    // 24 + 32 = 56 >= 54 and 0 + 32 = 32 >= 20 counting courses in progress: en_voie.
    assert_counts(&r, [24, 0, 32, 32, 0], [4, 4, 0]);
    assert_exigences(
        &r,
        [
            "en_cours", "en_cours", "reussi", "reussi", "reussi", "reussi", "en_cours", "en_cours",
        ],
    );
    assert_eq!(r.get("prevision"), Some("en_voie"));
    assert_eq!(r.bool("changement_css_possible"), Some(false));
    Ok(())
}

#[tokio::test]
async fn suivi_des_abs_ex_dummy_school_and_inactive_course() -> TestResult {
    let rows = suivi_fixture()?.css_zone("suivi_des").await?;
    let r = rows.find(&[("code_css", "866000"), ("fiche", "103")]);
    assert_eq!(r.get("code_etablissement"), Some("866053"));
    assert_eq!(r.get("groupe_repere"), Some("502"));
    // Earned: 132406 6 + 063414 4 (60, the pass mark) + 055444 4 + 169402 2 = 16; history 4
    //   absent (ABS) and English 4 exempted (EX): no units; history passed at the dummy school
    //   866055: ignored.
    // In progress: 132506 6 + 134504 4 + 069502 2 + 043502 2 = 14 (087404 is inactive, etat 0).
    // History 4 is neither passed nor in progress: missing, so not graduating this year.
    assert_counts(&r, [16, 0, 14, 14, 0], [3, 4, 1]);
    assert_exigences(
        &r,
        [
            "en_cours", "en_cours", "reussi", "reussi", "manquant", "reussi", "en_cours", "en_cours",
        ],
    );
    assert_eq!(r.get("prevision"), Some("non_diplomable_cette_annee"));
    assert_eq!(r.bool("changement_css_possible"), Some(false));
    Ok(())
}

#[tokio::test]
async fn suivi_des_mover_and_gap_year() -> TestResult {
    let rows = suivi_fixture()?.css_zone("suivi_des").await?;
    // k4: first enrolment in 866000 in secondary 5. French 4 passed in 881000 is out of reach of
    // 866000's zone: 0 units earned; 132506 6 + 134504 4 = 10 in progress; 6 requirements missing.
    let r = rows.find(&[("code_css", "866000"), ("fiche", "104")]);
    assert_counts(&r, [0, 0, 10, 10, 0], [0, 2, 6]);
    assert_eq!(r.get("prevision"), Some("non_diplomable_cette_annee"));
    assert_eq!(r.bool("changement_css_possible"), Some(true));

    // k9: sec 4 in 866000 in 2022-2023, not enrolled here in 2023-2024, back in sec 5.
    // Earned (2022-2023, earlier years count): 132406 6 + 134404 4 + 063414 4 + 055444 4
    //   + 085404 4 + 172402 2 = 24.
    // In progress: 132506 6 + 134504 4 + 069502 2 + 043502 2 + 051504 4 + 053504 4 + 065506 6
    //   + 092502 2 = 30, all sec 5. 132506 fails étape 1 (58) and étape 2 is absent (not
    //   evaluated): its latest evaluated étape is a fail, so 1 course failing.
    // 24 + 30 = 54 >= 54, 30 >= 20: reachable, but only by passing the failing French 5: a_risque.
    let r = rows.find(&[("code_css", "866000"), ("fiche", "109")]);
    assert_counts(&r, [24, 0, 30, 30, 1], [4, 4, 0]);
    assert_exigences(
        &r,
        [
            "en_cours_echec",
            "en_cours",
            "reussi",
            "reussi",
            "reussi",
            "reussi",
            "en_cours",
            "en_cours",
        ],
    );
    assert_eq!(r.get("prevision"), Some("a_risque"));
    assert_eq!(r.bool("changement_css_possible"), Some(true));
    Ok(())
}

#[tokio::test]
async fn suivi_des_at_risk_on_units() -> TestResult {
    let rows = suivi_fixture()?.css_zone("suivi_des").await?;
    // k12: earned 132406 6 + 134404 4 + 063414 4 + 055444 4 + 085404 4 + 168402 2 = 24.
    // In progress: 132506 6 + 134504 4 + 069502 2 + 043502 2 + 051504 4 + 053504 4 + 065506 6
    //   + 092502 2 = 30, all sec 5; 065506's latest evaluated étape (3: 52) is a fail (étape 2
    //   passed does not matter): 1 course failing, 6 units.
    // Every requirement passed or in progress and passing: none failing, none missing.
    // 24 + 30 = 54 >= 54 and 30 >= 20: reachable; without the failing course 54 - 6 = 48 < 54:
    //   a_risque.
    let r = rows.find(&[("code_css", "866000"), ("fiche", "112")]);
    assert_counts(&r, [24, 0, 30, 30, 1], [4, 4, 0]);
    assert_exigences(
        &r,
        [
            "en_cours", "en_cours", "reussi", "reussi", "reussi", "reussi", "en_cours", "en_cours",
        ],
    );
    assert_eq!(r.get("prevision"), Some("a_risque"));
    assert_eq!(r.bool("changement_css_possible"), Some(false));
    Ok(())
}

#[tokio::test]
async fn suivi_des_css_without_previous_year() -> TestResult {
    let rows = suivi_fixture()?.css_zone("suivi_des").await?;
    // 751000's data starts in 2024-2025: whether k11 changed CSS is unknown (null).
    let r = rows.find(&[("code_css", "751000")]);
    assert_eq!(r.int("fiche"), Some(1101));
    assert_eq!(r.get("nom"), Some("Caron"));
    // 132506 passed: 6 units, all sec 5; French 5 passed, the 7 others missing.
    assert_counts(&r, [6, 6, 0, 0, 0], [1, 0, 7]);
    assert_eq!(r.get("exigence_francais_5"), Some("reussi"));
    assert_eq!(r.get("prevision"), Some("non_diplomable_cette_annee"));
    assert!(r.is_null("changement_css_possible"));
    Ok(())
}

#[tokio::test]
async fn suivi_des_is_never_in_the_shared_zone() -> TestResult {
    let f = suivi_fixture()?;
    let err = f
        .shared_zone("suivi_des")
        .await
        .expect_err("nominative mart in the shared zone");
    assert!(err.to_string().contains("nominative"), "{err}");
    Ok(())
}

/// A requirement written as a subject prefix + secondary year (a seed row with no code_cours)
/// matches every course of that subject and year: here history 4 as prefix 085 + year 4, in a
/// copy of the project whose seed has that row instead of the exact codes.
#[tokio::test]
async fn suivi_des_prefix_requirement() -> TestResult {
    let seed = std::fs::read_to_string(socle_marts::testing::repo_root().join("pipelines/seeds/exigences_des.csv"))?;
    let mut lines: Vec<&str> = seed.lines().filter(|l| !l.starts_with("histoire_4,")).collect();
    lines.push("histoire_4,Histoire 4 (par préfixe),,085,4,Histoire 4");
    let copy = ProjectCopy::new("prefix", Some(&(lines.join("\n") + "\n")))?;
    let rows = copy
        .fixture()?
        .table("inscription", SUIVI_INSCRIPTIONS)
        .table("eleve", SUIVI_ELEVES)
        .table("resultat", &resultats(SUIVI_RESULTATS))
        .css_zone("suivi_des")
        .await?;
    // k1 passed 085404 (prefix 085, year 4): passed. k3 has 085404 only absent (and passed at a
    // dummy school) and 087404 (prefix 087) inactive: still missing.
    assert_eq!(
        rows.find(&[("fiche", "101")]).get("exigence_histoire_4"),
        Some("reussi")
    );
    assert_eq!(
        rows.find(&[("fiche", "103")]).get("exigence_histoire_4"),
        Some("manquant")
    );
    Ok(())
}

/// A copy of this file's marts and seed in a temporary `pipelines/` folder (removed on drop),
/// optionally with another `exigences_des.csv`.
struct ProjectCopy {
    dir: std::path::PathBuf,
}

impl ProjectCopy {
    fn new(name: &str, seed_csv: Option<&str>) -> Result<Self, Box<dyn Error>> {
        let repo = socle_marts::testing::repo_root().join("pipelines");
        let dir = std::env::temp_dir().join(format!("socle-marts-suivi-{}-{name}", std::process::id()));
        std::fs::create_dir_all(dir.join("marts"))?;
        std::fs::create_dir_all(dir.join("seeds"))?;
        for m in MARTS {
            for ext in ["sql", "yaml"] {
                let f = format!("{m}.{ext}");
                std::fs::copy(repo.join("marts").join(&f), dir.join("marts").join(&f))?;
            }
        }
        std::fs::copy(
            repo.join("seeds/exigences_des.yaml"),
            dir.join("seeds/exigences_des.yaml"),
        )?;
        match seed_csv {
            Some(text) => std::fs::write(dir.join("seeds/exigences_des.csv"), text)?,
            None => {
                std::fs::copy(
                    repo.join("seeds/exigences_des.csv"),
                    dir.join("seeds/exigences_des.csv"),
                )?;
            }
        }
        std::fs::copy(repo.join("config.yaml"), dir.join("config.yaml"))?;
        Ok(ProjectCopy { dir })
    }

    fn fixture(&self) -> Result<Fixture, Box<dyn Error>> {
        Fixture::with_paths(&socle_marts::testing::repo_root().join("schemas"), &self.dir)
    }
}

impl Drop for ProjectCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The marts of this file.
const MARTS: [&str; 2] = ["suivi_des", "eleves_a_risque"];

// ---------------------------------------------------------------------------------------------
// eleves_a_risque
// ---------------------------------------------------------------------------------------------

/// The 200 school days of the test calendar: the weekdays from Monday 2024-09-02 on.
fn school_days() -> Vec<chrono::NaiveDate> {
    use chrono::Datelike;
    let mut d = chrono::NaiveDate::from_ymd_opt(2024, 9, 2).expect("date");
    let mut out = Vec::new();
    while out.len() < 200 {
        if d.weekday().number_from_monday() <= 5 {
            out.push(d);
        }
        d = d.succ_opt().expect("date");
    }
    out
}

/// `calendrier` rows: every school day of `school` with `periods` periods, and (for 866052) the
/// Saturdays in between, not school days, with a bogus period count that must not count.
fn calendrier() -> String {
    use chrono::Datelike;
    let days = school_days();
    let mut out =
        vec!["annee_scolaire,code_css,systeme_source,code_etablissement,date,jour_classe,nb_periodes".to_string()];
    for (school, periods) in [("866052", 5), ("866053", 6), ("866001", 4), ("881003", 5)] {
        let css = format!("{}000", &school[..3]);
        for d in &days {
            out.push(format!("2024-2025,{css},gpi,{school},{d},true,{periods}"));
        }
    }
    let mut d = days[0];
    while d <= days[199] {
        if d.weekday().number_from_monday() == 6 {
            out.push(format!("2024-2025,866000,gpi,866052,{d},false,5"));
        }
        d = d.succ_opt().expect("date");
    }
    out.join("\n")
}

/// `absence` rows of one student at one school: periods `periods` of the school days numbered
/// `days` (0-based, see [`school_days`]), with `categorie` (empty = none).
fn absences(
    out: &mut Vec<String>,
    school: &str,
    key: &str,
    fiche: i64,
    days: std::ops::Range<usize>,
    periods: std::ops::RangeInclusive<i64>,
    categorie: &str,
) {
    let all = school_days();
    let css = format!("{}000", &school[..3]);
    for i in days {
        for p in periods.clone() {
            out.push(format!(
                "2024-2025,{css},gpi,{school},{key},{fiche},{},{p},{categorie}",
                all[i]
            ));
        }
    }
}

fn absence_table() -> String {
    let mut out = vec![
        "annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,fiche,date_absence,periode,categorie"
            .to_string(),
    ];
    // e1 (k21): 20 days x 5 unexcused + 4 days x 5 excused = 120 absent periods; 6 days x 5 late
    // (not absences); a Saturday (not a school day): ignored.
    absences(&mut out, "866052", "k21", 201, 0..20, 1..=5, "non_motivee");
    absences(&mut out, "866052", "k21", 201, 20..24, 1..=5, "motivee");
    absences(&mut out, "866052", "k21", 201, 30..36, 1..=5, "retard");
    out.push("2024-2025,866000,gpi,866052,k21,201,2024-09-07,1,non_motivee".to_string());
    // e2 (k22): 24 days x 5 + 1 period without a category = 121 absent periods.
    absences(&mut out, "866052", "k22", 202, 0..24, 1..=5, "non_motivee");
    absences(&mut out, "866052", "k22", 202, 24..25, 1..=1, "");
    // e3 (k23): at 866052 (enrolled days 0-99): 4 days x 5 = 20, and day 150 after leaving
    // (ignored); at 866053 (enrolled from day 110): day 105 before arriving (ignored), then
    // 5 days x 6 + 2 periods = 32.
    absences(&mut out, "866052", "k23", 203, 0..4, 1..=5, "non_motivee");
    absences(&mut out, "866052", "k23", 203, 150..151, 1..=5, "non_motivee");
    absences(&mut out, "866053", "k23", 203, 105..106, 1..=3, "non_motivee");
    absences(&mut out, "866053", "k23", 203, 110..115, 1..=6, "motivee");
    absences(&mut out, "866053", "k23", 203, 115..116, 1..=2, "non_motivee");
    // e4 (k24), who left the CSS: not listed.
    absences(&mut out, "866052", "k24", 204, 0..10, 1..=5, "non_motivee");
    // e6 (k26): 40 days x 5 = 200 absent periods.
    absences(&mut out, "866052", "k26", 206, 40..80, 1..=5, "non_motivee");
    // e7 (k27): 50 days x 5 = 250, up to the last school day (the CSS's horizon: day 199).
    absences(&mut out, "866052", "k27", 207, 150..200, 1..=5, "non_motivee");
    // f1 (k31, 881000): 5 days x 5 + day 99 x 5 = 30; 881000's data stops at day 99.
    absences(&mut out, "881003", "k31", 3101, 0..5, 1..=5, "non_motivee");
    absences(&mut out, "881003", "k31", 3101, 99..100, 1..=5, "non_motivee");
    out.join("\n")
}

fn risque_inscriptions() -> String {
    let d = school_days();
    format!(
        "
        annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,fiche,ecole_bidon,actif,ordre_enseignement,classe,groupe_repere,date_debut,date_depart
        2024-2025,866000,gpi,866052,k21,201,false,true,4,4,401,{d0},
        2024-2025,866000,gpi,866052,k22,202,false,true,4,4,402,{d0},
        2024-2025,866000,gpi,866052,k23,203,false,true,4,3,301,{d0},{d99}
        2024-2025,866000,gpi,866053,k23,203,false,true,4,3,302,{d110},
        2024-2025,866000,gpi,866052,k24,204,false,true,4,4,401,{d0},{d50}
        2024-2025,866000,gpi,866001,k25,205,false,true,3,4,P41,{d0},
        2024-2025,866000,gpi,866052,k26,206,false,true,4,4,401,{d0},
        2024-2025,866000,gpi,866052,k27,207,false,true,4,4,402,{d0},
        2024-2025,866000,gpi,866055,k28,208,true,true,4,4,401,{d0},
        2023-2024,866000,gpi,866052,k29,209,false,true,4,3,301,2023-08-28,
        2024-2025,881000,gpi,881003,k31,3101,false,true,4,4,401,{d0},
        ",
        d0 = d[0],
        d50 = d[50],
        d99 = d[99],
        d110 = d[110],
    )
}

const RISQUE_ELEVES: &str = "
    code_css,systeme_source,cle_eleve,cle_locale,fiche,nom,prenom,sexe
    866000,gpi,k21,false,201,Pelletier,Émile,M
    866000,gpi,k22,false,202,Bouchard,Flore,F
    866000,gpi,k23,false,203,Lefebvre,Gil,M
    866000,gpi,k24,false,204,Simard,Hélène,F
    866000,gpi,k25,false,205,Girard,Ivan,M
    866000,gpi,k26,false,206,Bergeron,Julie,F
    866000,gpi,k27,false,207,Dubois,Kim,X
    866000,gpi,k28,false,208,Leblanc,Léo,M
    866000,gpi,k29,false,209,Poulin,Mia,F
    881000,gpi,k31,false,3101,Smith,Noah,M
";

const RISQUE_RESULTATS: &str = "
    # e1: French 60 then 72 (latest étape 2: 72, not under 72); math 80 then 65 (65: warning,
    # not under 65).
    2024-2025 gpi 866052 k21 201 132406 401 n 1 1 reussi 60
    2024-2025 gpi 866052 k21 201 132406 401 n 1 2 reussi 72
    2024-2025 gpi 866052 k21 201 063414 401 n 1 1 reussi 80
    2024-2025 gpi 866052 k21 201 063414 401 n 1 2 reussi 65
    # e2: French étape 2 is a legend code C worth 62; math étape 2 absent (ABS) and another math
    # course exempted (EX): math falls back to étape 1 (70).
    2024-2025 gpi 866052 k22 202 132406 402 n 1 1 reussi 80
    2024-2025 gpi 866052 k22 202 132406 402 n 1 2 reussi 62 C L1
    2024-2025 gpi 866052 k22 202 063414 402 n 1 1 reussi 70
    2024-2025 gpi 866052 k22 202 063414 402 n 1 2 absent -
    2024-2025 gpi 866052 k22 202 065426 402 n 1 2 exempte -
    # e5 (primary): French 50 then 64; a retake group (20) and a result at the dummy school
    # (étape 3, 30) do not count; math 90 at étape 1, étape 2 not entered yet.
    2024-2025 gpi 866001 k25 205 FRA400 P41 n 1 1 echec 50
    2024-2025 gpi 866001 k25 205 FRA400 P41 n 1 2 reussi 64
    2024-2025 gpi 866001 k25 205 FRA400 R41 y 1 2 echec 20
    2024-2025 gpi 866055 k25 205 FRA400 P41 n 1 3 echec 30
    2024-2025 gpi 866001 k25 205 MAT400 P41 n 1 1 reussi 90
    2024-2025 gpi 866001 k25 205 MAT400 P41 n 1 2 vide -
    # e6: two math courses at étape 1, 60 and 70 (average 65); the volet 063420 (10) does not
    # count; French 40 at étape 1 and 90 at étape 3 (the latest: 90).
    2024-2025 gpi 866052 k26 206 063414 401 n 1 1 reussi 60
    2024-2025 gpi 866052 k26 206 065426 401 n 1 1 reussi 70
    2024-2025 gpi 866052 k26 206 063420 401 n 1 1 echec 10
    2024-2025 gpi 866052 k26 206 132406 401 n 1 1 echec 40
    2024-2025 gpi 866052 k26 206 132406 401 n 1 3 reussi 90
    # f1 (881000): French 100.
    2024-2025 gpi 881003 k31 3101 132406 401 n 1 1 reussi 100
";

fn risque_fixture() -> Result<Fixture, Box<dyn Error>> {
    Ok(Fixture::new()?
        .table("inscription", &risque_inscriptions())
        .table("eleve", RISQUE_ELEVES)
        .table("calendrier", &calendrier())
        .table("absence", &absence_table())
        .table("resultat", &resultats(RISQUE_RESULTATS)))
}

/// Attendance, French, math, global level and count of one row.
fn assert_levels(r: &Row<'_>, levels: [Option<&str>; 4], nb: i64) {
    assert_eq!(r.get("niveau_assiduite"), levels[0], "niveau_assiduite");
    assert_eq!(r.get("niveau_francais"), levels[1], "niveau_francais");
    assert_eq!(r.get("niveau_mathematique"), levels[2], "niveau_mathematique");
    assert_eq!(r.get("niveau_global"), levels[3], "niveau_global");
    assert_eq!(r.int("nb_indicateurs_risque"), Some(nb), "nb_indicateurs_risque");
}

#[tokio::test]
async fn eleves_a_risque_population_and_columns() -> TestResult {
    let rows = risque_fixture()?.css_zone("eleves_a_risque").await?;
    assert_eq!(
        rows.columns,
        [
            "code_css",
            "annee_scolaire",
            "code_etablissement",
            "fiche",
            "nom",
            "prenom",
            "ordre_enseignement",
            "classe",
            "groupe_repere",
            "taux_assiduite",
            "niveau_assiduite",
            "moyenne_francais",
            "niveau_francais",
            "moyenne_mathematique",
            "niveau_mathematique",
            "niveau_global",
            "nb_indicateurs_risque",
        ]
    );
    // 866000: e1, e2, e3, e5, e6, e7 (e4 left the CSS, e8 only at a dummy school, e9 only last
    // year); 881000: f1.
    let mut fiches: Vec<i64> = rows.all().iter().filter_map(|r| r.int("fiche")).collect();
    fiches.sort();
    assert_eq!(fiches, [201, 202, 203, 205, 206, 207, 3101], "{rows}");
    for r in rows.all() {
        assert_eq!(r.get("annee_scolaire"), Some("2024-2025"));
    }
    Ok(())
}

#[tokio::test]
async fn eleves_a_risque_exact_thresholds() -> TestResult {
    let rows = risque_fixture()?.css_zone("eleves_a_risque").await?;
    // e1: 200 school days x 5 periods = 1000 expected; 120 absent (lates and the Saturday do not
    // count): 1 - 120/1000 = 0.88, not under 0.88: aucun. French 72 (étape 2): aucun; math 65
    // (étape 2): under 72 but not under 65: alerte.
    let r = rows.find(&[("fiche", "201")]);
    assert_eq!(r.get("code_css"), Some("866000"));
    assert_eq!(r.get("code_etablissement"), Some("866052"));
    assert_eq!(r.get("nom"), Some("Pelletier"));
    assert_eq!(r.get("prenom"), Some("Émile"));
    assert_eq!(r.int("ordre_enseignement"), Some(4));
    assert_eq!(r.get("classe"), Some("4"));
    assert_eq!(r.get("groupe_repere"), Some("401"));
    assert!(approx(r.float("taux_assiduite"), 0.88));
    assert!(approx(r.float("moyenne_francais"), 72.0));
    assert!(approx(r.float("moyenne_mathematique"), 65.0));
    assert_levels(&r, [Some("aucun"), Some("aucun"), Some("alerte"), Some("alerte")], 1);

    // e2: 121 absent of 1000 (one period without a category counts): 0.879 < 0.88: alerte.
    // French: étape 2 is the legend code C = 62: risque. Math: étape 2 has no mark (ABS, EX),
    // étape 1 = 70: alerte. Worst: risque; 3 indicators.
    let r = rows.find(&[("fiche", "202")]);
    assert!(approx(r.float("taux_assiduite"), 0.879));
    assert!(approx(r.float("moyenne_francais"), 62.0));
    assert!(approx(r.float("moyenne_mathematique"), 70.0));
    assert_levels(&r, [Some("alerte"), Some("risque"), Some("alerte"), Some("risque")], 3);

    // e6: 200 absent of 1000: 0.80, not under 0.80: alerte. Math (étape 1): (60 + 70) / 2 = 65
    // (the volet 063420 excluded): alerte. French: étape 3 = 90: aucun.
    let r = rows.find(&[("fiche", "206")]);
    assert!(approx(r.float("taux_assiduite"), 0.8));
    assert!(approx(r.float("moyenne_francais"), 90.0));
    assert!(approx(r.float("moyenne_mathematique"), 65.0));
    assert_levels(&r, [Some("alerte"), Some("aucun"), Some("alerte"), Some("alerte")], 2);

    // e7: 250 absent of 1000: 0.75 < 0.80: risque; no marks.
    let r = rows.find(&[("fiche", "207")]);
    assert!(approx(r.float("taux_assiduite"), 0.75));
    assert!(r.is_null("moyenne_francais"));
    assert!(r.is_null("moyenne_mathematique"));
    assert_levels(&r, [Some("risque"), None, None, Some("risque")], 1);
    Ok(())
}

#[tokio::test]
async fn eleves_a_risque_student_who_changed_school_mid_year() -> TestResult {
    let rows = risque_fixture()?.css_zone("eleves_a_risque").await?;
    // e3: at 866052 from day 0 to day 99 (departure day included): 100 days x 5 = 500 periods;
    // at 866053 from day 110: 90 days x 6 = 540; expected 1040. Absent: 20 at 866052 + 32 at
    // 866053 = 52 (day 150 at 866052 after leaving and day 105 at 866053 before arriving do not
    // count). 1 - 52/1040 = 988/1040 = 0.95: aucun. The row shows the current school.
    let r = rows.find(&[("fiche", "203")]);
    assert_eq!(r.get("code_etablissement"), Some("866053"));
    assert_eq!(r.get("groupe_repere"), Some("302"));
    assert_eq!(r.get("classe"), Some("3"));
    assert!(approx(r.float("taux_assiduite"), 0.95));
    assert!(r.is_null("moyenne_francais"));
    assert_levels(&r, [Some("aucun"), None, None, Some("aucun")], 0);
    Ok(())
}

#[tokio::test]
async fn eleves_a_risque_primary_retake_and_dummy_school() -> TestResult {
    let rows = risque_fixture()?.css_zone("eleves_a_risque").await?;
    // e5, primary (866001, 4 periods): 800 expected, none absent: 1.0. French (FRA400): étape 2
    // = 64 (the retake's 20 and the dummy school's étape 3 do not count): risque. Math (MAT400):
    // étape 2 not entered, étape 1 = 90: aucun.
    let r = rows.find(&[("fiche", "205")]);
    assert_eq!(r.get("code_etablissement"), Some("866001"));
    assert_eq!(r.int("ordre_enseignement"), Some(3));
    assert!(approx(r.float("taux_assiduite"), 1.0));
    assert!(approx(r.float("moyenne_francais"), 64.0));
    assert!(approx(r.float("moyenne_mathematique"), 90.0));
    assert_levels(&r, [Some("aucun"), Some("risque"), Some("aucun"), Some("risque")], 1);
    Ok(())
}

#[tokio::test]
async fn eleves_a_risque_attendance_horizon() -> TestResult {
    let rows = risque_fixture()?.css_zone("eleves_a_risque").await?;
    // 881000's last absence is on day 99: expected 100 days x 5 = 500 (not the 1000 of the
    // whole calendar); absent 25 + 5 = 30: 1 - 30/500 = 0.94. French 100.
    let r = rows.find(&[("code_css", "881000")]);
    assert_eq!(r.int("fiche"), Some(3101));
    assert!(approx(r.float("taux_assiduite"), 0.94));
    assert!(approx(r.float("moyenne_francais"), 100.0));
    assert_levels(&r, [Some("aucun"), Some("aucun"), None, Some("aucun")], 0);
    Ok(())
}

#[tokio::test]
async fn eleves_a_risque_is_never_in_the_shared_zone() -> TestResult {
    let f = risque_fixture()?;
    let err = f
        .shared_zone("eleves_a_risque")
        .await
        .expect_err("nominative mart in the shared zone");
    assert!(err.to_string().contains("nominative"), "{err}");
    Ok(())
}
