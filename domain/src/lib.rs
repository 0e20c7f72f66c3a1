//! Ooievaar's domain: plain types and pure rules: roles, categories, sensitivities, the access policy,
//! the BSN check and grant validity. No I/O; compiled for the server and for the browser, so
//! the same rules are unit- and property-tested once (`cargo test -p domain`).

pub mod audit_action;
pub mod audit_detail;
pub mod audit_flag;
pub mod audit_view;
pub mod bsn;
pub mod category;
pub mod client_view;
pub mod code_map;
pub mod consent_profile;
pub mod error;
pub mod format;
pub mod grant;
pub mod ids;
pub mod organisation;
pub mod page_layout;
pub mod policy;
pub mod pregnancy;
pub mod retention;
pub mod role;
pub mod share;
pub mod spoed;
pub mod user_view;
pub mod username;

pub use audit_action::{AuditAction, Outcome};
pub use audit_detail::AuditDetail;
pub use audit_flag::{Flag, FlagHit, FlagRules};
pub use bsn::Bsn;
pub use category::{Category, Sensitivity};
pub use ids::{ClientId, GrantId, SourceId, UserId};
pub use organisation::OrganisationKind;
pub use policy::{Policy, PolicyCell};
pub use role::Role;
pub use username::Username;

/// Why a piece of input was refused: the field it came from and what was wrong, in Dutch for
/// the people who see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Declares a closed set of string keys as an enum with `as_str`, `parse` and `ALL`, so every
/// key is spelled once and an unknown key can never become a value.
#[macro_export]
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $key:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $key)] $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable key used in the database, the API and forms.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $key),+ }
            }

            /// Parses a key; `None` for anything that is not one of [`Self::ALL`].
            pub fn parse(key: &str) -> Option<Self> {
                match key { $($key => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| format!("onbekende waarde '{s}'"))
            }
        }

        // Stored as its key in a text column on both backends. Reading a key that is not one
        // of `ALL` is an error, never a default: an unknown stored value must not quietly
        // become, say, another role or ground.
        $crate::sqlx_text_type!($name);

        #[cfg(feature = "sqlx")]
        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let key = <&str as sqlx::Decode<'r, DB>>::decode(value)?;
                Self::parse(key).ok_or_else(|| {
                    format!("unknown {} '{key}' in the database", stringify!($name)).into()
                })
            }
        }
    };
}

/// The database type of a value stored as text on both backends (the `string_enum!` keys and
/// the ids of `ids`); each says itself how it encodes and decodes.
#[doc(hidden)]
#[macro_export]
macro_rules! sqlx_text_type {
    ($name:ident) => {
        #[cfg(feature = "sqlx")]
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }
    };
}
