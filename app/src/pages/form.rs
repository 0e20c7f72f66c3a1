//! Form outcomes that work with and without JavaScript.
//!
//! With JavaScript an `ActionForm` receives the server function's result and shows it. Without
//! JavaScript the browser posts a plain form, the server answers with a redirect back to the
//! page, and the result would be lost; so for such posts an error is kept in the session
//! ("flash") and the page shows it once when it renders again.

use crate::error::AppError;
use leptos::prelude::*;

/// The forms that can leave a flash (bounds what a caller can read or write in the session).
pub const FORMS: &[&str] = &["login", "password"];

/// Finishes a form's server function: on error, a plain form post gets the error as a flash
/// (and keeps its redirect), a JavaScript call gets the error's HTTP status.
#[cfg(feature = "ssr")]
pub async fn finish<T>(form: &'static str, result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        if crate::backend::request::is_plain_form_post().await {
            crate::backend::session::set_flash(form, err).await?;
        } else {
            set_status(err);
        }
    }
    result
}

/// Sets the HTTP status of an error answer of a server function.
#[cfg(feature = "ssr")]
pub fn set_status(err: &AppError) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(err.status_code());
    }
}

/// Finishes a server function that is not a form (only sets the status of an error).
#[cfg(feature = "ssr")]
pub fn finish_call<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(err) = &result {
        set_status(err);
    }
    result
}

/// Takes the flashed error of a form posted without JavaScript, if any.
#[server(endpoint = "form_error")]
pub async fn take_form_error(form: String) -> Result<Option<AppError>, AppError> {
    if !FORMS.contains(&form.as_str()) {
        return finish_call(Err(AppError::field("form", "onbekend formulier")));
    }
    crate::backend::session::take_flash(&form).await
}

/// The error to show for a form: the action's own result (JavaScript) or the flash (none).
pub fn form_error<S>(form: &'static str, action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: server_fn::ServerFn<Output = (), Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let flash = Resource::new(|| (), move |_| take_form_error(form.to_owned()));
    let value = action.value();
    Signal::derive(move || match value.get() {
        Some(Err(e)) => Some(e),
        Some(Ok(())) => None,
        None => flash.get().and_then(|r| r.ok().flatten()),
    })
}
