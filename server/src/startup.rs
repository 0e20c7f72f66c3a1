//! Building and running the application: store, sessions, the axum router with Leptos, and
//! graceful shutdown.

use crate::config::Config;
use crate::middleware::{client_addr, headers, origin, request_id};
use app::{shell, App};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use axum::Router;
use backend::session::SessionBackend;
use backend::{AppState, Store};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};

/// The router's state: the backend's state, which every handler and server function works
/// with, and Leptos' options, which only the page rendering and static files need.
#[derive(Clone, Debug, axum::extract::FromRef)]
pub struct ServerState {
    pub app: AppState,
    pub leptos_options: leptos::config::LeptosOptions,
}

/// A built application, listening but not yet serving.
pub struct Application {
    port: u16,
    listener: TcpListener,
    router: Router,
    store: Store,
    flood: Arc<backend::flood::FloodGuard>,
    hasher: backend::accounts::Hasher,
}

impl Application {
    /// Connects the store (running migrations; a failure stops start-up), prepares sessions
    /// and binds the listen address (port 0 picks a free port, as the tests do).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::connect_with_pool(&config.database_url, config.settings.db_connections)
            .await?
            .with_flag_rules(config.settings.flag_rules);
        let sessions = SessionBackend::for_store(&store).await?;
        let listener = TcpListener::bind(config.leptos_options.site_addr).await?;
        let port = listener.local_addr()?.port();
        tracing::info!(backend = store.backend_name(), port, "ooievaar listening");
        let state = AppState {
            store: store.clone(),
            settings: Arc::new(config.settings.clone()),
            flood: Arc::new(backend::flood::FloodGuard::new(
                config.settings.flood_limits,
            )),
            hasher: backend::accounts::Hasher::per_core(),
            factors: backend::second_factor::Factors::new(
                config.secret_key.clone(),
                config
                    .settings
                    .public_url
                    .as_deref()
                    .unwrap_or(crate::config::DEFAULT_PUBLIC_URL),
            )
            .map_err(|e| anyhow::anyhow!(e))?,
        };
        tokio::spawn(write_refusal_summaries(store.clone(), state.flood.clone()));
        tokio::spawn(purge_daily(store.clone(), config.settings.retention));
        tokio::spawn(
            sessions
                .clone()
                .continuously_delete_expired(Duration::from_secs(60)),
        );
        if let Some(every) = config.checkpoint_every {
            let path = crate::checkpoint::key_path(&config.database_url);
            // Production (secure cookies) never creates a key beside the database: whoever can
            // rewrite the log must not also find the key to re-sign it there.
            let key = if config.settings.secure_cookies {
                crate::checkpoint::CheckpointKey::load_existing(&path)?
            } else {
                crate::checkpoint::CheckpointKey::load_or_create(&path)?
            };
            tokio::spawn(crate::checkpoint::keep_signing(store.clone(), key, every));
        }
        let flood = state.flood.clone();
        let hasher = state.hasher.clone();
        let router = router(
            ServerState {
                app: state,
                leptos_options: config.leptos_options.clone(),
            },
            sessions,
        );
        Ok(Self {
            port,
            listener,
            router,
            store,
            flood,
            hasher,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The flood counters (tests close a minute of refusals without waiting for it).
    pub fn flood(&self) -> Arc<backend::flood::FloodGuard> {
        self.flood.clone()
    }

    /// The password hasher's bound (tests check that it holds).
    pub fn hasher(&self) -> backend::accounts::Hasher {
        self.hasher.clone()
    }

    /// Serves until SIGINT/SIGTERM, then finishes running requests and closes the pool.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        self.store.close().await;
        Ok(())
    }
}

/// The whole HTTP surface: Leptos pages and server functions, `/healthz`, static files, behind
/// the request-level defences of `crate::middleware` (request id, client address, headers,
/// cross-site check).
pub fn router(server_state: ServerState, sessions: SessionBackend) -> Router {
    let state = server_state.app.clone();
    let routes = generate_route_list(App);
    tracing::debug!(routes = ?routes.iter().map(|r| (r.path().to_owned(), format!("{:?}", r.mode()))).collect::<Vec<_>>(), "page routes");
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("ooievaar_session")
        .with_secure(state.settings.secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::try_from(state.settings.session_idle)
                .unwrap_or(tower_sessions::cookie::time::Duration::minutes(15)),
        ));

    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request| {
        // Only the route pattern, never the concrete path or query (no personal data in logs).
        let matched = request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "unmatched".into());
        let request_id = request
            .headers()
            .get(request_id::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        tracing::info_span!("request", method = %request.method(), route = %matched, request_id = %request_id)
    });

    let context_state = state.clone();
    // The source API has no session layer: a cookie is never a credential there.
    let api = Router::new().nest(
        "/api/v1",
        crate::api::router(state.settings.source_body_limit),
    );
    let pages = Router::new()
        .leptos_routes_with_context(
            &server_state,
            routes,
            move || {
                provide_context(context_state.clone());
                provide_context(backend::session::RenderUser::default());
                headers::provide_csp_nonce();
            },
            {
                let options = server_state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .route("/audit/export.csv", get(crate::export::export_csv))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            ServerState,
            _,
        >(headers::provide_csp_nonce, shell))
        .layer(session_layer);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(api)
        .merge(pages)
        .layer(
            ServiceBuilder::new()
                .layer(from_fn(request_id::assign))
                .layer(from_fn_with_state(
                    client_addr::TrustedProxies::new(&state.settings.trusted_proxies),
                    client_addr::resolve,
                ))
                .layer(trace)
                .layer(from_fn_with_state(
                    headers::SecurityHeaders::new(state.settings.secure_cookies),
                    headers::apply,
                ))
                .layer(from_fn_with_state(
                    origin::OriginPolicy::new(
                        state.settings.public_url.as_deref(),
                        state.settings.secure_cookies,
                    ),
                    origin::check,
                ))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(30),
                ))
                // Quality 5, not the codecs' default: brotli's default is its best (11, with
                // a 4 MiB window), which cost every page a browser asked for more CPU than
                // rendering it. Dynamic pages are compressed per request; at 5 brotli is
                // still well ahead of gzip's size.
                .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Precise(5))),
        )
        .with_state(server_state)
}

/// Every few seconds, writes the `refusals_summary` events of the minutes that have closed.
async fn write_refusal_summaries(store: Store, flood: Arc<backend::flood::FloodGuard>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let now = backend::store::now_ms();
        if let Err(e) = backend::flood::write_closed_minutes(&store, &flood, now).await {
            tracing::error!(error = %e, "writing refusal summaries");
        }
    }
}

/// The retention run, daily (first ten minutes after start). Instances running it at once are
/// safe: each copy is re-checked under the chain lock before it is purged.
async fn purge_daily(store: Store, term: domain::retention::RetentionTerm) {
    let day = Duration::from_secs(24 * 60 * 60);
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(600), day);
    loop {
        tick.tick().await;
        let today = backend::clock::today();
        match backend::retention::run(
            &store,
            term,
            today,
            today,
            backend::retention::RunBy::Server,
        )
        .await
        {
            Ok(report) => tracing::info!(copies = report.copies(), "retention run"),
            Err(e) => tracing::error!(error = %e, "retention run"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
