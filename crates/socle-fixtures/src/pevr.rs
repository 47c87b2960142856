//! PEVR targets (the seed `cibles_pevr.csv`): one row per CSS, indicator and school year, as a
//! CSS's commitment-to-success plan sets them, for the years generated and the two after the
//! night's year (a plan looks ahead). Drawn per CSS and indicator, so adding a CSS changes no
//! other CSS's targets. Synthetic: a real CSS's targets come from its own plan.

use crate::rng::{label, stream};
use rand::Rng;
use socle_core::SchoolYear;
use std::fmt::Write;

/// Salt of the targets' stream.
const SALT_PEVR: u64 = 0x31;

/// The indicators with, for each: the first year's target range and the yearly step (a rate
/// to raise is a positive step; one to lower, negative).
const INDICATORS: [(&str, f64, f64, f64); 5] = [
    ("diplomation_qualification_7ans", 0.80, 0.90, 0.005),
    ("reussite_epreuves", 0.72, 0.85, 0.005),
    ("part_70_plus_epreuves", 0.50, 0.65, 0.005),
    ("retard_entree_secondaire", 0.10, 0.16, -0.003),
    ("sortie_sans_diplome", 0.12, 0.18, -0.003),
];

/// The CSV text of the targets of `css` for `years` school years ending with `last` (the
/// night's year), plus the two following.
pub fn pevr_targets(css: &[String], last: SchoolYear, years: u32, seed: u64) -> String {
    let mut out = String::from("code_css,indicateur,annee_scolaire,cible\n");
    let first = last.start_year() - i32::try_from(years.max(1)).unwrap_or(1) + 1;
    let mut codes: Vec<&String> = css.iter().collect();
    codes.sort();
    for code in codes {
        for (indicator, low, high, step) in INDICATORS {
            let mut rng = stream(seed, &[SALT_PEVR, label(code), label(indicator)]);
            let start: f64 = low + rng.random::<f64>() * (high - low);
            for (i, y) in (first..=last.start_year() + 2).enumerate() {
                let target = (start + step * i as f64).clamp(0.0, 1.0);
                // Three decimals: a plan states a percentage to a tenth.
                let _ = writeln!(
                    out,
                    "{code},{indicator},{},{:.3}",
                    SchoolYear::from_start_year(y),
                    target
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_per_css_indicator_and_year_and_independent_of_other_css() {
        let y = SchoolYear::from_start_year(2025);
        let one = pevr_targets(&["866000".into()], y, 2, 7);
        let two = pevr_targets(&["866000".into(), "751000".into()], y, 2, 7);
        assert_eq!(one.lines().count(), 1 + 5 * 4);
        assert!(one.contains("866000,diplomation_qualification_7ans,2024-2025,"));
        assert!(one.contains("866000,sortie_sans_diplome,2027-2028,"));
        for line in one.lines().skip(1) {
            assert!(two.contains(line), "{line}");
        }
    }
}
