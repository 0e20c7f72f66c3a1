//! The state every request handler and server function works with (the server hands it to
//! axum and to Leptos' context).

use super::Store;
use domain::grant::GrantPeriods;
use std::sync::Arc;
use std::time::Duration;

/// Runtime settings the app needs; parsed from the environment by the server's `config`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Mark the session cookie `Secure` (production, behind https).
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after login, however active.
    pub session_absolute: Duration,
    /// The `aud` every source token must carry.
    pub token_audience: String,
    pub grant_periods: GrantPeriods,
    /// Consecutive failed passwords of one account (within `login_lock`) that lock it
    /// (`OOIEVAAR_LOGIN_LOCK_FAILURES`, DESIGN 9).
    pub login_lock_failures: u32,
    /// How long a lock-out lasts, and the window its failures must fall in
    /// (`OOIEVAAR_LOGIN_LOCK_MINUTES`).
    pub login_lock: Duration,
    /// Source API calls allowed per source per minute (then 429).
    pub source_calls_per_minute: i64,
    /// Largest source API request body in bytes (then 413).
    pub source_body_limit: usize,
    /// When access counts as unusual (flags on `/audit`).
    pub flag_rules: domain::FlagRules,
    /// Per-address limits of failed, unauthenticated attempts (rule 9).
    pub flood_limits: super::flood::FloodLimits,
    /// The origin users type (`OOIEVAAR_PUBLIC_URL`, e.g. `https://ooievaar.example.nl`), also
    /// accepted as the site's own origin by the cross-site check; `None`: only scheme + `Host`.
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`OOIEVAAR_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Every user must have a second factor (`OOIEVAAR_REQUIRE_2FA`, default on): one without
    /// is taken to enrolment after her password. Off, a user without one logs in with her
    /// password alone, and one who has one is still asked for it.
    pub require_second_factor: bool,
    /// How long a right password waits for the second step before she starts again (DESIGN 9:
    /// 5 minutes).
    pub second_step_lifetime: Duration,
    /// How long a source's copy of a client is kept (`OOIEVAAR_RETENTION_YEARS`, default 20).
    pub retention: domain::retention::RetentionTerm,
    /// Connections in the database pool (`OOIEVAAR_DB_CONNECTIONS`; `None`: the backend's
    /// default: twice the cores, at least 4).
    pub db_connections: Option<std::num::NonZeroU32>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_idle: Duration::from_secs(15 * 60),
            session_absolute: Duration::from_secs(12 * 60 * 60),
            token_audience: "ooievaar".into(),
            grant_periods: GrantPeriods::default(),
            login_lock_failures: 10,
            login_lock: Duration::from_secs(15 * 60),
            source_calls_per_minute: 600,
            source_body_limit: 2 * 1024 * 1024,
            flag_rules: domain::FlagRules::default(),
            flood_limits: super::flood::FloodLimits::default(),
            public_url: None,
            trusted_proxies: Vec::new(),
            require_second_factor: true,
            second_step_lifetime: Duration::from_secs(5 * 60),
            retention: domain::retention::RetentionTerm::default(),
            db_connections: None,
        }
    }
}

/// Everything a request handler or server function needs. No other state exists outside the
/// database except the flood counters and the password-hashing queue, whose loss changes
/// nothing, so several instances can run behind one load balancer.
#[derive(Clone, Debug, axum::extract::FromRef)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// Per-instance counters of failed unauthenticated attempts (rule 9; `backend::flood`).
    pub flood: Arc<super::flood::FloodGuard>,
    /// The per-instance bound on password hashing (rule 9; `backend::accounts::Hasher`).
    pub hasher: super::accounts::Hasher,
    /// The second-factor keys: the secret key and the passkeys' relying party.
    pub factors: super::second_factor::Factors,
}
