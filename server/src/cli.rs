//! The command line (DESIGN section 10). Every subcommand honours `DATABASE_URL`, creates the
//! database and runs the migrations; `serve` never seeds. Bad arguments: a clear message, a
//! non-zero exit, nothing changed.

use crate::checkpoint::{self, CheckpointKey};
use crate::demo;
use anyhow::Context;
use backend::{accounts, Store};
use clap::{Parser, Subcommand};
use domain::error::AppError;
use secrecy::SecretString;
use std::io::BufRead;

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
    /// The access log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The demo network.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
}

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

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is one line on standard input, or generated and printed.
    Add {
        #[arg(long)]
        organisation: String,
        /// verloskundige, gynaecoloog, og_verpleegkundige, kraamverzorgende, echoscopist,
        /// privacy_officer or beheerder
        #[arg(long)]
        role: String,
        #[arg(long)]
        username: String,
        /// The display name.
        #[arg(long)]
        name: String,
        /// Generate a password and print it instead of reading one.
        #[arg(long)]
        generate_password: bool,
    },
    /// Disable a user: she can no longer log in and her sessions end.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// End a user's lock-out after repeated wrong passwords (logged as `login_unlocked`).
    Unlock {
        #[arg(long)]
        username: String,
    },
}

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
    Push {
        #[arg(long)]
        source: String,
        /// PEM file with the source's private key.
        #[arg(long)]
        key: String,
        /// Base URL of the viewer, e.g. http://127.0.0.1:3000
        #[arg(long)]
        url: String,
        #[arg(long)]
        bsn: String,
        /// JSON file with the share (DESIGN section 8).
        #[arg(
            long,
            required_unless_present = "withdraw",
            conflicts_with = "withdraw"
        )]
        file: Option<String>,
        /// Withdraw the client's consent for this source instead of sharing.
        #[arg(long)]
        withdraw: bool,
        /// The viewer's token audience.
        #[arg(long, default_value = "ooievaar")]
        audience: String,
    },
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

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Create the demo network (organisations, users, clients). Does nothing when present.
    Seed,
    /// Print the demo accounts when this database holds the demo network.
    Logins,
    /// Fill the access log with realistic events over the past year (creates the demo
    /// network first when missing).
    AuditLoad {
        /// How many events to add.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        events: u64,
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

fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// A random password of 20 letters and digits from the OS random generator.
fn generate_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 20)
}

/// Runs a subcommand other than `serve`.
pub async fn run(command: Command, database_url: &str) -> anyhow::Result<Outcome> {
    // `source push` is the source system's side: it talks HTTP, not to this database.
    if let Command::Source {
        command:
            SourceCommand::Push {
                source,
                key,
                url,
                bsn,
                file,
                withdraw,
                audience,
            },
    } = &command
    {
        return push(source, key, url, bsn, file.as_deref(), *withdraw, audience).await;
    }
    // Parse everything that needs no database before touching it.
    let password = match &command {
        Command::User {
            command:
                UserCommand::Add {
                    generate_password: false,
                    ..
                },
        } => Some(read_password_line()?),
        Command::User {
            command:
                UserCommand::Add {
                    generate_password: true,
                    ..
                },
        } => Some(generate_password()),
        _ => None,
    };
    let store = Store::connect(database_url)
        .await
        .context("opening the database")?
        .with_flag_rules(crate::config::flag_rules()?);
    let result = match command {
        Command::Serve => unreachable!("serve is handled by main"),
        Command::Org {
            command: OrgCommand::Add { id, name, kind },
        } => accounts::add_organisation(&store, &id, &name, &kind)
            .await
            .map(|()| {
                println!("organisatie '{id}' toegevoegd");
            }),
        Command::User {
            command:
                UserCommand::Add {
                    organisation,
                    role,
                    username,
                    name,
                    generate_password,
                },
        } => {
            let password = password.expect("read above");
            accounts::add_user(
                &store,
                &organisation,
                &role,
                &username,
                &name,
                SecretString::from(password.clone()),
            )
            .await
            .map(|()| {
                println!("gebruiker '{}' toegevoegd", username.trim().to_lowercase());
                if generate_password {
                    println!("wachtwoord: {password}");
                }
            })
        }
        Command::User {
            command: UserCommand::Disable { username },
        } => accounts::disable_user(&store, &username).await.map(|()| {
            println!("gebruiker '{}' geblokkeerd", username.trim().to_lowercase());
        }),
        Command::User {
            command: UserCommand::Unlock { username },
        } => accounts::unlock_user(&store, &username).await.map(|()| {
            println!("gebruiker '{}' ontgrendeld", username.trim().to_lowercase());
        }),
        Command::Source {
            command:
                SourceCommand::Add {
                    id,
                    organisation,
                    public_key,
                },
        } => crate::sources::add_source(&store, &id, &organisation, &public_key)
            .await
            .map(|key_id| println!("bron '{id}' geregistreerd met sleutel {key_id}")),
        Command::Source {
            command:
                SourceCommand::Key {
                    command: KeyCommand::Add { id, public_key },
                },
        } => crate::sources::add_key(&store, &id, &public_key)
            .await
            .map(|key_id| println!("sleutel {key_id} toegevoegd aan bron '{id}'")),
        Command::Source {
            command:
                SourceCommand::Key {
                    command: KeyCommand::Revoke { id, key },
                },
        } => crate::sources::revoke_key(&store, &id, &key)
            .await
            .map(|()| println!("sleutel {key} van bron '{id}' ingetrokken")),
        Command::Source {
            command: SourceCommand::Push { .. },
        } => unreachable!("handled above"),
        Command::Audit {
            command: AuditCommand::Verify { checkpoints },
        } => {
            let outcome = verify(&store, database_url, checkpoints.as_deref()).await;
            store.close().await;
            return outcome;
        }
        Command::Audit {
            command: AuditCommand::Checkpoint,
        } => {
            use backend::integrity::Signing;
            let key = CheckpointKey::load_or_create(&checkpoint::key_path(database_url))?;
            let signing = backend::integrity::sign_if_intact(
                &store,
                &key,
                backend::integrity::Verification::Incremental,
            )
            .await?;
            let outcome = match signing {
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
            };
            store.close().await;
            return Ok(outcome);
        }
        Command::Audit {
            command: AuditCommand::Checkpoints,
        } => {
            let key = CheckpointKey::load_or_create(&checkpoint::key_path(database_url))?;
            let export = checkpoint::export(&key, store.checkpoints().await?);
            println!("{}", serde_json::to_string_pretty(&export)?);
            Ok(())
        }
        Command::Demo {
            command: DemoCommand::AuditLoad { events },
        } => {
            if !store.is_demo().await? {
                eprintln!("demo-netwerk aanmaken...");
                if let Err(e) = demo::seed(&store).await {
                    report(&e);
                    store.close().await;
                    return Ok(Outcome::Failed);
                }
            }
            eprintln!("{events} gebeurtenissen toevoegen aan het toegangslogboek...");
            let mut shown = 0;
            let loaded = demo::audit_load::generate(&store, events, |done, total| {
                // About twenty progress lines, whatever the size.
                if done == total || done >= shown + (total / 20).max(1) {
                    shown = done;
                    eprintln!("  {done} / {total}");
                }
            })
            .await?;
            println!(
                "{} gebeurtenissen toegevoegd in {:.1} s ({:.0} per seconde)",
                loaded.events,
                loaded.elapsed.as_secs_f64(),
                loaded.events_per_second()
            );
            Ok(())
        }
        Command::Demo {
            command: DemoCommand::Logins,
        } => {
            if store.is_demo().await? {
                print_demo_logins();
            } else {
                println!("deze database bevat geen demo-netwerk");
            }
            Ok(())
        }
        Command::Demo {
            command: DemoCommand::Seed,
        } => {
            eprintln!("demo-netwerk aanmaken...");
            demo::seed(&store).await.map(|summary| {
                if summary.already_seeded {
                    println!("het demo-netwerk bestaat al; niets veranderd");
                } else {
                    println!(
                        "demo-netwerk aangemaakt: 3 organisaties, {} gebruikers, {} cliënten, {} gegevens",
                        demo::USERS.len(),
                        summary.clients,
                        summary.entries
                    );
                }
                print_demo_logins();
            })
        }
    };
    store.close().await;
    match result {
        Ok(()) => Ok(Outcome::Ok),
        Err(err) => {
            report(&err);
            Ok(Outcome::Failed)
        }
    }
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

/// The demo accounts, as `make run` shows them.
pub fn print_demo_logins() {
    println!(
        "\nDemo-accounts (wachtwoord voor allemaal: {}):",
        demo::DEMO_PASSWORD
    );
    for (username, name, role, organisation) in demo::USERS {
        println!("  {username:<18} {name:<18} {role:<19} {organisation}");
    }
    println!("\nDemo-cliënten (zoeken op BSN + geboortedatum):");
    for (bsn, name, birth) in demo::demo_clients() {
        println!("  {}  {birth}  {name}", bsn.as_ref());
    }
}

async fn push(
    source: &str,
    key: &str,
    url: &str,
    bsn: &str,
    file: Option<&str>,
    withdraw: bool,
    audience: &str,
) -> anyhow::Result<Outcome> {
    let private_pem =
        std::fs::read_to_string(key).with_context(|| format!("--key: cannot read {key}"))?;
    let body = match (withdraw, file) {
        (true, _) => crate::sources::PushBody::Withdraw,
        (false, Some(path)) => crate::sources::PushBody::Share(
            std::fs::read_to_string(path).with_context(|| format!("--file: cannot read {path}"))?,
        ),
        (false, None) => anyhow::bail!("--file or --withdraw is required"),
    };
    let (status, text) =
        crate::sources::push(url, source, audience, &private_pem, bsn, body).await?;
    println!("HTTP {status}\n{text}");
    Ok(if (200..300).contains(&status) {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
