//! The CSV export streams: exporting a log of 100,000 events keeps the server's memory within a
//! fixed bound. Runs the real binary (so its peak resident memory can be read from /proc) on a
//! log filled by `ooievaar demo audit-load`.

use std::process::{Command, Stdio};

const EVENTS: &str = "100000";
/// The most the server's peak resident memory may grow during the export.
const BOUND_BYTES: u64 = 24 * 1024 * 1024;

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
    let (mut server, base) = crate::helpers::serve_binary(
        &db,
        &[("OOIEVAAR_CHECKPOINT_MINUTES", "0"), ("RUST_LOG", "warn")],
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
    // Warm up (first page, first small query), then reset the peak to measure the export alone.
    let page = c
        .post(format!("{base}/api/audit_page"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("reset the peak (VmHWM)");
    let before = status_kib(pid, "VmHWM:") * 1024;

    let started = std::time::Instant::now();
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
    let peak = status_kib(pid, "VmHWM:") * 1024;
    let took = started.elapsed();
    let _ = server.kill();
    let _ = server.wait();

    let grown = peak.saturating_sub(before);
    eprintln!(
        "export: {lines} lines, {} MiB in {took:.1?}; peak resident memory grew {} MiB (bound {} MiB)",
        bytes / 1024 / 1024,
        grown / 1024 / 1024,
        BOUND_BYTES / 1024 / 1024
    );
    assert!(
        lines > 30_000,
        "the officer's scope holds a large part of the log: {lines} lines"
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
