//! The follow-up of a spoed access (issue 14, item 7; seed document 002: "informeer achteraf"):
//! the holder's standing notice on the client page ([`SpoedInformNotice`]) and the start-page
//! list of the sharing organisations' users ([`SpoedList`]). Both buttons are plain forms
//! (`ActionForm`): without JavaScript the post redirects back to the page.

mod server_fns;

pub use server_fns::*;

use crate::components::FormError;
use crate::pages::form::action_error;
use domain::spoed::{SpoedItem, SpoedNotice};
use leptos::prelude::*;

/// The standing notice on the client page for the holder of a spoed grant who viewed the
/// client and has not yet informed her afterwards; renders nothing otherwise. The notice comes
/// with the page (`ClientPage::spoed_notice`, read by the view's own statement); its action
/// is made once by the client page at its top (an action made inside the page's reactive
/// body would be made again on hydration and no longer match).
#[derive(Clone, Copy)]
pub struct SpoedNoticeState {
    informed: ServerAction<SpoedInformed>,
}

impl SpoedNoticeState {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            informed: create_spoed_informed_action(),
        }
    }
}

#[component]
pub fn SpoedInformNotice(state: SpoedNoticeState, notice: Option<SpoedNotice>) -> impl IntoView {
    let SpoedNoticeState { informed } = state;
    let error = action_error(informed);
    notice.map(|n| {
        view! {
            <section class="card notice spoed-notice" role="status" data-testid="spoed-notice">
                <p>
                    <strong>"U heeft deze cliënt met spoed ingezien"</strong>
                    {(!n.viewed_at.is_empty()).then(|| format!(" (op {})", n.viewed_at))}
                    ". Informeer haar achteraf over deze inzage."
                </p>
                <FormError error/>
                <ActionForm action=informed attr:class="spoed-informed-form">
                    <input type="hidden" name="grant_id" value=n.grant_id.to_string()/>
                    <button type="submit" class="button primary">"Gedaan: cliënt geïnformeerd"</button>
                </ActionForm>
            </section>
        }
    })
}

/// The start page's list of recent spoed access to the clients of the user's organisation,
/// each until one of its users marks it seen; renders nothing when there is none.
/// The start page's spoed list: its action and resource, made once by the page (a resource
/// made inside a reactive body would be made again on hydration and no longer match the
/// server's HTML).
#[derive(Clone, Copy)]
pub struct SpoedListState {
    seen: ServerAction<SpoedSeen>,
    list: Resource<Result<Vec<SpoedItem>, domain::error::AppError>>,
}

impl SpoedListState {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let seen = create_spoed_seen_action();
        let list = Resource::new(move || seen.version().get(), |_| spoed_accesses());
        Self { seen, list }
    }
}

#[component]
pub fn SpoedList(state: SpoedListState) -> impl IntoView {
    let SpoedListState { seen, list } = state;
    let error = action_error(seen);
    let body = move || {
        list.get().and_then(|r| r.ok()).filter(|l| !l.is_empty()).map(|items| {
            view! {
                <section class="card spoed-list" data-testid="spoed-list" aria-labelledby="spoed-list-title">
                    <h2 id="spoed-list-title">"Spoedinzage bij uw cliënten"</h2>
                    <p class="lead">
                        "Deze zorgverleners hebben met spoed toegang genomen tot cliënten die uw organisatie deelt. "
                        "Markeer een melding als gezien: dan verdwijnt zij voor iedereen van uw organisatie."
                    </p>
                    <FormError error/>
                    <ul class="client-list">
                        {items.into_iter().map(|item| view! { <SpoedRow item seen/> }).collect_view()}
                    </ul>
                </section>
            }
        })
    };
    view! { <Transition fallback=|| ()>{body}</Transition> }
}

#[component]
fn SpoedRow(item: SpoedItem, seen: ServerAction<SpoedSeen>) -> impl IntoView {
    view! {
        <li class="spoed-item" data-testid="spoed-item">
            <p>
                <span class="client-name">{item.client_name}</span>
                <span class="muted">{format!(" geboren {}", item.client_birth_date)}</span>
            </p>
            <p>
                {format!(
                    "Ingezien op {} door {} ({}, {}).",
                    item.viewed_at, item.holder_name, item.holder_role, item.holder_organisation
                )}
            </p>
            <p>"Reden: " <q>{item.reason}</q></p>
            <ActionForm action=seen attr:class="spoed-seen-form">
                <input type="hidden" name="grant_id" value=item.grant_id.to_string()/>
                <button type="submit" class="button secondary-dark">"Gezien"</button>
            </ActionForm>
        </li>
    }
}
