//! `ooievaar audit ...`: verifying the access log and its signed checkpoints, and signing the
//! head of the chain (`crate::checkpoint` holds the key file and the signing).

use super::{report, Outcome};
use crate::checkpoint::{self, CheckpointKey};
use anyhow::Context;
use backend::Store;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of the access log from the first event, and every signed
    /// checkpoint against it.
    Verify {
        /// Also check the checkpoints of an earlier export (`audit checkpoints`) kept elsewhere.
        #[arg(long)]
        checkpoints: Option<std::path::PathBuf>,
    },
    /// Sign the current head of the chain now (after verifying the new events).
    Checkpoint,
    /// Print the signed checkpoints with the public key as JSON, for an outside party to keep.
    Checkpoints,
}

pub(super) async fn run(
    command: AuditCommand,
    store: &Store,
    database_url: &str,
) -> anyhow::Result<Outcome> {
    match command {
        AuditCommand::Verify { checkpoints } => {
            verify(store, database_url, checkpoints.as_deref()).await
        }
        AuditCommand::Checkpoint => sign(store, database_url).await,
        AuditCommand::Checkpoints => {
            let key = CheckpointKey::load_or_create(&checkpoint::key_path(database_url))?;
            let export = checkpoint::export(&key, store.checkpoints().await?);
            println!("{}", serde_json::to_string_pretty(&export)?);
            Ok(Outcome::Ok)
        }
    }
}

/// `audit checkpoint`: signs the head only when the chain is intact.
async fn sign(store: &Store, database_url: &str) -> anyhow::Result<Outcome> {
    let key = CheckpointKey::load_or_create(&checkpoint::key_path(database_url))?;
    use backend::integrity::{self, Signing, Verification};
    let signing = integrity::sign_if_intact(store, &key, Verification::Incremental).await?;
    Ok(match signing {
        Signing::Signed(c) => {
            println!(
                "controlepunt ondertekend: gebeurtenis {} ({})",
                c.event_id, c.hash
            );
            Outcome::Ok
        }
        Signing::EmptyLog => {
            println!("het logboek is leeg; niets te ondertekenen");
            Outcome::Ok
        }
        Signing::Broken { event_id } => {
            eprintln!(
                "fout: de hashketen is verbroken bij gebeurtenis {event_id}; geen controlepunt ondertekend"
            );
            Outcome::Failed
        }
        Signing::Unverified(e) => {
            report(&e.into());
            Outcome::Failed
        }
    })
}

/// `audit verify`: the whole chain, then the stored checkpoints (signature and hash), then
/// those of an export kept elsewhere.
async fn verify(
    store: &Store,
    database_url: &str,
    exported: Option<&std::path::Path>,
) -> anyhow::Result<Outcome> {
    use backend::integrity::VerifyReport;
    let started = std::time::Instant::now();
    let report = backend::integrity::verify_full(store).await?;
    let events = match report {
        VerifyReport::Intact { events } => events,
        VerifyReport::Broken {
            event_id,
            reason,
            checked,
        } => {
            eprintln!(
                "audit chain BROKEN at event {event_id}: {reason}; {checked} events before it are intact"
            );
            return Ok(Outcome::Failed);
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let stored = store.checkpoints().await?;
    let key_file = checkpoint::key_path(database_url);
    if !stored.is_empty() && key_file.exists() {
        let key = CheckpointKey::load_or_create(&key_file)?;
        if let Some(problem) = backend::integrity::check_checkpoints(store, &stored, |c| {
            checkpoint::signature_valid(&key.public_pem, c)
        })
        .await?
        {
            eprintln!("audit chain BROKEN: {problem}");
            return Ok(Outcome::Failed);
        }
    }
    if let Some(path) = exported {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let export: checkpoint::CheckpointExport = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a checkpoint export", path.display()))?;
        if let Some(problem) =
            backend::integrity::check_checkpoints(store, &export.checkpoints, |c| {
                checkpoint::signature_valid(&export.public_key_pem, c)
            })
            .await?
        {
            eprintln!("audit chain BROKEN: {problem}");
            return Ok(Outcome::Failed);
        }
        println!(
            "{} checkpoints of {} verified against the log",
            export.checkpoints.len(),
            path.display()
        );
    }
    println!(
        "audit chain intact: {events} events verified in {elapsed:.2} s; {} signed checkpoints match",
        stored.len()
    );
    Ok(Outcome::Ok)
}
