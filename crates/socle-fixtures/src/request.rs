//! `socle generate`: the generator's options as a person gives them, defined here once, and the
//! run that writes the exports and says what it wrote.

use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use socle_dictionary::Dictionary;

use crate::{ConventionOverrides, GenerateError, GenerateOptions, MozaikSelection, generate, write_pevr_targets};

/// The options of `socle generate`.
#[derive(clap::Args, Debug, Clone)]
pub struct GenerateRequest {
    /// Exports root to write (`<out>/<css>/<night>/{gpi,mozaik,jade}/`).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of CSS drawn from the ministry registry (ignored with --css).
    #[arg(long, default_value_t = 3)]
    pub css_count: usize,
    /// CSS codes to generate, e.g. 866000,881000 (real codes of the registry).
    #[arg(long, value_delimiter = ',')]
    pub css: Vec<String>,
    /// Total number of students over all CSS.
    #[arg(long, default_value_t = 1000)]
    pub students: usize,
    /// School years, ending with the one containing the night (1 to 10).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub years: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Export night, YYYY-MM-DD.
    #[arg(long, default_value = "2025-11-20")]
    pub night: NaiveDate,
    /// Rate of extra bad rows of every kind (0 = clean exports, at most 0.5).
    #[arg(long, default_value_t = 0.0)]
    pub bad_rate: f64,
    /// Where to write the ground truth (outside the exports).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// The dictionary whose per-CSS conventions the generator follows.
    #[arg(long, default_value = "schemas")]
    pub schemas: PathBuf,
    /// Also write the PEVR targets of the generated CSS (`cibles_pevr.csv`, the seed of the
    /// extract `indicateurs_pevr`) in this folder, e.g. `pipelines/seeds`.
    #[arg(long, value_name = "DIR")]
    pub seeds: Option<PathBuf>,
    /// CSS whose youth sector is exported as Mozaïk instead of GPI: comma-separated codes
    /// (among the generated CSS) or `all`.
    #[arg(long, value_name = "CODES|all")]
    pub mozaik: Option<String>,
}

/// Generates as `req` says, following the CSS profiles of its dictionary; returns the lines
/// to print (the PEVR targets written, then what was generated).
pub fn run_generate(req: &GenerateRequest) -> Result<Vec<String>, GenerateError> {
    let dict = Dictionary::load(&req.schemas).map_err(|e| {
        GenerateError::InvalidOptions(format!("loading the dictionary from {}: {e}", req.schemas.display()))
    })?;
    if !(0.0..=0.5).contains(&req.bad_rate) {
        return Err(GenerateError::InvalidOptions(
            "--bad-rate must be between 0 and 0.5".into(),
        ));
    }
    let mut opts = GenerateOptions::default_for(req.out.clone());
    opts.css = req.css.clone();
    opts.css_count = req.css_count;
    opts.students = req.students;
    opts.years = req.years;
    opts.seed = req.seed;
    opts.night = req.night;
    opts.bad_rate = req.bad_rate;
    opts.truth = req.truth.clone();
    opts.conventions = ConventionOverrides::of_dictionary(&dict);
    opts.mozaik = req.mozaik.as_deref().map(MozaikSelection::parse).unwrap_or_default();
    let started = Instant::now();
    let s = generate(&opts)?;
    let mut lines = Vec::new();
    if let Some(dir) = &req.seeds {
        let path = write_pevr_targets(dir, &s.css, req.night, req.years, req.seed)?;
        lines.push(format!(
            "PEVR targets of {} CSS written to {}",
            s.css.len(),
            path.display()
        ));
    }
    lines.push(s.describe(started.elapsed().as_secs_f64(), &req.out));
    Ok(lines)
}
