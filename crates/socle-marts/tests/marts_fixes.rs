//! Marts v2 correctness fixes, each with a hand-computed case (the held-out check's findings).

use socle_marts::testing::Fixture;
use std::error::Error;

type Result = std::result::Result<(), Box<dyn Error>>;

/// (a) diplomation_cohorte: "a known sex, first from the CSS of entry". k2 enters secondary 1 in
/// 2018-2019 in CSS 751000, which sends GPI, where k2 is M; CSS 866000 (Mozaïk) has k2 as F.
/// The old SQL took "the most recent system first" across every CSS: Mozaïk's F. The rule says
/// the CSS of entry first: M. k9 enters in 751000 with no known sex there and F in 866000: F
/// (another CSS's known sex when the CSS of entry has none).
#[tokio::test]
async fn cohort_sex_comes_from_the_css_of_entry_even_on_gpi() -> Result {
    let f = Fixture::new()?
        .table(
            "inscription",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,ecole_bidon,actif,ordre_enseignement,classe,ehdaa,plan_intervention,date_debut,date_depart
            2018-2019,751000,gpi,751006,k2,false,true,4,1,false,false,2018-08-29,
            2018-2019,751000,gpi,751006,k9,false,true,4,1,false,false,2018-08-29,
            ",
        )
        .table(
            "eleve",
            "
            code_css,systeme_source,cle_eleve,cle_locale,sexe
            751000,gpi,k2,false,M
            866000,mozaik,k2,false,F
            751000,gpi,k9,false,
            866000,mozaik,k9,false,F
            ",
        );
    let exact = f.css_zone("diplomation_cohorte").await?;
    let key = |g: &'static str| {
        [
            ("annee_scolaire", "2018-2019"),
            ("code_etablissement", ""),
            ("ventilation", "sexe"),
            ("sous_groupe", g),
        ]
    };
    // M: k2 (its CSS of entry's sex); F: k9 (no sex in 751000, F in 866000).
    assert_eq!(exact.find(&key("M")).int("nb_eleves_cohorte"), Some(1));
    assert_eq!(exact.find(&key("F")).int("nb_eleves_cohorte"), Some(1));
    Ok(())
}

/// School 866012, 2024-2025 (GPI), two school days of 4 periods (étape 1). k1 is enrolled all
/// year. A Mozaïk-style dummy establishment sharing the code 866012 recorded k1 absent all of
/// 2024-09-03 (4 rows flagged ecole_bidon); the real school recorded one period on 2024-09-04
/// whose reason (ZZZ) is unknown to the school's table, so it has no category.
fn dummy_absences() -> Fixture {
    Fixture::new()
        .unwrap()
        .table(
            "inscription",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,ecole_bidon,actif,ordre_enseignement,classe,ehdaa,plan_intervention,date_debut,date_depart
            2024-2025,866000,gpi,866012,k1,false,true,4,2,false,false,2024-08-29,
            2024-2025,866000,gpi,866012,k1,true,true,4,2,false,false,2024-08-29,
            ",
        )
        .table(
            "calendrier",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,date,jour_classe,nb_periodes,etape
            2024-2025,866000,gpi,866012,2024-09-03,true,4,1
            2024-2025,866000,gpi,866012,2024-09-04,true,4,1
            ",
        )
        .table(
            "absence",
            "
            annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,ecole_bidon,date_absence,periode,motif_absence,categorie
            2024-2025,866000,gpi,866012,k1,true,2024-09-03,1,MAL,motivee
            2024-2025,866000,gpi,866012,k1,true,2024-09-03,2,MAL,motivee
            2024-2025,866000,gpi,866012,k1,true,2024-09-03,3,MAL,motivee
            2024-2025,866000,gpi,866012,k1,true,2024-09-03,4,MAL,motivee
            2024-2025,866000,gpi,866012,k1,false,2024-09-04,2,ZZZ,
            ",
        )
}

/// (c) and (b) in absenteisme: the dummy establishment's 4 periods are not counted (the old SQL
/// counted them at 866012: 5 absent periods, 4 excused, one full day). The unknown reason is an
/// absence without a category: 1 absent period out of 8 expected, 0 excused, 1 without category.
#[tokio::test]
async fn absences_at_a_dummy_establishment_are_not_counted_unknown_reasons_are() -> Result {
    let exact = dummy_absences().css_zone("absenteisme").await?;
    let r = exact.find(&[("code_etablissement", "866012"), ("etape", "1")]);
    assert_eq!(r.int("nb_eleves"), Some(1));
    assert_eq!(r.int("nb_periodes_prevues"), Some(8));
    assert_eq!(r.int("nb_periodes_absence"), Some(1));
    assert_eq!(r.int("nb_periodes_motivees"), Some(0));
    assert_eq!(r.int("nb_periodes_sans_categorie"), Some(1));
    assert_eq!(r.int("nb_jours_absence"), Some(0));
    assert!((r.float("taux_absence").unwrap() - 0.125).abs() < 1e-12);
    Ok(())
}

/// (c) in absenteisme_chronique: without the dummy's full day, k1 has 0 days absent (the old SQL
/// gave 1 day of 2 = 50%: chronic). Now 0 of 2 days: not chronic.
#[tokio::test]
async fn chronic_absence_ignores_a_dummy_establishment() -> Result {
    let exact = dummy_absences().css_zone("absenteisme_chronique").await?;
    let r = exact.find(&[("code_etablissement", "866012")]);
    assert_eq!(r.int("nb_eleves"), Some(1));
    assert_eq!(r.int("nb_chroniques"), Some(0));
    assert_eq!(r.int("nb_eleves_0_jour"), Some(1));
    Ok(())
}
