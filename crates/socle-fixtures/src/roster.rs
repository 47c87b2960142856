//! Students of one CSS: identity, grade trajectory over the generated years, departures and
//! moves to another CSS. A roster is a pure function of (seed, CSS), so it can be rebuilt.

use std::collections::HashSet;

use chrono::{Days, NaiveDate};
use rand::Rng;

use crate::GenerateError;
use crate::calendar::ymd;
use crate::names::{self, Identity};
use crate::rng::{self, SALT_MOVERS, SALT_ROSTER};

/// EHDAA difficulty codes with their weights.
const DIFFICULTES: [(&str, f64); 11] = [
    ("50", 0.22),
    ("34", 0.20),
    ("53", 0.14),
    ("14", 0.12),
    ("99", 0.08),
    ("24", 0.06),
    ("33", 0.06),
    ("36", 0.04),
    ("23", 0.02),
    ("42", 0.03),
    ("44", 0.03),
];

/// Last grade index: 0 = primary 1 ... 5 = primary 6, 6 = secondary 1 ... 10 = secondary 5.
pub(crate) const LAST_GRADE: i32 = 10;

#[derive(Debug, Clone)]
pub(crate) struct Student {
    pub origin: usize,
    pub code_perm: [u8; 12],
    pub nom: &'static str,
    pub pnom: &'static str,
    pub sexe: u8,
    pub birth: NaiveDate,
    /// Grade index in the first generated year (may be negative: enters primary later).
    pub v: i8,
    /// Bit y set: the student repeats in year y (same grade as year y-1).
    pub repeat_mask: u16,
    /// The year (index) during which the student leaves the network.
    pub leave_year: Option<u8>,
    /// (first year index in the new CSS, new CSS index).
    pub move_to: Option<(u8, usize)>,
    pub difficulte: Option<&'static str>,
    pub plan: bool,
    pub ability: f32,
    pub abs_tier: u8,
    pub pref: u32,
}

impl Student {
    pub(crate) fn grade(&self, y: usize) -> i32 {
        let mut g = i32::from(self.v);
        for yy in 1..=y {
            if self.repeat_mask & (1 << yy) == 0 {
                g += 1;
            }
        }
        g
    }

    fn in_school(&self, y: usize) -> bool {
        let g = self.grade(y);
        (0..=LAST_GRADE).contains(&g) && self.leave_year.is_none_or(|l| y <= usize::from(l))
    }

    /// Enrolled in year `y` in CSS `css`.
    pub(crate) fn enrolled(&self, y: usize, css: usize) -> bool {
        if !self.in_school(y) {
            return false;
        }
        match self.move_to {
            None => css == self.origin,
            Some((k, dest)) => {
                if y < usize::from(k) {
                    css == self.origin
                } else {
                    css == dest
                }
            }
        }
    }

    /// The CSS where the student is last enrolled in the youth sector (that CSS's JADE holds
    /// what comes after).
    pub(crate) fn last_css(&self, years: usize) -> Option<usize> {
        let y = (0..years).rev().find(|&y| self.in_school(y))?;
        match self.move_to {
            Some((k, dest)) if y >= usize::from(k) => Some(dest),
            _ => Some(self.origin),
        }
    }

    /// The CSS where the student appears, in the order of the years.
    pub(crate) fn css_path(&self, years: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for y in 0..years {
            if !self.in_school(y) {
                continue;
            }
            let c = match self.move_to {
                Some((k, dest)) if y >= usize::from(k) => dest,
                _ => self.origin,
            };
            if out.last() != Some(&c) {
                out.push(c);
            }
        }
        out
    }

    pub(crate) fn code_perm_str(&self) -> &str {
        std::str::from_utf8(&self.code_perm).unwrap_or("")
    }
}

/// Parameters shared by all rosters.
pub(crate) struct RosterParams<'a> {
    pub seed: u64,
    pub css: &'a [String],
    pub counts: &'a [usize],
    pub years: usize,
    pub first_year: i32,
}

pub(crate) fn is_english_board(code: &str) -> bool {
    ("881000"..="889999").contains(&code)
}

/// Builds the native students of CSS `ci` (deterministic).
pub(crate) fn build(p: &RosterParams<'_>, ci: usize) -> Result<Vec<Student>, GenerateError> {
    let code = &p.css[ci];
    let english = is_english_board(code);
    let n = p.counts[ci];
    let mut r = rng::stream(p.seed, &[SALT_ROSTER, rng::label(code)]);
    let mut seen: HashSet<[u8; 12]> = HashSet::with_capacity(n * 2);
    let mut out = Vec::with_capacity(n);
    let years = p.years;
    let seq = u8::try_from(ci % 100).unwrap_or(0);
    for _ in 0..n {
        let sexe = match rng::weighted(&mut r, &[0.49, 0.505, 0.005]) {
            0 => b'F',
            1 => b'M',
            _ => b'X',
        };
        let v = r.random_range(-(years as i32 - 1)..=LAST_GRADE) as i8;
        let late = u32::from(r.random_bool(0.08));
        // Normal age: 6 on September 30 in primary 1.
        let by = p.first_year - 7 - i32::from(v) - late as i32;
        let window_start = ymd(by, 10, 1);
        let mut birth = window_start
            .checked_add_days(Days::new(r.random_range(0..365)))
            .unwrap_or(window_start);
        let mut tries = 0u32;
        let (id, code_perm) = loop {
            let id: Identity = names::draw_identity(&mut r, sexe, english);
            let cp = names::code_permanent(&id, sexe, birth, seq);
            if seen.insert(cp) {
                break (id, cp);
            }
            tries += 1;
            if tries.is_multiple_of(50) {
                birth = birth.succ_opt().unwrap_or(birth);
            }
            if tries > 100_000 {
                return Err(GenerateError::Internal(format!(
                    "cannot draw unique codes permanents for CSS {code}"
                )));
            }
        };
        let mut s = Student {
            origin: ci,
            code_perm,
            nom: id.nom,
            pnom: id.pnom,
            sexe,
            birth,
            v,
            repeat_mask: 0,
            leave_year: None,
            move_to: None,
            difficulte: None,
            plan: false,
            ability: (rng::normal(&mut r) * 9.0) as f32,
            abs_tier: rng::weighted(&mut r, &[0.67, 0.21, 0.09, 0.03]) as u8,
            pref: r.random(),
        };
        for y in 1..years {
            let g = s.grade(y - 1);
            if (0..=LAST_GRADE).contains(&g) {
                // Secondary repeats make the DES come after 6 or 7 years for some students
                // (about 70% after 5 years, as the ministry's cohorts show).
                let p_rep = if g < 6 { 0.02 } else { 0.07 };
                if r.random_bool(p_rep) {
                    s.repeat_mask |= 1 << y;
                }
            }
        }
        for y in 0..years {
            if (0..=LAST_GRADE).contains(&s.grade(y)) && r.random_bool(0.02) {
                s.leave_year = Some(y as u8);
                break;
            }
        }
        if r.random_bool(0.15) {
            let w: Vec<f64> = DIFFICULTES.iter().map(|d| d.1).collect();
            s.difficulte = Some(DIFFICULTES[rng::weighted(&mut r, &w)].0);
            s.plan = r.random_bool(0.65);
        } else {
            s.plan = r.random_bool(0.025);
        }
        if p.css.len() >= 2 && years >= 2 && r.random_bool(0.03) {
            let ks: Vec<usize> = (1..years).filter(|&k| s.in_school(k - 1) && s.in_school(k)).collect();
            if !ks.is_empty() {
                let k = ks[r.random_range(0..ks.len())];
                let mut dest = r.random_range(0..p.css.len() - 1);
                if dest >= ci {
                    dest += 1;
                }
                s.move_to = Some((k as u8, dest));
            }
        }
        out.push(s);
    }
    // Students who change CSS must exist in any generation where they can: if the draws gave
    // none, the first student who can move does (from a stream of its own, so that nothing
    // else changes).
    if p.css.len() >= 2 && years >= 2 && !out.iter().any(|s| s.move_to.is_some()) {
        let mut r = rng::stream(p.seed, &[SALT_MOVERS, rng::label(code)]);
        for s in &mut out {
            let ks: Vec<usize> = (1..years).filter(|&k| s.in_school(k - 1) && s.in_school(k)).collect();
            if ks.is_empty() {
                continue;
            }
            let k = ks[r.random_range(0..ks.len())];
            let mut dest = r.random_range(0..p.css.len() - 1);
            if dest >= ci {
                dest += 1;
            }
            s.move_to = Some((k as u8, dest));
            break;
        }
    }
    Ok(out)
}
