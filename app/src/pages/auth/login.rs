//! `/login`.

use super::create_login_action;
use crate::components::{use_shell, FormError};
use crate::pages::form::action_error;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_query_map};

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = create_login_action();
    let error = action_error(action);
    let shell = use_shell();
    // Logged in: her start page; half logged in: the step she is at (only while the browser
    // is still here: the password's answer may already have sent it on).
    let location = use_location();
    let already_in = move || {
        if location.pathname.get() != "/login" {
            return None;
        }
        shell
            .current()
            .and_then(|s| s.ok())
            .and_then(|s| match (s.user, s.pending) {
                (Some(_), _) => Some(view! { <Redirect path="/"/> }),
                (None, Some(step)) => Some(view! { <Redirect path=step.path()/> }),
                (None, None) => None,
            })
    };
    let query = use_query_map();
    let again = move || {
        query.with(|q| q.get("opnieuw").is_some()).then(|| view! {
            <div class="form-error" role="alert">
                "U heeft te vaak een verkeerde code ingevuld, of het duurde te lang. Log opnieuw in."
            </div>
        })
    };
    view! {
        <Title text="Inloggen · Ooievaar"/>
        <Transition fallback=|| ()>{already_in}</Transition>
        <section class="card login-card">
            <h1>"Inloggen"</h1>
            <p class="lead">"Log in met uw Ooievaar-account."</p>
            {again}
            <FormError error/>
            <ActionForm action attr:class="stack" attr:id="login-form">
                <label for="username">"Gebruikersnaam"</label>
                <input id="username" name="username" type="text" autocomplete="username"
                    required autocapitalize="none" spellcheck="false" maxlength="64"/>
                <label for="password">"Wachtwoord"</label>
                <input id="password" name="password" type="password"
                    autocomplete="current-password" required maxlength="128"/>
                <button type="submit" class="button primary">"Inloggen"</button>
            </ActionForm>
        </section>
    }
}
