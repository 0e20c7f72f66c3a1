//! Shared widgets: the page frame, role gate and error displays. They only render decisions
//! made on the server.

mod frame;
mod notices;

pub use frame::{use_shell, Frame, Protected};
pub use notices::{field_aria, field_problem_id, ErrorNotice, FieldAria, FieldProblem, FormError};
