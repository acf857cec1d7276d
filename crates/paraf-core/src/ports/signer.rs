//! `Signer`: signs SHA-256 digests with named P-256 keys and gives their certificate
//! chains. Locally a key store in the data dir with an organisation CA; AWS KMS on AWS
//! (private keys never leave KMS).
//!
//! Guarantees (checked by the contract suite):
//! - `sign_digest` returns a DER-encoded ECDSA P-256 signature over the given SHA-256
//!   digest that verifies with the public key of the first certificate of `chain`;
//! - `chain` is leaf first, ending at the organisation root, DER-encoded X.509 v3;
//! - an unknown key id gives [`SignerError::UnknownKey`]; `create_key` on an existing id
//!   gives [`SignerError::KeyExists`] and keeps the existing key.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SignerError {
    #[error("unknown signing key `{0}`")]
    UnknownKey(String),
    #[error("signing key `{0}` already exists")]
    KeyExists(String),
    #[error("invalid signing request: {0}")]
    Validation(String),
    #[error("signer unavailable: {0}")]
    Unavailable(String),
}

/// Who a signing certificate is issued to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectName {
    /// The person's name as printed (CN).
    pub common_name: String,
    /// NIP, as the certificate's serialNumber attribute.
    pub serial_number: Option<String>,
    /// Jabatan / unit (OU).
    pub organizational_unit: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub key_id: String,
    /// DER certificates, leaf first, root last.
    pub chain: Vec<Vec<u8>>,
}

#[async_trait]
pub trait Signer: Send + Sync {
    /// Creates a key for `key_id` and has the organisation CA certify it for `subject`.
    async fn create_key(&self, key_id: &str, subject: &SubjectName)
        -> Result<KeyInfo, SignerError>;
    /// The key's certificate chain, leaf first.
    async fn chain(&self, key_id: &str) -> Result<KeyInfo, SignerError>;
    /// DER ECDSA signature over a SHA-256 `digest`.
    async fn sign_digest(&self, key_id: &str, digest: &[u8; 32]) -> Result<Vec<u8>, SignerError>;
    /// The organisation root certificate (DER): the trust anchor validators need.
    async fn root_certificate(&self) -> Result<Vec<u8>, SignerError>;
}
