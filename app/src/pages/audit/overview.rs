//! `/audit/overzicht`: the printable overview for a client of who consulted her data
//! (right of access, AVG art. 15; DESIGN flow 7). Printed on A4 by the print stylesheet.

use super::server_fns::overview_for_client;
use crate::components::Protected;
use domain::audit_view::ClientOverview;
use domain::Role;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| overview_for_client());
    view! {
        <Title text="Overzicht van inzage · Ooievaar"/>
        <Protected roles=&[Role::PrivacyOfficer]>
            <Suspense fallback=|| view! { <p class="loading">"Overzicht maken..."</p> }>
                {move || overview.get().map(|r| match r {
                    Err(e) => view! {
                        <crate::components::ErrorNotice error=e/>
                        <p><a href="/audit">"Terug naar het toegangslogboek"</a></p>
                    }.into_any(),
                    Ok(None) => view! {
                        <h1>"Overzicht van inzage"</h1>
                        <p>"Vraag eerst een overzicht aan op het " <a href="/audit">"toegangslogboek"</a> "."</p>
                    }.into_any(),
                    Ok(Some(o)) => view! { <Overview overview=o/> }.into_any(),
                })}
            </Suspense>
        </Protected>
    }
}

#[component]
fn Overview(overview: ClientOverview) -> impl IntoView {
    let ClientOverview {
        bsn,
        from,
        until,
        generated_at,
        generated_by,
        organisation,
        lines,
        truncated,
    } = overview;
    view! {
        <article class="overview" data-testid="client-overview">
            <p class="no-print"><a href="/audit">"Terug naar het toegangslogboek"</a></p>
            <h1>"Overzicht van inzage in uw gegevens"</h1>
            <dl class="facts">
                <div><dt>"BSN"</dt><dd>{bsn}</dd></div>
                <div><dt>"Periode"</dt><dd>{format!("{from} tot en met {until}")}</dd></div>
            </dl>
            <p>
                "Dit overzicht toont wie binnen het verloskundig samenwerkingsverband uw gegevens in Ooievaar heeft gezocht of ingezien, "
                "op welke grond, en wanneer u toestemming voor het delen heeft ingetrokken of hersteld. "
                "Toegang met spoed (in een acute situatie) is apart aangegeven."
            </p>
            {if lines.is_empty() {
                view! { <p data-testid="overview-empty">"In deze periode heeft niemand uw gegevens gezocht of ingezien."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table class="overview-table">
                        <thead><tr>
                            <th>"Wanneer"</th><th>"Wat"</th><th>"Organisatie"</th><th>"Functie"</th>
                            <th>"Naam"</th><th>"Gegevens"</th><th>"Grond"</th>
                        </tr></thead>
                        <tbody>{lines.into_iter().map(|l| view! {
                            <tr class:emergency=l.emergency data-testid="overview-line">
                                <td class="nowrap">{l.at}</td>
                                <td>{l.what}{l.emergency.then(|| view! { <strong class="spoed">" SPOED"</strong> })}</td>
                                <td>{l.organisation}</td><td>{l.role}</td><td>{l.name}</td>
                                <td>{l.categories}</td><td>{l.ground}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table></div>
                }.into_any()
            }}
            {truncated.then(|| view! {
                <p class="notice">"Dit overzicht is ingekort tot de eerste 5.000 regels. Vraag een kortere periode aan voor de rest."</p>
            })}
            <p class="muted">{format!("Opgesteld op {generated_at} door {generated_by}, privacyfunctionaris van {organisation}. Tijden in Nederlandse tijd.")}</p>
            <button type="button" class="button primary no-print" onclick="window.print()">"Afdrukken"</button>
        </article>
    }
}
