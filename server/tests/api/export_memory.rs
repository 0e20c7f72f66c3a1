//! The CSV export streams: exporting a log of 100,000 events keeps the server's memory within a
//! fixed bound. Runs the real binary (so its peak resident memory can be read from /proc) on a
//! log filled by `ooievaar demo audit-load`.

use std::process::{Command, Stdio};

const EVENTS: &str = "100000";
/// The most the server's peak resident memory may grow during the export: measured 5 to 8 MiB
/// for an export of 28 MiB; an export held in memory would grow by more than its own size.
const BOUND_BYTES: u64 = 16 * 1024 * 1024;

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100k_event_export_streams_within_a_fixed_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/export.db", dir.path().display());
    let bin = env!("CARGO_BIN_EXE_ooievaar");
    for args in [
        vec!["demo", "seed"],
        vec!["demo", "audit-load", "--events", EVENTS],
    ] {
        let out = Command::new(bin)
            .args(&args)
            .env("DATABASE_URL", &db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // MIMALLOC_PURGE_DELAY=0: the allocator hands freed pages back at once, so the peak is
    // the memory the export holds. With its default delay (10 ms) a fast stream's freed
    // batches stay resident for a while: the resident size saws up and down by 15 to 20 MiB
    // whatever the export's length, and the peak then measures when the purge came.
    let (mut server, base) = crate::helpers::serve_binary(
        &db,
        &[
            ("OOIEVAAR_CHECKPOINT_MINUTES", "0"),
            ("RUST_LOG", "warn"),
            ("MIMALLOC_PURGE_DELAY", "0"),
        ],
        Stdio::null,
    )
    .await;
    let pid = server.id();
    let c = crate::helpers::client();
    let login = c
        .post(format!("{base}/api/login"))
        .header("accept", "application/json")
        .form(&[
            ("username", "privacy"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let code = crate::helpers::next_demo_code(&db, "privacy").await;
    let second = c
        .post(format!("{base}/api/login_code"))
        .header("accept", "application/json")
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    // Warm up with a small export (the last 30 days, under a tenth of the log): it takes the
    // same paths (every pooled connection's page cache, the allocator's pools for a batch)
    // that a streaming export needs once, whatever its length. Measured from a cold server,
    // that one-off start alone moved the peak by 5 to 25 MiB from run to run.
    let month_ago = (time::OffsetDateTime::now_utc() - time::Duration::days(30)).date();
    filter(&c, &base, &month_ago.to_string()).await;
    let (warm_bytes, warm_lines) = export(&c, &base).await;
    filter(&c, &base, "").await;

    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak (VmHWM)");
    let before = status_kib(pid, "VmHWM:") * 1024;
    let started = std::time::Instant::now();
    let (bytes, lines) = export(&c, &base).await;
    let peak = status_kib(pid, "VmHWM:") * 1024;
    let took = started.elapsed();
    let _ = server.kill();
    let _ = server.wait();

    let grown = peak.saturating_sub(before);
    eprintln!(
        "warm-up export: {warm_lines} lines, {} KiB; export: {lines} lines, {} MiB in {took:.1?}; \
         peak resident memory grew {} MiB (bound {} MiB)",
        warm_bytes / 1024,
        bytes / 1024 / 1024,
        grown / 1024 / 1024,
        BOUND_BYTES / 1024 / 1024
    );
    assert!(
        lines > 30_000,
        "the officer's scope holds a large part of the log: {lines} lines"
    );
    assert!(
        warm_lines * 5 < lines,
        "the warm-up is a small part of the export: {warm_lines} of {lines} lines"
    );
    assert!(
        grown < BOUND_BYTES,
        "memory grew {grown} bytes while exporting {bytes} bytes"
    );
    assert!(
        grown < bytes,
        "the export must not be held in memory: grew {grown} bytes for {bytes} bytes"
    );
}

/// Downloads the export as it streams (never holding it) and counts its bytes and lines.
async fn export(c: &reqwest::Client, base: &str) -> (u64, u64) {
    let mut response = c
        .get(format!("{base}/audit/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    (bytes, lines)
}

/// Keeps the officer's filter: events from `from` on (`""`: the whole log).
async fn filter(c: &reqwest::Client, base: &str, from: &str) {
    let r = c
        .post(format!("{base}/api/audit_filter"))
        .header("accept", "application/json")
        .form(&crate::helpers::audit_filter_form(&[("from", from)]))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "filter from {from:?}: {}",
        r.status()
    );
}
