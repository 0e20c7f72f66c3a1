//! Server functions of the privacy officer's pages. Each checks the session; the backend
//! (`backend::review`) checks the role, the scope and the input, and logs.

// The filter form has eight fields; the macro's client stub cannot carry an item attribute.
#![allow(clippy::too_many_arguments)]

#[cfg(feature = "ssr")]
use crate::domain::audit_view::ReviewFilter;
use crate::domain::audit_view::{ClientOverview, ReviewPage};
use crate::error::AppError;
use leptos::prelude::*;

/// The session key of the officer's current filters (they may hold a BSN: never in a URL).
#[cfg(feature = "ssr")]
pub const FILTER_KEY: &str = "audit_filter";
#[cfg(feature = "ssr")]
const OVERVIEW_KEY: &str = "client_overview";

/// Sets the filters of `/audit` (validated first; nothing is kept when they are wrong).
#[server(endpoint = "audit_filter")]
pub async fn set_audit_filter(
    from: String,
    until: String,
    bsn: String,
    user: String,
    organisation: String,
    action: String,
    ground: String,
    flagged: Option<String>,
) -> Result<(), AppError> {
    use crate::backend::{review, session};
    let result = async {
        let officer = session::require_role(&[crate::domain::Role::PrivacyOfficer]).await?;
        let filter = ReviewFilter {
            from,
            until,
            bsn,
            user,
            organisation,
            action,
            ground,
            flagged: flagged.is_some(),
        };
        review::review_query(&officer, &filter)?;
        session::keep(FILTER_KEY, &filter).await?;
        leptos_axum::redirect("/audit");
        Ok(())
    }
    .await;
    crate::pages::form::finish(result).await
}

/// Clears the filters of `/audit`.
#[server(endpoint = "audit_filter_clear")]
pub async fn clear_audit_filter() -> Result<(), AppError> {
    use crate::backend::session;
    let result = async {
        session::require_role(&[crate::domain::Role::PrivacyOfficer]).await?;
        session::keep(FILTER_KEY, &ReviewFilter::default()).await?;
        leptos_axum::redirect("/audit");
        Ok(())
    }
    .await;
    crate::pages::form::finish(result).await
}

/// One page of the review with the kept filters, from the keyset `before` (older pages).
#[server(endpoint = "audit_page")]
pub async fn audit_page(before: Option<String>) -> Result<ReviewPage, AppError> {
    use crate::backend::{request, review, session};
    // Context is read before anything can wait.
    let state = crate::backend::state::app_state()?;
    let meta = request::current_meta().await;
    let result = async {
        let officer = session::require_user().await?;
        let filter: ReviewFilter = session::kept(FILTER_KEY).await?.unwrap_or_default();
        review::page(&state.store, &officer, &filter, before.as_deref(), meta).await
    }
    .await;
    crate::pages::form::finish(result).await
}

/// Marks a flagged event reviewed, with a note.
#[server(endpoint = "audit_review")]
pub async fn review_flag(event_id: String, note: String) -> Result<(), AppError> {
    use crate::backend::{request, review, session};
    let state = crate::backend::state::app_state()?;
    let meta = request::current_meta().await;
    let result = async {
        let officer = session::require_user().await?;
        let event_id: i64 = event_id
            .trim()
            .parse()
            .map_err(|_| AppError::field("event_id", "geen geldig gebeurtenisnummer"))?;
        review::mark_reviewed(&state.store, &officer, event_id, &note, meta).await?;
        leptos_axum::redirect("/audit");
        Ok(())
    }
    .await;
    crate::pages::form::finish(result).await
}

/// Revokes a grant of a user of the officer's organisation.
#[server(endpoint = "audit_revoke")]
pub async fn revoke_grant(grant_id: String, reason: String) -> Result<(), AppError> {
    use crate::backend::{request, review, session};
    let state = crate::backend::state::app_state()?;
    let meta = request::current_meta().await;
    let result = async {
        let officer = session::require_user().await?;
        review::revoke(&state.store, &officer, &grant_id, &reason, meta).await?;
        leptos_axum::redirect("/audit");
        Ok(())
    }
    .await;
    crate::pages::form::finish(result).await
}

/// Asks for a client's overview; the overview page then shows it (the BSN stays in the
/// session, never in the URL).
#[server(endpoint = "audit_overview_request")]
pub async fn request_overview(bsn: String, from: String, until: String) -> Result<(), AppError> {
    use crate::backend::{request, review, session};
    let state = crate::backend::state::app_state()?;
    let meta = request::current_meta().await;
    let result = async {
        let officer = session::require_user().await?;
        // Refused here, beside the form, with the reason (and logged); the overview page
        // checks again when it generates.
        review::authorize_overview(&state.store, &officer, &bsn, &from, &until, &meta).await?;
        session::keep(OVERVIEW_KEY, &(bsn, from, until)).await?;
        leptos_axum::redirect("/audit/overzicht");
        Ok(())
    }
    .await;
    crate::pages::form::finish(result).await
}

/// The client overview last asked for (generated, and logged, on every call).
#[server(endpoint = "audit_overview")]
pub async fn overview_for_client() -> Result<Option<ClientOverview>, AppError> {
    use crate::backend::{request, review, session};
    let state = crate::backend::state::app_state()?;
    let meta = request::current_meta().await;
    let result = async {
        let officer = session::require_user().await?;
        let Some((bsn, from, until)) =
            session::kept::<(String, String, String)>(OVERVIEW_KEY).await?
        else {
            session::require_role(&[crate::domain::Role::PrivacyOfficer]).await?;
            return Ok(None);
        };
        review::overview(&state.store, &officer, &bsn, &from, &until, meta)
            .await
            .map(Some)
    }
    .await;
    crate::pages::form::finish(result).await
}
