//! Marts of cohorts, leavers and data anomalies (`diplomation_cohorte`, `sorties_sans_diplome`,
//! `anomalies`, `anomalies_detail`) and the seed `types_sanction`, each on a small hand-built
//! dataset whose expected numbers are computed by hand in the comments.
//!
//! Keys (`k1`, `s1`...), fiches, codes permanents (`FAKE...`) and names are fake.

use socle_marts::testing::{Fixture, Row, approx};
use std::error::Error;

type Result = std::result::Result<(), Box<dyn Error>>;

/// Asserts `column` of `row` is the rate `expected` (within 1e-9).
#[track_caller]
fn rate(row: &Row<'_>, column: &str, expected: f64) {
    assert!(
        approx(row.float(column), expected),
        "{column} = {:?}, expected {expected}",
        row.get(column)
    );
}

// ---------------------------------------------------------------------------------------------
// types_sanction
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn types_sanction_seed_counts_every_ministry_type_but_the_aens() -> Result {
    let f = Fixture::new()?;
    let seed = f
        .project()
        .seeds
        .iter()
        .find(|s| s.spec.name == "types_sanction")
        .ok_or("no seed types_sanction")?;
    let batch = socle_marts::read_seed(seed)?;
    let rows = socle_marts::testing::Rows::from_batches(&batch.schema(), &[batch])?;
    // DOMAIN.md: DES, DEP, ASP, AEP, AFP, ISPJ, CFER, CFPT, CFMS, CEES, CFISA count; AENS does not.
    for code in [
        "DES", "DEP", "ASP", "AEP", "AFP", "ISPJ", "CFER", "CFPT", "CFMS", "CEES", "CFISA",
    ] {
        let r = rows.find(&[("type_diplome", code)]);
        assert_eq!(r.bool("compte_diplomation"), Some(true), "{code}");
        assert_eq!(r.bool("des_ou_dep"), Some(code == "DES" || code == "DEP"), "{code}");
        let expected = if ["DES", "DEP", "ASP", "AEP"].contains(&code) {
            "diplome"
        } else {
            "qualification"
        };
        assert_eq!(r.get("categorie"), Some(expected), "{code}");
    }
    let aens = rows.find(&[("type_diplome", "AENS")]);
    assert_eq!(aens.bool("compte_diplomation"), Some(false));
    assert_eq!(aens.bool("des_ou_dep"), Some(false));
    assert_eq!(rows.len(), 12);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// diplomation_cohorte
// ---------------------------------------------------------------------------------------------

/// The warehouse holds 2017-2018 to 2023-2024 (last year: 2023-2024).
///
/// Cohort 2017-2018 (751000): k6 only (k12 arrived on 2018-01-10, after September 30).
/// Cohort 2018-2019 (751000, Mozaïk that year, GPI rows stale):
///   751006: k1 F, k2 M EHDAA (mover to 866000), k3 F, k4 M, k5 F (leaves 2019-01-15, after Sept
///           30, inactive since: in the cohort), k10 M  -> 6
///   751007: k8 F -> 1
///   not in it: k6 (repeater: sec 1 in 2017-2018), k7 (arrived 2018-10-15), k9 (GPI row of a
///   Mozaïk year), k11 (dummy school), k13 (left on 2018-09-29, the day
///   before; the departure date is the last day enrolled), k12 (in 866000 on Sept 30 2018
///   but already in sec 1 in 751000 in 2017-2018: not a new entrant, in no cohort).
/// Cohort 2021-2022 (866000, 866032): k20..k24 (no eleve row: sex unknown).
///
/// Sanctions (attribution year: the year of the date, or the year before if dated July 1 to
/// September 30):
///   k1  DES  2023-09-30 -> 2022-2023 = 2018 + 4: after 5 years (last day of the window)
///   k10 DES  2023-10-01 -> 2023-2024 = 2018 + 5: after 6 years only
///   k2  DEP  2024-03-15 in 866000 (the other CSS) -> 2023-2024: after 6 years
///   k3  CFPT 2022-06-20 -> 2021-2022: after 5 years, a qualification (not DES/DEP)
///   k4  AENS 2022-05-01: never counted
///   k5  DEP  not obtained: never counted
///
/// Horizons (last year 2023 = 2023-2024; today is after every September 30 involved):
///   2017: 5 (2021), 6 (2022), 7 (2023) reached. 2018: 5 (2022) and 6 (2023) reached, 7 (2024)
///   not. 2021: 5 (2025) not reached.
fn cohort_fixture() -> Fixture {
    Fixture::new()
        .expect("pipelines load")
        .table(
            "inscription",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,ecole_bidon,actif,ordre_enseignement,classe,ehdaa,date_debut,date_depart
            2017-2018,751000,gpi,751006,k6,false,true,4,1,false,2017-08-30,
            2017-2018,751000,gpi,751006,k12,false,true,4,1,false,2018-01-10,
            2018-2019,751000,mozaik,751006,k1,false,true,4,1,false,2018-08-29,
            2018-2019,751000,mozaik,751006,k2,false,true,4,1,true,2018-08-29,
            2018-2019,751000,mozaik,751006,k3,false,true,4,1,false,2018-08-29,
            2018-2019,751000,mozaik,751006,k4,false,true,4,1,false,2018-08-29,
            2018-2019,751000,mozaik,751006,k5,false,false,4,1,false,2018-08-29,2019-01-15
            2018-2019,751000,mozaik,751006,k10,false,true,4,1,false,2018-08-29,
            2018-2019,751000,mozaik,751007,k8,false,true,4,1,false,2018-08-29,
            2018-2019,751000,mozaik,751006,k6,false,true,4,1,false,2018-08-29,
            2018-2019,751000,mozaik,751006,k7,false,true,4,1,false,2018-10-15,
            2018-2019,751000,mozaik,751998,k11,true,true,4,1,false,2018-08-29,
            2018-2019,751000,mozaik,751006,k13,false,true,4,1,false,2018-08-29,2018-09-29
            2018-2019,751000,gpi,751006,k1,false,true,4,1,false,2018-08-29,
            2018-2019,751000,gpi,751006,k9,false,true,4,1,false,2018-08-29,
            2018-2019,866000,gpi,866032,k12,false,true,4,1,false,2018-08-29,
            2019-2020,751000,gpi,751006,k2,false,true,4,2,true,2019-08-29,
            2020-2021,866000,gpi,866032,k2,false,true,4,3,true,2020-08-27,
            2021-2022,866000,gpi,866032,k2,false,true,4,4,true,2021-08-30,
            2021-2022,866000,gpi,866032,k20,false,true,4,1,false,2021-08-30,
            2021-2022,866000,gpi,866032,k21,false,true,4,1,false,2021-08-30,
            2021-2022,866000,gpi,866032,k22,false,true,4,1,false,2021-08-30,
            2021-2022,866000,gpi,866032,k23,false,true,4,1,false,2021-08-30,
            2021-2022,866000,gpi,866032,k24,false,true,4,1,false,2021-08-30,
            2022-2023,866000,gpi,866032,k2,false,true,4,5,true,2022-08-29,
            2022-2023,866000,gpi,866032,k20,false,true,4,2,false,2022-08-29,
            2023-2024,866000,gpi,866032,k20,false,true,4,3,false,2023-08-29,
            ",
        )
        .table(
            "eleve",
            "
            code_css,systeme_source,cle_eleve,cle_locale,sexe
            751000,mozaik,k1,false,
            751000,gpi,k1,false,F
            751000,mozaik,k2,false,M
            866000,gpi,k2,false,F
            866000,jade,k2,false,F
            751000,mozaik,k3,false,F
            751000,mozaik,k4,false,M
            751000,mozaik,k5,false,F
            751000,mozaik,k10,false,M
            751000,mozaik,k8,false,F
            751000,gpi,k6,false,M
            ",
        )
        .table(
            "sanction",
            "
            annee_scolaire,code_css,code_etablissement,cle_eleve,programme,type_diplome,obtenu,date_obtention
            2023-2024,751000,751006,k1,DES-FGJ,DES,true,2023-09-30
            2023-2024,751000,751006,k10,DES-FGJ,DES,true,2023-10-01
            2023-2024,866000,866470,k2,5328,DEP,true,2024-03-15
            2021-2022,751000,751006,k3,CFPT,CFPT,true,2022-06-20
            2021-2022,751000,751311,k4,AENS,AENS,true,2022-05-01
            2022-2023,751000,751421,k5,5328,DEP,false,2023-06-10
            ",
        )
}

#[tokio::test]
async fn cohort_of_2018_follows_movers_and_attributes_summer_diplomas_to_the_year_before() -> Result {
    let exact = cohort_fixture().css_zone("diplomation_cohorte").await?;
    let css = exact.find(&[
        ("annee_scolaire", "2018-2019"),
        ("code_css", "751000"),
        ("code_etablissement", ""),
        ("ventilation", "ensemble"),
    ]);
    assert_eq!(css.get("sous_groupe"), Some("tous"));
    // 2017-2018 is in the warehouse: repeaters can be told apart.
    assert_eq!(css.bool("annee_precedente_observee"), Some(true));
    // k1 k2 k3 k4 k5 k10 (751006) + k8 (751007) = 7.
    assert_eq!(css.int("nb_eleves_cohorte"), Some(7));
    // After 5 years: k1 (DES dated 2023-09-30) + k3 (CFPT) = 2 -> 2/7; DES or DEP: k1 -> 1/7.
    assert_eq!(css.bool("horizon_atteint_5ans"), Some(true));
    assert_eq!(css.int("nb_diplomes_qualifies_5ans"), Some(2));
    rate(&css, "taux_diplomation_qualification_5ans", 2.0 / 7.0);
    assert_eq!(css.int("nb_des_dep_5ans"), Some(1));
    rate(&css, "taux_des_dep_5ans", 1.0 / 7.0);
    // After 6 years: + k10 (DES 2023-10-01) + k2 (DEP in 866000) = 4 -> 4/7; DES/DEP k1 k10 k2 = 3/7.
    assert_eq!(css.bool("horizon_atteint_6ans"), Some(true));
    assert_eq!(css.int("nb_diplomes_qualifies_6ans"), Some(4));
    rate(&css, "taux_diplomation_qualification_6ans", 4.0 / 7.0);
    assert_eq!(css.int("nb_des_dep_6ans"), Some(3));
    rate(&css, "taux_des_dep_6ans", 3.0 / 7.0);
    // After 7 years: 2018 + 6 = 2024-2025 is not in the warehouse: null, not 0.
    assert_eq!(css.bool("horizon_atteint_7ans"), Some(false));
    for c in [
        "nb_diplomes_qualifies_7ans",
        "taux_diplomation_qualification_7ans",
        "nb_des_dep_7ans",
        "taux_des_dep_7ans",
    ] {
        assert!(css.is_null(c), "{c} must be null before the horizon");
    }
    // Cells: 7 >= 5 is shown, but 2, 1, 4 and 3 diplomas are under 5.
    assert_eq!(css.bool("cellule_supprimee"), Some(true));

    // The entry school: 6 students, same diplomas (k8 of 751007 has none).
    let school = exact.find(&[
        ("annee_scolaire", "2018-2019"),
        ("code_etablissement", "751006"),
        ("ventilation", "ensemble"),
    ]);
    assert_eq!(school.int("nb_eleves_cohorte"), Some(6));
    assert_eq!(school.int("nb_diplomes_qualifies_5ans"), Some(2));
    rate(&school, "taux_diplomation_qualification_5ans", 2.0 / 6.0);
    assert_eq!(school.int("nb_des_dep_5ans"), Some(1));
    rate(&school, "taux_des_dep_5ans", 1.0 / 6.0);
    assert_eq!(school.int("nb_diplomes_qualifies_6ans"), Some(4));
    rate(&school, "taux_diplomation_qualification_6ans", 4.0 / 6.0);
    assert_eq!(school.int("nb_des_dep_6ans"), Some(3));
    rate(&school, "taux_des_dep_6ans", 3.0 / 6.0);
    let small = exact.find(&[
        ("annee_scolaire", "2018-2019"),
        ("code_etablissement", "751007"),
        ("ventilation", "ensemble"),
    ]);
    // k8 alone, no diploma: 0 and a rate of 0 (the horizon is reached), not null.
    assert_eq!(small.int("nb_eleves_cohorte"), Some(1));
    assert_eq!(small.int("nb_diplomes_qualifies_5ans"), Some(0));
    rate(&small, "taux_diplomation_qualification_5ans", 0.0);
    assert_eq!(small.bool("cellule_supprimee"), Some(true));

    // The mover k2 stays in 751000's cohort: 866000 has no 2018-2019 cohort (k12, its only sec 1
    // student that September 30, was already in sec 1 in 751000 the year before).
    assert!(
        exact
            .filter(&[("annee_scolaire", "2018-2019"), ("code_css", "866000")])
            .is_empty()
    );
    // 13 rows in 2018-2019: CSS (ensemble, F, M, ehdaa, non_ehdaa), 751006 (the same 5),
    // 751007 (ensemble, F, non_ehdaa).
    assert_eq!(exact.filter(&[("annee_scolaire", "2018-2019")]).len(), 13);
    Ok(())
}

#[tokio::test]
async fn cohort_by_sex_and_ehdaa() -> Result {
    let exact = cohort_fixture().css_zone("diplomation_cohorte").await?;
    let key = |v: &'static str, g: &'static str| {
        [
            ("annee_scolaire", "2018-2019"),
            ("code_css", "751000"),
            ("code_etablissement", ""),
            ("ventilation", v),
            ("sous_groupe", g),
        ]
    };
    // Sex: k1 has a Mozaïk row without sex and a GPI row F: F. k2 is M in the entry CSS 751000,
    // F in 866000 (GPI and JADE): M (the entry CSS first).
    // F: k1 k3 k5 k8 = 4; 5 years k1 k3 = 2 (DES/DEP k1 = 1); 6 years the same 2 (1).
    let f = exact.find(&key("sexe", "F"));
    assert_eq!(f.int("nb_eleves_cohorte"), Some(4));
    assert_eq!(f.int("nb_diplomes_qualifies_5ans"), Some(2));
    rate(&f, "taux_diplomation_qualification_5ans", 0.5);
    assert_eq!(f.int("nb_des_dep_5ans"), Some(1));
    rate(&f, "taux_des_dep_5ans", 0.25);
    assert_eq!(f.int("nb_diplomes_qualifies_6ans"), Some(2));
    assert_eq!(f.int("nb_des_dep_6ans"), Some(1));
    // M: k2 k4 k10 = 3; 5 years none; 6 years k2 k10 = 2, both DES/DEP -> 2/3.
    let m = exact.find(&key("sexe", "M"));
    assert_eq!(m.int("nb_eleves_cohorte"), Some(3));
    assert_eq!(m.int("nb_diplomes_qualifies_5ans"), Some(0));
    rate(&m, "taux_diplomation_qualification_5ans", 0.0);
    assert_eq!(m.int("nb_diplomes_qualifies_6ans"), Some(2));
    rate(&m, "taux_diplomation_qualification_6ans", 2.0 / 3.0);
    assert_eq!(m.int("nb_des_dep_6ans"), Some(2));
    rate(&m, "taux_des_dep_6ans", 2.0 / 3.0);
    // EHDAA at entry: k2 only; its DEP after 6 years -> 1/1.
    let e = exact.find(&key("ehdaa", "ehdaa"));
    assert_eq!(e.int("nb_eleves_cohorte"), Some(1));
    assert_eq!(e.int("nb_diplomes_qualifies_5ans"), Some(0));
    assert_eq!(e.int("nb_diplomes_qualifies_6ans"), Some(1));
    rate(&e, "taux_des_dep_6ans", 1.0);
    // Not EHDAA: the other 6; 5 years k1 k3 = 2; 6 years k1 k3 k10 = 3 (DES/DEP k1 k10 = 2).
    let n = exact.find(&key("ehdaa", "non_ehdaa"));
    assert_eq!(n.int("nb_eleves_cohorte"), Some(6));
    assert_eq!(n.int("nb_diplomes_qualifies_5ans"), Some(2));
    assert_eq!(n.int("nb_diplomes_qualifies_6ans"), Some(3));
    rate(&n, "taux_diplomation_qualification_6ans", 0.5);
    assert_eq!(n.int("nb_des_dep_6ans"), Some(2));
    assert!(exact.filter(&key("sexe", "inconnu")).is_empty());
    Ok(())
}

#[tokio::test]
async fn cohort_repeaters_first_year_and_unreached_horizons() -> Result {
    let exact = cohort_fixture().css_zone("diplomation_cohorte").await?;
    // 2017-2018: k6 only (the repeater belongs to the cohort of his first sec 1 year). No
    // diploma, every horizon reached (2017 + 6 = 2023-2024 is the last year): 0 and 0.0.
    let c2017 = exact.find(&[
        ("annee_scolaire", "2017-2018"),
        ("code_etablissement", ""),
        ("ventilation", "ensemble"),
    ]);
    assert_eq!(c2017.get("code_css"), Some("751000"));
    // The first year of the warehouse: earlier repeaters cannot be seen.
    assert_eq!(c2017.bool("annee_precedente_observee"), Some(false));
    assert_eq!(c2017.int("nb_eleves_cohorte"), Some(1));
    for k in ["5ans", "6ans", "7ans"] {
        assert_eq!(c2017.bool(&format!("horizon_atteint_{k}")), Some(true), "{k}");
        assert_eq!(c2017.int(&format!("nb_diplomes_qualifies_{k}")), Some(0), "{k}");
        rate(&c2017, &format!("taux_diplomation_qualification_{k}"), 0.0);
        assert_eq!(c2017.int(&format!("nb_des_dep_{k}")), Some(0), "{k}");
        rate(&c2017, &format!("taux_des_dep_{k}"), 0.0);
    }
    assert_eq!(
        exact
            .find(&[
                ("annee_scolaire", "2017-2018"),
                ("code_etablissement", ""),
                ("ventilation", "sexe")
            ])
            .get("sous_groupe"),
        Some("M")
    );

    // 2021-2022 in 866000: k20..k24, sex unknown (no eleve row). 2021 + 4 = 2025-2026 is not in
    // the warehouse: every horizon unreached, counts and rates null (never 0).
    let shared = cohort_fixture().shared_zone("diplomation_cohorte").await?;
    for rows in [&exact, &shared] {
        let c2021 = rows.find(&[
            ("annee_scolaire", "2021-2022"),
            ("code_css", "866000"),
            ("code_etablissement", ""),
            ("ventilation", "ensemble"),
        ]);
        assert_eq!(c2021.int("nb_eleves_cohorte"), Some(5));
        assert_eq!(c2021.bool("annee_precedente_observee"), Some(true));
        for k in ["5ans", "6ans", "7ans"] {
            assert_eq!(c2021.bool(&format!("horizon_atteint_{k}")), Some(false), "{k}");
            for c in [
                "nb_diplomes_qualifies",
                "taux_diplomation_qualification",
                "nb_des_dep",
                "taux_des_dep",
            ] {
                assert!(c2021.is_null(&format!("{c}_{k}")), "{c}_{k}");
            }
        }
        // 5 students and nothing else counted: nothing to hide.
        assert_eq!(c2021.bool("cellule_supprimee"), Some(false));
    }
    let unknown = exact.find(&[
        ("annee_scolaire", "2021-2022"),
        ("code_etablissement", "866032"),
        ("sous_groupe", "inconnu"),
    ]);
    assert_eq!(unknown.int("nb_eleves_cohorte"), Some(5));
    Ok(())
}

#[tokio::test]
async fn cohort_small_cells_hidden_in_the_shared_zone_kept_in_the_css_zone() -> Result {
    let shared = cohort_fixture().shared_zone("diplomation_cohorte").await?;
    let exact = cohort_fixture().css_zone("diplomation_cohorte").await?;
    let key = [
        ("annee_scolaire", "2018-2019"),
        ("code_css", "751000"),
        ("code_etablissement", ""),
        ("ventilation", "ensemble"),
    ];
    // 7 entrants are shown; 2, 1, 4 and 3 diplomas are not, nor their rates.
    let s = shared.find(&key);
    assert_eq!(s.int("nb_eleves_cohorte"), Some(7));
    for c in [
        "nb_diplomes_qualifies_5ans",
        "taux_diplomation_qualification_5ans",
        "nb_des_dep_5ans",
        "taux_des_dep_5ans",
        "nb_diplomes_qualifies_6ans",
        "taux_diplomation_qualification_6ans",
        "nb_des_dep_6ans",
        "taux_des_dep_6ans",
    ] {
        assert!(s.is_null(c), "{c} must be hidden");
    }
    assert_eq!(s.bool("horizon_atteint_5ans"), Some(true));
    assert_eq!(s.bool("cellule_supprimee"), Some(true));
    // 751007: one student, everything hidden in the shared zone, exact in the CSS zone.
    let school = [
        ("annee_scolaire", "2018-2019"),
        ("code_etablissement", "751007"),
        ("ventilation", "ensemble"),
    ];
    assert!(shared.find(&school).is_null("nb_eleves_cohorte"));
    assert_eq!(shared.find(&school).bool("cellule_supprimee"), Some(true));
    assert_eq!(exact.find(&school).int("nb_eleves_cohorte"), Some(1));
    assert_eq!(exact.find(&school).bool("cellule_supprimee"), Some(true));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// sorties_sans_diplome
// ---------------------------------------------------------------------------------------------

/// Years 2022-2023 (Y) and 2023-2024 (the last year: no Y+1).
///
/// Secondary students of 751000 in 2022-2023 (last school 751006 unless said):
///   s1  F  DES 2023-07-05 (-> 2022-2023)                        diploma leaver
///   s2  M  CFPT 2023-06-15, still in 751006 in 2023-2024      qualification leaver
///   s3  F  EHDAA, leaves 2023-02-10, nowhere in 2023-2024      leaver without diploma
///   s4  M  continues in 866000 in 2023-2024                     not a leaver (mover)
///   s5  M  751007, FGA in 866000 in 2023-2024                  not a leaver
///   s6  M  AENS only (not counted), nowhere in 2023-2024        leaver without diploma
///   s7  F  FP spell from 2023-05-01, still open                 not a leaver (continues)
///   s9  F  only a dummy school in 2023-2024                     leaver without diploma
///   s10 F  CFPT of 2021-2022 already, leaves                    already a leaver in 2021-2022
/// s8 (M in 866000, F in 751000) leaves 751000 on 2022-12-01 for 866000 and is nowhere in
/// 2023-2024: a leaver of 866000 (the last CSS of the year). s11 is in primary: not counted.
/// 2023-2024: s2 (751006, DES 2024-07-03 -> 2023-2024), s4 (866000); s9's dummy school is not an
/// enrolment.
fn leavers_fixture() -> Fixture {
    Fixture::new()
        .expect("pipelines load")
        .table(
            "inscription",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,ecole_bidon,actif,ordre_enseignement,classe,ehdaa,date_debut,date_depart
            2022-2023,751000,gpi,751006,s1,false,true,4,5,false,2022-08-30,
            2022-2023,751000,gpi,751006,s2,false,true,4,5,false,2022-08-30,
            2022-2023,751000,gpi,751006,s3,false,true,4,4,true,2022-08-30,2023-02-10
            2022-2023,751000,gpi,751006,s4,false,true,4,3,false,2022-08-30,
            2022-2023,751000,gpi,751007,s5,false,true,4,4,false,2022-08-30,
            2022-2023,751000,gpi,751006,s6,false,true,4,5,false,2022-08-30,
            2022-2023,751000,gpi,751006,s7,false,true,4,4,false,2022-08-30,
            2022-2023,751000,gpi,751006,s8,false,true,4,3,false,2022-08-30,2022-12-01
            2022-2023,866000,gpi,866032,s8,false,true,4,3,false,2022-12-05,
            2022-2023,751000,gpi,751006,s9,false,true,4,2,false,2022-08-30,
            2022-2023,751000,gpi,751006,s10,false,true,4,4,false,2022-08-30,
            2022-2023,751000,gpi,751094,s11,false,true,3,6,false,2022-08-30,
            2023-2024,751000,gpi,751006,s2,false,true,4,5,false,2023-08-30,
            2023-2024,866000,gpi,866032,s4,false,true,4,4,false,2023-08-29,
            2023-2024,751000,gpi,751998,s9,true,true,4,3,false,2023-08-30,
            ",
        )
        .table(
            "eleve",
            "
            code_css,systeme_source,cle_eleve,cle_locale,sexe
            751000,gpi,s1,false,F
            751000,gpi,s2,false,M
            751000,gpi,s3,false,F
            751000,gpi,s4,false,M
            751000,gpi,s5,false,M
            751000,gpi,s6,false,M
            751000,gpi,s7,false,F
            751000,gpi,s8,false,F
            866000,gpi,s8,false,M
            751000,gpi,s9,false,F
            751000,gpi,s10,false,F
            751000,gpi,s11,false,F
            ",
        )
        .table(
            "sanction",
            "
            annee_scolaire,code_css,code_etablissement,cle_eleve,programme,type_diplome,obtenu,date_obtention
            2023-2024,751000,751006,s1,DES-FGJ,DES,true,2023-07-05
            2022-2023,751000,751006,s2,CFPT,CFPT,true,2023-06-15
            2024-2025,751000,751006,s2,DES-FGJ,DES,true,2024-07-03
            2022-2023,751000,751311,s6,AENS,AENS,true,2023-05-01
            2021-2022,751000,751006,s10,CFPT,CFPT,true,2022-05-10
            ",
        )
        .table(
            "frequentation_fga_fp",
            "
            annee_scolaire,code_css,code_etablissement,cle_eleve,centre,programme,service,type_frequentation,date_debut,date_fin
            2023-2024,866000,866370,s5,C1,FGA,FGA,FRE,2023-08-25,2024-05-01
            2022-2023,751000,751421,s7,C2,5328,FP,FRE,2023-05-01,
            ",
        )
}

#[tokio::test]
async fn leavers_of_a_year_with_movers_mid_year_departures_and_adult_education() -> Result {
    let exact = leavers_fixture().css_zone("sorties_sans_diplome").await?;
    let css = exact.find(&[
        ("annee_scolaire", "2022-2023"),
        ("code_css", "751000"),
        ("code_etablissement", ""),
        ("ventilation", "ensemble"),
    ]);
    assert_eq!(css.get("sous_groupe"), Some("tous"));
    assert_eq!(css.bool("annee_suivante_observee"), Some(true));
    // s1 s2 s3 s4 s5 s6 s7 s9 s10 = 9 (s8 ends the year in 866000, s11 is in primary).
    assert_eq!(css.int("nb_eleves"), Some(9));
    assert_eq!(css.int("nb_sortants_diplome"), Some(1)); // s1
    assert_eq!(css.int("nb_sortants_qualification"), Some(1)); // s2
    assert_eq!(css.int("nb_sortants_sans_diplome"), Some(3)); // s3 s6 s9
    assert_eq!(css.int("nb_sortants"), Some(5)); // 1 + 1 + 3
    rate(&css, "taux_sortie_sans_diplome", 3.0 / 5.0);
    assert_eq!(css.bool("cellule_supprimee"), Some(true));

    // 751006: the same without s5 -> 8 students, the same leavers.
    let school = exact.find(&[
        ("annee_scolaire", "2022-2023"),
        ("code_etablissement", "751006"),
        ("ventilation", "ensemble"),
    ]);
    assert_eq!(school.int("nb_eleves"), Some(8));
    assert_eq!(school.int("nb_sortants"), Some(5));
    rate(&school, "taux_sortie_sans_diplome", 0.6);
    // 751007: s5 continues in adult education: no leaver, a rate of 0/0 = null.
    let s5 = exact.find(&[
        ("annee_scolaire", "2022-2023"),
        ("code_etablissement", "751007"),
        ("ventilation", "ensemble"),
    ]);
    assert_eq!(s5.int("nb_eleves"), Some(1));
    assert_eq!(s5.int("nb_sortants_diplome"), Some(0));
    assert_eq!(s5.int("nb_sortants_qualification"), Some(0));
    assert_eq!(s5.int("nb_sortants_sans_diplome"), Some(0));
    assert_eq!(s5.int("nb_sortants"), Some(0));
    assert!(s5.is_null("taux_sortie_sans_diplome"));

    // s8 changed CSS mid-year: a leaver of 866000 (M from 866000's row), not of 751000.
    let s8 = exact.find(&[
        ("annee_scolaire", "2022-2023"),
        ("code_css", "866000"),
        ("code_etablissement", ""),
        ("ventilation", "ensemble"),
    ]);
    assert_eq!(s8.int("nb_eleves"), Some(1));
    assert_eq!(s8.int("nb_sortants_sans_diplome"), Some(1));
    assert_eq!(s8.int("nb_sortants"), Some(1));
    rate(&s8, "taux_sortie_sans_diplome", 1.0);
    assert_eq!(
        exact
            .find(&[
                ("annee_scolaire", "2022-2023"),
                ("code_css", "866000"),
                ("code_etablissement", ""),
                ("ventilation", "sexe")
            ])
            .get("sous_groupe"),
        Some("M")
    );
    Ok(())
}

#[tokio::test]
async fn leavers_by_sex_and_ehdaa() -> Result {
    let exact = leavers_fixture().css_zone("sorties_sans_diplome").await?;
    let key = |v: &'static str, g: &'static str| {
        [
            ("annee_scolaire", "2022-2023"),
            ("code_css", "751000"),
            ("code_etablissement", ""),
            ("ventilation", v),
            ("sous_groupe", g),
        ]
    };
    // F: s1 (diploma) s3 (without) s7 (continues) s9 (without) s10 (earlier CFPT) = 5;
    // leavers 1 + 0 + 2 = 3; rate 2/3.
    let f = exact.find(&key("sexe", "F"));
    assert_eq!(f.int("nb_eleves"), Some(5));
    assert_eq!(f.int("nb_sortants_diplome"), Some(1));
    assert_eq!(f.int("nb_sortants_qualification"), Some(0));
    assert_eq!(f.int("nb_sortants_sans_diplome"), Some(2));
    assert_eq!(f.int("nb_sortants"), Some(3));
    rate(&f, "taux_sortie_sans_diplome", 2.0 / 3.0);
    // M: s2 (CFPT) s4 (continues) s5 (continues) s6 (AENS: without) = 4; leavers 0 + 1 + 1 = 2.
    let m = exact.find(&key("sexe", "M"));
    assert_eq!(m.int("nb_eleves"), Some(4));
    assert_eq!(m.int("nb_sortants_qualification"), Some(1));
    assert_eq!(m.int("nb_sortants_sans_diplome"), Some(1));
    assert_eq!(m.int("nb_sortants"), Some(2));
    rate(&m, "taux_sortie_sans_diplome", 0.5);
    // EHDAA: s3 alone, a leaver without diploma. Not EHDAA: 8, leavers 1 + 1 + 2 = 4, rate 0.5.
    let e = exact.find(&key("ehdaa", "ehdaa"));
    assert_eq!(e.int("nb_eleves"), Some(1));
    assert_eq!(e.int("nb_sortants"), Some(1));
    rate(&e, "taux_sortie_sans_diplome", 1.0);
    let n = exact.find(&key("ehdaa", "non_ehdaa"));
    assert_eq!(n.int("nb_eleves"), Some(8));
    assert_eq!(n.int("nb_sortants"), Some(4));
    rate(&n, "taux_sortie_sans_diplome", 0.5);
    Ok(())
}

#[tokio::test]
async fn leavers_of_the_last_year_are_null_not_zero() -> Result {
    let exact = leavers_fixture().css_zone("sorties_sans_diplome").await?;
    // 2023-2024 has no 2024-2025 in the warehouse. 751000: s2 (s9's dummy school does not count),
    // whose DES of 2024-07-03 belongs to 2023-2024: 1 diploma leaver, the rest unknown (null).
    let last = exact.find(&[
        ("annee_scolaire", "2023-2024"),
        ("code_css", "751000"),
        ("code_etablissement", ""),
        ("ventilation", "ensemble"),
    ]);
    assert_eq!(last.bool("annee_suivante_observee"), Some(false));
    assert_eq!(last.int("nb_eleves"), Some(1));
    assert_eq!(last.int("nb_sortants_diplome"), Some(1));
    assert_eq!(last.int("nb_sortants_qualification"), Some(0));
    assert!(last.is_null("nb_sortants_sans_diplome"));
    assert!(last.is_null("nb_sortants"));
    assert!(last.is_null("taux_sortie_sans_diplome"));
    let s4 = exact.find(&[
        ("annee_scolaire", "2023-2024"),
        ("code_css", "866000"),
        ("code_etablissement", ""),
        ("ventilation", "ensemble"),
    ]);
    assert_eq!(s4.int("nb_eleves"), Some(1));
    assert!(s4.is_null("taux_sortie_sans_diplome"));
    assert!(
        exact
            .filter(&[("annee_scolaire", "2023-2024"), ("code_etablissement", "751998")])
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn leavers_small_cells_hidden_in_the_shared_zone() -> Result {
    let shared = leavers_fixture().shared_zone("sorties_sans_diplome").await?;
    let key = [
        ("annee_scolaire", "2022-2023"),
        ("code_css", "751000"),
        ("code_etablissement", ""),
        ("ventilation", "ensemble"),
    ];
    // 9 students and 5 leavers are shown; 1 diploma, 1 qualification and 3 without are not,
    // nor the rate built on 3.
    let s = shared.find(&key);
    assert_eq!(s.int("nb_eleves"), Some(9));
    assert_eq!(s.int("nb_sortants"), Some(5));
    for c in [
        "nb_sortants_diplome",
        "nb_sortants_qualification",
        "nb_sortants_sans_diplome",
        "taux_sortie_sans_diplome",
    ] {
        assert!(s.is_null(c), "{c} must be hidden");
    }
    assert_eq!(s.bool("cellule_supprimee"), Some(true));
    // F: 5 students shown; 3 leavers under 5: every count built on them hidden.
    let f = shared.find(&[
        ("annee_scolaire", "2022-2023"),
        ("code_css", "751000"),
        ("code_etablissement", ""),
        ("ventilation", "sexe"),
        ("sous_groupe", "F"),
    ]);
    assert_eq!(f.int("nb_eleves"), Some(5));
    assert!(f.is_null("nb_sortants"));
    assert!(f.is_null("taux_sortie_sans_diplome"));
    // The CSS zone keeps them, flagged.
    let exact = leavers_fixture().css_zone("sorties_sans_diplome").await?;
    assert_eq!(exact.find(&key).int("nb_sortants_sans_diplome"), Some(3));
    assert_eq!(exact.find(&key).bool("cellule_supprimee"), Some(true));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// anomalies_detail and anomalies
// ---------------------------------------------------------------------------------------------

/// 751000 (GPI, most recent year 2023-2024):
///   (a) ka fiche 101 active at 751006 and 751007 without departure: 1 case. kb fiche 102 leaves
///       751006 on 2023-11-01, the day it starts at 751007: a transfer, no case. kc fiche 103
///       leaves mid-year: no case.
///   (b) ke fiche 105 has 3 results in 2023-2024 (132406 étapes 1 and final, 063414 étape 1) and
///       an enrolment in 2022-2023 only: 1 case.
///   (c) kf under GPI fiches 106 and 107 (and Mozaïk 5006, JADE 9001: other systems): 1 case,
///       shown at 751007 (fiche 107's enrolment).
///   (d) quarantine: unknown_result_code, out_of_domain, unmapped_code = 3 cases
///       (duplicate_key is not one); local course XYZ123 in results (ka twice, kc once): 1 case.
///   (e) kd fiche 104 active in the dummy school 751998: 1 case (kh's is inactive: none).
/// 866000: 5 unknown_school quarantine rows, most recent enrolment year 2022-2023.
fn anomalies_fixture() -> Fixture {
    Fixture::new()
        .expect("pipelines load")
        .table(
            "inscription",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,fiche,eco,ecole_bidon,actif,ordre_enseignement,classe,ehdaa,plan_intervention,date_debut,date_depart
            2023-2024,751000,gpi,751006,ka,101,006,false,true,4,2,false,false,2023-08-30,
            2023-2024,751000,gpi,751007,ka,101,007,false,true,4,2,false,false,2023-11-01,
            2023-2024,751000,gpi,751006,kb,102,006,false,true,4,2,false,false,2023-08-30,2023-11-01
            2023-2024,751000,gpi,751007,kb,102,007,false,true,4,2,false,false,2023-11-01,
            2023-2024,751000,gpi,751006,kc,103,006,false,true,4,2,false,false,2023-08-30,2024-01-15
            2023-2024,751000,gpi,751006,kd,104,006,false,true,4,2,false,false,2023-08-30,
            2023-2024,751000,gpi,751998,kd,104,998,true,true,4,2,false,false,2023-08-30,
            2023-2024,751000,gpi,751998,kh,109,998,true,false,4,2,false,false,2023-08-30,
            2023-2024,751000,gpi,751007,kf,107,007,false,true,4,3,false,false,2023-08-30,
            2022-2023,751000,gpi,751006,ke,105,006,false,true,4,1,false,false,2022-08-30,
            2022-2023,866000,gpi,866032,kz,201,032,false,true,4,1,false,false,2022-08-30,
            ",
        )
        .table(
            "resultat",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,fiche,ecole_bidon,code_cours,code_cours_source,cours_local,reprise,etat,etape,statut_resultat,evalue,reussi
            2023-2024,751000,gpi,751006,ke,105,false,132406,132406,false,false,1,1,reussi,true,true
            2023-2024,751000,gpi,751006,ke,105,false,132406,132406,false,false,1,final,reussi,true,true
            2023-2024,751000,gpi,751006,ke,105,false,063414,063414,false,false,1,1,echec,true,false
            2023-2024,751000,gpi,751006,ka,101,false,XYZ123,XYZ123,true,false,1,1,reussi,true,true
            2023-2024,751000,gpi,751006,ka,101,false,XYZ123,XYZ123,true,false,1,2,reussi,true,true
            2023-2024,751000,gpi,751006,kc,103,false,XYZ123,XYZ123,true,false,1,1,echec,true,false
            2023-2024,751000,gpi,751006,ka,101,false,132406,132406,false,false,1,1,reussi,true,true
            ",
        )
        .table(
            "eleve",
            "
            code_css,systeme_source,cle_eleve,cle_locale,fiche,code_permanent,nom,prenom,sexe,date_naissance
            751000,gpi,kf,false,106,FAKE00000106,Nomfictif,Prenomfictif,F,2010-01-01
            751000,gpi,kf,false,107,FAKE00000106,Nomfictif,Prenomfictif,F,2010-01-01
            751000,mozaik,kf,false,5006,FAKE00000106,Nomfictif,Prenomfictif,F,2010-01-01
            751000,jade,kf,false,9001,FAKE00000106,Nomfictif,Prenomfictif,F,2010-01-01
            751000,gpi,ka,false,101,FAKE00000101,Autrenom,Autreprenom,M,2010-02-02
            751000,gpi,kl,true,110,,Troisieme,Nom,M,2010-03-03
            ",
        )
        .table(
            "quarantaine",
            "
            code_css,source,etape_pipeline,entite,fichier,ligne,colonne,raison,message,enregistrement
            751000,gpi,normalisation,resultat,gpi/gpm_e_mat_ele.csv,12,res_etape_01,unknown_result_code,unknown result code 'Z9',106;Z9
            751000,gpi,lecture,,gpi/gpm_e_dan.csv,40,ordre_ens,out_of_domain,column ordre_ens: value 9 is out of its domain,101;9
            751000,dofin,normalisation,ecriture,dofin/fin_ecriture.csv,7,objet,unmapped_code,objet 8123 matches no prefix,8123
            751000,gpi,lecture,,gpi/gpm_e_ele.csv,3,fiche,duplicate_key,duplicate key (fiche),106;FAKE00000106;Nomfictif
            866000,gpi,normalisation,inscription,gpi/gpm_e_dan.csv,2,id_eco,unknown_school,id_eco 77 is not a loaded school,
            866000,gpi,normalisation,inscription,gpi/gpm_e_dan.csv,3,id_eco,unknown_school,id_eco 77 is not a loaded school,
            866000,gpi,normalisation,inscription,gpi/gpm_e_dan.csv,4,id_eco,unknown_school,id_eco 77 is not a loaded school,
            866000,gpi,normalisation,inscription,gpi/gpm_e_dan.csv,5,id_eco,unknown_school,id_eco 77 is not a loaded school,
            866000,gpi,normalisation,inscription,gpi/gpm_e_dan.csv,6,id_eco,unknown_school,id_eco 77 is not a loaded school,
            ",
        )
}

#[tokio::test]
async fn anomalies_detail_one_row_per_case() -> Result {
    let rows = anomalies_fixture().css_zone("anomalies_detail").await?;
    let one = |t: &'static str| rows.find(&[("code_css", "751000"), ("type_anomalie", t)]);

    let a = one("eleve_actif_deux_fois");
    assert_eq!(a.get("annee_scolaire"), Some("2023-2024"));
    assert_eq!(a.int("fiche"), Some(101));
    assert_eq!(a.get("code_etablissement"), Some("751006"));
    assert_eq!(
        a.get("detail"),
        Some(
            "fiche 101 active à 751006 (du 2023-08-30, sans départ) et fiche 101 active à 751007 (du 2023-11-01, sans départ)"
        )
    );

    let b = one("resultat_sans_inscription");
    assert_eq!(b.get("annee_scolaire"), Some("2023-2024"));
    assert_eq!(b.int("fiche"), Some(105));
    assert_eq!(b.get("code_etablissement"), Some("751006"));
    assert_eq!(
        b.get("detail"),
        Some("3 résultat(s) de la fiche 105 sans inscription dans le CSS en 2023-2024, cours: 063414, 132406")
    );

    let c = one("code_permanent_deux_fiches");
    // No year of its own: the CSS's most recent enrolment year.
    assert_eq!(c.get("annee_scolaire"), Some("2023-2024"));
    assert_eq!(c.int("fiche"), Some(106));
    assert_eq!(c.get("code_etablissement"), Some("751007"));
    assert_eq!(
        c.get("detail"),
        Some("fiches 106 et 107 (gpi) portent le même code permanent")
    );

    let q = rows.filter(&[("code_css", "751000"), ("type_anomalie", "code_inconnu")]);
    let details: Vec<&str> = q.iter().filter_map(|r| r.get("detail")).collect();
    assert_eq!(
        details,
        vec![
            "dofin dofin/fin_ecriture.csv:7:objet unmapped_code: objet 8123 matches no prefix",
            "gpi gpi/gpm_e_dan.csv:40:ordre_ens out_of_domain: column ordre_ens: value 9 is out of its domain",
            "gpi gpi/gpm_e_mat_ele.csv:12:res_etape_01 unknown_result_code: unknown result code 'Z9'",
        ]
    );
    assert!(
        q.iter()
            .all(|r| r.is_null("fiche") && r.get("annee_scolaire") == Some("2023-2024"))
    );

    let l = one("cours_local_sans_correspondance");
    assert_eq!(l.get("code_etablissement"), Some("751006"));
    assert!(l.is_null("fiche"));
    // ka twice + kc once = 3 results of 2 students.
    assert_eq!(
        l.get("detail"),
        Some("code de cours local XYZ123 sans correspondance: 3 résultat(s), 2 élève(s)")
    );

    let e = one("ecole_bidon_active");
    assert_eq!(e.int("fiche"), Some(104));
    assert_eq!(e.get("code_etablissement"), Some("751998"));
    assert_eq!(
        e.get("detail"),
        Some("fiche 104 inscrite active à l'école fictive 751998 (eco 998), du 2023-08-30, sans départ")
    );

    // 1 + 1 + 1 + 3 + 1 + 1 = 8 cases in 751000; 5 in 866000, in its most recent year 2022-2023.
    assert_eq!(rows.filter(&[("code_css", "751000")]).len(), 8);
    let z = rows.filter(&[("code_css", "866000")]);
    assert_eq!(z.len(), 5);
    assert!(
        z.iter()
            .all(|r| r.get("annee_scolaire") == Some("2022-2023") && r.get("type_anomalie") == Some("code_inconnu"))
    );

    // Nominative but never a code permanent, a name or a birth date.
    assert_eq!(
        rows.columns,
        [
            "code_css",
            "annee_scolaire",
            "type_anomalie",
            "fiche",
            "code_etablissement",
            "detail"
        ]
    );
    for r in rows.all() {
        let d = r.get("detail").unwrap_or_default();
        for secret in ["FAKE", "Nomfictif", "Prenomfictif", "Autrenom", "2010-0"] {
            assert!(!d.contains(secret), "{d} shows {secret}");
        }
    }
    // A nominative mart has no shared-zone rows.
    assert!(anomalies_fixture().shared_zone("anomalies_detail").await.is_err());
    Ok(())
}

#[tokio::test]
async fn anomalies_counts_agree_with_the_detail() -> Result {
    let exact = anomalies_fixture().css_zone("anomalies").await?;
    let shared = anomalies_fixture().shared_zone("anomalies").await?;
    // 751000, 2023-2024: one row per type, each the count of its detail rows.
    for (t, n) in [
        ("eleve_actif_deux_fois", 1),
        ("resultat_sans_inscription", 1),
        ("code_permanent_deux_fiches", 1),
        ("code_inconnu", 3),
        ("cours_local_sans_correspondance", 1),
        ("ecole_bidon_active", 1),
    ] {
        let key = [
            ("annee_scolaire", "2023-2024"),
            ("code_css", "751000"),
            ("type_anomalie", t),
        ];
        let r = exact.find(&key);
        assert_eq!(r.int("nb_cas"), Some(n), "{t}");
        assert!(r.get("description").is_some_and(|d| !d.is_empty()), "{t}");
        // Under 5: hidden in the shared zone, kept (flagged) in the CSS zone.
        assert_eq!(r.bool("cellule_supprimee"), Some(true), "{t}");
        let s = shared.find(&key);
        assert!(s.is_null("nb_cas"), "{t}");
        assert_eq!(s.bool("cellule_supprimee"), Some(true), "{t}");
        assert_eq!(s.get("description"), r.get("description"));
    }
    assert_eq!(exact.filter(&[("code_css", "751000")]).len(), 6);
    // 866000: 5 unknown codes, shown in the shared zone.
    let key = [
        ("annee_scolaire", "2022-2023"),
        ("code_css", "866000"),
        ("type_anomalie", "code_inconnu"),
    ];
    assert_eq!(exact.find(&key).int("nb_cas"), Some(5));
    assert_eq!(shared.find(&key).int("nb_cas"), Some(5));
    assert_eq!(shared.find(&key).bool("cellule_supprimee"), Some(false));
    assert_eq!(exact.len(), 7);
    Ok(())
}

/// "As of" is the night of the exports (`nuits`), never the wall clock: loaded on 2023-09-01,
/// the warehouse cannot know the sanctions of the summer of 2023 (attributed to 2022-2023 until
/// September 30, 2023), so the 5-year horizon of cohort 2018-2019 is not reached and its rates
/// are null; loaded on 2023-10-02, it is reached. The last year of the fixture is 2023-2024, so
/// Y+1 of 2022-2023 is held, but observed for the leavers only once its September 30 has passed.
#[tokio::test]
async fn horizons_follow_the_night_of_the_exports() -> Result {
    let key = [
        ("annee_scolaire", "2018-2019"),
        ("code_css", "751000"),
        ("code_etablissement", ""),
        ("ventilation", "ensemble"),
    ];
    let early = cohort_fixture()
        .table("nuits", "code_css,nuit\n751000,2023-09-01\n866000,2023-09-01")
        .css_zone("diplomation_cohorte")
        .await?;
    let row = early.find(&key);
    assert_eq!(row.bool("horizon_atteint_5ans"), Some(false));
    assert!(row.is_null("nb_diplomes_qualifies_5ans"));
    assert!(row.is_null("taux_diplomation_qualification_5ans"));
    let later = cohort_fixture()
        .table("nuits", "code_css,nuit\n751000,2023-10-02\n866000,2023-10-02")
        .css_zone("diplomation_cohorte")
        .await?;
    let row = later.find(&key);
    assert_eq!(row.bool("horizon_atteint_5ans"), Some(true));
    assert_eq!(row.int("nb_diplomes_qualifies_5ans"), Some(2));
    Ok(())
}
