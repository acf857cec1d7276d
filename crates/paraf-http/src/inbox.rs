//! Human tasks on the web and in the API: the inbox, the page a mailed link opens, the
//! decision, an admin's reassignment, and starting an approval chain.
//!
//! A mailed link is `/tasks/{id}` and nothing more. `GET` only shows the task and the
//! decision form (mail scanners prefetch links: a GET never changes anything); the form's
//! `POST` decides once. The same tasks are in `/inbox` and under `/api/v1/tasks`.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use paraf_core::approvals::{ApprovalTask, Approvals, DecideError, Status};
use paraf_core::format::waktu_wib;
use paraf_core::{Principal, Role, ServiceError, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody, ErrorKind, Json, Path};
use crate::i18n::Lang;
use crate::identity::Identity;
use crate::pages::{error_page, render, Page, Shell};
use crate::AppState;

// ---------- texts ----------

/// This module's texts (kept here so the shared catalogue stays small).
pub struct InboxTexts {
    pub inbox_title: &'static str,
    pub inbox_intro: &'static str,
    pub inbox_empty: &'static str,
    pub col_subject: &'static str,
    pub col_from: &'static str,
    pub col_step: &'static str,
    pub col_due: &'static str,
    pub task_title: &'static str,
    pub requester: &'static str,
    pub document: &'static str,
    pub assignee: &'static str,
    pub due: &'static str,
    pub link_valid_until: &'static str,
    pub status: &'static str,
    pub history: &'static str,
    pub note: &'static str,
    pub note_hint: &'static str,
    pub approve: &'static str,
    pub reject: &'static str,
    pub return_: &'static str,
    pub resubmit: &'static str,
    pub withdraw: &'static str,
    pub confirm_hint: &'static str,
    pub decided: &'static str,
    pub already_decided: &'static str,
    pub expired: &'static str,
    pub newer_link: &'static str,
    pub not_yours: &'static str,
    pub as_plh: &'static str,
    pub reassign: &'static str,
    pub reassign_to: &'static str,
    pub reassigned: &'static str,
    pub action_paraf: &'static str,
    pub action_sign: &'static str,
    pub action_resubmit: &'static str,
    pub status_open: &'static str,
    pub status_decided: &'static str,
    pub status_superseded: &'static str,
    pub status_expired: &'static str,
}

pub const ID: InboxTexts = InboxTexts {
    inbox_title: "Kotak masuk",
    inbox_intro: "Permintaan paraf, tanda tangan dan perbaikan yang menunggu keputusan Anda.",
    inbox_empty: "Tidak ada tugas yang menunggu Anda.",
    col_subject: "Perihal",
    col_from: "Pengaju",
    col_step: "Langkah",
    col_due: "Batas waktu",
    task_title: "Tugas persetujuan",
    requester: "Pengaju",
    document: "Dokumen",
    assignee: "Penanggung jawab",
    due: "Batas waktu",
    link_valid_until: "Tautan berlaku sampai",
    status: "Status",
    history: "Riwayat",
    note: "Catatan",
    note_hint: "Wajib diisi bila menolak atau mengembalikan.",
    approve: "Setujui",
    reject: "Tolak",
    return_: "Kembalikan untuk perbaikan",
    resubmit: "Ajukan kembali",
    withdraw: "Tarik pengajuan",
    confirm_hint: "Membuka halaman ini tidak mengubah apa pun; keputusan baru tercatat setelah Anda menekan salah satu tombol.",
    decided: "Keputusan Anda tercatat.",
    already_decided: "Tugas ini sudah diputuskan; tidak ada yang diubah.",
    expired: "Tautan ini sudah kedaluwarsa; tidak ada yang diubah.",
    newer_link: "Buka tugas yang terbaru",
    not_yours: "Hanya penanggung jawab (atau Plh-nya selama masa penugasan) yang dapat memutuskan tugas ini.",
    as_plh: "sebagai Plh",
    reassign: "Alihkan tugas (admin)",
    reassign_to: "Alihkan kepada (NIP atau email)",
    reassigned: "Tugas dialihkan.",
    action_paraf: "paraf",
    action_sign: "tanda tangan",
    action_resubmit: "perbaikan",
    status_open: "menunggu keputusan",
    status_decided: "sudah diputuskan",
    status_superseded: "diganti (pengingat/eskalasi)",
    status_expired: "kedaluwarsa",
};

pub const EN: InboxTexts = InboxTexts {
    inbox_title: "Inbox",
    inbox_intro: "Requests for initials, signatures and revisions waiting for your decision.",
    inbox_empty: "Nothing is waiting for you.",
    col_subject: "Subject",
    col_from: "Requester",
    col_step: "Step",
    col_due: "Due",
    task_title: "Approval task",
    requester: "Requester",
    document: "Document",
    assignee: "Assignee",
    due: "Due",
    link_valid_until: "Link valid until",
    status: "Status",
    history: "History",
    note: "Note",
    note_hint: "Required when rejecting or returning.",
    approve: "Approve",
    reject: "Reject",
    return_: "Return for revision",
    resubmit: "Resubmit",
    withdraw: "Withdraw the request",
    confirm_hint:
        "Opening this page changes nothing; the decision is recorded only when you press a button.",
    decided: "Your decision is recorded.",
    already_decided: "This task has already been decided (sudah diputuskan); nothing was changed.",
    expired: "This link has expired; nothing was changed.",
    newer_link: "Open the latest task",
    not_yours: "Only the assignee (or their Plh during a delegation) can decide this task.",
    as_plh: "as Plh",
    reassign: "Reassign the task (admin)",
    reassign_to: "Reassign to (NIP or email)",
    reassigned: "Task reassigned.",
    action_paraf: "initials",
    action_sign: "signature",
    action_resubmit: "revision",
    status_open: "waiting for a decision",
    status_decided: "decided",
    status_superseded: "replaced (reminder/escalation)",
    status_expired: "expired",
};

fn tx(lang: Lang) -> &'static InboxTexts {
    match lang {
        Lang::Id => &ID,
        Lang::En => &EN,
    }
}

fn approvals(state: &AppState) -> Approvals {
    Approvals::new(state.table.clone(), state.clock.clone())
}

// ---------- routes ----------

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(inbox_page))
        .route("/tasks/{id}", get(task_page).post(task_decide))
        .route("/tasks/{id}/reassign", post(task_reassign))
}

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_approval))
        .routes(routes!(get_approval))
        .routes(routes!(list_tasks))
        .routes(routes!(get_task))
        .routes(routes!(decide_task))
        .routes(routes!(reassign_task))
}

// ---------- views ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionView {
    #[schema(value_type = paraf_core::approvals::Outcome)]
    pub decision: String,
    pub note: String,
    pub by_id: String,
    pub by_name: String,
    /// The position decided in: the assignee's jabatan ("Plh. …" for their Plh).
    pub by_role: String,
    /// The assignee's name when their Plh decided.
    pub on_behalf_of: Option<String>,
    /// RFC 3339.
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryView {
    /// RFC 3339.
    pub at: String,
    /// created, mailed, reminder, escalated, reassigned, decided, delivered, expired.
    pub event: String,
    pub text: String,
}

/// An approval task as the API shows it (never its workflow token).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    #[schema(value_type = paraf_core::approvals::TaskKind)]
    pub kind: String,
    pub execution_id: String,
    pub step: u32,
    /// What the assignee does: paraf (initial), sign, or resubmit (their own returned
    /// request).
    #[schema(schema_with = task_action_schema)]
    pub action: String,
    #[schema(value_type = paraf_core::approvals::Status)]
    pub status: String,
    pub subject: String,
    pub document: Option<String>,
    pub assignee_id: String,
    pub assignee_name: String,
    pub acting_id: Option<String>,
    pub requester_id: String,
    pub requester_name: String,
    pub created: String,
    pub due: String,
    pub expires: String,
    pub decision: Option<DecisionView>,
    /// The decision reached the workflow.
    pub delivered: bool,
    pub mail_sent: bool,
    pub reminders: u32,
    pub superseded_by: Option<String>,
    /// The page a mailed link opens.
    pub link: String,
    pub history: Vec<HistoryView>,
    /// Notes given with the decisions taken before this task.
    pub earlier: Vec<paraf_core::approvals::Note>,
    /// A revision task: why the request was returned, and by whom.
    pub returned: Option<paraf_core::approvals::Note>,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn task_view(state: &AppState, t: &ApprovalTask, lang: Lang) -> TaskView {
    TaskView {
        id: t.id.clone(),
        kind: t.kind.as_str().into(),
        execution_id: t.execution_id.clone(),
        step: t.step,
        action: t.action.clone(),
        status: t.status.as_str().into(),
        subject: t.subject.clone(),
        document: t.document.clone(),
        assignee_id: t.assignee_id.clone(),
        assignee_name: t.assignee_name.clone(),
        acting_id: t.acting_id.clone(),
        requester_id: t.requester_id.clone(),
        requester_name: t.requester_name.clone(),
        created: rfc3339(t.created),
        due: rfc3339(t.due),
        expires: rfc3339(t.expires),
        decision: t.decision.as_ref().map(|d| DecisionView {
            decision: d.outcome.as_str().into(),
            note: d.note.clone(),
            by_id: d.by_id.clone(),
            by_name: d.by_name.clone(),
            by_role: d.by_role.clone(),
            on_behalf_of: d.on_behalf_of.clone(),
            at: rfc3339(d.at),
        }),
        delivered: t.delivered,
        mail_sent: t.mail_sent,
        reminders: t.reminders,
        superseded_by: t.superseded_by.clone(),
        link: format!("{}{}", state.config.public_base_url, t.link_path()),
        history: t
            .history
            .iter()
            .map(|h| HistoryView {
                at: rfc3339(h.at),
                event: h.event.clone(),
                text: lang.pick(&h.text).to_string(),
            })
            .collect(),
        earlier: t.earlier.clone(),
        returned: t.returned().cloned(),
    }
}

// ---------- shared decision logic ----------

/// Records the decision and hands it to the workflow. A failed hand-over stays recorded
/// and is retried by the server's redelivery loop.
async fn decide(
    state: &AppState,
    id: &str,
    who: &Principal,
    decision: &str,
    note: &str,
) -> Result<ApprovalTask, DecideError> {
    let a = approvals(state);
    let t = a.decide(id, who, decision, note).await?;
    let Some(wf) = state.workflows.as_ref() else {
        tracing::warn!(task = %t.id, "no workflow engine: the decision waits for redelivery");
        sync_travel_order(state, &t.request).await;
        return Ok(t);
    };
    let request = t.request.clone();
    let r = match a.deliver(&t, wf.as_ref()).await {
        Ok(t) if t.status == Status::Expired => Err(DecideError::Expired(Box::new(t))),
        Ok(t) => Ok(t),
        Err(e) => {
            tracing::warn!(task = %t.id, error = %e, "decision recorded, hand-over to the workflow deferred");
            Ok(t)
        }
    };
    sync_travel_order(state, &request).await;
    r
}

/// A decision on a travel order's task shows on the order at once (returned, rejected);
/// never fails the decision.
async fn sync_travel_order(state: &AppState, request: &serde_json::Value) {
    if request.get("service").and_then(|v| v.as_str()) != Some(paraf_core::travel::SERVICE) {
        return;
    }
    let Some(order) = request.get("order").and_then(|v| v.as_str()) else {
        return;
    };
    let travel = paraf_core::travel::Travel::new(state.table.clone(), state.clock.clone());
    let synced = match travel.load(order).await {
        Ok(o) => travel.sync(o).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = synced {
        tracing::warn!(order = %order, error = %e, "travel order not brought up to date after a decision");
    }
}

fn decide_api_error(e: DecideError) -> ApiError {
    match e {
        DecideError::NotFound => ApiError::not_found(),
        DecideError::Forbidden => ApiError::forbidden(),
        DecideError::AlreadyDecided(_) => {
            let mut e = ApiError::new(ErrorKind::Conflict);
            e.fields.insert(
                "task".into(),
                Text::new(ID.already_decided, EN.already_decided),
            );
            e
        }
        DecideError::Expired(_) => {
            let mut e = ApiError::new(ErrorKind::Conflict);
            e.fields
                .insert("task".into(), Text::new(ID.expired, EN.expired));
            e
        }
        DecideError::Invalid(f) => ServiceError::Invalid(f).into(),
        DecideError::Service(s) => s.into(),
    }
}

async fn mail_reassigned(state: &AppState, t: ApprovalTask) {
    if let Err(e) = approvals(state)
        .mail_once(t, state.mailer.as_ref(), &state.config.public_base_url)
        .await
    {
        tracing::warn!(error = %e, "mailing the reassigned task failed");
    }
}

// ---------- API ----------

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"subject": "Surat undangan rapat pleno", "document": "045/UND/XI/2026"}))]
pub struct StartApprovalBody {
    /// What is to be approved, e.g. "Surat undangan rapat pleno".
    pub subject: String,
    /// A reference to the document (archive id, number, upload id).
    pub document: Option<String>,
    /// Use only the first N supervisors (the last of them signs).
    pub max_steps: Option<u32>,
    /// What the sign task renders at the end (type, classification, title, data …).
    #[schema(value_type = Option<Object>)]
    pub document_spec: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainStepView {
    pub step: u32,
    pub assignee: String,
    pub name: String,
    pub jabatan: String,
    #[schema(schema_with = step_action_schema)]
    pub action: String,
}

/// What an official does at a step of a chain.
pub(crate) fn step_action_schema() -> utoipa::openapi::schema::Object {
    paraf_core::schema::one_of(&["paraf", "sign"])
}

fn task_action_schema() -> utoipa::openapi::schema::Object {
    paraf_core::schema::one_of(&["paraf", "sign", "resubmit"])
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApprovalView {
    /// The execution's name: `GET /api/v1/approvals/{name}`.
    pub name: String,
    pub execution_id: String,
    pub subject: String,
    pub document: Option<String>,
    pub requester_id: String,
    pub chain: Vec<ChainStepView>,
    /// The workflow's state (when the engine is reachable).
    #[schema(value_type = Option<paraf_core::ports::workflows::ExecutionStatus>)]
    pub status: Option<String>,
    pub error: Option<String>,
    /// Every task of the execution, in step order.
    pub tasks: Vec<TaskView>,
}

async fn approval_view(
    state: &AppState,
    req: paraf_core::approvals::ApprovalRequest,
    lang: Lang,
) -> Result<ApprovalView, ApiError> {
    let (status, error) = match state.workflows.as_ref() {
        Some(wf) => match wf.describe_execution(&req.execution_id).await {
            Ok(d) => (
                serde_json::to_value(d.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string)),
                d.error,
            ),
            Err(e) => {
                tracing::warn!(error = %e, "describe_execution failed");
                (None, None)
            }
        },
        None => (None, None),
    };
    let tasks = approvals(state)
        .tasks_of_execution(&req.execution_id)
        .await?
        .iter()
        .map(|t| task_view(state, t, lang))
        .collect();
    Ok(ApprovalView {
        name: req.name,
        execution_id: req.execution_id,
        subject: req.subject,
        document: req.document,
        requester_id: req.requester_id,
        chain: req
            .chain
            .into_iter()
            .map(|c| ChainStepView {
                step: c.step,
                assignee: c.assignee,
                name: c.name,
                jabatan: c.jabatan,
                action: c.action,
            })
            .collect(),
        status,
        error,
        tasks,
    })
}

fn unavailable() -> ApiError {
    ApiError::internal(&ServiceError::Internal(
        "the workflow engine is not connected".into(),
    ))
}

/// Starts the approval chain (paraf berjenjang) for a subject: the requester's
/// supervisors in order, the last one signs.
#[utoipa::path(post, path = "/api/v1/approvals", tag = "approvals", request_body = StartApprovalBody,
    responses((status = 201, body = ApprovalView), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 500, body = ErrorBody)))]
async fn start_approval(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Json(b): Json<StartApprovalBody>,
) -> Result<(StatusCode, Json<ApprovalView>), ApiError> {
    let wf = state.workflows.clone().ok_or_else(unavailable)?;
    let requester = state.org.employee(&id.0.employee_id).await?;
    let req = approvals(&state)
        .start(
            &requester,
            &b.subject,
            b.document.as_deref(),
            b.max_steps,
            b.document_spec.as_ref(),
            wf.as_ref(),
        )
        .await?;
    let view = approval_view(&state, req, lang).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// An approval request with its status and every task (requester or admin).
#[utoipa::path(get, path = "/api/v1/approvals/{name}", tag = "approvals",
    params(("name" = String, Path, description = "the execution's name")),
    responses((status = 200, body = ApprovalView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_approval(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(name): Path<String>,
) -> Result<Json<ApprovalView>, ApiError> {
    let req = approvals(&state).request(&name).await?;
    if req.requester_id != id.0.employee_id && !id.0.has(Role::Admin) {
        return Err(ApiError::forbidden());
    }
    Ok(Json(approval_view(&state, req, lang).await?))
}

/// The caller's inbox: open tasks they (or, as Plh, for someone) may decide.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "approvals",
    responses((status = 200, body = Vec<TaskView>), (status = 401, body = ErrorBody)))]
async fn list_tasks(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    let tasks = approvals(&state).inbox(&id.0.employee_id).await?;
    Ok(Json(
        tasks.iter().map(|t| task_view(&state, t, lang)).collect(),
    ))
}

/// One task (assignee, their Plh, the requester, admins).
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "approvals",
    params(("id" = String, Path, description = "the task id of the mailed link")),
    responses((status = 200, body = TaskView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_task(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(task_id): Path<String>,
) -> Result<Json<TaskView>, ApiError> {
    let a = approvals(&state);
    let t = a.get(&task_id).await?;
    if !a.may_view(&t, &id.0).await? {
        return Err(ApiError::forbidden());
    }
    Ok(Json(task_view(&state, &t, lang)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"decision": "return", "note": "Lampirkan undangan rapatnya."}))]
pub struct DecisionBody {
    /// approve, reject or return (a chain step); resubmit or withdraw (a returned request).
    #[schema(value_type = paraf_core::approvals::Outcome)]
    pub decision: String,
    /// Required when rejecting or returning.
    #[serde(default)]
    pub note: String,
}

/// Decides a task, once. A second decision is 409 "sudah diputuskan" and changes nothing.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/decision", tag = "approvals", request_body = DecisionBody,
    params(("id" = String, Path, description = "the task id")),
    responses((status = 200, body = TaskView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "already decided, or the link expired"),
              (status = 422, body = ErrorBody)))]
async fn decide_task(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(task_id): Path<String>,
    Json(b): Json<DecisionBody>,
) -> Result<Json<TaskView>, ApiError> {
    let t = decide(&state, &task_id, &id.0, &b.decision, &b.note)
        .await
        .map_err(decide_api_error)?;
    Ok(Json(task_view(&state, &t, lang)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"assignee": "kasubag.umum@demo.paraf.test"}))]
pub struct TaskReassignBody {
    /// The new assignee: employee id, NIP or email.
    pub assignee: String,
}

/// Gives an open task to someone else (role admin); the new assignee gets the mail.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reassign", tag = "approvals", request_body = TaskReassignBody,
    params(("id" = String, Path, description = "the task id")),
    responses((status = 200, body = TaskView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reassign_task(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    Path(task_id): Path<String>,
    Json(b): Json<TaskReassignBody>,
) -> Result<Json<TaskView>, ApiError> {
    let t = approvals(&state)
        .reassign(&task_id, &id.0, &b.assignee)
        .await?;
    mail_reassigned(&state, t.clone()).await;
    Ok(Json(task_view(&state, &t, lang)))
}

// ---------- pages ----------

pub struct InboxRow {
    pub href: String,
    pub subject: String,
    pub requester: String,
    pub step: String,
    pub due: String,
    pub plh_for: Option<String>,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    shell: Shell,
    tx: &'static InboxTexts,
    rows: Vec<InboxRow>,
}

fn action_label(tx: &InboxTexts, action: &str) -> &'static str {
    match action {
        "sign" => tx.action_sign,
        "resubmit" => tx.action_resubmit,
        _ => tx.action_paraf,
    }
}

async fn inbox_page(State(state): State<AppState>, page: Page) -> Response {
    let x = tx(page.lang);
    let tasks = match approvals(&state).inbox(&page.id.0.employee_id).await {
        Ok(t) => t,
        Err(e) => return error_page(page.lang, ApiError::from(e).kind),
    };
    let rows = tasks
        .iter()
        .map(|t| InboxRow {
            href: t.link_path(),
            subject: t.subject.clone(),
            requester: t.requester_name.clone(),
            step: format!("{} ({})", t.step, action_label(x, &t.action)),
            due: waktu_wib(t.due),
            plh_for: (t.assignee_id != page.id.0.employee_id).then(|| t.assignee_name.clone()),
        })
        .collect();
    let shell = Shell::signed_in(&page, &state, x.inbox_title, "/inbox");
    (
        page.jar,
        render(StatusCode::OK, &InboxPage { shell, tx: x, rows }),
    )
        .into_response()
}

pub struct ChoiceView {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    shell: Shell,
    tx: &'static InboxTexts,
    id: String,
    subject: String,
    requester: String,
    document: String,
    assignee: String,
    due: String,
    expires: String,
    status: &'static str,
    /// A result or refusal shown above the task.
    message: Option<String>,
    /// Shown only when the viewer may decide and the task is open.
    choices: Vec<ChoiceView>,
    /// The step's answers: approve, and the refusals that need a reason.
    step_choices: bool,
    note: String,
    note_error: Option<String>,
    newer: Option<String>,
    can_reassign: bool,
    history: Vec<HistoryLine>,
    sx: &'static crate::subject::SubjectTexts,
    subject_view: crate::subject::SubjectView,
    /// Approving asks first: the documents and the role named.
    confirm: Option<crate::subject::ConfirmView>,
}

/// One history line on the page: machine-readable time plus the WIB time people read.
struct HistoryLine {
    at: String,
    shown: String,
    event: String,
    text: String,
}

async fn task_page_view(
    state: &AppState,
    page: &Page,
    t: &ApprovalTask,
    message: Option<String>,
) -> Result<TaskPage, ServiceError> {
    let x = tx(page.lang);
    let a = approvals(state);
    let now = state.clock.now();
    let open = t.is_open() && now < t.expires;
    let may_decide = open && a.may_decide(t, &page.id.0).await?;
    let subject_view = crate::subject::view(state, t, &page.id.0, page.lang).await;
    let choices = if may_decide && !subject_view.revised_elsewhere {
        t.kind
            .outcomes()
            .iter()
            .map(|o| ChoiceView {
                value: o.as_str(),
                label: match o {
                    paraf_core::approvals::Outcome::Approve => x.approve,
                    paraf_core::approvals::Outcome::Reject => x.reject,
                    paraf_core::approvals::Outcome::Return => x.return_,
                    paraf_core::approvals::Outcome::Resubmit => x.resubmit,
                    paraf_core::approvals::Outcome::Withdraw => x.withdraw,
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    let status = match t.status {
        Status::Open if now >= t.expires => x.status_expired,
        Status::Open => x.status_open,
        Status::Decided => x.status_decided,
        Status::Superseded => x.status_superseded,
        Status::Expired => x.status_expired,
    };
    let message = message.or_else(|| {
        if !open && t.status != Status::Decided {
            Some(x.expired.to_string())
        } else if open && !may_decide {
            Some(x.not_yours.to_string())
        } else {
            None
        }
    });
    let assignee = match &t.acting_id {
        Some(_) => format!("{} ({} …)", t.assignee_name, x.as_plh),
        None => t.assignee_name.clone(),
    };
    Ok(TaskPage {
        shell: Shell::signed_in(page, state, x.task_title, "/inbox"),
        tx: x,
        id: t.id.clone(),
        subject: t.subject.clone(),
        requester: t.requester_name.clone(),
        document: t.document.clone().unwrap_or_else(|| "-".into()),
        assignee,
        due: waktu_wib(t.due),
        expires: waktu_wib(t.expires),
        status,
        message,
        step_choices: t.kind == paraf_core::approvals::TaskKind::ApprovalStep,
        choices,
        note: String::new(),
        note_error: None,
        newer: t.superseded_by.as_ref().map(|n| format!("/tasks/{n}")),
        can_reassign: open && page.id.0.has(Role::Admin),
        history: t
            .history
            .iter()
            .map(|h| HistoryLine {
                at: rfc3339(h.at),
                shown: waktu_wib(h.at),
                event: h.event.clone(),
                text: page.lang.pick(&h.text).to_string(),
            })
            .collect(),
        sx: crate::subject::texts(page.lang),
        subject_view,
        confirm: None,
    })
}

/// The confirmation page of a mailed link: shows, never changes.
async fn task_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(task_id): axum::extract::Path<String>,
) -> Response {
    let a = approvals(&state);
    let t = match a.get(&task_id).await {
        Ok(t) => t,
        Err(e) => return error_page(page.lang, ApiError::from(e).kind),
    };
    match a.may_view(&t, &page.id.0).await {
        Ok(true) => {}
        Ok(false) => return error_page(page.lang, ErrorKind::Forbidden),
        Err(e) => return error_page(page.lang, ApiError::from(e).kind),
    }
    let expired = !t.is_open() && t.status != Status::Decided
        || (t.is_open() && state.clock.now() >= t.expires);
    let view = match task_page_view(&state, &page, &t, None).await {
        Ok(v) => v,
        Err(e) => return error_page(page.lang, ApiError::from(e).kind),
    };
    let status = if expired {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    (page.jar, render(status, &view)).into_response()
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    /// Set by the confirmation form: approving a task that ends in documents is asked
    /// twice, the second time naming the documents and the role they are signed in.
    #[serde(default)]
    confirmed: String,
}

/// The confirmation asked before an approval that signs or initials documents, when not
/// answered yet: the task page with the question in place of the decision forms.
async fn confirmation_page(
    state: &AppState,
    page: &Page,
    task_id: &str,
    f: &DecisionForm,
) -> Option<Response> {
    if paraf_core::approvals::Outcome::parse(&f.decision)
        != Some(paraf_core::approvals::Outcome::Approve)
        || f.confirmed == "1"
    {
        return None;
    }
    let a = approvals(state);
    let t = a.get(task_id).await.ok()?;
    let open = t.is_open() && state.clock.now() < t.expires;
    // Anything else (already decided, not theirs) is for `decide` to answer.
    if !open || !a.may_decide(&t, &page.id.0).await.ok()? {
        return None;
    }
    let mut view = match task_page_view(state, page, &t, None).await {
        Ok(v) => v,
        Err(e) => return Some(error_page(page.lang, ApiError::from(e).kind)),
    };
    if !view.subject_view.needs_confirmation() {
        return None;
    }
    let c = crate::subject::confirmation(
        state,
        &view.subject_view,
        &t,
        &page.id.0,
        page.lang,
        &f.note,
    )
    .await;
    view.confirm = Some(c);
    Some(render(StatusCode::OK, &view))
}

/// The decision form: acts once; a repeat says "sudah diputuskan" and changes nothing.
async fn task_decide(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(task_id): axum::extract::Path<String>,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(page.lang, ErrorKind::Malformed);
    };
    if let Some(r) = page.csrf_refusal(&f.csrf) {
        return r;
    }
    if let Some(r) = confirmation_page(&state, &page, &task_id, &f).await {
        return (page.jar, r).into_response();
    }
    let x = tx(page.lang);
    let (status, message, t) =
        match decide(&state, &task_id, &page.id.0, &f.decision, &f.note).await {
            Ok(t) => (StatusCode::OK, x.decided.to_string(), t),
            Err(DecideError::AlreadyDecided(t)) => {
                (StatusCode::CONFLICT, x.already_decided.to_string(), *t)
            }
            Err(DecideError::Expired(t)) => (StatusCode::GONE, x.expired.to_string(), *t),
            Err(DecideError::Invalid(errors)) => {
                let t = match approvals(&state).get(&task_id).await {
                    Ok(t) => t,
                    Err(e) => return error_page(page.lang, ApiError::from(e).kind),
                };
                let mut view = match task_page_view(&state, &page, &t, None).await {
                    Ok(v) => v,
                    Err(e) => return error_page(page.lang, ApiError::from(e).kind),
                };
                view.note = f.note.clone();
                let msgs: Vec<String> = errors
                    .iter()
                    .map(|(_, m)| page.lang.pick(m).to_string())
                    .collect();
                view.note_error = Some(msgs.join("; "));
                return (page.jar, render(StatusCode::UNPROCESSABLE_ENTITY, &view)).into_response();
            }
            Err(DecideError::Forbidden) => return error_page(page.lang, ErrorKind::Forbidden),
            Err(DecideError::NotFound) => return error_page(page.lang, ErrorKind::NotFound),
            Err(DecideError::Service(e)) => return error_page(page.lang, ApiError::from(e).kind),
        };
    let view = match task_page_view(&state, &page, &t, Some(message)).await {
        Ok(v) => v,
        Err(e) => return error_page(page.lang, ApiError::from(e).kind),
    };
    (page.jar, render(status, &view)).into_response()
}

#[derive(Debug, Deserialize)]
struct ReassignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    assignee: String,
}

async fn task_reassign(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(task_id): axum::extract::Path<String>,
    form: Result<Form<ReassignForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(page.lang, ErrorKind::Malformed);
    };
    if let Some(r) = page.csrf_refusal(&f.csrf) {
        return r;
    }
    match approvals(&state)
        .reassign(&task_id, &page.id.0, &f.assignee)
        .await
    {
        Ok(t) => {
            mail_reassigned(&state, t).await;
            (page.jar, Redirect::to(&format!("/tasks/{task_id}"))).into_response()
        }
        Err(e) => error_page(page.lang, ApiError::from(e).kind),
    }
}
