//! Per-CSS file conventions (formats/README.md "What varies"): drawn deterministically from the
//! seed and the CSS code, except what the data dictionary overrides.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::json;

use crate::rng::{self, SALT_CONV, SALT_CONV_GLOBAL, SALT_PAD};
use crate::tables::{N_TABLES, TABLES};
use crate::{ConventionOverrides, Encoding};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateFormat {
    Iso,
    Compact,
    Dmy,
}

impl DateFormat {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DateFormat::Iso => "YYYY-MM-DD",
            DateFormat::Compact => "YYYYMMDD",
            DateFormat::Dmy => "DD/MM/YYYY",
        }
    }
}

/// One output column: a contract column (index into `TableSpec::columns`) or an extra one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Col(usize),
    Extra(usize),
}

/// Column layout of one table for one CSS.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub slots: Vec<Slot>,
    /// Extra columns: (name, constant value).
    pub extras: Vec<(String, String)>,
    pub shuffled: bool,
}

/// An absence reason: local code, description, `cpt_abs` (1 excused, 2 unexcused, 3 late).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Motif {
    pub code: &'static str,
    pub descr: &'static str,
    pub cpt: u8,
}

const fn m(code: &'static str, descr: &'static str, cpt: u8) -> Motif {
    Motif { code, descr, cpt }
}

const MOTIF_SCHEMES: [&[Motif]; 4] = [
    &[
        m("MAL", "Maladie", 1),
        m("RDV", "Rendez-vous médical", 1),
        m("FAM", "Raison familiale", 1),
        m("NM", "Absence non motivée", 2),
        m("SUS", "Suspension", 2),
        m("RET", "Retard", 3),
    ],
    &[
        m("M1", "Maladie", 1),
        m("M2", "Rendez-vous", 1),
        m("M3", "Motif familial", 1),
        m("NM", "Non motivée", 2),
        m("R1", "Retard", 3),
        m("R2", "Retard non motivé", 3),
    ],
    &[
        m("01", "Maladie", 1),
        m("02", "Rendez-vous médical", 1),
        m("05", "Voyage ou famille", 1),
        m("10", "Non motivée", 2),
        m("20", "Retard", 3),
    ],
    &[
        m("AM", "Absence motivée", 1),
        m("MED", "Médical", 1),
        m("ANM", "Absence non motivée", 2),
        m("EXP", "Expulsion", 2),
        m("RT", "Retard", 3),
        m("RTM", "Retard motivé", 3),
    ],
];

const MOTIFS_EN: &[Motif] = &[
    m("ILL", "Illness", 1),
    m("APP", "Appointment", 1),
    m("FAM", "Family reason", 1),
    m("UNX", "Unexcused", 2),
    m("SUS", "Suspension", 2),
    m("LAT", "Late", 3),
];

const LEGEND_NAMES: [(&str, &str); 5] = [
    ("NUM", "LET"),
    ("POURC", "LETTRE"),
    ("01", "02"),
    ("NOTE", "COTE"),
    ("N", "L"),
];

const EXTRA_COLUMNS: [&str; 5] = ["dt_maj", "usager_maj", "no_lot", "commentaire", "ind_synchro"];

/// Canonical special statuses, in the order of `Conventions::specials`.
pub(crate) const SPECIAL_STATUSES: [&str; 4] = ["absent", "exempte", "non_evalue", "non_applicable"];
const SPECIAL_DEFAULTS: [&str; 4] = ["ABS", "EX", "NE", "*"];

/// Everything that makes one CSS's files look like that CSS's.
#[derive(Debug, Clone)]
pub(crate) struct Conventions {
    pub encoding: Encoding,
    /// The dictionary declares the encoding as UTF-8: rows with invalid bytes may be injected.
    pub allow_undecodable: bool,
    pub delimiter: u8,
    pub crlf: bool,
    pub decimal_comma: bool,
    pub date_format: DateFormat,
    pub upper_header: bool,
    pub layouts: Vec<Layout>,
    /// Local codes written for absent, exempte, non_evalue, non_applicable.
    pub specials: [String; 4],
    pub course_codes: BTreeMap<String, String>,
    /// Pads a few course codes with spaces (only where no course code is overridden).
    pub pad_codes: bool,
    pub pad_salt: u64,
    pub leg_num: &'static str,
    pub leg_let: &'static str,
    pub motifs: &'static [Motif],
    pub periods_primary: u8,
    pub periods_secondary: u8,
}

impl Conventions {
    pub(crate) fn push_date(&self, buf: &mut String, d: NaiveDate) {
        let (y, mo, da) = (d.year(), d.month(), d.day());
        let _ = match self.date_format {
            DateFormat::Iso => write!(buf, "{y:04}-{mo:02}-{da:02}"),
            DateFormat::Compact => write!(buf, "{y:04}{mo:02}{da:02}"),
            DateFormat::Dmy => write!(buf, "{da:02}/{mo:02}/{y:04}"),
        };
    }

    /// A number with at most one decimal, written with the CSS's decimal separator.
    pub(crate) fn push_number(&self, buf: &mut String, x: f64) {
        crate::results::push_number(buf, x, self.decimal_comma);
    }

    /// The course code as written in the exports: local override, or padded canonical code.
    pub(crate) fn local_course_code(&self, seed: u64, canonical: &str) -> String {
        if let Some(local) = self.course_codes.get(canonical) {
            return local.clone();
        }
        if self.pad_codes {
            let h = rng::hash(seed, &[SALT_PAD, self.pad_salt, rng::label(canonical)]);
            match h % 100 {
                0..=3 => return format!(" {canonical}"),
                4..=7 => return format!("{canonical} "),
                8..=9 => return format!(" {canonical}  "),
                _ => {}
            }
        }
        canonical.to_string()
    }

    pub(crate) fn delimiter_name(&self) -> &'static str {
        match self.delimiter {
            b';' => ";",
            b',' => ",",
            b'|' => "|",
            _ => "\t",
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let layouts: BTreeMap<&str, serde_json::Value> = TABLES
            .iter()
            .zip(&self.layouts)
            .filter(|(_, l)| l.shuffled || !l.extras.is_empty())
            .map(|(t, l)| {
                (
                    t.name,
                    json!({
                        "shuffled": l.shuffled,
                        "extra_columns": l.extras.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
                    }),
                )
            })
            .collect();
        let specials: BTreeMap<&str, &str> = SPECIAL_STATUSES
            .iter()
            .copied()
            .zip(self.specials.iter().map(String::as_str))
            .collect();
        json!({
            "encoding": self.encoding.as_str(),
            "delimiter": self.delimiter_name(),
            "date_format": self.date_format.as_str(),
            "decimal_separator": if self.decimal_comma { "," } else { "." },
            "header_case": if self.upper_header { "upper" } else { "lower" },
            "line_ending": if self.crlf { "CRLF" } else { "LF" },
            "special_values": specials,
            "course_codes": self.course_codes,
            "padded_course_codes": self.pad_codes,
            "legends": { "numeric": self.leg_num, "letter": self.leg_let },
            "absence_reasons": self.motifs.iter().map(|m| json!({"code": m.code, "descr": m.descr, "cpt_abs": m.cpt})).collect::<Vec<_>>(),
            "periods": { "primary": self.periods_primary, "secondary": self.periods_secondary },
            "layouts": layouts,
        })
    }
}

pub(crate) fn draw_layout<R: Rng>(rng: &mut R, ncols: usize, night: &str) -> Layout {
    let mut slots: Vec<Slot> = (0..ncols).map(Slot::Col).collect();
    let shuffled = rng.random_bool(0.3);
    if shuffled {
        slots.shuffle(rng);
    }
    let mut extras = Vec::new();
    if rng.random_bool(0.25) {
        let n = rng.random_range(1..=2usize);
        let mut names = EXTRA_COLUMNS.to_vec();
        names.shuffle(rng);
        for name in names.into_iter().take(n) {
            let value = match name {
                "dt_maj" => night.to_string(),
                "usager_maj" => "GPI_LOT".to_string(),
                "no_lot" => rng.random_range(1000..9999u32).to_string(),
                "ind_synchro" => "O".to_string(),
                _ => String::new(),
            };
            let pos = rng.random_range(0..=slots.len());
            slots.insert(pos, Slot::Extra(extras.len()));
            extras.push((name.to_string(), value));
        }
    }
    Layout {
        slots,
        extras,
        shuffled,
    }
}

/// Draws the conventions of every CSS of the generation. The first three CSS get pairwise
/// different delimiters, encodings and date formats (unless the encoding is overridden).
pub(crate) fn draw_all(
    seed: u64,
    css: &[String],
    overrides: &BTreeMap<String, ConventionOverrides>,
    night: NaiveDate,
) -> Vec<Conventions> {
    let mut g = rng::stream(seed, &[SALT_CONV_GLOBAL]);
    let mut others = [b',', b'|', b'\t'];
    others.shuffle(&mut g);
    let mut delims = [b';', others[0], others[1]];
    delims.shuffle(&mut g);
    let mut encs = [Encoding::Utf8, Encoding::Utf8Bom, Encoding::Windows1252];
    encs.shuffle(&mut g);
    let mut dates = [DateFormat::Iso, DateFormat::Compact, DateFormat::Dmy];
    dates.shuffle(&mut g);
    let mut schemes: Vec<usize> = (0..MOTIF_SCHEMES.len()).collect();
    schemes.shuffle(&mut g);
    let mut legend_names: Vec<usize> = (0..LEGEND_NAMES.len()).collect();
    legend_names.shuffle(&mut g);

    css.iter()
        .enumerate()
        .map(|(i, code)| {
            let ov = overrides.get(code).cloned().unwrap_or_default();
            let mut r = rng::stream(seed, &[SALT_CONV, rng::label(code)]);
            let delimiter = if i < 3 {
                delims[i]
            } else {
                [b';', b',', b'|', b'\t'][rng::weighted(&mut r, &[0.55, 0.2, 0.15, 0.1])]
            };
            let drawn_enc = if i < 3 {
                encs[i]
            } else {
                [Encoding::Utf8, Encoding::Utf8Bom, Encoding::Windows1252][rng::weighted(&mut r, &[0.45, 0.2, 0.35])]
            };
            let date_format = if i < 3 {
                dates[i]
            } else {
                [DateFormat::Iso, DateFormat::Compact, DateFormat::Dmy][rng::weighted(&mut r, &[0.5, 0.25, 0.25])]
            };
            let decimal_comma = delimiter != b',' && r.random_bool(0.6);
            let upper_header = r.random_bool(0.35);
            let crlf = r.random_bool(0.5);
            let mut conv = Conventions {
                encoding: ov.encoding.unwrap_or(drawn_enc),
                allow_undecodable: matches!(ov.encoding, Some(Encoding::Utf8 | Encoding::Utf8Bom)),
                delimiter,
                crlf,
                decimal_comma,
                date_format,
                upper_header,
                layouts: Vec::with_capacity(N_TABLES),
                specials: SPECIAL_DEFAULTS.map(String::from),
                pad_codes: ov.course_codes.is_empty(),
                course_codes: ov.course_codes.clone(),
                pad_salt: rng::label(code),
                leg_num: LEGEND_NAMES[legend_names[i % LEGEND_NAMES.len()]].0,
                leg_let: LEGEND_NAMES[legend_names[i % LEGEND_NAMES.len()]].1,
                motifs: if code.as_str() >= "881000" && code.as_str() <= "889999" {
                    MOTIFS_EN
                } else {
                    MOTIF_SCHEMES[schemes[i % MOTIF_SCHEMES.len()]]
                },
                periods_primary: if r.random_bool(0.5) { 4 } else { 3 },
                periods_secondary: if r.random_bool(0.6) { 5 } else { 4 },
            };
            for (k, status) in SPECIAL_STATUSES.iter().enumerate() {
                if let Some(local) = ov.special_values.get(*status) {
                    conv.specials[k] = local.clone();
                }
            }
            let mut night_s = String::new();
            conv.push_date(&mut night_s, night);
            for t in &TABLES {
                let layout = draw_layout(&mut r, t.columns.len(), &night_s);
                conv.layouts.push(layout);
            }
            conv
        })
        .collect()
}
