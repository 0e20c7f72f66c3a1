//! Login under attack (DESIGN rules 9 and 10, section 9 "Lock-out"): the soft lock-out per
//! account, the bound on the password hasher, the per-address failure limit and its log
//! aggregation, a clean session at every login, and the end of other sessions at a password
//! change. Through the real router (and the real binary for `user unlock`), on both databases.

use crate::helpers::{
    client, fresh_database, serve_binary, spawn_app_with, Backend, FreshDatabase, PASSWORD,
};
use backend::accounts::OVER_LIMIT_DELAY;
use backend::flood::FloodLimits;
use backend::on_both_backends;
use backend::store::AuditRow;
use backend::{Settings, Store};
use server::demo;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

on_both_backends!(
    ten_wrong_passwords_lock_the_account_for_the_right_one_too_until_user_unlock,
    a_success_resets_the_count_and_a_lock_ends_by_itself,
    wrong_current_passwords_on_the_account_page_count_toward_the_lock_and_are_logged,
    concurrent_logins_never_run_more_argon2_than_the_hasher_has_permits,
    past_the_address_limit_a_right_password_still_logs_in,
    failed_logins_past_the_first_of_a_minute_are_not_each_appended,
    a_login_starts_a_clean_session_on_a_shared_browser,
    a_password_change_ends_every_other_session_and_keeps_the_changing_one,
    a_password_change_keeps_the_absolute_lifetime_from_the_original_login,
);

fn run_cli(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ooievaar"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run ooievaar")
}

async fn events_of(store: &Store, action: &str) -> Vec<AuditRow> {
    store
        .audit_events_after(0, 100_000)
        .await
        .expect("audit rows")
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

fn detail(e: &AuditRow) -> serde_json::Value {
    serde_json::from_str(&e.detail).expect("detail json")
}

/// A login attempt as the hydrated page sends it: (status, body).
async fn attempt(c: &reqwest::Client, base: &str, username: &str, password: &str) -> (u16, String) {
    let r = c
        .post(format!("{base}/api/login"))
        .header("accept", "application/json")
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .expect("login request");
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Settings with a small lock-out, so tests need few attempts.
fn lock_after(failures: u32, lock: Duration) -> Settings {
    Settings {
        login_lock_failures: failures,
        login_lock: lock,
        ..Settings::default()
    }
}

/// Rule 10 (DESIGN 9 "Lock-out"): ten consecutive wrong passwords lock the account; during the
/// lock the right password gets exactly the answer of a wrong one; `ooievaar user unlock` ends
/// the lock, and locking and unlocking are audit events. The count lives in the database, not
/// in the log: only the first failure of the minute has its own `login_failed` event.
async fn ten_wrong_passwords_lock_the_account_for_the_right_one_too_until_user_unlock(
    backend: Backend,
) {
    let FreshDatabase { url, guard: _guard } = fresh_database(backend).await;
    let seeded = run_cli(&url, &["demo", "seed"]);
    assert!(seeded.status.success(), "{seeded:?}");
    let (mut server, base) =
        serve_binary(&url, &[("OOIEVAAR_CHECKPOINT_MINUTES", "0")], Stdio::null).await;
    let c = client();

    let mut wrong_bodies = Vec::new();
    for _ in 0..10 {
        let (status, body) = attempt(&c, &base, "gynaecoloog", "geraden-wachtwoord").await;
        assert_eq!(status, 401);
        wrong_bodies.push(body);
    }
    let (locked_status, locked_body) = attempt(&c, &base, "gynaecoloog", PASSWORD).await;
    let (after_status, after_body) = attempt(&c, &base, "gynaecoloog", "nog-een-gok").await;
    let other = attempt(&client(), &base, "verloskundige", PASSWORD).await;

    let store = Store::connect(&url).await.unwrap();
    let locked = events_of(&store, "login_locked").await;
    let failed = events_of(&store, "login_failed").await;
    let unlocked_before = events_of(&store, "login_unlocked").await.len();
    let unlock = run_cli(&url, &["user", "unlock", "--username", "gynaecoloog"]);
    let (unlocked_status, _) = attempt(&c, &base, "gynaecoloog", PASSWORD).await;
    let again = run_cli(&url, &["user", "unlock", "--username", "gynaecoloog"]);
    let unlocked = events_of(&store, "login_unlocked").await;
    server.kill().ok();
    server.wait().ok();

    assert!(wrong_bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(locked_status, 401, "the right password during the lock");
    assert_eq!(
        locked_body, wrong_bodies[0],
        "the same answer as a wrong one"
    );
    assert_eq!((after_status, after_body), (401, wrong_bodies[0].clone()));
    assert_eq!(other.0, 200, "another account is not locked");
    assert_eq!(locked.len(), 1, "locked once");
    assert_eq!(locked[0].user_name.as_deref(), Some("gynaecoloog"));
    assert_eq!(
        locked[0].organisation_id.as_deref(),
        Some("zh-rivierenland"),
        "her organisation's officer sees it"
    );
    assert_eq!(detail(&locked[0])["failures"], 10);
    assert!(
        failed.len() < 10,
        "failures past the first of a minute are summarised, yet the lock counted all ten"
    );
    assert_eq!(unlocked_before, 0);
    assert!(unlock.status.success(), "{unlock:?}");
    assert_eq!(unlocked_status, 200, "after user unlock she logs in");
    assert!(!again.status.success(), "not locked any more: an error");
    assert!(String::from_utf8_lossy(&again.stderr).contains("niet vergrendeld"));
    assert_eq!(unlocked.len(), 1);
    assert_eq!(
        unlocked[0].organisation_id.as_deref(),
        Some("zh-rivierenland")
    );
    assert_eq!(detail(&unlocked[0])["username"], "gynaecoloog");
    assert!(matches!(
        backend::integrity::verify_chain(&store).await.unwrap(),
        backend::integrity::VerifyReport::Intact { .. }
    ));
}

/// Rule 10: the failures must be consecutive (a right password resets the count) and fall
/// within the window; a lock ends by itself after its minutes.
async fn a_success_resets_the_count_and_a_lock_ends_by_itself(backend: Backend) {
    // The lock is long enough that a busy machine still asks during it, short enough to wait out.
    const LOCK: Duration = Duration::from_secs(5);
    let app = spawn_app_with(backend, lock_after(3, LOCK)).await;
    let c = client();
    let (app, c) = (&app, &c);
    let login =
        |password| async move { app.login_as(c, "kraamverzorgende", password).await.status() };
    for _ in 0..2 {
        assert_eq!(login("fout-1").await, 401);
    }
    assert_eq!(login(PASSWORD).await, 200);
    for _ in 0..2 {
        assert_eq!(login("fout-2").await, 401);
    }
    assert_eq!(
        login(PASSWORD).await,
        200,
        "two plus two failures with a success between them: no lock"
    );
    for _ in 0..3 {
        login("fout-3").await;
    }
    // The lock began before the third failure was answered, so it has surely ended once LOCK
    // has passed since then.
    let third_failure_answered = std::time::Instant::now();
    assert_eq!(login(PASSWORD).await, 401);
    tokio::time::sleep(
        (LOCK + Duration::from_millis(200)).saturating_sub(third_failure_answered.elapsed()),
    )
    .await;
    assert_eq!(login(PASSWORD).await, 200, "the lock ended by itself");
    assert_eq!(events_of(&app.store, "login_locked").await.len(), 1);
}

async fn change_password(
    app: &crate::helpers::TestApp,
    c: &reqwest::Client,
    current: &str,
    new: &str,
) -> reqwest::Response {
    app.call(
        c,
        "change_password",
        &[
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", new),
        ],
    )
    .await
}

/// Rule 10: wrong current passwords on `/account` count toward the lock-out (a stolen session
/// cannot guess the password there) and each is logged as `login_failed` at the password change;
/// during the lock the right current password is refused too.
async fn wrong_current_passwords_on_the_account_page_count_toward_the_lock_and_are_logged(
    backend: Backend,
) {
    let app = spawn_app_with(backend, lock_after(3, Duration::from_secs(60))).await;
    let c = app.logged_in("beheer").await;
    let new = "een-nieuw-lang-wachtwoord";
    for _ in 0..3 {
        let r = change_password(&app, &c, "geraden-huidig", new).await;
        assert_eq!(r.status(), 422);
    }
    let during = change_password(&app, &c, PASSWORD, new).await;
    let login = app.login_as(&client(), "beheer", PASSWORD).await;

    assert_eq!(
        during.status(),
        422,
        "locked: the right current password too"
    );
    let body: serde_json::Value = during.json().await.unwrap();
    assert_eq!(
        body["Validation"]["field_errors"][0]["problem"],
        "het huidige wachtwoord klopt niet"
    );
    assert_eq!(login.status(), 401, "the lock holds for the login page too");
    let failed = events_of(&app.store, "login_failed").await;
    let at_change: Vec<_> = failed
        .iter()
        .filter(|e| detail(e)["at"] == "password_change")
        .collect();
    assert_eq!(at_change.len(), 4, "every wrong current password is logged");
    assert!(at_change
        .iter()
        .all(|e| e.user_name.as_deref() == Some("beheer")));
    assert_eq!(detail(at_change[0])["consecutive_failures"], 1);
    assert_eq!(detail(at_change[3])["reason"], "locked");
    assert_eq!(events_of(&app.store, "login_locked").await.len(), 1);
    assert!(events_of(&app.store, "password_changed").await.is_empty());
}

/// Rule 9: the password hasher is bounded. Many logins at once never run more argon2 than the
/// hasher has permits (one per core); each gets its answer, or "try again" (503) when it waited
/// too long, never a pile of 19 MiB runs.
async fn concurrent_logins_never_run_more_argon2_than_the_hasher_has_permits(backend: Backend) {
    let app = spawn_app_with(backend, Settings::default()).await;
    let permits = app.hasher.size();
    let attempts = (permits * 6).max(12);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..attempts {
        let (url, user) = (
            app.url("/api/login"),
            demo::USERS[i % demo::USERS.len()].0.to_owned(),
        );
        tasks.spawn(async move {
            let password = if i % 2 == 0 {
                PASSWORD
            } else {
                "fout-wachtwoord"
            };
            let r = client()
                .post(url)
                .header("accept", "application/json")
                .form(&[("username", user.as_str()), ("password", password)])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        });
    }
    let answers = tasks.join_all().await;

    assert!(
        app.hasher.peak() <= permits,
        "peak {} > {permits}",
        app.hasher.peak()
    );
    assert!(app.hasher.peak() >= 1);
    for (status, body) in &answers {
        assert!(matches!(status, 200 | 401 | 503), "{status} {body}");
        if *status == 503 {
            // The page shows it as "Het is nu erg druk. Probeer het over enkele seconden opnieuw."
            assert_eq!(body, "\"Busy\"");
        }
    }
    assert!(answers.iter().any(|(s, _)| *s == 200));
}

/// Retries a login that got "try again" (503: the shared hasher was full, e.g. under parallel
/// tests): that answer is not a refusal of the credential.
async fn login_retrying_busy(app: &crate::helpers::TestApp, c: &reqwest::Client) -> u16 {
    for _ in 0..20 {
        let status = app.login_as(c, "verloskundige", PASSWORD).await.status();
        if status != 503 {
            return status.as_u16();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    503
}

/// Rule 9 and DESIGN 9: the per-address limit counts only failures and slows that address, but
/// never refuses a right password, even from the address of a flood.
async fn past_the_address_limit_a_right_password_still_logs_in(backend: Backend) {
    let settings = Settings {
        flood_limits: FloodLimits {
            login_failures: 5,
            ..FloodLimits::default()
        },
        ..Settings::default()
    };
    let app = spawn_app_with(backend, settings).await;
    for i in 0..6 {
        let status = app
            .login_as(&client(), &format!("onbekend-{i}"), "geraden")
            .await
            .status();
        assert!(matches!(status.as_u16(), 401 | 503), "{status}");
    }
    // Past the limit: a wrong password is held back...
    let started = Instant::now();
    let slowed = app
        .login_as(&client(), "onbekend-x", "geraden")
        .await
        .status();
    let slow = started.elapsed();
    // ...a right one from the same address goes in.
    let c = client();
    let right = login_retrying_busy(&app, &c).await;

    assert_eq!(right, 200, "a right password is never refused by the limit");
    assert_eq!(app.shell(&c).await["user"]["username"], "verloskundige");
    if slowed == 401 {
        assert!(slow >= OVER_LIMIT_DELAY, "{slow:?}");
    }
}

/// Rule 9: failed logins do not each append a hash-chained event. The first failure of an
/// (address, reason) in a minute is logged at once, the rest of that minute only counted (for
/// the minute's `refusals_summary`).
async fn failed_logins_past_the_first_of_a_minute_are_not_each_appended(backend: Backend) {
    let app = spawn_app_with(backend, Settings::default()).await;
    // Not across a minute boundary.
    let into_minute = backend::store::now_ms() % 60_000;
    if into_minute > 45_000 {
        tokio::time::sleep(Duration::from_millis((61_000 - into_minute) as u64)).await;
    }
    let before = app.audit_events().await.len();
    for i in 0..8 {
        let status = app
            .login_as(&client(), &format!("niemand-{i}"), "geraden")
            .await
            .status();
        assert_eq!(status, 401);
    }
    let written: Vec<_> = app.audit_events().await.split_off(before);

    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(written[0].action, "login_failed");
    assert_eq!(detail(&written[0])["reason"], "unknown_user");
}

/// Rule 10: a new login starts a clean session. The previous user's pending search result
/// (kept for the page without JavaScript) and the officer's filters are gone after the next
/// login on the same browser.
async fn a_login_starts_a_clean_session_on_a_shared_browser(backend: Backend) {
    let app = spawn_app_with(backend, Settings::default()).await;
    let (bsn, name, birth) = demo::demo_clients().into_iter().next().unwrap();
    let shown = bsn.masked();
    let (bsn, birth) = (bsn.as_ref().to_owned(), birth.to_string());
    let tablet = app.logged_in("verloskundige").await;
    let search_plain = || {
        tablet
            .post(app.url("/api/search"))
            .header("accept", "text/html,application/xhtml+xml")
            .header("referer", app.url("/"))
            .form(&[("bsn", bsn.as_str()), ("birth_date", birth.as_str())])
            .send()
    };
    let home = || async {
        tablet
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    // The mechanism: without a new login the result is shown once on `/`.
    assert_eq!(search_plain().await.unwrap().status(), 302);
    // Before a grant the result shows the masked BSN, not the name (issue 14).
    assert!(home().await.contains(&shown), "the pending result is shown");
    // Pending again, then the next user logs in on the same browser.
    assert_eq!(search_plain().await.unwrap().status(), 302);
    assert_eq!(
        app.login_as(&tablet, "gynaecoloog", PASSWORD)
            .await
            .status(),
        200
    );
    let next = home().await;
    assert!(next.contains("Bram Jansen"), "her own start page");
    assert!(
        !next.contains(&shown) && !next.contains(name),
        "the previous user's search result is gone"
    );
    assert!(!next.contains(&bsn));

    // The officer's filters (they hold a BSN) do not survive a new login either.
    assert_eq!(
        app.login_as(&tablet, "privacy", PASSWORD).await.status(),
        200
    );
    let set = app.audit_filter(&tablet, &[("bsn", bsn.as_str())]).await;
    assert!(set.status().is_success(), "{}", set.text().await.unwrap());
    let kept: serde_json::Value = app.audit_page(&tablet, None).await.json().await.unwrap();
    assert_eq!(kept["filter"]["bsn"], bsn.as_str());
    assert_eq!(
        app.login_as(&tablet, "privacy", PASSWORD).await.status(),
        200
    );
    let fresh: serde_json::Value = app.audit_page(&tablet, None).await.json().await.unwrap();
    assert_eq!(fresh["filter"]["bsn"], "", "{fresh}");
}

/// Rule 10 (DESIGN 9): a password change ends every other session of the user at once, on
/// every instance (the check is in the database); the session that changed it stays.
async fn a_password_change_ends_every_other_session_and_keeps_the_changing_one(backend: Backend) {
    let app = spawn_app_with(backend, Settings::default()).await;
    let changing = app.logged_in("beheer").await;
    let other = app.logged_in("beheer").await;
    let someone_else = app.logged_in("privacy").await;
    assert_eq!(app.shell(&other).await["user"]["username"], "beheer");

    let new = "een-nieuw-lang-wachtwoord";
    let changed = change_password(&app, &changing, PASSWORD, new).await;
    assert_eq!(changed.status(), 200);

    assert_eq!(app.shell(&changing).await["user"]["username"], "beheer");
    assert_eq!(app.shell(&other).await["user"], serde_json::Value::Null);
    let page = other
        .get(app.url("/account"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        302,
        "the other session is sent to the login page"
    );
    assert_eq!(page.headers()["location"], "/login");
    let protected = app.call(&other, "my_clients", &[]).await;
    assert_eq!(protected.status(), 401, "the other session acts for nobody");
    assert_eq!(
        app.shell(&someone_else).await["user"]["username"],
        "privacy",
        "other users' sessions are untouched"
    );
    // A new login with the new password works as usual.
    let again = client();
    assert_eq!(app.login_as(&again, "beheer", new).await.status(), 200);
    assert_eq!(app.shell(&again).await["user"]["username"], "beheer");
}

/// Rule 10 (DESIGN 9): the session that changed the password keeps its absolute lifetime
/// counted from the original login, not from the change.
async fn a_password_change_keeps_the_absolute_lifetime_from_the_original_login(backend: Backend) {
    let settings = Settings {
        session_absolute: Duration::from_secs(3),
        ..Settings::default()
    };
    let app = spawn_app_with(backend, settings).await;
    let c = app.logged_in("beheer").await;
    let logged_in_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let changed = change_password(&app, &c, PASSWORD, "een-nieuw-lang-wachtwoord").await;
    assert_eq!(changed.status(), 200);
    if logged_in_at.elapsed() < Duration::from_millis(2800) {
        assert_eq!(app.shell(&c).await["user"]["username"], "beheer");
    }
    let left = Duration::from_millis(3300).saturating_sub(logged_in_at.elapsed());
    tokio::time::sleep(left).await;
    assert_eq!(
        app.shell(&c).await["user"],
        serde_json::Value::Null,
        "three seconds after the original login, however recent the change"
    );
}
