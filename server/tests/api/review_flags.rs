//! Flags on the access log (spoed, denied, fresh grants elsewhere, out of hours, bulk) and the
//! officer's reviews of them.
//!
//! Part of the privacy officer's review of the access log (DESIGN flow 7); the demo network,
//! the setup and the shared calls are in `review_helpers.rs`.

use crate::helpers::Backend;
use crate::review_helpers::*;
use backend::clock;
use backend::on_both_backends;
use domain::FlagRules;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

on_both_backends!(
    flags_spoed_denied_and_fresh_grants_of_other_organisations_but_not_a_normal_day,
    out_of_hours_flags_access_inside_the_night_window,
    bulk_flags_above_the_threshold_not_at_it,
    reviewing_a_flag_takes_it_off_the_flagged_list_per_organisation,
);

// ----- 4. flags and reviews -----

async fn flags_spoed_denied_and_fresh_grants_of_other_organisations_but_not_a_normal_day(
    backend: Backend,
) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    // A normal day: De Wieg's midwife finds, requests and views a client De Wieg shares.
    let vk = app.logged_in("verloskundige").await;
    let id1 = find(&app, &vk, NOT_ZH).await;
    let vk_search = last_event(&app, "search", Some("verloskundige")).await.id;
    grant(&app, &vk, &id1, "behandelrelatie", "").await;
    let vk_request = last_event(&app, "access_request", Some("verloskundige"))
        .await
        .id;
    assert!(granted(&view(&app, &vk, &id1).await));
    let vk_read = last_event(&app, "read", Some("verloskundige")).await.id;
    // Spoed: the request and every view under it.
    let gyn = app.logged_in("gynaecoloog").await;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    let gyn_search = last_event(&app, "search", Some("gynaecoloog")).await.id;
    grant(&app, &gyn, &id0, "spoed", "acute verwijzing").await;
    let spoed_request = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .id;
    let mut spoed_reads = Vec::new();
    for _ in 0..2 {
        assert!(granted(&view(&app, &gyn, &id0).await));
        spoed_reads.push(last_event(&app, "read", Some("gynaecoloog")).await.id);
    }
    // A fresh grant of a user whose organisation does not share the client.
    assert_eq!(find(&app, &gyn, NOT_ZH).await, id1);
    grant(&app, &gyn, &id1, "verwijzing", "").await;
    let fresh_request = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .id;
    assert!(granted(&view(&app, &gyn, &id1).await));
    let fresh_read = last_event(&app, "read", Some("gynaecoloog")).await.id;
    // Refused access.
    assert!(!granted(&view(&app, &gyn, NO_CLIENT).await));
    let denied = last_event(&app, "access_denied", Some("gynaecoloog"))
        .await
        .id;

    let zh_list = by_id(&walk(&app, &zh).await);
    let wieg_list = by_id(&walk(&app, &wieg).await);
    let flags_in = |list: &HashMap<i64, Value>, id: i64| -> Vec<String> {
        flag_keys(list.get(&id).unwrap_or_else(|| panic!("event {id} listed")))
    };
    for id in [vk_search, vk_request, vk_read] {
        assert!(
            flags_in(&wieg_list, id).is_empty(),
            "a normal day: event {id}"
        );
    }
    assert!(flags_in(&zh_list, gyn_search).is_empty());
    assert_eq!(flags_in(&zh_list, spoed_request), vec!["spoed"]);
    for id in &spoed_reads {
        assert_eq!(
            flags_in(&zh_list, *id),
            vec!["spoed"],
            "a view under a spoed grant"
        );
    }
    assert!(flags_in(&zh_list, fresh_request).is_empty());
    assert_eq!(
        flags_in(&zh_list, fresh_read),
        vec!["new_grant_other_organisation"]
    );
    assert_eq!(flags_in(&zh_list, denied), vec!["access_denied"]);
    let why = zh_list[&fresh_read]["flags"][0]["why"].as_str().unwrap();
    assert!(!why.is_empty());

    // Flagged only: exactly the unreviewed flagged events of each officer's scope.
    filter_ok(&app, &zh, &[("flagged", "on")]).await;
    let zh_flagged: BTreeSet<i64> = ids(&walk(&app, &zh).await).into_iter().collect();
    let mut expected: BTreeSet<i64> = [spoed_request, fresh_read, denied].into();
    expected.extend(&spoed_reads);
    assert_eq!(zh_flagged, expected);
    filter_ok(&app, &wieg, &[("flagged", "on")]).await;
    let wieg_flagged: BTreeSet<i64> = ids(&walk(&app, &wieg).await).into_iter().collect();
    // Reads that showed De Wieg's data are hers too; the request and the refusal are not.
    let mut expected: BTreeSet<i64> = [fresh_read].into();
    expected.extend(&spoed_reads);
    assert_eq!(wieg_flagged, expected);
}

async fn out_of_hours_flags_access_inside_the_night_window(backend: Backend) {
    let hour = clock::amsterdam(backend::store::now_ms()).hour();
    // A two-hour night around now (the hour may turn during the test).
    let rules = FlagRules {
        night_starts: hour,
        night_ends: (hour + 2) % 24,
        ..FlagRules::default()
    };
    let app = spawn(backend, rules).await;
    let zh = app.logged_in("privacy").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let login = last_event(&app, "login", Some("gynaecoloog")).await.id;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    let searched = last_event(&app, "search", Some("gynaecoloog")).await.id;
    grant(&app, &gyn, &id0, "behandelrelatie", "").await;
    let requested = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .id;
    assert!(granted(&view(&app, &gyn, &id0).await));
    let read = last_event(&app, "read", Some("gynaecoloog")).await.id;
    let list = by_id(&walk(&app, &zh).await);
    for id in [searched, requested, read] {
        assert_eq!(flag_keys(&list[&id]), vec!["out_of_hours"], "event {id}");
        let why = list[&id]["flags"][0]["why"].as_str().unwrap();
        assert!(why.contains("buiten werktijd"), "{why}");
    }
    assert!(
        flag_keys(&list[&login]).is_empty(),
        "a login is no access to a client"
    );
    for e in list.values().filter(|e| e["action"] == "log_read") {
        assert!(flag_keys(e).is_empty());
    }
}

async fn bulk_flags_above_the_threshold_not_at_it(backend: Backend) {
    let app = spawn(
        backend,
        FlagRules {
            bulk_clients_per_hour: 3,
            ..day_rules()
        },
    )
    .await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let vk = app.logged_in("verloskundige").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let mut searches = Vec::new();
    for i in [0, 1, 2, 3, 0] {
        let (bsn, birth) = demo_client(i);
        search(&app, &vk, &bsn, &birth).await;
        searches.push(last_event(&app, "search", Some("verloskundige")).await.id);
        // Another user's searches do not count for her.
        let (bsn, birth) = demo_client(5 + i);
        search(&app, &gyn, &bsn, &birth).await;
    }
    let gyn_last = last_event(&app, "search", Some("gynaecoloog")).await.id;
    let list = by_id(&walk(&app, &wieg).await);
    for (n, id) in searches.iter().take(3).enumerate() {
        assert!(
            flag_keys(&list[id]).is_empty(),
            "search {} of 3 distinct",
            n + 1
        );
    }
    assert_eq!(
        flag_keys(&list[&searches[3]]),
        vec!["bulk"],
        "the 4th distinct client"
    );
    let why = list[&searches[3]]["flags"][0]["why"].as_str().unwrap();
    assert!(why.contains('4'), "{why}");
    assert_eq!(
        flag_keys(&list[&searches[4]]),
        vec!["bulk"],
        "still 4 distinct clients within the hour"
    );
    // The gynaecologist's own count: clients 5, 6, 7, 8 and 5 again, so her last search is
    // bulk as well (De Wieg shares client 5, so the search is on this officer's list).
    assert!(list.contains_key(&gyn_last));
    assert_eq!(flag_keys(&list[&gyn_last]), vec!["bulk"]);
}

async fn reviewing_a_flag_takes_it_off_the_flagged_list_per_organisation(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    grant(&app, &gyn, &id0, "spoed", "acute verwijzing").await;
    let spoed_request = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .id;
    assert!(granted(&view(&app, &gyn, &id0).await));
    let spoed_read = last_event(&app, "read", Some("gynaecoloog")).await.id;
    assert!(!granted(&view(&app, &gyn, NO_CLIENT).await));
    let gyn_denied = last_event(&app, "access_denied", Some("gynaecoloog"))
        .await
        .id;
    let kraam = app.logged_in("kraamverzorgende").await;
    assert!(!granted(&view(&app, &kraam, NO_CLIENT).await));
    let kz_denied = last_event(&app, "access_denied", Some("kraamverzorgende"))
        .await
        .id;
    let gyn_login = last_event(&app, "login", Some("gynaecoloog")).await.id;

    filter_ok(&app, &zh, &[("flagged", "on")]).await;
    let flagged = walk(&app, &zh).await;
    let flagged_ids: BTreeSet<i64> = ids(&flagged).into_iter().collect();
    assert_eq!(flagged_ids, [spoed_request, spoed_read, gyn_denied].into());
    assert!(
        !flagged_ids.contains(&kz_denied),
        "another organisation's refusal"
    );
    for e in &flagged {
        assert!(!flag_keys(e).is_empty());
        assert_eq!(e["review"], Value::Null);
    }

    // Bad reviews change nothing.
    assert_eq!(
        fields_of(review(&app, &zh, gyn_denied, "   ").await).await,
        set(&["note"])
    );
    let too_long = "x".repeat(1001);
    assert_eq!(
        fields_of(review(&app, &zh, gyn_denied, &too_long).await).await,
        set(&["note"])
    );
    assert_eq!(
        review(&app, &zh, kz_denied, "niet van ons").await.status(),
        404
    );
    assert_eq!(
        review(&app, &zh, 999_999, "bestaat niet").await.status(),
        404
    );
    assert_eq!(
        fields_of(review(&app, &zh, gyn_login, "geen melding").await).await,
        set(&["event"])
    );
    let r = app
        .call(&zh, "audit_review", &[("event_id", "abc"), ("note", "x")])
        .await;
    assert_eq!(fields_of(r).await, set(&["event_id"]));
    assert!(!app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "flag_reviewed"));

    let note = "Link verkeerd aangeklikt; besproken met de gebruiker.";
    assert!(review(&app, &zh, gyn_denied, note)
        .await
        .status()
        .is_success());
    let logged = last_event(&app, "flag_reviewed", Some("privacy")).await;
    assert_eq!(logged.outcome, "success");
    assert_eq!(logged.organisation_id.as_deref(), Some("zh-rivierenland"));
    assert_eq!(detail(&logged)["event_id"], gyn_denied);
    assert_eq!(detail(&logged)["note"], note);
    let flagged_ids: BTreeSet<i64> = ids(&walk(&app, &zh).await).into_iter().collect();
    assert_eq!(
        flagged_ids,
        [spoed_request, spoed_read].into(),
        "reviewed: off the list"
    );
    assert_eq!(
        review(&app, &zh, gyn_denied, "nogmaals").await.status(),
        409
    );
    assert_eq!(
        app.audit_events()
            .await
            .iter()
            .filter(|e| e.action == "flag_reviewed")
            .count(),
        1
    );
    // The normal list shows the review beside the flag.
    clear_filter(&app, &zh).await;
    let list = by_id(&walk(&app, &zh).await);
    let row = &list[&gyn_denied];
    assert_eq!(flag_keys(row), vec!["access_denied"]);
    assert_eq!(row["review"]["by"], "Femke Mulder");
    assert_eq!(row["review"]["note"], note);
    assert!(!row["review"]["at"].as_str().unwrap().is_empty());
    assert!(
        list.contains_key(&logged.id),
        "the flag_reviewed event is on her list"
    );

    // A review is her organisation's: De Wieg's officer still has the spoed read to review.
    assert!(review(&app, &zh, spoed_read, "spoed terecht")
        .await
        .status()
        .is_success());
    filter_ok(&app, &wieg, &[("flagged", "on")]).await;
    let wieg_flagged = by_id(&walk(&app, &wieg).await);
    assert!(
        wieg_flagged.contains_key(&spoed_read),
        "not reviewed by De Wieg yet"
    );
    assert_eq!(wieg_flagged[&spoed_read]["review"], Value::Null);
    assert!(
        !wieg_flagged.contains_key(&gyn_denied),
        "not in De Wieg's scope"
    );
    assert_eq!(
        review(&app, &wieg, gyn_denied, "niet van ons")
            .await
            .status(),
        404
    );
    assert!(review(&app, &wieg, spoed_read, "gezien")
        .await
        .status()
        .is_success());
    assert!(ids(&walk(&app, &wieg).await).is_empty());
    app.assert_chain_intact().await;
}
