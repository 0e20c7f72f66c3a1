//! The second step of a login: `/login/code` (a code, a recovery code or a passkey) and
//! `/login/instellen` (setting up the authenticator app at the first login). Neither shows
//! her name: until the step succeeds nobody is logged in.

use super::{
    create_login_code_action, create_login_enrol_action, create_logout_action, login_enrolment,
    PendingStep,
};
use crate::components::{field_aria, use_shell, FieldProblem, FormError};
use crate::pages::form::action_error;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// Sends the browser where it belongs unless the session waits for `step`: logged in to `/`,
/// another step to its page, nothing pending to the password.
///
/// Only while the browser is still on the step's page: when a step's answer has sent it on
/// (to the recovery codes, or back to the password with a notice), the shell refetched for the
/// new page must not redirect once more from the page being left.
#[component]
fn OnlyWhilePending(step: PendingStep) -> impl IntoView {
    let shell = use_shell();
    let location = use_location();
    let elsewhere = move || {
        if location.pathname.get() != step.path() {
            return None;
        }
        shell.current().and_then(|s| s.ok()).and_then(|s| {
            let path = match (s.user, s.pending) {
                (Some(_), _) => "/",
                (None, Some(p)) if p == step => return None,
                (None, Some(p)) => p.path(),
                (None, None) => "/login",
            };
            Some(view! { <Redirect path=path/> })
        })
    };
    view! { <Transition fallback=|| ()>{elsewhere}</Transition> }
}

/// The input every code form shares: digits, the numeric keypad, and the browser may fill in
/// a code it received. With `error`, it is linked to the `code` field's problem ([`field_aria`]).
#[component]
pub fn CodeInput(
    #[prop(optional)] id: Option<&'static str>,
    #[prop(optional, into)] error: Option<Signal<Option<domain::error::AppError>>>,
) -> impl IntoView {
    let id = id.unwrap_or("code");
    let aria = field_aria(error.unwrap_or_else(|| Signal::stored(None)), "code");
    view! {
        <input id=id name="code" type="text" autocomplete="one-time-code" inputmode="numeric"
            aria-invalid=aria.invalid aria-describedby=aria.describedby
            pattern="[0-9 \\-]*" required maxlength="20" autocapitalize="none" spellcheck="false"
            class="code-input"/>
    }
}

/// The `code` field with its label and its problem, as every code form has it.
#[component]
pub fn CodeField(
    label: &'static str,
    #[prop(into)] error: Signal<Option<domain::error::AppError>>,
    #[prop(optional)] id: Option<&'static str>,
) -> impl IntoView {
    let id = id.unwrap_or("code");
    view! {
        <label for=id>{label}</label>
        <CodeInput id error/>
        <FieldProblem error field="code"/>
    }
}

/// The enrolment's QR code and secret once they have come.
#[component]
pub fn EnrolmentShown(
    enrolment: Resource<Result<super::EnrolmentView, domain::error::AppError>>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="loading">"Laden..."</p> }>
            {move || enrolment.get().map(|r| r.ok().map(|e| view! { <EnrolmentSteps secret=e.secret qr_svg=e.qr_svg/> }))}
        </Transition>
    }
}

/// Back to the password (ends the half login).
#[component]
fn BackToPassword() -> impl IntoView {
    let logout = create_logout_action();
    view! {
        <ActionForm action=logout attr:class="step-back">
            <button type="submit" class="button link">"Terug naar inloggen"</button>
        </ActionForm>
    }
}

#[component]
pub fn CodePage() -> impl IntoView {
    let action = create_login_code_action();
    let error = action_error(action);
    view! {
        <Title text="Tweede stap · Ooievaar"/>
        <OnlyWhilePending step=PendingStep::Code/>
        <section class="card login-card">
            <h1>"Tweede stap"</h1>
            <p class="lead">"Vul de code van 6 cijfers uit uw authenticator-app in. Geen telefoon bij de hand? Gebruik een van uw herstelcodes."</p>
            <FormError error/>
            <ActionForm action attr:class="stack" attr:id="code-form">
                <CodeField label="Code" error/>
                <button type="submit" class="button primary">"Bevestigen"</button>
            </ActionForm>
            // Shown only where the browser can use passkeys (`public/passkeys.js`).
            <div class="passkey-only stack">
                <p>"Of gebruik een passkey op dit apparaat:"</p>
                <button type="button" class="button secondary" data-passkey-login="">"Inloggen met passkey"</button>
                <p class="field-problem" data-passkey-error="" role="alert"></p>
            </div>
            <BackToPassword/>
        </section>
    }
}

#[component]
pub fn EnrolPage() -> impl IntoView {
    let action = create_login_enrol_action();
    let error = action_error(action);
    let enrolment = Resource::new(|| (), |_| login_enrolment());
    view! {
        <Title text="Tweede stap instellen · Ooievaar"/>
        <OnlyWhilePending step=PendingStep::Enrol/>
        <section class="card login-card">
            <h1>"Tweede stap instellen"</h1>
            <p class="lead">"Ooievaar vraagt bij elke keer inloggen, naast uw wachtwoord, een code uit een authenticator-app op uw telefoon. Stel die nu eenmalig in."</p>
            <EnrolmentShown enrolment/>
            <FormError error/>
            <ActionForm action attr:class="stack" attr:id="enrol-form">
                <CodeField label="Code uit de app" error/>
                <button type="submit" class="button primary">"Bevestigen en inloggen"</button>
            </ActionForm>
            <BackToPassword/>
        </section>
    }
}

/// The QR code and the secret as text, with what to do.
#[component]
pub fn EnrolmentSteps(secret: String, qr_svg: String) -> impl IntoView {
    view! {
        <ol class="enrol-steps">
            <li>"Open een authenticator-app (bijvoorbeeld Microsoft Authenticator, Google Authenticator of FreeOTP)."</li>
            <li>"Scan deze QR-code:"
                <div class="qr" role="img" aria-label="QR-code voor de authenticator-app" inner_html=qr_svg></div>
            </li>
            <li>"Lukt scannen niet? Typ dan deze sleutel over: "
                <code id="totp-secret" class="secret">{secret}</code>
            </li>
            <li>"Vul hieronder de code van 6 cijfers in die de app nu toont."</li>
        </ol>
    }
}
