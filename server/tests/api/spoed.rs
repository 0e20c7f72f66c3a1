//! The follow-up of a spoed access (issue 14, item 7; seed document 002: "informeer achteraf")
//! through the real router, on SQLite and PostgreSQL: the holder's standing notice and its
//! "gedaan" (`spoed_informed`), and the start-page list at every organisation that shares the
//! client visibly, until one of its users marks it seen (`spoed_seen`). The demo network is in
//! every test database: everything here is filtered by this file's own client.

use crate::helpers::{html_of, Backend, TestApp};
use crate::source_api::{app_with_keys, rivier_token, wieg_token};
use backend::on_both_backends;
use backend::store::AuditRow;
use serde_json::{json, Value};

/// A client only these tests know (not in the demo; passes the 11-check).
const BSN: &str = "111222333";
const BIRTH: &str = "1990-05-01";
const NAME: &str = "Spoed Testcliënt";
const REASON: &str = "Acute verwijzing, bloeding, dossier nodig";
const EVIL: &str = "https://evil.example";
const WIEG_ORG: &str = "vp-de-wieg";
const RIVIER_ORG: &str = "zh-rivierenland";
const KRAAMHOEK_ORG: &str = "kz-kraamhoek";

fn share() -> Value {
    json!({
        "consent": "active",
        "client": { "name": NAME, "birth_date": BIRTH },
        "pregnancies": [{ "id": "p1", "edd": "2027-03-01", "gravidity": 1, "parity": 0,
            "status": "active", "ended_on": null }],
        "entries": [{ "id": "e1", "pregnancy_id": "p1", "category": "pregnancy", "code": "c1",
            "label": "Testgegeven", "value": "SPOED-DATA", "unit": null,
            "observed_at": "2026-11-01T10:00:00Z", "sensitivity": "normal" }],
    })
}

/// The app with the test client shared by the sources of `tokens`.
async fn shared_by(backend: Backend, tokens: &[String]) -> (TestApp, tempfile::TempDir) {
    let (app, _, dir) = app_with_keys(backend).await;
    for token in tokens {
        let r = app.put_share(token, BSN, &share()).await;
        assert_eq!(r.status(), 200, "share");
    }
    (app, dir)
}

impl TestApp {
    async fn spoed_client_id(&self, c: &reqwest::Client) -> String {
        let found: Value = self.search(c, BSN, BIRTH).await.json().await.unwrap();
        found["found"]["client_id"]
            .as_str()
            .unwrap_or_else(|| panic!("found: {found}"))
            .to_owned()
    }

    /// `c`'s user requests access on `ground` and views the client once; her client id.
    async fn granted_and_viewed(&self, c: &reqwest::Client, ground: &str) -> String {
        let client_id = self.spoed_client_id(c).await;
        let r = self.request_access(c, &client_id, ground, REASON).await;
        assert!(r.status().is_success(), "request: {}", r.status());
        let r = self.client_page(c, &client_id).await;
        assert_eq!(r.status(), 200);
        assert!(
            r.text().await.unwrap().contains("Granted"),
            "a granted view"
        );
        client_id
    }

    async fn notice(&self, c: &reqwest::Client, client_id: &str) -> Value {
        let r = self
            .call(c, "spoed_notice", &[("client_id", client_id)])
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// The items of `c`'s start-page list about this file's client.
    async fn spoed_items(&self, c: &reqwest::Client) -> Vec<Value> {
        let r = self.call(c, "spoed_list", &[]).await;
        assert_eq!(r.status(), 200);
        let list: Value = r.json().await.unwrap();
        list.as_array()
            .unwrap_or_else(|| panic!("a list: {list}"))
            .iter()
            .filter(|i| i["client_name"] == NAME)
            .cloned()
            .collect()
    }

    async fn events_of(&self, action: &str) -> Vec<AuditRow> {
        self.audit_events()
            .await
            .into_iter()
            .filter(|e| e.action == action && e.bsn.as_deref().is_none_or(|b| b == BSN))
            .collect()
    }

    async fn marks(&self, table: &str) -> Vec<String> {
        self.texts(&format!("SELECT grant_id FROM {table}")).await
    }
}

fn detail(e: &AuditRow) -> Value {
    serde_json::from_str(&e.detail).unwrap()
}

on_both_backends!(
    no_one_but_the_holder_can_mark_a_spoed_grant_informed,
    a_spoed_view_leaves_a_notice_until_the_holder_marks_the_client_informed,
    a_non_spoed_grant_and_an_unviewed_spoed_grant_show_no_notice,
    each_sharing_organisation_sees_the_spoed_access_until_one_of_its_users_marks_it_seen,
    an_organisation_that_does_not_share_the_client_or_lost_her_consent_never_sees_it,
    cross_site_posts_to_the_spoed_functions_are_refused_and_change_nothing,
);

/// The attacker: another user (of the same or another organisation, or the officer) posting
/// the holder's grant id, or a made-up one, is refused as unknown, logged `denied`, and the
/// holder's notice stays.
async fn no_one_but_the_holder_can_mark_a_spoed_grant_informed(backend: Backend) {
    let (app, _dir) = shared_by(backend, &[wieg_token()]).await;
    let holder = app.logged_in("gynaecoloog").await;
    let client_id = app.granted_and_viewed(&holder, "spoed").await;
    let grant_id = app.notice(&holder, &client_id).await["grant_id"]
        .as_str()
        .expect("the holder's notice")
        .to_owned();
    for (username, expected) in [
        ("ogverpleegkundige", 404), // her colleague
        ("verloskundige", 404),     // of the sharing organisation
        ("privacy", 403),           // not a care professional
    ] {
        let c = app.logged_in(username).await;
        // She even views the client under her own (non-spoed) grant first.
        if expected == 404 {
            app.granted_and_viewed(&c, "behandelrelatie").await;
        }
        let r = app
            .call(&c, "spoed_informed", &[("grant_id", &grant_id)])
            .await;
        assert_eq!(r.status(), expected, "{username}");
        let r = app
            .call(&c, "spoed_informed", &[("grant_id", "bestaat-niet")])
            .await;
        assert_eq!(r.status(), expected, "{username}: a made-up id");
    }
    assert!(
        app.marks("spoed_informed").await.is_empty(),
        "nothing marked"
    );
    assert_eq!(app.notice(&holder, &client_id).await["grant_id"], grant_id);
    let refused = app.events_of("spoed_informed").await;
    assert_eq!(refused.len(), 6, "every attempt is logged");
    assert!(refused.iter().all(|e| e.outcome == "denied"));
    let colleague = refused
        .iter()
        .find(|e| e.user_name.as_deref() == Some("ogverpleegkundige"))
        .unwrap();
    assert_eq!(detail(colleague)["reason"], "not_own_spoed_grant");
    assert_eq!(colleague.grant_id.as_deref(), Some(grant_id.as_str()));
    assert_eq!(colleague.bsn.as_deref(), Some(BSN));
    app.assert_chain_intact().await;
}

/// The holder of a spoed grant who viewed the client has a standing notice (also after her
/// grant expired) until she marks "gedaan": logged `spoed_informed` with client, BSN, grant
/// and ground, seen by the officers of the sharing organisations; then the notice is gone.
async fn a_spoed_view_leaves_a_notice_until_the_holder_marks_the_client_informed(backend: Backend) {
    let (app, _dir) = shared_by(backend, &[wieg_token(), rivier_token()]).await;
    let holder = app.logged_in("kraamverzorgende").await;
    let client_id = app.granted_and_viewed(&holder, "spoed").await;
    let notice = app.notice(&holder, &client_id).await;
    let grant_id = notice["grant_id"].as_str().expect("a notice").to_owned();
    let viewed_at = notice["viewed_at"].as_str().unwrap();
    assert!(
        viewed_at.len() == 16 && viewed_at.as_bytes()[2] == b'-' && viewed_at.as_bytes()[5] == b'-',
        "a Dutch date and time: {viewed_at}"
    );
    // The client page reads the same notice with its own view.
    let html = app.client_page_html(&holder, &client_id).await;
    assert!(
        html.contains("data-testid=\"spoed-notice\"")
            && html.contains(&format!("value=\"{grant_id}\""))
            && html.contains(viewed_at),
        "the page's notice"
    );
    // Still there, and on the next day too: the grant expired, the duty did not.
    app.raw_sql(&format!(
        "UPDATE access_grants SET expires_at = 1 WHERE id = '{grant_id}'"
    ))
    .await;
    assert_eq!(app.notice(&holder, &client_id).await["grant_id"], grant_id);

    let r = app
        .call(&holder, "spoed_informed", &[("grant_id", &grant_id)])
        .await;
    assert_eq!(r.status(), 200);
    assert!(app.notice(&holder, &client_id).await.is_null(), "gone");
    let events = app.events_of("spoed_informed").await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.outcome, "success");
    assert_eq!(e.user_name.as_deref(), Some("kraamverzorgende"));
    assert_eq!(e.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(e.bsn.as_deref(), Some(BSN));
    assert_eq!(e.grant_id.as_deref(), Some(grant_id.as_str()));
    assert_eq!(e.ground.as_deref(), Some("spoed"));
    for organisation in [WIEG_ORG, RIVIER_ORG, KRAAMHOEK_ORG] {
        assert!(
            app.store
                .scoped_event(organisation, e.id)
                .await
                .unwrap()
                .is_some(),
            "the officer of {organisation} sees it"
        );
    }
    // A second "gedaan" (a double post) changes nothing and is refused.
    let r = app
        .call(&holder, "spoed_informed", &[("grant_id", &grant_id)])
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.marks("spoed_informed").await, vec![grant_id]);
    app.assert_chain_intact().await;
}

/// No notice for a grant on another ground, nor for a spoed grant she never used to view.
async fn a_non_spoed_grant_and_an_unviewed_spoed_grant_show_no_notice(backend: Backend) {
    let (app, _dir) = shared_by(backend, &[wieg_token()]).await;
    let vk = app.logged_in("verloskundige").await;
    let client_id = app.granted_and_viewed(&vk, "behandelrelatie").await;
    assert!(app.notice(&vk, &client_id).await.is_null());
    assert!(!app
        .client_page_html(&vk, &client_id)
        .await
        .contains("spoed-notice"));

    let gyn = app.logged_in("gynaecoloog").await;
    let client_id = app.spoed_client_id(&gyn).await;
    let r = app.request_access(&gyn, &client_id, "spoed", REASON).await;
    assert!(r.status().is_success());
    assert!(app.notice(&gyn, &client_id).await.is_null(), "not viewed");
    assert!(
        app.spoed_items(&vk).await.is_empty(),
        "not viewed, not listed"
    );
    // The first view's own page carries the notice: that view is logged with what it read.
    assert!(app
        .client_page_html(&gyn, &client_id)
        .await
        .contains("data-testid=\"spoed-notice\""));
    assert!(!app.notice(&gyn, &client_id).await.is_null(), "viewed");
}

/// Every organisation sharing the client lists the spoed access (who, when, why, which
/// client) on its users' start page, an audited read; one user marks it seen: `spoed_seen`,
/// gone for her whole organisation, still there for the other sharing one.
async fn each_sharing_organisation_sees_the_spoed_access_until_one_of_its_users_marks_it_seen(
    backend: Backend,
) {
    let (app, _dir) = shared_by(backend, &[wieg_token(), rivier_token()]).await;
    let holder = app.logged_in("kraamverzorgende").await;
    let client_id = app.granted_and_viewed(&holder, "spoed").await;
    assert!(app.spoed_items(&holder).await.is_empty(), "not her own");

    let vk = app.logged_in("verloskundige").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let ogv = app.logged_in("ogverpleegkundige").await;
    let officer = app.logged_in("privacy").await;
    for c in [&vk, &gyn, &ogv, &officer] {
        let items = app.spoed_items(c).await;
        assert_eq!(items.len(), 1, "{items:?}");
        let item = &items[0];
        assert_eq!(item["client_id"], client_id.as_str());
        assert_eq!(item["client_birth_date"], "01-05-1990");
        assert_eq!(item["holder_name"], "Dewi Visser");
        assert_eq!(item["holder_organisation"], "Kraamzorg De Kraamhoek");
        assert_eq!(item["reason"], REASON);
        assert!(!item["holder_role"].as_str().unwrap().is_empty());
    }
    let reads: Vec<AuditRow> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "read" && detail(e)["view"] == "spoed_list")
        .collect();
    assert_eq!(reads.len(), 4, "one read per list shown");
    let read = &reads[0];
    assert_eq!(read.user_name.as_deref(), Some("verloskundige"));
    let d = detail(read);
    assert_eq!(d["client_ids"], json!([client_id]));
    assert_eq!(d["clients"], 1);
    assert_eq!(d["categories"], json!(["identity"]));
    assert!(!d["sources"].as_array().unwrap().is_empty());
    // The start page itself (server-rendered) shows it.
    let html = html_of(&vk, &app.url("/")).await;
    assert!(html.contains("Spoedinzage bij uw cliënten") && html.contains(NAME));
    assert!(html.contains(REASON));

    let grant_id = app.spoed_items(&gyn).await[0]["grant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .call(&ogv, "spoed_seen", &[("grant_id", &grant_id)])
        .await;
    assert_eq!(r.status(), 200);
    for c in [&gyn, &ogv, &officer] {
        assert!(app.spoed_items(c).await.is_empty(), "gone for Rivierenland");
    }
    assert_eq!(
        app.spoed_items(&vk).await.len(),
        1,
        "still there for De Wieg"
    );
    let seen = app.events_of("spoed_seen").await;
    assert_eq!(seen.len(), 1);
    let e = &seen[0];
    assert_eq!(e.outcome, "success");
    assert_eq!(e.user_name.as_deref(), Some("ogverpleegkundige"));
    assert_eq!(e.grant_id.as_deref(), Some(grant_id.as_str()));
    assert_eq!(e.bsn.as_deref(), Some(BSN));
    assert_eq!(detail(e)["organisation"], RIVIER_ORG);
    for organisation in [WIEG_ORG, RIVIER_ORG] {
        assert!(app
            .store
            .scoped_event(organisation, e.id)
            .await
            .unwrap()
            .is_some());
    }
    // Her colleague's second "gezien" changes nothing.
    let r = app
        .call(&gyn, "spoed_seen", &[("grant_id", &grant_id)])
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.marks("spoed_seen").await.len(), 1);

    let r = app
        .call(&vk, "spoed_seen", &[("grant_id", &grant_id)])
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        app.spoed_items(&vk).await.is_empty(),
        "gone for De Wieg too"
    );
    assert_eq!(app.marks("spoed_seen").await.len(), 2);
    app.assert_chain_intact().await;
}

/// An organisation that does not share the client, and one whose share's consent is
/// withdrawn, never see the spoed access and cannot mark it seen (refused, logged, nothing
/// changed); the administrator has no list.
async fn an_organisation_that_does_not_share_the_client_or_lost_her_consent_never_sees_it(
    backend: Backend,
) {
    let (app, _dir) = shared_by(backend, &[wieg_token(), rivier_token()]).await;
    let holder = app.logged_in("kraamverzorgende").await;
    app.granted_and_viewed(&holder, "spoed").await;
    let vk = app.logged_in("verloskundige").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let officer = app.logged_in("privacy").await;
    let grant_id = app.spoed_items(&vk).await[0]["grant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.spoed_items(&gyn).await.len(), 1);

    // Rivierenland's consent is withdrawn: gone there, still at De Wieg.
    let r = app.put_consent(&rivier_token(), BSN, "withdrawn").await;
    assert_eq!(r.status(), 200);
    for c in [&gyn, &officer] {
        assert!(app.spoed_items(c).await.is_empty(), "withdrawn");
        let r = app.call(c, "spoed_seen", &[("grant_id", &grant_id)]).await;
        assert_eq!(r.status(), 404);
    }
    assert!(app.marks("spoed_seen").await.is_empty(), "nothing changed");
    let refused = app.events_of("spoed_seen").await;
    assert_eq!(refused.len(), 2);
    assert!(refused
        .iter()
        .all(|e| e.outcome == "denied" && detail(e)["reason"] == "not_sharing"));
    assert_eq!(app.spoed_items(&vk).await.len(), 1, "De Wieg still shares");

    // The holder's own organisation does not share her: the holder cannot mark it seen.
    let r = app
        .call(&holder, "spoed_seen", &[("grant_id", &grant_id)])
        .await;
    assert_eq!(r.status(), 404);
    // The administrator has no list and cannot mark.
    let beheer = app.logged_in("beheer").await;
    let r = app.call(&beheer, "spoed_list", &[]).await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));
    let r = app
        .call(&beheer, "spoed_seen", &[("grant_id", &grant_id)])
        .await;
    assert_eq!(r.status(), 403);
    assert!(app.marks("spoed_seen").await.is_empty(), "nothing changed");
    assert_eq!(app.spoed_items(&vk).await.len(), 1);
    assert!(app
        .events_of("spoed_seen")
        .await
        .iter()
        .all(|e| e.outcome == "denied"));
    app.assert_chain_intact().await;
}

/// Rule 10: another site cannot make her browser mark "gedaan" or "gezien" (with or without
/// JavaScript): 403, nothing marked, nothing logged.
async fn cross_site_posts_to_the_spoed_functions_are_refused_and_change_nothing(backend: Backend) {
    let (app, _dir) = shared_by(backend, &[wieg_token()]).await;
    let holder = app.logged_in("gynaecoloog").await;
    let client_id = app.granted_and_viewed(&holder, "spoed").await;
    let grant_id = app.notice(&holder, &client_id).await["grant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let vk = app.logged_in("verloskundige").await;
    assert_eq!(app.spoed_items(&vk).await.len(), 1);
    let before = app.audit_events().await.len();
    for (c, endpoint) in [(&holder, "spoed_informed"), (&vk, "spoed_seen")] {
        for accept in ["application/json", "text/html,application/xhtml+xml"] {
            for (k, v) in [("origin", EVIL), ("sec-fetch-site", "cross-site")] {
                let r = c
                    .post(app.url(&format!("/api/{endpoint}")))
                    .header("accept", accept)
                    .header(k, v)
                    .form(&[("grant_id", grant_id.as_str())])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 403, "{endpoint} with {k} ({accept})");
            }
        }
    }
    assert_eq!(app.audit_events().await.len(), before, "nothing logged");
    assert!(app.marks("spoed_informed").await.is_empty());
    assert!(app.marks("spoed_seen").await.is_empty());
    assert!(!app.notice(&holder, &client_id).await.is_null());
    assert_eq!(app.spoed_items(&vk).await.len(), 1);
}
