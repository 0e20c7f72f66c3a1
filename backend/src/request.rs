//! Request metadata for the access log (address, user agent, request id), read inside server
//! functions. Never includes bodies or query strings.
//!
//! The server's middleware (`server::middleware`) decides two of these once per request, before
//! any handler runs: the request id (generated on the server; a client-sent `x-request-id` is
//! replaced, DESIGN section 9) and the client address (the peer, or the `X-Forwarded-For` hop a
//! trusted proxy names). It records them as the [`RequestId`] and [`ClientAddr`] extensions, and
//! also writes them where older readers look (the `x-request-id` request header and
//! `ConnectInfo`), so every reader sees the same values.

use super::audit::RequestMeta;
use axum::extract::ConnectInfo;
use http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// The id the server generated for this request (also the response's `x-request-id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The client's address as the server resolved it (`OOIEVAAR_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Builds the metadata from headers and the peer address. Behind the server's middleware the
/// `x-request-id` header is the server's own id and `peer` the resolved client address.
pub fn meta_from(headers: &HeaderMap, peer: Option<SocketAddr>) -> RequestMeta {
    let header = |name: &str, max: usize| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(max).collect::<String>())
    };
    RequestMeta {
        ip: peer.map(|p| p.ip().to_string()),
        user_agent: header("user-agent", 256),
        request_id: header("x-request-id", 64),
    }
}

/// The metadata of a request from its headers and extensions: the middleware's [`RequestId`]
/// and [`ClientAddr`] when present, else the header and `ConnectInfo`.
pub fn meta_of(headers: &HeaderMap, extensions: &http::Extensions) -> RequestMeta {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .map(|p| match extensions.get::<ClientAddr>() {
            Some(ClientAddr(ip)) => SocketAddr::new(*ip, p.port()),
            None => p,
        })
        .or_else(|| {
            extensions
                .get::<ClientAddr>()
                .map(|c| SocketAddr::new(c.0, 0))
        });
    let mut meta = meta_from(headers, peer);
    if let Some(RequestId(id)) = extensions.get::<RequestId>() {
        meta.request_id = Some(id.clone());
    }
    meta
}
