//! [`Blobs`] on S3: one archive bucket with versioning and Object Lock.
//!
//! - The sha256 is computed here and stored as user metadata `paraf-sha256` (S3's own
//!   checksums are optional and not returned by every call); user metadata keys starting
//!   with `paraf-` are reserved.
//! - `if_absent` is S3's conditional write (`If-None-Match: *`): atomic, so of concurrent
//!   writers exactly one wins.
//! - Retention is Object Lock COMPLIANCE with `RetainUntilDate` on the object version. S3
//!   itself guarantees that a locked *version* can be neither deleted nor overwritten; a
//!   plain PUT or DELETE on the key would still succeed by adding a new version or a delete
//!   marker. The port promises more (the key itself is frozen), so `put` and `delete` read
//!   the current version's retention first and refuse with `Retained`. Limitation: that
//!   check and the write are two requests, so a concurrent writer can slip a new version in
//!   between; the locked version is never lost (S3 keeps it), only hidden behind the newer.
//! - `download_link` is a SigV4 presigned GET.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, ObjectLockEnabled, ObjectLockMode, VersioningConfiguration,
};
use aws_sdk_s3::Client;
use paraf_core::ports::blobs::{sha256_hex, validate_key};
use paraf_core::{BlobInfo, BlobPage, Blobs, BlobsError, PutBlob};
use time::OffsetDateTime;

const SHA256_META: &str = "paraf-sha256";
/// SigV4 presigned URLs live at most 7 days.
const MAX_LINK: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Clone, Debug)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Blobs {
            client,
            bucket: bucket.into(),
        }
    }
}

/// Creates an archive bucket: Object Lock enabled at creation (which also turns versioning
/// on). Used by tests; production buckets come from the SAM template with the same shape.
pub async fn create_archive_bucket(client: &Client, name: &str) -> Result<(), BlobsError> {
    client
        .create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .map_err(|e| map_err("CreateBucket", name, e))?;
    // Object Lock implies versioning; say so explicitly for stores that do not infer it.
    client
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| map_err("PutBucketVersioning", name, e))?;
    let lock = client
        .get_object_lock_configuration()
        .bucket(name)
        .send()
        .await
        .map_err(|e| map_err("GetObjectLockConfiguration", name, e))?;
    let enabled = lock
        .object_lock_configuration()
        .and_then(|c| c.object_lock_enabled())
        == Some(&ObjectLockEnabled::Enabled);
    if !enabled {
        return Err(BlobsError::Unavailable(format!(
            "bucket `{name}` has no Object Lock"
        )));
    }
    Ok(())
}

fn to_time(t: Option<&DateTime>) -> Option<OffsetDateTime> {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok())
}

fn info(
    key: &str,
    size: Option<i64>,
    content_type: Option<&str>,
    metadata: Option<&HashMap<String, String>>,
    last_modified: Option<&DateTime>,
    retain_until: Option<&DateTime>,
) -> Result<BlobInfo, BlobsError> {
    let mut metadata: BTreeMap<String, String> = metadata
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let sha256 = metadata.remove(SHA256_META).ok_or_else(|| {
        tracing::error!(key, "S3 object without paraf-sha256 metadata");
        BlobsError::Unavailable(format!("object `{key}` was not stored by paraf"))
    })?;
    Ok(BlobInfo {
        key: key.to_string(),
        size: size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        sha256,
        content_type: content_type
            .unwrap_or("application/octet-stream")
            .to_string(),
        metadata,
        created: to_time(last_modified).unwrap_or_else(OffsetDateTime::now_utc),
        retain_until: to_time(retain_until),
    })
}

fn map_err<E, R>(op: &'static str, key: &str, err: SdkError<E, R>) -> BlobsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or("").to_string();
    let message = err.message().unwrap_or("").to_string();
    match code.as_str() {
        "NoSuchKey" | "NotFound" => BlobsError::NotFound(key.to_string()),
        "PreconditionFailed" | "ConditionalRequestConflict" => {
            BlobsError::AlreadyExists(key.to_string())
        }
        "AccessDenied" if message.contains("retention") || message.contains("Object Lock") => {
            BlobsError::Retained(key.to_string())
        }
        _ => {
            tracing::error!(op, key, code, message, error = ?aws_sdk_s3::error::DisplayErrorContext(&err), "S3 request failed");
            BlobsError::Unavailable(format!("S3 {op} failed"))
        }
    }
}

fn under_retention(info: &BlobInfo) -> bool {
    info.retain_until
        .is_some_and(|until| until > OffsetDateTime::now_utc())
}

impl S3Blobs {
    /// The current version's description, `None` when the key is free.
    async fn current(&self, key: &str) -> Result<Option<BlobInfo>, BlobsError> {
        match self.head(key).await {
            Ok(i) => Ok(Some(i)),
            Err(BlobsError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// PutObject calls of one `put_many` in flight at once: each is durable when S3 answers,
/// so a batch costs about one round trip per this many objects.
const PUTS_IN_FLIGHT: usize = 16;

#[async_trait]
impl Blobs for S3Blobs {
    /// Concurrent `put`s (at most [`PUTS_IN_FLIGHT`]); a key named twice keeps the order
    /// of the batch by putting one after the other.
    async fn put_many(&self, blobs: Vec<PutBlob>) -> Vec<Result<BlobInfo, BlobsError>> {
        let mut keys = std::collections::HashSet::new();
        if !blobs.iter().all(|b| keys.insert(b.key.clone())) {
            let mut results = Vec::with_capacity(blobs.len());
            for blob in blobs {
                results.push(self.put(blob).await);
            }
            return results;
        }
        let count = blobs.len();
        let mut results: Vec<Option<Result<BlobInfo, BlobsError>>> = vec![None; count];
        let mut running = tokio::task::JoinSet::new();
        for (i, blob) in blobs.into_iter().enumerate() {
            if running.len() >= PUTS_IN_FLIGHT {
                if let Some(Ok((j, r))) = running.join_next().await {
                    results[j] = Some(r);
                }
            }
            let this = self.clone();
            running.spawn(async move { (i, this.put(blob).await) });
        }
        while let Some(done) = running.join_next().await {
            if let Ok((j, r)) = done {
                results[j] = Some(r);
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(BlobsError::Unavailable("put task failed".into()))))
            .collect()
    }

    async fn put(&self, blob: PutBlob) -> Result<BlobInfo, BlobsError> {
        validate_key(&blob.key)?;
        paraf_core::ports::blobs::validate_metadata(&blob.metadata)?;
        let ctype = paraf_core::ports::blobs::content_type(&blob.content_type)?;
        let key = blob.key.as_str();
        if let Some(existing) = self.current(key).await? {
            if blob.if_absent {
                return Err(BlobsError::AlreadyExists(key.to_string()));
            }
            if under_retention(&existing) {
                return Err(BlobsError::Retained(key.to_string()));
            }
        }
        let sha256 = sha256_hex(&blob.bytes);
        let size = blob.bytes.len() as u64;
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(&ctype)
            .set_metadata(Some(
                blob.metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .chain([(SHA256_META.to_string(), sha256.clone())])
                    .collect(),
            ))
            .body(ByteStream::from(blob.bytes));
        if blob.if_absent {
            req = req.if_none_match("*");
        }
        let retain_until = match blob.retain_until {
            Some(until) => {
                // Object Lock keeps whole seconds (as the port's other adapters report).
                let secs = until.unix_timestamp();
                req = req
                    .object_lock_mode(ObjectLockMode::Compliance)
                    .object_lock_retain_until_date(DateTime::from_secs(secs));
                OffsetDateTime::from_unix_timestamp(secs).ok()
            }
            None => None,
        };
        req.send().await.map_err(|e| map_err("PutObject", key, e))?;
        let now = OffsetDateTime::now_utc();
        Ok(BlobInfo {
            key: key.to_string(),
            size,
            sha256,
            content_type: ctype,
            metadata: blob.metadata,
            created: now.replace_nanosecond(0).unwrap_or(now),
            retain_until,
        })
    }

    async fn get(&self, key: &str) -> Result<(BlobInfo, Vec<u8>), BlobsError> {
        validate_key(key)?;
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| map_err("GetObject", key, e))?;
        let described = info(
            key,
            out.content_length(),
            out.content_type(),
            out.metadata(),
            out.last_modified(),
            out.object_lock_retain_until_date(),
        )?;
        let bytes = out.body.collect().await.map_err(|e| {
            tracing::error!(key, error = %e, "S3 object body could not be read");
            BlobsError::Unavailable("S3 GetObject body failed".into())
        })?;
        Ok((described, bytes.into_bytes().to_vec()))
    }

    async fn head(&self, key: &str) -> Result<BlobInfo, BlobsError> {
        validate_key(key)?;
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| map_err("HeadObject", key, e))?;
        info(
            key,
            out.content_length(),
            out.content_type(),
            out.metadata(),
            out.last_modified(),
            out.object_lock_retain_until_date(),
        )
    }

    async fn list(
        &self,
        prefix: &str,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<BlobPage, BlobsError> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .set_prefix((!prefix.is_empty()).then(|| prefix.to_string()))
            .max_keys(limit.clamp(1, 1000) as i32)
            .set_continuation_token(cursor)
            .send()
            .await
            .map_err(|e| map_err("ListObjectsV2", prefix, e))?;
        let mut items = Vec::new();
        // Listings carry no user metadata: one HEAD per object gives the sha256.
        for object in out.contents() {
            let Some(key) = object.key() else { continue };
            match self.head(key).await {
                Ok(i) => items.push(i),
                Err(BlobsError::NotFound(_)) => {} // deleted since the listing
                Err(e) => return Err(e),
            }
        }
        let cursor = if out.is_truncated() == Some(true) {
            out.next_continuation_token().map(str::to_string)
        } else {
            None
        };
        Ok(BlobPage { items, cursor })
    }

    async fn delete(&self, key: &str) -> Result<(), BlobsError> {
        validate_key(key)?;
        let Some(existing) = self.current(key).await? else {
            return Err(BlobsError::NotFound(key.to_string()));
        };
        if under_retention(&existing) {
            return Err(BlobsError::Retained(key.to_string()));
        }
        // On the versioned archive bucket this adds a delete marker: the key is free again,
        // earlier versions stay (and locked ones could not be removed anyway).
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| map_err("DeleteObject", key, e))?;
        Ok(())
    }

    async fn download_link(&self, key: &str, expires_in: Duration) -> Result<String, BlobsError> {
        validate_key(key)?;
        let config = PresigningConfig::expires_in(expires_in.min(MAX_LINK))
            .map_err(|e| BlobsError::Validation(format!("link lifetime {expires_in:?}: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| map_err("GetObject (presign)", key, e))?;
        Ok(req.uri().to_string())
    }
}
