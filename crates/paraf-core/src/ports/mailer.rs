//! `Mailer`: sends one email. Locally SMTP when configured, else an `.eml` file in the
//! outbox folder; SES v2 on AWS.
//!
//! Guarantees: `Ok` means the message was handed over (to the SMTP server, SES, or written
//! completely to the outbox) and returns an id that identifies it there; invalid addresses
//! return [`MailerError::InvalidAddress`] before anything is sent.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MailerError {
    #[error("invalid address `{0}`")]
    InvalidAddress(String),
    #[error("mail could not be sent: {0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    /// Plain-text body (always present: approvers read mail on phones and in text clients).
    pub text: String,
    pub html: Option<String>,
    /// Links in the mail (approval links), also logged locally so a developer can click them.
    #[serde(default)]
    pub links: Vec<String>,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `mail`; returns a message id.
    async fn send(&self, mail: Mail) -> Result<String, MailerError>;
}
