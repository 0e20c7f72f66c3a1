//! Request metadata for the access log (address, user agent, request id), read inside server
//! functions. Never includes bodies or query strings.

use super::audit::RequestMeta;
use axum::extract::ConnectInfo;
use http::HeaderMap;
use std::net::SocketAddr;

/// Builds the metadata from headers and the peer address.
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

/// The metadata of the request a server function is handling.
pub async fn current_meta() -> RequestMeta {
    let headers: HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|c| c.0);
    meta_from(&headers, peer)
}

/// Whether the request is a plain HTML form post (no JavaScript): the browser asks for HTML.
pub async fn is_plain_form_post() -> bool {
    let headers: HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}
