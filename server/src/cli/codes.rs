//! `ooievaar codes ...`: the code map of the FHIR intake (DESIGN 8.2).

use super::{finish, Outcome};
use backend::{codes, Store};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum CodesCommand {
    /// Print the code map: which coded value lands in which category, with which sensitivity.
    List,
    /// Add a code to the map (logged as code_map_changed). An existing code is not changed.
    Add {
        /// The code system's URI, e.g. http://loinc.org or http://snomed.info/sct
        #[arg(long)]
        system: String,
        #[arg(long)]
        code: String,
        /// One of the 14 category keys, e.g. lab_screening
        #[arg(long)]
        category: String,
        /// normal, elevated or high
        #[arg(long)]
        sensitivity: String,
        /// The Dutch label a professional reads
        #[arg(long)]
        label: String,
        /// Where the row comes from (the data set element or zib)
        #[arg(long, default_value = "lokaal toegevoegd")]
        source: String,
    },
}

pub(super) async fn run(command: CodesCommand, store: &Store) -> anyhow::Result<Outcome> {
    Ok(match command {
        CodesCommand::List => finish(codes::code_map(store).await.map(|rows| {
            println!("systeem\tcode\tcategorie\tgevoeligheid\tomschrijving\tbron");
            for row in &rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    row.system_name(),
                    row.code,
                    row.category.as_str(),
                    row.sensitivity.as_str(),
                    row.label,
                    row.source
                );
            }
            eprintln!("{} codes", rows.len());
        })),
        CodesCommand::Add {
            system,
            code,
            category,
            sensitivity,
            label,
            source,
        } => finish(
            codes::add_code(
                store,
                &system,
                &code,
                &category,
                &sensitivity,
                &label,
                &source,
            )
            .await
            .map(|m| {
                println!(
                    "code {} ({}) toegevoegd: {} / {}",
                    m.code,
                    m.system_name(),
                    m.category.as_str(),
                    m.sensitivity.as_str()
                )
            }),
        ),
    })
}
