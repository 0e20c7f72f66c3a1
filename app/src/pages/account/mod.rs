//! `/account`: change one's own password.

mod server_fns;

pub use server_fns::*;

use crate::components::{FieldProblem, FormError, Protected};
use crate::pages::form::action_error;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccountPage() -> impl IntoView {
    let action = create_change_password_action();
    let error = action_error(action);
    let query = use_query_map();
    let changed = move || {
        query.with(|q| q.get("gewijzigd").is_some()) && error.get().is_none()
            || matches!(action.value().get(), Some(Ok(())))
    };
    view! {
        <Protected>
            <h1>"Mijn account"</h1>
            <section class="card">
                <h2>"Wachtwoord wijzigen"</h2>
                <Transition fallback=|| ()>
                    <Show when=changed>
                        <div class="form-ok" role="status">"Uw wachtwoord is gewijzigd."</div>
                    </Show>
                </Transition>
                <FormError error/>
                <ActionForm action attr:class="stack" attr:id="password-form">
                    <label for="current_password">"Huidig wachtwoord"</label>
                    <input id="current_password" name="current_password" type="password"
                        autocomplete="current-password" required maxlength="128"/>
                    <FieldProblem error field="current_password"/>
                    <label for="new_password">"Nieuw wachtwoord (minstens 12 tekens)"</label>
                    <input id="new_password" name="new_password" type="password"
                        autocomplete="new-password" required minlength="12" maxlength="128"/>
                    <FieldProblem error field="new_password"/>
                    <label for="confirm_password">"Nieuw wachtwoord nogmaals"</label>
                    <input id="confirm_password" name="confirm_password" type="password"
                        autocomplete="new-password" required minlength="12" maxlength="128"/>
                    <button type="submit" class="button primary">"Wachtwoord wijzigen"</button>
                </ActionForm>
            </section>
        </Protected>
    }
}
