//! The sign task: render → sign (each reviewer's paraf as an invisible signature, then the
//! final signature visibly in the layout's signature slot) → archive. Also the signing of
//! a PDF made elsewhere (uploaded) by the signed-in user.
//!
//! The document id is derived from the workflow's idempotency key (the execution id), so
//! a retried task finds the document it already archived instead of archiving a second
//! copy: rendering stamps the current time, so a re-run would not produce the same bytes.
//!
//! Signing keys are per employee (`emp-<employee id>`), created on first use with the
//! employee's name, NIP and jabatan in the certificate.
//!
//! With a configured TSA ([`SignContext::tsa`]) every signature is time-stamped (PAdES
//! B-T); the TSA's time then differs between a run and its retry, but a retry finds the
//! archived document first and does not sign again.

use std::sync::Arc;

use paraf_core::archive::{Archive, ArchivedDocument, NewArchive, Signatory};
use paraf_core::{Clock, Employee, Org, ServiceError, Signer, SignerError, SubjectName};
use paraf_pdf::pdf::{Document, ObjRef, Object, PdfError};
use paraf_pdf::render::{layouts, Letterhead};
use paraf_pdf::{Placement, Rect, SignError, SignOptions, Stamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Error name for invalid input (no retry helps): the ASL's `Catch` may name it.
pub use paraf_core::signing::ERROR_SIGN_INVALID as ERROR_INVALID;
/// Error name for a failure worth retrying (signer, store or TSA unavailable): the ASL's
/// `Retry` names it.
pub use paraf_core::signing::ERROR_SIGN_UNAVAILABLE as ERROR_UNAVAILABLE;

/// Largest PDF accepted for signing or verifying.
pub const MAX_PDF_BYTES: usize = 20 * 1024 * 1024;

/// What the task needs from the outside world.
#[derive(Clone)]
pub struct SignContext {
    pub org: Org,
    pub archive: Archive,
    pub signer: Arc<dyn Signer>,
    pub clock: Arc<dyn Clock>,
    /// e.g. `https://paraf.kpu-jabar.go.id`; QR codes point at `{base}/v/{id}`.
    pub public_base_url: String,
    pub letterhead: Letterhead,
    /// A configured time-stamping authority: when set, every signature made with this
    /// context carries its RFC 3161 signature time-stamp (PAdES B-T), and a TSA that
    /// fails fails the signing — never a signature without the promised time-stamp.
    pub tsa: Option<TsaClient>,
}

/// How long a TSA may take to connect, and to answer in full.
pub const TSA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An RFC 3161 time-stamping authority reached over HTTP(S) POST
/// (`application/timestamp-query`).
#[derive(Clone)]
pub struct TsaClient {
    url: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for TsaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsaClient").field("url", &self.url).finish()
    }
}

impl TsaClient {
    /// A client for the TSA at `url` (http or https), with [`TSA_TIMEOUT`].
    pub fn new(url: &str) -> Result<TsaClient, String> {
        let parsed = reqwest::Url::parse(url.trim()).map_err(|e| format!("`{url}`: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(format!("`{url}`: give an http:// or https:// URL"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(TSA_TIMEOUT)
            .timeout(TSA_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(TsaClient {
            url: parsed.to_string(),
            http,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// POSTs a DER time-stamp query; the answer's body, unchecked (paraf-pdf checks it).
    pub async fn post(&self, query: Vec<u8>) -> Result<Vec<u8>, String> {
        let failed = |e: reqwest::Error| {
            // reqwest's own message hides the cause ("error sending request"): add the chain.
            let mut text = format!("TSA {}: {e}", self.url);
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        };
        let answer = self
            .http
            .post(&self.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                paraf_pdf::tsp::QUERY_CONTENT_TYPE,
            )
            .body(query)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(failed)?;
        Ok(answer.bytes().await.map_err(failed)?.to_vec())
    }
}

/// Signs with the context's TSA when one is configured, plainly otherwise.
pub(crate) async fn sign_pdf(
    ctx: &SignContext,
    pdf: &[u8],
    key_id: &str,
    options: &SignOptions,
) -> Result<Vec<u8>, SignError> {
    match &ctx.tsa {
        None => paraf_pdf::sign(pdf, ctx.signer.as_ref(), key_id, options).await,
        Some(tsa) => {
            paraf_pdf::sign_with_timestamp(pdf, ctx.signer.as_ref(), key_id, options, |query| {
                tsa.post(query)
            })
            .await
        }
    }
}

impl SignContext {
    /// The public verification page of a document (the QR code's target).
    pub fn verification_url(&self, document_id: &str) -> String {
        format!(
            "{}/v/{document_id}",
            self.public_base_url.trim_end_matches('/')
        )
    }
}

/// The document to produce.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentSpec {
    /// Archive type: `spt`, `sppd`, `kuitansi`, `disposisi`, …
    #[serde(alias = "type")]
    pub doc_type: String,
    /// Layout name in `templates/pdf` (default: `doc_type`).
    #[serde(default)]
    pub layout: Option<String>,
    /// The layout's data.
    #[serde(default)]
    pub data: Value,
    /// Classification code, e.g. `KU.03`.
    pub classification: String,
    /// Official number, e.g. `123/PL.01-SD/32/2026`.
    #[serde(default)]
    pub number: Option<String>,
    pub title: String,
    #[serde(default)]
    pub parties: Vec<String>,
    /// Which signature slot of the layout carries the final signature (default: the first).
    #[serde(default)]
    pub slot_role: Option<String>,
}

/// How a step signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A reviewer's initials: an invisible signature.
    Paraf,
    /// The final, visible signature.
    Sign,
}

/// One official of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStep {
    /// Employee id, NIP or email.
    #[serde(alias = "assignee")]
    pub employee: String,
    /// Default: `paraf` for every step but the last, `sign` for the last.
    #[serde(default)]
    pub kind: Option<StepKind>,
}

/// The task's input, as the approval workflow sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignTaskInput {
    /// Stable across retries: the workflow execution id.
    #[serde(alias = "executionId")]
    pub idempotency_key: String,
    #[serde(alias = "request")]
    pub document: DocumentSpec,
    /// Reviewers in order, the final signer last.
    pub chain: Vec<ChainStep>,
    /// Employee id of whoever asked for the document.
    pub requester: String,
    /// When the signing step began (the workflow passes `$$.State.EnteredTime`). Used as
    /// the render and signing time, so that a run repeated after a crash produces the very
    /// same bytes (ECDSA nonces are deterministic, RFC 6979) and archives nothing twice.
    #[serde(default, alias = "signedAt", with = "time::serde::rfc3339::option")]
    pub signed_at: Option<time::OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignTaskOutput {
    pub document_id: String,
    pub sha256: String,
    pub number: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SignTaskError {
    #[error("invalid sign request: {0}")]
    Invalid(String),
    #[error("unknown layout `{0}`")]
    UnknownLayout(String),
    #[error("unknown or inactive employee `{0}`")]
    UnknownEmployee(String),
    #[error("rendering failed: {0}")]
    Render(#[from] paraf_pdf::render::RenderError),
    #[error(transparent)]
    Pdf(#[from] PdfError),
    #[error("signing failed: {0}")]
    Sign(SignError),
    #[error("signer: {0}")]
    Signer(#[from] SignerError),
    #[error("{0}")]
    Service(#[from] ServiceError),
}

impl From<SignError> for SignTaskError {
    fn from(e: SignError) -> Self {
        match e {
            // A PDF the user gave us that cannot be read is bad input, not a signing failure.
            SignError::Pdf(p) => SignTaskError::Pdf(p),
            SignError::Signer(s) => SignTaskError::Signer(s),
            other => SignTaskError::Sign(other),
        }
    }
}

impl SignTaskError {
    /// The error name to report to the workflow engine (`ErrorEquals` in the ASL).
    pub fn error_name(&self) -> &'static str {
        match self {
            SignTaskError::Signer(SignerError::Unavailable(_))
            | SignTaskError::Sign(SignError::Timestamp(paraf_pdf::tsp::TspError::Transport(_)))
            | SignTaskError::Service(ServiceError::Internal(_) | ServiceError::Stale) => {
                ERROR_UNAVAILABLE
            }
            _ => ERROR_INVALID,
        }
    }

    /// Why signing failed, for the people who see a failed sign step (the cause itself
    /// goes to the log).
    pub fn reason(&self) -> paraf_core::Text {
        use paraf_core::text;
        use paraf_pdf::tsp::TspError;
        match self {
            SignTaskError::Signer(SignerError::Unavailable(_)) => text!(
                "layanan kunci tanda tangan tidak dapat dihubungi",
                "the signing key service could not be reached"
            ),
            SignTaskError::Signer(_) => text!(
                "kunci tanda tangan seorang penanda tangan tidak dapat dipakai",
                "a signer's signing key could not be used"
            ),
            SignTaskError::Sign(SignError::Timestamp(TspError::Transport(_))) => text!(
                "penyedia cap waktu (TSA) tidak dapat dihubungi",
                "the time-stamping authority (TSA) could not be reached"
            ),
            SignTaskError::Sign(SignError::Timestamp(_)) => text!(
                "penyedia cap waktu (TSA) memberi jawaban yang tidak dapat dipakai",
                "the time-stamping authority (TSA) gave an answer that cannot be used"
            ),
            SignTaskError::UnknownEmployee(_) => text!(
                "seorang penanda tangan tidak ditemukan atau tidak aktif; periksa data pegawai",
                "a signer is unknown or inactive; check the employee records"
            ),
            SignTaskError::Service(ServiceError::Conflict { field, .. }) if field == "number" => {
                text!(
                    "nomor dokumen sudah dipakai dokumen lain di arsip",
                    "the document number is already used by another archived document"
                )
            }
            SignTaskError::Service(ServiceError::Internal(_) | ServiceError::Stale) => text!(
                "penyimpanan arsip tidak tersedia",
                "the archive store is unavailable"
            ),
            SignTaskError::Render(_) | SignTaskError::UnknownLayout(_) => text!(
                "dokumen tidak dapat disusun dari data pengajuan",
                "the documents cannot be laid out from the order's data"
            ),
            _ => paraf_core::signing::reason_for(self.error_name()),
        }
    }

    /// True when the input (PDF, fields) is at fault: the HTTP layer answers 4xx.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            SignTaskError::Invalid(_)
                | SignTaskError::Pdf(_)
                | SignTaskError::UnknownLayout(_)
                | SignTaskError::Sign(SignError::PageOutOfRange { .. })
        )
    }
}

/// The document id for an idempotency key: 32 hex characters.
pub fn document_id_for(idempotency_key: &str) -> String {
    let digest = Sha256::digest(format!("paraf-document:{idempotency_key}").as_bytes());
    hex::encode(&digest[..16])
}

/// The signing key of an employee.
pub fn key_id_for(employee: &Employee) -> String {
    format!("emp-{}", employee.id)
}

/// Makes sure the employee has a signing key (created on first use) and returns its id.
pub async fn ensure_key(signer: &dyn Signer, employee: &Employee) -> Result<String, SignerError> {
    let key_id = key_id_for(employee);
    match signer.chain(&key_id).await {
        Ok(_) => return Ok(key_id),
        Err(SignerError::UnknownKey(_)) => {}
        Err(e) => return Err(e),
    }
    let subject = SubjectName {
        common_name: employee.name.chars().take(64).collect(),
        serial_number: Some(employee.nip.to_string()),
        // X.520 caps organizationalUnitName at 64 characters; long jabatan (e.g. "Kepala
        // Bagian Teknis Penyelenggaraan Pemilu dan …") are cut rather than refused.
        organizational_unit: Some(employee.jabatan.chars().take(64).collect()),
        email: Some(employee.email.to_string()),
    };
    match signer.create_key(&key_id, &subject).await {
        // Someone created it between our two calls: theirs is as good as ours.
        Ok(_) | Err(SignerError::KeyExists(_)) => Ok(key_id),
        Err(e) => Err(e),
    }
}

async fn employee(org: &Org, who: &str) -> Result<Employee, SignTaskError> {
    match org.find_employee(who.trim()).await? {
        Some(e) if e.active => Ok(e),
        _ => Err(SignTaskError::UnknownEmployee(who.to_string())),
    }
}

pub(crate) fn stamp(emp: &Employee, url: String) -> Stamp {
    Stamp {
        name: emp.name.clone(),
        nip: Some(emp.nip.to_string()),
        jabatan: Some(emp.jabatan.clone()),
        verification_url: url,
    }
}

fn signatory(emp: &Employee, at: OffsetDateTime) -> Signatory {
    Signatory {
        name: emp.name.clone(),
        nip: emp.nip.to_string(),
        jabatan: emp.jabatan.clone(),
        signed_at: at,
    }
}

fn output(doc: &ArchivedDocument) -> SignTaskOutput {
    SignTaskOutput {
        document_id: doc.id.clone(),
        sha256: doc.sha256.clone(),
        number: doc.number.clone(),
    }
}

/// Runs the sign task. A retry with the same idempotency key returns the document
/// archived by the first successful run.
pub async fn run(ctx: &SignContext, input: SignTaskInput) -> Result<SignTaskOutput, SignTaskError> {
    if input.idempotency_key.trim().is_empty() {
        return Err(SignTaskError::Invalid("idempotency_key is empty".into()));
    }
    if input.chain.is_empty() {
        return Err(SignTaskError::Invalid(
            "the chain has no signer; at least the final signer is needed".into(),
        ));
    }
    let id = document_id_for(&input.idempotency_key);
    match ctx.archive.get(&id).await {
        Ok(done) => return Ok(output(&done)),
        Err(ServiceError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let spec = &input.document;
    let layout_name = spec.layout.as_deref().unwrap_or(&spec.doc_type);
    let layout = layouts::by_name(layout_name)
        .ok_or_else(|| SignTaskError::UnknownLayout(layout_name.to_string()))?;

    // Resolve everyone before rendering: an unknown signer must not cost a render.
    let mut steps = Vec::with_capacity(input.chain.len());
    let last = input.chain.len() - 1;
    for (i, step) in input.chain.iter().enumerate() {
        let emp = employee(&ctx.org, &step.employee).await?;
        let kind = step.kind.unwrap_or(if i == last {
            StepKind::Sign
        } else {
            StepKind::Paraf
        });
        steps.push((emp, kind));
    }
    let signed_at = input.signed_at.unwrap_or_else(|| ctx.clock.now());
    let rendered = paraf_pdf::render::render_at(layout, &spec.data, &ctx.letterhead, signed_at)?;
    let slot = match &spec.slot_role {
        Some(role) => rendered
            .signature_slots
            .iter()
            .find(|s| &s.role == role)
            .ok_or_else(|| {
                SignTaskError::Invalid(format!("layout `{layout_name}` has no slot `{role}`"))
            })?,
        None => rendered.signature_slots.first().ok_or_else(|| {
            SignTaskError::Invalid(format!("layout `{layout_name}` has no signature slot"))
        })?,
    };

    let url = ctx.verification_url(&id);
    let mut pdf = rendered.pdf.clone();
    let mut signers = Vec::with_capacity(steps.len());
    for (i, (emp, kind)) in steps.iter().enumerate() {
        let key_id = ensure_key(ctx.signer.as_ref(), emp).await?;
        let now = signed_at;
        let mut options = SignOptions::invisible(now);
        options.field_name = Some(format!("{}{}", field_prefix(*kind), i + 1));
        options.location = Some("Bandung".into());
        options.reason = Some(match kind {
            StepKind::Paraf => "Paraf".into(),
            StepKind::Sign => "Ditandatangani".into(),
        });
        if *kind == StepKind::Sign {
            let [x1, y1, x2, y2] = slot.rect;
            options.page = slot.page;
            options.placement = Placement::Visible {
                rect: Rect { x1, y1, x2, y2 },
                stamp: stamp(emp, url.clone()),
            };
        }
        pdf = sign_pdf(ctx, &pdf, &key_id, &options).await?;
        signers.push(signatory(emp, now));
    }

    let stored = ctx
        .archive
        .store(
            NewArchive {
                id,
                doc_type: spec.doc_type.clone(),
                number: spec.number.clone(),
                series: None,
                title: spec.title.clone(),
                classification: spec.classification.clone(),
                parties: spec.parties.clone(),
                signers,
                created_by: input.requester.clone(),
            },
            pdf,
        )
        .await?;
    tracing::info!(document = %stored.id, sha256 = %stored.sha256, "document signed and archived");
    Ok(output(&stored))
}

fn field_prefix(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Paraf => "Paraf",
        StepKind::Sign => "TTE",
    }
}

/// Where the uploader's signature goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    Invisible,
    BottomRight,
    BottomLeft,
    TopRight,
    TopLeft,
}

impl Position {
    pub fn parse(s: &str) -> Option<Position> {
        Some(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "invisible" | "tak-terlihat" | "" => Position::Invisible,
                "bottom-right" | "kanan-bawah" => Position::BottomRight,
                "bottom-left" | "kiri-bawah" => Position::BottomLeft,
                "top-right" | "kanan-atas" => Position::TopRight,
                "top-left" | "kiri-atas" => Position::TopLeft,
                _ => return None,
            },
        )
    }
}

/// A PDF made elsewhere, to be signed by `signer` (employee id, NIP or email) and archived.
#[derive(Debug, Clone)]
pub struct UploadSign {
    pub pdf: Vec<u8>,
    pub signer: String,
    /// Zero-based page index for a visible signature.
    pub page: usize,
    pub position: Position,
    pub title: String,
    pub doc_type: String,
    pub classification: String,
    pub number: Option<String>,
    pub parties: Vec<String>,
    /// Employee id recorded as the archiver.
    pub created_by: String,
}

/// The stamp's size in points.
const STAMP_W: f32 = 250.0;
const STAMP_H: f32 = 80.0;
const MARGIN: f32 = 36.0;

/// Checks that `pdf` is a readable, unencrypted PDF with a sound page tree; returns the
/// number of pages. Cheap compared with signing; catches loops and truncation.
pub fn check_pdf(pdf: &[u8]) -> Result<usize, PdfError> {
    inspect_pdf(pdf, 0).map(|(pages, _)| pages)
}

/// [`check_pdf`] and the size of page `page` (its MediaBox; A4 when absent, unreadable or
/// too small for the stamp), from one parse.
fn inspect_pdf(pdf: &[u8], page: usize) -> Result<(usize, (f32, f32)), PdfError> {
    if pdf.len() > MAX_PDF_BYTES {
        return Err(PdfError::TooComplex(format!(
            "larger than {} MB",
            MAX_PDF_BYTES / 1024 / 1024
        )));
    }
    let doc = Document::parse(pdf)?;
    let pages = doc.pages()?;
    if pages.is_empty() {
        return Err(PdfError::Malformed("the document has no pages".into()));
    }
    Ok((pages.len(), page_size(&doc, &pages, page)))
}

/// The page's width and height (its MediaBox, A4 when absent or unreadable).
fn page_size(doc: &Document, pages: &[ObjRef], page: usize) -> (f32, f32) {
    let a4 = (595.0, 842.0);
    let Some(r) = pages.get(page) else {
        return a4;
    };
    let Ok(Object::Dict(d)) = doc.get(*r) else {
        return a4;
    };
    let Ok(Some(Object::Array(b))) = doc.dict_get(&d, b"MediaBox") else {
        return a4;
    };
    let n: Vec<f32> = b
        .iter()
        .filter_map(|o| match doc.resolve(o) {
            Ok(Object::Int(i)) => Some(i as f32),
            Ok(Object::Real(f)) => Some(f as f32),
            _ => None,
        })
        .collect();
    match n.as_slice() {
        [x0, y0, x1, y1] if (x1 - x0).abs() > 2.0 * STAMP_W && (y1 - y0).abs() > 3.0 * STAMP_H => {
            ((x1 - x0).abs(), (y1 - y0).abs())
        }
        _ => a4,
    }
}

/// Signs an uploaded PDF by incremental update and archives it.
pub async fn sign_upload(
    ctx: &SignContext,
    req: UploadSign,
) -> Result<ArchivedDocument, SignTaskError> {
    sign_upload_pdf(ctx, req).await.map(|(doc, _)| doc)
}

/// As [`sign_upload`], and also gives the signed bytes (the archived ones), so a caller
/// that writes them out need not read them back from the archive.
pub async fn sign_upload_pdf(
    ctx: &SignContext,
    req: UploadSign,
) -> Result<(ArchivedDocument, Vec<u8>), SignTaskError> {
    sign_upload_with(ctx, req, None).await
}

/// As [`sign_upload_pdf`], by `signer`, an active employee the caller has just looked up
/// (`req.signer` is then not looked up again): a batch finds its signer once, not once per
/// document.
pub async fn sign_upload_pdf_as(
    ctx: &SignContext,
    signer: &Employee,
    req: UploadSign,
) -> Result<(ArchivedDocument, Vec<u8>), SignTaskError> {
    sign_upload_with(ctx, req, Some(signer)).await
}

async fn sign_upload_with(
    ctx: &SignContext,
    req: UploadSign,
    signer: Option<&Employee>,
) -> Result<(ArchivedDocument, Vec<u8>), SignTaskError> {
    let (pages, size) = inspect_pdf(&req.pdf, req.page)?;
    if req.position != Position::Invisible && req.page >= pages {
        return Err(SignTaskError::Invalid(format!(
            "page {} does not exist (the document has {pages} pages)",
            req.page + 1
        )));
    }
    if req.title.trim().is_empty() {
        return Err(SignTaskError::Invalid("title is required".into()));
    }
    if let Some(n) = &req.number {
        // Before any signature is made: a number of a reserved series belongs to its
        // service, never to an uploaded document.
        paraf_core::numbers::check_cited(n)?;
    }
    let emp = match signer {
        Some(e) => e.clone(),
        None => employee(&ctx.org, &req.signer).await?,
    };
    let key_id = ensure_key(ctx.signer.as_ref(), &emp).await?;
    let id = paraf_core::org::new_id();
    let now = ctx.clock.now();
    let mut options = SignOptions::invisible(now);
    options.reason = Some("Ditandatangani".into());
    options.location = Some("Bandung".into());
    if req.position != Position::Invisible {
        let (w, h) = size;
        let (x1, y1) = match req.position {
            Position::BottomRight => (w - MARGIN - STAMP_W, MARGIN),
            Position::BottomLeft => (MARGIN, MARGIN),
            Position::TopRight => (w - MARGIN - STAMP_W, h - MARGIN - STAMP_H),
            Position::TopLeft | Position::Invisible => (MARGIN, h - MARGIN - STAMP_H),
        };
        options.page = req.page;
        options.placement = Placement::Visible {
            rect: Rect {
                x1,
                y1,
                x2: x1 + STAMP_W,
                y2: y1 + STAMP_H,
            },
            stamp: stamp(&emp, ctx.verification_url(&id)),
        };
    }
    let signed = sign_pdf(ctx, &req.pdf, &key_id, &options).await?;
    let stored = ctx
        .archive
        .store(
            NewArchive {
                id,
                doc_type: req.doc_type,
                number: req.number,
                series: None,
                title: req.title,
                classification: req.classification,
                parties: req.parties,
                signers: vec![signatory(&emp, now)],
                created_by: req.created_by,
            },
            signed.clone(),
        )
        .await?;
    tracing::info!(document = %stored.id, signer = %emp.id, "uploaded PDF signed and archived");
    Ok((stored, signed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_idempotency_key_gives_the_same_document_id() {
        let a = document_id_for("exec-1");
        assert_eq!(a, document_id_for("exec-1"));
        assert_ne!(a, document_id_for("exec-2"));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn a_tsa_url_must_be_http_or_https() {
        assert!(TsaClient::new("http://127.0.0.1:3180/tsa").is_ok());
        assert!(TsaClient::new("https://tsa.example/").is_ok());
        assert!(TsaClient::new("ftp://tsa.example/").is_err());
        assert!(TsaClient::new("tsa.example").is_err());
    }

    #[test]
    fn positions_read_in_english_and_indonesian() {
        assert_eq!(Position::parse("kanan-bawah"), Some(Position::BottomRight));
        assert_eq!(Position::parse("top_left"), Some(Position::TopLeft));
        assert_eq!(Position::parse("middle"), None);
    }

    #[test]
    fn the_workflow_payload_shape_is_accepted() {
        let input: SignTaskInput = serde_json::from_value(serde_json::json!({
            "executionId": "arn:exec:1",
            "request": {"type": "spt", "classification": "KU.03", "title": "Surat Tugas",
                        "data": {"nomor": "1"}},
            "chain": [{"assignee": "a"}, {"assignee": "b", "kind": "sign"}],
            "requester": "r"
        }))
        .unwrap();
        assert_eq!(input.document.doc_type, "spt");
        assert_eq!(input.chain[1].kind, Some(StepKind::Sign));
    }
}
