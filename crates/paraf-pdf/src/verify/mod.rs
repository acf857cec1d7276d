//! paraf's own signature verification: ByteRange coverage, message digest, ECDSA
//! signature over the signed attributes, chain to a trusted root, signer identity,
//! signing time, and what later revisions changed (judged by the policy in [`diff`]).

mod diff;

pub use diff::{Change, ChangeKind, Level, Role, Touch};

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

/// What changed after a signature, summed up; [`SignatureReport::changes`] lists each
/// change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modification {
    /// The signature covers the whole file.
    None,
    /// Later revisions only added signatures (with their fields and appearances) and
    /// validation data.
    OnlySignaturesAdded,
    /// As above, and document metadata changed: nothing a reader sees.
    MetadataChanged,
    /// Existing form fields were filled in, as a certification signature permits.
    FormFilled,
    /// Later revisions changed what the document shows or says: not valid.
    ContentChanged,
}

impl Modification {
    /// The stable name used in the API: `none`, `only_signatures_added`,
    /// `metadata_changed`, `form_filled` or `content_changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Modification::None => "none",
            Modification::OnlySignaturesAdded => "only_signatures_added",
            Modification::MetadataChanged => "metadata_changed",
            Modification::FormFilled => "form_filled",
            Modification::ContentChanged => "content_changed",
        }
    }
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
    /// `/Contents` holds the signature and zero padding only (nothing hidden in the
    /// unsigned hole).
    pub contents_clean: bool,
    /// signingCertificateV2 binds the signer's certificate.
    pub signing_certificate_v2: bool,
    /// The chain leads to one of the given trust roots.
    pub trusted: bool,
    /// The signing certificate was valid at `/M`.
    pub certificate_valid_at_signing_time: bool,
    pub modification: Modification,
    /// Every change later revisions made, each judged against this signature's policy.
    pub changes: Vec<Change>,
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
            && self.contents_clean
            && self.trusted
            && self.modification != Modification::ContentChanged
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

/// Verifies every signature in `pdf` against the DER `trust_roots`.
pub fn verify(pdf: &[u8], trust_roots: &[Vec<u8>]) -> Result<Report, VerifyError> {
    let doc = Document::parse(pdf)?;
    let eofs = revision_ends(pdf);
    let roots: Vec<Certificate> = trust_roots
        .iter()
        .filter_map(|d| Certificate::from_der(d).ok())
        .collect();
    let mut checked = Vec::new();
    for field in signature_fields(&doc)? {
        let (report, signed_end) = check_signature(&doc, pdf, &eofs, &roots, trust_roots, &field);
        // The revision this signature covers, as an index into `eofs`.
        let revision = signed_end.and_then(|e| eofs.iter().position(|x| *x == e));
        checked.push((report, revision, field));
    }
    let first = checked.iter().filter_map(|(_, r, _)| *r).min();
    let history = first.map(|f| history(pdf, &eofs, f)).unwrap_or_default();
    let certification = certification(&doc, &checked);
    // A signature added later is allowed only when it verifies: a broken one vouches
    // for nothing its appearance shows.
    let intact: Vec<String> = checked
        .iter()
        .filter(|(r, _, _)| r.byte_range_ok && r.digest_ok && r.signature_ok && r.contents_clean)
        .map(|(_, _, f)| f.name.clone())
        .collect();
    let signatures = checked
        .into_iter()
        .map(|(mut report, revision, field)| {
            let context = Context {
                history: &history,
                certification,
                lock: field.lock.as_ref(),
                intact: &intact,
            };
            judge(&mut report, revision, &context);
            report
        })
        .collect();
    Ok(Report {
        sha256: hex::encode(Sha256::digest(pdf)),
        revisions: eofs.len(),
        signatures,
    })
}

/// The changes each revision made to the one before, by revision index (revision
/// `i + 1` ends at `eofs[i]`), from the revision after `from` on; bytes after the last
/// revision come last, under index `eofs.len()`.
fn history(pdf: &[u8], eofs: &[usize], from: usize) -> Vec<Vec<Change>> {
    let mut out = vec![Vec::new(); eofs.len() + 1];
    let unreadable = |revision: usize, e: &PdfError| Change {
        revision,
        kind: ChangeKind::Unreadable {
            reason: e.to_string(),
        },
        objects: Vec::new(),
        allowed: false,
    };
    let mut prev = diff::State::read(&pdf[..eofs[from]]);
    for (j, end) in eofs.iter().enumerate().skip(from + 1) {
        let cur = diff::State::read(&pdf[..*end]);
        out[j] = match (&prev, &cur) {
            (Ok(a), Ok(b)) => diff::diff(a, b, j + 1),
            (_, Err(e)) | (Err(e), _) => vec![unreadable(j + 1, e)],
        };
        prev = cur;
    }
    let last = eofs.last().copied().unwrap_or(0);
    let tail = &pdf[last..];
    if !tail.iter().all(|c| crate::pdf::is_white(*c)) {
        out[eofs.len()] = vec![Change {
            revision: eofs.len() + 1,
            kind: ChangeKind::DataAfterLastRevision { bytes: tail.len() },
            objects: Vec::new(),
            allowed: false,
        }];
    }
    out
}

/// The DocMDP permission of the document's certification signature (`/Perms
/// /DocMDP`), and the revision it covers: it governs every later revision.
fn certification(
    doc: &Document,
    checked: &[(SignatureReport, Option<usize>, SigField)],
) -> Option<(u8, usize)> {
    let catalog = doc.catalog().ok()?;
    let perms = doc.dict_get(&catalog, b"Perms").ok()??;
    let sig_ref = perms.as_dict()?.get(b"DocMDP".as_slice())?.as_ref()?;
    let (_, revision, field) = checked.iter().find(|(_, _, f)| f.sig_ref == sig_ref)?;
    let Object::Dict(sig) = doc.get(field.sig_ref).ok()? else {
        return None;
    };
    let p = match doc.dict_get(&sig, b"Reference").ok()? {
        Some(Object::Array(refs)) => refs.iter().find_map(|r| {
            let Ok(Object::Dict(r)) = doc.resolve(r) else {
                return None;
            };
            if r.get(b"TransformMethod".as_slice())
                .and_then(Object::as_name)
                != Some(b"DocMDP")
            {
                return None;
            }
            let params = doc.dict_get(&r, b"TransformParams").ok().flatten();
            Some(
                params
                    .as_ref()
                    .and_then(Object::as_dict)
                    .and_then(|p| p.get(b"P".as_slice()))
                    .and_then(Object::as_int)
                    .and_then(|p| u8::try_from(p).ok())
                    .unwrap_or(2),
            )
        }),
        _ => None,
    }?;
    Some((p, (*revision)?))
}

/// What the judgement of one signature's later changes depends on.
struct Context<'a> {
    /// The changes of each revision (see [`history`]).
    history: &'a [Vec<Change>],
    /// DocMDP permission and the revision of the certification signature.
    certification: Option<(u8, usize)>,
    /// The fields this signature locks.
    lock: Option<&'a FieldLock>,
    /// Names of the signature fields whose signature verifies.
    intact: &'a [String],
}

/// Judges the changes after the signature's revision and sums them up.
fn judge(r: &mut SignatureReport, revision: Option<usize>, cx: &Context) {
    let history = cx.history;
    let Some(k) = revision else {
        r.modification = Modification::ContentChanged;
        r.problems
            .push("the signed revision is not a revision of this file".into());
        return;
    };
    let later = history.get(k + 1..).unwrap_or_default();
    if later.iter().all(Vec::is_empty) && k + 1 == history.len().saturating_sub(1) {
        r.modification = Modification::None;
        return;
    }
    let mut level = Level::Signatures;
    for change in later.iter().flatten() {
        let mut change = change.clone();
        if let ChangeKind::SignatureAdded { field } = &change.kind {
            if !cx.intact.contains(field) {
                change.kind = ChangeKind::BrokenSignatureAdded {
                    field: field.clone(),
                };
            }
        }
        // DocMDP governs revisions after the certification signature's own.
        let mdp = cx
            .certification
            .filter(|(_, c)| change.revision > c + 1)
            .map(|(p, _)| p);
        change.allowed = allowed(&change.kind, mdp, cx.lock);
        level = level.max(if change.allowed {
            change.kind.level()
        } else {
            Level::Content
        });
        r.changes.push(change);
    }
    r.modification = match level {
        Level::Signatures => Modification::OnlySignaturesAdded,
        Level::Metadata => Modification::MetadataChanged,
        Level::FormFilling => Modification::FormFilled,
        Level::Content => Modification::ContentChanged,
    };
    let refused = r.changes.iter().filter(|c| !c.allowed).count();
    if refused > 0 {
        r.problems.push(format!(
            "changed after signing: {refused} change(s) the policy does not allow"
        ));
    }
}

/// The policy: signatures and validation data (unless DocMDP P=1 forbids new
/// signatures), metadata always, form filling only where a certification permits it
/// (P=2 or 3) and this signature did not lock the field; content never.
fn allowed(kind: &ChangeKind, mdp: Option<u8>, lock: Option<&FieldLock>) -> bool {
    match kind.level() {
        Level::Signatures => mdp != Some(1) || *kind == ChangeKind::ValidationDataAdded,
        Level::Metadata => true,
        Level::FormFilling => {
            matches!(mdp, Some(2 | 3))
                && match kind {
                    ChangeKind::FormFilled { field } => !lock.is_some_and(|l| l.locks(field)),
                    _ => true,
                }
        }
        Level::Content => false,
    }
}

/// A signature field's `/Lock`: the fields its signature locks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FieldLock {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl FieldLock {
    fn read(doc: &Document, d: &Dict) -> Option<FieldLock> {
        let Ok(Some(Object::Dict(l))) = doc.dict_get(d, b"Lock") else {
            return None;
        };
        let fields = || match doc.dict_get(&l, b"Fields") {
            Ok(Some(Object::Array(a))) => a
                .iter()
                .filter_map(Object::as_str)
                .map(decode_text)
                .collect(),
            _ => Vec::new(),
        };
        match l.get(b"Action".as_slice()).and_then(Object::as_name) {
            Some(b"Include") => Some(FieldLock::Include(fields())),
            Some(b"Exclude") => Some(FieldLock::Exclude(fields())),
            _ => Some(FieldLock::All),
        }
    }

    fn locks(&self, field: &str) -> bool {
        match self {
            FieldLock::All => true,
            FieldLock::Include(f) => f.iter().any(|n| n == field),
            FieldLock::Exclude(f) => !f.iter().any(|n| n == field),
        }
    }
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

/// A signed `/Sig` field.
struct SigField {
    name: String,
    /// Its value: the signature dictionary.
    sig_ref: ObjRef,
    lock: Option<FieldLock>,
}

/// Every signed `/Sig` field, in field order.
fn signature_fields(doc: &Document) -> Result<Vec<SigField>, PdfError> {
    let catalog = doc.catalog()?;
    let Some(Object::Dict(acroform)) = doc.dict_get(&catalog, b"AcroForm")? else {
        return Ok(Vec::new());
    };
    Ok(diff::form_fields(doc, &acroform)
        .into_iter()
        .filter(|(_, f)| f.ft.as_deref() == Some(b"Sig"))
        .filter_map(|(_, f)| {
            let sig_ref = f.dict.get(b"V".as_slice()).and_then(Object::as_ref)?;
            let lock = FieldLock::read(doc, &f.dict);
            Some(SigField {
                name: f.name,
                sig_ref,
                lock,
            })
        })
        .collect())
}

/// Checks one signature; returns its report (without the judgement of later changes)
/// and the end of the revision it covers, when its ByteRange is sound.
fn check_signature(
    doc: &Document,
    pdf: &[u8],
    eofs: &[usize],
    roots: &[Certificate],
    root_ders: &[Vec<u8>],
    field: &SigField,
) -> (SignatureReport, Option<usize>) {
    let sig_ref = field.sig_ref;
    let mut r = SignatureReport {
        field_name: field.name.clone(),
        signer_name: None,
        signer_nip: None,
        signing_time: None,
        sub_filter: String::new(),
        byte_range: Vec::new(),
        byte_range_ok: false,
        digest_ok: false,
        signature_ok: false,
        contents_clean: false,
        signing_certificate_v2: false,
        trusted: false,
        certificate_valid_at_signing_time: false,
        modification: Modification::ContentChanged,
        changes: Vec::new(),
        timestamp: None,
        problems: Vec::new(),
    };
    let Some(XrefEntry::Offset(off, _)) = doc.xref.get(&sig_ref.num).copied() else {
        r.problems
            .push("signature dictionary is not a plain object".into());
        return (r, None);
    };
    let sig = match doc.get(sig_ref) {
        Ok(Object::Dict(d)) => d,
        _ => {
            r.problems.push("signature dictionary unreadable".into());
            return (r, None);
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

    // The hole holds the DER signature and zero padding: anything else there is data
    // that no signature covers.
    r.contents_clean =
        cms::der_prefix(contents).is_some_and(|der| contents[der.len()..].iter().all(|b| *b == 0));
    if !r.contents_clean {
        r.problems
            .push("/Contents holds data besides the signature".into());
    }
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

    (r, signed_end)
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
    fn the_policy_allows_signatures_and_metadata_and_form_filling_only_where_certified() {
        let sig = ChangeKind::SignatureAdded { field: "A".into() };
        let dss = ChangeKind::ValidationDataAdded;
        let meta = ChangeKind::MetadataChanged {
            part: "Info".into(),
        };
        let fill = ChangeKind::FormFilled {
            field: "jumlah".into(),
        };
        let annot = ChangeKind::AnnotationAdded {
            page: 1,
            subtype: "FreeText".into(),
        };
        // An approval signature only: signatures, validation data, metadata.
        for (kind, ok) in [
            (&sig, true),
            (&dss, true),
            (&meta, true),
            (&fill, false),
            (&annot, false),
        ] {
            assert_eq!(allowed(kind, None, None), ok, "{kind:?}");
        }
        // Certified with P=1: no new signatures, validation data still.
        assert!(!allowed(&sig, Some(1), None));
        assert!(allowed(&dss, Some(1), None));
        assert!(!allowed(&fill, Some(1), None));
        // P=2 and P=3: form filling, unless this signature locked the field; never
        // annotations.
        assert!(allowed(&fill, Some(2), None));
        assert!(allowed(&fill, Some(3), None));
        assert!(!allowed(&annot, Some(3), None));
        assert!(!allowed(&fill, Some(2), Some(&FieldLock::All)));
        assert!(!allowed(
            &fill,
            Some(2),
            Some(&FieldLock::Include(vec!["jumlah".into()]))
        ));
        assert!(allowed(
            &fill,
            Some(2),
            Some(&FieldLock::Include(vec!["lain".into()]))
        ));
        assert!(allowed(
            &fill,
            Some(2),
            Some(&FieldLock::Exclude(vec!["jumlah".into()]))
        ));
        assert!(!allowed(
            &fill,
            Some(2),
            Some(&FieldLock::Exclude(vec!["lain".into()]))
        ));
    }

    #[test]
    fn pdf_dates_with_wib_offset_are_read() {
        let t = parse_pdf_date(b"D:20261128140500+07'00'").unwrap();
        assert_eq!(t, time::macros::datetime!(2026-11-28 07:05 UTC));
    }
}
