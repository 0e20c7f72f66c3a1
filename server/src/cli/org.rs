//! `ooievaar org ...`: organisations in the network.

use super::{finish, Outcome};
use backend::{accounts, Store};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Add an organisation.
    Add {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// verloskundigenpraktijk, ziekenhuis, kraamzorg or echocentrum
        #[arg(long)]
        kind: String,
    },
}

pub(super) async fn run(command: OrgCommand, store: &Store) -> anyhow::Result<Outcome> {
    Ok(match command {
        OrgCommand::Add { id, name, kind } => finish(
            accounts::add_organisation(store, &id, &name, &kind)
                .await
                .map(|()| println!("organisatie '{id}' toegevoegd")),
        ),
    })
}
