//! e-SPPD on the web and in the API: travel orders from draft to settlement, the SBM
//! rates, budget ceilings (pagu), the monthly cap, exports for finance, and the public
//! page where an official visited endorses a traveller's arrival.
//!
//! The rules live in [`paraf_core::travel`]; this module parses requests, stores uploads
//! in the blob store (`sppd/<order>/<uuid>`), and shows orders in the caller's language.

mod api;
mod forms;
mod pages;
mod subject;
mod texts;

pub use api::{
    api_routes, LinkBody, NoteBody, PaguBody, PaguView, ReportBody, SettingsView, StopBody,
    VerifyBody,
};
pub use forms::{CostUpload, FileUpload, ScanUpload, SppdForm, SppdUpdate};
pub use pages::{
    page_routes, CostRow, EstGroup, EstRow, Fact, LineRow, LinkRow, ListRow, StepRow, StopRow, Tab,
};
pub use subject::{task_details, TaskDetails};
pub use texts::{texts, SppdTexts, EN, ID};

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Multipart, Request};
use paraf_core::approvals::{Status as TaskStatus, TaskKind};
use paraf_core::format::tanggal;
use paraf_core::travel::{
    date_str, Attachment, Budget, Estimate, ListFilter, OrderStatus, Place, Stop, Travel,
    TravelOrder, Traveller,
};
use paraf_core::{Mail, Principal, PutBlob, Role, ServiceError, Text};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorKind};
use crate::i18n::Lang;
use crate::AppState;

/// Largest file accepted (attachment, photo, receipt, stamped scan).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Body limit of the upload routes: the file plus the form fields around it.
const MAX_FILE_BODY_BYTES: usize = MAX_FILE_BYTES + 256 * 1024;
const MAX_FIELD_BYTES: usize = 25_000;

fn travel(state: &AppState) -> Travel {
    Travel::new(state.table.clone(), state.clock.clone())
}

fn unavailable() -> ApiError {
    ApiError::internal(&ServiceError::Internal(
        "the workflow engine is not connected".into(),
    ))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

// ---------- views ----------

/// A travel order as the API shows it (never a blob key or a token hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub version: i64,
    /// `accepted`: payment approved by the PPK, the payment documents being signed.
    #[schema(value_type = paraf_core::travel::OrderStatus)]
    pub status: String,
    pub status_label: String,
    pub requester_id: String,
    pub requester_name: String,
    pub unit_id: String,
    pub ppk_id: String,
    pub ppk_name: String,
    pub pelaksana: Vec<Traveller>,
    pub pengikut: Vec<paraf_core::travel::Follower>,
    pub maksud: String,
    pub alat_angkut: String,
    pub tempat_berangkat: Place,
    pub tempat_tujuan: Place,
    /// YYYY-MM-DD.
    pub tanggal_berangkat: Option<String>,
    pub tanggal_kembali: Option<String>,
    /// Days, both ends counted.
    pub lama: Option<i64>,
    #[schema(value_type = paraf_core::travel::Category)]
    pub kategori: String,
    pub anggaran: Budget,
    pub keterangan: String,
    pub attachments: Vec<FileView>,
    /// The estimate fixed at submission, or (draft) computed now when the SBM allows.
    pub estimate: Option<Estimate>,
    pub chain: Vec<StepView>,
    /// The open approval task the caller may decide (`/tasks/{task_id}`).
    pub task_id: Option<String>,
    pub numbers: paraf_core::travel::Numbers,
    pub documents: DocumentsView,
    pub stops: Vec<StopView>,
    pub report: ReportView,
    pub actual: Vec<CostView>,
    pub verifications: Vec<paraf_core::travel::Verification>,
    /// A returned order (status `returned`): the reason, and who returned it.
    pub returned: Option<paraf_core::approvals::Note>,
    pub return_note: Option<String>,
    /// Signing of the order's documents that failed and is being retried or waits for an
    /// administrator (none while all goes well).
    pub signing: Option<crate::signing::SigningView>,
    pub timeline: Vec<TimelineView>,
    pub created: String,
    pub updated: String,
    /// What the caller may do now.
    pub may_edit: bool,
    pub may_withdraw: bool,
    pub may_report: bool,
    pub may_verify: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FileView {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// `GET` it (signed in, with access to the order).
    pub url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    pub step: u32,
    pub assignee: String,
    pub name: String,
    pub jabatan: String,
    #[schema(schema_with = crate::inbox::step_action_schema)]
    pub action: String,
    #[schema(schema_with = step_state_schema)]
    pub state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocLink {
    pub archive_id: String,
    pub kind: String,
    pub employee_id: Option<String>,
    /// The archive page.
    pub link: String,
    /// The public verification page (the QR code's target).
    pub verify: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentsView {
    pub spt: Option<DocLink>,
    pub sppd: Vec<DocLink>,
    pub settlement: Vec<DocLink>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndorsementView {
    pub nama: String,
    pub nip: Option<String>,
    pub jabatan: String,
    /// tautan (the official answered a link) or pindaian (a stamped scan was uploaded).
    #[schema(schema_with = endorsement_way_schema)]
    pub cara: String,
    pub scan: Option<FileView>,
    pub at: String,
}

fn endorsement_way_schema() -> utoipa::openapi::schema::Object {
    paraf_core::schema::one_of(&["tautan", "pindaian"])
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StopView {
    pub no: u32,
    pub tempat: String,
    pub tiba: String,
    pub berangkat: Option<String>,
    pub official_email: Option<String>,
    /// A link was sent and is still usable.
    pub link_pending: bool,
    pub endorsement: Option<EndorsementView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportView {
    pub hasil: String,
    pub kesimpulan: String,
    pub photos: Vec<FileView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CostView {
    pub id: String,
    pub employee_id: String,
    #[schema(schema_with = paraf_core::schema::actual_kind)]
    pub jenis: String,
    pub uraian: String,
    pub jumlah: i64,
    pub receipt: Option<FileView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineView {
    pub at: String,
    pub event: String,
    pub actor: Option<String>,
    pub text: String,
}

fn file_view(order: &str, a: &Attachment) -> FileView {
    FileView {
        id: a.id.clone(),
        name: a.name.clone(),
        content_type: a.content_type.clone(),
        size: a.size,
        sha256: a.sha256.clone(),
        url: format!("/api/v1/sppd/{order}/files/{}", a.id),
    }
}

fn doc_link(id: &str, kind: &str, employee_id: Option<String>) -> DocLink {
    DocLink {
        archive_id: id.to_string(),
        kind: kind.to_string(),
        employee_id,
        link: format!("/arsip/{id}"),
        verify: format!("/v/{id}"),
    }
}

fn step_state_schema() -> utoipa::openapi::schema::Object {
    paraf_core::schema::one_of(&["pending", "open", "approved", "returned", "rejected"])
}

fn step_state(s: &str) -> &'static str {
    match s {
        "approve" => "approved",
        "return" => "returned",
        "reject" => "rejected",
        _ => "pending",
    }
}

/// A draft or a returned order: its requester may still edit or withdraw it.
fn changeable(o: &TravelOrder) -> bool {
    matches!(o.status, OrderStatus::Draft | OrderStatus::Returned)
}

async fn order_view(
    state: &AppState,
    tr: &Travel,
    o: &TravelOrder,
    who: &Principal,
    lang: Lang,
) -> Result<OrderView, ApiError> {
    let mut chain: Vec<StepView> = o
        .chain
        .iter()
        .map(|c| StepView {
            step: c.step,
            assignee: c.assignee.clone(),
            name: c.name.clone(),
            jabatan: c.jabatan.clone(),
            action: c.action.clone(),
            state: "pending".into(),
        })
        .collect();
    let mut task_id = None;
    let mut returned = None;
    if let Some(exec) = &o.execution_id {
        let mut tasks = tr.approvals().tasks_of_execution(exec).await?;
        tasks.sort_by_key(|t| t.created);
        if o.status == OrderStatus::Returned {
            returned = tasks
                .iter()
                .rev()
                .filter(|t| t.kind == TaskKind::ApprovalStep)
                .filter_map(|t| t.decision_note())
                .find(|n| n.outcome == paraf_core::approvals::Outcome::Return);
        }
        for t in &tasks {
            if t.kind != TaskKind::ApprovalStep {
                continue;
            }
            if let Some(s) = chain.iter_mut().find(|s| s.step == t.step) {
                match (&t.decision, t.status) {
                    (Some(d), _) => s.state = step_state(d.outcome.as_str()).into(),
                    (None, TaskStatus::Open) => s.state = "open".into(),
                    _ => {}
                }
            }
            if t.is_open()
                && state.clock.now() < t.expires
                && tr.approvals().may_decide(t, who).await?
            {
                task_id = Some(t.id.clone());
            }
        }
    }
    if matches!(
        o.status,
        OrderStatus::Approved
            | OrderStatus::Reported
            | OrderStatus::Verified
            | OrderStatus::Accepted
            | OrderStatus::Completed
    ) {
        for s in &mut chain {
            s.state = "approved".into();
        }
    }
    let estimate = match (&o.estimate, o.status) {
        (Some(e), _) => Some(e.clone()),
        (None, OrderStatus::Draft | OrderStatus::Returned) if !o.pelaksana.is_empty() => {
            tr.estimate(o).await.ok()
        }
        _ => None,
    };
    let timeline = tr
        .timeline(o)
        .await?
        .into_iter()
        .map(|e| TimelineView {
            at: rfc3339(e.at),
            event: e.event,
            actor: e.actor,
            text: lang.pick(&e.text).to_string(),
        })
        .collect();
    let me = who.employee_id.as_str();
    let requester = o.requester_id == me;
    let now = state.clock.now();
    Ok(OrderView {
        id: o.id.clone(),
        version: o.version,
        status: o.status.as_str().into(),
        status_label: lang.pick(&o.status.label()).to_string(),
        requester_id: o.requester_id.clone(),
        requester_name: o.requester_name.clone(),
        unit_id: o.unit_id.clone(),
        ppk_id: o.ppk_id.clone(),
        ppk_name: o.ppk_name.clone(),
        pelaksana: o.pelaksana.clone(),
        pengikut: o.pengikut.clone(),
        maksud: o.maksud.clone(),
        alat_angkut: o.alat_angkut.clone(),
        tempat_berangkat: o.tempat_berangkat.clone(),
        tempat_tujuan: o.tempat_tujuan.clone(),
        tanggal_berangkat: o.tanggal_berangkat.map(date_str),
        tanggal_kembali: o.tanggal_kembali.map(date_str),
        lama: o.lama(),
        kategori: o.kategori.as_str().into(),
        anggaran: o.anggaran.clone(),
        keterangan: o.keterangan.clone(),
        attachments: o.attachments.iter().map(|a| file_view(&o.id, a)).collect(),
        estimate,
        chain,
        task_id,
        numbers: o.numbers.clone(),
        documents: DocumentsView {
            spt: o.documents.spt.as_deref().map(|d| doc_link(d, "spt", None)),
            // One SPPD per traveller, in the order of `pelaksana` (as the sign task
            // makes them).
            sppd: o
                .documents
                .sppd
                .iter()
                .zip(&o.pelaksana)
                .map(|(d, t)| doc_link(d, "sppd", Some(t.employee_id.clone())))
                .collect(),
            settlement: o
                .documents
                .settlement
                .iter()
                .map(|d| doc_link(&d.document_id, &d.kind, d.employee_id.clone()))
                .collect(),
        },
        stops: o.stops.iter().map(|s| stop_view(&o.id, s, now)).collect(),
        report: ReportView {
            hasil: o.report.hasil.clone(),
            kesimpulan: o.report.kesimpulan.clone(),
            photos: o
                .report
                .photos
                .iter()
                .map(|a| file_view(&o.id, a))
                .collect(),
        },
        actual: o
            .actual
            .iter()
            .map(|c| CostView {
                id: c.id.clone(),
                employee_id: c.employee_id.clone(),
                jenis: c.jenis.clone(),
                uraian: c.uraian.clone(),
                jumlah: c.jumlah,
                receipt: c.receipt.as_ref().map(|a| file_view(&o.id, a)),
            })
            .collect(),
        verifications: o.verifications.clone(),
        returned,
        return_note: o.return_note.clone(),
        signing: crate::signing::open_step_of(state, paraf_core::travel::SERVICE, &o.id)
            .await?
            .map(|s| crate::signing::signing_view(&s, who, lang)),
        timeline,
        created: rfc3339(o.created),
        updated: rfc3339(o.updated),
        may_edit: requester && changeable(o),
        may_withdraw: requester && changeable(o),
        may_report: (requester || o.is_traveller(me)) && o.status == OrderStatus::Approved,
        may_verify: match o.status {
            OrderStatus::Reported => who.has(Role::Bendahara),
            OrderStatus::Verified => o.ppk_id == me || (who.has(Role::Ppk) && who.has(Role::Admin)),
            _ => false,
        },
    })
}

fn stop_view(order: &str, s: &Stop, now: time::OffsetDateTime) -> StopView {
    StopView {
        no: s.no,
        tempat: s.tempat.clone(),
        tiba: date_str(s.tiba),
        berangkat: s.berangkat.map(date_str),
        official_email: s.official_email.clone(),
        link_pending: s.endorsement.is_none()
            && s.token_hash.is_some()
            && s.token_expires.is_some_and(|t| now < t),
        endorsement: s.endorsement.as_ref().map(|e| EndorsementView {
            nama: e.nama.clone(),
            nip: e.nip.clone(),
            jabatan: e.jabatan.clone(),
            cara: e.cara.clone(),
            scan: e.scan.as_ref().map(|a| file_view(order, a)),
            at: rfc3339(e.at),
        }),
    }
}

/// One line of an order list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SummaryView {
    pub id: String,
    #[schema(value_type = paraf_core::travel::OrderStatus)]
    pub status: String,
    pub status_label: String,
    pub maksud: String,
    pub tujuan: String,
    pub tanggal_berangkat: Option<String>,
    pub tanggal_kembali: Option<String>,
    pub lama: Option<i64>,
    pub pelaksana: Vec<String>,
    pub requester: String,
    /// The estimate fixed at submission (none for a draft).
    pub total: Option<i64>,
    pub spt: Option<String>,
    /// The approval task waiting for the caller (scope=approve).
    pub task_id: Option<String>,
}

fn summary(o: &TravelOrder, lang: Lang, task_id: Option<String>) -> SummaryView {
    SummaryView {
        id: o.id.clone(),
        status: o.status.as_str().into(),
        status_label: lang.pick(&o.status.label()).to_string(),
        maksud: o.maksud.clone(),
        tujuan: o.tempat_tujuan.label(),
        tanggal_berangkat: o.tanggal_berangkat.map(date_str),
        tanggal_kembali: o.tanggal_kembali.map(date_str),
        lama: o.lama(),
        pelaksana: o.pelaksana.iter().map(|t| t.nama.clone()).collect(),
        requester: o.requester_name.clone(),
        total: o.estimate.as_ref().map(|e| e.total),
        spt: o.numbers.spt.clone(),
        task_id,
    }
}

// ---------- lists (API and pages) ----------

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
pub struct ListQuery {
    /// mine (default), approve or all (admin, PPK, bendahara).
    pub scope: Option<String>,
    pub status: Option<String>,
    /// Unit id or code.
    pub unit: Option<String>,
    /// YYYY-MM: trips departing in that month.
    pub month: Option<String>,
    /// Part of the destination province or city.
    pub destination: Option<String>,
    /// csv or xlsx (export only).
    pub format: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

async fn list_filter(state: &AppState, q: &ListQuery) -> Result<ListFilter, ApiError> {
    let mut f = ListFilter::default();
    let mut e = ApiError::new(ErrorKind::Validation);
    if let Some(s) = non_empty(&q.status) {
        match OrderStatus::parse(s) {
            Some(s) => f.status = Some(s),
            None => {
                e.fields.insert(
                    "status".into(),
                    Text::new(
                        format!("status tidak dikenal: {s}"),
                        format!("unknown status: {s}"),
                    ),
                );
            }
        }
    }
    if let Some(m) = non_empty(&q.month) {
        match parse_month(m) {
            Some(ym) => f.month = Some(ym),
            None => {
                e.fields.insert(
                    "month".into(),
                    Text::new("bulan harus berbentuk TTTT-BB", "the month must be YYYY-MM"),
                );
            }
        }
    }
    if !e.fields.is_empty() {
        return Err(e);
    }
    if let Some(u) = non_empty(&q.unit) {
        f.unit_id = Some(match state.org.find_unit(u).await? {
            Some(unit) => unit.id,
            None => u.to_string(),
        });
    }
    f.destination = non_empty(&q.destination).map(str::to_string);
    Ok(f)
}

fn parse_month(m: &str) -> Option<(i32, u8)> {
    let (y, mo) = m.split_once('-')?;
    if y.len() != 4 || mo.len() != 2 {
        return None;
    }
    let y: i32 = y.parse().ok()?;
    let mo: u8 = mo.parse().ok()?;
    ((1..=12).contains(&mo) && (2000..=2100).contains(&y)).then_some((y, mo))
}

/// Orders and, for scope=approve, the task waiting for the caller.
async fn list_orders(
    state: &AppState,
    who: &Principal,
    q: &ListQuery,
) -> Result<Vec<(TravelOrder, Option<String>)>, ApiError> {
    let tr = travel(state);
    let f = list_filter(state, q).await?;
    let keep = |o: &TravelOrder| {
        f.status.is_none_or(|s| s == o.status)
            && f.unit_id.as_deref().is_none_or(|u| u == o.unit_id)
            && f.month.is_none_or(|(y, m)| {
                o.tanggal_berangkat
                    .is_some_and(|d| d.year() == y && d.month() as u8 == m)
            })
            && f.destination.as_deref().is_none_or(|d| {
                format!("{} {}", o.tempat_tujuan.provinsi, o.tempat_tujuan.kota)
                    .to_lowercase()
                    .contains(&d.to_lowercase())
            })
    };
    match non_empty(&q.scope).unwrap_or("mine") {
        "mine" => Ok(tr
            .mine(who)
            .await?
            .into_iter()
            .filter(|o| keep(o))
            .map(|o| (o, None))
            .collect()),
        "approve" => Ok(tr
            .to_approve(who)
            .await?
            .into_iter()
            .filter(|(o, _)| keep(o))
            .map(|(o, t)| (o, Some(t.id)))
            .collect()),
        "all" => Ok(tr
            .all(who, &f)
            .await?
            .into_iter()
            .map(|o| (o, None))
            .collect()),
        other => Err(ApiError::validation(
            "scope",
            Text::new(
                format!("harus mine, approve atau all (bukan {other})"),
                format!("must be mine, approve or all (not {other})"),
            ),
        )),
    }
}

// ---------- uploads ----------

/// An uploaded file and the text fields sent with it.
struct FilePart {
    name: String,
    bytes: Vec<u8>,
}

struct Upload {
    file: Option<FilePart>,
    fields: BTreeMap<String, String>,
}

impl Upload {
    fn field(&self, k: &str) -> String {
        self.fields.get(k).cloned().unwrap_or_default()
    }
}

async fn read_multipart(req: Request, state: &AppState) -> Result<Upload, ApiError> {
    let mut mp = Multipart::from_request(req, state).await?;
    let mut file = None;
    let mut fields = BTreeMap::new();
    while let Some(mut field) = mp.next_field().await? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let fname = field.file_name().unwrap_or("berkas").to_string();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await? {
                if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                    return Err(too_big());
                }
                bytes.extend_from_slice(&chunk);
            }
            if !bytes.is_empty() {
                file = Some(FilePart { name: fname, bytes });
            }
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
    Ok(Upload { file, fields })
}

fn too_big() -> ApiError {
    ApiError::validation(
        "file",
        Text::new(
            "berkas paling besar 10 MB",
            "the file must be at most 10 MB",
        ),
    )
}

/// The content type of an accepted file, from its first bytes (never from the client).
fn sniff(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let s: String = base
        .chars()
        .filter(|c| !paraf_core::types::is_forbidden_char(*c) && !c.is_control() && *c != '"')
        .take(120)
        .collect();
    if s.trim().is_empty() {
        "berkas".into()
    } else {
        s.trim().to_string()
    }
}

/// Checks and stores an uploaded file under `sppd/<order>/<uuid>`.
async fn store(
    state: &AppState,
    order: &str,
    who: &Principal,
    f: FilePart,
) -> Result<Attachment, ApiError> {
    if f.bytes.len() > MAX_FILE_BYTES {
        return Err(too_big());
    }
    let ct = sniff(&f.bytes).ok_or_else(|| {
        ApiError::validation(
            "file",
            Text::new(
                "hanya gambar (JPEG, PNG, WebP) atau PDF yang diterima",
                "only images (JPEG, PNG, WebP) or PDFs are accepted",
            ),
        )
    })?;
    let aid = uuid::Uuid::new_v4().simple().to_string();
    let key = format!("sppd/{order}/{aid}");
    let sha = hex(&Sha256::digest(&f.bytes));
    let size = f.bytes.len() as u64;
    let name = safe_name(&f.name);
    let mut metadata = BTreeMap::new();
    metadata.insert("order".to_string(), order.to_string());
    metadata.insert("uploaded_by".to_string(), who.employee_id.clone());
    state
        .blobs
        .put(PutBlob {
            key: key.clone(),
            bytes: f.bytes,
            content_type: ct.into(),
            metadata,
            if_absent: true,
            retain_until: None,
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Attachment {
        id: aid,
        name,
        content_type: ct.into(),
        size,
        sha256: sha,
        key,
        uploaded_by: who.employee_id.clone(),
        uploaded_at: state.clock.now(),
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn file_required() -> ApiError {
    ApiError::validation("file", Text::new("wajib diisi", "is required"))
}

/// Loads the order for a change by `who`, so an unknown order is 404 and a stranger 403
/// before anything is stored.
async fn viewable(tr: &Travel, oid: &str, who: &Principal) -> Result<TravelOrder, ApiError> {
    let o = tr.load(oid).await?;
    if !tr.may_view(&o, who).await? {
        return Err(ApiError::forbidden());
    }
    Ok(o)
}

fn may_see_all(p: &Principal) -> bool {
    p.has(Role::Admin) || p.has(Role::Ppk) || p.has(Role::Bendahara)
}

/// Reads the multipart body of an upload to order `oid` by `who` (API and pages alike):
/// an unknown order is 404 and a stranger 403 before the body is read.
async fn upload(
    state: &AppState,
    oid: &str,
    who: &Principal,
    req: Request,
) -> Result<Upload, ApiError> {
    viewable(&travel(state), oid, who).await?;
    read_multipart(req, state).await
}

// ---------- changes to an order ----------

/// A change to an order. The API handlers and the page forms only read their input into
/// one of these and show the outcome; [`act`] does the change for both.
enum Act {
    Submit,
    Resubmit,
    Withdraw {
        note: String,
    },
    AddStop {
        tempat: String,
        tiba: String,
        berangkat: Option<String>,
    },
    Link {
        no: u32,
        email: String,
    },
    Report {
        hasil: String,
        kesimpulan: String,
    },
    SubmitReport,
    RemoveCost {
        cost: String,
    },
    Verify {
        decision: String,
        note: String,
    },
    /// `file`.
    Attachment(Upload),
    /// `file`.
    Photo(Upload),
    /// `file`, `nama`, `nip`, `jabatan` for stop `no`.
    Scan {
        no: u32,
        up: Upload,
    },
    /// `pelaksana`, `jenis`, `uraian`, `jumlah`, optional `file` (receipt).
    Cost(Upload),
}

/// Does a change to order `oid` by `who`, whether asked through the API or a page.
async fn act(
    state: &AppState,
    tr: &Travel,
    oid: &str,
    who: &Principal,
    change: Act,
) -> Result<TravelOrder, ApiError> {
    let workflows = || state.workflows.clone().ok_or_else(unavailable);
    let o = match change {
        Act::Submit => {
            let wf = workflows()?;
            tr.submit(oid, who, wf.as_ref()).await?
        }
        Act::Resubmit => {
            let wf = workflows()?;
            tr.resubmit(oid, who, wf.as_ref()).await?
        }
        Act::Withdraw { note } => {
            let wf = workflows()?;
            tr.withdraw(oid, who, &note, wf.as_ref()).await?
        }
        Act::AddStop {
            tempat,
            tiba,
            berangkat,
        } => {
            tr.add_stop(oid, who, &tempat, &tiba, berangkat.as_deref())
                .await?
        }
        Act::Link { no, email } => send_link(state, tr, oid, who, no, &email).await?,
        Act::Report { hasil, kesimpulan } => tr.set_report(oid, who, &hasil, &kesimpulan).await?,
        Act::SubmitReport => {
            let o = tr.submit_report(oid, who).await?;
            next_verifier(state, &o).await;
            o
        }
        Act::RemoveCost { cost } => tr.remove_cost(oid, who, &cost).await?,
        Act::Verify { decision, note } => verify(state, tr, oid, who, &decision, &note).await?,
        Act::Attachment(up) => {
            let f = up.file.ok_or_else(file_required)?;
            let a = store(state, oid, who, f).await?;
            tr.add_attachment(oid, who, a).await?
        }
        Act::Photo(up) => {
            let f = up.file.ok_or_else(file_required)?;
            let a = store(state, oid, who, f).await?;
            tr.add_photo(oid, who, a).await?
        }
        Act::Scan { no, up } => {
            let nip = up.field("nip");
            let (nama, jabatan) = (up.field("nama"), up.field("jabatan"));
            let f = up.file.ok_or_else(file_required)?;
            let a = store(state, oid, who, f).await?;
            let nip = (!nip.is_empty()).then_some(nip.as_str());
            tr.endorse_by_scan(oid, who, no, &nama, nip, &jabatan, a)
                .await?
        }
        Act::Cost(up) => {
            let jumlah: i64 = up
                .field("jumlah")
                .replace(['.', ' '], "")
                .parse()
                .map_err(|_| {
                    ApiError::validation(
                        "jumlah",
                        Text::new(
                            "harus rupiah bulat lebih dari 0",
                            "must be whole rupiah above 0",
                        ),
                    )
                })?;
            let (pelaksana, jenis, uraian) =
                (up.field("pelaksana"), up.field("jenis"), up.field("uraian"));
            let receipt = match up.file {
                Some(f) => Some(store(state, oid, who, f).await?),
                None => None,
            };
            tr.add_cost(oid, who, &pelaksana, &jenis, &uraian, jumlah, receipt)
                .await?
        }
    };
    Ok(o)
}

async fn send_link(
    state: &AppState,
    tr: &Travel,
    oid: &str,
    who: &Principal,
    no: u32,
    email: &str,
) -> Result<TravelOrder, ApiError> {
    let (o, token) = tr.endorsement_link(oid, who, no, email).await?;
    let link = format!("{}/sppd/pengesahan/{token}", state.config.public_base_url);
    let names: Vec<String> = o.pelaksana.iter().map(|t| t.nama.clone()).collect();
    let tempat = o
        .stops
        .iter()
        .find(|s| s.no == no)
        .map(|s| s.tempat.clone())
        .unwrap_or_default();
    let dates = match (o.tanggal_berangkat, o.tanggal_kembali) {
        (Some(a), Some(b)) => format!("{} – {}", tanggal(a), tanggal(b)),
        _ => String::new(),
    };
    let text = format!(
        "Yth. Bapak/Ibu,\n\n{who} memohon pengesahan kedatangan {names} di {tempat} \
         dalam rangka perjalanan dinas ke {tujuan} ({dates}).\n\nBuka tautan berikut untuk \
         mengesahkan (tautan hanya dapat dipakai sekali dan berlaku 14 hari):\n{link}\n\n\
         ---\n\n{who} asks you to endorse the arrival of {names} at {tempat} on an official \
         trip to {tujuan} ({dates}).\n\nOpen this link to endorse it (it works once and for \
         14 days):\n{link}\n",
        who = who.name,
        names = names.join(", "),
        tujuan = o.tempat_tujuan.label(),
    );
    let mail = Mail {
        to: vec![email.trim().to_string()],
        subject: format!("Pengesahan kedatangan SPPD / Arrival endorsement: {tempat}"),
        text,
        html: None,
        links: vec![link],
    };
    if let Err(e) = state.mailer.send(mail).await {
        tracing::warn!(order = %o.id, error = %e, "mailing the endorsement link failed");
        return Err(ApiError::internal(&e));
    }
    Ok(o)
}

/// Mails whoever verifies the trip report next (nobody when no one does).
async fn next_verifier(state: &AppState, o: &TravelOrder) {
    let ctx = crate::documents::sign_context(state);
    paraf_tasks::travel::mail_next_verifier(&ctx, state.mailer.as_ref(), o).await;
}

async fn verify(
    state: &AppState,
    tr: &Travel,
    oid: &str,
    who: &Principal,
    decision: &str,
    note: &str,
) -> Result<TravelOrder, ApiError> {
    let accept = match decision.trim() {
        "accept" => true,
        "return" => false,
        _ => {
            return Err(ApiError::validation(
                "decision",
                Text::new("harus accept atau return", "must be accept or return"),
            ))
        }
    };
    let (o, settle) = tr.verify(oid, who, accept, note).await?;
    if !settle {
        next_verifier(state, &o).await;
        return Ok(o);
    }
    // The PPK's decision stands whatever happens to the signing: a failure is recorded
    // on the order as a stuck sign step (shown with it, listed for administrators).
    let ctx = crate::documents::sign_context(state);
    match paraf_tasks::travel::settle_recorded(&ctx, tr, oid).await {
        Ok(done) => Ok(done),
        Err(_) => Ok(tr.load(oid).await?),
    }
}
