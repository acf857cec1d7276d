//! The local organisation CA and key store behind `paraf_core::Signer`.
//!
//! Layout under the signer directory (each directory is built under a `.tmp-*` name and
//! renamed into place, so a reader sees either nothing or a complete entry, and a
//! concurrent second create loses the rename instead of overwriting):
//!
//! ```text
//! <dir>/ca/root.pem            root certificate (PEM): the trust anchor to hand out
//! <dir>/ca/root.key.pem        root private key, PKCS#8 PEM, mode 0600
//! <dir>/keys/<key_id>/cert.pem leaf certificate issued by the root
//! <dir>/keys/<key_id>/key.pem  leaf private key, PKCS#8 PEM, mode 0600
//! ```
//!
//! A key never changes once published, so [`LocalSigner`] keeps keys and leaf
//! certificates in memory after their first use (bounded, see [`KEYS_KEPT`]). Only
//! successful loads are kept: an unknown key id goes to disk again next time, so a key
//! created later (by another process sharing the directory) is found.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use async_trait::async_trait;
use der::{Decode, DecodePem, Encode, EncodePem};
use p256::ecdsa::signature;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use paraf_core::{KeyInfo, Signer, SignerError, SubjectName};
use paraf_pki::{CertError, PublicKey, Tbs};
use rand::rngs::OsRng;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

/// The certificate profile (shared with the other runtimes' CAs) lives in `paraf_pki`.
pub use paraf_pki::ID_KP_DOCUMENT_SIGNING;

/// Keys (and, separately, leaf certificates) a [`LocalSigner`] keeps in memory: far more
/// than the officials of one secretariat, and a few hundred bytes each.
pub const KEYS_KEPT: usize = 4096;

fn unavailable(what: &str, err: impl std::fmt::Display) -> SignerError {
    SignerError::Unavailable(format!("{what}: {err}"))
}

fn invalid(what: &str, err: impl std::fmt::Display) -> SignerError {
    SignerError::Validation(format!("{what}: {err}"))
}

fn cert_error(err: CertError) -> SignerError {
    err.into_signer_error(unavailable)
}

/// Signs a certificate with the issuer's `key` (ecdsa-with-SHA256 over the TBS bytes).
fn sign_tbs(key: &SigningKey, tbs: Tbs) -> Result<Certificate, SignerError> {
    let signature: Signature =
        signature::Signer::try_sign(key, tbs.bytes()).map_err(|e| unavailable(tbs.what(), e))?;
    tbs.assemble(signature.to_der().as_bytes())
        .map_err(cert_error)
}

/// The organisation root CA: its certificate and key, loaded from `<dir>/ca`.
pub struct LocalCa {
    cert: Certificate,
    cert_der: Vec<u8>,
    key: SigningKey,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("LocalCa")
            .field("subject", &self.cert.tbs_certificate.subject.to_string())
            .finish_non_exhaustive()
    }
}

impl LocalCa {
    /// Creates the root CA of `org_name` under `dir/ca`; refuses with `KeyExists` if one
    /// is already there (re-issuing a root would orphan every certificate it signed).
    pub fn init(dir: &Path, org_name: &str) -> Result<LocalCa, SignerError> {
        let org = paraf_pki::check_org_name(org_name).map_err(cert_error)?;
        let ca_dir = dir.join("ca");
        if ca_dir.join("root.pem").exists() || ca_dir.join("root.key.pem").exists() {
            return Err(SignerError::KeyExists(ca_dir.display().to_string()));
        }

        let key = SigningKey::random(&mut OsRng);
        let tbs = paraf_pki::root(
            org,
            PublicKey::P256(key.verifying_key()),
            paraf_pki::random_serial().map_err(cert_error)?,
            SystemTime::now(),
        )
        .map_err(cert_error)?;
        let cert = sign_tbs(&key, tbs)?;

        let cert_pem = cert
            .to_pem(LineEnding::LF)
            .map_err(|e| unavailable("root certificate", e))?;
        let key_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| unavailable("root key", e))?;
        fs::create_dir_all(dir).map_err(|e| unavailable("signer directory", e))?;
        publish_dir(
            dir,
            &ca_dir,
            &[
                ("root.pem", cert_pem.as_bytes(), 0o644),
                ("root.key.pem", key_pem.as_bytes(), 0o600),
            ],
        )?;
        LocalCa::open(dir)
    }

    /// Loads the root CA created by [`LocalCa::init`].
    pub fn open(dir: &Path) -> Result<LocalCa, SignerError> {
        let ca_dir = dir.join("ca");
        let cert_pem = read_to_string(&ca_dir.join("root.pem"), "root certificate")?;
        let key_pem = read_to_string(&ca_dir.join("root.key.pem"), "root key")?;
        let cert =
            Certificate::from_pem(&cert_pem).map_err(|e| unavailable("root certificate", e))?;
        let key = SigningKey::from_pkcs8_pem(&key_pem).map_err(|e| unavailable("root key", e))?;
        let cert_der = cert
            .to_der()
            .map_err(|e| unavailable("root certificate", e))?;
        // A key swapped for another one's would issue certificates nobody can chain.
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
            .map_err(|e| unavailable("root public key", e))?;
        if spki != cert.tbs_certificate.subject_public_key_info {
            return Err(unavailable(
                "root CA",
                "root.key.pem does not belong to root.pem",
            ));
        }
        Ok(LocalCa {
            cert,
            cert_der,
            key,
        })
    }

    /// Whether `dir` already holds a root CA.
    pub fn exists(dir: &Path) -> bool {
        dir.join("ca").join("root.pem").exists()
    }

    /// The root certificate, PEM.
    pub fn root_pem(&self) -> String {
        der_to_pem(&self.cert_der)
    }

    /// The root certificate, DER.
    pub fn root_der(&self) -> &[u8] {
        &self.cert_der
    }

    fn issue(&self, key: &SigningKey, subject: &SubjectName) -> Result<Certificate, SignerError> {
        let tbs = paraf_pki::leaf(
            &self.cert,
            PublicKey::P256(key.verifying_key()),
            subject,
            paraf_pki::random_serial().map_err(cert_error)?,
            SystemTime::now(),
        )
        .map_err(cert_error)?;
        sign_tbs(&self.key, tbs)
    }
}

/// `paraf_core::Signer` backed by the local CA and P-256 keys under a directory.
#[derive(Clone)]
pub struct LocalSigner {
    inner: Arc<Inner>,
}

struct Inner {
    keys_dir: PathBuf,
    ca: LocalCa,
    /// Parsing a PEM key from disk costs about half a millisecond, several times the
    /// signature itself; see the module docs.
    keys: Loaded<SigningKey>,
    /// Leaf certificates, DER.
    leaves: Loaded<Arc<[u8]>>,
}

/// Successfully loaded values by key id, at most [`KEYS_KEPT`].
struct Loaded<T>(RwLock<HashMap<String, T>>);

impl<T: Clone> Loaded<T> {
    fn new() -> Self {
        Loaded(RwLock::new(HashMap::new()))
    }

    fn get(&self, key_id: &str) -> Option<T> {
        // A poisoned lock only means a panic elsewhere mid-insert; the map is still whole.
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(key_id).cloned()
    }

    fn insert(&self, key_id: &str, value: T) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= KEYS_KEPT && !map.contains_key(key_id) {
            // Any entry will do: an evicted key is simply read from disk again.
            if let Some(old) = map.keys().next().cloned() {
                map.remove(&old);
            }
        }
        map.insert(key_id.to_owned(), value);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl std::fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigner")
            .field("keys_dir", &self.inner.keys_dir)
            .field("ca", &self.inner.ca)
            .finish()
    }
}

impl LocalSigner {
    /// Opens the key store in `dir`; the root CA must exist ([`LocalCa::init`]).
    pub fn open(dir: &Path) -> Result<LocalSigner, SignerError> {
        let ca = LocalCa::open(dir)?;
        let keys_dir = dir.join("keys");
        fs::create_dir_all(&keys_dir).map_err(|e| unavailable("keys directory", e))?;
        Ok(LocalSigner {
            inner: Arc::new(Inner {
                keys_dir,
                ca,
                keys: Loaded::new(),
                leaves: Loaded::new(),
            }),
        })
    }

    /// The root certificate, PEM (for `paraf ca cert` and validators' trust stores).
    pub fn root_pem(&self) -> String {
        self.inner.ca.root_pem()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, SignerError> + Send + 'static,
    ) -> Result<T, SignerError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| unavailable("signer task", e))?
    }
}

impl Inner {
    fn key_dir(&self, key_id: &str) -> Result<PathBuf, SignerError> {
        validate_key_id(key_id)?;
        Ok(self.keys_dir.join(key_id))
    }

    fn create_key(&self, key_id: &str, subject: &SubjectName) -> Result<KeyInfo, SignerError> {
        let dir = self.key_dir(key_id)?;
        if dir.join("cert.pem").exists() {
            return Err(SignerError::KeyExists(key_id.to_owned()));
        }
        paraf_pki::validate_subject(subject).map_err(cert_error)?;
        let key = SigningKey::random(&mut OsRng);
        let cert = self.ca.issue(&key, subject)?;
        let cert_pem = cert
            .to_pem(LineEnding::LF)
            .map_err(|e| unavailable("certificate", e))?;
        let key_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| unavailable("key", e))?;
        publish_dir(
            &self.keys_dir,
            &dir,
            &[
                ("cert.pem", cert_pem.as_bytes(), 0o644),
                ("key.pem", key_pem.as_bytes(), 0o600),
            ],
        )
        .map_err(|e| match e {
            SignerError::KeyExists(_) => SignerError::KeyExists(key_id.to_owned()),
            other => other,
        })?;
        let leaf: Arc<[u8]> = cert
            .to_der()
            .map_err(|e| unavailable("certificate", e))?
            .into();
        // Published: from now on this is what every reader of the directory sees.
        self.keys.insert(key_id, key);
        self.leaves.insert(key_id, Arc::clone(&leaf));
        Ok(self.key_info(key_id, &leaf))
    }

    fn key_info(&self, key_id: &str, leaf: &[u8]) -> KeyInfo {
        KeyInfo {
            key_id: key_id.to_owned(),
            chain: vec![leaf.to_vec(), self.ca.cert_der.clone()],
        }
    }

    /// The chain from memory, if its leaf has been loaded before.
    fn loaded_chain(&self, key_id: &str) -> Option<KeyInfo> {
        let leaf = self.leaves.get(key_id)?;
        Some(self.key_info(key_id, &leaf))
    }

    /// Reads the leaf certificate from disk (blocking) and keeps it.
    fn load_chain(&self, key_id: &str) -> Result<KeyInfo, SignerError> {
        let dir = self.key_dir(key_id)?;
        let pem = read_key_file(&dir.join("cert.pem"), key_id)?;
        let cert = Certificate::from_pem(&pem).map_err(|e| unavailable("certificate", e))?;
        let leaf: Arc<[u8]> = cert
            .to_der()
            .map_err(|e| unavailable("certificate", e))?
            .into();
        self.leaves.insert(key_id, Arc::clone(&leaf));
        Ok(self.key_info(key_id, &leaf))
    }

    /// Reads the private key from disk (blocking) and keeps it.
    fn load_key(&self, key_id: &str) -> Result<SigningKey, SignerError> {
        let dir = self.key_dir(key_id)?;
        let pem = read_key_file(&dir.join("key.pem"), key_id)?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| unavailable("key", e))?;
        self.keys.insert(key_id, key.clone());
        Ok(key)
    }
}

fn sign_with(key: &SigningKey, digest: &[u8; 32]) -> Result<Vec<u8>, SignerError> {
    let signature: Signature = key
        .sign_prehash(digest)
        .map_err(|e| unavailable("signing", e))?;
    Ok(signature.to_der().as_bytes().to_vec())
}

#[async_trait]
impl Signer for LocalSigner {
    async fn create_key(
        &self,
        key_id: &str,
        subject: &SubjectName,
    ) -> Result<KeyInfo, SignerError> {
        let (key_id, subject) = (key_id.to_owned(), subject.clone());
        self.blocking(move |inner| inner.create_key(&key_id, &subject))
            .await
    }

    async fn chain(&self, key_id: &str) -> Result<KeyInfo, SignerError> {
        // Only cache misses need the blocking pool: a hit is a copy of two certificates.
        if let Some(info) = self.inner.loaded_chain(key_id) {
            return Ok(info);
        }
        let key_id = key_id.to_owned();
        self.blocking(move |inner| inner.load_chain(&key_id)).await
    }

    async fn sign_digest(&self, key_id: &str, digest: &[u8; 32]) -> Result<Vec<u8>, SignerError> {
        // One ECDSA signature is tens of microseconds of CPU, about what the hop to the
        // blocking pool and back costs; only the file read is worth moving off the runtime.
        if let Some(key) = self.inner.keys.get(key_id) {
            return sign_with(&key, digest);
        }
        let (key_id, digest) = (key_id.to_owned(), *digest);
        self.blocking(move |inner| sign_with(&inner.load_key(&key_id)?, &digest))
            .await
    }

    async fn root_certificate(&self) -> Result<Vec<u8>, SignerError> {
        Ok(self.inner.ca.cert_der.clone())
    }
}

/// Key ids become directory names: only `[A-Za-z0-9._@-]`, not starting with `.` (which
/// would allow `.` / `..` and clash with the `.tmp-*` build directories).
pub fn validate_key_id(key_id: &str) -> Result<(), SignerError> {
    let ok = !key_id.is_empty()
        && key_id.len() <= 128
        && !key_id.starts_with('.')
        && key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(SignerError::Validation(format!(
            "key id `{key_id}`: 1 to 128 of A-Z a-z 0-9 . _ @ -, not starting with `.`"
        )))
    }
}

fn der_to_pem(der_bytes: &[u8]) -> String {
    // Encoding DER we produced ourselves into PEM cannot fail for a valid label;
    // fall back to an empty string rather than panic.
    der::pem::encode_string("CERTIFICATE", LineEnding::LF, der_bytes).unwrap_or_default()
}

fn read_to_string(path: &Path, what: &str) -> Result<String, SignerError> {
    fs::read_to_string(path).map_err(|e| unavailable(&format!("{what} ({})", path.display()), e))
}

fn read_key_file(path: &Path, key_id: &str) -> Result<String, SignerError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(SignerError::UnknownKey(key_id.to_owned()))
        }
        Err(e) => Err(unavailable(&format!("{}", path.display()), e)),
    }
}

/// Writes `files` into a fresh `.tmp-*` directory inside `parent`, fsyncs them, and
/// renames the directory to `target`. Linux refuses to rename onto a non-empty
/// directory, so of two racing creators exactly one wins; the loser gets `KeyExists`.
fn publish_dir(
    parent: &Path,
    target: &Path,
    files: &[(&str, &[u8], u32)],
) -> Result<(), SignerError> {
    let tmp = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
    let result = (|| {
        create_private_dir(&tmp)?;
        for (name, bytes, mode) in files {
            write_new_file(&tmp.join(name), bytes, *mode)?;
        }
        sync_dir(&tmp)?;
        match fs::rename(&tmp, target) {
            Ok(()) => {}
            Err(_) if target.join(files[0].0).exists() => {
                return Err(SignerError::KeyExists(target.display().to_string()));
            }
            Err(e) => return Err(unavailable(&format!("{}", target.display()), e)),
        }
        sync_dir(parent)
    })();
    if result.is_err() {
        // Best effort: a leftover `.tmp-*` directory is ignored by readers anyway.
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

fn create_private_dir(path: &Path) -> Result<(), SignerError> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(|e| unavailable(&format!("{}", path.display()), e))
}

fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SignerError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let err = |e| unavailable(&format!("{}", path.display()), e);
    let mut file = options.open(path).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)
}

fn sync_dir(path: &Path) -> Result<(), SignerError> {
    // Directory fsync makes the rename durable; it is not possible on every platform.
    #[cfg(unix)]
    fs::File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(|e| unavailable(&format!("{}", path.display()), e))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Parses a DER certificate (exposed for tests and the CLI).
pub fn parse_certificate(der_bytes: &[u8]) -> Result<Certificate, SignerError> {
    Certificate::from_der(der_bytes).map_err(|e| invalid("certificate", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::flagset::FlagSet;
    use der::oid::db::{rfc3280, rfc5280};
    use der::oid::{AssociatedOid, ObjectIdentifier};
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;
    use paraf_pki::validate_subject;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{
        AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
        SubjectAltName, SubjectKeyIdentifier,
    };
    use x509_cert::time::Validity;

    const DAY: u64 = 24 * 60 * 60;

    fn subject() -> SubjectName {
        SubjectName {
            common_name: "Dr. Siti Aminah, S.H.".into(),
            serial_number: Some("198503122010012003".into()),
            organizational_unit: Some("Sekretaris".into()),
            email: Some("siti@kpu-jabar.go.id".into()),
        }
    }

    /// The extension with `oid`, decoded, and whether it is critical.
    fn ext<T: for<'a> Decode<'a>>(cert: &Certificate, oid: ObjectIdentifier) -> (T, bool) {
        let exts = cert.tbs_certificate.extensions.as_deref().unwrap_or(&[]);
        let found: Vec<_> = exts.iter().filter(|e| e.extn_id == oid).collect();
        assert_eq!(found.len(), 1, "extension {oid} once");
        let value = T::from_der(found[0].extn_value.as_bytes()).unwrap();
        (value, found[0].critical)
    }

    fn verifies_with(cert: &Certificate, issuer: &Certificate) -> bool {
        let key = VerifyingKey::from_sec1_bytes(
            issuer
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .unwrap();
        let sig = Signature::from_der(cert.signature.raw_bytes()).unwrap();
        key.verify(&cert.tbs_certificate.to_der().unwrap(), &sig)
            .is_ok()
    }

    fn years(validity: &Validity) -> u64 {
        let d = validity.not_after.to_unix_duration() - validity.not_before.to_unix_duration();
        d.as_secs() / (365 * DAY)
    }

    #[test]
    fn the_root_is_a_self_signed_twenty_year_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::init(dir.path(), "KPU Provinsi Jawa Barat").unwrap();
        let root = parse_certificate(ca.root_der()).unwrap();
        let tbs = &root.tbs_certificate;
        assert_eq!(tbs.version, x509_cert::Version::V3);
        assert_eq!(tbs.issuer, tbs.subject);
        assert_eq!(
            tbs.subject.to_string(),
            "CN=KPU Provinsi Jawa Barat Root CA,O=KPU Provinsi Jawa Barat,C=ID"
        );
        assert!(verifies_with(&root, &root));
        assert_eq!(years(&tbs.validity), 20);

        let (bc, critical): (BasicConstraints, _) = ext(&root, BasicConstraints::OID);
        assert!(bc.ca && critical);
        let (ku, critical): (KeyUsage, _) = ext(&root, KeyUsage::OID);
        assert!(critical);
        assert_eq!(ku.0, KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        let (_ski, _): (SubjectKeyIdentifier, _) = ext(&root, SubjectKeyIdentifier::OID);

        assert!(ca.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(
            fs::read_to_string(dir.path().join("ca/root.pem")).unwrap(),
            ca.root_pem()
        );
    }

    #[test]
    fn a_second_init_keeps_the_existing_root() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalCa::init(dir.path(), "KPU Jabar").unwrap();
        let again = LocalCa::init(dir.path(), "KPU Jabar");
        assert!(matches!(again, Err(SignerError::KeyExists(_))), "{again:?}");
        let reopened = LocalCa::open(dir.path()).unwrap();
        assert_eq!(reopened.root_der(), first.root_der());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn private_keys_are_readable_by_the_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        LocalCa::init(dir.path(), "KPU Jabar").unwrap();
        let signer = LocalSigner::open(dir.path()).unwrap();
        signer.create_key("siti", &subject()).await.unwrap();
        for key in ["ca/root.key.pem", "keys/siti/key.pem"] {
            let mode = fs::metadata(dir.path().join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
        let pem = fs::read_to_string(dir.path().join("keys/siti/key.pem")).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[tokio::test]
    async fn a_leaf_certificate_is_fit_for_signing_documents() {
        let dir = tempfile::tempdir().unwrap();
        LocalCa::init(dir.path(), "KPU Provinsi Jawa Barat").unwrap();
        let signer = LocalSigner::open(dir.path()).unwrap();
        let info = signer.create_key("siti@kpu", &subject()).await.unwrap();
        assert_eq!(info.chain.len(), 2);
        let leaf = parse_certificate(&info.chain[0]).unwrap();
        let root = parse_certificate(&info.chain[1]).unwrap();
        let tbs = &leaf.tbs_certificate;

        assert_eq!(tbs.version, x509_cert::Version::V3);
        assert_eq!(tbs.issuer, root.tbs_certificate.subject);
        assert!(verifies_with(&leaf, &root));
        assert!(!verifies_with(&leaf, &leaf));
        assert_eq!(years(&tbs.validity), 2);
        let serial = tbs.serial_number.as_bytes();
        assert_eq!(serial.len(), 16);
        assert!(serial[0] & 0x80 == 0);

        let name = tbs.subject.to_string();
        for part in [
            "C=ID",
            "O=KPU Provinsi Jawa Barat",
            "OU=Sekretaris",
            "CN=Dr. Siti Aminah\\, S.H.",
            "SERIALNUMBER=198503122010012003",
        ] {
            assert!(name.contains(part), "{part} in {name}");
        }
        assert!(
            tbs.subject
                .0
                .iter()
                .flat_map(|r| r.0.iter())
                .any(|a| a.oid == rfc3280::EMAIL_ADDRESS),
            "emailAddress in {name}"
        );

        let (bc, _): (BasicConstraints, _) = ext(&leaf, BasicConstraints::OID);
        assert!(!bc.ca);
        let (ku, critical): (KeyUsage, bool) = ext(&leaf, KeyUsage::OID);
        assert!(critical);
        let want: FlagSet<KeyUsages> = KeyUsages::DigitalSignature | KeyUsages::NonRepudiation;
        assert_eq!(ku.0, want);
        let (eku, _): (ExtendedKeyUsage, _) = ext(&leaf, ExtendedKeyUsage::OID);
        assert!(eku.0.contains(&rfc5280::ID_KP_EMAIL_PROTECTION));
        assert!(eku.0.contains(&ID_KP_DOCUMENT_SIGNING));
        let (san, _): (SubjectAltName, _) = ext(&leaf, SubjectAltName::OID);
        assert!(
            matches!(&san.0[..], [GeneralName::Rfc822Name(m)] if m.as_str() == "siti@kpu-jabar.go.id")
        );
        let (aki, _): (AuthorityKeyIdentifier, _) = ext(&leaf, AuthorityKeyIdentifier::OID);
        let (root_ski, _): (SubjectKeyIdentifier, _) = ext(&root, SubjectKeyIdentifier::OID);
        assert_eq!(aki.key_identifier, Some(root_ski.0));
        let (_ski, _): (SubjectKeyIdentifier, _) = ext(&leaf, SubjectKeyIdentifier::OID);

        assert_eq!(
            fs::read_to_string(dir.path().join("keys/siti@kpu/cert.pem")).unwrap(),
            der_to_pem(&info.chain[0])
        );
    }

    #[tokio::test]
    async fn key_ids_that_are_not_plain_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        LocalCa::init(dir.path(), "KPU Jabar").unwrap();
        let signer = LocalSigner::open(dir.path()).unwrap();
        for id in ["", ".", "..", "../ca", "a/b", ".tmp-x", "a b", "nip:1"] {
            let got = signer.create_key(id, &subject()).await;
            assert!(
                matches!(got, Err(SignerError::Validation(_))),
                "{id}: {got:?}"
            );
            let got = signer.sign_digest(id, &[0; 32]).await;
            assert!(
                matches!(got, Err(SignerError::Validation(_))),
                "{id}: {got:?}"
            );
        }
        assert!(!dir.path().join("ca/cert.pem").exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_two_racing_creates_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        LocalCa::init(dir.path(), "KPU Jabar").unwrap();
        let signer = LocalSigner::open(dir.path()).unwrap();
        for round in 0..5 {
            let (id, who) = (format!("k{round}"), subject());
            let (a, b) = tokio::join!(signer.create_key(&id, &who), signer.create_key(&id, &who));
            let winners: Vec<_> = [a, b].into_iter().filter_map(Result::ok).collect();
            assert_eq!(winners.len(), 1, "round {round}");
            assert_eq!(signer.chain(&id).await.unwrap(), winners[0]);
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("keys"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[tokio::test]
    async fn a_key_created_by_another_process_after_a_miss_is_found() {
        let dir = tempfile::tempdir().unwrap();
        LocalCa::init(dir.path(), "KPU Jabar").unwrap();
        let ours = LocalSigner::open(dir.path()).unwrap();
        let theirs = LocalSigner::open(dir.path()).unwrap();
        let missing = ours.sign_digest("late", &[7; 32]).await;
        assert!(
            matches!(missing, Err(SignerError::UnknownKey(_))),
            "{missing:?}"
        );
        assert!(matches!(
            ours.chain("late").await,
            Err(SignerError::UnknownKey(_))
        ));

        let created = theirs.create_key("late", &subject()).await.unwrap();
        assert_eq!(ours.chain("late").await.unwrap(), created);
        let der = ours.sign_digest("late", &[7; 32]).await.unwrap();
        let leaf = parse_certificate(&created.chain[0]).unwrap();
        let public = VerifyingKey::from_sec1_bytes(
            leaf.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .unwrap();
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        let sig = Signature::from_der(&der).unwrap();
        assert!(public.verify_prehash(&[7; 32], &sig).is_ok());
    }

    #[tokio::test]
    async fn a_key_used_once_signs_without_reading_its_files_again() {
        let dir = tempfile::tempdir().unwrap();
        LocalCa::init(dir.path(), "KPU Jabar").unwrap();
        LocalSigner::open(dir.path())
            .unwrap()
            .create_key("siti", &subject())
            .await
            .unwrap();
        let signer = LocalSigner::open(dir.path()).unwrap();
        let chain = signer.chain("siti").await.unwrap();
        signer.sign_digest("siti", &[1; 32]).await.unwrap();

        fs::remove_dir_all(dir.path().join("keys/siti")).unwrap();
        assert_eq!(signer.chain("siti").await.unwrap(), chain);
        assert!(signer.sign_digest("siti", &[2; 32]).await.is_ok());
        // A fresh signer has nothing in memory and meets the removed files.
        let fresh = LocalSigner::open(dir.path()).unwrap();
        assert!(matches!(
            fresh.sign_digest("siti", &[2; 32]).await,
            Err(SignerError::UnknownKey(_))
        ));
    }

    #[test]
    fn the_key_memory_stays_bounded() {
        let loaded = Loaded::new();
        for i in 0..KEYS_KEPT + 10 {
            loaded.insert(&format!("k{i}"), i);
        }
        assert_eq!(loaded.len(), KEYS_KEPT);
        let last = format!("k{}", KEYS_KEPT + 9);
        assert_eq!(loaded.get(&last), Some(KEYS_KEPT + 9));
    }

    #[test]
    fn a_subject_without_a_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ca = LocalCa::init(dir.path(), "KPU Jabar").unwrap();
        let key = SigningKey::random(&mut OsRng);
        let mut s = subject();
        s.common_name = " ".into();
        assert!(validate_subject(&s).is_err());
        let mut s = subject();
        s.email = Some("not an address".into());
        assert!(matches!(
            ca.issue(&key, &s),
            Err(SignerError::Validation(_))
        ));
    }
}
