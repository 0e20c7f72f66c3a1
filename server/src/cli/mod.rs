//! The command line (DESIGN section 10). Every subcommand honours `DATABASE_URL`, creates the
//! database and runs the migrations; `serve` never seeds. Bad arguments: a clear message, a
//! non-zero exit, nothing changed.
//!
//! One file per subcommand group: it holds the group's arguments (clap) and its printing; the
//! work is one call into the backend (or into `crate::demo`, `crate::checkpoint`,
//! `crate::source_client`) per subcommand.

mod audit;
mod codes;
mod demo;
mod org;
mod registry;
mod retention;
mod source;
mod user;

pub use audit::AuditCommand;
pub use codes::CodesCommand;
pub use demo::{print_demo_logins, DemoCommand};
pub use org::OrgCommand;
pub use registry::RegistryCommand;
pub use retention::RetentionCommand;
pub use source::{KeyCommand, SourceCommand};
pub use user::UserCommand;

use anyhow::Context;
use backend::Store;
use clap::{Parser, Subcommand};
use domain::error::AppError;

#[derive(Debug, Parser)]
#[command(
    name = "ooievaar",
    version,
    about = "Ooievaar, de viewer van het geboortezorgnetwerk"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application and the source API (the default).
    Serve,
    /// Organisations in the network.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// User accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Source systems: registration, keys, and pushing as a source would.
    Source {
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Consent registries (the client's national choice): registration, and pushing as one.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Retention of the shared copies.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// The access log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The code map of the FHIR intake.
    Codes {
        #[command(subcommand)]
        command: CodesCommand,
    },
    /// The demo network.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

/// What a finished command tells the shell.
pub enum Outcome {
    Ok,
    Failed,
}

/// Prints field errors as `fout: <field>: <problem>` lines.
fn report(err: &AppError) {
    match err {
        AppError::Validation { field_errors } => {
            for f in field_errors {
                eprintln!("fout: {}: {}", f.field, f.problem);
            }
        }
        other => eprintln!("fout: {other}"),
    }
}

/// The outcome of a backend call whose success is already printed: a refusal is reported.
fn finish(result: Result<(), AppError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(err) => {
            report(&err);
            Outcome::Failed
        }
    }
}

/// The second-factor secret key of `database_url` for the command line: created when missing,
/// except in production (`OOIEVAAR_SECURE_COOKIES=true`).
fn secret_key(database_url: &str) -> anyhow::Result<backend::second_factor::SecretKey> {
    let production = std::env::var("OOIEVAAR_SECURE_COOKIES").is_ok_and(|v| v.trim() == "true");
    crate::key_file::secret_key(database_url, !production)
}

/// Runs a subcommand other than `serve`.
pub async fn run(command: Command, database_url: &str) -> anyhow::Result<Outcome> {
    // `source push` is the source system's side: it talks HTTP, not to this database.
    if let Command::Source {
        command: SourceCommand::Push(push),
    } = command
    {
        return source::push(push).await;
    }
    if let Command::Registry {
        command: RegistryCommand::Push(push),
    } = command
    {
        return registry::push(push).await;
    }
    // Parse everything that needs no database before touching it.
    let password = match &command {
        Command::User { command } => user::password(command)?,
        _ => None,
    };
    let store = Store::connect(database_url)
        .await
        .context("opening the database")?
        .with_flag_rules(crate::config::flag_rules()?);
    let outcome = match command {
        Command::Serve => unreachable!("serve is handled by main"),
        Command::Org { command } => org::run(command, &store).await,
        Command::User { command } => user::run(command, &store, password).await,
        Command::Source { command } => source::run(command, &store).await,
        Command::Registry { command } => registry::run(command, &store).await,
        Command::Retention { command } => retention::run(command, &store).await,
        Command::Audit { command } => audit::run(command, &store, database_url).await,
        Command::Codes { command } => codes::run(command, &store).await,
        Command::Demo { command } => demo::run(command, &store, database_url).await,
    };
    store.close().await;
    outcome
}
