//! Errors the domain services return. The HTTP layer maps each variant to one status
//! (STYLE.md): Invalid → 422 with the field map, NotFound → 404, Conflict/Stale → 409,
//! Unauthenticated → 401, Forbidden → 403, TooManyRequests → 429, Internal → 500 (logged,
//! never shown).

use std::collections::BTreeMap;

use crate::ports::table::TableError;

/// field → message, for forms and 422 responses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::default();
        e.add(field, message);
        e
    }
    /// Records the first problem of a field (later ones would only repeat it).
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| message.into());
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
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
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
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
    Conflict { field: String, message: String },
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
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(FieldErrors::one(field, message))
    }
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Conflict {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl From<TableError> for ServiceError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::ConditionFailed { .. } | TableError::Conflict => ServiceError::Stale,
            TableError::InvalidCursor => {
                ServiceError::invalid("cursor", "kursor halaman tidak valid")
            }
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
