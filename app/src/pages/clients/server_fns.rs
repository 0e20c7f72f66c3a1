//! Server functions of finding and viewing clients. Each checks the session first; the
//! backend (`backend::viewing`) checks the role and enforces the rules.

#[cfg(feature = "ssr")]
use crate::context::{as_user, Allowed};
use domain::client_view::{ClientAccess, ClientSummary, MyClient};
use domain::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A search as the page shows it: the input echoed and the hit, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchOutcome {
    pub bsn: String,
    pub birth_date: String,
    pub found: Option<ClientSummary>,
}

/// Finds a client by BSN and birth date (a POST: the BSN never lands in a URL).
#[server(endpoint = "search")]
pub async fn search_client(bsn: String, birth_date: String) -> Result<SearchOutcome, AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let plain_form = crate::context::is_plain_form_post().await;
        let found =
            backend::viewing::search(&call.state.store, &user, &bsn, &birth_date, call.meta)
                .await?;
        let outcome = SearchOutcome {
            bsn: bsn.trim().to_owned(),
            birth_date: birth_date.trim().to_owned(),
            found,
        };
        // Without JavaScript the browser is sent back to `/`: keep the outcome in the session
        // for that one page (never in the URL).
        if plain_form {
            backend::session::set_flash(&call.session, "search", &outcome).await?;
        }
        Ok(outcome)
    })
    .await
}

/// The outcome of the last search posted without JavaScript (shown once).
#[server(endpoint = "last_search")]
pub async fn last_search() -> Result<Option<SearchOutcome>, AppError> {
    as_user(Allowed::AnyUser, |call, _| async move {
        backend::session::take_flash(&call.session, "search").await
    })
    .await
}

/// What `my_clients` answers.
pub type MyClientsResult = Result<Vec<MyClient>, AppError>;

#[server(endpoint = "my_clients")]
pub async fn my_clients() -> Result<Vec<MyClient>, AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        // The start page asks for every role; only care professionals have clients.
        if !user.role.is_clinical() {
            return Ok(Vec::new());
        }
        // Names and birth dates: an audited read (one `read` event per list shown).
        backend::viewing::my_clients(&call.state.store, &user, call.meta).await
    })
    .await
}

/// The client page: her data as the role may see it, or nothing without a valid grant.
#[server(endpoint = "client")]
pub async fn client_page(client_id: String) -> Result<ClientAccess, AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let client_id = domain::ClientId::from(client_id);
        let purpose = backend::viewing::Purpose::Screen;
        backend::viewing::view_client(&call.state.store, &user, &client_id, purpose, call.meta)
            .await
    })
    .await
}

/// The client page for printing: the same data, logged as `print` (NEN 7513).
#[server(endpoint = "client_print")]
pub async fn client_print(client_id: String) -> Result<ClientAccess, AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let client_id = domain::ClientId::from(client_id);
        let purpose = backend::viewing::Purpose::Print;
        backend::viewing::view_client(&call.state.store, &user, &client_id, purpose, call.meta)
            .await
    })
    .await
}

/// Requests access once (ground, reason, attestation); then shows the client page.
#[server(endpoint = "request_access")]
pub async fn request_access(
    client_id: String,
    ground: String,
    reason: String,
    attest: Option<String>,
) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let client_id = domain::ClientId::from(client_id);
        let form = backend::viewing::AccessRequest {
            client_id: &client_id,
            ground: &ground,
            reason: &reason,
            attested: attest.is_some(),
        };
        backend::viewing::request_access(
            &call.state.store,
            &call.state.settings,
            &user,
            form,
            call.meta,
        )
        .await?;
        leptos_axum::redirect(&format!("/clients/{client_id}"));
        Ok(())
    })
    .await
}

/// Ends the user's own grant for the client.
#[server(endpoint = "end_grant")]
pub async fn end_grant(client_id: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let client_id = domain::ClientId::from(client_id);
        backend::viewing::end_own_grant(&call.state.store, &user, &client_id, call.meta).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

pub fn create_search_action() -> ServerAction<SearchClient> {
    ServerAction::<SearchClient>::new()
}

pub fn create_request_access_action() -> ServerAction<RequestAccess> {
    ServerAction::<RequestAccess>::new()
}

pub fn create_end_grant_action() -> ServerAction<EndGrant> {
    ServerAction::<EndGrant>::new()
}
