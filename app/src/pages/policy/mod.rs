//! `/policy`: the access policy, read-only, so every professional can see what each role sees.

mod server_fns;

pub use server_fns::*;

use crate::components::Protected;
use domain::{PolicyCell, Role};
use leptos::prelude::*;

fn cell_label(cell: PolicyCell) -> &'static str {
    match cell {
        PolicyCell::None => "niets",
        PolicyCell::Normal => "normaal",
        PolicyCell::Elevated => "t/m verhoogd",
        PolicyCell::High => "alles",
    }
}

#[component]
pub fn PolicyPage() -> impl IntoView {
    let rows = Resource::new(|| (), |_| policy_table());
    view! {
        <Protected>
            <h1>"Wie ziet wat"</h1>
            <p class="lead">
                "Per rol en categorie de hoogste gevoeligheid die zichtbaar is. Dit is vastgelegd beleid van het samenwerkingsverband; Ooievaar past het op de server toe."
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
        </Protected>
    }
}
