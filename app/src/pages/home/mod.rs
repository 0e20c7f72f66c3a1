//! `/`: the start page after login.

use crate::components::{use_shell, Protected};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let shell = use_shell();
    // Made once here: the body below may render more than once.
    let clinical = crate::pages::clients::ClinicalHomeState::new();
    let spoed = crate::pages::spoed::SpoedListState::new();
    let body = move || {
        shell
            .latest()
            .and_then(|s| s.ok())
            .and_then(|s| s.user)
            .map(|u| {
                if u.role.is_clinical() {
                    return view! {
                        <h1>"Welkom, " {u.display_name.clone()}</h1>
                        <crate::pages::clients::ClinicalHome state=clinical/>
                        <crate::pages::spoed::SpoedList state=spoed/>
                    }
                    .into_any();
                }
                let (title, text, link) = if u.role == domain::Role::PrivacyOfficer {
                    (
                    "Toegangslogboek",
                    "U controleert wie welke gegevens heeft ingezien, wanneer en op welke grond.",
                    ("/audit", "Naar het toegangslogboek"),
                )
                } else {
                    (
                        "Beheer",
                        "U beheert de accounts van uw organisatie.",
                        ("/gebruikers", "Naar de gebruikers"),
                    )
                };
                view! {
                    <h1>"Welkom, " {u.display_name.clone()}</h1>
                    <section class="card">
                        <h2>{title}</h2>
                        <p>{text}</p>
                        <p><a class="button primary" href=link.0>{link.1}</a></p>
                    </section>
                    <crate::pages::spoed::SpoedList state=spoed/>
                }
                .into_any()
            })
    };
    view! { <Title text="Startpagina · Ooievaar"/><Protected><Transition fallback=|| ()>{body}</Transition></Protected> }
}
