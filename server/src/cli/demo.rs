//! `ooievaar demo ...`: the demo network and the access-log load generator (`crate::demo`).

use super::{finish, report, Outcome};
use crate::demo;
use backend::Store;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Create the demo network (organisations, users, clients). Does nothing when present.
    Seed,
    /// Print the demo accounts when this database holds the demo network.
    Logins,
    /// Print a demo account's current authenticator code (the second login step).
    Code {
        /// The demo account, e.g. verloskundige.
        username: String,
    },
    /// Fill the access log with realistic events over the past year (creates the demo
    /// network first when missing).
    AuditLoad {
        /// How many events to add.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        events: u64,
    },
}

pub(super) async fn run(
    command: DemoCommand,
    store: &Store,
    database_url: &str,
) -> anyhow::Result<Outcome> {
    match command {
        DemoCommand::Seed => {
            eprintln!("demo-netwerk aanmaken...");
            let seeded = seed(store, database_url).await?;
            Ok(finish(seeded.map(|summary| {
                if summary.already_seeded {
                    println!("het demo-netwerk bestaat al; niets veranderd");
                } else {
                    println!(
                        "demo-netwerk aangemaakt: {} organisaties, {} gebruikers, {} cliënten, {} gegevens",
                        demo::ORGANISATIONS.len(),
                        demo::USERS.len(),
                        summary.clients,
                        summary.entries
                    );
                }
                print_demo_logins();
            })))
        }
        DemoCommand::Logins => {
            if store.is_demo().await? {
                print_demo_logins();
            } else {
                println!("deze database bevat geen demo-netwerk");
            }
            Ok(Outcome::Ok)
        }
        DemoCommand::Code { username } => {
            let known = demo::USERS.iter().any(|(u, ..)| *u == username);
            if !known || !store.is_demo().await? {
                eprintln!(
                    "fout: --username: '{username}' is geen demo-account van deze database \
                     (zie `ooievaar demo logins`)"
                );
                return Ok(Outcome::Failed);
            }
            println!("{}", demo_code(&username));
            Ok(Outcome::Ok)
        }
        DemoCommand::AuditLoad { events } => audit_load(store, database_url, events).await,
    }
}

/// The demo network with every account's authenticator app set up (its fixed secret).
async fn seed(
    store: &Store,
    database_url: &str,
) -> anyhow::Result<Result<demo::SeedSummary, domain::error::AppError>> {
    let key = super::secret_key(database_url)?;
    Ok(match demo::seed(store).await {
        Ok(summary) => demo::enrol_second_factors(store, &key)
            .await
            .map(|()| summary),
        Err(e) => Err(e),
    })
}

/// `demo audit-load`: seeds the network when missing, then generates with progress lines.
async fn audit_load(store: &Store, database_url: &str, events: u64) -> anyhow::Result<Outcome> {
    if !store.is_demo().await? {
        eprintln!("demo-netwerk aanmaken...");
        if let Err(e) = seed(store, database_url).await? {
            report(&e);
            return Ok(Outcome::Failed);
        }
    }
    eprintln!("{events} gebeurtenissen toevoegen aan het toegangslogboek...");
    let mut shown = 0;
    let loaded = demo::audit_load::generate(store, events, |done, total| {
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
    Ok(Outcome::Ok)
}

/// A demo account's current authenticator code.
fn demo_code(username: &str) -> String {
    use backend::second_factor::totp;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    totp::code_at_step(&demo::demo_totp_secret(username), totp::step_of(now))
}

/// The demo accounts, as `make run` shows them.
pub fn print_demo_logins() {
    use backend::second_factor::totp;
    println!(
        "\nDemo-accounts (wachtwoord voor allemaal: {}):",
        demo::DEMO_PASSWORD
    );
    for (username, name, role, organisation) in demo::USERS {
        println!("  {username:<18} {name:<18} {role:<19} {organisation}");
    }
    println!(
        "\nTweede stap: de code uit een authenticator-app met het geheim hieronder, of\n\
         `ooievaar demo code <gebruikersnaam>` (de code van dit moment):"
    );
    for (username, ..) in demo::USERS {
        println!(
            "  {username:<18} {}",
            totp::base32(&demo::demo_totp_secret(username))
        );
    }
    println!("\nDemo-cliënten (zoeken op BSN + geboortedatum):");
    for (bsn, name, birth) in demo::demo_clients() {
        println!("  {}  {birth}  {name}", bsn.as_ref());
    }
}
