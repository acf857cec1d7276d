//! Errors the domain services return. The HTTP layer maps each variant to one status
//! (docs/architecture.md, errors): Invalid → 422 with the field map, NotFound → 404, Conflict/Stale → 409,
//! Unauthenticated → 401, Forbidden → 403, TooManyRequests → 429, Internal → 500 (logged,
//! never shown).
//!
//! Every message a user may read is a [`Text`] carrying both languages; the domain never
//! knows which one the reader chose, the edge (HTTP, CLI) picks one.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ports::table::TableError;

/// A user-facing message in Indonesian (`id`, the default) and English (`en`).
///
/// `Display` writes the Indonesian text, for logs and the CLI. There is deliberately no
/// conversion from a plain string, so a message cannot reach a user in one language only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Text {
    pub id: String,
    pub en: String,
}

impl Text {
    pub fn new(id: impl Into<String>, en: impl Into<String>) -> Self {
        Text {
            id: id.into(),
            en: en.into(),
        }
    }

    /// The English text when `english`, else the Indonesian one.
    pub fn get(&self, english: bool) -> &str {
        if english {
            &self.en
        } else {
            &self.id
        }
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// A [`Text`] from two format strings sharing the same arguments:
/// `text!("paling banyak {max} karakter", "at most {max} characters")` or
/// `text!("peran `{}` tidak dikenal", "unknown role `{}`", r)`.
#[macro_export]
macro_rules! text {
    ($id:literal, $en:literal $(,)?) => {
        $crate::error::Text::new(format!($id), format!($en))
    };
    ($id:literal, $en:literal, $($arg:expr),+ $(,)?) => {
        $crate::error::Text::new(format!($id, $($arg),+), format!($en, $($arg),+))
    };
}

/// field → message, for forms and 422 responses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Text>);

impl FieldErrors {
    pub fn one(field: &str, message: Text) -> Self {
        let mut e = FieldErrors::default();
        e.add(field, message);
        e
    }
    /// Records the first problem of a field (later ones would only repeat it).
    pub fn add(&mut self, field: &str, message: Text) {
        self.0.entry(field.to_string()).or_insert(message);
    }
    /// Records a problem of `field` when `value` breaks the user text rule
    /// ([`crate::types::check_text`]).
    pub fn check_text(&mut self, field: &str, value: &str) {
        if let Err(e) = crate::types::check_text(value) {
            self.add(field, e.0);
        }
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }
    pub fn get(&self, field: &str) -> Option<&Text> {
        self.0.get(field)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_result(self) -> Result<(), ServiceError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid(self))
        }
    }
    pub fn into_map(self) -> BTreeMap<String, Text> {
        self.0
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Text)> {
        self.0.iter()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict on {field}: {message}")]
    Conflict { field: String, message: Text },
    /// The record changed since it was read (version check failed).
    #[error("record changed since it was read")]
    Stale,
    #[error("not authenticated")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: &str, message: Text) -> Self {
        ServiceError::Invalid(FieldErrors::one(field, message))
    }
    pub fn conflict(field: &str, message: Text) -> Self {
        ServiceError::Conflict {
            field: field.to_string(),
            message,
        }
    }
    /// A state change someone already decided (a race lost, or a repeat): 409, and
    /// nothing was written.
    pub fn already_decided() -> Self {
        ServiceError::conflict(
            "status",
            text!(
                "sudah diputuskan; tidak ada yang diubah",
                "already decided; nothing was changed"
            ),
        )
    }
}

impl From<TableError> for ServiceError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::ConditionFailed { .. } | TableError::Conflict => ServiceError::Stale,
            TableError::InvalidCursor => ServiceError::invalid(
                "cursor",
                text!("kursor halaman tidak valid", "invalid page cursor"),
            ),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_reads_in_the_language_asked_for_and_displays_in_indonesian() {
        let max = 8;
        let t = text!("paling banyak {max} karakter", "at most {max} characters");
        assert_eq!(t.get(false), "paling banyak 8 karakter");
        assert_eq!(t.get(true), "at most 8 characters");
        assert_eq!(t.to_string(), "paling banyak 8 karakter");
        let r = "bos";
        let t = text!("peran `{}` tidak dikenal", "unknown role `{}`", r);
        assert_eq!(t.en, "unknown role `bos`");
    }

    #[test]
    fn the_first_problem_of_a_field_is_the_one_kept() {
        let mut e = FieldErrors::default();
        e.add("nip", text!("wajib diisi", "is required"));
        e.add(
            "nip",
            text!("NIP harus 18 digit angka", "NIP must be 18 digits"),
        );
        assert_eq!(e.get("nip").map(|t| t.en.as_str()), Some("is required"));
    }
}
