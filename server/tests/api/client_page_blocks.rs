//! The client page's blocks of issue 14 (handover summary, timeline, trend charts, print view)
//! against the policy matrix: each is built only from entries the role may see (rule 3), in
//! the HTML and in the data the page hydrates from. Also: entries land under their own
//! pregnancy, the search shows no name or organisation before a grant, and printing is logged.

use crate::helpers::{html_of, Backend, TestApp};
use crate::source_api::{app_with_keys, wieg_token};
use crate::viewing::{BIRTH, BSN, ROLE_USERS};
use backend::on_both_backends;
use domain::policy::ViewRequest;
use domain::{Category, Policy, Role, Sensitivity};
use serde_json::{json, Value};

on_both_backends!(
    every_block_shows_exactly_what_the_policy_allows,
    entries_land_under_their_own_pregnancy_and_earlier_ones_stay_folded,
    a_search_before_the_grant_names_no_one,
    opening_the_print_view_is_logged_as_print,
);

fn cases() -> Vec<(usize, Category, Sensitivity)> {
    let mut all = Vec::new();
    for category in Category::ALL {
        for sensitivity in Sensitivity::ALL {
            all.push((all.len(), *category, *sensitivity));
        }
    }
    all
}

/// A handover marker: the value of an entry that feeds a handover line of every role.
fn hand(i: usize) -> String {
    format!("HAND-{i:02}")
}

/// A trend marker: an Hb value only this case has (shown with a decimal comma).
fn trend_value(i: usize) -> (String, String) {
    (format!("{}.5", 800 + i), format!("{},5", 800 + i))
}

/// For every category x sensitivity: one entry per handover line kind (obstetric, kraamzorg,
/// sonographer: blood group, feeding, position) and one Hb value. Later cases are newer.
fn blocks_share() -> Value {
    let mut entries = Vec::new();
    for (i, category, sensitivity) in cases() {
        let at = format!("2026-10-{:02}T{:02}:00:00Z", 1 + i / 10, 8 + i % 10);
        for code in ["bloedgroep", "voeding", "ligging"] {
            entries.push(json!({
                "id": format!("{code}-{i}"), "pregnancy_id": "p2", "category": category.as_str(),
                "code": code, "label": "Testgegeven", "value": hand(i), "unit": null,
                "observed_at": at, "sensitivity": sensitivity.as_str(),
            }));
        }
        entries.push(json!({
            "id": format!("hb-{i}"), "pregnancy_id": "p2", "category": category.as_str(),
            "code": "hb", "label": "Hemoglobine", "value": trend_value(i).0, "unit": "mmol/l",
            "observed_at": at, "sensitivity": sensitivity.as_str(),
        }));
    }
    json!({
        "consent": "active",
        "client": { "name": "Blokken Cliënt", "birth_date": BIRTH },
        "pregnancies": [
            { "id": "p1", "edd": "2023-06-01", "gravidity": 1, "parity": 0, "status": "ended", "ended_on": "2023-05-28" },
            { "id": "p2", "edd": "2027-03-01", "gravidity": 2, "parity": 1, "status": "active", "ended_on": null }
        ],
        "entries": entries,
    })
}

fn allowed(policy: &Policy, role: Role, category: Category, sensitivity: Sensitivity) -> bool {
    policy.allows(ViewRequest {
        role,
        has_valid_grant: true,
        consent_active: true,
        category,
        sensitivity,
    })
}

/// The part of the HTML from the element with this id to the end of its section.
fn block<'a>(html: &'a str, id: &str) -> &'a str {
    let Some(start) = html.find(&format!("id=\"{id}\"")) else {
        return "";
    };
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

/// The app with the blocks share of the test client from De Wieg.
async fn app_with_blocks(backend: Backend) -> (TestApp, tempfile::TempDir) {
    let (app, _, dir) = app_with_keys(backend).await;
    let shared = app.put_share(&wieg_token(), BSN, &blocks_share()).await;
    assert_eq!(shared.status(), 200);
    (app, dir)
}

impl TestApp {
    async fn granted_client(&self, c: &reqwest::Client) -> String {
        let id = self.client_id_of(c).await;
        let r = self.request_access(c, &id, "behandelrelatie", "").await;
        assert!(r.status().is_success() || r.status().is_redirection());
        id
    }
}

async fn every_block_shows_exactly_what_the_policy_allows(backend: Backend) {
    let (app, _dir) = app_with_blocks(backend).await;
    let policy = Policy::default_design();
    let mut checked = 0;
    for (role, username) in ROLE_USERS {
        let c = app.logged_in(username).await;
        let id = app.granted_client(&c).await;
        let html = app.client_page_html(&c, &id).await;
        let (_, json) = app.view_json(&c, &id).await;
        let page: Value = serde_json::from_str(&json).unwrap();
        let handover_json = page["Granted"]["handover"].to_string();
        let trends_json = page["Granted"]["trends"].to_string();
        let handover_html = block(&html, "overdracht");
        let trends_html = block(&html, "verloop");
        let timeline = html_of(&c, &app.url(&format!("/clients/{id}?weergave=tijdlijn"))).await;
        let print = html_of(&c, &app.url(&format!("/clients/{id}/afdrukken"))).await;
        let permitted: Vec<usize> = cases()
            .into_iter()
            .filter(|(_, cat, sens)| allowed(&policy, role, *cat, *sens))
            .map(|(i, ..)| i)
            .collect();
        // "Latest" lines show the newest permitted entry: the last permitted case. The
        // obstetric roles' "current medication" line lists every permitted medication entry.
        let newest = permitted.iter().max().copied();
        let medication_line = matches!(
            role,
            Role::Verloskundige | Role::Gynaecoloog | Role::OgVerpleegkundige
        );
        for (i, category, sensitivity) in cases() {
            let ok = permitted.contains(&i);
            let m = hand(i);
            let in_summary =
                Some(i) == newest || (medication_line && ok && category == Category::Medication);
            assert_eq!(
                handover_html.contains(&m),
                in_summary,
                "{username}: {m} ({category}/{sensitivity}) in the handover"
            );
            assert_eq!(
                handover_json.contains(&m),
                in_summary,
                "{username}: {m} in the handover data"
            );
            assert_eq!(timeline.contains(&m), ok, "{username}: {m} in the timeline");
            assert_eq!(print.contains(&m), ok, "{username}: {m} in the print view");
            let (_, shown) = trend_value(i);
            // A chart needs two values; every role here may see at least two.
            assert_eq!(
                trends_html.contains(&shown),
                ok,
                "{username}: Hb {shown} in the chart"
            );
            assert_eq!(
                trends_json.contains(&shown),
                ok,
                "{username}: Hb {shown} in the chart data"
            );
            assert_eq!(
                print.contains(&shown),
                ok,
                "{username}: Hb {shown} in the print view"
            );
            checked += 1;
        }
        // The role's own summary, with "niet gedeeld" where nothing feeds a line.
        assert!(
            handover_html.contains("Overdracht"),
            "{username}: {handover_html}"
        );
        assert!(permitted.len() >= 2, "{username} sees at least two cases");
        assert!(
            trends_html.contains("<svg"),
            "{username}: chart drawn on the server"
        );
    }
    println!("block cases: {checked}");
    // The obstetric summary names what nobody shared.
    let c = app.logged_in("verloskundige").await;
    let id = app.client_id_of(&c).await;
    let html = app.client_page_html(&c, &id).await;
    let summary = block(&html, "overdracht");
    assert!(
        summary.contains("GBS") && summary.contains("niet gedeeld"),
        "{summary}"
    );
    app.assert_chain_intact().await;
}

async fn entries_land_under_their_own_pregnancy_and_earlier_ones_stay_folded(backend: Backend) {
    let (app, _, _dir) = app_with_keys(backend).await;
    let entry = |id: &str, pregnancy: &str, value: &str, at: &str| {
        json!({ "id": id, "pregnancy_id": pregnancy, "category": "pregnancy", "code": "gewicht",
                "label": "Gewicht", "value": value, "unit": "kg", "observed_at": at, "sensitivity": "normal" })
    };
    let share = json!({
        "consent": "active",
        "client": { "name": "Twee Zwangerschappen", "birth_date": BIRTH },
        "pregnancies": [
            { "id": "oud", "edd": "2023-06-01", "gravidity": 1, "parity": 0, "status": "ended", "ended_on": "2023-05-28" },
            { "id": "nu", "edd": "2027-03-01", "gravidity": 2, "parity": 1, "status": "active", "ended_on": null }
        ],
        "entries": [
            entry("a", "oud", "61.2", "2023-01-10T10:00:00Z"),
            entry("b", "nu", "66.4", "2026-10-10T10:00:00Z"),
            entry("c", "nu", "67.9", "2026-11-10T10:00:00Z"),
            json!({ "id": "d", "pregnancy_id": null, "category": "medical_history", "code": "astma",
                    "label": "Astma", "value": "Ja", "unit": null, "observed_at": "2020-01-01T10:00:00Z", "sensitivity": "normal" }),
        ],
    });
    assert_eq!(
        app.put_share(&wieg_token(), BSN, &share).await.status(),
        200
    );
    let c = app.logged_in("verloskundige").await;
    let id = app.granted_client(&c).await;
    let (_, json) = app.view_json(&c, &id).await;
    let page: Value = serde_json::from_str(&json).unwrap();
    let blocks = page["Granted"]["pregnancies"].as_array().unwrap();
    let values = |b: &Value| -> Vec<String> {
        b["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["value"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0]["current"], true);
    assert_eq!(blocks[0]["pregnancy"]["edd"], "01-03-2027");
    assert_eq!(
        values(&blocks[0]),
        ["67,9", "66,4"],
        "newest first, decimal comma"
    );
    assert_eq!(blocks[1]["pregnancy"]["ended_on"], "28-05-2023");
    assert_eq!(values(&blocks[1]), ["61,2"]);
    let other: Vec<&str> = page["Granted"]["other_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(other, ["Astma"]);
    // The weight chart is of the current pregnancy only.
    let weight = &page["Granted"]["trends"][0];
    assert_eq!(weight["key"], "gewicht");
    let points: Vec<&str> = weight["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert_eq!(points, ["66,4", "67,9"]);
    // In the HTML the earlier pregnancy is folded (a closed <details>) with its own section.
    let html = app.client_page_html(&c, &id).await;
    let earlier = &html[html
        .find("class=\"earlier-pregnancy\"")
        .unwrap_or_else(|| panic!("no earlier block in the page:\n{html}"))..];
    assert!(
        earlier.contains("einde zwangerschap 28-05-2023"),
        "{earlier}"
    );
    assert!(earlier.find("61,2").unwrap() < earlier.find("</details>").unwrap());
    assert!(!html.contains("<details class=\"earlier-pregnancy\" open"));
    assert!(!html.contains("Bevallen"));
    // The timeline filtered on one category shows only that category.
    let only = html_of(
        &c,
        &app.url(&format!(
            "/clients/{id}?weergave=tijdlijn&categorie=medical_history"
        )),
    )
    .await;
    let timeline = block(&only, "tijdlijn");
    assert!(
        timeline.contains("Astma") && !timeline.contains("67,9"),
        "{timeline}"
    );
}

async fn a_search_before_the_grant_names_no_one(backend: Backend) {
    let (app, _dir) = app_with_blocks(backend).await;
    let c = app.logged_in("gynaecoloog").await;
    let answer = app.search(&c, BSN, BIRTH).await.text().await.unwrap();
    for secret in ["Blokken", "De Wieg", "Verloskundigenpraktijk"] {
        assert!(
            !answer.contains(secret),
            "{secret} before the grant: {answer}"
        );
    }
    let found: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(found["found"]["bsn_masked"], "******333");
    assert_eq!(found["found"]["birth_date"], "01-05-1990");
    assert_eq!(found["found"]["name"], Value::Null);
    // After her own grant the result names the client and who shares her data.
    app.granted_client(&c).await;
    let answer = app.search(&c, BSN, BIRTH).await.text().await.unwrap();
    assert!(
        answer.contains("Blokken Cliënt") && answer.contains("De Wieg"),
        "{answer}"
    );
}

async fn opening_the_print_view_is_logged_as_print(backend: Backend) {
    let (app, _dir) = app_with_blocks(backend).await;
    let c = app.logged_in("kraamverzorgende").await;
    let id = app.granted_client(&c).await;
    let reads_before = app
        .audit_events()
        .await
        .iter()
        .filter(|e| e.action == "read")
        .count();
    let print = html_of(&c, &app.url(&format!("/clients/{id}/afdrukken"))).await;
    assert!(
        print.contains("vertrouwelijk") && print.contains("Afgedrukt door Dewi Visser"),
        "{print}"
    );
    let events = app.audit_events().await;
    let prints: Vec<_> = events.iter().filter(|e| e.action == "print").collect();
    assert_eq!(prints.len(), 1, "one print event");
    assert_eq!(prints[0].client_id.as_deref(), Some(id.as_str()));
    assert_eq!(prints[0].user_name.as_deref(), Some("kraamverzorgende"));
    let detail: Value = serde_json::from_str(&prints[0].detail).unwrap();
    assert!(
        detail["sources"].as_array().is_some_and(|s| !s.is_empty()),
        "{detail}"
    );
    assert_eq!(
        events.iter().filter(|e| e.action == "read").count(),
        reads_before,
        "a print is not also a read"
    );
    // Without a grant, no print and no data.
    let other = app.logged_in("verloskundige").await;
    let refused = html_of(&other, &app.url(&format!("/clients/{id}/afdrukken"))).await;
    assert!(!refused.contains("HAND-"), "no data without a grant");
    assert_eq!(
        app.audit_events()
            .await
            .iter()
            .filter(|e| e.action == "print")
            .count(),
        1
    );
    app.assert_chain_intact().await;
}
