//! The results and enrolment marts: `reussite` (and its view `taux_reussite`),
//! `epreuves_ministerielles` and `effectif_30_septembre`, each on a small hand-built dataset whose
//! expected numbers are computed by hand in the comments.
//!
//! The marts and the seed are the committed files of `pipelines/`, copied to a folder of their
//! own (with `config.yaml`) so that marts other work is still writing cannot break these tests;
//! `tests/project.rs` checks the whole project.

use socle_marts::testing::{Fixture, Row, Rows, approx, repo_root};
use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

type TestResult = Result<(), Box<dyn Error>>;

const MARTS: [&str; 4] = [
    "reussite",
    "taux_reussite",
    "epreuves_ministerielles",
    "effectif_30_septembre",
];
const SEEDS: [&str; 1] = ["ponderation_epreuves"];

/// A copy of this file's marts and seed; removed when dropped.
struct Pipelines(PathBuf);

impl Drop for Pipelines {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture() -> Result<(Fixture, Pipelines), Box<dyn Error>> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let src = repo_root().join("pipelines");
    let dir = std::env::temp_dir().join(format!(
        "socle-marts-reussite-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let guard = Pipelines(dir.clone());
    std::fs::create_dir_all(dir.join("marts"))?;
    std::fs::create_dir_all(dir.join("seeds"))?;
    for m in MARTS {
        for ext in ["sql", "yaml"] {
            std::fs::copy(
                src.join(format!("marts/{m}.{ext}")),
                dir.join(format!("marts/{m}.{ext}")),
            )?;
        }
    }
    for s in SEEDS {
        for ext in ["csv", "yaml"] {
            std::fs::copy(
                src.join(format!("seeds/{s}.{ext}")),
                dir.join(format!("seeds/{s}.{ext}")),
            )?;
        }
    }
    if src.join("config.yaml").exists() {
        std::fs::copy(src.join("config.yaml"), dir.join("config.yaml"))?;
    }
    // Marts v2: the marts read the intermediate models; copy them all.
    std::fs::create_dir_all(dir.join("intermediate"))?;
    for e in std::fs::read_dir(src.join("intermediate"))? {
        let e = e?;
        std::fs::copy(e.path(), dir.join("intermediate").join(e.file_name()))?;
    }
    let f = Fixture::with_paths(&repo_root().join("schemas"), &dir)?;
    Ok((f, guard))
}

fn assert_float(row: &Row<'_>, column: &str, expected: f64) {
    assert!(
        approx(row.float(column), expected),
        "{column} = {:?}, expected {expected}",
        row.get(column)
    );
}

fn assert_nulls(row: &Row<'_>, columns: &[&str]) {
    for c in columns {
        assert!(row.is_null(c), "{c} should be null, is {:?}", row.get(c));
    }
}

// ---------------------------------------------------------------------------------------------
// reussite / taux_reussite
// ---------------------------------------------------------------------------------------------

/// Results of 2024-2025 in CSS 866000, school 866057, course 132406, étape 1 (all Mozaïk, etat 1,
/// no retake, real school unless said), plus what must be left out:
///
/// | élève | groupe | résultat | statut | évalué | réussi | note | sexe | EHDAA | plan |
/// |---|---|---|---|---|---|---|---|---|---|
/// | k01 | 01 | 75 | reussi | oui | oui | 75 | F (mozaik; gpi dit M) | non (gpi dit oui) | non |
/// | k02 | 01 | 65 | reussi | oui | oui | 65 | M (mozaik nul, gpi M) | non | non |
/// | k03 | 01 | 50 | echec | oui | non | 50 | F | oui | oui |
/// | k04 | 01 | 90 | reussi | oui | oui | 90 | M | non | oui |
/// | k05 | 02 | 62 | reussi | oui | oui | 62 | F | oui (2e inscription) | non |
/// | k06 | 02 | A (cote, équivalent 85) | reussi | oui | oui | 85 | M | non | non |
/// | k07 | 02 | R (cote sans équivalent) | echec | oui | non | - | F | oui | non |
/// | k08 | 02 | ABS | absent | non | - | - | F | non | non |
/// | k09 | 02 | EX | exempte | non | - | - | F | non | non |
/// | k10 | 02 | 70 | reussi | oui | oui | 70 | F | non | non |
/// | k11 | 01 | 69.5 | reussi | oui | oui | 69.5 | M | non | non |
/// | k12 | 01 | 60 | reussi | oui | oui | 60 | F | non | non |
/// | k13 | 01 | NE | non_evalue | non | - | - | M | non | non |
/// | k14 | 02 | * | non_applicable | non | - | - | (aucun) | non | non |
/// | k15 | 01 | (vide) | vide | non | - | - | (aucun) | (aucune inscription) | |
///
/// Left out of that cell: a retake of k01 (reprise, note 40), an inactive subject enrolment of k16
/// (etat 0, note 30), a dummy school's row of k17 (ecole_bidon, note 20), and the GPI copies of
/// k01 and k03 (the CSS sent 2024-2025 from GPI and Mozaïk: Mozaïk kept). In 2023-2024 the CSS
/// had only GPI: k01's GPI result (70) is kept. k03 moved from CSS 881000 (school 881002, result
/// 80 there, sex M and not EHDAA in that CSS's tables).
fn reussite_fixture() -> Result<(Fixture, Pipelines), Box<dyn Error>> {
    let (f, guard) = fixture()?;
    let f = f
        .table(
            "resultat",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,ecole_bidon,code_cours,groupe,reprise,etat,etape,resultat_source,code_legende,statut_resultat,evalue,reussi,note
            2024-2025,866000,mozaik,866057,k01,false,132406,01,false,1,1,75,,reussi,true,true,75
            2024-2025,866000,mozaik,866057,k02,false,132406,01,false,1,1,65,,reussi,true,true,65
            2024-2025,866000,mozaik,866057,k03,false,132406,01,false,1,1,50,,echec,true,false,50
            2024-2025,866000,mozaik,866057,k04,false,132406,01,false,1,1,90,,reussi,true,true,90
            2024-2025,866000,mozaik,866057,k05,false,132406,02,false,1,1,62,,reussi,true,true,62
            2024-2025,866000,mozaik,866057,k06,false,132406,02,false,1,1,A,L1,reussi,true,true,85
            2024-2025,866000,mozaik,866057,k07,false,132406,02,false,1,1,R,L1,echec,true,false,
            2024-2025,866000,mozaik,866057,k08,false,132406,02,false,1,1,ABS,,absent,false,,
            2024-2025,866000,mozaik,866057,k09,false,132406,02,false,1,1,EX,,exempte,false,,
            2024-2025,866000,mozaik,866057,k10,false,132406,02,false,1,1,70,,reussi,true,true,70
            2024-2025,866000,mozaik,866057,k11,false,132406,01,false,1,1,69.5,,reussi,true,true,69.5
            2024-2025,866000,mozaik,866057,k12,false,132406,01,false,1,1,60,,reussi,true,true,60
            2024-2025,866000,mozaik,866057,k13,false,132406,01,false,1,1,NE,,non_evalue,false,,
            2024-2025,866000,mozaik,866057,k14,false,132406,02,false,1,1,*,,non_applicable,false,,
            2024-2025,866000,mozaik,866057,k15,false,132406,01,false,1,1,,,vide,false,,
            2024-2025,866000,mozaik,866057,k01,false,132406,A1,true,1,1,40,,echec,true,false,40
            2024-2025,866000,mozaik,866057,k16,false,132406,01,false,0,1,30,,echec,true,false,30
            2024-2025,866000,mozaik,866057,k17,true,132406,01,false,1,1,20,,echec,true,false,20
            2024-2025,866000,gpi,866057,k01,false,132406,01,false,1,1,75,,reussi,true,true,75
            2024-2025,866000,gpi,866057,k03,false,132406,01,false,1,1,50,,echec,true,false,50
            2023-2024,866000,gpi,866057,k01,false,132406,01,false,1,1,70,,reussi,true,true,70
            2024-2025,881000,mozaik,881002,k03,false,132406,11,false,1,1,80,,reussi,true,true,80
            ",
        )
        .table(
            "inscription",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,ecole_bidon,actif,ordre_enseignement,classe,ehdaa,plan_intervention,date_debut,date_depart
            2024-2025,866000,mozaik,866057,k01,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,gpi,866057,k01,false,true,4,4,true,true,2024-08-28,
            2024-2025,866000,mozaik,866057,k02,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k03,false,true,4,4,true,true,2024-10-16,
            2024-2025,866000,mozaik,866057,k04,false,true,4,4,false,true,2024-08-28,
            2024-2025,866000,mozaik,866057,k05,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866051,k05,false,true,4,4,true,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k06,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k07,false,true,4,4,true,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k08,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k09,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k10,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k11,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k12,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k13,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,k14,false,true,4,4,false,false,2024-08-28,
            2023-2024,866000,gpi,866057,k01,false,true,4,3,false,false,2023-08-29,
            2024-2025,881000,mozaik,881002,k03,false,false,4,4,false,false,2024-08-28,2024-10-15
            ",
        )
        .table(
            "eleve",
            "
            code_css,systeme_source,cle_eleve,sexe
            866000,mozaik,k01,F
            866000,gpi,k01,M
            866000,mozaik,k02,
            866000,gpi,k02,M
            866000,mozaik,k03,F
            866000,mozaik,k04,M
            866000,mozaik,k05,F
            866000,mozaik,k06,M
            866000,mozaik,k07,F
            866000,mozaik,k08,F
            866000,mozaik,k09,F
            866000,mozaik,k10,F
            866000,mozaik,k11,M
            866000,mozaik,k12,F
            866000,mozaik,k13,M
            881000,mozaik,k03,M
            ",
        );
    Ok((f, guard))
}

const CELL: [(&str, &str); 5] = [
    ("annee_scolaire", "2024-2025"),
    ("code_css", "866000"),
    ("code_etablissement", "866057"),
    ("code_cours", "132406"),
    ("etape", "1"),
];

fn key<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut k: Vec<(&str, &str)> = CELL.to_vec();
    k.extend_from_slice(extra);
    k
}

/// Asserts every count, rate and the average of a `reussite` row.
fn assert_reussite(
    r: &Row<'_>,
    [evalues, reussites, echecs, a_risque, maitrise]: [i64; 5],
    moyenne: Option<f64>,
    [absents, exemptes, non_evalues, non_applicables, vides]: [i64; 5],
) {
    assert_eq!(r.int("nb_evalues"), Some(evalues), "nb_evalues");
    assert_eq!(r.int("nb_reussites"), Some(reussites), "nb_reussites");
    assert_eq!(r.int("nb_echecs"), Some(echecs), "nb_echecs");
    assert_eq!(r.int("nb_a_risque"), Some(a_risque), "nb_a_risque");
    assert_eq!(r.int("nb_maitrise"), Some(maitrise), "nb_maitrise");
    let rates = [
        ("taux_reussite", reussites),
        ("taux_echec", echecs),
        ("taux_a_risque", a_risque),
        ("taux_maitrise", maitrise),
    ];
    for (column, n) in rates {
        if evalues == 0 {
            assert!(r.is_null(column), "{column} without evaluated results");
        } else {
            assert_float(r, column, n as f64 / evalues as f64);
        }
    }
    match moyenne {
        Some(m) => assert_float(r, "moyenne", m),
        None => assert!(r.is_null("moyenne")),
    }
    assert_eq!(r.int("nb_absents"), Some(absents), "nb_absents");
    assert_eq!(r.int("nb_exemptes"), Some(exemptes), "nb_exemptes");
    assert_eq!(r.int("nb_non_evalues"), Some(non_evalues), "nb_non_evalues");
    assert_eq!(r.int("nb_non_applicables"), Some(non_applicables), "nb_non_applicables");
    assert_eq!(r.int("nb_vides"), Some(vides), "nb_vides");
}

#[tokio::test]
async fn reussite_overall_row() -> TestResult {
    let (f, _dir) = reussite_fixture()?;
    let exact = f.css_zone("reussite").await?;
    let r = exact.find(&key(&[("ventilation", "ensemble")]));
    assert_nulls(&r, &["groupe", "sexe", "ehdaa", "plan_intervention"]);
    // Evaluated: k01 k02 k03 k04 k05 k06 k07 k10 k11 k12 = 10 (retake, etat 0, dummy school and
    // GPI copies left out: with them it would be 15).
    // Passed: k01 k02 k04 k05 k06 k10 k11 k12 = 8 -> 8/10 = 0.8. Failed: k03, k07 (code R) = 2.
    // At risk (60 <= note < 70): k02 65, k05 62, k11 69.5, k12 60 = 4 -> 0.4.
    // Mastery (note >= 70): k01 75, k04 90, k06 85 (code A's equivalent), k10 70 = 4 -> 0.4.
    // Average over the 9 evaluated marks (k07's code R has none):
    // (75 + 65 + 50 + 90 + 62 + 85 + 70 + 69.5 + 60) / 9 = 626.5 / 9.
    // Apart: ABS k08, EX k09, NE k13, * k14, blank k15: one each.
    assert_reussite(&r, [10, 8, 2, 4, 4], Some(626.5 / 9.0), [1, 1, 1, 1, 1]);
    // nb_echecs = 2 < 5 (and 4 at risk, 4 mastery): flagged.
    assert_eq!(r.bool("cellule_supprimee"), Some(true));

    // 2023-2024: GPI only that year, so GPI is kept: k01's 70.
    let old = exact.find(&[
        ("annee_scolaire", "2023-2024"),
        ("code_etablissement", "866057"),
        ("ventilation", "ensemble"),
    ]);
    assert_reussite(&old, [1, 1, 0, 0, 1], Some(70.0), [0, 0, 0, 0, 0]);

    // The mover k03 in CSS 881000: its result there, with that CSS's sex (M) and profile (not
    // EHDAA, no plan).
    let ailleurs = exact.filter(&[("code_css", "881000")]);
    assert_eq!(ailleurs.len(), 5, "one row per breakdown");
    let m = exact.find(&[("code_css", "881000"), ("ventilation", "sexe")]);
    assert_eq!(m.get("sexe"), Some("M"));
    assert_reussite(&m, [1, 1, 0, 0, 1], Some(80.0), [0, 0, 0, 0, 0]);
    let e = exact.find(&[("code_css", "881000"), ("ventilation", "ehdaa")]);
    assert_eq!(e.bool("ehdaa"), Some(false));

    // Nothing for the dummy school, the retake group or the inactive enrolment.
    assert!(exact.filter(&[("groupe", "A1")]).is_empty());
    // Rows: 2024-2025 in 866057: 1 overall + 2 groups + 3 sexes (F, M, unknown) + 3 EHDAA
    // (true, false, unknown) + 3 plans = 12; 2023-2024: 5 (one per breakdown); 881000: 5.
    assert_eq!(exact.len(), 12 + 5 + 5, "{exact}");
    Ok(())
}

#[tokio::test]
async fn reussite_by_group() -> TestResult {
    let (f, _dir) = reussite_fixture()?;
    let exact = f.css_zone("reussite").await?;
    let rows = exact.filter(&key(&[("ventilation", "groupe")]));
    assert_eq!(rows.len(), 2, "groups 01 and 02 (the retake group A1 is left out)");
    // Group 01: k01 75, k02 65, k03 50, k04 90, k11 69.5, k12 60 evaluated = 6; passed 5 (all
    // but k03); failed 1; at risk k02 k11 k12 = 3; mastery k01 k04 = 2;
    // average (75 + 65 + 50 + 90 + 69.5 + 60) / 6 = 409.5 / 6 = 68.25; NE k13, blank k15.
    let g1 = exact.find(&key(&[("ventilation", "groupe"), ("groupe", "01")]));
    assert_nulls(&g1, &["sexe", "ehdaa", "plan_intervention"]);
    assert_reussite(&g1, [6, 5, 1, 3, 2], Some(68.25), [0, 0, 1, 0, 1]);
    // Group 02: k05 62, k06 A=85, k07 R, k10 70 evaluated = 4; passed 3; failed 1 (k07);
    // at risk k05 = 1; mastery k06 k10 = 2; average (62 + 85 + 70) / 3 = 217 / 3;
    // ABS k08, EX k09, * k14.
    let g2 = exact.find(&key(&[("ventilation", "groupe"), ("groupe", "02")]));
    assert_reussite(&g2, [4, 3, 1, 1, 2], Some(217.0 / 3.0), [1, 1, 0, 1, 0]);

    // A cell under 5: group 02 has 4 evaluated results. The CSS zone keeps it (above), flagged;
    // the shared zone hides the count and everything computed on it, and each count kept apart
    // under 5 (1 absent here; a 0 is under 5 too).
    assert_eq!(g2.bool("cellule_supprimee"), Some(true));
    let shared = f.shared_zone("reussite").await?;
    let s2 = shared.find(&key(&[("ventilation", "groupe"), ("groupe", "02")]));
    assert_nulls(
        &s2,
        &[
            "nb_evalues",
            "nb_reussites",
            "nb_echecs",
            "nb_a_risque",
            "nb_maitrise",
            "taux_reussite",
            "taux_echec",
            "taux_a_risque",
            "taux_maitrise",
            "moyenne",
        ],
    );
    assert!(s2.is_null("nb_absents"));
    assert_eq!(s2.bool("cellule_supprimee"), Some(true));
    Ok(())
}

#[tokio::test]
async fn reussite_by_sex_ehdaa_and_plan() -> TestResult {
    let (f, _dir) = reussite_fixture()?;
    let exact = f.css_zone("reussite").await?;

    // Sex (eleve; k01: Mozaïk's F rather than GPI's M; k02: GPI's M, Mozaïk's being empty).
    // F: k01 75, k03 50, k05 62, k07 R, k10 70, k12 60 -> 6 evaluated, 4 passed, 2 failed,
    //    at risk k05 k12 = 2, mastery k01 k10 = 2, average (75+50+62+70+60)/5 = 317/5 = 63.4;
    //    ABS k08 and EX k09 are F.
    let fem = exact.find(&key(&[("ventilation", "sexe"), ("sexe", "F")]));
    assert_nulls(&fem, &["groupe", "ehdaa", "plan_intervention"]);
    assert_reussite(&fem, [6, 4, 2, 2, 2], Some(63.4), [1, 1, 0, 0, 0]);
    // M: k02 65, k04 90, k06 A=85, k11 69.5 -> 4 evaluated, 4 passed, at risk k02 k11 = 2,
    //    mastery k04 k06 = 2, average (65+90+85+69.5)/4 = 309.5/4 = 77.375; NE k13 is M.
    let mas = exact.find(&key(&[("ventilation", "sexe"), ("sexe", "M")]));
    assert_reussite(&mas, [4, 4, 0, 2, 2], Some(77.375), [0, 0, 1, 0, 0]);
    // Unknown sex (no eleve row): k14 (*) and k15 (blank); nothing evaluated: rates null.
    let inconnu = exact.find(&key(&[("ventilation", "sexe"), ("sexe", "")]));
    assert_reussite(&inconnu, [0, 0, 0, 0, 0], None, [0, 0, 0, 1, 1]);
    assert_eq!(exact.filter(&key(&[("ventilation", "sexe")])).len(), 3);

    // EHDAA (inscription, Mozaïk rows only: k01's GPI row says EHDAA, not counted; k05 has two
    // enrolments, one EHDAA: EHDAA).
    // true: k03 50, k05 62, k07 R -> 3 evaluated, 1 passed, 2 failed, at risk 1, mastery 0,
    //       average (50+62)/2 = 56.
    let oui = exact.find(&key(&[("ventilation", "ehdaa"), ("ehdaa", "true")]));
    assert_nulls(&oui, &["groupe", "sexe", "plan_intervention"]);
    assert_reussite(&oui, [3, 1, 2, 1, 0], Some(56.0), [0, 0, 0, 0, 0]);
    // false: k01 75, k02 65, k04 90, k06 85, k10 70, k11 69.5, k12 60 -> 7 evaluated, 7 passed,
    //        at risk k02 k11 k12 = 3, mastery k01 k04 k06 k10 = 4, average 514.5/7 = 73.5;
    //        ABS k08, EX k09, NE k13, * k14.
    let non = exact.find(&key(&[("ventilation", "ehdaa"), ("ehdaa", "false")]));
    assert_reussite(&non, [7, 7, 0, 3, 4], Some(73.5), [1, 1, 1, 1, 0]);
    // No enrolment that year (k15): EHDAA unknown.
    let sans = exact.find(&key(&[("ventilation", "ehdaa"), ("ehdaa", "")]));
    assert_reussite(&sans, [0, 0, 0, 0, 0], None, [0, 0, 0, 0, 1]);

    // Intervention plan: true k03 50 (failed), k04 90 -> 2 evaluated, 1 passed, 1 failed,
    // at risk 0, mastery 1, average 140/2 = 70.
    let plan = exact.find(&key(&[
        ("ventilation", "plan_intervention"),
        ("plan_intervention", "true"),
    ]));
    assert_nulls(&plan, &["groupe", "sexe", "ehdaa"]);
    assert_reussite(&plan, [2, 1, 1, 0, 1], Some(70.0), [0, 0, 0, 0, 0]);
    // false: k01 75, k02 65, k05 62, k06 85, k07 R, k10 70, k11 69.5, k12 60 -> 8 evaluated,
    // 7 passed, 1 failed, at risk k02 k05 k11 k12 = 4, mastery k01 k06 k10 = 3,
    // average (75+65+62+85+70+69.5+60)/7 = 486.5/7 = 69.5.
    let sans_plan = exact.find(&key(&[
        ("ventilation", "plan_intervention"),
        ("plan_intervention", "false"),
    ]));
    assert_reussite(&sans_plan, [8, 7, 1, 4, 3], Some(69.5), [1, 1, 1, 1, 0]);
    Ok(())
}

#[tokio::test]
async fn reussite_complementary_counts_hide_each_other() -> TestResult {
    // Threshold 3, so that some counts show: the overall row has 10 evaluated, 8 passed,
    // 2 failed, 4 at risk, 4 mastery.
    let (f, _dir) = reussite_fixture()?;
    let shared = f.threshold(3).shared_zone("reussite").await?;
    let r = shared.find(&key(&[("ventilation", "ensemble")]));
    // 2 failed < 3: hidden with its rate, and so are the passed results (10 - 8 would give 2)
    // and the mastery count (10 - 4 at risk - mastery would give the failures).
    assert_nulls(
        &r,
        &[
            "nb_echecs",
            "taux_echec",
            "nb_reussites",
            "taux_reussite",
            "nb_maitrise",
            "taux_maitrise",
        ],
    );
    assert_eq!(r.int("nb_evalues"), Some(10));
    assert_eq!(r.int("nb_a_risque"), Some(4));
    assert_float(&r, "taux_a_risque", 0.4);
    assert_float(&r, "moyenne", 626.5 / 9.0);
    assert_eq!(r.bool("cellule_supprimee"), Some(true));

    // Sex M (threshold 3): 4 evaluated, 4 passed, 0 failed, 2 at risk, 2 mastery: the 0 hides
    // the passed results; 2 at risk and 2 mastery hide each other.
    let m = shared.find(&key(&[("ventilation", "sexe"), ("sexe", "M")]));
    assert_eq!(m.int("nb_evalues"), Some(4));
    assert_nulls(
        &m,
        &[
            "nb_reussites",
            "nb_echecs",
            "nb_a_risque",
            "nb_maitrise",
            "taux_reussite",
            "taux_echec",
            "taux_a_risque",
            "taux_maitrise",
        ],
    );
    assert_float(&m, "moyenne", 77.375);
    Ok(())
}

/// The columns `taux_reussite` has always had, and `nb_echecs`, which carries the small-cell rule
/// of the failures.
const TAUX_REUSSITE_COLUMNS: [&str; 14] = [
    "annee_scolaire",
    "code_css",
    "code_etablissement",
    "code_cours",
    "etape",
    "nb_evalues",
    "nb_reussites",
    "nb_echecs",
    "taux_reussite",
    "nb_absents",
    "nb_exemptes",
    "nb_non_evalues",
    "nb_non_applicables",
    "nb_vides",
];

fn project(rows: &Rows, columns: &[&str]) -> Vec<Vec<Option<String>>> {
    let cols: Vec<Vec<Option<String>>> = columns.iter().map(|c| rows.column(c)).collect();
    (0..rows.len())
        .map(|i| cols.iter().map(|c| c[i].clone()).collect())
        .collect()
}

#[tokio::test]
async fn taux_reussite_is_the_overall_rows_of_reussite() -> TestResult {
    let (f, _dir) = reussite_fixture()?;
    let taux = f.css_zone("taux_reussite").await?;
    let mut published: Vec<&str> = TAUX_REUSSITE_COLUMNS.to_vec();
    published.push("cellule_supprimee");
    assert_eq!(taux.columns, published);

    let reussite = f.css_zone("reussite").await?;
    let overall: Vec<usize> = (0..reussite.len())
        .filter(|&i| reussite.column("ventilation")[i].as_deref() == Some("ensemble"))
        .collect();
    let all = project(&reussite, &TAUX_REUSSITE_COLUMNS);
    let expected: Vec<Vec<Option<String>>> = overall.iter().map(|&i| all[i].clone()).collect();
    // Same rows, same order, same values: 3 cells (866000 2023-2024, 866000 2024-2025, 881000),
    // though reussite has 22 rows with its breakdowns.
    assert_eq!(expected.len(), 3);
    assert_eq!(project(&taux, &TAUX_REUSSITE_COLUMNS), expected);

    // And the numbers of today's definition, by hand (see reussite_overall_row): 10 evaluated,
    // 8 passed, 0.8, one each of ABS, EX, NE, *, blank.
    let r = taux.find(&CELL);
    assert_eq!(r.int("nb_evalues"), Some(10));
    assert_eq!(r.int("nb_reussites"), Some(8));
    assert_float(&r, "taux_reussite", 0.8);
    for c in [
        "nb_absents",
        "nb_exemptes",
        "nb_non_evalues",
        "nb_non_applicables",
        "nb_vides",
    ] {
        assert_eq!(r.int(c), Some(1), "{c}");
    }
    assert_eq!(r.int("nb_echecs"), Some(2));
    // Its own small-cell rules at 5: 10 evaluated is shown, but 2 failures are under 5, so the
    // failures, the passes (10 - 2 would give them back) and the rate are hidden, and so is each
    // count kept apart (1 each).
    assert_eq!(r.bool("cellule_supprimee"), Some(true));
    let shared = f.shared_zone("taux_reussite").await?;
    let s = shared.find(&CELL);
    assert_eq!(s.int("nb_evalues"), Some(10));
    assert_nulls(
        &s,
        &[
            "nb_reussites",
            "nb_echecs",
            "taux_reussite",
            "nb_absents",
            "nb_exemptes",
            "nb_non_evalues",
            "nb_non_applicables",
            "nb_vides",
        ],
    );
    assert_eq!(s.bool("cellule_supprimee"), Some(true));
    let mover = shared.find(&[("code_css", "881000")]);
    assert_nulls(&mover, &["nb_evalues", "nb_reussites", "nb_echecs", "taux_reussite"]);
    assert_eq!(mover.bool("cellule_supprimee"), Some(true));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// epreuves_ministerielles
// ---------------------------------------------------------------------------------------------

/// June 2025 (2024-2025) results of Math CST 4 (063414, a ministry exam) in CSS 866000, school
/// 866057, youth sector (JE):
///
/// | élève | école brute | école modérée | épreuve | finale | réussi | remarque |
/// |---|---|---|---|---|---|---|
/// | e1 | 70 | 72 | 68 | 70 | oui | |
/// | e2 | 80 | 78 | 85 | 82 | oui | |
/// | e3 | 55 | 57 | 50 | 54 | non | |
/// | e4 | 65 | 66 | 60 | 63 | oui | |
/// | e5 | 90 | 88 | 92 | 90 | oui | |
/// | e6 | 62 | 64 | ABS | - | non | absent |
/// | e7 | 60 | 61 | 62 | 61 | oui | latest of two copies (the older: exam 40, failed) |
/// | e8 | 70 | 70 | EQU | - | oui | equivalence: neither present nor absent |
/// | e11 | 75 | 74 | 70 | 72 | oui | also sent to CSS 881000 (later copy, no establishment) |
///
/// Left out: e9's August session, e12 at a dummy school (866051), e1's French 4 (132406, no
/// ministry exam). Apart: e1's exam part 063420 (volet of 063414); e10 in the adult sector at
/// 866370; e13 in 2018-2019 (weighting 50/50).
fn epreuves_fixture() -> Result<(Fixture, Pipelines), Box<dyn Error>> {
    let (f, guard) = fixture()?;
    let f = f
        .table(
            "resultat_ministere",
            "
            annee_scolaire,code_css,code_etablissement,cle_eleve,code_cours,mois_session,resultat_epreuve_brut,note_ecole_brute,note_ecole_moderee,note_epreuve,note_finale,code_resultat,reussi,secteur,date_copie
            2024-2025,866000,866057,e1,063414,6,68,70,72,68,70,,true,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e2,063414,6,85,80,78,85,82,,true,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e3,063414,6,50,55,57,50,54,,false,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e4,063414,6,60,65,66,60,63,,true,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e5,063414,6,92,90,88,92,90,,true,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e6,063414,6,ABS,62,64,,,ABS,false,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e7,063414,6,40,60,61,40,52,,false,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e7,063414,6,62,60,61,62,61,,true,JE,2025-07-20T09:30:00
            2024-2025,866000,866057,e8,063414,6,EQU,70,70,,,EQU,true,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e9,063414,8,70,65,65,70,68,,true,JE,2025-09-01T10:00:00
            2024-2025,866000,866057,e11,063414,6,70,75,74,70,72,,true,JE,2025-07-05T10:00:00
            2024-2025,881000,,e11,063414,6,70,75,74,70,72,,true,JE,2025-07-25T10:00:00
            2024-2025,866000,866051,e12,063414,6,75,75,75,75,75,,true,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e1,132406,6,,70,70,,70,,true,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,e1,063420,6,66,70,72,66,70,,true,JE,2025-07-05T10:00:00
            2024-2025,866000,866370,e10,063414,6,75,70,70,75,73,,true,AD,2025-07-05T10:00:00
            2018-2019,866000,866057,e13,063414,6,70,80,78,70,74,,true,JE,2019-07-05T10:00:00
            ",
        )
        .table(
            "etablissement",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,id_eco,ecole_bidon
            2024-2025,866000,mozaik,866057,1,false
            2024-2025,866000,mozaik,866051,2,true
            ",
        );
    Ok((f, guard))
}

#[tokio::test]
async fn epreuves_ministerielles_june_session() -> TestResult {
    let (f, _dir) = epreuves_fixture()?;
    let exact = f.css_zone("epreuves_ministerielles").await?;
    let key = [
        ("annee_scolaire", "2024-2025"),
        ("code_css", "866000"),
        ("code_etablissement", "866057"),
        ("secteur", "JE"),
        ("code_cours", "063414"),
    ];
    let r = exact.find(&key);
    assert!(r.is_null("volet_de"));
    // Weighting of 2024-2025 (seed, placeholder): 0.8 school, 0.2 exam.
    assert_float(&r, "ponderation_ecole", 0.8);
    assert_float(&r, "ponderation_epreuve", 0.2);
    // Present (numeric exam mark): e1 e2 e3 e4 e5 e7 e11 = 7 (e6 ABS, e8 EQU, e9 August, e12
    // dummy school left out; e7 once, its latest copy; e11 once, here).
    assert_eq!(r.int("nb_presents"), Some(7));
    assert_eq!(r.int("nb_absents"), Some(1));
    // Passed: all present but e3 = 6 (e7's latest copy passed) -> 6/7.
    assert_eq!(r.int("nb_reussites"), Some(6));
    assert_eq!(r.int("nb_echecs"), Some(1));
    assert_float(&r, "taux_reussite", 6.0 / 7.0);
    // Exam: 68 + 85 + 50 + 60 + 92 + 62 + 70 = 487 -> 487/7.
    assert_float(&r, "moyenne_epreuve", 487.0 / 7.0);
    // School raw: 70 + 80 + 55 + 65 + 90 + 60 + 75 = 495 -> 495/7.
    assert_float(&r, "moyenne_ecole_brute", 495.0 / 7.0);
    // School moderated: 72 + 78 + 57 + 66 + 88 + 61 + 74 = 496 -> 496/7.
    assert_float(&r, "moyenne_ecole_moderee", 496.0 / 7.0);
    // Final: 70 + 82 + 54 + 63 + 90 + 61 + 72 = 492 -> 492/7.
    assert_float(&r, "moyenne_finale", 492.0 / 7.0);
    // Moderation (moderated - raw): 2 - 2 + 2 + 1 - 2 + 1 - 1 = 1 -> 1/7.
    assert_float(&r, "moderation", 1.0 / 7.0);
    // School - exam: 4 - 7 + 7 + 6 - 4 - 1 + 4 = 9 -> 9/7.
    assert_float(&r, "ecart_ecole_epreuve", 9.0 / 7.0);

    // Shared zone: 7 present shown with the averages; 1 failure < 5 hides itself, the passes
    // (7 - 6) and the rate.
    assert_eq!(r.bool("cellule_supprimee"), Some(true));
    let shared = f.shared_zone("epreuves_ministerielles").await?;
    let s = shared.find(&key);
    assert_eq!(s.int("nb_presents"), Some(7));
    assert_nulls(&s, &["nb_reussites", "nb_echecs", "taux_reussite"]);
    assert_float(&s, "moyenne_epreuve", 487.0 / 7.0);
    assert_float(&s, "ecart_ecole_epreuve", 9.0 / 7.0);
    Ok(())
}

#[tokio::test]
async fn epreuves_ministerielles_volets_sectors_movers_and_years() -> TestResult {
    let (f, _dir) = epreuves_fixture()?;
    let exact = f.css_zone("epreuves_ministerielles").await?;
    // Rows: 866057 JE 063414 and 063420 (2024-2025), 866370 AD 063414, 866057 JE 063414
    // (2018-2019). No row for French 4 (no exam), the dummy school 866051 or CSS 881000 (e11's
    // copy there has no establishment of that CSS: counted in 866000).
    assert_eq!(exact.len(), 4, "{exact}");
    assert!(exact.filter(&[("code_cours", "132406")]).is_empty());
    assert!(exact.filter(&[("code_etablissement", "866051")]).is_empty());
    assert!(exact.filter(&[("code_css", "881000")]).is_empty());

    // The exam part 063420 of 063414: e1 alone (exam 66, school 70 / 72, final 70, passed).
    let v = exact.find(&[("annee_scolaire", "2024-2025"), ("code_cours", "063420")]);
    assert_eq!(v.get("volet_de"), Some("063414"));
    assert_eq!(v.int("nb_presents"), Some(1));
    assert_eq!(v.int("nb_absents"), Some(0));
    assert_eq!(v.int("nb_reussites"), Some(1));
    assert_eq!(v.int("nb_echecs"), Some(0));
    assert_float(&v, "taux_reussite", 1.0);
    assert_float(&v, "moyenne_epreuve", 66.0);
    assert_float(&v, "moderation", 2.0); // 72 - 70
    assert_float(&v, "ecart_ecole_epreuve", 6.0); // 72 - 66

    // Adult sector, its own row: e10 (school 70 / 70, exam 75, final 73).
    let ad = exact.find(&[("secteur", "AD")]);
    assert_eq!(ad.get("code_etablissement"), Some("866370"));
    assert_eq!(ad.int("nb_presents"), Some(1));
    assert_eq!(ad.int("nb_reussites"), Some(1));
    assert_eq!(ad.int("nb_echecs"), Some(0));
    assert_float(&ad, "taux_reussite", 1.0);
    assert_float(&ad, "moyenne_epreuve", 75.0);
    assert_float(&ad, "moyenne_ecole_brute", 70.0);
    assert_float(&ad, "moyenne_ecole_moderee", 70.0);
    assert_float(&ad, "moyenne_finale", 73.0);
    assert_float(&ad, "moderation", 0.0);
    assert_float(&ad, "ecart_ecole_epreuve", -5.0); // 70 - 75
    // One student: the shared zone hides everything computed; the CSS zone keeps it, flagged.
    assert_eq!(ad.bool("cellule_supprimee"), Some(true));
    let shared = f.shared_zone("epreuves_ministerielles").await?;
    let sad = shared.find(&[("secteur", "AD")]);
    assert_nulls(
        &sad,
        &[
            "nb_presents",
            "nb_reussites",
            "nb_echecs",
            "taux_reussite",
            "moyenne_epreuve",
            "moyenne_ecole_brute",
            "moyenne_ecole_moderee",
            "moyenne_finale",
            "moderation",
            "ecart_ecole_epreuve",
        ],
    );
    assert_float(&sad, "ponderation_ecole", 0.8);

    // 2018-2019: the seed's 50/50.
    let old = exact.find(&[("annee_scolaire", "2018-2019")]);
    assert_float(&old, "ponderation_ecole", 0.5);
    assert_float(&old, "ponderation_epreuve", 0.5);
    assert_eq!(old.int("nb_presents"), Some(1));
    assert_float(&old, "moderation", -2.0); // 78 - 80
    Ok(())
}

/// Results received by a CSS about another CSS's establishment (loaded: a ministry result is a
/// fact about the student wherever it was earned), June 2025, Math CST 4 (063414), youth sector:
///
/// | élève | reçu par | établissement nommé | épreuve | date de copie | compté |
/// |---|---|---|---|---|---|
/// | x1 | 881000 seulement | 866057 (CSS 866000) | 70 | 07-05 | une fois, dans 866000 / 866057 |
/// | x2 | 866000 | 866057 | 60 | 07-05 | oui: la copie du CSS de l'établissement |
/// | x2 | 881000 | 866057 | 80 | 07-20 | non (même résultat, l'autre copie l'emporte) |
/// | x3 | 881000 | 881002 (CSS 881000) | 90 | 07-05 | une fois, dans 881000 / 881002 |
#[tokio::test]
async fn epreuves_ministerielles_count_a_result_of_another_css_once_in_its_establishment() -> TestResult {
    let (f, _dir) = fixture()?;
    let f = f
        .table(
            "resultat_ministere",
            "
            annee_scolaire,code_css,code_etablissement,cle_eleve,code_cours,mois_session,resultat_epreuve_brut,note_ecole_brute,note_ecole_moderee,note_epreuve,note_finale,code_resultat,reussi,secteur,date_copie
            2024-2025,881000,866057,x1,063414,6,70,70,70,70,70,,true,JE,2025-07-05T10:00:00
            2024-2025,866000,866057,x2,063414,6,60,60,60,60,60,,true,JE,2025-07-05T10:00:00
            2024-2025,881000,866057,x2,063414,6,80,80,80,80,80,,true,JE,2025-07-20T10:00:00
            2024-2025,881000,881002,x3,063414,6,90,90,90,90,90,,true,JE,2025-07-05T10:00:00
            ",
        )
        .table(
            "etablissement",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,id_eco,ecole_bidon
            2024-2025,866000,mozaik,866057,1,false
            ",
        );
    let exact = f.css_zone("epreuves_ministerielles").await?;
    // Two rows: 866000 / 866057 and 881000 / 881002; none for 881000 / 866057.
    assert_eq!(exact.len(), 2, "{exact}");
    assert!(
        exact
            .filter(&[("code_css", "881000"), ("code_etablissement", "866057")])
            .is_empty(),
        "{exact}"
    );
    // x1 and x2 (its 866000 copy, exam 60): 2 present, exam average (70 + 60) / 2.
    let r = exact.find(&[("code_css", "866000"), ("code_etablissement", "866057")]);
    assert_eq!(r.int("nb_presents"), Some(2));
    assert_eq!(r.int("nb_reussites"), Some(2));
    assert_float(&r, "moyenne_epreuve", 65.0);
    // x3 at 881000's own school.
    let o = exact.find(&[("code_css", "881000"), ("code_etablissement", "881002")]);
    assert_eq!(o.int("nb_presents"), Some(1));
    assert_float(&o, "moyenne_epreuve", 90.0);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// effectif_30_septembre
// ---------------------------------------------------------------------------------------------

/// 2024-2025 (September 30, 2024 from annees_scolaires), CSS 866000 (sent from GPI and Mozaïk:
/// Mozaïk kept), secondary 4 at 866057 unless said:
///
/// | élève | inscription | compté? |
/// |---|---|---|
/// | s1 | from 2024-08-28, active | yes, 866057 |
/// | s2 | no start date, active | yes, 866057 |
/// | s3 | from 2024-08-28, left 2025-02-10 (mid-year), inactive | yes, 866057 |
/// | s4 | left 2024-09-30 | yes (the departure date is the last day enrolled) |
/// | s5 | from 2024-10-01 | no (arrived after) |
/// | s6 | inactive, no departure | no (cancelled) |
/// | s7 | dummy school | no |
/// | s8 | 866057 from 2024-08-28 and 866051 from 2024-09-15, both open | once, in 866051 |
/// | s9 | 881002 (CSS 881000) until 2024-09-10, then 866057 from 2024-09-11 | yes, 866057 only |
/// | s10 | 881002 from 2024-08-28 (open) and 866057 from 2024-09-20 | once, in 866057 |
/// | s11 | EHDAA with a plan, M | yes, its own cell |
/// | s12 | youth 866057 and FP 866470 | in both sectors |
/// | s20 | GPI only | no (GPI copy of a Mozaïk year) |
///
/// FGA at 866370: s13 until 2024-09-30 (counted, the end is the last day), s14 until 2024-09-29
/// (not counted), s15 with two spells (FIN and FRE, counted once). 2023-2024: GPI only, s1.
#[tokio::test]
async fn effectif_30_septembre_counts() -> TestResult {
    let (f, _dir) = fixture()?;
    let f = f
        .table(
            "inscription",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,ecole_bidon,actif,ordre_enseignement,classe,ehdaa,plan_intervention,date_debut,date_depart
            2024-2025,866000,mozaik,866057,s1,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,gpi,866057,s1,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,s2,false,true,4,4,false,false,,
            2024-2025,866000,mozaik,866057,s3,false,false,4,4,false,false,2024-08-28,2025-02-10
            2024-2025,866000,mozaik,866057,s4,false,false,4,4,false,false,2024-08-28,2024-09-30
            2024-2025,866000,mozaik,866057,s5,false,true,4,4,false,false,2024-10-01,
            2024-2025,866000,mozaik,866057,s6,false,false,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,s7,true,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,s8,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866051,s8,false,true,4,4,false,false,2024-09-15,
            2024-2025,881000,mozaik,881002,s9,false,false,4,4,false,false,2024-08-28,2024-09-10
            2024-2025,866000,mozaik,866057,s9,false,true,4,4,false,false,2024-09-11,
            2024-2025,881000,mozaik,881002,s10,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,mozaik,866057,s10,false,true,4,4,false,false,2024-09-20,
            2024-2025,866000,mozaik,866057,s11,false,true,4,4,true,true,2024-08-28,
            2024-2025,866000,mozaik,866057,s12,false,true,4,4,false,false,2024-08-28,
            2024-2025,866000,gpi,866057,s20,false,true,4,4,false,false,2024-08-28,
            2023-2024,866000,gpi,866057,s1,false,true,4,3,false,false,2023-08-29,
            ",
        )
        .table(
            "frequentation_fga_fp",
            "
            annee_scolaire,code_css,code_etablissement,cle_eleve,centre,programme,service,type_frequentation,date_debut,date_fin
            2024-2025,866000,866470,s12,470,5320,FP,FRE,2024-08-20,
            2024-2025,866000,866370,s13,370,FBD,FGA,FRE,2024-09-01,2024-09-30
            2024-2025,866000,866370,s14,370,FBD,FGA,FRE,2024-09-01,2024-09-29
            2024-2025,866000,866370,s15,370,FBD,FGA,FIN,2024-08-26,
            2024-2025,866000,866370,s15,370,FBD,FGA,FRE,2024-08-26,
            ",
        )
        .table(
            "eleve",
            "
            code_css,systeme_source,cle_eleve,sexe
            866000,mozaik,s1,F
            866000,gpi,s1,F
            866000,mozaik,s2,F
            866000,mozaik,s3,F
            866000,mozaik,s4,F
            866000,mozaik,s5,F
            866000,mozaik,s6,F
            866000,mozaik,s7,F
            866000,mozaik,s8,F
            866000,mozaik,s9,F
            866000,mozaik,s10,F
            866000,mozaik,s11,M
            866000,mozaik,s12,F
            866000,jade,s12,F
            866000,gpi,s20,F
            866000,jade,s13,M
            866000,jade,s14,M
            866000,jade,s15,M
            881000,mozaik,s9,F
            881000,mozaik,s10,F
            ",
        );
    let exact = f.css_zone("effectif_30_septembre").await?;
    // 2024-2025: 866057 F (s1 s2 s3 s4 s9 s10 s12 = 7), 866057 M EHDAA plan (s11), 866051 (s8),
    // FGA 866370 (s13 s15 = 2), FP 866470 (s12); 2023-2024: s1. Nothing in CSS 881000.
    assert_eq!(exact.len(), 6, "{exact}");
    assert!(exact.filter(&[("code_css", "881000")]).is_empty());

    let jeunes = [
        ("annee_scolaire", "2024-2025"),
        ("code_css", "866000"),
        ("code_etablissement", "866057"),
        ("secteur", "jeunes"),
        ("ordre_enseignement", "4"),
        ("classe", "4"),
    ];
    let mut k = jeunes.to_vec();
    k.extend([("sexe", "F"), ("ehdaa", "false"), ("plan_intervention", "false")]);
    let r = exact.find(&k);
    // s1 (its GPI copy not added), s2, s3 (left in February), s9 (arrived from 881000),
    // s10 (also open in 881000, counted here), s12 (also in FP), s4 (left on Sept 30: still
    // enrolled that day) = 7; not s5 s6 s7 s8 s20.
    assert_eq!(r.int("nb_eleves"), Some(7));
    assert_eq!(r.bool("cellule_supprimee"), Some(false));

    let mut k = jeunes.to_vec();
    k.extend([("sexe", "M"), ("ehdaa", "true"), ("plan_intervention", "true")]);
    let ehdaa = exact.find(&k);
    assert_eq!(ehdaa.int("nb_eleves"), Some(1));
    // A cell under 5: the CSS zone keeps 1, flagged; the shared zone hides it.
    assert_eq!(ehdaa.bool("cellule_supprimee"), Some(true));
    let shared = f.shared_zone("effectif_30_septembre").await?;
    let mut ks = jeunes.to_vec();
    ks.extend([("sexe", "M")]);
    let hidden = shared.find(&ks);
    assert!(hidden.is_null("nb_eleves"));
    assert_eq!(hidden.bool("cellule_supprimee"), Some(true));
    let mut kf = jeunes.to_vec();
    kf.extend([("sexe", "F")]);
    assert_eq!(shared.find(&kf).int("nb_eleves"), Some(7));

    // s8, enrolled in two schools that day: once, in 866051 (the later start).
    let s8 = exact.find(&[("code_etablissement", "866051")]);
    assert_eq!(s8.int("nb_eleves"), Some(1));
    assert_eq!(s8.get("secteur"), Some("jeunes"));

    // FGA: s13 (ends September 30) and s15 (two spells) = 2; no order, grade or profile.
    let fga = exact.find(&[("secteur", "FGA")]);
    assert_eq!(fga.get("code_etablissement"), Some("866370"));
    assert_eq!(fga.get("sexe"), Some("M"));
    assert_nulls(&fga, &["ordre_enseignement", "classe", "ehdaa", "plan_intervention"]);
    assert_eq!(fga.int("nb_eleves"), Some(2));
    // FP: s12, also counted in the youth sector.
    let fp = exact.find(&[("secteur", "FP")]);
    assert_eq!(fp.get("code_etablissement"), Some("866470"));
    assert_eq!(fp.get("sexe"), Some("F"));
    assert_eq!(fp.int("nb_eleves"), Some(1));

    // 2023-2024: GPI only that year, kept; grade 3.
    let old = exact.find(&[("annee_scolaire", "2023-2024")]);
    assert_eq!(old.get("classe"), Some("3"));
    assert_eq!(old.int("nb_eleves"), Some(1));
    Ok(())
}

#[tokio::test]
async fn marts_document_exactly_their_columns() -> TestResult {
    // As `tests/project.rs` checks for the whole project: planned on empty tables, each mart
    // produces its documented columns, in order (with cellule_supprimee, added by Socle).
    let (f, _dir) = fixture()?;
    for name in MARTS {
        let m = f.project().mart(name).ok_or(name)?;
        let documented: Vec<String> = m.published_columns().iter().map(|c| c.name.clone()).collect();
        assert_eq!(f.css_zone(name).await?.columns, documented, "{name}");
    }
    assert_eq!(
        f.project().mart("taux_reussite").ok_or("taux_reussite")?.depends_on,
        vec!["reussite".to_string()]
    );
    Ok(())
}
