//! Finding clients, requesting access and viewing (DESIGN sections 3, 5, 6), through the real
//! router on SQLite and PostgreSQL.

use crate::helpers::{Backend, TestApp};
use crate::source_api::{app_with_keys, rivier_token, wieg_token};
use backend::on_both_backends;
use domain::{Category, Policy, Role, Sensitivity};
use serde_json::{json, Value};

/// A client only the tests know (not in the demo).
pub const BSN: &str = "111222333";
pub const BIRTH: &str = "1990-05-01";

pub fn marker(category: Category, sensitivity: Sensitivity) -> String {
    format!("MARK-{}-{}", category.as_str(), sensitivity.as_str())
}

/// One entry per category x sensitivity, each with a unique marker value and code.
pub fn matrix_share() -> Value {
    let mut entries = Vec::new();
    for category in Category::ALL {
        for sensitivity in Sensitivity::ALL {
            entries.push(json!({
                "id": format!("{}-{}", category.as_str(), sensitivity.as_str()),
                "pregnancy_id": "p1", "category": category.as_str(),
                "code": format!("code-{}-{}", category.as_str(), sensitivity.as_str()),
                "label": "Testgegeven", "value": marker(*category, *sensitivity), "unit": null,
                "observed_at": "2026-11-01T10:00:00Z", "sensitivity": sensitivity.as_str(),
            }));
        }
    }
    json!({
        "consent": "active",
        "client": { "name": "Matrix Cliënt", "birth_date": BIRTH },
        "pregnancies": [{ "id": "p1", "edd": "2027-03-01", "gravidity": 2, "parity": 1, "status": "active", "ended_on": null }],
        "entries": entries,
    })
}

/// The demo user of each clinical role.
pub const ROLE_USERS: [(Role, &str); 5] = [
    (Role::Verloskundige, "verloskundige"),
    (Role::Gynaecoloog, "gynaecoloog"),
    (Role::OgVerpleegkundige, "ogverpleegkundige"),
    (Role::Kraamverzorgende, "kraamverzorgende"),
    (Role::Echoscopist, "echoscopist"),
];

impl TestApp {
    pub async fn client_id_of(&self, c: &reqwest::Client) -> String {
        let found: Value = self.search(c, BSN, BIRTH).await.json().await.unwrap();
        found["found"]["client_id"]
            .as_str()
            .expect("found")
            .to_owned()
    }

    pub async fn view_json(&self, c: &reqwest::Client, client_id: &str) -> (u16, String) {
        let r = self.client_page(c, client_id).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

fn markers_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for category in Category::ALL {
        for sensitivity in Sensitivity::ALL {
            let m = marker(*category, *sensitivity);
            if text.contains(&m) {
                found.push(m);
            }
        }
    }
    found
}

on_both_backends!(
    the_full_matrix_shows_each_marker_exactly_when_the_policy_allows,
    an_unknown_and_a_withdrawn_client_get_the_identical_search_answer,
    a_grant_helps_only_its_holder_and_an_ended_or_expired_grant_shows_nothing,
    guessing_a_client_id_shows_nothing_and_is_logged_as_access_denied,
    each_view_writes_exactly_one_read_event_with_its_grounds,
    a_view_whose_audit_event_cannot_be_written_shows_no_data,
    after_a_withdrawal_commits_no_view_shows_that_sources_data,
    access_requests_check_ground_reason_and_attestation,
    simultaneous_requests_of_one_user_create_one_grant,
    a_repeated_access_request_is_logged,
);

async fn shared_matrix(backend: Backend) -> (TestApp, tempfile::TempDir) {
    let (app, _, dir) = app_with_keys(backend).await;
    let response = app.put_share(&wieg_token(), BSN, &matrix_share()).await;
    assert_eq!(response.status(), 200);
    (app, dir)
}

async fn the_full_matrix_shows_each_marker_exactly_when_the_policy_allows(backend: Backend) {
    let (app, _dir) = shared_matrix(backend).await;
    let policy = Policy::default_design();
    let mut cases = 0;
    for (role, username) in ROLE_USERS {
        let c = app.logged_in(username).await;
        let client_id = app.client_id_of(&c).await;
        // Without a grant: no marker anywhere (page HTML with its hydration data, JSON).
        let html = app.client_page_html(&c, &client_id).await;
        assert!(markers_in(&html).is_empty(), "{username} without grant");
        assert!(markers_in(&app.view_json(&c, &client_id).await.1).is_empty());
        cases += 42;
        // With a grant: exactly the permitted markers.
        assert_eq!(
            app.request_access(&c, &client_id, "behandelrelatie", "")
                .await
                .status(),
            200
        );
        let html = app.client_page_html(&c, &client_id).await;
        let (_, json) = app.view_json(&c, &client_id).await;
        for category in Category::ALL {
            for sensitivity in Sensitivity::ALL {
                let allowed = policy.allows(domain::policy::ViewRequest {
                    role,
                    has_valid_grant: true,
                    consent_active: true,
                    category: *category,
                    sensitivity: *sensitivity,
                });
                let m = marker(*category, *sensitivity);
                assert_eq!(html.contains(&m), allowed, "{username}: {m} in HTML");
                assert_eq!(json.contains(&m), allowed, "{username}: {m} in JSON");
                cases += 1;
            }
        }
    }
    // Consent withdrawn: no marker for anyone, grant or not.
    assert_eq!(
        app.put_consent(&wieg_token(), BSN, "withdrawn")
            .await
            .status(),
        200
    );
    for (_, username) in ROLE_USERS {
        let c = app.logged_in(username).await;
        let ids: Vec<String> = app
            .audit_events()
            .await
            .iter()
            .filter(|e| e.action == "access_request" && e.outcome == "success")
            .filter_map(|e| e.client_id.clone())
            .collect();
        let html = app.client_page_html(&c, &ids[0]).await;
        assert!(markers_in(&html).is_empty(), "{username} after withdrawal");
        cases += 42;
    }
    // Non-clinical roles see no clinical data at all.
    for username in ["privacy", "beheer"] {
        let c = app.logged_in(username).await;
        let (status, body) = app.view_json(&c, "anything").await;
        assert_eq!(status, 403);
        assert!(markers_in(&body).is_empty());
    }
    println!("matrix cases: {cases}");
    app.assert_chain_intact().await;
}

async fn an_unknown_and_a_withdrawn_client_get_the_identical_search_answer(backend: Backend) {
    let (app, _dir) = shared_matrix(backend).await;
    let unknown = crate::helpers::valid_bsn_not_in_demo();
    app.put_consent(&wieg_token(), BSN, "withdrawn").await;
    let c = app.logged_in("verloskundige").await;
    let a = app.search(&c, BSN, BIRTH).await;
    let b = app.search(&c, &unknown, BIRTH).await;
    assert_eq!(a.status(), b.status());
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["found"], Value::Null);
    assert_eq!(
        a["found"], b["found"],
        "same answer apart from the echoed input"
    );
    let searches: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "search")
        .collect();
    assert_eq!(searches.len(), 2);
    assert!(
        searches[0].client_id.is_some(),
        "the log records the real outcome"
    );
    assert!(searches[1].client_id.is_none());
    // A wrong birth date finds nothing either; a bad BSN is a field error.
    let wrong: Value = app
        .search(&c, BSN, "1990-05-02")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(wrong["found"], Value::Null);
    let bad = app.search(&c, "123456789", BIRTH).await;
    assert_eq!(bad.status(), 422);
}

async fn a_grant_helps_only_its_holder_and_an_ended_or_expired_grant_shows_nothing(
    backend: Backend,
) {
    let (app, _dir) = shared_matrix(backend).await;
    let midwife = app.logged_in("verloskundige").await;
    let colleague = app.logged_in("gynaecoloog").await;
    let client_id = app.client_id_of(&midwife).await;
    app.request_access(&midwife, &client_id, "waarneming", "dienst")
        .await;
    assert!(!markers_in(&app.view_json(&midwife, &client_id).await.1).is_empty());
    assert!(
        markers_in(&app.view_json(&colleague, &client_id).await.1).is_empty(),
        "not the colleague's grant"
    );
    // Ended by the holder.
    assert_eq!(
        app.call(&midwife, "end_grant", &[("client_id", &client_id)])
            .await
            .status(),
        200
    );
    assert!(markers_in(&app.view_json(&midwife, &client_id).await.1).is_empty());
    assert!(app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "grant_ended"));
    // Expired.
    app.request_access(&midwife, &client_id, "behandelrelatie", "")
        .await;
    assert!(!markers_in(&app.view_json(&midwife, &client_id).await.1).is_empty());
    app.raw_sql(&format!(
        "UPDATE access_grants SET expires_at = 1 WHERE client_id = '{client_id}'"
    ))
    .await;
    assert!(
        markers_in(&app.view_json(&midwife, &client_id).await.1).is_empty(),
        "expired"
    );
}

async fn guessing_a_client_id_shows_nothing_and_is_logged_as_access_denied(backend: Backend) {
    let (app, _dir) = shared_matrix(backend).await;
    let c = app.logged_in("gynaecoloog").await;
    let client_id = app.client_id_of(&c).await;
    for guess in [client_id.as_str(), "00000000000000000000000000000000"] {
        let html = app.client_page_html(&c, guess).await;
        assert!(html.contains("Toegang aanvragen"));
        assert!(!html.contains("Matrix Cliënt"), "not even the name");
        let last = app.audit_events().await.pop().unwrap();
        assert_eq!(last.action, "access_denied");
        assert_eq!(last.outcome, "denied");
    }
    // Requesting access to a client that does not exist is refused like any unknown client.
    assert_eq!(
        app.request_access(
            &c,
            "00000000000000000000000000000000",
            "behandelrelatie",
            ""
        )
        .await
        .status(),
        404
    );
}

async fn each_view_writes_exactly_one_read_event_with_its_grounds(backend: Backend) {
    let (app, _dir) = shared_matrix(backend).await;
    let c = app.logged_in("kraamverzorgende").await;
    let client_id = app.client_id_of(&c).await;
    app.request_access(&c, &client_id, "spoed", "bevalling thuis, collega afwezig")
        .await;
    let before = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.action == "read")
        .count();
    app.view_json(&c, &client_id).await;
    let events = app.audit_events().await;
    assert_eq!(
        events.iter().filter(|e| e.action == "read").count(),
        before + 1
    );
    let read = events.last().unwrap();
    assert_eq!(read.action, "read");
    assert_eq!(read.user_role.as_deref(), Some("kraamverzorgende"));
    assert_eq!(read.organisation_id.as_deref(), Some("kz-kraamhoek"));
    assert_eq!(read.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(read.bsn.as_deref(), Some(BSN));
    assert_eq!(read.ground.as_deref(), Some("spoed"));
    assert!(read.grant_id.is_some());
    let detail: Value = serde_json::from_str(&read.detail).unwrap();
    assert!(detail["categories"]
        .as_array()
        .unwrap()
        .contains(&json!("newborn")));
    assert!(!detail["categories"]
        .as_array()
        .unwrap()
        .contains(&json!("ultrasound")));
    assert_eq!(detail["sources"], json!(["de-wieg-epd"]));
    assert!(detail["entries"].as_u64().unwrap() > 0);
    let request = events
        .iter()
        .rev()
        .find(|e| e.action == "access_request")
        .unwrap();
    assert!(request.detail.contains("\"emergency\":true"));
}

async fn a_view_whose_audit_event_cannot_be_written_shows_no_data(backend: Backend) {
    let (app, _dir) = shared_matrix(backend).await;
    let c = app.logged_in("verloskundige").await;
    let client_id = app.client_id_of(&c).await;
    app.request_access(&c, &client_id, "behandelrelatie", "")
        .await;
    // Make the audit insert of a view fail (as a full disk or a broken connection would).
    match app.store.db() {
        backend::store::Db::Sqlite(_) => {
            app.raw_sql(
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_events WHEN NEW.action = 'read' \
             BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END",
            )
            .await
        }
        backend::store::Db::Postgres(_) => {
            app.raw_sql("CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ \
                BEGIN IF NEW.action = 'read' THEN RAISE EXCEPTION 'audit log unavailable'; END IF; RETURN NEW; END; $$").await;
            app.raw_sql("CREATE TRIGGER audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_down()").await;
        }
    }
    let (status, body) = app.view_json(&c, &client_id).await;
    assert_eq!(status, 500);
    assert!(markers_in(&body).is_empty(), "fail closed: {body}");
    let (status, html) =
        crate::helpers::page_of(&c, &app.url(&format!("/clients/{client_id}"))).await;
    assert_eq!(status, 500);
    assert!(markers_in(&html).is_empty());
}

async fn after_a_withdrawal_commits_no_view_shows_that_sources_data(backend: Backend) {
    let (app, _dir) = shared_matrix(backend).await;
    // A second source shares too; its data must stay visible.
    let mut other = matrix_share();
    other["entries"] = json!([{ "id": "x", "pregnancy_id": null, "category": "pregnancy", "code": "rr",
        "label": "Bloeddruk", "value": "OTHER-SOURCE", "unit": null, "observed_at": "2026-11-01T10:00:00Z", "sensitivity": "normal" }]);
    app.put_share(&rivier_token(), BSN, &other).await;
    let c = app.logged_in("verloskundige").await;
    let client_id = app.client_id_of(&c).await;
    app.request_access(&c, &client_id, "behandelrelatie", "")
        .await;
    let withdrawn_at = std::sync::Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
    let viewer = {
        let (app_url, c, id, withdrawn_at) = (
            app.url("/api/client"),
            c.clone(),
            client_id.clone(),
            withdrawn_at.clone(),
        );
        tokio::spawn(async move {
            let mut iterations = 0;
            let mut after = 0;
            for _ in 0..150 {
                let started = std::time::Instant::now();
                let body = c
                    .post(&app_url)
                    .header("accept", "application/json")
                    .form(&[("client_id", id.as_str())])
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                iterations += 1;
                let committed_before_start =
                    withdrawn_at.lock().unwrap().is_some_and(|t| t <= started);
                if committed_before_start {
                    after += 1;
                    assert!(
                        markers_in(&body).is_empty(),
                        "withdrawn data shown after commit"
                    );
                    assert!(
                        body.contains("OTHER-SOURCE"),
                        "the other source stays visible"
                    );
                }
            }
            (iterations, after)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(
        app.put_consent(&wieg_token(), BSN, "withdrawn")
            .await
            .status(),
        200
    );
    *withdrawn_at.lock().unwrap() = Some(std::time::Instant::now());
    let (iterations, after) = viewer.await.unwrap();
    println!("withdrawal race: {iterations} views, {after} after the commit");
    assert!(after > 10, "enough views after the withdrawal ({after})");
}

async fn access_requests_check_ground_reason_and_attestation(backend: Backend) {
    let (app, _dir) = shared_matrix(backend).await;
    let c = app.logged_in("verloskundige").await;
    let client_id = app.client_id_of(&c).await;
    let no_attest = app
        .call(
            &c,
            "request_access",
            &[
                ("client_id", &client_id),
                ("ground", "behandelrelatie"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(no_attest.status(), 422);
    assert!(no_attest.text().await.unwrap().contains("attest"));
    let spoed = app.request_access(&c, &client_id, "spoed", "  ").await;
    assert_eq!(spoed.status(), 422);
    assert!(spoed.text().await.unwrap().contains("reason"));
    let bad_ground = app.request_access(&c, &client_id, "nieuwsgierig", "").await;
    assert_eq!(bad_ground.status(), 422);
    assert!(
        markers_in(&app.view_json(&c, &client_id).await.1).is_empty(),
        "no grant from refused requests"
    );
    let officer = app.logged_in("privacy").await;
    assert_eq!(
        app.request_access(&officer, &client_id, "behandelrelatie", "")
            .await
            .status(),
        403
    );
    assert_eq!(app.search(&officer, BSN, BIRTH).await.status(), 403);
}

async fn simultaneous_requests_of_one_user_create_one_grant(backend: Backend) {
    let (app, _dir) = shared_matrix(backend).await;
    let c = app.logged_in("verloskundige").await;
    let client_id = app.client_id_of(&c).await;
    let requests = (0..6).map(|_| app.request_access(&c, &client_id, "behandelrelatie", ""));
    for response in futures::future::join_all(requests).await {
        assert_eq!(response.status(), 200);
    }
    let requests: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "access_request" && e.outcome == "success")
        .collect();
    let (repeated, created): (Vec<_>, Vec<_>) = requests
        .iter()
        .partition(|e| e.detail.contains("\"already_granted\":true"));
    assert_eq!(created.len(), 1, "one grant and one access_request event");
    // Rule 2: the requests that lost the race are logged too, with the grant they found.
    assert_eq!(repeated.len(), 5, "every request is logged");
    for e in repeated {
        assert_eq!(e.grant_id, created[0].grant_id);
    }
    let user = app
        .store
        .user_by_username("verloskundige")
        .await
        .unwrap()
        .unwrap();
    let grants = app.store.granted_clients(&user.id).await.unwrap();
    assert_eq!(grants.len(), 1);
}

/// Rule 2 (every access request is logged): asking again while she holds a valid grant
/// creates no second grant, and is logged as an `access_request` naming the grant she holds,
/// with its own ground and reason. (Before the fix the repeat returned without a log line.)
async fn a_repeated_access_request_is_logged(backend: Backend) {
    let (app, _dir) = shared_matrix(backend).await;
    let c = app.logged_in("verloskundige").await;
    let client_id = app.client_id_of(&c).await;
    assert_eq!(
        app.request_access(&c, &client_id, "behandelrelatie", "")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.request_access(&c, &client_id, "spoed", "bevalling, opnieuw gevraagd")
            .await
            .status(),
        200
    );
    let requests: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "access_request")
        .collect();
    assert_eq!(requests.len(), 2, "both requests are logged");
    let (first, second) = (&requests[0], &requests[1]);
    assert_eq!(second.outcome, "success");
    assert_eq!(second.grant_id, first.grant_id, "the grant she holds");
    assert_eq!(second.ground.as_deref(), Some("spoed"));
    assert_eq!(second.client_id.as_deref(), Some(client_id.as_str()));
    let detail: Value = serde_json::from_str(&second.detail).unwrap();
    assert_eq!(detail["already_granted"], true);
    assert_eq!(detail["granted_ground"], "behandelrelatie");
    assert_eq!(detail["reason"], "bevalling, opnieuw gevraagd");
    let user = app
        .store
        .user_by_username("verloskundige")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.store.granted_clients(&user.id).await.unwrap().len(), 1);
    app.assert_chain_intact().await;
}
