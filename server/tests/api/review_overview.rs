//! The client overview: every event about one client network-wide, for an organisation that
//! shares or treats her.
//!
//! Part of the privacy officer's review of the access log (DESIGN flow 7); the demo network,
//! the setup and the shared calls are in `review_helpers.rs`.

use crate::helpers::{valid_bsn_not_in_demo, Backend, TestApp};
use crate::review_helpers::*;
use crate::source_api::wieg_token;
use backend::on_both_backends;
use backend::store::AuditRow;
use domain::grant::Ground;
use domain::Category;
use serde_json::Value;

on_both_backends!(
    the_client_overview_lists_every_event_about_her_network_wide,
    the_client_overview_needs_a_client_her_organisation_shares_or_treats,
);

// ----- 6. client overview -----

async fn overview(app: &TestApp, officer: &reqwest::Client, bsn: &str) -> reqwest::Response {
    let r = app.audit_overview_request(officer, bsn, "", "").await;
    // A refusal comes back at the request, beside the form.
    if !r.status().is_success() {
        return r;
    }
    app.call(officer, "audit_overview", &[]).await
}

/// `06-04-1991 14:05`: a moment as the pages show it (Amsterdam time, no ISO).
fn dutch_moment(text: &str) -> bool {
    let b = text.as_bytes();
    text.len() == 16
        && [2, 5].iter().all(|&i| b[i] == b'-')
        && b[10] == b' '
        && b[13] == b':'
        && text
            .char_indices()
            .filter(|(i, _)| ![2, 5, 10, 13].contains(i))
            .all(|(_, c)| c.is_ascii_digit())
}

fn what_of(e: &AuditRow) -> &'static str {
    match (e.action.as_str(), e.outcome.as_str()) {
        ("read", _) => "Gegevens ingezien",
        ("search", _) => "Gezocht op BSN en geboortedatum",
        ("access_request", "success") => "Toegang aangevraagd en gekregen",
        ("consent_withdrawn", _) => "Toestemming voor delen ingetrokken",
        ("consent_restored", _) => "Toestemming voor delen hersteld",
        ("client_overview", _) => "Overzicht voor cliënt gemaakt",
        other => panic!("unexpected event {other:?}"),
    }
}

async fn the_client_overview_lists_every_event_about_her_network_wide(backend: Backend) {
    let (app, _dir) = spawn_with_keys(backend, day_rules()).await;
    let (bsn0, _) = demo_client(ALL_THREE);
    let vk = app.logged_in("verloskundige").await;
    let id0 = find(&app, &vk, ALL_THREE).await;
    grant(&app, &vk, &id0, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &vk, &id0).await));
    let kraam = app.logged_in("kraamverzorgende").await;
    find(&app, &kraam, ALL_THREE).await;
    grant(
        &app,
        &kraam,
        &id0,
        "spoed",
        "bevalling thuis, verloskundige onderweg",
    )
    .await;
    assert!(granted(&view(&app, &kraam, &id0).await));
    let gyn = app.logged_in("gynaecoloog").await;
    find(&app, &gyn, ALL_THREE).await;
    // Another client's events stay out.
    find(&app, &gyn, WIEG_ZH).await;
    assert_eq!(
        app.put_consent(&wieg_token(), &bsn0, "withdrawn")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put_consent(&wieg_token(), &bsn0, "active")
            .await
            .status(),
        200
    );

    let zh = app.logged_in("privacy").await;
    let r = overview(&app, &zh, &bsn0).await;
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let ov: Value = serde_json::from_str(&body).unwrap();
    let logged = last_event(&app, "client_overview", Some("privacy")).await;
    assert_eq!(logged.outcome, "success");
    assert_eq!(logged.bsn.as_deref(), Some(bsn0.as_str()));
    assert_eq!(ov["bsn"], bsn0.as_str());
    assert_eq!(ov["generated_by"], "Femke Mulder");
    assert_eq!(ov["organisation"], ZH_NAME);
    assert_eq!(ov["truncated"], false);
    assert!(dutch_moment(ov["generated_at"].as_str().unwrap()), "{ov}");
    for day in [&ov["from"], &ov["until"]] {
        let day = day.as_str().unwrap();
        assert!(
            dutch_moment(&format!("{day} 00:00")),
            "a date as 06-04-1991: {day}"
        );
    }

    let expected: Vec<AuditRow> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| {
            e.bsn.as_deref() == Some(bsn0.as_str())
                && OVERVIEW_ACTIONS.contains(&e.action.as_str())
                && e.id <= logged.id
        })
        .collect();
    let lines = ov["lines"].as_array().unwrap();
    let whats: Vec<&str> = lines.iter().map(|l| l["what"].as_str().unwrap()).collect();
    let expected_whats: Vec<&str> = expected.iter().map(what_of).collect();
    assert_eq!(whats, expected_whats, "every event about her, oldest first");
    // Shown as `06-04-1991 14:05`: compare as year, month, day, time.
    let ats: Vec<String> = lines
        .iter()
        .map(|l| {
            let at = l["at"].as_str().unwrap();
            assert!(
                dutch_moment(at),
                "a moment as a Dutch reader writes it: {at}"
            );
            format!("{}{}{}{}", &at[6..10], &at[3..5], &at[0..2], &at[10..])
        })
        .collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "chronological: {ats:?}"
    );
    for (line, event) in lines.iter().zip(&expected) {
        let (organisation, role, name) = match event.organisation_id.as_deref() {
            Some("vp-de-wieg") if event.user_name.is_none() => (WIEG_NAME, "bronsysteem", ""),
            Some("vp-de-wieg") => (WIEG_NAME, "Verloskundige", "Anna de Vries"),
            Some("kz-kraamhoek") => (KZ_NAME, "Kraamverzorgende", "Dewi Visser"),
            Some("zh-rivierenland") if event.user_name.as_deref() == Some("privacy") => {
                (ZH_NAME, "Privacyfunctionaris", "Femke Mulder")
            }
            Some("zh-rivierenland") => (ZH_NAME, "Gynaecoloog", "Dr. Bram Jansen"),
            other => panic!("unexpected organisation {other:?}"),
        };
        assert_eq!(line["organisation"], organisation, "{line}");
        assert_eq!(line["role"], role, "{line}");
        assert_eq!(line["name"], name, "{line}");
        let ground = event
            .ground
            .as_deref()
            .map(|g| Ground::parse(g).unwrap().label())
            .unwrap_or("");
        assert_eq!(line["ground"], ground, "{line}");
        assert_eq!(
            line["emergency"],
            event.ground.as_deref() == Some("spoed"),
            "{line}"
        );
        if event.action == "read" {
            let categories: Vec<&str> = detail(event)["categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| Category::parse(c.as_str().unwrap()).unwrap().label())
                .collect();
            assert!(!categories.is_empty());
            assert_eq!(
                line["categories"],
                categories.join(", "),
                "Dutch labels: {line}"
            );
        }
    }
    // The pieces the brief names, spelled out.
    let line = |what: &str, organisation: &str| {
        lines
            .iter()
            .find(|l| l["what"] == what && l["organisation"] == organisation)
            .unwrap_or_else(|| panic!("{what} by {organisation} in {lines:?}"))
    };
    assert_eq!(line("Gegevens ingezien", KZ_NAME)["emergency"], true);
    assert_eq!(
        line("Gegevens ingezien", KZ_NAME)["ground"],
        Ground::Spoed.label()
    );
    assert_eq!(
        line("Toegang aangevraagd en gekregen", KZ_NAME)["emergency"],
        true
    );
    assert_eq!(line("Gegevens ingezien", WIEG_NAME)["emergency"], false);
    assert_eq!(
        line("Gezocht op BSN en geboortedatum", ZH_NAME)["name"],
        "Dr. Bram Jansen"
    );
    assert_eq!(
        line("Toestemming voor delen ingetrokken", WIEG_NAME)["role"],
        "bronsysteem"
    );
    line("Toestemming voor delen hersteld", WIEG_NAME);
    assert!(
        lines
            .iter()
            .filter(|l| l["what"] == "Gegevens ingezien")
            .count()
            == 2
    );
}

async fn the_client_overview_needs_a_client_her_organisation_shares_or_treats(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let (bsn4, _) = demo_client(NOT_ZH_2);
    // Neither shared nor treated by Rivierenland.
    let r = overview(&app, &zh, &bsn4).await;
    assert_eq!(fields_of(r).await, set(&["bsn"]));
    let refused = last_event(&app, "client_overview", Some("privacy")).await;
    assert_eq!(refused.outcome, "denied");
    assert_eq!(refused.bsn.as_deref(), Some(bsn4.as_str()));
    // An unknown BSN: the same answer.
    let unknown = valid_bsn_not_in_demo();
    assert_eq!(
        fields_of(overview(&app, &zh, &unknown).await).await,
        set(&["bsn"])
    );
    let refused = last_event(&app, "client_overview", Some("privacy")).await;
    assert_eq!(refused.outcome, "denied");
    assert_eq!(refused.bsn.as_deref(), Some(unknown.as_str()));
    // An invalid BSN is refused at the request.
    for bad in ["123456789", "12", ""] {
        let r = app.audit_overview_request(&zh, bad, "", "").await;
        assert_eq!(fields_of(r).await, set(&["bsn"]), "{bad:?}");
    }
    let r = app.audit_overview_request(&zh, &bsn4, "gisteren", "").await;
    assert_eq!(fields_of(r).await, set(&["from"]));
    // An end before the start: refused at the request or when the overview is made.
    let r = app
        .audit_overview_request(&zh, &bsn4, "2026-05-02", "2026-05-01")
        .await;
    let r = if r.status() == 422 {
        r
    } else {
        assert!(r.status().is_success());
        app.call(&zh, "audit_overview", &[]).await
    };
    assert!(fields_of(r).await.contains("until"));
    // Once one of her organisation's users treats the client, she may produce it.
    let gyn = app.logged_in("gynaecoloog").await;
    let id4 = find(&app, &gyn, NOT_ZH_2).await;
    grant(&app, &gyn, &id4, "verwijzing", "").await;
    let vk = app.logged_in("verloskundige").await;
    find(&app, &vk, NOT_ZH_2).await;
    let r = overview(&app, &zh, &bsn4).await;
    assert_eq!(r.status(), 200);
    let ov: Value = r.json().await.unwrap();
    let lines = ov["lines"].as_array().unwrap();
    assert!(lines
        .iter()
        .any(|l| l["organisation"] == WIEG_NAME && l["what"] == "Gezocht op BSN en geboortedatum"));
    assert!(lines
        .iter()
        .any(|l| l["what"] == "Toegang aangevraagd en gekregen" && l["name"] == "Dr. Bram Jansen"));
    let ok = last_event(&app, "client_overview", Some("privacy")).await;
    assert_eq!(ok.outcome, "success");
}
