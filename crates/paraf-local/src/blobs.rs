//! `FolderBlobs`: the `Blobs` port on a local folder.
//!
//! Layout under the root, for the key `archive/2026/ab12.pdf`:
//!
//! ```text
//! <root>/archive/2026/ab12.pdf~meta.json   BlobInfo as JSON: the object exists iff this does
//! <root>/archive/2026/ab12.pdf~<sha256>    the bytes, named by their hash
//! <root>/archive/2026/ab12.pdf~tmp-<uuid>  a write in progress (ignored by readers)
//! ```
//!
//! `~` never occurs in a key, so an object `a` (`a~meta.json`) and the objects under the
//! prefix `a/` (directory `a`) never collide, as in S3. Naming the bytes by their hash
//! makes a replacement one atomic step, the rename of the metadata file: a reader or a
//! crash sees the old object or the new one, never the new metadata with the old bytes.
//! Writers (put, delete) are serialised by a lock so retention and `if_absent` are
//! checked and acted on without a race; `if_absent` publishes with `link(2)`, which
//! refuses an existing name even against another process.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use paraf_core::ports::blobs::{sha256_hex, validate_key};
use paraf_core::{BlobInfo, BlobPage, Blobs, BlobsError, Clock, PutBlob, SystemClock};
use sha2::Sha256;
use time::OffsetDateTime;

const META_SUFFIX: &str = "~meta.json";
/// Leaves room for `~` + 64 hex digits within the usual 255-byte file name limit.
const MAX_LAST_SEGMENT: usize = 190;
/// S3 presigned URLs last at most 7 days; links here follow the same rule.
const MAX_LINK_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
const MAX_PAGE: u32 = 1000;
/// Domain separation: the link secret may one day sign other things too.
const LINK_CONTEXT: &[u8] = b"paraf-blob-link-v1\n";

type HmacSha256 = Hmac<Sha256>;

fn unavailable(what: impl std::fmt::Display, err: impl std::fmt::Display) -> BlobsError {
    BlobsError::Unavailable(format!("{what}: {err}"))
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
    /// Writers take it exclusively; `get` takes it shared while it opens the metadata
    /// and the bytes, so it never pairs metadata with bytes about to be removed.
    lock: RwLock<()>,
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
    /// A store under `root` (created on the first write). Links are
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
                lock: RwLock::new(()),
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

/// Where one object's files live.
struct ObjectPaths {
    dir: PathBuf,
    last: String,
}

impl ObjectPaths {
    fn meta(&self) -> PathBuf {
        self.dir.join(format!("{}{META_SUFFIX}", self.last))
    }
    fn data(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{}~{sha256}", self.last))
    }
    fn temp(&self) -> PathBuf {
        self.dir
            .join(format!("{}~tmp-{}", self.last, uuid::Uuid::new_v4()))
    }
}

impl Inner {
    fn paths(&self, key: &str) -> Result<ObjectPaths, BlobsError> {
        validate_key(key)?;
        let (dir, last) = match key.rsplit_once('/') {
            Some((dir, last)) => (self.root.join(dir), last),
            None => (self.root.clone(), key),
        };
        if last.len() > MAX_LAST_SEGMENT {
            return Err(BlobsError::Validation(format!(
                "key `{key}`: the part after the last `/` must be at most {MAX_LAST_SEGMENT} bytes"
            )));
        }
        Ok(ObjectPaths {
            dir,
            last: last.to_owned(),
        })
    }

    fn link_mac(&self, payload: &[u8]) -> Result<HmacSha256, BlobsError> {
        let mut mac = HmacSha256::new_from_slice(&self.link_secret)
            .map_err(|e| unavailable("link key", e))?;
        mac.update(LINK_CONTEXT);
        mac.update(payload);
        Ok(mac)
    }

    fn write_lock(&self) -> Result<std::sync::RwLockWriteGuard<'_, ()>, BlobsError> {
        self.lock
            .write()
            .map_err(|_| unavailable("blob store", "lock poisoned"))
    }

    fn read_lock(&self) -> Result<std::sync::RwLockReadGuard<'_, ()>, BlobsError> {
        self.lock
            .read()
            .map_err(|_| unavailable("blob store", "lock poisoned"))
    }

    /// Validates one put and writes its bytes and metadata to temp files, unsynced.
    fn stage(&self, blob: PutBlob, now: OffsetDateTime) -> Result<Staged, BlobsError> {
        let paths = self.paths(&blob.key)?;
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
        let info = BlobInfo {
            key: blob.key.clone(),
            size: blob.bytes.len() as u64,
            sha256: sha256_hex(&blob.bytes),
            content_type,
            metadata: blob.metadata,
            created: now,
            retain_until: blob.retain_until,
        };
        let meta_json = serde_json::to_vec_pretty(&info).map_err(|e| unavailable("metadata", e))?;
        if !paths.dir.is_dir() {
            fs::create_dir_all(&paths.dir).map_err(|e| unavailable(paths.dir.display(), e))?;
            // A new folder's own name must be durable too, or a crash could lose the
            // folder with every object published in it.
            let mut dir = paths.dir.as_path();
            while let Some(parent) = dir.parent() {
                sync_dir(parent)?;
                if dir == self.root {
                    break;
                }
                dir = parent;
            }
        }
        let data_tmp = paths.temp();
        let meta_tmp = paths.temp();
        let data_file = write_new(&data_tmp, &blob.bytes);
        let meta_file = write_new(&meta_tmp, &meta_json);
        let (data_file, meta_file) = match (data_file, meta_file) {
            (Ok(d), Ok(m)) => (d, m),
            (Err(e), _) | (_, Err(e)) => {
                let _ = fs::remove_file(&data_tmp);
                let _ = fs::remove_file(&meta_tmp);
                return Err(e);
            }
        };
        Ok(Staged {
            paths,
            info,
            if_absent: blob.if_absent,
            data_tmp,
            meta_tmp,
            files: [data_file, meta_file],
        })
    }

    /// Publishes a staged put whose temp files are synced: checks `if_absent` and
    /// retention against the current object, then renames the bytes and the metadata into
    /// place. Call with the write lock held. Returns the object it replaced, if any.
    fn publish(&self, s: &Staged, now: OffsetDateTime) -> Result<Option<BlobInfo>, BlobsError> {
        let key = &s.info.key;
        let old = read_meta(&s.paths.meta())?;
        if let Some(old) = &old {
            if s.if_absent {
                return Err(BlobsError::AlreadyExists(key.clone()));
            }
            if under_retention(old, now) {
                return Err(BlobsError::Retained(key.clone()));
            }
        }
        let data = s.paths.data(&s.info.sha256);
        fs::rename(&s.data_tmp, &data).map_err(|e| unavailable(data.display(), e))?;
        if s.if_absent {
            if let Err(e) = fs::hard_link(&s.meta_tmp, s.paths.meta()) {
                // Lost to another process between our check and here: leave its object
                // whole, removing our bytes only if they are not also its bytes.
                let theirs = read_meta(&s.paths.meta()).ok().flatten();
                if theirs.is_some_and(|t| t.sha256 != s.info.sha256) {
                    let _ = fs::remove_file(&data);
                }
                return Err(if e.kind() == ErrorKind::AlreadyExists {
                    BlobsError::AlreadyExists(key.clone())
                } else {
                    unavailable(s.paths.meta().display(), e)
                });
            }
        } else {
            fs::rename(&s.meta_tmp, s.paths.meta())
                .map_err(|e| unavailable(s.paths.meta().display(), e))?;
        }
        Ok(old)
    }

    /// Every put of the batch is staged (written, unsynced), then all files are synced at
    /// once, then each is published under the lock, then each folder that got a new name
    /// is synced once: a batch costs one round of syncs however many objects it holds
    /// (the file system folds concurrent syncs together), and nothing is reported stored
    /// before its bytes, its metadata and its name are durable.
    fn put_many(&self, blobs: Vec<PutBlob>) -> Vec<Result<BlobInfo, BlobsError>> {
        let mut keys = std::collections::HashSet::new();
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
        let mut temps = TempFiles(Vec::new());
        for (i, blob) in blobs.into_iter().enumerate() {
            match self.stage(blob, now) {
                Ok(s) => {
                    temps.0.extend([s.data_tmp.clone(), s.meta_tmp.clone()]);
                    staged.push((i, s));
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let files: Vec<(usize, &fs::File)> = staged
            .iter()
            .flat_map(|(i, s)| s.files.iter().map(move |f| (*i, f)))
            .collect();
        for ((i, _), synced) in files.iter().zip(sync_each(&files, |(_, f)| f.sync_all())) {
            if let Err(e) = synced {
                results[*i] = Some(Err(unavailable("blob", e)));
            }
        }
        let _guard = match self.write_lock() {
            Ok(g) => g,
            Err(e) => {
                return results
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|| Err(e.clone())))
                    .collect()
            }
        };
        let mut dirs: Vec<(PathBuf, Vec<usize>)> = Vec::new();
        let mut replaced = Vec::new();
        for (i, s) in &staged {
            if results[*i].is_some() {
                continue;
            }
            match self.publish(s, now) {
                Ok(old) => {
                    match dirs.iter_mut().find(|(d, _)| *d == s.paths.dir) {
                        Some((_, members)) => members.push(*i),
                        None => dirs.push((s.paths.dir.clone(), vec![*i])),
                    }
                    if let Some(old) = old.filter(|o| o.sha256 != s.info.sha256) {
                        replaced.push(s.paths.data(&old.sha256));
                    }
                }
                Err(e) => results[*i] = Some(Err(e)),
            }
        }
        // Makes the renames durable.
        for ((_, members), synced) in dirs.iter().zip(sync_each(&dirs, |(d, _)| sync_dir(d))) {
            if let Err(e) = synced {
                for i in members {
                    results[*i] = Some(Err(e.clone()));
                }
            }
        }
        for old in replaced {
            // Unreferenced now; a failure only leaves an orphan that readers ignore.
            let _ = fs::remove_file(old);
        }
        drop(temps);
        let mut infos: Vec<Option<BlobInfo>> = results.iter().map(|_| None).collect();
        for (i, s) in staged {
            infos[i] = Some(s.info);
        }
        results
            .into_iter()
            .zip(infos)
            .map(|(result, info)| {
                result.unwrap_or_else(|| {
                    info.ok_or_else(|| unavailable("blob", "a staged put went missing"))
                })
            })
            .collect()
    }

    fn get(&self, key: &str) -> Result<(BlobInfo, Vec<u8>), BlobsError> {
        let paths = self.paths(key)?;
        let (info, mut file) = {
            let _guard = self.read_lock()?;
            let info =
                read_meta(&paths.meta())?.ok_or_else(|| BlobsError::NotFound(key.to_owned()))?;
            let data = paths.data(&info.sha256);
            // Once open, the file stays readable even if a later put replaces it.
            let file = fs::File::open(&data).map_err(|e| unavailable(data.display(), e))?;
            (info, file)
        };
        let mut bytes = Vec::with_capacity(usize::try_from(info.size).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .map_err(|e| unavailable(key, e))?;
        if bytes.len() as u64 != info.size {
            return Err(unavailable(key, "stored size differs from its metadata"));
        }
        Ok((info, bytes))
    }

    fn head(&self, key: &str) -> Result<BlobInfo, BlobsError> {
        let paths = self.paths(key)?;
        read_meta(&paths.meta())?.ok_or_else(|| BlobsError::NotFound(key.to_owned()))
    }

    fn delete(&self, key: &str) -> Result<(), BlobsError> {
        let paths = self.paths(key)?;
        let _guard = self.write_lock()?;
        let info = read_meta(&paths.meta())?.ok_or_else(|| BlobsError::NotFound(key.to_owned()))?;
        if under_retention(&info, self.clock.now()) {
            return Err(BlobsError::Retained(key.to_owned()));
        }
        // The metadata goes first: from then on the object is gone as a whole.
        fs::remove_file(paths.meta()).map_err(|e| unavailable(key, e))?;
        sync_dir(&paths.dir)?;
        let _ = fs::remove_file(paths.data(&info.sha256));
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
            Some(c) => Some(decode_cursor(&c)?),
            None => None,
        };
        let limit = limit.clamp(1, MAX_PAGE) as usize;

        // Only the folder the prefix names for sure needs walking.
        let start = match prefix.rsplit_once('/') {
            Some((dir, _)) if validate_key(dir).is_ok() => self.root.join(dir),
            Some(_) => return Ok(BlobPage::default()),
            None => self.root.clone(),
        };
        let mut keys = Vec::new();
        collect_keys(&self.root, &start, &mut keys)?;
        keys.retain(|k| k.starts_with(prefix) && after.as_ref().is_none_or(|a| k > a));
        keys.sort_unstable();

        let mut items = Vec::with_capacity(limit.min(keys.len()));
        let mut rest = keys.into_iter();
        for key in rest.by_ref() {
            // A key deleted since the walk is simply not listed.
            if let Some(info) = read_meta(&self.paths(&key)?.meta())? {
                items.push(info);
                if items.len() == limit {
                    break;
                }
            }
        }
        let more = rest.next().is_some();
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

/// One put of a batch, its bytes and metadata written to temp files.
struct Staged {
    paths: ObjectPaths,
    info: BlobInfo,
    if_absent: bool,
    data_tmp: PathBuf,
    meta_tmp: PathBuf,
    /// The temp files, open for the sync.
    files: [fs::File; 2],
}

/// Temp files removed when dropped, whichever way `put` returns (a successful rename
/// has already moved them, so removing then finds nothing).
struct TempFiles(Vec<PathBuf>);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

fn under_retention(info: &BlobInfo, now: OffsetDateTime) -> bool {
    info.retain_until.is_some_and(|until| until > now)
}

fn decode_cursor(cursor: &str) -> Result<String, BlobsError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| BlobsError::Validation("invalid list cursor".into()))
}

fn read_meta(path: &Path) -> Result<Option<BlobInfo>, BlobsError> {
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

/// Every key whose metadata file lies under `dir`, as a path relative to `root`.
fn collect_keys(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), BlobsError> {
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
        if file_type.is_dir() && !name.contains('~') {
            collect_keys(root, &entry.path(), out)?;
        } else if let Some(last) = name.strip_suffix(META_SUFFIX) {
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

/// Writes a new file (unsynced) and returns it, open.
fn write_new(path: &Path, bytes: &[u8]) -> Result<fs::File, BlobsError> {
    let err = |e| unavailable(path.display(), e);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    Ok(file)
}

/// Syncs that run at the same time: file systems fold concurrent syncs into one journal
/// commit, so a batch costs about what one sync costs rather than one each.
const SYNC_THREADS: usize = 8;

/// Runs `sync` on every item, on up to [`SYNC_THREADS`] threads; one result per item.
fn sync_each<T: Sync, E: Send>(
    items: &[T],
    sync: impl Fn(&T) -> Result<(), E> + Sync,
) -> Vec<Result<(), E>> {
    if items.len() <= 1 {
        return items.iter().map(&sync).collect();
    }
    let chunk = items.len().div_ceil(SYNC_THREADS.min(items.len()));
    let sync = &sync;
    std::thread::scope(|scope| {
        let running: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(sync).collect::<Vec<_>>()))
            .collect();
        running
            .into_iter()
            .flat_map(|thread| match thread.join() {
                Ok(results) => results,
                // Never a result for a sync that did not finish.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

fn sync_dir(path: &Path) -> Result<(), BlobsError> {
    // Makes the renames durable; directories cannot be opened for sync everywhere.
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

    fn files(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(dir: &Path, out: &mut Vec<String>) {
            for e in fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    walk(&e.path(), out);
                } else {
                    out.push(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
        walk(dir, &mut out);
        out.sort();
        out
    }

    #[tokio::test]
    async fn a_replaced_object_leaves_no_old_bytes_or_temp_files_behind() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        blobs.put(blob("a/b.pdf", b"one")).await.unwrap();
        let two = blobs.put(blob("a/b.pdf", b"two")).await.unwrap();
        assert_eq!(
            files(dir.path()),
            vec![format!("b.pdf~{}", two.sha256), "b.pdf~meta.json".into()]
        );
        blobs.delete("a/b.pdf").await.unwrap();
        assert!(files(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_refused_put_leaves_the_folder_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        blobs.put(blob("x", b"one")).await.unwrap();
        let before = files(dir.path());
        let mut again = blob("x", b"two");
        again.if_absent = true;
        assert!(matches!(
            blobs.put(again).await,
            Err(BlobsError::AlreadyExists(_))
        ));
        assert_eq!(files(dir.path()), before);
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

    #[test]
    fn stray_files_in_the_folder_are_not_objects() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("d")).unwrap();
        fs::write(dir.path().join("d/x~tmp-1"), b"").unwrap();
        fs::write(dir.path().join("d/README"), b"").unwrap();
        fs::write(dir.path().join("d/y~meta.json"), b"{}").unwrap();
        let mut keys = Vec::new();
        collect_keys(dir.path(), dir.path(), &mut keys).unwrap();
        assert_eq!(keys, vec!["d/y".to_string()]);
    }
}
