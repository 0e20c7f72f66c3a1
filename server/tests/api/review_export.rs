//! The CSV export of the officer's filtered list.
//!
//! Part of the privacy officer's review of the access log (DESIGN flow 7); the demo network,
//! the setup and the shared calls are in `review_helpers.rs`.

use crate::helpers::Backend;
use crate::review_helpers::*;
use backend::on_both_backends;
use backend::store::AuditRow;
use std::collections::HashMap;

on_both_backends!(the_csv_export_follows_the_filter_and_round_trips_every_column,);

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
