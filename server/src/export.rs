//! `GET /audit/export.csv`: the officer's current view of the access log as CSV (DESIGN
//! section 7): UTF-8, RFC 4180 quoting by the `csv` crate, a header row with the log's columns
//! without the hashes, full BSN, newest first, no cell a spreadsheet would run as a formula
//! ([`neutralise`]). The filters are the ones kept in the session
//! (they may hold a BSN, which never goes into a URL).
//!
//! The export is logged (`export`) before the first row is read, and streamed in keyset
//! batches, so memory does not grow with the number of rows.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use backend::review;
use backend::store::{AuditRow, Keyset, ReviewQuery, Store};
use backend::{request, session, AppState};
use domain::error::AppError;
use tower_sessions::Session;

/// The CSV columns, in order.
pub const COLUMNS: [&str; 18] = [
    "id",
    "occurred_at",
    "action",
    "outcome",
    "user_id",
    "user_name",
    "user_role",
    "organisation_id",
    "on_behalf_of",
    "client_id",
    "bsn",
    "source_id",
    "ground",
    "grant_id",
    "detail",
    "ip",
    "user_agent",
    "request_id",
];

pub async fn export_csv(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
) -> Response {
    let meta = request::meta_of(&headers, &extensions);
    match start(&state, &session, meta).await {
        Ok(query) => {
            let stream = futures::stream::try_unfold(
                Batches {
                    store: state.store.clone(),
                    query,
                    header_sent: false,
                    done: false,
                },
                next_batch,
            );
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"toegangslogboek.csv\"",
                    ),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Err(err) => {
            let status = StatusCode::from_u16(err.status_code().as_u16())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = match &err {
                AppError::Validation { field_errors } => field_errors
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.problem))
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => other.to_string(),
            };
            (status, [(header::CACHE_CONTROL, "no-store")], text).into_response()
        }
    }
}

async fn start(
    state: &AppState,
    session: &Session,
    meta: backend::audit::RequestMeta,
) -> Result<ReviewQuery, AppError> {
    let user = session::user_of(state, session)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let filter = review::kept_filter(session).await?;
    review::start_export(&state.store, &user, &filter, meta).await
}

struct Batches {
    store: Store,
    query: ReviewQuery,
    header_sent: bool,
    done: bool,
}

async fn next_batch(mut b: Batches) -> Result<Option<(Bytes, Batches)>, std::io::Error> {
    if b.done {
        return Ok(None);
    }
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(256 * 1024));
    if !b.header_sent {
        writer
            .write_record(COLUMNS)
            .map_err(std::io::Error::other)?;
        b.header_sent = true;
    }
    let rows = b.store.review_page(&b.query).await.map_err(|e| {
        tracing::error!(error = %e, "export batch failed");
        std::io::Error::other("export failed")
    })?;
    if (rows.len() as i64) < b.query.limit {
        b.done = true;
    }
    if let Some(last) = rows.last() {
        b.query.before = Some(Keyset {
            occurred_at: last.event.occurred_at,
            id: last.event.id,
        });
    }
    for row in &rows {
        writer
            .write_record(record(&row.event))
            .map_err(std::io::Error::other)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if bytes.is_empty() {
        return Ok(None);
    }
    Ok(Some((Bytes::from(bytes), b)))
}

/// A cell that a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, tab or
/// carriage return) gets a leading `'` (DESIGN section 7, as OWASP advises for CSV injection):
/// user names, user agents and failed login names are text an outsider chooses.
pub fn neutralise(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// One event as a CSV record; `occurred_at` as RFC 3339 UTC with milliseconds; every cell
/// [`neutralise`]d.
pub fn record(e: &AuditRow) -> [String; 18] {
    record_raw(e).map(neutralise)
}

fn record_raw(e: &AuditRow) -> [String; 18] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(e.occurred_at as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .ok()
        })
        .unwrap_or_default();
    [
        e.id.to_string(),
        at,
        e.action.clone(),
        e.outcome.clone(),
        opt(&e.user_id),
        opt(&e.user_name),
        opt(&e.user_role),
        opt(&e.organisation_id),
        opt(&e.on_behalf_of),
        opt(&e.client_id),
        opt(&e.bsn),
        opt(&e.source_id),
        opt(&e.ground),
        opt(&e.grant_id),
        e.detail.clone(),
        opt(&e.ip),
        opt(&e.user_agent),
        opt(&e.request_id),
    ]
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_cells_get_a_quote_and_others_stay_as_they_are() {
        for cell in [
            "=1+1",
            "+31",
            "-2",
            "@SUM(1)",
            "\tx",
            "\rx",
            "=HYPERLINK(\"a\")",
        ] {
            assert_eq!(neutralise(cell.into()), format!("'{cell}"));
        }
        for cell in [
            "",
            "1",
            "verloskundige",
            "{\"a\":1}",
            "127.0.0.1",
            "a=b",
            "'=x",
        ] {
            assert_eq!(neutralise(cell.into()), cell);
        }
    }
}
