//! The officer's scope: which events she sees (her users, her sources' clients, events without an
//! organisation, also for organisations added later), who may read the log, and that reading it
//! is logged.
//!
//! Part of the privacy officer's review of the access log (DESIGN flow 7); the demo network,
//! the setup and the shared calls are in `review_helpers.rs`.

use crate::helpers::{client, client_from, valid_bsn_not_in_demo, Backend};
use crate::review_helpers::*;
use crate::source_api::{rivier_token, valid_share, wieg_token};
use backend::on_both_backends;
use backend::store::AuditRow;
use backend::{accounts, clock};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};

on_both_backends!(
    scope_own_users_yes_other_organisations_logins_no,
    scope_reads_showing_her_sources_whole_and_her_sources_api_calls,
    scope_searches_for_bsns_her_sources_shared,
    scope_events_without_organisation_for_every_officer_also_a_later_one,
    only_privacy_officers_read_or_export_the_log,
    every_page_read_writes_one_log_read_before_the_rows_are_read,
    events_without_organisation_reach_organisations_added_meanwhile,
);

// ----- 1. scope -----

async fn scope_own_users_yes_other_organisations_logins_no(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    app.logged_in("gynaecoloog").await;
    app.logged_in("verloskundige").await;
    let gyn_login = last_event(&app, "login", Some("gynaecoloog")).await.id;
    let vk_login = last_event(&app, "login", Some("verloskundige")).await.id;
    // A failed login of a known user belongs to her organisation's log.
    assert_eq!(
        app.login_as(&client(), "gynaecoloog", "fout-wachtwoord")
            .await
            .status(),
        401
    );
    let gyn_failed = last_event(&app, "login_failed", Some("gynaecoloog")).await;
    assert_eq!(
        gyn_failed.organisation_id.as_deref(),
        Some("zh-rivierenland")
    );
    let wieg_added = last_event(&app, "user_added", None).await.id;

    let zh_list = walk(&app, &zh).await;
    let zh_sees: HashSet<i64> = ids(&zh_list).into_iter().collect();
    let wieg_sees = visible(&app, &wieg).await;
    assert!(zh_sees.contains(&gyn_login), "her own user's login");
    assert!(
        zh_sees.contains(&gyn_failed.id),
        "her own user's failed login"
    );
    assert!(!zh_sees.contains(&vk_login), "another organisation's login");
    assert!(
        !zh_sees.contains(&wieg_added),
        "another organisation's administration"
    );
    assert!(wieg_sees.contains(&vk_login));
    assert!(wieg_sees.contains(&wieg_added));
    assert!(!wieg_sees.contains(&gyn_login));
    assert!(!wieg_sees.contains(&gyn_failed.id));
    // Every login on her list is one of her organisation's users.
    let logins: Vec<&Value> = zh_list.iter().filter(|e| e["action"] == "login").collect();
    assert!(!logins.is_empty());
    for e in logins {
        assert_eq!(e["organisation"], ZH_NAME, "{e}");
    }
}

async fn scope_reads_showing_her_sources_whole_and_her_sources_api_calls(backend: Backend) {
    let (app, _dir) = spawn_with_keys(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let kraam = app.logged_in("kraamverzorgende").await;
    // A Kraamhoek user reads a client all three share: Rivierenland's data is part of the view.
    let shared = find(&app, &kraam, ALL_THREE).await;
    grant(&app, &kraam, &shared, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &kraam, &shared).await));
    let read_all = last_event(&app, "read", Some("kraamverzorgende")).await;
    let sources: Vec<String> =
        serde_json::from_value(detail(&read_all)["sources"].clone()).unwrap();
    assert!(
        sources.contains(&"rivierenland-epd".to_owned()),
        "{sources:?}"
    );
    assert!(
        sources.len() > 1,
        "other sources were part of the read: {sources:?}"
    );
    // She reads a client Rivierenland does not share: no Rivierenland data shown.
    let other = find(&app, &kraam, NOT_ZH).await;
    grant(&app, &kraam, &other, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &kraam, &other).await));
    let read_other = last_event(&app, "read", Some("kraamverzorgende")).await;
    let sources: Vec<String> =
        serde_json::from_value(detail(&read_other)["sources"].clone()).unwrap();
    assert!(!sources.is_empty());
    assert!(
        !sources.contains(&"rivierenland-epd".to_owned()),
        "{sources:?}"
    );

    // Source API calls: Rivierenland's share, De Wieg's share and withdrawal.
    let bsn_r = "111222333";
    let bsn_w = valid_bsn_not_in_demo();
    assert_ne!(bsn_r, bsn_w);
    assert_eq!(
        app.put_share(&rivier_token(), bsn_r, &valid_share(2))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put_share(&wieg_token(), &bsn_w, &valid_share(2))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put_consent(&wieg_token(), &bsn_w, "withdrawn")
            .await
            .status(),
        200
    );
    let r_share = last_where(&app, |e| {
        e.action == "share_received" && e.bsn.as_deref() == Some(bsn_r)
    })
    .await;
    assert_eq!(r_share.source_id.as_deref(), Some("rivierenland-epd"));
    let w_share = last_where(&app, |e| {
        e.action == "share_received" && e.bsn.as_deref() == Some(bsn_w.as_str())
    })
    .await;
    let w_withdrawn = last_event(&app, "consent_withdrawn", None).await;

    let zh_list = walk(&app, &zh).await;
    let zh_sees: HashSet<i64> = ids(&zh_list).into_iter().collect();
    let wieg_sees = visible(&app, &wieg).await;
    assert!(
        zh_sees.contains(&read_all.id),
        "a read that showed her organisation's data is hers, whoever read it"
    );
    // ... as a whole: the row names every source shown, not just hers.
    let row = zh_list.iter().find(|e| e["id"] == read_all.id).unwrap();
    for source in ["de-wieg-epd", "rivierenland-epd"] {
        assert!(row["detail"].as_str().unwrap().contains(source), "{row}");
    }
    assert_eq!(row["user_name"], "kraamverzorgende");
    assert!(
        !zh_sees.contains(&read_other.id),
        "a read showing only other organisations' data is not hers"
    );
    assert!(wieg_sees.contains(&read_all.id) && wieg_sees.contains(&read_other.id));
    assert!(zh_sees.contains(&r_share.id), "her source's share_received");
    assert!(
        !zh_sees.contains(&w_share.id),
        "another source's share_received"
    );
    assert!(
        !zh_sees.contains(&w_withdrawn.id),
        "another source's withdrawal"
    );
    assert!(wieg_sees.contains(&w_share.id) && wieg_sees.contains(&w_withdrawn.id));
    assert!(!wieg_sees.contains(&r_share.id));
    // The demo seed's shares as well: exactly her source's share_received events.
    let all = app.audit_events().await;
    let hers: BTreeSet<i64> = all
        .iter()
        .filter(|e| {
            e.action == "share_received" && e.source_id.as_deref() == Some("rivierenland-epd")
        })
        .map(|e| e.id)
        .collect();
    let listed: BTreeSet<i64> = zh_list
        .iter()
        .filter(|e| e["action"] == "share_received")
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, hers);
}

async fn scope_searches_for_bsns_her_sources_shared(backend: Backend) {
    let (app, _dir) = spawn_with_keys(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let vk = app.logged_in("verloskundige").await;
    let kraam = app.logged_in("kraamverzorgende").await;
    let searched = |user: &'static str| {
        let app = &app;
        async move { last_event(app, "search", Some(user)).await.id }
    };
    // A De Wieg user searches a BSN Rivierenland shares (found, and with a wrong birth date).
    let (bsn0, birth0) = demo_client(ALL_THREE);
    search(&app, &vk, &bsn0, &birth0).await;
    let shared_found = searched("verloskundige").await;
    let miss = search(&app, &vk, &bsn0, "1970-01-01").await;
    assert_eq!(miss["found"], Value::Null);
    let shared_miss = searched("verloskundige").await;
    // ... a BSN only others share, and an unknown BSN.
    let (bsn1, birth1) = demo_client(NOT_ZH);
    search(&app, &vk, &bsn1, &birth1).await;
    let others_only = searched("verloskundige").await;
    search(&app, &vk, &valid_bsn_not_in_demo(), "1990-01-01").await;
    let unknown = searched("verloskundige").await;
    // A Kraamhoek user searches a BSN De Wieg shares (not Rivierenland).
    search(&app, &kraam, &bsn1, &birth1).await;
    let kz_for_wieg = searched("kraamverzorgende").await;
    // A BSN Rivierenland shared, after it withdrew: still a BSN her source shared.
    let (bsn2, birth2) = demo_client(WIEG_ZH);
    assert_eq!(
        app.put_consent(&rivier_token(), &bsn2, "withdrawn")
            .await
            .status(),
        200
    );
    search(&app, &kraam, &bsn2, &birth2).await;
    let after_withdrawal = searched("kraamverzorgende").await;

    let zh_sees = visible(&app, &zh).await;
    let wieg_sees = visible(&app, &wieg).await;
    assert!(
        zh_sees.contains(&shared_found),
        "search for a BSN her source shares"
    );
    assert!(
        zh_sees.contains(&shared_miss),
        "a search for her source's BSN with a wrong birth date is still about that BSN"
    );
    assert!(!zh_sees.contains(&others_only), "a BSN only others share");
    assert!(!zh_sees.contains(&unknown), "an unknown BSN");
    assert!(!zh_sees.contains(&kz_for_wieg));
    assert!(
        zh_sees.contains(&after_withdrawal),
        "a BSN her source shared before the withdrawal"
    );
    // De Wieg shares all of them except the unknown BSN; its own user's searches are hers anyway.
    for id in [
        shared_found,
        shared_miss,
        others_only,
        unknown,
        kz_for_wieg,
        after_withdrawal,
    ] {
        assert!(wieg_sees.contains(&id), "event {id} for De Wieg");
    }
}

async fn scope_events_without_organisation_for_every_officer_also_a_later_one(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    app.logged_in("gynaecoloog").await;
    let gyn_login = last_event(&app, "login", Some("gynaecoloog")).await.id;
    assert_eq!(
        app.login_as(&client(), "niemand-bekend", "geraden")
            .await
            .status(),
        401
    );
    let failed = last_event(&app, "login_failed", Some("niemand-bekend")).await;
    assert!(failed.organisation_id.is_none() && failed.user_id.is_none());
    assert!(visible(&app, &zh).await.contains(&failed.id));
    assert!(visible(&app, &wieg).await.contains(&failed.id));
    // An organisation added after the event: its officer sees the event too.
    accounts::add_organisation(
        &app.store,
        "ec-zicht",
        "Echocentrum Het Zicht",
        "echocentrum",
    )
    .await
    .unwrap();
    let echo = add_officer(&app, "ec-zicht", "privacy-zicht").await;
    // From another workstation: the first failure of its address this minute has its own event
    // (a second one from the same address would only be counted for the minute's summary).
    assert_eq!(
        app.login_as(&client_from(2), "nog-een-onbekende", "geraden")
            .await
            .status(),
        401
    );
    let failed_later = last_event(&app, "login_failed", Some("nog-een-onbekende")).await;
    let echo_list = walk(&app, &echo).await;
    let echo_sees: HashSet<i64> = ids(&echo_list).into_iter().collect();
    assert!(
        echo_sees.contains(&failed.id),
        "an event without organisation written before her organisation existed"
    );
    assert!(echo_sees.contains(&failed_later.id));
    assert!(
        !echo_sees.contains(&gyn_login),
        "another organisation's user"
    );
    for e in &echo_list {
        assert!(
            e["organisation"].is_null() || e["organisation"] == "Echocentrum Het Zicht",
            "only her organisation's events and events without one: {e}"
        );
    }
    for officer in [&zh, &wieg] {
        assert!(visible(&app, officer).await.contains(&failed_later.id));
    }
}

async fn only_privacy_officers_read_or_export_the_log(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    for username in ["verloskundige", "beheer"] {
        let c = app.logged_in(username).await;
        assert_eq!(app.audit_page(&c, None).await.status(), 403, "{username}");
        assert_eq!(
            export(&app, &c, "test").await.status(),
            403,
            "{username} export"
        );
        assert_eq!(
            app.audit_filter(&c, &[]).await.status(),
            403,
            "{username} filter"
        );
        assert_eq!(
            review(&app, &c, 1, "notitie").await.status(),
            403,
            "{username} review"
        );
        assert_eq!(
            revoke(&app, &c, "x", "reden").await.status(),
            403,
            "{username} revoke"
        );
        let (bsn, _) = demo_client(ALL_THREE);
        let r = app.audit_overview_request(&c, &bsn, "", "").await;
        assert_eq!(r.status(), 403, "{username} overview request");
        assert_eq!(app.call(&c, "audit_overview", &[]).await.status(), 403);
    }
    let anonymous = client();
    assert_eq!(app.audit_page(&anonymous, None).await.status(), 401);
    assert_eq!(export(&app, &anonymous, "test").await.status(), 401);
    assert_eq!(app.audit_filter(&anonymous, &[]).await.status(), 401);
    let events = app.audit_events().await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.action.as_str(), "log_read" | "export" | "client_overview")),
        "refused callers read nothing"
    );
}

// ----- 2. reading the log is logged -----

async fn every_page_read_writes_one_log_read_before_the_rows_are_read(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let log_reads = |events: &[AuditRow]| events.iter().filter(|e| e.action == "log_read").count();
    let mut expected = log_reads(&app.audit_events().await);
    for _ in 0..3 {
        let page = audit_page(&app, &zh, None).await;
        expected += 1;
        let events = app.audit_events().await;
        assert_eq!(
            log_reads(&events),
            expected,
            "exactly one log_read per page"
        );
        let logged = events
            .iter()
            .rev()
            .find(|e| e.action == "log_read")
            .unwrap();
        assert_eq!(logged.user_name.as_deref(), Some("privacy"));
        assert_eq!(logged.user_role.as_deref(), Some("privacy_officer"));
        assert_eq!(logged.organisation_id.as_deref(), Some("zh-rivierenland"));
        assert_eq!(logged.outcome, "success");
        assert_eq!(logged.bsn, None);
        assert_eq!(
            page["events"][0]["id"].as_i64(),
            Some(logged.id),
            "the page shows its own log_read: it was written before the rows were read"
        );
        // Shown in Europe/Amsterdam: UTC+1 in winter, UTC+2 in summer, never UTC.
        let shown = page["events"][0]["at"].as_str().unwrap();
        let utc =
            time::OffsetDateTime::from_unix_timestamp_nanos(logged.occurred_at as i128 * 1_000_000)
                .unwrap();
        let format =
            time::macros::format_description!("[day]-[month]-[year] [hour]:[minute]:[second]");
        let candidates: Vec<String> = [1, 2]
            .iter()
            .map(|h| (utc + time::Duration::hours(*h)).format(&format).unwrap())
            .collect();
        assert!(
            candidates.iter().any(|c| c == shown),
            "{shown} not in {candidates:?}"
        );
    }
    // With a client filter: the BSN in its column, the other filters in the detail.
    let (bsn, _) = demo_client(ALL_THREE);
    let from = today().to_string();
    filter_ok(
        &app,
        &zh,
        &[
            ("bsn", &bsn),
            ("user", "Verloskundige"),
            ("action", "read"),
            ("ground", "behandelrelatie"),
            ("organisation", "vp-de-wieg"),
            ("from", &from),
            ("flagged", "on"),
        ],
    )
    .await;
    audit_page(&app, &zh, None).await;
    let events = app.audit_events().await;
    assert_eq!(log_reads(&events), expected + 1);
    let logged = events
        .iter()
        .rev()
        .find(|e| e.action == "log_read")
        .unwrap();
    assert_eq!(logged.bsn.as_deref(), Some(bsn.as_str()));
    let filters = &detail(logged)["filters"];
    assert_eq!(filters["user"], "verloskundige");
    assert_eq!(filters["action"], "read");
    assert_eq!(filters["ground"], "behandelrelatie");
    assert_eq!(filters["organisation"], "vp-de-wieg");
    assert_eq!(filters["flagged_only"], true);
    assert_eq!(filters["client"], true);
    assert_eq!(filters["from"], json!(clock::start_of_local_day(today())));
    assert_eq!(filters["until"], Value::Null);
    assert!(!logged.detail.contains(&bsn), "the BSN only in its column");
    // A refused page reads nothing.
    let r = app.audit_page(&zh, Some("geen-positie")).await;
    assert_eq!(fields_of(r).await, set(&["before"]));
}

// ----- races -----

/// Events without an organisation are written while organisations are added: each new
/// organisation's officer must see every one of them (those before her organisation existed
/// and those after), however the two transactions interleave.
async fn events_without_organisation_reach_organisations_added_meanwhile(backend: Backend) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let app = spawn(backend, day_rules()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (store, stop) = (app.store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    // An event without organisation, as a refused token writes. (Written
                    // directly: the API writes only the first refusal of an address and reason
                    // per minute, rule 9.)
                    store
                        .record(backend::audit::NewAuditEvent::new(
                            domain::AuditAction::TokenRefused,
                            domain::Outcome::Denied,
                        ))
                        .await
                        .unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let organisations: Vec<String> = (0..8).map(|k| format!("ec-race-{k}")).collect();
    for id in &organisations {
        accounts::add_organisation(&app.store, id, "Echocentrum Race", "echocentrum")
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let mut calls = 0;
    for w in writers {
        calls += w.await.unwrap();
    }
    let unowned: BTreeSet<i64> = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.organisation_id.is_none())
        .map(|e| e.id)
        .collect();
    assert!(unowned.len() >= calls, "every refused call logged");
    let mut missing_by_organisation = Vec::new();
    for (k, id) in organisations.iter().enumerate() {
        let officer = add_officer(&app, id, &format!("privacy-race-{k}")).await;
        let seen = visible(&app, &officer).await;
        let missing: Vec<i64> = unowned
            .iter()
            .filter(|e| !seen.contains(e))
            .copied()
            .collect();
        if !missing.is_empty() {
            missing_by_organisation.push((id.clone(), missing));
        }
    }
    println!(
        "{calls} refused calls while adding {} organisations",
        organisations.len()
    );
    assert!(
        missing_by_organisation.is_empty(),
        "events without organisation missing from a new organisation's scope: {missing_by_organisation:?}"
    );
}
