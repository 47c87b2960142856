//! `socle run`: one night, every CSS on its own and in parallel (a CSS that fails keeps its
//! previous state, the others publish; a CSS whose files are unchanged is skipped), then the
//! marts. The night is one call, `socle_pipeline::run_night`, whose report says what to print
//! and the exit code: 0 all published or unchanged, 2 some CSS or source failed or was held by
//! the drop guard, 1 nothing published or bad usage (or another run holds the run lock).

use crate::LogFormat;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use socle_pipeline::{NightError, NightProgress, NightRequest};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Exports root: `<exports>/<css>/<YYYY-MM-DD>/{gpi,mozaik,jade,dofin}/`.
    #[arg(long, default_value = "fixtures/exports")]
    exports: PathBuf,
    /// Warehouse root.
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    /// Night to load (YYYY-MM-DD); default: the latest night folder of each CSS.
    #[arg(long)]
    night: Option<String>,
    /// Load only these CSS (default: every CSS folder of the exports root).
    #[arg(long, num_args = 1..)]
    css: Vec<String>,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
    /// File holding the pseudonymisation secret (else env SOCLE_PSEUDO_KEY_FILE or SOCLE_PSEUDO_KEY).
    #[arg(long, env = "SOCLE_PSEUDO_KEY_FILE")]
    pseudo_key_file: Option<PathBuf>,
    /// Use the public demo key (synthetic data only). Implied for the committed fixtures.
    #[arg(long)]
    demo_key: bool,
    /// CSS loaded at the same time, and CSS whose marts are built at the same time (default: the
    /// number of cores). Memory grows with it (the marts stay under `memoire_max`).
    #[arg(long)]
    jobs: Option<usize>,
    /// Reload a CSS even when its export files are those already loaded.
    #[arg(long)]
    force: bool,
    /// Also write the run's figures as JSON to FILE (wall time, rows/s, peak memory, time per
    /// stage, table and entity): what `benches/bench.py` reads.
    #[arg(long, value_name = "FILE")]
    summary_json: Option<PathBuf>,
    /// Accept a drop the guard holds: publish ENTITY of CSS although its rows fell (repeatable,
    /// e.g. --accept-drop 866000:absence). Recorded in the CSS's manifest.
    #[arg(long, value_name = "CSS:ENTITY")]
    accept_drop: Vec<String>,
    /// Load a night older than the one already loaded for a CSS (refused otherwise).
    #[arg(long)]
    allow_older_night: bool,
    /// Then build every extract of `pipelines/extracts/` (each CSS, the most recent school year
    /// of each source) into `<warehouse>/extracts/`; a refused unit makes the exit status 2.
    #[arg(long)]
    extracts: bool,
    /// Minutes the files this night replaces are kept before they are deleted, so that a query
    /// of `socle serve` (or a long `socle query`) planned just before the night published
    /// finishes on them; 0 deletes them at once.
    #[arg(long, value_name = "MINUTES", default_value_t = 10)]
    keep_replaced_minutes: u64,
}

/// A progress bar on a terminal, one step per CSS.
struct Bar(ProgressBar);

impl NightProgress for Bar {
    fn planned(&self, css: usize) {
        self.0.set_length(css as u64);
    }
    fn css_done(&self, o: &socle_pipeline::CssOutcome) {
        self.0.set_message(o.code_css.clone());
        self.0.inc(1);
    }
    fn loaded(&self) {
        self.0.finish_and_clear();
    }
}

pub async fn run(args: RunArgs, log_format: LogFormat) -> Result<u8> {
    let key = socle_pipeline::resolve_key(args.pseudo_key_file.as_deref(), args.demo_key, &args.exports)?;
    let bar = if std::io::stderr().is_terminal() && log_format == LogFormat::Text {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} CSS {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let request = NightRequest {
        exports: args.exports,
        warehouse: args.warehouse,
        night: args.night,
        css: args.css,
        schemas: args.schemas,
        pipelines: args.pipelines,
        key,
        jobs: args.jobs,
        force: args.force,
        accept_drops: args.accept_drop,
        allow_older_night: args.allow_older_night,
        extracts: args.extracts,
        keep_replaced: std::time::Duration::from_secs(args.keep_replaced_minutes * 60),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let report = match socle_pipeline::run_night(request, &Bar(bar)).await {
        Ok(r) => r,
        Err(NightError::Dictionary(problems)) => {
            for p in &problems {
                eprintln!("{p}");
            }
            return Err(NightError::Dictionary(problems).into());
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(path) = &args.summary_json {
        let text = serde_json::to_string_pretty(&report.summary_json())?;
        std::fs::write(path, text).with_context(|| format!("writing the run summary {}", path.display()))?;
    }
    print!("{report}");
    Ok(report.exit_status())
}
