//! Signed documents: the archive (search, detail, download by time-limited link, retention
//! report) for archivists, verification of an uploaded PDF for everyone signed in, signing
//! an uploaded PDF, and the public page a QR code points at (`/v/{id}`: title, number,
//! signers, date, status — never the content).
//!
//! Uploads are PDFs of up to [`MAX_UPLOAD_BYTES`]; the router's edge limit for these routes
//! is [`MAX_UPLOAD_BODY_BYTES`], so a 100 MB body is refused with 413 from its
//! `Content-Length` before a byte is read. A PDF that cannot be read (not a PDF, truncated,
//! a reference loop, encrypted) is a 422 naming the `file` field; nothing is stored.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use paraf_core::archive::{ArchivedDocument, Due, FinalDisposition, SearchFilter, JRA};
use paraf_core::audit::{AuditAction, AuditEvent};
use paraf_core::format::{tanggal, waktu_wib};
use paraf_core::{Principal, Role, ServiceError, Text};
use paraf_pdf::pdf::PdfError;
use paraf_pdf::render::Letterhead;
use paraf_pdf::{Modification, Report};
use paraf_tasks::sign::{check_pdf, sign_upload, Position, SignContext, SignTaskError, UploadSign};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::Date;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody, ErrorKind, Json, Path, Query};
use crate::i18n::Lang;
use crate::identity::{same_token, Identity};
use crate::pages::{error_page, Page, Shell};
use crate::AppState;

/// Largest PDF accepted for verification or signing.
pub const MAX_UPLOAD_BYTES: usize = paraf_tasks::sign::MAX_PDF_BYTES;
/// Largest request body on the upload routes: the PDF plus multipart overhead and fields.
pub const MAX_UPLOAD_BODY_BYTES: usize = MAX_UPLOAD_BYTES + 256 * 1024;
/// Longest text field accepted next to an uploaded file.
const MAX_FIELD_BYTES: usize = 4096;

// ---------- texts ----------

/// The words of the document pages, in one language.
pub struct DocTexts {
    pub nav_archive: &'static str,
    pub nav_verify: &'static str,
    pub nav_sign_upload: &'static str,
    pub archive_title: &'static str,
    pub search: &'static str,
    pub f_type: &'static str,
    pub f_number: &'static str,
    pub f_from: &'static str,
    pub f_to: &'static str,
    pub f_signer: &'static str,
    pub f_signer_hint: &'static str,
    pub f_words: &'static str,
    pub f_file: &'static str,
    pub f_file_hint: &'static str,
    pub f_title: &'static str,
    pub f_classification: &'static str,
    pub f_position: &'static str,
    pub f_page: &'static str,
    pub f_year: &'static str,
    pub col_title: &'static str,
    pub col_number: &'static str,
    pub col_type: &'static str,
    pub col_archived: &'static str,
    pub col_signers: &'static str,
    pub col_classification: &'static str,
    pub col_due: &'static str,
    pub col_when: &'static str,
    pub col_who: &'static str,
    pub col_action: &'static str,
    pub no_documents: &'static str,
    pub next_page: &'static str,
    pub detail_title: &'static str,
    pub sha256: &'static str,
    pub size: &'static str,
    pub retention: &'static str,
    pub active_until: &'static str,
    pub inactive_until: &'static str,
    pub parties: &'static str,
    pub download: &'static str,
    pub download_hint: &'static str,
    pub history: &'static str,
    pub retention_title: &'static str,
    pub retention_intro: &'static str,
    pub due_transfer: &'static str,
    pub show: &'static str,
    pub verify_title: &'static str,
    pub verify_intro: &'static str,
    pub verify_button: &'static str,
    pub result: &'static str,
    pub all_valid: &'static str,
    pub not_all_valid: &'static str,
    pub no_signatures: &'static str,
    pub valid: &'static str,
    pub invalid: &'static str,
    pub revisions: &'static str,
    pub archived_as: &'static str,
    pub not_archived: &'static str,
    pub signed_at: &'static str,
    pub problems: &'static str,
    pub changed_after: &'static str,
    pub change_allowed: &'static str,
    pub change_refused: &'static str,
    pub public_title: &'static str,
    pub status: &'static str,
    pub status_registered: &'static str,
    pub public_note: &'static str,
    pub sign_title: &'static str,
    pub sign_intro: &'static str,
    pub sign_button: &'static str,
    pub signed_ok: &'static str,
    pub pos_invisible: &'static str,
    pub pos_bottom_right: &'static str,
    pub pos_bottom_left: &'static str,
    pub pos_top_right: &'static str,
    pub pos_top_left: &'static str,
    pub optional: &'static str,
    pub error_summary_title: &'static str,
}

pub const DOC_ID: DocTexts = DocTexts {
    nav_archive: "Arsip",
    nav_verify: "Verifikasi",
    nav_sign_upload: "Tandatangani PDF",
    archive_title: "Arsip dokumen",
    search: "Cari",
    f_type: "Jenis dokumen",
    f_number: "Nomor",
    f_from: "Diarsipkan sejak",
    f_to: "Diarsipkan sampai",
    f_signer: "Penanda tangan",
    f_signer_hint: "NIP atau email",
    f_words: "Kata dalam judul",
    f_file: "Berkas PDF",
    f_file_hint: "PDF tanpa sandi, paling besar 20 MB.",
    f_title: "Judul",
    f_classification: "Kode klasifikasi",
    f_position: "Letak tanda tangan",
    f_page: "Halaman",
    f_year: "Tahun",
    col_title: "Judul",
    col_number: "Nomor",
    col_type: "Jenis",
    col_archived: "Diarsipkan",
    col_signers: "Penanda tangan",
    col_classification: "Klasifikasi",
    col_due: "Tindakan",
    col_when: "Waktu",
    col_who: "Oleh",
    col_action: "Peristiwa",
    no_documents: "Tidak ada dokumen.",
    next_page: "Halaman berikutnya",
    detail_title: "Dokumen arsip",
    sha256: "SHA-256",
    size: "Ukuran (bita)",
    retention: "Retensi",
    active_until: "Aktif sampai",
    inactive_until: "Inaktif sampai",
    parties: "Pihak",
    download: "Unduh PDF",
    download_hint: "Tautan berlaku 10 menit; setiap pengambilan dicatat.",
    history: "Riwayat",
    retention_title: "Laporan retensi",
    retention_intro: "Dokumen yang jatuh tempo pindah ke arsip inaktif atau penyusutan akhir pada tahun ini.",
    due_transfer: "pindah ke inaktif",
    show: "Tampilkan",
    verify_title: "Verifikasi dokumen",
    verify_intro: "Unggah PDF bertanda tangan untuk memeriksa setiap tanda tangannya dan mencocokkannya dengan arsip.",
    verify_button: "Periksa",
    result: "Hasil",
    all_valid: "Semua tanda tangan sah dan dokumen tidak diubah.",
    not_all_valid: "Ada tanda tangan yang tidak sah atau dokumen diubah setelah ditandatangani.",
    no_signatures: "Dokumen ini tidak memiliki tanda tangan elektronik.",
    valid: "sah",
    invalid: "tidak sah",
    revisions: "Revisi",
    archived_as: "Ini adalah dokumen arsip",
    not_archived: "Berkas ini tidak sama persis dengan dokumen mana pun di arsip.",
    signed_at: "Waktu tanda tangan",
    problems: "Masalah",
    changed_after: "diubah setelah ditandatangani",
    change_allowed: "Diizinkan",
    change_refused: "Tidak diizinkan",
    public_title: "Verifikasi dokumen",
    status: "Status",
    status_registered: "Terdaftar di arsip",
    public_note: "Isi dokumen hanya dapat dilihat oleh pegawai yang berwenang setelah masuk.",
    sign_title: "Tandatangani PDF",
    sign_intro: "Unggah PDF yang dibuat di luar paraf; tanda tangan elektronik Anda ditambahkan tanpa mengubah isinya, lalu dokumen diarsipkan.",
    sign_button: "Tandatangani dan arsipkan",
    signed_ok: "Dokumen ditandatangani dan diarsipkan",
    pos_invisible: "Tidak tampak (tanpa stempel)",
    pos_bottom_right: "Kanan bawah",
    pos_bottom_left: "Kiri bawah",
    pos_top_right: "Kanan atas",
    pos_top_left: "Kiri atas",
    optional: "opsional",
    error_summary_title: "Ada yang perlu diperbaiki",
};

pub const DOC_EN: DocTexts = DocTexts {
    nav_archive: "Archive",
    nav_verify: "Verify",
    nav_sign_upload: "Sign a PDF",
    archive_title: "Document archive",
    search: "Search",
    f_type: "Document type",
    f_number: "Number",
    f_from: "Archived from",
    f_to: "Archived until",
    f_signer: "Signer",
    f_signer_hint: "NIP or email",
    f_words: "Words in the title",
    f_file: "PDF file",
    f_file_hint: "Unencrypted PDF, at most 20 MB.",
    f_title: "Title",
    f_classification: "Classification code",
    f_position: "Signature position",
    f_page: "Page",
    f_year: "Year",
    col_title: "Title",
    col_number: "Number",
    col_type: "Type",
    col_archived: "Archived",
    col_signers: "Signers",
    col_classification: "Classification",
    col_due: "Action",
    col_when: "When",
    col_who: "By",
    col_action: "Event",
    no_documents: "No documents.",
    next_page: "Next page",
    detail_title: "Archived document",
    sha256: "SHA-256",
    size: "Size (bytes)",
    retention: "Retention",
    active_until: "Active until",
    inactive_until: "Inactive until",
    parties: "Parties",
    download: "Download PDF",
    download_hint: "The link lasts 10 minutes; every retrieval is recorded.",
    history: "History",
    retention_title: "Retention report",
    retention_intro: "Documents due for transfer to the inactive archive or for final disposition this year.",
    due_transfer: "transfer to inactive",
    show: "Show",
    verify_title: "Verify a document",
    verify_intro: "Upload a signed PDF to check each of its signatures and match it against the archive.",
    verify_button: "Check",
    result: "Result",
    all_valid: "All signatures are valid and the document was not changed.",
    not_all_valid: "A signature is not valid or the document was changed after signing.",
    no_signatures: "This document has no electronic signature.",
    valid: "valid",
    invalid: "not valid",
    revisions: "Revisions",
    archived_as: "This is archived document",
    not_archived: "This file does not exactly match any archived document.",
    signed_at: "Signed at",
    problems: "Problems",
    changed_after: "changed after signing",
    change_allowed: "Allowed",
    change_refused: "Not allowed",
    public_title: "Document verification",
    status: "Status",
    status_registered: "Registered in the archive",
    public_note: "The content is only available to authorised staff after signing in.",
    sign_title: "Sign a PDF",
    sign_intro: "Upload a PDF made outside paraf; your electronic signature is added without changing its content, then the document is archived.",
    sign_button: "Sign and archive",
    signed_ok: "Document signed and archived",
    pos_invisible: "Invisible (no stamp)",
    pos_bottom_right: "Bottom right",
    pos_bottom_left: "Bottom left",
    pos_top_right: "Top right",
    pos_top_left: "Top left",
    optional: "optional",
    error_summary_title: "There is a problem",
};

pub fn texts(lang: Lang) -> &'static DocTexts {
    match lang {
        Lang::Id => &DOC_ID,
        Lang::En => &DOC_EN,
    }
}

// ---------- routes ----------

/// The JSON API of documents, merged into [`crate::api::routes`].
pub fn api_routes() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(verify_api))
        .routes(routes!(sign_upload_api))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY_BYTES));
    OpenApiRouter::new()
        .routes(routes!(search_api))
        .routes(routes!(detail_api))
        .routes(routes!(download_link_api))
        .routes(routes!(retention_api))
        .routes(routes!(public_api))
        .merge(uploads)
}

/// The pages, merged into the page router (and its security headers).
pub fn page_routes() -> Router<AppState> {
    let uploads = Router::new()
        .route("/verifikasi", get(verify_form).post(verify_submit))
        .route("/dokumen/tandatangani", get(sign_form).post(sign_submit))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY_BYTES));
    Router::new()
        .route("/arsip", get(archive_page))
        .route("/arsip/retensi", get(retention_page))
        .route("/arsip/{id}", get(detail_page))
        .route("/arsip/{id}/unduh", post(download_submit))
        .route("/v/{id}", get(public_page))
        .merge(uploads)
}

/// Navigation entries for the signed-in shell: (href, label).
pub fn nav_items(lang: Lang, p: &Principal) -> Vec<(&'static str, &'static str)> {
    let t = texts(lang);
    let mut items = Vec::new();
    if may_archive(p) {
        items.push(("/arsip", t.nav_archive));
    }
    items.push(("/verifikasi", t.nav_verify));
    items.push(("/dokumen/tandatangani", t.nav_sign_upload));
    items
}

// ---------- rules ----------

/// Archivists run the archive; admins may too (they answer for the system).
fn may_archive(p: &Principal) -> bool {
    p.has(Role::Archivist) || p.has(Role::Admin)
}

fn require_archivist(id: &Identity) -> Result<&Principal, ApiError> {
    if may_archive(&id.0) {
        Ok(&id.0)
    } else {
        Err(ApiError::forbidden())
    }
}

/// Archivists, and the people a document belongs to: who archived it and who signed it.
fn may_retrieve(p: &Principal, d: &ArchivedDocument) -> bool {
    may_archive(p) || d.created_by == p.employee_id || d.signers.iter().any(|s| s.nip == p.nip)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

async fn document(state: &AppState, id: &str) -> Result<ArchivedDocument, ApiError> {
    if !valid_id(id) {
        return Err(ApiError::not_found());
    }
    Ok(state.archive.get(id).await?)
}

pub(crate) fn sign_context(state: &AppState) -> SignContext {
    SignContext {
        org: state.org.clone(),
        archive: state.archive.clone(),
        signer: state.signer.clone(),
        clock: state.clock.clone(),
        public_base_url: state.config.public_base_url.clone(),
        letterhead: Letterhead::kpu_jabar(),
        tsa: state.tsa.clone(),
    }
}

fn verification_url(state: &AppState, id: &str) -> String {
    format!("{}/v/{id}", state.config.public_base_url)
}

/// Why an uploaded file is not a usable PDF, in both languages.
pub fn pdf_problem(e: &PdfError) -> Text {
    match e {
        PdfError::NotPdf => Text::new(
            "berkas ini bukan PDF",
            "this file is not a PDF",
        ),
        PdfError::Encrypted => Text::new(
            "PDF terenkripsi (bersandi) tidak dapat diproses; simpan ulang tanpa sandi",
            "encrypted (password-protected) PDFs cannot be processed; save it again without a password",
        ),
        PdfError::Malformed(d) => Text::new(
            format!("PDF rusak atau terpotong ({d})"),
            format!("the PDF is damaged or truncated ({d})"),
        ),
        PdfError::TooComplex(d) => Text::new(
            format!("PDF terlalu besar atau terlalu rumit ({d})"),
            format!("the PDF is too large or too complex ({d})"),
        ),
    }
}

fn pdf_invalid(e: &PdfError) -> ApiError {
    ApiError::validation("file", pdf_problem(e))
}

fn task_error(e: SignTaskError) -> ApiError {
    match e {
        SignTaskError::Pdf(p) => pdf_invalid(&p),
        SignTaskError::Sign(paraf_pdf::SignError::PageOutOfRange { count, .. }) => {
            ApiError::validation(
                "page",
                Text::new(
                    format!("dokumen hanya memiliki {count} halaman"),
                    format!("the document has only {count} pages"),
                ),
            )
        }
        SignTaskError::Invalid(m) => ApiError::malformed(m),
        SignTaskError::UnknownEmployee(_) => ApiError::forbidden(),
        SignTaskError::Service(s) => s.into(),
        other => ApiError::internal(&other),
    }
}

// ---------- reading uploads ----------

/// A PDF sent as the whole body (`application/pdf`).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct PdfBody(Vec<u8>);

/// A PDF sent as the `file` part of a multipart form.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PdfUpload {
    /// The PDF, at most 20 MB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A PDF to sign and what to record with it, as parts of a multipart form (each part may
/// instead be given in the query; a part wins over the query).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SignUpload {
    /// The PDF, at most 20 MB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Document title (required here or in the query), at most 300 characters.
    #[schema(max_length = 300)]
    title: Option<String>,
    /// Official number, if it has one (see the query parameter).
    number: Option<String>,
    /// Classification code (default `TU`).
    classification: Option<String>,
    /// Document type (default `surat`).
    #[schema(rename = "type")]
    doc_type: Option<String>,
    /// Where the visible stamp goes (default `invisible`).
    #[schema(schema_with = position_schema)]
    position: Option<String>,
    /// 1-based page of a visible signature (default 1).
    #[schema(minimum = 1, maximum = 100_000)]
    page: Option<u32>,
}

/// Where a signature's stamp may go.
pub const POSITIONS: [&str; 5] = [
    "invisible",
    "bottom-right",
    "bottom-left",
    "top-right",
    "top-left",
];

fn position_schema() -> utoipa::openapi::schema::Object {
    paraf_core::schema::one_of(&POSITIONS)
}

/// An uploaded PDF and the text fields sent with it.
struct Upload {
    pdf: Vec<u8>,
    fields: BTreeMap<String, String>,
}

/// The PDF of an `application/pdf` (or octet-stream) body, or the `file` part of a
/// multipart form with its other fields.
async fn read_upload(req: Request, state: &AppState) -> Result<Upload, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, state).await?;
        let mut pdf = None;
        let mut fields = BTreeMap::new();
        while let Some(field) = mp.next_field().await? {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" {
                pdf = Some(field.bytes().await?.to_vec());
            } else if !name.is_empty() && fields.len() < 32 {
                let bytes = field.bytes().await?;
                if bytes.len() > MAX_FIELD_BYTES {
                    return Err(ApiError::validation(
                        &name,
                        Text::new("isian terlalu panjang", "the value is too long"),
                    ));
                }
                let value = String::from_utf8_lossy(&bytes).trim().to_string();
                if let Err(e) = paraf_core::types::check_text(&value) {
                    return Err(ApiError::validation(&name, e.0));
                }
                fields.insert(name, value);
            }
        }
        let pdf = pdf
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ApiError::validation("file", Text::new("wajib diisi", "is required")))?;
        Ok(Upload { pdf, fields })
    } else if ct.starts_with("application/pdf") || ct.starts_with("application/octet-stream") {
        let bytes = crate::error::body_bytes(req.into_body(), MAX_UPLOAD_BYTES).await?;
        if bytes.is_empty() {
            return Err(ApiError::validation(
                "file",
                Text::new("wajib diisi", "is required"),
            ));
        }
        Ok(Upload {
            pdf: bytes.to_vec(),
            fields: BTreeMap::new(),
        })
    } else {
        Err(ApiError {
            detail: Some("application/pdf, multipart/form-data".into()),
            ..ApiError::new(ErrorKind::UnsupportedMediaType)
        })
    }
}

// ---------- views ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignatoryView {
    pub name: String,
    pub nip: String,
    pub jabatan: String,
    /// RFC 3339.
    pub signed_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RetentionView {
    pub active_years: u16,
    pub inactive_years: u16,
    #[schema(value_type = paraf_core::archive::FinalDisposition)]
    pub final_disposition: String,
}

/// An archived document's record (never its content).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArchivedView {
    pub id: String,
    pub doc_type: String,
    pub number: Option<String>,
    pub title: String,
    pub classification: String,
    pub parties: Vec<String>,
    pub signers: Vec<SignatoryView>,
    /// SHA-256 of the PDF, hex.
    pub sha256: String,
    pub size: u64,
    /// RFC 3339.
    pub archived_at: String,
    pub retention: RetentionView,
    /// YYYY-MM-DD, last day in the active archive.
    pub active_until: String,
    /// YYYY-MM-DD, last day in the inactive archive.
    pub inactive_until: String,
    /// The public page the document's QR code points at.
    pub verification_url: String,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn disposition_code(f: FinalDisposition) -> &'static str {
    match f {
        FinalDisposition::Musnah => "musnah",
        FinalDisposition::Permanen => "permanen",
        FinalDisposition::DinilaiKembali => "dinilai_kembali",
    }
}

fn archived_view(state: &AppState, d: &ArchivedDocument) -> ArchivedView {
    ArchivedView {
        id: d.id.clone(),
        doc_type: d.doc_type.clone(),
        number: d.number.clone(),
        title: d.title.clone(),
        classification: d.classification.clone(),
        parties: d.parties.clone(),
        signers: d
            .signers
            .iter()
            .map(|s| SignatoryView {
                name: s.name.clone(),
                nip: s.nip.clone(),
                jabatan: s.jabatan.clone(),
                signed_at: rfc3339(s.signed_at),
            })
            .collect(),
        sha256: d.sha256.clone(),
        size: d.size,
        archived_at: rfc3339(d.archived_at),
        retention: RetentionView {
            active_years: d.retention.active_years,
            inactive_years: d.retention.inactive_years,
            final_disposition: disposition_code(d.retention.final_disposition).into(),
        },
        active_until: d.active_until.to_string(),
        inactive_until: d.inactive_until.to_string(),
        verification_url: verification_url(state, &d.id),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentsPage {
    pub items: Vec<ArchivedView>,
    /// Pass as `cursor` for the next page; absent on the last page. A page may hold
    /// fewer than `limit` items when filters drop some.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEventView {
    pub seq: u64,
    /// RFC 3339.
    pub at: String,
    /// Employee id, or `system`.
    pub actor: String,
    #[schema(value_type = paraf_core::audit::AuditAction)]
    pub action: String,
    /// What the event records (e.g. who downloaded through which link); its keys depend
    /// on `action`.
    #[schema(value_type = BTreeMap<String, Value>)]
    pub details: Value,
}

fn event_view(e: &AuditEvent) -> AuditEventView {
    AuditEventView {
        seq: e.seq,
        at: rfc3339(e.at),
        actor: e.actor.clone(),
        action: e.action.as_str().to_string(),
        details: e.details.clone(),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentDetail {
    pub document: ArchivedView,
    /// Every recorded event on the document (archived, viewed, downloaded, verified),
    /// oldest first.
    pub events: Vec<AuditEventView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DownloadLinkView {
    pub url: String,
    pub expires_in_secs: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetentionItem {
    pub document: ArchivedView,
    /// `transfer` (to the inactive archive), or the final disposition: `musnah`,
    /// `permanen`, `dinilai_kembali`.
    #[schema(schema_with = due_schema)]
    pub due: String,
}

fn due_schema() -> utoipa::openapi::schema::Object {
    paraf_core::schema::one_of(&["transfer", "musnah", "permanen", "dinilai_kembali"])
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetentionReportView {
    pub year: i32,
    pub items: Vec<RetentionItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignatureCheck {
    pub field: String,
    pub signer_name: Option<String>,
    /// The certificate's serialNumber: the signer's NIP.
    pub signer_nip: Option<String>,
    /// RFC 3339, the claimed signing time.
    pub signing_time: Option<String>,
    /// Intact, trusted by the organisation root, and nothing but signatures added after.
    pub valid: bool,
    pub byte_range_ok: bool,
    pub digest_ok: bool,
    pub signature_ok: bool,
    pub trusted: bool,
    pub certificate_valid_at_signing_time: bool,
    /// What later revisions changed, summed up: `none` (the signature covers the whole
    /// file), `only_signatures_added` (signatures and validation data), `metadata_changed`
    /// (also document metadata, nothing a reader sees), `form_filled` (fields filled as a
    /// certification permits) or `content_changed` (not valid).
    #[schema(example = "only_signatures_added")]
    pub modification: String,
    /// Each change a later revision made, and whether this signature's policy allows it.
    pub changes: Vec<ChangeView>,
    pub problems: Vec<String>,
}

/// One change made after a signature.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeView {
    /// The revision that made it (1 = the original file).
    pub revision: usize,
    /// Allowed after this signature (new signatures, validation data, metadata).
    pub allowed: bool,
    /// What changed and which objects, in the request's language.
    pub description: String,
}

fn change_views(changes: &[paraf_pdf::Change], lang: Lang) -> Vec<ChangeView> {
    changes
        .iter()
        .map(|c| ChangeView {
            revision: c.revision,
            allowed: c.allowed,
            description: c.text().get(lang == Lang::En).to_owned(),
        })
        .collect()
}

/// The archived document with exactly the verified bytes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArchiveMatch {
    pub id: String,
    pub doc_type: String,
    pub number: Option<String>,
    pub title: String,
    /// RFC 3339.
    pub archived_at: String,
    /// "Ini adalah dokumen arsip …" in the request's language.
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VerifyReportView {
    /// SHA-256 of the uploaded file, hex.
    pub sha256: String,
    pub revisions: usize,
    /// At least one signature and every one valid.
    pub all_valid: bool,
    pub signatures: Vec<SignatureCheck>,
    /// Present when the file is byte-for-byte an archived document.
    pub archived: Option<ArchiveMatch>,
}

fn report_view(r: &Report, archived: Option<&ArchivedDocument>, lang: Lang) -> VerifyReportView {
    let t = texts(lang);
    VerifyReportView {
        sha256: r.sha256.clone(),
        revisions: r.revisions,
        all_valid: r.all_valid(),
        signatures: r
            .signatures
            .iter()
            .map(|s| SignatureCheck {
                field: s.field_name.clone(),
                signer_name: s.signer_name.clone(),
                signer_nip: s.signer_nip.clone(),
                signing_time: s.signing_time.map(rfc3339),
                valid: s.is_valid(),
                byte_range_ok: s.byte_range_ok,
                digest_ok: s.digest_ok,
                signature_ok: s.signature_ok,
                trusted: s.trusted,
                certificate_valid_at_signing_time: s.certificate_valid_at_signing_time,
                modification: s.modification.as_str().into(),
                changes: change_views(&s.changes, lang),
                problems: s.problems.clone(),
            })
            .collect(),
        archived: archived.map(|d| ArchiveMatch {
            id: d.id.clone(),
            doc_type: d.doc_type.clone(),
            number: d.number.clone(),
            title: d.title.clone(),
            archived_at: rfc3339(d.archived_at),
            message: format!(
                "{} {}{}: {}",
                t.archived_as,
                d.id,
                d.number
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                d.title
            ),
        }),
    }
}

/// Checks a PDF against the organisation root and the archive; records the verification
/// of an archived document in its audit trail.
async fn verify_pdf(
    state: &AppState,
    actor: &str,
    pdf: Vec<u8>,
) -> Result<(Report, Option<ArchivedDocument>), ApiError> {
    let root = state
        .signer
        .root_certificate()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut roots = vec![root];
    roots.extend(state.extra_roots.iter().cloned());
    // Parsing a 20 MB file is CPU work: keep it off the async workers.
    let report = tokio::task::spawn_blocking(move || {
        check_pdf(&pdf)?;
        paraf_pdf::verify(&pdf, &roots).map_err(|paraf_pdf::VerifyError::Pdf(e)| e)
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| pdf_invalid(&e))?;
    let archived = state.archive.by_sha256(&report.sha256).await?;
    if let Some(d) = &archived {
        state
            .archive
            .audit()
            .append(
                actor,
                &d.id,
                AuditAction::Verified,
                json!({"all_valid": report.all_valid()}),
            )
            .await?;
    }
    Ok((report, archived))
}

/// What the QR code's page shows: no content.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicDocumentView {
    pub id: String,
    pub title: String,
    pub number: Option<String>,
    pub doc_type: String,
    pub signers: Vec<PublicSignerView>,
    /// RFC 3339.
    pub archived_at: String,
    /// Always `registered` ("terdaftar di arsip") when found.
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicSignerView {
    pub name: String,
    pub jabatan: String,
    /// RFC 3339.
    pub signed_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignedUploadView {
    pub document: ArchivedView,
    /// A time-limited link to the signed PDF (its retrieval is recorded).
    pub download_url: String,
}

// ---------- API ----------

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Document type (spt, sppd, kuitansi, disposisi, surat, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub doc_type: Option<String>,
    /// Exact official number.
    pub number: Option<String>,
    /// YYYY-MM-DD (WIB), archived on or after.
    pub from: Option<String>,
    /// YYYY-MM-DD (WIB), archived on or before.
    pub to: Option<String>,
    /// Signer's NIP or email.
    pub signer: Option<String>,
    /// Words that must all appear in the title.
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn parse_date(field: &str, v: &Option<String>) -> Result<Option<Date>, ApiError> {
    let Some(s) = non_empty(v) else {
        return Ok(None);
    };
    paraf_core::types::parse_date(&s)
        .map(Some)
        .map_err(|e| ApiError::validation(field, e.0))
}

async fn filter_of(state: &AppState, q: &SearchQuery) -> Result<SearchFilter, ApiError> {
    let signer_nip = match non_empty(&q.signer) {
        None => None,
        Some(s) => match state.org.find_employee(&s).await? {
            Some(e) => Some(e.nip.to_string()),
            // An unknown signer matches nothing, but keep the digits people typed.
            None => Some(s.chars().filter(|c| !c.is_whitespace()).collect()),
        },
    };
    Ok(SearchFilter {
        doc_type: non_empty(&q.doc_type),
        number: non_empty(&q.number),
        from: parse_date("from", &q.from)?,
        to: parse_date("to", &q.to)?,
        signer_nip,
        words: non_empty(&q.q),
    })
}

/// Searches the archive (archivists and admins).
#[utoipa::path(get, path = "/api/v1/archive/documents", tag = "archive", params(SearchQuery),
    responses((status = 200, body = DocumentsPage), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn search_api(
    State(state): State<AppState>,
    id: Identity,
    Query(q): Query<SearchQuery>,
) -> Result<Json<DocumentsPage>, ApiError> {
    require_archivist(&id)?;
    let filter = filter_of(&state, &q).await?;
    let (docs, next) = state
        .archive
        .search(
            &filter,
            crate::extract::page_size(q.limit)?,
            non_empty(&q.cursor),
        )
        .await?;
    Ok(Json(DocumentsPage {
        items: docs.iter().map(|d| archived_view(&state, d)).collect(),
        next_cursor: next,
    }))
}

/// One archived document with its history; the view is recorded.
#[utoipa::path(get, path = "/api/v1/archive/documents/{id}", tag = "archive",
    params(("id" = String, Path, description = "document id")),
    responses((status = 200, body = DocumentDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn detail_api(
    State(state): State<AppState>,
    id: Identity,
    Path(doc_id): Path<String>,
) -> Result<Json<DocumentDetail>, ApiError> {
    let d = document(&state, &doc_id).await?;
    if !may_retrieve(&id.0, &d) {
        return Err(ApiError::forbidden());
    }
    state.archive.record_view(&d.id, &id.0.employee_id).await?;
    let events = state.archive.audit().events_of(&d.id).await?;
    Ok(Json(DocumentDetail {
        document: archived_view(&state, &d),
        events: events.iter().map(event_view).collect(),
    }))
}

/// A time-limited download link to the PDF; the retrieval (who, when) is recorded.
/// Archivists, admins, and the document's signers and archiver.
#[utoipa::path(post, path = "/api/v1/archive/documents/{id}/download-link", tag = "archive",
    params(("id" = String, Path, description = "document id")),
    responses((status = 200, body = DownloadLinkView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn download_link_api(
    State(state): State<AppState>,
    id: Identity,
    Path(doc_id): Path<String>,
) -> Result<Json<DownloadLinkView>, ApiError> {
    let d = document(&state, &doc_id).await?;
    if !may_retrieve(&id.0, &d) {
        return Err(ApiError::forbidden());
    }
    let url = state
        .archive
        .download_link(&d.id, &id.0.employee_id)
        .await?;
    Ok(Json(DownloadLinkView {
        url,
        expires_in_secs: paraf_core::archive::DOWNLOAD_LINK_TTL.as_secs(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RetentionQuery {
    /// Default: the current year (WIB).
    pub year: Option<i32>,
}

fn due_code(due: Due) -> &'static str {
    match due {
        Due::Transfer => "transfer",
        Due::Final(f) => disposition_code(f),
    }
}

/// Documents due for transfer or final disposition in a year (archivists and admins).
#[utoipa::path(get, path = "/api/v1/archive/retention", tag = "archive", params(RetentionQuery),
    responses((status = 200, body = RetentionReportView), (status = 403, body = ErrorBody)))]
async fn retention_api(
    State(state): State<AppState>,
    id: Identity,
    Query(q): Query<RetentionQuery>,
) -> Result<Json<RetentionReportView>, ApiError> {
    require_archivist(&id)?;
    let year = q
        .year
        .unwrap_or_else(|| state.clock.now().to_offset(paraf_core::WIB).year())
        .clamp(1900, 9999);
    let due = state.archive.retention_report(year).await?;
    Ok(Json(RetentionReportView {
        year,
        items: due
            .iter()
            .map(|(d, due)| RetentionItem {
                document: archived_view(&state, d),
                due: due_code(*due).into(),
            })
            .collect(),
    }))
}

/// Verifies a signed PDF (`application/pdf` body or multipart `file`): every signature
/// against the organisation root, and whether it is byte-for-byte an archived document.
#[utoipa::path(post, path = "/api/v1/verify", tag = "archive",
    request_body(content((PdfBody = "application/pdf"), (PdfUpload = "multipart/form-data")),
        description = "the PDF, at most 20 MB"),
    responses((status = 200, body = VerifyReportView),
              (status = 401, body = ErrorBody),
              (status = 413, body = ErrorBody, description = "larger than 20 MB"),
              (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "not a readable, unencrypted PDF (`fields.file` says why)")))]
async fn verify_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    req: Request,
) -> Result<Json<VerifyReportView>, ApiError> {
    let up = read_upload(req, &state).await?;
    let (report, archived) = verify_pdf(&state, &id.0.employee_id, up.pdf).await?;
    Ok(Json(report_view(&report, archived.as_ref(), lang)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignUploadQuery {
    /// Document title (required).
    pub title: Option<String>,
    /// Official number, if it has one: a number cited from elsewhere, never one of a
    /// series paraf's services allocate (SPT, SPPD, kuitansi, nomor agenda: 422).
    pub number: Option<String>,
    /// Classification code (default `TU`).
    pub classification: Option<String>,
    /// Document type (default `surat`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub doc_type: Option<String>,
    /// Where the visible stamp goes (default `invisible`).
    #[param(schema_with = position_schema)]
    pub position: Option<String>,
    /// 1-based page of a visible signature (default 1).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100_000)]
    pub page: Option<String>,
}

struct SignFields {
    title: String,
    number: Option<String>,
    classification: String,
    doc_type: String,
    position: Position,
    page: usize,
}

fn sign_fields(get: impl Fn(&str) -> Option<String>) -> Result<SignFields, ApiError> {
    let mut e = ApiError::new(ErrorKind::Validation);
    let title = get("title").unwrap_or_default();
    if title.is_empty() {
        e.fields
            .insert("title".into(), Text::new("wajib diisi", "is required"));
    } else if title.chars().count() > 300 {
        e.fields.insert(
            "title".into(),
            Text::new("paling banyak 300 karakter", "at most 300 characters"),
        );
    }
    let position = match get("position") {
        None => Some(Position::Invisible),
        Some(p) => Position::parse(&p),
    };
    if position.is_none() {
        e.fields.insert(
            "position".into(),
            Text::new(
                "pilih: invisible, bottom-right, bottom-left, top-right, top-left",
                "choose: invisible, bottom-right, bottom-left, top-right, top-left",
            ),
        );
    }
    let page = match get("page") {
        None => Some(1),
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100_000).contains(n)),
    };
    if page.is_none() {
        e.fields.insert(
            "page".into(),
            Text::new("nomor halaman mulai dari 1", "page numbers start at 1"),
        );
    }
    let classification = get("classification").unwrap_or_else(|| "TU".into());
    let doc_type = get("type").unwrap_or_else(|| "surat".into());
    match (position, page) {
        (Some(position), Some(page)) if e.fields.is_empty() => Ok(SignFields {
            title,
            number: get("number"),
            classification,
            doc_type,
            position,
            page: page - 1,
        }),
        _ => Err(e),
    }
}

async fn sign_and_archive(
    state: &AppState,
    who: &Principal,
    pdf: Vec<u8>,
    f: SignFields,
) -> Result<(ArchivedDocument, String), ApiError> {
    if let Some(n) = &f.number {
        // A number of a reserved series is its service's, used or not: 422 on `number`.
        paraf_core::numbers::check_cited(n)?;
        if state.archive.by_number(n).await?.is_some() {
            return Err(ServiceError::conflict(
                "number",
                Text::new(
                    "nomor dokumen sudah dipakai dokumen lain",
                    "document number already used by another document",
                ),
            )
            .into());
        }
    }
    let doc = sign_upload(
        &sign_context(state),
        UploadSign {
            pdf,
            signer: who.employee_id.clone(),
            page: f.page,
            position: f.position,
            title: f.title,
            doc_type: f.doc_type,
            classification: f.classification,
            number: f.number,
            parties: Vec::new(),
            created_by: who.employee_id.clone(),
        },
    )
    .await
    .map_err(task_error)?;
    let link = state
        .archive
        .download_link(&doc.id, &who.employee_id)
        .await?;
    Ok((doc, link))
}

/// Signs a PDF made elsewhere with the caller's key (incremental update: the content is
/// untouched) and archives it. The PDF comes as an `application/pdf` body with the fields
/// in the query, or as multipart `file` with the fields as parts.
#[utoipa::path(post, path = "/api/v1/documents/sign", tag = "archive", params(SignUploadQuery),
    request_body(content((PdfBody = "application/pdf"), (SignUpload = "multipart/form-data")),
        description = "the PDF, at most 20 MB"),
    responses((status = 201, body = SignedUploadView),
              (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "number already used"),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "not a readable PDF, or a field is wrong; `number` names one of a series reserved to the service that allocates it (SPT, SPPD, kuitansi, nomor agenda)")))]
async fn sign_upload_api(
    State(state): State<AppState>,
    id: Identity,
    Query(query): Query<SignUploadQuery>,
    req: Request,
) -> Result<(StatusCode, Json<SignedUploadView>), ApiError> {
    let up = read_upload(req, &state).await?;
    let f = sign_fields(|k| {
        up.fields
            .get(k)
            .cloned()
            .or_else(|| match k {
                "title" => query.title.clone(),
                "number" => query.number.clone(),
                "classification" => query.classification.clone(),
                "type" => query.doc_type.clone(),
                "position" => query.position.clone(),
                "page" => query.page.clone(),
                _ => None,
            })
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })?;
    let (doc, link) = sign_and_archive(&state, &id.0, up.pdf, f).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignedUploadView {
            document: archived_view(&state, &doc),
            download_url: link,
        }),
    ))
}

/// The public record behind a QR code: title, number, signers, date, status; no content,
/// no login.
#[utoipa::path(get, path = "/api/v1/public/documents/{id}", tag = "archive", security(()),
    params(("id" = String, Path, description = "document id (from the QR code)")),
    responses((status = 200, body = PublicDocumentView), (status = 404, body = ErrorBody)))]
async fn public_api(
    State(state): State<AppState>,
    Path(doc_id): Path<String>,
) -> Result<Json<PublicDocumentView>, ApiError> {
    Ok(Json(public_view(&state, &doc_id).await?))
}

async fn public_view(state: &AppState, id: &str) -> Result<PublicDocumentView, ApiError> {
    if !valid_id(id) {
        return Err(ApiError::not_found());
    }
    let v = state.archive.public_view(id).await?;
    Ok(PublicDocumentView {
        id: v.id,
        title: v.title,
        number: v.number,
        doc_type: v.doc_type,
        signers: v
            .signers
            .into_iter()
            .map(|s| PublicSignerView {
                name: s.name,
                jabatan: s.jabatan,
                signed_at: rfc3339(s.signed_at),
            })
            .collect(),
        archived_at: rfc3339(v.archived_at),
        status: "registered".into(),
    })
}

// ---------- pages ----------

fn html<T: Template>(status: StatusCode, page: &T) -> Response {
    crate::pages::render(status, page)
}

fn page_fail(lang: Lang, e: ApiError) -> Response {
    error_page(lang, e.kind)
}

/// A row of a document list, formatted for reading.
pub struct DocRow {
    pub id: String,
    pub title: String,
    pub number: String,
    pub doc_type: String,
    pub archived: String,
    pub signers: String,
    pub classification: String,
    pub due: String,
}

fn doc_row(d: &ArchivedDocument) -> DocRow {
    DocRow {
        id: d.id.clone(),
        title: d.title.clone(),
        number: d.number.clone().unwrap_or_else(|| "-".into()),
        doc_type: d.doc_type.clone(),
        archived: waktu_wib(d.archived_at),
        signers: d
            .signers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        classification: d.classification.clone(),
        due: String::new(),
    }
}

#[derive(Template)]
#[template(path = "archive.html")]
struct ArchivePage {
    shell: Shell,
    d: &'static DocTexts,
    q: SearchEcho,
    error: Option<String>,
    rows: Vec<DocRow>,
    next: Option<String>,
}

#[derive(Default)]
struct SearchEcho {
    doc_type: String,
    number: String,
    from: String,
    to: String,
    signer: String,
    q: String,
}

fn query_string(q: &SearchEcho, cursor: &str) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    [
        ("type", &q.doc_type),
        ("number", &q.number),
        ("from", &q.from),
        ("to", &q.to),
        ("signer", &q.signer),
        ("q", &q.q),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}&", enc(v)))
    .collect::<String>()
        + &format!("cursor={}", enc(cursor))
}

async fn archive_page(
    State(state): State<AppState>,
    page: Page,
    q: Result<axum::extract::Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = page.lang;
    if !may_archive(&page.id.0) {
        return error_page(lang, ErrorKind::Forbidden);
    }
    let q = q.map(|axum::extract::Query(q)| q).unwrap_or_default();
    let d = texts(lang);
    let echo = SearchEcho {
        doc_type: non_empty(&q.doc_type).unwrap_or_default(),
        number: non_empty(&q.number).unwrap_or_default(),
        from: non_empty(&q.from).unwrap_or_default(),
        to: non_empty(&q.to).unwrap_or_default(),
        signer: non_empty(&q.signer).unwrap_or_default(),
        q: non_empty(&q.q).unwrap_or_default(),
    };
    let mut error = None;
    let mut rows = Vec::new();
    let mut next = None;
    match filter_of(&state, &q).await {
        Ok(filter) => match state
            .archive
            .search(&filter, q.limit.unwrap_or(50), non_empty(&q.cursor))
            .await
        {
            Ok((docs, cursor)) => {
                rows = docs.iter().map(doc_row).collect();
                next = cursor.map(|c| query_string(&echo, &c));
            }
            Err(e) => return page_fail(lang, e.into()),
        },
        Err(e) => {
            error = Some(
                e.fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", lang.pick(v)))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        }
    }
    let shell = Shell::signed_in(&page, &state, d.archive_title, "/arsip");
    html(
        StatusCode::OK,
        &ArchivePage {
            shell,
            d,
            q: echo,
            error,
            rows,
            next,
        },
    )
}

pub struct EventRow {
    pub at: String,
    pub who: String,
    pub action: String,
}

#[derive(Template)]
#[template(path = "archive_detail.html")]
struct DetailPage {
    shell: Shell,
    d: &'static DocTexts,
    doc: DocRow,
    sha256: String,
    size: u64,
    retention: String,
    active_until: String,
    inactive_until: String,
    parties: String,
    signers: Vec<SignatoryView>,
    events: Vec<EventRow>,
    verification_url: String,
}

async fn detail_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(doc_id): axum::extract::Path<String>,
) -> Response {
    let lang = page.lang;
    let doc = match document(&state, &doc_id).await {
        Ok(d) => d,
        Err(e) => return page_fail(lang, e),
    };
    if !may_retrieve(&page.id.0, &doc) {
        return error_page(lang, ErrorKind::Forbidden);
    }
    if let Err(e) = state
        .archive
        .record_view(&doc.id, &page.id.0.employee_id)
        .await
    {
        return page_fail(lang, e.into());
    }
    let events = match state.archive.audit().events_of(&doc.id).await {
        Ok(ev) => ev,
        Err(e) => return page_fail(lang, e.into()),
    };
    // Show names, not employee ids.
    let mut names = BTreeMap::new();
    for actor in events
        .iter()
        .map(|e| e.actor.clone())
        .collect::<BTreeSet<_>>()
    {
        let name = match state.org.employee(&actor).await {
            Ok(emp) => emp.name,
            Err(_) => actor.clone(),
        };
        names.insert(actor, name);
    }
    let d = texts(lang);
    let r = doc.retention;
    let view = DetailPage {
        shell: Shell::signed_in(&page, &state, d.detail_title, "/arsip"),
        d,
        doc: doc_row(&doc),
        sha256: doc.sha256.clone(),
        size: doc.size,
        retention: format!(
            "{} + {} ({})",
            r.active_years,
            r.inactive_years,
            lang.pick(&r.final_disposition.label())
        ),
        active_until: tanggal(doc.active_until),
        inactive_until: tanggal(doc.inactive_until),
        parties: doc.parties.join(", "),
        signers: doc
            .signers
            .iter()
            .map(|s| SignatoryView {
                name: s.name.clone(),
                nip: s.nip.clone(),
                jabatan: s.jabatan.clone(),
                signed_at: waktu_wib(s.signed_at),
            })
            .collect(),
        events: events
            .iter()
            .map(|e| EventRow {
                at: waktu_wib(e.at),
                who: names
                    .get(&e.actor)
                    .cloned()
                    .unwrap_or_else(|| e.actor.clone()),
                action: e.action.as_str().to_string(),
            })
            .collect(),
        verification_url: verification_url(&state, &doc.id),
    };
    html(StatusCode::OK, &view)
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn download_submit(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(doc_id): axum::extract::Path<String>,
    form: Result<axum::Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = page.lang;
    let sent = form.map(|axum::Form(f)| f.csrf).unwrap_or_default();
    if !same_token(&sent, &page.csrf) {
        return error_page(lang, ErrorKind::Forbidden);
    }
    let doc = match document(&state, &doc_id).await {
        Ok(d) => d,
        Err(e) => return page_fail(lang, e),
    };
    if !may_retrieve(&page.id.0, &doc) {
        return error_page(lang, ErrorKind::Forbidden);
    }
    match state
        .archive
        .download_link(&doc.id, &page.id.0.employee_id)
        .await
    {
        Ok(link) => Redirect::to(&link).into_response(),
        Err(e) => page_fail(lang, e.into()),
    }
}

#[derive(Template)]
#[template(path = "archive_retention.html")]
struct RetentionPage {
    shell: Shell,
    d: &'static DocTexts,
    year: i32,
    rows: Vec<DocRow>,
}

async fn retention_page(
    State(state): State<AppState>,
    page: Page,
    q: Result<axum::extract::Query<RetentionQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = page.lang;
    if !may_archive(&page.id.0) {
        return error_page(lang, ErrorKind::Forbidden);
    }
    let year = q
        .ok()
        .and_then(|axum::extract::Query(q)| q.year)
        .unwrap_or_else(|| state.clock.now().to_offset(paraf_core::WIB).year())
        .clamp(1900, 9999);
    let due = match state.archive.retention_report(year).await {
        Ok(d) => d,
        Err(e) => return page_fail(lang, e.into()),
    };
    let d = texts(lang);
    let rows = due
        .iter()
        .map(|(doc, due)| {
            let mut r = doc_row(doc);
            r.due = match due {
                Due::Transfer => d.due_transfer.to_string(),
                Due::Final(f) => lang.pick(&f.label()).to_string(),
            };
            r
        })
        .collect();
    html(
        StatusCode::OK,
        &RetentionPage {
            shell: Shell::signed_in(&page, &state, d.retention_title, "/arsip"),
            d,
            year,
            rows,
        },
    )
}

/// A verification result, formatted for reading.
pub struct CheckRow {
    pub field: String,
    pub signer: String,
    pub nip: String,
    pub at: String,
    pub valid: bool,
    pub changed: bool,
    /// What later revisions changed, allowed or not.
    pub changes: Vec<ChangeView>,
    pub problems: String,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    shell: Shell,
    d: &'static DocTexts,
    error: Option<String>,
    done: bool,
    all_valid: bool,
    sha256: String,
    revisions: usize,
    checks: Vec<CheckRow>,
    archived: Option<ArchiveMatch>,
}

fn verify_page(state: &AppState, page: &Page) -> VerifyPage {
    let d = texts(page.lang);
    VerifyPage {
        shell: Shell::signed_in(page, state, d.verify_title, "/verifikasi"),
        d,
        error: None,
        done: false,
        all_valid: false,
        sha256: String::new(),
        revisions: 0,
        checks: Vec::new(),
        archived: None,
    }
}

async fn verify_form(State(state): State<AppState>, page: Page) -> Response {
    html(StatusCode::OK, &verify_page(&state, &page))
}

/// Reads a multipart page form; `Err` is the response to send (CSRF refusal or a
/// message for the form).
async fn page_upload(
    state: &AppState,
    page: &Page,
    req: Request,
) -> Result<Upload, Result<Response, String>> {
    let lang = page.lang;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !ct.starts_with("multipart/form-data") {
        return Err(Ok(error_page(lang, ErrorKind::Malformed)));
    }
    let up = read_upload(req, state).await;
    // The token is checked before anything else is looked at.
    let sent = match &up {
        Ok(u) => u.fields.get("csrf").cloned().unwrap_or_default(),
        Err(_) => String::new(),
    };
    match up {
        Ok(u) if same_token(&sent, &page.csrf) => Ok(u),
        Ok(_) => Err(Ok(error_page(lang, ErrorKind::Forbidden))),
        Err(e) if e.kind == ErrorKind::PayloadTooLarge => Err(Err(format!(
            "{}: {}",
            texts(lang).f_file,
            lang.texts().err_too_large
        ))),
        Err(e) if !e.fields.is_empty() => Err(Err(field_errors(lang, &e))),
        Err(e) => Err(Ok(page_fail(lang, e))),
    }
}

fn field_errors(lang: Lang, e: &ApiError) -> String {
    let d = texts(lang);
    e.fields
        .iter()
        .map(|(k, v)| {
            let label = match k.as_str() {
                "file" => d.f_file,
                "title" => d.f_title,
                "page" => d.f_page,
                "position" => d.f_position,
                "number" => d.f_number,
                "classification" => d.f_classification,
                other => other,
            };
            format!("{label}: {}", lang.pick(v))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

async fn verify_submit(State(state): State<AppState>, page: Page, req: Request) -> Response {
    let lang = page.lang;
    let mut view = verify_page(&state, &page);
    let up = match page_upload(&state, &page, req).await {
        Ok(u) => u,
        Err(Ok(res)) => return res,
        Err(Err(msg)) => {
            view.error = Some(msg);
            return html(StatusCode::UNPROCESSABLE_ENTITY, &view);
        }
    };
    match verify_pdf(&state, &page.id.0.employee_id, up.pdf).await {
        Ok((report, archived)) => {
            let r = report_view(&report, archived.as_ref(), lang);
            view.done = true;
            view.all_valid = r.all_valid;
            view.sha256 = r.sha256;
            view.revisions = r.revisions;
            view.archived = r.archived;
            view.checks = report
                .signatures
                .iter()
                .map(|s| CheckRow {
                    field: s.field_name.clone(),
                    signer: s.signer_name.clone().unwrap_or_else(|| "-".into()),
                    nip: s.signer_nip.clone().unwrap_or_else(|| "-".into()),
                    at: s.signing_time.map(waktu_wib).unwrap_or_else(|| "-".into()),
                    valid: s.is_valid(),
                    changed: s.modification == Modification::ContentChanged,
                    changes: change_views(&s.changes, lang),
                    problems: s.problems.join("; "),
                })
                .collect();
            html(StatusCode::OK, &view)
        }
        Err(e) if e.kind == ErrorKind::Validation => {
            view.error = Some(field_errors(lang, &e));
            html(StatusCode::UNPROCESSABLE_ENTITY, &view)
        }
        Err(e) => page_fail(lang, e),
    }
}

#[derive(Template)]
#[template(path = "upload_sign.html")]
struct SignPage {
    shell: Shell,
    d: &'static DocTexts,
    error: Option<String>,
    title: String,
    number: String,
    classification: String,
    position: String,
    page_no: String,
    classifications: Vec<(String, String)>,
    positions: Vec<(&'static str, &'static str)>,
    signed: Option<SignedRow>,
}

pub struct SignedRow {
    pub id: String,
    pub title: String,
    pub sha256: String,
    pub download: String,
    pub verification_url: String,
}

fn sign_page(state: &AppState, page: &Page) -> SignPage {
    let d = texts(page.lang);
    SignPage {
        shell: Shell::signed_in(page, state, d.sign_title, "/dokumen/tandatangani"),
        d,
        error: None,
        title: String::new(),
        number: String::new(),
        classification: "TU".into(),
        position: "bottom-right".into(),
        page_no: "1".into(),
        classifications: JRA
            .iter()
            .map(|r| {
                (
                    r.prefix.to_string(),
                    format!("{} — {}", r.prefix, r.description),
                )
            })
            .collect(),
        positions: vec![
            ("bottom-right", d.pos_bottom_right),
            ("bottom-left", d.pos_bottom_left),
            ("top-right", d.pos_top_right),
            ("top-left", d.pos_top_left),
            ("invisible", d.pos_invisible),
        ],
        signed: None,
    }
}

async fn sign_form(State(state): State<AppState>, page: Page) -> Response {
    html(StatusCode::OK, &sign_page(&state, &page))
}

async fn sign_submit(State(state): State<AppState>, page: Page, req: Request) -> Response {
    let lang = page.lang;
    let mut view = sign_page(&state, &page);
    let up = match page_upload(&state, &page, req).await {
        Ok(u) => u,
        Err(Ok(res)) => return res,
        Err(Err(msg)) => {
            view.error = Some(msg);
            return html(StatusCode::UNPROCESSABLE_ENTITY, &view);
        }
    };
    let get = |k: &str| {
        up.fields
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    view.title = get("title").unwrap_or_default();
    view.number = get("number").unwrap_or_default();
    view.classification = get("classification").unwrap_or_else(|| "TU".into());
    view.position = get("position").unwrap_or_else(|| "invisible".into());
    view.page_no = get("page").unwrap_or_else(|| "1".into());
    let result = match sign_fields(get) {
        Ok(f) => sign_and_archive(&state, &page.id.0, up.pdf, f).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((doc, link)) => {
            view.signed = Some(SignedRow {
                id: doc.id.clone(),
                title: doc.title.clone(),
                sha256: doc.sha256.clone(),
                download: link,
                verification_url: verification_url(&state, &doc.id),
            });
            html(StatusCode::CREATED, &view)
        }
        Err(e) if matches!(e.kind, ErrorKind::Validation | ErrorKind::Conflict) => {
            view.error = Some(field_errors(lang, &e));
            html(e.kind.status(), &view)
        }
        Err(e) if e.kind == ErrorKind::Malformed => {
            view.error = e.detail.clone();
            html(StatusCode::BAD_REQUEST, &view)
        }
        Err(e) => page_fail(lang, e),
    }
}

#[derive(Template)]
#[template(path = "public_verify.html")]
struct PublicPage {
    shell: Shell,
    d: &'static DocTexts,
    doc: PublicDocumentView,
    archived: String,
    signers: Vec<PublicSignerView>,
}

async fn public_page(
    State(state): State<AppState>,
    lang: Lang,
    axum::extract::Path(doc_id): axum::extract::Path<String>,
) -> Response {
    let view = match public_view(&state, &doc_id).await {
        Ok(v) => v,
        Err(e) => return page_fail(lang, e),
    };
    let d = texts(lang);
    let t = lang.texts();
    // The instants in the view are RFC 3339; show them in WIB, the way letters do.
    let wib = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(waktu_wib)
            .unwrap_or_else(|_| s.to_string())
    };
    let signers = view
        .signers
        .iter()
        .map(|s| PublicSignerView {
            name: s.name.clone(),
            jabatan: s.jabatan.clone(),
            signed_at: wib(&s.signed_at),
        })
        .collect();
    let shell = Shell {
        t,
        title: d.public_title.to_string(),
        org_name: state.config.org_name.clone(),
        user: None,
        nav: Vec::new(),
        csrf: String::new(),
        flash: None,
    };
    html(
        StatusCode::OK,
        &PublicPage {
            shell,
            d,
            archived: wib(&view.archived_at),
            doc: view,
            signers,
        },
    )
}
