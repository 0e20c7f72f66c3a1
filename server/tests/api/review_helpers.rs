//! Setup and calls shared by the privacy officer's review tests (DESIGN flow 7, sections 3
//! and 7), which run through the real router on SQLite and PostgreSQL, one file per topic:
//! `review_scope` (her scope, and that reading the log is logged), `review_filters` (filters
//! and keyset pages), `review_flags` (flags and reviews), `review_revoke` (revoking grants,
//! repeated reviews and revocations), `review_overview` (the client overview) and
//! `review_export` (the CSV export).
//!
//! The demo network: `vp-de-wieg` (source `de-wieg-epd`), `zh-rivierenland` (source
//! `rivierenland-epd`, officer `privacy`) and `kz-kraamhoek` (source `kraamhoek-app`). Demo
//! client `i` is shared by all three when `i % 3 == 0`, by De Wieg and De Kraamhoek when
//! `i % 3 == 1`, and by De Wieg and Rivierenland when `i % 3 == 2`.

use crate::helpers::{spawn_app_with, Backend, TestApp, PASSWORD};
use crate::source_api::fixture;
use backend::store::AuditRow;
use backend::{accounts, clock, Settings};
use domain::FlagRules;
use secrecy::SecretString;
use serde_json::Value;
use server::demo;
use std::collections::{BTreeSet, HashMap, HashSet};

pub(crate) const ZH_NAME: &str = "Ziekenhuis Rivierenland, Verloskunde";
pub(crate) const WIEG_NAME: &str = "Verloskundigenpraktijk De Wieg";
pub(crate) const KZ_NAME: &str = "Kraamzorg De Kraamhoek";

/// Demo client shared by all three organisations.
pub(crate) const ALL_THREE: usize = 0;
/// Demo client shared by De Wieg and De Kraamhoek, not by Rivierenland.
pub(crate) const NOT_ZH: usize = 1;
/// Demo client shared by De Wieg and Rivierenland.
pub(crate) const WIEG_ZH: usize = 2;
/// Another demo client not shared by Rivierenland.
pub(crate) const NOT_ZH_2: usize = 4;

/// No guessed client id exists.
pub(crate) const NO_CLIENT: &str = "00000000000000000000000000000000";

/// 101 characters: longer than a user name or organisation code may be.
pub(crate) const LONG: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// The CSV columns (DESIGN section 7, without the hashes).
pub(crate) const CSV_HEADER: &str = "id,occurred_at,action,outcome,user_id,user_name,user_role,organisation_id,on_behalf_of,client_id,bsn,source_id,ground,grant_id,detail,ip,user_agent,request_id";

/// The actions a client overview lists.
/// What the client overview lists (refused page visits and the officers' own log reviews are
/// left out).
pub(crate) const OVERVIEW_ACTIONS: &[&str] = &[
    "search",
    "read",
    "access_request",
    "grant_ended",
    "grant_revoked",
    "consent_withdrawn",
    "consent_restored",
];

// ----- setup -----

/// Flag rules that do not depend on the clock: no hour is night (`night_starts == night_ends`).
pub(crate) fn day_rules() -> FlagRules {
    FlagRules {
        night_starts: 0,
        night_ends: 0,
        ..FlagRules::default()
    }
}

pub(crate) async fn spawn(backend: Backend, rules: FlagRules) -> TestApp {
    spawn_app_with(
        backend,
        Settings {
            flag_rules: rules,
            ..Settings::default()
        },
    )
    .await
}

/// The demo app with the flag rules and keys for De Wieg's and Rivierenland's sources.
pub(crate) async fn spawn_with_keys(
    backend: Backend,
    rules: FlagRules,
) -> (TestApp, tempfile::TempDir) {
    let app = spawn(backend, rules).await;
    let dir = tempfile::tempdir().unwrap();
    for (source, name) in [
        ("de-wieg-epd", "es256-a.pub.pem"),
        ("rivierenland-epd", "rs256-b.pub.pem"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, fixture(name)).unwrap();
        backend::sources::add_key(&app.store, source, &path.display().to_string())
            .await
            .unwrap();
    }
    (app, dir)
}

/// A privacy officer of `organisation`, logged in.
pub(crate) async fn add_officer(
    app: &TestApp,
    organisation: &str,
    username: &str,
) -> reqwest::Client {
    accounts::add_user(
        &app.store,
        organisation,
        "privacy_officer",
        username,
        "Tweede Functionaris",
        SecretString::from(PASSWORD),
    )
    .await
    .expect("officer added");
    app.logged_in(username).await
}

/// BSN and birth date of demo client `i`.
pub(crate) fn demo_client(i: usize) -> (String, String) {
    let (bsn, _, birth) = &demo::demo_clients()[i];
    (bsn.as_ref().to_owned(), birth.to_string())
}

pub(crate) fn demo_name(i: usize) -> &'static str {
    demo::demo_clients()[i].1
}

pub(crate) fn today() -> time::Date {
    clock::today()
}

// ----- a professional's side -----

pub(crate) async fn search(app: &TestApp, c: &reqwest::Client, bsn: &str, birth: &str) -> Value {
    let r = app.search(c, bsn, birth).await;
    assert_eq!(r.status(), 200, "search");
    r.json().await.unwrap()
}

/// Searches demo client `i` and returns her opaque id.
pub(crate) async fn find(app: &TestApp, c: &reqwest::Client, i: usize) -> String {
    let (bsn, birth) = demo_client(i);
    let found = search(app, c, &bsn, &birth).await;
    found["found"]["client_id"]
        .as_str()
        .unwrap_or_else(|| panic!("demo client {i} found: {found}"))
        .to_owned()
}

pub(crate) async fn grant(
    app: &TestApp,
    c: &reqwest::Client,
    client_id: &str,
    ground: &str,
    reason: &str,
) {
    let r = app.request_access(c, client_id, ground, reason).await;
    assert!(r.status().is_success(), "access request: {}", r.status());
}

/// The client page as JSON (`{"Granted": ...}` or `"NoAccess"`).
pub(crate) async fn view(app: &TestApp, c: &reqwest::Client, client_id: &str) -> Value {
    let r = app.client_page(c, client_id).await;
    assert_eq!(r.status(), 200, "client page");
    r.json().await.unwrap()
}

pub(crate) fn granted(page: &Value) -> bool {
    page.get("Granted").is_some()
}

// ----- the officer's side -----

pub(crate) async fn audit_page(app: &TestApp, c: &reqwest::Client, before: Option<&str>) -> Value {
    let r = app.audit_page(c, before).await;
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, 200, "audit_page: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Every event of the officer's current list, following `next` to the last page.
pub(crate) async fn walk(app: &TestApp, c: &reqwest::Client) -> Vec<Value> {
    let mut events = Vec::new();
    let mut before: Option<String> = None;
    for _ in 0..200 {
        let page = audit_page(app, c, before.as_deref()).await;
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => return events,
        }
    }
    panic!("more than 200 pages");
}

pub(crate) fn ids(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

pub(crate) async fn visible(app: &TestApp, c: &reqwest::Client) -> HashSet<i64> {
    ids(&walk(app, c).await).into_iter().collect()
}

pub(crate) async fn filter_ok(app: &TestApp, c: &reqwest::Client, fields: &[(&str, &str)]) {
    let r = app.audit_filter(c, fields).await;
    let status = r.status();
    assert!(
        status.is_success(),
        "filter {fields:?}: {status} {}",
        r.text().await.unwrap()
    );
}

pub(crate) async fn clear_filter(app: &TestApp, c: &reqwest::Client) {
    let r = app.audit_filter_clear(c).await;
    assert!(r.status().is_success());
}

/// The fields of a 422 answer.
pub(crate) async fn fields_of(r: reqwest::Response) -> BTreeSet<String> {
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    body["Validation"]["field_errors"]
        .as_array()
        .unwrap_or_else(|| panic!("field errors in {body}"))
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn set(fields: &[&str]) -> BTreeSet<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

pub(crate) async fn review(
    app: &TestApp,
    c: &reqwest::Client,
    event_id: i64,
    note: &str,
) -> reqwest::Response {
    app.call(
        c,
        "audit_review",
        &[("event_id", &event_id.to_string()), ("note", note)],
    )
    .await
}

pub(crate) async fn revoke(
    app: &TestApp,
    c: &reqwest::Client,
    grant_id: &str,
    reason: &str,
) -> reqwest::Response {
    app.call(
        c,
        "audit_revoke",
        &[("grant_id", grant_id), ("reason", reason)],
    )
    .await
}

pub(crate) async fn export(
    app: &TestApp,
    c: &reqwest::Client,
    user_agent: &str,
) -> reqwest::Response {
    c.get(app.url("/audit/export.csv"))
        .header("user-agent", user_agent)
        .send()
        .await
        .unwrap()
}

/// The newest event matching `pred`.
pub(crate) async fn last_where(app: &TestApp, pred: impl Fn(&AuditRow) -> bool) -> AuditRow {
    app.audit_events()
        .await
        .into_iter()
        .rev()
        .find(|e| pred(e))
        .expect("a matching event")
}

/// The newest event of `action` by `user` (any user when `None`).
pub(crate) async fn last_event(app: &TestApp, action: &str, user: Option<&str>) -> AuditRow {
    last_where(app, |e| {
        e.action == action && user.is_none_or(|u| e.user_name.as_deref() == Some(u))
    })
    .await
}

pub(crate) fn detail(e: &AuditRow) -> Value {
    serde_json::from_str(&e.detail).unwrap()
}

/// The flag keys of an event view.
pub(crate) fn flag_keys(event: &Value) -> Vec<String> {
    event["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["flag"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn by_id(events: &[Value]) -> HashMap<i64, Value> {
    events
        .iter()
        .map(|e| (e["id"].as_i64().unwrap(), e.clone()))
        .collect()
}

/// Professionals of all three organisations at work on three demo clients.
pub(crate) async fn a_working_day(app: &TestApp) {
    let vk = app.logged_in("verloskundige").await;
    let id0 = find(app, &vk, ALL_THREE).await;
    grant(app, &vk, &id0, "behandelrelatie", "").await;
    assert!(granted(&view(app, &vk, &id0).await));
    let gyn = app.logged_in("gynaecoloog").await;
    find(app, &gyn, ALL_THREE).await;
    grant(
        app,
        &gyn,
        &id0,
        "spoed",
        "acute verwijzing tijdens de bevalling",
    )
    .await;
    assert!(granted(&view(app, &gyn, &id0).await));
    let ogv = app.logged_in("ogverpleegkundige").await;
    let id2 = find(app, &ogv, WIEG_ZH).await;
    grant(app, &ogv, &id2, "waarneming", "").await;
    assert!(granted(&view(app, &ogv, &id2).await));
    let kraam = app.logged_in("kraamverzorgende").await;
    find(app, &kraam, NOT_ZH).await;
}
