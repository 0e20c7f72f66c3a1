//! The page frame: header with the user's name, role and organisation, the navigation that
//! fits her role, the DEMO marker, and logout.

use crate::components::ErrorNotice;
use crate::pages::auth::{create_logout_action, shell_info, ShellView};
use domain::error::AppError;
use domain::Role;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// The shell information (user, pending second step, demo flag), refetched on every
/// navigation so a login or logout shows at once. While the answer for a new page is on its
/// way the resource still holds the previous page's: decisions (redirects) take only
/// [`ShellState::current`], which is `None` until the answer for this page has come.
#[derive(Clone, Copy)]
pub struct ShellState {
    resource: Resource<(String, Result<ShellView, AppError>)>,
    path: Memo<String>,
}

impl ShellState {
    /// The answer for the page now shown; `None` while it is on its way.
    pub fn current(&self) -> Option<Result<ShellView, AppError>> {
        self.resource
            .get()
            .filter(|(path, _)| *path == self.path.get())
            .map(|(_, info)| info)
    }

    /// The latest answer, possibly for the page before (for display only).
    pub fn latest(&self) -> Option<Result<ShellView, AppError>> {
        self.resource.get().map(|(_, info)| info)
    }
}

pub fn use_shell() -> ShellState {
    expect_context::<ShellState>()
}

#[component]
pub fn Frame(children: Children) -> impl IntoView {
    let location = use_location();
    let resource = Resource::new(
        move || location.pathname.get(),
        |path| async move { (path, shell_info().await) },
    );
    let shell = ShellState {
        resource,
        path: location.pathname,
    };
    provide_context(shell);
    let logout = create_logout_action();

    let header = move || {
        shell.latest().map(|info| {
            let info = info.unwrap_or_default();
            let demo = info.demo.then(|| {
                view! { <span class="demo-badge" title="Deze omgeving bevat alleen verzonnen gegevens">"DEMO"</span> }
            });
            let user = info.user.map(|u| {
                let links: Vec<(&str, &str)> = match u.role {
                    r if r.is_clinical() => vec![("/", "Cliënten"), ("/policy", "Wie ziet wat")],
                    Role::PrivacyOfficer => vec![("/audit", "Toegangslogboek"), ("/policy", "Wie ziet wat")],
                    _ => vec![("/gebruikers", "Gebruikers"), ("/policy", "Wie ziet wat")],
                };
                view! {
                    <nav class="main-nav" aria-label="Hoofdmenu">
                        {links.into_iter().map(|(href, label)| view! { <a href=href>{label}</a> }).collect_view()}
                        <a href="/account">"Mijn account"</a>
                    </nav>
                    <div class="who" data-testid="who">
                        <span class="who-name">{u.display_name}</span>
                        <span class="who-role">{u.role.label()}</span>
                        <span class="who-org">{u.organisation_name}</span>
                    </div>
                    <ActionForm action=logout attr:class="logout-form">
                        <button type="submit" class="button secondary">"Uitloggen"</button>
                    </ActionForm>
                }
            });
            view! { {demo} {user} }
        })
    };

    view! {
        // The first thing a keyboard reaches on every page (WCAG 2.4.1): past the header and
        // the menu to the page itself. Hidden until it has the focus.
        <a href="#inhoud" class="skip-link">"Naar de inhoud"</a>
        <header class="site-header">
            <a href="/" class="brand">"Ooievaar"</a>
            <Transition fallback=|| ()>{header}</Transition>
        </header>
        // `tabindex=-1`: the skip link moves the keyboard focus here, not only the view.
        <main class="content" id="inhoud" tabindex="-1">{children()}</main>
        <footer class="site-footer">
            "Ooievaar, de viewer van het verloskundig samenwerkingsverband. Elke inzage wordt vastgelegd."
        </footer>
    }
}

/// Renders `children` only for a logged-in user with one of `roles` (any role when empty);
/// otherwise sends her to the login page or says she has no access. This only hides; every
/// server function checks the session and role itself.
#[component]
pub fn Protected(#[prop(optional)] roles: &'static [Role], children: ChildrenFn) -> impl IntoView {
    let shell = use_shell();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Laden..."</p> }>
            {move || shell.current().map(|info| {
                let info = info.ok().unwrap_or_default();
                match info.user {
                    // Half logged in: every page leads to the second step.
                    None => match info.pending {
                        Some(step) => view! { <Redirect path=step.path()/> }.into_any(),
                        None => view! { <Redirect path="/login"/> }.into_any(),
                    },
                    Some(u) if !roles.is_empty() && !roles.contains(&u.role) => {
                        view! { <ErrorNotice error=AppError::Forbidden/> }.into_any()
                    }
                    Some(_) => children.with_value(|c| c()).into_any(),
                }
            })}
        </Suspense>
    }
}
