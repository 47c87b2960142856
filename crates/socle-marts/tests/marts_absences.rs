//! The absence marts (`absenteisme`, `absenteisme_chronique`, `bris_de_service`) and
//! `retard_scolaire`, on small hand-built datasets whose expected numbers are computed by hand
//! in the comments.
//!
//! Every absence test uses the same school calendar (built by [`calendar`]), September 2024:
//!
//! ```text
//!            Mon        Tue        Wed        Thu        Fri        Sat/Sun
//! week 1     02 congé   03 #1 (4)  04 #2 (2)  05 #3 (4)  06 #4 (4)  07 08
//! week 2     09 #5 (4)  10 #6 (4)  11 #7 (2)  12 #8 (4)  13 #9 (4)  14 15
//! week 3     16 #10(4)  17 #11(4)  18 #12(2)  19 #13(4)  20 péda    21 22
//! week 4     23 #14(4)  24 #15(4)  25 #16(2)  26 #17(4)  27 #18(4)  28 29
//! week 5     30 #19(4)  Oct 01 #20(4)
//! ```
//!
//! `#n (p)` = n-th school day, p periods (Wednesdays have 2). Sept 2 (Labour Day), Sept 20
//! (pedagogical day) and weekends are rows with `jour_classe` false. 20 school days, 72 periods.
//! GPI calendars: étape 1 = Sept 3-19 (13 days, 10 x 4 + 3 x 2 = 46 periods), étape 2 = Sept
//! 23-Oct 1 (7 days, 6 x 4 + 2 = 26 periods). Mozaïk calendars have no étape.

use chrono::{Datelike, NaiveDate, Weekday};
use socle_marts::testing::{Fixture, approx};
use std::error::Error;

type TestResult = Result<(), Box<dyn Error>>;

const INSCRIPTION: &str = "annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,ecole_bidon,actif,ordre_enseignement,classe,date_debut,date_depart";
const ABSENCE: &str =
    "annee_scolaire,code_css,systeme_source,code_etablissement,cle_eleve,date_absence,periode,motif_absence,categorie";

/// The calendar of the module doc for one school, as `calendrier` CSV (header included).
fn calendar(css: &str, system: &str, etab: &str) -> String {
    let mut out =
        String::from("annee_scolaire,code_css,systeme_source,code_etablissement,date,jour_classe,nb_periodes,etape\n");
    let mut d = NaiveDate::from_ymd_opt(2024, 9, 2).expect("date");
    let last = NaiveDate::from_ymd_opt(2024, 10, 1).expect("date");
    let step1_end = NaiveDate::from_ymd_opt(2024, 9, 19).expect("date");
    while d <= last {
        let off =
            matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || (d.month() == 9 && (d.day() == 2 || d.day() == 20));
        let periods = if off {
            ""
        } else if d.weekday() == Weekday::Wed {
            "2"
        } else {
            "4"
        };
        let etape = match system {
            "gpi" if d <= step1_end => "1",
            "gpi" => "2",
            _ => "",
        };
        out.push_str(&format!(
            "2024-2025,{css},{system},{etab},{d},{},{periods},{etape}\n",
            !off
        ));
        d = d.succ_opt().expect("date");
    }
    out
}

/// Rows of `header` CSV from `lines` (one record per line).
fn csv(header: &str, lines: &str) -> String {
    format!("{header}\n{lines}")
}

/// Periods of a school day of the test calendar: 2 on Wednesdays, 4 otherwise.
fn periods(day: &str) -> u32 {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("date");
    if d.weekday() == Weekday::Wed { 2 } else { 4 }
}

/// `absence` rows (no header) making `cle` absent all day (every period of the test calendar)
/// on each of `days`, with category `categorie`.
fn full_days(css: &str, system: &str, etab: &str, cle: &str, days: &[&str], categorie: &str) -> String {
    let mut out = String::new();
    for day in days {
        for p in 1..=periods(day) {
            out.push_str(&format!(
                "2024-2025,{css},{system},{etab},{cle},{day},{p},X,{categorie}\n"
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// absenteisme
// ---------------------------------------------------------------------------------------------

/// A GPI school (866052) with étapes: a student leaving mid-year, excused vs unexcused, lates,
/// an absence without category, a period recorded twice, periods beyond the day's count,
/// absences on a day off and after departure, and a dummy school.
fn absenteisme_gpi() -> Fixture {
    Fixture::new()
        .expect("pipelines load")
        .table("calendrier", &calendar("866000", "gpi", "866052"))
        .table("calendrier", &calendar("866000", "gpi", "866055"))
        .table(
            "inscription",
            &csv(
                INSCRIPTION,
                "
                2024-2025,866000,gpi,866052,a1,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,a2,false,false,4,1,2024-08-28,2024-09-10
                2024-2025,866000,gpi,866052,a3,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,a4,false,true,4,1,,
                2024-2025,866000,gpi,866052,a5,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,a6,false,true,4,1,2024-09-23,
                2024-2025,866000,gpi,866052,a8,false,false,4,1,2024-08-28,
                2024-2025,866000,gpi,866055,a7,true,true,4,1,2024-08-28,
                ",
            ),
        )
        .table(
            "absence",
            &csv(
                ABSENCE,
                "
                2024-2025,866000,gpi,866052,a1,2024-09-03,1,M,motivee
                2024-2025,866000,gpi,866052,a1,2024-09-03,1,M,motivee
                2024-2025,866000,gpi,866052,a1,2024-09-03,2,M,motivee
                2024-2025,866000,gpi,866052,a1,2024-09-04,1,NM,non_motivee
                2024-2025,866000,gpi,866052,a1,2024-09-04,2,NM,non_motivee
                2024-2025,866000,gpi,866052,a1,2024-09-05,1,R,retard
                2024-2025,866000,gpi,866052,a1,2024-09-20,1,NM,non_motivee
                2024-2025,866000,gpi,866052,a1,2024-09-24,3,NM,non_motivee
                2024-2025,866000,gpi,866052,a2,2024-09-10,4,M,motivee
                2024-2025,866000,gpi,866052,a2,2024-09-11,1,NM,non_motivee
                2024-2025,866000,gpi,866052,a3,2024-09-26,2,R,retard
                2024-2025,866000,gpi,866052,a6,2024-09-23,1,,
                2024-2025,866000,gpi,866052,a6,2024-09-23,2,,
                2024-2025,866000,gpi,866052,a6,2024-09-23,3,,
                2024-2025,866000,gpi,866052,a6,2024-09-23,4,,
                2024-2025,866000,gpi,866052,a6,2024-09-23,5,,
                2024-2025,866000,gpi,866052,a6,2024-09-25,1,R,retard
                2024-2025,866000,gpi,866052,a8,2024-09-03,1,NM,non_motivee
                2024-2025,866000,gpi,866055,a7,2024-09-03,1,NM,non_motivee
                ",
            ),
        )
}

#[tokio::test]
async fn absenteisme_by_etape() -> TestResult {
    let f = absenteisme_gpi();
    let exact = f.css_zone("absenteisme").await?;
    // Enrolments at 866052: a1, a3, a5 from Aug 28, a4 without dates: the whole calendar. a2
    // leaves Sept 10 (the departure day counts): Sept 3, 4, 5, 6, 9, 10 = 6 days,
    // 4 + 2 + 4 + 4 + 4 + 4 = 22 periods, all in étape 1. a6 arrives Sept 23: étape 2 only. a8 is
    // inactive without a departure date (a cancelled enrolment): not counted, nor its absence.
    // a7 is in a dummy school (866055): no row at all.
    assert_eq!(exact.len(), 2, "{exact}");
    assert!(exact.filter(&[("code_etablissement", "866055")]).is_empty());

    // Étape 1 (13 days, 46 periods): a1, a3, a4, a5 all of it, a2 6 days / 22 periods.
    //   nb_eleves = 5; nb_jours_eleve = 4 x 13 + 6 = 58; nb_periodes_prevues = 4 x 46 + 22 = 206.
    //   a1: Sept 3 periods 1 (recorded twice: once) and 2 excused = 2 motivées; Sept 4 periods 1-2
    //       unexcused = 2 non motivées, and Sept 4 has 2 periods: a full day; Sept 5 a late
    //       (not an absence); Sept 20 is a pedagogical day: ignored.
    //   a2: Sept 10 (departure day) period 4 excused = 1 motivée; Sept 11 is after departure.
    //   absence = 2 + 2 + 1 = 5 (motivées 3, non motivées 2, sans catégorie 0), 1 full day;
    //   absent students a1, a2 = 2; late students a1 = 1, 1 late period.
    let e1 = exact.find(&[("code_etablissement", "866052"), ("etape", "1")]);
    assert_eq!(e1.get("annee_scolaire"), Some("2024-2025"));
    assert_eq!(e1.get("code_css"), Some("866000"));
    assert_eq!(e1.int("nb_eleves"), Some(5));
    assert_eq!(e1.int("nb_jours_eleve"), Some(58));
    assert_eq!(e1.int("nb_periodes_prevues"), Some(206));
    assert_eq!(e1.int("nb_eleves_absents"), Some(2));
    assert_eq!(e1.int("nb_periodes_absence"), Some(5));
    assert_eq!(e1.int("nb_periodes_motivees"), Some(3));
    assert_eq!(e1.int("nb_periodes_non_motivees"), Some(2));
    assert_eq!(e1.int("nb_periodes_sans_categorie"), Some(0));
    assert_eq!(e1.int("nb_jours_absence"), Some(1));
    assert!(approx(e1.float("taux_absence"), 5.0 / 206.0));
    assert!(approx(e1.float("taux_absence_motivee"), 3.0 / 206.0));
    assert!(approx(e1.float("taux_absence_non_motivee"), 2.0 / 206.0));
    assert_eq!(e1.int("nb_eleves_retard"), Some(1));
    assert_eq!(e1.int("nb_periodes_retard"), Some(1));
    // 2 absent students < 5: the CSS zone keeps exact values, flagged.
    assert_eq!(e1.bool("cellule_supprimee"), Some(true));

    // Étape 2 (7 days, 26 periods): a1, a3, a4, a5, a6.
    //   nb_eleves = 5; nb_jours_eleve = 5 x 7 = 35; nb_periodes_prevues = 5 x 26 = 130.
    //   a1: Sept 24 period 3 unexcused = 1 non motivée.
    //   a6: Sept 23 periods 1-5 without category: 5 rows, but the day has 4 periods: capped at 4
    //       sans catégorie, a full day; Sept 25 a late.
    //   a3: Sept 26 a late.
    //   absence = 1 + 4 = 5 (motivées 0, non motivées 1, sans catégorie 4), 1 full day; absent
    //   students 2; late students a6, a3 = 2, 2 late periods.
    let e2 = exact.find(&[("code_etablissement", "866052"), ("etape", "2")]);
    assert_eq!(e2.int("nb_eleves"), Some(5));
    assert_eq!(e2.int("nb_jours_eleve"), Some(35));
    assert_eq!(e2.int("nb_periodes_prevues"), Some(130));
    assert_eq!(e2.int("nb_eleves_absents"), Some(2));
    assert_eq!(e2.int("nb_periodes_absence"), Some(5));
    assert_eq!(e2.int("nb_periodes_motivees"), Some(0));
    assert_eq!(e2.int("nb_periodes_non_motivees"), Some(1));
    assert_eq!(e2.int("nb_periodes_sans_categorie"), Some(4));
    assert_eq!(e2.int("nb_jours_absence"), Some(1));
    assert!(approx(e2.float("taux_absence"), 5.0 / 130.0));
    assert!(approx(e2.float("taux_absence_motivee"), 0.0));
    assert!(approx(e2.float("taux_absence_non_motivee"), 1.0 / 130.0));
    assert_eq!(e2.int("nb_eleves_retard"), Some(2));
    assert_eq!(e2.int("nb_periodes_retard"), Some(2));

    // Shared zone: 5 students are shown with the expected days and periods; 2 absent students
    // hide the absence counts and rates, 1 late student the late periods.
    let shared = f.shared_zone("absenteisme").await?;
    let s1 = shared.find(&[("code_etablissement", "866052"), ("etape", "1")]);
    assert_eq!(s1.int("nb_eleves"), Some(5));
    assert_eq!(s1.int("nb_periodes_prevues"), Some(206));
    for hidden in [
        "nb_eleves_absents",
        "nb_periodes_absence",
        "nb_periodes_motivees",
        "nb_jours_absence",
        "taux_absence",
        "taux_absence_non_motivee",
        "nb_eleves_retard",
        "nb_periodes_retard",
    ] {
        assert!(s1.is_null(hidden), "{hidden} shown");
    }
    assert_eq!(s1.bool("cellule_supprimee"), Some(true));
    Ok(())
}

/// A Mozaïk school without étape (751006), a mover between CSS (m1: 866000 until Sept 13, then
/// 751000 from Sept 16) and a CSS migrating from GPI to Mozaïk (881000 exports both systems).
#[tokio::test]
async fn absenteisme_mozaik_mover_and_migration() -> TestResult {
    let f = Fixture::new()?
        .table("calendrier", &calendar("866000", "gpi", "866052"))
        .table("calendrier", &calendar("751000", "mozaik", "751006"))
        .table("calendrier", &calendar("881000", "gpi", "881002"))
        .table("calendrier", &calendar("881000", "mozaik", "881002"))
        .table(
            "inscription",
            &csv(
                INSCRIPTION,
                "
                2024-2025,866000,gpi,866052,m1,false,true,4,2,2024-08-28,2024-09-13
                2024-2025,751000,mozaik,751006,m1,false,true,4,2,2024-09-16,
                2024-2025,881000,gpi,881002,b1,false,true,4,2,2024-08-28,
                2024-2025,881000,gpi,881002,b2,false,true,4,2,2024-08-28,
                2024-2025,881000,mozaik,881002,b1,false,true,4,2,2024-08-28,
                ",
            ),
        )
        .table(
            "absence",
            &csv(
                ABSENCE,
                "
                2024-2025,866000,gpi,866052,m1,2024-09-12,1,NM,non_motivee
                2024-2025,751000,mozaik,751006,m1,2024-09-12,1,ABS,non_motivee
                2024-2025,751000,mozaik,751006,m1,2024-09-17,1,MAL,motivee
                2024-2025,751000,mozaik,751006,m1,2024-09-17,2,MAL,motivee
                2024-2025,881000,gpi,881002,b1,2024-09-03,1,M,motivee
                2024-2025,881000,gpi,881002,b2,2024-09-03,1,M,motivee
                2024-2025,881000,mozaik,881002,b1,2024-09-03,1,MAL,motivee
                2024-2025,881000,mozaik,881002,b1,2024-09-04,1,ABS,non_motivee
                2024-2025,881000,mozaik,881002,b1,2024-09-04,2,ABS,non_motivee
                ",
            ),
        );
    let exact = f.css_zone("absenteisme").await?;
    assert_eq!(exact.len(), 3, "{exact}");

    // m1 at 866052 (GPI), Sept 3-13: 9 school days, 4 + 2 + 4 + 4 + 4 + 4 + 2 + 4 + 4 = 32
    // periods, all in étape 1 (no étape 2 row: nobody left there). Sept 12 period 1 unexcused.
    let g = exact.find(&[("code_etablissement", "866052")]);
    assert_eq!(g.get("code_css"), Some("866000"));
    assert_eq!(g.get("etape"), Some("1"));
    assert_eq!(g.int("nb_eleves"), Some(1));
    assert_eq!(g.int("nb_jours_eleve"), Some(9));
    assert_eq!(g.int("nb_periodes_prevues"), Some(32));
    assert_eq!(g.int("nb_eleves_absents"), Some(1));
    assert_eq!(g.int("nb_periodes_absence"), Some(1));
    assert_eq!(g.int("nb_periodes_motivees"), Some(0));
    assert_eq!(g.int("nb_periodes_non_motivees"), Some(1));
    assert_eq!(g.int("nb_jours_absence"), Some(0));
    assert!(approx(g.float("taux_absence"), 1.0 / 32.0));
    assert!(approx(g.float("taux_absence_non_motivee"), 1.0 / 32.0));

    // m1 at 751006 (Mozaïk, no étape), from Sept 16: 20 - 9 = 11 school days, 72 - 32 = 40
    // periods. Sept 17 periods 1-2 excused = 2 (not a full day: 4 periods). The 751000 row of
    // Sept 12 is before the enrolment there: ignored (and not counted at 866052 either).
    let m = exact.find(&[("code_etablissement", "751006")]);
    assert_eq!(m.get("code_css"), Some("751000"));
    assert!(m.is_null("etape"));
    assert_eq!(m.int("nb_eleves"), Some(1));
    assert_eq!(m.int("nb_jours_eleve"), Some(11));
    assert_eq!(m.int("nb_periodes_prevues"), Some(40));
    assert_eq!(m.int("nb_eleves_absents"), Some(1));
    assert_eq!(m.int("nb_periodes_absence"), Some(2));
    assert_eq!(m.int("nb_periodes_motivees"), Some(2));
    assert_eq!(m.int("nb_periodes_non_motivees"), Some(0));
    assert_eq!(m.int("nb_periodes_sans_categorie"), Some(0));
    assert_eq!(m.int("nb_jours_absence"), Some(0));
    assert!(approx(m.float("taux_absence"), 2.0 / 40.0));
    assert!(approx(m.float("taux_absence_motivee"), 2.0 / 40.0));
    assert!(approx(m.float("taux_absence_non_motivee"), 0.0));
    assert_eq!(m.int("nb_eleves_retard"), Some(0));
    assert_eq!(m.int("nb_periodes_retard"), Some(0));
    assert_eq!(m.bool("cellule_supprimee"), Some(true));

    // 881000 exports 2024-2025 from GPI and Mozaïk: only Mozaïk is kept (no étape, b2 who is in
    // the GPI export only is not counted, nor the GPI absences). b1: 20 days, 72 periods;
    // Sept 3 period 1 excused, Sept 4 periods 1-2 unexcused (a full day: Wednesday has 2).
    assert!(
        exact
            .filter(&[("code_etablissement", "881002"), ("etape", "1")])
            .is_empty()
    );
    let b = exact.find(&[("code_etablissement", "881002")]);
    assert!(b.is_null("etape"));
    assert_eq!(b.int("nb_eleves"), Some(1));
    assert_eq!(b.int("nb_jours_eleve"), Some(20));
    assert_eq!(b.int("nb_periodes_prevues"), Some(72));
    assert_eq!(b.int("nb_periodes_absence"), Some(3));
    assert_eq!(b.int("nb_periodes_motivees"), Some(1));
    assert_eq!(b.int("nb_periodes_non_motivees"), Some(2));
    assert_eq!(b.int("nb_jours_absence"), Some(1));
    assert!(approx(b.float("taux_absence"), 3.0 / 72.0));

    // Shared zone: one student per row, everything hidden.
    let shared = f.shared_zone("absenteisme").await?;
    let s = shared.find(&[("code_etablissement", "751006")]);
    assert!(s.is_null("nb_eleves"));
    assert!(s.is_null("nb_periodes_prevues"));
    assert!(s.is_null("taux_absence"));
    assert_eq!(s.bool("cellule_supprimee"), Some(true));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// absenteisme_chronique
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn absenteisme_chronique_counts_and_brackets() -> TestResult {
    // 866052 (GPI), 20 school days; m1 also moves to 751006 (751000, Mozaïk) on Sept 16.
    let absences = [
        // c1: one period: not a full day -> 0 days.
        "2024-2025,866000,gpi,866052,c1,2024-09-03,1,NM,non_motivee\n".to_string(),
        // c2: Sept 4 (2 periods): one excused, one unexcused = a full day -> 1 day.
        "2024-2025,866000,gpi,866052,c2,2024-09-04,1,M,motivee\n2024-2025,866000,gpi,866052,c2,2024-09-04,2,NM,non_motivee\n".to_string(),
        // c3: 2 full days -> 2 / 20 = 10%: chronic (exactly the threshold).
        full_days("866000", "gpi", "866052", "c3", &["2024-09-05"], "motivee"),
        full_days("866000", "gpi", "866052", "c3", &["2024-09-06"], "non_motivee"),
        // c4 leaves Sept 10 (6 enrolled days): absent all day Sept 10, the departure day -> 1 / 6:
        // chronic; Sept 11 is after the departure: ignored.
        full_days("866000", "gpi", "866052", "c4", &["2024-09-10", "2024-09-11"], "non_motivee"),
        // c5: lates are not absences: late all day Sept 3; Sept 9 periods 1-3 absent and period 4
        // late: not a full day -> 0 days.
        full_days("866000", "gpi", "866052", "c5", &["2024-09-03"], "retard"),
        "2024-2025,866000,gpi,866052,c5,2024-09-09,1,NM,non_motivee\n2024-2025,866000,gpi,866052,c5,2024-09-09,2,NM,non_motivee\n2024-2025,866000,gpi,866052,c5,2024-09-09,3,NM,non_motivee\n2024-2025,866000,gpi,866052,c5,2024-09-09,4,R,retard\n".to_string(),
        // c6: 6 full days -> 6 / 20 = 30%: chronic.
        full_days(
            "866000",
            "gpi",
            "866052",
            "c6",
            &["2024-09-03", "2024-09-04", "2024-09-05", "2024-09-06", "2024-09-09", "2024-09-10"],
            "motivee",
        ),
        // c7: 11 full days -> 55%: chronic.
        full_days(
            "866000",
            "gpi",
            "866052",
            "c7",
            &[
                "2024-09-03",
                "2024-09-04",
                "2024-09-05",
                "2024-09-06",
                "2024-09-09",
                "2024-09-10",
                "2024-09-11",
                "2024-09-12",
                "2024-09-13",
                "2024-09-16",
                "2024-09-17",
            ],
            "non_motivee",
        ),
        // m1 at 866052 until Sept 13 (9 days): 1 full day -> 1 / 9 = 11%: chronic there.
        full_days("866000", "gpi", "866052", "m1", &["2024-09-12"], "non_motivee"),
        // m1 at 751006 from Sept 16 (11 days): 1 full day -> 1 / 11 = 9.1%: not chronic there.
        full_days("751000", "mozaik", "751006", "m1", &["2024-09-17"], "motivee"),
    ]
    .concat();
    let f = Fixture::new()?
        .table("calendrier", &calendar("866000", "gpi", "866052"))
        .table("calendrier", &calendar("751000", "mozaik", "751006"))
        .table(
            "inscription",
            &csv(
                INSCRIPTION,
                "
                2024-2025,866000,gpi,866052,c1,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,c2,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,c3,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,c4,false,false,4,3,2024-08-28,2024-09-10
                2024-2025,866000,gpi,866052,c5,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,c6,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,c7,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,m1,false,true,4,3,2024-08-28,2024-09-13
                2024-2025,751000,mozaik,751006,m1,false,true,4,3,2024-09-16,
                ",
            ),
        )
        .table("absence", &csv(ABSENCE, &absences));
    let exact = f.css_zone("absenteisme_chronique").await?;
    assert_eq!(exact.len(), 2, "{exact}");

    // 866052: 8 students; chronic c3, c4, c6, c7, m1 = 5, not chronic c1, c2, c5 = 3;
    // rate 5 / 8 = 0.625. Days absent: 0 -> c1, c5 (2); 1 -> c2, c4, m1 (3); 2-5 -> c3 (1);
    // 6-10 -> c6 (1); >10 -> c7 (1).
    let r = exact.find(&[("code_etablissement", "866052")]);
    assert_eq!(r.get("annee_scolaire"), Some("2024-2025"));
    assert_eq!(r.get("code_css"), Some("866000"));
    assert_eq!(r.int("nb_eleves"), Some(8));
    assert_eq!(r.int("nb_chroniques"), Some(5));
    assert_eq!(r.int("nb_non_chroniques"), Some(3));
    assert!(approx(r.float("taux_chronique"), 0.625));
    assert_eq!(r.int("nb_eleves_0_jour"), Some(2));
    assert_eq!(r.int("nb_eleves_1_jour"), Some(3));
    assert_eq!(r.int("nb_eleves_2_5_jours"), Some(1));
    assert_eq!(r.int("nb_eleves_6_10_jours"), Some(1));
    assert_eq!(r.int("nb_eleves_plus_10_jours"), Some(1));
    assert_eq!(r.bool("cellule_supprimee"), Some(true));

    // 751006 (the mover's second CSS): 1 student, 1 day of 11: not chronic.
    let m = exact.find(&[("code_etablissement", "751006")]);
    assert_eq!(m.get("code_css"), Some("751000"));
    assert_eq!(m.int("nb_eleves"), Some(1));
    assert_eq!(m.int("nb_chroniques"), Some(0));
    assert_eq!(m.int("nb_non_chroniques"), Some(1));
    assert!(approx(m.float("taux_chronique"), 0.0));
    assert_eq!(m.int("nb_eleves_0_jour"), Some(0));
    assert_eq!(m.int("nb_eleves_1_jour"), Some(1));
    assert_eq!(m.int("nb_eleves_plus_10_jours"), Some(0));

    // Shared zone: 8 students shown; 3 not chronic < 5 hides the chronic count and the rate
    // (5 would give 3 back); brackets under 5 hide the whole distribution.
    let shared = f.shared_zone("absenteisme_chronique").await?;
    let s = shared.find(&[("code_etablissement", "866052")]);
    assert_eq!(s.int("nb_eleves"), Some(8));
    for hidden in [
        "nb_chroniques",
        "nb_non_chroniques",
        "taux_chronique",
        "nb_eleves_0_jour",
        "nb_eleves_1_jour",
        "nb_eleves_2_5_jours",
        "nb_eleves_6_10_jours",
        "nb_eleves_plus_10_jours",
    ] {
        assert!(s.is_null(hidden), "{hidden} shown");
    }
    assert_eq!(s.bool("cellule_supprimee"), Some(true));
    assert!(shared.find(&[("code_etablissement", "751006")]).is_null("nb_eleves"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// bris_de_service
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bris_de_service_runs() -> TestResult {
    // School-day ranks (module doc): #1 Sept 3 ... #9 Sept 13, #10 Sept 16, #13 Sept 19,
    // #14 Sept 23 (after the pedagogical day Sept 20 and a weekend), #20 Oct 1.
    let absences = [
        // s1: #7-#14 (Sept 11 -> Sept 23, across two weekends and the pedagogical day) = exactly
        // 8 days: not a bris.
        full_days(
            "866000",
            "gpi",
            "866052",
            "s1",
            &[
                "2024-09-11",
                "2024-09-12",
                "2024-09-13",
                "2024-09-16",
                "2024-09-17",
                "2024-09-18",
                "2024-09-19",
                "2024-09-23",
            ],
            "motivee",
        ),
        // s2: #7-#15 (Sept 11 -> Sept 24) = 9 days: a bris of 9 (excused absences count).
        full_days(
            "866000",
            "gpi",
            "866052",
            "s2",
            &[
                "2024-09-11",
                "2024-09-12",
                "2024-09-13",
                "2024-09-16",
                "2024-09-17",
                "2024-09-18",
                "2024-09-19",
                "2024-09-23",
                "2024-09-24",
            ],
            "motivee",
        ),
        // s3: #1-#9 (Sept 3 -> 13, across a weekend) = 9: a bris; present #10 (Sept 16);
        // #11-#20 (Sept 17 -> Oct 1) = 10: a second bris, mixing categories.
        full_days(
            "866000",
            "gpi",
            "866052",
            "s3",
            &[
                "2024-09-03",
                "2024-09-04",
                "2024-09-05",
                "2024-09-06",
                "2024-09-09",
                "2024-09-10",
                "2024-09-11",
                "2024-09-12",
                "2024-09-13",
            ],
            "non_motivee",
        ),
        full_days("866000", "gpi", "866052", "s3", &["2024-09-17", "2024-09-18", "2024-09-19"], "motivee"),
        full_days(
            "866000",
            "gpi",
            "866052",
            "s3",
            &["2024-09-23", "2024-09-24", "2024-09-25", "2024-09-26", "2024-09-27", "2024-09-30", "2024-10-01"],
            "non_motivee",
        ),
        // s4: #1-#5 absent all day, #6 (Sept 10) periods 1-3 absent and period 4 late (a late
        // is not an absence: not a full day, the run breaks), #7-#12 absent all day: runs of 5
        // and 6, no bris (12 days if the late counted).
        full_days(
            "866000",
            "gpi",
            "866052",
            "s4",
            &["2024-09-03", "2024-09-04", "2024-09-05", "2024-09-06", "2024-09-09"],
            "non_motivee",
        ),
        "2024-2025,866000,gpi,866052,s4,2024-09-10,1,NM,non_motivee\n2024-2025,866000,gpi,866052,s4,2024-09-10,2,NM,non_motivee\n2024-2025,866000,gpi,866052,s4,2024-09-10,3,NM,non_motivee\n2024-2025,866000,gpi,866052,s4,2024-09-10,4,R,retard\n".to_string(),
        full_days(
            "866000",
            "gpi",
            "866052",
            "s4",
            &["2024-09-11", "2024-09-12", "2024-09-13", "2024-09-16", "2024-09-17", "2024-09-18"],
            "non_motivee",
        ),
        // s5 leaves Sept 13 (#9, the departure day counts): #1-#9 = 9: a bris of 9; Sept 16-17
        // are after the departure (the run would be 11).
        full_days(
            "866000",
            "gpi",
            "866052",
            "s5",
            &[
                "2024-09-03",
                "2024-09-04",
                "2024-09-05",
                "2024-09-06",
                "2024-09-09",
                "2024-09-10",
                "2024-09-11",
                "2024-09-12",
                "2024-09-13",
                "2024-09-16",
                "2024-09-17",
            ],
            "non_motivee",
        ),
        // m1 (mover): 866052 Sept 9-13 (5 days, until the departure), then 751006 (751000)
        // Sept 16-19 (4 days): 9 in a row across two CSS, but each school sees its own: no bris.
        full_days(
            "866000",
            "gpi",
            "866052",
            "m1",
            &["2024-09-09", "2024-09-10", "2024-09-11", "2024-09-12", "2024-09-13"],
            "non_motivee",
        ),
        full_days(
            "751000",
            "mozaik",
            "751006",
            "m1",
            &["2024-09-16", "2024-09-17", "2024-09-18", "2024-09-19"],
            "non_motivee",
        ),
    ]
    .concat();
    let f = Fixture::new()?
        .table("calendrier", &calendar("866000", "gpi", "866052"))
        .table("calendrier", &calendar("751000", "mozaik", "751006"))
        .table(
            "inscription",
            &csv(
                INSCRIPTION,
                "
                2024-2025,866000,gpi,866052,s1,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,s2,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,s3,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,s4,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,s5,false,false,4,3,2024-08-28,2024-09-13
                2024-2025,866000,gpi,866052,s6,false,true,4,3,2024-08-28,
                2024-2025,866000,gpi,866052,m1,false,true,4,3,2024-08-28,2024-09-13
                2024-2025,751000,mozaik,751006,m1,false,true,4,3,2024-09-16,
                ",
            ),
        )
        .table("absence", &csv(ABSENCE, &absences));
    let exact = f.css_zone("bris_de_service").await?;
    assert_eq!(exact.len(), 2, "{exact}");

    // 866052: 7 students (s1-s6, m1); bris: s2 (9), s3 (9 and 10), s5 (9) -> 3 students,
    // 4 bris, longest 10, average (9 + 9 + 10 + 9) / 4 = 9.25; share 3 / 7.
    let r = exact.find(&[("code_etablissement", "866052")]);
    assert_eq!(r.get("annee_scolaire"), Some("2024-2025"));
    assert_eq!(r.get("code_css"), Some("866000"));
    assert_eq!(r.int("nb_eleves"), Some(7));
    assert_eq!(r.int("nb_eleves_bris"), Some(3));
    assert!(approx(r.float("taux_eleves_bris"), 3.0 / 7.0));
    assert_eq!(r.int("nb_bris"), Some(4));
    assert_eq!(r.int("duree_max_bris"), Some(10));
    assert!(approx(r.float("duree_moyenne_bris"), 9.25));
    assert_eq!(r.bool("cellule_supprimee"), Some(true));

    // 751006: m1 only, 4 days in a row: no bris (durations null).
    let m = exact.find(&[("code_etablissement", "751006")]);
    assert_eq!(m.int("nb_eleves"), Some(1));
    assert_eq!(m.int("nb_eleves_bris"), Some(0));
    assert!(approx(m.float("taux_eleves_bris"), 0.0));
    assert_eq!(m.int("nb_bris"), Some(0));
    assert!(m.is_null("duree_max_bris"));
    assert!(m.is_null("duree_moyenne_bris"));

    // Shared zone: 7 students shown; 3 students with a bris < 5 hide the bris figures.
    let shared = f.shared_zone("bris_de_service").await?;
    let s = shared.find(&[("code_etablissement", "866052")]);
    assert_eq!(s.int("nb_eleves"), Some(7));
    for hidden in [
        "nb_eleves_bris",
        "taux_eleves_bris",
        "nb_bris",
        "duree_max_bris",
        "duree_moyenne_bris",
    ] {
        assert!(s.is_null(hidden), "{hidden} shown");
    }
    assert_eq!(s.bool("cellule_supprimee"), Some(true));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// retard_scolaire
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn retard_scolaire_entrants() -> TestResult {
    // September 30 comes from annees_scolaires: 2024-09-30 for 2024-2025, 2023-09-30 for
    // 2023-2024. Secondary 1 = ordre 4, classe 1.
    let f = Fixture::new()?
        .table(
            "inscription",
            &csv(
                INSCRIPTION,
                "
                2024-2025,866000,gpi,866052,r1,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,r2,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,r3,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,r4,false,true,4,1,,
                2024-2025,866000,gpi,866052,r5,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,r6,false,true,4,1,2024-08-28,
                2023-2024,866000,gpi,866052,r7,false,true,4,1,2023-08-28,
                2024-2025,866000,gpi,866052,r7,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,r8,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,r9,false,false,4,1,2024-08-28,2024-09-15
                2024-2025,866000,gpi,866052,r10,false,true,4,1,2024-10-15,
                2024-2025,866000,gpi,866052,r11,false,true,4,2,2024-08-28,
                2024-2025,866000,gpi,866055,r12,true,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,r13,false,false,4,1,2024-08-28,2024-09-30
                2023-2024,866000,gpi,866052,r14,false,true,4,1,2023-08-28,
                2024-2025,751000,mozaik,751006,r14,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866052,r15,false,true,4,1,2024-08-28,
                2024-2025,866000,gpi,866053,r15,false,true,4,1,2024-09-03,
                2024-2025,866000,gpi,866052,r16,false,true,3,6,2024-08-28,
                ",
            ),
        )
        .table(
            "eleve",
            "
            code_css,systeme_source,cle_eleve,cle_locale,sexe,date_naissance
            866000,gpi,r1,false,F,2011-09-30
            866000,gpi,r2,false,F,2011-10-01
            866000,gpi,r3,false,F,2012-01-15
            866000,gpi,r4,false,F,2010-05-01
            866000,gpi,r5,false,F,
            866000,jade,r5,false,F,2012-03-03
            866000,gpi,r6,false,F,
            866000,jade,r6,false,,
            866000,gpi,r7,false,F,2011-06-01
            866000,gpi,r8,false,M,2011-09-30
            866000,gpi,r9,false,F,2012-02-02
            866000,gpi,r10,false,F,2012-02-02
            866000,gpi,r11,false,F,2011-01-01
            866000,gpi,r12,false,F,2011-01-01
            866000,gpi,r13,false,F,2012-04-04
            866000,gpi,r14,false,F,2011-09-30
            751000,mozaik,r14,false,F,2011-09-30
            866000,gpi,r15,false,F,2012-05-05
            866000,gpi,r16,false,F,2010-01-01
            ",
        );
    let exact = f.css_zone("retard_scolaire").await?;
    // Never a birth date nor an age per student: only these columns.
    assert_eq!(
        exact.columns,
        [
            "annee_scolaire",
            "code_css",
            "code_etablissement",
            "sexe",
            "nb_entrants",
            "nb_retard",
            "nb_sans_retard",
            "taux_retard",
            "nb_sans_date_naissance",
            "cellule_supprimee"
        ]
    );
    assert_eq!(exact.len(), 5, "{exact}");

    // 2024-2025, 866052, F. Entrants on 2024-09-30 with a birth date: r1 (born 2011-09-30: 13
    // that day: late), r2 (2011-10-01: still 12), r3 (12), r4 (no enrolment dates; 14: late),
    // r5 (12; its birth date is on its jade row), r13 (left on Sept 30 itself: the departure
    // date is the last day enrolled, so it was enrolled that day; born 2012-04-04: 12) = 6;
    // late r1, r4 = 2; not late 4; rate 2 / 6. r6 has no birth date anywhere: counted apart.
    // Not entrants: r7 (repeater: sec 1 in 2023-2024), r9 (left Sept 15), r10 (arrived
    // Oct 15), r11 (sec 2), r16 (primary), r12 (dummy school), r15 (counted at 866053, its
    // latest enrolment).
    let f24 = exact.find(&[
        ("annee_scolaire", "2024-2025"),
        ("code_etablissement", "866052"),
        ("sexe", "F"),
    ]);
    assert_eq!(f24.get("code_css"), Some("866000"));
    assert_eq!(f24.int("nb_entrants"), Some(6));
    assert_eq!(f24.int("nb_retard"), Some(2));
    assert_eq!(f24.int("nb_sans_retard"), Some(4));
    assert!(approx(f24.float("taux_retard"), 2.0 / 6.0));
    assert_eq!(f24.int("nb_sans_date_naissance"), Some(1));
    assert_eq!(f24.bool("cellule_supprimee"), Some(true));

    // 2024-2025, 866052, M: r8, born 2011-09-30: 13 on 2024-09-30 -> 1 of 1 late.
    let m24 = exact.find(&[
        ("annee_scolaire", "2024-2025"),
        ("code_etablissement", "866052"),
        ("sexe", "M"),
    ]);
    assert_eq!(m24.int("nb_entrants"), Some(1));
    assert_eq!(m24.int("nb_retard"), Some(1));
    assert_eq!(m24.int("nb_sans_retard"), Some(0));
    assert!(approx(m24.float("taux_retard"), 1.0));
    assert_eq!(m24.int("nb_sans_date_naissance"), Some(0));

    // 2024-2025, 866053, F: r15, enrolled in two schools on Sept 30, counted once at the school
    // it entered last (Sept 3 > Aug 28); born 2012-05-05: 12.
    let two = exact.find(&[("annee_scolaire", "2024-2025"), ("code_etablissement", "866053")]);
    assert_eq!(two.int("nb_entrants"), Some(1));
    assert_eq!(two.int("nb_retard"), Some(0));
    assert!(approx(two.float("taux_retard"), 0.0));

    // 2023-2024, 866052, F: r7 (born 2011-06-01: 12 on 2023-09-30) and r14 (born 2011-09-30:
    // 12 on 2023-09-30) -> 2 entrants, none late.
    let f23 = exact.find(&[("annee_scolaire", "2023-2024"), ("code_etablissement", "866052")]);
    assert_eq!(f23.get("sexe"), Some("F"));
    assert_eq!(f23.int("nb_entrants"), Some(2));
    assert_eq!(f23.int("nb_retard"), Some(0));
    assert_eq!(f23.int("nb_sans_retard"), Some(2));
    assert!(approx(f23.float("taux_retard"), 0.0));

    // 2024-2025, 751000: r14 repeats sec 1 after moving from 866000; the zone of 751000 cannot
    // see its sec 1 year in 866000, so it is an entrant there (a documented limit): 13, late.
    let moved = exact.find(&[("annee_scolaire", "2024-2025"), ("code_css", "751000")]);
    assert_eq!(moved.get("code_etablissement"), Some("751006"));
    assert_eq!(moved.int("nb_entrants"), Some(1));
    assert_eq!(moved.int("nb_retard"), Some(1));
    assert!(approx(moved.float("taux_retard"), 1.0));

    // Shared zone: 6 entrants are shown, 2 late (and so 4 not late) and the rate are hidden;
    // the count without a birth date (1) is hidden too.
    let shared = f.shared_zone("retard_scolaire").await?;
    let s = shared.find(&[
        ("annee_scolaire", "2024-2025"),
        ("code_etablissement", "866052"),
        ("sexe", "F"),
    ]);
    assert_eq!(s.int("nb_entrants"), Some(6));
    assert!(s.is_null("nb_retard"));
    assert!(s.is_null("nb_sans_retard"));
    assert!(s.is_null("taux_retard"));
    // 1 without a birth date: under 5, hidden on its own.
    assert!(s.is_null("nb_sans_date_naissance"));
    assert_eq!(s.bool("cellule_supprimee"), Some(true));
    let sm = shared.find(&[
        ("annee_scolaire", "2024-2025"),
        ("code_etablissement", "866052"),
        ("sexe", "M"),
    ]);
    assert!(sm.is_null("nb_entrants"));
    assert!(sm.is_null("taux_retard"));
    Ok(())
}
