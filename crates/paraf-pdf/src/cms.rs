//! CMS SignedData for PAdES baseline B-B (ETSI EN 319 142-1): detached, SHA-256,
//! ECDSA P-256; signed attributes contentType, messageDigest and
//! signingCertificateV2 (RFC 5035). No signingTime attribute: PAdES baseline puts the
//! claimed signing time in the signature dictionary's `/M` and forbids the attribute.
//!
//! Built in two steps so the private key can live elsewhere (AWS KMS): first the signed
//! attributes and the digest to sign, then the SignedData around the signature.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use p256::ecdsa::signature::Verifier;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
pub const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
pub const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// Errors building or reading a CMS signature.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CmsError {
    #[error("certificate chain is empty")]
    EmptyChain,
    #[error("bad certificate: {0}")]
    Certificate(String),
    #[error("bad CMS structure: {0}")]
    Structure(String),
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
}

fn structure(e: impl std::fmt::Display) -> CmsError {
    CmsError::Structure(e.to_string())
}

/// RFC 5035 `IssuerSerial`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// RFC 5035 `ESSCertIDv2`; `hashAlgorithm` defaults to SHA-256 and DER omits defaults.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// RFC 5035 `SigningCertificateV2` (policies omitted).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(structure)?,
    })
}

/// Signed attributes ready to be signed: [`Self::digest`] goes to the signer.
pub struct PreparedAttributes {
    attrs: SignedAttributes,
    der: Vec<u8>,
}

impl PreparedAttributes {
    /// SHA-256 of the DER `SET OF` encoding: what ECDSA signs (RFC 5652 5.4).
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(&self.der).into()
    }
}

/// Builds the signed attributes for a detached signature of content with SHA-256
/// `content_digest`, signed by `chain[0]`.
pub fn signed_attributes(
    content_digest: &[u8; 32],
    chain: &[Vec<u8>],
) -> Result<PreparedAttributes, CmsError> {
    let leaf_der = chain.first().ok_or(CmsError::EmptyChain)?;
    let leaf = Certificate::from_der(leaf_der).map_err(|e| CmsError::Certificate(e.to_string()))?;
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(Sha256::digest(leaf_der).to_vec()).map_err(structure)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    leaf.tbs_certificate.issuer.clone(),
                )],
                serial_number: leaf.tbs_certificate.serial_number.clone(),
            }),
        }],
    };
    let attrs = SetOfVec::try_from(vec![
        attribute(
            ID_CONTENT_TYPE,
            Any::encode_from(&ID_DATA).map_err(structure)?,
        )?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(content_digest.to_vec()).map_err(structure)?)
                .map_err(structure)?,
        )?,
        attribute(
            ID_AA_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&ess).map_err(structure)?,
        )?,
    ])
    .map_err(structure)?;
    let der = attrs.to_der().map_err(structure)?;
    Ok(PreparedAttributes { attrs, der })
}

/// Wraps the signer's DER ECDSA `signature` over `attrs` into a DER ContentInfo.
pub fn signed_data(
    attrs: PreparedAttributes,
    chain: &[Vec<u8>],
    signature: &[u8],
) -> Result<Vec<u8>, CmsError> {
    signed_data_with_timestamp(attrs, chain, signature, None)
}

/// Like [`signed_data`], with an RFC 3161 `timestamp_token` (DER, over the SHA-256 of
/// `signature`) as the unsigned attribute `id-aa-signatureTimeStampToken`.
pub fn signed_data_with_timestamp(
    attrs: PreparedAttributes,
    chain: &[Vec<u8>],
    signature: &[u8],
    timestamp_token: Option<&[u8]>,
) -> Result<Vec<u8>, CmsError> {
    let certs = chain
        .iter()
        .map(|c| {
            Certificate::from_der(c)
                .map(CertificateChoices::Certificate)
                .map_err(|e| CmsError::Certificate(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = match certs.first() {
        Some(CertificateChoices::Certificate(c)) => c.clone(),
        _ => return Err(CmsError::EmptyChain),
    };
    // Refuse a signature that is not DER ECDSA: it would make an invalid PDF silently.
    p256::ecdsa::Signature::from_der(signature).map_err(|_| {
        CmsError::Structure("the signer did not return a DER ECDSA signature".into())
    })?;
    let unsigned_attrs = match timestamp_token {
        None => None,
        Some(token) => Some(
            SetOfVec::try_from(vec![attribute(
                crate::tsp::ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
                Any::from_der(token).map_err(structure)?,
            )?])
            .map_err(structure)?,
        ),
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: leaf.tbs_certificate.issuer.clone(),
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: alg(ID_SHA256),
        signed_attrs: Some(attrs.attrs),
        signature_algorithm: alg(ECDSA_WITH_SHA256),
        signature: OctetString::new(signature.to_vec()).map_err(structure)?,
        unsigned_attrs,
    };
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![alg(ID_SHA256)]).map_err(structure)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(certs).map_err(structure)?,
        )),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(structure)?),
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(structure)?,
    }
    .to_der()
    .map_err(structure)
}

/// What a CMS signature says, checked cryptographically (not yet against trust roots).
#[derive(Debug, Clone)]
pub struct CmsCheck {
    /// The messageDigest attribute.
    pub message_digest: Vec<u8>,
    /// The ECDSA signature over the signed attributes verifies with the signer's key.
    pub signature_valid: bool,
    /// signingCertificateV2 is present and names the signer's certificate.
    pub signing_certificate_v2: bool,
    /// A signingTime attribute is present (not allowed in PAdES baseline).
    pub has_signing_time_attribute: bool,
    /// The signer's certificate first, then the other embedded certificates (DER).
    pub certificates: Vec<Vec<u8>>,
    /// The signature value (DER ECDSA): what a signature time-stamp stamps.
    pub signature_value: Vec<u8>,
    /// The unsigned `id-aa-signatureTimeStampToken` attribute's token (DER), if any.
    pub timestamp_token: Option<Vec<u8>>,
}

/// Parses a DER CMS ContentInfo (trailing zero padding from the `/Contents` hole is
/// ignored) and checks its single SignerInfo's signature.
pub fn check(contents: &[u8]) -> Result<CmsCheck, CmsError> {
    // The hole is zero-padded after the DER; the outer length says where DER ends.
    let der = der_prefix(contents).ok_or_else(|| structure("not a DER SEQUENCE"))?;
    let ci = ContentInfo::from_der(der).map_err(structure)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(structure("not SignedData"));
    }
    let sd: SignedData = ci.content.decode_as().map_err(structure)?;
    let si = match sd.signer_infos.0.as_slice() {
        [si] => si,
        _ => return Err(structure("expected exactly one SignerInfo")),
    };
    if si.digest_alg.oid != ID_SHA256 {
        return Err(CmsError::Unsupported(format!(
            "digest {}",
            si.digest_alg.oid
        )));
    }
    let certs: Vec<Certificate> = sd
        .certificates
        .as_ref()
        .map(|cs| {
            cs.0.iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
        return Err(CmsError::Unsupported(
            "subjectKeyIdentifier signer id".into(),
        ));
    };
    let leaf = certs
        .iter()
        .find(|c| {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        })
        .ok_or_else(|| structure("signer certificate not embedded"))?;
    let leaf_der = leaf.to_der().map_err(structure)?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| structure("no signed attributes"))?;
    let find_attr = |oid: ObjectIdentifier| attrs.iter().find(|a| a.oid == oid);
    let message_digest = find_attr(ID_MESSAGE_DIGEST)
        .and_then(|a| a.values.iter().next())
        .ok_or_else(|| structure("no messageDigest attribute"))?
        .decode_as::<OctetString>()
        .map_err(structure)?
        .into_bytes();
    let content_type_ok = find_attr(ID_CONTENT_TYPE)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        == Some(ID_DATA);
    if !content_type_ok {
        return Err(structure("contentType attribute missing or not id-data"));
    }
    let leaf_hash = Sha256::digest(&leaf_der);
    let signing_certificate_v2 = find_attr(ID_AA_SIGNING_CERTIFICATE_V2)
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.decode_as::<SigningCertificateV2>().ok())
        .and_then(|s| s.certs.first().cloned())
        .is_some_and(|id| {
            let sha256 = id
                .hash_algorithm
                .as_ref()
                .is_none_or(|a| a.oid == ID_SHA256);
            sha256 && id.cert_hash.as_bytes() == &leaf_hash[..]
        });
    let has_signing_time_attribute = find_attr(ID_SIGNING_TIME).is_some();

    let signed = attrs.to_der().map_err(structure)?;
    let signature_valid = match si.signature_algorithm.oid {
        ECDSA_WITH_SHA256 | ID_EC_PUBLIC_KEY => {
            verify_p256(leaf, &signed, si.signature.as_bytes())?
        }
        other => {
            return Err(CmsError::Unsupported(format!(
                "signature algorithm {other}"
            )))
        }
    };
    let mut certificates = vec![leaf_der];
    for c in &certs {
        let d = c.to_der().map_err(structure)?;
        if d != certificates[0] {
            certificates.push(d);
        }
    }
    let timestamp_token = si
        .unsigned_attrs
        .as_ref()
        .and_then(|a| {
            a.iter()
                .find(|a| a.oid == crate::tsp::ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
        })
        .and_then(|a| a.values.iter().next())
        .and_then(|v| v.to_der().ok());
    Ok(CmsCheck {
        message_digest,
        signature_valid,
        signing_certificate_v2,
        has_signing_time_attribute,
        certificates,
        signature_value: si.signature.as_bytes().to_vec(),
        timestamp_token,
    })
}

/// Verifies an ECDSA-with-SHA-256 signature by `cert`'s P-256 key.
pub fn verify_p256(cert: &Certificate, msg: &[u8], sig: &[u8]) -> Result<bool, CmsError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
        return Err(CmsError::Unsupported(format!(
            "key algorithm {}",
            spki.algorithm.oid
        )));
    }
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes())
        .map_err(|_| CmsError::Unsupported("public key is not P-256".into()))?;
    let Ok(sig) = p256::ecdsa::Signature::from_der(sig) else {
        return Ok(false);
    };
    Ok(key.verify(msg, &sig).is_ok())
}

/// The DER TLV at the start of `bytes` (a definite-length SEQUENCE), without padding.
pub(crate) fn der_prefix(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.first() != Some(&0x30) {
        return None;
    }
    let first = *bytes.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let len = bytes
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, b| (a << 8) | usize::from(*b));
        (len, 2 + n)
    };
    bytes.get(..header.checked_add(len)?)
}
