//! Ooievaar's server-only core, on `domain`: the store (`store/`, the only code with SQL), the
//! access log's integrity (`integrity`), and the services that enforce the rules of DESIGN
//! section 3, once each: accounts and sessions, source administration, sharing, viewing,
//! the spoed follow-up and review. It knows nothing of Leptos or HTTP routing; the app's server functions and the
//! server's handlers only call in. The README's architecture section maps each rule to its file.

pub mod accounts;
pub mod audit;
pub mod client_page;
pub mod clock;
pub mod codes;
pub mod consent_registry;
pub mod fhir;
pub mod flood;
pub mod integrity;
pub mod request;
pub mod retention;
pub mod review;
pub mod second_factor;
pub mod session;
pub mod sharing;
pub mod sources;
pub mod spoed;
pub mod state;
pub mod store;
#[cfg(feature = "test-support")]
pub mod test_support;
pub mod trends;
pub mod viewing;

pub use state::{AppState, Settings};
pub use store::{Store, StoreError};

impl From<StoreError> for domain::error::AppError {
    /// The cause goes to the server log (no personal data is in a `StoreError`), the caller
    /// gets the opaque `Internal`.
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(_) => domain::error::AppError::NotFound,
            StoreError::TooBroad => domain::error::AppError::field(
                "filters",
                "de zoekopdracht duurde te lang: kies een kortere periode, een cliënt of een gebruiker",
            ),
            other => {
                tracing::error!(error = %other, "store error");
                domain::error::AppError::Internal
            }
        }
    }
}
