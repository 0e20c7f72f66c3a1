//! Group commit of the access log's reads (issue 15): many audited reads share one durable
//! commit, so a busy ward pays one fsync per batch instead of one per view.
//!
//! ## How an audited read runs ([`audited_read!`])
//! 1. It reads on a snapshot, outside the chain lock, in a read-only transaction (SQLite WAL;
//!    PostgreSQL `REPEATABLE READ`) or as one statement (a client page: a snapshot of its
//!    own), together with the *visibility epoch*: a counter that every
//!    event recording a change raises in the change's own transaction (`audit_log::append_at`,
//!    `records_no_change`): a withdrawal, a revocation, a share, a grant, a profile, a purge.
//! 2. It queues its event with the epoch it saw. One writer task per process takes what is
//!    queued (at most [`MAX_BATCH`]; it never waits for more, so a lone view is not delayed),
//!    and in one transaction takes the chain lock (on PostgreSQL an advisory lock, so several
//!    instances on one database stay ordered), reads the epoch once, and appends, in queue
//!    order, the event of every read whose epoch is still current and whose grant has not run
//!    out since. It commits once and then answers every waiter.
//! 3. A read whose epoch moved is answered "stale" and reads again on a new snapshot; after
//!    [`SNAPSHOT_ATTEMPTS`] it reads under the chain lock in a transaction of its own, as every
//!    read did before, which always ends. So does a read whose batch failed to commit.
//!
//! Why this keeps DESIGN rule 4 and the ordering of rules 1 and 2: a read's data leaves the
//! server only after the commit that holds its event. The epoch is unchanged from the
//! snapshot to that commit, so no change that could alter what the read shows committed in
//! between: the read is logged exactly where it could have run under the lock, after every
//! withdrawal, revocation and grant before it, and before every one after it.

use super::audit_log::{self, NewAuditEvent};
use super::read_batch::{self, ReadBatchQueries};
use super::{BackendSpecific, Db, StoreResult};
use domain::FlagRules;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// The most reads one commit carries.
pub const MAX_BATCH: usize = 64;
/// How many snapshots a read tries before it takes the chain lock itself.
pub const SNAPSHOT_ATTEMPTS: usize = 3;
/// Reads that may wait for the writer; a full queue makes a read wait for room.
const QUEUE: usize = 1024;

/// A read's event with what its snapshot depended on.
pub struct Logged {
    pub event: NewAuditEvent,
    /// When the grant the read relied on runs out (UTC ms): the event must be written before.
    pub valid_until: Option<i64>,
}

/// What became of a queued event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// Written and durable.
    Appended,
    /// Something the read depended on changed: read again.
    Stale,
    /// The batch could not be written: read under the lock instead.
    NotWritten,
}

struct Queued {
    logged: Logged,
    epoch: i64,
    answer: oneshot::Sender<Landed>,
}

/// The queue to this process's writer task, started at the first read.
#[derive(Default)]
pub struct GroupCommit {
    sender: OnceLock<mpsc::Sender<Queued>>,
    stats: Arc<Stats>,
}

/// How many commits carried how many events, for the benchmarks and the tests.
#[derive(Debug, Default)]
struct Stats {
    commits: AtomicU64,
    appended: AtomicU64,
    stale: AtomicU64,
}

/// A reading of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupCommitStats {
    /// Batches committed.
    pub commits: u64,
    /// Events those batches appended.
    pub appended: u64,
    /// Reads sent back to read again.
    pub stale: u64,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl GroupCommit {
    /// Queues `logged` (read at `epoch`) and waits until its batch committed.
    pub(crate) async fn commit(
        &self,
        db: &Db,
        rules: &Arc<FlagRules>,
        logged: Logged,
        epoch: i64,
    ) -> Landed {
        let sender = self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            let writer = Writer {
                db: db.clone(),
                rules: rules.clone(),
                stats: self.stats.clone(),
            };
            tokio::spawn(writer.write_batches(rx));
            tx
        });
        let (answer, landed) = oneshot::channel();
        let queued = Queued {
            logged,
            epoch,
            answer,
        };
        if sender.send(queued).await.is_err() {
            // The writer is gone (its runtime ended): the caller writes on its own.
            return Landed::NotWritten;
        }
        landed.await.unwrap_or(Landed::NotWritten)
    }
}

/// The writer task's own handle on the database.
struct Writer {
    db: Db,
    rules: Arc<FlagRules>,
    stats: Arc<Stats>,
}

impl Writer {
    /// The writer task: one transaction, one commit, per batch of what is queued.
    async fn write_batches(self, mut queue: mpsc::Receiver<Queued>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let mut answers = Vec::with_capacity(batch.len());
            let mut items = Vec::with_capacity(batch.len());
            for q in batch.drain(..) {
                answers.push(q.answer);
                items.push((q.logged, q.epoch));
            }
            let landed = match self.commit(items).await {
                Ok(landed) => {
                    let count = |what| landed.iter().filter(|l| **l == what).count() as u64;
                    let stats = &self.stats;
                    stats.commits.fetch_add(1, Ordering::Relaxed);
                    stats
                        .appended
                        .fetch_add(count(Landed::Appended), Ordering::Relaxed);
                    stats
                        .stale
                        .fetch_add(count(Landed::Stale), Ordering::Relaxed);
                    landed
                }
                Err(err) => {
                    tracing::warn!(error = %err, "group commit failed; its reads write on their own");
                    vec![Landed::NotWritten; answers.len()]
                }
            };
            for (answer, landed) in answers.into_iter().zip(landed) {
                // A waiter that gave up (its request was cancelled) needs no answer.
                let _ = answer.send(landed);
            }
        }
    }

    async fn commit(&self, items: Vec<(Logged, i64)>) -> StoreResult<Vec<Landed>> {
        let landed = super::write_tx!(self, |c| append_current(c, &self.rules, items).await?);
        Ok(landed)
    }
}

/// Appends, in order, the events whose reads are still current; the rest are stale. Runs of
/// view events go in together (`read_batch`: a fixed number of statements per run); any other
/// event (a search) one by one, between them, so the chain keeps the queue's order.
async fn append_current<C>(
    c: &mut C,
    rules: &FlagRules,
    items: Vec<(Logged, i64)>,
) -> StoreResult<Vec<Landed>>
where
    C: audit_log::AuditLogQueries
        + super::ShareQueries
        + super::ReviewQueries
        + ReadBatchQueries
        + BackendSpecific,
{
    c.lock_audit_chain().await?;
    // Read events do not raise the epoch, so it holds for the whole batch.
    let current = c.visibility_epoch().await?;
    let mut landed = Vec::with_capacity(items.len());
    let mut head = None;
    let mut run = Vec::new();
    for (logged, epoch) in items {
        let expired = logged
            .valid_until
            .is_some_and(|until| super::now_ms() >= until);
        if epoch != current || expired {
            landed.push(Landed::Stale);
            continue;
        }
        landed.push(Landed::Appended);
        if read_batch::is_batchable(&logged.event) {
            run.push(logged.event);
            continue;
        }
        let reads = std::mem::take(&mut run);
        read_batch::append_reads_locked(c, rules, reads, super::now_ms(), &mut head).await?;
        audit_log::append_locked(c, rules, logged.event, None, &mut head).await?;
    }
    read_batch::append_reads_locked(c, rules, run, super::now_ms(), &mut head).await?;
    Ok(landed)
}

impl super::Store {
    /// How many batches the writer committed and what they held.
    pub fn group_commit_stats(&self) -> GroupCommitStats {
        let stats = &self.group_commit.stats;
        GroupCommitStats {
            commits: stats.commits.load(Ordering::Relaxed),
            appended: stats.appended.load(Ordering::Relaxed),
            stale: stats.stale.load(Ordering::Relaxed),
        }
    }

    /// Writes a snapshot read's event through the group commit (see the module header).
    pub async fn commit_read(&self, logged: Logged, epoch: i64) -> Landed {
        self.group_commit
            .commit(&self.db, &self.flag_rules, logged, epoch)
            .await
    }
}

/// One audited read (DESIGN rules 1, 2 and 4), as the module header describes:
/// `audited_read!(store, |c| read, logged)`, where `read` is an expression reading with the
/// connection `c` (any backend; it may use `?`) and `logged: Fn(&R) -> Option<Logged>` builds
/// the read's event from what was read (`None`: nothing to log, e.g. a refused view that the
/// caller logs itself, or an empty list). Evaluates to `StoreResult`-less `R`; errors return
/// from the enclosing function. `audited_read!(store, with_epoch |c| read, logged)`: `read`
/// evaluates to `(epoch, R)`, having read the visibility epoch in one of its own statements
/// (a view reads it with the client and the grant: one round trip less).
/// `audited_read!(store, one_statement |c| read, logged)`: the same for a `read` that is a
/// single statement, which sees one snapshot by itself on both backends (SQLite's implicit
/// read transaction, PostgreSQL's statement snapshot); it runs without `BEGIN` and
/// `ROLLBACK`, two round trips less.
macro_rules! audited_read {
    ($store:expr, |$c:ident| $read:expr, $logged:expr) => {
        $crate::store::group_commit::audited_read!(
            $store,
            with_epoch | $c | {
                let epoch = $crate::store::AuditLogQueries::visibility_epoch(&mut *$c).await?;
                (epoch, $read)
            },
            $logged
        )
    };
    ($store:expr, with_epoch |$c:ident| $read:expr, $logged:expr) => {
        $crate::store::group_commit::audited_read!(@snapshot read_tx, $store, |$c| $read, $logged)
    };
    ($store:expr, one_statement |$c:ident| $read:expr, $logged:expr) => {
        $crate::store::group_commit::audited_read!(@snapshot read_conn, $store, |$c| $read, $logged)
    };
    (@snapshot $reader:ident, $store:expr, |$c:ident| $read:expr, $logged:expr) => {{
        let store: &$crate::store::Store = $store;
        let logged = $logged;
        let mut answer = None;
        for _ in 0..$crate::store::group_commit::SNAPSHOT_ATTEMPTS {
            let (epoch, read) = $crate::store::$reader!(store, |$c| $read);
            match logged(&read) {
                None => {
                    answer = Some(read);
                    break;
                }
                Some(l) => match store.commit_read(l, epoch).await {
                    $crate::store::group_commit::Landed::Appended => {
                        answer = Some(read);
                        break;
                    }
                    $crate::store::group_commit::Landed::Stale => continue,
                    $crate::store::group_commit::Landed::NotWritten => break,
                },
            }
        }
        match answer {
            Some(read) => read,
            // Under the chain lock in a transaction of its own: always ends.
            None => $crate::store::write_tx!(store, |$c| {
                $crate::store::BackendSpecific::lock_audit_chain(&mut *$c).await?;
                let (_, read) = $read;
                if let Some(l) = logged(&read) {
                    $crate::store::audit_log::append(&mut *$c, &store.flag_rules, l.event).await?;
                }
                read
            }),
        }
    }};
}
pub(crate) use audited_read;
