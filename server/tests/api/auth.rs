//! Login, sessions and logout through the real router.

use crate::helpers::{client, spawn_app, spawn_app_with, Backend, PASSWORD};
use backend::on_both_backends;
use backend::Settings;
use std::time::Duration;

on_both_backends!(
    a_demo_user_logs_in_and_the_shell_shows_her_name_role_and_organisation,
    a_wrong_password_and_an_unknown_user_get_the_identical_answer,
    the_session_id_is_renewed_at_login_and_the_cookie_is_locked_down,
    logout_ends_the_session_and_the_old_cookie_no_longer_works,
    a_disabled_user_cannot_log_in_and_her_running_session_ends,
    a_session_ends_after_the_idle_timeout,
    a_session_ends_after_its_absolute_lifetime_however_active,
    a_plain_form_login_without_javascript_redirects_and_shows_the_error_on_the_page,
    changing_the_password_needs_the_current_one,
);

async fn a_demo_user_logs_in_and_the_shell_shows_her_name_role_and_organisation(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let c = client();
    assert_eq!(app.shell(&c).await["user"], serde_json::Value::Null);
    // Act
    let response = app.login_as(&c, "verloskundige", PASSWORD).await;
    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["location"], "/");
    let shell = app.shell(&c).await;
    assert_eq!(shell["user"]["display_name"], "Anna de Vries");
    assert_eq!(shell["user"]["role"], "verloskundige");
    assert_eq!(
        shell["user"]["organisation_name"],
        "Verloskundigenpraktijk De Wieg"
    );
    assert_eq!(shell["demo"], true);
    let events = app.audit_events().await;
    let login = events
        .iter()
        .rev()
        .find(|e| e.action == "login")
        .expect("login event");
    assert_eq!(login.outcome, "success");
    assert_eq!(login.user_role.as_deref(), Some("verloskundige"));
    assert_eq!(login.organisation_id.as_deref(), Some("vp-de-wieg"));
    assert!(
        login.request_id.is_some(),
        "every event carries the request id"
    );
    app.assert_chain_intact().await;
}

async fn a_wrong_password_and_an_unknown_user_get_the_identical_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let wrong = app
        .login_as(&client(), "gynaecoloog", "not-the-password")
        .await;
    let (wrong_status, wrong_body) = (wrong.status(), wrong.text().await.unwrap());
    let unknown = app
        .login_as(&client(), "nobody-here", "not-the-password")
        .await;
    let (unknown_status, unknown_body) = (unknown.status(), unknown.text().await.unwrap());

    assert_eq!(wrong_status, 401);
    assert_eq!(wrong_status, unknown_status);
    assert_eq!(wrong_body, unknown_body);
    assert!(!wrong_body.contains("not-the-password"));
    let failed: Vec<_> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "login_failed")
        .collect();
    assert_eq!(failed.len(), 2);
    // The known user's failure belongs to her organisation; the unknown name to none.
    assert_eq!(
        failed[0].organisation_id.as_deref(),
        Some("zh-rivierenland")
    );
    assert_eq!(failed[1].organisation_id, None);
    assert_eq!(failed[1].user_name.as_deref(), Some("nobody-here"));
    app.assert_chain_intact().await;
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ooievaar_session="))
        .map(str::to_owned)
}

async fn the_session_id_is_renewed_at_login_and_the_cookie_is_locked_down(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = client();
    // A session exists first (logged in as someone else on this browser).
    let before = app.login_as(&c, "gynaecoloog", PASSWORD).await;
    let before_cookie = session_cookie(&before).expect("first session cookie");
    let after = app.login_as(&c, "verloskundige", PASSWORD).await;
    let after_cookie = session_cookie(&after).expect("session cookie at login");

    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(
        id(&before_cookie),
        id(&after_cookie),
        "session id renewed at login"
    );
    assert!(after_cookie.contains("HttpOnly"));
    assert!(after_cookie.contains("SameSite=Strict"));
    assert!(
        !after_cookie.contains("Secure"),
        "secure cookies are off by default (plain http)"
    );
}

async fn logout_ends_the_session_and_the_old_cookie_no_longer_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.logged_in("kraamverzorgende").await;
    let login_cookie = {
        // Read the cookie the client holds by logging in a second client the same way.
        let c2 = client();
        let r = app.login_as(&c2, "kraamverzorgende", PASSWORD).await;
        (c2, session_cookie(&r).unwrap())
    };
    let response = app.call(&c, "logout", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["location"], "/login");
    assert_eq!(app.shell(&c).await["user"], serde_json::Value::Null);

    // The second session is still valid until it logs out; after that its cookie is dead.
    let (c2, cookie) = login_cookie;
    assert_eq!(app.shell(&c2).await["user"]["username"], "kraamverzorgende");
    app.call(&c2, "logout", &[]).await;
    let replay = reqwest::Client::new()
        .post(app.url("/api/shell"))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = replay.json().await.unwrap();
    assert_eq!(body["user"], serde_json::Value::Null);
    assert_eq!(
        app.audit_events()
            .await
            .iter()
            .filter(|e| e.action == "logout")
            .count(),
        2
    );
}

async fn a_disabled_user_cannot_log_in_and_her_running_session_ends(backend: Backend) {
    let app = spawn_app(backend).await;
    let running = app.logged_in("echoscopist").await;
    backend::accounts::disable_user(&app.store, "echoscopist")
        .await
        .unwrap();

    assert_eq!(app.shell(&running).await["user"], serde_json::Value::Null);
    let again = app.login_as(&client(), "echoscopist", PASSWORD).await;
    assert_eq!(again.status(), 401);
    let events = app.audit_events().await;
    assert!(events.iter().any(|e| e.action == "user_disabled"));
    assert_eq!(events.last().unwrap().action, "login_failed");
}

async fn a_session_ends_after_the_idle_timeout(backend: Backend) {
    let settings = Settings {
        session_idle: Duration::from_secs(1),
        ..Settings::default()
    };
    let app = spawn_app_with(backend, settings).await;
    let c = app.logged_in("verloskundige").await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(app.shell(&c).await["user"], serde_json::Value::Null);
}

async fn a_session_ends_after_its_absolute_lifetime_however_active(backend: Backend) {
    const ABSOLUTE: Duration = Duration::from_secs(3);
    let settings = Settings {
        session_absolute: ABSOLUTE,
        ..Settings::default()
    };
    let app = spawn_app_with(backend, settings).await;
    // The session began between these two instants; on a busy machine a request may take long,
    // so each check asserts only what the clock allows.
    let before_login = std::time::Instant::now();
    let c = app.logged_in("verloskundige").await;
    let after_login = std::time::Instant::now();
    // Active every half second: the idle timeout never strikes, the absolute one does.
    let mut checked = 0;
    while after_login.elapsed() < Duration::from_millis(1500) {
        let user = app.shell(&c).await["user"].clone();
        if before_login.elapsed() < ABSOLUTE {
            assert_eq!(user["username"], "verloskundige");
            checked += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(checked > 0, "the session was never seen alive");
    tokio::time::sleep(
        (ABSOLUTE + Duration::from_millis(300)).saturating_sub(after_login.elapsed()),
    )
    .await;
    assert_eq!(app.shell(&c).await["user"], serde_json::Value::Null);
}

async fn a_plain_form_login_without_javascript_redirects_and_shows_the_error_on_the_page(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let c = client();
    let post = |password: &'static str| {
        c.post(app.url("/api/login"))
            .header("accept", "text/html,application/xhtml+xml")
            .header("referer", app.url("/login"))
            .form(&[("username", "verloskundige"), ("password", password)])
            .send()
    };
    let failed = post("wrong-password").await.unwrap();
    assert_eq!(failed.status(), 302);
    let location = failed.headers()["location"].to_str().unwrap().to_owned();
    // Leptos carries the error (never the input) in the query of the way back to the form.
    assert!(location.contains("/login?"), "{location}");
    assert!(!location.contains("wrong-password"));
    let page = c.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Inloggen is niet gelukt"),
        "the error is shown after the redirect"
    );

    let ok = post(PASSWORD).await.unwrap();
    assert_eq!(ok.status(), 302);
    assert_eq!(ok.headers()["location"], "/login/code");
    // The second step as a plain form too.
    let code = app.next_code("verloskundige").await;
    let done = c
        .post(app.url("/api/login_code"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("referer", app.url("/login/code"))
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 302);
    assert_eq!(done.headers()["location"], "/");
    let home = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Anna de Vries"));
    assert!(home.contains("DEMO"));
}

async fn changing_the_password_needs_the_current_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = app.logged_in("beheer").await;
    let new = "een-nieuw-lang-wachtwoord";
    let refused = app
        .call(
            &c,
            "change_password",
            &[
                ("current_password", "wrong"),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(
        body["Validation"]["field_errors"][0]["field"],
        "current_password"
    );
    let too_short = app
        .call(
            &c,
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "kort"),
                ("confirm_password", "kort"),
            ],
        )
        .await;
    assert_eq!(too_short.status(), 422);
    assert_eq!(
        app.login_as(&client(), "beheer", PASSWORD).await.status(),
        200,
        "unchanged"
    );

    let changed = app
        .call(
            &c,
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        app.login_as(&client(), "beheer", PASSWORD).await.status(),
        401
    );
    assert_eq!(app.login_as(&client(), "beheer", new).await.status(), 200);
    assert!(app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "password_changed"));
}
