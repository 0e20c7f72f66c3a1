//! The `ooievaar` server: configuration, telemetry, the axum router and the command line.
//! `startup::Application` is what `main` runs and what the integration tests start on a
//! random port (`server/tests/api`).

pub mod api;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod demo;
pub mod export;
pub mod key_file;
pub mod middleware;
pub mod source_client;
pub mod startup;
pub mod telemetry;
