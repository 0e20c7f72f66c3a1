//! The officer revokes a grant of her organisation's user; the same review or revocation sent
//! several times at once takes effect once.
//!
//! Part of the privacy officer's review of the access log (DESIGN flow 7); the demo network,
//! the setup and the shared calls are in `review_helpers.rs`.

use crate::helpers::{Backend, TestApp};
use crate::review_helpers::*;
use backend::on_both_backends;

on_both_backends!(
    the_officer_revokes_a_grant_of_her_organisations_user,
    concurrent_reviews_and_revocations_take_effect_once,
);

// ----- 5. revoking -----

async fn the_officer_revokes_a_grant_of_her_organisations_user(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    grant(&app, &gyn, &id0, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &gyn, &id0).await));
    let requested = last_event(&app, "access_request", Some("gynaecoloog")).await;
    let grant_id = requested
        .grant_id
        .clone()
        .expect("grant id in the access_request event");
    let (bsn0, _) = demo_client(ALL_THREE);
    let grants = audit_page(&app, &zh, None).await["grants"].clone();
    let listed = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == grant_id.as_str())
        .unwrap_or_else(|| panic!("grant listed for her: {grants}"));
    assert_eq!(listed["bsn"], bsn0.as_str());
    assert_eq!(
        listed["ground"],
        domain::grant::Ground::Behandelrelatie.label(),
        "the ground's label, not its key"
    );
    assert_eq!(listed["user"], "Dr. Bram Jansen (gynaecoloog)");
    let wieg_grants = audit_page(&app, &wieg, None).await["grants"].clone();
    assert!(
        !wieg_grants
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == grant_id.as_str()),
        "not another organisation's grant"
    );

    // Another organisation's officer: as if there were no such grant; nothing changes.
    assert_eq!(revoke(&app, &wieg, &grant_id, "zomaar").await.status(), 404);
    assert!(granted(&view(&app, &gyn, &id0).await));
    // The reason is required.
    assert_eq!(
        fields_of(revoke(&app, &zh, &grant_id, "  ").await).await,
        set(&["reason"])
    );
    assert!(granted(&view(&app, &gyn, &id0).await));
    assert_eq!(
        revoke(&app, &zh, "geen-toegang-met-dit-id", "reden")
            .await
            .status(),
        404
    );
    assert!(!app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "grant_revoked"));

    let reason = "Geen behandelrelatie vastgesteld";
    assert!(revoke(&app, &zh, &grant_id, reason)
        .await
        .status()
        .is_success());
    let revoked = last_event(&app, "grant_revoked", Some("privacy")).await;
    assert_eq!(revoked.grant_id.as_deref(), Some(grant_id.as_str()));
    assert_eq!(revoked.client_id.as_deref(), Some(id0.as_str()));
    assert_eq!(revoked.bsn.as_deref(), Some(bsn0.as_str()));
    assert_eq!(detail(&revoked)["reason"], reason);
    assert_eq!(
        detail(&revoked)["holder"].as_str(),
        requested.user_id.as_deref()
    );

    // The holder's next view is refused and logged as such.
    let page = view(&app, &gyn, &id0).await;
    assert!(!granted(&page), "{page}");
    assert!(
        !page.to_string().contains(demo_name(ALL_THREE)),
        "no data, not even the name"
    );
    let denied = app.audit_events().await.pop().unwrap();
    assert_eq!(denied.action, "access_denied");
    assert_eq!(denied.user_name.as_deref(), Some("gynaecoloog"));
    assert_eq!(detail(&denied)["reason"], "no_valid_grant");
    let grants = audit_page(&app, &zh, None).await["grants"].clone();
    assert!(!grants
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["id"] == grant_id.as_str()));
    // Twice: a conflict, nothing new.
    assert_eq!(revoke(&app, &zh, &grant_id, reason).await.status(), 409);
    assert_eq!(revocations(&app).await, 1);
    // The revocation is on her own list.
    assert!(visible(&app, &zh).await.contains(&revoked.id));
    // Another organisation's grant and no grant at all get the same answer.
    let other = revoke(&app, &wieg, &grant_id, "zomaar").await;
    let none = revoke(&app, &wieg, "bestaat-niet", "zomaar").await;
    assert_eq!(other.status(), 404);
    assert_eq!(none.status(), 404);
    assert_eq!(other.text().await.unwrap(), none.text().await.unwrap());
    // A grant its holder ended herself cannot be revoked any more.
    grant(&app, &gyn, &id0, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &gyn, &id0).await));
    let second = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .grant_id
        .unwrap();
    assert_ne!(second, grant_id);
    assert!(app
        .call(&gyn, "end_grant", &[("client_id", &id0)])
        .await
        .status()
        .is_success());
    assert_eq!(revoke(&app, &zh, &second, reason).await.status(), 409);
    assert_eq!(revocations(&app).await, 1);
}

// ----- races -----

/// The same review or revocation sent several times at once takes effect once: one success,
/// the others 409, one audit event.
async fn concurrent_reviews_and_revocations_take_effect_once(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let gyn = app.logged_in("gynaecoloog").await;
    assert!(!granted(&view(&app, &gyn, NO_CLIENT).await));
    let denied = last_event(&app, "access_denied", Some("gynaecoloog"))
        .await
        .id;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    grant(&app, &gyn, &id0, "behandelrelatie", "").await;
    let grant_id = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .grant_id
        .unwrap();

    let reviews = futures::future::join_all((0..6).map(|n| {
        review(
            &app,
            &zh,
            denied,
            if n % 2 == 0 { "gezien" } else { "ook gezien" },
        )
    }))
    .await;
    let mut statuses: Vec<u16> = reviews.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 409, 409, 409, 409, 409], "reviews");
    let revocations =
        futures::future::join_all((0..6).map(|_| revoke(&app, &zh, &grant_id, "ingetrokken")))
            .await;
    let mut statuses: Vec<u16> = revocations.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 409, 409, 409, 409, 409], "revocations");
    let events = app.audit_events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "flag_reviewed")
            .count(),
        1
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "grant_revoked")
            .count(),
        1
    );
    app.assert_chain_intact().await;
}

/// How many `grant_revoked` events the log holds.
async fn revocations(app: &TestApp) -> usize {
    app.audit_events()
        .await
        .iter()
        .filter(|e| e.action == "grant_revoked")
        .count()
}
