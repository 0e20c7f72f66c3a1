//! `ooievaar retention run [--as-of YYYY-MM-DD]`: purges the shared copies past their term
//! (`backend::retention`) and prints what it did per source, as counts.

use super::{report, Outcome};
use backend::retention::{self, RunBy};
use backend::Store;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Purge every source's copy of a client whose retention term has run (and for whom no
    /// grant is open). The term is OOIEVAAR_RETENTION_YEARS (default 20).
    Run {
        /// Purge as on this date (YYYY-MM-DD, not after today); default today.
        #[arg(long)]
        as_of: Option<String>,
    },
}

pub(super) async fn run(command: RetentionCommand, store: &Store) -> anyhow::Result<Outcome> {
    let RetentionCommand::Run { as_of } = command;
    let term = crate::config::retention_term()?;
    let today = backend::clock::today();
    let as_of = match as_of.as_deref().map(str::trim) {
        None => today,
        Some(text) => match backend::clock::parse_date(text) {
            Some(date) => date,
            None => {
                eprintln!(
                    "fout: --as-of: geen datum (jjjj-mm-dd): '{}'",
                    domain::share::quoted(text)
                );
                return Ok(Outcome::Failed);
            }
        },
    };
    println!("bewaartermijn: {} jaar; peildatum {as_of}", term.as_years());
    match retention::run(store, term, as_of, today, RunBy::CommandLine).await {
        Ok(done) => {
            for (source, s) in &done.per_source {
                println!(
                    "bron {source}: {} kopieën verwijderd ({} gegevens, {} zwangerschappen, {} toestemmingsprofielen); {} bewaard wegens open toegang",
                    s.copies, s.entries, s.pregnancies, s.profiles, s.kept_for_open_grant
                );
            }
            println!("klaar: {} kopieën verwijderd", done.copies());
            Ok(Outcome::Ok)
        }
        Err(err) => {
            report(&err);
            Ok(Outcome::Failed)
        }
    }
}
