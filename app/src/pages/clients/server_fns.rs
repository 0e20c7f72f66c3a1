//! Server functions of finding and viewing clients. Each checks the session first; the
//! backend (`backend::viewing`) checks the role and enforces the rules.

use crate::domain::client_view::{ClientAccess, ClientSummary, MyClient};
use crate::error::AppError;
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
    use crate::backend::{request, session, viewing};
    // Context is read before anything can wait.
    let state = crate::backend::state::app_state()?;
    let (meta, plain_form) = (
        request::current_meta().await,
        request::is_plain_form_post().await,
    );
    let result = async {
        let user = session::require_user().await?;
        let found = viewing::search(&state.store, &user, &bsn, &birth_date, meta).await?;
        let outcome = SearchOutcome {
            bsn: bsn.trim().to_owned(),
            birth_date: birth_date.trim().to_owned(),
            found,
        };
        // Without JavaScript the browser is sent back to `/`: keep the outcome in the session
        // for that one page (never in the URL).
        if plain_form {
            session::set_flash("search", &outcome).await?;
        }
        Ok(outcome)
    }
    .await;
    crate::pages::form::finish(result).await
}

/// The outcome of the last search posted without JavaScript (shown once).
#[server(endpoint = "last_search")]
pub async fn last_search() -> Result<Option<SearchOutcome>, AppError> {
    use crate::backend::session;
    let result = async {
        session::require_user().await?;
        session::take_flash("search").await
    }
    .await;
    crate::pages::form::finish(result).await
}

/// What `my_clients` answers.
pub type MyClientsResult = Result<Vec<MyClient>, AppError>;

#[server(endpoint = "my_clients")]
pub async fn my_clients() -> Result<Vec<MyClient>, AppError> {
    use crate::backend::{request, session, viewing};
    // Context is read before anything can wait.
    let state = crate::backend::state::app_state()?;
    let meta = request::current_meta().await;
    let result = async {
        let user = session::require_user().await?;
        // The start page asks for every role; only care professionals have clients.
        if !user.role.is_clinical() {
            return Ok(Vec::new());
        }
        // Names and birth dates: an audited read (one `read` event per list shown).
        viewing::my_clients(&state.store, &user, meta).await
    }
    .await;
    crate::pages::form::finish(result).await
}

/// The client page: her data as the role may see it, or nothing without a valid grant.
#[server(endpoint = "client")]
pub async fn client_page(client_id: String) -> Result<ClientAccess, AppError> {
    use crate::backend::{request, session, viewing};
    // Context is read before anything can wait.
    let state = crate::backend::state::app_state()?;
    let meta = request::current_meta().await;
    let result = async {
        let user = session::require_user().await?;
        viewing::view_client(&state.store, &user, &client_id, meta).await
    }
    .await;
    crate::pages::form::finish(result).await
}

/// Requests access once (ground, reason, attestation); then shows the client page.
#[server(endpoint = "request_access")]
pub async fn request_access(
    client_id: String,
    ground: String,
    reason: String,
    attest: Option<String>,
) -> Result<(), AppError> {
    use crate::backend::{request, session, viewing};
    // Context is read before anything can wait.
    let state = crate::backend::state::app_state()?;
    let meta = request::current_meta().await;
    let result = async {
        let user = session::require_user().await?;
        let form = viewing::AccessRequest {
            client_id: &client_id,
            ground: &ground,
            reason: &reason,
            attested: attest.is_some(),
        };
        viewing::request_access(&state.store, &state.settings, &user, form, meta).await?;
        leptos_axum::redirect(&format!("/clients/{client_id}"));
        Ok(())
    }
    .await;
    crate::pages::form::finish(result).await
}

/// Ends the user's own grant for the client.
#[server(endpoint = "end_grant")]
pub async fn end_grant(client_id: String) -> Result<(), AppError> {
    use crate::backend::{request, session, viewing};
    // Context is read before anything can wait.
    let state = crate::backend::state::app_state()?;
    let meta = request::current_meta().await;
    let result = async {
        let user = session::require_user().await?;
        viewing::end_own_grant(&state.store, &user, &client_id, meta).await?;
        leptos_axum::redirect("/");
        Ok(())
    }
    .await;
    crate::pages::form::finish(result).await
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
