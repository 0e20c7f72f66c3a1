//! The client page as the role reads it (issue 14), assembled from the rows one audited view
//! read: the handover summary, the role's section order, the entries grouped under the
//! pregnancy they belong to, and the trend charts. Every block is made from `ViewRows`, which
//! holds only what the access policy permitted (rule 3); nothing here reads the store.

use super::clock::{dutch_date, dutch_date_time, parse_date, today};
use super::session::SessionUser;
use super::store::{SharingSourceRow, ViewRows, VisibleEntryRow, VisiblePregnancyRow};
use super::trends::{trends, Measurement};
use domain::client_view::TrendView;
use domain::client_view::{
    ClientPage, EntryView, HandoverLine, HandoverValue, PregnancyBlock, PregnancyView, SourceView,
};
use domain::error::AppError;
use domain::format;
use domain::page_layout::{PageLayout, Shows};
use domain::pregnancy::{age_in_years, gestational_age};
use domain::{Bsn, Category, ClientId, Role};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
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
    role: Role,
    entries: &[&VisibleEntryRow],
    current: &[&VisibleEntryRow],
) -> Vec<HandoverLine> {
    layout
        .handover(role)
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

/// The client page of one view: the parts made from the lists (kept, [`kept_parts`]) with
/// what is this view's own (identity, grant, when and by whom).
pub fn build(
    rows: &ViewRows,
    policy: &Arc<domain::Policy>,
    layout: &Arc<PageLayout>,
    user: &SessionUser,
) -> Result<ClientPage, AppError> {
    let today = today();
    let bsn = Bsn::parse(&rows.identity.bsn).map_err(|_| AppError::Internal)?;
    let birth = rows.identity.birth_date.clone().unwrap_or_default();
    let birth_date = parse_date(&birth);
    let Parts {
        sources,
        handover,
        section_order,
        pregnancies,
        other_entries,
        trends,
    } = Parts::clone(&KEPT.get(rows, policy, layout, user.role, today));
    Ok(ClientPage {
        client_id: rows.identity.client_id.clone(),
        name: rows.identity.name.clone().unwrap_or_default(),
        age: birth_date.map(|b| age_in_years(b, today)),
        birth_date: format::iso_date(&birth),
        birth_date_long: birth_date.map(format::date_long).unwrap_or_default(),
        bsn_masked: bsn.masked(),
        sources,
        handover,
        section_order,
        pregnancies,
        other_entries,
        trends,
        ground: rows.grant.ground,
        grant_expires: dutch_date_time(rows.grant.expires_at),
        shown_at: dutch_date_time(super::store::now_ms()),
        shown_to: user.display_name.clone(),
        spoed_notice: rows.spoed_notice.as_ref().map(super::spoed::notice_of),
    })
}

/// What the page makes of the lists a view read (sources, pregnancies, permitted entries):
/// the same for every view of the client by one role on one day under one policy and layout.
#[derive(Debug, Clone)]
struct Parts {
    sources: Vec<SourceView>,
    handover: Vec<HandoverLine>,
    section_order: Vec<Category>,
    pregnancies: Vec<PregnancyBlock>,
    other_entries: Vec<EntryView>,
    trends: Vec<TrendView>,
}

impl Parts {
    fn of(
        rows: &ViewRows,
        policy: &domain::Policy,
        layout: &PageLayout,
        role: Role,
        today: Date,
    ) -> Self {
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
        let visible = policy.visible_categories(role);
        Parts {
            sources: rows
                .sources
                .iter()
                .map(|s| SourceView {
                    organisation: s.organisation_name.clone(),
                    last_received: s.received_at.map(dutch_date_time),
                })
                .collect(),
            handover: handover(layout, role, &all, &current),
            section_order: layout
                .section_order(role)
                .into_iter()
                .filter(|c| visible.contains(c))
                .collect(),
            pregnancies: blocks,
            other_entries: unlinked.into_iter().map(entry_view).collect(),
            trends: trends(&measurements),
        }
    }
}

/// The parts of the pages shown lately, per client and role (issue 15: making them was about
/// a seventh of a view's instructions, for a page that is the same view after view).
///
/// An entry is used only for the very lists it was made from: it holds those lists (the
/// `Arc`s `kept_views` shares between views at one visibility epoch) and the policy and layout
/// it applied, and a view uses it only when its own are the same allocations
/// (`Arc::ptr_eq`) and the day is the same. Because the entry holds them, no other list can
/// take their place in memory, so the same allocation means the same rows. Lists read afresh
/// (another epoch: a withdrawal, a new share, a new policy) are other allocations, and the
/// parts are made again from them: the cache can never show a view more, or older, data than
/// its own snapshot read.
static KEPT: LazyLock<KeptParts> = LazyLock::new(KeptParts::default);

#[derive(Default)]
struct KeptParts(Mutex<HashMap<(ClientId, Role), Made>>);

/// Parts with what they were made from.
struct Made {
    sources: Arc<[SharingSourceRow]>,
    pregnancies: Arc<[VisiblePregnancyRow]>,
    entries: Arc<[VisibleEntryRow]>,
    policy: Arc<domain::Policy>,
    layout: Arc<PageLayout>,
    day: Date,
    parts: Arc<Parts>,
}

impl Made {
    fn is_of(
        &self,
        rows: &ViewRows,
        policy: &Arc<domain::Policy>,
        layout: &Arc<PageLayout>,
        day: Date,
    ) -> bool {
        Arc::ptr_eq(&self.sources, &rows.sources)
            && Arc::ptr_eq(&self.pregnancies, &rows.pregnancies)
            && Arc::ptr_eq(&self.entries, &rows.entries)
            && Arc::ptr_eq(&self.policy, policy)
            && Arc::ptr_eq(&self.layout, layout)
            && self.day == day
    }
}

impl KeptParts {
    /// A bound on memory, as `kept_views` has.
    const CAPACITY: usize = 1024;

    /// The parts for this view: kept ones made from the same lists, or made now (and kept).
    fn get(
        &self,
        rows: &ViewRows,
        policy: &Arc<domain::Policy>,
        layout: &Arc<PageLayout>,
        role: Role,
        day: Date,
    ) -> Arc<Parts> {
        let key = (rows.identity.client_id.clone(), role);
        if let Some(made) = self.lock().get(&key) {
            if made.is_of(rows, policy, layout, day) {
                return made.parts.clone();
            }
        }
        // Made outside the lock: other views need not wait for this one.
        let parts = Arc::new(Parts::of(rows, policy, layout, role, day));
        let mut kept = self.lock();
        if kept.len() >= Self::CAPACITY {
            kept.clear();
        }
        kept.insert(
            key,
            Made {
                sources: rows.sources.clone(),
                pregnancies: rows.pregnancies.clone(),
                entries: rows.entries.clone(),
                policy: policy.clone(),
                layout: layout.clone(),
                day,
                parts: parts.clone(),
            },
        );
        parts
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(ClientId, Role), Made>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
