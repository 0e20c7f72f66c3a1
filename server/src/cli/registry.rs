//! `ooievaar registry ...`: registering a consent registry (the viewer's administration,
//! `backend::sources::add_registry`), and `registry push`, the registry's side: sending a
//! client's profile as the national registry would (for demos and tests).

use super::{finish, Outcome};
use crate::source_client::{self, PushBody};
use anyhow::Context;
use backend::{sources, Store};
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Register a consent registry (DESIGN 8.3) with its public key (ES256 or RS256).
    Add {
        #[arg(long)]
        id: String,
        /// PEM file with the public key.
        #[arg(long)]
        public_key: String,
    },
    /// Act as the registry: sign a fresh token and send a client's profile, printing the answer.
    Push(RegistryPushArgs),
}

#[derive(Debug, Args)]
pub struct RegistryPushArgs {
    #[arg(long)]
    pub registry: String,
    /// PEM file with the registry's private key.
    #[arg(long)]
    pub key: String,
    /// Base URL of the viewer, e.g. http://127.0.0.1:3000
    #[arg(long)]
    pub url: String,
    #[arg(long)]
    pub bsn: String,
    /// all, selected or none.
    #[arg(long)]
    pub choice: String,
    /// With --choice selected: an organisation that may share (repeatable).
    #[arg(long = "organisation")]
    pub organisations: Vec<String>,
    /// With --choice selected: a kind of organisation that may share (repeatable).
    #[arg(long = "kind")]
    pub kinds: Vec<String>,
    /// The viewer's token audience.
    #[arg(long, default_value = "ooievaar")]
    pub audience: String,
}

pub(super) async fn run(command: RegistryCommand, store: &Store) -> anyhow::Result<Outcome> {
    Ok(finish(match command {
        RegistryCommand::Add { id, public_key } => sources::add_registry(store, &id, &public_key)
            .await
            .map(|key_id| {
                println!("toestemmingsregister '{id}' geregistreerd met sleutel {key_id}")
            }),
        RegistryCommand::Push(_) => unreachable!("push talks HTTP, not to the database"),
    }))
}

/// `registry push`: the profile as the API takes it; the viewer checks it (422 names fields).
pub(super) async fn push(args: RegistryPushArgs) -> anyhow::Result<Outcome> {
    let private_pem = std::fs::read_to_string(&args.key)
        .with_context(|| format!("--key: cannot read {}", args.key))?;
    let mut body = serde_json::json!({ "choice": args.choice });
    if !args.organisations.is_empty() {
        body["organisations"] = serde_json::json!(args.organisations);
    }
    if !args.kinds.is_empty() {
        body["organisation_kinds"] = serde_json::json!(args.kinds);
    }
    let (status, text) = source_client::push(
        &args.url,
        &args.registry,
        &args.audience,
        &private_pem,
        &args.bsn,
        PushBody::Profile(body.to_string()),
    )
    .await?;
    println!("HTTP {status}\n{text}");
    Ok(if (200..300).contains(&status) {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
