//! Error displays.

use domain::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

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
        <Title text=format!("{title} · Ooievaar")/>
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

/// The problem with one field, under its input: `<p id="{field}-probleem">`. Its input carries
/// the attributes of [`field_aria`], so a screen reader reads the problem with the field.
#[component]
pub fn FieldProblem(
    #[prop(into)] error: Signal<Option<AppError>>,
    field: &'static str,
) -> impl IntoView {
    let body = move || {
        error
            .get()
            .and_then(|e| e.problem_for(field))
            .map(|p| view! { <p class="field-problem" id=field_problem_id(field)>{p}</p> })
    };
    view! { <Transition fallback=|| ()>{body}</Transition> }
}

/// The id of the element [`FieldProblem`] renders for `field`: `{field}-probleem`.
pub fn field_problem_id(field: &str) -> String {
    format!("{field}-probleem")
}

/// The ARIA attributes of the input of `field` (WCAG 1.3.1, 3.3.1), reactive.
///
/// `invalid` is `Some("true")` and `describedby` is `Some("{field}-probleem")` while `error`
/// has a problem for `field`, both `None` (attribute left out) otherwise. The same signal as its
/// [`FieldProblem`]: the no-JavaScript answer (the error in the redirect's query) sets them on
/// the server render too.
#[derive(Clone, Copy)]
pub struct FieldAria {
    pub invalid: Signal<Option<&'static str>>,
    pub describedby: Signal<Option<String>>,
}

/// The attributes for the input of `field`, to put beside its [`FieldProblem`]:
///
/// ```ignore
/// let aria = field_aria(error, "bsn");
/// view! {
///     <input id="bsn" name="bsn" aria-invalid=aria.invalid aria-describedby=aria.describedby/>
///     <FieldProblem error field="bsn"/>
/// }
/// ```
pub fn field_aria(error: Signal<Option<AppError>>, field: &'static str) -> FieldAria {
    let has_problem =
        move || error.with(|e| e.as_ref().and_then(|e| e.problem_for(field)).is_some());
    FieldAria {
        invalid: Signal::derive(move || has_problem().then_some("true")),
        describedby: Signal::derive(move || has_problem().then(|| field_problem_id(field))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_aria_marks_only_the_field_with_a_problem() {
        let owner = Owner::new();
        owner.set();
        let error = RwSignal::new(None::<AppError>);
        let aria = field_aria(error.into(), "bsn");
        assert_eq!(aria.invalid.get_untracked(), None);
        assert_eq!(aria.describedby.get_untracked(), None);

        error.set(Some(AppError::field("bsn", "dit is geen geldig BSN")));
        assert_eq!(aria.invalid.get_untracked(), Some("true"));
        assert_eq!(
            aria.describedby.get_untracked().as_deref(),
            Some("bsn-probleem")
        );

        error.set(Some(AppError::field("from", "geen datum")));
        assert_eq!(
            aria.invalid.get_untracked(),
            None,
            "another field's problem"
        );
        error.set(Some(AppError::Forbidden));
        assert_eq!(
            aria.describedby.get_untracked(),
            None,
            "not a field problem"
        );
    }
}
