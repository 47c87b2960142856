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
    #[command(flatten)]
    night: NightRequest,
    /// Also write the run's figures as JSON to FILE (wall time, rows/s, peak memory, time per
    /// stage, table and entity): what `benches/bench.py` reads.
    #[arg(long, value_name = "FILE")]
    summary_json: Option<PathBuf>,
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
    let mut request = args.night;
    request.command = std::env::args().collect::<Vec<_>>().join(" ");
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
