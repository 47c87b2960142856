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
/// message), and line breaks inside a message become spaces.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Inner;
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "table 'x' not found")
        }
    }
    impl std::error::Error for Inner {}

    /// Like DataFusion's errors: its message already contains its source's.
    #[derive(Debug)]
    struct Outer(Inner);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Error during planning:\n{}", self.0)
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_cause_is_said_once_on_one_line() {
        let e = anyhow::Error::new(Outer(Inner)).context("SQL error");
        assert_eq!(error_line(&e), "SQL error: Error during planning: table 'x' not found");
        let e = anyhow::anyhow!("a").context("b");
        assert_eq!(error_line(&e), "b: a");
    }
}
