//! `Blobs`: named objects (PDFs, uploads, exports) with a sha256, metadata and optional
//! retention; a folder locally, S3 on AWS.
//!
//! Guarantees (checked by the contract suite):
//! - `put` stores the bytes whole or not at all (readers never see a partial object) and
//!   returns their sha256, computed by the adapter, not trusted from the caller;
//! - with `if_absent`, a second `put` on the same key returns [`BlobsError::AlreadyExists`]
//!   and leaves the first object untouched;
//! - an object with `retain_until` in the future cannot be overwritten or deleted:
//!   [`BlobsError::Retained`];
//! - `put_many` stores several objects, each exactly as `put` would (its own result, in
//!   order); every object it reports stored is durable when it returns, so an adapter may
//!   make a batch durable together (the folder store syncs a batch at once);
//! - `list` returns keys with the prefix in ascending key order, paginated;
//! - `download_link` gives a URL that serves the object until `expires_in` has passed and
//!   is refused afterwards.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BlobsError {
    #[error("object `{0}` not found")]
    NotFound(String),
    #[error("object `{0}` already exists")]
    AlreadyExists(String),
    #[error("object `{0}` is under retention")]
    Retained(String),
    /// Bad key (empty, `..`, absolute, control characters) or bad metadata.
    #[error("invalid object request: {0}")]
    Validation(String),
    #[error("link expired or invalid")]
    InvalidLink,
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

/// What to store.
#[derive(Debug, Clone, Default)]
pub struct PutBlob {
    pub key: String,
    pub bytes: Vec<u8>,
    pub content_type: String,
    /// Small string metadata (S3 user metadata: ASCII keys, at most 2 KB in all).
    pub metadata: BTreeMap<String, String>,
    /// Write once: fail if the key is taken.
    pub if_absent: bool,
    /// Object Lock: neither overwrite nor delete before this instant.
    pub retain_until: Option<OffsetDateTime>,
}

/// What is known about a stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobInfo {
    pub key: String,
    pub size: u64,
    /// Lowercase hex sha256 of the bytes.
    pub sha256: String,
    pub content_type: String,
    pub metadata: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub retain_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlobPage {
    pub items: Vec<BlobInfo>,
    pub cursor: Option<String>,
}

#[async_trait]
pub trait Blobs: Send + Sync {
    async fn put(&self, blob: PutBlob) -> Result<BlobInfo, BlobsError>;
    /// Several objects in one call: each is stored exactly as [`Blobs::put`] stores it
    /// (whole or not at all, its own `AlreadyExists`, `Retained` or `Validation`), as if
    /// put one after the other in the order given, and one that fails does not stop the
    /// others. Returns one result per object, in order. When the call returns, every object
    /// reported stored is durable, as after `put`; none is reported stored before. An
    /// adapter may make the whole batch durable together, which is what makes archiving a
    /// batch of documents cheaper than one `put` each.
    ///
    /// The default puts them one after the other.
    async fn put_many(&self, blobs: Vec<PutBlob>) -> Vec<Result<BlobInfo, BlobsError>> {
        let mut results = Vec::with_capacity(blobs.len());
        for blob in blobs {
            results.push(self.put(blob).await);
        }
        results
    }
    /// The object's bytes and description, or `NotFound`.
    async fn get(&self, key: &str) -> Result<(BlobInfo, Vec<u8>), BlobsError>;
    /// The description only, or `NotFound`.
    async fn head(&self, key: &str) -> Result<BlobInfo, BlobsError>;
    async fn list(
        &self,
        prefix: &str,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<BlobPage, BlobsError>;
    /// Deletes the object; `Retained` while under retention, `NotFound` if absent.
    async fn delete(&self, key: &str) -> Result<(), BlobsError>;
    /// A URL that downloads the object for `expires_in`, then stops working.
    async fn download_link(&self, key: &str, expires_in: Duration) -> Result<String, BlobsError>;
}

/// Rules on object keys shared by every adapter (S3 allows more; we allow what is safe
/// as a relative path on every file system too).
pub fn validate_key(key: &str) -> Result<(), BlobsError> {
    let bad = |why: &str| Err(BlobsError::Validation(format!("key `{key}`: {why}")));
    if key.is_empty() || key.len() > 512 {
        return bad("must be 1 to 512 bytes");
    }
    if key.starts_with('/') || key.ends_with('/') {
        return bad("must not start or end with `/`");
    }
    if key
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return bad("has an empty, `.` or `..` segment");
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.=/@+".contains(&b))
    {
        return bad("may contain only letters, digits and - _ . = / @ +");
    }
    Ok(())
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The content type a blob is stored with: `application/octet-stream` when none is given;
/// at most 255 printable ASCII characters (an HTTP header value on S3, a file attribute
/// locally — both adapters apply the same rule).
pub fn content_type(given: &str) -> Result<String, BlobsError> {
    if given.is_empty() {
        return Ok("application/octet-stream".into());
    }
    if given.len() > 255 || !given.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(BlobsError::Validation(format!("content type `{given}`")));
    }
    Ok(given.to_owned())
}

/// S3 user metadata is limited to 2 KB; both adapters keep the same limit.
pub const MAX_METADATA_BYTES: usize = 2048;

/// The metadata rule of every adapter, S3's: keys `a-z 0-9 - _` (S3 lowercases header
/// names), the prefix `paraf-` reserved for the adapters' own entries, values printable
/// ASCII (S3 mangles anything else), at most [`MAX_METADATA_BYTES`] in all. A blob the
/// local store accepts is one S3 accepts and gives back unchanged.
pub fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<(), BlobsError> {
    let mut total = 0;
    for (k, v) in metadata {
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(BlobsError::Validation(format!(
                "metadata key `{k}`: only a-z 0-9 - _"
            )));
        }
        if k.starts_with("paraf-") {
            return Err(BlobsError::Validation(format!(
                "metadata key `{k}`: the prefix `paraf-` is reserved"
            )));
        }
        if !v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(BlobsError::Validation(format!(
                "metadata `{k}`: only printable ASCII"
            )));
        }
        total += k.len() + v.len();
    }
    if total > MAX_METADATA_BYTES {
        return Err(BlobsError::Validation(format!(
            "metadata is {total} bytes, more than {MAX_METADATA_BYTES}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_escape_the_store_are_refused() {
        for k in ["", "/a", "a/", "a/../b", "a//b", "a b", "./a"] {
            assert!(validate_key(k).is_err(), "{k}");
        }
        assert!(validate_key("archive/2026/ab12.pdf").is_ok());
    }

    #[test]
    fn metadata_s3_would_mangle_or_the_adapters_reserve_is_refused() {
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(validate_metadata(&one("nomor", "1/2026")).is_ok());
        assert!(validate_metadata(&one("Nomor", "1")).is_err());
        assert!(validate_metadata(&one("paraf-sha256", "x")).is_err());
        assert!(validate_metadata(&one("judul", "Surat ✓")).is_err());
        assert!(validate_metadata(&one("big", &"x".repeat(2100))).is_err());
    }
}
