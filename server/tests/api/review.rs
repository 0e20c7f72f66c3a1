//! The privacy officer's review of the access log (DESIGN flow 7, sections 3 and 7) through the
//! real router, on SQLite and PostgreSQL: her scope, the logging of every reading, filters and
//! keyset pages, flags and reviews, revoking grants, the client overview and the CSV export.
//!
//! The demo network: `vp-de-wieg` (source `de-wieg-epd`), `zh-rivierenland` (source
//! `rivierenland-epd`, officer `privacy`) and `kz-kraamhoek` (source `kraamhoek-app`). Demo
//! client `i` is shared by all three when `i % 3 == 0`, by De Wieg and De Kraamhoek when
//! `i % 3 == 1`, and by De Wieg and Rivierenland when `i % 3 == 2`.

use crate::helpers::{
    client, client_from, spawn_app_with, valid_bsn_not_in_demo, Backend, TestApp, PASSWORD,
};
use crate::source_api::{fixture, rivier_token, valid_share, wieg_token};
use backend::on_both_backends;
use backend::store::AuditRow;
use backend::{accounts, clock, Settings};
use domain::grant::Ground;
use domain::{Category, FlagRules};
use secrecy::SecretString;
use serde_json::{json, Value};
use server::demo;
use std::collections::{BTreeSet, HashMap, HashSet};

const ZH_NAME: &str = "Ziekenhuis Rivierenland, Verloskunde";
const WIEG_NAME: &str = "Verloskundigenpraktijk De Wieg";
const KZ_NAME: &str = "Kraamzorg De Kraamhoek";

/// Demo client shared by all three organisations.
const ALL_THREE: usize = 0;
/// Demo client shared by De Wieg and De Kraamhoek, not by Rivierenland.
const NOT_ZH: usize = 1;
/// Demo client shared by De Wieg and Rivierenland.
const WIEG_ZH: usize = 2;
/// Another demo client not shared by Rivierenland.
const NOT_ZH_2: usize = 4;

/// No guessed client id exists.
const NO_CLIENT: &str = "00000000000000000000000000000000";

/// 101 characters: longer than a user name or organisation code may be.
const LONG: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// The CSV columns (DESIGN section 7, without the hashes).
const CSV_HEADER: &str = "id,occurred_at,action,outcome,user_id,user_name,user_role,organisation_id,on_behalf_of,client_id,bsn,source_id,ground,grant_id,detail,ip,user_agent,request_id";

/// The actions a client overview lists.
/// What the client overview lists (refused page visits and the officers' own log reviews are
/// left out).
const OVERVIEW_ACTIONS: &[&str] = &[
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
fn day_rules() -> FlagRules {
    FlagRules {
        night_starts: 0,
        night_ends: 0,
        ..FlagRules::default()
    }
}

async fn spawn(backend: Backend, rules: FlagRules) -> TestApp {
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
async fn spawn_with_keys(backend: Backend, rules: FlagRules) -> (TestApp, tempfile::TempDir) {
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
async fn add_officer(app: &TestApp, organisation: &str, username: &str) -> reqwest::Client {
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
fn demo_client(i: usize) -> (String, String) {
    let (bsn, _, birth) = &demo::demo_clients()[i];
    (bsn.as_ref().to_owned(), birth.to_string())
}

fn demo_name(i: usize) -> &'static str {
    demo::demo_clients()[i].1
}

fn today() -> time::Date {
    clock::today()
}

// ----- a professional's side -----

async fn search(app: &TestApp, c: &reqwest::Client, bsn: &str, birth: &str) -> Value {
    let r = app
        .call(c, "search", &[("bsn", bsn), ("birth_date", birth)])
        .await;
    assert_eq!(r.status(), 200, "search");
    r.json().await.unwrap()
}

/// Searches demo client `i` and returns her opaque id.
async fn find(app: &TestApp, c: &reqwest::Client, i: usize) -> String {
    let (bsn, birth) = demo_client(i);
    let found = search(app, c, &bsn, &birth).await;
    found["found"]["client_id"]
        .as_str()
        .unwrap_or_else(|| panic!("demo client {i} found: {found}"))
        .to_owned()
}

async fn grant(app: &TestApp, c: &reqwest::Client, client_id: &str, ground: &str, reason: &str) {
    let r = app.request_access(c, client_id, ground, reason).await;
    assert!(r.status().is_success(), "access request: {}", r.status());
}

/// The client page as JSON (`{"Granted": ...}` or `"NoAccess"`).
async fn view(app: &TestApp, c: &reqwest::Client, client_id: &str) -> Value {
    let r = app.call(c, "client", &[("client_id", client_id)]).await;
    assert_eq!(r.status(), 200, "client page");
    r.json().await.unwrap()
}

fn granted(page: &Value) -> bool {
    page.get("Granted").is_some()
}

// ----- the officer's side -----

async fn audit_page_response(
    app: &TestApp,
    c: &reqwest::Client,
    before: Option<&str>,
) -> reqwest::Response {
    let form: Vec<(&str, &str)> = before.map(|b| vec![("before", b)]).unwrap_or_default();
    app.call(c, "audit_page", &form).await
}

async fn audit_page(app: &TestApp, c: &reqwest::Client, before: Option<&str>) -> Value {
    let r = audit_page_response(app, c, before).await;
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, 200, "audit_page: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Every event of the officer's current list, following `next` to the last page.
async fn walk(app: &TestApp, c: &reqwest::Client) -> Vec<Value> {
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

fn ids(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

async fn visible(app: &TestApp, c: &reqwest::Client) -> HashSet<i64> {
    ids(&walk(app, c).await).into_iter().collect()
}

/// Sets the kept filters; fields not named are empty, `flagged` is sent only when named.
async fn set_filter(
    app: &TestApp,
    c: &reqwest::Client,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let value = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, v)| *v)
            .unwrap_or("")
    };
    let mut form: Vec<(&str, &str)> = [
        "from",
        "until",
        "bsn",
        "user",
        "organisation",
        "action",
        "ground",
    ]
    .iter()
    .map(|k| (*k, value(k)))
    .collect();
    if let Some(flagged) = fields.iter().find(|(f, _)| *f == "flagged") {
        form.push(*flagged);
    }
    app.call(c, "audit_filter", &form).await
}

async fn filter_ok(app: &TestApp, c: &reqwest::Client, fields: &[(&str, &str)]) {
    let r = set_filter(app, c, fields).await;
    let status = r.status();
    assert!(
        status.is_success(),
        "filter {fields:?}: {status} {}",
        r.text().await.unwrap()
    );
}

async fn clear_filter(app: &TestApp, c: &reqwest::Client) {
    let r = app.call(c, "audit_filter_clear", &[]).await;
    assert!(r.status().is_success());
}

/// The fields of a 422 answer.
async fn fields_of(r: reqwest::Response) -> BTreeSet<String> {
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    body["Validation"]["field_errors"]
        .as_array()
        .unwrap_or_else(|| panic!("field errors in {body}"))
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect()
}

fn set(fields: &[&str]) -> BTreeSet<String> {
    fields.iter().map(|f| (*f).to_owned()).collect()
}

async fn review(
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

async fn revoke(
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

async fn export(app: &TestApp, c: &reqwest::Client, user_agent: &str) -> reqwest::Response {
    c.get(app.url("/audit/export.csv"))
        .header("user-agent", user_agent)
        .send()
        .await
        .unwrap()
}

/// The newest event matching `pred`.
async fn last_where(app: &TestApp, pred: impl Fn(&AuditRow) -> bool) -> AuditRow {
    app.audit_events()
        .await
        .into_iter()
        .rev()
        .find(|e| pred(e))
        .expect("a matching event")
}

/// The newest event of `action` by `user` (any user when `None`).
async fn last_event(app: &TestApp, action: &str, user: Option<&str>) -> AuditRow {
    last_where(app, |e| {
        e.action == action && user.is_none_or(|u| e.user_name.as_deref() == Some(u))
    })
    .await
}

fn detail(e: &AuditRow) -> Value {
    serde_json::from_str(&e.detail).unwrap()
}

/// The flag keys of an event view.
fn flag_keys(event: &Value) -> Vec<String> {
    event["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["flag"].as_str().unwrap().to_owned())
        .collect()
}

fn by_id(events: &[Value]) -> HashMap<i64, Value> {
    events
        .iter()
        .map(|e| (e["id"].as_i64().unwrap(), e.clone()))
        .collect()
}

// ===================================================================================== tests

on_both_backends!(
    scope_own_users_yes_other_organisations_logins_no,
    scope_reads_showing_her_sources_whole_and_her_sources_api_calls,
    scope_searches_for_bsns_her_sources_shared,
    scope_events_without_organisation_for_every_officer_also_a_later_one,
    only_privacy_officers_read_or_export_the_log,
    every_page_read_writes_one_log_read_before_the_rows_are_read,
    filters_narrow_by_client_user_action_ground_organisation_and_period,
    invalid_filters_answer_422_with_their_fields_and_keep_the_old_filter,
    keyset_pages_are_newest_first_without_duplicates_and_stable_under_writes,
    flags_spoed_denied_and_fresh_grants_of_other_organisations_but_not_a_normal_day,
    out_of_hours_flags_access_inside_the_night_window,
    bulk_flags_above_the_threshold_not_at_it,
    reviewing_a_flag_takes_it_off_the_flagged_list_per_organisation,
    the_officer_revokes_a_grant_of_her_organisations_user,
    the_client_overview_lists_every_event_about_her_network_wide,
    the_client_overview_needs_a_client_her_organisation_shares_or_treats,
    the_csv_export_follows_the_filter_and_round_trips_every_column,
    events_without_organisation_reach_organisations_added_meanwhile,
    concurrent_reviews_and_revocations_take_effect_once,
);

// ----- 1. scope -----

async fn scope_own_users_yes_other_organisations_logins_no(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    app.logged_in("gynaecoloog").await;
    app.logged_in("verloskundige").await;
    let gyn_login = last_event(&app, "login", Some("gynaecoloog")).await.id;
    let vk_login = last_event(&app, "login", Some("verloskundige")).await.id;
    // A failed login of a known user belongs to her organisation's log.
    assert_eq!(
        app.login_as(&client(), "gynaecoloog", "fout-wachtwoord")
            .await
            .status(),
        401
    );
    let gyn_failed = last_event(&app, "login_failed", Some("gynaecoloog")).await;
    assert_eq!(
        gyn_failed.organisation_id.as_deref(),
        Some("zh-rivierenland")
    );
    let wieg_added = last_event(&app, "user_added", None).await.id;

    let zh_list = walk(&app, &zh).await;
    let zh_sees: HashSet<i64> = ids(&zh_list).into_iter().collect();
    let wieg_sees = visible(&app, &wieg).await;
    assert!(zh_sees.contains(&gyn_login), "her own user's login");
    assert!(
        zh_sees.contains(&gyn_failed.id),
        "her own user's failed login"
    );
    assert!(!zh_sees.contains(&vk_login), "another organisation's login");
    assert!(
        !zh_sees.contains(&wieg_added),
        "another organisation's administration"
    );
    assert!(wieg_sees.contains(&vk_login));
    assert!(wieg_sees.contains(&wieg_added));
    assert!(!wieg_sees.contains(&gyn_login));
    assert!(!wieg_sees.contains(&gyn_failed.id));
    // Every login on her list is one of her organisation's users.
    let logins: Vec<&Value> = zh_list.iter().filter(|e| e["action"] == "login").collect();
    assert!(!logins.is_empty());
    for e in logins {
        assert_eq!(e["organisation"], ZH_NAME, "{e}");
    }
}

async fn scope_reads_showing_her_sources_whole_and_her_sources_api_calls(backend: Backend) {
    let (app, _dir) = spawn_with_keys(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let kraam = app.logged_in("kraamverzorgende").await;
    // A Kraamhoek user reads a client all three share: Rivierenland's data is part of the view.
    let shared = find(&app, &kraam, ALL_THREE).await;
    grant(&app, &kraam, &shared, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &kraam, &shared).await));
    let read_all = last_event(&app, "read", Some("kraamverzorgende")).await;
    let sources: Vec<String> =
        serde_json::from_value(detail(&read_all)["sources"].clone()).unwrap();
    assert!(
        sources.contains(&"rivierenland-epd".to_owned()),
        "{sources:?}"
    );
    assert!(
        sources.len() > 1,
        "other sources were part of the read: {sources:?}"
    );
    // She reads a client Rivierenland does not share: no Rivierenland data shown.
    let other = find(&app, &kraam, NOT_ZH).await;
    grant(&app, &kraam, &other, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &kraam, &other).await));
    let read_other = last_event(&app, "read", Some("kraamverzorgende")).await;
    let sources: Vec<String> =
        serde_json::from_value(detail(&read_other)["sources"].clone()).unwrap();
    assert!(!sources.is_empty());
    assert!(
        !sources.contains(&"rivierenland-epd".to_owned()),
        "{sources:?}"
    );

    // Source API calls: Rivierenland's share, De Wieg's share and withdrawal.
    let bsn_r = "111222333";
    let bsn_w = valid_bsn_not_in_demo();
    assert_ne!(bsn_r, bsn_w);
    assert_eq!(
        app.put_share(&rivier_token(), bsn_r, &valid_share(2))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put_share(&wieg_token(), &bsn_w, &valid_share(2))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put_consent(&wieg_token(), &bsn_w, "withdrawn")
            .await
            .status(),
        200
    );
    let r_share = last_where(&app, |e| {
        e.action == "share_received" && e.bsn.as_deref() == Some(bsn_r)
    })
    .await;
    assert_eq!(r_share.source_id.as_deref(), Some("rivierenland-epd"));
    let w_share = last_where(&app, |e| {
        e.action == "share_received" && e.bsn.as_deref() == Some(bsn_w.as_str())
    })
    .await;
    let w_withdrawn = last_event(&app, "consent_withdrawn", None).await;

    let zh_list = walk(&app, &zh).await;
    let zh_sees: HashSet<i64> = ids(&zh_list).into_iter().collect();
    let wieg_sees = visible(&app, &wieg).await;
    assert!(
        zh_sees.contains(&read_all.id),
        "a read that showed her organisation's data is hers, whoever read it"
    );
    // ... as a whole: the row names every source shown, not just hers.
    let row = zh_list.iter().find(|e| e["id"] == read_all.id).unwrap();
    for source in ["de-wieg-epd", "rivierenland-epd"] {
        assert!(row["detail"].as_str().unwrap().contains(source), "{row}");
    }
    assert_eq!(row["user_name"], "kraamverzorgende");
    assert!(
        !zh_sees.contains(&read_other.id),
        "a read showing only other organisations' data is not hers"
    );
    assert!(wieg_sees.contains(&read_all.id) && wieg_sees.contains(&read_other.id));
    assert!(zh_sees.contains(&r_share.id), "her source's share_received");
    assert!(
        !zh_sees.contains(&w_share.id),
        "another source's share_received"
    );
    assert!(
        !zh_sees.contains(&w_withdrawn.id),
        "another source's withdrawal"
    );
    assert!(wieg_sees.contains(&w_share.id) && wieg_sees.contains(&w_withdrawn.id));
    assert!(!wieg_sees.contains(&r_share.id));
    // The demo seed's shares as well: exactly her source's share_received events.
    let all = app.audit_events().await;
    let hers: BTreeSet<i64> = all
        .iter()
        .filter(|e| {
            e.action == "share_received" && e.source_id.as_deref() == Some("rivierenland-epd")
        })
        .map(|e| e.id)
        .collect();
    let listed: BTreeSet<i64> = zh_list
        .iter()
        .filter(|e| e["action"] == "share_received")
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, hers);
}

async fn scope_searches_for_bsns_her_sources_shared(backend: Backend) {
    let (app, _dir) = spawn_with_keys(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let vk = app.logged_in("verloskundige").await;
    let kraam = app.logged_in("kraamverzorgende").await;
    let searched = |user: &'static str| {
        let app = &app;
        async move { last_event(app, "search", Some(user)).await.id }
    };
    // A De Wieg user searches a BSN Rivierenland shares (found, and with a wrong birth date).
    let (bsn0, birth0) = demo_client(ALL_THREE);
    search(&app, &vk, &bsn0, &birth0).await;
    let shared_found = searched("verloskundige").await;
    let miss = search(&app, &vk, &bsn0, "1970-01-01").await;
    assert_eq!(miss["found"], Value::Null);
    let shared_miss = searched("verloskundige").await;
    // ... a BSN only others share, and an unknown BSN.
    let (bsn1, birth1) = demo_client(NOT_ZH);
    search(&app, &vk, &bsn1, &birth1).await;
    let others_only = searched("verloskundige").await;
    search(&app, &vk, &valid_bsn_not_in_demo(), "1990-01-01").await;
    let unknown = searched("verloskundige").await;
    // A Kraamhoek user searches a BSN De Wieg shares (not Rivierenland).
    search(&app, &kraam, &bsn1, &birth1).await;
    let kz_for_wieg = searched("kraamverzorgende").await;
    // A BSN Rivierenland shared, after it withdrew: still a BSN her source shared.
    let (bsn2, birth2) = demo_client(WIEG_ZH);
    assert_eq!(
        app.put_consent(&rivier_token(), &bsn2, "withdrawn")
            .await
            .status(),
        200
    );
    search(&app, &kraam, &bsn2, &birth2).await;
    let after_withdrawal = searched("kraamverzorgende").await;

    let zh_sees = visible(&app, &zh).await;
    let wieg_sees = visible(&app, &wieg).await;
    assert!(
        zh_sees.contains(&shared_found),
        "search for a BSN her source shares"
    );
    assert!(
        zh_sees.contains(&shared_miss),
        "a search for her source's BSN with a wrong birth date is still about that BSN"
    );
    assert!(!zh_sees.contains(&others_only), "a BSN only others share");
    assert!(!zh_sees.contains(&unknown), "an unknown BSN");
    assert!(!zh_sees.contains(&kz_for_wieg));
    assert!(
        zh_sees.contains(&after_withdrawal),
        "a BSN her source shared before the withdrawal"
    );
    // De Wieg shares all of them except the unknown BSN; its own user's searches are hers anyway.
    for id in [
        shared_found,
        shared_miss,
        others_only,
        unknown,
        kz_for_wieg,
        after_withdrawal,
    ] {
        assert!(wieg_sees.contains(&id), "event {id} for De Wieg");
    }
}

async fn scope_events_without_organisation_for_every_officer_also_a_later_one(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    app.logged_in("gynaecoloog").await;
    let gyn_login = last_event(&app, "login", Some("gynaecoloog")).await.id;
    assert_eq!(
        app.login_as(&client(), "niemand-bekend", "geraden")
            .await
            .status(),
        401
    );
    let failed = last_event(&app, "login_failed", Some("niemand-bekend")).await;
    assert!(failed.organisation_id.is_none() && failed.user_id.is_none());
    assert!(visible(&app, &zh).await.contains(&failed.id));
    assert!(visible(&app, &wieg).await.contains(&failed.id));
    // An organisation added after the event: its officer sees the event too.
    accounts::add_organisation(
        &app.store,
        "ec-zicht",
        "Echocentrum Het Zicht",
        "echocentrum",
    )
    .await
    .unwrap();
    let echo = add_officer(&app, "ec-zicht", "privacy-zicht").await;
    // From another workstation: the first failure of its address this minute has its own event
    // (a second one from the same address would only be counted for the minute's summary).
    assert_eq!(
        app.login_as(&client_from(2), "nog-een-onbekende", "geraden")
            .await
            .status(),
        401
    );
    let failed_later = last_event(&app, "login_failed", Some("nog-een-onbekende")).await;
    let echo_list = walk(&app, &echo).await;
    let echo_sees: HashSet<i64> = ids(&echo_list).into_iter().collect();
    assert!(
        echo_sees.contains(&failed.id),
        "an event without organisation written before her organisation existed"
    );
    assert!(echo_sees.contains(&failed_later.id));
    assert!(
        !echo_sees.contains(&gyn_login),
        "another organisation's user"
    );
    for e in &echo_list {
        assert!(
            e["organisation"].is_null() || e["organisation"] == "Echocentrum Het Zicht",
            "only her organisation's events and events without one: {e}"
        );
    }
    for officer in [&zh, &wieg] {
        assert!(visible(&app, officer).await.contains(&failed_later.id));
    }
}

async fn only_privacy_officers_read_or_export_the_log(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    for username in ["verloskundige", "beheer"] {
        let c = app.logged_in(username).await;
        assert_eq!(
            audit_page_response(&app, &c, None).await.status(),
            403,
            "{username}"
        );
        assert_eq!(
            export(&app, &c, "test").await.status(),
            403,
            "{username} export"
        );
        assert_eq!(
            set_filter(&app, &c, &[]).await.status(),
            403,
            "{username} filter"
        );
        assert_eq!(
            review(&app, &c, 1, "notitie").await.status(),
            403,
            "{username} review"
        );
        assert_eq!(
            revoke(&app, &c, "x", "reden").await.status(),
            403,
            "{username} revoke"
        );
        let (bsn, _) = demo_client(ALL_THREE);
        let r = app
            .call(
                &c,
                "audit_overview_request",
                &[("bsn", &bsn), ("from", ""), ("until", "")],
            )
            .await;
        assert_eq!(r.status(), 403, "{username} overview request");
        assert_eq!(app.call(&c, "audit_overview", &[]).await.status(), 403);
    }
    let anonymous = client();
    assert_eq!(
        audit_page_response(&app, &anonymous, None).await.status(),
        401
    );
    assert_eq!(export(&app, &anonymous, "test").await.status(), 401);
    assert_eq!(set_filter(&app, &anonymous, &[]).await.status(), 401);
    let events = app.audit_events().await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.action.as_str(), "log_read" | "export" | "client_overview")),
        "refused callers read nothing"
    );
}

// ----- 2. reading the log is logged -----

async fn every_page_read_writes_one_log_read_before_the_rows_are_read(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let log_reads = |events: &[AuditRow]| events.iter().filter(|e| e.action == "log_read").count();
    let mut expected = log_reads(&app.audit_events().await);
    for _ in 0..3 {
        let page = audit_page(&app, &zh, None).await;
        expected += 1;
        let events = app.audit_events().await;
        assert_eq!(
            log_reads(&events),
            expected,
            "exactly one log_read per page"
        );
        let logged = events
            .iter()
            .rev()
            .find(|e| e.action == "log_read")
            .unwrap();
        assert_eq!(logged.user_name.as_deref(), Some("privacy"));
        assert_eq!(logged.user_role.as_deref(), Some("privacy_officer"));
        assert_eq!(logged.organisation_id.as_deref(), Some("zh-rivierenland"));
        assert_eq!(logged.outcome, "success");
        assert_eq!(logged.bsn, None);
        assert_eq!(
            page["events"][0]["id"].as_i64(),
            Some(logged.id),
            "the page shows its own log_read: it was written before the rows were read"
        );
        // Shown in Europe/Amsterdam: UTC+1 in winter, UTC+2 in summer, never UTC.
        let shown = page["events"][0]["at"].as_str().unwrap();
        let utc =
            time::OffsetDateTime::from_unix_timestamp_nanos(logged.occurred_at as i128 * 1_000_000)
                .unwrap();
        let format =
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let candidates: Vec<String> = [1, 2]
            .iter()
            .map(|h| (utc + time::Duration::hours(*h)).format(&format).unwrap())
            .collect();
        assert!(
            candidates.iter().any(|c| c == shown),
            "{shown} not in {candidates:?}"
        );
    }
    // With a client filter: the BSN in its column, the other filters in the detail.
    let (bsn, _) = demo_client(ALL_THREE);
    let from = today().to_string();
    filter_ok(
        &app,
        &zh,
        &[
            ("bsn", &bsn),
            ("user", "Verloskundige"),
            ("action", "read"),
            ("ground", "behandelrelatie"),
            ("organisation", "vp-de-wieg"),
            ("from", &from),
            ("flagged", "on"),
        ],
    )
    .await;
    audit_page(&app, &zh, None).await;
    let events = app.audit_events().await;
    assert_eq!(log_reads(&events), expected + 1);
    let logged = events
        .iter()
        .rev()
        .find(|e| e.action == "log_read")
        .unwrap();
    assert_eq!(logged.bsn.as_deref(), Some(bsn.as_str()));
    let filters = &detail(logged)["filters"];
    assert_eq!(filters["user"], "verloskundige");
    assert_eq!(filters["action"], "read");
    assert_eq!(filters["ground"], "behandelrelatie");
    assert_eq!(filters["organisation"], "vp-de-wieg");
    assert_eq!(filters["flagged_only"], true);
    assert_eq!(filters["client"], true);
    assert_eq!(filters["from"], json!(clock::start_of_local_day(today())));
    assert_eq!(filters["until"], Value::Null);
    assert!(!logged.detail.contains(&bsn), "the BSN only in its column");
    // A refused page reads nothing.
    let r = audit_page_response(&app, &zh, Some("geen-positie")).await;
    assert_eq!(fields_of(r).await, set(&["before"]));
}

// ----- 3. filters and pages -----

/// Professionals of all three organisations at work on three demo clients.
async fn a_working_day(app: &TestApp) {
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

async fn filters_narrow_by_client_user_action_ground_organisation_and_period(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    a_working_day(&app).await;
    let zh = app.logged_in("privacy").await;
    let all = walk(&app, &zh).await;
    let (bsn0, _) = demo_client(ALL_THREE);
    let expect = |pred: &dyn Fn(&Value) -> bool| -> BTreeSet<i64> {
        all.iter()
            .filter(|e| e["action"] != "log_read" && pred(e))
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    let without_log_reads = |events: &[Value]| -> BTreeSet<i64> {
        events
            .iter()
            .filter(|e| e["action"] != "log_read")
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };

    // By client.
    filter_ok(&app, &zh, &[("bsn", &bsn0)]).await;
    let listed = walk(&app, &zh).await;
    for e in &listed {
        assert_eq!(e["bsn"], bsn0.as_str(), "{e}");
    }
    let wanted = expect(&|e| e["bsn"] == bsn0.as_str());
    assert!(wanted.len() >= 5, "{wanted:?}");
    assert_eq!(without_log_reads(&listed), wanted, "by client");

    // By user (the login name, in any case).
    filter_ok(&app, &zh, &[("user", "GynaecoloOG")]).await;
    let listed = walk(&app, &zh).await;
    for e in &listed {
        assert_eq!(e["user_name"], "gynaecoloog", "{e}");
    }
    let wanted = expect(&|e| e["user_name"] == "gynaecoloog");
    assert!(wanted.len() >= 4);
    assert_eq!(without_log_reads(&listed), wanted, "by user");

    // By action.
    filter_ok(&app, &zh, &[("action", "read")]).await;
    let listed = walk(&app, &zh).await;
    for e in &listed {
        assert_eq!(e["action"], "read", "{e}");
    }
    let wanted = expect(&|e| e["action"] == "read");
    assert_eq!(
        wanted.len(),
        3,
        "three reads showed Rivierenland's data or were by its users"
    );
    assert_eq!(without_log_reads(&listed), wanted, "by action");

    // By ground.
    filter_ok(&app, &zh, &[("ground", "spoed")]).await;
    let listed = walk(&app, &zh).await;
    for e in &listed {
        assert_eq!(e["ground"], "spoed", "{e}");
    }
    let wanted = expect(&|e| e["ground"] == "spoed");
    assert_eq!(wanted.len(), 2, "the spoed request and the view under it");
    assert_eq!(without_log_reads(&listed), wanted, "by ground");

    // By organisation.
    filter_ok(&app, &zh, &[("organisation", "vp-de-wieg")]).await;
    let listed = walk(&app, &zh).await;
    for e in &listed {
        assert_eq!(e["organisation"], WIEG_NAME, "{e}");
    }
    let wanted = expect(&|e| e["organisation"] == WIEG_NAME);
    assert!(!wanted.is_empty());
    assert_eq!(without_log_reads(&listed), wanted, "by organisation");

    // Combined: the reads of one client.
    filter_ok(&app, &zh, &[("bsn", &bsn0), ("action", "read")]).await;
    let listed = walk(&app, &zh).await;
    let wanted = expect(&|e| e["bsn"] == bsn0.as_str() && e["action"] == "read");
    assert_eq!(wanted.len(), 2);
    assert_eq!(without_log_reads(&listed), wanted, "client and action");

    // By period (local days, inclusive).
    let (today, yesterday) = (today(), today().previous_day().unwrap());
    filter_ok(
        &app,
        &zh,
        &[
            ("from", &yesterday.to_string()),
            ("until", &yesterday.to_string()),
        ],
    )
    .await;
    let page = audit_page(&app, &zh, None).await;
    assert_eq!(page["events"], json!([]), "nothing happened yesterday");
    assert_eq!(page["next"], Value::Null);
    let year_ago = today.replace_year(today.year() - 1).unwrap();
    filter_ok(
        &app,
        &zh,
        &[
            ("from", &year_ago.to_string()),
            ("until", &yesterday.to_string()),
        ],
    )
    .await;
    assert!(
        walk(&app, &zh).await.is_empty(),
        "a period ending yesterday"
    );
    filter_ok(
        &app,
        &zh,
        &[("from", &today.to_string()), ("until", &today.to_string())],
    )
    .await;
    let listed = walk(&app, &zh).await;
    assert_eq!(
        without_log_reads(&listed),
        expect(&|_| true),
        "today is everything"
    );
    filter_ok(
        &app,
        &zh,
        &[("from", &today.next_day().unwrap().to_string())],
    )
    .await;
    assert!(walk(&app, &zh).await.is_empty(), "from tomorrow");
    // The page echoes the kept filter.
    let page = audit_page(&app, &zh, None).await;
    assert_eq!(
        page["filter"]["from"],
        today.next_day().unwrap().to_string()
    );
    clear_filter(&app, &zh).await;
    let page = audit_page(&app, &zh, None).await;
    assert_eq!(page["filter"]["from"], "");
    assert!(!page["events"].as_array().unwrap().is_empty());
}

async fn invalid_filters_answer_422_with_their_fields_and_keep_the_old_filter(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    a_working_day(&app).await;
    let zh = app.logged_in("privacy").await;
    let (bsn0, _) = demo_client(ALL_THREE);
    filter_ok(&app, &zh, &[("bsn", &bsn0), ("action", "read")]).await;
    let kept = audit_page(&app, &zh, None).await["filter"].clone();
    assert_eq!(kept["bsn"], bsn0.as_str());
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (vec![("bsn", "123456789")], vec!["bsn"]),
        (vec![("bsn", "12345")], vec!["bsn"]),
        (
            vec![("from", "2026-05-02"), ("until", "2026-05-01")],
            vec!["until"],
        ),
        (vec![("action", "stelen")], vec!["action"]),
        (vec![("user", LONG)], vec!["user"]),
        (vec![("organisation", LONG)], vec!["organisation"]),
        (vec![("ground", "nieuwsgierig")], vec!["ground"]),
        (vec![("from", "2026-02-30")], vec!["from"]),
        (vec![("until", "01-05-2026")], vec!["until"]),
        (
            vec![
                ("bsn", "1"),
                ("action", "x"),
                ("ground", "y"),
                ("from", "gisteren"),
                ("until", "morgen"),
            ],
            vec!["bsn", "action", "ground", "from", "until"],
        ),
    ];
    for (fields, expected) in cases {
        let r = set_filter(&app, &zh, &fields).await;
        assert_eq!(fields_of(r).await, set(&expected), "{fields:?}");
        let page = audit_page(&app, &zh, None).await;
        assert_eq!(
            page["filter"], kept,
            "the kept filter is unchanged after {fields:?}"
        );
        for e in page["events"].as_array().unwrap() {
            assert_eq!(e["bsn"], bsn0.as_str());
            assert_eq!(e["action"], "read");
        }
    }
}

#[derive(Clone, Copy)]
enum Write {
    /// A search for demo client 0.
    Search,
    /// A guessed client id: a (flagged) access_denied.
    Denied,
}

async fn write(app: &TestApp, c: &reqwest::Client, what: Write, n: usize) {
    let (bsn, birth) = demo_client(ALL_THREE);
    for _ in 0..n {
        match what {
            Write::Search => {
                search(app, c, &bsn, &birth).await;
            }
            Write::Denied => {
                assert!(!granted(&view(app, c, NO_CLIENT).await));
            }
        }
    }
}

/// Walks the officer's current list while new events are written between pages, then walks
/// it again: the first walk is newest first without duplicates, and equals the second walk up
/// to where it started (nothing shifted, nothing skipped).
async fn walk_while_writing(
    app: &TestApp,
    officer: &reqwest::Client,
    writer: &reqwest::Client,
    what: Write,
) {
    let mut first = Vec::new();
    let mut ats = Vec::new();
    let mut before: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = audit_page(app, officer, before.as_deref()).await;
        let events = page["events"].as_array().unwrap().clone();
        pages += 1;
        first.extend(ids(&events));
        ats.extend(events.iter().map(|e| e["at"].as_str().unwrap().to_owned()));
        write(app, writer, what, 3).await;
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(events.len(), 50, "a full page before the next");
                before = Some(next.to_owned());
            }
            None => {
                assert!(events.len() <= 50);
                break;
            }
        }
    }
    assert!(pages >= 2, "more than one page");
    assert!(
        first.windows(2).all(|w| w[0] > w[1]),
        "newest first, no duplicates: {first:?}"
    );
    assert!(ats.windows(2).all(|w| w[0] >= w[1]), "times newest first");
    let second = ids(&walk(app, officer).await);
    let start = first[0];
    let second_up_to_start: Vec<i64> = second.into_iter().filter(|id| *id <= start).collect();
    assert_eq!(
        first, second_up_to_start,
        "the pages did not shift while new events came in"
    );
}

async fn keyset_pages_are_newest_first_without_duplicates_and_stable_under_writes(
    backend: Backend,
) {
    // Well over 50 searches of one BSN: without the repeated-search flag, only the refusals
    // are flagged.
    let rules = FlagRules {
        repeated_searches_per_hour: 0,
        ..day_rules()
    };
    let app = spawn(backend, rules).await;
    let zh = app.logged_in("privacy").await;
    let gyn = app.logged_in("gynaecoloog").await;
    write(&app, &gyn, Write::Search, 55).await;
    write(&app, &gyn, Write::Denied, 55).await;
    // Her organisation's scope.
    walk_while_writing(&app, &zh, &gyn, Write::Search).await;
    // One client's events.
    let (bsn0, _) = demo_client(ALL_THREE);
    filter_ok(&app, &zh, &[("bsn", &bsn0)]).await;
    walk_while_writing(&app, &zh, &gyn, Write::Search).await;
    // The unreviewed flags.
    filter_ok(&app, &zh, &[("flagged", "on")]).await;
    walk_while_writing(&app, &zh, &gyn, Write::Denied).await;
    for e in walk(&app, &zh).await {
        assert_eq!(flag_keys(&e), vec!["access_denied"]);
    }
}

// ----- 4. flags and reviews -----

async fn flags_spoed_denied_and_fresh_grants_of_other_organisations_but_not_a_normal_day(
    backend: Backend,
) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    // A normal day: De Wieg's midwife finds, requests and views a client De Wieg shares.
    let vk = app.logged_in("verloskundige").await;
    let id1 = find(&app, &vk, NOT_ZH).await;
    let vk_search = last_event(&app, "search", Some("verloskundige")).await.id;
    grant(&app, &vk, &id1, "behandelrelatie", "").await;
    let vk_request = last_event(&app, "access_request", Some("verloskundige"))
        .await
        .id;
    assert!(granted(&view(&app, &vk, &id1).await));
    let vk_read = last_event(&app, "read", Some("verloskundige")).await.id;
    // Spoed: the request and every view under it.
    let gyn = app.logged_in("gynaecoloog").await;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    let gyn_search = last_event(&app, "search", Some("gynaecoloog")).await.id;
    grant(&app, &gyn, &id0, "spoed", "acute verwijzing").await;
    let spoed_request = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .id;
    let mut spoed_reads = Vec::new();
    for _ in 0..2 {
        assert!(granted(&view(&app, &gyn, &id0).await));
        spoed_reads.push(last_event(&app, "read", Some("gynaecoloog")).await.id);
    }
    // A fresh grant of a user whose organisation does not share the client.
    assert_eq!(find(&app, &gyn, NOT_ZH).await, id1);
    grant(&app, &gyn, &id1, "verwijzing", "").await;
    let fresh_request = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .id;
    assert!(granted(&view(&app, &gyn, &id1).await));
    let fresh_read = last_event(&app, "read", Some("gynaecoloog")).await.id;
    // Refused access.
    assert!(!granted(&view(&app, &gyn, NO_CLIENT).await));
    let denied = last_event(&app, "access_denied", Some("gynaecoloog"))
        .await
        .id;

    let zh_list = by_id(&walk(&app, &zh).await);
    let wieg_list = by_id(&walk(&app, &wieg).await);
    let flags_in = |list: &HashMap<i64, Value>, id: i64| -> Vec<String> {
        flag_keys(list.get(&id).unwrap_or_else(|| panic!("event {id} listed")))
    };
    for id in [vk_search, vk_request, vk_read] {
        assert!(
            flags_in(&wieg_list, id).is_empty(),
            "a normal day: event {id}"
        );
    }
    assert!(flags_in(&zh_list, gyn_search).is_empty());
    assert_eq!(flags_in(&zh_list, spoed_request), vec!["spoed"]);
    for id in &spoed_reads {
        assert_eq!(
            flags_in(&zh_list, *id),
            vec!["spoed"],
            "a view under a spoed grant"
        );
    }
    assert!(flags_in(&zh_list, fresh_request).is_empty());
    assert_eq!(
        flags_in(&zh_list, fresh_read),
        vec!["new_grant_other_organisation"]
    );
    assert_eq!(flags_in(&zh_list, denied), vec!["access_denied"]);
    let why = zh_list[&fresh_read]["flags"][0]["why"].as_str().unwrap();
    assert!(!why.is_empty());

    // Flagged only: exactly the unreviewed flagged events of each officer's scope.
    filter_ok(&app, &zh, &[("flagged", "on")]).await;
    let zh_flagged: BTreeSet<i64> = ids(&walk(&app, &zh).await).into_iter().collect();
    let mut expected: BTreeSet<i64> = [spoed_request, fresh_read, denied].into();
    expected.extend(&spoed_reads);
    assert_eq!(zh_flagged, expected);
    filter_ok(&app, &wieg, &[("flagged", "on")]).await;
    let wieg_flagged: BTreeSet<i64> = ids(&walk(&app, &wieg).await).into_iter().collect();
    // Reads that showed De Wieg's data are hers too; the request and the refusal are not.
    let mut expected: BTreeSet<i64> = [fresh_read].into();
    expected.extend(&spoed_reads);
    assert_eq!(wieg_flagged, expected);
}

async fn out_of_hours_flags_access_inside_the_night_window(backend: Backend) {
    let hour = clock::amsterdam(backend::store::now_ms()).hour();
    // A two-hour night around now (the hour may turn during the test).
    let rules = FlagRules {
        night_starts: hour,
        night_ends: (hour + 2) % 24,
        ..FlagRules::default()
    };
    let app = spawn(backend, rules).await;
    let zh = app.logged_in("privacy").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let login = last_event(&app, "login", Some("gynaecoloog")).await.id;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    let searched = last_event(&app, "search", Some("gynaecoloog")).await.id;
    grant(&app, &gyn, &id0, "behandelrelatie", "").await;
    let requested = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .id;
    assert!(granted(&view(&app, &gyn, &id0).await));
    let read = last_event(&app, "read", Some("gynaecoloog")).await.id;
    let list = by_id(&walk(&app, &zh).await);
    for id in [searched, requested, read] {
        assert_eq!(flag_keys(&list[&id]), vec!["out_of_hours"], "event {id}");
        let why = list[&id]["flags"][0]["why"].as_str().unwrap();
        assert!(why.contains("buiten werktijd"), "{why}");
    }
    assert!(
        flag_keys(&list[&login]).is_empty(),
        "a login is no access to a client"
    );
    for e in list.values().filter(|e| e["action"] == "log_read") {
        assert!(flag_keys(e).is_empty());
    }
}

async fn bulk_flags_above_the_threshold_not_at_it(backend: Backend) {
    let app = spawn(
        backend,
        FlagRules {
            bulk_clients_per_hour: 3,
            ..day_rules()
        },
    )
    .await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let vk = app.logged_in("verloskundige").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let mut searches = Vec::new();
    for i in [0, 1, 2, 3, 0] {
        let (bsn, birth) = demo_client(i);
        search(&app, &vk, &bsn, &birth).await;
        searches.push(last_event(&app, "search", Some("verloskundige")).await.id);
        // Another user's searches do not count for her.
        let (bsn, birth) = demo_client(5 + i);
        search(&app, &gyn, &bsn, &birth).await;
    }
    let gyn_last = last_event(&app, "search", Some("gynaecoloog")).await.id;
    let list = by_id(&walk(&app, &wieg).await);
    for (n, id) in searches.iter().take(3).enumerate() {
        assert!(
            flag_keys(&list[id]).is_empty(),
            "search {} of 3 distinct",
            n + 1
        );
    }
    assert_eq!(
        flag_keys(&list[&searches[3]]),
        vec!["bulk"],
        "the 4th distinct client"
    );
    let why = list[&searches[3]]["flags"][0]["why"].as_str().unwrap();
    assert!(why.contains('4'), "{why}");
    assert_eq!(
        flag_keys(&list[&searches[4]]),
        vec!["bulk"],
        "still 4 distinct clients within the hour"
    );
    // The gynaecologist's own count: clients 5, 6, 7, 8 and 5 again, so her last search is
    // bulk as well (De Wieg shares client 5, so the search is on this officer's list).
    assert!(list.contains_key(&gyn_last));
    assert_eq!(flag_keys(&list[&gyn_last]), vec!["bulk"]);
}

async fn reviewing_a_flag_takes_it_off_the_flagged_list_per_organisation(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    grant(&app, &gyn, &id0, "spoed", "acute verwijzing").await;
    let spoed_request = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .id;
    assert!(granted(&view(&app, &gyn, &id0).await));
    let spoed_read = last_event(&app, "read", Some("gynaecoloog")).await.id;
    assert!(!granted(&view(&app, &gyn, NO_CLIENT).await));
    let gyn_denied = last_event(&app, "access_denied", Some("gynaecoloog"))
        .await
        .id;
    let kraam = app.logged_in("kraamverzorgende").await;
    assert!(!granted(&view(&app, &kraam, NO_CLIENT).await));
    let kz_denied = last_event(&app, "access_denied", Some("kraamverzorgende"))
        .await
        .id;
    let gyn_login = last_event(&app, "login", Some("gynaecoloog")).await.id;

    filter_ok(&app, &zh, &[("flagged", "on")]).await;
    let flagged = walk(&app, &zh).await;
    let flagged_ids: BTreeSet<i64> = ids(&flagged).into_iter().collect();
    assert_eq!(flagged_ids, [spoed_request, spoed_read, gyn_denied].into());
    assert!(
        !flagged_ids.contains(&kz_denied),
        "another organisation's refusal"
    );
    for e in &flagged {
        assert!(!flag_keys(e).is_empty());
        assert_eq!(e["review"], Value::Null);
    }

    // Bad reviews change nothing.
    assert_eq!(
        fields_of(review(&app, &zh, gyn_denied, "   ").await).await,
        set(&["note"])
    );
    let too_long = "x".repeat(1001);
    assert_eq!(
        fields_of(review(&app, &zh, gyn_denied, &too_long).await).await,
        set(&["note"])
    );
    assert_eq!(
        review(&app, &zh, kz_denied, "niet van ons").await.status(),
        404
    );
    assert_eq!(
        review(&app, &zh, 999_999, "bestaat niet").await.status(),
        404
    );
    assert_eq!(
        fields_of(review(&app, &zh, gyn_login, "geen melding").await).await,
        set(&["event"])
    );
    let r = app
        .call(&zh, "audit_review", &[("event_id", "abc"), ("note", "x")])
        .await;
    assert_eq!(fields_of(r).await, set(&["event_id"]));
    assert!(!app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "flag_reviewed"));

    let note = "Link verkeerd aangeklikt; besproken met de gebruiker.";
    assert!(review(&app, &zh, gyn_denied, note)
        .await
        .status()
        .is_success());
    let logged = last_event(&app, "flag_reviewed", Some("privacy")).await;
    assert_eq!(logged.outcome, "success");
    assert_eq!(logged.organisation_id.as_deref(), Some("zh-rivierenland"));
    assert_eq!(detail(&logged)["event_id"], gyn_denied);
    assert_eq!(detail(&logged)["note"], note);
    let flagged_ids: BTreeSet<i64> = ids(&walk(&app, &zh).await).into_iter().collect();
    assert_eq!(
        flagged_ids,
        [spoed_request, spoed_read].into(),
        "reviewed: off the list"
    );
    assert_eq!(
        review(&app, &zh, gyn_denied, "nogmaals").await.status(),
        409
    );
    assert_eq!(
        app.audit_events()
            .await
            .iter()
            .filter(|e| e.action == "flag_reviewed")
            .count(),
        1
    );
    // The normal list shows the review beside the flag.
    clear_filter(&app, &zh).await;
    let list = by_id(&walk(&app, &zh).await);
    let row = &list[&gyn_denied];
    assert_eq!(flag_keys(row), vec!["access_denied"]);
    assert_eq!(row["review"]["by"], "Femke Mulder");
    assert_eq!(row["review"]["note"], note);
    assert!(!row["review"]["at"].as_str().unwrap().is_empty());
    assert!(
        list.contains_key(&logged.id),
        "the flag_reviewed event is on her list"
    );

    // A review is her organisation's: De Wieg's officer still has the spoed read to review.
    assert!(review(&app, &zh, spoed_read, "spoed terecht")
        .await
        .status()
        .is_success());
    filter_ok(&app, &wieg, &[("flagged", "on")]).await;
    let wieg_flagged = by_id(&walk(&app, &wieg).await);
    assert!(
        wieg_flagged.contains_key(&spoed_read),
        "not reviewed by De Wieg yet"
    );
    assert_eq!(wieg_flagged[&spoed_read]["review"], Value::Null);
    assert!(
        !wieg_flagged.contains_key(&gyn_denied),
        "not in De Wieg's scope"
    );
    assert_eq!(
        review(&app, &wieg, gyn_denied, "niet van ons")
            .await
            .status(),
        404
    );
    assert!(review(&app, &wieg, spoed_read, "gezien")
        .await
        .status()
        .is_success());
    assert!(ids(&walk(&app, &wieg).await).is_empty());
    app.assert_chain_intact().await;
}

// ----- 5. revoking -----

async fn the_officer_revokes_a_grant_of_her_organisations_user(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let wieg = add_officer(&app, "vp-de-wieg", "privacy-wieg").await;
    let gyn = app.logged_in("gynaecoloog").await;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    grant(&app, &gyn, &id0, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &gyn, &id0).await));
    let requested = last_event(&app, "access_request", Some("gynaecoloog")).await;
    let grant_id = requested
        .grant_id
        .clone()
        .expect("grant id in the access_request event");
    let (bsn0, _) = demo_client(ALL_THREE);
    let grants = audit_page(&app, &zh, None).await["grants"].clone();
    let listed = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == grant_id.as_str())
        .unwrap_or_else(|| panic!("grant listed for her: {grants}"));
    assert_eq!(listed["bsn"], bsn0.as_str());
    assert_eq!(listed["ground"], "behandelrelatie");
    assert_eq!(listed["user"], "Dr. Bram Jansen (gynaecoloog)");
    let wieg_grants = audit_page(&app, &wieg, None).await["grants"].clone();
    assert!(
        !wieg_grants
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == grant_id.as_str()),
        "not another organisation's grant"
    );

    // Another organisation's officer: as if there were no such grant; nothing changes.
    assert_eq!(revoke(&app, &wieg, &grant_id, "zomaar").await.status(), 404);
    assert!(granted(&view(&app, &gyn, &id0).await));
    // The reason is required.
    assert_eq!(
        fields_of(revoke(&app, &zh, &grant_id, "  ").await).await,
        set(&["reason"])
    );
    assert!(granted(&view(&app, &gyn, &id0).await));
    assert_eq!(
        revoke(&app, &zh, "geen-toegang-met-dit-id", "reden")
            .await
            .status(),
        404
    );
    assert!(!app
        .audit_events()
        .await
        .iter()
        .any(|e| e.action == "grant_revoked"));

    let reason = "Geen behandelrelatie vastgesteld";
    assert!(revoke(&app, &zh, &grant_id, reason)
        .await
        .status()
        .is_success());
    let revoked = last_event(&app, "grant_revoked", Some("privacy")).await;
    assert_eq!(revoked.grant_id.as_deref(), Some(grant_id.as_str()));
    assert_eq!(revoked.client_id.as_deref(), Some(id0.as_str()));
    assert_eq!(revoked.bsn.as_deref(), Some(bsn0.as_str()));
    assert_eq!(detail(&revoked)["reason"], reason);
    assert_eq!(
        detail(&revoked)["holder"].as_str(),
        requested.user_id.as_deref()
    );

    // The holder's next view is refused and logged as such.
    let page = view(&app, &gyn, &id0).await;
    assert!(!granted(&page), "{page}");
    assert!(
        !page.to_string().contains(demo_name(ALL_THREE)),
        "no data, not even the name"
    );
    let denied = app.audit_events().await.pop().unwrap();
    assert_eq!(denied.action, "access_denied");
    assert_eq!(denied.user_name.as_deref(), Some("gynaecoloog"));
    assert_eq!(detail(&denied)["reason"], "no_valid_grant");
    let grants = audit_page(&app, &zh, None).await["grants"].clone();
    assert!(!grants
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["id"] == grant_id.as_str()));
    // Twice: a conflict, nothing new.
    assert_eq!(revoke(&app, &zh, &grant_id, reason).await.status(), 409);
    assert_eq!(
        app.audit_events()
            .await
            .iter()
            .filter(|e| e.action == "grant_revoked")
            .count(),
        1
    );
    // The revocation is on her own list.
    assert!(visible(&app, &zh).await.contains(&revoked.id));
    // Another organisation's grant and no grant at all get the same answer.
    let other = revoke(&app, &wieg, &grant_id, "zomaar").await;
    let none = revoke(&app, &wieg, "bestaat-niet", "zomaar").await;
    assert_eq!(other.status(), 404);
    assert_eq!(none.status(), 404);
    assert_eq!(other.text().await.unwrap(), none.text().await.unwrap());
    // A grant its holder ended herself cannot be revoked any more.
    grant(&app, &gyn, &id0, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &gyn, &id0).await));
    let second = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .grant_id
        .unwrap();
    assert_ne!(second, grant_id);
    assert!(app
        .call(&gyn, "end_grant", &[("client_id", &id0)])
        .await
        .status()
        .is_success());
    assert_eq!(revoke(&app, &zh, &second, reason).await.status(), 409);
    assert_eq!(
        app.audit_events()
            .await
            .iter()
            .filter(|e| e.action == "grant_revoked")
            .count(),
        1
    );
}

// ----- 6. client overview -----

async fn overview(app: &TestApp, officer: &reqwest::Client, bsn: &str) -> reqwest::Response {
    let r = app
        .call(
            officer,
            "audit_overview_request",
            &[("bsn", bsn), ("from", ""), ("until", "")],
        )
        .await;
    // A refusal comes back at the request, beside the form.
    if !r.status().is_success() {
        return r;
    }
    app.call(officer, "audit_overview", &[]).await
}

fn what_of(e: &AuditRow) -> &'static str {
    match (e.action.as_str(), e.outcome.as_str()) {
        ("read", _) => "Gegevens ingezien",
        ("search", _) => "Gezocht op BSN en geboortedatum",
        ("access_request", "success") => "Toegang aangevraagd en gekregen",
        ("consent_withdrawn", _) => "Toestemming voor delen ingetrokken",
        ("consent_restored", _) => "Toestemming voor delen hersteld",
        ("client_overview", _) => "Overzicht voor cliënt gemaakt",
        other => panic!("unexpected event {other:?}"),
    }
}

async fn the_client_overview_lists_every_event_about_her_network_wide(backend: Backend) {
    let (app, _dir) = spawn_with_keys(backend, day_rules()).await;
    let (bsn0, _) = demo_client(ALL_THREE);
    let vk = app.logged_in("verloskundige").await;
    let id0 = find(&app, &vk, ALL_THREE).await;
    grant(&app, &vk, &id0, "behandelrelatie", "").await;
    assert!(granted(&view(&app, &vk, &id0).await));
    let kraam = app.logged_in("kraamverzorgende").await;
    find(&app, &kraam, ALL_THREE).await;
    grant(
        &app,
        &kraam,
        &id0,
        "spoed",
        "bevalling thuis, verloskundige onderweg",
    )
    .await;
    assert!(granted(&view(&app, &kraam, &id0).await));
    let gyn = app.logged_in("gynaecoloog").await;
    find(&app, &gyn, ALL_THREE).await;
    // Another client's events stay out.
    find(&app, &gyn, WIEG_ZH).await;
    assert_eq!(
        app.put_consent(&wieg_token(), &bsn0, "withdrawn")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.put_consent(&wieg_token(), &bsn0, "active")
            .await
            .status(),
        200
    );

    let zh = app.logged_in("privacy").await;
    let r = overview(&app, &zh, &bsn0).await;
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let ov: Value = serde_json::from_str(&body).unwrap();
    let logged = last_event(&app, "client_overview", Some("privacy")).await;
    assert_eq!(logged.outcome, "success");
    assert_eq!(logged.bsn.as_deref(), Some(bsn0.as_str()));
    assert_eq!(ov["bsn"], bsn0.as_str());
    assert_eq!(ov["generated_by"], "Femke Mulder");
    assert_eq!(ov["organisation"], ZH_NAME);
    assert_eq!(ov["truncated"], false);

    let expected: Vec<AuditRow> = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| {
            e.bsn.as_deref() == Some(bsn0.as_str())
                && OVERVIEW_ACTIONS.contains(&e.action.as_str())
                && e.id <= logged.id
        })
        .collect();
    let lines = ov["lines"].as_array().unwrap();
    let whats: Vec<&str> = lines.iter().map(|l| l["what"].as_str().unwrap()).collect();
    let expected_whats: Vec<&str> = expected.iter().map(what_of).collect();
    assert_eq!(whats, expected_whats, "every event about her, oldest first");
    let ats: Vec<&str> = lines.iter().map(|l| l["at"].as_str().unwrap()).collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "chronological: {ats:?}"
    );
    for (line, event) in lines.iter().zip(&expected) {
        let (organisation, role, name) = match event.organisation_id.as_deref() {
            Some("vp-de-wieg") if event.user_name.is_none() => (WIEG_NAME, "bronsysteem", ""),
            Some("vp-de-wieg") => (WIEG_NAME, "Verloskundige", "Anna de Vries"),
            Some("kz-kraamhoek") => (KZ_NAME, "Kraamverzorgende", "Dewi Visser"),
            Some("zh-rivierenland") if event.user_name.as_deref() == Some("privacy") => {
                (ZH_NAME, "Privacy officer", "Femke Mulder")
            }
            Some("zh-rivierenland") => (ZH_NAME, "Gynaecoloog", "Dr. Bram Jansen"),
            other => panic!("unexpected organisation {other:?}"),
        };
        assert_eq!(line["organisation"], organisation, "{line}");
        assert_eq!(line["role"], role, "{line}");
        assert_eq!(line["name"], name, "{line}");
        let ground = event
            .ground
            .as_deref()
            .map(|g| Ground::parse(g).unwrap().label())
            .unwrap_or("");
        assert_eq!(line["ground"], ground, "{line}");
        assert_eq!(
            line["emergency"],
            event.ground.as_deref() == Some("spoed"),
            "{line}"
        );
        if event.action == "read" {
            let categories: Vec<&str> = detail(event)["categories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| Category::parse(c.as_str().unwrap()).unwrap().label())
                .collect();
            assert!(!categories.is_empty());
            assert_eq!(
                line["categories"],
                categories.join(", "),
                "Dutch labels: {line}"
            );
        }
    }
    // The pieces the brief names, spelled out.
    let line = |what: &str, organisation: &str| {
        lines
            .iter()
            .find(|l| l["what"] == what && l["organisation"] == organisation)
            .unwrap_or_else(|| panic!("{what} by {organisation} in {lines:?}"))
    };
    assert_eq!(line("Gegevens ingezien", KZ_NAME)["emergency"], true);
    assert_eq!(
        line("Gegevens ingezien", KZ_NAME)["ground"],
        Ground::Spoed.label()
    );
    assert_eq!(
        line("Toegang aangevraagd en gekregen", KZ_NAME)["emergency"],
        true
    );
    assert_eq!(line("Gegevens ingezien", WIEG_NAME)["emergency"], false);
    assert_eq!(
        line("Gezocht op BSN en geboortedatum", ZH_NAME)["name"],
        "Dr. Bram Jansen"
    );
    assert_eq!(
        line("Toestemming voor delen ingetrokken", WIEG_NAME)["role"],
        "bronsysteem"
    );
    line("Toestemming voor delen hersteld", WIEG_NAME);
    assert!(
        lines
            .iter()
            .filter(|l| l["what"] == "Gegevens ingezien")
            .count()
            == 2
    );
}

async fn the_client_overview_needs_a_client_her_organisation_shares_or_treats(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let (bsn4, _) = demo_client(NOT_ZH_2);
    // Neither shared nor treated by Rivierenland.
    let r = overview(&app, &zh, &bsn4).await;
    assert_eq!(fields_of(r).await, set(&["bsn"]));
    let refused = last_event(&app, "client_overview", Some("privacy")).await;
    assert_eq!(refused.outcome, "denied");
    assert_eq!(refused.bsn.as_deref(), Some(bsn4.as_str()));
    // An unknown BSN: the same answer.
    let unknown = valid_bsn_not_in_demo();
    assert_eq!(
        fields_of(overview(&app, &zh, &unknown).await).await,
        set(&["bsn"])
    );
    let refused = last_event(&app, "client_overview", Some("privacy")).await;
    assert_eq!(refused.outcome, "denied");
    assert_eq!(refused.bsn.as_deref(), Some(unknown.as_str()));
    // An invalid BSN is refused at the request.
    for bad in ["123456789", "12", ""] {
        let r = app
            .call(
                &zh,
                "audit_overview_request",
                &[("bsn", bad), ("from", ""), ("until", "")],
            )
            .await;
        assert_eq!(fields_of(r).await, set(&["bsn"]), "{bad:?}");
    }
    let r = app
        .call(
            &zh,
            "audit_overview_request",
            &[("bsn", &bsn4), ("from", "gisteren"), ("until", "")],
        )
        .await;
    assert_eq!(fields_of(r).await, set(&["from"]));
    // An end before the start: refused at the request or when the overview is made.
    let r = app
        .call(
            &zh,
            "audit_overview_request",
            &[
                ("bsn", &bsn4),
                ("from", "2026-05-02"),
                ("until", "2026-05-01"),
            ],
        )
        .await;
    let r = if r.status() == 422 {
        r
    } else {
        assert!(r.status().is_success());
        app.call(&zh, "audit_overview", &[]).await
    };
    assert!(fields_of(r).await.contains("until"));
    // Once one of her organisation's users treats the client, she may produce it.
    let gyn = app.logged_in("gynaecoloog").await;
    let id4 = find(&app, &gyn, NOT_ZH_2).await;
    grant(&app, &gyn, &id4, "verwijzing", "").await;
    let vk = app.logged_in("verloskundige").await;
    find(&app, &vk, NOT_ZH_2).await;
    let r = overview(&app, &zh, &bsn4).await;
    assert_eq!(r.status(), 200);
    let ov: Value = r.json().await.unwrap();
    let lines = ov["lines"].as_array().unwrap();
    assert!(lines
        .iter()
        .any(|l| l["organisation"] == WIEG_NAME && l["what"] == "Gezocht op BSN en geboortedatum"));
    assert!(lines
        .iter()
        .any(|l| l["what"] == "Toegang aangevraagd en gekregen" && l["name"] == "Dr. Bram Jansen"));
    let ok = last_event(&app, "client_overview", Some("privacy")).await;
    assert_eq!(ok.outcome, "success");
}

// ----- 7. export -----

async fn the_csv_export_follows_the_filter_and_round_trips_every_column(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let (bsn0, birth0) = demo_client(ALL_THREE);
    let awkward = r#"Mozilla/5.0 (X11, Linux) "Ooievaar", test "a ""b"" c", eind"#;
    let vk = app.logged_in("verloskundige").await;
    let r = vk
        .post(app.url("/api/search"))
        .header("accept", "application/json")
        .header("user-agent", awkward)
        .header("x-request-id", "req-\"1\",2")
        .form(&[("bsn", bsn0.as_str()), ("birth_date", birth0.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The client's `x-request-id` is replaced by the server's own (DESIGN 9).
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let awkward_search = last_event(&app, "search", Some("verloskundige")).await;
    assert_eq!(awkward_search.user_agent.as_deref(), Some(awkward));
    a_working_day(&app).await;

    let zh = app.logged_in("privacy").await;
    filter_ok(&app, &zh, &[("bsn", &bsn0)]).await;
    let export_agent = r#"Export "CSV", met komma's"#;
    let r = export(&app, &zh, export_agent).await;
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let body = r.text().await.unwrap();
    assert_eq!(
        body.lines().next(),
        Some(CSV_HEADER),
        "the header row, exactly"
    );
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header.join(","), CSV_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert!(rows.len() >= 5);
    let exported_ids: Vec<i64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert!(
        exported_ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no duplicates"
    );
    for row in &rows {
        assert_eq!(
            &row[10],
            bsn0.as_str(),
            "only the filtered client's events: {row:?}"
        );
        assert_eq!(row.len(), 18);
    }
    let logged = last_event(&app, "export", Some("privacy")).await;
    assert_eq!(logged.bsn.as_deref(), Some(bsn0.as_str()));
    assert_eq!(logged.user_agent.as_deref(), Some(export_agent));
    assert_eq!(detail(&logged)["filters"]["client"], true);
    assert!(
        exported_ids.contains(&logged.id),
        "the export is logged before the rows are read"
    );
    // Every column of every row is the stored event, exactly (RFC 4180 quoting round-trips).
    let events: HashMap<i64, AuditRow> = app
        .audit_events()
        .await
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    for row in &rows {
        let e = &events[&row[0].parse::<i64>().unwrap()];
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let at =
            time::OffsetDateTime::parse(&row[1], &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert_eq!(
            (at.unix_timestamp_nanos() / 1_000_000) as i64,
            e.occurred_at
        );
        assert!(row[1].ends_with('Z'));
        let expected = [
            e.action.clone(),
            e.outcome.clone(),
            opt(&e.user_id),
            opt(&e.user_name),
            opt(&e.user_role),
            opt(&e.organisation_id),
            opt(&e.on_behalf_of),
            opt(&e.client_id),
            opt(&e.bsn),
            opt(&e.source_id),
            opt(&e.ground),
            opt(&e.grant_id),
            e.detail.clone(),
            opt(&e.ip),
            opt(&e.user_agent),
            opt(&e.request_id),
        ];
        let got: Vec<&str> = row.iter().skip(2).collect();
        assert_eq!(
            got,
            expected.iter().map(String::as_str).collect::<Vec<_>>(),
            "event {}",
            e.id
        );
    }
    let awkward_row = rows
        .iter()
        .find(|r| r[0] == awkward_search.id.to_string())
        .expect("the awkward search exported");
    assert_eq!(&awkward_row[16], awkward);
    assert_eq!(&awkward_row[17], request_id);
    // The same rows as the filtered list (up to the export).
    let listed: Vec<i64> = ids(&walk(&app, &zh).await)
        .into_iter()
        .filter(|id| *id <= exported_ids[0])
        .collect();
    assert_eq!(listed, exported_ids, "the export is the filtered list");

    // Without filters: everything in her scope, nothing else.
    clear_filter(&app, &zh).await;
    let body = export(&app, &zh, "plain").await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let all_ids: Vec<i64> = reader
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    let listed: Vec<i64> = ids(&walk(&app, &zh).await)
        .into_iter()
        .filter(|id| *id <= all_ids[0])
        .collect();
    assert_eq!(listed, all_ids, "the unfiltered export is her scope");
    assert!(all_ids.len() > exported_ids.len());
    let exports = app
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.action == "export")
        .count();
    assert_eq!(exports, 2);
}

// ----- races -----

/// Events without an organisation are written while organisations are added: each new
/// organisation's officer must see every one of them (those before her organisation existed
/// and those after), however the two transactions interleave.
async fn events_without_organisation_reach_organisations_added_meanwhile(backend: Backend) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let app = spawn(backend, day_rules()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (store, stop) = (app.store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    // An event without organisation, as a refused token writes. (Written
                    // directly: the API writes only the first refusal of an address and reason
                    // per minute, rule 9.)
                    store
                        .record(backend::audit::NewAuditEvent::new(
                            domain::AuditAction::TokenRefused,
                            domain::Outcome::Denied,
                        ))
                        .await
                        .unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let organisations: Vec<String> = (0..8).map(|k| format!("ec-race-{k}")).collect();
    for id in &organisations {
        accounts::add_organisation(&app.store, id, "Echocentrum Race", "echocentrum")
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let mut calls = 0;
    for w in writers {
        calls += w.await.unwrap();
    }
    let unowned: BTreeSet<i64> = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.organisation_id.is_none())
        .map(|e| e.id)
        .collect();
    assert!(unowned.len() >= calls, "every refused call logged");
    let mut missing_by_organisation = Vec::new();
    for (k, id) in organisations.iter().enumerate() {
        let officer = add_officer(&app, id, &format!("privacy-race-{k}")).await;
        let seen = visible(&app, &officer).await;
        let missing: Vec<i64> = unowned
            .iter()
            .filter(|e| !seen.contains(e))
            .copied()
            .collect();
        if !missing.is_empty() {
            missing_by_organisation.push((id.clone(), missing));
        }
    }
    println!(
        "{calls} refused calls while adding {} organisations",
        organisations.len()
    );
    assert!(
        missing_by_organisation.is_empty(),
        "events without organisation missing from a new organisation's scope: {missing_by_organisation:?}"
    );
}

/// The same review or revocation sent several times at once takes effect once: one success,
/// the others 409, one audit event.
async fn concurrent_reviews_and_revocations_take_effect_once(backend: Backend) {
    let app = spawn(backend, day_rules()).await;
    let zh = app.logged_in("privacy").await;
    let gyn = app.logged_in("gynaecoloog").await;
    assert!(!granted(&view(&app, &gyn, NO_CLIENT).await));
    let denied = last_event(&app, "access_denied", Some("gynaecoloog"))
        .await
        .id;
    let id0 = find(&app, &gyn, ALL_THREE).await;
    grant(&app, &gyn, &id0, "behandelrelatie", "").await;
    let grant_id = last_event(&app, "access_request", Some("gynaecoloog"))
        .await
        .grant_id
        .unwrap();

    let reviews = futures::future::join_all((0..6).map(|n| {
        review(
            &app,
            &zh,
            denied,
            if n % 2 == 0 { "gezien" } else { "ook gezien" },
        )
    }))
    .await;
    let mut statuses: Vec<u16> = reviews.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 409, 409, 409, 409, 409], "reviews");
    let revocations =
        futures::future::join_all((0..6).map(|_| revoke(&app, &zh, &grant_id, "ingetrokken")))
            .await;
    let mut statuses: Vec<u16> = revocations.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 409, 409, 409, 409, 409], "revocations");
    let events = app.audit_events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "flag_reviewed")
            .count(),
        1
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "grant_revoked")
            .count(),
        1
    );
    app.assert_chain_intact().await;
}
