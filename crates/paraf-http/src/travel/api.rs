//! The JSON API of e-SPPD: the `#[utoipa::path]` handlers under `/api/v1/sppd`,
//! `/api/v1/sbm` and `/api/v1/pagu`.

use std::collections::BTreeMap;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use paraf_core::travel::{
    date_str, settle_person, Attachment, Estimate, OrderStatus, SbmInput, SbmTable, Travel,
    TravelOrder,
};
use paraf_core::{Principal, Role, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::forms::{CostUpload, FileUpload, ScanUpload, SppdForm, SppdUpdate};
use super::{
    act, list_filter, list_orders, non_empty, order_view, summary, travel, upload, viewable, Act,
    ListQuery, OrderView, SummaryView, MAX_FILE_BODY_BYTES,
};
use crate::error::{ApiError, ErrorBody, Json, Path, Query};
use crate::export::{Cell, Format, Sheet};
use crate::i18n::Lang;
use crate::identity::Identity;
use crate::AppState;

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

// ---------- list and export ----------

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
#[utoipa::path(post, path = "/api/v1/sppd", tag = "sppd", request_body = SppdForm,
    responses((status = 201, body = OrderView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Json(form): Json<SppdForm>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let tr = travel(&state);
    let o = tr.create_draft(&id.0, form.input(None)).await?;
    Ok((
        StatusCode::CREATED,
        answer(&state, &tr, &o, &id.0, lang).await?,
    ))
}

/// The cost estimate of a form, per traveller and in total, without saving anything.
#[utoipa::path(post, path = "/api/v1/sppd/estimate", tag = "sppd", request_body = SppdForm,
    responses((status = 200, body = Estimate), (status = 422, body = ErrorBody)))]
async fn estimate_api(
    State(state): State<AppState>,
    id: Identity,
    Json(form): Json<SppdForm>,
) -> Result<Json<Estimate>, ApiError> {
    Ok(Json(
        travel(&state)
            .estimate_form(&id.0, form.input(None))
            .await?,
    ))
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
#[utoipa::path(put, path = "/api/v1/sppd/{id}", tag = "sppd", request_body = SppdUpdate,
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = OrderView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(oid): Path<String>,
    Json(b): Json<SppdUpdate>,
) -> Result<Json<OrderView>, ApiError> {
    let tr = travel(&state);
    let o = tr
        .update(&oid, &id.0, b.form.input(Some(b.version)))
        .await?;
    answer(&state, &tr, &o, &id.0, lang).await
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
    request_body(content_type = "multipart/form-data", content = FileUpload),
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
#[schema(example = json!({"tempat": "KPU RI, Jakarta Pusat", "tiba": "2026-12-07", "berangkat": "2026-12-09"}))]
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
    request_body(content_type = "multipart/form-data", content = ScanUpload),
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
#[schema(example = json!({
    "hasil": "Rapat menyepakati jadwal distribusi logistik.",
    "kesimpulan": "Distribusi dimulai 10 Desember."
}))]
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
    request_body(content_type = "multipart/form-data", content = FileUpload),
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
    request_body(content_type = "multipart/form-data", content = CostUpload),
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

fn verify_decision_schema() -> utoipa::openapi::schema::Object {
    paraf_core::schema::one_of(&["accept", "return"])
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"decision": "accept"}))]
pub struct VerifyBody {
    #[serde(default)]
    #[schema(schema_with = verify_decision_schema)]
    pub decision: String,
    /// Required when returning.
    #[serde(default)]
    pub note: String,
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
    params(("year" = i32, Path, minimum = 2000, maximum = 2100, description = "fiscal year, 2000-2100 (else 422 on `year`)")),
    responses((status = 200, body = SbmTable), (status = 404, body = ErrorBody, description = "no rates for that year"),
              (status = 422, body = ErrorBody, description = "`year` outside 2000-2100")))]
async fn sbm_get_api(
    State(state): State<AppState>,
    _id: Identity,
    Path(year): Path<i32>,
) -> Result<Json<SbmTable>, ApiError> {
    travel(&state)
        .sbm()
        .current(year)
        .await?
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

/// Saves a new version of a year's rates (admin).
#[utoipa::path(put, path = "/api/v1/sbm/{year}", tag = "sppd", request_body = SbmInput,
    params(("year" = i32, Path, minimum = 2000, maximum = 2100, description = "fiscal year, 2000-2100 (else 422 on `year`)")),
    responses((status = 200, body = SbmTable), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn sbm_put_api(
    State(state): State<AppState>,
    id: Identity,
    Path(year): Path<i32>,
    Json(input): Json<SbmInput>,
) -> Result<Json<SbmTable>, ApiError> {
    id.require(Role::Admin)?;
    Ok(Json(travel(&state).sbm().save(year, input, &id.0).await?))
}

/// Every version of a year's rates (admin, PPK).
#[utoipa::path(get, path = "/api/v1/sbm/{year}/history", tag = "sppd",
    params(("year" = i32, Path, minimum = 2000, maximum = 2100, description = "fiscal year, 2000-2100 (else 422 on `year`)")),
    responses((status = 200, body = Vec<SbmTable>), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`year` outside 2000-2100")))]
async fn sbm_history_api(
    State(state): State<AppState>,
    id: Identity,
    Path(year): Path<i32>,
) -> Result<Json<Vec<SbmTable>>, ApiError> {
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
    params(("year" = i32, Path, minimum = 2000, maximum = 2100, description = "fiscal year, 2000-2100 (else 422 on `year`)")),
    responses((status = 200, body = Vec<PaguView>), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`year` outside 2000-2100")))]
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
    params(("year" = i32, Path, minimum = 2000, maximum = 2100, description = "fiscal year, 2000-2100 (else 422 on `year`)"), ("akun" = String, Path, description = "account code")),
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
