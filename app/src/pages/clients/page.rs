//! `/clients/{id}`: the client page, or the one-time access request.

use super::server_fns::{client_page, create_end_grant_action, create_request_access_action};
use crate::components::{FieldProblem, FormError, Protected};
use crate::pages::form::action_error;
use domain::client_view::{ClientAccess, ClientPage, PregnancyView, SectionView};
use domain::grant::Ground;
use domain::Role;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ClientPageView() -> impl IntoView {
    let params = use_params_map();
    let client_id = move || params.with(|p| p.get("id").unwrap_or_default());
    // Reloaded after an access request, so the page appears as soon as the grant exists.
    let request = create_request_access_action();
    let page = Resource::new(
        move || (client_id(), request.version().get()),
        |(id, _)| client_page(id),
    );
    view! {
        <Protected roles=Role::CLINICAL>
            <Suspense fallback=|| view! { <p class="loading">"Laden..."</p> }>
                {move || page.get().map(|r| match r {
                    Ok(ClientAccess::Granted(page)) => view! { <Granted page=*page/> }.into_any(),
                    Ok(ClientAccess::NoAccess) => view! { <RequestAccessForm client_id=client_id() action=request/> }.into_any(),
                    Err(e) => view! { <crate::components::ErrorNotice error=e/> }.into_any(),
                })}
            </Suspense>
        </Protected>
    }
}

#[component]
fn RequestAccessForm(
    client_id: String,
    action: ServerAction<super::server_fns::RequestAccess>,
) -> impl IntoView {
    let error = action_error(action);
    view! {
        <h1>"Toegang aanvragen"</h1>
        <section class="card">
            <p>
                "U heeft (nog) geen toegang tot de gegevens van deze cliënt. Vraag eenmalig toegang aan; "
                "de aanvraag en elke inzage worden vastgelegd en kunnen door de privacy officer worden gecontroleerd."
            </p>
            <FormError error/>
            <ActionForm action attr:class="stack" attr:id="access-form">
                <input type="hidden" name="client_id" value=client_id/>
                <label for="ground">"Grond"</label>
                <select id="ground" name="ground" required>
                    {Ground::ALL.iter().map(|g| view! { <option value=g.as_str()>{g.label()}</option> }).collect_view()}
                </select>
                <FieldProblem error field="ground"/>
                <label for="reason">"Toelichting (verplicht bij spoed)"</label>
                <textarea id="reason" name="reason" rows="3" maxlength="1000"></textarea>
                <FieldProblem error field="reason"/>
                <label class="check">
                    <input type="checkbox" name="attest" value="ja" required/>
                    " Ik heb een behandelrelatie met deze cliënt."
                </label>
                <FieldProblem error field="attest"/>
                <button type="submit" class="button primary">"Toegang aanvragen"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn Granted(page: ClientPage) -> impl IntoView {
    let end = create_end_grant_action();
    let client_id = page.client_id.to_string();
    view! {
        <header class="client-header card">
            <h1>{page.name.clone()}</h1>
            <p>
                {format!("Geboren {}", page.birth_date)}
                {page.age.map(|a| format!(" ({a} jaar)"))}
                {format!(" · BSN {}", page.bsn_masked)}
            </p>
            <ul class="sources">
                {page.sources.iter().map(|s| view! {
                    <li>
                        {s.organisation.clone()}
                        <span class="muted">{s.last_received.clone().map(|t| format!(" · laatst bijgewerkt {t}"))}</span>
                    </li>
                }).collect_view()}
            </ul>
            <p class="notice" role="note">
                "Gegevens van zorgverleners zonder toestemming van de cliënt worden niet getoond. "
                "Dit overzicht kan dus onvolledig zijn: 'niets vastgelegd' betekent niet 'niet aanwezig'."
            </p>
        </header>
        {page.current_pregnancy.clone().map(|p| view! { <CurrentPregnancy p/> })}
        {page.sections.into_iter().map(|s| view! { <Section section=s/> }).collect_view()}
        {(!page.earlier_pregnancies.is_empty()).then(|| view! {
            <details class="card earlier">
                <summary>{format!("Eerdere zwangerschappen ({})", page.earlier_pregnancies.len())}</summary>
                <ul>
                    {page.earlier_pregnancies.iter().map(|p| view! {
                        <li>{format!("A terme {} · G{}P{}{}", p.edd, p.gravidity, p.parity,
                            p.ended_on.as_ref().map(|d| format!(" · beëindigd {d}")).unwrap_or_default())}</li>
                    }).collect_view()}
                </ul>
            </details>
        })}
        <section class="card grant">
            <p class="muted">{format!("Uw toegang ({}) loopt tot {}.", page.ground.label(), page.grant_expires)}</p>
            <ActionForm action=end attr:class="end-grant-form">
                <input type="hidden" name="client_id" value=client_id/>
                <button type="submit" class="button secondary-dark">"Ik behandel deze cliënt niet meer"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn CurrentPregnancy(p: PregnancyView) -> impl IntoView {
    view! {
        <section class="card pregnancy" data-testid="pregnancy">
            <h2>"Zwangerschap in één oogopslag"</h2>
            <dl class="facts">
                <div><dt>"A terme datum"</dt><dd>{p.edd.clone()}</dd></div>
                {p.gestational_age.clone().map(|ga| view! { <div><dt>"Zwangerschapsduur"</dt><dd>{ga} " weken"</dd></div> })}
                <div><dt>"Graviditeit / pariteit"</dt><dd>{format!("G{} P{}", p.gravidity, p.parity)}</dd></div>
                {p.ended_on.clone().map(|d| view! { <div><dt>"Bevallen / beëindigd"</dt><dd>{d}</dd></div> })}
            </dl>
        </section>
    }
}

#[component]
fn Section(section: SectionView) -> impl IntoView {
    let id = format!("cat-{}", section.category.as_str());
    view! {
        <section class="card category" id=id>
            <h2>{section.category.label()}</h2>
            {if section.entries.is_empty() {
                view! { <p class="muted">"Geen gegevens gedeeld."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table class="entries">
                        <thead><tr><th>"Gegeven"</th><th>"Waarde"</th><th>"Datum"</th><th>"Bron"</th></tr></thead>
                        <tbody>
                            {section.entries.into_iter().map(|e| view! {
                                <tr>
                                    <td>{e.label}</td>
                                    <td class="value">{e.value}{e.unit.map(|u| format!(" {u}"))}</td>
                                    <td>{e.date}</td>
                                    <td class="muted">{e.organisation}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}
