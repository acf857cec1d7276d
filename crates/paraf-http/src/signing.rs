//! Failed sign steps for administrators: the list of signing that failed and is being
//! retried or waits for them, and the "retry" that runs it again — in the API
//! (`/api/v1/admin/sign-steps`) and on the page `/admin/penandatanganan`.
//!
//! A retry is decided once ([`SignSteps::retry`]); then a step whose workflow waits gets
//! its token back (`SigningStuck` in approval.asl.json signs again), and a travel order's
//! settlement is signed again here, by the service that numbers its kuitansi.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use paraf_core::format::waktu_wib;
use paraf_core::signing::{SignStep, SignSteps, StepState, RETRY_DECISION};
use paraf_core::{Principal, Role, ServiceError, Text};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody, ErrorKind, Json, Path};
use crate::i18n::Lang;
use crate::identity::Identity;
use crate::pages::{error_page, render, Page, Shell};
use crate::AppState;

/// The page of failed sign steps.
pub const PAGE: &str = "/admin/penandatanganan";

pub fn steps(state: &AppState) -> SignSteps {
    SignSteps::new(state.table.clone(), state.clock.clone())
}

/// A failed sign step as the API shows it (never its workflow token).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SigningView {
    /// `service-subject-stage`, e.g. `sppd-<order>-approval`.
    pub id: String,
    pub service: String,
    pub subject: String,
    /// approval (SPT and SPPD) or settlement (kuitansi and the other payment documents).
    pub stage: String,
    pub stage_label: String,
    pub title: String,
    /// The record's page.
    pub link: Option<String>,
    /// retrying (failed, tried again automatically or at an admin's request), stuck
    /// (waits for an administrator) or resolved (finished after failing).
    #[schema(value_type = paraf_core::signing::StepState)]
    pub state: String,
    pub state_label: String,
    /// Why the last attempt failed, in the caller's language.
    pub reason: String,
    pub attempts: u32,
    /// RFC 3339 in WIB (+07:00).
    pub first_failed: String,
    pub last_failed: String,
    pub resolved: Option<String>,
    /// The same instants for people, e.g. "28 November 2026 14:05 WIB".
    pub last_failed_wib: String,
    /// Whether an administrator may ask for a retry now.
    pub may_retry: bool,
    pub history: Vec<SigningEventView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SigningEventView {
    pub at: String,
    pub at_wib: String,
    pub event: String,
    pub text: String,
}

fn wib(t: time::OffsetDateTime) -> String {
    t.to_offset(paraf_core::WIB)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn stage_label(stage: &str) -> Text {
    match stage {
        "approval" => Text::new(
            "Surat Tugas dan SPPD setelah persetujuan",
            "Surat Tugas and SPPD after approval",
        ),
        "settlement" => Text::new(
            "kuitansi dan dokumen pembayaran",
            "receipts and payment documents",
        ),
        _ => Text::new("dokumen yang disetujui", "the approved document"),
    }
}

pub fn signing_view(s: &SignStep, who: &Principal, lang: Lang) -> SigningView {
    SigningView {
        id: s.id.clone(),
        service: s.service.clone(),
        subject: s.subject.clone(),
        stage: s.stage.clone(),
        stage_label: lang.pick(&stage_label(&s.stage)).to_string(),
        title: s.title.clone(),
        link: s.link.clone(),
        state: s.state.as_str().into(),
        state_label: lang.pick(&s.state.label()).to_string(),
        reason: lang.pick(&s.reason).to_string(),
        attempts: s.attempts,
        first_failed: wib(s.first_failed),
        last_failed: wib(s.last_failed),
        resolved: s.resolved.map(wib),
        last_failed_wib: waktu_wib(s.last_failed),
        may_retry: s.state == StepState::Stuck && who.has(Role::Admin),
        history: s
            .history
            .iter()
            .map(|e| SigningEventView {
                at: wib(e.at),
                at_wib: waktu_wib(e.at),
                event: e.event.clone(),
                text: lang.pick(&e.text).to_string(),
            })
            .collect(),
    }
}

/// The open sign step of a record, the one its page shows (none when all went well).
pub async fn open_step_of(
    state: &AppState,
    service: &str,
    subject: &str,
) -> Result<Option<SignStep>, ApiError> {
    Ok(steps(state)
        .of_subject(service, subject)
        .await?
        .into_iter()
        .filter(SignStep::is_open)
        .max_by_key(|s| s.last_failed))
}

/// Runs a stuck step again at an administrator's request: decided once, then its
/// workflow gets the token back, or the service signs again.
pub async fn retry(state: &AppState, who: &Principal, id: &str) -> Result<SignStep, ApiError> {
    let signing = steps(state);
    let taken = signing.retry(id, who).await?;
    match taken.task_token.clone() {
        Some(token) => {
            let wf = state.workflows.clone().ok_or_else(|| {
                ApiError::internal(&ServiceError::Internal(
                    "the workflow engine is not connected".into(),
                ))
            })?;
            if let Err(e) = wf
                .send_task_success(
                    &token,
                    json!({"decision": RETRY_DECISION, "by": who.employee_id}),
                )
                .await
            {
                // The workflow did not take it: the step is stuck again, with its token.
                let f = paraf_core::signing::Failure {
                    step: paraf_core::signing::StepRef::new(
                        &taken.service,
                        &taken.subject,
                        &taken.stage,
                    ),
                    title: taken.title.clone(),
                    link: taken.link.clone(),
                    error: taken.error.clone(),
                    reason: taken.reason.clone(),
                };
                if let Err(e2) = signing.stuck(f, Some(token), &e.to_string()).await {
                    tracing::error!(step = %id, error = %e2, "a stuck sign step could not be put back");
                }
                return Err(ApiError::internal(&e));
            }
        }
        None if taken.service == paraf_core::travel::SERVICE
            && taken.stage == paraf_tasks::travel::STAGE_SETTLEMENT =>
        {
            let tr = paraf_core::travel::Travel::new(state.table.clone(), state.clock.clone());
            let ctx = crate::documents::sign_context(state);
            // A failure is recorded on the step again (stuck); the admin sees it there.
            let _ = paraf_tasks::travel::settle_recorded(&ctx, &tr, &taken.subject).await;
        }
        None => {
            return Err(ServiceError::conflict(
                "status",
                Text::new(
                    "penandatanganan ini tidak dapat diulang dari sini",
                    "this signing cannot be run again from here",
                ),
            )
            .into())
        }
    }
    Ok(signing.get(id).await?)
}

// ---------- API ----------

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_api))
        .routes(routes!(get_api))
        .routes(routes!(retry_api))
}

/// Failed sign steps that are being retried or wait for an administrator, oldest first
/// (admin).
#[utoipa::path(get, path = "/api/v1/admin/sign-steps", tag = "admin",
    responses((status = 200, body = Vec<SigningView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
) -> Result<Json<Vec<SigningView>>, ApiError> {
    let open = steps(&state).open(&id.0).await?;
    Ok(Json(
        open.iter().map(|s| signing_view(s, &id.0, lang)).collect(),
    ))
}

/// One sign step with its history (admin).
#[utoipa::path(get, path = "/api/v1/admin/sign-steps/{id}", tag = "admin",
    params(("id" = String, Path, description = "the step id")),
    responses((status = 200, body = SigningView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn get_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(step): Path<String>,
) -> Result<Json<SigningView>, ApiError> {
    id.require(Role::Admin)?;
    let s = steps(&state).get(&step).await?;
    Ok(Json(signing_view(&s, &id.0, lang)))
}

/// Runs a stuck sign step again (admin), once: a second request, or a step that is not
/// stuck, is 409 "sudah diputuskan" and changes nothing. The approval workflow signs
/// again in the background (the step shows `retrying`, then `resolved` or `stuck`); a
/// settlement is signed before the answer.
#[utoipa::path(post, path = "/api/v1/admin/sign-steps/{id}/retry", tag = "admin",
    params(("id" = String, Path, description = "the step id")),
    responses((status = 200, body = SigningView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "already retried, or not stuck")))]
async fn retry_api(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(step): Path<String>,
) -> Result<Json<SigningView>, ApiError> {
    let s = retry(&state, &id.0, &step).await?;
    Ok(Json(signing_view(&s, &id.0, lang)))
}

// ---------- page ----------

/// The page's words in one language.
pub struct SigningTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
    pub col_document: &'static str,
    pub col_state: &'static str,
    pub col_reason: &'static str,
    pub col_attempts: &'static str,
    pub col_last: &'static str,
    pub retry: &'static str,
    pub retried: &'static str,
    pub banner_stuck: &'static str,
    pub banner_retrying: &'static str,
    pub banner_admin: &'static str,
}

pub const ID: SigningTexts = SigningTexts {
    title: "Penandatanganan gagal",
    intro: "Dokumen yang gagal ditandatangani: yang sedang dicoba ulang otomatis, dan yang menunggu Anda. Perbaiki penyebabnya (misalnya data pegawai atau layanan cap waktu), lalu minta penandatanganan diulang.",
    empty: "Tidak ada penandatanganan yang gagal.",
    col_document: "Dokumen",
    col_state: "Keadaan",
    col_reason: "Alasan",
    col_attempts: "Percobaan",
    col_last: "Terakhir gagal",
    retry: "Ulangi penandatanganan",
    retried: "Penandatanganan diulang.",
    banner_stuck: "Penandatanganan dokumen gagal dan menunggu tindakan admin",
    banner_retrying: "Penandatanganan dokumen gagal dan sedang dicoba ulang",
    banner_admin: "Admin telah diberi tahu; pengajuan ini berlanjut setelah penandatanganan berhasil.",
};

pub const EN: SigningTexts = SigningTexts {
    title: "Failed signing",
    intro: "Documents that could not be signed: those being retried automatically, and those waiting for you. Fix the cause (for example the employee records or the time-stamping service), then ask for the signing to run again.",
    empty: "No signing has failed.",
    col_document: "Document",
    col_state: "State",
    col_reason: "Reason",
    col_attempts: "Attempts",
    col_last: "Last failed",
    retry: "Retry signing",
    retried: "Signing retried.",
    banner_stuck: "Signing the documents failed and waits for an administrator",
    banner_retrying: "Signing the documents failed and is being retried",
    banner_admin: "The administrators have been told; this order continues once signing succeeds.",
};

pub fn texts(lang: Lang) -> &'static SigningTexts {
    match lang {
        Lang::Id => &ID,
        Lang::En => &EN,
    }
}

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(list_page))
        .route("/admin/penandatanganan/{id}/ulang", post(retry_page))
}

#[derive(Template)]
#[template(path = "admin_signing.html")]
struct ListPage {
    shell: Shell,
    tx: &'static SigningTexts,
    message: Option<String>,
    errors: Vec<String>,
    rows: Vec<SigningView>,
}

async fn list_view(
    state: &AppState,
    page: &Page,
    message: Option<String>,
    errors: Vec<String>,
) -> Result<ListPage, ApiError> {
    let tx = texts(page.lang);
    let rows = steps(state)
        .open(&page.id.0)
        .await?
        .iter()
        .map(|s| signing_view(s, &page.id.0, page.lang))
        .collect();
    Ok(ListPage {
        shell: Shell::signed_in(page, state, tx.title, "/admin/employees"),
        tx,
        message,
        errors,
        rows,
    })
}

async fn list_page(State(state): State<AppState>, page: Page) -> Response {
    if !page.id.0.has(Role::Admin) {
        return error_page(page.lang, ErrorKind::Forbidden);
    }
    match list_view(&state, &page, None, Vec::new()).await {
        Ok(v) => (page.jar, render(StatusCode::OK, &v)).into_response(),
        Err(e) => error_page(page.lang, e.kind),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RetryForm {
    #[serde(default)]
    csrf: String,
    /// Where to go afterwards: the record's page (`/sppd/…`) or this list.
    #[serde(default)]
    back: String,
}

async fn retry_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(step): axum::extract::Path<String>,
    form: Result<Form<RetryForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(page.lang, ErrorKind::Malformed);
    };
    if let Some(r) = page.csrf_refusal(&f.csrf) {
        return r;
    }
    if !page.id.0.has(Role::Admin) {
        return error_page(page.lang, ErrorKind::Forbidden);
    }
    match retry(&state, &page.id.0, &step).await {
        Ok(_) => {
            // Only our own pages: never an address from elsewhere.
            let back = if f.back.starts_with("/sppd/") && !f.back.contains("//") {
                f.back
            } else {
                PAGE.to_string()
            };
            (
                crate::pages::flash(page.jar, "sign_retried"),
                Redirect::to(&back),
            )
                .into_response()
        }
        Err(e) if !e.fields.is_empty() => {
            let errors = e
                .fields
                .values()
                .map(|t| page.lang.pick(t).to_string())
                .collect();
            let status = e.kind.status();
            match list_view(&state, &page, None, errors).await {
                Ok(v) => (page.jar, render(status, &v)).into_response(),
                Err(e) => error_page(page.lang, e.kind),
            }
        }
        Err(e) => error_page(page.lang, e.kind),
    }
}
