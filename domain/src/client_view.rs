//! What the client pages show, as sent to the browser. Built on the server from rows the
//! access policy permitted; nothing else is ever put in these types.

use super::grant::Ground;
use super::{Category, ClientId};
use serde::{Deserialize, Serialize};

/// A search hit (DESIGN flow 4). Before a grant it shows only that the client was found, her
/// masked BSN and her birth date: not her name, and not which organisations share her data
/// (that would tell a searcher who treats her). With the searcher's own valid grant it names
/// her and the sharing organisations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSummary {
    /// The opaque id used in `/clients/{id}`.
    pub client_id: ClientId,
    pub bsn_masked: String,
    /// `06-04-1991`
    pub birth_date: String,
    /// Only with a grant.
    pub name: Option<String>,
    pub age: Option<i32>,
    /// Organisations with a visible share; empty without a grant.
    pub organisations: Vec<String>,
    /// Whether the searching user already holds a valid grant.
    pub has_grant: bool,
}

/// An entry on the client page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub category: Category,
    pub label: String,
    /// As sent, with a decimal comma for plain numbers.
    pub value: String,
    pub unit: Option<String>,
    /// Date of observation, `06-04-1991` (Europe/Amsterdam).
    pub date: String,
    /// UTC milliseconds, for the order of the timeline.
    pub observed_at: i64,
    pub organisation: String,
}

/// One line of the handover summary ("Overdracht"), built from permitted entries only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverLine {
    pub label: String,
    /// Every shown value with its date and source; empty means "niet gedeeld".
    pub values: Vec<HandoverValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverValue {
    /// The value with its unit (and, for lines that list several, the entry's label).
    pub text: String,
    pub date: String,
    pub organisation: String,
}

/// A measurement series as a small chart, rendered on the server (inline SVG), with its values
/// in a table for screen readers and print. Only series of permitted entries exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendView {
    pub key: String,
    pub title: String,
    pub unit: String,
    /// The chart: an `<svg>` element made on the server from the numbers below.
    pub svg: String,
    /// Oldest first.
    pub points: Vec<TrendPoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub date: String,
    /// With a decimal comma (`118/76` for blood pressure).
    pub value: String,
    pub organisation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PregnancyView {
    /// `06-04-2027`
    pub edd: String,
    /// "32+4" (weeks+days today), for an active pregnancy.
    pub gestational_age: Option<String>,
    pub gravidity: i32,
    pub parity: i32,
    /// `06-04-2027`: "Einde zwangerschap".
    pub ended_on: Option<String>,
}

/// One pregnancy with the entries that belong to it, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PregnancyBlock {
    pub pregnancy: PregnancyView,
    /// The active (or else the latest) pregnancy: shown open; earlier ones stay folded.
    pub current: bool,
    pub entries: Vec<EntryView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    pub organisation: String,
    /// When it last sent data, `06-04-2026 14:05` Europe/Amsterdam.
    pub last_received: Option<String>,
}

/// The client page of a user with a valid grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPage {
    pub client_id: ClientId,
    pub name: String,
    /// `06-04-1991`
    pub birth_date: String,
    /// `6 april 1991`, beside the short form.
    pub birth_date_long: String,
    pub age: Option<i32>,
    pub bsn_masked: String,
    pub sources: Vec<SourceView>,
    /// The handover summary for the role (empty when the layout defines none).
    pub handover: Vec<HandoverLine>,
    /// The categories the role may see, in the order she works.
    pub section_order: Vec<Category>,
    /// Current pregnancy first, then earlier ones, newest first. Without the pregnancy block
    /// (policy) there are none and every entry is in `other_entries`.
    pub pregnancies: Vec<PregnancyBlock>,
    /// Entries that belong to no (shown) pregnancy, newest first.
    pub other_entries: Vec<EntryView>,
    pub trends: Vec<TrendView>,
    pub ground: Ground,
    /// Grant expiry, `06-04-2026 14:05` Europe/Amsterdam.
    pub grant_expires: String,
    /// When this page was read, `06-04-2026 14:05` Europe/Amsterdam, and by whom (the print
    /// footer).
    pub shown_at: String,
    pub shown_to: String,
    /// The viewer's standing notice after a spoed access: inform the client afterwards.
    pub spoed_notice: Option<crate::spoed::SpoedNotice>,
}

/// A client on "my clients".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyClient {
    pub client_id: ClientId,
    pub name: String,
    pub birth_date: String,
    pub grant_expires: String,
    pub ground: Ground,
}

/// What `/clients/{id}` shows: the page, or the access-request form (unknown clients and
/// clients without a grant look the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientAccess {
    Granted(Box<ClientPage>),
    NoAccess,
}
