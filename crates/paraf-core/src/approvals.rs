//! Human tasks of the approval workflow (`workflows/approval.asl.json`): what the `notify`
//! task stores and the link, the inbox and the API act on.
//!
//! One [`ApprovalTask`] per ask of a step. Its id is opaque and random (the mailed link
//! carries nothing else); the Step Functions task token stays in the stored item and is
//! never shown. Guarantees:
//! - creation is idempotent on the workflow's idempotency key: a `notify` run again after
//!   a crash finds the task it created (and whether its mail went out);
//! - a decision is one conditional write on `status = open` and the task's `version`, so
//!   under any number of concurrent answers exactly one wins and the others read
//!   [`DecideError::AlreadyDecided`];
//! - a decision recorded but not yet handed to the workflow (crash in between) stays in the
//!   sparse index `APPROVALS#UNDELIVERED` until [`Approvals::redeliver_pending`] sends it;
//! - a reminder or an escalation supersedes the task (its link expires) and the next ask
//!   inherits its history, so one task's history shows them all.
//!
//! Open tasks are indexed in their inbox (`gsi1`: `INBOX#<employee>`, `APPROVE#…` or
//! `SIGN#…`), so the dashboard counts them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest as _;
use time::{Duration, OffsetDateTime};

use crate::auth::Principal;
use crate::dashboard::{inbox_partition, INBOX_APPROVE, INBOX_SIGN};
use crate::error::{FieldErrors, ServiceError, Text};
use crate::format::waktu_wib;
use crate::org::{Employee, Org};
use crate::ports::clock::Clock;
use crate::ports::mailer::{Mail, Mailer};
use crate::ports::table::{Condition, Index, Item, Key, Query, SortKey, Table, TableError, TxOp};
use crate::ports::workflows::{Workflows, WorkflowsError};
use crate::text;

/// How long an approver has for a step before it is escalated; the `TimeoutSeconds` of
/// `AskAssignee` (259200 s). Reminders come from its `HeartbeatSeconds` before that.
pub const DUE_AFTER: Duration = Duration::days(3);
/// How long a mailed link works at most (a reminder or escalation ends it earlier).
pub const LINK_LIFETIME: Duration = Duration::days(7);
/// The state machine of `workflows/approval.asl.json`.
pub const APPROVAL_STATE_MACHINE: &str = "approval";
/// Error names the workflow sees (`Catch`/`Retry` on them; docs/architecture.md, workflows).
pub const ERROR_WITHDRAWN: &str = "Paraf.Withdrawn";

const UNDELIVERED: &str = "APPROVALS#UNDELIVERED";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TaskKind {
    /// An official's step of the chain: approve, reject or return.
    ApprovalStep,
    /// The requester revises a returned request: resubmit or withdraw.
    Resubmit,
}

impl TaskKind {
    pub fn parse(s: &str) -> Option<TaskKind> {
        match s {
            "approval_step" => Some(TaskKind::ApprovalStep),
            "resubmit" => Some(TaskKind::Resubmit),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::ApprovalStep => "approval_step",
            TaskKind::Resubmit => "resubmit",
        }
    }
    /// The answers this kind of task takes.
    pub fn outcomes(self) -> &'static [Outcome] {
        match self {
            TaskKind::ApprovalStep => &[Outcome::Approve, Outcome::Reject, Outcome::Return],
            TaskKind::Resubmit => &[Outcome::Resubmit, Outcome::Withdraw],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = TaskStatus))]
pub enum Status {
    Open,
    Decided,
    /// Replaced by a reminder or an escalation: its link no longer works.
    Superseded,
    /// The link's lifetime passed, or the step timed out before the decision reached it.
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Decided => "decided",
            Status::Superseded => "superseded",
            Status::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Decision))]
pub enum Outcome {
    Approve,
    Reject,
    Return,
    Resubmit,
    Withdraw,
}

impl Outcome {
    pub fn parse(s: &str) -> Option<Outcome> {
        match s.trim() {
            "approve" => Some(Outcome::Approve),
            "reject" => Some(Outcome::Reject),
            "return" => Some(Outcome::Return),
            "resubmit" => Some(Outcome::Resubmit),
            "withdraw" => Some(Outcome::Withdraw),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approve => "approve",
            Outcome::Reject => "reject",
            Outcome::Return => "return",
            Outcome::Resubmit => "resubmit",
            Outcome::Withdraw => "withdraw",
        }
    }
    pub fn label(self) -> Text {
        match self {
            Outcome::Approve => text!("disetujui", "approved"),
            Outcome::Reject => text!("ditolak", "rejected"),
            Outcome::Return => text!("dikembalikan untuk perbaikan", "returned for revision"),
            Outcome::Resubmit => text!("diajukan kembali", "resubmitted"),
            Outcome::Withdraw => text!("ditarik", "withdrawn"),
        }
    }
}

/// Why this ask exists (the mail says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    #[default]
    New,
    Reminder,
    Escalation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub note: String,
    pub by_id: String,
    pub by_name: String,
    /// The position they decided in: the assignee's jabatan, "Plh. …" when a Plh decided.
    #[serde(default)]
    pub by_role: String,
    /// Set when a Plh decided for the assignee.
    pub on_behalf_of: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A note given with an earlier decision on the same request: shown on the task and
/// mailed to whoever acts next. A returned request's reason is the last of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    pub step: u32,
    pub outcome: Outcome,
    pub note: String,
    pub by_name: String,
    pub by_role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl Note {
    /// "Nama (Jabatan)", or the name alone when the position is unknown.
    pub fn who(&self) -> String {
        if self.by_role.is_empty() {
            self.by_name.clone()
        } else {
            format!("{} ({})", self.by_name, self.by_role)
        }
    }
}

/// The notes of the decided tasks among `tasks`, oldest first.
fn notes_of(tasks: &[ApprovalTask]) -> Vec<Note> {
    let mut notes: Vec<Note> = tasks
        .iter()
        .filter(|t| t.status == Status::Decided)
        .filter_map(ApprovalTask::decision_note)
        .filter(|n| !n.note.trim().is_empty())
        .collect();
    notes.sort_by_key(|n| n.at);
    notes
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// created, mailed, reminder, escalated, reassigned, decided, delivered, expired.
    pub event: String,
    pub actor: Option<String>,
    pub text: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalTask {
    pub id: String,
    pub kind: TaskKind,
    pub execution_id: String,
    pub step: u32,
    /// `paraf` or `sign` for a step of the chain, `resubmit` for the requester.
    pub action: String,
    pub assignee_id: String,
    pub assignee_name: String,
    /// The Plh who had the assignee's approvals when the task was created.
    pub acting_id: Option<String>,
    pub requester_id: String,
    pub requester_name: String,
    pub subject: String,
    pub document: Option<String>,
    /// The request as the workflow carries it (shown, never trusted for decisions).
    pub request: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    pub status: Status,
    pub origin: Origin,
    pub decision: Option<Decision>,
    pub delivered: bool,
    pub mail_sent: bool,
    pub reminders: u32,
    /// Set by an escalation for the next ask: who gets it, and by when.
    pub next_assignee: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_due: Option<OffsetDateTime>,
    pub superseded_by: Option<String>,
    pub history: Vec<HistoryEntry>,
    /// Notes given with the decisions taken on the request before this task was created.
    #[serde(default)]
    pub earlier: Vec<Note>,
    pub version: i64,
    /// The Step Functions task token: server-side only, never in a view or a mail.
    task_token: String,
}

impl ApprovalTask {
    pub fn is_open(&self) -> bool {
        self.status == Status::Open
    }
    /// The employee whose inbox lists the task.
    pub fn inbox_owner(&self) -> &str {
        self.acting_id.as_deref().unwrap_or(&self.assignee_id)
    }
    pub fn link_path(&self) -> String {
        format!("/tasks/{}", self.id)
    }
    /// The task's decision as a note (whatever its text, even none).
    pub fn decision_note(&self) -> Option<Note> {
        let d = self.decision.as_ref()?;
        Some(Note {
            step: self.step,
            outcome: d.outcome,
            note: d.note.clone(),
            by_name: d.by_name.clone(),
            by_role: d.by_role.clone(),
            at: d.at,
        })
    }
    /// Why a revision task exists: the reason the request was returned, by whom.
    pub fn returned(&self) -> Option<&Note> {
        if self.kind != TaskKind::Resubmit {
            return None;
        }
        self.earlier
            .iter()
            .rev()
            .find(|n| n.outcome == Outcome::Return)
    }
    /// A page of the request's own service, named in the request (`subjectPath`,
    /// `editPath`), e.g. a travel order's page and its edit form.
    pub fn request_path(&self, key: &str) -> Option<&str> {
        self.request
            .get(key)
            .and_then(Value::as_str)
            .filter(|p| p.starts_with('/') && !p.starts_with("//"))
    }
    fn push(&mut self, at: OffsetDateTime, event: &str, actor: Option<&str>, text: Text) {
        self.history.push(HistoryEntry {
            at,
            event: event.into(),
            actor: actor.map(str::to_string),
            text,
        });
    }
}

/// What `notify` knows when it creates a task.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub idempotency_key: String,
    pub task_token: String,
    pub kind: TaskKind,
    pub execution_id: String,
    pub step: u32,
    pub action: String,
    pub assignee_id: String,
    pub requester_id: String,
    pub request: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("approval task not found")]
    NotFound,
    #[error("not the assignee, their Plh or the reassigned official")]
    Forbidden,
    #[error("already decided")]
    AlreadyDecided(Box<ApprovalTask>),
    #[error("the link has expired")]
    Expired(Box<ApprovalTask>),
    #[error("invalid decision")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What an overdue step led to.
#[derive(Debug, Clone, PartialEq)]
pub enum Overdue {
    Reminded(Box<ApprovalTask>),
    Escalated(Box<ApprovalTask>, Box<Employee>),
    /// No open task (already handled, or decided meanwhile).
    Nothing,
}

/// A started approval request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub name: String,
    pub execution_id: String,
    pub requester_id: String,
    pub subject: String,
    pub document: Option<String>,
    pub chain: Vec<ChainStep>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// One step of the chain as the ASL walks it (`$.chain[i]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStep {
    pub step: u32,
    pub assignee: String,
    pub action: String,
    pub name: String,
    pub jabatan: String,
}

fn task_key(id: &str) -> Key {
    Key::new(format!("APPROVAL#{id}"), "TASK")
}
fn idem_key(k: &str) -> Key {
    Key::new(
        format!(
            "APPROVALKEY#{}",
            hex::encode(sha2::Sha256::digest(k.as_bytes()))
        ),
        "KEY",
    )
}
fn request_key(name: &str) -> Key {
    Key::new(format!("APPROVALREQ#{name}"), "REQ")
}
fn exec_partition(exec: &str) -> String {
    format!("APPROVALS#EXEC#{exec}")
}
use crate::record::ms;

/// 128 random bits, hex: the only thing a mailed link carries.
pub fn new_task_id() -> String {
    use rand::RngCore as _;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

const TASK: &str = "approval_task";

fn to_item(t: &ApprovalTask) -> Result<Item, ServiceError> {
    let mut it = crate::record::to_item(t, &task_key(&t.id), TASK)?;
    match t.status {
        Status::Open => {
            let prefix = if t.action == "sign" {
                INBOX_SIGN
            } else {
                INBOX_APPROVE
            };
            it.insert("gsi1pk".into(), json!(inbox_partition(t.inbox_owner())));
            it.insert(
                "gsi1sk".into(),
                json!(format!("{prefix}{:016}#{}", ms(t.due), t.id)),
            );
        }
        Status::Decided if !t.delivered => {
            it.insert("gsi1pk".into(), json!(UNDELIVERED));
            it.insert("gsi1sk".into(), json!(t.id));
        }
        _ => {}
    }
    it.insert("gsi2pk".into(), json!(exec_partition(&t.execution_id)));
    it.insert(
        "gsi2sk".into(),
        json!(format!("{:06}#{:016}#{}", t.step, ms(t.created), t.id)),
    );
    Ok(it)
}

fn from_item(it: Item) -> Result<ApprovalTask, ServiceError> {
    crate::record::from_item(it, TASK)
}

/// The approval tasks service. Cheap to clone.
#[derive(Clone)]
pub struct Approvals {
    table: Arc<dyn Table>,
    org: Org,
    clock: Arc<dyn Clock>,
}

impl Approvals {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        let org = Org::new(table.clone(), clock.clone());
        Approvals { table, org, clock }
    }

    pub fn org(&self) -> &Org {
        &self.org
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub async fn get(&self, id: &str) -> Result<ApprovalTask, ServiceError> {
        // Ids are hex; anything else cannot be one (and must not reach the key).
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ServiceError::NotFound("approval task"));
        }
        match self.table.get(&task_key(id)).await? {
            Some(it) => from_item(it),
            None => Err(ServiceError::NotFound("approval task")),
        }
    }

    /// The task token of a task, for the workflow adapter only.
    pub fn task_token<'a>(&self, t: &'a ApprovalTask) -> &'a str {
        &t.task_token
    }

    async fn write(&self, t: &ApprovalTask, old_version: i64) -> Result<(), TableError> {
        let item = to_item(t).map_err(|e| TableError::Validation(e.to_string()))?;
        self.table
            .put(item, Some(Condition::version(old_version)))
            .await
    }

    /// Every task of one execution, in step order then creation order.
    pub async fn tasks_of_execution(
        &self,
        execution_id: &str,
    ) -> Result<Vec<ApprovalTask>, ServiceError> {
        self.collect(Query::partition(Index::Gsi2, exec_partition(execution_id)))
            .await
    }

    async fn collect(&self, q: Query) -> Result<Vec<ApprovalTask>, ServiceError> {
        crate::record::collect(self.table.as_ref(), q, TASK).await
    }

    /// The latest task of a step (of one kind) of an execution.
    async fn latest(
        &self,
        execution_id: &str,
        step: u32,
        kind: TaskKind,
    ) -> Result<Option<ApprovalTask>, ServiceError> {
        let q = Query::partition(Index::Gsi2, exec_partition(execution_id))
            .sk(SortKey::BeginsWith(format!("{step:06}#")));
        let all = self.collect(q).await?;
        Ok(all.into_iter().rev().find(|t| t.kind == kind))
    }

    /// Creates the task of one ask, or finds the one a previous run of the same ask
    /// created. Returns the task and whether this call created it.
    pub async fn create(&self, new: NewTask) -> Result<(ApprovalTask, bool), ServiceError> {
        let ikey = idem_key(&new.idempotency_key);
        if let Some(found) = self.find_by_key(&ikey).await? {
            return Ok((found, false));
        }
        let now = self.clock.now();
        // In step order, then creation order: the latest ask of this step is the last.
        let siblings = self.tasks_of_execution(&new.execution_id).await?;
        let prev = siblings
            .iter()
            .rev()
            .find(|t| t.step == new.step && t.kind == new.kind)
            .filter(|p| {
                matches!(p.status, Status::Superseded | Status::Expired)
                    && p.superseded_by.is_none()
            })
            .cloned();
        let earlier = notes_of(&siblings);
        let assignee_id = prev
            .as_ref()
            .map(|p| p.next_assignee.clone().unwrap_or(p.assignee_id.clone()))
            .unwrap_or(new.assignee_id.clone());
        let assignee = self.org.employee(&assignee_id).await?;
        let acting = self.org.acting_for(&assignee, now.date()).await?;
        let requester = self.org.employee(&new.requester_id).await?;
        let due = prev
            .as_ref()
            .map(|p| p.next_due.unwrap_or(p.due))
            .unwrap_or(now + DUE_AFTER);
        let origin = match &prev {
            None => Origin::New,
            Some(p) if p.next_assignee.is_some() => Origin::Escalation,
            Some(_) => Origin::Reminder,
        };
        let id = new_task_id();
        let subject = new
            .request
            .get("subject")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let document = new
            .request
            .get("document")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut t = ApprovalTask {
            id: id.clone(),
            kind: new.kind,
            execution_id: new.execution_id.clone(),
            step: new.step,
            action: new.action.clone(),
            assignee_id: assignee.id.clone(),
            assignee_name: assignee.name.clone(),
            acting_id: (acting.id != assignee.id).then(|| acting.id.clone()),
            requester_id: requester.id.clone(),
            requester_name: requester.name.clone(),
            subject,
            document,
            request: new.request.clone(),
            created: now,
            due,
            expires: now + LINK_LIFETIME,
            status: Status::Open,
            origin,
            decision: None,
            delivered: false,
            mail_sent: false,
            reminders: prev.as_ref().map(|p| p.reminders).unwrap_or(0),
            next_assignee: None,
            next_due: None,
            superseded_by: None,
            history: prev.as_ref().map(|p| p.history.clone()).unwrap_or_default(),
            earlier,
            version: 1,
            task_token: new.task_token.clone(),
        };
        let who = match &t.acting_id {
            Some(_) => format!("{} (Plh {})", acting.name, assignee.name),
            None => assignee.name.clone(),
        };
        t.push(
            now,
            "created",
            None,
            text!(
                "tugas dibuat untuk {who}, batas waktu {}",
                "task created for {who}, due {}",
                waktu_wib(due)
            ),
        );
        let mut key_item = Item::new();
        key_item.insert("pk".into(), json!(ikey.pk));
        key_item.insert("sk".into(), json!(ikey.sk));
        key_item.insert("task_id".into(), json!(id));
        let mut ops = vec![
            TxOp::Put {
                item: to_item(&t)?,
                condition: Some(Condition::absent()),
            },
            TxOp::Put {
                item: key_item,
                condition: Some(Condition::absent()),
            },
        ];
        if let Some(p) = &prev {
            ops.push(TxOp::Update {
                key: task_key(&p.id),
                update: crate::ports::table::Update::new().set("superseded_by", id.clone()),
                condition: Some(Condition::version(p.version)),
            });
        }
        match self.table.transact_write(ops).await {
            Ok(()) => Ok((t, true)),
            Err(TableError::ConditionFailed { .. }) | Err(TableError::Conflict) => {
                // Another run of the same ask won: use its task.
                match self.find_by_key(&ikey).await? {
                    Some(found) => Ok((found, false)),
                    None => Err(ServiceError::Stale),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn find_by_key(&self, ikey: &Key) -> Result<Option<ApprovalTask>, ServiceError> {
        let Some(k) = self.table.get(ikey).await? else {
            return Ok(None);
        };
        let id = k
            .get("task_id")
            .and_then(Value::as_str)
            .ok_or_else(|| internal("idempotency record without task id"))?;
        self.get(id).await.map(Some)
    }

    /// Records that the task's mail went out (idempotent).
    pub async fn mark_mailed(
        &self,
        id: &str,
        to: &str,
        message_id: &str,
    ) -> Result<ApprovalTask, ServiceError> {
        self.modify(id, |t, now| {
            if t.mail_sent {
                return false;
            }
            t.mail_sent = true;
            t.push(
                now,
                "mailed",
                None,
                text!(
                    "email terkirim ke {to} ({message_id})",
                    "email sent to {to} ({message_id})"
                ),
            );
            true
        })
        .await
    }

    /// Mails the task's link unless that is recorded as done.
    pub async fn mail_once(
        &self,
        task: ApprovalTask,
        mailer: &dyn Mailer,
        base_url: &str,
    ) -> Result<ApprovalTask, ServiceError> {
        if task.mail_sent || !task.is_open() {
            return Ok(task);
        }
        let to = self.org.employee(task.inbox_owner()).await?;
        let mail = compose(&task, &to.name, to.email.as_str(), base_url);
        let id = mailer
            .send(mail)
            .await
            .map_err(|e| ServiceError::Internal(format!("mail: {e}")))?;
        self.mark_mailed(&task.id, to.email.as_str(), &id).await
    }

    /// Reads, changes (when `f` says so) and writes a task, retrying on a concurrent change.
    async fn modify(
        &self,
        id: &str,
        mut f: impl FnMut(&mut ApprovalTask, OffsetDateTime) -> bool,
    ) -> Result<ApprovalTask, ServiceError> {
        for _ in 0..50 {
            let mut t = self.get(id).await?;
            let old = t.version;
            if !f(&mut t, self.clock.now()) {
                return Ok(t);
            }
            t.version = old + 1;
            match self.write(&t, old).await {
                Ok(()) => return Ok(t),
                Err(TableError::ConditionFailed { .. }) | Err(TableError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Stale)
    }

    /// Whether `who` may decide `t` now: the assignee, or their Plh today.
    pub async fn may_decide(
        &self,
        t: &ApprovalTask,
        who: &Principal,
    ) -> Result<bool, ServiceError> {
        if who.employee_id == t.assignee_id {
            return Ok(true);
        }
        let assignee = match self.org.employee(&t.assignee_id).await {
            Ok(e) => e,
            Err(ServiceError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let acting = self
            .org
            .acting_for(&assignee, self.clock.now().date())
            .await?;
        Ok(acting.id == who.employee_id)
    }

    /// Whether `who` may see `t`: deciders, the requester, admins.
    pub async fn may_view(&self, t: &ApprovalTask, who: &Principal) -> Result<bool, ServiceError> {
        Ok(who.employee_id == t.requester_id
            || who.has(crate::org::Role::Admin)
            || t.acting_id.as_deref() == Some(who.employee_id.as_str())
            || self.may_decide(t, who).await?)
    }

    /// Records `who`'s decision once. The caller then hands it to the workflow with
    /// [`Approvals::deliver`].
    pub async fn decide(
        &self,
        id: &str,
        who: &Principal,
        outcome: &str,
        note: &str,
    ) -> Result<ApprovalTask, DecideError> {
        let t = match self.get(id).await {
            Ok(t) => t,
            Err(ServiceError::NotFound(_)) => return Err(DecideError::NotFound),
            Err(e) => return Err(e.into()),
        };
        if !self.may_decide(&t, who).await? {
            return Err(DecideError::Forbidden);
        }
        let mut errors = FieldErrors::default();
        let outcome = match Outcome::parse(outcome) {
            Some(o) if t.kind.outcomes().contains(&o) => Some(o),
            _ => {
                errors.add(
                    "decision",
                    text!(
                        "keputusan harus salah satu dari: {}",
                        "the decision must be one of: {}",
                        t.kind
                            .outcomes()
                            .iter()
                            .map(|o| o.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                None
            }
        };
        let note = note.trim();
        if note.chars().count() > 2000 {
            errors.add(
                "note",
                text!("paling banyak 2000 karakter", "at most 2000 characters"),
            );
        }
        if matches!(outcome, Some(Outcome::Return | Outcome::Reject)) && note.is_empty() {
            errors.add(
                "note",
                text!(
                    "tuliskan alasan penolakan atau pengembalian",
                    "give the reason for rejecting or returning"
                ),
            );
        }
        if !errors.is_empty() {
            return Err(DecideError::Invalid(errors));
        }
        let Some(outcome) = outcome else {
            return Err(DecideError::Invalid(errors));
        };
        let jabatan = match self.org.employee(&t.assignee_id).await {
            Ok(e) => e.jabatan,
            Err(ServiceError::NotFound(_)) => String::new(),
            Err(e) => return Err(e.into()),
        };
        let by_role = if who.employee_id != t.assignee_id && !jabatan.is_empty() {
            format!("Plh. {jabatan}")
        } else {
            jabatan
        };
        let mut t = t;
        loop {
            let now = self.clock.now();
            match t.status {
                Status::Decided => return Err(DecideError::AlreadyDecided(Box::new(t))),
                Status::Superseded | Status::Expired => {
                    return Err(DecideError::Expired(Box::new(t)))
                }
                Status::Open if now >= t.expires => return Err(DecideError::Expired(Box::new(t))),
                Status::Open => {}
            }
            let old = t.version;
            let on_behalf_of = (who.employee_id != t.assignee_id).then(|| t.assignee_name.clone());
            t.status = Status::Decided;
            t.delivered = false;
            t.decision = Some(Decision {
                outcome,
                note: note.to_string(),
                by_id: who.employee_id.clone(),
                by_name: who.name.clone(),
                by_role: by_role.clone(),
                on_behalf_of: on_behalf_of.clone(),
                at: now,
            });
            let label = outcome.label();
            let by = match &on_behalf_of {
                Some(a) => format!("{} (Plh {a})", who.name),
                None => who.name.clone(),
            };
            // The note goes with the decision wherever it is shown.
            let note = match note {
                "" => String::new(),
                n => format!(": “{n}”"),
            };
            t.push(
                now,
                "decided",
                Some(&who.employee_id),
                Text::new(
                    format!("{} oleh {by}{note}", label.id),
                    format!("{} by {by}{note}", label.en),
                ),
            );
            t.version = old + 1;
            let item = to_item(&t)?;
            let cond = Condition::And(vec![
                Condition::version(old),
                Condition::equals("status", Status::Open.as_str()),
            ]);
            match self.table.put(item, Some(cond)).await {
                Ok(()) => return Ok(t),
                Err(TableError::ConditionFailed { .. }) | Err(TableError::Conflict) => {
                    t = self.get(id).await?;
                }
                Err(e) => return Err(ServiceError::from(e).into()),
            }
        }
    }

    /// What the workflow receives for a decision (`SendTaskSuccess` output): the
    /// approval ASL's `Decide` state reads `$.decision.decision`.
    pub fn decision_output(t: &ApprovalTask) -> Option<Value> {
        let d = t.decision.as_ref()?;
        Some(json!({
            "decision": d.outcome.as_str(),
            "note": d.note,
            "by": d.by_id,
            "byName": d.by_name,
            "onBehalfOf": d.on_behalf_of,
            "at": d.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "taskId": t.id,
            "step": t.step,
        }))
    }

    /// Hands a recorded decision to the workflow (again, after a crash) and records that
    /// it arrived. A step that timed out first makes the task expired.
    pub async fn deliver(
        &self,
        t: &ApprovalTask,
        workflows: &dyn Workflows,
    ) -> Result<ApprovalTask, ServiceError> {
        if t.status != Status::Decided || t.delivered {
            return Ok(t.clone());
        }
        let Some(d) = t.decision.clone() else {
            return Ok(t.clone());
        };
        let sent = match (t.kind, d.outcome) {
            (TaskKind::Resubmit, Outcome::Withdraw) => {
                workflows
                    .send_task_failure(&t.task_token, ERROR_WITHDRAWN, &d.note)
                    .await
            }
            (TaskKind::Resubmit, _) => {
                let out = json!({"revisionNote": d.note, "resubmittedBy": d.by_id});
                workflows.send_task_success(&t.task_token, out).await
            }
            _ => {
                let out = Self::decision_output(t).unwrap_or(Value::Null);
                workflows.send_task_success(&t.task_token, out).await
            }
        };
        let (delivered, expired) = match sent {
            Ok(()) => (true, false),
            // Answered already: an earlier delivery got through before a crash.
            Err(WorkflowsError::TaskDoesNotExist) => (true, false),
            Err(WorkflowsError::TaskTimedOut) => (false, true),
            Err(WorkflowsError::InvalidToken) => (false, true),
            Err(e) => return Err(ServiceError::Internal(format!("workflow unavailable: {e}"))),
        };
        self.modify(&t.id, |t, now| {
            if t.delivered || t.status != Status::Decided {
                return false;
            }
            if delivered {
                t.delivered = true;
                t.push(
                    now,
                    "delivered",
                    None,
                    text!(
                        "keputusan diteruskan ke alur kerja",
                        "decision handed to the workflow"
                    ),
                );
            } else if expired {
                t.status = Status::Expired;
                t.push(
                    now,
                    "expired",
                    None,
                    text!(
                        "langkah sudah melewati batas waktu sebelum keputusan diterima",
                        "the step timed out before the decision arrived"
                    ),
                );
            }
            true
        })
        .await
    }

    /// Sends every decision that was recorded but not handed over (after a crash).
    pub async fn redeliver_pending(
        &self,
        workflows: &dyn Workflows,
    ) -> Result<usize, ServiceError> {
        let pending = self
            .collect(Query::partition(Index::Gsi1, UNDELIVERED).limit(100))
            .await?;
        let mut n = 0;
        for t in pending {
            self.deliver(&t, workflows).await?;
            n += 1;
        }
        Ok(n)
    }

    /// An admin gives an open task to someone else (same workflow token).
    pub async fn reassign(
        &self,
        id: &str,
        admin: &Principal,
        to: &str,
    ) -> Result<ApprovalTask, ServiceError> {
        admin.require(crate::org::Role::Admin)?;
        let target = self
            .org
            .find_employee(to)
            .await?
            .filter(|e| e.active)
            .ok_or_else(|| {
                ServiceError::invalid(
                    "assignee",
                    text!("pegawai tidak ditemukan", "employee not found"),
                )
            })?;
        let acting = self
            .org
            .acting_for(&target, self.clock.now().date())
            .await?;
        let mut refused = None;
        let t = self
            .modify(id, |t, now| {
                if !t.is_open() || now >= t.expires {
                    refused = Some(ServiceError::conflict(
                        "task",
                        text!("tugas sudah tidak terbuka", "the task is no longer open"),
                    ));
                    return false;
                }
                let from = t.assignee_name.clone();
                t.assignee_id = target.id.clone();
                t.assignee_name = target.name.clone();
                t.acting_id = (acting.id != target.id).then(|| acting.id.clone());
                t.mail_sent = false;
                t.push(
                    now,
                    "reassigned",
                    Some(&admin.employee_id),
                    text!(
                        "dialihkan oleh admin {} dari {from} kepada {}",
                        "reassigned by admin {} from {from} to {}",
                        admin.name,
                        target.name
                    ),
                );
                true
            })
            .await?;
        match refused {
            Some(e) => Err(e),
            None => Ok(t),
        }
    }

    /// A step's `HeartbeatSeconds` or `TimeoutSeconds` passed (the `escalate` task):
    /// before the due time the assignee is reminded; after it the task goes up to the
    /// assignee's supervisor. Either way the open task is superseded and the next ask of
    /// the step inherits its history. Safe to run twice.
    pub async fn overdue(
        &self,
        execution_id: &str,
        step: u32,
        kind: TaskKind,
        reason: &str,
    ) -> Result<Overdue, ServiceError> {
        let Some(t) = self.latest(execution_id, step, kind).await? else {
            return Ok(Overdue::Nothing);
        };
        if !t.is_open() {
            return Ok(Overdue::Nothing);
        }
        let now = self.clock.now();
        let supervisor = if reason != "States.HeartbeatTimeout" || now >= t.due {
            let emp = self.org.employee(&t.assignee_id).await?;
            self.org.supervisor(&emp).await?
        } else {
            None
        };
        let mut out = Overdue::Nothing;
        let sup = supervisor.clone();
        let t = self
            .modify(&t.id, |t, now| {
                if !t.is_open() {
                    return false;
                }
                t.status = Status::Superseded;
                match &sup {
                    Some(s) => {
                        t.next_assignee = Some(s.id.clone());
                        t.next_due = Some(now + DUE_AFTER);
                        t.push(
                            now,
                            "escalated",
                            None,
                            text!(
                                "melewati batas waktu: dieskalasi dari {} kepada atasannya {}",
                                "overdue: escalated from {} to their supervisor {}",
                                t.assignee_name,
                                s.name
                            ),
                        );
                    }
                    None => {
                        t.reminders += 1;
                        if now >= t.due {
                            t.next_due = Some(now + DUE_AFTER);
                        }
                        t.push(
                            now,
                            "reminder",
                            None,
                            text!(
                                "pengingat ke-{} kepada {}: belum diputuskan, batas waktu {}",
                                "reminder {} to {}: not decided yet, due {}",
                                t.reminders,
                                t.assignee_name,
                                waktu_wib(t.next_due.unwrap_or(t.due))
                            ),
                        );
                    }
                }
                true
            })
            .await?;
        if t.status == Status::Superseded && t.superseded_by.is_none() {
            out = match supervisor {
                Some(s) if t.next_assignee.as_deref() == Some(s.id.as_str()) => {
                    Overdue::Escalated(Box::new(t), Box::new(s))
                }
                _ => Overdue::Reminded(Box::new(t)),
            };
        }
        Ok(out)
    }

    /// Open tasks `employee_id` may act on: their own inbox and, for each official whose
    /// Plh they are today, that official's.
    pub async fn inbox(&self, employee_id: &str) -> Result<Vec<ApprovalTask>, ServiceError> {
        let mut owners = vec![employee_id.to_string()];
        let today = self.clock.now().date();
        for d in self.org.delegations_to(employee_id).await? {
            if d.covers(today) && !owners.contains(&d.principal_id) {
                owners.push(d.principal_id.clone());
            }
        }
        let mut out: Vec<ApprovalTask> = Vec::new();
        for owner in owners {
            for prefix in [INBOX_APPROVE, INBOX_SIGN] {
                let q = Query::partition(Index::Gsi1, inbox_partition(&owner))
                    .sk(SortKey::BeginsWith(prefix.to_string()));
                for t in self.collect(q).await? {
                    if t.is_open() && !out.iter().any(|o| o.id == t.id) {
                        out.push(t);
                    }
                }
            }
        }
        out.sort_by_key(|t| t.due);
        Ok(out)
    }

    /// Starts an approval: the chain is the requester's supervisors (at most
    /// `max_steps`), each initials (`paraf`) and the last one signs (`sign`).
    pub async fn start(
        &self,
        requester: &Employee,
        subject: &str,
        document: Option<&str>,
        max_steps: Option<u32>,
        document_spec: Option<&Value>,
        workflows: &dyn Workflows,
    ) -> Result<ApprovalRequest, ServiceError> {
        let mut errors = FieldErrors::default();
        let subject = subject.trim();
        if subject.is_empty() {
            errors.add("subject", text!("wajib diisi", "is required"));
        } else if subject.chars().count() > 200 {
            errors.add(
                "subject",
                text!("paling banyak 200 karakter", "at most 200 characters"),
            );
        }
        let document = document.map(str::trim).filter(|d| !d.is_empty());
        if document.is_some_and(|d| d.chars().count() > 200) {
            errors.add(
                "document",
                text!("paling banyak 200 karakter", "at most 200 characters"),
            );
        }
        if document_spec.is_some_and(|v| !v.is_object()) {
            errors.add(
                "document_spec",
                text!("harus berupa objek JSON", "must be a JSON object"),
            );
        }
        if let Some(spec) = document_spec.and_then(Value::as_object) {
            // A service's own requests (e-SPPD's) are started by that service, which then
            // signs and numbers their documents; a caller cannot pose as one.
            if spec.contains_key("service") {
                errors.add(
                    "document_spec.service",
                    text!(
                        "diisi oleh layanan, bukan oleh pengaju",
                        "set by the service, not by the requester"
                    ),
                );
            }
            if let Some(n) = spec.get("number").and_then(Value::as_str) {
                if let Some(series) = crate::numbers::series_of(n) {
                    errors.add(
                        "document_spec.number",
                        crate::numbers::reserved_message(n, series),
                    );
                }
            }
        }
        if max_steps == Some(0) || max_steps.is_some_and(|m| m > 20) {
            errors.add(
                "max_steps",
                text!("harus antara 1 dan 20", "must be between 1 and 20"),
            );
        }
        errors.into_result()?;
        let mut supervisors = self.org.supervisor_chain(requester).await?;
        if let Some(m) = max_steps {
            supervisors.truncate(m as usize);
        }
        if supervisors.is_empty() {
            return Err(ServiceError::invalid(
                "chain",
                text!(
                    "pengaju tidak mempunyai atasan untuk menyetujui",
                    "the requester has no supervisor to approve"
                ),
            ));
        }
        let last = supervisors.len();
        let chain: Vec<ChainStep> = supervisors
            .iter()
            .enumerate()
            .map(|(i, e)| ChainStep {
                step: i as u32 + 1,
                assignee: e.id.clone(),
                action: if i + 1 == last { "sign" } else { "paraf" }.into(),
                name: e.name.clone(),
                jabatan: e.jabatan.clone(),
            })
            .collect();
        // The sign task renders `request` (type, classification, title, data …) when the
        // caller described the document; our own fields win over the caller's.
        let request = match document_spec {
            Some(Value::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        let name = crate::org::new_id();
        self.start_chain(
            requester, subject, document, chain, request, &name, workflows,
        )
        .await
    }

    /// Starts an approval with a chain the caller derived (e.g. e-SPPD's Kasubag → Kabag
    /// → PPK → Sekretaris) under the execution name `name`. Starting the same name again
    /// with the same chain and request returns the request already started.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_chain(
        &self,
        requester: &Employee,
        subject: &str,
        document: Option<&str>,
        chain: Vec<ChainStep>,
        mut request: serde_json::Map<String, Value>,
        name: &str,
        workflows: &dyn Workflows,
    ) -> Result<ApprovalRequest, ServiceError> {
        if chain.is_empty() {
            return Err(ServiceError::invalid(
                "chain",
                text!(
                    "tidak ada pejabat dalam alur persetujuan",
                    "the approval chain has no official"
                ),
            ));
        }
        if let Ok(found) = self.request(name).await {
            return Ok(found);
        }
        let now = self.clock.now();
        request.insert("id".into(), json!(name));
        request.insert("subject".into(), json!(subject));
        request.insert("document".into(), json!(document));
        request.insert("requesterName".into(), json!(requester.name));
        let input = json!({
            "request": request,
            "chain": chain,
            "requester": requester.id,
        });
        let execution_id = workflows
            .start_execution(APPROVAL_STATE_MACHINE, name, input)
            .await
            .map_err(|e| ServiceError::Internal(format!("workflow unavailable: {e}")))?;
        let req = ApprovalRequest {
            name: name.to_string(),
            execution_id,
            requester_id: requester.id.clone(),
            subject: subject.to_string(),
            document: document.map(str::to_string),
            chain,
            created: now,
        };
        let Value::Object(mut it) = serde_json::to_value(&req).map_err(internal)? else {
            return Err(internal("request did not serialise to an object"));
        };
        let key = request_key(name);
        it.insert("pk".into(), json!(key.pk));
        it.insert("sk".into(), json!(key.sk));
        it.insert("type".into(), json!("approval_request"));
        it.insert(
            "gsi2pk".into(),
            json!(format!("APPROVALREQS#{}", requester.id)),
        );
        it.insert("gsi2sk".into(), json!(format!("{:016}#{name}", ms(now))));
        match self.table.put(it, Some(Condition::absent())).await {
            Ok(()) => Ok(req),
            Err(TableError::ConditionFailed { .. }) => self.request(name).await,
            Err(e) => Err(e.into()),
        }
    }

    pub async fn request(&self, name: &str) -> Result<ApprovalRequest, ServiceError> {
        if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ServiceError::NotFound("approval request"));
        }
        match self.table.get(&request_key(name)).await? {
            Some(it) => serde_json::from_value(Value::Object(it))
                .map_err(|e| internal(format!("stored request unreadable: {e}"))),
            None => Err(ServiceError::NotFound("approval request")),
        }
    }
}

/// The task's mail: Indonesian first, English below (ASCII, so the link survives any
/// transfer encoding). A revision request leads with the reason and who returned it, and
/// the edit page; a step of the chain lists the notes given so far.
fn compose(t: &ApprovalTask, to_name: &str, to: &str, base_url: &str) -> Mail {
    let base = base_url.trim_end_matches('/');
    let link = format!("{base}{}", t.link_path());
    let (what_id, what_en) = match t.action.as_str() {
        "sign" => ("tanda tangan", "signature"),
        "resubmit" => ("perbaikan", "revision"),
        _ => ("paraf", "initials"),
    };
    let (pre_id, pre_en) = match t.origin {
        Origin::New => ("", ""),
        Origin::Reminder => ("Pengingat: ", "Reminder: "),
        Origin::Escalation => ("Eskalasi: ", "Escalation: "),
    };
    let plh = if t.acting_id.is_some() {
        (
            format!(" sebagai Plh {}", t.assignee_name),
            format!(" as Plh of {}", t.assignee_name),
        )
    } else {
        (String::new(), String::new())
    };
    let doc = t.document.clone().unwrap_or_else(|| "-".into());
    let due = waktu_wib(t.due);
    let expires = waktu_wib(t.expires);
    let ask_id = match t.kind {
        TaskKind::ApprovalStep => "memutuskan (setujui, tolak, atau kembalikan)",
        TaskKind::Resubmit => "memperbaiki dan mengajukan kembali, atau menarik pengajuan",
    };
    let ask_en = match t.kind {
        TaskKind::ApprovalStep => "decide (approve, reject or return)",
        TaskKind::Resubmit => "revise and resubmit, or withdraw the request",
    };
    let subject = format!(
        "[paraf] {pre_id}Mohon {what_id}: {} / {pre_en}{what_en} requested",
        t.subject
    );
    let edit = t.request_path("editPath").map(|p| format!("{base}{p}"));
    let page = t.request_path("subjectPath").map(|p| format!("{base}{p}"));
    let mut top_id = String::new();
    let mut top_en = String::new();
    let mut notes_id = String::new();
    let mut notes_en = String::new();
    if let Some(r) = t.returned() {
        let at = waktu_wib(r.at);
        top_id = format!(
            "Pengajuan Anda dikembalikan untuk perbaikan oleh {who} pada {at}.\n\
             Alasan: {note}\n\n",
            who = r.who(),
            note = r.note,
        );
        top_en = format!(
            "Your request was returned for revision by {who} on {at}.\n\
             Reason: {note}\n\n",
            who = r.who(),
            note = r.note,
        );
        if let Some(e) = &edit {
            top_id.push_str(&format!("Ubah pengajuan di:\n{e}\n\n"));
            top_en.push_str(&format!("Edit the request at:\n{e}\n\n"));
        }
    } else if !t.earlier.is_empty() {
        notes_id.push_str("Catatan sebelumnya:\n");
        notes_en.push_str("Earlier notes:\n");
        for n in &t.earlier {
            let label = n.outcome.label();
            let at = waktu_wib(n.at);
            notes_id.push_str(&format!("- {}, {}, {at}: {}\n", n.who(), label.id, n.note));
            notes_en.push_str(&format!("- {}, {}, {at}: {}\n", n.who(), label.en, n.note));
        }
        notes_id.push('\n');
        notes_en.push('\n');
    }
    let (page_id, page_en) = match &page {
        Some(p) => (
            format!("Lihat pengajuan: {p}\n"),
            format!("See the request: {p}\n"),
        ),
        None => (String::new(), String::new()),
    };
    let text = format!(
        "Yth. {to_name},\n\n\
         {top_id}\
         {req} mengajukan \"{subj}\" untuk {what_id} Anda{plh_id} (langkah {step}).\n\
         Dokumen: {doc}\n\
         Batas waktu: {due}\n\n\
         {notes_id}\
         Buka tautan berikut untuk {ask_id}:\n{link}\n\
         {page_id}\n\
         Tautan berlaku sampai {expires}. Tugas ini juga ada di kotak masuk paraf Anda.\n\n\
         ---\n\
         Dear {to_name},\n\n\
         {top_en}\
         {req} asks for your {what_en}{plh_en} on \"{subj}\" (step {step}).\n\
         Document: {doc}\n\
         Due: {due}\n\n\
         {notes_en}\
         Open this link to {ask_en}:\n{link}\n\
         {page_en}\n\
         The link works until {expires}. The task is also in your paraf inbox.\n",
        req = t.requester_name,
        subj = t.subject,
        plh_id = plh.0,
        plh_en = plh.1,
        step = t.step,
    );
    let mut links = vec![link];
    links.extend(edit);
    links.extend(page);
    Mail {
        to: vec![to.to_string()],
        subject,
        text,
        html: None,
        links,
    }
}

#[cfg(test)]
mod tests {
    //! Notes and reasons travel with the request: on the next task and in its mail.
    use super::*;
    use crate::auth::Auth;
    use crate::memory::MemoryTable;
    use crate::ports::clock::SystemClock;

    struct World {
        approvals: Approvals,
    }

    async fn world() -> World {
        let table = Arc::new(MemoryTable::new());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let auth = Auth::new(table.clone(), clock.clone());
        crate::demo::load(&auth).await.expect("demo organisation");
        World {
            approvals: Approvals::new(table, clock),
        }
    }

    impl World {
        async fn emp(&self, local: &str) -> Employee {
            let email = format!("{local}@{}", crate::demo::DEMO_DOMAIN);
            self.approvals
                .org()
                .find_employee(&email)
                .await
                .expect("org")
                .unwrap_or_else(|| panic!("no demo employee {local}"))
        }

        /// The notify step of the workflow: the task of `step` for `assignee`.
        async fn ask(&self, n: u32, kind: TaskKind, step: u32, assignee: &str) -> ApprovalTask {
            let staf = self.emp("staf").await;
            let (t, created) = self
                .approvals
                .create(NewTask {
                    idempotency_key: format!("ask-{n}"),
                    task_token: format!("token-{n}"),
                    kind,
                    execution_id: "exec-1".into(),
                    step,
                    action: match kind {
                        TaskKind::ApprovalStep => "paraf".into(),
                        TaskKind::Resubmit => "resubmit".into(),
                    },
                    assignee_id: self.emp(assignee).await.id,
                    requester_id: staf.id,
                    request: json!({
                        "subject": "Perjalanan dinas ke Kota Bekasi",
                        "document": "Surat Tugas dan SPPD",
                        "subjectPath": "/sppd/abc",
                        "editPath": "/sppd/abc/ubah",
                    }),
                })
                .await
                .expect("task");
            assert!(created);
            t
        }

        async fn decide(&self, t: &ApprovalTask, who: &str, outcome: &str, note: &str) {
            let p = Principal::of(&self.emp(who).await);
            self.approvals
                .decide(&t.id, &p, outcome, note)
                .await
                .expect("decided");
        }
    }

    #[tokio::test]
    async fn a_revision_task_and_its_mail_carry_the_reason_who_returned_it_and_the_edit_page() {
        let w = world().await;
        let first = w.ask(1, TaskKind::ApprovalStep, 1, "kasubag").await;
        w.decide(&first, "kasubag", "return", "Lampirkan undangan rapat")
            .await;
        let revision = w.ask(2, TaskKind::Resubmit, 1, "staf").await;
        let r = revision.returned().expect("the reason is on the task");
        assert_eq!(r.note, "Lampirkan undangan rapat");
        let kasubag = w.emp("kasubag").await;
        assert_eq!(r.by_name, kasubag.name);
        assert_eq!(r.by_role, kasubag.jabatan);
        let mail = compose(&revision, "Ahmad", "staf@x.test", "https://paraf.test/");
        assert!(mail.subject.contains("Mohon perbaikan"), "{}", mail.subject);
        for want in [
            "Alasan: Lampirkan undangan rapat",
            &format!("{} ({})", kasubag.name, kasubag.jabatan),
            "Ubah pengajuan di:\nhttps://paraf.test/sppd/abc/ubah",
            "Reason: Lampirkan undangan rapat",
        ] {
            assert!(mail.text.contains(want), "{want:?} not in {}", mail.text);
        }
        assert!(mail
            .links
            .contains(&"https://paraf.test/sppd/abc/ubah".to_string()));
    }

    #[tokio::test]
    async fn a_note_given_with_an_approval_is_in_the_history_and_in_the_next_approvers_mail() {
        let w = world().await;
        let first = w.ask(1, TaskKind::ApprovalStep, 1, "kasubag").await;
        w.decide(&first, "kasubag", "approve", "Anggaran cukup, lanjutkan")
            .await;
        let decided = w.approvals.get(&first.id).await.expect("task");
        let last = decided.history.last().expect("history");
        assert!(
            last.text.id.contains("Anggaran cukup, lanjutkan"),
            "{:?}",
            last.text
        );
        let second = w.ask(2, TaskKind::ApprovalStep, 2, "kabag").await;
        assert_eq!(second.earlier.len(), 1);
        assert!(
            second.returned().is_none(),
            "only a revision task has a reason"
        );
        let mail = compose(&second, "Kabag", "kabag@x.test", "https://paraf.test");
        assert!(mail.text.contains("Catatan sebelumnya:"), "{}", mail.text);
        assert!(mail.text.contains("disetujui"), "{}", mail.text);
        assert!(
            mail.text.contains("Anggaran cukup, lanjutkan"),
            "{}",
            mail.text
        );
        assert!(mail
            .text
            .contains("Lihat pengajuan: https://paraf.test/sppd/abc"));
        // An approval without a note adds nothing to mail.
        w.decide(&second, "kabag", "approve", "").await;
        let third = w.ask(3, TaskKind::ApprovalStep, 3, "ppk").await;
        assert_eq!(third.earlier.len(), 1);
    }

    #[test]
    fn a_request_path_must_be_a_local_path() {
        let mut t: ApprovalTask = serde_json::from_value(json!({
            "id": "a", "kind": "resubmit", "execution_id": "e", "step": 1, "action": "resubmit",
            "assignee_id": "x", "assignee_name": "X", "acting_id": null, "requester_id": "x",
            "requester_name": "X", "subject": "s", "document": null,
            "request": {"editPath": "//evil.example/x"},
            "created": "2026-11-28T09:00:00+07:00", "due": "2026-11-28T09:00:00+07:00",
            "expires": "2026-11-28T09:00:00+07:00", "status": "open", "origin": "new",
            "decision": null, "delivered": false, "mail_sent": false, "reminders": 0,
            "next_assignee": null, "next_due": null, "superseded_by": null, "history": [],
            "version": 1, "task_token": "t"
        }))
        .expect("a task stored before notes existed still reads");
        assert_eq!(t.request_path("editPath"), None);
        t.request = json!({"editPath": "/sppd/abc/ubah"});
        assert_eq!(t.request_path("editPath"), Some("/sppd/abc/ubah"));
    }
}
