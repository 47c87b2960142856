//! Dofin-style finance exports of one CSS (`<out>/<css>/<night>/dofin/fin_*.csv`,
//! formats/dofin.md), written with the CSS's file conventions and the same kind of logged
//! EXTRA bad rows as the GPI tables.
//!
//! ## What is written
//! - `fin_nomen_activite`, `fin_nomen_objet`: the code lists of the project's convention. An
//!   activity has 5 digits, its first digit is the field of the annual financial report (1
//!   teaching ... 6 related activities), `26xxx` and `46xxx` are information resources (IT). An
//!   object has 3 digits: 1 salaries, 2 employee benefits, 3 travel, 4 services, 5 supplies,
//!   6 other expenses, 9 revenues.
//! - `fin_nomen_unit_adm`, per fiscal year: one unit per school of the youth generator (the
//!   same real establishments as `gpm_t_eco`, code in `eco_off`) and the board's services
//!   (`eco_off` empty).
//! - `fin_budget`: the INITIAL and REVISE budgets by fund, activity, object and unit. The REVISE
//!   budget of the current year exists only once adopted (from November 1).
//! - `fin_ecriture`: the general ledger of every generated fiscal year, the current one up to
//!   the export night: payroll runs (one document per pay day), supplier invoices (a few credit
//!   notes), receipts. Expenses are positive, revenues negative; `descr` names a payroll group,
//!   a (fictitious) supplier or a revenue, never a person.
//!
//! ## Model
//! The operating budget (fund 1) of a year is the CSS's expected enrolment times a cost per
//! student of 12,400 to 15,600 $, spread over the six fields (teaching about half), then over
//! activities and objects by profile (salaries 55-65 %, employee benefits next, IT a few %), and
//! over the schools by weight. Revenues match it within 2 %; fund 2 (investment) adds 5-9 %.
//! Adult general education (14000) and vocational training (15000) are budgeted at the
//! educational services, so every teaching sector has spending; IT activities are scaled by a
//! factor drawn per CSS (0.6 to 1.6), so IT spending per student differs between CSS; and the
//! first school overspends its operating budget by 10 %, taken from the other units so the
//! CSS's totals stay exact.
//! Actual amounts are the REVISE budget within 1.2-3.5 % for expenses, 0.2-1.2 % for revenues
//! (exact totals per fund and nature), with a few % of noise per budget line. About 2.5 ledger
//! lines per student and year (at least one per budget line) keep the files bounded; a year is
//! built in memory, the file is streamed.
//!
//! ## Determinism
//! Every draw comes from `rng::stream(seed, [SALT_FINANCE, css, ...])`: the finance files of a
//! CSS depend on the seed, its code, its allocation, its schools and its file conventions only,
//! never on its youth system or on the thread that writes them.
//!
//! ## Ground truth
//! `finance_<css>.csv` parts (concatenated into `finance.csv`): exact sums in cents of the clean
//! rows, see [`TRUTH_HEADER`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::calendar::ymd;
use crate::conventions::{Conventions, DateFormat, Layout, Slot};
use crate::css::Ctx;
use crate::rng;
use crate::tables::BadKind;
use crate::writer::{BadRowLog, TableStats};
use crate::{Encoding, GenerateError};

/// Salt of every finance stream ("FIN"), far from the youth generator's small salts.
const SALT_FINANCE: u64 = 0x0046_494E;
const S_CSS: u64 = 1;
const S_YEAR: u64 = 2;
const S_LINES: u64 = 3;
const S_LAYOUT: u64 = 4;
const S_BAD: u64 = 5;

/// Header of `finance.csv`. `version` is `REEL` for the ledger (`fin_ecriture`), `INITIAL` or
/// `REVISE` for the budget; `champ` is the first digit of `activite`; `depenses` sums objects
/// not 9xx (positive), `revenus` objects 9xx (negative, as signed in the files);
/// `ressources_informationnelles` sums expenses of activities 26xxx and 46xxx; `lignes` counts
/// the clean rows. Amounts in dollars with 2 decimals and a point, exact (summed in cents).
pub(crate) const TRUTH_HEADER: &str =
    "code_css,exer_fin,version,fonds,champ,depenses,revenus,ressources_informationnelles,lignes\n";

// ---------------------------------------------------------------------------------------------
// Tables

/// One Dofin table: contract columns and what the bad-row injector needs.
struct FinTable {
    name: &'static str,
    columns: &'static [&'static str],
    /// Key column given a reserved value in bad rows, so they never collide with a clean key.
    fresh_col: usize,
    fresh: fn(u64) -> String,
    date_col: Option<usize>,
    /// Integer and amount columns.
    num_cols: &'static [usize],
    money_col: Option<usize>,
    domain: Option<(usize, &'static [&'static str])>,
    /// Column changed in a `duplicate_key` copy, and two values for it (amounts with a point).
    dup_col: usize,
    dup_values: [&'static str; 2],
    /// Text column that receives invalid bytes or an unterminated quote.
    text_col: usize,
}

const ECRITURE: usize = 0;
const BUDGET: usize = 1;
const UNIT_ADM: usize = 2;
const ACTIVITE: usize = 3;
const OBJET: usize = 4;

fn fresh_piece(n: u64) -> String {
    format!("ZZ{:08}", n % 100_000_000)
}
fn fresh_unit(n: u64) -> String {
    format!("ZZ{:04}", n % 10_000)
}
/// Field 9 does not exist: a well-formed activity code no clean row uses.
fn fresh_activite(n: u64) -> String {
    format!("9{:04}", n % 10_000)
}
/// Category 0 does not exist.
fn fresh_objet(n: u64) -> String {
    format!("0{:02}", n % 100)
}

static TABLES: [FinTable; 5] = [
    FinTable {
        name: "fin_ecriture",
        columns: &[
            "exer_fin",
            "no_piece",
            "no_ligne",
            "date_ecriture",
            "fonds",
            "activite",
            "objet",
            "unite_adm",
            "montant",
            "descr",
        ],
        fresh_col: 1,
        fresh: fresh_piece,
        date_col: Some(3),
        num_cols: &[0, 2, 8],
        money_col: Some(8),
        domain: Some((4, &["7", "0", "9"])),
        dup_col: 9,
        dup_values: ["Écriture saisie en double", "Double saisie"],
        text_col: 9,
    },
    FinTable {
        name: "fin_budget",
        columns: &[
            "exer_fin",
            "version",
            "fonds",
            "activite",
            "objet",
            "unite_adm",
            "montant",
        ],
        fresh_col: 5,
        fresh: fresh_unit,
        date_col: None,
        num_cols: &[0, 6],
        money_col: Some(6),
        domain: Some((1, &["PROJET", "FINAL", "REVISE2"])),
        dup_col: 6,
        dup_values: ["100.00", "200.00"],
        text_col: 5,
    },
    FinTable {
        name: "fin_nomen_unit_adm",
        columns: &["exer_fin", "code", "descr", "eco_off"],
        fresh_col: 1,
        fresh: fresh_unit,
        date_col: None,
        num_cols: &[0],
        money_col: None,
        domain: Some((3, &["12345", "ABC123", "7610001"])),
        dup_col: 2,
        dup_values: ["Unité en double", "Unité dupliquée"],
        text_col: 2,
    },
    FinTable {
        name: "fin_nomen_activite",
        columns: &["code", "descr"],
        fresh_col: 0,
        fresh: fresh_activite,
        date_col: None,
        num_cols: &[],
        money_col: None,
        domain: Some((0, &["1234", "12A45", "123456"])),
        dup_col: 1,
        dup_values: ["Activité en double", "Code dupliqué"],
        text_col: 1,
    },
    FinTable {
        name: "fin_nomen_objet",
        columns: &["code", "descr"],
        fresh_col: 0,
        fresh: fresh_objet,
        date_col: None,
        num_cols: &[],
        money_col: None,
        domain: Some((0, &["12", "1A0", "1000"])),
        dup_col: 1,
        dup_values: ["Objet en double", "Code dupliqué"],
        text_col: 1,
    },
];

impl FinTable {
    fn applies(&self, kind: BadKind, allow_undecodable: bool) -> bool {
        match kind {
            BadKind::WrongColumnCount | BadKind::UnterminatedQuote | BadKind::DuplicateKey => true,
            BadKind::UndecodableBytes => allow_undecodable,
            BadKind::UnparsableDate => self.date_col.is_some(),
            BadKind::UnparsableNumber => !self.num_cols.is_empty(),
            BadKind::OutOfDomain => self.domain.is_some(),
            BadKind::UnknownResultCode => false,
        }
    }
}

/// Kinds every CSS gets at least once when `bad_rate > 0`: the ledger gets every inline kind,
/// the budget and the units a few; the open quote at the end of a file goes to the budget or the
/// ledger by turns.
fn forced_plan(ci: usize, allow_undecodable: bool) -> [Vec<BadKind>; 5] {
    let mut ecriture = vec![
        BadKind::WrongColumnCount,
        BadKind::UnparsableDate,
        BadKind::UnparsableNumber,
        BadKind::OutOfDomain,
        BadKind::DuplicateKey,
    ];
    if allow_undecodable {
        ecriture.push(BadKind::UndecodableBytes);
    }
    let mut budget = vec![BadKind::DuplicateKey, BadKind::OutOfDomain];
    if ci.is_multiple_of(2) {
        budget.push(BadKind::UnterminatedQuote);
    } else {
        ecriture.push(BadKind::UnterminatedQuote);
    }
    [ecriture, budget, vec![BadKind::OutOfDomain], Vec::new(), Vec::new()]
}

// ---------------------------------------------------------------------------------------------
// Code lists

/// Where an activity's spending goes.
#[derive(Debug, Clone, Copy)]
enum Site {
    /// Schools with primary students, by their primary enrolment.
    Primary,
    /// Schools with secondary students, by their secondary enrolment.
    Secondary,
    /// Every school, by enrolment.
    Schools,
    /// One of the board's services (index into [`SERVICES`]).
    Service(usize),
}

const DG: usize = 0;
const SG: usize = 1;
const RF: usize = 2;
const RH: usize = 3;
const RM: usize = 4;
const TI: usize = 5;
const SE: usize = 6;
const TR: usize = 7;

/// The board's administrative units (code, description): codes with leading zeros.
const SERVICES: [(&str, &str); 8] = [
    ("010", "Direction générale"),
    ("020", "Secrétariat général et communications"),
    ("030", "Service des ressources financières"),
    ("040", "Service des ressources humaines"),
    ("050", "Service des ressources matérielles"),
    ("060", "Service des technologies de l'information"),
    ("070", "Services éducatifs"),
    ("080", "Service du transport scolaire"),
];

struct Activity {
    code: &'static str,
    descr: &'static str,
    /// `None`: listed in the code list, never used (adult and vocational centres are JADE's).
    site: Option<Site>,
    fonds: u8,
    /// Share of the activity within its field (fund 1) or within investments (fund 2).
    weight: f64,
    /// Objects of expense and their weights; employee benefits (2xx) are added in proportion
    /// to the salaries (1xx).
    profile: &'static [(&'static str, f64)],
}

const fn act(
    code: &'static str,
    descr: &'static str,
    site: Option<Site>,
    fonds: u8,
    weight: f64,
    profile: &'static [(&'static str, f64)],
) -> Activity {
    Activity {
        code,
        descr,
        site,
        fonds,
        weight,
        profile,
    }
}

const TEACH: &[(&str, f64)] = &[
    ("110", 0.82),
    ("130", 0.05),
    ("150", 0.06),
    ("320", 0.004),
    ("510", 0.015),
    ("520", 0.01),
];
const TEACH_SPECIAL: &[(&str, f64)] = &[
    ("110", 0.60),
    ("130", 0.25),
    ("150", 0.03),
    ("410", 0.01),
    ("510", 0.01),
];

static ACTIVITIES: [Activity; 31] = [
    act(
        "11000",
        "Enseignement au préscolaire",
        Some(Site::Primary),
        1,
        0.07,
        TEACH,
    ),
    act("12000", "Enseignement au primaire", Some(Site::Primary), 1, 0.45, TEACH),
    act(
        "13000",
        "Enseignement au secondaire",
        Some(Site::Secondary),
        1,
        0.38,
        TEACH,
    ),
    // Adult and vocational teaching (the centres are JADE's, not in the units of the youth
    // schools): budgeted at the educational services, so the sectors fga and fp have spending.
    act(
        "14000",
        "Formation générale des adultes",
        Some(Site::Service(SE)),
        1,
        0.04,
        TEACH,
    ),
    act(
        "15000",
        "Formation professionnelle",
        Some(Site::Service(SE)),
        1,
        0.05,
        TEACH,
    ),
    act(
        "16000",
        "Enseignement en adaptation scolaire",
        Some(Site::Schools),
        1,
        0.10,
        TEACH_SPECIAL,
    ),
    act(
        "21000",
        "Direction et gestion des écoles",
        Some(Site::Schools),
        1,
        0.30,
        &[
            ("140", 0.55),
            ("130", 0.25),
            ("310", 0.01),
            ("320", 0.01),
            ("510", 0.02),
            ("630", 0.01),
        ],
    ),
    act(
        "22000",
        "Services complémentaires aux élèves",
        Some(Site::Schools),
        1,
        0.32,
        &[("120", 0.55), ("130", 0.20), ("410", 0.05), ("310", 0.01)],
    ),
    act(
        "23000",
        "Bibliothèques et ressources documentaires",
        Some(Site::Schools),
        1,
        0.06,
        &[("130", 0.40), ("520", 0.45), ("630", 0.03)],
    ),
    act(
        "24000",
        "Animation et développement pédagogiques",
        Some(Site::Service(SE)),
        1,
        0.14,
        &[
            ("120", 0.50),
            ("110", 0.10),
            ("320", 0.08),
            ("410", 0.06),
            ("310", 0.03),
        ],
    ),
    act(
        "26100",
        "Ressources informationnelles pédagogiques",
        Some(Site::Schools),
        1,
        0.11,
        &[("130", 0.12), ("120", 0.08), ("550", 0.40), ("460", 0.25)],
    ),
    act(
        "26200",
        "Soutien technopédagogique et réseau des écoles",
        Some(Site::Service(TI)),
        1,
        0.07,
        &[("120", 0.30), ("130", 0.20), ("460", 0.15), ("450", 0.10)],
    ),
    act(
        "31000",
        "Transport scolaire",
        Some(Site::Service(TR)),
        1,
        0.50,
        &[("130", 0.03), ("120", 0.02), ("420", 0.93)],
    ),
    act(
        "32000",
        "Services de garde",
        Some(Site::Primary),
        1,
        0.38,
        &[("130", 0.72), ("510", 0.05), ("570", 0.04)],
    ),
    act(
        "33000",
        "Surveillance du midi",
        Some(Site::Primary),
        1,
        0.12,
        &[("130", 0.80)],
    ),
    act(
        "41000",
        "Conseil d'administration et direction générale",
        Some(Site::Service(DG)),
        1,
        0.20,
        &[
            ("140", 0.45),
            ("130", 0.10),
            ("410", 0.15),
            ("310", 0.03),
            ("630", 0.05),
        ],
    ),
    act(
        "42000",
        "Gestion des ressources financières",
        Some(Site::Service(RF)),
        1,
        0.20,
        &[("140", 0.20), ("130", 0.45), ("410", 0.08)],
    ),
    act(
        "43000",
        "Gestion des ressources humaines",
        Some(Site::Service(RH)),
        1,
        0.22,
        &[("140", 0.20), ("120", 0.15), ("130", 0.35), ("410", 0.08)],
    ),
    act(
        "44000",
        "Secrétariat général et communications",
        Some(Site::Service(SG)),
        1,
        0.14,
        &[
            ("140", 0.20),
            ("120", 0.20),
            ("130", 0.20),
            ("410", 0.12),
            ("630", 0.04),
        ],
    ),
    act(
        "46100",
        "Ressources informationnelles administratives",
        Some(Site::Service(TI)),
        1,
        0.14,
        &[("120", 0.25), ("130", 0.15), ("460", 0.35), ("550", 0.08)],
    ),
    act(
        "46200",
        "Infrastructure technologique et sécurité de l'information",
        Some(Site::Service(TI)),
        1,
        0.10,
        &[
            ("120", 0.15),
            ("130", 0.10),
            ("460", 0.25),
            ("450", 0.20),
            ("550", 0.12),
        ],
    ),
    act(
        "51000",
        "Entretien ménager",
        Some(Site::Schools),
        1,
        0.32,
        &[("130", 0.75), ("540", 0.10)],
    ),
    act(
        "52000",
        "Entretien et réparation des immeubles",
        Some(Site::Service(RM)),
        1,
        0.30,
        &[("130", 0.30), ("430", 0.40), ("540", 0.08)],
    ),
    act(
        "53000",
        "Consommation énergétique",
        Some(Site::Service(RM)),
        1,
        0.25,
        &[("530", 1.0)],
    ),
    act(
        "54000",
        "Sécurité, assurances et location",
        Some(Site::Service(RM)),
        1,
        0.13,
        &[("440", 0.35), ("620", 0.45), ("410", 0.20)],
    ),
    act(
        "55000",
        "Maintien et amélioration des bâtiments",
        Some(Site::Service(RM)),
        2,
        0.70,
        &[("430", 0.75), ("410", 0.25)],
    ),
    act(
        "56000",
        "Acquisition de mobilier et d'équipement",
        Some(Site::Service(RM)),
        2,
        0.30,
        &[("560", 1.0)],
    ),
    act(
        "61000",
        "Services à la communauté",
        Some(Site::Service(SE)),
        1,
        0.25,
        &[("130", 0.40), ("510", 0.15), ("690", 0.20)],
    ),
    act(
        "62000",
        "Service de la dette",
        Some(Site::Service(RF)),
        1,
        0.45,
        &[("610", 1.0)],
    ),
    act(
        "63000",
        "Activités parascolaires et services alimentaires",
        Some(Site::Service(SE)),
        1,
        0.30,
        &[("130", 0.30), ("570", 0.30), ("690", 0.15), ("510", 0.10)],
    ),
    act("69000", "Autres activités connexes", None, 1, 0.0, &[]),
];

/// Objects of expense and revenue (code, description).
static OBJETS: [(&str, &str); 36] = [
    ("110", "Salaires du personnel enseignant"),
    ("120", "Salaires du personnel professionnel"),
    ("130", "Salaires du personnel de soutien"),
    ("140", "Salaires du personnel d'encadrement"),
    ("150", "Suppléance, temps supplémentaire et primes"),
    ("210", "Cotisations de l'employeur aux régimes publics"),
    ("220", "Régimes de retraite"),
    ("230", "Assurances collectives"),
    ("240", "Santé et sécurité du travail"),
    ("310", "Frais de déplacement"),
    ("320", "Perfectionnement, congrès et formation"),
    ("410", "Services professionnels et honoraires"),
    ("420", "Contrats de transport scolaire"),
    ("430", "Contrats d'entretien et de réparation"),
    ("440", "Location de locaux et d'équipement"),
    ("450", "Télécommunications"),
    ("460", "Services et licences informatiques"),
    ("510", "Fournitures scolaires et matériel didactique"),
    ("520", "Manuels scolaires et ressources documentaires"),
    ("530", "Énergie (électricité, gaz naturel, mazout)"),
    ("540", "Fournitures d'entretien"),
    ("550", "Équipement informatique"),
    ("560", "Mobilier, appareillage et outillage"),
    ("570", "Denrées alimentaires"),
    ("610", "Intérêts sur la dette"),
    ("620", "Assurances de biens et de responsabilité"),
    ("630", "Cotisations, adhésions et abonnements"),
    ("690", "Autres dépenses"),
    ("910", "Subvention de fonctionnement du ministère"),
    ("920", "Taxe scolaire et subvention d'équilibre"),
    ("930", "Droits de scolarité et frais exigés des parents"),
    ("940", "Contributions des parents aux services de garde"),
    ("950", "Ventes de biens et services"),
    ("960", "Revenus de location"),
    ("970", "Subvention d'investissement"),
    ("990", "Autres revenus"),
];

/// Employee benefits, as shares of the benefits of a salary mass.
const BENEFITS: [(&str, f64); 4] = [("210", 0.45), ("220", 0.30), ("230", 0.18), ("240", 0.07)];

/// Fund-1 revenues: (object, activity, site, share of the operating expenses).
const REVENUES: [(&str, &str, Site, f64); 7] = [
    ("910", "41000", Site::Service(DG), 0.81),
    ("920", "41000", Site::Service(DG), 0.12),
    ("930", "21000", Site::Schools, 0.015),
    ("940", "32000", Site::Primary, 0.015),
    ("950", "63000", Site::Service(SE), 0.012),
    ("960", "54000", Site::Service(RM), 0.008),
    ("990", "41000", Site::Service(RF), 0.02),
];

/// Shares of the operating expenses by field (1..6) before the CSS's own variation.
const FIELD_SHARES: [f64; 6] = [0.53, 0.165, 0.085, 0.055, 0.125, 0.04];

fn objet_index(code: &str) -> usize {
    OBJETS.iter().position(|(c, _)| *c == code).unwrap_or(0)
}

fn activity_index(code: &str) -> usize {
    ACTIVITIES.iter().position(|a| a.code == code).unwrap_or(0)
}

fn field_of(activity: usize) -> u8 {
    ACTIVITIES[activity].code.as_bytes()[0].wrapping_sub(b'0')
}

fn is_it(activity: usize) -> bool {
    let c = ACTIVITIES[activity].code;
    c.starts_with("26") || c.starts_with("46")
}

fn is_revenue(objet: usize) -> bool {
    OBJETS[objet].0.starts_with('9')
}

/// An activity's objects with their shares (summing to 1), benefits added at `beta` x salaries.
fn expand_profile(profile: &[(&str, f64)], beta: f64) -> Vec<(usize, f64)> {
    let salaries: f64 = profile.iter().filter(|(o, _)| o.starts_with('1')).map(|(_, w)| w).sum();
    let mut out: Vec<(usize, f64)> = profile.iter().map(|(o, w)| (objet_index(o), *w)).collect();
    if salaries > 0.0 {
        out.extend(BENEFITS.iter().map(|(o, s)| (objet_index(o), salaries * beta * s)));
    }
    let total: f64 = out.iter().map(|(_, w)| w).sum();
    if total > 0.0 {
        for (_, w) in &mut out {
            *w /= total;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Suppliers and labels (free text of fin_ecriture.descr: never a person)

fn suppliers(objet: &str) -> &'static [&'static str] {
    match objet {
        "310" => &["Relevé de frais de déplacement", "Allocation de kilométrage"],
        "320" => &[
            "Inscription au colloque régional",
            "Formation continue - Institut Alpha",
            "Congrès annuel des services éducatifs",
        ],
        "410" => &[
            "Cabinet comptable Méridien",
            "Services-conseils Atlas",
            "Honoraires professionnels, Groupe Zénith",
        ],
        "420" => &[
            "Autobus Boréal inc.",
            "Transport écolier Horizon",
            "Autocars du Littoral",
        ],
        "430" => &[
            "Construction Prisme ltée",
            "Entretien mécanique Nordik",
            "Toitures Cristal inc.",
        ],
        "440" => &["Location d'équipement Atlas", "Immeubles Méridien"],
        "450" => &["Réseau de télécommunications scolaire", "Téléphonie Horizon"],
        "460" => &[
            "Licences logicielles Alpha",
            "Infonuagique Boréal",
            "Solutions TI Zénith",
        ],
        "510" => &[
            "Fournitures scolaires Prisme",
            "Matériel \"Éduc-Action\"",
            "Papeterie, impression et reliure Alpha",
        ],
        "520" => &["Éditions pédagogiques Boréal", "Librairie scolaire Horizon"],
        "530" => &["Électricité - distributeur régional", "Gaz naturel - distributeur"],
        "540" => &["Produits sanitaires Cristal", "Distribution d'entretien Nordik"],
        "550" => &["Informatique scolaire Atlas", "Micro-Boutique Zénith"],
        "560" => &["Mobilier scolaire Méridien", "Équipements Nordik"],
        "570" => &["Distribution alimentaire Horizon", "Boulangerie Alpha"],
        "610" => &["Intérêts - emprunts à long terme"],
        "620" => &["Prime d'assurance - mutuelle des organismes scolaires"],
        "630" => &["Cotisation annuelle - regroupement des CSS", "Abonnements et adhésions"],
        _ => &["Dépenses diverses", "Frais bancaires"],
    }
}

fn payroll_group(objet: &str) -> &'static str {
    match objet {
        "110" => "personnel enseignant",
        "120" => "personnel professionnel",
        "130" => "personnel de soutien",
        "140" => "personnel d'encadrement",
        "150" => "suppléance et primes",
        "210" => "cotisations de l'employeur",
        "220" => "régimes de retraite",
        "230" => "assurances collectives",
        _ => "santé et sécurité du travail",
    }
}

fn revenue_label(objet: &str) -> &'static str {
    match objet {
        "910" => "Subvention de fonctionnement MEQ - versement",
        "920" => "Taxe scolaire - perception",
        "930" => "Frais exigés des parents",
        "940" => "Services de garde - contributions parentales",
        "950" => "Cafétéria - ventes",
        "960" => "Location de locaux",
        "970" => "Subvention d'investissement MEQ - versement",
        _ => "Revenus divers",
    }
}

// ---------------------------------------------------------------------------------------------
// Units and the CSS's model

/// A school of the youth generator (its dummy school excluded), as the finance units see it.
#[derive(Debug, Clone)]
pub(crate) struct SchoolRef {
    /// The real 6-digit establishment code (`gpm_t_eco.eco_off`).
    pub est: String,
    pub name: String,
    pub primary: bool,
    pub secondary: bool,
}

struct Unit {
    code: String,
    descr: String,
    eco_off: String,
    /// Shares of the CSS's primary and secondary enrolment (0 for the services).
    primary: f64,
    secondary: f64,
}

/// What is drawn once per CSS.
struct CssModel {
    units: Vec<Unit>,
    /// Cost per student of the last generated year, in dollars.
    cost: f64,
    fields: [f64; 6],
    /// Employee benefits per dollar of salary.
    beta: f64,
    /// First pay day: the first Thursday of July, or the next one.
    pay_offset: u64,
    /// How much this CSS spends on information resources against the convention's weights
    /// (0.6 to 1.6): IT spending per student varies from one CSS to another.
    ri: f64,
}

impl CssModel {
    fn draw(seed: u64, label: u64, schools: &[SchoolRef]) -> Self {
        let mut r = rng::stream(seed, &[SALT_FINANCE, label, S_CSS]);
        let cost = r.random_range(12_900.0..14_900.0);
        let mut fields = FIELD_SHARES;
        for f in &mut fields {
            *f *= r.random_range(0.9..1.1);
        }
        let sum: f64 = fields.iter().sum();
        for f in &mut fields {
            *f /= sum;
        }
        let beta = r.random_range(0.25..0.30);
        let pay_offset = if r.random_bool(0.5) { 0 } else { 7 };
        let ri = r.random_range(0.6..1.6);
        let mut units: Vec<Unit> = SERVICES
            .iter()
            .map(|(c, d)| Unit {
                code: (*c).to_string(),
                descr: (*d).to_string(),
                eco_off: String::new(),
                primary: 0.0,
                secondary: 0.0,
            })
            .collect();
        let weights: Vec<f64> = schools.iter().map(|_| r.random_range(0.7..1.3)).collect();
        let sum_p: f64 = schools
            .iter()
            .zip(&weights)
            .filter(|(s, _)| s.primary)
            .map(|(_, w)| w)
            .sum();
        let sum_s: f64 = schools
            .iter()
            .zip(&weights)
            .filter(|(s, _)| s.secondary)
            .map(|(_, w)| w)
            .sum();
        for (k, (s, w)) in schools.iter().zip(&weights).enumerate() {
            units.push(Unit {
                code: format!("{:03}", 100 + k),
                descr: s.name.clone(),
                eco_off: s.est.clone(),
                primary: if s.primary && sum_p > 0.0 { w / sum_p } else { 0.0 },
                secondary: if s.secondary && sum_s > 0.0 { w / sum_s } else { 0.0 },
            });
        }
        CssModel {
            units,
            cost,
            fields,
            beta,
            pay_offset,
            ri,
        }
    }

    /// Units and shares an amount of `site` is split over.
    fn split(&self, site: Site) -> Vec<(usize, f64)> {
        // Primary students are about 6/11 of the enrolment (as the youth generator draws them).
        let share = |u: &Unit| match site {
            Site::Primary => u.primary,
            Site::Secondary => u.secondary,
            _ => u.primary * 6.0 / 11.0 + u.secondary * 5.0 / 11.0,
        };
        let out: Vec<(usize, f64)> = match site {
            Site::Service(s) => vec![(s, 1.0)],
            _ => self
                .units
                .iter()
                .enumerate()
                .filter(|(_, u)| share(u) > 0.0)
                .map(|(i, u)| (i, share(u)))
                .collect(),
        };
        let total: f64 = out.iter().map(|(_, s)| s).sum();
        if out.is_empty() || total <= 0.0 {
            // No school of that kind: the educational services carry it.
            return vec![(SE, 1.0)];
        }
        out.into_iter().map(|(i, s)| (i, s / total)).collect()
    }
}

/// One budget line of a year, amounts in cents (revenues negative).
#[derive(Debug, Clone)]
struct Cell {
    fonds: u8,
    act: usize,
    obj: usize,
    unit: usize,
    initial: i64,
    revise: i64,
    actual: i64,
}

/// A budget amount in cents: round hundreds of dollars, tens or dollars for small lines.
fn budget_cents(dollars: f64) -> i64 {
    let step = if dollars >= 10_000.0 {
        100.0
    } else if dollars >= 100.0 {
        10.0
    } else {
        1.0
    };
    ((dollars / step).round() * step * 100.0) as i64
}

/// Students of the CSS in a year: the allocation, of which a year holds the cohorts in school
/// (the youth roster spreads `years + 10` cohorts over 11 grades).
fn enrolment(count: usize, years: usize) -> f64 {
    (count as f64 * 11.0 / (years as f64 + 10.0)).max(1.0)
}

fn plan_year(ctx: &Ctx<'_>, ci: usize, m: &CssModel, exer: i32, last_year: i32) -> (Vec<Cell>, f64) {
    let mut r = rng::stream(ctx.seed, &[SALT_FINANCE, ctx.labels[ci], S_YEAR, exer as u64]);
    let students = enrolment(ctx.counts[ci], ctx.years) * r.random_range(0.985..1.015);
    let cost = (m.cost * 1.022f64.powi(exer - last_year)).clamp(12_400.0, 15_600.0);
    let operating = students * cost;
    let mut cells: Vec<Cell> = Vec::new();
    let push =
        |cells: &mut Vec<Cell>, fonds: u8, act: usize, obj: usize, site: Site, amount: f64, r: &mut ChaCha8Rng| {
            // Expense lines vary around their share; revenues (a few big lines) barely.
            let noise = if is_revenue(obj) { 0.01 } else { 0.07 };
            for (unit, share) in m.split(site) {
                let revise = budget_cents(amount * share * r.random_range(1.0 - noise..1.0 + noise));
                if revise != 0 {
                    let revise = if is_revenue(obj) { -revise } else { revise };
                    cells.push(Cell {
                        fonds,
                        act,
                        obj,
                        unit,
                        initial: 0,
                        revise,
                        actual: 0,
                    });
                }
            }
        };
    let mut field_weight = [0.0f64; 7];
    for a in ACTIVITIES.iter().filter(|a| a.site.is_some() && a.fonds == 1) {
        field_weight[usize::from(a.code.as_bytes()[0] - b'0')] += a.weight;
    }
    let investment = operating * r.random_range(0.05..0.09);
    for (ai, a) in ACTIVITIES.iter().enumerate() {
        let Some(site) = a.site else { continue };
        let amount = if a.fonds == 1 {
            let f = usize::from(field_of(ai));
            operating * m.fields[f - 1] * a.weight / field_weight[f] * r.random_range(0.95..1.05)
        } else {
            investment * a.weight
        };
        let amount = if is_information_resources(a.code) {
            amount * m.ri
        } else {
            amount
        };
        for (obj, share) in expand_profile(a.profile, m.beta) {
            push(&mut cells, a.fonds, ai, obj, site, amount * share, &mut r);
        }
    }
    let spent = |cells: &[Cell], fonds: u8| -> f64 {
        cells
            .iter()
            .filter(|c| c.fonds == fonds)
            .map(|c| c.revise as f64 / 100.0)
            .sum()
    };
    let revenue1 = spent(&cells, 1) * r.random_range(0.99..1.015);
    let revenue2 = spent(&cells, 2) * r.random_range(0.85..1.0);
    for (obj, act, site, share) in REVENUES {
        push(
            &mut cells,
            1,
            activity_index(act),
            objet_index(obj),
            site,
            revenue1 * share,
            &mut r,
        );
    }
    push(
        &mut cells,
        2,
        activity_index("55000"),
        objet_index("970"),
        Site::Service(RM),
        revenue2,
        &mut r,
    );
    // The initial budget, adopted in June, misses the revision by a few percent.
    for c in &mut cells {
        let x = (c.revise.abs() as f64 / 100.0) * (1.0 - 0.008 + 0.02 * rng::normal(&mut r)).max(0.5);
        c.initial = budget_cents(x).max(100) * c.revise.signum();
    }
    // Actual = REVISE x f per fund and nature (exact group total), noise per line. Revenues
    // (grants, school tax) are known closer than spending.
    for fonds in [1u8, 2] {
        for revenue in [false, true] {
            let sign = if r.random_bool(0.5) { 1.0 } else { -1.0 };
            let f = 1.0
                + sign
                    * if revenue {
                        r.random_range(0.002..0.012)
                    } else {
                        r.random_range(0.012..0.035)
                    };
            let idx: Vec<usize> = (0..cells.len())
                .filter(|&i| cells[i].fonds == fonds && is_revenue(cells[i].obj) == revenue)
                .collect();
            let mut target = 0i64;
            let mut total = 0i64;
            for &i in &idx {
                let c = &mut cells[i];
                let noise = (0.03 * rng::normal(&mut r)).clamp(-0.08, 0.08);
                c.actual = (c.revise as f64 * f * (1.0 + noise)).round() as i64;
                if c.actual == 0 {
                    c.actual = c.revise.signum();
                }
                total += c.actual;
                target += c.revise;
            }
            let target = (target as f64 * f).round() as i64;
            if let Some(&big) = idx
                .iter()
                .max_by_key(|&&i| (cells[i].actual.abs(), std::cmp::Reverse(i)))
            {
                let adjusted = cells[big].actual + (target - total);
                if adjusted.signum() == cells[big].actual.signum() {
                    cells[big].actual = adjusted;
                }
            }
        }
    }
    over_budget_unit(&mut cells, m);
    (cells, students)
}

/// Whether an activity is information-resources spending (the convention's 26xxx and 46xxx).
fn is_information_resources(code: &str) -> bool {
    code.starts_with("26") || code.starts_with("46")
}

/// The first school of the CSS overspends its operating budget: 10 % more actual expenses,
/// taken from the other units' operating expense lines in proportion, so the CSS's totals (and
/// the ground truth's sums per fund and nature) stay as drawn. A budget-against-actual report
/// then has a unit over budget to show.
fn over_budget_unit(cells: &mut [Cell], m: &CssModel) {
    let school = SERVICES.len();
    if m.units.len() <= school {
        return;
    }
    let operating = |c: &Cell| c.fonds == 1 && !is_revenue(c.obj) && c.actual > 0;
    let extra: i64 = cells
        .iter()
        .filter(|c| operating(c) && c.unit == school)
        .map(|c| c.actual / 10)
        .sum();
    let others: i64 = cells
        .iter()
        .filter(|c| operating(c) && c.unit != school)
        .map(|c| c.actual)
        .sum();
    if extra <= 0 || others <= extra * 4 {
        return;
    }
    let mut taken = 0i64;
    for c in cells.iter_mut().filter(|c| operating(c)) {
        if c.unit == school {
            c.actual += c.actual / 10;
        } else {
            let cut = ((c.actual as f64) * (extra as f64) / (others as f64)).round() as i64;
            let cut = cut.min(c.actual - 1);
            c.actual -= cut;
            taken += cut;
        }
    }
    // Rounding: the largest other line gives or takes the last cents.
    if let Some(big) = cells
        .iter_mut()
        .filter(|c| operating(c) && c.unit != school)
        .max_by_key(|c| c.actual)
    {
        big.actual -= extra - taken;
    }
}

// ---------------------------------------------------------------------------------------------
// Ledger lines

const J_PAIE: u8 = 0;
const J_FOURN: u8 = 1;
const J_ENC: u8 = 2;
const J_GEN: u8 = 3;
const JOURNALS: [&str; 4] = ["PA", "CF", "EC", "JG"];

#[derive(Debug, Clone, Copy)]
struct Line {
    date: NaiveDate,
    journal: u8,
    cell: u32,
    amount: i64,
    /// Pay number, grant instalment or invoice number.
    tag: u32,
    /// Index into the object's suppliers.
    supplier: u8,
}

fn next_business_day(d: NaiveDate, end: NaiveDate) -> NaiveDate {
    let fwd = match d.weekday() {
        Weekday::Sat => 2,
        Weekday::Sun => 1,
        _ => 0,
    };
    let back = match d.weekday() {
        Weekday::Sat => 1,
        Weekday::Sun => 2,
        _ => 0,
    };
    let f = d.checked_add_days(Days::new(fwd)).unwrap_or(d);
    if f <= end {
        f
    } else {
        d.checked_sub_days(Days::new(back)).unwrap_or(d)
    }
}

/// Month `k` (0 = July) of fiscal year `exer`: its first day.
fn fiscal_month(exer: i32, k: u32) -> NaiveDate {
    let m = (k + 6) % 12 + 1;
    ymd(if m >= 7 { exer } else { exer + 1 }, m, 1)
}

fn days_in(first: NaiveDate) -> u32 {
    let next = if first.month() == 12 {
        ymd(first.year() + 1, 1, 1)
    } else {
        ymd(first.year(), first.month() + 1, 1)
    };
    u32::try_from((next - first).num_days()).unwrap_or(28)
}

/// Less is spent in the summer.
const MONTH_WEIGHTS: [f64; 12] = [0.45, 0.85, 1.05, 1.0, 1.0, 0.9, 0.8, 1.0, 1.0, 1.0, 1.0, 1.1];

fn random_day(r: &mut ChaCha8Rng, exer: i32) -> NaiveDate {
    let first = fiscal_month(exer, rng::weighted(r, &MONTH_WEIGHTS) as u32);
    let d = first
        .checked_add_days(Days::new(u64::from(r.random_range(0..days_in(first)))))
        .unwrap_or(first);
    next_business_day(d, ymd(exer + 1, 6, 30))
}

/// The lines of a year, dated within the fiscal year, not after `cutoff`, in ledger order.
fn year_lines(
    ctx: &Ctx<'_>,
    ci: usize,
    m: &CssModel,
    cells: &[Cell],
    exer: i32,
    students: f64,
    cutoff: NaiveDate,
) -> Vec<Line> {
    let mut r = rng::stream(ctx.seed, &[SALT_FINANCE, ctx.labels[ci], S_LINES, exer as u64]);
    let end = ymd(exer + 1, 6, 30);
    let mut pay_days: Vec<NaiveDate> = Vec::new();
    let mut d = ymd(exer, 7, 1);
    while d.weekday() != Weekday::Thu {
        d = d.succ_opt().unwrap_or(end);
    }
    d = d.checked_add_days(Days::new(m.pay_offset)).unwrap_or(d);
    while d <= end {
        pay_days.push(d);
        d = d
            .checked_add_days(Days::new(14))
            .unwrap_or(end.succ_opt().unwrap_or(end));
    }
    let months: Vec<NaiveDate> = (0..12).map(|k| fiscal_month(exer, k)).collect();
    let budget_lines = (2.5 * students).ceil().max(1.0);
    let weight: Vec<f64> = cells.iter().map(|c| (c.actual.abs() as f64).sqrt()).collect();
    let total_weight: f64 = weight.iter().sum::<f64>().max(1.0);
    let mut lines: Vec<Line> = Vec::with_capacity(budget_lines as usize + cells.len());
    let mut amounts: Vec<i64> = Vec::new();
    for (cell, c) in cells.iter().enumerate() {
        let code = OBJETS[c.obj].0;
        let journal = match code.as_bytes()[0] {
            b'1' | b'2' => J_PAIE,
            b'9' => J_ENC,
            _ => J_FOURN,
        };
        let magnitude = c.actual.abs();
        // Grants, energy bills and interest come once a month.
        let monthly = matches!(code, "530" | "610" | "910" | "970");
        let wanted = (budget_lines * weight[cell] / total_weight).round() as i64;
        let n = wanted
            .clamp(1, if monthly { 12 } else { 400 })
            .min((magnitude / 100).max(1)) as usize;
        // Split |actual| into n positive parts that sum exactly.
        let w: Vec<f64> = (0..n)
            .map(|_| match journal {
                J_PAIE => (1.0 + 0.05 * rng::normal(&mut r)).clamp(0.8, 1.2),
                J_FOURN => 0.25 - (1.0 - r.random::<f64>()).ln(),
                _ => r.random_range(0.6..1.4),
            })
            .collect();
        let wsum: f64 = w.iter().sum();
        amounts.clear();
        let mut acc = 0i64;
        for wi in &w[..n - 1] {
            let a = (magnitude as f64 * wi / wsum).floor() as i64;
            amounts.push(a);
            acc += a;
        }
        amounts.push(magnitude - acc);
        // A credit note on a few supplier lines: the next line carries what it takes back.
        let mut credit: Option<usize> = None;
        if journal == J_FOURN && n >= 3 && r.random_bool(0.08) {
            let k = r.random_range(0..n - 1);
            let c_amt = ((amounts[k] as f64) * r.random_range(0.03..0.12)).round().max(1.0) as i64;
            amounts[k + 1] += amounts[k] + c_amt;
            amounts[k] = -c_amt;
            credit = Some(k);
        }
        let sign = c.actual.signum();
        let n_sup = suppliers(code).len();
        for (i, &a) in amounts.iter().enumerate() {
            if a == 0 {
                continue;
            }
            let (date, tag) = match journal {
                J_PAIE => {
                    let k = if n <= pay_days.len() {
                        ((2 * i + 1) * pay_days.len() / (2 * n)).min(pay_days.len() - 1)
                    } else {
                        i % pay_days.len().max(1)
                    };
                    (pay_days.get(k).copied().unwrap_or(end), k as u32 + 1)
                }
                _ if monthly => {
                    let k = ((2 * i + 1) * months.len() / (2 * n)).min(months.len() - 1);
                    let day = months[k].checked_add_days(Days::new(14)).unwrap_or(months[k]);
                    (next_business_day(day, end), k as u32 + 1)
                }
                _ => (random_day(&mut r, exer), r.random_range(10_000..999_999u32)),
            };
            if date > cutoff {
                continue;
            }
            lines.push(Line {
                date,
                journal: if credit == Some(i) { J_GEN } else { journal },
                cell: cell as u32,
                amount: a * sign,
                tag,
                supplier: r.random_range(0..n_sup) as u8,
            });
        }
    }
    lines.sort_by_key(|l| (l.date, l.journal, l.cell, l.tag));
    lines
}

// ---------------------------------------------------------------------------------------------
// Writer: the CSS's conventions and extra bad rows

/// Money with 2 decimals and the CSS's decimal separator (exact: from cents).
fn push_money(buf: &mut String, cents: i64, decimal_comma: bool) {
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    let sep = if decimal_comma { ',' } else { '.' };
    let _ = write!(buf, "{sign}{}{sep}{:02}", a / 100, a % 100);
}

fn money(cents: i64) -> String {
    let mut s = String::new();
    push_money(&mut s, cents, false);
    s
}

struct Injector {
    rng: ChaCha8Rng,
    rate: f64,
    gap: u64,
    kinds: Vec<BadKind>,
    /// Forced inline kinds: (after this many clean rows, kind).
    forced: Vec<(u64, BadKind)>,
    end: Option<BadKind>,
    fresh: u64,
}

impl Injector {
    fn new(mut rng: ChaCha8Rng, spec: &FinTable, rate: f64, allow_undecodable: bool, forced: &[BadKind]) -> Self {
        let kinds: Vec<BadKind> = BadKind::ALL
            .iter()
            .copied()
            .filter(|k| !k.is_end_of_file() && spec.applies(*k, allow_undecodable))
            .collect();
        let mut inline: Vec<(u64, BadKind)> = Vec::new();
        let mut end = None;
        for k in forced {
            if k.is_end_of_file() {
                end = Some(*k);
            } else {
                inline.push((rng.random_range(1..=25u64), *k));
            }
        }
        inline.sort();
        let gap = rng::geometric(&mut rng, rate);
        Injector {
            rng,
            rate,
            gap,
            kinds,
            forced: inline,
            end,
            fresh: 0,
        }
    }
}

const CHUNK: usize = 1 << 16;

/// The byte sink of the CSV writer, shared so that raw (invalid CSV) bytes can be appended
/// between records and the buffer drained to the file.
#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> GenerateError {
    GenerateError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn quoted(s: &str, delimiter: u8) -> String {
    if s.bytes()
        .any(|b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
    {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

struct FinWriter<'c> {
    spec: &'static FinTable,
    conv: &'c Conventions,
    layout: Layout,
    path: PathBuf,
    file: BufWriter<File>,
    csv: csv::Writer<Sink>,
    sink: Sink,
    /// Physical lines written so far (the header is line 1).
    lines: u64,
    clean: u64,
    bad: u64,
    last: Vec<String>,
    has_last: bool,
    inj: Option<Injector>,
    bad_log: Vec<BadRowLog>,
}

impl<'c> FinWriter<'c> {
    fn create(
        dir: &Path,
        table: usize,
        conv: &'c Conventions,
        layout: Layout,
        inj: Option<Injector>,
    ) -> Result<Self, GenerateError> {
        let spec = &TABLES[table];
        let path = dir.join(format!("{}.csv", spec.name));
        let file = File::create(&path).map_err(|e| io_err(&path, e))?;
        let terminator = if conv.crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        };
        let sink = Sink(Rc::new(RefCell::new(Vec::with_capacity(CHUNK * 2))));
        let csv = csv::WriterBuilder::new()
            .delimiter(conv.delimiter)
            .quote_style(csv::QuoteStyle::Necessary)
            .terminator(terminator)
            .flexible(true)
            .has_headers(false)
            .from_writer(sink.clone());
        let mut w = FinWriter {
            spec,
            conv,
            layout,
            path,
            file: BufWriter::with_capacity(CHUNK, file),
            csv,
            sink,
            lines: 1,
            clean: 0,
            bad: 0,
            last: vec![String::new(); spec.columns.len()],
            has_last: false,
            inj,
            bad_log: Vec::new(),
        };
        if conv.encoding == Encoding::Utf8Bom {
            w.file.write_all(b"\xEF\xBB\xBF").map_err(|e| io_err(&w.path, e))?;
        }
        let header: Vec<String> = w
            .layout
            .slots
            .iter()
            .map(|s| {
                let name = match s {
                    Slot::Col(i) => spec.columns[*i],
                    Slot::Extra(j) => w.layout.extras[*j].0.as_str(),
                };
                if conv.upper_header {
                    name.to_uppercase()
                } else {
                    name.to_string()
                }
            })
            .collect();
        w.csv.write_record(&header).map_err(|e| io_err(&w.path, e))?;
        Ok(w)
    }

    /// Writes one clean row (contract column order), then maybe bad rows after it.
    fn write(&mut self, row: &[String]) -> Result<(), GenerateError> {
        let layout = &self.layout;
        self.csv
            .write_record(layout.slots.iter().map(|s| match s {
                Slot::Col(i) => row[*i].as_bytes(),
                Slot::Extra(j) => layout.extras[*j].1.as_bytes(),
            }))
            .map_err(|e| io_err(&self.path, e))?;
        self.lines += 1;
        self.clean += 1;
        if self.inj.is_some() {
            for (dst, src) in self.last.iter_mut().zip(row) {
                dst.clone_from(src);
            }
            self.has_last = true;
            let mut todo: Vec<BadKind> = Vec::new();
            if let Some(inj) = self.inj.as_mut() {
                while let Some(&(at, kind)) = inj.forced.first() {
                    if at > self.clean {
                        break;
                    }
                    inj.forced.remove(0);
                    todo.push(kind);
                }
                if inj.gap == 0 {
                    if !inj.kinds.is_empty() {
                        todo.push(inj.kinds[inj.rng.random_range(0..inj.kinds.len())]);
                    }
                    inj.gap = rng::geometric(&mut inj.rng, inj.rate);
                } else if inj.gap != u64::MAX {
                    inj.gap -= 1;
                }
            }
            for k in todo {
                self.inline_bad_row(k)?;
            }
        }
        if self.sink.0.borrow().len() >= CHUNK {
            self.drain()?;
        }
        Ok(())
    }

    fn log_bad(&mut self, kind: BadKind, column: Option<usize>) {
        self.lines += 1;
        self.bad += 1;
        self.bad_log.push(BadRowLog {
            line: self.lines,
            kind: kind.as_str(),
            column: column.and_then(|c| self.spec.columns.get(c).copied()),
        });
    }

    /// The last clean row, with a fresh key unless `keep_key`.
    fn template(&mut self, keep_key: bool) -> Vec<String> {
        let mut row = self.last.clone();
        if let Some(inj) = self.inj.as_mut()
            && !keep_key
        {
            row[self.spec.fresh_col] = (self.spec.fresh)(inj.fresh);
            inj.fresh += 1;
        }
        row
    }

    fn bad_date(r: &mut ChaCha8Rng, format: DateFormat) -> &'static str {
        let options: &[&str] = match format {
            DateFormat::Iso => &["2024-13-45", "2024-02-30", "2023-00-12"],
            DateFormat::Compact => &["20241345", "20240230", "2024011"],
            DateFormat::Dmy => &["31/02/2024", "45/13/2024", "00/00/0000"],
        };
        options[r.random_range(0..options.len())]
    }

    fn inline_bad_row(&mut self, kind: BadKind) -> Result<(), GenerateError> {
        if !self.has_last {
            return Ok(());
        }
        let mut row = self.template(kind == BadKind::DuplicateKey);
        let spec = self.spec;
        let decimal_comma = self.conv.decimal_comma;
        let date_format = self.conv.date_format;
        let Some(inj) = self.inj.as_mut() else {
            return Ok(());
        };
        let mut delta: i8 = 0;
        let mut raw: Option<(usize, Vec<u8>)> = None;
        let mut spoiled: Option<usize> = None;
        match kind {
            BadKind::WrongColumnCount => delta = if inj.rng.random_bool(0.5) { 1 } else { -1 },
            BadKind::UnparsableDate => {
                if let Some(c) = spec.date_col {
                    row[c] = Self::bad_date(&mut inj.rng, date_format).to_string();
                    spoiled = Some(c);
                }
            }
            BadKind::UnparsableNumber => {
                let c = spec.num_cols[inj.rng.random_range(0..spec.num_cols.len())];
                spoiled = Some(c);
                let digits = row[c]
                    .trim_start_matches('-')
                    .split([',', '.'])
                    .next()
                    .map_or(0, str::len);
                row[c] = if Some(c) == spec.money_col && digits >= 4 && inj.rng.random_bool(0.5) {
                    // A thousands separator: formats/README.md says never.
                    let at = row[c].len() - row[c].trim_start_matches('-').len() + digits - 3;
                    format!("{} {}", &row[c][..at], &row[c][at..])
                } else {
                    format!("{}{}", row[c], ["x", "a", "b"][inj.rng.random_range(0..3)])
                };
            }
            BadKind::OutOfDomain => {
                if let Some((c, values)) = spec.domain {
                    row[c] = values[inj.rng.random_range(0..values.len())].to_string();
                    spoiled = Some(c);
                }
            }
            BadKind::DuplicateKey => {
                let c = spec.dup_col;
                let fix = |v: &str| {
                    if Some(c) == spec.money_col && decimal_comma {
                        v.replace('.', ",")
                    } else {
                        v.to_string()
                    }
                };
                let (a, b) = (fix(spec.dup_values[0]), fix(spec.dup_values[1]));
                row[c] = if row[c] != a { a } else { b };
            }
            BadKind::UndecodableBytes => {
                let c = spec.text_col;
                let mut bytes = row[c].as_bytes().to_vec();
                let mut at = bytes.len() / 2;
                while at > 0 && !row[c].is_char_boundary(at) {
                    at -= 1;
                }
                bytes.splice(at..at, [0xFF, 0xFE]);
                raw = Some((c, bytes));
                spoiled = Some(c);
            }
            BadKind::UnterminatedQuote | BadKind::UnknownResultCode => return Ok(()),
        }
        let layout = &self.layout;
        let mut fields: Vec<&[u8]> = layout
            .slots
            .iter()
            .map(|s| match s {
                Slot::Col(i) => match &raw {
                    Some((c, b)) if c == i => b.as_slice(),
                    _ => row[*i].as_bytes(),
                },
                Slot::Extra(j) => layout.extras[*j].1.as_bytes(),
            })
            .collect();
        match delta {
            1 => fields.push(b"X"),
            -1 => {
                fields.pop();
            }
            _ => {}
        }
        self.csv.write_record(&fields).map_err(|e| io_err(&self.path, e))?;
        self.log_bad(kind, spoiled);
        Ok(())
    }

    /// The last record of the file: a quote never closed, the line ended (a record cut short
    /// without a line end is a cut file, not injected).
    fn end_bad_row(&mut self, kind: BadKind) -> Result<(), GenerateError> {
        if !self.has_last {
            return Ok(());
        }
        let row = self.template(false);
        let d = self.conv.delimiter;
        let mut text_pos = 0;
        let mut fields: Vec<String> = self
            .layout
            .slots
            .iter()
            .enumerate()
            .map(|(k, s)| match s {
                Slot::Col(i) => {
                    if *i == self.spec.text_col {
                        text_pos = k;
                    }
                    quoted(&row[*i], d)
                }
                Slot::Extra(j) => quoted(&self.layout.extras[*j].1, d),
            })
            .collect();
        let delim = char::from(d).to_string();
        let plain = row[self.spec.text_col].replace('"', "");
        fields[text_pos] = format!("\"{plain} (suite");
        let mut line = fields.join(&delim);
        line.push_str(if self.conv.crlf { "\r\n" } else { "\n" });
        self.csv.flush().map_err(|e| io_err(&self.path, e))?;
        self.sink.0.borrow_mut().extend_from_slice(line.as_bytes());
        self.log_bad(kind, None);
        Ok(())
    }

    fn drain(&mut self) -> Result<(), GenerateError> {
        self.csv.flush().map_err(|e| io_err(&self.path, e))?;
        let mut buf = self.sink.0.borrow_mut();
        if buf.is_empty() {
            return Ok(());
        }
        match self.conv.encoding {
            Encoding::Windows1252 => {
                let s = std::str::from_utf8(&buf).map_err(|e| io_err(&self.path, e))?;
                let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(s);
                self.file.write_all(&bytes).map_err(|e| io_err(&self.path, e))?;
            }
            Encoding::Utf8 | Encoding::Utf8Bom => {
                self.file.write_all(&buf).map_err(|e| io_err(&self.path, e))?;
            }
        }
        buf.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<TableStats, GenerateError> {
        let (forced, end) = match self.inj.as_mut() {
            Some(inj) => (std::mem::take(&mut inj.forced), inj.end.take()),
            None => (Vec::new(), None),
        };
        for (_, k) in forced {
            self.inline_bad_row(k)?;
        }
        if let Some(k) = end {
            self.end_bad_row(k)?;
        }
        self.drain()?;
        self.file.flush().map_err(|e| io_err(&self.path, e))?;
        Ok(TableStats {
            table: self.spec.name,
            file: format!("{}.csv", self.spec.name),
            clean: self.clean,
            bad: self.bad,
            bad_log: self.bad_log,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Generation of one CSS

/// Exact sums of one truth row, in cents.
#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    depenses: i64,
    revenus: i64,
    it: i64,
    lines: u64,
}

impl Acc {
    fn add(&mut self, act: usize, obj: usize, cents: i64) {
        if is_revenue(obj) {
            self.revenus += cents;
        } else {
            self.depenses += cents;
            if is_it(act) {
                self.it += cents;
            }
        }
        self.lines += 1;
    }
}

/// (exer_fin, version: 0 REEL, 1 INITIAL, 2 REVISE, fonds, champ).
type TruthKey = (i32, u8, u8, u8);
const VERSIONS: [&str; 3] = ["REEL", "INITIAL", "REVISE"];

fn set(row: &mut [String], i: usize, s: &str) {
    row[i].clear();
    row[i].push_str(s);
}

fn set_num(row: &mut [String], i: usize, n: impl std::fmt::Display) {
    row[i].clear();
    let _ = write!(row[i], "{n}");
}

/// Writes the Dofin files of CSS `ci` (and its part of `finance.csv` when the truth is on).
pub(crate) fn generate_css(ctx: &Ctx<'_>, ci: usize) -> Result<Vec<TableStats>, GenerateError> {
    let code = &ctx.css[ci];
    let label = ctx.labels[ci];
    let conv = &ctx.conventions[ci];
    let dir = ctx
        .out
        .join(code)
        .join(ctx.night.format("%Y-%m-%d").to_string())
        .join("dofin");
    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
    let schools = crate::css::youth_schools(ctx, ci)?;
    let model = CssModel::draw(ctx.seed, label, &schools);

    let mut night_s = String::new();
    conv.push_date(&mut night_s, ctx.night);
    let plan = if ctx.bad_rate > 0.0 {
        forced_plan(ci, conv.allow_undecodable)
    } else {
        Default::default()
    };
    let mut w: Vec<FinWriter<'_>> = Vec::with_capacity(TABLES.len());
    for (t, spec) in TABLES.iter().enumerate() {
        let mut lr = rng::stream(ctx.seed, &[SALT_FINANCE, label, S_LAYOUT, t as u64]);
        let mut layout = crate::conventions::draw_layout(&mut lr, spec.columns.len(), &night_s);
        for (name, value) in &mut layout.extras {
            if name == "usager_maj" {
                "DOFIN_LOT".clone_into(value);
            }
        }
        let inj = (ctx.bad_rate > 0.0).then(|| {
            Injector::new(
                rng::stream(ctx.seed, &[SALT_FINANCE, label, S_BAD, t as u64]),
                spec,
                ctx.bad_rate,
                conv.allow_undecodable,
                &plan[t],
            )
        });
        w.push(FinWriter::create(&dir, t, conv, layout, inj)?);
    }
    let mut rows: Vec<Vec<String>> = TABLES.iter().map(|t| vec![String::new(); t.columns.len()]).collect();

    for a in &ACTIVITIES {
        let row = &mut rows[ACTIVITE];
        set(row, 0, a.code);
        set(row, 1, a.descr);
        w[ACTIVITE].write(row)?;
    }
    for (c, d) in &OBJETS {
        let row = &mut rows[OBJET];
        set(row, 0, c);
        set(row, 1, d);
        w[OBJET].write(row)?;
    }

    let mut truth: BTreeMap<TruthKey, Acc> = BTreeMap::new();
    let last_year = ctx.first_year + ctx.years as i32 - 1;
    let mut ledger_lines = 0u64;
    for y in 0..ctx.years {
        let exer = ctx.first_year + y as i32;
        let current = exer == last_year;
        let cutoff = if current { ctx.night } else { ymd(exer + 1, 6, 30) };
        let (cells, students) = plan_year(ctx, ci, &model, exer, last_year);

        for u in &model.units {
            let row = &mut rows[UNIT_ADM];
            set_num(row, 0, exer);
            set(row, 1, &u.code);
            set(row, 2, &u.descr);
            set(row, 3, &u.eco_off);
            w[UNIT_ADM].write(row)?;
        }

        // The revised budget is adopted in the fall, after the September 30 count.
        let revised = !current || ctx.night >= ymd(exer, 11, 1);
        let mut order: Vec<usize> = (0..cells.len()).collect();
        order.sort_by_key(|&i| {
            let c = &cells[i];
            (
                c.fonds,
                ACTIVITIES[c.act].code,
                OBJETS[c.obj].0,
                &model.units[c.unit].code,
            )
        });
        for (v, version) in [(1u8, "INITIAL"), (2, "REVISE")] {
            if v == 2 && !revised {
                continue;
            }
            for &i in &order {
                let c = &cells[i];
                let cents = if v == 1 { c.initial } else { c.revise };
                let row = &mut rows[BUDGET];
                set_num(row, 0, exer);
                set(row, 1, version);
                set_num(row, 2, c.fonds);
                set(row, 3, ACTIVITIES[c.act].code);
                set(row, 4, OBJETS[c.obj].0);
                set(row, 5, &model.units[c.unit].code);
                row[6].clear();
                push_money(&mut row[6], cents, conv.decimal_comma);
                w[BUDGET].write(row)?;
                truth
                    .entry((exer, v, c.fonds, field_of(c.act)))
                    .or_default()
                    .add(c.act, c.obj, cents);
            }
        }

        let lines = year_lines(ctx, ci, &model, &cells, exer, students, cutoff);
        let yy = exer.rem_euclid(100);
        let mut seq = [0u32; 4];
        let mut i = 0;
        let mut r = rng::stream(ctx.seed, &[SALT_FINANCE, label, S_LINES, exer as u64, 1]);
        while i < lines.len() {
            let first = lines[i];
            // A document: a whole pay run, 1 to 3 invoices of a day, or one receipt or note.
            let mut n = 1;
            match first.journal {
                J_PAIE => {
                    while i + n < lines.len() && lines[i + n].journal == J_PAIE && lines[i + n].date == first.date {
                        n += 1;
                    }
                }
                J_FOURN => {
                    let max = r.random_range(1..=3usize);
                    while n < max
                        && i + n < lines.len()
                        && lines[i + n].journal == J_FOURN
                        && lines[i + n].date == first.date
                    {
                        n += 1;
                    }
                }
                _ => {}
            }
            let j = usize::from(first.journal);
            seq[j] += 1;
            let piece = format!("{}{yy:02}{:06}", JOURNALS[j], seq[j]);
            for (k, l) in lines[i..i + n].iter().enumerate() {
                let c = &cells[l.cell as usize];
                let objet = OBJETS[c.obj].0;
                let row = &mut rows[ECRITURE];
                set_num(row, 0, exer);
                set(row, 1, &piece);
                set_num(row, 2, k + 1);
                row[3].clear();
                conv.push_date(&mut row[3], l.date);
                set_num(row, 4, c.fonds);
                set(row, 5, ACTIVITIES[c.act].code);
                set(row, 6, objet);
                set(row, 7, &model.units[c.unit].code);
                row[8].clear();
                push_money(&mut row[8], l.amount, conv.decimal_comma);
                row[9].clear();
                let sup = suppliers(objet);
                let supplier = sup[usize::from(l.supplier) % sup.len()];
                let _ = match l.journal {
                    J_PAIE => write!(row[9], "Paie {:02} - {}", l.tag, payroll_group(objet)),
                    J_GEN => write!(row[9], "Note de crédit - {supplier}"),
                    J_ENC if matches!(objet, "910" | "970") => {
                        write!(row[9], "{} {}", revenue_label(objet), l.tag)
                    }
                    J_ENC => write!(row[9], "{}", revenue_label(objet)),
                    _ if matches!(objet, "530" | "610") => {
                        write!(row[9], "{supplier} - relevé {:02}/{}", l.date.month(), l.date.year())
                    }
                    _ => write!(row[9], "{supplier} - facture {}", l.tag),
                };
                w[ECRITURE].write(row)?;
                truth
                    .entry((exer, 0, c.fonds, field_of(c.act)))
                    .or_default()
                    .add(c.act, c.obj, l.amount);
            }
            ledger_lines += n as u64;
            i += n;
        }
    }

    let mut stats = Vec::with_capacity(TABLES.len());
    for fw in w {
        stats.push(fw.finish()?);
    }
    if let Some(parts) = &ctx.parts {
        write_truth_part(parts, code, &truth)?;
    }
    tracing::info!(
        css = %code,
        units = model.units.len(),
        ledger_lines,
        bad_rows = stats.iter().map(|s| s.bad).sum::<u64>(),
        "generated Dofin finance exports"
    );
    Ok(stats)
}

fn write_truth_part(parts: &Path, code: &str, truth: &BTreeMap<TruthKey, Acc>) -> Result<(), GenerateError> {
    let path = parts.join(format!("finance_{code}.csv"));
    let f = File::create(&path).map_err(|e| io_err(&path, e))?;
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(BufWriter::new(f));
    for (&(exer, v, fonds, champ), acc) in truth {
        w.write_record([
            code.to_string(),
            exer.to_string(),
            VERSIONS[usize::from(v)].to_string(),
            fonds.to_string(),
            champ.to_string(),
            money(acc.depenses),
            money(acc.revenus),
            money(acc.it),
            acc.lines.to_string(),
        ])
        .map_err(|e| io_err(&path, e))?;
    }
    w.flush().map_err(|e| io_err(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shares of the operating budget by object category and IT, from the base field shares.
    fn base_shares(beta: f64) -> ([f64; 10], f64, [f64; 7]) {
        let mut field_weight = [0.0f64; 7];
        for a in ACTIVITIES.iter().filter(|a| a.site.is_some() && a.fonds == 1) {
            field_weight[usize::from(a.code.as_bytes()[0] - b'0')] += a.weight;
        }
        let mut cats = [0.0f64; 10];
        let mut fields = [0.0f64; 7];
        let mut it = 0.0;
        for (ai, a) in ACTIVITIES.iter().enumerate() {
            if a.site.is_none() || a.fonds != 1 {
                continue;
            }
            let f = usize::from(field_of(ai));
            let amount = FIELD_SHARES[f - 1] * a.weight / field_weight[f];
            fields[f] += amount;
            for (o, s) in expand_profile(a.profile, beta) {
                cats[usize::from(OBJETS[o].0.as_bytes()[0] - b'0')] += amount * s;
                if is_it(ai) {
                    it += amount * s;
                }
            }
        }
        (cats, it, fields)
    }

    #[test]
    fn the_profiles_give_plausible_shares() {
        for beta in [0.25, 0.30] {
            let (cats, it, fields) = base_shares(beta);
            assert!((cats.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            assert!((0.56..0.64).contains(&cats[1]), "salaries {}", cats[1]);
            assert!(
                cats[2] > cats[3..9].iter().copied().fold(0.0, f64::max),
                "benefits next: {cats:?}"
            );
            assert!((0.02..0.06).contains(&it), "IT {it}");
            assert!(fields[1] > fields[2..].iter().copied().fold(0.0, f64::max));
        }
        assert!((REVENUES.iter().map(|r| r.3).sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn codes_follow_the_convention() {
        for (i, a) in ACTIVITIES.iter().enumerate() {
            assert_eq!(a.code.len(), 5);
            assert!(a.code.bytes().all(|b| b.is_ascii_digit()));
            assert!((1..=6).contains(&field_of(i)), "{}", a.code);
            for (o, _) in a.profile {
                assert_eq!(OBJETS[objet_index(o)].0, *o, "unknown object {o}");
                assert!(!o.starts_with('9'));
            }
        }
        for (o, _) in &OBJETS {
            assert_eq!(o.len(), 3);
            assert!(matches!(o.as_bytes()[0], b'1'..=b'6' | b'9'), "{o}");
        }
        for (o, a, _, _) in REVENUES {
            assert!(o.starts_with('9'));
            assert_eq!(ACTIVITIES[activity_index(a)].code, a);
            assert!(!is_it(activity_index(a)));
        }
    }

    #[test]
    fn money_is_exact_with_either_separator() {
        let mut s = String::new();
        push_money(&mut s, -123_456, true);
        assert_eq!(s, "-1234,56");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-100), "-1.00");
        assert_eq!(budget_cents(12_345.0), 1_230_000);
        assert_eq!(budget_cents(1_234.4), 123_000);
        assert_eq!(budget_cents(0.4), 0);
    }
}
