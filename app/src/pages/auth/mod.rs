//! Login, logout and the shell information.

mod login;
mod second_step;
mod server_fns;

pub use login::LoginPage;
pub use second_step::{CodeField, CodeInput, CodePage, EnrolPage, EnrolmentShown, EnrolmentSteps};
pub use server_fns::*;
