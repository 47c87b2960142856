//! Logs on standard error: readable text on a terminal, JSON lines for schedulers. `RUST_LOG`
//! overrides the default level (info). No log line ever carries personal data: the crates log
//! counts, codes of organisations and files, never row values.

use crate::LogFormat;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().with_current_span(true).init(),
        LogFormat::Text => builder.with_target(false).init(),
    }
}
