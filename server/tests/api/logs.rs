//! DESIGN rule 8: application logs carry ids and request ids, never a BSN, name, token,
//! password or clinical value. Runs the real binary with debug logging and reads its output.

use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_log_holds_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/logs.db", dir.path().display());
    let bin = env!("CARGO_BIN_EXE_ooievaar");
    let seeded = Command::new(bin)
        .args(["demo", "seed"])
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(seeded.status.success());
    let (server, base) =
        crate::helpers::serve_binary(&db, &[("RUST_LOG", "debug")], Stdio::piped).await;
    let c = crate::helpers::client();
    let post = |path: &str, form: &[(&str, &str)]| {
        c.post(format!("{base}{path}"))
            .header("accept", "application/json")
            .form(form)
            .send()
    };
    post(
        "/api/login",
        &[
            ("username", "verloskundige"),
            ("password", "wrong-password-x"),
        ],
    )
    .await
    .unwrap();
    post(
        "/api/login",
        &[
            ("username", "verloskundige"),
            ("password", crate::helpers::PASSWORD),
        ],
    )
    .await
    .unwrap();
    // The second step: a wrong code, then the right one.
    use backend::second_factor::totp;
    let secret = server::demo::demo_totp_secret("verloskundige");
    let code = totp::code_at_step(&secret, totp::step_of(crate::helpers::unix_now()));
    post("/api/login_code", &[("code", "135790")])
        .await
        .unwrap();
    let done = post("/api/login_code", &[("code", &code)]).await.unwrap();
    assert_eq!(done.status(), 200, "the second step");
    // New recovery codes (with a fresh code one step ahead), shown once.
    let fresh = totp::code_at_step(&secret, totp::step_of(crate::helpers::unix_now()) + 1);
    post("/api/renew_recovery_codes", &[("code", &fresh)])
        .await
        .unwrap();
    let recovery: Vec<String> = post("/api/recovery_codes", &[])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recovery.len(), 10);
    let found: serde_json::Value = post(
        "/api/search",
        &[("bsn", "999990032"), ("birth_date", "1991-04-06")],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = found["found"]["client_id"].as_str().unwrap().to_owned();
    post(
        "/api/request_access",
        &[
            ("client_id", &id),
            ("ground", "spoed"),
            ("reason", "bevalling thuis"),
            ("attest", "ja"),
        ],
    )
    .await
    .unwrap();
    let page = crate::helpers::html_of(&c, &format!("{base}/clients/{id}")).await;
    assert!(
        page.contains("Joyce Kramer") && page.contains("3450"),
        "the view worked"
    );
    let log = crate::helpers::stop_and_read_output(server);
    assert!(log.contains("request"), "debug logging was on: {log}");
    let secret_text = totp::base32(&secret);
    let mut long_secrets = vec![secret_text.as_str()];
    long_secrets.extend(recovery.iter().map(String::as_str));
    for secret in long_secrets {
        assert!(
            !log.contains(secret),
            "a second-factor secret or recovery code in the server log"
        );
    }
    // Short numbers (a code, a birth weight) may occur by chance inside a timestamp's fraction
    // of a second or a port: look for them as words of their own.
    let words: std::collections::HashSet<&str> = log
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '.')
        .filter(|w| !w.contains('.'))
        .collect();
    for code in [code.as_str(), fresh.as_str(), "135790"] {
        assert!(
            !words.contains(code),
            "an authenticator code in the server log"
        );
    }
    assert!(
        !words.contains("3450"),
        "the birth weight in the server log"
    );
    for secret in [
        "999990032",
        "Joyce",
        "Kramer",
        "1991-04-06",
        "wrong-password-x",
        crate::helpers::PASSWORD,
        "bevalling thuis",
        "Cystic",
    ] {
        assert!(!log.contains(secret), "'{secret}' in the server log");
    }
}
