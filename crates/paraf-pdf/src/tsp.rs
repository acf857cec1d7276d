//! RFC 3161 time-stamps for signatures (PAdES baseline B-T): the request a time-stamping
//! authority (TSA) answers, the checks on its response, and the check of a token found
//! in a signature. No I/O: the caller sends [`TimestampRequest::to_der`] to its TSA
//! (HTTP `POST`, `Content-Type: application/timestamp-query`) and hands the body of the
//! answer to [`TimestampRequest::token_from_response`].
//!
//! The token goes into the CMS SignerInfo as the unsigned attribute
//! `id-aa-signatureTimeStampToken` (1.2.840.113549.1.9.16.2.14); its message imprint is
//! the SHA-256 of the signature value, so it proves the signature existed at its time.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{Any, GeneralizedTime, Int, ObjectIdentifier, OctetString, Uint};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::Extension;
use x509_cert::Certificate;

use crate::cms::{
    verify_p256, CmsError, ECDSA_WITH_SHA256, ID_CONTENT_TYPE, ID_EC_PUBLIC_KEY, ID_MESSAGE_DIGEST,
    ID_SHA256, ID_SIGNED_DATA,
};

/// `id-aa-signatureTimeStampToken`, the unsigned attribute that carries the token.
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// `id-ct-TSTInfo`, the content type of a time-stamp token.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-kp-timeStamping`, the extended key usage a TSA certificate must carry.
pub const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// The HTTP `Content-Type` of a request to a TSA (RFC 3161 section 3.4).
pub const QUERY_CONTENT_TYPE: &str = "application/timestamp-query";
/// The HTTP `Content-Type` of a TSA's answer.
pub const REPLY_CONTENT_TYPE: &str = "application/timestamp-reply";

/// Why a time-stamp could not be obtained or read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TspError {
    #[error("the time-stamping authority could not be reached: {0}")]
    Transport(String),
    #[error("the time-stamping authority refused: status {status}{text}")]
    Refused { status: u8, text: String },
    #[error("the time-stamping authority's answer is malformed: {0}")]
    Malformed(String),
    #[error("the time-stamp answers another request: {0}")]
    Mismatch(&'static str),
    #[error("unsupported in a time-stamp: {0}")]
    Unsupported(String),
}

fn malformed(e: impl std::fmt::Display) -> TspError {
    TspError::Malformed(e.to_string())
}

/// RFC 3161 `MessageImprint`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

fn default_false() -> bool {
    false
}

/// RFC 3161 `TimeStampReq` (no policy, no extensions).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    nonce: Option<Uint>,
    #[asn1(default = "default_false")]
    cert_req: bool,
}

/// RFC 3161 `PKIStatusInfo`; the free text and failure bits are only reported.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct PkiStatusInfo {
    status: u8,
    #[asn1(optional = "true")]
    status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<der::asn1::BitString>,
}

/// RFC 3161 `Accuracy`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct Accuracy {
    #[asn1(optional = "true")]
    seconds: Option<u32>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    micros: Option<u16>,
}

/// RFC 3161 `TSTInfo`. `genTime` stays raw: TSAs may add fractions of a second, which
/// `der`'s `GeneralizedTime` refuses.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TstInfo {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: Any,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(default = "default_false")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Uint>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<Vec<Extension>>,
}

/// A request for a time-stamp over some data's SHA-256, with a nonce and a request for
/// the TSA's certificate (so the token carries it and validators need nothing else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampRequest {
    imprint: [u8; 32],
    nonce: u64,
    der: Vec<u8>,
}

impl TimestampRequest {
    /// A request to time-stamp `data` (for a signature: the signature value).
    pub fn new(data: &[u8], nonce: u64) -> Result<TimestampRequest, TspError> {
        TimestampRequest::for_imprint(Sha256::digest(data).into(), nonce)
    }

    /// A request for an already computed SHA-256 imprint.
    pub fn for_imprint(imprint: [u8; 32], nonce: u64) -> Result<TimestampRequest, TspError> {
        let req = TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: sha256_alg(),
                hashed_message: OctetString::new(imprint.to_vec()).map_err(malformed)?,
            },
            req_policy: None,
            nonce: Some(Uint::new(&nonce.to_be_bytes()).map_err(malformed)?),
            cert_req: true,
        };
        Ok(TimestampRequest {
            imprint,
            nonce,
            der: req.to_der().map_err(malformed)?,
        })
    }

    /// The DER `TimeStampReq`: the body of the HTTP `POST` to the TSA.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The SHA-256 the TSA is asked to stamp.
    pub fn imprint(&self) -> [u8; 32] {
        self.imprint
    }

    /// Reads the TSA's DER `TimeStampResp`: checks the status is granted, that the
    /// token's nonce and imprint are this request's and that the TSA's signature over
    /// it verifies; returns the DER `TimeStampToken` to embed.
    pub fn token_from_response(&self, response: &[u8]) -> Result<Vec<u8>, TspError> {
        let mut reader = der::SliceReader::new(response).map_err(malformed)?;
        let (status, token) = der::Reader::sequence(&mut reader, |r| {
            let status = PkiStatusInfo::decode(r)?;
            let token = if der::Reader::is_finished(r) {
                None
            } else {
                Some(Any::decode(r)?)
            };
            Ok((status, token))
        })
        .map_err(malformed)?;
        // 0 granted, 1 grantedWithMods; anything else is a refusal.
        if status.status > 1 {
            let text = status
                .status_string
                .unwrap_or_default()
                .iter()
                .map(|s| format!(": {s}"))
                .collect::<String>();
            return Err(TspError::Refused {
                status: status.status,
                text,
            });
        }
        let token = token
            .ok_or_else(|| TspError::Malformed("granted without a token".into()))?
            .to_der()
            .map_err(malformed)?;
        let check = check_token(&token, &self.imprint)?;
        if !check.imprint_ok {
            return Err(TspError::Mismatch("message imprint"));
        }
        if check.nonce != Some(self.nonce) {
            return Err(TspError::Mismatch("nonce"));
        }
        if !check.signature_ok {
            return Err(TspError::Malformed(
                "the TSA's signature over the token does not verify".into(),
            ));
        }
        Ok(token)
    }
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    }
}

/// What a time-stamp token says, checked cryptographically (trust is the caller's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCheck {
    /// `genTime`: when the TSA saw the imprint.
    pub time: OffsetDateTime,
    /// The token stamps the expected imprint (SHA-256).
    pub imprint_ok: bool,
    /// The TSA's signature over the token verifies and covers the TSTInfo.
    pub signature_ok: bool,
    /// The signing certificate allows time-stamping (extended key usage).
    pub time_stamping_usage: bool,
    /// The nonce, when it fits in 64 bits.
    pub nonce: Option<u64>,
    /// The TSA's certificate first, then the other embedded certificates (DER).
    pub certificates: Vec<Vec<u8>>,
}

/// Checks a DER `TimeStampToken` against the SHA-256 `imprint` it should stamp.
pub fn check_token(token: &[u8], imprint: &[u8; 32]) -> Result<TokenCheck, TspError> {
    let ci = ContentInfo::from_der(token).map_err(malformed)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(TspError::Malformed("token is not SignedData".into()));
    }
    let sd: SignedData = ci.content.decode_as().map_err(malformed)?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(TspError::Malformed("token does not hold a TSTInfo".into()));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| TspError::Malformed("token without TSTInfo".into()))?;
    let tst_der = econtent
        .decode_as::<OctetString>()
        .map_err(malformed)?
        .into_bytes();
    let tst = TstInfo::from_der(&tst_der).map_err(malformed)?;
    let time = generalized_time(&tst.gen_time)?;
    let imprint_ok = tst.message_imprint.hash_algorithm.oid == ID_SHA256
        && tst.message_imprint.hashed_message.as_bytes() == imprint.as_slice();
    let nonce = tst.nonce.as_ref().and_then(|n| {
        let bytes = n.as_bytes();
        let bytes = &bytes[bytes.iter().take_while(|b| **b == 0).count()..];
        (bytes.len() <= 8).then(|| bytes.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)))
    });

    let si = match sd.signer_infos.0.as_slice() {
        [si] => si,
        _ => {
            return Err(TspError::Malformed(
                "expected exactly one SignerInfo".into(),
            ))
        }
    };
    let certs: Vec<Certificate> = sd
        .certificates
        .as_ref()
        .map(|cs| {
            cs.0.iter()
                .filter_map(|c| match c {
                    cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let leaf = certs
        .iter()
        .find(|c| match &si.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                c.tbs_certificate.issuer == ias.issuer
                    && c.tbs_certificate.serial_number == ias.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => subject_key_id(c).as_ref() == Some(ski),
        })
        .ok_or_else(|| TspError::Malformed("the TSA's certificate is not in the token".into()))?;

    let signature_ok = match &si.signed_attrs {
        // RFC 3161 requires signed attributes (ESSCertID among them).
        None => false,
        Some(attrs) => {
            let find = |oid: ObjectIdentifier| {
                attrs
                    .iter()
                    .find(|a| a.oid == oid)
                    .and_then(|a| a.values.iter().next())
            };
            let digest_ok = si.digest_alg.oid == ID_SHA256
                && find(ID_MESSAGE_DIGEST)
                    .and_then(|v| v.decode_as::<OctetString>().ok())
                    .is_some_and(|d| d.as_bytes() == Sha256::digest(&tst_der).as_slice());
            let type_ok = find(ID_CONTENT_TYPE)
                .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
                == Some(ID_CT_TST_INFO);
            let signed = attrs.to_der().map_err(malformed)?;
            let verified = match si.signature_algorithm.oid {
                ECDSA_WITH_SHA256 | ID_EC_PUBLIC_KEY => {
                    verify_p256(leaf, &signed, si.signature.as_bytes()).map_err(|e| match e {
                        CmsError::Unsupported(u) => TspError::Unsupported(u),
                        other => malformed(other),
                    })?
                }
                other => {
                    return Err(TspError::Unsupported(format!(
                        "TSA signature algorithm {other}"
                    )))
                }
            };
            digest_ok && type_ok && verified
        }
    };

    let time_stamping_usage = leaf
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|e| e.extn_id == der::oid::db::rfc5280::ID_CE_EXT_KEY_USAGE)
        .filter_map(|e| {
            x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes()).ok()
        })
        .any(|eku| eku.0.contains(&ID_KP_TIME_STAMPING));

    let mut certificates = vec![leaf.to_der().map_err(malformed)?];
    for c in &certs {
        let d = c.to_der().map_err(malformed)?;
        if !certificates.contains(&d) {
            certificates.push(d);
        }
    }
    Ok(TokenCheck {
        time,
        imprint_ok,
        signature_ok,
        time_stamping_usage,
        nonce,
        certificates,
    })
}

fn subject_key_id(cert: &Certificate) -> Option<x509_cert::ext::pkix::SubjectKeyIdentifier> {
    cert.tbs_certificate
        .extensions
        .as_deref()?
        .iter()
        .find(|e| e.extn_id == der::oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER)
        .and_then(|e| {
            x509_cert::ext::pkix::SubjectKeyIdentifier::from_der(e.extn_value.as_bytes()).ok()
        })
}

/// `YYYYMMDDHHMMSS[.fff]Z`, the fraction dropped (the report keeps whole seconds).
fn generalized_time(any: &Any) -> Result<OffsetDateTime, TspError> {
    if any.tag() != Tag::GeneralizedTime {
        return Err(TspError::Malformed(
            "genTime is not a GeneralizedTime".into(),
        ));
    }
    let s = any.value();
    let whole = s.get(..14).ok_or_else(|| malformed("genTime too short"))?;
    let rest = &s[14..];
    let fraction_ok = match rest.split_last() {
        Some((b'Z', frac)) => {
            frac.is_empty()
                || (frac.first() == Some(&b'.') && frac[1..].iter().all(u8::is_ascii_digit))
        }
        _ => false,
    };
    if !fraction_ok {
        return Err(malformed("genTime is not in UTC"));
    }
    let mut der = vec![0x18, 15];
    der.extend_from_slice(whole);
    der.push(b'Z');
    let t = GeneralizedTime::from_der(&der).map_err(malformed)?;
    OffsetDateTime::from_unix_timestamp(
        i64::try_from(t.to_unix_duration().as_secs()).map_err(malformed)?,
    )
    .map_err(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_through_der_with_its_nonce_and_imprint() {
        let req = TimestampRequest::new(b"signature", 0x8000_0000_0000_0001).unwrap();
        let back = TimeStampReq::from_der(req.to_der()).unwrap();
        assert_eq!(back.version, 1);
        assert!(back.cert_req);
        assert_eq!(
            back.message_imprint.hashed_message.as_bytes(),
            Sha256::digest(b"signature").as_slice()
        );
        assert_eq!(
            back.nonce.unwrap().as_bytes(),
            &0x8000_0000_0000_0001u64.to_be_bytes()
        );
    }

    #[test]
    fn a_refusal_is_reported_with_its_status_and_text() {
        // TimeStampResp { status { rejection(2), "bad alg" } }
        let resp = [
            0x30, 0x0e, 0x30, 0x0c, 0x02, 0x01, 0x02, 0x30, 0x07, 0x0c, 0x05, b'b', b'a', b'd',
            b'!', b'!',
        ];
        let req = TimestampRequest::new(b"x", 1).unwrap();
        assert_eq!(
            req.token_from_response(&resp),
            Err(TspError::Refused {
                status: 2,
                text: ": bad!!".into()
            })
        );
    }

    #[test]
    fn generalized_times_with_fractions_are_read() {
        let any = Any::from_der(b"\x18\x1320261128070500.123Z").unwrap();
        assert_eq!(
            generalized_time(&any).unwrap(),
            time::macros::datetime!(2026-11-28 07:05 UTC)
        );
    }

    #[test]
    fn junk_is_a_malformed_answer_not_a_panic() {
        let req = TimestampRequest::new(b"x", 1).unwrap();
        for junk in [&b""[..], b"\x30", b"\x30\x03\x02\x01\x00", b"<html>"] {
            assert!(req.token_from_response(junk).is_err());
        }
    }
}
