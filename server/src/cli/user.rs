//! `ooievaar user ...`: user accounts.

use super::{finish, Outcome};
use anyhow::Context;
use backend::{accounts, Store};
use clap::Subcommand;
use secrecy::SecretString;
use std::io::BufRead;

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
    /// Clear a user's second factors, recovery codes and last used code (she lost her phone):
    /// she sets up the app again at her next login, and her sessions end.
    #[command(name = "reset-2fa")]
    Reset2fa {
        #[arg(long)]
        username: String,
    },
}

/// The new password of `user add` (read or generated), before the database is opened.
pub(super) fn password(command: &UserCommand) -> anyhow::Result<Option<String>> {
    Ok(match command {
        UserCommand::Add {
            generate_password: false,
            ..
        } => Some(read_password_line()?),
        UserCommand::Add {
            generate_password: true,
            ..
        } => Some(generate_password()),
        _ => None,
    })
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

/// Runs a user subcommand; `password` is what [`password`] gave.
pub(super) async fn run(
    command: UserCommand,
    store: &Store,
    password: Option<String>,
) -> anyhow::Result<Outcome> {
    Ok(finish(match command {
        UserCommand::Add {
            organisation,
            role,
            username,
            name,
            generate_password,
        } => {
            let password = password.expect("read before the database was opened");
            accounts::add_user(
                store,
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
        UserCommand::Disable { username } => {
            accounts::disable_user(store, &username).await.map(|()| {
                println!("gebruiker '{}' geblokkeerd", username.trim().to_lowercase());
            })
        }
        UserCommand::Reset2fa { username } => {
            backend::second_factor::reset(store, &username)
                .await
                .map(|()| {
                    println!(
                        "tweede stap van '{}' gewist; zij stelt die opnieuw in bij de volgende keer inloggen",
                        username.trim().to_lowercase()
                    );
                })
        }
        UserCommand::Unlock { username } => {
            accounts::unlock_user(store, &username).await.map(|()| {
                println!("gebruiker '{}' ontgrendeld", username.trim().to_lowercase());
            })
        }
    }))
}
