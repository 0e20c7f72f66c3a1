//! Pages by area, each with its server functions beside it. A server function is a thin
//! adapter: check the session and role, parse the input, call the backend, map the result.

pub mod account;
pub mod audit;
pub mod auth;
pub mod clients;
pub mod form;
pub mod home;
pub mod policy;
pub mod spoed;
pub mod users;
