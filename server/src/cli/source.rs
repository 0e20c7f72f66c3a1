//! `ooievaar source ...`: registering source systems and their keys (the viewer's
//! administration, `backend::sources`), and `source push`, the source system's side
//! (`crate::source_client`).

use super::{finish, Outcome};
use crate::source_client::{self, PushBody};
use anyhow::Context;
use backend::{sources, Store};
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Register a source system of an organisation with its first public key (ES256 or RS256).
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        organisation: String,
        /// PEM file with the public key.
        #[arg(long)]
        public_key: String,
    },
    /// Keys of a source (several may be active, for rotation).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Act as the source system: sign a fresh token and call the API, printing the answer.
    Push(PushArgs),
}

// The arguments of `source push` (its help text is the variant's above).
#[derive(Debug, Args)]
pub struct PushArgs {
    #[arg(long)]
    pub source: String,
    /// PEM file with the source's private key.
    #[arg(long)]
    pub key: String,
    /// Base URL of the viewer, e.g. http://127.0.0.1:3000
    #[arg(long)]
    pub url: String,
    /// The client's BSN (not with --fhir: the bundle's Patient holds it).
    #[arg(long, required_unless_present = "fhir", conflicts_with = "fhir")]
    pub bsn: Option<String>,
    /// JSON file with the share (DESIGN section 8).
    #[arg(
        long,
        required_unless_present_any = ["withdraw", "fhir"],
        conflicts_with_all = ["withdraw", "fhir"]
    )]
    pub file: Option<String>,
    /// FHIR R4 Bundle (JSON) to POST to /api/v1/fhir instead (DESIGN 8.2).
    #[arg(long, conflicts_with = "withdraw")]
    pub fhir: Option<String>,
    /// Withdraw the client's consent for this source instead of sharing.
    #[arg(long)]
    pub withdraw: bool,
    /// The viewer's token audience.
    #[arg(long, default_value = "ooievaar")]
    pub audience: String,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Add a public key to a source.
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        public_key: String,
    },
    /// Revoke a key: it verifies nothing from now on.
    Revoke {
        #[arg(long)]
        id: String,
        /// The key id printed when it was added.
        #[arg(long)]
        key: String,
    },
}

/// Runs a source subcommand against the database (`push` is [`push`]).
pub(super) async fn run(command: SourceCommand, store: &Store) -> anyhow::Result<Outcome> {
    Ok(finish(match command {
        SourceCommand::Add {
            id,
            organisation,
            public_key,
        } => sources::add_source(store, &id, &organisation, &public_key)
            .await
            .map(|key_id| println!("bron '{id}' geregistreerd met sleutel {key_id}")),
        SourceCommand::Key {
            command: KeyCommand::Add { id, public_key },
        } => sources::add_key(store, &id, &public_key)
            .await
            .map(|key_id| println!("sleutel {key_id} toegevoegd aan bron '{id}'")),
        SourceCommand::Key {
            command: KeyCommand::Revoke { id, key },
        } => sources::revoke_key(store, &id, &key)
            .await
            .map(|()| println!("sleutel {key} van bron '{id}' ingetrokken")),
        SourceCommand::Push(_) => unreachable!("push talks HTTP, not to the database"),
    }))
}

/// `source push`: reads the key and the share, calls the API and prints its answer.
pub(super) async fn push(args: PushArgs) -> anyhow::Result<Outcome> {
    let PushArgs {
        source,
        key,
        url,
        bsn,
        file,
        fhir,
        withdraw,
        audience,
    } = args;
    let private_pem =
        std::fs::read_to_string(&key).with_context(|| format!("--key: cannot read {key}"))?;
    let read = |option: &str, path: &str| {
        std::fs::read_to_string(path).with_context(|| format!("{option}: cannot read {path}"))
    };
    let body = match (withdraw, file, fhir) {
        (_, _, Some(path)) => PushBody::Fhir(read("--fhir", &path)?),
        (true, _, None) => PushBody::Withdraw,
        (false, Some(path), None) => PushBody::Share(read("--file", &path)?),
        (false, None, None) => anyhow::bail!("--file, --fhir or --withdraw is required"),
    };
    let bsn = bsn.unwrap_or_default();
    let (status, text) =
        source_client::push(&url, &source, &audience, &private_pem, &bsn, body).await?;
    println!("HTTP {status}\n{text}");
    Ok(if (200..300).contains(&status) {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
