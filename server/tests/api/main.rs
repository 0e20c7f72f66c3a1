//! Integration tests through the real router on a random port, each on a fresh SQLite file
//! and a fresh PostgreSQL database (`OOIEVAAR_TEST_PG`, set by `make test`).

mod abuse_api;
mod abuse_login;
mod audit_chain;
mod audited_reads;
mod auth;
mod checkpoints;
mod cli;
mod client_page_blocks;
mod consent_registry;
mod export_memory;
mod fhir;
mod helpers;
mod http_defences;
mod logs;
mod retention;
mod review_export;
mod review_filters;
mod review_flags;
mod review_helpers;
mod review_overview;
mod review_revoke;
mod review_scope;
mod second_factor;
mod server_fns;
mod share_corpus;
mod source_api;
mod spoed;
mod viewing;
