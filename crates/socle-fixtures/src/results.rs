//! Result cells: the letter legend, drawing a cell, and reading a written cell back exactly as
//! formats/README.md says the connectors read it (used to compute the ground truth).

use rand::Rng;

use crate::conventions::Conventions;
use crate::rng;

/// Pass mark of both legends.
pub(crate) const SEUIL: f64 = 60.0;

/// Letter legend codes: (code, note_equiv, indic_reus_echec).
pub(crate) const LETTERS: [(&str, Option<f64>, Option<u8>); 7] = [
    ("A", Some(90.0), Some(1)),
    ("B+", Some(85.0), Some(1)),
    ("B", Some(75.0), Some(1)),
    ("C", Some(65.0), Some(1)),
    ("D", Some(55.0), Some(2)),
    ("E", Some(40.0), Some(2)),
    ("NR", None, None),
];

fn letter_for(score: f64) -> &'static str {
    match score {
        s if s >= 88.0 => "A",
        s if s >= 80.0 => "B+",
        s if s >= 70.0 => "B",
        s if s >= 60.0 => "C",
        s if s >= 50.0 => "D",
        _ => "E",
    }
}

/// How a cell counts in `taux_reussite.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Pass,
    Fail,
    Absent,
    Exempt,
    NonEvalue,
    NonApplicable,
    Empty,
    Unknown,
}

/// Index in the truth counters: evaluated, passed, absent, exempte, non_evalue,
/// non_applicable, vide.
pub(crate) fn count(counts: &mut [u64; 7], class: Class) {
    match class {
        Class::Pass => {
            counts[0] += 1;
            counts[1] += 1;
        }
        Class::Fail => counts[0] += 1,
        Class::Absent => counts[2] += 1,
        Class::Exempt => counts[3] += 1,
        Class::NonEvalue => counts[4] += 1,
        Class::NonApplicable => counts[5] += 1,
        Class::Empty | Class::Unknown => counts[6] += 1,
    }
}

/// A plain decimal number: digits, optionally one `,` or `.` and more digits.
pub(crate) fn parse_number(t: &str) -> Option<f64> {
    let (int, frac) = match t.find([',', '.']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let s = match frac {
        Some(f) => format!("{int}.{f}"),
        None => int.to_string(),
    };
    s.parse().ok()
}

/// Reads a cell: legend code, else number, else special value, else empty.
pub(crate) fn classify(cell: &str, letter_legend: bool, conv: &Conventions) -> Class {
    let t = cell.trim();
    if letter_legend && let Some((_, _, indic)) = LETTERS.iter().find(|l| l.0 == t) {
        return match indic {
            Some(1) => Class::Pass,
            Some(_) => Class::Fail,
            None => Class::NonEvalue,
        };
    }
    if let Some(x) = parse_number(t) {
        return if x >= SEUIL { Class::Pass } else { Class::Fail };
    }
    const CLASSES: [Class; 4] = [Class::Absent, Class::Exempt, Class::NonEvalue, Class::NonApplicable];
    for (local, class) in conv.specials.iter().zip(CLASSES) {
        if local.trim() == t {
            return class;
        }
    }
    if t.is_empty() { Class::Empty } else { Class::Unknown }
}

/// Special-value rates: absent, exempte, non_evalue, non_applicable, blank.
pub(crate) const ETAPE_SPECIAL_RATES: [f64; 5] = [0.015, 0.005, 0.005, 0.002, 0.01];
pub(crate) const FINAL_SPECIAL_RATES: [f64; 5] = [0.005, 0.005, 0.003, 0.002, 0.01];

/// A drawn result cell, before it is written in a system's own way (decimal separator).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell {
    /// Not evaluated yet, or left blank.
    Blank,
    /// A special value: index into `Conventions::specials` (absent, exempte...).
    Special(usize),
    /// A code of the letter legend.
    Letter(&'static str),
    /// A mark out of 100, at most one decimal.
    Number(f64),
}

impl Cell {
    /// Writes the cell as the CSS writes it; `decimal_comma` only matters for numbers.
    pub(crate) fn write(self, buf: &mut String, conv: &Conventions, decimal_comma: bool) {
        buf.clear();
        match self {
            Cell::Blank => {}
            Cell::Special(k) => buf.push_str(&conv.specials[k]),
            Cell::Letter(l) => buf.push_str(l),
            Cell::Number(v) => push_number(buf, v, decimal_comma),
        }
    }

    pub(crate) fn is_blank(self) -> bool {
        self == Cell::Blank
    }
}

/// A number with at most one decimal, with `,` or `.` as decimal separator.
pub(crate) fn push_number(buf: &mut String, x: f64, decimal_comma: bool) {
    use std::fmt::Write as _;
    let tenths = (x * 10.0).round() as i64;
    let int = tenths / 10;
    let frac = (tenths % 10).abs();
    let _ = write!(buf, "{int}");
    if frac != 0 {
        buf.push(if decimal_comma { ',' } else { '.' });
        let _ = write!(buf, "{frac}");
    }
}

/// Draws one result cell: maybe a special value, else the score as a number or a letter of
/// the letter legend. The draws never depend on how the cell is written.
pub(crate) fn draw_cell<R: Rng>(rng: &mut R, score: f64, letter_legend: bool, rates: &[f64; 5]) -> Cell {
    let mut x: f64 = rng.random();
    for (k, rate) in rates.iter().enumerate() {
        if x < *rate {
            return if k < 4 { Cell::Special(k) } else { Cell::Blank };
        }
        x -= rate;
    }
    if letter_legend {
        return if rng.random_bool(0.01) {
            Cell::Letter("NR")
        } else {
            Cell::Letter(letter_for(score))
        };
    }
    let v = if rng.random_bool(0.1) {
        (score * 2.0).round() / 2.0
    } else {
        score.round()
    };
    Cell::Number(v.clamp(0.0, 100.0))
}

/// A score around 75, standard deviation about 12 with the student's ability.
pub(crate) fn score<R: Rng>(rng: &mut R, base: f64) -> f64 {
    (base + rng::normal(rng) * 4.0).clamp(0.0, 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("78"), Some(78.0));
        assert_eq!(parse_number("78,5"), Some(78.5));
        assert_eq!(parse_number("78.5"), Some(78.5));
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("1e5"), None);
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("*"), None);
    }
}
