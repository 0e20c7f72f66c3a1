//! Error displays.

use domain::error::AppError;
use leptos::prelude::*;

/// A whole-page error with the matching HTTP status on the server.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(error.status_code());
    }
    let title = match error {
        AppError::NotFound => "Pagina niet gevonden",
        AppError::Forbidden => "Geen toegang",
        AppError::Unauthenticated => "Niet ingelogd",
        _ => "Er ging iets mis",
    };
    let problems = match &error {
        AppError::Validation { field_errors } => field_errors
            .iter()
            .map(|f| f.problem.clone())
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    view! {
        <section class="card notice-error" role="alert">
            <h1>{title}</h1>
            <p>{error.to_string()}</p>
            {(!problems.is_empty()).then(|| view! {
                <ul>{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
            })}
            <p><a href="/">"Naar de startpagina"</a></p>
        </section>
    }
}

/// The error of a form submission, above the form.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    // The error may come from a resource (the no-JavaScript flash): read it in a Transition.
    let body = move || {
        error.get().map(|e| {
            let detail = match &e {
                AppError::Validation { field_errors } => field_errors
                    .iter()
                    .map(|f| f.problem.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => String::new(),
            };
            view! {
                <div class="form-error" role="alert">
                    <strong>{e.to_string()}</strong>
                    {(!detail.is_empty()).then(|| view! { <span>" " {detail}</span> })}
                </div>
            }
        })
    };
    view! { <Transition fallback=|| ()>{body}</Transition> }
}

/// The problem with one field, under its input.
#[component]
pub fn FieldProblem(
    #[prop(into)] error: Signal<Option<AppError>>,
    field: &'static str,
) -> impl IntoView {
    let body = move || {
        error
            .get()
            .and_then(|e| e.problem_for(field))
            .map(|p| view! { <p class="field-problem" id=format!("{field}-probleem")>{p}</p> })
    };
    view! { <Transition fallback=|| ()>{body}</Transition> }
}
