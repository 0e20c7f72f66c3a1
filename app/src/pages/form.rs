//! Form outcomes that work with and without JavaScript.
//!
//! The app runs as Leptos islands and no form is inside an island, so an `ActionForm` renders
//! a plain form with JavaScript on and off alike: the browser posts it and the server answers
//! with a redirect back to the page; Leptos then carries the error in the redirect's query
//! (`__err`, the serialized `AppError`, never the input) and `ServerAction::new()` picks it up,
//! so the component shows it. That redirect must stay a redirect: the error status is only set
//! for calls made by script (an `ActionForm` inside a future island, or `public/passkeys.js`),
//! which then receive the server function's result directly.

use domain::error::AppError;

/// The error of a form's last submission, with or without JavaScript.
pub fn action_error<S>(
    action: leptos::prelude::ServerAction<S>,
) -> leptos::prelude::Signal<Option<AppError>>
where
    S: server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    use leptos::prelude::*;
    let value = action.value();
    Signal::derive(move || value.get().and_then(|r| r.err()))
}
