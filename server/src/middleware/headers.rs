//! Response headers of DESIGN section 9 on every response.
//!
//! - `Cache-Control: no-store` on everything except the static assets under `/pkg/` (the wasm,
//!   JS and CSS bundles, which hold no personal data): a page with clinical data must not be
//!   kept by the browser, so the back button after logout cannot show it again.
//! - `Content-Security-Policy`: scripts only from this origin or carrying this response's nonce,
//!   plus `'wasm-unsafe-eval'` so the hydration bundle can be compiled; no framing
//!   (`frame-ancestors 'none'`), no plugins, forms post only here, `<base>` not allowed.
//!   Leptos puts its inline scripts (the hydration loader and the serialized resources) on the
//!   page with the nonce it finds in its context; [`provide_csp_nonce`] puts this middleware's
//!   nonce there, so the header and the page agree. A nonce (rather than `'unsafe-inline'`)
//!   means an injected inline script does not run; hashes cannot work because the resource
//!   scripts differ on every page.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin` (not `no-referrer`:
//!   no-JS forms return to their page by the `Referer`).
//! - `Strict-Transport-Security` when secure cookies are on (production is https-only).
//!
//! On JSON, CSV and the static files these are harmless, so every response gets them.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;

/// This request's CSP nonce (a request extension, read by [`provide_csp_nonce`]).
#[derive(Debug, Clone)]
pub struct CspNonce(pub Nonce);

#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    /// Send HSTS (secure cookies on: the site is only reached over https).
    pub hsts: bool,
    /// `cargo leptos watch`: its reload script talks to a websocket on another port.
    pub dev_reload: bool,
}

impl SecurityHeaders {
    pub fn new(secure_cookies: bool) -> Self {
        Self {
            hsts: secure_cookies,
            dev_reload: std::env::var("LEPTOS_WATCH").is_ok(),
        }
    }

    /// The Content-Security-Policy for a response whose inline scripts carry `nonce`.
    pub fn csp(&self, nonce: &str) -> String {
        let connect = if self.dev_reload {
            "'self' ws: wss:"
        } else {
            "'self'"
        };
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src {connect}; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    }
}

pub const HSTS: &str = "max-age=31536000; includeSubDomains";

pub async fn apply(
    State(config): State<SecurityHeaders>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    let static_asset = request.uri().path().starts_with("/pkg/");
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let cacheable = static_asset
        && (response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED);
    let headers = response.headers_mut();
    if !cacheable {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(csp) = HeaderValue::from_str(&config.csp(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if config.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

/// Inside a Leptos render: makes this request's nonce the one Leptos puts on its inline
/// scripts (it provides a random one of its own first, which would not match the header).
pub fn provide_csp_nonce() {
    if let Some(parts) = leptos::prelude::use_context::<axum::http::request::Parts>() {
        if let Some(CspNonce(nonce)) = parts.extensions.get::<CspNonce>() {
            leptos::prelude::provide_context(nonce.clone());
        }
    }
}
