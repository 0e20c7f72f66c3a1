//! The server side of every server function (`ssr` only): the one place the app reads Leptos'
//! request context (the backend's state, the session, the request's metadata) and the one
//! shape a server function has.
//!
//! A server function is one call of [`as_user`] (or [`anonymous`] for the login and the shell):
//! it reads the context before anything can wait, finds the logged-in user and checks her role,
//! runs the body (a call into the backend, which enforces the rules), and answers an error with
//! its HTTP status, except for a plain form post, which must stay a redirect back to the form
//! (`pages::form`).

use backend::audit::RequestMeta;
use backend::session::{self, SessionUser};
use backend::{request, AppState};
use domain::error::AppError;
use domain::Role;
use http::HeaderMap;
use std::future::Future;
use tower_sessions::Session;

/// What a server function's body works with, read once per call.
pub struct Call {
    pub state: AppState,
    /// Address, user agent and request id for the access log.
    pub meta: RequestMeta,
    pub session: Session,
    /// Provided by the server for every request Leptos handles (a page render or one server
    /// function call); `None` only outside one (then the user is read each time).
    render_user: Option<session::RenderUser>,
}

/// Who may call a server function.
#[derive(Debug, Clone, Copy)]
pub enum Allowed {
    /// Every logged-in user (the backend may still refuse by role or grant).
    AnyUser,
    /// Only these roles; everyone else gets `Forbidden` before the body runs.
    Roles(&'static [Role]),
}

/// Runs `body` for the logged-in user (`Unauthenticated` without one) whose role `allowed`
/// admits, and finishes the answer.
pub async fn as_user<T, F, Fut>(allowed: Allowed, body: F) -> Result<T, AppError>
where
    F: FnOnce(Call, SessionUser) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    // Boxed: the body's future holds every backend call it makes (the statements, the group
    // commit), and Leptos moves a resource's future several times before it first polls it
    // (issue 15: those copies were a fifth of a client page's instructions). A box moves as
    // one pointer.
    let result = Box::pin(async {
        let call = Call::read().await?;
        let user = call.user().await?.ok_or(AppError::Unauthenticated)?;
        let user = match allowed {
            Allowed::AnyUser => user,
            Allowed::Roles(roles) => session::require_role(user, roles)?,
        };
        body(call, user).await
    })
    .await;
    finish(result).await
}

/// Runs `body` whether or not anyone is logged in (login, logout, the frame's shell), and
/// finishes the answer.
pub async fn anonymous<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(Call) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    // Boxed, as in `as_user`.
    let result = Box::pin(async { body(Call::read().await?).await }).await;
    finish(result).await
}

impl Call {
    async fn read() -> Result<Self, AppError> {
        // The state is read before anything can wait: a resource still running after its page
        // was discarded has no context, and gets an error rather than a panic.
        let state = leptos::prelude::use_context::<AppState>().ok_or_else(|| {
            tracing::warn!("server function without request context (a discarded render?)");
            AppError::Internal
        })?;
        let meta = current_meta().await;
        let session = leptos_axum::extract::<Session>().await.map_err(|err| {
            tracing::error!(error = %err, "session extraction failed");
            AppError::Internal
        })?;
        Ok(Self {
            state,
            meta,
            session,
            render_user: leptos::prelude::use_context::<session::RenderUser>(),
        })
    }

    /// The logged-in user, if any (read once per page render: `session::RenderUser`).
    pub async fn user(&self) -> Result<Option<SessionUser>, AppError> {
        match &self.render_user {
            Some(memo) => memo.user_of(&self.state, &self.session).await,
            None => session::user_of(&self.state, &self.session).await,
        }
    }
}

/// The metadata of the request a server function is handling.
async fn current_meta() -> RequestMeta {
    match leptos::prelude::use_context::<http::request::Parts>() {
        Some(parts) => request::meta_of(&parts.headers, &parts.extensions),
        None => {
            let headers: HeaderMap = leptos_axum::extract().await.unwrap_or_default();
            let peer = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .await
                .ok()
                .map(|c| c.0);
            request::meta_from(&headers, peer)
        }
    }
}

/// Whether the request is a plain HTML form post (no JavaScript): the browser asks for HTML.
pub async fn is_plain_form_post() -> bool {
    let headers: HeaderMap = leptos_axum::extract().await.unwrap_or_default();
    headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

/// Sets the HTTP status of an error answer, except for a plain form post (which must stay a
/// redirect back to the form).
async fn finish<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        if !is_plain_form_post().await {
            if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(err.status_code());
            }
        }
    }
    result
}
