//! `/gebruikers`: the accounts of the administrator's own organisation.

mod server_fns;

pub use server_fns::*;

use crate::components::Protected;
use domain::Role;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <Title text="Gebruikers · Ooievaar"/>
        <Protected roles=&[Role::Beheerder]>
            <h1>"Gebruikers van uw organisatie"</h1>
            <p class="lead">"Accounts worden toegevoegd en geblokkeerd met de opdrachtregel (" <code>"ooievaar user add"</code> ")."</p>
            <Suspense fallback=|| view! { <p>"Laden..."</p> }>
                {move || users.get().map(|r| match r {
                    Err(e) => view! { <crate::components::ErrorNotice error=e/> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap"><table>
                            <thead><tr><th>"Naam"</th><th>"Gebruikersnaam"</th><th>"Rol"</th><th>"Status"</th></tr></thead>
                            <tbody>{list.into_iter().map(|u| view! {
                                <tr>
                                    <td>{u.display_name}</td><td>{u.username}</td><td>{u.role.label()}</td>
                                    <td>{if u.disabled { "geblokkeerd" } else { "actief" }}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Suspense>
        </Protected>
    }
}
