//! The request-level defences of DESIGN section 9 (rules 9 and 10), applied to every request
//! by the router in `startup.rs`, outermost first:
//!
//! 1. [`request_id`]: a server-generated `x-request-id` (a client-sent one is replaced), on the
//!    request for the access log and on every response.
//! 2. [`client_addr`]: the client's address, from `X-Forwarded-For` only when the peer is a
//!    trusted proxy (`OOIEVAAR_TRUSTED_PROXIES`).
//! 3. [`headers`]: `Cache-Control: no-store`, the Content-Security-Policy (with the per-request
//!    nonce the page's hydration scripts carry), `nosniff`, `Referrer-Policy` and HSTS.
//! 4. [`origin`]: the cross-site check of every state-changing request, except the bearer-token
//!    APIs.

pub mod client_addr;
pub mod headers;
pub mod origin;
pub mod request_id;
