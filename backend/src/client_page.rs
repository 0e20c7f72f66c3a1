//! The client page as the role reads it (issue 14), assembled from the rows one audited view
//! read: the handover summary, the role's section order, the entries grouped under the
//! pregnancy they belong to, and the trend charts. Every block is made from `ViewRows`, which
//! holds only what the access policy permitted (rule 3); nothing here reads the store.

use super::clock::{dutch_date, dutch_date_time, parse_date, today};
use super::session::SessionUser;
use super::store::{ViewRows, VisibleEntryRow, VisiblePregnancyRow};
use super::trends::{trends, Measurement};
use domain::client_view::{
    ClientPage, EntryView, HandoverLine, HandoverValue, PregnancyBlock, PregnancyView, SourceView,
};
use domain::error::AppError;
use domain::format;
use domain::page_layout::{PageLayout, Shows};
use domain::pregnancy::{age_in_years, gestational_age};
use domain::Bsn;
use time::Date;

/// A pregnancy as the page shows it once, however many sources reported it.
struct Pregnancy<'a> {
    row: &'a VisiblePregnancyRow,
    /// Every (source, source's pregnancy id) that is this pregnancy.
    reported_as: Vec<(&'a str, &'a str)>,
}

/// Several sources may report one pregnancy: the same due date and end make it one.
fn pregnancies(rows: &[VisiblePregnancyRow]) -> Vec<Pregnancy<'_>> {
    let mut merged: Vec<Pregnancy> = Vec::new();
    for row in rows {
        let key = (&row.pregnancy.edd, &row.pregnancy.ended_on);
        let reported = (row.source_id.as_str(), row.pregnancy.id.as_str());
        match merged
            .iter_mut()
            .find(|p| (&p.row.pregnancy.edd, &p.row.pregnancy.ended_on) == key)
        {
            Some(p) => p.reported_as.push(reported),
            None => merged.push(Pregnancy {
                row,
                reported_as: vec![reported],
            }),
        }
    }
    merged.sort_by(|a, b| b.row.pregnancy.edd.cmp(&a.row.pregnancy.edd));
    // The active one is current; otherwise the latest.
    if let Some(active) = merged
        .iter()
        .position(|p| p.row.pregnancy.status == "active")
    {
        let current = merged.remove(active);
        merged.insert(0, current);
    }
    merged
}

fn pregnancy_view(p: &VisiblePregnancyRow, today: Date) -> PregnancyView {
    let p = &p.pregnancy;
    PregnancyView {
        gestational_age: (p.status == "active")
            .then(|| parse_date(&p.edd).and_then(|edd| gestational_age(edd, today)))
            .flatten()
            .map(|(w, d)| format!("{w}+{d}")),
        edd: format::iso_date(&p.edd),
        gravidity: p.gravidity,
        parity: p.parity,
        ended_on: p.ended_on.as_deref().map(format::iso_date),
    }
}

fn entry_view(e: &VisibleEntryRow) -> EntryView {
    EntryView {
        category: e.category,
        label: e.label.clone(),
        value: format::value(&e.value),
        unit: e.unit.clone(),
        date: dutch_date(e.observed_at),
        observed_at: e.observed_at,
        organisation: e.organisation_name.clone(),
    }
}

fn with_unit(e: &VisibleEntryRow) -> String {
    match &e.unit {
        Some(unit) => format!("{} {unit}", format::value(&e.value)),
        None => format::value(&e.value),
    }
}

/// The handover lines of the role from the permitted entries (newest first). `current`: the
/// entries of the current pregnancy, for lines that list everything (current medication).
fn handover(
    layout: &PageLayout,
    user: &SessionUser,
    entries: &[&VisibleEntryRow],
    current: &[&VisibleEntryRow],
) -> Vec<HandoverLine> {
    layout
        .handover(user.role)
        .into_iter()
        .map(|line| {
            let feeding = |pool: &[&VisibleEntryRow]| -> Vec<HandoverValue> {
                let mut values: Vec<HandoverValue> = Vec::new();
                for e in pool.iter().filter(|e| line.takes(e.category, &e.code)) {
                    let text = match line.shows {
                        Shows::Latest => with_unit(e),
                        Shows::All => format!("{}: {}", e.label, with_unit(e)),
                    };
                    if values.iter().any(|v| v.text == text) {
                        continue;
                    }
                    values.push(HandoverValue {
                        text,
                        date: dutch_date(e.observed_at),
                        organisation: e.organisation_name.clone(),
                    });
                    if line.shows == Shows::Latest {
                        break;
                    }
                }
                values
            };
            HandoverLine {
                label: line.label.clone(),
                values: match line.shows {
                    Shows::Latest => feeding(entries),
                    Shows::All => feeding(current),
                },
            }
        })
        .collect()
}

/// The client page of one view.
pub fn build(
    rows: &ViewRows,
    policy: &domain::Policy,
    layout: &PageLayout,
    user: &SessionUser,
) -> Result<ClientPage, AppError> {
    let today = today();
    let bsn = Bsn::parse(&rows.identity.bsn).map_err(|_| AppError::Internal)?;
    let birth = rows.identity.birth_date.clone().unwrap_or_default();
    let merged = pregnancies(&rows.pregnancies);
    let belongs = |e: &VisibleEntryRow, p: &Pregnancy| {
        e.pregnancy_id.as_deref().is_some_and(|id| {
            p.reported_as
                .iter()
                .any(|(source, own)| *source == e.source_id.as_str() && *own == id)
        })
    };
    let blocks: Vec<PregnancyBlock> = merged
        .iter()
        .enumerate()
        .map(|(i, p)| PregnancyBlock {
            pregnancy: pregnancy_view(p.row, today),
            current: i == 0,
            entries: rows
                .entries
                .iter()
                .filter(|e| belongs(e, p))
                .map(entry_view)
                .collect(),
        })
        .collect();
    let unlinked: Vec<&VisibleEntryRow> = rows
        .entries
        .iter()
        .filter(|e| !merged.iter().any(|p| belongs(e, p)))
        .collect();
    // The current pregnancy's entries with those that belong to none (identity, history).
    let current: Vec<&VisibleEntryRow> = rows
        .entries
        .iter()
        .filter(|e| {
            merged.first().is_none_or(|p| belongs(e, p))
                || unlinked.iter().any(|u| std::ptr::eq(*u, *e))
        })
        .collect();
    let all: Vec<&VisibleEntryRow> = rows.entries.iter().collect();
    let measurements: Vec<Measurement> = current
        .iter()
        .map(|e| Measurement {
            code: &e.code,
            value: &e.value,
            unit: e.unit.as_deref(),
            observed_at: e.observed_at,
            date: dutch_date(e.observed_at),
            organisation: &e.organisation_name,
        })
        .collect();
    let visible = policy.visible_categories(user.role);
    let birth_date = parse_date(&birth);
    Ok(ClientPage {
        client_id: rows.identity.client_id.clone(),
        name: rows.identity.name.clone().unwrap_or_default(),
        age: birth_date.map(|b| age_in_years(b, today)),
        birth_date: format::iso_date(&birth),
        birth_date_long: birth_date.map(format::date_long).unwrap_or_default(),
        bsn_masked: bsn.masked(),
        sources: rows
            .sources
            .iter()
            .map(|s| SourceView {
                organisation: s.organisation_name.clone(),
                last_received: s.received_at.map(dutch_date_time),
            })
            .collect(),
        handover: handover(layout, user, &all, &current),
        section_order: layout
            .section_order(user.role)
            .into_iter()
            .filter(|c| visible.contains(c))
            .collect(),
        pregnancies: blocks,
        other_entries: unlinked.into_iter().map(entry_view).collect(),
        trends: trends(&measurements),
        ground: rows.grant.ground,
        grant_expires: dutch_date_time(rows.grant.expires_at),
        shown_at: dutch_date_time(super::store::now_ms()),
        shown_to: user.display_name.clone(),
        spoed_notice: rows.spoed_notice.as_ref().map(super::spoed::notice_of),
    })
}
