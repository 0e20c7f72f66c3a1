//! `/account`: change one's own password.

use crate::components::{FieldProblem, FormError, Protected};
use crate::error::AppError;
use crate::pages::form::action_error;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Changes the logged-in user's password; the current one is required.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    use crate::backend::{accounts, request, session};
    use secrecy::SecretString;
    let result = async {
        let user = session::require_user().await?;
        let state = crate::backend::state::app_state()?;
        let generation = accounts::change_password(
            &state,
            &user,
            SecretString::from(current_password),
            SecretString::from(new_password),
            SecretString::from(confirm_password),
            request::current_meta().await,
        )
        .await?;
        // Every other session of hers has ended; this one continues under a new id and the
        // new generation, keeping its login time (the absolute lifetime counts from the login).
        let s = session::current_session().await?;
        session::continue_after_password_change(&s, generation).await?;
        leptos_axum::redirect("/account?gewijzigd=1");
        Ok(())
    }
    .await;
    crate::pages::form::finish(result).await
}

pub fn create_change_password_action() -> ServerAction<ChangePassword> {
    ServerAction::<ChangePassword>::new()
}

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
