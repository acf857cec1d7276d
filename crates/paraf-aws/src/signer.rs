//! [`Signer`] on KMS: every signing key is a KMS key (ECC_NIST_P256, SIGN_VERIFY) behind
//! the alias `alias/<prefix><key_id>`; private keys never leave KMS.
//!
//! - `sign_digest` calls KMS `Sign` with `ECDSA_SHA_256` and `MessageType::DIGEST`: paraf
//!   holds the SHA-256 of the signed attributes, not the message, and KMS returns a DER
//!   signature over exactly that digest. (`RAW` would make KMS hash the digest again.)
//!   moto 5.2 gets DIGEST wrong (it hashes again), so on moto these signatures verify over
//!   SHA-256(digest) instead; see `tests/signer_contract.rs`.
//! - The organisation CA is a [`CaIssuer`]. [`KmsCa`] keeps the CA key in KMS too and
//!   signs certificates with `MessageType::RAW` over the TBSCertificate bytes (KMS hashes
//!   them with SHA-256: exactly ecdsa-with-SHA256). The certificates themselves follow
//!   the profile in `paraf_pki`, the same as the local CA's.
//! - Certificate chains are stored in the [`Table`] (`pk = signer#key#<key_id>`), so
//!   `chain` is one read and signatures can embed the chain.
//! - `create_key` makes the alias the atomic "this id is taken" marker: of two concurrent
//!   creates one gets `KeyExists`, and its fresh KMS key is scheduled for deletion.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use aws_sdk_kms::Client;
use base64::Engine as _;
use der::{Decode, Encode};
use p256::ecdsa::VerifyingKey;
use paraf_core::ports::table::{item, Condition, Key, Table, TableError};
use paraf_core::{KeyInfo, Signer, SignerError, SubjectName};
use paraf_pki::{CertError, PublicKey, Tbs};
use serde_json::{json, Value};
use x509_cert::Certificate;

/// KMS waits at least 7 days before deleting a key: the shortest undo window.
const DELETE_AFTER_DAYS: i32 = 7;

/// The organisation CA: certifies public keys for subjects.
#[async_trait]
pub trait CaIssuer: Send + Sync {
    /// Certifies the P-256 `public_key` (SubjectPublicKeyInfo, DER) for `subject`; returns
    /// the chain, leaf first, root last (DER).
    async fn certify(
        &self,
        public_key: &[u8],
        subject: &SubjectName,
    ) -> Result<Vec<Vec<u8>>, SignerError>;
    /// The root certificate (DER).
    async fn root(&self) -> Result<Vec<u8>, SignerError>;
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> SignerError {
    tracing::error!(what, error = %err, "signer failure");
    SignerError::Unavailable(what.to_string())
}

fn cert_error(err: CertError) -> SignerError {
    err.into_signer_error(unavailable)
}

fn map_kms<E, R>(op: &'static str, key_id: &str, err: SdkError<E, R>) -> SignerError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or("").to_string();
    let message = err.message().unwrap_or("").to_string();
    match code.as_str() {
        "NotFoundException" => SignerError::UnknownKey(key_id.to_string()),
        "AlreadyExistsException" => SignerError::KeyExists(key_id.to_string()),
        _ => {
            tracing::error!(op, key_id, code, message, error = ?aws_sdk_kms::error::DisplayErrorContext(&err), "KMS request failed");
            SignerError::Unavailable(format!("KMS {op} failed"))
        }
    }
}

fn map_table(err: TableError) -> SignerError {
    tracing::error!(error = %err, "signer table failure");
    SignerError::Unavailable("certificate store unavailable".into())
}

/// Key ids become KMS alias names: only `[A-Za-z0-9_-]`, 1 to 128 characters.
pub fn validate_key_id(key_id: &str) -> Result<(), SignerError> {
    let ok = !key_id.is_empty()
        && key_id.len() <= 128
        && key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(SignerError::Validation(format!(
            "key id `{key_id}`: 1 to 128 of A-Z a-z 0-9 _ -"
        )))
    }
}

/// Creates a P-256 signing key in KMS and names it `alias`; `KeyExists` (and the new key
/// scheduled for deletion) if the alias is taken. Returns the KMS key id.
async fn create_kms_key(
    kms: &Client,
    alias: &str,
    id: &str,
    description: &str,
) -> Result<String, SignerError> {
    let created = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .description(description)
        .send()
        .await
        .map_err(|e| map_kms("CreateKey", id, e))?;
    let key = created
        .key_metadata()
        .map(|m| m.key_id().to_string())
        .ok_or_else(|| unavailable("KMS CreateKey", "no key id returned"))?;
    if let Err(e) = kms
        .create_alias()
        .alias_name(alias)
        .target_key_id(&key)
        .send()
        .await
    {
        discard_key(kms, &key).await;
        return Err(map_kms("CreateAlias", id, e));
    }
    Ok(key)
}

/// Best effort: a key nobody will use is scheduled for deletion.
async fn discard_key(kms: &Client, key: &str) {
    if let Err(e) = kms
        .schedule_key_deletion()
        .key_id(key)
        .pending_window_in_days(DELETE_AFTER_DAYS)
        .send()
        .await
    {
        tracing::warn!(key, error = ?aws_sdk_kms::error::DisplayErrorContext(&e), "could not schedule an unused KMS key for deletion");
    }
}

async fn public_key_der(kms: &Client, key: &str, id: &str) -> Result<Vec<u8>, SignerError> {
    let out = kms
        .get_public_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| map_kms("GetPublicKey", id, e))?;
    out.public_key()
        .map(|b| b.as_ref().to_vec())
        .ok_or_else(|| unavailable("KMS GetPublicKey", "no public key returned"))
}

// ---------------------------------------------------------------------------------------
// the CA in KMS

/// The organisation root CA with its key in KMS. The root certificate is kept in the
/// table (`pk = signer#ca`, `sk = <alias>`).
#[derive(Clone)]
pub struct KmsCa {
    kms: Client,
    alias: String,
    cert: Certificate,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for KmsCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsCa")
            .field("alias", &self.alias)
            .finish_non_exhaustive()
    }
}

fn ca_key(alias: &str) -> Key {
    Key::new("signer#ca", alias)
}

impl KmsCa {
    /// Creates the root CA of `org_name`: a KMS key named `alias` and a self-signed root
    /// certificate stored in `table`. `KeyExists` if the alias is taken.
    pub async fn init(
        kms: Client,
        table: &dyn Table,
        alias: &str,
        org_name: &str,
    ) -> Result<KmsCa, SignerError> {
        let org = paraf_pki::check_org_name(org_name).map_err(cert_error)?;
        let key = create_kms_key(&kms, alias, alias, &format!("{org} Root CA")).await?;
        let spki_der = public_key_der(&kms, &key, alias).await?;
        let tbs = paraf_pki::root(
            org,
            PublicKey::Der(&spki_der),
            paraf_pki::random_serial().map_err(cert_error)?,
            SystemTime::now(),
        )
        .map_err(cert_error)?;
        let cert = sign_tbs(&kms, alias, tbs).await?;
        let cert_der = cert
            .to_der()
            .map_err(|e| unavailable("root certificate", e))?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&cert_der);
        let ck = ca_key(alias);
        table
            .put(
                item(json!({"pk": ck.pk, "sk": ck.sk, "cert": b64, "kms_key": key})),
                Some(Condition::absent()),
            )
            .await
            .map_err(|e| match e {
                TableError::ConditionFailed { .. } => SignerError::KeyExists(alias.to_string()),
                other => map_table(other),
            })?;
        Ok(KmsCa {
            kms,
            alias: alias.to_string(),
            cert,
            cert_der,
        })
    }

    /// Loads the CA made by [`KmsCa::init`]; `UnknownKey` if there is none.
    pub async fn open(kms: Client, table: &dyn Table, alias: &str) -> Result<KmsCa, SignerError> {
        let stored = table
            .get(&ca_key(alias))
            .await
            .map_err(map_table)?
            .ok_or_else(|| SignerError::UnknownKey(alias.to_string()))?;
        let cert_der = stored
            .get("cert")
            .and_then(Value::as_str)
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .ok_or_else(|| unavailable("root certificate", "stored record is malformed"))?;
        let cert =
            Certificate::from_der(&cert_der).map_err(|e| unavailable("root certificate", e))?;
        // A root whose key is unusable is refused here, not at the first certify.
        VerifyingKey::from_sec1_bytes(
            cert.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .map_err(|e| unavailable("root certificate", e))?;
        Ok(KmsCa {
            kms,
            alias: alias.to_string(),
            cert,
            cert_der,
        })
    }
}

/// Signs a certificate with the KMS key `alias` (RAW: KMS hashes with SHA-256).
async fn sign_tbs(kms: &Client, alias: &str, tbs: Tbs) -> Result<Certificate, SignerError> {
    let out = kms
        .sign()
        .key_id(alias)
        .message(Blob::new(tbs.bytes()))
        .message_type(MessageType::Raw)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .map_err(|e| map_kms("Sign", alias, e))?;
    let sig = out
        .signature()
        .ok_or_else(|| unavailable("KMS Sign", "no signature returned"))?;
    tbs.assemble(sig.as_ref()).map_err(cert_error)
}

#[async_trait]
impl CaIssuer for KmsCa {
    async fn certify(
        &self,
        public_key: &[u8],
        subject: &SubjectName,
    ) -> Result<Vec<Vec<u8>>, SignerError> {
        let tbs = paraf_pki::leaf(
            &self.cert,
            PublicKey::Der(public_key),
            subject,
            paraf_pki::random_serial().map_err(cert_error)?,
            SystemTime::now(),
        )
        .map_err(cert_error)?;
        let leaf = sign_tbs(&self.kms, &self.alias, tbs).await?;
        let leaf_der = leaf.to_der().map_err(|e| unavailable("certificate", e))?;
        Ok(vec![leaf_der, self.cert_der.clone()])
    }

    async fn root(&self) -> Result<Vec<u8>, SignerError> {
        Ok(self.cert_der.clone())
    }
}

// ---------------------------------------------------------------------------------------
// the signer

/// Signing keys in KMS, certified by `ca`, chains kept in `table`.
#[derive(Clone)]
pub struct KmsSigner {
    kms: Client,
    table: Arc<dyn Table>,
    ca: Arc<dyn CaIssuer>,
    alias_prefix: String,
}

impl KmsSigner {
    /// `alias_prefix` scopes the key aliases (`alias/paraf/` in production; unique per
    /// test on an emulator); it must start with `alias/` and end with `/`.
    pub fn new(
        kms: Client,
        table: Arc<dyn Table>,
        ca: Arc<dyn CaIssuer>,
        alias_prefix: impl Into<String>,
    ) -> Self {
        KmsSigner {
            kms,
            table,
            ca,
            alias_prefix: alias_prefix.into(),
        }
    }

    fn alias(&self, key_id: &str) -> String {
        format!("{}{key_id}", self.alias_prefix)
    }

    fn record_key(&self, key_id: &str) -> Key {
        Key::new(format!("signer#key#{}", self.alias_prefix), key_id)
    }
}

#[async_trait]
impl Signer for KmsSigner {
    async fn create_key(
        &self,
        key_id: &str,
        subject: &SubjectName,
    ) -> Result<KeyInfo, SignerError> {
        validate_key_id(key_id)?;
        paraf_pki::validate_subject(subject).map_err(cert_error)?;
        // Cheap refusal before paying for a KMS key; the alias below is the atomic check.
        if self
            .table
            .get(&self.record_key(key_id))
            .await
            .map_err(map_table)?
            .is_some()
        {
            return Err(SignerError::KeyExists(key_id.to_string()));
        }
        let alias = self.alias(key_id);
        let key = create_kms_key(&self.kms, &alias, key_id, &subject.common_name).await?;
        let issued = async {
            let spki = public_key_der(&self.kms, &key, key_id).await?;
            let chain = self.ca.certify(&spki, subject).await?;
            let encoded: Vec<Value> = chain
                .iter()
                .map(|c| Value::String(base64::engine::general_purpose::STANDARD.encode(c)))
                .collect();
            let rk = self.record_key(key_id);
            self.table
                .put(
                    item(json!({"pk": rk.pk, "sk": rk.sk, "kms_key": key, "chain": encoded})),
                    Some(Condition::absent()),
                )
                .await
                .map_err(|e| match e {
                    TableError::ConditionFailed { .. } => {
                        SignerError::KeyExists(key_id.to_string())
                    }
                    other => map_table(other),
                })?;
            Ok::<_, SignerError>(chain)
        }
        .await;
        match issued {
            Ok(chain) => Ok(KeyInfo {
                key_id: key_id.to_string(),
                chain,
            }),
            Err(e) => {
                // Undo, so the id can be created again.
                if let Err(d) = self.kms.delete_alias().alias_name(&alias).send().await {
                    tracing::warn!(alias, error = ?aws_sdk_kms::error::DisplayErrorContext(&d), "could not delete alias of a failed key");
                }
                discard_key(&self.kms, &key).await;
                Err(e)
            }
        }
    }

    async fn chain(&self, key_id: &str) -> Result<KeyInfo, SignerError> {
        validate_key_id(key_id)?;
        let stored = self
            .table
            .get(&self.record_key(key_id))
            .await
            .map_err(map_table)?
            .ok_or_else(|| SignerError::UnknownKey(key_id.to_string()))?;
        let chain = stored
            .get("chain")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|c| {
                        c.as_str()
                            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .and_then(|c| c)
            .ok_or_else(|| unavailable("certificate chain", "stored record is malformed"))?;
        Ok(KeyInfo {
            key_id: key_id.to_string(),
            chain,
        })
    }

    async fn sign_digest(&self, key_id: &str, digest: &[u8; 32]) -> Result<Vec<u8>, SignerError> {
        validate_key_id(key_id)?;
        let out = self
            .kms
            .sign()
            .key_id(self.alias(key_id))
            .message(Blob::new(digest.to_vec()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| map_kms("Sign", key_id, e))?;
        out.signature()
            .map(|s| s.as_ref().to_vec())
            .ok_or_else(|| unavailable("KMS Sign", "no signature returned"))
    }

    async fn root_certificate(&self) -> Result<Vec<u8>, SignerError> {
        self.ca.root().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_must_be_plain_alias_names() {
        for bad in ["", "../ca", "a/b", "a b", "..", "kabag\n"] {
            assert!(validate_key_id(bad).is_err(), "{bad:?}");
        }
        assert!(validate_key_id("kabag_umum-2026").is_ok());
    }
}
