//! The certificate profile of the organisation CA, shared by every runtime (the local CA
//! in `paraf-local`, the KMS CA in `paraf-aws`) so that they issue the same certificates
//! by construction.
//!
//! A certificate is made in two steps, so the issuer's key may live anywhere: [`root`] and
//! [`leaf`] build the TBSCertificate and return a [`Tbs`]; the caller signs [`Tbs::bytes`]
//! with ecdsa-with-SHA256 (a p256 `SigningKey`, KMS `Sign` with `RAW`, …) and hands the
//! DER signature to [`Tbs::assemble`].
//!
//! The profile:
//! - root: subject `C=ID, O=<org>, CN=<org> Root CA`, valid [`ROOT_VALIDITY`];
//!   basicConstraints CA:true and keyUsage keyCertSign + cRLSign (both critical),
//!   subjectKeyIdentifier.
//! - leaf: subject `C=ID`, the root's `O`, then `OU`, `CN`, `serialNumber` and
//!   `emailAddress` from the [`SubjectName`]; valid [`LEAF_VALIDITY`] but never past the
//!   root; basicConstraints CA:false, keyUsage digitalSignature + nonRepudiation
//!   (critical), subject and authority key identifiers, extendedKeyUsage emailProtection +
//!   [`ID_KP_DOCUMENT_SIGNING`] (not critical), subjectAltName rfc822Name for the email.
//! - both: a random positive 16-byte serial ([`random_serial`]), validity starting
//!   [`BACKDATE`] in the past, signature ecdsa-with-SHA256.

use std::fmt;
use std::time::{Duration, SystemTime};

use der::asn1::{
    AnyRef, BitString, Ia5String, Ia5StringRef, PrintableStringRef, SetOfVec, Utf8StringRef,
};
use der::oid::db::rfc5912::ECDSA_WITH_SHA_256;
use der::oid::db::{rfc3280, rfc4519, rfc5280};
use der::oid::{AssociatedOid, ObjectIdentifier};
use der::{Any, Decode, Encode};
use p256::ecdsa::signature::{self, Keypair};
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use paraf_core::{Email, SignerError, SubjectName};
use rand::rngs::OsRng;
use rand::RngCore;
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

/// Microsoft "Document Signing" key purpose; Adobe and pyHanko accept it next to
/// emailProtection, which is what NSS (and so `pdfsig`) checks for a signer.
pub const ID_KP_DOCUMENT_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.10.3.12");

const DAY: u64 = 24 * 60 * 60;
/// How long a root certificate is valid.
pub const ROOT_VALIDITY: Duration = Duration::from_secs((20 * 365 + 5) * DAY);
/// How long a signing certificate is valid (at most: never past its root).
pub const LEAF_VALIDITY: Duration = Duration::from_secs((2 * 365 + 1) * DAY);
/// Certificates start a little in the past so a validator whose clock lags ours by
/// a few seconds does not call a freshly issued certificate "not yet valid".
pub const BACKDATE: Duration = Duration::from_secs(60);
/// X.520 upper bound for CN, O and OU.
pub const MAX_NAME_LEN: usize = 64;
const ROOT_SUFFIX: &str = " Root CA";

/// Why a certificate could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// The input is unusable (`"<field>: <reason>"`): a `SignerError::Validation`.
    Invalid(String),
    /// Building failed (a broken key, a bug): `what` names the part, `detail` the cause.
    Internal { what: &'static str, detail: String },
}

impl CertError {
    /// The `SignerError` for this error; `internal` reports an [`CertError::Internal`] the
    /// way the runtime reports its other failures.
    pub fn into_signer_error(
        self,
        internal: impl FnOnce(&'static str, String) -> SignerError,
    ) -> SignerError {
        match self {
            CertError::Invalid(message) => SignerError::Validation(message),
            CertError::Internal { what, detail } => internal(what, detail),
        }
    }
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Invalid(message) => f.write_str(message),
            CertError::Internal { what, detail } => write!(f, "{what}: {detail}"),
        }
    }
}

impl std::error::Error for CertError {}

fn invalid(field: &str, err: impl fmt::Display) -> CertError {
    CertError::Invalid(format!("{field}: {err}"))
}

fn internal(what: &'static str, err: impl fmt::Display) -> CertError {
    CertError::Internal {
        what,
        detail: err.to_string(),
    }
}

/// The public key a certificate is issued for.
#[derive(Clone, Copy, Debug)]
pub enum PublicKey<'a> {
    /// SubjectPublicKeyInfo, DER (as KMS `GetPublicKey` returns it).
    Der(&'a [u8]),
    /// A P-256 key.
    P256(&'a VerifyingKey),
}

impl PublicKey<'_> {
    fn to_spki(self) -> Result<SubjectPublicKeyInfoOwned, String> {
        match self {
            PublicKey::Der(der) => {
                SubjectPublicKeyInfoOwned::from_der(der).map_err(|e| e.to_string())
            }
            PublicKey::P256(key) => {
                SubjectPublicKeyInfoOwned::from_key(*key).map_err(|e| e.to_string())
            }
        }
    }
}

/// The trimmed organisation name, if it fits a root certificate's CN (`<org> Root CA`).
pub fn check_org_name(org_name: &str) -> Result<&str, CertError> {
    let org = org_name.trim();
    if org.is_empty() || org.chars().count() + ROOT_SUFFIX.len() > MAX_NAME_LEN {
        return Err(invalid(
            "organisation name",
            format!(
                "must be 1 to {} characters",
                MAX_NAME_LEN - ROOT_SUFFIX.len()
            ),
        ));
    }
    Ok(org)
}

/// Whether `subject` fits a signing certificate (length bounds; the email is checked by
/// [`leaf`]).
pub fn validate_subject(subject: &SubjectName) -> Result<(), CertError> {
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

/// 16 random bytes, top bit clear so the INTEGER stays positive and 16 bytes long.
pub fn random_serial() -> Result<SerialNumber, CertError> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(|e| internal("serial number", e))
}

/// The self-signed root certificate of `org_name` for `public_key`, issued at `now`.
pub fn root(
    org_name: &str,
    public_key: PublicKey<'_>,
    serial: SerialNumber,
    now: SystemTime,
) -> Result<Tbs, CertError> {
    const WHAT: &str = "root certificate";
    let org = check_org_name(org_name)?;
    let subject = RdnSequence(vec![
        rdn(rfc4519::C, printable("C", "ID")?)?,
        rdn(rfc4519::O, utf8("O", org)?)?,
        rdn(rfc4519::CN, utf8("CN", &format!("{org}{ROOT_SUFFIX}"))?)?,
    ]);
    let validity = validity(now - BACKDATE, now + ROOT_VALIDITY)?;
    let spki = public_key
        .to_spki()
        .map_err(|e| internal("root public key", e))?;
    let issuer = IssuerKey::of(&spki).map_err(|e| internal("root public key", e))?;
    // Profile::Root gives basicConstraints CA:true (critical), keyUsage
    // keyCertSign + cRLSign (critical) and the subjectKeyIdentifier.
    let builder = CertificateBuilder::new(Profile::Root, serial, validity, subject, spki, &issuer)
        .map_err(|e| internal(WHAT, e))?;
    Tbs::finalize(builder, WHAT)
}

/// The signing certificate for `subject` and its `public_key`, issued at `now` by the
/// root certificate `issuer`.
pub fn leaf(
    issuer: &Certificate,
    public_key: PublicKey<'_>,
    subject: &SubjectName,
    serial: SerialNumber,
    now: SystemTime,
) -> Result<Tbs, CertError> {
    const WHAT: &str = "certificate";
    validate_subject(subject)?;
    let mut rdns = vec![rdn(rfc4519::C, printable("C", "ID")?)?];
    if let Some(org) = organisation(issuer) {
        rdns.push(RelativeDistinguishedName(
            SetOfVec::try_from(vec![org]).map_err(|e| internal("subject", e))?,
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

    let spki = match public_key {
        PublicKey::Der(_) => public_key.to_spki().map_err(|e| invalid("public key", e))?,
        PublicKey::P256(_) => public_key
            .to_spki()
            .map_err(|e| internal("public key", e))?,
    };
    // A leaf must not outlive its issuer, or validators reject it near the end.
    let root_end = issuer.tbs_certificate.validity.not_after.to_system_time();
    let validity = validity(now - BACKDATE, (now + LEAF_VALIDITY).min(root_end))?;
    let issuer_key = IssuerKey::of(&issuer.tbs_certificate.subject_public_key_info)
        .map_err(|e| internal("root public key", e))?;
    // Profile::Leaf gives basicConstraints CA:false, keyUsage digitalSignature +
    // nonRepudiation (critical), subject and authority key identifiers.
    let profile = Profile::Leaf {
        issuer: issuer.tbs_certificate.subject.clone(),
        enable_key_agreement: false,
        enable_key_encipherment: false,
    };
    let mut builder = CertificateBuilder::new(
        profile,
        serial,
        validity,
        RdnSequence(rdns),
        spki,
        &issuer_key,
    )
    .map_err(|e| internal(WHAT, e))?;
    builder
        .add_extension(&SigningPurposes(ExtendedKeyUsage(vec![
            rfc5280::ID_KP_EMAIL_PROTECTION,
            ID_KP_DOCUMENT_SIGNING,
        ])))
        .map_err(|e| internal(WHAT, e))?;
    if let Some(email) = &email {
        let name = Ia5String::new(email.as_str()).map_err(|e| invalid("email", e))?;
        builder
            .add_extension(&SubjectAltName(vec![GeneralName::Rfc822Name(name)]))
            .map_err(|e| internal(WHAT, e))?;
    }
    Tbs::finalize(builder, WHAT)
}

/// A certificate waiting for its issuer's signature.
#[derive(Debug)]
pub struct Tbs {
    /// The certificate with an empty signature.
    cert: Certificate,
    /// `cert.tbs_certificate`, DER: what the issuer signs.
    der: Vec<u8>,
    what: &'static str,
}

impl Tbs {
    fn finalize(
        mut builder: CertificateBuilder<'_, IssuerKey>,
        what: &'static str,
    ) -> Result<Tbs, CertError> {
        let der = builder.finalize().map_err(|e| internal(what, e))?;
        let empty = BitString::from_bytes(&[]).map_err(|e| internal(what, e))?;
        let cert = builder.assemble(empty).map_err(|e| internal(what, e))?;
        Ok(Tbs { cert, der, what })
    }

    /// The TBSCertificate, DER: sign these bytes with ecdsa-with-SHA256 (SHA-256 of them,
    /// then ECDSA with the issuer's key).
    pub fn bytes(&self) -> &[u8] {
        &self.der
    }

    /// What is being issued (`"root certificate"` or `"certificate"`), for error messages.
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The certificate, with `signature`: the issuer's DER-encoded ECDSA signature over
    /// [`Tbs::bytes`].
    pub fn assemble(mut self, signature: &[u8]) -> Result<Certificate, CertError> {
        self.cert.signature =
            BitString::from_bytes(signature).map_err(|e| internal(self.what, e))?;
        Ok(self.cert)
    }
}

/// The organisation attribute (O) of the root, copied into every leaf subject.
fn organisation(issuer: &Certificate) -> Option<AttributeTypeAndValue> {
    issuer
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == rfc4519::O)
        .cloned()
}

/// The issuer's public key as x509-cert's builder wants it: the builder takes the key
/// identifiers from it, and the algorithm is fixed (ecdsa-with-SHA256, parameters absent,
/// RFC 5758). The signature is made by the caller after [`Tbs::bytes`], so the builder's
/// own signing path is never taken.
struct IssuerKey(VerifyingKey);

impl IssuerKey {
    fn of(spki: &SubjectPublicKeyInfoOwned) -> Result<IssuerKey, String> {
        let der = spki.to_der().map_err(|e| e.to_string())?;
        VerifyingKey::from_public_key_der(&der)
            .map(IssuerKey)
            .map_err(|e| e.to_string())
    }
}

impl Keypair for IssuerKey {
    type VerifyingKey = VerifyingKey;
    fn verifying_key(&self) -> VerifyingKey {
        self.0
    }
}

impl SignatureAlgorithmIdentifier for IssuerKey {
    type Params = AnyRef<'static>;
    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<AnyRef<'static>> =
        AlgorithmIdentifier {
            oid: ECDSA_WITH_SHA_256,
            parameters: None,
        };
}

impl signature::Signer<DerSignature> for IssuerKey {
    fn try_sign(&self, _msg: &[u8]) -> Result<DerSignature, signature::Error> {
        Err(signature::Error::new()) // the caller signs `Tbs::bytes`
    }
}

/// extendedKeyUsage marked non-critical (x509-cert marks it critical): it states the
/// purpose for validators that check it without making other software that meets an
/// unknown purpose OID refuse the certificate outright.
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

fn rdn(oid: ObjectIdentifier, value: Any) -> Result<RelativeDistinguishedName, CertError> {
    let atv = AttributeTypeAndValue { oid, value };
    Ok(RelativeDistinguishedName(
        SetOfVec::try_from(vec![atv]).map_err(|e| internal("subject", e))?,
    ))
}

fn utf8(field: &str, value: &str) -> Result<Any, CertError> {
    let s = Utf8StringRef::new(value.trim()).map_err(|e| invalid(field, e))?;
    Any::encode_from(&s).map_err(|e| invalid(field, e))
}

fn printable(field: &str, value: &str) -> Result<Any, CertError> {
    let s = PrintableStringRef::new(value).map_err(|e| invalid(field, e))?;
    Any::encode_from(&s).map_err(|e| invalid(field, e))
}

fn validity(start: SystemTime, end: SystemTime) -> Result<Validity, CertError> {
    Ok(Validity {
        not_before: Time::try_from(start).map_err(|e| internal("validity", e))?,
        not_after: Time::try_from(end).map_err(|e| internal("validity", e))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, SigningKey};

    fn subject() -> SubjectName {
        SubjectName {
            common_name: "Asep Sunandar".into(),
            serial_number: Some("198003152005011002".into()),
            organizational_unit: Some("Kepala Subbagian Umum".into()),
            email: Some("asep@kpu-jabar.go.id".into()),
        }
    }

    fn spki_der(key: &SigningKey) -> Vec<u8> {
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap();
        spki.to_der().unwrap()
    }

    fn signed(key: &SigningKey, tbs: Tbs) -> Certificate {
        let sig: Signature = signature::Signer::try_sign(key, tbs.bytes()).unwrap();
        tbs.assemble(sig.to_der().as_bytes()).unwrap()
    }

    fn root_of(ca: &SigningKey, now: SystemTime) -> Certificate {
        let key = PublicKey::P256(ca.verifying_key());
        signed(
            ca,
            root("KPU Jabar", key, random_serial().unwrap(), now).unwrap(),
        )
    }

    /// The local CA hands a p256 key, the KMS CA an SPKI DER: the same certificate.
    #[test]
    fn a_key_as_der_or_as_p256_gives_the_same_certificate() {
        let now = SystemTime::now();
        let ca = SigningKey::random(&mut OsRng);
        let serial = random_serial().unwrap();
        let p256 = PublicKey::P256(ca.verifying_key());
        let a = root("KPU Jabar", p256, serial.clone(), now).unwrap();
        let b = root("KPU Jabar", PublicKey::Der(&spki_der(&ca)), serial, now).unwrap();
        assert_eq!(a.bytes(), b.bytes());

        let root_cert = root_of(&ca, now);
        let key = SigningKey::random(&mut OsRng);
        let serial = random_serial().unwrap();
        let p256 = PublicKey::P256(key.verifying_key());
        let a = leaf(&root_cert, p256, &subject(), serial.clone(), now).unwrap();
        let der = spki_der(&key);
        let b = leaf(&root_cert, PublicKey::Der(&der), &subject(), serial, now).unwrap();
        assert_eq!(a.bytes(), b.bytes());

        let cert = signed(&ca, a);
        let sig = Signature::from_der(cert.signature.raw_bytes()).unwrap();
        let tbs = cert.tbs_certificate.to_der().unwrap();
        assert!(ca.verifying_key().verify(&tbs, &sig).is_ok());
        assert_eq!(
            cert.tbs_certificate.issuer,
            root_cert.tbs_certificate.subject
        );
    }

    #[test]
    fn unusable_input_is_a_validation_error() {
        let now = SystemTime::now();
        let root_cert = root_of(&SigningKey::random(&mut OsRng), now);
        let bad = PublicKey::Der(b"not a key");
        let got = leaf(&root_cert, bad, &subject(), random_serial().unwrap(), now);
        assert!(matches!(got, Err(CertError::Invalid(m)) if m.starts_with("public key: ")));
        let too_long = "x".repeat(MAX_NAME_LEN - ROOT_SUFFIX.len() + 1);
        assert!(matches!(
            check_org_name(&too_long),
            Err(CertError::Invalid(_))
        ));
        assert_eq!(check_org_name("  KPU  ").unwrap(), "KPU");
    }
}
