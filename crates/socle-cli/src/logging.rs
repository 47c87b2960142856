//! Logs on standard error: readable text on a terminal, JSON lines for schedulers. `RUST_LOG`
//! overrides the default level (info). No log line ever carries personal data: the crates log
//! counts, codes of organisations and files, never row values. Colours only on a terminal: a
//! log redirected to a file or a pipe has no escape codes.

use crate::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().with_current_span(true).init(),
        LogFormat::Text => builder.with_target(false).init(),
    }
}

/// An error and its causes on one line, each said once: a cause whose text the line already
/// contains is skipped (DataFusion's and Arrow's errors repeat their source in their own
/// message), and line breaks inside a message become spaces. Tested through `socle query`'s
/// error in `tests/cli.rs`.
pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
