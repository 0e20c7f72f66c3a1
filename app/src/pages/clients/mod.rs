//! Finding clients (`/`, for clinical roles) and the client page (`/clients/{id}`).

mod page;
mod search;
mod server_fns;

pub use page::{ClientPageView, ClientPrintView};
pub use search::{ClinicalHome, ClinicalHomeState};
pub use server_fns::*;
