//! A corpus of malformed share requests: every one is answered 4xx (never 5xx) with the field
//! list where applicable, the shared data stays byte-for-byte the same, and only the access log
//! records the refusals.

use crate::helpers::Backend;
use crate::source_api::{app_with_keys, valid_share, wieg_token, BSN};
use backend::on_both_backends;
use serde_json::{json, Value};

/// (what, BSN in the path, content type, body, the field that must be reported if 422)
type Case = (
    &'static str,
    String,
    &'static str,
    String,
    Option<&'static str>,
);

fn mutate(change: impl FnOnce(&mut Value)) -> String {
    let mut body = valid_share(2);
    change(&mut body);
    body.to_string()
}

fn remove(path: &[&str]) -> String {
    mutate(|b| {
        let (last, parents) = path.split_last().unwrap();
        let mut node = b;
        for p in parents {
            node = match p.parse::<usize>() {
                Ok(i) => &mut node[i],
                Err(_) => &mut node[*p],
            };
        }
        node.as_object_mut().unwrap().remove(*last);
    })
}

fn corpus() -> Vec<Case> {
    let bsn = || BSN.to_owned();
    let j = "application/json";
    let long = |n: usize| "x".repeat(n);
    let mut cases: Vec<Case> = vec![
        (
            "no consent",
            bsn(),
            j,
            remove(&["consent"]),
            Some("consent"),
        ),
        ("no client", bsn(), j, remove(&["client"]), Some("client")),
        (
            "no pregnancies",
            bsn(),
            j,
            remove(&["pregnancies"]),
            Some("pregnancies"),
        ),
        (
            "no entries",
            bsn(),
            j,
            remove(&["entries"]),
            Some("entries"),
        ),
        (
            "consent withdrawn in a share",
            bsn(),
            j,
            mutate(|b| b["consent"] = json!("withdrawn")),
            Some("consent"),
        ),
        (
            "consent a number",
            bsn(),
            j,
            mutate(|b| b["consent"] = json!(1)),
            Some("consent"),
        ),
        (
            "client a string",
            bsn(),
            j,
            mutate(|b| b["client"] = json!("x")),
            Some("client"),
        ),
        (
            "client without name",
            bsn(),
            j,
            remove(&["client", "name"]),
            Some("client.name"),
        ),
        (
            "empty name",
            bsn(),
            j,
            mutate(|b| b["client"]["name"] = json!("  ")),
            Some("client.name"),
        ),
        (
            "name too long",
            bsn(),
            j,
            mutate(|b| b["client"]["name"] = json!(long(201))),
            Some("client.name"),
        ),
        (
            "name a number",
            bsn(),
            j,
            mutate(|b| b["client"]["name"] = json!(42)),
            Some("client.name"),
        ),
        (
            "birth date not a date",
            bsn(),
            j,
            mutate(|b| b["client"]["birth_date"] = json!("1-5-1990")),
            Some("client.birth_date"),
        ),
        (
            "birth date in the future",
            bsn(),
            j,
            mutate(|b| b["client"]["birth_date"] = json!("2999-01-01")),
            Some("client.birth_date"),
        ),
        (
            "birth date before 1900",
            bsn(),
            j,
            mutate(|b| b["client"]["birth_date"] = json!("1899-12-31")),
            Some("client.birth_date"),
        ),
        (
            "pregnancies an object",
            bsn(),
            j,
            mutate(|b| b["pregnancies"] = json!({})),
            Some("pregnancies"),
        ),
        (
            "pregnancy without id",
            bsn(),
            j,
            remove(&["pregnancies", "0", "id"]),
            Some("pregnancies[0].id"),
        ),
        (
            "duplicate pregnancy id",
            bsn(),
            j,
            mutate(|b| {
                let p = b["pregnancies"][0].clone();
                b["pregnancies"].as_array_mut().unwrap().push(p);
            }),
            Some("pregnancies[1].id"),
        ),
        (
            "edd not a date",
            bsn(),
            j,
            mutate(|b| b["pregnancies"][0]["edd"] = json!("binnenkort")),
            Some("pregnancies[0].edd"),
        ),
        (
            "edd more than a year ahead",
            bsn(),
            j,
            mutate(|b| b["pregnancies"][0]["edd"] = json!("2999-01-01")),
            Some("pregnancies[0].edd"),
        ),
        (
            "edd before 1900",
            bsn(),
            j,
            mutate(|b| b["pregnancies"][0]["edd"] = json!("1850-06-01")),
            Some("pregnancies[0].edd"),
        ),
        (
            "ended in the future",
            bsn(),
            j,
            mutate(|b| {
                b["pregnancies"][0]["status"] = json!("ended");
                b["pregnancies"][0]["ended_on"] = json!("2999-01-01");
            }),
            Some("pregnancies[0].ended_on"),
        ),
        (
            "ended before 1900",
            bsn(),
            j,
            mutate(|b| {
                b["pregnancies"][0]["status"] = json!("ended");
                b["pregnancies"][0]["ended_on"] = json!("1899-12-31");
            }),
            Some("pregnancies[0].ended_on"),
        ),
        (
            "gravidity zero",
            bsn(),
            j,
            mutate(|b| b["pregnancies"][0]["gravidity"] = json!(0)),
            Some("pregnancies[0].gravidity"),
        ),
        (
            "gravidity a string",
            bsn(),
            j,
            mutate(|b| b["pregnancies"][0]["gravidity"] = json!("2")),
            Some("pregnancies[0].gravidity"),
        ),
        (
            "parity above gravidity",
            bsn(),
            j,
            mutate(|b| b["pregnancies"][0]["parity"] = json!(5)),
            Some("pregnancies[0].parity"),
        ),
        (
            "unknown pregnancy status",
            bsn(),
            j,
            mutate(|b| b["pregnancies"][0]["status"] = json!("lopend")),
            Some("pregnancies[0].status"),
        ),
        (
            "ended without end date",
            bsn(),
            j,
            mutate(|b| b["pregnancies"][0]["status"] = json!("ended")),
            Some("pregnancies[0].ended_on"),
        ),
        (
            "active with end date",
            bsn(),
            j,
            mutate(|b| b["pregnancies"][0]["ended_on"] = json!("2026-01-01")),
            Some("pregnancies[0].ended_on"),
        ),
        (
            "entries an object",
            bsn(),
            j,
            mutate(|b| b["entries"] = json!({"a": 1})),
            Some("entries"),
        ),
        (
            "entry a number",
            bsn(),
            j,
            mutate(|b| b["entries"][0] = json!(7)),
            Some("entries[0]"),
        ),
        (
            "entry without id",
            bsn(),
            j,
            remove(&["entries", "1", "id"]),
            Some("entries[1].id"),
        ),
        (
            "duplicate entry id",
            bsn(),
            j,
            mutate(|b| b["entries"][1]["id"] = json!("e0")),
            Some("entries[1].id"),
        ),
        (
            "entry id too long",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["id"] = json!(long(65))),
            Some("entries[0].id"),
        ),
        (
            "unknown pregnancy reference",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["pregnancy_id"] = json!("p9")),
            Some("entries[0].pregnancy_id"),
        ),
        (
            "unknown category",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["category"] = json!("huisarts")),
            Some("entries[0].category"),
        ),
        (
            "category null",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["category"] = Value::Null),
            Some("entries[0].category"),
        ),
        (
            "empty code",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["code"] = json!("")),
            Some("entries[0].code"),
        ),
        (
            "label too long",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["label"] = json!(long(201))),
            Some("entries[0].label"),
        ),
        (
            "value a number",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["value"] = json!(7.4)),
            Some("entries[0].value"),
        ),
        (
            "value too long",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["value"] = json!(long(4001))),
            Some("entries[0].value"),
        ),
        (
            "unit too long",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["unit"] = json!(long(33))),
            Some("entries[0].unit"),
        ),
        (
            "observed_at not a time",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["observed_at"] = json!("gisteren")),
            Some("entries[0].observed_at"),
        ),
        (
            "observed_at in the year 9999",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["observed_at"] = json!("9999-12-31T23:59:59Z")),
            Some("entries[0].observed_at"),
        ),
        (
            "observed_at before 1900",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["observed_at"] = json!("0001-01-01T00:00:00Z")),
            Some("entries[0].observed_at"),
        ),
        (
            "observed_at a date only",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["observed_at"] = json!("2026-11-01")),
            Some("entries[0].observed_at"),
        ),
        (
            "unknown sensitivity",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["sensitivity"] = json!("geheim")),
            Some("entries[0].sensitivity"),
        ),
        (
            "no sensitivity",
            bsn(),
            j,
            remove(&["entries", "0", "sensitivity"]),
            Some("entries[0].sensitivity"),
        ),
        (
            "control character in a label",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["label"] = json!("Hb\u{7}")),
            Some("entries[0].label"),
        ),
        (
            "5001 entries",
            bsn(),
            j,
            valid_share(5001).to_string(),
            Some("entries"),
        ),
        (
            "51 pregnancies",
            bsn(),
            j,
            mutate(|b| {
                b["pregnancies"] = json!((0..51).map(|i| json!({"id": format!("p{i}"), "edd": "2027-01-01", "gravidity": 1, "parity": 0, "status": "active"})).collect::<Vec<_>>())
            }),
            Some("pregnancies"),
        ),
        ("body an array", bsn(), j, "[]".into(), Some("body")),
        ("body a string", bsn(), j, "\"share\"".into(), Some("body")),
        ("body null", bsn(), j, "null".into(), Some("body")),
        (
            "truncated JSON",
            bsn(),
            j,
            valid_share(2).to_string()[..40].to_owned(),
            None,
        ),
        ("empty body", bsn(), j, String::new(), None),
        ("not JSON at all", bsn(), j, "consent=active".into(), None),
        (
            "wrong content type",
            bsn(),
            "text/plain",
            valid_share(2).to_string(),
            None,
        ),
        (
            "form content type",
            bsn(),
            "application/x-www-form-urlencoded",
            valid_share(2).to_string(),
            None,
        ),
        (
            "BSN fails the 11-check",
            "123456789".into(),
            j,
            valid_share(2).to_string(),
            Some("bsn"),
        ),
        (
            "BSN with letters",
            "12345678a".into(),
            j,
            valid_share(2).to_string(),
            Some("bsn"),
        ),
        (
            "BSN of ten digits",
            "1112223330".into(),
            j,
            valid_share(2).to_string(),
            Some("bsn"),
        ),
        (
            "body over 2 MB",
            bsn(),
            j,
            mutate(|b| b["entries"][0]["value"] = json!(long(2 * 1024 * 1024 + 10))),
            None,
        ),
    ];
    cases.push((
        "five problems at once",
        "123456789".into(),
        j,
        mutate(|b| {
            b["consent"] = json!("x");
            b["client"]["name"] = json!("");
            b["pregnancies"][0]["gravidity"] = json!(-1);
            b["entries"][0]["category"] = json!("y");
        }),
        Some("entries[0].category"),
    ));
    cases
}

on_both_backends!(every_malformed_share_is_refused_with_a_4xx_and_changes_nothing);

async fn every_malformed_share_is_refused_with_a_4xx_and_changes_nothing(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    assert_eq!(
        app.put_share(&wieg_token(), BSN, &valid_share(2))
            .await
            .status(),
        200
    );
    let before = app.dump().await;
    let cases = corpus();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let events_before = app.audit_events().await.len();
    for (what, bsn, content_type, body, field) in &cases {
        let response = app
            .put_raw(
                &format!("/api/v1/shares/{bsn}"),
                Some(&wieg_token()),
                content_type,
                body.clone(),
            )
            .await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{what}: status {status}");
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if let Some(field) = field {
            assert_eq!(status, 422, "{what}");
            let fields: Vec<&str> = answer["problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(field), "{what}: {fields:?} lacks {field}");
        } else {
            assert!(
                answer["problems"].as_array().is_some_and(|p| !p.is_empty()),
                "{what}: {answer}"
            );
        }
    }
    assert_eq!(app.dump().await, before, "shared data unchanged");
    let events = app.audit_events().await;
    let new: Vec<_> = events[events_before..]
        .iter()
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(new.len(), cases.len());
    assert!(new.iter().all(|a| *a == "share_refused"), "{new:?}");
    app.assert_chain_intact().await;
}
