//! The cross-site check (DESIGN section 9, rule 10): Ooievaar's own pages are the only place a
//! state-changing request may come from. Server functions and no-JS forms are plain POSTs, and
//! login needs no session at all, so `SameSite` cookies alone do not stop another site from,
//! say, logging a browser in as someone else. Forms carry no CSRF tokens: this check is the
//! defence.
//!
//! Every request with a method other than GET, HEAD and OPTIONS is checked, except the
//! bearer-token APIs listed in [`EXEMPT`] (a cookie is never a credential there):
//! - `Sec-Fetch-Site`, when present, decides: `same-origin` and `none` (typed by the user) pass;
//! - otherwise a missing `Origin` passes (not a browser, or an old one), and so does the site's
//!   own origin: the request's scheme and `Host`, and `OOIEVAAR_PUBLIC_URL` when set;
//! - anything else, `Origin: null` included, gets 403 before any handler runs.

use super::client_addr::ViaTrustedProxy;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The bearer-token APIs, exempt from the check: exactly `/api/v1/shares/*`, `/api/v1/fhir`
/// and `/api/v1/consent-profiles/*`.
pub const EXEMPT: [Exempt; 3] = [
    Exempt::Below("/api/v1/shares/"),
    Exempt::Exactly("/api/v1/fhir"),
    Exempt::Below("/api/v1/consent-profiles/"),
];

#[derive(Debug, Clone, Copy)]
pub enum Exempt {
    /// Every path under this prefix (which ends with `/`).
    Below(&'static str),
    /// This path only.
    Exactly(&'static str),
}

impl Exempt {
    fn covers(&self, path: &str) -> bool {
        match self {
            Exempt::Below(prefix) => path.starts_with(prefix) && path.len() > prefix.len(),
            Exempt::Exactly(exact) => path == *exact,
        }
    }
}

/// What the answer says (Dutch for the user, English for an integrator).
pub const REFUSED: &str = "Geweigerd: dit verzoek kwam niet van een pagina van Ooievaar zelf. \
Open Ooievaar opnieuw en probeer het daar nog eens.\n\
Refused: this request did not come from one of Ooievaar's own pages.\n";

#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// The origin of `OOIEVAAR_PUBLIC_URL`, normalised.
    pub public_origin: Option<String>,
    /// Secure cookies on: the site is reached over https (the scheme when nothing says else).
    pub https: bool,
}

impl OriginPolicy {
    pub fn new(public_url: Option<&str>, secure_cookies: bool) -> Self {
        let public_origin = public_url.and_then(|url| {
            let uri: axum::http::Uri = url.parse().ok()?;
            normalise(&format!("{}://{}", uri.scheme_str()?, uri.authority()?))
        });
        Self {
            public_origin,
            https: secure_cookies,
        }
    }

    /// Whether the request may go on (see the module documentation).
    pub fn allows(&self, request: &Request) -> Result<(), &'static str> {
        if is_safe(request.method()) || EXEMPT.iter().any(|e| e.covers(request.uri().path())) {
            return Ok(());
        }
        let headers = request.headers();
        if let Some(site) = headers.get("sec-fetch-site") {
            return match site.to_str().map(|s| s.trim().to_ascii_lowercase()) {
                Ok(s) if s == "same-origin" || s == "none" => Ok(()),
                _ => Err("sec-fetch-site"),
            };
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().ok().and_then(normalise).ok_or("origin")?;
        let own = self.own_origin(request);
        if own.as_deref() == Some(origin.as_str())
            || self.public_origin.as_deref() == Some(origin.as_str())
        {
            Ok(())
        } else {
            Err("origin")
        }
    }

    /// The request's own scheme and `Host`. The scheme: `X-Forwarded-Proto` from a trusted
    /// proxy, else https when secure cookies are on, else http.
    fn own_origin(&self, request: &Request) -> Option<String> {
        let headers = request.headers();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| request.uri().authority().map(|a| a.to_string()))?;
        let forwarded = request
            .extensions()
            .get::<ViaTrustedProxy>()
            .and_then(|_| forwarded_proto(headers));
        let scheme = forwarded
            .or_else(|| request.uri().scheme_str().map(str::to_owned))
            .unwrap_or_else(|| if self.https { "https" } else { "http" }.to_owned());
        normalise(&format!("{scheme}://{host}"))
    }
}

fn forwarded_proto(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("x-forwarded-proto")?.to_str().ok()?;
    // A chain of proxies may list several; the first is what the browser used.
    let first = value.split(',').next()?.trim().to_ascii_lowercase();
    matches!(first.as_str(), "http" | "https").then_some(first)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `scheme://host[:port]` in lower case without the scheme's default port; `None` for anything
/// else (`null`, a path, another scheme).
pub fn normalise(origin: &str) -> Option<String> {
    let origin = origin.trim().to_ascii_lowercase();
    let (scheme, rest) = origin.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '?', '#', '@'])
    {
        return None;
    }
    let authority: axum::http::uri::Authority = rest.parse().ok()?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    let host = authority.host();
    Some(match authority.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

pub async fn check(State(policy): State<OriginPolicy>, request: Request, next: Next) -> Response {
    match policy.allows(&request) {
        Ok(()) => next.run(request).await,
        Err(by) => {
            // No path or header values: they may hold personal data (rule 8).
            tracing::warn!(decided_by = by, method = %request.method(), "cross-site request refused");
            (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                REFUSED,
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn sec_fetch_site_decides_then_origin_against_host_and_public_url() {
        let p = OriginPolicy::new(Some("https://Ooievaar.example.nl:443/"), false);
        let host = ("host", "127.0.0.1:3000");
        let ok = |r: Request| p.allows(&r).is_ok();
        assert!(ok(request("POST", "/api/login", &[host])));
        assert!(ok(request(
            "GET",
            "/",
            &[host, ("origin", "https://evil.example")]
        )));
        assert!(ok(request(
            "POST",
            "/login",
            &[host, ("sec-fetch-site", "same-origin")]
        )));
        assert!(ok(request(
            "POST",
            "/login",
            &[host, ("sec-fetch-site", "none")]
        )));
        assert!(!ok(request(
            "POST",
            "/login",
            &[host, ("sec-fetch-site", "same-site")]
        )));
        assert!(!ok(request(
            "POST",
            "/login",
            &[
                host,
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://127.0.0.1:3000")
            ]
        )));
        assert!(ok(request(
            "POST",
            "/login",
            &[host, ("origin", "http://127.0.0.1:3000")]
        )));
        assert!(ok(request(
            "PUT",
            "/x",
            &[host, ("origin", "https://ooievaar.example.nl")]
        )));
        assert!(!ok(request("POST", "/login", &[host, ("origin", "null")])));
        assert!(!ok(request(
            "DELETE",
            "/x",
            &[host, ("origin", "https://127.0.0.1:3000")]
        )));
        assert!(!ok(request(
            "PATCH",
            "/x",
            &[host, ("origin", "http://127.0.0.1:3001")]
        )));
        // Exactly the bearer-token APIs are exempt.
        let evil = ("origin", "https://evil.example");
        assert!(ok(request(
            "PUT",
            "/api/v1/shares/123/consent",
            &[host, evil]
        )));
        assert!(ok(request("POST", "/api/v1/fhir", &[host, evil])));
        assert!(ok(request(
            "PUT",
            "/api/v1/consent-profiles/x",
            &[host, evil]
        )));
        assert!(!ok(request("POST", "/api/v1/fhir/x", &[host, evil])));
        assert!(!ok(request("POST", "/api/v1/shares", &[host, evil])));
        assert!(!ok(request("POST", "/api/v1/sharesX/1", &[host, evil])));
        assert!(!ok(request("POST", "/api/logout", &[host, evil])));
    }

    #[test]
    fn origins_normalise_default_ports_and_case() {
        assert_eq!(
            normalise("HTTPS://A.nl:443").as_deref(),
            Some("https://a.nl")
        );
        assert_eq!(normalise("http://a.nl:80").as_deref(), Some("http://a.nl"));
        assert_eq!(
            normalise("http://a.nl:8080").as_deref(),
            Some("http://a.nl:8080")
        );
        assert_eq!(
            normalise("http://[::1]:3000").as_deref(),
            Some("http://[::1]:3000")
        );
        assert_eq!(normalise("null"), None);
        assert_eq!(normalise("file://x"), None);
        assert_eq!(normalise("http://a.nl/path"), None);
    }
}
