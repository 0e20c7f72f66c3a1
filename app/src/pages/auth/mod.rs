//! Login, logout and the shell information.

mod login;
mod server_fns;

pub use login::LoginPage;
pub use server_fns::*;
