//! Signing by incremental update: the original bytes are kept as they are and a new
//! revision is appended with the signature field, its widget, the `/Sig` dictionary,
//! the rewritten page/AcroForm objects and a cross-reference section of the same kind
//! as the original's last one. Earlier signatures stay valid because nothing before the
//! end of the original file changes.

use std::ops::Range;

use paraf_core::{Signer, SignerError};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::cms::{self, CmsError, PreparedAttributes};
use crate::incremental::Update;
use crate::pdf::{write_object, Dict, Document, ObjRef, Object, PdfError};
use crate::stamp::{self, Stamp};
use crate::tsp::{TimestampRequest, TspError};

/// Bytes reserved for the CMS by default: a P-256 signature with a two-certificate
/// chain is about 1.5 KB; the rest leaves room for longer chains.
pub const DEFAULT_CONTENTS_SIZE: usize = 16 * 1024;

/// Bytes reserved by [`sign_with_timestamp`] when the options keep the default: a
/// time-stamp token brings the TSA's own certificate chain (2–6 KB with RSA chains).
pub const TIMESTAMPED_CONTENTS_SIZE: usize = 32 * 1024;

/// A rectangle in page coordinates (points, origin bottom left).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

/// Where the signature shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// No visible widget (`/Rect [0 0 0 0]`): a reviewer's paraf.
    Invisible,
    /// A stamp on the page, in `rect`.
    Visible { rect: Rect, stamp: Stamp },
}

/// How to sign.
#[derive(Debug, Clone, PartialEq)]
pub struct SignOptions {
    /// The signature field's name (`/T`); default "Signature1", "Signature2", ….
    pub field_name: Option<String>,
    /// Zero-based index of the page that carries the widget.
    pub page: usize,
    pub placement: Placement,
    /// The claimed signing time, written to `/M` (PAdES puts it there, not in the CMS).
    pub signing_time: OffsetDateTime,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// Bytes reserved for the CMS signature.
    pub contents_size: usize,
}

impl SignOptions {
    /// An invisible signature on the first page, signed now, default reservation.
    pub fn invisible(signing_time: OffsetDateTime) -> SignOptions {
        SignOptions {
            field_name: None,
            page: 0,
            placement: Placement::Invisible,
            signing_time,
            reason: None,
            location: None,
            contents_size: DEFAULT_CONTENTS_SIZE,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Pdf(#[from] PdfError),
    #[error("signature: {0}")]
    Cms(#[from] CmsError),
    #[error("signer: {0}")]
    Signer(#[from] SignerError),
    #[error("page {page} does not exist (the document has {count} pages)")]
    PageOutOfRange { page: usize, count: usize },
    #[error("a field named `{0}` already exists")]
    FieldExists(String),
    #[error("the signature needs {needed} bytes but only {reserved} were reserved")]
    ContentsTooSmall { needed: usize, reserved: usize },
    #[error("invalid signing options: {0}")]
    Options(String),
    #[error("time-stamp: {0}")]
    Timestamp(#[from] TspError),
}

/// A PDF with its signature revision appended and a hole for the CMS: hand
/// [`Self::digest_to_sign`] to the signer, then [`Self::finish`] with its signature.
pub struct PreparedSignature {
    bytes: Vec<u8>,
    /// The `<…>` hex string including its delimiters.
    hole: Range<usize>,
    attrs: PreparedAttributes,
    chain: Vec<Vec<u8>>,
}

impl PreparedSignature {
    /// The SHA-256 digest the signer's key must sign (of the CMS signed attributes).
    pub fn digest_to_sign(&self) -> [u8; 32] {
        self.attrs.digest()
    }

    /// Puts the CMS with `signature` (DER ECDSA) into the hole: the signed PDF.
    pub fn finish(self, signature: &[u8]) -> Result<Vec<u8>, SignError> {
        self.finish_with_timestamp(signature, None)
    }

    /// Like [`finish`](Self::finish), with an RFC 3161 time-stamp token (DER
    /// `TimeStampToken`) over the signature value, for PAdES B-T: ask the TSA with
    /// [`timestamp_request`] for `signature`, check its answer with
    /// [`TimestampRequest::token_from_response`], then hand the token here.
    pub fn finish_with_timestamp(
        self,
        signature: &[u8],
        timestamp_token: Option<&[u8]>,
    ) -> Result<Vec<u8>, SignError> {
        let PreparedSignature {
            mut bytes,
            hole,
            attrs,
            chain,
        } = self;
        let der = cms::signed_data_with_timestamp(attrs, &chain, signature, timestamp_token)?;
        let hexed = hex::encode_upper(der);
        let room = hole.len() - 2;
        if hexed.len() > room {
            return Err(SignError::ContentsTooSmall {
                needed: hexed.len() / 2,
                reserved: room / 2,
            });
        }
        bytes[hole.start + 1..hole.start + 1 + hexed.len()].copy_from_slice(hexed.as_bytes());
        Ok(bytes)
    }
}

/// The time-stamp request for a signature value (DER ECDSA): its SHA-256, a fresh
/// random nonce, and a request for the TSA's certificate.
pub fn timestamp_request(signature: &[u8]) -> Result<TimestampRequest, SignError> {
    Ok(TimestampRequest::new(signature, rand::random())?)
}

/// Signs `pdf` with the signer's key `key_id`: one more incremental revision.
pub async fn sign(
    pdf: &[u8],
    signer: &dyn Signer,
    key_id: &str,
    options: &SignOptions,
) -> Result<Vec<u8>, SignError> {
    let chain = signer.chain(key_id).await?.chain;
    let prepared = prepare(pdf, &chain, options)?;
    let signature = signer
        .sign_digest(key_id, &prepared.digest_to_sign())
        .await?;
    prepared.finish(&signature)
}

/// Signs like [`sign`] and adds an RFC 3161 signature time-stamp (PAdES B-T).
///
/// `tsa` is the caller's HTTP client bound to its TSA URL: it gets the DER
/// `TimeStampReq` and must `POST` it with `Content-Type: application/timestamp-query`
/// ([`crate::tsp::QUERY_CONTENT_TYPE`]) and return the response body. paraf-pdf does
/// no I/O itself; the answer's status, nonce, imprint and TSA signature are checked
/// here. With the default reservation, [`TIMESTAMPED_CONTENTS_SIZE`] bytes are reserved.
pub async fn sign_with_timestamp<F, Fut, E>(
    pdf: &[u8],
    signer: &dyn Signer,
    key_id: &str,
    options: &SignOptions,
    tsa: F,
) -> Result<Vec<u8>, SignError>
where
    F: FnOnce(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, E>>,
    E: std::fmt::Display,
{
    let chain = signer.chain(key_id).await?.chain;
    let prepared = if options.contents_size == DEFAULT_CONTENTS_SIZE {
        let options = SignOptions {
            contents_size: TIMESTAMPED_CONTENTS_SIZE,
            ..options.clone()
        };
        prepare(pdf, &chain, &options)?
    } else {
        prepare(pdf, &chain, options)?
    };
    let signature = signer
        .sign_digest(key_id, &prepared.digest_to_sign())
        .await?;
    let request = timestamp_request(&signature)?;
    let response = tsa(request.to_der().to_vec())
        .await
        .map_err(|e| TspError::Transport(e.to_string()))?;
    let token = request.token_from_response(&response)?;
    prepared.finish_with_timestamp(&signature, Some(&token))
}

/// Appends the signature revision for the certificate `chain` (DER, leaf first) and
/// computes what must be signed. No key needed: see [`PreparedSignature`].
pub fn prepare(
    pdf: &[u8],
    chain: &[Vec<u8>],
    options: &SignOptions,
) -> Result<PreparedSignature, SignError> {
    if !(64..=1024 * 1024).contains(&options.contents_size) {
        return Err(SignError::Options(
            "contents_size must be between 64 bytes and 1 MiB".into(),
        ));
    }
    let doc = Document::parse(pdf)?;
    let pages = doc.pages()?;
    let page_ref = *pages.get(options.page).ok_or(SignError::PageOutOfRange {
        page: options.page,
        count: pages.len(),
    })?;
    let catalog = doc.catalog()?;
    let root_ref = doc.root_ref()?;
    // New object numbers start at /Size (bounded by `Update::new`).
    let mut w = Update::new(&doc)?;

    // AcroForm: existing fields, to pick a unique name.
    let acroform_ref = catalog.get(b"AcroForm".as_slice()).and_then(Object::as_ref);
    let mut acroform = match doc.dict_get(&catalog, b"AcroForm")? {
        Some(Object::Dict(d)) => d,
        _ => Dict::new(),
    };
    let fields_obj = acroform.get(b"Fields".as_slice()).cloned();
    let fields_ref = fields_obj.as_ref().and_then(Object::as_ref);
    let mut fields: Vec<Object> = match &fields_obj {
        Some(o) => match doc.resolve(o)? {
            Object::Array(a) => a,
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    let mut names = Vec::new();
    for f in fields.iter().take(10_000) {
        if let Ok(Object::Dict(d)) = doc.resolve(f) {
            if let Some(Object::Str(t)) = d.get(b"T".as_slice()) {
                names.push(t.clone());
            }
        }
    }
    let field_name = match &options.field_name {
        Some(n) if names.iter().any(|t| t == n.as_bytes()) => {
            return Err(SignError::FieldExists(n.clone()))
        }
        Some(n) => n.clone(),
        None => (1..)
            .map(|i| format!("Signature{i}"))
            .find(|n| !names.iter().any(|t| t == n.as_bytes()))
            .unwrap_or_else(|| "Signature".into()),
    };

    let sig_ref = w.alloc();
    let widget_ref = w.alloc();

    // The /Sig dictionary, written by hand to know where ByteRange and the hole are.
    w.begin(sig_ref);
    let mut head = b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M".to_vec();
    write_object(
        &mut head,
        &Object::Str(pdf_date(options.signing_time).into_bytes()),
    );
    if let Some(r) = &options.reason {
        head.extend_from_slice(b"/Reason");
        write_object(&mut head, &Object::Str(text_string(r)));
    }
    if let Some(l) = &options.location {
        head.extend_from_slice(b"/Location");
        write_object(&mut head, &Object::Str(text_string(l)));
    }
    if let Placement::Visible { stamp, .. } = &options.placement {
        head.extend_from_slice(b"/Name");
        write_object(&mut head, &Object::Str(text_string(&stamp.name)));
    }
    head.extend_from_slice(b"/ByteRange");
    w.out.extend_from_slice(&head);
    let byte_range_at = w.out.len();
    w.out.extend_from_slice(BYTE_RANGE_PLACEHOLDER);
    w.out.extend_from_slice(b"/Contents");
    let hole_start = w.out.len();
    w.out.push(b'<');
    w.out
        .extend(std::iter::repeat_n(b'0', options.contents_size * 2));
    w.out.push(b'>');
    let hole = hole_start..w.out.len();
    w.out.extend_from_slice(b">>");
    w.end();

    // The widget, merged with its field.
    let mut widget = Dict::new();
    widget.insert(b"Type".to_vec(), name("Annot"));
    widget.insert(b"Subtype".to_vec(), name("Widget"));
    widget.insert(b"FT".to_vec(), name("Sig"));
    widget.insert(b"T".to_vec(), Object::Str(text_string(&field_name)));
    widget.insert(b"V".to_vec(), Object::Ref(sig_ref));
    widget.insert(b"P".to_vec(), Object::Ref(page_ref));
    // Print + Locked: the stamp prints and cannot be moved.
    widget.insert(b"F".to_vec(), Object::Int(132));
    match &options.placement {
        Placement::Invisible => {
            widget.insert(
                b"Rect".to_vec(),
                rect_obj(&Rect {
                    x1: 0.0,
                    y1: 0.0,
                    x2: 0.0,
                    y2: 0.0,
                }),
            );
        }
        Placement::Visible { rect, stamp } => {
            let (width, height) = ((rect.x2 - rect.x1).abs(), (rect.y2 - rect.y1).abs());
            if !(width.is_finite() && height.is_finite() && width >= 1.0 && height >= 1.0) {
                return Err(SignError::Options("the stamp rectangle is empty".into()));
            }
            let ap_ref = w.alloc();
            let look = stamp::appearance(stamp, options.signing_time, width, height)
                .map_err(|e| SignError::Options(e.to_string()))?;
            let (regular_ref, bold_ref) = (w.alloc(), w.alloc());
            // The fonts' other objects take numbers after everything else in this
            // revision; `Writer::next` follows them.
            let mut next = pdf_writer::Ref::new(pdf_ref_num(w.next_number())?);
            let mut objects = look
                .regular
                .write_objects(
                    pdf_writer::Ref::new(pdf_ref_num(regular_ref.num)?),
                    &mut next,
                )
                .map_err(|e| SignError::Options(e.to_string()))?;
            objects.extend(
                look.bold
                    .write_objects(pdf_writer::Ref::new(pdf_ref_num(bold_ref.num)?), &mut next)
                    .map_err(|e| SignError::Options(e.to_string()))?,
            );
            w.reserve_until(
                u32::try_from(next.get())
                    .map_err(|_| PdfError::TooComplex("object numbers".into()))?,
            );
            for (r, chunk) in &objects {
                let num = u32::try_from(r.get())
                    .map_err(|_| PdfError::TooComplex("object numbers".into()))?;
                w.write_chunk(ObjRef { num, gen: 0 }, chunk.as_bytes());
            }
            // Level 1: a few KB of rectangles and text, deflated for every visible signature;
            // level 6 took ≈ 40 % longer, and the signed file is < 1 % smaller with it.
            let content = miniz_oxide::deflate::compress_to_vec_zlib(&look.content, 1);
            w.begin(ap_ref);
            w.out.extend_from_slice(
                format!(
                    "<</Type/XObject/Subtype/Form/BBox[0 0 {} {}]/Resources<</Font<</F1 {} 0 R/F2 {} 0 R>>/ProcSet[/PDF/Text]>>/Filter/FlateDecode/Length {}>>\nstream\n",
                    stamp::n(width),
                    stamp::n(height),
                    regular_ref.num,
                    bold_ref.num,
                    content.len()
                )
                .as_bytes(),
            );
            w.out.extend_from_slice(&content);
            w.out.extend_from_slice(b"\nendstream");
            w.end();
            widget.insert(b"Rect".to_vec(), rect_obj(rect));
            let mut ap = Dict::new();
            ap.insert(b"N".to_vec(), Object::Ref(ap_ref));
            widget.insert(b"AP".to_vec(), Object::Dict(ap));
        }
    }
    w.write(widget_ref, &Object::Dict(widget));

    // The page's /Annots gets the widget: rewrite the array object if it is indirect,
    // else the page itself.
    let page = match doc.get(page_ref)? {
        Object::Dict(d) => d,
        _ => return Err(PdfError::Malformed("page is not a dictionary".into()).into()),
    };
    match page.get(b"Annots".as_slice()) {
        Some(Object::Ref(r)) => {
            let mut annots = match doc.get(*r)? {
                Object::Array(a) => a,
                _ => Vec::new(),
            };
            annots.push(Object::Ref(widget_ref));
            w.write(*r, &Object::Array(annots));
        }
        other => {
            let mut annots = match other {
                Some(Object::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            annots.push(Object::Ref(widget_ref));
            let mut page = page.clone();
            page.insert(b"Annots".to_vec(), Object::Array(annots));
            w.write(page_ref, &Object::Dict(page));
        }
    }

    // The AcroForm gets the field and SigFlags 3 (SignaturesExist | AppendOnly).
    fields.push(Object::Ref(widget_ref));
    if let Some(r) = fields_ref {
        w.write(r, &Object::Array(fields));
    } else {
        acroform.insert(b"Fields".to_vec(), Object::Array(fields));
    }
    acroform.insert(b"SigFlags".to_vec(), Object::Int(3));
    match acroform_ref {
        Some(r) => w.write(r, &Object::Dict(acroform)),
        None => {
            let r = w.alloc();
            w.write(r, &Object::Dict(acroform));
            let mut catalog = catalog.clone();
            catalog.insert(b"AcroForm".to_vec(), Object::Ref(r));
            w.write(root_ref, &Object::Dict(catalog));
        }
    }

    // Trailer: /ID keeps the original's first part; the second changes per revision.
    let trailer = w.trailer(&doc);
    w.finish_xref(doc.last_xref_kind, trailer)?;

    // ByteRange: everything except the hole, up to the end of this revision.
    let len = w.out.len();
    let br = format!("[0 {} {} {}]", hole.start, hole.end, len - hole.end);
    if br.len() > BYTE_RANGE_PLACEHOLDER.len() {
        return Err(PdfError::TooComplex("file too large for the ByteRange".into()).into());
    }
    let mut padded = br.into_bytes();
    padded.resize(BYTE_RANGE_PLACEHOLDER.len(), b' ');
    w.out[byte_range_at..byte_range_at + padded.len()].copy_from_slice(&padded);

    let mut h = Sha256::new();
    h.update(&w.out[..hole.start]);
    h.update(&w.out[hole.end..]);
    let content_digest: [u8; 32] = h.finalize().into();
    let attrs = cms::signed_attributes(&content_digest, chain)?;
    Ok(PreparedSignature {
        bytes: w.out,
        hole,
        attrs,
        chain: chain.to_vec(),
    })
}

/// pdf-writer numbers objects with `i32`; ours are below 8 000 000 plus a few.
fn pdf_ref_num(num: u32) -> Result<i32, SignError> {
    i32::try_from(num).map_err(|_| PdfError::TooComplex("object numbers".into()).into())
}

/// Wide enough for four 10-digit numbers; the real values are padded with spaces.
const BYTE_RANGE_PLACEHOLDER: &[u8] = b"[0 0000000000 0000000000 0000000000]";

fn name(s: &str) -> Object {
    Object::Name(s.as_bytes().to_vec())
}

fn rect_obj(r: &Rect) -> Object {
    Object::Array(
        [r.x1, r.y1, r.x2, r.y2]
            .iter()
            .map(|v| Object::Real(f64::from(*v)))
            .collect(),
    )
}

/// A PDF text string: PDFDocEncoding when ASCII, else UTF-16BE with a BOM.
pub(crate) fn text_string(s: &str) -> Vec<u8> {
    if s.is_ascii() {
        return s.as_bytes().to_vec();
    }
    let mut out = vec![0xfe, 0xff];
    for u in s.encode_utf16() {
        out.extend_from_slice(&u.to_be_bytes());
    }
    out
}

/// `D:YYYYMMDDHHmmSS+07'00'`, in WIB.
pub(crate) fn pdf_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(stamp::wib());
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+07'00'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
