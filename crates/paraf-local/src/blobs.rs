//! `FolderBlobs`: the `Blobs` port on a local folder.
//!
//! Layout under the root:
//!
//! ```text
//! <root>/index.sqlite                 one row per object: its key, where its bytes lie, its BlobInfo
//! <root>/packs/2026-12/<uuid>.pack    the bytes of the objects of one put, one after the other
//! ```
//!
//! Each put (one object, or a whole `put_many` batch) writes its bytes to a new pack file,
//! syncs it and the folder that names it, and then publishes every object of the batch in
//! one index transaction (SQLite, WAL, `synchronous=FULL`). An object exists iff its row
//! does, so a reader or a crash sees the old object or the new one, whole, never a mix; a
//! batch of a hundred documents costs one file and three syncs, not two hundred files.
//! Pack files are never modified: a pack no row names any more (its objects deleted or
//! replaced) is removed, and so is a pack a crash left before its objects were published
//! (at the next start, once it is a day old). Bytes are checked against their sha256 when
//! read, so damage on disk is reported, never served.
//!
//! The index transaction is `BEGIN IMMEDIATE`: writers in several processes are serialised
//! by SQLite, which is what makes `if_absent` and retention race-free even between a
//! running `paraf serve` and a `paraf sign` on the same data directory.
//!
//! Folders written by earlier versions of paraf (`<key>~meta.json` beside `<key>~<sha256>`
//! for every object) are indexed in place the first time the store is opened: their files
//! stay where they are and are removed only when their object is deleted or replaced.

use std::collections::HashSet;
use std::fs;
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use paraf_core::ports::blobs::{sha256_hex, validate_key};
use paraf_core::{BlobInfo, BlobPage, Blobs, BlobsError, Clock, PutBlob, SystemClock};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::Sha256;
use time::OffsetDateTime;

const INDEX_FILE: &str = "index.sqlite";
const PACKS: &str = "packs";
const PACK_SUFFIX: &str = ".pack";
/// Files of the layout before the index (see the module documentation).
const LEGACY_META_SUFFIX: &str = "~meta.json";
/// S3 presigned URLs last at most 7 days; links here follow the same rule.
const MAX_LINK_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
const MAX_PAGE: u32 = 1000;
/// Domain separation: the link secret may one day sign other things too.
const LINK_CONTEXT: &[u8] = b"paraf-blob-link-v1\n";
/// Another process holding the index's write lock is waited for this long.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// A pack no object names is left alone this long after it was written (a writer in
/// another process may be about to publish it), then removed at the next start.
const ORPHAN_AGE: Duration = Duration::from_secs(24 * 60 * 60);

type HmacSha256 = Hmac<Sha256>;

fn unavailable(what: impl std::fmt::Display, err: impl std::fmt::Display) -> BlobsError {
    BlobsError::Unavailable(format!("{what}: {err}"))
}

fn index_error(e: rusqlite::Error) -> BlobsError {
    tracing::error!(error = %e, "blob index error");
    unavailable("blob index", e)
}

/// Objects in a folder; see the module documentation for the layout.
#[derive(Clone)]
pub struct FolderBlobs {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    link_base_url: String,
    link_secret: [u8; 32],
    /// The index, opened on first use. Every index read and write of this process goes
    /// through it, and a pack file is removed only while it is held, so a reader that
    /// found a row under it opens the pack before this process can remove it.
    index: Mutex<Option<Connection>>,
    /// Retention and link expiry follow this clock, so they are testable.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for FolderBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the link secret.
        f.debug_struct("FolderBlobs")
            .field("root", &self.inner.root)
            .field("link_base_url", &self.inner.link_base_url)
            .finish_non_exhaustive()
    }
}

impl FolderBlobs {
    /// A store under `root` (created on first use). Links are
    /// `{link_base_url}/api/v1/files/{token}`, tokens authenticated with `link_secret`.
    pub fn new(root: PathBuf, link_base_url: String, link_secret: [u8; 32]) -> FolderBlobs {
        Self::with_clock(root, link_base_url, link_secret, Arc::new(SystemClock))
    }

    /// As [`FolderBlobs::new`], with retention and link expiry judged by `clock`.
    pub fn with_clock(
        root: PathBuf,
        link_base_url: String,
        link_secret: [u8; 32],
        clock: Arc<dyn Clock>,
    ) -> FolderBlobs {
        FolderBlobs {
            inner: Arc::new(Inner {
                root,
                link_base_url: link_base_url.trim_end_matches('/').to_owned(),
                link_secret,
                index: Mutex::new(None),
                clock,
            }),
        }
    }

    /// The key a download-link token stands for, if its MAC is ours and it has not
    /// expired at `now`; `InvalidLink` otherwise. The HTTP layer serves the object.
    pub fn resolve_link(&self, token: &str, now: OffsetDateTime) -> Result<String, BlobsError> {
        let (payload_b64, mac_b64) = token.split_once('.').ok_or(BlobsError::InvalidLink)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| BlobsError::InvalidLink)?;
        let tag = URL_SAFE_NO_PAD
            .decode(mac_b64)
            .map_err(|_| BlobsError::InvalidLink)?;
        self.inner
            .link_mac(&payload)?
            .verify_slice(&tag)
            .map_err(|_| BlobsError::InvalidLink)?;
        let payload = String::from_utf8(payload).map_err(|_| BlobsError::InvalidLink)?;
        let (expires, key) = payload.split_once(':').ok_or(BlobsError::InvalidLink)?;
        let expires: i64 = expires.parse().map_err(|_| BlobsError::InvalidLink)?;
        if now.unix_timestamp() >= expires || validate_key(key).is_err() {
            return Err(BlobsError::InvalidLink);
        }
        Ok(key.to_owned())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, BlobsError> + Send + 'static,
    ) -> Result<T, BlobsError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| unavailable("blob task", e))?
    }
}

/// Where an object's bytes lie: `file` relative to the root.
struct Location {
    file: String,
    offset: u64,
    info: BlobInfo,
}

/// One validated put of a batch.
struct Staged {
    index: usize,
    info: BlobInfo,
    if_absent: bool,
    bytes: Vec<u8>,
    /// Where its bytes start in the batch's pack.
    offset: u64,
}

impl Inner {
    fn link_mac(&self, payload: &[u8]) -> Result<HmacSha256, BlobsError> {
        let mut mac = HmacSha256::new_from_slice(&self.link_secret)
            .map_err(|e| unavailable("link key", e))?;
        mac.update(LINK_CONTEXT);
        mac.update(payload);
        Ok(mac)
    }

    /// The index connection, opened (and the folder created, and an earlier layout
    /// indexed) on first use.
    fn index(&self) -> Result<MutexGuard<'_, Option<Connection>>, BlobsError> {
        let mut guard = self.index.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            *guard = Some(self.open_index()?);
        }
        Ok(guard)
    }

    fn open_index(&self) -> Result<Connection, BlobsError> {
        if !self.root.is_dir() {
            create_dirs(&self.root)?;
        }
        let path = self.root.join(INDEX_FILE);
        let mut conn = Connection::open(&path).map_err(index_error)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(index_error)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(index_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(unavailable("blob index", format!("journal mode {mode}")));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(index_error)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS objects (
                 key TEXT PRIMARY KEY,
                 file TEXT NOT NULL,
                 offset INTEGER NOT NULL,
                 info TEXT NOT NULL
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS objects_by_file ON objects(file);
             CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )
        .map_err(index_error)?;
        self.import_legacy(&mut conn)?;
        self.remove_orphan_packs(&conn)?;
        Ok(conn)
    }

    /// Indexes, once, the objects of the layout before the index, in place.
    fn import_legacy(&self, conn: &mut Connection) -> Result<(), BlobsError> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(index_error)?;
        let done: Option<String> = tx
            .query_row(
                "SELECT value FROM settings WHERE name = 'legacy_indexed'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(index_error)?;
        if done.is_some() {
            return Ok(());
        }
        let mut keys = Vec::new();
        collect_legacy_keys(&self.root, &self.root, &mut keys)?;
        for key in &keys {
            let (dir, last) = legacy_parts(key);
            let meta = self
                .root
                .join(dir)
                .join(format!("{last}{LEGACY_META_SUFFIX}"));
            let Some(info) = read_legacy_meta(&meta)? else {
                continue;
            };
            let file = join_key_path(dir, &format!("{last}~{}", info.sha256));
            tx.execute(
                "INSERT OR IGNORE INTO objects (key, file, offset, info) VALUES (?1, ?2, 0, ?3)",
                params![key, file, info_json(&info)?],
            )
            .map_err(index_error)?;
        }
        tx.execute(
            "INSERT INTO settings (name, value) VALUES ('legacy_indexed', ?1)",
            params![keys.len().to_string()],
        )
        .map_err(index_error)?;
        tx.commit().map_err(index_error)?;
        if !keys.is_empty() {
            tracing::info!(objects = keys.len(), root = %self.root.display(), "indexed the blob folder of an earlier layout");
        }
        Ok(())
    }

    /// Removes packs that no object names and that are older than [`ORPHAN_AGE`]: what a
    /// crash between writing a pack and publishing its objects leaves.
    fn remove_orphan_packs(&self, conn: &Connection) -> Result<(), BlobsError> {
        let packs = self.root.join(PACKS);
        let Ok(months) = fs::read_dir(&packs) else {
            return Ok(());
        };
        let mut named: Option<HashSet<String>> = None;
        let now = std::time::SystemTime::now();
        for month in months.flatten() {
            let Ok(files) = fs::read_dir(month.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                let old = file
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age >= ORPHAN_AGE);
                if !name.ends_with(PACK_SUFFIX) || !old {
                    continue;
                }
                let named = match &mut named {
                    Some(n) => n,
                    None => named.insert(pack_files(conn)?),
                };
                let rel = format!("{PACKS}/{}/{name}", month.file_name().to_string_lossy());
                if !named.contains(&rel) {
                    tracing::warn!(pack = %rel, "removing a pack no object names (left by an interrupted write)");
                    let _ = fs::remove_file(file.path());
                }
            }
        }
        Ok(())
    }

    fn locate(conn: &Connection, key: &str) -> Result<Option<Location>, BlobsError> {
        let row: Option<(String, i64, String)> = conn
            .prepare_cached("SELECT file, offset, info FROM objects WHERE key = ?1")
            .and_then(|mut s| {
                s.query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(index_error)?;
        row.map(|(file, offset, info)| {
            Ok(Location {
                file,
                offset: u64::try_from(offset).map_err(|_| unavailable(key, "negative offset"))?,
                info: parse_info(&info)?,
            })
        })
        .transpose()
    }

    /// Validates one put; its bytes are written later, with the rest of its batch.
    fn validate(blob: &PutBlob, now: OffsetDateTime) -> Result<BlobInfo, BlobsError> {
        validate_key(&blob.key)?;
        paraf_core::ports::blobs::validate_metadata(&blob.metadata)?;
        let content_type = paraf_core::ports::blobs::content_type(&blob.content_type)?;
        if let Some(until) = blob.retain_until {
            // As S3 Object Lock: a retention date must lie in the future.
            if until <= now {
                return Err(BlobsError::Validation(
                    "retain_until must be in the future".into(),
                ));
            }
        }
        Ok(BlobInfo {
            key: blob.key.clone(),
            size: blob.bytes.len() as u64,
            sha256: sha256_hex(&blob.bytes),
            content_type,
            metadata: blob.metadata.clone(),
            created: now,
            retain_until: blob.retain_until,
        })
    }

    /// Writes the batch's bytes to a new pack, syncs it and the folder that names it, and
    /// returns its path relative to the root.
    fn write_pack(&self, staged: &[Staged], now: OffsetDateTime) -> Result<String, BlobsError> {
        let month = format!("{:04}-{:02}", now.year(), u8::from(now.month()));
        let dir = self.root.join(PACKS).join(&month);
        if !dir.is_dir() {
            create_dirs(&dir)?;
        }
        let name = format!("{}{PACK_SUFFIX}", uuid::Uuid::new_v4().simple());
        let path = dir.join(&name);
        let err = |e| unavailable(path.display(), e);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(err)?;
        let written = staged
            .iter()
            .try_for_each(|s| file.write_all(&s.bytes))
            .and_then(|()| file.sync_all());
        if let Err(e) = written.map_err(err).and_then(|()| sync_dir(&dir)) {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        Ok(format!("{PACKS}/{month}/{name}"))
    }

    /// Every put of the batch is validated, the bytes of those that pass are written to
    /// one pack and synced, and then they are published in one index transaction, each
    /// checked against the object it would replace (`if_absent`, retention) at that
    /// moment: one pack file and three syncs for the whole batch, and nothing reported
    /// stored before its bytes and its row are durable.
    fn put_many(&self, blobs: Vec<PutBlob>) -> Vec<Result<BlobInfo, BlobsError>> {
        let mut keys = HashSet::new();
        if !blobs.iter().all(|b| keys.insert(b.key.clone())) {
            // The same key twice: one after the other keeps `put`'s meaning simply.
            return blobs
                .into_iter()
                .flat_map(|b| self.put_many(vec![b]))
                .collect();
        }
        let now = self.clock.now();
        let mut results: Vec<Option<Result<BlobInfo, BlobsError>>> = Vec::new();
        let mut staged = Vec::new();
        let mut offset = 0u64;
        for (index, blob) in blobs.into_iter().enumerate() {
            match Self::validate(&blob, now) {
                Ok(info) => {
                    results.push(None);
                    let size = info.size;
                    staged.push(Staged {
                        index,
                        info,
                        if_absent: blob.if_absent,
                        bytes: blob.bytes,
                        offset,
                    });
                    offset += size;
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        if !staged.is_empty() {
            let published = self
                .write_pack(&staged, now)
                .and_then(|pack| self.publish(&staged, &pack, now));
            match published {
                Ok(outcomes) => {
                    for (s, outcome) in staged.into_iter().zip(outcomes) {
                        results[s.index] = Some(outcome.map(|()| s.info));
                    }
                }
                Err(e) => {
                    for s in &staged {
                        results[s.index] = Some(Err(e.clone()));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(unavailable("blob", "a put went unanswered"))))
            .collect()
    }

    /// Publishes the staged objects, whose bytes are durable in `pack`, in one
    /// transaction; then removes what no object names any more.
    fn publish(
        &self,
        staged: &[Staged],
        pack: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Result<(), BlobsError>>, BlobsError> {
        let mut guard = match self.index() {
            Ok(g) => g,
            Err(e) => {
                let _ = fs::remove_file(self.root.join(pack));
                return Err(e);
            }
        };
        let conn = guard.as_mut().expect("the index is open");
        let mut outcomes = Vec::with_capacity(staged.len());
        let mut released = Vec::new();
        let committed = (|| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(index_error)?;
            for s in staged {
                let key = &s.info.key;
                let old = Self::locate(&tx, key)?;
                if let Some(old) = &old {
                    if s.if_absent {
                        outcomes.push(Err(BlobsError::AlreadyExists(key.clone())));
                        continue;
                    }
                    if under_retention(&old.info, now) {
                        outcomes.push(Err(BlobsError::Retained(key.clone())));
                        continue;
                    }
                }
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO objects (key, file, offset, info) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        key,
                        pack,
                        i64::try_from(s.offset).unwrap_or(i64::MAX),
                        info_json(&s.info).map_err(|e| {
                            rusqlite::Error::ToSqlConversionFailure(Box::new(e))
                        })?
                    ])
                })
                .map_err(index_error)?;
                if let Some(old) = old {
                    released.push((key.clone(), old.file));
                }
                outcomes.push(Ok(()));
            }
            tx.commit().map_err(index_error)
        })();
        if let Err(e) = committed {
            drop(guard);
            let _ = fs::remove_file(self.root.join(pack));
            return Err(e);
        }
        released.push((String::new(), pack.to_owned()));
        self.remove_unnamed(conn, released);
        Ok(outcomes)
    }

    /// Removes each file of `released` (the key that named it, and the file) that no object
    /// names any more; the legacy layout's metadata file goes with its bytes. Call with
    /// the index held. A failure only leaves a file no reader will look at.
    fn remove_unnamed(&self, conn: &Connection, released: Vec<(String, String)>) {
        for (key, file) in released {
            let named: Result<bool, _> = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM objects WHERE file = ?1)")
                .and_then(|mut s| s.query_row(params![file], |r| r.get(0)));
            if named.unwrap_or(true) {
                continue;
            }
            let _ = fs::remove_file(self.root.join(&file));
            if !file.starts_with(PACKS) && !key.is_empty() {
                let (dir, last) = legacy_parts(&key);
                let _ = fs::remove_file(
                    self.root
                        .join(dir)
                        .join(format!("{last}{LEGACY_META_SUFFIX}")),
                );
            }
        }
    }

    fn get(&self, key: &str) -> Result<(BlobInfo, Vec<u8>), BlobsError> {
        validate_key(key)?;
        // A pack removed by another process between our lookup and our open means the
        // object was deleted or replaced meanwhile: look again once.
        for attempt in 0..2 {
            let (loc, file) = {
                let guard = self.index()?;
                let conn = guard.as_ref().expect("the index is open");
                let loc =
                    Self::locate(conn, key)?.ok_or_else(|| BlobsError::NotFound(key.to_owned()))?;
                // Opened while the index is held: this process removes no pack meanwhile,
                // and once open the bytes stay readable whatever happens to the name.
                let file = fs::File::open(self.root.join(&loc.file));
                (loc, file)
            };
            let mut file = match file {
                Ok(f) => f,
                Err(e) if e.kind() == ErrorKind::NotFound && attempt == 0 => continue,
                Err(e) => return Err(unavailable(key, e)),
            };
            let size = usize::try_from(loc.info.size)
                .map_err(|_| unavailable(key, "object too large for this machine"))?;
            let mut bytes = vec![0; size];
            file.seek(SeekFrom::Start(loc.offset))
                .and_then(|_| file.read_exact(&mut bytes))
                .map_err(|e| unavailable(key, e))?;
            if sha256_hex(&bytes) != loc.info.sha256 {
                tracing::error!(key, file = %loc.file, "stored bytes differ from their sha256");
                return Err(unavailable(key, "stored bytes differ from their sha256"));
            }
            return Ok((loc.info, bytes));
        }
        Err(BlobsError::NotFound(key.to_owned()))
    }

    fn head(&self, key: &str) -> Result<BlobInfo, BlobsError> {
        validate_key(key)?;
        let guard = self.index()?;
        Self::locate(guard.as_ref().expect("the index is open"), key)?
            .map(|loc| loc.info)
            .ok_or_else(|| BlobsError::NotFound(key.to_owned()))
    }

    fn delete(&self, key: &str) -> Result<(), BlobsError> {
        validate_key(key)?;
        let mut guard = self.index()?;
        let conn = guard.as_mut().expect("the index is open");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(index_error)?;
        let loc = Self::locate(&tx, key)?.ok_or_else(|| BlobsError::NotFound(key.to_owned()))?;
        if under_retention(&loc.info, self.clock.now()) {
            return Err(BlobsError::Retained(key.to_owned()));
        }
        tx.execute("DELETE FROM objects WHERE key = ?1", params![key])
            .map_err(index_error)?;
        tx.commit().map_err(index_error)?;
        self.remove_unnamed(conn, vec![(key.to_owned(), loc.file)]);
        Ok(())
    }

    fn list(
        &self,
        prefix: &str,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<BlobPage, BlobsError> {
        if !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=/@+".contains(&b))
        {
            return Err(BlobsError::Validation(format!(
                "prefix `{prefix}`: may contain only letters, digits and - _ . = / @ +"
            )));
        }
        let after = match cursor {
            Some(c) => decode_cursor(&c)?,
            None => String::new(),
        };
        let limit = limit.clamp(1, MAX_PAGE) as usize;
        let guard = self.index()?;
        let conn = guard.as_ref().expect("the index is open");
        // Keys with the prefix are one run of the key order, starting at the prefix.
        let mut stmt = conn
            .prepare_cached(
                "SELECT key, info FROM objects WHERE key >= ?1 AND key > ?2 ORDER BY key LIMIT ?3",
            )
            .map_err(index_error)?;
        let rows = stmt
            .query_map(
                params![prefix, after, i64::try_from(limit + 1).unwrap_or(i64::MAX)],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .map_err(index_error)?;
        let mut items = Vec::with_capacity(limit);
        let mut more = false;
        for row in rows {
            let (key, info) = row.map_err(index_error)?;
            if !key.starts_with(prefix) {
                break;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(parse_info(&info)?);
        }
        let cursor = match items.last() {
            Some(last) if more => Some(URL_SAFE_NO_PAD.encode(&last.key)),
            _ => None,
        };
        Ok(BlobPage { items, cursor })
    }

    fn download_link(&self, key: &str, expires_in: Duration) -> Result<String, BlobsError> {
        if expires_in < Duration::from_secs(1) || expires_in > MAX_LINK_LIFETIME {
            return Err(BlobsError::Validation(
                "a link lasts from 1 second to 7 days".into(),
            ));
        }
        self.head(key)?;
        // Rounded up, so a link never lasts shorter than asked.
        let seconds = expires_in.as_secs() + u64::from(expires_in.subsec_nanos() > 0);
        let expires = self.clock.now().unix_timestamp() + seconds as i64;
        let payload = format!("{expires}:{key}");
        let tag = self.link_mac(payload.as_bytes())?.finalize().into_bytes();
        Ok(format!(
            "{}/api/v1/files/{}.{}",
            self.link_base_url,
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }
}

#[async_trait]
impl Blobs for FolderBlobs {
    async fn put(&self, blob: PutBlob) -> Result<BlobInfo, BlobsError> {
        self.blocking(move |inner| {
            inner
                .put_many(vec![blob])
                .pop()
                .unwrap_or_else(|| Err(unavailable("blob", "no result")))
        })
        .await
    }

    async fn put_many(&self, blobs: Vec<PutBlob>) -> Vec<Result<BlobInfo, BlobsError>> {
        let count = blobs.len();
        match self.blocking(move |inner| Ok(inner.put_many(blobs))).await {
            Ok(results) => results,
            Err(e) => vec![Err(e); count],
        }
    }

    async fn get(&self, key: &str) -> Result<(BlobInfo, Vec<u8>), BlobsError> {
        let key = key.to_owned();
        self.blocking(move |inner| inner.get(&key)).await
    }

    async fn head(&self, key: &str) -> Result<BlobInfo, BlobsError> {
        let key = key.to_owned();
        self.blocking(move |inner| inner.head(&key)).await
    }

    async fn list(
        &self,
        prefix: &str,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<BlobPage, BlobsError> {
        let prefix = prefix.to_owned();
        self.blocking(move |inner| inner.list(&prefix, limit, cursor))
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), BlobsError> {
        let key = key.to_owned();
        self.blocking(move |inner| inner.delete(&key)).await
    }

    async fn download_link(&self, key: &str, expires_in: Duration) -> Result<String, BlobsError> {
        let key = key.to_owned();
        self.blocking(move |inner| inner.download_link(&key, expires_in))
            .await
    }
}

fn under_retention(info: &BlobInfo, now: OffsetDateTime) -> bool {
    info.retain_until.is_some_and(|until| until > now)
}

fn info_json(info: &BlobInfo) -> Result<String, BlobsError> {
    serde_json::to_string(info).map_err(|e| unavailable("blob metadata", e))
}

fn parse_info(json: &str) -> Result<BlobInfo, BlobsError> {
    serde_json::from_str(json).map_err(|e| unavailable("blob metadata", e))
}

/// Every pack file some object names.
fn pack_files(conn: &Connection) -> Result<HashSet<String>, BlobsError> {
    let mut stmt = conn
        .prepare("SELECT DISTINCT file FROM objects WHERE file LIKE 'packs/%'")
        .map_err(index_error)?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(index_error)?;
    rows.collect::<Result<_, _>>().map_err(index_error)
}

fn decode_cursor(cursor: &str) -> Result<String, BlobsError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| BlobsError::Validation("invalid list cursor".into()))
}

/// A key of the legacy layout split into its folder and its last segment.
fn legacy_parts(key: &str) -> (&str, &str) {
    key.rsplit_once('/').unwrap_or(("", key))
}

fn join_key_path(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn read_legacy_meta(path: &Path) -> Result<Option<BlobInfo>, BlobsError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| unavailable(path.display(), e)),
        Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
            Ok(None)
        }
        Err(e) => Err(unavailable(path.display(), e)),
    }
}

/// Every key whose legacy metadata file lies under `dir`, as a path relative to `root`.
/// The index's own files and the packs are not objects.
fn collect_legacy_keys(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), BlobsError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
            return Ok(())
        }
        Err(e) => return Err(unavailable(dir.display(), e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| unavailable(dir.display(), e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let file_type = entry
            .file_type()
            .map_err(|e| unavailable(dir.display(), e))?;
        if file_type.is_dir() && !name.contains('~') && !(dir == root && name == PACKS) {
            collect_legacy_keys(root, &entry.path(), out)?;
        } else if let Some(last) = name.strip_suffix(LEGACY_META_SUFFIX) {
            let rel = dir.strip_prefix(root).unwrap_or(Path::new(""));
            let mut key = String::new();
            for part in rel.components() {
                key.push_str(&part.as_os_str().to_string_lossy());
                key.push('/');
            }
            key.push_str(last);
            if validate_key(&key).is_ok() {
                out.push(key);
            }
        }
    }
    Ok(())
}

/// Creates `dir` and its missing parents and makes their names durable: a crash must not
/// lose a folder with the packs published in it.
fn create_dirs(dir: &Path) -> Result<(), BlobsError> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.is_dir() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(parent) => at = parent,
            None => break,
        }
    }
    fs::create_dir_all(dir).map_err(|e| unavailable(dir.display(), e))?;
    for made in missing.iter().rev() {
        if let Some(parent) = made.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

fn sync_dir(path: &Path) -> Result<(), BlobsError> {
    // Makes new names durable; directories cannot be opened for sync everywhere.
    #[cfg(unix)]
    fs::File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| unavailable(path.display(), e))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> FolderBlobs {
        FolderBlobs::new(dir.to_path_buf(), "http://localhost:8080/".into(), [7; 32])
    }

    fn blob(key: &str, bytes: &[u8]) -> PutBlob {
        PutBlob {
            key: key.into(),
            bytes: bytes.to_vec(),
            content_type: "application/pdf".into(),
            ..PutBlob::default()
        }
    }

    /// The pack files under the root, relative to it.
    fn packs(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for month in fs::read_dir(dir.join(PACKS)).into_iter().flatten() {
            let month = month.unwrap();
            for f in fs::read_dir(month.path()).unwrap() {
                out.push(format!(
                    "{}/{}",
                    month.file_name().to_string_lossy(),
                    f.unwrap().file_name().to_string_lossy()
                ));
            }
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn a_batch_is_written_as_one_pack_and_each_object_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let batch: Vec<PutBlob> = (0..50)
            .map(|i| {
                blob(
                    &format!("archive/{:02x}/{i}.pdf", i % 9),
                    format!("pdf number {i}").as_bytes(),
                )
            })
            .collect();
        for r in blobs.put_many(batch).await {
            r.unwrap();
        }
        assert_eq!(packs(dir.path()).len(), 1);
        for i in [0, 17, 49] {
            let (info, bytes) = blobs
                .get(&format!("archive/{:02x}/{i}.pdf", i % 9))
                .await
                .unwrap();
            assert_eq!(bytes, format!("pdf number {i}").as_bytes());
            assert_eq!(info.size, bytes.len() as u64);
        }
        // Nothing else than the index and the packs: no file per object.
        let mut top: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with(INDEX_FILE))
            .collect();
        top.sort();
        assert_eq!(top, vec![PACKS.to_string()]);
    }

    #[tokio::test]
    async fn a_pack_goes_when_no_object_names_it_any_more() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        blobs
            .put_many(vec![blob("a", b"one"), blob("b", b"two")])
            .await;
        let first = packs(dir.path());
        blobs.put(blob("a", b"three")).await.unwrap();
        // `b` still lives in the first pack.
        assert_eq!(packs(dir.path()).len(), 2);
        blobs.delete("b").await.unwrap();
        let left = packs(dir.path());
        assert_eq!(left.len(), 1);
        assert!(!left.contains(&first[0]));
        blobs.delete("a").await.unwrap();
        assert!(packs(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_refused_put_leaves_no_pack_behind() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        blobs.put(blob("x", b"one")).await.unwrap();
        let before = packs(dir.path());
        let mut again = blob("x", b"two");
        again.if_absent = true;
        assert!(matches!(
            blobs.put(again).await,
            Err(BlobsError::AlreadyExists(_))
        ));
        assert_eq!(packs(dir.path()), before);
        assert_eq!(blobs.get("x").await.unwrap().1, b"one");
    }

    #[tokio::test]
    async fn damaged_bytes_are_reported_and_never_served() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        blobs
            .put(blob("k.pdf", b"%PDF-1.7 original"))
            .await
            .unwrap();
        let pack = dir.path().join(PACKS).join(&packs(dir.path())[0]);
        let mut bytes = fs::read(&pack).unwrap();
        bytes[3] ^= 0x20;
        fs::write(&pack, bytes).unwrap();
        match blobs.get("k.pdf").await {
            Err(BlobsError::Unavailable(why)) => assert!(why.contains("sha256"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_folder_of_the_earlier_layout_is_indexed_in_place() {
        let dir = tempfile::tempdir().unwrap();
        // As the store before the index wrote them: metadata beside bytes named by hash.
        let old = |key: &str, bytes: &[u8]| {
            let (folder, last) = legacy_parts(key);
            let folder = dir.path().join(folder);
            fs::create_dir_all(&folder).unwrap();
            let info = BlobInfo {
                key: key.into(),
                size: bytes.len() as u64,
                sha256: sha256_hex(bytes),
                content_type: "application/pdf".into(),
                metadata: [("document".to_string(), "d1".to_string())].into(),
                created: OffsetDateTime::now_utc(),
                retain_until: None,
            };
            fs::write(folder.join(format!("{last}~{}", info.sha256)), bytes).unwrap();
            fs::write(
                folder.join(format!("{last}{LEGACY_META_SUFFIX}")),
                serde_json::to_vec_pretty(&info).unwrap(),
            )
            .unwrap();
            info
        };
        let a = old("archive/ab/ab12.pdf", b"first document");
        old("archive/cd/cd34.pdf", b"second document");
        old("top", b"at the root");
        fs::write(dir.path().join("archive/ab/x~tmp-1"), b"").unwrap();
        fs::write(dir.path().join("archive/ab/README"), b"").unwrap();

        let blobs = store(dir.path());
        let (info, bytes) = blobs.get("archive/ab/ab12.pdf").await.unwrap();
        assert_eq!((info, bytes.as_slice()), (a, b"first document".as_slice()));
        assert_eq!(blobs.get("top").await.unwrap().1, b"at the root");
        let keys: Vec<String> = blobs
            .list("archive/", 10, None)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(keys, ["archive/ab/ab12.pdf", "archive/cd/cd34.pdf"]);
        // A second store (another process) does not index them twice, and a replaced or
        // deleted object takes its old files with it.
        let again = store(dir.path());
        again
            .put(blob("archive/cd/cd34.pdf", b"new"))
            .await
            .unwrap();
        again.delete("top").await.unwrap();
        let cd: Vec<_> = fs::read_dir(dir.path().join("archive/cd"))
            .unwrap()
            .collect();
        assert!(cd.is_empty(), "{cd:?}");
        assert!(!dir.path().join("top~meta.json").exists());
        assert_eq!(blobs.get("archive/cd/cd34.pdf").await.unwrap().1, b"new");
    }

    #[tokio::test]
    async fn an_old_pack_no_object_names_is_removed_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        blobs.put(blob("kept", b"kept")).await.unwrap();
        // What a crash between writing a pack and publishing it leaves: a day-old one
        // goes, a fresh one (maybe another process's write in progress) stays.
        let month = dir.path().join(PACKS).join("2020-01");
        fs::create_dir_all(&month).unwrap();
        for (name, age) in [("old.pack", ORPHAN_AGE * 2), ("new.pack", Duration::ZERO)] {
            let f = fs::File::create(month.join(name)).unwrap();
            f.set_modified(std::time::SystemTime::now() - age).unwrap();
        }
        let restarted = store(dir.path());
        assert_eq!(restarted.get("kept").await.unwrap().1, b"kept");
        assert!(!month.join("old.pack").exists());
        assert!(month.join("new.pack").exists());
        assert_eq!(packs(dir.path()).len(), 2);
    }

    #[tokio::test]
    async fn a_link_resolves_until_it_expires_and_a_forged_one_never() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        blobs.put(blob("arsip/sk.pdf", b"%PDF")).await.unwrap();
        let url = blobs
            .download_link("arsip/sk.pdf", Duration::from_secs(600))
            .await
            .unwrap();
        let token = url
            .strip_prefix("http://localhost:8080/api/v1/files/")
            .unwrap();
        let now = OffsetDateTime::now_utc();
        assert_eq!(blobs.resolve_link(token, now).unwrap(), "arsip/sk.pdf");
        assert_eq!(
            blobs
                .resolve_link(token, now + time::Duration::seconds(599))
                .unwrap(),
            "arsip/sk.pdf"
        );
        assert_eq!(
            blobs.resolve_link(token, now + time::Duration::seconds(602)),
            Err(BlobsError::InvalidLink)
        );

        // Another key (or a later expiry) under the same MAC.
        let (payload, tag) = token.split_once('.').unwrap();
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let (exp, _) = text.split_once(':').unwrap();
        for forged_payload in [
            format!("{exp}:arsip/other.pdf"),
            format!("9{exp}:arsip/sk.pdf"),
        ] {
            let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(forged_payload));
            assert_eq!(
                blobs.resolve_link(&forged, now),
                Err(BlobsError::InvalidLink)
            );
        }
        // A flipped MAC byte, garbage, and a link from a store with another secret.
        let mut mac = URL_SAFE_NO_PAD.decode(tag).unwrap();
        mac[0] ^= 1;
        let flipped = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac));
        for bad in [flipped.as_str(), "", ".", "abc", payload] {
            assert_eq!(
                blobs.resolve_link(bad, now),
                Err(BlobsError::InvalidLink),
                "{bad}"
            );
        }
        let other = FolderBlobs::new(dir.path().to_path_buf(), "http://x".into(), [8; 32]);
        assert_eq!(other.resolve_link(token, now), Err(BlobsError::InvalidLink));
    }

    #[tokio::test]
    async fn links_for_missing_objects_or_odd_lifetimes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        assert!(matches!(
            blobs.download_link("nope", Duration::from_secs(60)).await,
            Err(BlobsError::NotFound(_))
        ));
        blobs.put(blob("k", b"")).await.unwrap();
        for d in [Duration::ZERO, Duration::from_secs(8 * 24 * 3600)] {
            assert!(matches!(
                blobs.download_link("k", d).await,
                Err(BlobsError::Validation(_))
            ));
        }
    }

    #[tokio::test]
    async fn a_retention_date_in_the_past_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let mut b = blob("k", b"x");
        b.retain_until = Some(OffsetDateTime::now_utc() - time::Duration::seconds(1));
        assert!(matches!(blobs.put(b).await, Err(BlobsError::Validation(_))));
    }

    #[tokio::test]
    async fn objects_written_by_another_process_are_read_and_listed() {
        // Two stores on one folder stand in for two processes: no shared lock.
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (store(dir.path()), store(dir.path()));
        a.put(blob("p/1", b"one")).await.unwrap();
        assert_eq!(b.get("p/1").await.unwrap().1, b"one");
        let mut again = blob("p/1", b"two");
        again.if_absent = true;
        assert!(matches!(
            b.put(again).await,
            Err(BlobsError::AlreadyExists(_))
        ));
        assert_eq!(b.list("p/", 10, None).await.unwrap().items.len(), 1);
    }
}
