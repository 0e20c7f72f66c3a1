//! Configuration from the environment, with documented defaults (README "Configuration").

use anyhow::Context;
use backend::Settings;
use leptos::config::LeptosOptions;
use std::time::Duration;

/// The default database: the embedded SQLite file under `data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/ooievaar.db";

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://...` (default) or `postgres://...`.
    pub database_url: String,
    /// Leptos options; `LEPTOS_SITE_ADDR` is the listen address, `LEPTOS_SITE_ROOT` the site.
    pub leptos_options: LeptosOptions,
    pub settings: Settings,
    /// How often `serve` signs a checkpoint of the access log (`None`: never).
    pub checkpoint_every: Option<Duration>,
    /// The key that seals second-factor secrets (`OOIEVAAR_SECRET_KEY`, `crate::key_file`).
    pub secret_key: backend::second_factor::SecretKey,
}

/// The relying party of passkeys when `OOIEVAAR_PUBLIC_URL` is not set.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:3000";

/// The thresholds of unusual access (README "Configuration").
pub fn flag_rules() -> anyhow::Result<domain::FlagRules> {
    let defaults = domain::FlagRules::default();
    let rules = domain::FlagRules {
        // OOIEVAAR_FLAG_NIGHT_STARTS / _ENDS: local hours of "outside working hours".
        night_starts: env_or("OOIEVAAR_FLAG_NIGHT_STARTS", defaults.night_starts)?,
        night_ends: env_or("OOIEVAAR_FLAG_NIGHT_ENDS", defaults.night_ends)?,
        // OOIEVAAR_FLAG_BULK_CLIENTS: more distinct clients per user per hour is bulk access.
        bulk_clients_per_hour: env_or(
            "OOIEVAAR_FLAG_BULK_CLIENTS",
            defaults.bulk_clients_per_hour,
        )?,
        // OOIEVAAR_FLAG_NEW_GRANT_MINUTES: "soon after the grant" for the informational flag.
        new_grant_minutes: env_or(
            "OOIEVAAR_FLAG_NEW_GRANT_MINUTES",
            defaults.new_grant_minutes,
        )?,
        // OOIEVAAR_FLAG_REPEATED_SEARCHES: this many searches of one BSN by one user within an
        // hour raise a flag (0: never).
        repeated_searches_per_hour: env_or(
            "OOIEVAAR_FLAG_REPEATED_SEARCHES",
            defaults.repeated_searches_per_hour,
        )?,
    };
    anyhow::ensure!(
        rules.night_starts < 24 && rules.night_ends < 24,
        "OOIEVAAR_FLAG_NIGHT_STARTS and _ENDS are hours from 0 to 23"
    );
    Ok(rules)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: '{v}' is not a valid value")),
        _ => Ok(default),
    }
}

/// `OOIEVAAR_PUBLIC_URL`, checked: an absolute http(s) URL; kept without a trailing slash.
pub fn public_url() -> anyhow::Result<Option<String>> {
    let Ok(value) = std::env::var("OOIEVAAR_PUBLIC_URL") else {
        return Ok(None);
    };
    let value = value.trim().trim_end_matches('/');
    if value.is_empty() {
        return Ok(None);
    }
    let uri: http::Uri = value
        .parse()
        .map_err(|_| anyhow::anyhow!("OOIEVAAR_PUBLIC_URL: '{value}' is not a URL"))?;
    anyhow::ensure!(
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some(),
        "OOIEVAAR_PUBLIC_URL: '{value}' must start with https:// (or http://) and name the host"
    );
    Ok(Some(value.to_owned()))
}

/// `OOIEVAAR_TRUSTED_PROXIES`: comma-separated IP addresses or CIDR ranges (default: none).
pub fn trusted_proxies() -> anyhow::Result<Vec<ipnet::IpNet>> {
    let value = std::env::var("OOIEVAAR_TRUSTED_PROXIES").unwrap_or_default();
    parse_trusted_proxies(&value)
}

/// Parses a comma-separated list of addresses (`10.0.0.5`, `::1`) and ranges (`10.0.0.0/8`).
pub fn parse_trusted_proxies(value: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "OOIEVAAR_TRUSTED_PROXIES: '{item}' is not an IP address or CIDR range"
                    )
                })
        })
        .collect()
}

/// The database URL alone (every subcommand needs it; only `serve` needs the rest).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// `OOIEVAAR_RETENTION_YEARS`: how long a source's copy of a client is kept (default 20, the
/// Wgbo term of the record itself; 1 to 115). `serve` and `retention run` both read it.
pub fn retention_term() -> anyhow::Result<domain::retention::RetentionTerm> {
    let years: u16 = env_or("OOIEVAAR_RETENTION_YEARS", domain::retention::DEFAULT_YEARS)?;
    domain::retention::RetentionTerm::years(years).ok_or_else(|| {
        anyhow::anyhow!(
            "OOIEVAAR_RETENTION_YEARS: {years} is not a term from 1 to {} years",
            domain::retention::MAX_YEARS
        )
    })
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let leptos_options = leptos_options()?;
        let defaults = Settings::default();
        let settings = Settings {
            // OOIEVAAR_SECURE_COOKIES=true in production (https); off for plain-http local use.
            secure_cookies: env_or("OOIEVAAR_SECURE_COOKIES", false)?,
            // OOIEVAAR_SESSION_IDLE_MINUTES: a session ends after this long without a request.
            session_idle: Duration::from_secs(60 * env_or("OOIEVAAR_SESSION_IDLE_MINUTES", 15u64)?),
            // OOIEVAAR_SESSION_MAX_HOURS: a session ends this long after login.
            session_absolute: Duration::from_secs(
                3600 * env_or("OOIEVAAR_SESSION_MAX_HOURS", 12u64)?,
            ),
            // OOIEVAAR_TOKEN_AUDIENCE: the `aud` source tokens must carry.
            token_audience: env_or("OOIEVAAR_TOKEN_AUDIENCE", defaults.token_audience.clone())?,
            // OOIEVAAR_SOURCE_CALLS_PER_MINUTE: per source, then 429.
            source_calls_per_minute: env_or(
                "OOIEVAAR_SOURCE_CALLS_PER_MINUTE",
                defaults.source_calls_per_minute,
            )?,
            // OOIEVAAR_DB_CONNECTIONS: the database pool (0 or unset: twice the cores, at least 4).
            db_connections: std::num::NonZeroU32::new(env_or("OOIEVAAR_DB_CONNECTIONS", 0u32)?),
            // OOIEVAAR_SOURCE_BODY_LIMIT: bytes per source API request, then 413.
            source_body_limit: env_or("OOIEVAAR_SOURCE_BODY_LIMIT", defaults.source_body_limit)?,
            flag_rules: flag_rules()?,
            // OOIEVAAR_FLOOD_TOKEN_FAILURES / _LOGIN_FAILURES: failed source tokens and failed
            // logins per client address per 5 minutes before that address is held back (rule 9).
            flood_limits: backend::flood::FloodLimits {
                token_failures: env_or(
                    "OOIEVAAR_FLOOD_TOKEN_FAILURES",
                    defaults.flood_limits.token_failures,
                )?,
                login_failures: env_or(
                    "OOIEVAAR_FLOOD_LOGIN_FAILURES",
                    defaults.flood_limits.login_failures,
                )?,
                ..defaults.flood_limits
            },
            // OOIEVAAR_LOGIN_LOCK_FAILURES: consecutive failed passwords that lock an account.
            login_lock_failures: env_or(
                "OOIEVAAR_LOGIN_LOCK_FAILURES",
                defaults.login_lock_failures,
            )?,
            // OOIEVAAR_LOGIN_LOCK_MINUTES: how long the lock lasts (and the failures' window).
            login_lock: Duration::from_secs(
                60 * env_or(
                    "OOIEVAAR_LOGIN_LOCK_MINUTES",
                    defaults.login_lock.as_secs() / 60,
                )?,
            ),
            // OOIEVAAR_PUBLIC_URL: the address users type (behind a proxy); its origin is the
            // site's own origin for the cross-site check, besides the request's scheme + Host.
            public_url: public_url()?,
            // OOIEVAAR_TRUSTED_PROXIES: comma-separated addresses or CIDR ranges of reverse
            // proxies whose X-Forwarded-For names the client.
            trusted_proxies: trusted_proxies()?,
            // OOIEVAAR_REQUIRE_2FA: every user must have a second factor (enrolment at her
            // next login when she has none).
            require_second_factor: env_or("OOIEVAAR_REQUIRE_2FA", true)?,
            retention: retention_term()?,
            ..defaults
        };
        anyhow::ensure!(
            settings.login_lock_failures > 0 && !settings.login_lock.is_zero(),
            "OOIEVAAR_LOGIN_LOCK_FAILURES and OOIEVAAR_LOGIN_LOCK_MINUTES must be at least 1"
        );
        // OOIEVAAR_CHECKPOINT_MINUTES: how often the chain head is signed (0: never).
        let minutes = env_or("OOIEVAAR_CHECKPOINT_MINUTES", 60u64)?;
        let database_url = database_url();
        // Production (secure cookies) never creates the secret key beside the database.
        let secret_key = crate::key_file::secret_key(&database_url, !settings.secure_cookies)?;
        Ok(Self {
            database_url,
            leptos_options,
            settings,
            checkpoint_every: (minutes > 0).then(|| Duration::from_secs(60 * minutes)),
            secret_key,
        })
    }
}

/// Under `cargo leptos` the LEPTOS_* variables are all set; started directly (`make run`, CI,
/// a service manager) only some may be, and the rest take the values of Cargo.toml's metadata.
fn leptos_options() -> anyhow::Result<LeptosOptions> {
    if std::env::var("LEPTOS_OUTPUT_NAME").is_ok() {
        return Ok(leptos::config::get_configuration(None)
            .context("reading the LEPTOS_* variables")?
            .leptos_options);
    }
    let site_addr = env_or(
        "LEPTOS_SITE_ADDR",
        std::net::SocketAddr::from(([127, 0, 0, 1], 3000)),
    )?;
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    Ok(LeptosOptions::builder()
        .output_name("ooievaar")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(site_addr)
        .build())
}
