//! The officer's kept filters and keyset pages: narrowing, refusals with their fields, pages
//! stable under concurrent writes.
//!
//! Part of the privacy officer's review of the access log (DESIGN flow 7); the demo network,
//! the setup and the shared calls are in `review_helpers.rs`.

use crate::helpers::{Backend, TestApp};
use crate::review_helpers::*;
use backend::on_both_backends;
use domain::FlagRules;
use serde_json::{json, Value};
use std::collections::BTreeSet;

on_both_backends!(
    filters_narrow_by_client_user_action_ground_organisation_and_period,
    invalid_filters_answer_422_with_their_fields_and_keep_the_old_filter,
    keyset_pages_are_newest_first_without_duplicates_and_stable_under_writes,
);

// ----- 3. filters and pages -----

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
        let r = app.audit_filter(&zh, &fields).await;
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
        // `06-04-1991 14:05:09`: kept as year, month, day, time to compare.
        ats.extend(events.iter().map(|e| {
            let at = e["at"].as_str().unwrap();
            format!("{}{}{}{}", &at[6..10], &at[3..5], &at[0..2], &at[10..])
        }));
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
