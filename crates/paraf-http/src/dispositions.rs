//! e-disposisi on the web and in the API: registering an incoming letter, the holder's
//! disposition (read, complete with a report, forward with an instruction and deadline),
//! and withdrawing a forward that is still unread.
//!
//! A mailed link is `/disposisi/{id}`. `GET` only shows (mail scanners prefetch links);
//! the task is marked read by an explicit `POST` — the "tandai sudah dibaca" button,
//! `POST /api/v1/dispositions/{id}/read`, or any answer — so the unread counter drops
//! only when the signed-in holder acts.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use paraf_core::dispositions::{
    DispoKind, DispoStatus, DispositionTask, Dispositions, Forward, Letter, NewLetter, INSTRUCTIONS,
};
use paraf_core::{Role, ServiceError};
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

pub struct DispoTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
    pub task_title: &'static str,
    pub letter_subject: &'static str,
    pub letter_number: &'static str,
    pub agenda_number: &'static str,
    pub letter_sender: &'static str,
    pub letter_date: &'static str,
    pub from: &'static str,
    pub instruction: &'static str,
    pub deadline: &'static str,
    pub status: &'static str,
    pub unread: &'static str,
    pub read: &'static str,
    pub mark_read: &'static str,
    pub get_hint: &'static str,
    pub report: &'static str,
    pub complete: &'static str,
    pub forward: &'static str,
    pub recipients: &'static str,
    pub recipients_hint: &'static str,
    pub children: &'static str,
    pub withdraw: &'static str,
    pub register: &'static str,
    pub holder: &'static str,
    pub done: &'static str,
    pub not_holder: &'static str,
    pub status_open: &'static str,
    pub status_completed: &'static str,
    pub status_forwarded: &'static str,
    pub status_cancelled: &'static str,
    pub status_expired: &'static str,
}

pub const ID: DispoTexts = DispoTexts {
    title: "Disposisi",
    intro: "Surat masuk yang didisposisikan kepada Anda.",
    empty: "Tidak ada disposisi yang menunggu Anda.",
    task_title: "Disposisi",
    letter_subject: "Perihal",
    letter_number: "Nomor surat",
    agenda_number: "Nomor agenda",
    letter_sender: "Pengirim",
    letter_date: "Tanggal surat",
    from: "Dari",
    instruction: "Instruksi",
    deadline: "Batas waktu (WIB)",
    status: "Status",
    unread: "belum dibaca",
    read: "sudah dibaca",
    mark_read: "Tandai sudah dibaca",
    get_hint: "Membuka halaman ini tidak mengubah apa pun; disposisi tercatat dibaca setelah Anda menekan tombol.",
    report: "Laporan",
    complete: "Selesai dengan laporan",
    forward: "Teruskan",
    recipients: "Penerima (NIP atau email, satu per baris)",
    recipients_hint: "Bawahan langsung atau pegawai di unit Anda.",
    children: "Diteruskan kepada",
    withdraw: "Tarik",
    register: "Catat surat masuk",
    holder: "Pemegang pertama (NIP atau email)",
    done: "Tercatat.",
    not_holder: "Hanya pemegang disposisi yang dapat menindaklanjutinya.",
    status_open: "menunggu tindak lanjut",
    status_completed: "selesai",
    status_forwarded: "diteruskan",
    status_cancelled: "ditarik",
    status_expired: "diganti (pengingat)",
};

pub const EN: DispoTexts = DispoTexts {
    title: "Dispositions",
    intro: "Incoming letters disposed to you.",
    empty: "No disposition is waiting for you.",
    task_title: "Disposition",
    letter_subject: "Subject",
    letter_number: "Letter number",
    agenda_number: "Register number (nomor agenda)",
    letter_sender: "Sender",
    letter_date: "Letter date",
    from: "From",
    instruction: "Instruction",
    deadline: "Deadline (WIB)",
    status: "Status",
    unread: "unread",
    read: "read",
    mark_read: "Mark as read",
    get_hint: "Opening this page changes nothing; the disposition is recorded as read when you press a button.",
    report: "Report",
    complete: "Complete with a report",
    forward: "Forward",
    recipients: "Recipients (NIP or email, one per line)",
    recipients_hint: "Direct reports or employees of your unit.",
    children: "Forwarded to",
    withdraw: "Withdraw",
    register: "Register an incoming letter",
    holder: "First holder (NIP or email)",
    done: "Recorded.",
    not_holder: "Only the holder can act on this disposition.",
    status_open: "waiting for action",
    status_completed: "completed",
    status_forwarded: "forwarded",
    status_cancelled: "withdrawn",
    status_expired: "replaced (reminder)",
};

fn tx(lang: Lang) -> &'static DispoTexts {
    match lang {
        Lang::Id => &ID,
        Lang::En => &EN,
    }
}

fn status_label(x: &DispoTexts, s: DispoStatus) -> &'static str {
    match s {
        DispoStatus::Open => x.status_open,
        DispoStatus::Completed => x.status_completed,
        DispoStatus::Forwarded => x.status_forwarded,
        DispoStatus::Cancelled => x.status_cancelled,
        DispoStatus::Expired => x.status_expired,
    }
}

fn dispositions(state: &AppState) -> Dispositions {
    Dispositions::new(state.table.clone(), state.clock.clone())
}

fn unavailable() -> ApiError {
    ApiError::internal(&ServiceError::Internal(
        "the workflow engine is not connected".into(),
    ))
}

// ---------- routes ----------

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/disposisi", get(list_page).post(register_form))
        .route("/disposisi/{id}", get(task_page).post(task_act))
        .route("/disposisi/{id}/tarik", post(task_withdraw))
}

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register, list))
        .routes(routes!(get_letter))
        .routes(routes!(get_one))
        .routes(routes!(read))
        .routes(routes!(complete))
        .routes(routes!(forward))
        .routes(routes!(cancel))
        .routes(routes!(reassign))
}

// ---------- views ----------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LetterView {
    pub id: String,
    pub subject: String,
    /// The sender's number of the letter.
    pub number: String,
    /// Its number in the buku agenda, allocated at registration (e.g. `12/TU-AG/32/2026`).
    pub agenda_number: String,
    pub sender: String,
    /// YYYY-MM-DD.
    pub date: String,
    pub execution_id: String,
    /// The workflow's state (when the engine is reachable).
    #[schema(value_type = Option<paraf_core::ports::workflows::ExecutionStatus>)]
    pub status: Option<String>,
    /// The root's output once the tree completed (reports of every node).
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DispositionView {
    pub id: String,
    #[schema(value_type = paraf_core::dispositions::DispoKind)]
    pub kind: String,
    #[schema(value_type = paraf_core::dispositions::DispoStatus)]
    pub status: String,
    pub unread: bool,
    pub letter_id: String,
    pub subject: String,
    pub number: String,
    pub sender: String,
    pub letter_date: String,
    pub holder_id: String,
    pub holder_name: String,
    pub from_id: Option<String>,
    pub from_name: Option<String>,
    /// What the holder was asked to do (none at the root).
    #[schema(schema_with = paraf_core::schema::instruction_or_null)]
    pub instruction: Option<String>,
    /// WIB date YYYY-MM-DD.
    pub deadline: Option<String>,
    pub depth: u32,
    pub report: Option<String>,
    pub recipients: Vec<String>,
    pub execution_id: String,
    /// The page a mailed link opens.
    pub link: String,
    /// The children's disposition tasks (after a forward).
    pub children: Vec<ChildView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChildView {
    pub id: String,
    pub holder_id: String,
    pub holder_name: String,
    #[schema(value_type = paraf_core::dispositions::DispoStatus)]
    pub status: String,
    pub unread: bool,
}

fn letter_view(l: &Letter) -> LetterView {
    LetterView {
        id: l.id.clone(),
        subject: l.subject.clone(),
        number: l.number.clone(),
        agenda_number: l.agenda_number.clone(),
        sender: l.sender.clone(),
        date: l.date.clone(),
        execution_id: l.execution_id.clone(),
        status: None,
        output: None,
    }
}

async fn view(state: &AppState, t: &DispositionTask) -> Result<DispositionView, ServiceError> {
    let children = if t.status == DispoStatus::Forwarded {
        dispositions(state)
            .children_of(&t.execution_id)
            .await?
            .into_iter()
            .map(|c| ChildView {
                id: c.id.clone(),
                holder_id: c.holder_id.clone(),
                holder_name: c.holder_name.clone(),
                status: c.status.as_str().into(),
                unread: c.is_unread(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(DispositionView {
        id: t.id.clone(),
        kind: t.kind.as_str().into(),
        status: t.status.as_str().into(),
        unread: t.is_unread(),
        letter_id: t.letter.id.clone(),
        subject: t.letter.subject.clone(),
        number: t.letter.number.clone(),
        sender: t.letter.sender.clone(),
        letter_date: t.letter.date.clone(),
        holder_id: t.holder_id.clone(),
        holder_name: t.holder_name.clone(),
        from_id: t.from_id.clone(),
        from_name: t.from_name.clone(),
        instruction: t.instruction.clone(),
        deadline: t.deadline.clone(),
        depth: t.depth,
        report: t.report.clone(),
        recipients: t.recipients.clone(),
        execution_id: t.execution_id.clone(),
        link: format!("{}{}", state.config.public_base_url, t.link_path()),
        children,
    })
}

async fn viewable(
    state: &AppState,
    id: &str,
    who: &paraf_core::Principal,
) -> Result<DispositionTask, ApiError> {
    let d = dispositions(state);
    let t = d.get(id).await?;
    if !d.may_view(&t, who) && !d.may_act(&t, who).await? {
        return Err(ApiError::forbidden());
    }
    Ok(t)
}

// ---------- API ----------

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "subject": "Undangan rapat pleno rekapitulasi",
    "number": "045/UND/KPU-RI/XI/2026",
    "sender": "KPU RI",
    "date": "2026-11-27",
    "holder": "ketua@demo.paraf.test"
}))]
pub struct RegisterBody {
    pub subject: String,
    pub number: String,
    pub sender: String,
    /// The letter's date, YYYY-MM-DD.
    pub date: String,
    /// First holder (e.g. the Ketua or Sekretaris): employee id, NIP or email.
    pub holder: String,
}

/// Registers an incoming letter (agendaris or admin) and gives it to its first holder.
#[utoipa::path(post, path = "/api/v1/dispositions", tag = "dispositions", request_body = RegisterBody,
    responses((status = 201, body = LetterView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    id: Identity,
    Json(b): Json<RegisterBody>,
) -> Result<(StatusCode, Json<LetterView>), ApiError> {
    let wf = state.workflows.clone().ok_or_else(unavailable)?;
    let l = dispositions(&state)
        .register(
            &id.0,
            NewLetter {
                subject: b.subject,
                number: b.number,
                sender: b.sender,
                date: b.date,
                holder: b.holder,
            },
            wf.as_ref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(letter_view(&l))))
}

/// The caller's open dispositions (unread first counted on the dashboard).
#[utoipa::path(get, path = "/api/v1/dispositions", tag = "dispositions",
    responses((status = 200, body = Vec<DispositionView>), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    id: Identity,
) -> Result<Json<Vec<DispositionView>>, ApiError> {
    let mut out = Vec::new();
    for t in dispositions(&state).inbox(&id.0.employee_id).await? {
        out.push(view(&state, &t).await?);
    }
    Ok(Json(out))
}

/// A registered letter and the state of its tree (who registered it, or an admin).
#[utoipa::path(get, path = "/api/v1/letters/{id}", tag = "dispositions",
    params(("id" = String, Path, description = "the letter id")),
    responses((status = 200, body = LetterView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_letter(
    State(state): State<AppState>,
    id: Identity,
    Path(letter_id): Path<String>,
) -> Result<Json<LetterView>, ApiError> {
    let l = dispositions(&state).letter(&letter_id).await?;
    if l.registered_by != id.0.employee_id && !id.0.has(Role::Admin) {
        return Err(ApiError::forbidden());
    }
    let mut v = letter_view(&l);
    if let Some(wf) = state.workflows.as_ref() {
        match wf.describe_execution(&l.execution_id).await {
            Ok(d) => {
                v.status = serde_json::to_value(d.status)
                    .ok()
                    .and_then(|s| s.as_str().map(str::to_string));
                v.output = d.output;
            }
            Err(e) => tracing::warn!(error = %e, "describe_execution failed"),
        }
    }
    Ok(Json(v))
}

/// One disposition (holder, the one who forwarded it, the registering agendaris, admins).
/// Never changes anything, not even the read state.
#[utoipa::path(get, path = "/api/v1/dispositions/{id}", tag = "dispositions",
    params(("id" = String, Path, description = "the task id of the mailed link")),
    responses((status = 200, body = DispositionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    id: Identity,
    Path(task_id): Path<String>,
) -> Result<Json<DispositionView>, ApiError> {
    let t = viewable(&state, &task_id, &id.0).await?;
    Ok(Json(view(&state, &t).await?))
}

/// The holder marks the disposition read (idempotent): the unread counter drops.
#[utoipa::path(post, path = "/api/v1/dispositions/{id}/read", tag = "dispositions",
    params(("id" = String, Path, description = "the task id")),
    responses((status = 200, body = DispositionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    id: Identity,
    Path(task_id): Path<String>,
) -> Result<Json<DispositionView>, ApiError> {
    let t = dispositions(&state).mark_read(&task_id, &id.0).await?;
    Ok(Json(view(&state, &t).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"report": "Sudah dihadiri; notulen terlampir di arsip."}))]
pub struct CompleteBody {
    pub report: String,
}

/// Completes the disposition (or the final report after a forward) with a report, once.
#[utoipa::path(post, path = "/api/v1/dispositions/{id}/complete", tag = "dispositions", request_body = CompleteBody,
    params(("id" = String, Path, description = "the task id")),
    responses((status = 200, body = DispositionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "already answered or withdrawn"), (status = 422, body = ErrorBody)))]
async fn complete(
    State(state): State<AppState>,
    id: Identity,
    Path(task_id): Path<String>,
    Json(b): Json<CompleteBody>,
) -> Result<Json<DispositionView>, ApiError> {
    let wf = state.workflows.clone().ok_or_else(unavailable)?;
    let t = dispositions(&state)
        .complete(&task_id, &id.0, &b.report, wf.as_ref())
        .await?;
    Ok(Json(view(&state, &t).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "recipients": ["sekretaris@demo.paraf.test"],
    "instruction": "hadiri",
    "deadline": "2026-12-01"
}))]
pub struct ForwardBody {
    /// Employee ids, NIPs or emails: direct reports or employees of the holder's unit subtree.
    pub recipients: Vec<String>,
    #[schema(schema_with = paraf_core::schema::instruction)]
    pub instruction: String,
    /// WIB date YYYY-MM-DD.
    pub deadline: String,
}

/// Forwards the disposition to 1..N subordinates, once; each becomes a child node.
#[utoipa::path(post, path = "/api/v1/dispositions/{id}/forward", tag = "dispositions", request_body = ForwardBody,
    params(("id" = String, Path, description = "the task id")),
    responses((status = 200, body = DispositionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody, description = "names the field, e.g. recipients[0]")))]
async fn forward(
    State(state): State<AppState>,
    id: Identity,
    Path(task_id): Path<String>,
    Json(b): Json<ForwardBody>,
) -> Result<Json<DispositionView>, ApiError> {
    let wf = state.workflows.clone().ok_or_else(unavailable)?;
    let t = dispositions(&state)
        .forward(
            &task_id,
            &id.0,
            Forward {
                recipients: b.recipients,
                instruction: b.instruction,
                deadline: b.deadline,
            },
            wf.as_ref(),
        )
        .await?;
    Ok(Json(view(&state, &t).await?))
}

/// Withdraws a forward whose recipient has not read it yet (the parent holder or an
/// admin): stops that child; the parent's tree continues without it.
#[utoipa::path(post, path = "/api/v1/dispositions/{id}/cancel", tag = "dispositions",
    params(("id" = String, Path, description = "the child's task id")),
    responses((status = 200, body = DispositionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "already read or answered")))]
async fn cancel(
    State(state): State<AppState>,
    id: Identity,
    Path(task_id): Path<String>,
) -> Result<Json<DispositionView>, ApiError> {
    let wf = state.workflows.clone().ok_or_else(unavailable)?;
    let t = dispositions(&state)
        .cancel(&task_id, &id.0, wf.as_ref())
        .await?;
    Ok(Json(view(&state, &t).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"to": "kabag@demo.paraf.test"}))]
pub struct DispositionReassignBody {
    /// The new holder: employee id, NIP or email.
    pub to: String,
}

/// Gives an open disposition to another holder (admins only); they get it unread, by mail.
#[utoipa::path(post, path = "/api/v1/dispositions/{id}/reassign", tag = "dispositions",
    params(("id" = String, Path, description = "the task id")),
    request_body = DispositionReassignBody,
    responses((status = 200, body = DispositionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "the task is no longer open"),
              (status = 422, body = ErrorBody, description = "`to` names no active employee")))]
async fn reassign(
    State(state): State<AppState>,
    id: Identity,
    Path(task_id): Path<String>,
    Json(body): Json<DispositionReassignBody>,
) -> Result<Json<DispositionView>, ApiError> {
    let t = dispositions(&state)
        .reassign(
            &task_id,
            &id.0,
            &body.to,
            state.mailer.as_ref(),
            &state.config.public_base_url,
        )
        .await?;
    Ok(Json(view(&state, &t).await?))
}

// ---------- pages ----------

pub struct Row {
    pub href: String,
    pub subject: String,
    pub from: String,
    pub instruction: String,
    pub deadline: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "disposisi.html")]
struct ListPage {
    shell: Shell,
    tx: &'static DispoTexts,
    rows: Vec<Row>,
    can_register: bool,
    message: Option<String>,
}

async fn list_page_with(
    state: &AppState,
    page: &Page,
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let x = tx(page.lang);
    let tasks = match dispositions(state).inbox(&page.id.0.employee_id).await {
        Ok(t) => t,
        Err(e) => return error_page(page.lang, ApiError::from(e).kind),
    };
    let rows = tasks
        .iter()
        .map(|t| Row {
            href: t.link_path(),
            subject: t.letter.subject.clone(),
            from: t.from_name.clone().unwrap_or_else(|| "-".into()),
            instruction: t.instruction.clone().unwrap_or_else(|| "-".into()),
            deadline: t.deadline.clone().unwrap_or_else(|| "-".into()),
            unread: t.is_unread(),
        })
        .collect();
    let shell = Shell::signed_in(page, state, x.title, "/disposisi");
    render(
        status,
        &ListPage {
            shell,
            tx: x,
            rows,
            can_register: page.id.0.has(Role::Agendaris) || page.id.0.has(Role::Admin),
            message,
        },
    )
}

async fn list_page(State(state): State<AppState>, page: Page) -> Response {
    let r = list_page_with(&state, &page, StatusCode::OK, None).await;
    (page.jar, r).into_response()
}

#[derive(Debug, Deserialize)]
struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    sender: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    holder: String,
}

async fn register_form(
    State(state): State<AppState>,
    page: Page,
    form: Result<Form<RegisterForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(page.lang, ErrorKind::Malformed);
    };
    if let Some(r) = page.csrf_refusal(&f.csrf) {
        return r;
    }
    let Some(wf) = state.workflows.clone() else {
        return error_page(page.lang, ErrorKind::Internal);
    };
    let r = dispositions(&state)
        .register(
            &page.id.0,
            NewLetter {
                subject: f.subject,
                number: f.number,
                sender: f.sender,
                date: f.date,
                holder: f.holder,
            },
            wf.as_ref(),
        )
        .await;
    let x = tx(page.lang);
    let resp = match r {
        Ok(_) => list_page_with(&state, &page, StatusCode::OK, Some(x.done.into())).await,
        Err(ServiceError::Invalid(errors)) => {
            let msgs: Vec<String> = errors
                .iter()
                .map(|(k, m)| format!("{k}: {}", page.lang.pick(m)))
                .collect();
            list_page_with(
                &state,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(msgs.join("; ")),
            )
            .await
        }
        Err(e) => return error_page(page.lang, ApiError::from(e).kind),
    };
    (page.jar, resp).into_response()
}

pub struct ChildRow {
    pub id: String,
    pub holder: String,
    pub status: &'static str,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "disposisi_task.html")]
struct TaskPage {
    shell: Shell,
    tx: &'static DispoTexts,
    id: String,
    subject: String,
    number: String,
    agenda: String,
    sender: String,
    date: String,
    from: String,
    instruction: String,
    deadline: String,
    status: &'static str,
    unread: bool,
    message: Option<String>,
    /// The holder may act (open task).
    can_act: bool,
    /// Forward is offered (kind disposition).
    can_forward: bool,
    instructions: &'static [&'static str],
    children: Vec<ChildRow>,
}

async fn task_view_page(
    state: &AppState,
    page: &Page,
    t: &DispositionTask,
    message: Option<String>,
) -> Result<TaskPage, ServiceError> {
    let x = tx(page.lang);
    // The holder, or their Plh acting for them.
    let is_holder = dispositions(state).may_act(t, &page.id.0).await?;
    let children = if t.status == DispoStatus::Forwarded {
        dispositions(state)
            .children_of(&t.execution_id)
            .await?
            .into_iter()
            .map(|c| ChildRow {
                id: c.id.clone(),
                holder: c.holder_name.clone(),
                status: status_label(x, c.status),
                unread: c.is_unread() && c.is_open(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let message = message.or_else(|| (!is_holder && t.is_open()).then(|| x.not_holder.to_string()));
    Ok(TaskPage {
        shell: Shell::signed_in(page, state, x.task_title, "/disposisi"),
        tx: x,
        id: t.id.clone(),
        subject: t.letter.subject.clone(),
        number: t.letter.number.clone(),
        // The register record, not the task's copy: the copy may predate the number.
        agenda: match dispositions(state).letter(&t.letter.id).await {
            Ok(l) if !l.agenda_number.is_empty() => l.agenda_number,
            _ => "-".into(),
        },
        sender: t.letter.sender.clone(),
        date: t.letter.date.clone(),
        from: t.from_name.clone().unwrap_or_else(|| "-".into()),
        instruction: t.instruction.clone().unwrap_or_else(|| "-".into()),
        deadline: t.deadline.clone().unwrap_or_else(|| "-".into()),
        status: status_label(x, t.status),
        unread: t.is_unread(),
        message,
        can_act: is_holder && t.is_open(),
        can_forward: t.kind == DispoKind::Disposition,
        instructions: &INSTRUCTIONS,
        children,
    })
}

/// The page of a mailed link: shows, never changes (not even the read state).
async fn task_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(task_id): axum::extract::Path<String>,
) -> Response {
    let t = match viewable(&state, &task_id, &page.id.0).await {
        Ok(t) => t,
        Err(e) => return error_page(page.lang, e.kind),
    };
    match task_view_page(&state, &page, &t, None).await {
        Ok(v) => (page.jar, render(StatusCode::OK, &v)).into_response(),
        Err(e) => error_page(page.lang, ApiError::from(e).kind),
    }
}

#[derive(Debug, Deserialize)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    /// read, complete or forward.
    #[serde(default)]
    action: String,
    #[serde(default)]
    report: String,
    #[serde(default)]
    recipients: String,
    #[serde(default)]
    instruction: String,
    #[serde(default)]
    deadline: String,
}

async fn task_act(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(task_id): axum::extract::Path<String>,
    form: Result<Form<ActForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(page.lang, ErrorKind::Malformed);
    };
    if let Some(r) = page.csrf_refusal(&f.csrf) {
        return r;
    }
    let Some(wf) = state.workflows.clone() else {
        return error_page(page.lang, ErrorKind::Internal);
    };
    let d = dispositions(&state);
    let who = &page.id.0;
    let r = match f.action.as_str() {
        "read" => d.mark_read(&task_id, who).await,
        "complete" => d.complete(&task_id, who, &f.report, wf.as_ref()).await,
        "forward" => {
            let fwd = Forward {
                recipients: f
                    .recipients
                    .split(['\n', ',', ';'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                instruction: f.instruction,
                deadline: f.deadline,
            };
            d.forward(&task_id, who, fwd, wf.as_ref()).await
        }
        _ => return error_page(page.lang, ErrorKind::Malformed),
    };
    act_result(&state, &page, &task_id, r).await
}

async fn act_result(
    state: &AppState,
    page: &Page,
    task_id: &str,
    r: Result<DispositionTask, ServiceError>,
) -> Response {
    let x = tx(page.lang);
    let (status, message, t) = match r {
        Ok(t) => (StatusCode::OK, x.done.to_string(), t),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict { .. })) => {
            let status = ApiError::from(e.clone()).kind.status();
            let msg = match &e {
                ServiceError::Invalid(errors) => errors
                    .iter()
                    .map(|(k, m)| format!("{k}: {}", page.lang.pick(m)))
                    .collect::<Vec<_>>()
                    .join("; "),
                ServiceError::Conflict { message, .. } => page.lang.pick(message).to_string(),
                _ => String::new(),
            };
            match dispositions(state).get(task_id).await {
                Ok(t) => (status, msg, t),
                Err(e) => return error_page(page.lang, ApiError::from(e).kind),
            }
        }
        Err(e) => return error_page(page.lang, ApiError::from(e).kind),
    };
    match task_view_page(state, page, &t, Some(message)).await {
        Ok(v) => (page.jar.clone(), render(status, &v)).into_response(),
        Err(e) => error_page(page.lang, ApiError::from(e).kind),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Withdraws an unread child (`{id}` is the child's task); back to the parent's page.
async fn task_withdraw(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(task_id): axum::extract::Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(page.lang, ErrorKind::Malformed);
    };
    if let Some(r) = page.csrf_refusal(&f.csrf) {
        return r;
    }
    let Some(wf) = state.workflows.clone() else {
        return error_page(page.lang, ErrorKind::Internal);
    };
    let d = dispositions(&state);
    match d.cancel(&task_id, &page.id.0, wf.as_ref()).await {
        Ok(t) => {
            let back = match t.parent_execution_id.as_deref() {
                Some(p) => d
                    .tasks_of_execution(p)
                    .await
                    .ok()
                    .and_then(|v| v.into_iter().find(|p| p.kind == DispoKind::Disposition))
                    .map(|p| p.link_path()),
                None => None,
            };
            (
                page.jar,
                Redirect::to(&back.unwrap_or_else(|| "/disposisi".into())),
            )
                .into_response()
        }
        Err(e) => act_result(&state, &page, &task_id, Err(e)).await,
    }
}
