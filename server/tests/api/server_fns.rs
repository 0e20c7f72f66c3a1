//! Every server function checks the session and role itself.

use crate::helpers::{client, spawn_app, Backend};
use backend::on_both_backends;

on_both_backends!(
    server_functions_refuse_callers_without_a_session,
    server_functions_refuse_the_wrong_role,
    pages_send_anonymous_visitors_to_login_and_say_no_to_the_wrong_role,
    healthz_answers_and_the_login_form_has_the_contract_fields,
);

async fn server_functions_refuse_callers_without_a_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let anonymous = client();
    for endpoint in ["users", "policy", "audit_page", "change_password"] {
        let response = app
            .call(
                &anonymous,
                endpoint,
                &[
                    ("current_password", "a"),
                    ("new_password", "b"),
                    ("confirm_password", "b"),
                ],
            )
            .await;
        assert_eq!(response.status(), 401, "{endpoint}");
    }
}

async fn server_functions_refuse_the_wrong_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let midwife = app.logged_in("verloskundige").await;
    assert_eq!(app.call(&midwife, "users", &[]).await.status(), 403);
    assert_eq!(app.call(&midwife, "audit_page", &[]).await.status(), 403);
    let officer = app.logged_in("privacy").await;
    assert_eq!(app.call(&officer, "users", &[]).await.status(), 403);
    let page: serde_json::Value = app
        .call(&officer, "audit_page", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(page["chain"]["events"].as_i64().unwrap() > 0);
    assert_eq!(page["chain"]["broken_at"], serde_json::Value::Null);
    let admin = app.logged_in("beheer").await;
    let users: serde_json::Value = app.call(&admin, "users", &[]).await.json().await.unwrap();
    let names: Vec<_> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    // Only her own organisation's accounts.
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"verloskundige".to_owned()));
    assert!(!names.contains(&"gynaecoloog".to_owned()));
    let policy: serde_json::Value = app
        .call(&midwife, "policy", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(policy.as_array().unwrap().len(), 14);
}

async fn pages_send_anonymous_visitors_to_login_and_say_no_to_the_wrong_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let home = client()
        .get(app.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 302);
    assert_eq!(home.headers()["location"], "/login");
    let officer = app.logged_in("privacy").await;
    let page = officer.get(app.url("/gebruikers")).send().await.unwrap();
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("Geen toegang"));
    let missing = officer.get(app.url("/bestaat-niet")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

async fn healthz_answers_and_the_login_form_has_the_contract_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let page = client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"name="username""#) && page.contains(r#"autocomplete="username""#));
    assert!(
        page.contains(r#"name="password""#) && page.contains(r#"autocomplete="current-password""#)
    );
    assert!(page.contains("DEMO"));
}
