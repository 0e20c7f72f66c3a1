//! Structured logs with `tracing`. `RUST_LOG` sets the filter (default `info`),
//! `OOIEVAAR_LOG_FORMAT=json` switches to JSON lines. Logs carry ids and request ids only,
//! never a BSN, name, token, password or clinical value (DESIGN 3.8).

use tracing_subscriber::{fmt, EnvFilter};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,tower_sessions=warn,tower_sessions_core=warn")
    });
    let json = std::env::var("OOIEVAAR_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests start several apps in one process) is harmless: ignore it.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
}
