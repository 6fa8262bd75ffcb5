//! Logs on stderr: JSON lines in FC (SLS friendly), human-readable on a terminal.
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_fc = std::env::var_os("FC_FUNCTION_NAME").is_some();
    let json = match std::env::var("ALICERT_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => in_fc || !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().with_current_span(true).try_init()
    } else {
        builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}
