//! SoraiPixel's business rules and value types. Parse, don't validate: once a value of
//! these types exists it is valid, so the layers above never re-check it.

pub mod billing;
pub mod device;
pub mod email;
pub mod feedback;
pub mod ledger;
pub mod listing;
pub mod password;
pub mod phone;
pub mod profile;
pub mod role;
pub mod scope;
pub mod secrets;
pub mod time;
pub mod webhook;

pub use email::Email;
pub use phone::Phone;
pub use role::Role;
pub use scope::{Scope, Scopes};

/// A rule broken by user input: `code` is stable for clients, `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub code: &'static str,
    pub field: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Self { code, field, message: message.into() }
    }
}
