//! What `/gebruikers` shows of an account (nothing secret).

use crate::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserListItem {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
}
