//! The source API under attack (DESIGN rules 1 and 9, section 8.1): forged tokens never count
//! against a source, a verified withdrawal is never refused for rate, refused tokens are limited
//! per address before the log writer, and a 401 does not tell whether a source exists. Also the
//! smaller token and sharing items of issue 9 (`nbf`, a replay in the last second, two sources
//! sharing one new BSN at once). Through the real router, on both databases.

use crate::helpers::{client, spawn_app_with, Backend, TestApp};
use crate::source_api::{claims, fixture, rivier_token, sign, valid_share, wieg_token, BSN};
use backend::audit::NewAuditEvent;
use backend::flood::FloodLimits;
use backend::on_both_backends;
use backend::store::{now_ms, AuditRow};
use backend::Settings;
use domain::audit_detail::{self as detail, AuditDetail};
use domain::{AuditAction, Outcome};
use futures::StreamExt;
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

const WIEG: &str = "de-wieg-epd";
const RIVIER: &str = "rivierenland-epd";
/// A source registered by the test, without the demo seed's shares in its last minute.
const FRESH: &str = "abuse-epd";

on_both_backends!(
    a_flood_of_forged_tokens_never_stops_the_sources_real_withdrawal,
    a_source_over_its_rate_limit_still_withdraws,
    refused_tokens_and_rate_refusals_never_count_against_a_source,
    unknown_issuer_unknown_key_and_bad_signature_get_the_same_401,
    a_token_flood_from_one_address_writes_a_few_events_and_a_summary,
    a_token_not_yet_valid_is_refused_within_the_leeway_accepted,
    a_replay_in_the_last_accepted_second_is_refused,
    two_sources_sharing_one_new_bsn_at_once_both_succeed,
);

/// The demo app with `settings`, the test keys of two demo sources registered, and the source
/// [`FRESH`] (of the midwifery practice, key es256-c).
async fn app_with_keys(backend: Backend, settings: Settings) -> TestApp {
    let app = spawn_app_with(backend, settings).await;
    let dir = tempfile::tempdir().unwrap();
    let write = |key: &str| {
        let path = dir.path().join(key);
        std::fs::write(&path, fixture(key)).unwrap();
        path.display().to_string()
    };
    for (source, key) in [(WIEG, "es256-a.pub.pem"), (RIVIER, "rs256-b.pub.pem")] {
        backend::sources::add_key(&app.store, source, &write(key))
            .await
            .unwrap();
    }
    backend::sources::add_source(&app.store, FRESH, "vp-de-wieg", &write("es256-c.pub.pem"))
        .await
        .unwrap();
    app
}

/// A fresh valid token of [`FRESH`].
fn fresh_token() -> String {
    sign(
        Algorithm::ES256,
        &fixture("es256-c.pem"),
        &claims(FRESH),
        None,
    )
}

/// A token naming the midwifery practice's source, signed with a key it never registered.
fn forged_wieg_token() -> String {
    sign(
        Algorithm::ES256,
        &fixture("es256-c.pem"),
        &claims(WIEG),
        None,
    )
}

/// Sends `n` consent withdrawals with forged tokens, `parallel` at a time, from one client (one
/// address); returns how many answered 401.
async fn forged_withdrawals(app: &TestApp, n: usize, parallel: usize) -> usize {
    let c = client();
    let url = app.url(&format!("/api/v1/shares/{BSN}/consent"));
    futures::stream::iter(0..n)
        .map(|_| {
            let (c, url) = (c.clone(), url.clone());
            async move {
                c.put(url)
                    .bearer_auth(forged_wieg_token())
                    .header("content-type", "application/json")
                    .body(json!({ "status": "withdrawn" }).to_string())
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(parallel)
        .filter(|status| futures::future::ready(*status == 401))
        .count()
        .await
}

fn events_of(events: &[AuditRow], action: &str) -> Vec<AuditRow> {
    events
        .iter()
        .filter(|e| e.action == action)
        .cloned()
        .collect()
}

fn detail(e: &AuditRow) -> Value {
    serde_json::from_str(&e.detail).unwrap()
}

/// Pregnancy and entry rows `source` holds of the test client ([`BSN`]).
fn held_by(dump: &str, source: &str) -> usize {
    let Some(client_id) = dump
        .lines()
        .find(|l| l.starts_with("clients|") && l.contains(BSN))
        .and_then(|l| l.split('|').nth(1))
    else {
        return 0;
    };
    dump.lines()
        .filter(|l| {
            (l.starts_with("entries|") || l.starts_with("pregnancies|"))
                && l.split('|').nth(1) == Some(client_id)
                && l.split('|').nth(2) == Some(source)
        })
        .count()
}

/// Rule 1 and rule 9: 700 forged tokens naming a real source, from one address, then that
/// source's real withdrawal from the same address: 200, and the data is gone. (Before the fix
/// each forged call was logged with the source's id and counted against its limit of 600 per
/// minute, so the withdrawal got 429 and the data stayed visible.)
async fn a_flood_of_forged_tokens_never_stops_the_sources_real_withdrawal(backend: Backend) {
    let app = app_with_keys(backend, Settings::default()).await;
    let shared = app.put_share(&wieg_token(), BSN, &valid_share(3)).await;
    assert_eq!(shared.status(), 200);
    assert!(held_by(&app.dump().await, WIEG) > 0);
    let events_before = app.audit_events().await.len();

    assert_eq!(forged_withdrawals(&app, 700, 16).await, 700);

    let withdrawal = app.put_consent(&wieg_token(), BSN, "withdrawn").await;
    assert_eq!(
        withdrawal.status(),
        200,
        "the real withdrawal is never refused"
    );
    assert_eq!(
        withdrawal.json::<Value>().await.unwrap(),
        json!({"status": "withdrawn"})
    );
    assert_eq!(held_by(&app.dump().await, WIEG), 0, "the data is gone");
    let events = app.audit_events().await;
    let new = &events[events_before..];
    assert!(
        new.len() <= 5,
        "700 forged calls wrote {} events: {:?}",
        new.len(),
        new.iter().map(|e| &e.action).collect::<Vec<_>>()
    );
    for refused in events_of(new, "token_refused") {
        assert_eq!(refused.source_id, None, "a forged token names no source");
        assert_eq!(refused.organisation_id, None);
        assert_eq!(detail(&refused)["claimed_issuer"], WIEG);
    }
    assert_eq!(events_of(new, "consent_withdrawn").len(), 1);
    app.assert_chain_intact().await;
}

/// Rule 9 (DESIGN 8.1): a verified source over its rate limit gets 429 on shares and consent
/// restorations, but its consent withdrawal still answers 200 and purges the data.
async fn a_source_over_its_rate_limit_still_withdraws(backend: Backend) {
    let settings = Settings {
        source_calls_per_minute: 3,
        ..Default::default()
    };
    let app = app_with_keys(backend, settings).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = app.put_share(&fresh_token(), BSN, &valid_share(2)).await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert!(held_by(&app.dump().await, FRESH) > 0);

    let withdrawal = app.put_consent(&fresh_token(), BSN, "withdrawn").await;
    assert_eq!(
        withdrawal.status(),
        200,
        "a withdrawal is never rate limited"
    );
    assert_eq!(held_by(&app.dump().await, FRESH), 0);
    // A second withdrawal too; a restoration is an ordinary call and is limited.
    assert_eq!(
        app.put_consent(&fresh_token(), BSN, "withdrawn")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put_consent(&fresh_token(), BSN, "active")
            .await
            .status(),
        429
    );
    // A "withdrawal" for a BSN that fails the 11-check is no withdrawal: it meets the limit.
    let events = app.audit_events().await.len();
    assert_eq!(
        app.put_consent(&fresh_token(), "123456789", "withdrawn")
            .await
            .status(),
        429
    );
    let new: Vec<String> = app.audit_events().await[events..]
        .iter()
        .map(|e| e.detail.clone())
        .collect();
    assert!(new.iter().all(|d| d.contains("rate_limited")), "{new:?}");
}

/// Rule 9 (DESIGN 8.1): a source's limit counts its verified calls only: neither refused
/// tokens (even old events that named the source) nor its own 429 refusals count.
async fn refused_tokens_and_rate_refusals_never_count_against_a_source(backend: Backend) {
    let app = app_with_keys(backend, Settings::default()).await;
    let since = now_ms() - 1;
    let baseline = app
        .store
        .source_calls_since(&FRESH.into(), since)
        .await
        .unwrap();
    assert_eq!(baseline, 0);
    let event = |action, outcome, detail: AuditDetail| {
        let mut e = NewAuditEvent::new(action, outcome).with_detail(detail);
        e.source_id = Some(FRESH.into());
        e.organisation_id = Some("vp-de-wieg".into());
        e
    };
    for _ in 0..4 {
        app.store
            .record(event(
                AuditAction::TokenRefused,
                Outcome::Denied,
                AuditDetail::TokenRefused(detail::TokenRefused {
                    reason: "bad_signature".into(),
                    claimed_issuer: None,
                }),
            ))
            .await
            .unwrap();
        app.store
            .record(event(
                AuditAction::ShareRefused,
                Outcome::Denied,
                AuditDetail::ShareRefused(detail::ShareRefused {
                    reason: "rate_limited".into(),
                    fields: None,
                }),
            ))
            .await
            .unwrap();
    }
    assert_eq!(
        app.store
            .source_calls_since(&FRESH.into(), since)
            .await
            .unwrap(),
        0,
        "refusals of tokens and of the rate limit are no calls"
    );
    // Verified calls, the refused ones among them, do count.
    assert_eq!(
        app.put_share(&fresh_token(), BSN, &valid_share(1))
            .await
            .status(),
        200
    );
    let mut bad = valid_share(1);
    bad["client"]["name"] = json!("");
    assert_eq!(app.put_share(&fresh_token(), BSN, &bad).await.status(), 422);
    assert_eq!(
        app.put_consent(&fresh_token(), BSN, "withdrawn")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.store
            .source_calls_since(&FRESH.into(), since)
            .await
            .unwrap(),
        3
    );
}

/// Rule 9 (no existence leak for sources): a token of an unknown issuer, one naming a real
/// source but an unknown key, and one with a bad signature get byte-identical 401 answers; the
/// access log keeps the precise reason, without naming a source.
async fn unknown_issuer_unknown_key_and_bad_signature_get_the_same_401(backend: Backend) {
    let app = app_with_keys(backend, Settings::default()).await;
    let mut unknown_issuer = claims("nobody-epd");
    unknown_issuer["sub"] = json!("nobody-epd");
    let tokens = [
        (
            "unknown_issuer",
            sign(
                Algorithm::ES256,
                &fixture("es256-c.pem"),
                &unknown_issuer,
                None,
            ),
        ),
        ("bad_signature", forged_wieg_token()),
        (
            "no_matching_key",
            sign(
                Algorithm::ES256,
                &fixture("es256-a.pem"),
                &claims(WIEG),
                Some("0000000000000000"),
            ),
        ),
    ];
    let mut answers = Vec::new();
    for (_, token) in &tokens {
        let r = app
            .put_raw(
                &format!("/api/v1/shares/{BSN}"),
                Some(token),
                "application/json",
                valid_share(1).to_string(),
            )
            .await;
        let status = r.status().as_u16();
        let challenge = r.headers().get("www-authenticate").cloned();
        let body = r.bytes().await.unwrap();
        answers.push((status, challenge, body));
    }
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0], answers[1], "unknown issuer vs bad signature");
    assert_eq!(answers[0], answers[2], "unknown issuer vs unknown key");
    let events = app.audit_events().await;
    let refused = events_of(&events, "token_refused");
    for (reason, _) in &tokens {
        let e = refused
            .iter()
            .find(|e| detail(e)["reason"] == *reason)
            .unwrap_or_else(|| panic!("{reason} logged"));
        assert_eq!(e.source_id, None);
        assert_eq!(e.organisation_id, None);
    }
}

/// Rule 9 (issue 9 finding 2): a flood of forged tokens from one address writes one event for
/// the first refusal of each reason in the minute; the rest becomes one `refusals_summary` with
/// the count when the minute closes. Past the address's limit, even a new reason writes
/// nothing of its own (it is counted in the summary), and a verified call from that address is
/// still served.
async fn a_token_flood_from_one_address_writes_a_few_events_and_a_summary(backend: Backend) {
    let settings = Settings {
        flood_limits: FloodLimits {
            token_failures: 20,
            ..FloodLimits::default()
        },
        ..Default::default()
    };
    let app = app_with_keys(backend, settings).await;
    let events_before = app.audit_events().await.len();
    const N: usize = 150;
    assert_eq!(forged_withdrawals(&app, N, 8).await, N);
    // Past the limit: a new reason (an unknown issuer) is refused without a write.
    let mut nobody = claims("nobody-epd");
    nobody["sub"] = json!("nobody-epd");
    let r = app
        .put_consent(
            &sign(Algorithm::ES256, &fixture("es256-c.pem"), &nobody, None),
            BSN,
            "withdrawn",
        )
        .await;
    assert_eq!(r.status(), 401);
    // A verified call from the same address is served.
    assert_eq!(
        app.put_share(&wieg_token(), BSN, &valid_share(1))
            .await
            .status(),
        200
    );

    let written = app.audit_events().await[events_before..].to_vec();
    let refused = events_of(&written, "token_refused");
    assert!(
        (1..=2).contains(&refused.len()),
        "{N} forged calls wrote {} token_refused events",
        refused.len()
    );
    assert!(refused
        .iter()
        .all(|e| detail(e)["reason"] == "bad_signature"));

    // Close the minute (the server does this every few seconds once it has passed).
    backend::flood::write_closed_minutes(&app.store, &app.flood, now_ms() + 60_000)
        .await
        .unwrap();
    let written = app.audit_events().await[events_before..].to_vec();
    let summaries = events_of(&written, "refusals_summary");
    assert!(!summaries.is_empty());
    let counted = |reason: &str| -> u64 {
        summaries
            .iter()
            .map(detail)
            .filter(|d| d["reason"] == reason && d["refused"] == "token_refused")
            .map(|d| d["count"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        counted("bad_signature") + refused.len() as u64,
        N as u64,
        "every refusal is either its own event or counted in a summary"
    );
    assert_eq!(counted("unknown_issuer"), 1, "counted though not written");
    assert!(summaries
        .iter()
        .all(|s| s.ip.as_deref() == Some("127.0.0.1") && s.source_id.is_none()));
    app.assert_chain_intact().await;
}

/// Issue 9 finding 11: `nbf` is checked when present (60 s leeway, like `iat` and `exp`).
async fn a_token_not_yet_valid_is_refused_within_the_leeway_accepted(backend: Backend) {
    let app = app_with_keys(backend, Settings::default()).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let with_nbf = |nbf: i64| {
        let mut c = claims(WIEG);
        c["nbf"] = json!(nbf);
        sign(Algorithm::ES256, &fixture("es256-a.pem"), &c, None)
    };
    let early = app
        .put_share(&with_nbf(now + 120), BSN, &valid_share(1))
        .await;
    assert_eq!(early.status(), 401);
    assert_eq!(
        early.json::<Value>().await.unwrap()["reason"],
        "not_yet_valid"
    );
    assert_eq!(
        app.put_share(&with_nbf(now + 30), BSN, &valid_share(1))
            .await
            .status(),
        200,
        "within the clock skew"
    );
}

/// Issue 9 finding 11 (rule 7: a replay changes nothing): a token is accepted until the end of
/// the second `exp + leeway`; its `jti` is kept past that, so a replay in that last second is
/// refused. (Before, the `jti` was dropped at the start of that second.)
async fn a_replay_in_the_last_accepted_second_is_refused(backend: Backend) {
    use server::api::token::{verify, Refusal, LEEWAY_SECS};
    let app = app_with_keys(backend, Settings::default()).await;
    let claims = claims(WIEG);
    let exp = claims["exp"].as_i64().unwrap();
    let token = sign(Algorithm::ES256, &fixture("es256-a.pem"), &claims, None);
    let bearer = format!("Bearer {token}");
    // 500 ms into the last second in which the token is still accepted.
    let last_second = (exp + LEEWAY_SECS as i64) * 1000 + 500;
    let first = verify(
        &app.store,
        "ooievaar",
        Some(&bearer),
        last_second,
        backend::store::Party::Source,
    )
    .await
    .unwrap();
    assert!(first.is_ok(), "{first:?}");
    let replay = verify(
        &app.store,
        "ooievaar",
        Some(&bearer),
        last_second + 400,
        backend::store::Party::Source,
    )
    .await
    .unwrap();
    assert_eq!(replay.unwrap_err().reason, Refusal::Replayed);
    let after = verify(
        &app.store,
        "ooievaar",
        Some(&bearer),
        last_second + 500,
        backend::store::Party::Source,
    )
    .await
    .unwrap();
    assert_eq!(after.unwrap_err().reason, Refusal::Expired);
}

/// Issue 9 finding 11 (rule 1: a share is stored, or refused with a reason, never lost to a
/// 500): two sources sharing one new BSN at the same moment both get 200, and one client
/// record holds both shares. Several rounds, each with a new BSN.
async fn two_sources_sharing_one_new_bsn_at_once_both_succeed(backend: Backend) {
    let app = app_with_keys(backend, Settings::default()).await;
    let demo: Vec<String> = server::demo::demo_bsns()
        .iter()
        .map(|b| b.as_ref().to_owned())
        .collect();
    let new_bsns: Vec<String> = (200_000_000u32..)
        .map(|n| n.to_string())
        .filter(|n| domain::Bsn::parse(n).is_ok() && !demo.contains(n))
        .take(8)
        .collect();
    for bsn in &new_bsns {
        let (wieg, rivier) = (wieg_token(), rivier_token());
        let (two, one) = (valid_share(2), valid_share(1));
        let (a, b) = tokio::join!(
            app.put_share(&wieg, bsn, &two),
            app.put_share(&rivier, bsn, &one),
        );
        assert_eq!(
            (a.status().as_u16(), b.status().as_u16()),
            (200, 200),
            "BSN {bsn}"
        );
    }
    let dump = app.dump().await;
    for bsn in &new_bsns {
        let clients: Vec<&str> = dump
            .lines()
            .filter(|l| l.starts_with("clients|") && l.contains(bsn.as_str()))
            .collect();
        assert_eq!(clients.len(), 1, "one client record for {bsn}");
        let id = clients[0].split('|').nth(1).unwrap();
        let shares = dump
            .lines()
            .filter(|l| l.starts_with("shares|") && l.contains(id))
            .count();
        assert_eq!(shares, 2, "both shares of {bsn}");
    }
}
