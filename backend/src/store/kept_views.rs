//! The part of a client's view that no user or grant changes (her sharing sources, her
//! pregnancies and the entries a role may see), kept in memory with the visibility epoch it
//! was read at.
//!
//! Building those rows was most of a view's cost (issue 15: 44% of its instructions went on
//! SQLite turning the permitted entries into JSON, each one joined with `visible_shares`, and
//! serde reading them back). Every view still runs its one statement, on its own snapshot: the
//! epoch, the identity, the consent profile, the user's grant and her spoed notice are read
//! each time. Only the three lists are skipped, and only when the snapshot's epoch is the
//! one they were read at (the statement compares the two itself, so it is one round trip
//! either way). Any change to a table they come from raises the epoch in the changing
//! transaction: the application's change events do, and triggers do for a change made by hand
//! in SQL (migration 20261203090000). So a kept list is used only in a snapshot in which
//! the database holds exactly those rows, and rule 1 (consent re-checked on every view) holds
//! as before: a withdrawal raises the epoch and the next view reads again. Several server
//! instances on one PostgreSQL each keep their own lists; the epoch is the database's.

use super::viewing::{SharingSourceRow, VisibleEntryRow, VisiblePregnancyRow};
use domain::ClientId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// What a view of one client shows to one role, whoever views it; shared, not copied, by the
/// views that use it (`ViewRows` holds the same lists).
#[derive(Debug, Clone)]
pub(crate) struct ViewContent {
    pub sources: Arc<[SharingSourceRow]>,
    pub pregnancies: Arc<[VisiblePregnancyRow]>,
    pub entries: Arc<[VisibleEntryRow]>,
}

/// Which rows a view read: the client, the `category:sensitivity` pairs the role may see, and
/// whether it may see the pregnancy block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ContentKey {
    pub client_id: ClientId,
    pub allowed: Vec<String>,
    pub pregnancies: bool,
}

/// The lists of the clients viewed lately, at most [`KeptViews::CAPACITY`].
#[derive(Default)]
pub(crate) struct KeptViews {
    kept: Mutex<HashMap<ContentKey, (i64, ViewContent)>>,
    used: AtomicU64,
    read: AtomicU64,
}

impl std::fmt::Debug for KeptViews {
    // Never prints what is kept: it is personal data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeptViews")
    }
}

/// How often a view used kept lists and how often it read them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeptViewStats {
    pub used: u64,
    pub read: u64,
}

impl KeptViews {
    /// A bound on memory: a client's lists are some tens of kilobytes.
    pub(crate) const CAPACITY: usize = 1024;

    /// The lists kept for `key` and the epoch they were read at.
    pub(crate) fn get(&self, key: &ContentKey) -> Option<(i64, ViewContent)> {
        self.lock().get(key).cloned()
    }

    /// Keeps what a view read at `epoch`. Lists of an older epoch can only serve a snapshot
    /// older than this one, so they go first when the map is full; if it is still full, all go.
    pub(crate) fn put(&self, key: ContentKey, epoch: i64, content: ViewContent) {
        let mut kept = self.lock();
        if kept.len() >= Self::CAPACITY {
            kept.retain(|_, (at, _)| *at >= epoch);
            if kept.len() >= Self::CAPACITY {
                kept.clear();
            }
        }
        kept.insert(key, (epoch, content));
    }

    /// Counts one view: whether it used kept lists.
    pub(crate) fn count(&self, used: bool) {
        let counter = if used { &self.used } else { &self.read };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> KeptViewStats {
        KeptViewStats {
            used: self.used.load(Ordering::Relaxed),
            read: self.read.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ContentKey, (i64, ViewContent)>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl super::Store {
    /// How many views used kept lists and how many read them (`view_load` prints these).
    pub fn kept_view_stats(&self) -> KeptViewStats {
        self.kept_views.stats()
    }
}
