//! The source API (DESIGN section 8) through the real router, on SQLite and PostgreSQL.

use crate::helpers::{client, spawn_app, Backend, TestApp};
use backend::on_both_backends;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub const BSN: &str = "111222333";
const WIEG: &str = "de-wieg-epd";
const RIVIER: &str = "rivierenland-epd";

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn claims(source: &str) -> Value {
    json!({ "iss": source, "sub": source, "aud": "ooievaar", "iat": now(), "exp": now() + 60,
            "jti": uuid::Uuid::new_v4().to_string() })
}

pub fn sign(alg: Algorithm, private_pem: &str, claims: &Value, kid: Option<&str>) -> String {
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(private_pem.as_bytes()).unwrap(),
        Algorithm::RS256 => EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_secret(private_pem.as_bytes()),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A fresh valid token of the demo midwifery practice's source (ES256, key es256-a).
pub fn wieg_token() -> String {
    sign(
        Algorithm::ES256,
        &fixture("es256-a.pem"),
        &claims(WIEG),
        None,
    )
}

pub fn rivier_token() -> String {
    sign(
        Algorithm::RS256,
        &fixture("rs256-b.pem"),
        &claims(RIVIER),
        None,
    )
}

/// The demo app with keys registered for two demo sources; returns the ES256 key id.
pub async fn app_with_keys(backend: Backend) -> (TestApp, String, tempfile::TempDir) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, fixture(name)).unwrap();
        path.display().to_string()
    };
    let kid = backend::sources::add_key(&app.store, WIEG, &write("es256-a.pub.pem"))
        .await
        .unwrap();
    backend::sources::add_key(&app.store, RIVIER, &write("rs256-b.pub.pem"))
        .await
        .unwrap();
    (app, kid, dir)
}

pub fn valid_share(entries: usize) -> Value {
    json!({
        "consent": "active",
        "client": { "name": "Test Cliënt", "birth_date": "1990-05-01" },
        "pregnancies": [{ "id": "p1", "edd": "2027-03-01", "gravidity": 2, "parity": 1, "status": "active", "ended_on": null }],
        "entries": (0..entries).map(|n| json!({
            "id": format!("e{n}"), "pregnancy_id": "p1", "category": "lab_screening", "code": "hb",
            "label": "Hemoglobine", "value": format!("7.{n}"), "unit": "mmol/l",
            "observed_at": "2026-11-01T10:00:00Z", "sensitivity": "normal"
        })).collect::<Vec<_>>(),
    })
}

impl TestApp {
    /// Every row of the shared-data tables, for byte-for-byte comparisons.
    pub async fn dump(&self) -> String {
        self.store.shared_data_dump().await.unwrap()
    }
}

// ----- tokens: each refusal is a 401 with a reason, changes nothing and is logged -----

async fn assert_refused(backend: Backend, make: impl Fn(&str) -> Option<String>, reason: &str) {
    let (app, kid, _dir) = app_with_keys(backend).await;
    let before = app.dump().await;
    let events_before = app.audit_events().await.len();
    let token = make(&kid);
    let response = app
        .put_raw(
            &format!("/api/v1/shares/{BSN}"),
            token.as_deref(),
            "application/json",
            valid_share(1).to_string(),
        )
        .await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    // Rule 9: whether the issuer exists is not told; the log keeps the precise reason.
    let public = match reason {
        "unknown_issuer" | "no_matching_key" | "bad_signature" => "not_verified",
        other => other,
    };
    assert_eq!(body["reason"], public);
    if let Some(token) = &token {
        assert!(
            !body.to_string().contains(token.as_str()),
            "the token is never echoed"
        );
    }
    assert_eq!(app.dump().await, before, "nothing stored");
    let events = app.audit_events().await;
    assert_eq!(events.len(), events_before + 1);
    let last = events.last().unwrap();
    assert_eq!(last.action, "token_refused");
    assert!(last.detail.contains(reason));
    app.assert_chain_intact().await;
}

fn with(claims_change: impl Fn(&mut Value)) -> Value {
    let mut c = claims(WIEG);
    claims_change(&mut c);
    c
}

macro_rules! token_cases {
    ($($name:ident => $make:expr, $reason:literal;)*) => {
        $( async fn $name(backend: Backend) { assert_refused(backend, $make, $reason).await } )*
        on_both_backends!($($name),*);
    };
}

token_cases! {
    no_bearer_token_is_refused => |_: &str| None, "missing_bearer_token";
    a_token_without_a_signature_algorithm_is_refused => |_: &str| {
        // alg "none": header.payload. with an empty signature.
        use base64::Engine;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        Some(format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims(WIEG))))
    }, "malformed_token";
    an_hs256_token_is_refused => |_: &str| Some(sign(Algorithm::HS256, "shared-secret", &claims(WIEG), None)), "algorithm_not_allowed";
    a_token_whose_algorithm_does_not_match_the_key_is_refused => |_: &str| Some(sign(Algorithm::RS256, &fixture("rs256-b.pem"), &claims(WIEG), None)), "no_matching_key";
    a_token_signed_by_an_unregistered_key_is_refused => |_: &str| Some(sign(Algorithm::ES256, &fixture("es256-c.pem"), &claims(WIEG), None)), "bad_signature";
    a_token_of_an_unknown_source_is_refused => |_: &str| Some(sign(Algorithm::ES256, &fixture("es256-a.pem"), &with(|c| { c["iss"] = json!("nobody"); c["sub"] = json!("nobody"); }), None)), "unknown_issuer";
    a_token_whose_sub_differs_from_iss_is_refused => |_: &str| Some(sign(Algorithm::ES256, &fixture("es256-a.pem"), &with(|c| c["sub"] = json!(RIVIER)), None)), "sub_not_iss";
    a_token_for_another_audience_is_refused => |_: &str| Some(sign(Algorithm::ES256, &fixture("es256-a.pem"), &with(|c| c["aud"] = json!("elders")), None)), "wrong_audience";
    an_expired_token_is_refused => |_: &str| Some(sign(Algorithm::ES256, &fixture("es256-a.pem"), &with(|c| { c["iat"] = json!(now() - 400); c["exp"] = json!(now() - 200); }), None)), "expired";
    a_token_living_longer_than_300_seconds_is_refused => |_: &str| Some(sign(Algorithm::ES256, &fixture("es256-a.pem"), &with(|c| c["exp"] = json!(now() + 301)), None)), "lifetime_too_long";
    a_token_issued_in_the_future_is_refused => |_: &str| Some(sign(Algorithm::ES256, &fixture("es256-a.pem"), &with(|c| { c["iat"] = json!(now() + 120); c["exp"] = json!(now() + 180); }), None)), "iat_in_future";
    a_token_without_jti_is_refused => |_: &str| Some(sign(Algorithm::ES256, &fixture("es256-a.pem"), &with(|c| { c.as_object_mut().unwrap().remove("jti"); }), None)), "missing_jti";
    a_token_naming_another_sources_key_is_refused => |_: &str| Some(sign(Algorithm::ES256, &fixture("es256-a.pem"), &claims(WIEG), Some("0000000000000000"))), "no_matching_key";
    a_valid_token_of_another_source_presented_as_this_one_is_refused => |_: &str| Some(sign(Algorithm::RS256, &fixture("rs256-b.pem"), &with(|c| { c["iss"] = json!(WIEG); c["sub"] = json!(WIEG); }), None)), "no_matching_key";
}

on_both_backends!(
    a_replayed_token_is_refused,
    a_revoked_key_verifies_nothing,
    a_browser_session_is_no_credential_for_the_api,
    real_es256_and_rs256_keys_verify_and_a_kid_selects_the_key,
);

async fn a_replayed_token_is_refused(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    let token = wieg_token();
    assert_eq!(
        app.put_share(&token, BSN, &valid_share(1)).await.status(),
        200
    );
    let before = app.dump().await;
    let replay = app.put_share(&token, BSN, &valid_share(3)).await;
    assert_eq!(replay.status(), 401);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["reason"],
        "replayed_jti"
    );
    assert_eq!(app.dump().await, before);
}

async fn a_revoked_key_verifies_nothing(backend: Backend) {
    let (app, kid, _dir) = app_with_keys(backend).await;
    backend::sources::revoke_key(&app.store, WIEG, &kid)
        .await
        .unwrap();
    let response = app.put_share(&wieg_token(), BSN, &valid_share(1)).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap()["reason"],
        "not_verified"
    );
    assert!(app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "key_revoked"));
}

async fn a_browser_session_is_no_credential_for_the_api(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    let browser = app.logged_in("verloskundige").await;
    let response = browser
        .put(app.url(&format!("/api/v1/shares/{BSN}")))
        .header("content-type", "application/json")
        .body(valid_share(1).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

async fn real_es256_and_rs256_keys_verify_and_a_kid_selects_the_key(backend: Backend) {
    let (app, kid, _dir) = app_with_keys(backend).await;
    assert_eq!(
        app.put_share(&wieg_token(), BSN, &valid_share(2))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put_share(&rivier_token(), BSN, &valid_share(2))
            .await
            .status(),
        200
    );
    let with_kid = sign(
        Algorithm::ES256,
        &fixture("es256-a.pem"),
        &claims(WIEG),
        Some(&kid),
    );
    assert_eq!(
        app.put_share(&with_kid, BSN, &valid_share(2))
            .await
            .status(),
        200
    );
}

// ----- shares and consent -----

on_both_backends!(
    a_share_replaces_the_sources_share_and_reports_counts,
    the_same_share_twice_leaves_the_same_state,
    withdrawal_purges_only_that_sources_data_and_refuses_new_shares,
    restoring_consent_lets_the_source_share_again,
    consent_for_a_client_never_shared_is_404_and_changes_nothing,
    the_openapi_document_describes_both_endpoints,
);

async fn a_share_replaces_the_sources_share_and_reports_counts(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    let first: Value = app
        .put_share(&wieg_token(), BSN, &valid_share(3))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        first["entry_changes"],
        json!({"added": 3, "changed": 0, "removed": 0})
    );
    let mut next = valid_share(2);
    next["entries"][0]["value"] = json!("6.5");
    next["entries"]
        .as_array_mut()
        .unwrap()
        .push(valid_share(5)["entries"][4].clone());
    let second: Value = app
        .put_share(&wieg_token(), BSN, &next)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["status"], "received");
    assert_eq!(second["entries"], 3);
    assert_eq!(
        second["entry_changes"],
        json!({"added": 1, "changed": 1, "removed": 1})
    );
    let event = app.audit_events().await.pop().unwrap();
    assert_eq!(event.action, "share_received");
    assert_eq!(event.source_id.as_deref(), Some(WIEG));
    assert_eq!(event.bsn.as_deref(), Some(BSN));
    assert!(
        !event.detail.contains("6.5"),
        "no clinical values in the log"
    );
}

async fn the_same_share_twice_leaves_the_same_state(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    app.put_share(&wieg_token(), BSN, &valid_share(4)).await;
    let once = app.dump().await;
    let again: Value = app
        .put_share(&wieg_token(), BSN, &valid_share(4))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["entry_changes"],
        json!({"added": 0, "changed": 0, "removed": 0})
    );
    // Only the "last received" time of the share may move.
    let strip = |d: &str| {
        d.lines()
            .filter(|l| !l.starts_with("shares|"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&app.dump().await), strip(&once));
}

async fn withdrawal_purges_only_that_sources_data_and_refuses_new_shares(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    app.put_share(&wieg_token(), BSN, &valid_share(3)).await;
    app.put_share(&rivier_token(), BSN, &valid_share(2)).await;
    let response = app.put_consent(&wieg_token(), BSN, "withdrawn").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "withdrawn"})
    );
    let dump = app.dump().await;
    let client_id = app.audit_events().await.pop().unwrap().client_id.unwrap();
    let of = |source: &str, table: &str| {
        dump.lines()
            .filter(|l| l.starts_with(table) && l.contains(&client_id) && l.contains(source))
            .count()
    };
    assert_eq!(of(WIEG, "entries|"), 0);
    assert_eq!(of(WIEG, "pregnancies|"), 0);
    assert_eq!(
        of(RIVIER, "entries|"),
        2,
        "the other source's share is untouched"
    );
    assert!(
        !dump
            .lines()
            .any(|l| l.starts_with("shares|") && l.contains(WIEG) && l.contains("Test Cliënt")),
        "name purged"
    );
    let before = app.dump().await;
    let refused = app.put_share(&wieg_token(), BSN, &valid_share(1)).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(app.dump().await, before);
    let actions: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.ends_with(&["consent_withdrawn".to_owned(), "share_refused".to_owned()]));
}

async fn restoring_consent_lets_the_source_share_again(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    app.put_share(&wieg_token(), BSN, &valid_share(2)).await;
    app.put_consent(&wieg_token(), BSN, "withdrawn").await;
    let restored = app.put_consent(&wieg_token(), BSN, "active").await;
    assert_eq!(
        restored.json::<Value>().await.unwrap(),
        json!({"status": "active"})
    );
    let again: Value = app
        .put_share(&wieg_token(), BSN, &valid_share(2))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["entry_changes"]["added"], 2);
    assert!(app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "consent_restored"));
}

async fn consent_for_a_client_never_shared_is_404_and_changes_nothing(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    let before = app.dump().await;
    let response = app
        .put_consent(&wieg_token(), "123456789", "withdrawn")
        .await;
    // 123456789 fails the 11-check: 422; a valid BSN never shared: 404.
    assert_eq!(response.status(), 422);
    let never = crate::helpers::valid_bsn_not_in_demo();
    let response = app.put_consent(&wieg_token(), &never, "withdrawn").await;
    assert_eq!(response.status(), 404);
    assert_eq!(app.dump().await, before);
}

async fn the_openapi_document_describes_both_endpoints(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc: Value = client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/shares/{bsn}", "/api/v1/shares/{bsn}/consent"] {
        let put = &doc["paths"][path]["put"];
        for status in ["200", "401", "422"] {
            assert!(
                put["responses"][status].is_object(),
                "{path} documents {status}"
            );
        }
    }
    assert!(doc["components"]["securitySchemes"]["source_token"].is_object());
}

on_both_backends!(
    a_source_over_its_rate_limit_gets_429,
    every_accepted_share_fits_the_documented_body_type
);

async fn a_source_over_its_rate_limit_gets_429(backend: Backend) {
    let settings = backend::Settings {
        source_calls_per_minute: 3,
        ..Default::default()
    };
    let app = crate::helpers::spawn_app_with(backend, settings).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.pem");
    std::fs::write(&path, fixture("es256-a.pub.pem")).unwrap();
    backend::sources::add_key(&app.store, WIEG, path.to_str().unwrap())
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            app.put_share(&wieg_token(), BSN, &valid_share(1))
                .await
                .status()
                .as_u16(),
        );
    }
    // The demo seed's and the key's events count as this source's calls too; from some call
    // on, every answer is 429.
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.windows(2).all(|w| !(w[0] == 429 && w[1] != 429)),
        "{statuses:?}"
    );
}

async fn every_accepted_share_fits_the_documented_body_type(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    for body in [valid_share(0), valid_share(3)] {
        assert_eq!(app.put_share(&wieg_token(), BSN, &body).await.status(), 200);
        serde_json::from_value::<server::api::openapi::ShareBody>(body).expect("documented type");
    }
}

#[test]
fn the_documented_category_and_sensitivity_keys_are_the_domain_keys() {
    use server::api::openapi::{CategoryKey, SensitivityKey};
    for category in domain::Category::ALL {
        serde_json::from_value::<CategoryKey>(json!(category.as_str())).expect("documented");
    }
    for sensitivity in domain::Sensitivity::ALL {
        serde_json::from_value::<SensitivityKey>(json!(sensitivity.as_str())).expect("documented");
    }
    assert!(serde_json::from_value::<CategoryKey>(json!("huisarts")).is_err());
}
