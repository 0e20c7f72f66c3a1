//! What the client pages show, as sent to the browser. Built on the server from rows the
//! access policy permitted; nothing else is ever put in these types.

use super::grant::Ground;
use super::{Category, ClientId};
use serde::{Deserialize, Serialize};

/// A search hit (DESIGN flow 4): only what identifies the client, never clinical data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSummary {
    /// The opaque id used in `/clients/{id}`.
    pub client_id: ClientId,
    pub name: String,
    /// `YYYY-MM-DD`
    pub birth_date: String,
    pub age: Option<i32>,
    /// Organisations with an active share.
    pub organisations: Vec<String>,
    /// Whether the searching user already holds a valid grant.
    pub has_grant: bool,
}

/// An entry on the client page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub label: String,
    pub value: String,
    pub unit: Option<String>,
    /// Date of observation, `YYYY-MM-DD` (Europe/Amsterdam).
    pub date: String,
    pub organisation: String,
}

/// One category section; only categories the role may see exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionView {
    pub category: Category,
    pub entries: Vec<EntryView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PregnancyView {
    pub edd: String,
    /// "32+4" (weeks+days today), for an active pregnancy.
    pub gestational_age: Option<String>,
    pub gravidity: i32,
    pub parity: i32,
    pub ended_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    pub organisation: String,
    /// When it last sent data, `YYYY-MM-DD HH:MM` Europe/Amsterdam.
    pub last_received: Option<String>,
}

/// The client page of a user with a valid grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPage {
    pub client_id: ClientId,
    pub name: String,
    pub birth_date: String,
    pub age: Option<i32>,
    pub bsn_masked: String,
    pub sources: Vec<SourceView>,
    pub current_pregnancy: Option<PregnancyView>,
    pub earlier_pregnancies: Vec<PregnancyView>,
    pub sections: Vec<SectionView>,
    pub ground: Ground,
    /// Grant expiry, `YYYY-MM-DD HH:MM` Europe/Amsterdam.
    pub grant_expires: String,
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
