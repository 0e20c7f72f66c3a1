//! Rule 10 and DESIGN 9 "Second factor": a right password alone authorises nothing; codes are
//! single-use; five wrong codes end the half login and count toward the lock-out; first-login
//! enrolment; recovery codes shown once; `reset-2fa`; `OOIEVAAR_REQUIRE_2FA=false`.

use crate::helpers::{client, spawn_app, spawn_app_with, unix_now, Backend, TestApp, PASSWORD};
use backend::on_both_backends;
use backend::second_factor::totp;
use backend::Settings;
use secrecy::SecretString;
use std::time::Duration;

on_both_backends!(
    a_right_password_alone_reaches_no_page_and_no_server_function,
    a_code_is_accepted_once_in_any_session_and_so_is_a_recovery_code,
    five_wrong_codes_end_the_half_login_and_count_toward_the_lock_out,
    the_first_login_enrols_and_shows_the_recovery_codes_once,
    reset_2fa_ends_her_sessions_and_she_enrols_again,
    without_the_requirement_a_password_suffices_until_she_enrols,
    the_half_login_expires_and_then_leads_back_to_the_password,
);

/// The server functions a session without a user may call: the frame, login and its second
/// step, logout.
const ANONYMOUS: &[&str] = &[
    "shell",
    "login",
    "logout",
    "login_code",
    "login_enrolment",
    "login_enrol",
    "passkey_login_start",
    "passkey_login_finish",
];

/// Every field any server function takes, with a plausible value, so each one gets past
/// decoding its arguments and reaches its session check.
const EVERY_FIELD: &[(&str, &str)] = &[
    ("client_id", "x"),
    ("bsn", "999990032"),
    ("birth_date", "1991-04-06"),
    ("ground", "spoed"),
    ("reason", "reden"),
    ("attest", "ja"),
    ("current_password", "a"),
    ("new_password", "b"),
    ("confirm_password", "b"),
    ("from", ""),
    ("until", ""),
    ("user", ""),
    ("organisation", ""),
    ("action", ""),
    ("before", ""),
    ("event_id", "1"),
    ("note", "n"),
    ("grant_id", "g"),
    ("code", "123456"),
    ("name", "n"),
    ("credential", "{}"),
    ("passkey_id", "p"),
];

async fn shell(app: &TestApp, c: &reqwest::Client) -> serde_json::Value {
    app.shell(c).await
}

async fn a_right_password_alone_reaches_no_page_and_no_server_function(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = client();
    let first = app.password_step(&c, "verloskundige", PASSWORD).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["location"], "/login/code");
    let s = shell(&app, &c).await;
    assert_eq!(s["user"], serde_json::Value::Null, "no user: {s}");
    assert_eq!(s["pending"], "Code");

    // Every registered server function but the anonymous ones answers 401.
    let mut checked = 0;
    for (path, _) in leptos::server_fn::axum::server_fn_paths() {
        let endpoint = path.trim_start_matches("/api/");
        if ANONYMOUS.contains(&endpoint) {
            continue;
        }
        let response = app.call(&c, endpoint, EVERY_FIELD).await;
        assert_eq!(
            response.status(),
            401,
            "{path} answered a half-logged-in session"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} server functions found");

    // Every page leads to the code step, and the step page does not name her.
    for page in [
        "/",
        "/account",
        "/account/herstelcodes",
        "/policy",
        "/gebruikers",
        "/audit",
        "/audit/overzicht",
        "/clients/x",
        "/login",
        "/login/instellen",
    ] {
        let response = c
            .get(app.url(page))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "{page}");
        assert_eq!(response.headers()["location"], "/login/code", "{page}");
    }
    let step = c
        .get(app.url("/login/code"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(step.status(), 200);
    let html = step.text().await.unwrap();
    assert!(
        html.contains(r#"autocomplete="one-time-code""#) && html.contains(r#"inputmode="numeric""#)
    );
    assert!(
        !html.contains("Anna de Vries"),
        "the step page shows no name"
    );
    let export = c.get(app.url("/audit/export.csv")).send().await.unwrap();
    assert_ne!(export.status(), 200);
    assert!(
        !app.audit_events().await.iter().any(|e| e.action == "login"),
        "no login is recorded before the second step"
    );

    // A wrong code changes nothing; the right one logs her in.
    let wrong = app.call(&c, "login_code", &[("code", "000000")]).await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(shell(&app, &c).await["user"], serde_json::Value::Null);
    let code = app.next_code("verloskundige").await;
    let right = app.call(&c, "login_code", &[("code", &code)]).await;
    assert_eq!(right.status(), 200);
    assert_eq!(right.headers()["location"], "/");
    assert_eq!(
        shell(&app, &c).await["user"]["display_name"],
        "Anna de Vries"
    );
    let login = app
        .audit_events()
        .await
        .into_iter()
        .rev()
        .find(|e| e.action == "login")
        .expect("login logged");
    assert_eq!(login.detail, r#"{"factor":"totp"}"#);
}

async fn a_code_is_accepted_once_in_any_session_and_so_is_a_recovery_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let (first, second) = (client(), client());
    for c in [&first, &second] {
        assert_eq!(
            app.password_step(c, "gynaecoloog", PASSWORD).await.status(),
            200
        );
    }
    let code = app.next_code("gynaecoloog").await;
    assert_eq!(
        app.call(&first, "login_code", &[("code", &code)])
            .await
            .status(),
        200
    );
    let replay = app.call(&second, "login_code", &[("code", &code)]).await;
    assert_eq!(replay.status(), 422, "the same code in another session");
    assert_eq!(shell(&app, &second).await["user"], serde_json::Value::Null);

    // New recovery codes (a fresh code), shown once.
    let fresh = app.next_code("gynaecoloog").await;
    let renewed = app
        .call(&first, "renew_recovery_codes", &[("code", &fresh)])
        .await;
    assert_eq!(renewed.status(), 200);
    assert_eq!(renewed.headers()["location"], "/account/herstelcodes");
    let codes: Vec<String> = app
        .call(&first, "recovery_codes", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    assert!(codes
        .iter()
        .all(|c| c.len() == 12 && c.chars().all(|d| d.is_ascii_digit())));
    let again: Vec<String> = app
        .call(&first, "recovery_codes", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(again.is_empty(), "shown once");

    // A recovery code logs in once, typed with spaces as shown.
    let spaced = format!("{} {} {}", &codes[0][..4], &codes[0][4..8], &codes[0][8..]);
    let third = client();
    assert_eq!(
        app.password_step(&third, "gynaecoloog", PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.call(&third, "login_code", &[("code", &spaced)])
            .await
            .status(),
        200
    );
    assert_eq!(shell(&app, &third).await["user"]["username"], "gynaecoloog");
    let fourth = client();
    assert_eq!(
        app.password_step(&fourth, "gynaecoloog", PASSWORD)
            .await
            .status(),
        200
    );
    let reused = app
        .call(&fourth, "login_code", &[("code", &codes[0])])
        .await;
    assert_eq!(reused.status(), 422, "a used recovery code");
    let events = app.audit_events().await;
    let used: Vec<_> = events
        .iter()
        .filter(|e| e.action == "recovery_code_used")
        .collect();
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].detail, r#"{"remaining":9}"#);
    let last_login = events.iter().rev().find(|e| e.action == "login").unwrap();
    assert_eq!(last_login.detail, r#"{"factor":"recovery_code"}"#);
    assert!(events.iter().any(|e| e.action == "recovery_codes_renewed"));
    // The stored codes are keyed hashes: no code is in the database as typed.
    let stored = app
        .texts("SELECT code_hash FROM recovery_codes")
        .await
        .join(" ");
    assert!(!stored.is_empty());
    assert!(codes.iter().all(|c| !stored.contains(c.as_str())));
}

async fn five_wrong_codes_end_the_half_login_and_count_toward_the_lock_out(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Settings {
            login_lock_failures: 10,
            login_lock: Duration::from_secs(900),
            ..Settings::default()
        },
    )
    .await;
    for round in 1..=2 {
        let c = client();
        assert_eq!(
            app.password_step(&c, "echoscopist", PASSWORD)
                .await
                .status(),
            200
        );
        for wrong in 1..=4 {
            let r = app.call(&c, "login_code", &[("code", "000000")]).await;
            assert_eq!(r.status(), 422, "round {round}, wrong code {wrong}");
        }
        let fifth = app.call(&c, "login_code", &[("code", "000000")]).await;
        assert_eq!(fifth.status(), 200, "round {round}");
        assert_eq!(fifth.headers()["location"], "/login?opnieuw=1");
        assert_eq!(shell(&app, &c).await["pending"], serde_json::Value::Null);
        let code = app.next_code("echoscopist").await;
        let after = app.call(&c, "login_code", &[("code", &code)]).await;
        assert_eq!(after.status(), 401, "back at the password: no code step");
    }
    let events = app.audit_events().await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.action == "second_factor_failed")
        .collect();
    assert_eq!(failed.len(), 10);
    assert!(
        failed[4].detail.contains(r#""back_to_password":true"#),
        "{}",
        failed[4].detail
    );
    assert!(
        failed[4].detail.contains(r#""consecutive_failures":5"#),
        "{}",
        failed[4].detail
    );
    assert!(
        events.iter().any(|e| e.action == "login_locked"),
        "10 wrong codes lock the account"
    );
    // Locked: the right password gets the generic refusal.
    let c = client();
    assert_eq!(
        app.password_step(&c, "echoscopist", PASSWORD)
            .await
            .status(),
        401
    );
}

/// A new account of the demo practice with no second factor; returns her username.
async fn new_user(app: &TestApp, username: &str) -> &'static str {
    backend::accounts::add_user(
        &app.store,
        "vp-de-wieg",
        "verloskundige",
        username,
        "Nieuwe Collega",
        SecretString::from(PASSWORD),
    )
    .await
    .unwrap();
    Box::leak(username.to_owned().into_boxed_str())
}

/// Enrols the half-logged-in `c` from the enrolment page's secret; returns the secret.
async fn enrol(app: &TestApp, c: &reqwest::Client) -> Vec<u8> {
    let page: serde_json::Value = app
        .call(c, "login_enrolment", &[])
        .await
        .json()
        .await
        .unwrap();
    let secret = totp::from_base32(page["secret"].as_str().unwrap()).unwrap();
    assert!(page["qr_svg"].as_str().unwrap().starts_with("<svg"));
    let wrong = app.call(c, "login_enrol", &[("code", "000000")]).await;
    assert_eq!(wrong.status(), 422);
    let code = totp::code_at_step(&secret, totp::step_of(unix_now()));
    let done = app.call(c, "login_enrol", &[("code", &code)]).await;
    assert_eq!(done.status(), 200);
    assert_eq!(done.headers()["location"], "/account/herstelcodes");
    secret
}

async fn the_first_login_enrols_and_shows_the_recovery_codes_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let username = new_user(&app, "nieuw").await;
    let c = client();
    let first = app.password_step(&c, username, PASSWORD).await;
    assert_eq!(first.headers()["location"], "/login/instellen");
    assert_eq!(shell(&app, &c).await["pending"], "Enrol");
    assert_eq!(app.call(&c, "my_clients", &[]).await.status(), 401);
    let secret = enrol(&app, &c).await;
    assert_eq!(shell(&app, &c).await["user"]["username"], username);
    let codes: Vec<String> = app
        .call(&c, "recovery_codes", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    let again: Vec<String> = app
        .call(&c, "recovery_codes", &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(again.is_empty());
    let events = app.audit_events().await;
    let enrolled = events
        .iter()
        .find(|e| e.action == "second_factor_enrolled" && e.user_name.as_deref() == Some(username))
        .unwrap();
    assert_eq!(enrolled.detail, r#"{"factor":"totp","recovery_codes":10}"#);
    // The secret is sealed in the database.
    let stored = app
        .texts("SELECT secret_sealed FROM totp_factors")
        .await
        .join(" ");
    assert!(!stored.contains(&totp::base32(&secret)));
    assert!(!stored.contains(&hex::encode(&secret)));
    // The next login asks for her code.
    let next = client();
    let r = app.password_step(&next, username, PASSWORD).await;
    assert_eq!(r.headers()["location"], "/login/code");
}

async fn reset_2fa_ends_her_sessions_and_she_enrols_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let username = new_user(&app, "telefoonkwijt").await;
    let c = client();
    app.password_step(&c, username, PASSWORD).await;
    enrol(&app, &c).await;
    assert_eq!(shell(&app, &c).await["user"]["username"], username);
    backend::second_factor::reset(&app.store, username)
        .await
        .unwrap();
    assert_eq!(
        shell(&app, &c).await["user"],
        serde_json::Value::Null,
        "her session ended"
    );
    assert!(app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "second_factor_reset"));
    let id = app
        .store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(app.store.totp_factor(&id).await.unwrap().is_none());
    let again = client();
    let r = app.password_step(&again, username, PASSWORD).await;
    assert_eq!(r.headers()["location"], "/login/instellen");
}

async fn without_the_requirement_a_password_suffices_until_she_enrols(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Settings {
            require_second_factor: false,
            ..Settings::default()
        },
    )
    .await;
    let username = new_user(&app, "zonderapp").await;
    let c = client();
    let r = app.password_step(&c, username, PASSWORD).await;
    assert_eq!(r.headers()["location"], "/");
    assert_eq!(shell(&app, &c).await["user"]["username"], username);
    let login = app
        .audit_events()
        .await
        .into_iter()
        .rev()
        .find(|e| e.action == "login")
        .unwrap();
    assert_eq!(login.detail, r#"{"factor":"password_only"}"#);
    // `/account` offers the app; once set up she is always asked for it.
    let page: serde_json::Value = app
        .call(&c, "account_enrolment", &[])
        .await
        .json()
        .await
        .unwrap();
    let secret = totp::from_base32(page["secret"].as_str().unwrap()).unwrap();
    let code = totp::code_at_step(&secret, totp::step_of(unix_now()));
    let done = app.call(&c, "account_enrol", &[("code", &code)]).await;
    assert_eq!(done.status(), 200);
    let next = client();
    let r = app.password_step(&next, username, PASSWORD).await;
    assert_eq!(r.headers()["location"], "/login/code");
    // A demo account (enrolled) is asked for her code too.
    let demo = client();
    let r = app.password_step(&demo, "verloskundige", PASSWORD).await;
    assert_eq!(r.headers()["location"], "/login/code");
}

async fn the_half_login_expires_and_then_leads_back_to_the_password(backend: Backend) {
    const LIFETIME: Duration = Duration::from_millis(2500);
    let app = spawn_app_with(
        backend,
        Settings {
            second_step_lifetime: LIFETIME,
            ..Settings::default()
        },
    )
    .await;
    let c = client();
    // The step began between these two instants; a busy machine may make a request slow, so
    // the "still pending" check holds only while the clock allows it.
    let before_password = std::time::Instant::now();
    assert_eq!(
        app.password_step(&c, "privacy", PASSWORD).await.status(),
        200
    );
    let after_password = std::time::Instant::now();
    let pending = shell(&app, &c).await["pending"].clone();
    if before_password.elapsed() < LIFETIME {
        assert_eq!(pending, "Code");
    }
    tokio::time::sleep(
        (LIFETIME + Duration::from_millis(500)).saturating_sub(after_password.elapsed()),
    )
    .await;
    assert_eq!(shell(&app, &c).await["pending"], serde_json::Value::Null);
    let code = app.next_code("privacy").await;
    let late = app.call(&c, "login_code", &[("code", &code)]).await;
    assert_eq!(late.status(), 401, "an expired second step takes no code");
    let home = c
        .get(app.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(home.headers()["location"], "/login");
    assert!(!app.audit_events().await.iter().any(|e| e.action == "login"));
}
