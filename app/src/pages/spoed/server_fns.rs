//! Server functions of the spoed follow-up (issue 14, item 7). Each checks the session; the
//! backend (`backend::spoed`) checks the role and enforces the rules.

#[cfg(feature = "ssr")]
use crate::context::{as_user, Allowed};
use domain::error::AppError;
use domain::spoed::{SpoedItem, SpoedNotice};
use leptos::prelude::*;

/// The standing notice on its own (`None`: nothing to do); the client page has it from its
/// view (`ClientPage::spoed_notice`).
#[server(endpoint = "spoed_notice")]
pub async fn pending_spoed_notice(client_id: String) -> Result<Option<SpoedNotice>, AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let client_id = domain::ClientId::from(client_id);
        backend::spoed::notice(&call.state.store, &user, &client_id).await
    })
    .await
}

/// "Gedaan: cliënt geïnformeerd" for the user's own spoed grant; back to the client page.
#[server(endpoint = "spoed_informed")]
pub async fn spoed_informed(grant_id: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        let client_id =
            backend::spoed::mark_informed(&call.state.store, &user, &grant_id, call.meta).await?;
        leptos_axum::redirect(&format!("/clients/{client_id}"));
        Ok(())
    })
    .await
}

/// The start page's list of recent spoed access to the organisation's clients (an audited
/// read; empty for roles without it).
#[server(endpoint = "spoed_list")]
pub async fn spoed_accesses() -> Result<Vec<SpoedItem>, AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        // The start page asks for every role; the administrator has no such list.
        if !backend::spoed::sees_spoed_list(user.role) {
            return Ok(Vec::new());
        }
        backend::spoed::list(&call.state.store, &user, call.meta).await
    })
    .await
}

/// "Gezien": gone from the start page of everyone of the user's organisation; back to `/`.
#[server(endpoint = "spoed_seen")]
pub async fn spoed_seen(grant_id: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, user| async move {
        backend::spoed::mark_seen(&call.state.store, &user, &grant_id, call.meta).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}

pub fn create_spoed_informed_action() -> ServerAction<SpoedInformed> {
    ServerAction::<SpoedInformed>::new()
}

pub fn create_spoed_seen_action() -> ServerAction<SpoedSeen> {
    ServerAction::<SpoedSeen>::new()
}
