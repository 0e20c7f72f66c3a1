//! Server functions of the privacy officer's pages. Each checks the session; the backend
//! (`backend::review`) checks the role, the scope and the input, and logs.

// The filter form has eight fields; the macro's client stub cannot carry an item attribute.
#![allow(clippy::too_many_arguments)]

#[cfg(feature = "ssr")]
use crate::context::{as_user, Allowed};
#[cfg(feature = "ssr")]
use domain::audit_view::ReviewFilter;
use domain::audit_view::{ClientOverview, ReviewPage};
use domain::error::AppError;
use leptos::prelude::*;

/// Only the privacy officer works on these pages (the backend checks again, with her scope).
#[cfg(feature = "ssr")]
const OFFICER: Allowed = Allowed::Roles(&[domain::Role::PrivacyOfficer]);

/// The session key of the client overview asked for (it holds a BSN: never in a URL).
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
    as_user(OFFICER, |call, officer| async move {
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
        backend::review::review_query(&officer, &filter)?;
        backend::review::keep_filter(&call.session, &filter).await?;
        leptos_axum::redirect("/audit");
        Ok(())
    })
    .await
}

/// Clears the filters of `/audit`.
#[server(endpoint = "audit_filter_clear")]
pub async fn clear_audit_filter() -> Result<(), AppError> {
    as_user(OFFICER, |call, _| async move {
        backend::review::keep_filter(&call.session, &ReviewFilter::default()).await?;
        leptos_axum::redirect("/audit");
        Ok(())
    })
    .await
}

/// One page of the review with the kept filters, from the keyset `before` (older pages).
#[server(endpoint = "audit_page")]
pub async fn audit_page(before: Option<String>) -> Result<ReviewPage, AppError> {
    as_user(Allowed::AnyUser, |call, officer| async move {
        let filter = backend::review::kept_filter(&call.session).await?;
        backend::review::page(
            &call.state.store,
            &officer,
            &filter,
            before.as_deref(),
            call.meta,
        )
        .await
    })
    .await
}

/// Marks a flagged event reviewed, with a note.
#[server(endpoint = "audit_review")]
pub async fn review_flag(event_id: String, note: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, officer| async move {
        let event_id: i64 = event_id
            .trim()
            .parse()
            .map_err(|_| AppError::field("event_id", "geen geldig gebeurtenisnummer"))?;
        backend::review::mark_reviewed(&call.state.store, &officer, event_id, &note, call.meta)
            .await?;
        leptos_axum::redirect("/audit");
        Ok(())
    })
    .await
}

/// Revokes a grant of a user of the officer's organisation.
#[server(endpoint = "audit_revoke")]
pub async fn revoke_grant(grant_id: String, reason: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, officer| async move {
        let grant_id = domain::GrantId::from(grant_id);
        backend::review::revoke(&call.state.store, &officer, &grant_id, &reason, call.meta).await?;
        leptos_axum::redirect("/audit");
        Ok(())
    })
    .await
}

/// Asks for a client's overview; the overview page then shows it (the BSN stays in the
/// session, never in the URL).
#[server(endpoint = "audit_overview_request")]
pub async fn request_overview(bsn: String, from: String, until: String) -> Result<(), AppError> {
    as_user(Allowed::AnyUser, |call, officer| async move {
        // Refused here, beside the form, with the reason (and logged); the overview page
        // checks again when it generates.
        backend::review::authorize_overview(
            &call.state.store,
            &officer,
            &bsn,
            &from,
            &until,
            &call.meta,
        )
        .await?;
        backend::session::keep(&call.session, OVERVIEW_KEY, &(bsn, from, until)).await?;
        leptos_axum::redirect("/audit/overzicht");
        Ok(())
    })
    .await
}

/// The client overview last asked for (generated, and logged, on every call).
#[server(endpoint = "audit_overview")]
pub async fn overview_for_client() -> Result<Option<ClientOverview>, AppError> {
    as_user(Allowed::AnyUser, |call, officer| async move {
        let kept =
            backend::session::kept::<(String, String, String)>(&call.session, OVERVIEW_KEY).await?;
        let Some((bsn, from, until)) = kept else {
            backend::session::require_role(officer, &[domain::Role::PrivacyOfficer])?;
            return Ok(None);
        };
        backend::review::overview(&call.state.store, &officer, &bsn, &from, &until, call.meta)
            .await
            .map(Some)
    })
    .await
}
