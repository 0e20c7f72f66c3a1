//! The clinical start page: search by BSN and birth date (a POST form whose result stays on
//! `/`), and "my clients".

use super::server_fns::{
    create_search_action, last_search, my_clients, MyClientsResult, SearchClient, SearchOutcome,
};
use crate::components::{FieldProblem, FormError};
use crate::pages::form::action_error;
use domain::client_view::ClientSummary;
use leptos::prelude::*;

/// The state of the clinical start page. Created once per page (not inside the reactive
/// parts that may render more than once), so the kept no-JavaScript search outcome is taken
/// exactly once and server and browser render the same.
#[derive(Clone, Copy)]
pub struct ClinicalHomeState {
    search: ServerAction<SearchClient>,
    flashed: Resource<Result<Option<SearchOutcome>, domain::error::AppError>>,
    clients: Resource<MyClientsResult>,
}

impl ClinicalHomeState {
    pub fn new() -> Self {
        let search = create_search_action();
        Self {
            search,
            flashed: Resource::new(|| (), |_| last_search()),
            clients: Resource::new(move || search.version().get(), |_| my_clients()),
        }
    }
}

impl Default for ClinicalHomeState {
    fn default() -> Self {
        Self::new()
    }
}

#[component]
pub fn ClinicalHome(state: ClinicalHomeState) -> impl IntoView {
    let ClinicalHomeState {
        search,
        flashed,
        clients,
    } = state;
    let error = action_error(search);
    let (bsn_aria, birth_aria) = (
        crate::components::field_aria(error, "bsn"),
        crate::components::field_aria(error, "birth_date"),
    );
    let outcome = move || match search.value().get() {
        Some(Ok(outcome)) => Some(outcome),
        Some(Err(_)) => None,
        None => flashed.get().and_then(|r| r.ok().flatten()),
    };
    view! {
        <section class="card search-card">
            <h2>"Cliënt zoeken"</h2>
            <p class="lead">"Zoek op BSN en geboortedatum (beide verplicht, exact)."</p>
            <FormError error/>
            <ActionForm action=search attr:class="search-form" attr:id="search-form">
                <div class="field">
                    <label for="bsn">"BSN"</label>
                    <input id="bsn" name="bsn" type="text" inputmode="numeric" autocomplete="off"
                        aria-invalid=bsn_aria.invalid aria-describedby=bsn_aria.describedby
                        required maxlength="11" pattern="[0-9 .]{9,11}"/>
                    <FieldProblem error field="bsn"/>
                </div>
                <div class="field">
                    <label for="birth_date">"Geboortedatum"</label>
                    <input id="birth_date" name="birth_date" type="date" required
                        aria-invalid=birth_aria.invalid aria-describedby=birth_aria.describedby/>
                    <FieldProblem error field="birth_date"/>
                </div>
                <button type="submit" class="button primary">"Zoeken"</button>
            </ActionForm>
            <Transition fallback=|| ()>
                {move || outcome().map(|o| view! { <SearchResult outcome=o/> })}
            </Transition>
        </section>
        <section class="card">
            <h2>"Mijn cliënten"</h2>
            <Transition fallback=|| view! { <p>"Laden..."</p> }>
                {move || clients.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted">"U heeft op dit moment geen toegang tot cliënten. Zoek een cliënt en vraag toegang aan."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="client-list">
                            {list.into_iter().map(|c| view! {
                                <li>
                                    <a class="client-link" href=format!("/clients/{}", c.client_id)>
                                        <span class="client-name">{c.name}</span>
                                        <span class="muted">{format!("geboren {}", c.birth_date)}</span>
                                        <span class="muted">{format!("toegang tot {}", c.grant_expires)}</span>
                                    </a>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SearchResult(outcome: SearchOutcome) -> impl IntoView {
    match outcome.found {
        None => view! {
            <div class="search-result none" role="status" id="search-result" data-testid="search-result">
                <p>
                    "Geen cliënt gevonden met BSN " {outcome.bsn} " en geboortedatum " {domain::format::iso_date(&outcome.birth_date)} "."
                </p>
                <p class="muted">"Controleer de gegevens. Een cliënt is alleen te vinden als een zorgverlener met haar toestemming gegevens deelt."</p>
            </div>
        }
        .into_any(),
        Some(client) => view! { <Found client/> }.into_any(),
    }
}

#[component]
fn Found(client: ClientSummary) -> impl IntoView {
    let href = format!("/clients/{}", client.client_id);
    // Before her own grant the searcher sees only that the client exists (issue 14): no name,
    // no organisations. The server sends nothing more.
    let (heading, action_label) = match &client.name {
        Some(name) if client.has_grant => (name.clone(), "Open cliëntgegevens"),
        _ => ("Cliënt gevonden".to_owned(), "Toegang aanvragen"),
    };
    view! {
        <div class="search-result found" role="status" id="search-result" data-testid="search-result">
            <p class="client-name">{heading}</p>
            <p>
                {format!("BSN {} · geboren {}", client.bsn_masked, client.birth_date)}
                {client.age.map(|a| format!(" ({a} jaar)"))}
            </p>
            {(!client.organisations.is_empty()).then(|| view! {
                <p class="muted">{format!("Gedeeld door: {}", client.organisations.join(", "))}</p>
            })}
            <a class="button primary" href=href>{action_label}</a>
        </div>
    }
}
