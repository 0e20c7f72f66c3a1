//! `/policy`: the access policy, read-only, so every professional can see what each role sees.

mod server_fns;

pub use server_fns::*;

use crate::components::Protected;
use domain::{PolicyCell, Role, Sensitivity};
use leptos::prelude::*;
use leptos_meta::Title;

fn cell_label(cell: PolicyCell) -> &'static str {
    match cell {
        PolicyCell::None => "niets",
        PolicyCell::Normal => "alleen normaal",
        PolicyCell::Elevated => "t/m verhoogd",
        PolicyCell::High => "alles",
    }
}

fn sensitivity_label(sensitivity: Sensitivity) -> &'static str {
    match sensitivity {
        Sensitivity::Normal => "normaal",
        Sensitivity::Elevated => "verhoogd",
        Sensitivity::High => "hoog",
    }
}

/// The code map: for each coded value that sources send in FHIR, its category and sensitivity,
/// so a professional can see which roles will see it.
#[component]
fn CodeMapTable() -> impl IntoView {
    let rows = Resource::new(|| (), |_| code_map_table());
    view! {
        <section class="code-map-section" aria-labelledby="codetabel">
            <h2 id="codetabel">"Waar een gecodeerde waarde terechtkomt"</h2>
            <p>
                "Bronsystemen die in FHIR delen, sturen codes (LOINC, SNOMED CT, ATC). Deze codetabel bepaalt per code de categorie en de gevoeligheid, en daarmee welke rollen de waarde zien. Een code die hier niet staat, wordt geweigerd: Ooievaar raadt nooit een categorie."
            </p>
            <Suspense fallback=|| view! { <p>"Laden..."</p> }>
                {move || rows.get().map(|r| match r {
                    Err(e) => view! { <crate::components::ErrorNotice error=e/> }.into_any(),
                    Ok(rows) => view! {
                        <p class="muted">{format!("{} codes", domain::format::count(rows.len() as i64))}</p>
                        <div class="table-wrap">
                            <table class="code-map">
                                <thead><tr>
                                    <th scope="col">"Categorie"</th>
                                    <th scope="col">"Omschrijving"</th>
                                    <th scope="col">"Gevoeligheid"</th>
                                    <th scope="col">"Code"</th>
                                    <th scope="col">"Bron in de gegevensset"</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|row| view! {
                                        <tr>
                                            <td>{row.category.label()}</td>
                                            <td>{row.label.clone()}</td>
                                            <td class=format!("cell-{}", row.sensitivity.as_str())>{sensitivity_label(row.sensitivity)}</td>
                                            <td><span class="system">{row.system_name().to_owned()}</span>" "<code>{row.code.clone()}</code></td>
                                            <td class="source">{row.source.clone()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn PolicyPage() -> impl IntoView {
    let rows = Resource::new(|| (), |_| policy_table());
    view! {
        <Title text="Toegangsbeleid · Ooievaar"/>
        <Protected>
            <h1>"Wie ziet wat"</h1>
            <p class="lead">
                "Per rol en soort gegevens: tot welke gevoeligheid een zorgverlener in die rol de gegevens ziet (normaal, verhoogd of hoog). Dit beleid heeft het samenwerkingsverband afgesproken."
            </p>
            <p>
                "Ooievaar zelf houdt achter wat uw rol niet mag zien: die gegevens worden nooit naar uw scherm gestuurd, op welk apparaat of welke pagina u ook kijkt."
            </p>
            <Suspense fallback=|| view! { <p>"Laden..."</p> }>
                {move || rows.get().map(|r| match r {
                    Err(e) => view! { <crate::components::ErrorNotice error=e/> }.into_any(),
                    Ok(rows) => view! {
                        <div class="table-wrap">
                            <table class="policy">
                                <thead><tr>
                                    <th scope="col">"Categorie"</th>
                                    {Role::CLINICAL.iter().map(|r| view! { <th scope="col">{r.label()}</th> }).collect_view()}
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|row| view! {
                                        <tr>
                                            <th scope="row">{row.category.label()}</th>
                                            {row.cells.into_iter().map(|c| view! {
                                                <td class=format!("cell-{}", c.as_str())>{cell_label(c)}</td>
                                            }).collect_view()}
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                })}
            </Suspense>
            <CodeMapTable/>
        </Protected>
    }
}
