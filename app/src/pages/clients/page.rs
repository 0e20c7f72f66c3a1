//! `/clients/{id}`: the client page, or the one-time access request; `/clients/{id}/afdrukken`:
//! its print view (logged as `print`).

use super::server_fns::{
    client_page, client_print, create_end_grant_action, create_request_access_action,
};
use crate::components::{field_aria, FieldProblem, FormError, Protected};
use crate::pages::form::action_error;
use domain::client_view::{
    ClientAccess, ClientPage, EntryView, HandoverLine, PregnancyBlock, PregnancyView, TrendView,
};
use domain::grant::Ground;
use domain::{Category, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

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
    let spoed = crate::pages::spoed::SpoedNoticeState::new();
    view! {
        <Title text="Cliëntgegevens · Ooievaar"/>
        <Protected roles=Role::CLINICAL>
            <Suspense fallback=|| view! { <p class="loading">"Laden..."</p> }>
                {move || page.get().map(|r| match r {
                    Ok(ClientAccess::Granted(page)) => view! { <Granted page=*page spoed/> }.into_any(),
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
    let (ground_aria, reason_aria, attest_aria) = (
        field_aria(error, "ground"),
        field_aria(error, "reason"),
        field_aria(error, "attest"),
    );
    view! {
        <h1>"Toegang aanvragen"</h1>
        <section class="card">
            <p>
                "U heeft (nog) geen toegang tot de gegevens van deze cliënt. Vraag eenmalig toegang aan; "
                "de aanvraag en elke inzage worden vastgelegd en kunnen door de privacyfunctionaris worden gecontroleerd."
            </p>
            <FormError error/>
            <ActionForm action attr:class="stack" attr:id="access-form">
                <input type="hidden" name="client_id" value=client_id/>
                <label for="ground">"Grond"</label>
                <select id="ground" name="ground" required
                    aria-invalid=ground_aria.invalid aria-describedby=ground_aria.describedby>
                    {Ground::ALL.iter().map(|g| view! { <option value=g.as_str()>{g.label()}</option> }).collect_view()}
                </select>
                <FieldProblem error field="ground"/>
                <label for="reason">"Toelichting (verplicht bij spoed)"</label>
                <textarea id="reason" name="reason" rows="3" maxlength="1000"
                    aria-invalid=reason_aria.invalid aria-describedby=reason_aria.describedby></textarea>
                <FieldProblem error field="reason"/>
                <label class="check">
                    <input type="checkbox" name="attest" value="ja" required
                        aria-invalid=attest_aria.invalid aria-describedby=attest_aria.describedby/>
                    " Ik heb een behandelrelatie met deze cliënt."
                </label>
                <FieldProblem error field="attest"/>
                <button type="submit" class="button primary">"Toegang aanvragen"</button>
            </ActionForm>
        </section>
    }
}

/// The view of the current pregnancy: per section (default) or one timeline, optionally of
/// one category. Read from the address (`?weergave=tijdlijn&categorie=...`), so it works
/// without JavaScript.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Lens {
    timeline: bool,
    category: Option<Category>,
}

/// The lens of this request's address. Read once: the client page has no island, so it is
/// rendered once, on the server, and never again in the browser (a change of lens is a new
/// page load), and its entries can move into the view instead of being cloned for a closure
/// that could run again.
fn current_lens() -> Lens {
    use_query_map().with_untracked(|q| Lens {
        timeline: q.get("weergave").as_deref() == Some("tijdlijn"),
        category: q.get("categorie").as_deref().and_then(Category::parse),
    })
}

/// The client's name, birth date, masked BSN and the sharing organisations. A function of the
/// page, not a component taking it: only these few fields are copied into the view.
fn client_header(page: &ClientPage) -> impl IntoView {
    view! {
        <header class="client-header card">
            <h1>{page.name.clone()}</h1>
            <p>
                {format!("Geboren {} ({})", page.birth_date, page.birth_date_long)}
                {page.age.map(|a| format!(", {a} jaar"))}
                {format!(" · BSN {}", page.bsn_masked)}
            </p>
            <ul class="sources" aria-label="Zorgverleners die gegevens delen">
                {page.sources.iter().map(|s| view! {
                    <li>
                        {s.organisation.clone()}
                        <span class="muted">{s.last_received.clone().map(|t| format!(" · laatst bijgewerkt {t}"))}</span>
                    </li>
                }).collect_view()}
            </ul>
            <p class="notice" role="note">
                "Gegevens van zorgverleners die geen toestemming van de cliënt hebben om te delen, ziet u niet. "
                "'Geen gegevens gedeeld' betekent dus niet dat er niets is vastgelegd."
            </p>
        </header>
    }
}

#[component]
fn Granted(page: ClientPage, spoed: crate::pages::spoed::SpoedNoticeState) -> impl IntoView {
    let end = create_end_grant_action();
    let lens = current_lens();
    let header = client_header(&page);
    // Each block moves its part of the page into the view: an entry is copied nowhere.
    let ClientPage {
        client_id,
        section_order: order,
        pregnancies,
        other_entries,
        handover,
        trends,
        ground,
        grant_expires,
        spoed_notice,
        ..
    } = page;
    let client_id = client_id.to_string();
    let (current, earlier): (Vec<PregnancyBlock>, Vec<PregnancyBlock>) =
        pregnancies.into_iter().partition(|p| p.current);
    let current = current.into_iter().next();
    let other_separate = current.is_some() && !other_entries.is_empty();
    // Without a current pregnancy, the entries of no pregnancy are the page's main block.
    let (facts, main_entries, other) = match current {
        Some(c) => (Some(c.pregnancy), c.entries, other_entries),
        None => (None, other_entries, Vec::new()),
    };
    let main = if lens.timeline {
        // The timeline holds what belongs to no pregnancy too (history, allergies).
        let mut all = main_entries;
        if other_separate {
            all.extend(other.iter().cloned());
        }
        view! { <Timeline entries=all category=lens.category/> }.into_any()
    } else {
        view! { <Sections order=order.clone() entries=main_entries suffix=String::new() keep_empty=true/> }.into_any()
    };
    let print_href = format!("/clients/{client_id}/afdrukken");
    view! {
        {header}
        // After a spoed view: the standing notice to inform her afterwards (seed 002).
        <crate::pages::spoed::SpoedInformNotice state=spoed notice=spoed_notice/>
        <Handover lines=handover/>
        {facts.map(|p| view! { <PregnancyFacts p/> })}
        <section class="card view-switch" aria-label="Weergave">
            <ViewSwitch client_id=client_id.clone() order=order.clone() lens/>
        </section>
        {main}
        <Trends trends/>
        {other_separate.then(|| view! {
            <section class="card other-entries">
                <h2>"Niet aan een zwangerschap gekoppeld"</h2>
                <Sections order=order.clone() entries=other suffix="-overig".to_owned() keep_empty=false/>
            </section>
        })}
        {(!earlier.is_empty()).then(|| view! { <EarlierPregnancies blocks=earlier order=order.clone()/> })}
        <section class="card grant">
            <p class="muted">{format!("Uw toegang ({}) loopt tot {}.", ground.label(), grant_expires)}</p>
            <p><a class="button secondary" href=print_href>"Afdrukken"</a></p>
            <ActionForm action=end attr:class="end-grant-form">
                <input type="hidden" name="client_id" value=client_id/>
                <button type="submit" class="button secondary-dark">"Ik behandel deze cliënt niet meer"</button>
            </ActionForm>
        </section>
    }
}

/// "Overdracht": the essentials of the role, each with source and date, or "niet gedeeld".
#[component]
fn Handover(lines: Vec<HandoverLine>) -> impl IntoView {
    (!lines.is_empty()).then(|| view! {
        <section class="card handover" id="overdracht" aria-labelledby="overdracht-kop">
            <h2 id="overdracht-kop">"Overdracht"</h2>
            <dl class="handover-lines">
                {lines.into_iter().map(|line| view! {
                    <div class="handover-line">
                        <dt>{line.label}</dt>
                        <dd>
                            {if line.values.is_empty() {
                                view! { <span class="not-shared">"niet gedeeld"</span> }.into_any()
                            } else {
                                view! {
                                    <ul class="handover-values">
                                        {line.values.into_iter().map(|v| view! {
                                            <li>
                                                <span class="value">{v.text}</span>
                                                <span class="muted">{format!(" · {} · {}", v.date, v.organisation)}</span>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </dd>
                    </div>
                }).collect_view()}
            </dl>
            <p class="muted small">"'niet gedeeld': niet gedeeld met Ooievaar, of niet zichtbaar voor uw rol."</p>
        </section>
    })
}

#[component]
fn PregnancyFacts(p: PregnancyView) -> impl IntoView {
    view! {
        <section class="card pregnancy" data-testid="pregnancy">
            <h2>{if p.ended_on.is_some() { "Laatste zwangerschap" } else { "Huidige zwangerschap" }}</h2>
            <dl class="facts">
                <div><dt>"A terme datum"</dt><dd>{p.edd.clone()}</dd></div>
                {p.gestational_age.clone().map(|ga| view! { <div><dt>"Zwangerschapsduur"</dt><dd>{ga} " weken"</dd></div> })}
                <div><dt>"Graviditeit / pariteit"</dt><dd>{format!("G{} P{}", p.gravidity, p.parity)}</dd></div>
                {p.ended_on.clone().map(|d| view! { <div><dt>"Einde zwangerschap"</dt><dd>{d}</dd></div> })}
            </dl>
        </section>
    }
}

/// Per section or timeline, and which category: links and a GET form, no JavaScript needed.
#[component]
fn ViewSwitch(client_id: String, order: Vec<Category>, lens: Lens) -> impl IntoView {
    let base = format!("/clients/{client_id}");
    let timeline_href = format!("{base}?weergave=tijdlijn");
    view! {
        <nav class="tabs" aria-label="Weergave van de gegevens">
            <a href=base.clone() aria-current=(!lens.timeline).then_some("page")>"Per onderdeel"</a>
            <a href=timeline_href aria-current=lens.timeline.then_some("page")>"Tijdlijn"</a>
        </nav>
        {lens.timeline.then(|| view! {
            <form method="get" action=base class="timeline-filter">
                <input type="hidden" name="weergave" value="tijdlijn"/>
                <label for="categorie">"Onderdeel"</label>
                <select id="categorie" name="categorie">
                    <option value="" selected=lens.category.is_none()>"Alle onderdelen"</option>
                    {order.iter().map(|c| view! {
                        <option value=c.as_str() selected=lens.category == Some(*c)>{c.label()}</option>
                    }).collect_view()}
                </select>
                <button type="submit" class="button secondary">"Toon"</button>
            </form>
        })}
    }
}

/// Every entry in time order (newest first), optionally of one category.
#[component]
fn Timeline(entries: Vec<EntryView>, category: Option<Category>) -> impl IntoView {
    let mut entries: Vec<EntryView> = entries
        .into_iter()
        .filter(|e| category.is_none_or(|c| e.category == c))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.observed_at));
    view! {
        <section class="card timeline" id="tijdlijn">
            <h2>{match category {
                Some(c) => format!("Tijdlijn: {}", c.label()),
                None => "Tijdlijn".to_owned(),
            }}</h2>
            {if entries.is_empty() {
                view! { <p class="muted">"Geen gegevens gedeeld."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table class="entries">
                        <thead><tr><th scope="col">"Datum"</th><th scope="col">"Onderdeel"</th><th scope="col">"Gegeven"</th><th scope="col">"Waarde"</th><th scope="col">"Bron"</th></tr></thead>
                        <tbody>
                            {entries.into_iter().map(|e| view! {
                                <tr>
                                    <td>{e.date}</td>
                                    <td>{e.category.label()}</td>
                                    <td>{e.label}</td>
                                    <td class="value">{e.value}{e.unit.map(|u| format!(" {u}"))}</td>
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

/// The entries per category, in the role's order. `keep_empty`: show "Geen gegevens gedeeld"
/// for a category without entries (the main block) instead of leaving it out.
#[component]
fn Sections(
    order: Vec<Category>,
    entries: Vec<EntryView>,
    suffix: String,
    keep_empty: bool,
) -> impl IntoView {
    // One pass moves each entry into its category's group (entries of a category outside the
    // order are not shown), in the order they came, newest first.
    let mut groups: Vec<(Category, Vec<EntryView>)> =
        order.into_iter().map(|c| (c, Vec::new())).collect();
    for entry in entries {
        if let Some((_, group)) = groups.iter_mut().find(|(c, _)| *c == entry.category) {
            group.push(entry);
        }
    }
    groups
        .into_iter()
        .filter(|(_, mine)| keep_empty || !mine.is_empty())
        .map(|(category, mine)| {
            view! {
                <Section category entries=mine id=format!("cat-{}{suffix}", category.as_str())/>
            }
        })
        .collect_view()
}

#[component]
fn Section(category: Category, entries: Vec<EntryView>, id: String) -> impl IntoView {
    view! {
        <section class="card category" id=id>
            <h2>{category.label()}</h2>
            {if entries.is_empty() {
                view! { <p class="muted">"Geen gegevens gedeeld."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table class="entries">
                        <thead><tr><th scope="col">"Gegeven"</th><th scope="col">"Waarde"</th><th scope="col">"Datum"</th><th scope="col">"Bron"</th></tr></thead>
                        <tbody>
                            {entries.into_iter().map(|e| view! {
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

/// Trend charts (server-made SVG) with their values in a table for screen readers and print.
#[component]
fn Trends(trends: Vec<TrendView>) -> impl IntoView {
    (!trends.is_empty()).then(|| view! {
        <section class="card trends" id="verloop">
            <h2>"Verloop"</h2>
            <div class="trend-grid">
                {trends.into_iter().map(|t| view! {
                    <figure class="trend" id=format!("trend-{}", t.key)>
                        <figcaption>{format!("{} ({})", t.title, t.unit)}</figcaption>
                        <div class="trend-svg" inner_html=t.svg></div>
                        <div class="sr-only-screen"><table class="trend-values">
                            <caption>{format!("{} in {}", t.title, t.unit)}</caption>
                            <thead><tr><th scope="col">"Datum"</th><th scope="col">"Waarde"</th><th scope="col">"Bron"</th></tr></thead>
                            <tbody>
                                {t.points.into_iter().map(|p| view! {
                                    <tr><td>{p.date}</td><td>{p.value}</td><td>{p.organisation}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    </figure>
                }).collect_view()}
            </div>
        </section>
    })
}

#[component]
fn EarlierPregnancies(blocks: Vec<PregnancyBlock>, order: Vec<Category>) -> impl IntoView {
    view! {
        <section class="card earlier" aria-labelledby="eerdere-kop">
            <h2 id="eerdere-kop">{format!("Eerdere zwangerschappen ({})", blocks.len())}</h2>
            {blocks.into_iter().enumerate().map(|(i, b)| {
                let p = b.pregnancy.clone();
                let summary = format!(
                    "A terme {} · G{}P{}{} · {} gegevens",
                    p.edd, p.gravidity, p.parity,
                    p.ended_on.as_ref().map(|d| format!(" · einde zwangerschap {d}")).unwrap_or_default(),
                    b.entries.len(),
                );
                view! {
                    <details class="earlier-pregnancy">
                        <summary>{summary}</summary>
                        <Sections order=order.clone() entries=b.entries suffix=format!("-z{}", i + 1) keep_empty=false/>
                    </details>
                }
            }).collect_view()}
        </section>
    }
}

/// `/clients/{id}/afdrukken`: the same data as the page (everything unfolded), on A4, with a
/// footer naming the user, the time and "vertrouwelijk". Opening it is logged as `print`.
#[component]
pub fn ClientPrintView() -> impl IntoView {
    let params = use_params_map();
    let page = Resource::new(
        move || params.with(|p| p.get("id").unwrap_or_default()),
        client_print,
    );
    view! {
        <Title text="Afdruk cliëntgegevens · Ooievaar"/>
        <Protected roles=Role::CLINICAL>
            <Suspense fallback=|| view! { <p class="loading">"Laden..."</p> }>
                {move || page.get().map(|r| match r {
                    Ok(ClientAccess::Granted(page)) => {
                        let back = format!("/clients/{}", page.client_id);
                        let footer = format!("Afgedrukt door {} op {} · vertrouwelijk", page.shown_to, page.shown_at);
                        let header = client_header(&page);
                        let ClientPage { section_order: order, pregnancies, other_entries, handover, trends, .. } = *page;
                        view! {
                            <div class="print-view">
                                <p class="no-print"><a href=back>"Terug naar de cliënt"</a>" · Druk af met de afdrukfunctie van uw browser."</p>
                                {header}
                                <Handover lines=handover/>
                                {pregnancies.into_iter().map(|b| view! {
                                    <PregnancyFacts p=b.pregnancy/>
                                    <Sections order=order.clone() entries=b.entries suffix=String::new() keep_empty=false/>
                                }).collect_view()}
                                <Sections order=order.clone() entries=other_entries suffix=String::new() keep_empty=false/>
                                <Trends trends/>
                                <footer class="print-footer" role="contentinfo">{footer}</footer>
                            </div>
                        }.into_any()
                    }
                    Ok(ClientAccess::NoAccess) => view! {
                        <h1>"Geen toegang"</h1>
                        <p>"U heeft geen geldige toegang tot deze cliënt. Vraag eerst toegang aan op de cliëntpagina."</p>
                    }.into_any(),
                    Err(e) => view! { <crate::components::ErrorNotice error=e/> }.into_any(),
                })}
            </Suspense>
        </Protected>
    }
}
