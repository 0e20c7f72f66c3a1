//! `/gebruikers`: the accounts of the administrator's own organisation.

use crate::components::Protected;
use crate::domain::Role;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserListItem {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub disabled: bool,
}

/// The users of the administrator's organisation (role `beheerder` only).
#[server(endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserListItem>, AppError> {
    use crate::backend::session;
    let state = crate::backend::state::app_state()?;
    crate::pages::form::finish(
        async {
            let admin = session::require_role(&[Role::Beheerder]).await?;
            let rows = state
                .store
                .users_of_organisation(&admin.organisation_id)
                .await?;
            Ok(rows
                .into_iter()
                .map(|r| UserListItem {
                    disabled: r.is_disabled(),
                    role: r.role().map(|x| x.label()).unwrap_or("?").to_owned(),
                    username: r.username,
                    display_name: r.display_name,
                })
                .collect())
        }
        .await,
    )
    .await
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
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
                                    <td>{u.display_name}</td><td>{u.username}</td><td>{u.role}</td>
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
