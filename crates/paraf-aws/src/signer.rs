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
//!   them with SHA-256: exactly ecdsa-with-SHA256).
//! - Certificate chains are stored in the [`Table`] (`pk = signer#key#<key_id>`), so
//!   `chain` is one read and signatures can embed the chain.
//! - `create_key` makes the alias the atomic "this id is taken" marker: of two concurrent
//!   creates one gets `KeyExists`, and its fresh KMS key is scheduled for deletion.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use aws_sdk_kms::Client;
use base64::Engine as _;
use der::asn1::Utf8StringRef;
use der::asn1::{AnyRef, BitString, Ia5String, Ia5StringRef, PrintableStringRef, SetOfVec};
use der::oid::db::rfc5912::ECDSA_WITH_SHA_256;
use der::oid::db::{rfc3280, rfc4519, rfc5280};
use der::oid::{AssociatedOid, ObjectIdentifier};
use der::{Any, Decode, Encode};
use p256::ecdsa::signature::{self, Keypair};
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use paraf_core::ports::table::{item, Condition, Key, Table, TableError};
use paraf_core::{Email, KeyInfo, Signer, SignerError, SubjectName};
use serde_json::{json, Value};
use spki::{AlgorithmIdentifier, SignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::ext::AsExtension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

/// Microsoft "Document Signing" key purpose (as the local CA issues).
const ID_KP_DOCUMENT_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.10.3.12");
const DAY: u64 = 24 * 60 * 60;
const ROOT_VALIDITY: Duration = Duration::from_secs((20 * 365 + 5) * DAY);
const LEAF_VALIDITY: Duration = Duration::from_secs((2 * 365 + 1) * DAY);
const BACKDATE: Duration = Duration::from_secs(60);
const MAX_NAME_LEN: usize = 64;
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

fn invalid(what: &str, err: impl std::fmt::Display) -> SignerError {
    SignerError::Validation(format!("{what}: {err}"))
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
    public_key: VerifyingKey,
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

/// The CA's public key as x509-cert's builder wants it; signing happens in KMS after
/// `finalize`, so the builder's own signing path is never taken.
struct KmsCaKey(VerifyingKey);

impl Keypair for KmsCaKey {
    type VerifyingKey = VerifyingKey;
    fn verifying_key(&self) -> VerifyingKey {
        self.0
    }
}

impl SignatureAlgorithmIdentifier for KmsCaKey {
    type Params = AnyRef<'static>;
    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<AnyRef<'static>> =
        AlgorithmIdentifier {
            oid: ECDSA_WITH_SHA_256,
            parameters: None,
        };
}

impl signature::Signer<DerSignature> for KmsCaKey {
    fn try_sign(&self, _msg: &[u8]) -> Result<DerSignature, signature::Error> {
        Err(signature::Error::new()) // certificates are signed in KMS (see `sign_tbs`)
    }
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
        let org = org_name.trim();
        if org.is_empty() || org.chars().count() + " Root CA".len() > MAX_NAME_LEN {
            return Err(invalid(
                "organisation name",
                format!("must be 1 to {} characters", MAX_NAME_LEN - 8),
            ));
        }
        let key = create_kms_key(&kms, alias, alias, &format!("{org} Root CA")).await?;
        let spki_der = public_key_der(&kms, &key, alias).await?;
        let public_key = VerifyingKey::from_public_key_der(&spki_der)
            .map_err(|e| unavailable("CA public key", e))?;
        let spki = SubjectPublicKeyInfoOwned::from_der(&spki_der)
            .map_err(|e| unavailable("CA public key", e))?;
        let subject = RdnSequence(vec![
            rdn(rfc4519::C, printable("C", "ID")?)?,
            rdn(rfc4519::O, utf8("O", org)?)?,
            rdn(rfc4519::CN, utf8("CN", &format!("{org} Root CA"))?)?,
        ]);
        let now = SystemTime::now();
        let stub = KmsCaKey(public_key);
        let builder = CertificateBuilder::new(
            Profile::Root,
            random_serial()?,
            validity(now - BACKDATE, now + ROOT_VALIDITY)?,
            subject,
            spki,
            &stub,
        )
        .map_err(|e| unavailable("root certificate", e))?;
        let cert = sign_tbs(&kms, alias, builder).await?;
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
            public_key,
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
        let public_key = VerifyingKey::from_sec1_bytes(
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
            public_key,
        })
    }

    fn organisation(&self) -> Option<AttributeTypeAndValue> {
        self.cert
            .tbs_certificate
            .subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .find(|atv| atv.oid == rfc4519::O)
            .cloned()
    }
}

/// Signs a finished TBSCertificate with the KMS key `alias` (RAW: KMS hashes with SHA-256).
async fn sign_tbs(
    kms: &Client,
    alias: &str,
    mut builder: CertificateBuilder<'_, KmsCaKey>,
) -> Result<Certificate, SignerError> {
    let tbs = builder
        .finalize()
        .map_err(|e| unavailable("certificate", e))?;
    let out = kms
        .sign()
        .key_id(alias)
        .message(Blob::new(tbs))
        .message_type(MessageType::Raw)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .map_err(|e| map_kms("Sign", alias, e))?;
    let sig = out
        .signature()
        .ok_or_else(|| unavailable("KMS Sign", "no signature returned"))?;
    let bits = BitString::from_bytes(sig.as_ref()).map_err(|e| unavailable("certificate", e))?;
    builder
        .assemble(bits)
        .map_err(|e| unavailable("certificate", e))
}

#[async_trait]
impl CaIssuer for KmsCa {
    async fn certify(
        &self,
        public_key: &[u8],
        subject: &SubjectName,
    ) -> Result<Vec<Vec<u8>>, SignerError> {
        validate_subject(subject)?;
        let mut rdns = vec![rdn(rfc4519::C, printable("C", "ID")?)?];
        if let Some(org) = self.organisation() {
            rdns.push(RelativeDistinguishedName(
                SetOfVec::try_from(vec![org]).map_err(|e| unavailable("subject", e))?,
            ));
        }
        if let Some(ou) = subject.organizational_unit.as_deref() {
            rdns.push(rdn(rfc4519::OU, utf8("organizational_unit", ou)?)?);
        }
        rdns.push(rdn(
            rfc4519::CN,
            utf8("common_name", &subject.common_name)?,
        )?);
        if let Some(nip) = subject.serial_number.as_deref() {
            rdns.push(rdn(
                rfc4519::SERIAL_NUMBER,
                printable("serial_number", nip)?,
            )?);
        }
        let email = subject
            .email
            .as_deref()
            .map(|e| Email::parse(e).map_err(|err| invalid("email", err)))
            .transpose()?;
        if let Some(email) = &email {
            let ia5 = Ia5StringRef::new(email.as_str()).map_err(|e| invalid("email", e))?;
            rdns.push(rdn(
                rfc3280::EMAIL_ADDRESS,
                Any::encode_from(&ia5).map_err(|e| invalid("email", e))?,
            )?);
        }
        let spki = SubjectPublicKeyInfoOwned::from_der(public_key)
            .map_err(|e| invalid("public key", e))?;
        let now = SystemTime::now();
        let root_end = self
            .cert
            .tbs_certificate
            .validity
            .not_after
            .to_system_time();
        let stub = KmsCaKey(self.public_key);
        let mut builder = CertificateBuilder::new(
            Profile::Leaf {
                issuer: self.cert.tbs_certificate.subject.clone(),
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
            random_serial()?,
            validity(now - BACKDATE, (now + LEAF_VALIDITY).min(root_end))?,
            RdnSequence(rdns),
            spki,
            &stub,
        )
        .map_err(|e| unavailable("certificate", e))?;
        builder
            .add_extension(&SigningPurposes(ExtendedKeyUsage(vec![
                rfc5280::ID_KP_EMAIL_PROTECTION,
                ID_KP_DOCUMENT_SIGNING,
            ])))
            .map_err(|e| unavailable("certificate", e))?;
        if let Some(email) = &email {
            let name = Ia5String::new(email.as_str()).map_err(|e| invalid("email", e))?;
            builder
                .add_extension(&SubjectAltName(vec![GeneralName::Rfc822Name(name)]))
                .map_err(|e| unavailable("certificate", e))?;
        }
        let leaf = sign_tbs(&self.kms, &self.alias, builder).await?;
        let leaf_der = leaf.to_der().map_err(|e| unavailable("certificate", e))?;
        Ok(vec![leaf_der, self.cert_der.clone()])
    }

    async fn root(&self) -> Result<Vec<u8>, SignerError> {
        Ok(self.cert_der.clone())
    }
}

/// extendedKeyUsage marked non-critical, as the local CA issues it.
struct SigningPurposes(ExtendedKeyUsage);

impl AssociatedOid for SigningPurposes {
    const OID: ObjectIdentifier = ExtendedKeyUsage::OID;
}

impl Encode for SigningPurposes {
    fn encoded_len(&self) -> der::Result<der::Length> {
        self.0.encoded_len()
    }
    fn encode(&self, encoder: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode(encoder)
    }
}

impl AsExtension for SigningPurposes {
    fn critical(&self, _: &Name, _: &[x509_cert::ext::Extension]) -> bool {
        false
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
        validate_subject(subject)?;
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

// ---------------------------------------------------------------------------------------
// certificate helpers (the same profile as the local CA)

fn validate_subject(subject: &SubjectName) -> Result<(), SignerError> {
    let cn = subject.common_name.trim();
    if cn.is_empty() || cn.chars().count() > MAX_NAME_LEN {
        return Err(invalid(
            "common_name",
            format!("must be 1 to {MAX_NAME_LEN} characters"),
        ));
    }
    if let Some(ou) = &subject.organizational_unit {
        if ou.trim().is_empty() || ou.chars().count() > MAX_NAME_LEN {
            return Err(invalid(
                "organizational_unit",
                format!("must be 1 to {MAX_NAME_LEN} characters"),
            ));
        }
    }
    if let Some(nip) = &subject.serial_number {
        if nip.is_empty() || nip.len() > MAX_NAME_LEN {
            return Err(invalid("serial_number", "must be 1 to 64 characters"));
        }
    }
    Ok(())
}

fn rdn(oid: ObjectIdentifier, value: Any) -> Result<RelativeDistinguishedName, SignerError> {
    let atv = AttributeTypeAndValue { oid, value };
    Ok(RelativeDistinguishedName(
        SetOfVec::try_from(vec![atv]).map_err(|e| unavailable("subject", e))?,
    ))
}

fn utf8(field: &str, value: &str) -> Result<Any, SignerError> {
    let s = Utf8StringRef::new(value.trim()).map_err(|e| invalid(field, e))?;
    Any::encode_from(&s).map_err(|e| invalid(field, e))
}

fn printable(field: &str, value: &str) -> Result<Any, SignerError> {
    let s = PrintableStringRef::new(value).map_err(|e| invalid(field, e))?;
    Any::encode_from(&s).map_err(|e| invalid(field, e))
}

fn validity(start: SystemTime, end: SystemTime) -> Result<Validity, SignerError> {
    Ok(Validity {
        not_before: Time::try_from(start).map_err(|e| unavailable("validity", e))?,
        not_after: Time::try_from(end).map_err(|e| unavailable("validity", e))?,
    })
}

/// 16 random bytes (a v4 UUID's), top bit clear so the INTEGER stays positive.
fn random_serial() -> Result<SerialNumber, SignerError> {
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(|e| unavailable("serial number", e))
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
