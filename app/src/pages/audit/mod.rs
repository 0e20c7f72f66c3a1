//! `/audit`: the privacy officer's page. For now it shows the state of the log's hash chain;
//! reviewing and exporting events follows with the privacy-officer issue.

use crate::components::Protected;
use crate::domain::Role;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainView {
    pub events: i64,
    /// The first broken event, if any.
    pub broken_at: Option<i64>,
}

/// Verifies the access log's hash chain (privacy officer only).
#[server(endpoint = "audit_chain")]
pub async fn chain_status() -> Result<ChainView, AppError> {
    use crate::backend::session;
    use crate::backend::store::VerifyReport;
    let state = crate::backend::state::app_state()?;
    crate::pages::form::finish(
        async {
            session::require_role(&[Role::PrivacyOfficer]).await?;
            let report = state.store.verify_audit_chain().await?;
            Ok(match report {
                VerifyReport::Intact { events } => ChainView {
                    events,
                    broken_at: None,
                },
                VerifyReport::Broken {
                    event_id, checked, ..
                } => ChainView {
                    events: checked,
                    broken_at: Some(event_id),
                },
            })
        }
        .await,
    )
    .await
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| chain_status());
    view! {
        <Protected roles=&[Role::PrivacyOfficer]>
            <h1>"Toegangslogboek"</h1>
            <Suspense fallback=|| view! { <p>"Controleren..."</p> }>
                {move || status.get().map(|r| match r {
                    Err(e) => view! { <crate::components::ErrorNotice error=e/> }.into_any(),
                    Ok(ChainView { events, broken_at: None }) => view! {
                        <section class="card chain-ok" data-testid="chain-status">
                            <h2>"Logboek onaangetast"</h2>
                            <p>{format!("De hashketen van alle {events} gebeurtenissen is gecontroleerd en intact.")}</p>
                        </section>
                    }.into_any(),
                    Ok(ChainView { broken_at: Some(id), .. }) => view! {
                        <section class="card notice-error" data-testid="chain-status" role="alert">
                            <h2>"Logboek beschadigd"</h2>
                            <p>{format!("De hashketen is verbroken bij gebeurtenis {id}. Meld dit direct aan de beheerder.")}</p>
                        </section>
                    }.into_any(),
                })}
            </Suspense>
        </Protected>
    }
}
