//! The access-log load generator (`ooievaar demo audit-load --events N`): fills the log of a
//! demo installation with a year of realistic history, to see how review, verification and
//! export behave at volume (`server/examples/audit_bench.rs` measures that).
//!
//! ## The history
//! - **Time**: the past 365 days up to now, weekdays busier than weekends, working hours far
//!   busier than evenings, a few percent at night (Europe/Amsterdam hours, so the
//!   out-of-hours flag fires as it would).
//! - **Actors**: the demo network's users plus about 300 synthetic professionals (`gen-...`,
//!   clinical roles, spread over the three demo organisations), the three demo sources, now
//!   and then an unknown username, the privacy officer and the administrator.
//! - **Clients**: the twelve demo clients (often) and 4,000 synthetic clients with valid BSNs
//!   (outside the 99999xxxx test range of the demo), each shared by one to three of the demo
//!   sources.
//! - **Mix** (of all events, roughly): reads 45-47%, searches 20%, logins and logouts 20%,
//!   `access_request` 4% (5% of those `spoed`), `share_received` 7%, `login_failed` 2%,
//!   `access_denied` 1%, `grant_ended` 0.5%, `log_read` 0.2%, and a few `consent_withdrawn` /
//!   `consent_restored`. A professional's session is a login, a few clients
//!   (search, access request when she has no grant yet, one or more reads under the grant),
//!   and usually a logout. Reads carry the categories and sources shown, so an event is in the
//!   scope of every organisation whose source's data it showed (DESIGN flow 7).
//! - **Bursts**: now and then (about one per 10,000 events) one user touches 25-40 clients
//!   within the hour (the bulk flag). A burst is only placed on a day with room for it, so a
//!   small history (under some 50,000 events: fewer than ~60 a day) has none.
//!
//! Events are written through [`Store::append_history`], i.e. through the same `append` as
//! live events (chained, scoped and flagged as they would have been), [`BATCH`] per
//! transaction, strictly in time order. Everything derives from the seed: the same seed, end
//! time and demo network give the same events.
//!
//! Synthetic professionals and clients exist only in the log, not in the users, clients or
//! shares tables. So a search for a synthetic BSN is scoped to the searcher's organisation
//! only (no organisation shares that BSN as far as the database knows); reads are scoped by
//! the sources they showed, as usual.

use crate::demo;
use backend::audit::{Actor, NewAuditEvent, RequestMeta};
use backend::clock::{amsterdam, start_of_local_day};
use backend::store::{now_ms, Store, StoreError};
use domain::audit_detail::{self as detail, AuditDetail};
use domain::grant::Ground;
use domain::{AuditAction, Bsn, Category, Outcome, Policy, Role};
use domain::{ClientId, GrantId, SourceId, UserId};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// The seed of `generate`.
pub const DEFAULT_SEED: u64 = 7513;
/// Events per transaction.
pub const BATCH: usize = 1_000;
/// Synthetic clients beside the demo clients.
pub const SYNTHETIC_CLIENTS: usize = 4_000;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Synthetic staff: (index of the organisation in `demo::ORGANISATIONS`, role, short name, how
/// many).
const STAFF: [(usize, Role, &str, usize); 7] = [
    (0, Role::Verloskundige, "vk", 40),
    (0, Role::Echoscopist, "echo", 6),
    (1, Role::Gynaecoloog, "gyn", 35),
    (1, Role::OgVerpleegkundige, "ogv", 80),
    (1, Role::Verloskundige, "kvk", 20),
    (1, Role::Echoscopist, "echo", 15),
    (2, Role::Kraamverzorgende, "kz", 100),
];

/// Relative activity per local hour (0-23): about 3% of the day's events at night (22-7).
const HOUR_WEIGHTS: [f64; 24] = [
    0.25, 0.2, 0.15, 0.15, 0.15, 0.2, 0.5, 2.0, 6.0, 9.0, 9.0, 8.5, 6.0, 8.0, 8.5, 8.0, 7.0, 4.0,
    2.0, 1.5, 1.4, 1.1, 0.6, 0.4,
];

const BROWSERS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
];
const TABLET: &str = "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1";

/// Usernames typed at the login page that belong to no one.
const STRANGERS: [&str; 8] = [
    "admin",
    "test",
    "a.devries",
    "verloskundige1",
    "b.jansen",
    "root",
    "gebruiker",
    "kraamzorg",
];

const SPOED_REASONS: [&str; 4] = [
    "Acute opname verloskamer, dossier eigen praktijk niet bereikbaar",
    "Overdracht ambulance, bloedverlies",
    "Dienst: cliënte meldt zich met buikpijn, 34 weken",
    "Spoedsectio, voorgeschiedenis nodig",
];

/// Which demo sources hold a category (as in the demo data set).
fn category_sources(category: Category) -> &'static [usize] {
    use Category::*;
    match category {
        Identity | CareTeam | ObstetricHistory | Pregnancy | Psychosocial | Lifestyle => &[0],
        LabScreening | Ultrasound | MedicalHistory | LabourBirth => &[1],
        FamilySituation | Newborn | Postpartum => &[2],
        Medication => &[0, 1],
    }
}

/// How far the history reaches and from which seed.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub events: u64,
    pub seed: u64,
    /// The history ends just before this time (UTC ms).
    pub end_ms: i64,
    /// ...and starts this many days earlier.
    pub days: u32,
}

impl LoadOptions {
    /// `events` over the 365 days up to now, from [`DEFAULT_SEED`].
    pub fn new(events: u64) -> Self {
        Self {
            events,
            seed: DEFAULT_SEED,
            end_ms: now_ms(),
            days: 365,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub events: u64,
    /// Events per action key.
    pub per_action: BTreeMap<&'static str, u64>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Professionals who act (demo users included).
    pub professionals: usize,
    /// Clients the events are about (demo clients included).
    pub clients: usize,
    /// Episodes in which one user touched 25 or more clients within the hour.
    pub bursts: u64,
    pub elapsed: Duration,
}

impl LoadReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Appends `events` events of realistic history (see the module header) to the access log of
/// a demo installation (`demo::seed` must have run), reporting `(done, total)` after each
/// transaction.
pub async fn generate(
    store: &Store,
    events: u64,
    progress: impl FnMut(u64, u64),
) -> Result<LoadReport, StoreError> {
    generate_with(store, &LoadOptions::new(events), progress).await
}

/// [`generate`] with another seed, period or end.
pub async fn generate_with(
    store: &Store,
    options: &LoadOptions,
    mut progress: impl FnMut(u64, u64),
) -> Result<LoadReport, StoreError> {
    let started = Instant::now();
    let facts = Facts::gather(store).await?;
    let mut generator = Generator::new(facts, options);
    let mut batch = Vec::with_capacity(BATCH);
    let mut done = 0;
    while let Some(day) = generator.next_day() {
        for event in day {
            batch.push(event);
            if batch.len() >= BATCH {
                done += batch.len() as u64;
                store.append_history(std::mem::take(&mut batch)).await?;
                progress(done, options.events);
            }
        }
    }
    if !batch.is_empty() {
        done += batch.len() as u64;
        store.append_history(batch).await?;
        progress(done, options.events);
    }
    let mut report = generator.report;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// A demo user as the store knows her.
#[derive(Debug, Clone)]
struct KnownUser {
    id: UserId,
    username: String,
    role: Role,
    organisation_id: String,
}

/// What the generator needs to know of the installation.
#[derive(Debug, Clone)]
struct Facts {
    users: Vec<KnownUser>,
    /// (BSN, client id, sharing source ids)
    demo_clients: Vec<(String, ClientId, Vec<SourceId>)>,
    policy: Policy,
}

impl Facts {
    async fn gather(store: &Store) -> Result<Self, StoreError> {
        for org in &demo::ORGANISATIONS {
            match store.source(&SourceId::from(org.source)).await? {
                Some(s) if s.organisation_id == org.id => {}
                _ => return Err(StoreError::NotFound(backend::store::Entity::DemoNetwork)),
            }
        }
        let mut users = Vec::new();
        for (username, ..) in demo::USERS {
            let Some(row) = store.user_by_username(username).await? else {
                continue;
            };
            if let (role, false) = (row.role, row.is_disabled()) {
                users.push(KnownUser {
                    id: row.id,
                    username: row.username,
                    role,
                    organisation_id: row.organisation_id,
                });
            }
        }
        let mut demo_clients = Vec::new();
        for (bsn, ..) in demo::demo_clients() {
            let Some(id) = store.client_id_by_bsn(bsn.as_ref()).await? else {
                continue;
            };
            let sources = store
                .sharing_sources(&id)
                .await?
                .into_iter()
                .map(|s| s.source_id)
                .collect();
            demo_clients.push((bsn.as_ref().to_owned(), id, sources));
        }
        Ok(Self {
            users,
            demo_clients,
            policy: store.policy().await?,
        })
    }
}

/// A grant a professional holds (in the generator's memory only).
#[derive(Debug, Clone)]
struct Grant {
    client: usize,
    id: GrantId,
    ground: Ground,
    expires: i64,
}

#[derive(Debug)]
struct Person {
    actor: Actor,
    /// Index of her organisation in `demo::ORGANISATIONS`.
    org: usize,
    ip: String,
    browser: &'static str,
    /// Works on a tablet on the road: another address each session.
    mobile: bool,
    visible: Vec<Category>,
    grants: Vec<Grant>,
    /// Clients whose grant ran out (the next view of such a client is refused).
    lapsed: Vec<usize>,
}

#[derive(Debug)]
struct Client {
    bsn: String,
    id: ClientId,
    sources: Vec<usize>,
    categories: Vec<Category>,
    /// Sources whose consent is withdrawn.
    withdrawn: Vec<usize>,
}

struct Network {
    people: Vec<Person>,
    professionals: Vec<usize>,
    pick_professional: WeightedIndex<f64>,
    officer: Option<usize>,
    admin: Option<usize>,
    clients: Vec<Client>,
    /// Per source: the clients it shares, and a weighted pick among them.
    pools: Vec<(Vec<usize>, WeightedIndex<f64>)>,
    pick_client: WeightedIndex<f64>,
    known_bsns: HashSet<String>,
}

fn uuid(rng: &mut StdRng) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid()
}

/// A valid BSN outside `taken` and outside the demo's 99999xxxx range.
fn synthetic_bsn(rng: &mut StdRng, taken: &HashSet<String>) -> String {
    loop {
        let n: u32 = rng.gen_range(200_000_000..999_990_000);
        let text = n.to_string();
        if Bsn::parse(&text).is_ok() && !taken.contains(&text) {
            return text;
        }
    }
}

/// 0, 1, 2, ... with P(k) = (1 - q) q^k (mean q / (1 - q)), capped.
fn geometric(rng: &mut StdRng, q: f64, cap: u32) -> u32 {
    let mut k = 0;
    while k < cap && rng.gen_bool(q) {
        k += 1;
    }
    k
}

impl Network {
    fn build(facts: Facts, rng: &mut StdRng) -> Self {
        let org_index = |id: &str| demo::ORGANISATIONS.iter().position(|o| o.id == id);
        let mut people = Vec::new();
        let mut professionals = Vec::new();
        let mut weights = Vec::new();
        let (mut officer, mut admin) = (None, None);
        let mut add = |person: Person, weight: f64, people: &mut Vec<Person>| {
            if person.actor.role.is_clinical() {
                professionals.push(people.len());
                weights.push(weight);
            }
            people.push(person);
        };
        for (n, user) in facts.users.iter().enumerate() {
            let Some(org) = org_index(&user.organisation_id) else {
                continue;
            };
            match user.role {
                Role::PrivacyOfficer => officer = Some(people.len()),
                Role::Beheerder => admin = Some(people.len()),
                _ => {}
            }
            let person = Person {
                actor: Actor {
                    user_id: user.id.clone(),
                    user_name: user.username.clone(),
                    role: user.role,
                    organisation_id: user.organisation_id.clone(),
                },
                org,
                ip: format!("10.{}.0.{}", 10 * (org + 1), 10 + n),
                browser: if user.role == Role::Kraamverzorgende {
                    TABLET
                } else {
                    BROWSERS[n % BROWSERS.len()]
                },
                mobile: user.role == Role::Kraamverzorgende,
                visible: facts.policy.visible_categories(user.role),
                grants: Vec::new(),
                lapsed: Vec::new(),
            };
            // The demo users are the busiest: their own log pages fill up.
            add(person, 4.0, &mut people);
        }
        let mut n = 0;
        for (org, role, short, count) in STAFF {
            for _ in 0..count {
                n += 1;
                let person = Person {
                    actor: Actor {
                        user_id: UserId::from(format!("gen-{n:04}")),
                        user_name: format!("gen-{short}-{n:04}"),
                        role,
                        organisation_id: demo::ORGANISATIONS[org].id.to_owned(),
                    },
                    org,
                    ip: format!("10.{}.{}.{}", 10 * (org + 1), 1 + n / 200, 1 + n % 200),
                    browser: if role == Role::Kraamverzorgende {
                        TABLET
                    } else {
                        BROWSERS.choose(rng).copied().unwrap_or(BROWSERS[0])
                    },
                    mobile: role == Role::Kraamverzorgende,
                    visible: facts.policy.visible_categories(role),
                    grants: Vec::new(),
                    lapsed: Vec::new(),
                };
                // Many part-timers, a few who do most of the work.
                let u: f64 = rng.gen();
                add(person, 0.3 + 2.7 * u * u, &mut people);
            }
        }

        let mut clients = Vec::new();
        let mut client_weights = Vec::new();
        let mut known_bsns: HashSet<String> = demo::demo_bsns()
            .iter()
            .map(|b| b.as_ref().to_owned())
            .collect();
        for (bsn, id, sources) in &facts.demo_clients {
            let mut sources: Vec<usize> = sources
                .iter()
                .filter_map(|s| {
                    demo::ORGANISATIONS
                        .iter()
                        .position(|o| o.source == s.as_str())
                })
                .collect();
            sources.sort_unstable();
            clients.push(Client {
                bsn: bsn.clone(),
                id: id.clone(),
                sources,
                categories: Category::ALL.to_vec(),
                withdrawn: Vec::new(),
            });
            client_weights.push(6.0);
        }
        for _ in 0..SYNTHETIC_CLIENTS {
            let bsn = synthetic_bsn(rng, &known_bsns);
            known_bsns.insert(bsn.clone());
            // Nearly every client has a midwife; many see the hospital, many get kraamzorg.
            let mut sources: Vec<usize> = [0.85, 0.55, 0.55]
                .iter()
                .enumerate()
                .filter(|(_, p)| rng.gen_bool(**p))
                .map(|(i, _)| i)
                .collect();
            if sources.is_empty() {
                sources.push(rng.gen_range(0..demo::ORGANISATIONS.len()));
            }
            let categories = Category::ALL
                .iter()
                .copied()
                .filter(|_| rng.gen_bool(0.8))
                .collect();
            clients.push(Client {
                bsn,
                id: ClientId::from(uuid(rng).simple().to_string()),
                sources,
                categories,
                withdrawn: Vec::new(),
            });
            client_weights.push(1.0);
        }
        let pools = (0..demo::ORGANISATIONS.len())
            .map(|s| {
                let members: Vec<usize> = (0..clients.len())
                    .filter(|c| clients[*c].sources.contains(&s))
                    .collect();
                let w: Vec<f64> = members.iter().map(|c| client_weights[*c]).collect();
                let pick = WeightedIndex::new(&w).expect("every source shares clients");
                (members, pick)
            })
            .collect();
        Network {
            pick_professional: WeightedIndex::new(&weights).expect("professionals"),
            professionals,
            people,
            officer,
            admin,
            pick_client: WeightedIndex::new(&client_weights).expect("clients"),
            clients,
            pools,
            known_bsns,
        }
    }
}

/// One step of an episode. Every step writes one event, except the focus steps, which pick
/// the client the following steps are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Focus: a client she holds a grant for.
    Existing,
    /// Focus: a client she has no grant for yet.
    New {
        spoed: bool,
    },
    /// Focus: a client whose grant ran out.
    Lapsed,
    LoginFailed,
    Login,
    Logout,
    Search,
    SearchMiss,
    AccessRequest,
    Read,
    Denied,
    GrantEnded,
    Share,
    Consent,
    LogRead,
    StrangerFailed,
}

impl Step {
    fn is_event(self) -> bool {
        !matches!(self, Step::Existing | Step::New { .. } | Step::Lapsed)
    }
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Person(usize),
    Source(usize),
    Stranger,
}

#[derive(Debug)]
struct Episode {
    who: Who,
    steps: Vec<Step>,
    burst: bool,
}

impl Episode {
    fn events(&self) -> u64 {
        self.steps.iter().filter(|s| s.is_event()).count() as u64
    }

    /// Keeps the first `n` events (and the focus steps before them).
    fn truncate_events(&mut self, n: u64) {
        let mut seen = 0;
        let cut = self
            .steps
            .iter()
            .position(|s| {
                if s.is_event() {
                    seen += 1;
                }
                seen > n
            })
            .unwrap_or(self.steps.len());
        self.steps.truncate(cut);
    }
}

/// One local calendar day of the period.
struct Day {
    lo: i64,
    hi: i64,
    /// Its hours, clipped to the period, and a weighted pick among them.
    hours: Vec<(i64, i64)>,
    pick: Option<WeightedIndex<f64>>,
    mass: f64,
}

fn days(end_ms: i64, count: u32) -> Vec<Day> {
    let start = end_ms - i64::from(count) * DAY_MS;
    let mut date = amsterdam(start).date();
    let last = amsterdam(end_ms - 1).date();
    let mut out = Vec::new();
    while let Some(next) = date.next_day() {
        let (ds, de) = (start_of_local_day(date), start_of_local_day(next));
        let (lo, hi) = (ds.max(start), de.min(end_ms));
        let mut hours = Vec::new();
        let mut weights = Vec::new();
        for (h, weight) in HOUR_WEIGHTS.iter().enumerate() {
            let a = (ds + h as i64 * HOUR_MS).max(lo);
            let b = (ds + (h as i64 + 1) * HOUR_MS).min(hi);
            if b > a {
                hours.push((a, b));
                weights.push(weight * (b - a) as f64 / HOUR_MS as f64);
            }
        }
        let weekday = match date.weekday() {
            time::Weekday::Saturday => 0.35,
            time::Weekday::Sunday => 0.3,
            _ => 1.0,
        };
        out.push(Day {
            lo,
            hi,
            hours,
            mass: weekday * weights.iter().sum::<f64>(),
            pick: WeightedIndex::new(&weights).ok(),
        });
        if date >= last {
            break;
        }
        date = next;
    }
    out
}

/// Splits `total` over the days in proportion to their mass (largest remainder).
fn quotas(total: u64, days: &[Day]) -> Vec<u64> {
    let sum: f64 = days.iter().map(|d| d.mass).sum();
    if days.is_empty() || sum <= 0.0 {
        return vec![0; days.len()];
    }
    let exact: Vec<f64> = days.iter().map(|d| total as f64 * d.mass / sum).collect();
    let mut out: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let mut order: Vec<usize> = (0..days.len()).filter(|i| days[*i].mass > 0.0).collect();
    order.sort_by(|a, b| {
        let (ra, rb) = (exact[*a] - exact[*a].floor(), exact[*b] - exact[*b].floor());
        rb.total_cmp(&ra).then(a.cmp(b))
    });
    let mut rest = total.saturating_sub(out.iter().sum());
    while rest > 0 {
        for i in &order {
            if rest == 0 {
                break;
            }
            out[*i] += 1;
            rest -= 1;
        }
    }
    out
}

fn sample_time(day: &Day, rng: &mut StdRng) -> i64 {
    match &day.pick {
        Some(pick) => {
            let (a, b) = day.hours[pick.sample(rng)];
            rng.gen_range(a..b)
        }
        None => day.lo,
    }
}

/// What the steps of an episode are about.
#[derive(Default)]
struct Focus {
    client: Option<usize>,
    grant: Option<(GrantId, Ground)>,
    /// The ground of the access request her next read needs (no grant yet).
    ground: Option<Ground>,
}

struct Generator {
    net: Network,
    rng: StdRng,
    days: Vec<Day>,
    quotas: Vec<u64>,
    next: usize,
    last_ms: i64,
    pick_episode: WeightedIndex<f64>,
    report: LoadReport,
}

/// Episode kinds, in the order of their weights in `Generator::new`.
const SESSION: usize = 0;
const SOURCE_CALLS: usize = 1;
const STRANGER: usize = 2;
const OFFICER: usize = 3;
const ADMIN: usize = 4;
const BURST: usize = 5;

impl Generator {
    fn new(facts: Facts, options: &LoadOptions) -> Self {
        let mut rng = StdRng::seed_from_u64(options.seed);
        let mut net = Network::build(facts, &mut rng);
        let days = days(options.end_ms, options.days);
        let quotas = quotas(options.events, &days);
        let start = options.end_ms - i64::from(options.days) * DAY_MS;
        // The log starts in the middle of things: everyone already treats some clients.
        for p in net.professionals.clone() {
            for _ in 0..rng.gen_range(3..=12) {
                let client = Self::pick_new_client(&net, p, &mut rng);
                let grant = Grant {
                    client,
                    id: GrantId::from(uuid(&mut rng).to_string()),
                    ground: [
                        Ground::Behandelrelatie,
                        Ground::Verwijzing,
                        Ground::Waarneming,
                    ][rng.gen_range(0..3)],
                    expires: start + rng.gen_range(1..=240) * DAY_MS,
                };
                net.people[p].grants.push(grant);
            }
        }
        let weights = [
            1.0,
            0.15,
            0.025,
            if net.officer.is_some() { 0.004 } else { 0.0 },
            if net.admin.is_some() { 0.003 } else { 0.0 },
            0.0008,
        ];
        let report = LoadReport {
            professionals: net.professionals.len(),
            clients: net.clients.len(),
            ..LoadReport::default()
        };
        Generator {
            net,
            rng,
            days,
            quotas,
            next: 0,
            last_ms: start,
            pick_episode: WeightedIndex::new(weights).expect("episode weights"),
            report,
        }
    }

    /// The next day's events in time order, or `None` when the history is complete.
    fn next_day(&mut self) -> Option<Vec<(NewAuditEvent, i64)>> {
        while self.next < self.days.len() {
            let i = self.next;
            self.next += 1;
            if self.quotas[i] > 0 {
                return Some(self.day(i, self.quotas[i]));
            }
        }
        None
    }

    fn day(&mut self, i: usize, quota: u64) -> Vec<(NewAuditEvent, i64)> {
        // First what happens that day, to the exact count; then when.
        let mut episodes = Vec::new();
        let mut planned = 0;
        while planned < quota {
            let mut episode = self.plan();
            if planned + episode.events() > quota {
                if episode.burst {
                    // A burst cut short is no burst: draw another episode instead.
                    continue;
                }
                episode.truncate_events(quota - planned);
            }
            planned += episode.events();
            if episode.burst {
                self.report.bursts += 1;
            }
            episodes.push(episode);
        }
        let (lo, hi) = (self.days[i].lo, self.days[i].hi);
        let mut starts: Vec<i64> = {
            let day = &self.days[i];
            (0..episodes.len())
                .map(|_| sample_time(day, &mut self.rng))
                .collect()
        };
        starts.sort_unstable();
        let mut events = Vec::with_capacity(quota as usize);
        for (episode, start) in episodes.into_iter().zip(starts) {
            self.play(episode, start, lo, hi, &mut events);
        }
        events.sort_by_key(|(_, at)| *at);
        for (event, at) in events.iter_mut() {
            // Strictly rising times; ties (rare) move a millisecond.
            if *at <= self.last_ms {
                *at = self.last_ms + 1;
            }
            self.last_ms = *at;
            self.report.events += 1;
            *self
                .report
                .per_action
                .entry(event.action.as_str())
                .or_default() += 1;
            self.report.first_ms.get_or_insert(*at);
            self.report.last_ms = Some(*at);
        }
        events
    }

    /// Draws an episode: its actor and steps.
    fn plan(&mut self) -> Episode {
        let rng = &mut self.rng;
        match self.pick_episode.sample(rng) {
            SOURCE_CALLS => {
                let source = rng.gen_range(0..demo::ORGANISATIONS.len());
                let mut steps = vec![Step::Share; 1 + geometric(rng, 0.75, 40) as usize];
                if rng.gen_bool(0.012) {
                    steps.push(Step::Consent);
                }
                Episode {
                    who: Who::Source(source),
                    steps,
                    burst: false,
                }
            }
            STRANGER => Episode {
                who: Who::Stranger,
                steps: vec![Step::StrangerFailed; rng.gen_range(1..=3)],
                burst: false,
            },
            OFFICER => {
                let mut steps = vec![Step::Login];
                steps.extend(vec![Step::LogRead; rng.gen_range(2..=8)]);
                steps.push(Step::Logout);
                Episode {
                    who: Who::Person(self.net.officer.expect("weighted 0 without")),
                    steps,
                    burst: false,
                }
            }
            ADMIN => Episode {
                who: Who::Person(self.net.admin.expect("weighted 0 without")),
                steps: vec![Step::Login, Step::Logout],
                burst: false,
            },
            BURST => {
                let p = self.net.professionals[self.net.pick_professional.sample(rng)];
                let mut steps = vec![Step::Login];
                for _ in 0..rng.gen_range(25..=40) {
                    steps.push(Step::New { spoed: false });
                    steps.push(Step::Search);
                    if rng.gen_bool(0.5) {
                        steps.extend([Step::AccessRequest, Step::Read]);
                    }
                }
                steps.push(Step::Logout);
                Episode {
                    who: Who::Person(p),
                    steps,
                    burst: true,
                }
            }
            SESSION => {
                let p = self.net.professionals[self.net.pick_professional.sample(rng)];
                let mut steps = Vec::new();
                if rng.gen_bool(0.10) {
                    steps.push(Step::LoginFailed);
                    if rng.gen_bool(0.2) {
                        steps.push(Step::LoginFailed);
                    }
                }
                steps.push(Step::Login);
                for _ in 0..1 + geometric(rng, 0.565, 11) {
                    let u: f64 = rng.gen();
                    if u < 0.038 {
                        steps.push(Step::Lapsed);
                        if rng.gen_bool(0.5) {
                            steps.push(Step::Search);
                        }
                        steps.push(Step::Denied);
                    } else if u < 0.038 + 0.145 {
                        steps.push(Step::New {
                            spoed: rng.gen_bool(0.05),
                        });
                        if rng.gen_bool(0.9) {
                            if rng.gen_bool(0.04) {
                                steps.push(Step::SearchMiss);
                            }
                            steps.push(Step::Search);
                        }
                        steps.push(Step::AccessRequest);
                        steps.extend(vec![Step::Read; 1 + geometric(rng, 0.47, 12) as usize]);
                    } else {
                        steps.push(Step::Existing);
                        if rng.gen_bool(0.742) {
                            if rng.gen_bool(0.02) {
                                steps.push(Step::SearchMiss);
                            }
                            steps.push(Step::Search);
                        }
                        steps.extend(vec![Step::Read; 1 + geometric(rng, 0.47, 12) as usize]);
                    }
                    if rng.gen_bool(0.022) {
                        steps.push(Step::GrantEnded);
                    }
                }
                if rng.gen_bool(0.74) {
                    steps.push(Step::Logout);
                }
                Episode {
                    who: Who::Person(p),
                    steps,
                    burst: false,
                }
            }
            _ => unreachable!("six episode kinds"),
        }
    }

    /// Milliseconds before a step.
    fn gap(&mut self, step: Step, burst: bool) -> i64 {
        let (a, b) = match step {
            Step::Existing | Step::New { .. } | Step::Lapsed if burst => (5, 30),
            Step::Existing | Step::New { .. } | Step::Lapsed => (15, 180),
            Step::LoginFailed | Step::StrangerFailed | Step::Login => (3, 25),
            Step::Search | Step::SearchMiss => (5, 45),
            Step::AccessRequest if burst => (5, 25),
            Step::AccessRequest => (20, 150),
            Step::Read if burst => (2, 20),
            Step::Read => (3, 240),
            Step::Denied => (2, 15),
            Step::GrantEnded => (10, 90),
            Step::Logout => (20, 900),
            Step::Share => (0, 40),
            Step::Consent => (1, 60),
            Step::LogRead => (10, 240),
        };
        self.rng.gen_range(a * 1000..=b * 1000 + 999)
    }

    fn request(&mut self, ip: &str, user_agent: &str) -> RequestMeta {
        RequestMeta {
            ip: Some(ip.to_owned()),
            user_agent: Some(user_agent.to_owned()),
            request_id: Some(uuid(&mut self.rng).to_string()),
        }
    }

    fn pick_new_client(net: &Network, p: usize, rng: &mut StdRng) -> usize {
        let person = &net.people[p];
        let mut client = 0;
        for _ in 0..5 {
            // Mostly clients her own organisation shares; sometimes a referral.
            client = if rng.gen_bool(0.75) {
                let (members, pick) = &net.pools[person.org];
                members[pick.sample(rng)]
            } else {
                net.pick_client.sample(rng)
            };
            if !person.grants.iter().any(|g| g.client == client) {
                break;
            }
        }
        client
    }

    fn ground(&mut self) -> Ground {
        let u: f64 = self.rng.gen();
        if u < 0.6 {
            Ground::Behandelrelatie
        } else if u < 0.85 {
            Ground::Verwijzing
        } else {
            Ground::Waarneming
        }
    }

    /// Writes the episode's events from `start` (moved earlier if it would run past `hi`).
    fn play(
        &mut self,
        episode: Episode,
        start: i64,
        lo: i64,
        hi: i64,
        out: &mut Vec<(NewAuditEvent, i64)>,
    ) {
        let mut offsets = Vec::with_capacity(episode.steps.len());
        let mut offset = 0;
        for (n, step) in episode.steps.iter().enumerate() {
            if n > 0 {
                offset += self.gap(*step, episode.burst);
            }
            offsets.push(offset);
        }
        let start = if start + offset >= hi {
            (hi - 1 - offset).max(lo)
        } else {
            start
        };
        match episode.who {
            Who::Person(p) => self.play_person(p, &episode, start, &offsets, out),
            Who::Source(s) => self.play_source(s, &episode, start, &offsets, out),
            Who::Stranger => {
                let name = STRANGERS[self.rng.gen_range(0..STRANGERS.len())];
                let ip = format!(
                    "{}.{}.{}.{}",
                    self.rng.gen_range(31..=95),
                    self.rng.gen_range(0..=255),
                    self.rng.gen_range(0..=255),
                    self.rng.gen_range(1..=254)
                );
                for (n, at) in offsets.iter().enumerate() {
                    let mut event = NewAuditEvent::new(AuditAction::LoginFailed, Outcome::Denied)
                        .with_request(self.request(&ip, BROWSERS[0]))
                        .with_detail(AuditDetail::LoginFailed(detail::LoginFailed {
                            failures_for_name: Some(n as i64 + 1),
                            failures_from_address: Some(n as i64 + 1),
                            ..Default::default()
                        }));
                    event.attempted_user_name = Some(name.to_owned());
                    out.push((event, start + at));
                }
            }
        }
    }

    fn play_source(
        &mut self,
        s: usize,
        episode: &Episode,
        start: i64,
        offsets: &[i64],
        out: &mut Vec<(NewAuditEvent, i64)>,
    ) {
        let demo::DemoOrganisation {
            id: organisation,
            source,
            source_agent: agent,
            source_ip: ip,
            ..
        } = demo::ORGANISATIONS[s];
        for (step, offset) in episode.steps.iter().zip(offsets) {
            let request = self.request(ip, agent);
            let rng = &mut self.rng;
            let (members, pick) = &self.net.pools[s];
            let (action, client, detail) = match step {
                Step::Consent => {
                    let withdrawn: Vec<usize> = members
                        .iter()
                        .copied()
                        .filter(|c| self.net.clients[*c].withdrawn.contains(&s))
                        .collect();
                    if !withdrawn.is_empty() && rng.gen_bool(0.35) {
                        let c = withdrawn[rng.gen_range(0..withdrawn.len())];
                        self.net.clients[c].withdrawn.retain(|x| *x != s);
                        (
                            AuditAction::ConsentRestored,
                            c,
                            AuditDetail::ConsentRestored,
                        )
                    } else {
                        let c = members[pick.sample(rng)];
                        if !self.net.clients[c].withdrawn.contains(&s) {
                            self.net.clients[c].withdrawn.push(s);
                        }
                        (
                            AuditAction::ConsentWithdrawn,
                            c,
                            AuditDetail::ConsentWithdrawn,
                        )
                    }
                }
                _ => {
                    let mut c = members[pick.sample(rng)];
                    for _ in 0..5 {
                        if !self.net.clients[c].withdrawn.contains(&s) {
                            break;
                        }
                        c = members[pick.sample(rng)];
                    }
                    let detail = AuditDetail::ShareReceived(detail::ShareCounts {
                        // i32, as the free JSON had it: the same draws from the seeded rng.
                        pregnancies: rng.gen_range(1..=3i32).into(),
                        entries: rng.gen_range(4..=60i32).into(),
                    });
                    (AuditAction::ShareReceived, c, detail)
                }
            };
            let client = &self.net.clients[client];
            let mut event = NewAuditEvent::new(action, Outcome::Success)
                .with_request(request)
                .with_detail(detail);
            event.organisation_id = Some(organisation.to_owned());
            event.source_id = Some(SourceId::from(source));
            event.client_id = Some(client.id.clone());
            event.bsn = Some(client.bsn.clone());
            out.push((event, start + offset));
        }
    }

    /// What a read of the client by the person shows: the categories she may see that the
    /// client's sources (with consent) hold.
    fn read_detail(&mut self, p: usize, c: usize) -> AuditDetail {
        let client = &self.net.clients[c];
        let mut categories = Vec::new();
        let mut sources = Vec::new();
        let mut entries = 0;
        for category in &self.net.people[p].visible {
            if !client.categories.contains(category) {
                continue;
            }
            let from: Vec<usize> = category_sources(*category)
                .iter()
                .copied()
                .filter(|s| client.sources.contains(s) && !client.withdrawn.contains(s))
                .collect();
            if from.is_empty() {
                continue;
            }
            categories.push(category.as_str());
            sources.extend(from.iter().map(|s| demo::ORGANISATIONS[*s].source));
            entries += self.rng.gen_range(1..=5) * from.len();
        }
        categories.sort_unstable();
        sources.sort_unstable();
        sources.dedup();
        AuditDetail::Read(detail::Read {
            categories: categories.iter().map(|&c| c.to_owned()).collect(),
            sources: sources.iter().map(|&s| SourceId::from(s)).collect(),
            entries: Some(entries as i64),
            ..Default::default()
        })
    }

    fn play_person(
        &mut self,
        p: usize,
        episode: &Episode,
        start: i64,
        offsets: &[i64],
        out: &mut Vec<(NewAuditEvent, i64)>,
    ) {
        let ip = if self.net.people[p].mobile {
            format!(
                "100.{}.{}.{}",
                self.rng.gen_range(64..=127),
                self.rng.gen_range(0..=255),
                self.rng.gen_range(1..=254)
            )
        } else {
            self.net.people[p].ip.clone()
        };
        let browser = self.net.people[p].browser;
        let mut focus = Focus::default();
        let mut failures = 0;
        for (step, offset) in episode.steps.iter().zip(offsets) {
            let at = start + offset;
            match step {
                Step::Existing => {
                    let person = &mut self.net.people[p];
                    let (valid, lapsed): (Vec<Grant>, Vec<Grant>) =
                        person.grants.drain(..).partition(|g| g.expires > at);
                    person.grants = valid;
                    person.lapsed.extend(lapsed.iter().map(|g| g.client));
                    let excess = person.lapsed.len().saturating_sub(20);
                    person.lapsed.drain(..excess);
                    focus = match person.grants.choose(&mut self.rng) {
                        Some(g) => Focus {
                            client: Some(g.client),
                            grant: Some((g.id.clone(), g.ground)),
                            ground: None,
                        },
                        None => Focus {
                            client: Some(Self::pick_new_client(&self.net, p, &mut self.rng)),
                            grant: None,
                            ground: Some(self.ground()),
                        },
                    };
                    continue;
                }
                Step::New { spoed } => {
                    let client = Self::pick_new_client(&self.net, p, &mut self.rng);
                    let ground = if *spoed { Ground::Spoed } else { self.ground() };
                    focus = Focus {
                        client: Some(client),
                        grant: None,
                        ground: Some(ground),
                    };
                    continue;
                }
                Step::Lapsed => {
                    let person = &self.net.people[p];
                    let client = match person.lapsed.choose(&mut self.rng) {
                        Some(c) => *c,
                        None => Self::pick_new_client(&self.net, p, &mut self.rng),
                    };
                    focus = Focus {
                        client: Some(client),
                        grant: None,
                        ground: None,
                    };
                    continue;
                }
                _ => {}
            }
            let request = self.request(&ip, browser);
            let actor = self.net.people[p].actor.clone();
            let event = |action, outcome| {
                NewAuditEvent::new(action, outcome)
                    .by(actor.clone())
                    .with_request(request.clone())
            };
            let client = focus
                .client
                .unwrap_or_else(|| Self::pick_new_client(&self.net, p, &mut self.rng));
            let about = |mut e: NewAuditEvent, net: &Network| {
                e.client_id = Some(net.clients[client].id.clone());
                e.bsn = Some(net.clients[client].bsn.clone());
                e
            };
            let step = match step {
                Step::Read if focus.grant.is_none() => Step::AccessRequest,
                Step::GrantEnded if self.net.people[p].grants.is_empty() => Step::Search,
                other => *other,
            };
            let logged = match step {
                Step::Login => event(AuditAction::Login, Outcome::Success),
                Step::Logout => event(AuditAction::Logout, Outcome::Success),
                Step::LoginFailed => {
                    failures += 1;
                    event(AuditAction::LoginFailed, Outcome::Denied).with_detail(
                        AuditDetail::LoginFailed(detail::LoginFailed {
                            failures_for_name: Some(failures),
                            failures_from_address: Some(failures),
                            ..Default::default()
                        }),
                    )
                }
                Step::Search => about(event(AuditAction::Search, Outcome::Success), &self.net)
                    .with_detail(AuditDetail::Search(detail::Search {
                        found: Some(true),
                        outcome: Some("found".to_owned()),
                        ..Default::default()
                    })),
                Step::SearchMiss => {
                    let mut e = event(AuditAction::Search, Outcome::Success).with_detail(
                        AuditDetail::Search(detail::Search {
                            found: Some(false),
                            outcome: Some("unknown_bsn".to_owned()),
                            ..Default::default()
                        }),
                    );
                    e.bsn = Some(synthetic_bsn(&mut self.rng, &self.net.known_bsns));
                    e
                }
                Step::AccessRequest => {
                    let ground = focus.ground.unwrap_or(Ground::Behandelrelatie);
                    let spoed = ground == Ground::Spoed;
                    let expires = if spoed {
                        at + DAY_MS
                    } else {
                        at + self.rng.gen_range(30..=280) * DAY_MS
                    };
                    let reason = if spoed {
                        SPOED_REASONS[self.rng.gen_range(0..SPOED_REASONS.len())]
                    } else {
                        ""
                    };
                    let id = GrantId::from(uuid(&mut self.rng).to_string());
                    self.net.people[p].grants.push(Grant {
                        client,
                        id: id.clone(),
                        ground,
                        expires,
                    });
                    focus.grant = Some((id.clone(), ground));
                    let mut e = about(
                        event(AuditAction::AccessRequest, Outcome::Success),
                        &self.net,
                    )
                    .with_detail(AuditDetail::AccessRequest(
                        detail::AccessRequest {
                            reason: Some(reason.to_owned()),
                            attested: Some(true),
                            expires_at: Some(expires),
                            emergency: Some(spoed),
                            ..Default::default()
                        },
                    ));
                    e.grant_id = Some(id);
                    e.ground = Some(ground);
                    e
                }
                Step::Read => {
                    let (grant, ground) = focus.grant.clone().expect("checked above");
                    let detail = self.read_detail(p, client);
                    let mut e = about(event(AuditAction::Read, Outcome::Success), &self.net)
                        .with_detail(detail);
                    e.grant_id = Some(grant);
                    e.ground = Some(ground);
                    e
                }
                Step::Denied => about(event(AuditAction::AccessDenied, Outcome::Denied), &self.net)
                    .with_detail(AuditDetail::AccessDenied(detail::Refusal {
                        reason: "no_valid_grant".to_owned(),
                    })),
                Step::GrantEnded => {
                    let person = &mut self.net.people[p];
                    let i = self.rng.gen_range(0..person.grants.len());
                    let grant = person.grants.swap_remove(i);
                    if focus.client == Some(grant.client) {
                        focus.grant = None;
                    }
                    let mut e = event(AuditAction::GrantEnded, Outcome::Success);
                    e.client_id = Some(self.net.clients[grant.client].id.clone());
                    e.bsn = Some(self.net.clients[grant.client].bsn.clone());
                    e.grant_id = Some(grant.id);
                    e.ground = Some(grant.ground);
                    e
                }
                Step::LogRead => {
                    let mut e = event(AuditAction::LogRead, Outcome::Success);
                    let by_client = self.rng.gen_bool(0.3);
                    if by_client {
                        e.bsn = Some(self.net.clients[client].bsn.clone());
                    }
                    let from = at - self.rng.gen_range(1..=90) * DAY_MS;
                    e.with_detail(AuditDetail::LogRead(detail::LogFilters {
                        filters: detail::ReviewFilters {
                            from: Some(from),
                            flagged_only: !by_client && self.rng.gen_bool(0.5),
                            client: by_client,
                            ..Default::default()
                        },
                    }))
                }
                Step::Share
                | Step::Consent
                | Step::StrangerFailed
                | Step::Existing
                | Step::New { .. }
                | Step::Lapsed => unreachable!("not a step of a person"),
            };
            out.push((logged, at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backend::integrity::VerifyReport;
    use backend::store::Db;

    /// A fixed end, so the tests do not depend on today.
    const END: i64 = 1_780_000_000_000;

    fn facts() -> Facts {
        let users = demo::USERS
            .iter()
            .enumerate()
            .map(|(n, (username, _, role, organisation))| KnownUser {
                id: UserId::from(format!("user-{n}")),
                username: (*username).to_owned(),
                role: Role::parse(role).unwrap(),
                organisation_id: (*organisation).to_owned(),
            })
            .collect();
        let demo_clients = demo::demo_bsns()
            .iter()
            .enumerate()
            .map(|(n, bsn)| {
                let sources = demo::client_sources(n)
                    .iter()
                    .map(|s| SourceId::from(demo::ORGANISATIONS[*s].source))
                    .collect();
                (
                    bsn.as_ref().to_owned(),
                    ClientId::from(format!("client-{n}")),
                    sources,
                )
            })
            .collect();
        Facts {
            users,
            demo_clients,
            policy: Policy::default_design(),
        }
    }

    fn all_events(events: u64, seed: u64) -> (Vec<(NewAuditEvent, i64)>, LoadReport) {
        let options = LoadOptions {
            events,
            seed,
            end_ms: END,
            days: 365,
        };
        let mut generator = Generator::new(facts(), &options);
        let mut all = Vec::new();
        while let Some(day) = generator.next_day() {
            all.extend(day);
        }
        (all, generator.report)
    }

    /// The most distinct clients one user searched, viewed or requested within an hour.
    fn most_clients_in_an_hour(events: &[(NewAuditEvent, i64)]) -> usize {
        let mut by_user: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
        for (e, at) in events {
            if let (Some(actor), Some(bsn), true) = (
                &e.actor,
                &e.bsn,
                domain::audit_flag::is_client_access(e.action),
            ) {
                by_user
                    .entry(actor.user_id.as_str())
                    .or_default()
                    .push((*at, bsn));
            }
        }
        let mut most = 0;
        for accesses in by_user.values() {
            let mut from = 0;
            for (i, (at, _)) in accesses.iter().enumerate() {
                while accesses[from].0 <= at - HOUR_MS {
                    from += 1;
                }
                let distinct: HashSet<&str> = accesses[from..=i].iter().map(|a| a.1).collect();
                most = most.max(distinct.len());
            }
        }
        most
    }

    fn share(report: &LoadReport, action: &str) -> f64 {
        *report.per_action.get(action).unwrap_or(&0) as f64 / report.events as f64
    }

    #[test]
    fn the_history_has_the_asked_size_mix_and_timing() {
        let (events, report) = all_events(60_000, DEFAULT_SEED);
        assert_eq!(events.len(), 60_000);
        assert_eq!(report.events, 60_000);
        assert_eq!(report.per_action.values().sum::<u64>(), 60_000);
        // Strictly rising times within the year before the end.
        assert!(events.windows(2).all(|w| w[0].1 < w[1].1));
        assert!(events[0].1 >= END - 365 * DAY_MS);
        assert!(events.last().unwrap().1 < END + 1_000);
        for (action, low, high) in [
            ("read", 0.40, 0.50),
            ("search", 0.17, 0.23),
            ("access_request", 0.03, 0.05),
            ("access_denied", 0.005, 0.015),
            ("login_failed", 0.012, 0.03),
            ("share_received", 0.05, 0.09),
            ("grant_ended", 0.002, 0.01),
        ] {
            let got = share(&report, action);
            assert!((low..=high).contains(&got), "{action}: {got:.4}");
        }
        let sessions = share(&report, "login") + share(&report, "logout");
        assert!((0.17..=0.23).contains(&sessions), "login+logout {sessions}");
        // Working hours carry the day; a few percent at night (22-7 local).
        let night = events
            .iter()
            .filter(|(_, at)| {
                let hour = amsterdam(*at).hour();
                !(7..22).contains(&hour)
            })
            .count() as f64
            / events.len() as f64;
        assert!((0.01..0.06).contains(&night), "night {night}");
        // Spoed is about 5% of the access requests.
        let requests: Vec<_> = events
            .iter()
            .filter(|(e, _)| e.action == AuditAction::AccessRequest)
            .collect();
        let spoed = requests
            .iter()
            .filter(|(e, _)| e.ground == Some(Ground::Spoed))
            .count() as f64
            / requests.len() as f64;
        assert!((0.02..0.09).contains(&spoed), "spoed {spoed}");
        // Now and then one user touches more clients within the hour than the bulk rule allows.
        assert!(report.bursts > 0);
        assert!(most_clients_in_an_hour(&events) > 25);
    }

    #[test]
    fn events_are_complete_and_bsns_valid() {
        let (events, _) = all_events(5_000, 1);
        let demo: Vec<String> = demo::demo_bsns()
            .iter()
            .map(|b| b.as_ref().to_owned())
            .collect();
        for (e, _) in &events {
            assert!(e.request.ip.is_some() && e.request.user_agent.is_some());
            assert!(e.request.request_id.is_some());
            if let Some(bsn) = &e.bsn {
                assert!(Bsn::parse(bsn).is_ok(), "{bsn}");
                assert!(!bsn.starts_with("99999") || demo.contains(bsn));
            }
            match e.action {
                AuditAction::Read => {
                    assert!(e.grant_id.is_some() && e.ground.is_some() && e.client_id.is_some());
                    let detail: serde_json::Value =
                        serde_json::from_str(&AuditDetail::to_json(e.detail.as_ref())).unwrap();
                    for key in ["categories", "sources", "entries"] {
                        assert!(detail.get(key).is_some(), "{detail}");
                    }
                }
                AuditAction::AccessRequest => {
                    assert!(e.ground.is_some() && e.grant_id.is_some());
                }
                AuditAction::ShareReceived => {
                    assert!(e.source_id.is_some() && e.actor.is_none());
                }
                AuditAction::Search | AuditAction::Login | AuditAction::Logout => {
                    assert!(e.actor.is_some());
                }
                _ => {}
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_history() {
        let render = |events: Vec<(NewAuditEvent, i64)>| -> Vec<String> {
            events
                .into_iter()
                .map(|(e, at)| format!("{at} {e:?}"))
                .collect()
        };
        let (a, _) = all_events(3_000, 42);
        let (b, _) = all_events(3_000, 42);
        let (c, _) = all_events(3_000, 43);
        let (a, b, c) = (render(a), render(b), render(c));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    use backend::test_support::{fresh_store, Backend};

    async fn count(store: &Store, sql: &str) -> i64 {
        match store.db() {
            Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        }
    }

    async fn generated_history_keeps_the_chain_intact(backend: Backend) {
        let (store, _guard) = fresh_store(backend).await;
        demo::seed(&store).await.unwrap();
        let seeded = count(&store, "SELECT COUNT(*) FROM audit_events").await;
        let mut calls = Vec::new();
        let options = LoadOptions {
            events: 2_500,
            ..LoadOptions::new(2_500)
        };
        let report = generate_with(&store, &options, |done, total| calls.push((done, total)))
            .await
            .unwrap();
        assert_eq!(report.events, 2_500);
        assert_eq!(calls, vec![(1_000, 2_500), (2_000, 2_500), (2_500, 2_500)]);
        assert_eq!(
            backend::integrity::verify_chain(&store).await.unwrap(),
            VerifyReport::Intact {
                events: seeded + 2_500
            }
        );
        let written = store.audit_events_after(seeded, 3_000).await.unwrap();
        assert_eq!(written.len(), 2_500);
        assert!(written
            .windows(2)
            .all(|w| w[0].occurred_at < w[1].occurred_at));
        // Scoped and flagged as live events are: reads showing the hospital's data are in its
        // officer's scope; night-time access is flagged.
        let in_hospital_scope = count(
            &store,
            "SELECT COUNT(*) FROM audit_scope s JOIN audit_events e ON e.id = s.event_id \
             WHERE s.organisation_id = 'zh-rivierenland' AND e.organisation_id <> 'zh-rivierenland' \
             AND e.action = 'read'",
        )
        .await;
        assert!(in_hospital_scope > 0);
        assert!(count(&store, "SELECT COUNT(*) FROM audit_flags").await > 0);
    }

    backend::on_both_backends!(generated_history_keeps_the_chain_intact);

    #[tokio::test]
    async fn an_installation_without_the_demo_network_is_refused() {
        let (store, _guard) = fresh_store(Backend::Sqlite).await;
        let err = generate(&store, 10, |_, _| {}).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)));
    }
}
