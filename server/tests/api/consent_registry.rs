//! The consent registry (DESIGN 8.3, rules 1 and 6) through the real router, on SQLite and
//! PostgreSQL: the client's national choice hides sources' data at every read, and only hides.

use crate::helpers::{Backend, TestApp};
use crate::source_api::{app_with_keys, claims, fixture, rivier_token, sign, wieg_token};
use crate::viewing::{marker, matrix_share, BIRTH, BSN, ROLE_USERS};
use backend::on_both_backends;
use domain::{Category, Policy, Sensitivity};
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

pub const REGISTRY: &str = "mitz-test";

on_both_backends!(
    each_choice_hides_exactly_the_sources_it_does_not_allow_for_every_role,
    a_client_whose_profile_allows_none_answers_as_an_unknown_client,
    after_a_none_profile_commits_no_view_shows_data,
    refused_profiles_and_foreign_tokens_change_nothing,
    a_profile_received_before_any_share_applies_when_data_arrives,
    profile_changes_are_logged_with_counts_for_the_sharing_organisations_only,
);

/// A fresh token of the test registry (ES256, key es256-c).
pub fn registry_token() -> String {
    sign(
        Algorithm::ES256,
        &fixture("es256-c.pem"),
        &claims(REGISTRY),
        None,
    )
}

/// The rivierenland copy of the matrix: the same cells, values marked `RIVR-`.
fn rivier_share() -> Value {
    let text = matrix_share().to_string().replace("MARK-", "RIVR-");
    serde_json::from_str(&text).unwrap()
}

fn rivier_marker(category: Category, sensitivity: Sensitivity) -> String {
    marker(category, sensitivity).replace("MARK-", "RIVR-")
}

/// The demo app with two sources of different kinds sharing the matrix (De Wieg, a
/// verloskundigenpraktijk; Rivierenland, a ziekenhuis) and the test registry registered.
pub async fn two_sources_and_a_registry(backend: Backend) -> (TestApp, tempfile::TempDir) {
    let (app, _, dir) = app_with_keys(backend).await;
    let path = dir.path().join("registry.pub.pem");
    std::fs::write(&path, fixture("es256-c.pub.pem")).unwrap();
    backend::sources::add_registry(&app.store, REGISTRY, &path.display().to_string())
        .await
        .unwrap();
    assert_eq!(
        app.put_share(&wieg_token(), BSN, &matrix_share())
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put_share(&rivier_token(), BSN, &rivier_share())
            .await
            .status(),
        200
    );
    (app, dir)
}

impl TestApp {
    pub async fn put_profile_with(
        &self,
        token: &str,
        bsn: &str,
        body: &Value,
    ) -> reqwest::Response {
        crate::helpers::client()
            .put(self.url(&format!("/api/v1/consent-profiles/{bsn}")))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn put_profile(&self, bsn: &str, body: Value) -> Value {
        let response = self.put_profile_with(&registry_token(), bsn, &body).await;
        assert_eq!(response.status(), 200, "profile {body}");
        response.json().await.unwrap()
    }
}

/// Which (source, cell) markers a role must see under a profile that allows the given sources.
fn expected(role: domain::Role, wieg: bool, rivier: bool) -> Vec<(String, bool)> {
    let policy = Policy::default_design();
    let mut cells = Vec::new();
    for category in Category::ALL {
        for sensitivity in Sensitivity::ALL {
            let allowed = policy.allows(domain::policy::ViewRequest {
                role,
                has_valid_grant: true,
                consent_active: true,
                category: *category,
                sensitivity: *sensitivity,
            });
            cells.push((marker(*category, *sensitivity), allowed && wieg));
            cells.push((rivier_marker(*category, *sensitivity), allowed && rivier));
        }
    }
    cells
}

async fn each_choice_hides_exactly_the_sources_it_does_not_allow_for_every_role(backend: Backend) {
    let (app, _dir) = two_sources_and_a_registry(backend).await;
    let mut sessions = Vec::new();
    for (role, username) in ROLE_USERS {
        let c = app.logged_in(username).await;
        let client_id = app.client_id_of(&c).await;
        assert_eq!(
            app.request_access(&c, &client_id, "behandelrelatie", "")
                .await
                .status(),
            200
        );
        sessions.push((role, username, c, client_id));
    }
    let steps = [
        (
            json!({"choice": "selected", "organisation_kinds": ["ziekenhuis"]}),
            false,
            true,
        ),
        (
            json!({"choice": "selected", "organisations": ["vp-de-wieg"]}),
            true,
            false,
        ),
        (
            json!({"choice": "selected", "organisations": ["kz-kraamhoek"], "organisation_kinds": ["echocentrum"]}),
            false,
            false,
        ),
        (json!({"choice": "none"}), false, false),
        (json!({"choice": "all"}), true, true),
    ];
    let mut cases = 0;
    for (version, (profile, wieg, rivier)) in steps.into_iter().enumerate() {
        let stored = app.put_profile(BSN, profile.clone()).await;
        assert_eq!(stored["version"], json!(version as i64 + 1));
        for (role, username, c, client_id) in &sessions {
            let html = app.client_page_html(c, client_id).await;
            let (status, json) = app.view_json(c, client_id).await;
            if !wieg && !rivier {
                // Nothing visible: the same answer as for a client she may not see (rule 6).
                assert_eq!(
                    (status, json.contains("NoAccess")),
                    (200, true),
                    "{username} under {profile}: {json}"
                );
            }
            for (m, shown) in expected(*role, wieg, rivier) {
                assert_eq!(
                    html.contains(&m),
                    shown,
                    "{username} under {profile}: {m} in HTML"
                );
                assert_eq!(
                    json.contains(&m),
                    shown,
                    "{username} under {profile}: {m} in JSON"
                );
                cases += 1;
            }
        }
    }
    assert!(cases >= 5 * 5 * 84, "{cases} cases");
    // Each read recorded the profile version it applied.
    let reads: Vec<Value> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "read" && e.outcome == "success")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect();
    assert!(reads.iter().any(|d| d["consent_profile"] == json!(1)));
    assert!(reads.iter().any(|d| d["consent_profile"] == json!(5)));
    app.assert_chain_intact().await;
}

async fn a_client_whose_profile_allows_none_answers_as_an_unknown_client(backend: Backend) {
    let (app, _dir) = two_sources_and_a_registry(backend).await;
    let c = app.logged_in("verloskundige").await;
    let client_id = app.client_id_of(&c).await;
    app.request_access(&c, &client_id, "behandelrelatie", "")
        .await;
    let unknown = crate::helpers::valid_bsn_not_in_demo();
    app.put_profile(BSN, json!({"choice": "none"})).await;
    let a = app.search(&c, BSN, BIRTH).await;
    let b = app.search(&c, &unknown, BIRTH).await;
    assert_eq!(a.status(), b.status());
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["found"], Value::Null);
    assert_eq!(a["found"], b["found"]);
    // Nor on her page, nor on "my clients", nor by a new access request of another user.
    let (_, body) = app.view_json(&c, &client_id).await;
    assert!(body.contains("NoAccess"), "{body}");
    assert!(!body.contains("MARK-") && !body.contains("RIVR-"), "{body}");
    let mine = app.call(&c, "my_clients", &[]).await.text().await.unwrap();
    assert!(!mine.contains(&client_id), "my clients lists her: {mine}");
    let other = app.logged_in("gynaecoloog").await;
    assert_ne!(
        app.request_access(&other, &client_id, "behandelrelatie", "")
            .await
            .status(),
        200
    );
    // The search event records the profile version it applied.
    let search = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "search")
        .nth(1)
        .unwrap();
    let detail: Value = serde_json::from_str(&search.detail).unwrap();
    assert_eq!(detail["consent_profile"], json!(1));
    assert_eq!(detail["found"], json!(false));
    // A profile only hides: `all` shows her again, with the grant she held.
    app.put_profile(BSN, json!({"choice": "all"})).await;
    let (status, body) = app.view_json(&c, &client_id).await;
    assert_eq!(status, 200);
    assert!(body.contains("MARK-") && body.contains("RIVR-"));
}

async fn after_a_none_profile_commits_no_view_shows_data(backend: Backend) {
    let (app, _dir) = two_sources_and_a_registry(backend).await;
    let c = app.logged_in("verloskundige").await;
    let client_id = app.client_id_of(&c).await;
    app.request_access(&c, &client_id, "behandelrelatie", "")
        .await;
    let committed_at = std::sync::Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
    let viewer = {
        let (url, c, id, committed_at) = (
            app.url("/api/client"),
            c.clone(),
            client_id.clone(),
            committed_at.clone(),
        );
        tokio::spawn(async move {
            let (mut views, mut after) = (0, 0);
            for _ in 0..150 {
                let started = std::time::Instant::now();
                let body = c
                    .post(&url)
                    .header("accept", "application/json")
                    .form(&[("client_id", id.as_str())])
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                views += 1;
                if committed_at.lock().unwrap().is_some_and(|t| t <= started) {
                    after += 1;
                    assert!(
                        !body.contains("MARK-") && !body.contains("RIVR-"),
                        "data shown after the profile committed"
                    );
                }
            }
            (views, after)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    app.put_profile(BSN, json!({"choice": "none"})).await;
    *committed_at.lock().unwrap() = Some(std::time::Instant::now());
    let (views, after) = viewer.await.unwrap();
    println!("registry race: {views} views, {after} after the commit");
    assert!(after > 10, "enough views after the change ({after})");
    // In the log's order too: no read after the profile's event showed a source.
    let events = app.audit_events().await;
    let change = events
        .iter()
        .position(|e| e.action == "consent_profile_changed")
        .unwrap();
    for e in &events[change..] {
        if e.action == "read" {
            assert_ne!(e.outcome, "success", "a read after the change showed data");
        }
    }
    app.assert_chain_intact().await;
}

async fn refused_profiles_and_foreign_tokens_change_nothing(backend: Backend) {
    let (app, _dir) = two_sources_and_a_registry(backend).await;
    app.put_profile(
        BSN,
        json!({"choice": "selected", "organisations": ["vp-de-wieg"]}),
    )
    .await;
    let before = app.store.consent_profile(BSN).await.unwrap().unwrap();
    // A source's token is refused here, and the registry's on the share endpoints.
    let r = app
        .put_profile_with(&wieg_token(), BSN, &json!({"choice": "all"}))
        .await;
    assert_eq!(r.status(), 401);
    let r = app.put_share(&registry_token(), BSN, &matrix_share()).await;
    assert_eq!(r.status(), 401);
    let r = app.put_consent(&registry_token(), BSN, "withdrawn").await;
    assert_eq!(r.status(), 401);
    // A forged registry token (signed with another key).
    let forged = sign(
        Algorithm::ES256,
        &fixture("es256-a.pem"),
        &claims(REGISTRY),
        None,
    );
    assert_eq!(
        app.put_profile_with(&forged, BSN, &json!({"choice": "all"}))
            .await
            .status(),
        401
    );
    for (body, field) in [
        (
            json!({"choice": "selected", "organisation_kinds": ["huisarts"]}),
            "organisation_kinds[0]",
        ),
        (json!({"choice": "selected"}), "organisations"),
        (
            json!({"choice": "selected", "organisations": [], "organisation_kinds": []}),
            "organisations",
        ),
        (
            json!({"choice": "selected", "organisations": ["zh-onbekend"]}),
            "organisations[0]",
        ),
        (json!({"choice": "misschien"}), "choice"),
        (
            json!({"choice": "none", "organisations": ["vp-de-wieg"]}),
            "organisations",
        ),
    ] {
        let r = app.put_profile_with(&registry_token(), BSN, &body).await;
        assert_eq!(r.status(), 422, "{body}");
        let answer: Value = r.json().await.unwrap();
        assert!(
            answer["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{body}: {answer}"
        );
    }
    let r = app
        .put_profile_with(&registry_token(), "123456789", &json!({"choice": "all"}))
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        app.store.consent_profile(BSN).await.unwrap().unwrap(),
        before,
        "nothing changed"
    );
    let refused = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "consent_profile_changed" && e.outcome == "denied")
        .count();
    assert_eq!(refused, 7, "each refusal is logged");
    // Still selected: De Wieg's data only.
    let c = app.logged_in("verloskundige").await;
    let client_id = app.client_id_of(&c).await;
    app.request_access(&c, &client_id, "behandelrelatie", "")
        .await;
    let (_, body) = app.view_json(&c, &client_id).await;
    assert!(body.contains("MARK-") && !body.contains("RIVR-"));
}

async fn a_profile_received_before_any_share_applies_when_data_arrives(backend: Backend) {
    let (app, _dir) = two_sources_and_a_registry(backend).await;
    let later = crate::helpers::valid_bsn_not_in_demo();
    let stored = app
        .put_profile(
            &later,
            json!({"choice": "selected", "organisation_kinds": ["ziekenhuis"]}),
        )
        .await;
    assert_eq!(stored["organisation_kinds"], json!(["ziekenhuis"]));
    assert_eq!(
        app.put_share(&wieg_token(), &later, &matrix_share())
            .await
            .status(),
        200
    );
    let c = app.logged_in("verloskundige").await;
    let found: Value = app.search(&c, &later, BIRTH).await.json().await.unwrap();
    assert_eq!(
        found["found"],
        Value::Null,
        "only a hospital may share her data"
    );
    assert_eq!(
        app.put_share(&rivier_token(), &later, &rivier_share())
            .await
            .status(),
        200
    );
    let found: Value = app.search(&c, &later, BIRTH).await.json().await.unwrap();
    let client_id = found["found"]["client_id"].as_str().unwrap().to_owned();
    app.request_access(&c, &client_id, "behandelrelatie", "")
        .await;
    let (_, body) = app.view_json(&c, &client_id).await;
    assert!(body.contains("RIVR-") && !body.contains("MARK-"), "{body}");
}

async fn profile_changes_are_logged_with_counts_for_the_sharing_organisations_only(
    backend: Backend,
) {
    let (app, _dir) = two_sources_and_a_registry(backend).await;
    app.put_profile(BSN, json!({"choice": "selected", "organisations": ["vp-de-wieg", "kz-kraamhoek"], "organisation_kinds": ["ziekenhuis"]}))
        .await;
    let event = app
        .audit_events()
        .await
        .into_iter()
        .find(|e| e.action == "consent_profile_changed")
        .unwrap();
    assert_eq!(event.bsn.as_deref(), Some(BSN));
    assert!(event.client_id.is_some());
    assert_eq!(event.organisation_id, None);
    let detail: Value = serde_json::from_str(&event.detail).unwrap();
    assert_eq!(
        detail,
        json!({"registry_id": REGISTRY, "choice": "selected", "version": 1, "organisations": 2, "organisation_kinds": 1})
    );
    assert!(
        !event.detail.contains("kz-kraamhoek"),
        "the list is not logged"
    );
    let scope = app
        .texts(&format!(
            "SELECT organisation_id FROM audit_scope WHERE event_id = {} ORDER BY organisation_id",
            event.id
        ))
        .await;
    assert_eq!(
        scope,
        vec!["vp-de-wieg".to_owned(), "zh-rivierenland".to_owned()]
    );
}
