//! Logs on stderr: JSON lines in FC (SLS friendly), human-readable on a terminal.
use std::io::IsTerminal;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `RUST_LOG` as `level` or `target=level,…` (tracing-subscriber's `Targets`: no span or field
/// filters, which would need the `env-filter` feature and its regex engine, ~0.2 MB of binary).
/// An unreadable value falls back to `info`.
fn filter() -> Targets {
    let default = || Targets::new().with_default(tracing::Level::INFO);
    match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => v.parse().unwrap_or_else(|_| default()),
        _ => default(),
    }
}

pub fn init() {
    let in_fc = std::env::var_os("FC_FUNCTION_NAME").is_some();
    let json = match std::env::var("ALICERT_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => in_fc || !std::io::stderr().is_terminal(),
    };
    let registry = tracing_subscriber::registry().with(filter());
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = if json {
        registry
            .with(layer.json().with_current_span(true))
            .try_init()
    } else {
        let ansi = std::io::stderr().is_terminal();
        registry
            .with(layer.with_target(false).with_ansi(ansi))
            .try_init()
    };
}
