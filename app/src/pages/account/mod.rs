//! `/account`: change one's own password, and her second factors (the authenticator app,
//! recovery codes, passkeys); `/account/herstelcodes` shows new recovery codes once.

mod server_fns;

pub use server_fns::*;

use crate::components::{field_aria, FieldProblem, FormError, Protected};
use crate::pages::auth::{CodeField, CodeInput, EnrolmentShown};
use crate::pages::form::action_error;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccountPage() -> impl IntoView {
    let action = create_change_password_action();
    let error = action_error(action);
    let [aria_current, aria_new] =
        ["current_password", "new_password"].map(|f| field_aria(error, f));
    let query = use_query_map();
    let changed = move || {
        query.with(|q| q.get("gewijzigd").is_some()) && error.get().is_none()
            || matches!(action.value().get(), Some(Ok(())))
    };
    view! {
        <Title text="Mijn account · Ooievaar"/>
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
                        aria-invalid=aria_current.invalid aria-describedby=aria_current.describedby
                        autocomplete="current-password" required maxlength="128"/>
                    <FieldProblem error field="current_password"/>
                    <label for="new_password">"Nieuw wachtwoord (minstens 12 tekens)"</label>
                    <input id="new_password" name="new_password" type="password"
                        aria-invalid=aria_new.invalid aria-describedby=aria_new.describedby
                        autocomplete="new-password" required minlength="12" maxlength="128"/>
                    <FieldProblem error field="new_password"/>
                    <label for="confirm_password">"Nieuw wachtwoord nogmaals"</label>
                    <input id="confirm_password" name="confirm_password" type="password"
                        autocomplete="new-password" required minlength="12" maxlength="128"/>
                    <button type="submit" class="button primary">"Wachtwoord wijzigen"</button>
                </ActionForm>
            </section>
            <SecondFactors/>
        </Protected>
    }
}

/// Her second factors, each change behind a fresh code.
#[component]
fn SecondFactors() -> impl IntoView {
    let query = use_query_map();
    // Read again after each change: a change's answer comes back to `/account` with a new query.
    let search = leptos_router::hooks::use_location().search;
    let factors = Resource::new(move || search.get(), |_| account_factors());
    let notice = move || {
        query.with(|q| q.get("passkey")).map(|what| {
            let text = if what == "verwijderd" {
                "De passkey is verwijderd."
            } else {
                "De passkey is toegevoegd."
            };
            view! { <div class="form-ok" role="status">{text}</div> }
        })
    };
    view! {
        <section class="card" id="second-factors">
            <h2>"Tweede stap bij inloggen"</h2>
            {notice}
            <Transition fallback=|| view! { <p class="loading">"Laden..."</p> }>
                {move || factors.get().map(|r| r.ok().map(|f| match f.totp_since.clone() {
                    None => view! { <AccountEnrolment/> }.into_any(),
                    Some(since) => view! { <FactorList factors=f since/> }.into_any(),
                }))}
            </Transition>
        </section>
    }
}

#[component]
fn FactorList(factors: FactorsView, since: String) -> impl IntoView {
    let renew = create_renew_recovery_codes_action();
    let renew_error = action_error(renew);
    let remove = create_remove_passkey_action();
    let remove_error = action_error(remove);
    let passkeys = factors.passkeys.clone();
    view! {
        <h3>"Authenticator-app"</h3>
        <p data-testid="totp-status">{format!("Ingesteld op {since}.")}</p>

        <h3>"Herstelcodes"</h3>
        <p data-testid="recovery-left">{format!("U heeft nog {} ongebruikte herstelcodes.", factors.recovery_codes_left)}</p>
        <FormError error=renew_error/>
        <ActionForm action=renew attr:class="stack" attr:id="renew-form">
            <CodeField label="Code uit uw app (ter bevestiging)" error=renew_error id="renew-code"/>
            <button type="submit" class="button secondary">"Nieuwe herstelcodes maken"</button>
        </ActionForm>

        <h3>"Passkeys"</h3>
        {if passkeys.is_empty() {
            view! { <p>"U heeft nog geen passkey."</p> }.into_any()
        } else {
            view! {
                <FormError error=remove_error/>
                <ul class="passkeys">
                    {passkeys.into_iter().map(|p| {
                        let input_id = format!("remove-code-{}", p.id);
                        view! {
                            <li class="passkey" data-testid="passkey">
                                <span class="passkey-name">{p.name.clone()}</span>
                                " "<span class="passkey-date">{format!("toegevoegd op {}", p.added)}</span>
                                <ActionForm action=remove attr:class="inline-form">
                                    <input type="hidden" name="passkey_id" value=p.id.clone()/>
                                    <label for=input_id.clone()>"Code uit uw app"</label>
                                    <input id=input_id name="code" type="text" autocomplete="one-time-code"
                                        inputmode="numeric" required maxlength="20" class="code-input"/>
                                    <button type="submit" class="button secondary">"Verwijderen"</button>
                                </ActionForm>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        // Adding a passkey needs the browser's WebAuthn API (`public/passkeys.js`).
        <form class="stack passkey-only" id="passkey-add-form" data-passkey-register="">
            <label for="passkey-name">"Naam van de passkey (bijvoorbeeld: werktelefoon)"</label>
            <input id="passkey-name" name="name" type="text" required maxlength="60"/>
            <label for="passkey-code">"Code uit uw app"</label>
            <CodeInput id="passkey-code"/>
            <button type="submit" class="button secondary">"Passkey toevoegen"</button>
            <p class="field-problem" data-passkey-error="" role="alert"></p>
        </form>
    }
}

/// Setting up the app on `/account`, where none is required and she has none.
#[component]
fn AccountEnrolment() -> impl IntoView {
    let enrolment = Resource::new(|| (), |_| account_enrolment());
    let action = create_account_enrol_action();
    let error = action_error(action);
    view! {
        <p>"U logt nu in met alleen uw wachtwoord. Stel een authenticator-app in voor een veiligere tweede stap."</p>
        <EnrolmentShown enrolment/>
        <FormError error/>
        <ActionForm action attr:class="stack" attr:id="enrol-form">
            <CodeField label="Code uit de app" error/>
            <button type="submit" class="button primary">"Instellen"</button>
        </ActionForm>
    }
}

/// `/account/herstelcodes`: her new recovery codes, shown once.
#[component]
pub fn RecoveryCodesPage() -> impl IntoView {
    let codes = Resource::new(|| (), |_| recovery_codes());
    let body = move || {
        codes.get().map(|r| {
            let codes = r.unwrap_or_default();
            if codes.is_empty() {
                view! {
                    <p>"Deze herstelcodes zijn al getoond. Kwijt? Maak nieuwe op "<a href="/account">"Mijn account"</a>"."</p>
                }
                .into_any()
            } else {
                view! {
                    <p class="lead">"U bent ingelogd. Dit zijn uw herstelcodes: u ziet ze alleen nu."</p>
                    <ul class="notice-list">
                        <li>"Bewaar ze op een veilige plek, niet op uw telefoon (bijvoorbeeld op papier in uw tas of kluisje)."</li>
                        <li>"Elke code werkt één keer, in plaats van de code uit de app."</li>
                    </ul>
                    <ol class="recovery-codes" data-testid="recovery-codes">
                        {codes.into_iter().map(|c| {
                            // In groups of four digits, as a person copies them.
                            let shown = c.chars().collect::<Vec<_>>().chunks(4)
                                .map(|g| g.iter().collect::<String>())
                                .collect::<Vec<_>>().join(" ");
                            view! { <li><code>{shown}</code></li> }
                        }).collect_view()}
                    </ol>
                    <a class="button primary" href="/">"Ik heb ze bewaard, verder"</a>
                }
                .into_any()
            }
        })
    };
    view! {
        <Title text="Herstelcodes · Ooievaar"/>
        <Protected>
            <h1>"Herstelcodes"</h1>
            <section class="card">
                <Transition fallback=|| view! { <p class="loading">"Laden..."</p> }>{body}</Transition>
            </section>
        </Protected>
    }
}
