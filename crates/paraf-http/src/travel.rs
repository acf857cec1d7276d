//! e-SPPD on the web and in the API: travel orders from draft to settlement, the SBM
//! rates, budget ceilings (pagu), the monthly cap, exports for finance, and the public
//! page where an official visited endorses a traveller's arrival.
//!
//! The rules live in [`paraf_core::travel`]; this module parses requests, stores uploads
//! in the blob store (`sppd/<order>/<uuid>`), and shows orders in the caller's language.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use paraf_core::approvals::{Status as TaskStatus, TaskKind};
use paraf_core::format::{rupiah, tanggal, waktu_wib};
use paraf_core::travel::{
    date_str, parse_date, settle_person, Attachment, Budget, Category, Estimate, Follower,
    ListFilter, OrderInput, OrderStatus, Place, SbmInput, Stop, Travel, TravelOrder, Traveller,
    ACTUAL_KINDS, TRANSPORT_MODES,
};
use paraf_core::{Mail, Principal, PutBlob, Role, ServiceError, Text};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody, ErrorKind, Json, Path, Query};
use crate::export::{Cell, Format, Sheet};
use crate::i18n::Lang;
use crate::identity::Identity;
use crate::pages::{error_page, render, ErrorLine, FieldView, FormView, Page, Shell};
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

// ---------- routes ----------

pub fn api_routes() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(add_attachment_api))
        .routes(routes!(scan_api))
        .routes(routes!(photo_api))
        .routes(routes!(add_cost_api))
        .layer(DefaultBodyLimit::max(MAX_FILE_BODY_BYTES));
    OpenApiRouter::new()
        .routes(routes!(list_api, create_api))
        .routes(routes!(export_api))
        .routes(routes!(estimate_api))
        .routes(routes!(settings_get_api, settings_put_api))
        .routes(routes!(get_api, update_api))
        .routes(routes!(file_api))
        .routes(routes!(submit_api))
        .routes(routes!(resubmit_api))
        .routes(routes!(withdraw_api))
        .routes(routes!(add_stop_api))
        .routes(routes!(link_api))
        .routes(routes!(report_api))
        .routes(routes!(remove_cost_api))
        .routes(routes!(submit_report_api))
        .routes(routes!(verify_api))
        .routes(routes!(sbm_get_api, sbm_put_api))
        .routes(routes!(sbm_history_api))
        .routes(routes!(pagu_list_api))
        .routes(routes!(pagu_put_api))
        .merge(uploads)
}

pub fn page_routes() -> Router<AppState> {
    let uploads = Router::new()
        .route("/sppd/{id}/singgah/{no}/pindaian", post(page_scan))
        .route("/sppd/{id}/foto", post(page_photo))
        .route("/sppd/{id}/biaya", post(page_cost))
        .layer(DefaultBodyLimit::max(MAX_FILE_BODY_BYTES));
    Router::new()
        .route("/sppd", get(list_page))
        .route("/sppd/baru", get(new_page).post(new_submit))
        .route(
            "/sppd/pengesahan/{token}",
            get(endorse_page).post(endorse_submit),
        )
        .route("/sppd/{id}", get(detail_page))
        .route("/sppd/{id}/ubah", get(edit_page).post(edit_submit))
        .route("/sppd/{id}/ajukan", post(page_submit))
        .route("/sppd/{id}/tarik", post(page_withdraw))
        .route("/sppd/{id}/singgah", post(page_stop))
        .route("/sppd/{id}/singgah/{no}/tautan", post(page_link))
        .route("/sppd/{id}/laporan", post(page_report))
        .route("/sppd/{id}/laporan/ajukan", post(page_submit_report))
        .route("/sppd/{id}/biaya/{cost}/hapus", post(page_remove_cost))
        .route("/sppd/{id}/verifikasi", post(page_verify))
        .merge(uploads)
}

// ---------- views ----------

/// A travel order as the API shows it (never a blob key or a token hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub version: i64,
    /// draft, submitted, returned, rejected, withdrawn, approved, reported, verified, completed.
    pub status: String,
    pub status_label: String,
    pub requester_id: String,
    pub requester_name: String,
    pub unit_id: String,
    pub ppk_id: String,
    pub ppk_name: String,
    #[schema(value_type = Vec<Object>)]
    pub pelaksana: Vec<Traveller>,
    #[schema(value_type = Vec<Object>)]
    pub pengikut: Vec<paraf_core::travel::Follower>,
    pub maksud: String,
    pub alat_angkut: String,
    #[schema(value_type = Object)]
    pub tempat_berangkat: Place,
    #[schema(value_type = Object)]
    pub tempat_tujuan: Place,
    /// YYYY-MM-DD.
    pub tanggal_berangkat: Option<String>,
    pub tanggal_kembali: Option<String>,
    /// Days, both ends counted.
    pub lama: Option<i64>,
    /// luar_kota, dalam_kota or diklat.
    pub kategori: String,
    #[schema(value_type = Object)]
    pub anggaran: Budget,
    pub keterangan: String,
    pub attachments: Vec<FileView>,
    /// The estimate fixed at submission, or (draft) computed now when the SBM allows.
    #[schema(value_type = Option<Object>)]
    pub estimate: Option<Estimate>,
    pub chain: Vec<StepView>,
    /// The open approval task the caller may decide (`/tasks/{task_id}`).
    pub task_id: Option<String>,
    #[schema(value_type = Object)]
    pub numbers: paraf_core::travel::Numbers,
    pub documents: DocumentsView,
    pub stops: Vec<StopView>,
    pub report: ReportView,
    pub actual: Vec<CostView>,
    #[schema(value_type = Vec<Object>)]
    pub verifications: Vec<paraf_core::travel::Verification>,
    pub return_note: Option<String>,
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
    /// paraf or sign.
    pub action: String,
    /// pending, open, approved, returned, rejected.
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
    /// tautan (link) or pindaian (scan).
    pub cara: String,
    pub scan: Option<FileView>,
    pub at: String,
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
    if let Some(exec) = &o.execution_id {
        let mut tasks = tr.approvals().tasks_of_execution(exec).await?;
        tasks.sort_by_key(|t| t.created);
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
            sppd: o
                .documents
                .sppd
                .iter()
                .map(|d| doc_link(d, "sppd", None))
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
        return_note: o.return_note.clone(),
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

// ---------- list and export ----------

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

/// Travel orders: the caller's (mine), waiting for their approval (approve), or all
/// (admin, PPK, bendahara), filtered.
#[utoipa::path(get, path = "/api/v1/sppd", tag = "sppd", params(ListQuery),
    responses((status = 200, body = Vec<SummaryView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<SummaryView>>, ApiError> {
    let rows = list_orders(&state, &id.0, &q).await?;
    Ok(Json(
        rows.iter()
            .map(|(o, t)| summary(o, lang, t.clone()))
            .collect(),
    ))
}

async fn export_sheet(state: &AppState, orders: &[TravelOrder], lang: Lang) -> Sheet {
    let tr = travel(state);
    let headers = [
        ("Nomor SPT", "SPT number"),
        ("Nomor SPPD", "SPPD number"),
        ("Status", "Status"),
        ("Nama", "Name"),
        ("NIP", "NIP"),
        ("Unit", "Unit"),
        ("Tujuan", "Destination"),
        ("Berangkat", "Departure"),
        ("Kembali", "Return"),
        ("Lama (hari)", "Days"),
        ("Akun", "Account"),
        ("Perkiraan biaya", "Estimated cost"),
        ("Biaya dibayar", "Amount paid"),
    ];
    let mut units: BTreeMap<String, String> = BTreeMap::new();
    let mut rows = Vec::new();
    for o in orders {
        let sbm = if o.status == OrderStatus::Completed {
            tr.sbm_of(o).await.ok()
        } else {
            None
        };
        for (i, t) in o.pelaksana.iter().enumerate() {
            if !units.contains_key(&t.unit_id) {
                let name = state
                    .org
                    .unit(&t.unit_id)
                    .await
                    .map(|u| u.name)
                    .unwrap_or_else(|_| t.unit_id.clone());
                units.insert(t.unit_id.clone(), name);
            }
            let est = o
                .estimate
                .as_ref()
                .and_then(|e| e.per_person.iter().find(|p| p.employee_id == t.employee_id))
                .map(|p| Cell::Int(p.total))
                .unwrap_or(Cell::Empty);
            let paid = sbm
                .as_ref()
                .map(|s| Cell::Int(settle_person(s, o, t).total))
                .unwrap_or(Cell::Empty);
            let text = |s: Option<String>| s.map(Cell::Text).unwrap_or(Cell::Empty);
            rows.push(vec![
                text(o.numbers.spt.clone()),
                text(o.numbers.sppd.get(i).cloned()),
                Cell::Text(lang.pick(&o.status.label()).to_string()),
                Cell::Text(t.nama.clone()),
                Cell::Text(t.nip.clone()),
                Cell::Text(units.get(&t.unit_id).cloned().unwrap_or_default()),
                Cell::Text(o.tempat_tujuan.label()),
                o.tanggal_berangkat.map(Cell::Date).unwrap_or(Cell::Empty),
                o.tanggal_kembali.map(Cell::Date).unwrap_or(Cell::Empty),
                o.lama().map(Cell::Int).unwrap_or(Cell::Empty),
                Cell::Text(o.anggaran.akun.clone()),
                est,
                paid,
            ]);
        }
    }
    Sheet {
        title: "SPPD".into(),
        headers: headers
            .iter()
            .map(|(i, e)| if lang == Lang::En { *e } else { *i }.to_string())
            .collect(),
        rows,
    }
}

/// All orders (admin, PPK, bendahara) as CSV or XLSX, one row per traveller.
#[utoipa::path(get, path = "/api/v1/sppd/export", tag = "sppd", params(ListQuery),
    responses((status = 200, description = "text/csv or XLSX"), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn export_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let format = Format::parse(non_empty(&q.format).unwrap_or("")).ok_or_else(|| {
        ApiError::validation(
            "format",
            Text::new("harus csv atau xlsx", "must be csv or xlsx"),
        )
    })?;
    let f = list_filter(&state, &q).await?;
    let orders = travel(&state).all(&id.0, &f).await?;
    let sheet = export_sheet(&state, &orders, lang).await;
    let stem = format!("sppd-{}", date_str(state.clock.now().date()));
    crate::export::respond(&sheet, format, &stem)
}

// ---------- the order ----------

/// Saves a new draft.
#[utoipa::path(post, path = "/api/v1/sppd", tag = "sppd", request_body = Object,
    responses((status = 201, body = OrderView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Json(input): Json<OrderInput>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let tr = travel(&state);
    let o = tr.create_draft(&id.0, input).await?;
    Ok((
        StatusCode::CREATED,
        answer(&state, &tr, &o, &id.0, lang).await?,
    ))
}

/// A transient order built like a draft, for the estimate (nothing is saved).
async fn transient(
    tr: &Travel,
    who: &Principal,
    input: &OrderInput,
) -> Result<TravelOrder, ApiError> {
    let mut e = ApiError::new(ErrorKind::Validation);
    let mut pelaksana = Vec::new();
    for (i, p) in input.pelaksana.iter().take(20).enumerate() {
        match tr.org().find_employee(p.trim()).await?.filter(|e| e.active) {
            Some(emp) => {
                let unit = tr.org().unit(&emp.unit_id).await?;
                let heads = (unit.head_id.as_deref() == Some(emp.id.as_str())).then_some(unit.kind);
                pelaksana.push(Traveller {
                    employee_id: emp.id.clone(),
                    nama: emp.name.clone(),
                    nip: emp.nip.to_string(),
                    pangkat: emp.pangkat.clone(),
                    golongan: emp.golongan.clone(),
                    jabatan: emp.jabatan.clone(),
                    unit_id: emp.unit_id.clone(),
                    tingkat: paraf_core::travel::grade_of(&emp, heads),
                });
            }
            None => {
                e.fields.insert(
                    format!("pelaksana.{i}"),
                    Text::new("pegawai tidak ditemukan", "employee not found"),
                );
            }
        }
    }
    let date = |field: &str, s: &Option<String>, e: &mut ApiError| match non_empty(s) {
        None => None,
        Some(s) => {
            let d = parse_date(s);
            if d.is_none() {
                e.fields.insert(
                    field.into(),
                    Text::new(
                        "tanggal harus berbentuk TTTT-BB-HH",
                        "the date must be YYYY-MM-DD",
                    ),
                );
            }
            d
        }
    };
    let dep = date("tanggal_berangkat", &input.tanggal_berangkat, &mut e);
    let ret = date("tanggal_kembali", &input.tanggal_kembali, &mut e);
    if let (Some(a), Some(b)) = (dep, ret) {
        if b < a {
            e.fields.insert(
                "tanggal_kembali".into(),
                Text::new(
                    "tanggal kembali sebelum tanggal berangkat",
                    "the return date is before the departure date",
                ),
            );
        }
    }
    if !e.fields.is_empty() {
        return Err(e);
    }
    let from = input
        .tempat_berangkat
        .clone()
        .unwrap_or_else(paraf_core::travel::home);
    let to = input.tempat_tujuan.clone().unwrap_or_default();
    let kategori = non_empty(&input.kategori)
        .and_then(Category::parse)
        .unwrap_or(
            if !to.kota.is_empty() && to.kota.eq_ignore_ascii_case(&from.kota) {
                Category::DalamKota
            } else {
                Category::LuarKota
            },
        );
    let now = tr.now();
    // Built from a JSON draft so the shape stays the domain's own.
    let o = serde_json::json!({
        "id": "estimate", "version": 0, "status": "draft",
        "requester_id": who.employee_id, "requester_name": who.name, "unit_id": "",
        "ppk_id": "", "ppk_name": "", "pelaksana": pelaksana, "pengikut": [],
        "maksud": input.maksud, "alat_angkut": input.alat_angkut.trim().to_lowercase(),
        "tempat_berangkat": from, "tempat_tujuan": to,
        "tanggal_berangkat": dep.map(date_str), "tanggal_kembali": ret.map(date_str),
        "kategori": kategori, "anggaran": input.anggaran.clone().unwrap_or_default(),
        "keterangan": "", "attachments": [], "estimate": null, "chain": [],
        "execution_name": null, "execution_id": null, "submissions": 0, "reserved": null,
        "numbers": {}, "documents": {}, "stops": [], "report": {}, "actual": [],
        "verifications": [], "return_note": null, "timeline": [],
        "created": rfc3339(now), "updated": rfc3339(now),
    });
    serde_json::from_value(o).map_err(|e| ApiError::internal(&e))
}

/// The cost estimate of a form, per traveller and in total, without saving anything.
#[utoipa::path(post, path = "/api/v1/sppd/estimate", tag = "sppd", request_body = Object,
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
async fn estimate_api(
    State(state): State<AppState>,
    id: Identity,
    Json(input): Json<OrderInput>,
) -> Result<Json<Estimate>, ApiError> {
    let tr = travel(&state);
    let o = transient(&tr, &id.0, &input).await?;
    if o.pelaksana.is_empty() {
        return Err(ApiError::validation(
            "pelaksana",
            Text::new(
                "pilih paling sedikit satu pelaksana",
                "choose at least one traveller",
            ),
        ));
    }
    Ok(Json(tr.estimate(&o).await?))
}

/// One order with everything a UI shows (requester, travellers, chain, PPK, bendahara, admins).
#[utoipa::path(get, path = "/api/v1/sppd/{id}", tag = "sppd",
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let tr = travel(&state);
    let o = tr.get(&oid, &id.0).await?;
    answer(&state, &tr, &o, &id.0, lang).await
}

/// Changes a draft or a returned order (409 once submitted).
#[utoipa::path(put, path = "/api/v1/sppd/{id}", tag = "sppd", request_body = Object,
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
    Json(input): Json<OrderInput>,
) -> Result<Json<OrderView>, ApiError> {
    let tr = travel(&state);
    let o = tr.update(&oid, &id.0, input).await?;
    answer(&state, &tr, &o, &id.0, lang).await
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
            fields.insert(name, String::from_utf8_lossy(&bytes).trim().to_string());
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
        .filter(|c| !c.is_control() && *c != '"')
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
        Act::SubmitReport => tr.submit_report(oid, who).await?,
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

/// The order as the API answers it after reading or changing it.
async fn answer(
    state: &AppState,
    tr: &Travel,
    o: &TravelOrder,
    who: &Principal,
    lang: Lang,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(order_view(state, tr, o, who, lang).await?))
}

/// An API change: does it and answers with the order.
async fn act_api(
    state: &AppState,
    id: &Identity,
    lang: Lang,
    oid: &str,
    change: Act,
) -> Result<Json<OrderView>, ApiError> {
    let tr = travel(state);
    let o = act(state, &tr, oid, &id.0, change).await?;
    answer(state, &tr, &o, &id.0, lang).await
}

/// Adds an attachment (image or PDF, at most 10 MB) to a draft or returned order.
#[utoipa::path(post, path = "/api/v1/sppd/{id}/attachments", tag = "sppd",
    request_body(content_type = "multipart/form-data", content = Object, description = "`file`"),
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn add_attachment_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
    req: Request,
) -> Result<Json<OrderView>, ApiError> {
    let up = upload(&state, &oid, &id.0, req).await?;
    act_api(&state, &id, lang, &oid, Act::Attachment(up)).await
}

fn find_file<'a>(o: &'a TravelOrder, aid: &str) -> Option<&'a Attachment> {
    o.attachments
        .iter()
        .chain(o.report.photos.iter())
        .chain(o.actual.iter().filter_map(|c| c.receipt.as_ref()))
        .chain(
            o.stops
                .iter()
                .filter_map(|s| s.endorsement.as_ref().and_then(|e| e.scan.as_ref())),
        )
        .find(|a| a.id == aid)
}

/// The bytes of a file of the order (attachment, photo, receipt, stamped scan).
#[utoipa::path(get, path = "/api/v1/sppd/{id}/files/{file_id}", tag = "sppd",
    params(("id" = String, Path, description = "order id"), ("file_id" = String, Path, description = "file id")),
    responses((status = 200, description = "the file"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn file_api(
    State(state): State<AppState>,
    id: Identity,
    Path((oid, aid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let tr = travel(&state);
    let o = viewable(&tr, &oid, &id.0).await?;
    let a = find_file(&o, &aid).ok_or_else(ApiError::not_found)?;
    let (_, bytes) = state.blobs.get(&a.key).await.map_err(|e| match e {
        paraf_core::BlobsError::NotFound(_) => ApiError::not_found(),
        e => ApiError::internal(&e),
    })?;
    let ascii: String = a
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\""))
        .map_err(|e| ApiError::internal(&e))?;
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&a.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

// ---------- approval ----------

/// Sends a draft into the approval chain (a returned order: resubmits it).
#[utoipa::path(post, path = "/api/v1/sppd/{id}/submit", tag = "sppd",
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn submit_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    act_api(&state, &id, lang, &oid, Act::Submit).await
}

/// Sends a returned order back into the chain.
#[utoipa::path(post, path = "/api/v1/sppd/{id}/resubmit", tag = "sppd",
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn resubmit_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    act_api(&state, &id, lang, &oid, Act::Resubmit).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NoteBody {
    #[serde(default)]
    pub note: String,
}

/// Withdraws a draft or a returned order.
#[utoipa::path(post, path = "/api/v1/sppd/{id}/withdraw", tag = "sppd", request_body = NoteBody,
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn withdraw_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
    Json(b): Json<NoteBody>,
) -> Result<Json<OrderView>, ApiError> {
    act_api(&state, &id, lang, &oid, Act::Withdraw { note: b.note }).await
}

// ---------- after the trip ----------

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StopBody {
    #[serde(default)]
    pub tempat: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub tiba: String,
    pub berangkat: Option<String>,
}

/// Records a place visited.
#[utoipa::path(post, path = "/api/v1/sppd/{id}/stops", tag = "sppd", request_body = StopBody,
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn add_stop_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
    Json(b): Json<StopBody>,
) -> Result<Json<OrderView>, ApiError> {
    let change = Act::AddStop {
        tempat: b.tempat,
        tiba: b.tiba,
        berangkat: b.berangkat,
    };
    act_api(&state, &id, lang, &oid, change).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct LinkBody {
    #[serde(default)]
    pub email: String,
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

/// Mails the official of a stop a one-time link to endorse the arrival.
#[utoipa::path(post, path = "/api/v1/sppd/{id}/stops/{no}/link", tag = "sppd", request_body = LinkBody,
    params(("id" = String, Path, description = "order id"), ("no" = u32, Path, description = "stop number")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn link_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path((oid, no)): Path<(String, u32)>,
    Json(b): Json<LinkBody>,
) -> Result<Json<OrderView>, ApiError> {
    let change = Act::Link { no, email: b.email };
    act_api(&state, &id, lang, &oid, change).await
}

/// Records a stop's endorsement from an uploaded stamped scan (file, nama, nip, jabatan).
#[utoipa::path(post, path = "/api/v1/sppd/{id}/stops/{no}/scan", tag = "sppd",
    request_body(content_type = "multipart/form-data", content = Object, description = "`file`, `nama`, `nip`, `jabatan`"),
    params(("id" = String, Path, description = "order id"), ("no" = u32, Path, description = "stop number")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn scan_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path((oid, no)): Path<(String, u32)>,
    req: Request,
) -> Result<Json<OrderView>, ApiError> {
    let up = upload(&state, &oid, &id.0, req).await?;
    act_api(&state, &id, lang, &oid, Act::Scan { no, up }).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReportBody {
    #[serde(default)]
    pub hasil: String,
    #[serde(default)]
    pub kesimpulan: String,
}

/// Writes the trip report's text.
#[utoipa::path(put, path = "/api/v1/sppd/{id}/report", tag = "sppd", request_body = ReportBody,
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn report_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
    Json(b): Json<ReportBody>,
) -> Result<Json<OrderView>, ApiError> {
    let change = Act::Report {
        hasil: b.hasil,
        kesimpulan: b.kesimpulan,
    };
    act_api(&state, &id, lang, &oid, change).await
}

/// Adds a photo to the trip report.
#[utoipa::path(post, path = "/api/v1/sppd/{id}/photos", tag = "sppd",
    request_body(content_type = "multipart/form-data", content = Object, description = "`file`"),
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn photo_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
    req: Request,
) -> Result<Json<OrderView>, ApiError> {
    let up = upload(&state, &oid, &id.0, req).await?;
    act_api(&state, &id, lang, &oid, Act::Photo(up)).await
}

/// Records a cost actually incurred (pelaksana, jenis, uraian, jumlah, optional receipt `file`).
#[utoipa::path(post, path = "/api/v1/sppd/{id}/costs", tag = "sppd",
    request_body(content_type = "multipart/form-data", content = Object,
        description = "`pelaksana`, `jenis`, `uraian`, `jumlah`, optional `file` (receipt)"),
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn add_cost_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
    req: Request,
) -> Result<Json<OrderView>, ApiError> {
    let up = upload(&state, &oid, &id.0, req).await?;
    act_api(&state, &id, lang, &oid, Act::Cost(up)).await
}

/// Removes a recorded cost (before the report is submitted).
#[utoipa::path(delete, path = "/api/v1/sppd/{id}/costs/{cost_id}", tag = "sppd",
    params(("id" = String, Path, description = "order id"), ("cost_id" = String, Path, description = "cost id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn remove_cost_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path((oid, cost)): Path<(String, String)>,
) -> Result<Json<OrderView>, ApiError> {
    act_api(&state, &id, lang, &oid, Act::RemoveCost { cost }).await
}

/// Sends the report and costs for verification.
#[utoipa::path(post, path = "/api/v1/sppd/{id}/report/submit", tag = "sppd",
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn submit_report_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    act_api(&state, &id, lang, &oid, Act::SubmitReport).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct VerifyBody {
    /// accept or return.
    #[serde(default)]
    pub decision: String,
    /// Required when returning.
    #[serde(default)]
    pub note: String,
}

fn sign_error(e: paraf_tasks::sign::SignTaskError) -> ApiError {
    use paraf_tasks::sign::SignTaskError;
    match e {
        SignTaskError::Invalid(m) => ApiError::malformed(m),
        SignTaskError::UnknownEmployee(_) => ApiError::forbidden(),
        SignTaskError::Service(s) => s.into(),
        other => ApiError::internal(&other),
    }
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
        return Ok(o);
    }
    let ctx = crate::documents::sign_context(state);
    paraf_tasks::travel::settle(&ctx, tr, oid, who)
        .await
        .map_err(sign_error)
}

/// The bendahara, then the PPK, accepts or returns the report; the PPK's acceptance signs
/// and archives the settlement documents and completes the order.
#[utoipa::path(post, path = "/api/v1/sppd/{id}/verify", tag = "sppd", request_body = VerifyBody,
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn verify_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
    Json(b): Json<VerifyBody>,
) -> Result<Json<OrderView>, ApiError> {
    let change = Act::Verify {
        decision: b.decision,
        note: b.note,
    };
    act_api(&state, &id, lang, &oid, change).await
}

// ---------- SBM, settings, pagu ----------

/// The current SBM rates of a fiscal year (any signed-in user: forms need the provinces).
#[utoipa::path(get, path = "/api/v1/sbm/{year}", tag = "sppd",
    params(("year" = i32, Path, description = "fiscal year")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn sbm_get_api(
    State(state): State<AppState>,
    _id: Identity,
    Path(year): Path<i32>,
) -> Result<Json<paraf_core::travel::SbmTable>, ApiError> {
    travel(&state)
        .sbm()
        .current(year)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

/// Saves a new version of a year's rates (admin).
#[utoipa::path(put, path = "/api/v1/sbm/{year}", tag = "sppd", request_body = Object,
    params(("year" = i32, Path, description = "fiscal year")),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn sbm_put_api(
    State(state): State<AppState>,
    id: Identity,
    Path(year): Path<i32>,
    Json(input): Json<SbmInput>,
) -> Result<Json<paraf_core::travel::SbmTable>, ApiError> {
    id.require(Role::Admin)?;
    Ok(Json(travel(&state).sbm().save(year, input, &id.0).await?))
}

/// Every version of a year's rates (admin, PPK).
#[utoipa::path(get, path = "/api/v1/sbm/{year}/history", tag = "sppd",
    params(("year" = i32, Path, description = "fiscal year")),
    responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorBody)))]
async fn sbm_history_api(
    State(state): State<AppState>,
    id: Identity,
    Path(year): Path<i32>,
) -> Result<Json<Vec<paraf_core::travel::SbmTable>>, ApiError> {
    id.0.require_any(&[Role::Admin, Role::Ppk])?;
    Ok(Json(travel(&state).sbm().history(year).await?))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SettingsView {
    /// Most travel days per traveller in a month.
    pub monthly_cap: u32,
}

/// e-SPPD settings.
#[utoipa::path(get, path = "/api/v1/sppd/settings", tag = "sppd",
    responses((status = 200, body = SettingsView)))]
async fn settings_get_api(
    State(state): State<AppState>,
    _id: Identity,
) -> Result<Json<SettingsView>, ApiError> {
    Ok(Json(SettingsView {
        monthly_cap: travel(&state).monthly_cap().await?,
    }))
}

/// Changes the settings (admin).
#[utoipa::path(put, path = "/api/v1/sppd/settings", tag = "sppd", request_body = SettingsView,
    responses((status = 200, body = SettingsView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn settings_put_api(
    State(state): State<AppState>,
    id: Identity,
    Json(b): Json<SettingsView>,
) -> Result<Json<SettingsView>, ApiError> {
    Ok(Json(SettingsView {
        monthly_cap: travel(&state).set_monthly_cap(&id.0, b.monthly_cap).await?,
    }))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaguView {
    pub year: i32,
    pub akun: String,
    pub uraian: String,
    pub pagu: i64,
    pub reserved: i64,
    pub remaining: i64,
    pub version: i64,
}

fn pagu_view(p: &paraf_core::travel::Pagu) -> PaguView {
    PaguView {
        year: p.year,
        akun: p.akun.clone(),
        uraian: p.uraian.clone(),
        pagu: p.pagu,
        reserved: p.reserved,
        remaining: p.remaining(),
        version: p.version,
    }
}

/// Budget ceilings of a year (admin, PPK, bendahara).
#[utoipa::path(get, path = "/api/v1/pagu/{year}", tag = "sppd",
    params(("year" = i32, Path, description = "fiscal year")),
    responses((status = 200, body = Vec<PaguView>), (status = 403, body = ErrorBody)))]
async fn pagu_list_api(
    State(state): State<AppState>,
    id: Identity,
    Path(year): Path<i32>,
) -> Result<Json<Vec<PaguView>>, ApiError> {
    id.0.require_any(&[Role::Admin, Role::Ppk, Role::Bendahara])?;
    Ok(Json(
        travel(&state)
            .pagus(year)
            .await?
            .iter()
            .map(pagu_view)
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PaguBody {
    #[serde(default)]
    pub uraian: String,
    pub pagu: i64,
}

/// Sets an account's ceiling (admin, PPK).
#[utoipa::path(put, path = "/api/v1/pagu/{year}/{akun}", tag = "sppd", request_body = PaguBody,
    params(("year" = i32, Path, description = "fiscal year"), ("akun" = String, Path, description = "account code")),
    responses((status = 200, body = PaguView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn pagu_put_api(
    State(state): State<AppState>,
    id: Identity,
    Path((year, akun)): Path<(i32, String)>,
    Json(b): Json<PaguBody>,
) -> Result<Json<PaguView>, ApiError> {
    let p = travel(&state)
        .set_pagu(&id.0, year, &akun, &b.uraian, b.pagu)
        .await?;
    Ok(Json(pagu_view(&p)))
}

// ---------- page texts ----------

/// This module's texts.
pub struct SppdTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub tab_mine: &'static str,
    pub tab_approve: &'static str,
    pub tab_all: &'static str,
    pub new_order: &'static str,
    pub edit_order: &'static str,
    pub empty: &'static str,
    pub filter: &'static str,
    pub export_csv: &'static str,
    pub export_xlsx: &'static str,
    pub col_maksud: &'static str,
    pub col_tujuan: &'static str,
    pub col_tanggal: &'static str,
    pub col_pelaksana: &'static str,
    pub col_status: &'static str,
    pub col_total: &'static str,
    pub month: &'static str,
    pub unit: &'static str,
    pub destination: &'static str,
    pub any: &'static str,
    pub f_pelaksana: &'static str,
    pub f_pelaksana_hint: &'static str,
    pub f_ppk: &'static str,
    pub f_ppk_hint: &'static str,
    pub f_maksud: &'static str,
    pub f_alat: &'static str,
    pub f_dep_prov: &'static str,
    pub f_dep_kota: &'static str,
    pub f_tuj_prov: &'static str,
    pub f_tuj_kota: &'static str,
    pub f_berangkat: &'static str,
    pub f_kembali: &'static str,
    pub f_kategori: &'static str,
    pub f_instansi: &'static str,
    pub f_akun: &'static str,
    pub f_keterangan: &'static str,
    pub f_pengikut: &'static str,
    pub f_pengikut_hint: &'static str,
    /// "follower N" before the error of line N of the followers field.
    pub follower_no: &'static str,
    pub save_draft: &'static str,
    pub save_submit: &'static str,
    pub submit: &'static str,
    pub withdraw: &'static str,
    pub edit: &'static str,
    pub requester: &'static str,
    pub lama: &'static str,
    pub days: &'static str,
    pub estimate: &'static str,
    pub total: &'static str,
    pub chain: &'static str,
    pub open_task: &'static str,
    pub timeline: &'static str,
    pub documents: &'static str,
    pub attachments: &'static str,
    pub upload_attachment: &'static str,
    pub file: &'static str,
    pub file_hint: &'static str,
    pub stops: &'static str,
    pub add_stop: &'static str,
    pub tempat: &'static str,
    pub tiba: &'static str,
    pub berangkat: &'static str,
    pub send_link: &'static str,
    pub official_email: &'static str,
    pub link_sent: &'static str,
    pub upload_scan: &'static str,
    pub nama: &'static str,
    pub nip: &'static str,
    pub jabatan: &'static str,
    pub endorsed_by: &'static str,
    pub not_endorsed: &'static str,
    pub report: &'static str,
    pub hasil: &'static str,
    pub kesimpulan: &'static str,
    pub save_report: &'static str,
    pub photos: &'static str,
    pub add_photo: &'static str,
    pub costs: &'static str,
    pub add_cost: &'static str,
    pub jenis: &'static str,
    pub uraian: &'static str,
    pub jumlah: &'static str,
    pub receipt: &'static str,
    pub remove: &'static str,
    pub submit_report: &'static str,
    pub verify: &'static str,
    pub accept: &'static str,
    pub return_: &'static str,
    pub note: &'static str,
    pub return_note: &'static str,
    pub verifications: &'static str,
    pub done: &'static str,
    pub step_pending: &'static str,
    pub step_open: &'static str,
    pub step_approved: &'static str,
    pub step_returned: &'static str,
    pub step_rejected: &'static str,
    pub action_paraf: &'static str,
    pub action_sign: &'static str,
    pub endorse_title: &'static str,
    pub endorse_intro: &'static str,
    pub endorse_button: &'static str,
    pub endorse_done: &'static str,
    pub endorse_used: &'static str,
    pub endorse_unknown: &'static str,
    pub traveller: &'static str,
    pub trip: &'static str,
    pub stop: &'static str,
}

pub const ID: SppdTexts = SppdTexts {
    title: "Perjalanan dinas (SPPD)",
    intro: "Pengajuan Surat Tugas dan SPPD, persetujuan berjenjang, laporan dan pertanggungjawaban biaya.",
    tab_mine: "Pengajuan saya",
    tab_approve: "Perlu persetujuan",
    tab_all: "Semua",
    new_order: "Pengajuan baru",
    edit_order: "Ubah pengajuan",
    empty: "Belum ada pengajuan.",
    filter: "Saring",
    export_csv: "Unduh CSV",
    export_xlsx: "Unduh XLSX",
    col_maksud: "Maksud perjalanan",
    col_tujuan: "Tujuan",
    col_tanggal: "Tanggal",
    col_pelaksana: "Pelaksana",
    col_status: "Status",
    col_total: "Perkiraan biaya",
    month: "Bulan (TTTT-BB)",
    unit: "Unit (kode)",
    destination: "Tujuan",
    any: "semua",
    f_pelaksana: "Pelaksana (NIP atau email, pisahkan dengan koma)",
    f_pelaksana_hint: "Contoh: 199001012015032001, intan.permata@demo.paraf.test",
    f_ppk: "Pejabat Pembuat Komitmen (NIP atau email)",
    f_ppk_hint: "Kosongkan bila organisasi hanya memiliki satu PPK.",
    f_maksud: "Maksud perjalanan dinas",
    f_alat: "Alat angkut",
    f_dep_prov: "Provinsi berangkat",
    f_dep_kota: "Kota berangkat",
    f_tuj_prov: "Provinsi tujuan",
    f_tuj_kota: "Kota tujuan",
    f_berangkat: "Tanggal berangkat",
    f_kembali: "Tanggal kembali",
    f_kategori: "Kategori",
    f_instansi: "Instansi pembebanan anggaran",
    f_akun: "Kode akun anggaran",
    f_keterangan: "Keterangan",
    f_pengikut: "Pengikut",
    f_pengikut_hint: "Satu orang per baris: Nama; keterangan (keterangan boleh kosong)",
    follower_no: "pengikut ke-",
    save_draft: "Simpan sebagai draf",
    save_submit: "Simpan dan ajukan",
    submit: "Ajukan",
    withdraw: "Tarik pengajuan",
    edit: "Ubah",
    requester: "Pengaju",
    lama: "Lama perjalanan",
    days: "hari",
    estimate: "Perkiraan biaya",
    total: "Jumlah",
    chain: "Alur persetujuan",
    open_task: "Buka tugas persetujuan",
    timeline: "Riwayat",
    documents: "Dokumen",
    attachments: "Lampiran",
    upload_attachment: "Unggah lampiran",
    file: "Berkas",
    file_hint: "Gambar (JPEG, PNG, WebP) atau PDF, paling besar 10 MB.",
    stops: "Tempat yang dikunjungi",
    add_stop: "Tambah tempat",
    tempat: "Tempat",
    tiba: "Tanggal tiba",
    berangkat: "Tanggal berangkat dari tempat ini",
    send_link: "Kirim tautan pengesahan",
    official_email: "Email pejabat yang dikunjungi",
    link_sent: "tautan terkirim, menunggu pengesahan",
    upload_scan: "Unggah pindaian bercap",
    nama: "Nama",
    nip: "NIP",
    jabatan: "Jabatan",
    endorsed_by: "Disahkan oleh",
    not_endorsed: "belum disahkan",
    report: "Laporan perjalanan dinas",
    hasil: "Hasil perjalanan dinas",
    kesimpulan: "Kesimpulan dan saran",
    save_report: "Simpan laporan",
    photos: "Foto kegiatan",
    add_photo: "Unggah foto",
    costs: "Biaya riil",
    add_cost: "Tambah biaya",
    jenis: "Jenis",
    uraian: "Uraian",
    jumlah: "Jumlah (Rp)",
    receipt: "Kuitansi/bukti",
    remove: "Hapus",
    submit_report: "Ajukan laporan untuk verifikasi",
    verify: "Verifikasi laporan",
    accept: "Terima",
    return_: "Kembalikan untuk perbaikan",
    note: "Catatan",
    return_note: "Catatan perbaikan",
    verifications: "Verifikasi",
    done: "Tersimpan.",
    step_pending: "menunggu",
    step_open: "sedang diproses",
    step_approved: "disetujui",
    step_returned: "dikembalikan",
    step_rejected: "ditolak",
    action_paraf: "paraf",
    action_sign: "tanda tangan",
    endorse_title: "Pengesahan kedatangan perjalanan dinas",
    endorse_intro: "Dengan mengisi formulir ini Anda menyatakan bahwa pelaksana perjalanan dinas berikut telah tiba di tempat Anda.",
    endorse_button: "Sahkan kedatangan",
    endorse_done: "Terima kasih. Kedatangan telah disahkan.",
    endorse_used: "Tautan ini sudah dipakai atau kedaluwarsa; tidak ada yang diubah.",
    endorse_unknown: "Tautan pengesahan tidak dikenal. Periksa kembali tautan pada email Anda.",
    traveller: "Pelaksana",
    trip: "Perjalanan",
    stop: "Tempat",
};

pub const EN: SppdTexts = SppdTexts {
    title: "Official travel (SPPD)",
    intro:
        "Assignment letters and travel orders, tiered approval, trip reports and cost settlement.",
    tab_mine: "My requests",
    tab_approve: "To approve",
    tab_all: "All",
    new_order: "New request",
    edit_order: "Edit request",
    empty: "No requests yet.",
    filter: "Filter",
    export_csv: "Download CSV",
    export_xlsx: "Download XLSX",
    col_maksud: "Purpose",
    col_tujuan: "Destination",
    col_tanggal: "Dates",
    col_pelaksana: "Travellers",
    col_status: "Status",
    col_total: "Estimated cost",
    month: "Month (YYYY-MM)",
    unit: "Unit (code)",
    destination: "Destination",
    any: "any",
    f_pelaksana: "Travellers (NIP or email, separated by commas)",
    f_pelaksana_hint: "Example: 199001012015032001, intan.permata@demo.paraf.test",
    f_ppk: "Commitment officer (PPK) (NIP or email)",
    f_ppk_hint: "Leave empty when the organisation has a single PPK.",
    f_maksud: "Purpose of the trip",
    f_alat: "Means of transport",
    f_dep_prov: "Departure province",
    f_dep_kota: "Departure city",
    f_tuj_prov: "Destination province",
    f_tuj_kota: "Destination city",
    f_berangkat: "Departure date",
    f_kembali: "Return date",
    f_kategori: "Category",
    f_instansi: "Budget-bearing agency",
    f_akun: "Budget account code",
    f_keterangan: "Notes",
    f_pengikut: "Followers",
    f_pengikut_hint: "One person per line: Name; note (the note may be left out)",
    follower_no: "follower ",
    save_draft: "Save as draft",
    save_submit: "Save and submit",
    submit: "Submit",
    withdraw: "Withdraw the request",
    edit: "Edit",
    requester: "Requester",
    lama: "Duration",
    days: "days",
    estimate: "Estimated cost",
    total: "Total",
    chain: "Approval chain",
    open_task: "Open the approval task",
    timeline: "History",
    documents: "Documents",
    attachments: "Attachments",
    upload_attachment: "Upload an attachment",
    file: "File",
    file_hint: "An image (JPEG, PNG, WebP) or a PDF, at most 10 MB.",
    stops: "Places visited",
    add_stop: "Add a place",
    tempat: "Place",
    tiba: "Arrival date",
    berangkat: "Departure date from this place",
    send_link: "Send an endorsement link",
    official_email: "Email of the official visited",
    link_sent: "link sent, waiting for endorsement",
    upload_scan: "Upload a stamped scan",
    nama: "Name",
    nip: "NIP",
    jabatan: "Position",
    endorsed_by: "Endorsed by",
    not_endorsed: "not endorsed yet",
    report: "Trip report",
    hasil: "Results of the trip",
    kesimpulan: "Conclusions and advice",
    save_report: "Save the report",
    photos: "Photos",
    add_photo: "Upload a photo",
    costs: "Actual costs",
    add_cost: "Add a cost",
    jenis: "Kind",
    uraian: "Description",
    jumlah: "Amount (Rp)",
    receipt: "Receipt",
    remove: "Remove",
    submit_report: "Send the report for verification",
    verify: "Verify the report",
    accept: "Accept",
    return_: "Return for revision",
    note: "Note",
    return_note: "Revision note",
    verifications: "Verifications",
    done: "Saved.",
    step_pending: "waiting",
    step_open: "in progress",
    step_approved: "approved",
    step_returned: "returned",
    step_rejected: "rejected",
    action_paraf: "initials",
    action_sign: "signature",
    endorse_title: "Endorsement of an official trip's arrival",
    endorse_intro:
        "By filling this form you state that the travellers below have arrived at your office.",
    endorse_button: "Endorse the arrival",
    endorse_done: "Thank you. The arrival is endorsed.",
    endorse_used: "This link was already used or has expired; nothing was changed.",
    endorse_unknown: "Unknown endorsement link. Please check the link in your email.",
    traveller: "Travellers",
    trip: "Trip",
    stop: "Place",
};

pub fn texts(lang: Lang) -> &'static SppdTexts {
    match lang {
        Lang::Id => &ID,
        Lang::En => &EN,
    }
}

fn page_fail(lang: Lang, e: ApiError) -> Response {
    error_page(lang, e.kind)
}

fn may_see_all(p: &Principal) -> bool {
    p.has(Role::Admin) || p.has(Role::Ppk) || p.has(Role::Bendahara)
}

// ---------- list page ----------

pub struct ListRow {
    pub href: String,
    pub maksud: String,
    pub tujuan: String,
    pub tanggal: String,
    pub pelaksana: String,
    pub status: String,
    pub total: String,
    pub task: Option<String>,
}

pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "sppd_list.html")]
struct ListPage {
    shell: Shell,
    tx: &'static SppdTexts,
    tabs: Vec<Tab>,
    scope: String,
    q_status: String,
    q_unit: String,
    q_month: String,
    q_destination: String,
    statuses: Vec<(String, String)>,
    rows: Vec<ListRow>,
    errors: Vec<String>,
    export_query: Option<String>,
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn dates(a: Option<time::Date>, b: Option<time::Date>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a == b => tanggal(a),
        (Some(a), Some(b)) => format!("{} – {}", tanggal(a), tanggal(b)),
        (Some(a), None) => tanggal(a),
        _ => "-".into(),
    }
}

async fn list_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    let x = texts(page.lang);
    let all = may_see_all(&page.id.0);
    let scope = match non_empty(&q.scope) {
        Some("approve") => "approve",
        Some("all") if all => "all",
        _ => "mine",
    };
    let mut q2 = q.clone();
    q2.scope = Some(scope.into());
    let (rows, errors) = match list_orders(&state, &page.id.0, &q2).await {
        Ok(r) => (r, Vec::new()),
        Err(e) if !e.fields.is_empty() => (Vec::new(), error_lines(page.lang, &e.fields)),
        Err(e) => return page_fail(page.lang, e),
    };
    let mut tabs = vec![
        Tab {
            href: "/sppd?scope=mine".into(),
            label: x.tab_mine,
            current: scope == "mine",
        },
        Tab {
            href: "/sppd?scope=approve".into(),
            label: x.tab_approve,
            current: scope == "approve",
        },
    ];
    if all {
        tabs.push(Tab {
            href: "/sppd?scope=all".into(),
            label: x.tab_all,
            current: scope == "all",
        });
    }
    let rows = rows
        .iter()
        .map(|(o, t)| ListRow {
            href: format!("/sppd/{}", o.id),
            maksud: if o.maksud.is_empty() {
                "-".into()
            } else {
                o.maksud.clone()
            },
            tujuan: o.tempat_tujuan.label(),
            tanggal: dates(o.tanggal_berangkat, o.tanggal_kembali),
            pelaksana: o
                .pelaksana
                .iter()
                .map(|t| t.nama.clone())
                .collect::<Vec<_>>()
                .join(", "),
            status: page.lang.pick(&o.status.label()).to_string(),
            total: o
                .estimate
                .as_ref()
                .map(|e| rupiah(e.total))
                .unwrap_or_else(|| "-".into()),
            task: t.as_ref().map(|t| format!("/tasks/{t}")),
        })
        .collect();
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let export_query = (scope == "all").then(|| {
        format!(
            "status={}&unit={}&month={}&destination={}",
            enc(&v(&q.status)),
            enc(&v(&q.unit)),
            enc(&v(&q.month)),
            enc(&v(&q.destination))
        )
    });
    let view = ListPage {
        shell: Shell::signed_in(&page, &state, x.title, "/sppd"),
        tx: x,
        tabs,
        scope: scope.into(),
        q_status: v(&q.status),
        q_unit: v(&q.unit),
        q_month: v(&q.month),
        q_destination: v(&q.destination),
        statuses: OrderStatus::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    page.lang.pick(&s.label()).to_string(),
                )
            })
            .collect(),
        rows,
        errors,
        export_query,
    };
    let status = if view.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (page.jar, render(status, &view)).into_response()
}

// ---------- order form ----------

#[derive(Debug, Default, Clone, Deserialize)]
struct OrderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    pelaksana: String,
    #[serde(default)]
    ppk: String,
    #[serde(default)]
    maksud: String,
    #[serde(default)]
    alat_angkut: String,
    #[serde(default, rename = "tempat_berangkat.provinsi")]
    dep_prov: String,
    #[serde(default, rename = "tempat_berangkat.kota")]
    dep_kota: String,
    #[serde(default, rename = "tempat_tujuan.provinsi")]
    tuj_prov: String,
    #[serde(default, rename = "tempat_tujuan.kota")]
    tuj_kota: String,
    #[serde(default)]
    tanggal_berangkat: String,
    #[serde(default)]
    tanggal_kembali: String,
    #[serde(default)]
    kategori: String,
    #[serde(default, rename = "anggaran.instansi")]
    instansi: String,
    #[serde(default, rename = "anggaran.akun")]
    akun: String,
    #[serde(default)]
    keterangan: String,
    /// One follower a line: "Nama; keterangan".
    #[serde(default)]
    pengikut: String,
    #[serde(default)]
    version: String,
}

impl OrderForm {
    fn of(o: &TravelOrder) -> OrderForm {
        OrderForm {
            pelaksana: o
                .pelaksana
                .iter()
                .map(|t| t.nip.clone())
                .collect::<Vec<_>>()
                .join(", "),
            ppk: o.ppk_id.clone(),
            maksud: o.maksud.clone(),
            alat_angkut: o.alat_angkut.clone(),
            dep_prov: o.tempat_berangkat.provinsi.clone(),
            dep_kota: o.tempat_berangkat.kota.clone(),
            tuj_prov: o.tempat_tujuan.provinsi.clone(),
            tuj_kota: o.tempat_tujuan.kota.clone(),
            tanggal_berangkat: o.tanggal_berangkat.map(date_str).unwrap_or_default(),
            tanggal_kembali: o.tanggal_kembali.map(date_str).unwrap_or_default(),
            kategori: o.kategori.as_str().into(),
            instansi: o.anggaran.instansi.clone(),
            akun: o.anggaran.akun.clone(),
            keterangan: o.keterangan.clone(),
            pengikut: o
                .pengikut
                .iter()
                .map(|p| match p.keterangan.as_str() {
                    "" => p.nama.clone(),
                    k => format!("{}; {k}", p.nama),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            version: o.version.to_string(),
            ..Default::default()
        }
    }

    /// The followers field, a line each (blank lines skipped): `pengikut.N` is line N+1.
    fn followers(&self) -> Vec<Follower> {
        self.pengikut
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (nama, keterangan) = l.split_once(';').unwrap_or((l, ""));
                Follower {
                    nama: nama.trim().to_string(),
                    keterangan: keterangan.trim().to_string(),
                }
            })
            .collect()
    }

    fn input(&self) -> OrderInput {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let ppk = opt(&self.ppk);
        OrderInput {
            ppk,
            pelaksana: self
                .pelaksana
                .split([',', '\n', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            pengikut: self.followers(),
            maksud: self.maksud.clone(),
            alat_angkut: self.alat_angkut.clone(),
            tempat_berangkat: Some(Place {
                provinsi: self.dep_prov.clone(),
                kota: self.dep_kota.clone(),
            })
            .filter(|p| !p.kota.trim().is_empty() || !p.provinsi.trim().is_empty()),
            tempat_tujuan: Some(Place {
                provinsi: self.tuj_prov.clone(),
                kota: self.tuj_kota.clone(),
            }),
            tanggal_berangkat: opt(&self.tanggal_berangkat),
            tanggal_kembali: opt(&self.tanggal_kembali),
            kategori: opt(&self.kategori),
            anggaran: Some(Budget {
                instansi: self.instansi.clone(),
                akun: self.akun.clone(),
            }),
            keterangan: self.keterangan.clone(),
            version: self.version.trim().parse().ok(),
        }
    }
}

#[derive(Template)]
#[template(path = "sppd_form.html")]
struct FormPage {
    shell: Shell,
    tx: &'static SppdTexts,
    heading: &'static str,
    action: String,
    version: String,
    form: FormView,
    /// Shown as a textarea after the other fields.
    pengikut: FieldView,
}

fn field(
    name: &'static str,
    label: &str,
    kind: &'static str,
    value: &str,
    required: bool,
) -> FieldView {
    FieldView {
        name,
        label: label.to_string(),
        kind,
        value: value.to_string(),
        required,
        hint: None,
        error: None,
        autocomplete: None,
        options: Vec::new(),
        describedby: String::new(),
    }
}

/// An error of the followers field names its line: `pengikut.1.nama` is "pengikut ke-2".
fn follower_error(lang: Lang, key: &str, message: &str) -> String {
    let mut parts = key.split('.');
    match (
        parts.next(),
        parts.next().and_then(|n| n.parse::<usize>().ok()),
    ) {
        (Some("pengikut"), Some(n)) => {
            let x = texts(lang);
            let what = parts
                .next()
                .map(|p| format!(" ({})", field_label(x, p)))
                .unwrap_or_default();
            format!("{}{}{what}: {message}", x.follower_no, n + 1)
        }
        _ => message.to_string(),
    }
}

fn with_errors(mut form: FormView, errors: &BTreeMap<String, Text>, lang: Lang) -> FormView {
    let mut shown = std::collections::BTreeSet::new();
    for f in &mut form.fields {
        // `pelaksana.2` is about the `pelaksana` field.
        let msgs: Vec<String> = errors
            .iter()
            .filter(|(k, _)| {
                k.as_str() == f.name
                    || k.split('.').next() == Some(f.name)
                        && !f.name.contains('.')
                        && k.starts_with(&format!("{}.", f.name))
            })
            .map(|(k, v)| {
                shown.insert(k.clone());
                follower_error(lang, k, lang.pick(v))
            })
            .collect();
        if !msgs.is_empty() {
            let m = msgs.join("; ");
            form.errors.push(ErrorLine {
                field: Some(f.name),
                message: format!("{}: {m}", f.label),
            });
            f.error = Some(m);
        }
    }
    for (k, v) in errors {
        if !shown.contains(k) {
            form.errors.push(ErrorLine {
                field: None,
                message: format!("{k}: {}", lang.pick(v)),
            });
        }
    }
    for f in &mut form.fields {
        let mut ids = Vec::new();
        if f.hint.is_some() {
            ids.push(format!("hint-{}", f.name));
        }
        if f.error.is_some() {
            ids.push(format!("error-{}", f.name));
        }
        f.describedby = ids.join(" ");
    }
    form
}

async fn order_form(state: &AppState, lang: Lang, f: &OrderForm, year: i32) -> FormView {
    let x = texts(lang);
    let provinces = travel(state)
        .sbm()
        .current(year)
        .await
        .ok()
        .flatten()
        .map(|t| t.provinces())
        .unwrap_or_default();
    let mut fields = Vec::new();
    let mut p = field("pelaksana", x.f_pelaksana, "text", &f.pelaksana, true);
    p.hint = Some(x.f_pelaksana_hint.into());
    fields.push(p);
    let mut p = field("ppk", x.f_ppk, "text", &f.ppk, false);
    p.hint = Some(x.f_ppk_hint.into());
    fields.push(p);
    fields.push(field("maksud", x.f_maksud, "text", &f.maksud, true));
    let mut a = field("alat_angkut", x.f_alat, "text", &f.alat_angkut, true);
    a.options = TRANSPORT_MODES
        .iter()
        .map(|m| (m.to_string(), m.to_string()))
        .collect();
    fields.push(a);
    fields.push(field(
        "tempat_berangkat.provinsi",
        x.f_dep_prov,
        "text",
        &f.dep_prov,
        false,
    ));
    fields.push(field(
        "tempat_berangkat.kota",
        x.f_dep_kota,
        "text",
        &f.dep_kota,
        false,
    ));
    let mut t = field(
        "tempat_tujuan.provinsi",
        x.f_tuj_prov,
        "text",
        &f.tuj_prov,
        true,
    );
    t.options = provinces.iter().map(|p| (p.clone(), p.clone())).collect();
    fields.push(t);
    fields.push(field(
        "tempat_tujuan.kota",
        x.f_tuj_kota,
        "text",
        &f.tuj_kota,
        true,
    ));
    fields.push(field(
        "tanggal_berangkat",
        x.f_berangkat,
        "date",
        &f.tanggal_berangkat,
        true,
    ));
    fields.push(field(
        "tanggal_kembali",
        x.f_kembali,
        "date",
        &f.tanggal_kembali,
        true,
    ));
    let mut k = field("kategori", x.f_kategori, "text", &f.kategori, false);
    k.options = Category::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.label().to_string()))
        .collect();
    fields.push(k);
    fields.push(field(
        "anggaran.instansi",
        x.f_instansi,
        "text",
        &f.instansi,
        true,
    ));
    fields.push(field("anggaran.akun", x.f_akun, "text", &f.akun, true));
    fields.push(field(
        "keterangan",
        x.f_keterangan,
        "text",
        &f.keterangan,
        false,
    ));
    let mut p = field("pengikut", x.f_pengikut, "textarea", &f.pengikut, false);
    p.hint = Some(x.f_pengikut_hint.into());
    fields.push(p);
    FormView {
        fields,
        errors: Vec::new(),
    }
}

fn form_year(state: &AppState, f: &OrderForm) -> i32 {
    parse_date(&f.tanggal_berangkat)
        .map(|d| d.year())
        .unwrap_or_else(|| state.clock.now().year())
}

async fn form_response(
    state: &AppState,
    page: &Page,
    f: &OrderForm,
    edit_of: Option<&str>,
    errors: Option<&BTreeMap<String, Text>>,
    status: StatusCode,
) -> Response {
    let x = texts(page.lang);
    let mut form = order_form(state, page.lang, f, form_year(state, f)).await;
    form = with_errors(form, errors.unwrap_or(&BTreeMap::new()), page.lang);
    let at = form.fields.iter().position(|f| f.name == "pengikut");
    let pengikut = form.fields.remove(at.unwrap_or(form.fields.len() - 1));
    let (heading, action) = match edit_of {
        Some(id) => (x.edit_order, format!("/sppd/{id}/ubah")),
        None => (x.new_order, "/sppd/baru".to_string()),
    };
    let view = FormPage {
        shell: Shell::signed_in(page, state, heading, "/sppd"),
        tx: x,
        heading,
        action,
        version: f.version.clone(),
        form,
        pengikut,
    };
    render(status, &view)
}

async fn new_page(State(state): State<AppState>, page: Page) -> Response {
    let f = OrderForm {
        dep_prov: paraf_core::travel::home().provinsi,
        dep_kota: paraf_core::travel::home().kota,
        ..Default::default()
    };
    let r = form_response(&state, &page, &f, None, None, StatusCode::OK).await;
    (page.jar, r).into_response()
}

/// A failed save or submission: the form again with the errors next to their fields.
async fn form_failed(
    state: &AppState,
    page: Page,
    f: &OrderForm,
    edit_of: Option<&str>,
    e: ApiError,
) -> Response {
    if e.fields.is_empty() {
        return page_fail(page.lang, e);
    }
    let status = e.kind.status();
    let r = form_response(state, &page, f, edit_of, Some(&e.fields), status).await;
    (page.jar, r).into_response()
}

async fn save_and_maybe_submit(
    state: &AppState,
    page: &Page,
    f: &OrderForm,
    edit_of: Option<&str>,
) -> Result<String, (ApiError, Option<String>)> {
    let tr = travel(state);
    let o = match edit_of {
        Some(id) => tr.update(id, &page.id.0, f.input()).await,
        None => tr.create_draft(&page.id.0, f.input()).await,
    }
    .map_err(|e| (ApiError::from(e), None))?;
    if f.action == "submit" {
        act(state, &tr, &o.id, &page.id.0, Act::Submit)
            .await
            .map_err(|e| (e, Some(o.id.clone())))?;
    }
    Ok(o.id)
}

/// The request form posted (new or edit): the order on success, the form with its errors
/// otherwise. A draft saved but refused on submission is edited from then on.
async fn save_page(
    state: &AppState,
    page: Page,
    form: Result<Form<OrderForm>, FormRejection>,
    edit_of: Option<&str>,
) -> Response {
    let mut f = match checked_form(&page, form, |f| &f.csrf) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match save_and_maybe_submit(state, &page, &f, edit_of).await {
        Ok(id) => (page.jar, Redirect::to(&format!("/sppd/{id}"))).into_response(),
        Err((e, saved)) => {
            if let Some(id) = &saved {
                if let Ok(o) = travel(state).load(id).await {
                    f.version = o.version.to_string();
                }
            }
            form_failed(state, page, &f, saved.as_deref().or(edit_of), e).await
        }
    }
}

async fn new_submit(
    State(state): State<AppState>,
    page: Page,
    form: Result<Form<OrderForm>, FormRejection>,
) -> Response {
    save_page(&state, page, form, None).await
}

async fn edit_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
) -> Response {
    let tr = travel(&state);
    let o = match tr.get(&oid, &page.id.0).await {
        Ok(o) => o,
        Err(e) => return page_fail(page.lang, e.into()),
    };
    if o.requester_id != page.id.0.employee_id {
        return error_page(page.lang, ErrorKind::Forbidden);
    }
    if !changeable(&o) {
        return (page.jar, Redirect::to(&format!("/sppd/{oid}"))).into_response();
    }
    let r = form_response(
        &state,
        &page,
        &OrderForm::of(&o),
        Some(&oid),
        None,
        StatusCode::OK,
    )
    .await;
    (page.jar, r).into_response()
}

async fn edit_submit(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<OrderForm>, FormRejection>,
) -> Response {
    save_page(&state, page, form, Some(&oid)).await
}

// ---------- detail page ----------

pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// One traveller's part of the estimate: two columns (item with volume × rate, amount),
/// so the table fits a 360 px phone.
pub struct EstGroup {
    pub person: String,
    pub rows: Vec<EstRow>,
}

pub struct EstRow {
    pub uraian: String,
    /// "volume × tarif".
    pub detail: String,
    pub jumlah: String,
}

pub struct StepRow {
    pub step: u32,
    pub name: String,
    pub jabatan: String,
    pub action: String,
    pub state: &'static str,
    pub state_code: String,
}

pub struct LinkRow {
    pub label: String,
    pub href: String,
}

pub struct StopRow {
    pub no: u32,
    pub tempat: String,
    pub dates: String,
    pub endorsement: Option<String>,
    pub scan: Option<LinkRow>,
    pub link_pending: bool,
}

pub struct CostRow {
    pub id: String,
    pub person: String,
    pub jenis: String,
    pub uraian: String,
    pub jumlah: String,
    pub receipt: Option<String>,
}

pub struct LineRow {
    pub at: String,
    pub shown: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "sppd_detail.html")]
struct DetailPage {
    shell: Shell,
    tx: &'static SppdTexts,
    id: String,
    heading: String,
    status: String,
    status_code: String,
    message: Option<String>,
    errors: Vec<String>,
    return_note: Option<String>,
    facts: Vec<Fact>,
    estimate: Vec<EstGroup>,
    est_total: Option<String>,
    chain: Vec<StepRow>,
    task_href: Option<String>,
    documents: Vec<LinkRow>,
    attachments: Vec<LinkRow>,
    stops: Vec<StopRow>,
    hasil: String,
    kesimpulan: String,
    photos: Vec<LinkRow>,
    costs: Vec<CostRow>,
    verifications: Vec<String>,
    timeline: Vec<LineRow>,
    travellers: Vec<(String, String)>,
    cost_kinds: Vec<&'static str>,
    may_edit: bool,
    may_withdraw: bool,
    may_report: bool,
    may_verify: bool,
    show_report: bool,
}

/// A chain step's action ("paraf", "sign") in the page language.
fn action_label<'a>(x: &'static SppdTexts, a: &'a str) -> &'a str {
    match a {
        "paraf" => x.action_paraf,
        "sign" => x.action_sign,
        _ => a,
    }
}

fn step_label(x: &SppdTexts, s: &str) -> &'static str {
    match s {
        "open" => x.step_open,
        "approved" => x.step_approved,
        "returned" => x.step_returned,
        "rejected" => x.step_rejected,
        _ => x.step_pending,
    }
}

async fn detail_view(
    state: &AppState,
    page: &Page,
    oid: &str,
    message: Option<String>,
    errors: Vec<String>,
) -> Result<DetailPage, ApiError> {
    let x = texts(page.lang);
    let tr = travel(state);
    let o = tr.get(oid, &page.id.0).await?;
    let v = order_view(state, &tr, &o, &page.id.0, page.lang).await?;
    let name_of = |id: &str| {
        o.pelaksana
            .iter()
            .find(|t| t.employee_id == id)
            .map(|t| t.nama.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    let facts = vec![
        Fact {
            label: x.requester,
            value: o.requester_name.clone(),
        },
        Fact {
            label: x.traveller,
            value: o
                .pelaksana
                .iter()
                .map(|t| {
                    format!(
                        "{} (NIP {}, {}, {})",
                        t.nama,
                        t.nip,
                        t.jabatan,
                        t.tingkat.as_str()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        },
        Fact {
            label: x.f_ppk,
            value: dash(&o.ppk_name),
        },
        Fact {
            label: x.f_maksud,
            value: dash(&o.maksud),
        },
        Fact {
            label: x.f_alat,
            value: dash(&o.alat_angkut),
        },
        Fact {
            label: x.f_dep_kota,
            value: o.tempat_berangkat.label(),
        },
        Fact {
            label: x.col_tujuan,
            value: dash(&o.tempat_tujuan.label()),
        },
        Fact {
            label: x.col_tanggal,
            value: dates(o.tanggal_berangkat, o.tanggal_kembali),
        },
        Fact {
            label: x.lama,
            value: o
                .lama()
                .map(|d| format!("{d} {}", x.days))
                .unwrap_or_else(|| "-".into()),
        },
        Fact {
            label: x.f_kategori,
            value: o.kategori.label().to_string(),
        },
        Fact {
            label: x.f_akun,
            value: format!(
                "{} ({})",
                dash(&o.anggaran.akun),
                dash(&o.anggaran.instansi)
            ),
        },
        Fact {
            label: x.f_keterangan,
            value: dash(&o.keterangan),
        },
        Fact {
            label: x.documents,
            value: [
                o.numbers.spt.clone().into_iter().collect::<Vec<_>>(),
                o.numbers.sppd.clone(),
            ]
            .concat()
            .join(", "),
        },
    ];
    let estimate = v
        .estimate
        .iter()
        .flat_map(|e| &e.per_person)
        .map(|p| EstGroup {
            person: name_of(&p.employee_id),
            rows: p
                .lines
                .iter()
                .map(|l| EstRow {
                    uraian: l.uraian.clone(),
                    detail: format!("{} × {}", l.volume, rupiah(l.tarif)),
                    jumlah: rupiah(l.jumlah),
                })
                .collect(),
        })
        .filter(|g| !g.rows.is_empty())
        .collect();
    let file_link = |a: &FileView| LinkRow {
        label: a.name.clone(),
        href: a.url.clone(),
    };
    let mut documents = Vec::new();
    if let Some(d) = &v.documents.spt {
        documents.push(LinkRow {
            label: format!("Surat Tugas {}", o.numbers.spt.clone().unwrap_or_default()),
            href: d.link.clone(),
        });
    }
    for (i, d) in v.documents.sppd.iter().enumerate() {
        documents.push(LinkRow {
            label: format!(
                "SPPD {}",
                o.numbers.sppd.get(i).cloned().unwrap_or_default()
            ),
            href: d.link.clone(),
        });
    }
    for d in &v.documents.settlement {
        let who = d
            .employee_id
            .as_deref()
            .map(|e| format!(" – {}", name_of(e)))
            .unwrap_or_default();
        documents.push(LinkRow {
            label: format!("{}{who}", d.kind),
            href: d.link.clone(),
        });
    }
    let stops = v
        .stops
        .iter()
        .map(|s| StopRow {
            no: s.no,
            tempat: s.tempat.clone(),
            dates: format!(
                "{}{}",
                s.tiba,
                s.berangkat
                    .as_ref()
                    .map(|b| format!(" – {b}"))
                    .unwrap_or_default()
            ),
            endorsement: s.endorsement.as_ref().map(|e| {
                format!(
                    "{} {}{} ({}), {}",
                    x.endorsed_by,
                    e.nama,
                    e.nip
                        .as_ref()
                        .map(|n| format!(", NIP {n}"))
                        .unwrap_or_default(),
                    e.jabatan,
                    e.cara
                )
            }),
            scan: s
                .endorsement
                .as_ref()
                .and_then(|e| e.scan.as_ref())
                .map(file_link),
            link_pending: s.link_pending,
        })
        .collect();
    let show_report = !matches!(
        o.status,
        OrderStatus::Draft
            | OrderStatus::Submitted
            | OrderStatus::Returned
            | OrderStatus::Rejected
            | OrderStatus::Withdrawn
    );
    Ok(DetailPage {
        shell: Shell::signed_in(page, state, x.title, "/sppd"),
        tx: x,
        id: o.id.clone(),
        heading: if o.maksud.is_empty() {
            x.title.to_string()
        } else {
            o.maksud.clone()
        },
        status: v.status_label.clone(),
        status_code: v.status.clone(),
        message,
        errors,
        return_note: o.return_note.clone(),
        facts,
        estimate,
        est_total: v.estimate.as_ref().map(|e| rupiah(e.total)),
        chain: v
            .chain
            .iter()
            .map(|c| StepRow {
                step: c.step,
                name: c.name.clone(),
                jabatan: c.jabatan.clone(),
                action: action_label(x, &c.action).to_string(),
                state: step_label(x, &c.state),
                state_code: c.state.clone(),
            })
            .collect(),
        task_href: v.task_id.as_ref().map(|t| format!("/tasks/{t}")),
        documents,
        attachments: v.attachments.iter().map(file_link).collect(),
        stops,
        hasil: o.report.hasil.clone(),
        kesimpulan: o.report.kesimpulan.clone(),
        photos: v.report.photos.iter().map(file_link).collect(),
        costs: v
            .actual
            .iter()
            .map(|c| CostRow {
                id: c.id.clone(),
                person: name_of(&c.employee_id),
                jenis: c.jenis.clone(),
                uraian: c.uraian.clone(),
                jumlah: rupiah(c.jumlah),
                receipt: c.receipt.as_ref().map(|r| r.url.clone()),
            })
            .collect(),
        verifications: o
            .verifications
            .iter()
            .map(|vf| {
                format!(
                    "{} · {} ({}): {}{}",
                    waktu_wib(vf.at),
                    vf.by_name,
                    vf.role,
                    if vf.accepted { x.accept } else { x.return_ },
                    if vf.note.is_empty() {
                        String::new()
                    } else {
                        format!(" – {}", vf.note)
                    }
                )
            })
            .collect(),
        timeline: v
            .timeline
            .iter()
            .zip(tr.timeline(&o).await?.iter())
            .map(|(t, e)| LineRow {
                at: t.at.clone(),
                shown: waktu_wib(e.at),
                text: t.text.clone(),
            })
            .collect(),
        travellers: o
            .pelaksana
            .iter()
            .map(|t| (t.employee_id.clone(), t.nama.clone()))
            .collect(),
        cost_kinds: ACTUAL_KINDS.to_vec(),
        may_edit: v.may_edit,
        may_withdraw: v.may_withdraw,
        may_report: v.may_report,
        may_verify: v.may_verify,
        show_report,
    })
}

async fn detail_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): axum::extract::Path<String>,
) -> Response {
    detail_after(&state, page, &oid, Ok(())).await
}

/// The detail page after an action: redirect on success (PRG), the page with the
/// errors (422/409) otherwise.
async fn detail_after(
    state: &AppState,
    page: Page,
    oid: &str,
    r: Result<(), ApiError>,
) -> Response {
    let (status, errors) = match r {
        Ok(()) => (StatusCode::OK, Vec::new()),
        Err(e) if !e.fields.is_empty() => (e.kind.status(), error_lines(page.lang, &e.fields)),
        Err(e) => return page_fail(page.lang, e),
    };
    match detail_view(state, &page, oid, None, errors).await {
        Ok(v) => (page.jar, render(status, &v)).into_response(),
        Err(e) => page_fail(page.lang, e),
    }
}

/// Field errors as the pages list them: "label: message".
fn error_lines(lang: Lang, fields: &BTreeMap<String, Text>) -> Vec<String> {
    let x = texts(lang);
    fields
        .iter()
        .map(|(k, v)| format!("{}: {}", field_label(x, k), lang.pick(v)))
        .collect()
}

fn field_label<'a>(x: &'static SppdTexts, k: &'a str) -> &'a str {
    match k.split('.').next().unwrap_or(k) {
        "file" => x.file,
        "tempat" => x.tempat,
        "tiba" => x.tiba,
        "berangkat" => x.berangkat,
        "email" => x.official_email,
        "nama" => x.nama,
        "nip" => x.nip,
        "jabatan" => x.jabatan,
        "hasil" => x.hasil,
        "kesimpulan" => x.kesimpulan,
        "jenis" => x.jenis,
        "uraian" => x.uraian,
        "jumlah" => x.jumlah,
        "pelaksana" => x.traveller,
        "note" => x.note,
        "tanggal_berangkat" => x.f_berangkat,
        "tanggal_kembali" => x.f_kembali,
        "anggaran" => x.f_akun,
        _ => k,
    }
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    tempat: String,
    #[serde(default)]
    tiba: String,
    #[serde(default)]
    berangkat: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    hasil: String,
    #[serde(default)]
    kesimpulan: String,
    #[serde(default)]
    decision: String,
}

/// A posted page form, or the page refusing it (malformed body, wrong CSRF token).
fn checked_form<F>(
    page: &Page,
    form: Result<Form<F>, FormRejection>,
    csrf: impl Fn(&F) -> &str,
) -> Result<F, Box<Response>> {
    let Ok(Form(f)) = form else {
        return Err(Box::new(error_page(page.lang, ErrorKind::Malformed)));
    };
    match page.csrf_refusal(csrf(&f)) {
        Some(r) => Err(Box::new(r)),
        None => Ok(f),
    }
}

/// A page change: does it, then redirects to the order (PRG) or shows the order page with
/// the errors (422/409).
async fn act_page(state: &AppState, page: Page, oid: &str, change: Act) -> Response {
    match act(state, &travel(state), oid, &page.id.0, change).await {
        Ok(_) => (page.jar, Redirect::to(&format!("/sppd/{oid}"))).into_response(),
        Err(e) => detail_after(state, page, oid, Err(e)).await,
    }
}

/// A page change posted as a urlencoded form.
async fn form_act(
    state: &AppState,
    page: Page,
    oid: &str,
    form: Result<Form<ActionForm>, FormRejection>,
    change: impl FnOnce(ActionForm) -> Act,
) -> Response {
    match checked_form(&page, form, |f| &f.csrf) {
        Ok(f) => act_page(state, page, oid, change(f)).await,
        Err(r) => *r,
    }
}

/// A page change posted as a multipart form (carrying its CSRF token as a field).
async fn upload_act(
    state: &AppState,
    page: Page,
    oid: &str,
    req: Request,
    change: impl FnOnce(Upload) -> Act,
) -> Response {
    let up = match upload(state, oid, &page.id.0, req).await {
        Ok(up) => up,
        Err(e) => return detail_after(state, page, oid, Err(e)).await,
    };
    if let Some(r) = page.csrf_refusal(&up.field("csrf")) {
        return r;
    }
    act_page(state, page, oid, change(up)).await
}

type OrderPath = axum::extract::Path<String>;
type StopPath = axum::extract::Path<(String, u32)>;

async fn page_submit(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |_| Act::Submit).await
}

async fn page_withdraw(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::Withdraw { note: f.note }).await
}

async fn page_stop(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::AddStop {
        berangkat: (!f.berangkat.trim().is_empty()).then_some(f.berangkat),
        tempat: f.tempat,
        tiba: f.tiba,
    })
    .await
}

async fn page_link(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path((oid, no)): StopPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::Link {
        no,
        email: f.email,
    })
    .await
}

async fn page_report(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::Report {
        hasil: f.hasil,
        kesimpulan: f.kesimpulan,
    })
    .await
}

async fn page_submit_report(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |_| Act::SubmitReport).await
}

async fn page_remove_cost(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path((oid, cost)): axum::extract::Path<(String, String)>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |_| Act::RemoveCost { cost }).await
}

async fn page_verify(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::Verify {
        decision: f.decision,
        note: f.note,
    })
    .await
}

async fn page_scan(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path((oid, no)): StopPath,
    req: Request,
) -> Response {
    upload_act(&state, page, &oid, req, |up| Act::Scan { no, up }).await
}

async fn page_photo(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    req: Request,
) -> Response {
    upload_act(&state, page, &oid, req, Act::Photo).await
}

async fn page_cost(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    req: Request,
) -> Response {
    upload_act(&state, page, &oid, req, Act::Cost).await
}

// ---------- the public endorsement page ----------

#[derive(Template)]
#[template(path = "sppd_endorse.html")]
struct EndorsePage {
    shell: Shell,
    tx: &'static SppdTexts,
    token: String,
    message: Option<String>,
    facts: Vec<Fact>,
    show_form: bool,
    errors: Vec<String>,
    nama: String,
    nip: String,
    jabatan: String,
}

fn public_shell(state: &AppState, lang: Lang, title: &str) -> Shell {
    Shell {
        t: lang.texts(),
        title: title.to_string(),
        org_name: state.config.org_name.clone(),
        user: None,
        nav: Vec::new(),
        csrf: String::new(),
        flash: None,
    }
}

fn endorse_view(
    state: &AppState,
    lang: Lang,
    token: &str,
    o: Option<(&TravelOrder, &Stop)>,
    message: Option<String>,
    show_form: bool,
) -> EndorsePage {
    let x = texts(lang);
    let facts = match o {
        Some((o, s)) => vec![
            Fact {
                label: x.traveller,
                value: o
                    .pelaksana
                    .iter()
                    .map(|t| format!("{} ({})", t.nama, t.jabatan))
                    .collect::<Vec<_>>()
                    .join("; "),
            },
            Fact {
                label: x.f_maksud,
                value: o.maksud.clone(),
            },
            Fact {
                label: x.col_tujuan,
                value: o.tempat_tujuan.label(),
            },
            Fact {
                label: x.col_tanggal,
                value: dates(o.tanggal_berangkat, o.tanggal_kembali),
            },
            Fact {
                label: x.stop,
                value: format!("{} ({})", s.tempat, tanggal(s.tiba)),
            },
        ],
        None => Vec::new(),
    };
    EndorsePage {
        shell: public_shell(state, lang, x.endorse_title),
        tx: x,
        token: token.to_string(),
        message,
        facts,
        show_form,
        errors: Vec::new(),
        nama: String::new(),
        nip: String::new(),
        jabatan: String::new(),
    }
}

/// What a token opens: the order and stop, or the status and message of a refusal.
async fn endorse_target(
    state: &AppState,
    lang: Lang,
    token: &str,
) -> Result<(TravelOrder, Stop), Response> {
    let x = texts(lang);
    match travel(state).endorsement_target(token).await {
        Ok((o, s)) => {
            let now = state.clock.now();
            if s.endorsement.is_some()
                || s.token_expires.is_some_and(|t| now >= t)
                || o.status != OrderStatus::Approved
            {
                let v = endorse_view(state, lang, token, None, Some(x.endorse_used.into()), false);
                Err(render(StatusCode::CONFLICT, &v))
            } else {
                Ok((o, s))
            }
        }
        Err(ServiceError::NotFound(_)) if used_link(state, token).await => {
            let v = endorse_view(state, lang, token, None, Some(x.endorse_used.into()), false);
            Err(render(StatusCode::CONFLICT, &v))
        }
        Err(ServiceError::NotFound(_)) => {
            let v = endorse_view(
                state,
                lang,
                token,
                None,
                Some(x.endorse_unknown.into()),
                false,
            );
            Err(render(StatusCode::NOT_FOUND, &v))
        }
        Err(e) => Err(page_fail(lang, e.into())),
    }
}

/// A link already used: the domain forgets its secret once used, so a second visit finds
/// only a stop endorsed through a link. Says "already used" and nothing of the order.
async fn used_link(state: &AppState, token: &str) -> bool {
    let mut parts = token.trim().splitn(3, '.');
    let (Some(id), Some(no)) = (
        parts.next(),
        parts.next().and_then(|n| n.parse::<u32>().ok()),
    ) else {
        return false;
    };
    match travel(state).load(id).await {
        Ok(o) => o.stops.iter().any(|s| {
            s.no == no
                && s.token_hash.is_none()
                && s.endorsement.as_ref().is_some_and(|e| e.cara == "tautan")
        }),
        Err(_) => false,
    }
}

async fn endorse_page(
    State(state): State<AppState>,
    lang: Lang,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    match endorse_target(&state, lang, &token).await {
        Ok((o, s)) => render(
            StatusCode::OK,
            &endorse_view(&state, lang, &token, Some((&o, &s)), None, true),
        ),
        Err(r) => r,
    }
}

#[derive(Debug, Default, Deserialize)]
struct EndorseForm {
    #[serde(default)]
    nama: String,
    #[serde(default)]
    nip: String,
    #[serde(default)]
    jabatan: String,
}

/// The link is the credential (a secret in the URL, working once), so the form needs no
/// session nor CSRF token: a forged cross-site POST would have to know the secret.
async fn endorse_submit(
    State(state): State<AppState>,
    lang: Lang,
    axum::extract::Path(token): axum::extract::Path<String>,
    form: Result<Form<EndorseForm>, FormRejection>,
) -> Response {
    let x = texts(lang);
    let Ok(Form(f)) = form else {
        return error_page(lang, ErrorKind::Malformed);
    };
    let (o, s) = match endorse_target(&state, lang, &token).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let nip = (!f.nip.trim().is_empty()).then_some(f.nip.as_str());
    match travel(&state)
        .endorse_by_link(&token, &f.nama, nip, &f.jabatan)
        .await
    {
        Ok(o) => {
            let s = o.stops.iter().find(|x| x.no == s.no).cloned().unwrap_or(s);
            render(
                StatusCode::OK,
                &endorse_view(
                    &state,
                    lang,
                    &token,
                    Some((&o, &s)),
                    Some(x.endorse_done.into()),
                    false,
                ),
            )
        }
        Err(ServiceError::Invalid(fields)) => {
            let mut v = endorse_view(&state, lang, &token, Some((&o, &s)), None, true);
            v.errors = error_lines(lang, &fields.into_map());
            v.nama = f.nama;
            v.nip = f.nip;
            v.jabatan = f.jabatan;
            render(StatusCode::UNPROCESSABLE_ENTITY, &v)
        }
        Err(ServiceError::Conflict { .. }) | Err(ServiceError::NotFound(_)) => render(
            StatusCode::CONFLICT,
            &endorse_view(
                &state,
                lang,
                &token,
                None,
                Some(x.endorse_used.into()),
                false,
            ),
        ),
        Err(e) => page_fail(lang, e.into()),
    }
}
