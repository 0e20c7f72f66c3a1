//! `/audit` (privacy officer): the access log in her scope with filters and keyset pages,
//! flagged events to review, her organisation's active grants to revoke, the export, the
//! client overview, and the state of the log's hash chain. `/audit/overzicht` is the printable
//! client overview.

mod overview;
mod server_fns;

pub use overview::OverviewPage;
pub use server_fns::*;

use crate::components::{field_aria, FieldProblem, FormError, Protected};
use crate::pages::form::action_error;
use domain::audit_view::{ChainState, EventView, OrganisationGrant, ReviewFilter, ReviewPage};
use domain::format::count;
use domain::grant::Ground;
use domain::{AuditAction, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filter_action = ServerAction::<SetAuditFilter>::new();
    let clear_action = ServerAction::<ClearAuditFilter>::new();
    let review_action = ServerAction::<ReviewFlag>::new();
    let revoke_action = ServerAction::<RevokeGrant>::new();
    let overview_action = ServerAction::<RequestOverview>::new();
    let page = Resource::new(
        move || {
            (
                query.with(|q| q.get("voor")),
                filter_action.version().get(),
                clear_action.version().get(),
                review_action.version().get(),
                revoke_action.version().get(),
            )
        },
        |(before, ..)| audit_page(before),
    );
    let actions = Actions {
        filter: filter_action,
        clear: clear_action,
        review: review_action,
        revoke: revoke_action,
        overview: overview_action,
    };
    view! {
        <Title text="Toegangslogboek · Ooievaar"/>
        <Protected roles=&[Role::PrivacyOfficer]>
            <h1>"Toegangslogboek"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Laden..."</p> }>
                {move || page.get().map(|r| match r {
                    Err(e) => view! {
                        <crate::components::ErrorNotice error=e/>
                        <FilterForm actions filter=ReviewFilter::default()/>
                    }.into_any(),
                    Ok(p) => view! { <AuditView page=p actions/> }.into_any(),
                })}
            </Suspense>
        </Protected>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    filter: ServerAction<SetAuditFilter>,
    clear: ServerAction<ClearAuditFilter>,
    review: ServerAction<ReviewFlag>,
    revoke: ServerAction<RevokeGrant>,
    overview: ServerAction<RequestOverview>,
}

#[component]
fn AuditView(page: ReviewPage, actions: Actions) -> impl IntoView {
    let ReviewPage {
        filter,
        events,
        next,
        chain,
        grants,
    } = page;
    let filtered = !filter.is_empty();
    view! {
        <ChainCard chain/>
        <FilterForm actions filter/>
        <section class="card">
            <div class="table-head">
                <h2>{if filtered { "Gebeurtenissen (gefilterd)" } else { "Gebeurtenissen" }}</h2>
                <a class="button secondary-dark" href="/audit/export.csv" rel="external" download="toegangslogboek.csv"
                    data-testid="export">"Exporteer als CSV"</a>
            </div>
            <FormError error=action_error(actions.review)/>
            {if events.is_empty() {
                view! { <p class="muted" data-testid="no-events">"Geen gebeurtenissen die aan de filters voldoen."</p> }.into_any()
            } else {
                view! { <EventTable events actions/> }.into_any()
            }}
            {next.map(|n| view! {
                <a class="button secondary-dark" href=format!("/audit?voor={n}") data-testid="older">"Oudere gebeurtenissen"</a>
            })}
        </section>
        <OverviewForm actions/>
        <GrantsCard grants actions/>
    }
}

#[component]
fn ChainCard(chain: ChainState) -> impl IntoView {
    let full = match (chain.last_full, chain.last_full_events) {
        (Some(at), Some(n)) => format!(
            "Laatste volledige controle: {at} ({} gebeurtenissen).",
            count(n)
        ),
        _ => "Nog geen volledige controle gedaan (met ooievaar audit verify).".into(),
    };
    let checkpoint = match chain.checkpoint {
        Some((id, at)) => format!("Laatste ondertekende controlepunt: gebeurtenis #{id}, {at}."),
        None => "Nog geen ondertekend controlepunt.".into(),
    };
    match chain.broken_at {
        None => view! {
            <section class="card chain-ok" data-testid="chain-status">
                <h2>"Logboek intact"</h2>
                <p>{format!("De hashketen van alle {} gebeurtenissen is intact: er is niets gewijzigd of verwijderd.", count(chain.events))}</p>
                <p class="muted">{full} " " {checkpoint}</p>
            </section>
        }
        .into_any(),
        Some(id) => view! {
            <section class="card notice-error" data-testid="chain-status" role="alert">
                <h2>"Logboek beschadigd"</h2>
                <p>{format!("De hashketen is verbroken bij gebeurtenis #{id}. Meld dit direct aan de beheerder.")}</p>
                <p>{full} " " {checkpoint}</p>
            </section>
        }
        .into_any(),
    }
}

#[component]
fn FilterForm(actions: Actions, filter: ReviewFilter) -> impl IntoView {
    let error = action_error(actions.filter);
    let selected = |current: &str, value: &str| current == value;
    let [aria_from, aria_until, aria_bsn, aria_user, aria_organisation, aria_action, aria_ground] =
        [
            "from",
            "until",
            "bsn",
            "user",
            "organisation",
            "action",
            "ground",
        ]
        .map(|f| field_aria(error, f));
    view! {
        <section class="card">
            <h2>"Filteren"</h2>
            <FormError error/>
            <ActionForm action=actions.filter attr:class="filter-form" attr:id="audit-filter">
                <div class="field">
                    <label for="f-from">"Vanaf"</label>
                    <input id="f-from" aria-invalid=aria_from.invalid aria-describedby=aria_from.describedby name="from" type="date" value=filter.from.clone()/>
                    <FieldProblem error field="from"/>
                </div>
                <div class="field">
                    <label for="f-until">"Tot en met"</label>
                    <input id="f-until" aria-invalid=aria_until.invalid aria-describedby=aria_until.describedby name="until" type="date" value=filter.until.clone()/>
                    <FieldProblem error field="until"/>
                </div>
                <div class="field">
                    <label for="f-bsn">"Cliënt (BSN)"</label>
                    <input id="f-bsn" aria-invalid=aria_bsn.invalid aria-describedby=aria_bsn.describedby name="bsn" type="text" inputmode="numeric" autocomplete="off"
                        maxlength="11" value=filter.bsn.clone()/>
                    <FieldProblem error field="bsn"/>
                </div>
                <div class="field">
                    <label for="f-user">"Gebruiker (gebruikersnaam)"</label>
                    <input id="f-user" aria-invalid=aria_user.invalid aria-describedby=aria_user.describedby name="user" type="text" autocomplete="off" value=filter.user.clone()/>
                    <FieldProblem error field="user"/>
                </div>
                <div class="field">
                    <label for="f-org">"Organisatie (code)"</label>
                    <input id="f-org" aria-invalid=aria_organisation.invalid aria-describedby=aria_organisation.describedby name="organisation" type="text" autocomplete="off" value=filter.organisation.clone()/>
                    <FieldProblem error field="organisation"/>
                </div>
                <div class="field">
                    <label for="f-action">"Handeling"</label>
                    <select id="f-action" aria-invalid=aria_action.invalid aria-describedby=aria_action.describedby name="action">
                        <option value="" selected=filter.action.is_empty()>"Alle"</option>
                        {AuditAction::ALL.iter().map(|a| view! {
                            <option value=a.as_str() selected=selected(&filter.action, a.as_str())>{a.label()}</option>
                        }).collect_view()}
                    </select>
                    <FieldProblem error field="action"/>
                </div>
                <div class="field">
                    <label for="f-ground">"Grond"</label>
                    <select id="f-ground" aria-invalid=aria_ground.invalid aria-describedby=aria_ground.describedby name="ground">
                        <option value="" selected=filter.ground.is_empty()>"Alle"</option>
                        {Ground::ALL.iter().map(|g| view! {
                            <option value=g.as_str() selected=selected(&filter.ground, g.as_str())>{g.label()}</option>
                        }).collect_view()}
                    </select>
                    <FieldProblem error field="ground"/>
                </div>
                <label class="check">
                    <input type="checkbox" name="flagged" value="on" checked=filter.flagged/>
                    "Alleen onbeoordeelde meldingen"
                </label>
                <FieldProblem error field="filters"/>
                <div class="form-buttons">
                    <button type="submit" class="button primary">"Toepassen"</button>
                </div>
            </ActionForm>
            <ActionForm action=actions.clear attr:class="inline-form">
                <button type="submit" class="button secondary-dark">"Filters wissen"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn EventTable(events: Vec<EventView>, actions: Actions) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="audit-table" data-testid="audit-events">
                <thead><tr>
                    <th>"Tijd"</th><th>"Handeling"</th><th>"Wie"</th><th>"Cliënt (BSN)"</th>
                    <th>"Grond"</th><th>"Details"</th><th>"Meldingen"</th>
                </tr></thead>
                <tbody>
                    // Each row's type is erased: the full static type of fifty rows is too deep for
                    // the release (non-erased) build.
                    {events.into_iter().map(|e| view! { <EventRow event=e actions/> }.into_any()).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn EventRow(event: EventView, actions: Actions) -> impl IntoView {
    let flagged = !event.flags.is_empty();
    // Name first, then role and organisation in smaller print.
    let (who, whose) = match (&event.user, &event.source) {
        (Some(u), _) => (
            u.clone(),
            [event.role.clone(), event.organisation.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (None, Some(s)) => (
            format!("bronsysteem {s}"),
            event.organisation.clone().unwrap_or_default(),
        ),
        (None, None) => (
            "onbekend".to_owned(),
            event.organisation.clone().unwrap_or_default(),
        ),
    };
    let outcome = match event.outcome.as_str() {
        "success" => None,
        "denied" => Some("geweigerd"),
        _ => Some("fout"),
    };
    let event_id = event.id.to_string();
    // Empty cells are left out of the stacked (tablet) layout.
    let (no_ground, no_detail) = (event.ground.is_none(), event.detail.is_empty());
    let no_flags = event.flags.is_empty() && event.review.is_none();
    let review = match (&event.review, flagged) {
        (Some(r), _) => Some(view! {
            <p class="reviewed" data-testid="reviewed">
                {format!("Beoordeeld door {} op {}: {}", r.by, r.at, r.note)}
            </p>
        }.into_any()),
        (None, true) => Some(view! {
            <ActionForm action=actions.review attr:class="review-form">
                <input type="hidden" name="event_id" value=event_id/>
                <label for=format!("note-{}", event.id)>"Notitie"</label>
                <textarea id=format!("note-{}", event.id) name="note" rows="2" maxlength="1000" required></textarea>
                <button type="submit" class="button secondary-dark">"Markeer als beoordeeld"</button>
            </ActionForm>
        }.into_any()),
        (None, false) => None,
    };
    view! {
        <tr class:flagged=flagged data-testid="audit-event" data-action=event.action.clone()>
            <td class="nowrap" data-label="Tijd">{event.at}<br/><span class="muted">{format!("#{}", event.id)}</span></td>
            <td data-label="Handeling">{event.action_label}{outcome.map(|o| view! { <span class="outcome">{format!(" ({o})")}</span> })}</td>
            <td data-label="Wie"><span class="who-cell">{who}</span><br/><span class="muted small">{whose}</span></td>
            <td class="nowrap" data-label="Cliënt (BSN)">{event.bsn.unwrap_or_default()}</td>
            <td data-label="Grond" class:empty=no_ground>{event.ground_label.or(event.ground).unwrap_or_default()}</td>
            <td class="detail" data-label="Details" class:empty=no_detail>{event.detail}</td>
            <td data-label="Meldingen" class:empty=no_flags>
                <ul class="flags">
                    {event.flags.into_iter().map(|f| view! {
                        <li class="flag" data-flag=f.flag.as_str()><strong>{f.flag.label()}</strong>": "{f.why}</li>
                    }).collect_view()}
                </ul>
                {review}
            </td>
        </tr>
    }
}

#[component]
fn OverviewForm(actions: Actions) -> impl IntoView {
    let error = action_error(actions.overview);
    let [aria_bsn, aria_from, aria_until] = ["bsn", "from", "until"].map(|f| field_aria(error, f));
    view! {
        <section class="card">
            <h2>"Overzicht voor een cliënt"</h2>
            <p class="lead">"Wie heeft de gegevens van een cliënt ingezien of gezocht? Voor een cliënt die uw organisatie deelt of behandelt; het overzicht omvat het hele netwerk en is af te drukken."</p>
            <FormError error/>
            <ActionForm action=actions.overview attr:class="filter-form" attr:id="overview-form">
                <div class="field">
                    <label for="o-bsn">"BSN"</label>
                    <input id="o-bsn" aria-invalid=aria_bsn.invalid aria-describedby=aria_bsn.describedby name="bsn" type="text" inputmode="numeric" autocomplete="off" required maxlength="11"/>
                    <FieldProblem error field="bsn"/>
                </div>
                <div class="field">
                    <label for="o-from">"Vanaf (standaard een jaar terug)"</label>
                    <input id="o-from" aria-invalid=aria_from.invalid aria-describedby=aria_from.describedby name="from" type="date"/>
                    <FieldProblem error field="from"/>
                </div>
                <div class="field">
                    <label for="o-until">"Tot en met (standaard vandaag)"</label>
                    <input id="o-until" aria-invalid=aria_until.invalid aria-describedby=aria_until.describedby name="until" type="date"/>
                    <FieldProblem error field="until"/>
                </div>
                <div class="form-buttons">
                    <button type="submit" class="button primary">"Maak overzicht"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn GrantsCard(grants: Vec<OrganisationGrant>, actions: Actions) -> impl IntoView {
    let error = action_error(actions.revoke);
    view! {
        <section class="card">
            <h2>"Lopende toegang van medewerkers van uw organisatie"</h2>
            <FormError error/>
            {if grants.is_empty() {
                view! { <p class="muted">"Er is geen lopende toegang."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table data-testid="grants">
                        <thead><tr><th>"Medewerker"</th><th>"Cliënt (BSN)"</th><th>"Grond"</th><th>"Sinds"</th><th>"Tot"</th><th>"Intrekken"</th></tr></thead>
                        <tbody>{grants.into_iter().map(|g| {
                            let field_id = format!("reason-{}", g.id);
                            view! {
                                <tr data-testid="grant">
                                    <td>{g.user}</td><td class="nowrap">{g.bsn}</td><td>{g.ground}</td>
                                    <td class="nowrap">{g.created}</td><td class="nowrap">{g.expires}</td>
                                    <td>
                                        <ActionForm action=actions.revoke attr:class="review-form">
                                            <input type="hidden" name="grant_id" value=g.id.to_string()/>
                                            <label for=field_id.clone()>"Reden"</label>
                                            <input id=field_id type="text" name="reason" required maxlength="1000"/>
                                            <button type="submit" class="button secondary-dark">"Trek toegang in"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}</tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}
