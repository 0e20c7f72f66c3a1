//! Request ids are generated on the server (DESIGN section 9): a client-sent `x-request-id` is
//! never trusted, since it would otherwise reach the access log (and its CSV export) verbatim.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use backend::request::RequestId;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Replaces any `x-request-id` of the request with a fresh UUID (header and [`RequestId`]
/// extension, which the access log reads) and puts the same id on the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let value = HeaderValue::from_str(&id).expect("a UUID is a valid header value");
    // `insert` drops every value the client sent under this name.
    request.headers_mut().insert(REQUEST_ID, value.clone());
    request.extensions_mut().insert(RequestId(id));
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}
