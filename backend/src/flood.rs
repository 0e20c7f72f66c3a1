//! Flood control for unauthenticated traffic (DESIGN rule 9): per-address counters of *failed*
//! attempts (refused source tokens, failed logins) and the aggregation of repeated refusals into
//! one `refusals_summary` event per (address, kind, reason) and minute.
//!
//! Why in memory: these counters are short-lived and per instance (DESIGN 10 allows that). Losing
//! them on a restart only lets an attacker start counting again; it never lets a request through
//! that a rule forbids, and never refuses one that carries a valid credential, because only
//! failures are counted and checked, and a verified request never asks.
//!
//! Why before the log writer: every logged refusal is a hash-chained append under the global
//! chain lock (an fsync on SQLite). Unbounded, a flood of forged tokens would starve the writes a
//! clinician's view or a source's withdrawal needs. Here the first refusal of an (address, kind,
//! reason) in a minute is written at once, the rest of that minute are only counted and written
//! as one summary when the minute closes, and past the per-address limit a failing request is
//! refused without any write of its own (it still counts toward the summary).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// What kind of unauthenticated failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// A source API request whose token did not verify.
    Token,
    /// A login whose username/password (or second factor) was wrong.
    Login,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Token => "token_refused",
            FailureKind::Login => "login_failed",
        }
    }
}

/// Limits per client address. Generous for logins: a hospital's staff may share one address.
#[derive(Debug, Clone, Copy)]
pub struct FloodLimits {
    /// Failed token verifications allowed per address per window before further failures from
    /// that address are refused without a log write.
    pub token_failures: u32,
    /// Failed logins allowed per address per window before further failures are slowed/refused.
    pub login_failures: u32,
    /// The window of both, in milliseconds.
    pub window_ms: i64,
}

impl Default for FloodLimits {
    fn default() -> Self {
        Self {
            token_failures: 60,
            login_failures: 100,
            window_ms: 5 * 60_000,
        }
    }
}

/// What to do with one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureDisposition {
    /// The first of its (address, kind, reason) in this minute: append its own audit event now.
    LogNow,
    /// Counted; it will be part of the minute's `refusals_summary` event.
    Summarised,
}

/// One closed minute of repeated refusals, to be written as a `refusals_summary` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalSummary {
    pub ip: String,
    pub kind: FailureKind,
    pub reason: String,
    /// Start of the minute (ms since the epoch, UTC).
    pub minute_start_ms: i64,
    /// Refusals in that minute that were *not* logged on their own.
    pub count: u64,
}

#[derive(Debug, Default)]
struct Counters {
    /// (address, kind) -> failure times (ms) within the window, oldest first.
    failures: HashMap<(IpAddr, FailureKind), Vec<i64>>,
    /// (address, kind, reason, minute) -> refusals not yet logged on their own.
    minutes: HashMap<(IpAddr, FailureKind, String, i64), u64>,
}

/// The per-instance flood counters. Cheap to share (`Arc`), one lock held for microseconds.
#[derive(Debug, Default)]
pub struct FloodGuard {
    limits: FloodLimits,
    counters: Mutex<Counters>,
}

/// Addresses tracked at most; beyond it the oldest windows are dropped (memory stays bounded
/// even when a flood comes from many addresses).
const MAX_TRACKED: usize = 100_000;

fn minute_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(60_000)
}

impl FloodGuard {
    pub fn new(limits: FloodLimits) -> Self {
        Self {
            limits,
            counters: Mutex::default(),
        }
    }

    pub fn limits(&self) -> FloodLimits {
        self.limits
    }

    fn limit(&self, kind: FailureKind) -> u32 {
        match kind {
            FailureKind::Token => self.limits.token_failures,
            FailureKind::Login => self.limits.login_failures,
        }
    }

    /// Whether `ip` already has as many `kind` failures in the window as allowed. Ask this only
    /// for a request that failed (or before the expensive check of an unauthenticated one, such
    /// as argon2 for a login): a valid credential must never be refused by it.
    pub fn over_limit(&self, kind: FailureKind, ip: IpAddr, now_ms: i64) -> bool {
        let mut c = self.counters.lock().expect("flood counters");
        let window_start = now_ms - self.limits.window_ms;
        match c.failures.get_mut(&(ip, kind)) {
            Some(times) => {
                times.retain(|t| *t > window_start);
                times.len() as u32 >= self.limit(kind)
            }
            None => false,
        }
    }

    /// Failures of `kind` from `ip` within the window.
    pub fn failures(&self, kind: FailureKind, ip: IpAddr, now_ms: i64) -> u32 {
        let c = self.counters.lock().expect("flood counters");
        let window_start = now_ms - self.limits.window_ms;
        c.failures
            .get(&(ip, kind))
            .map(|t| t.iter().filter(|t| **t > window_start).count() as u32)
            .unwrap_or(0)
    }

    /// Counts one failure and says whether it gets its own audit event now or goes into the
    /// minute's summary. `reason` is a short code (never personal data).
    pub fn note_failure(
        &self,
        kind: FailureKind,
        ip: IpAddr,
        reason: &str,
        now_ms: i64,
    ) -> FailureDisposition {
        let mut c = self.counters.lock().expect("flood counters");
        if c.failures.len() >= MAX_TRACKED && !c.failures.contains_key(&(ip, kind)) {
            let window_start = now_ms - self.limits.window_ms;
            c.failures.retain(|_, times| {
                times.retain(|t| *t > window_start);
                !times.is_empty()
            });
        }
        let window_start = now_ms - self.limits.window_ms;
        let times = c.failures.entry((ip, kind)).or_default();
        times.retain(|t| *t > window_start);
        // Capped: past the limit only "over the limit" matters, not the exact number.
        if times.len() <= self.limit(kind) as usize {
            times.push(now_ms);
        } else {
            times.remove(0);
            times.push(now_ms);
        }
        let key = (ip, kind, reason.to_owned(), minute_of(now_ms));
        match c.minutes.get_mut(&key) {
            Some(count) => {
                *count += 1;
                FailureDisposition::Summarised
            }
            None => {
                c.minutes.insert(key, 0);
                FailureDisposition::LogNow
            }
        }
    }

    /// Takes the summaries of every minute that has closed by `now_ms` and had refusals that
    /// were not logged on their own. Minutes without such refusals are dropped silently.
    pub fn take_closed_minutes(&self, now_ms: i64) -> Vec<RefusalSummary> {
        let current = minute_of(now_ms);
        let mut c = self.counters.lock().expect("flood counters");
        let closed: Vec<_> = c
            .minutes
            .keys()
            .filter(|(_, _, _, minute)| *minute < current)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for key in closed {
            if let Some(count) = c.minutes.remove(&key) {
                if count > 0 {
                    out.push(RefusalSummary {
                        ip: key.0.to_string(),
                        kind: key.1,
                        reason: key.2,
                        minute_start_ms: key.3,
                        count,
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            (a.minute_start_ms, &a.ip, a.kind.as_str(), &a.reason).cmp(&(
                b.minute_start_ms,
                &b.ip,
                b.kind.as_str(),
                &b.reason,
            ))
        });
        out
    }
}

/// Writes one `refusals_summary` event per closed minute (DESIGN 7). Called every few seconds by
/// `serve` and at shutdown; a failed write puts nothing back (the next minute still counts), and
/// the failure goes to the server log.
pub async fn write_closed_minutes(
    store: &super::Store,
    guard: &FloodGuard,
    now_ms: i64,
) -> Result<usize, super::StoreError> {
    use super::audit::{NewAuditEvent, RequestMeta};
    use domain::{AuditAction, Outcome};
    let summaries = guard.take_closed_minutes(now_ms);
    let written = summaries.len();
    for s in summaries {
        let event = NewAuditEvent::new(AuditAction::RefusalsSummary, Outcome::Denied)
            .with_request(RequestMeta {
                ip: Some(s.ip),
                user_agent: None,
                request_id: None,
            })
            .with_detail(domain::AuditDetail::RefusalsSummary(
                domain::audit_detail::RefusalsSummary {
                    refused: s.kind.as_str().to_owned(),
                    reason: s.reason,
                    minute_start_ms: s.minute_start_ms,
                    count: s.count as i64,
                },
            ));
        store.record(event).await?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn the_first_refusal_of_a_minute_is_logged_and_the_rest_summarised() {
        let g = FloodGuard::new(FloodLimits::default());
        let t = 1_700_000_040_000; // inside a minute
        assert_eq!(
            g.note_failure(FailureKind::Token, ip(1), "bad_signature", t),
            FailureDisposition::LogNow
        );
        for i in 1..=5 {
            assert_eq!(
                g.note_failure(FailureKind::Token, ip(1), "bad_signature", t + i),
                FailureDisposition::Summarised
            );
        }
        // Another reason, another address: their own first events.
        assert_eq!(
            g.note_failure(FailureKind::Token, ip(1), "expired", t),
            FailureDisposition::LogNow
        );
        assert_eq!(
            g.note_failure(FailureKind::Token, ip(2), "bad_signature", t),
            FailureDisposition::LogNow
        );
        assert!(
            g.take_closed_minutes(t + 10).is_empty(),
            "minute still open"
        );
        let closed = g.take_closed_minutes(t + 60_000);
        assert_eq!(closed.len(), 1, "{closed:?}");
        assert_eq!(closed[0].count, 5);
        assert_eq!(closed[0].reason, "bad_signature");
        assert_eq!(closed[0].ip, "10.0.0.1");
        assert_eq!(closed[0].minute_start_ms % 60_000, 0);
        assert!(g.take_closed_minutes(t + 120_000).is_empty(), "taken once");
    }

    #[test]
    fn an_address_is_over_the_limit_after_its_failures_and_recovers_after_the_window() {
        let limits = FloodLimits {
            token_failures: 3,
            login_failures: 100,
            window_ms: 60_000,
        };
        let g = FloodGuard::new(limits);
        let t = 1_700_000_000_000;
        for i in 0..3 {
            assert!(!g.over_limit(FailureKind::Token, ip(1), t + i));
            g.note_failure(FailureKind::Token, ip(1), "x", t + i);
        }
        assert!(g.over_limit(FailureKind::Token, ip(1), t + 3));
        assert!(
            !g.over_limit(FailureKind::Token, ip(2), t + 3),
            "per address"
        );
        assert!(!g.over_limit(FailureKind::Login, ip(1), t + 3), "per kind");
        assert!(
            !g.over_limit(FailureKind::Token, ip(1), t + 60_003),
            "window"
        );
    }
}
