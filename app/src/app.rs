//! The HTML shell, the route table and the page frame (header, navigation, DEMO marker).

use crate::components::Frame;
use crate::pages::{
    account::AccountPage, audit::AuditPage, auth::LoginPage, home::HomePage, policy::PolicyPage,
    users::UsersPage,
};
use domain::error::AppError;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="nl">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                // Islands mode: loads the bundle when the browser is idle (off the critical path)
                // and hydrates only the `#[island]` components on the page.
                <HydrationScripts options islands=true/>
                // Passkeys (WebAuthn) need the browser's API; everything else works without it.
                <script src="/passkeys.js" defer></script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/ooievaar.css"/>
        <Title text="Ooievaar"/>
        // Async rendering: a page is sent only when complete, so redirects (not logged in) and
        // status codes (403, 404) are real HTTP answers, and no half page is ever shown.
        <Router>
            <Frame>
                <Routes fallback=|| view! { <crate::components::ErrorNotice error=AppError::NotFound/> }>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/login/code") view=crate::pages::auth::CodePage ssr=SsrMode::Async/>
                    <Route path=path!("/login/instellen") view=crate::pages::auth::EnrolPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/herstelcodes") view=crate::pages::account::RecoveryCodesPage ssr=SsrMode::Async/>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/clients/:id") view=crate::pages::clients::ClientPageView ssr=SsrMode::Async/>
                    <Route path=path!("/clients/:id/afdrukken") view=crate::pages::clients::ClientPrintView ssr=SsrMode::Async/>
                    <Route path=path!("/policy") view=PolicyPage ssr=SsrMode::Async/>
                    <Route path=path!("/gebruikers") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit/overzicht") view=crate::pages::audit::OverviewPage ssr=SsrMode::Async/>
                </Routes>
            </Frame>
        </Router>
    }
}
