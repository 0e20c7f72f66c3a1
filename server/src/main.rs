//! `ooievaar`: dispatches the command line; `serve` (also with no subcommand) runs the server.

use clap::Parser;
use server::cli::{self, Cli, Command, Outcome};
use server::config::{self, Config};
use server::startup::Application;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: under load (issue 15) glibc's allocator, with its
/// per-thread arenas and their consolidation, took about a fifth of the server's CPU between
/// the request threads and SQLite's connection threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    server::telemetry::init();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await.map(|()| Outcome::Ok),
        other => cli::run(other, &config::database_url()).await,
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("fout: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    Application::build(config).await?.run_until_stopped().await
}
