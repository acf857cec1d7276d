//! paraf's own signature verification: ByteRange coverage, message digest, ECDSA
//! signature over the signed attributes, chain to a trusted root, signer identity,
//! signing time, and what later revisions changed.

use std::collections::HashSet;

use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::cms::{self, ECDSA_WITH_SHA256};
use crate::pdf::{find, Dict, Document, ObjRef, Object, PdfError, XrefEntry};

/// Why a file could not be verified at all (a bad signature is a report, not an error).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

/// What changed after a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modification {
    /// The signature covers the whole file.
    None,
    /// Later revisions only added signatures, form fields or annotations.
    OnlySignaturesAdded,
    /// Later revisions changed content; the strings say which objects and how.
    ContentChanged(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureReport {
    /// The field's `/T`.
    pub field_name: String,
    /// Subject CN of the signing certificate.
    pub signer_name: Option<String>,
    /// Subject serialNumber (the NIP).
    pub signer_nip: Option<String>,
    /// `/M`, the claimed signing time.
    pub signing_time: Option<OffsetDateTime>,
    pub sub_filter: String,
    pub byte_range: Vec<u64>,
    /// The ByteRange starts at 0, leaves out exactly the `/Contents` string and ends at
    /// the end of a revision.
    pub byte_range_ok: bool,
    /// Digest of the ByteRange equals the CMS messageDigest.
    pub digest_ok: bool,
    /// The ECDSA signature over the signed attributes verifies with the signer's key.
    pub signature_ok: bool,
    /// signingCertificateV2 binds the signer's certificate.
    pub signing_certificate_v2: bool,
    /// The chain leads to one of the given trust roots.
    pub trusted: bool,
    /// The signing certificate was valid at `/M`.
    pub certificate_valid_at_signing_time: bool,
    pub modification: Modification,
    /// The RFC 3161 signature time-stamp, when the signature carries one (PAdES B-T).
    pub timestamp: Option<TimestampReport>,
    /// Human-readable reasons for every failed check.
    pub problems: Vec<String>,
}

/// A signature time-stamp: when a time-stamping authority saw the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampReport {
    /// The TSA's `genTime`: the signature existed at this time (unlike `/M`, which is
    /// only claimed by the signer).
    pub time: OffsetDateTime,
    /// Subject CN of the TSA's certificate.
    pub tsa_name: Option<String>,
    /// The token stamps this signature's value (SHA-256 imprint).
    pub imprint_ok: bool,
    /// The TSA's signature over the token verifies.
    pub signature_ok: bool,
    /// The TSA's certificate allows time-stamping and chains to one of the trust roots.
    pub trusted: bool,
}

impl TimestampReport {
    /// Intact, for this signature, and from a trusted TSA.
    pub fn is_valid(&self) -> bool {
        self.imprint_ok && self.signature_ok && self.trusted
    }
}

impl SignatureReport {
    /// Intact, trusted, nothing but signatures added after it, and its time-stamp (if
    /// it has one) intact and trusted too.
    pub fn is_valid(&self) -> bool {
        self.byte_range_ok
            && self.digest_ok
            && self.signature_ok
            && self.trusted
            && !matches!(self.modification, Modification::ContentChanged(_))
            && self
                .timestamp
                .as_ref()
                .is_none_or(TimestampReport::is_valid)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// SHA-256 of the whole file, hex.
    pub sha256: String,
    /// Number of revisions (`%%EOF` markers).
    pub revisions: usize,
    /// In field order.
    pub signatures: Vec<SignatureReport>,
}

impl Report {
    /// At least one signature, and every signature valid.
    pub fn all_valid(&self) -> bool {
        !self.signatures.is_empty() && self.signatures.iter().all(SignatureReport::is_valid)
    }
}

const MAX_FIELDS: usize = 10_000;

/// Verifies every signature in `pdf` against the DER `trust_roots`.
pub fn verify(pdf: &[u8], trust_roots: &[Vec<u8>]) -> Result<Report, VerifyError> {
    let doc = Document::parse(pdf)?;
    let eofs = revision_ends(pdf);
    let roots: Vec<Certificate> = trust_roots
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let mut signatures = Vec::new();
    for (name, sig_ref) in signature_fields(&doc)? {
        signatures.push(check_signature(
            &doc,
            pdf,
            &eofs,
            &roots,
            trust_roots,
            name,
            sig_ref,
        ));
    }
    Ok(Report {
        sha256: hex::encode(Sha256::digest(pdf)),
        revisions: eofs.len(),
        signatures,
    })
}

/// Ends of revisions: after each `%%EOF` that closes a `startxref` section, and its
/// end-of-line. A bare `%%EOF` elsewhere (inside a font's ToUnicode CMap, which ends
/// with `%%EndResource` / `%%EOF`) is not a revision end.
fn revision_ends(pdf: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut from = 0;
    while let Some(i) = find(&pdf[from..], b"%%EOF") {
        let at = from + i;
        if !closes_startxref(&pdf[..at]) {
            from = at + 5;
            continue;
        }
        let mut end = at + 5;
        if pdf.get(end) == Some(&b'\r') {
            end += 1;
        }
        if pdf.get(end) == Some(&b'\n') {
            end += 1;
        }
        ends.push(end);
        from = end;
    }
    ends
}

/// Whether `before` ends with `startxref`, an offset and whitespace (ISO 32000-1 7.5.5).
fn closes_startxref(before: &[u8]) -> bool {
    let trimmed = before.trim_ascii_end();
    let digits = trimmed
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return false;
    }
    trimmed[..trimmed.len() - digits]
        .trim_ascii_end()
        .ends_with(b"startxref")
}

/// (field name, reference to its signature dictionary) for every signed `/Sig` field.
fn signature_fields(doc: &Document) -> Result<Vec<(String, ObjRef)>, PdfError> {
    let catalog = doc.catalog()?;
    let Some(Object::Dict(acroform)) = doc.dict_get(&catalog, b"AcroForm")? else {
        return Ok(Vec::new());
    };
    let Some(Object::Array(fields)) = doc.dict_get(&acroform, b"Fields")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    // (field, inherited FT, parent name, depth)
    let mut stack: Vec<(Object, Option<Vec<u8>>, String, usize)> = fields
        .into_iter()
        .rev()
        .map(|f| (f, None, String::new(), 0))
        .collect();
    while let Some((f, ft, parent, depth)) = stack.pop() {
        if depth > 32 || seen.len() > MAX_FIELDS {
            break;
        }
        if let Object::Ref(r) = f {
            if !seen.insert(r) {
                continue;
            }
        }
        let Ok(Object::Dict(d)) = doc.resolve(&f) else {
            continue;
        };
        let ft = d
            .get(b"FT".as_slice())
            .and_then(Object::as_name)
            .map(<[u8]>::to_vec)
            .or(ft);
        let own = d
            .get(b"T".as_slice())
            .and_then(Object::as_str)
            .map(decode_text)
            .unwrap_or_default();
        let full = match (parent.is_empty(), own.is_empty()) {
            (true, _) => own,
            (false, true) => parent.clone(),
            (false, false) => format!("{parent}.{own}"),
        };
        if ft.as_deref() == Some(b"Sig") {
            if let Some(v) = d.get(b"V".as_slice()).and_then(Object::as_ref) {
                out.push((full.clone(), v));
            }
        }
        if let Some(Object::Array(kids)) = doc.dict_get(&d, b"Kids").ok().flatten() {
            for k in kids.into_iter().rev() {
                stack.push((k, ft.clone(), full.clone(), depth + 1));
            }
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn check_signature(
    doc: &Document,
    pdf: &[u8],
    eofs: &[usize],
    roots: &[Certificate],
    root_ders: &[Vec<u8>],
    field_name: String,
    sig_ref: ObjRef,
) -> SignatureReport {
    let mut r = SignatureReport {
        field_name,
        signer_name: None,
        signer_nip: None,
        signing_time: None,
        sub_filter: String::new(),
        byte_range: Vec::new(),
        byte_range_ok: false,
        digest_ok: false,
        signature_ok: false,
        signing_certificate_v2: false,
        trusted: false,
        certificate_valid_at_signing_time: false,
        modification: Modification::ContentChanged(vec!["not checked".into()]),
        timestamp: None,
        problems: Vec::new(),
    };
    let Some(XrefEntry::Offset(off, _)) = doc.xref.get(&sig_ref.num).copied() else {
        r.problems
            .push("signature dictionary is not a plain object".into());
        return r;
    };
    let sig = match doc.get(sig_ref) {
        Ok(Object::Dict(d)) => d,
        _ => {
            r.problems.push("signature dictionary unreadable".into());
            return r;
        }
    };
    r.sub_filter = sig
        .get(b"SubFilter".as_slice())
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    r.signing_time = sig
        .get(b"M".as_slice())
        .and_then(Object::as_str)
        .and_then(parse_pdf_date);
    let contents = sig
        .get(b"Contents".as_slice())
        .and_then(Object::as_str)
        .unwrap_or_default();
    r.byte_range = sig
        .get(b"ByteRange".as_slice())
        .and_then(Object::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| o.as_int().and_then(|i| u64::try_from(i).ok()))
                .collect()
        })
        .unwrap_or_default();

    // ByteRange: [0, hole start, hole end, rest], the hole exactly /Contents.
    let span = doc.value_span(off, b"Contents").ok().flatten();
    let mut signed_end = None;
    if let ([0, a, b, c], Some((cs, ce))) = (r.byte_range.as_slice(), span) {
        let (a, b, c) = (*a as usize, *b as usize, *c as usize);
        let end = b.checked_add(c);
        if a == cs && b == ce && end.is_some_and(|e| e <= pdf.len() && eofs.contains(&e)) {
            r.byte_range_ok = true;
            signed_end = end;
        }
    }
    if !r.byte_range_ok {
        r.problems
            .push("ByteRange does not cover the revision except the /Contents string".into());
    }
    let digest: Option<[u8; 32]> = match r.byte_range.as_slice() {
        [0, a, b, c] => {
            let (a, b, c) = (*a as usize, *b as usize, *c as usize);
            match (pdf.get(..a), b.checked_add(c).and_then(|e| pdf.get(b..e))) {
                (Some(x), Some(y)) => {
                    let mut h = Sha256::new();
                    h.update(x);
                    h.update(y);
                    Some(h.finalize().into())
                }
                _ => None,
            }
        }
        _ => None,
    };

    match cms::check(contents) {
        Err(e) => r.problems.push(format!("CMS: {e}")),
        Ok(c) => {
            r.digest_ok = digest.is_some_and(|d| d.as_slice() == c.message_digest.as_slice());
            if !r.digest_ok {
                r.problems
                    .push("digest mismatch: the signed bytes were changed".into());
            }
            r.signature_ok = c.signature_valid;
            if !r.signature_ok {
                r.problems.push("the CMS signature does not verify".into());
            }
            r.signing_certificate_v2 = c.signing_certificate_v2;
            if let Some(leaf) = c
                .certificates
                .first()
                .and_then(|d| Certificate::from_der(d).ok())
            {
                let subject = &leaf.tbs_certificate.subject;
                r.signer_name = attr(subject, der::oid::db::rfc4519::CN);
                r.signer_nip = attr(subject, der::oid::db::rfc4519::SERIAL_NUMBER);
                r.trusted = chains_to_root(&leaf, &c.certificates, roots, root_ders);
                if !r.trusted {
                    r.problems
                        .push("the certificate does not chain to a trusted root".into());
                }
                let v = &leaf.tbs_certificate.validity;
                if let Some(token) = &c.timestamp_token {
                    r.timestamp = check_timestamp(
                        token,
                        &c.signature_value,
                        roots,
                        root_ders,
                        &mut r.problems,
                    );
                }
                r.certificate_valid_at_signing_time = r.signing_time.is_some_and(|t| {
                    let t = t.unix_timestamp();
                    let nb = v.not_before.to_unix_duration().as_secs() as i64;
                    let na = v.not_after.to_unix_duration().as_secs() as i64;
                    nb <= t && t <= na
                });
            }
        }
    }

    r.modification = match signed_end {
        None => Modification::ContentChanged(vec!["signed revision unknown".into()]),
        Some(e) if pdf[e..].iter().all(|c| crate::pdf::is_white(*c)) => Modification::None,
        Some(e) => match changes_after(doc, pdf, e) {
            Ok(changes) if changes.is_empty() => Modification::OnlySignaturesAdded,
            Ok(changes) => Modification::ContentChanged(changes),
            Err(err) => Modification::ContentChanged(vec![format!("cannot compare: {err}")]),
        },
    };
    if let Modification::ContentChanged(why) = &r.modification {
        r.problems
            .push(format!("content changed after signing: {}", why.join("; ")));
    }
    r
}

/// The objects later revisions changed in ways other than adding signatures, fields
/// and annotations. New objects are harmless by themselves: they matter only when a
/// changed object refers to them, and that change is what we judge.
fn changes_after(doc: &Document, pdf: &[u8], end: usize) -> Result<Vec<String>, PdfError> {
    let old = Document::parse(&pdf[..end])?;
    let old_acroform = old
        .catalog()?
        .get(b"AcroForm".as_slice())
        .and_then(Object::as_ref);
    let mut changes = Vec::new();
    let mut nums: Vec<_> = doc.xref.keys().copied().collect();
    nums.sort_unstable();
    for num in nums {
        let new_entry = doc.xref.get(&num).copied();
        let old_entry = old.xref.get(&num).copied();
        if new_entry == old_entry {
            continue;
        }
        let Some(old_entry) = old_entry.filter(|e| *e != XrefEntry::Free) else {
            continue; // a new object
        };
        let gen = match old_entry {
            XrefEntry::Offset(_, g) => g,
            _ => 0,
        };
        let r = ObjRef { num, gen };
        let (before, after) = (old.get(r)?, doc.get(r)?);
        if before == after {
            continue;
        }
        if !allowed_change(&before, &after, Some(r) == old_acroform) {
            changes.push(format!("object {num} changed"));
        }
    }
    Ok(changes)
}

fn without(d: &Dict, keys: &[&[u8]]) -> Dict {
    let mut d = d.clone();
    for k in keys {
        d.remove(*k);
    }
    d
}

fn allowed_change(before: &Object, after: &Object, is_acroform: bool) -> bool {
    match (before, after) {
        // /Annots or /Fields arrays: only additions.
        (Object::Array(a), Object::Array(b)) => a.iter().all(|o| b.contains(o)),
        (Object::Dict(a), Object::Dict(b)) => {
            let ty = a.get(b"Type".as_slice()).and_then(Object::as_name);
            if is_acroform {
                return without(a, &[b"Fields", b"SigFlags", b"DR"])
                    == without(b, &[b"Fields", b"SigFlags", b"DR"]);
            }
            match ty {
                Some(b"Catalog") => {
                    without(a, &[b"AcroForm", b"DSS", b"Perms"])
                        == without(b, &[b"AcroForm", b"DSS", b"Perms"])
                }
                Some(b"Page") => without(a, &[b"Annots"]) == without(b, &[b"Annots"]),
                _ => {
                    // An empty signature field being signed.
                    let sig_field = a.get(b"FT".as_slice()).and_then(Object::as_name)
                        == Some(b"Sig")
                        && !a.contains_key(b"V".as_slice());
                    sig_field
                        && without(a, &[b"V", b"AP", b"F"]) == without(b, &[b"V", b"AP", b"F"])
                }
            }
        }
        // Cross-reference and object streams are containers, judged by what they hold.
        (_, Object::Stream(d, _))
            if matches!(
                d.get(b"Type".as_slice()).and_then(Object::as_name),
                Some(b"XRef" | b"ObjStm")
            ) =>
        {
            true
        }
        _ => false,
    }
}

/// Checks a signature time-stamp token over `signature_value`; problems go to `problems`.
fn check_timestamp(
    token: &[u8],
    signature_value: &[u8],
    roots: &[Certificate],
    root_ders: &[Vec<u8>],
    problems: &mut Vec<String>,
) -> Option<TimestampReport> {
    let imprint: [u8; 32] = Sha256::digest(signature_value).into();
    let check = match crate::tsp::check_token(token, &imprint) {
        Ok(c) => c,
        Err(e) => {
            problems.push(format!("time-stamp unreadable: {e}"));
            return None;
        }
    };
    let leaf = check
        .certificates
        .first()
        .and_then(|d| Certificate::from_der(d).ok());
    let trusted = check.time_stamping_usage
        && leaf
            .as_ref()
            .is_some_and(|l| chains_to_root(l, &check.certificates, roots, root_ders));
    let report = TimestampReport {
        time: check.time,
        tsa_name: leaf
            .as_ref()
            .and_then(|l| attr(&l.tbs_certificate.subject, der::oid::db::rfc4519::CN)),
        imprint_ok: check.imprint_ok,
        signature_ok: check.signature_ok,
        trusted,
    };
    if !report.imprint_ok {
        problems.push("the time-stamp is for another signature".into());
    }
    if !report.signature_ok {
        problems.push("the time-stamp's signature does not verify".into());
    }
    if !check.time_stamping_usage {
        problems.push("the time-stamp's certificate is not for time-stamping".into());
    } else if !trusted {
        problems.push("the time-stamp's certificate does not chain to a trusted root".into());
    }
    Some(report)
}

/// Walks issuer links (signatures checked) from `leaf` to a trusted root.
fn chains_to_root(
    leaf: &Certificate,
    embedded: &[Vec<u8>],
    roots: &[Certificate],
    root_ders: &[Vec<u8>],
) -> bool {
    let pool: Vec<Certificate> = embedded
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let mut cur = leaf.clone();
    for _ in 0..8 {
        if let Ok(d) = cur.to_der() {
            if root_ders.contains(&d) {
                return true;
            }
        }
        if roots.iter().any(|root| issued_by(&cur, root)) {
            return true;
        }
        match pool.iter().find(|c| {
            c.tbs_certificate.subject != cur.tbs_certificate.subject && issued_by(&cur, c)
        }) {
            Some(next) => cur = next.clone(),
            None => return false,
        }
    }
    false
}

fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject
        || cert.signature_algorithm.oid != ECDSA_WITH_SHA256
    {
        return false;
    }
    let (Ok(tbs), Some(sig)) = (cert.tbs_certificate.to_der(), cert.signature.as_bytes()) else {
        return false;
    };
    cms::verify_p256(issuer, &tbs, sig).unwrap_or(false)
}

fn attr(name: &x509_cert::name::Name, oid: der::asn1::ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| {
            std::str::from_utf8(atv.value.value())
                .ok()
                .map(str::to_owned)
        })
}

/// A PDF text string: UTF-16BE with BOM, else PDFDocEncoding (read as Latin-1).
fn decode_text(s: &[u8]) -> String {
    if let Some(rest) = s.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    s.iter().map(|b| char::from(*b)).collect()
}

/// `D:YYYYMMDDHHmmSS+HH'mm'` (later parts optional).
pub(crate) fn parse_pdf_date(s: &[u8]) -> Option<OffsetDateTime> {
    let s = std::str::from_utf8(s).ok()?;
    let s = s.strip_prefix("D:").unwrap_or(s);
    let num = |r: std::ops::Range<usize>, default: u32| -> Option<u32> {
        match s.get(r) {
            Some(p) if p.bytes().all(|c| c.is_ascii_digit()) && !p.is_empty() => p.parse().ok(),
            _ => Some(default),
        }
    };
    let year = i32::try_from(num(0..4, 0)?).ok()?;
    if s.len() < 4 {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(num(4..6, 1)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(year, month, u8::try_from(num(6..8, 1)?).ok()?).ok()?;
    let t = time::Time::from_hms(
        u8::try_from(num(8..10, 0)?).ok()?,
        u8::try_from(num(10..12, 0)?).ok()?,
        u8::try_from(num(12..14, 0)?).ok()?,
    )
    .ok()?;
    let offset = match s.as_bytes().get(14) {
        Some(sign @ (b'+' | b'-')) => {
            let h = num(15..17, 0)? as i8;
            let m = num(18..20, 0)? as i8;
            let (h, m) = if *sign == b'-' { (-h, -m) } else { (h, m) };
            time::UtcOffset::from_hms(h, m, 0).ok()?
        }
        _ => time::UtcOffset::UTC,
    };
    Some(time::PrimitiveDateTime::new(date, t).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_with_wib_offset_are_read() {
        let t = parse_pdf_date(b"D:20261128140500+07'00'").unwrap();
        assert_eq!(t, time::macros::datetime!(2026-11-28 07:05 UTC));
    }
}
