//! e-disposisi: the human tasks of `workflows/disposition.asl.json`.
//!
//! An agendaris (or admin) registers an incoming letter and gives it to its first holder;
//! that starts one `disposition` execution. Each execution is one node of the tree and asks
//! its holder through the `notify` task, which stores a [`DispositionTask`] here:
//! - kind `disposition`: the holder completes with a report, or forwards to 1..N
//!   subordinates (direct reports or employees of the holder's unit subtree) with one
//!   instruction of [`INSTRUCTIONS`] and a deadline (WIB date); each recipient becomes a
//!   child execution of the same machine;
//! - kind `disposition_report`: after all children reported, the holder writes their own
//!   report, which ends the node.
//!
//! Read state: a task is *unread* until its holder marks it read with an explicit POST
//! (`/api/v1/dispositions/{id}/read`, the "tandai sudah dibaca" button, or any answer).
//! A GET — of a mailed link or of the page — never changes anything. Unread open tasks are
//! indexed under `INBOX#<holder>` / `DISPO#UNREAD#…`, which the dashboard counts.
//!
//! Cancelling: the parent holder (or an admin) may withdraw a forward while the child's
//! task is still unread: the task is marked cancelled (one conditional write on
//! `status = open` and no read), then the child execution is stopped with
//! [`ERROR_CANCELLED`]. The parent's `Map` iteration catches the aborted child and counts
//! it as `{"status": "cancelled"}`, so the parent still completes.
//!
//! Answers are decide-once (conditional write on `status = open` and `version`); an answer
//! recorded but not handed to the workflow stays in `DISPOS#UNDELIVERED` until
//! [`Dispositions::redeliver_pending`] sends it.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest as _;
use time::{Date, OffsetDateTime};

use crate::auth::Principal;
use crate::dashboard::{inbox_partition, INBOX_DISPO_UNREAD};
use crate::error::{FieldErrors, ServiceError};
use crate::format::waktu_wib;
use crate::org::{Employee, Org, Role};
use crate::ports::clock::Clock;
use crate::ports::mailer::{Mail, Mailer};
use crate::ports::table::{Condition, Index, Item, Key, Query, Table, TableError, TxOp};
use crate::ports::workflows::{Workflows, WorkflowsError};
use crate::text;

/// The state machine of `workflows/disposition.asl.json`.
pub const DISPOSITION_STATE_MACHINE: &str = "disposition";
/// The error a withdrawn (cancelled) child execution is stopped with.
pub const ERROR_CANCELLED: &str = "Paraf.DispositionCancelled";
/// The instructions of a lembar disposisi (docs/glossary.md).
pub const INSTRUCTIONS: [&str; 5] = [
    "tindak lanjuti",
    "pelajari",
    "hadiri",
    "koordinasikan",
    "arsipkan",
];
/// A read open task in the holder's inbox (not counted as unread).
pub const INBOX_DISPO_OPEN: &str = "DISPO#OPEN#";
/// Most recipients of one forward.
pub const MAX_RECIPIENTS: usize = 20;

const UNDELIVERED: &str = "DISPOS#UNDELIVERED";

/// The incoming letter (surat masuk) the tree is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Letter {
    pub id: String,
    pub subject: String,
    pub number: String,
    pub sender: String,
    /// The letter's date, `YYYY-MM-DD`.
    pub date: String,
    pub registered_by: String,
    /// The root execution.
    #[serde(default)]
    pub execution_id: String,
    /// Nomor agenda: the letter's number in the buku agenda, allocated by this service at
    /// registration ([`crate::numbers::AGENDA`], gapless per year).
    #[serde(default)]
    pub agenda_number: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = DispositionKind))]
pub enum DispoKind {
    /// Complete with a report, or forward.
    Disposition,
    /// All children reported: the holder's own report.
    DispositionReport,
}

impl DispoKind {
    pub fn parse(s: &str) -> Option<DispoKind> {
        match s {
            "disposition" => Some(DispoKind::Disposition),
            "disposition_report" => Some(DispoKind::DispositionReport),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DispoKind::Disposition => "disposition",
            DispoKind::DispositionReport => "disposition_report",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = DispositionStatus))]
pub enum DispoStatus {
    Open,
    Completed,
    Forwarded,
    Cancelled,
    /// Its ask timed out and was asked again (a reminder): the newer task replaces it.
    Expired,
}

impl DispoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DispoStatus::Open => "open",
            DispoStatus::Completed => "completed",
            DispoStatus::Forwarded => "forwarded",
            DispoStatus::Cancelled => "cancelled",
            DispoStatus::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispositionTask {
    pub id: String,
    pub kind: DispoKind,
    pub execution_id: String,
    pub parent_execution_id: Option<String>,
    pub letter: Letter,
    pub holder_id: String,
    pub holder_name: String,
    /// The holder's Plh when the task was created during a delegation period: the task
    /// is in their inbox and mailed to them; they act for the holder.
    #[serde(default)]
    pub acting_id: Option<String>,
    pub from_id: Option<String>,
    pub from_name: Option<String>,
    pub instruction: Option<String>,
    /// WIB date, `YYYY-MM-DD`.
    pub deadline: Option<String>,
    pub depth: u32,
    /// Children's reports (kind `disposition_report`).
    pub children: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
    pub status: DispoStatus,
    pub report: Option<String>,
    pub recipients: Vec<String>,
    pub forward_instruction: Option<String>,
    pub forward_deadline: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    pub cancelled_by: Option<String>,
    pub delivered: bool,
    pub mail_sent: bool,
    pub version: i64,
    /// The Step Functions task token: server-side only.
    task_token: String,
}

impl DispositionTask {
    /// Whose inbox the task is in (and who is mailed): the Plh during a delegation.
    pub fn inbox_owner(&self) -> &str {
        self.acting_id.as_deref().unwrap_or(&self.holder_id)
    }

    pub fn is_open(&self) -> bool {
        self.status == DispoStatus::Open
    }
    pub fn is_unread(&self) -> bool {
        self.read_at.is_none()
    }
    pub fn link_path(&self) -> String {
        format!("/disposisi/{}", self.id)
    }
}

/// What `notify` receives for a disposition kind.
#[derive(Debug, Clone)]
pub struct NewDispositionTask {
    pub idempotency_key: String,
    pub task_token: String,
    pub kind: DispoKind,
    pub execution_id: String,
    /// The ASL payload (`letter`, `holder`, `depth`, `node`, `children`).
    pub payload: Value,
}

/// Registering an incoming letter (unparsed input).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewLetter {
    pub subject: String,
    pub number: String,
    pub sender: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// First holder: employee id, NIP or email.
    pub holder: String,
}

/// A forward as the holder asks for it (unparsed input).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Forward {
    /// Employee ids, NIPs or emails.
    pub recipients: Vec<String>,
    pub instruction: String,
    /// WIB date `YYYY-MM-DD`.
    pub deadline: String,
}

fn task_key(id: &str) -> Key {
    Key::new(format!("DISPO#{id}"), "TASK")
}
fn letter_key(id: &str) -> Key {
    Key::new(format!("DISPOLETTER#{id}"), "LETTER")
}
fn idem_key(k: &str) -> Key {
    Key::new(
        format!(
            "DISPOKEY#{}",
            hex::encode(sha2::Sha256::digest(k.as_bytes()))
        ),
        "KEY",
    )
}
use crate::record::ms;
fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

fn parse_date(s: &str) -> Option<Date> {
    crate::types::parse_date(s).ok()
}

const TASK: &str = "disposition_task";

fn to_item(t: &DispositionTask) -> Result<Item, ServiceError> {
    let mut it = crate::record::to_item(t, &task_key(&t.id), TASK)?;
    if t.is_open() {
        let prefix = if t.is_unread() {
            INBOX_DISPO_UNREAD
        } else {
            INBOX_DISPO_OPEN
        };
        it.insert("gsi1pk".into(), json!(inbox_partition(t.inbox_owner())));
        it.insert(
            "gsi1sk".into(),
            json!(format!("{prefix}{:016}#{}", ms(t.created), t.id)),
        );
    } else if !t.delivered && matches!(t.status, DispoStatus::Completed | DispoStatus::Forwarded) {
        it.insert("gsi1pk".into(), json!(UNDELIVERED));
        it.insert("gsi1sk".into(), json!(t.id));
    }
    it.insert(
        "gsi2pk".into(),
        json!(format!("DISPOS#EXEC#{}", t.execution_id)),
    );
    it.insert(
        "gsi2sk".into(),
        json!(format!("{:016}#{}", ms(t.created), t.id)),
    );
    if let Some(p) = &t.parent_execution_id {
        it.insert("gsi3pk".into(), json!(format!("DISPOS#PARENT#{p}")));
        it.insert(
            "gsi3sk".into(),
            json!(format!("{:016}#{}", ms(t.created), t.id)),
        );
    }
    Ok(it)
}

fn from_item(it: Item) -> Result<DispositionTask, ServiceError> {
    crate::record::from_item(it, TASK)
}

fn str_of(v: &Value, name: &str) -> Option<String> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// The dispositions service. Cheap to clone.
#[derive(Clone)]
pub struct Dispositions {
    table: Arc<dyn Table>,
    org: Org,
    clock: Arc<dyn Clock>,
}

impl Dispositions {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        let org = Org::new(table.clone(), clock.clone());
        Dispositions { table, org, clock }
    }

    pub fn org(&self) -> &Org {
        &self.org
    }

    async fn collect(&self, q: Query) -> Result<Vec<DispositionTask>, ServiceError> {
        crate::record::collect(self.table.as_ref(), q, TASK).await
    }

    async fn find_employee(&self, who: &str) -> Result<Option<Employee>, ServiceError> {
        if let Ok(e) = self.org.employee(who).await {
            return Ok(Some(e).filter(|e| e.active));
        }
        Ok(self.org.find_employee(who).await?.filter(|e| e.active))
    }

    /// Registers an incoming letter and starts its tree with the first holder
    /// (role agendaris or admin).
    pub async fn register(
        &self,
        who: &Principal,
        new: NewLetter,
        workflows: &dyn Workflows,
    ) -> Result<Letter, ServiceError> {
        who.require_any(&[Role::Agendaris, Role::Admin])?;
        let mut errors = FieldErrors::default();
        for (field, value, max) in [
            ("subject", &new.subject, 300),
            ("number", &new.number, 100),
            ("sender", &new.sender, 200),
        ] {
            let v = value.trim();
            errors.check_text(field, v);
            if v.is_empty() {
                errors.add(field, text!("wajib diisi", "is required"));
            } else if v.chars().count() > max {
                errors.add(
                    field,
                    text!("paling banyak {max} karakter", "at most {max} characters"),
                );
            }
        }
        if parse_date(&new.date).is_none() {
            errors.add(
                "date",
                text!(
                    "tanggal harus berbentuk YYYY-MM-DD",
                    "the date must be YYYY-MM-DD"
                ),
            );
        }
        let holder = if new.holder.trim().is_empty() {
            errors.add("holder", text!("wajib diisi", "is required"));
            None
        } else {
            let h = self.find_employee(new.holder.trim()).await?;
            if h.is_none() {
                errors.add(
                    "holder",
                    text!("pegawai tidak ditemukan", "employee not found"),
                );
            }
            h
        };
        errors.into_result()?;
        let Some(holder) = holder else {
            return Err(internal("holder vanished"));
        };
        let id = crate::org::new_id();
        let mut letter = Letter {
            id: id.clone(),
            subject: new.subject.trim().to_string(),
            number: new.number.trim().to_string(),
            sender: new.sender.trim().to_string(),
            date: new.date.trim().to_string(),
            registered_by: who.employee_id.clone(),
            execution_id: String::new(),
            agenda_number: String::new(),
        };
        let input = json!({
            "letter": {
                "id": letter.id, "subject": letter.subject, "number": letter.number,
                "sender": letter.sender, "date": letter.date,
                "registeredBy": letter.registered_by,
            },
            "holder": holder.id,
            "from": who.employee_id,
            "instruction": null,
            "deadline": null,
            "depth": 0,
        });
        letter.execution_id = workflows
            .start_execution(DISPOSITION_STATE_MACHINE, &id, input)
            .await
            .map_err(|e| ServiceError::Internal(format!("workflow unavailable: {e}")))?;
        // The nomor agenda is taken in the same transaction as the letter it numbers: a
        // registration racing this one reads the counter again.
        let year = self.clock.now().to_offset(crate::ports::clock::WIB).year();
        for _ in 0..20 {
            let (mut numbers, counter) =
                crate::numbers::take(self.table.as_ref(), &crate::numbers::AGENDA, year, 1).await?;
            letter.agenda_number = numbers.pop().unwrap_or_default();
            let Value::Object(mut it) = serde_json::to_value(&letter).map_err(internal)? else {
                return Err(internal("letter did not serialise to an object"));
            };
            let key = letter_key(&id);
            it.insert("pk".into(), json!(key.pk));
            it.insert("sk".into(), json!(key.sk));
            it.insert("type".into(), json!("disposition_letter"));
            let ops = vec![
                counter,
                TxOp::Put {
                    item: it,
                    condition: Some(Condition::absent()),
                },
            ];
            match self.table.transact_write(ops).await {
                Ok(()) => return Ok(letter),
                Err(TableError::ConditionFailed { op: Some(0) } | TableError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Stale)
    }

    pub async fn letter(&self, id: &str) -> Result<Letter, ServiceError> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ServiceError::NotFound("letter"));
        }
        match self.table.get(&letter_key(id)).await? {
            Some(it) => serde_json::from_value(Value::Object(it))
                .map_err(|e| internal(format!("stored letter unreadable: {e}"))),
            None => Err(ServiceError::NotFound("letter")),
        }
    }

    /// Creates the task of one ask (the `notify` task), or finds the one a previous run
    /// of the same ask created. Returns the task and whether this call created it.
    pub async fn create(
        &self,
        new: NewDispositionTask,
    ) -> Result<(DispositionTask, bool), ServiceError> {
        let ikey = idem_key(&new.idempotency_key);
        if let Some(found) = self.find_by_key(&ikey).await? {
            return Ok((found, false));
        }
        let p = &new.payload;
        let holder_id = str_of(p, "holder")
            .ok_or_else(|| ServiceError::invalid("holder", text!("wajib", "required")))?;
        let holder = self.org.employee(&holder_id).await?;
        let node = p.get("node").cloned().unwrap_or(Value::Null);
        let letter_v = p.get("letter").cloned().unwrap_or(Value::Null);
        let letter_id = str_of(&letter_v, "id").unwrap_or_default();
        let letter = match self.letter(&letter_id).await {
            Ok(l) => l,
            Err(ServiceError::NotFound(_)) => Letter {
                id: letter_id,
                subject: str_of(&letter_v, "subject").unwrap_or_default(),
                number: str_of(&letter_v, "number").unwrap_or_default(),
                sender: str_of(&letter_v, "sender").unwrap_or_default(),
                date: str_of(&letter_v, "date").unwrap_or_default(),
                registered_by: str_of(&letter_v, "registeredBy").unwrap_or_default(),
                execution_id: String::new(),
                agenda_number: String::new(),
            },
            Err(e) => return Err(e),
        };
        let depth = p.get("depth").and_then(Value::as_u64).unwrap_or(0) as u32;
        let parent = str_of(&node, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID");
        let from_id = if depth > 0 {
            str_of(&node, "from")
        } else {
            None
        };
        let from_name = match &from_id {
            Some(f) => self.org.employee(f).await.ok().map(|e| e.name),
            None => None,
        };
        let now = self.clock.now();
        // A reminder (the ask timed out and came again) keeps what the holder had read.
        let earlier_read = self
            .tasks_of_execution(&new.execution_id)
            .await?
            .into_iter()
            .filter(|o| o.kind == new.kind && o.status == DispoStatus::Expired)
            .find_map(|o| o.read_at);
        let acting = self.org.acting_for(&holder, now.date()).await?;
        let id = crate::approvals::new_task_id();
        let t = DispositionTask {
            id: id.clone(),
            kind: new.kind,
            execution_id: new.execution_id,
            parent_execution_id: parent,
            letter,
            holder_id: holder.id.clone(),
            holder_name: holder.name.clone(),
            acting_id: (acting.id != holder.id).then(|| acting.id.clone()),
            from_id,
            from_name,
            instruction: str_of(&node, "instruction"),
            deadline: str_of(&node, "deadline"),
            depth,
            children: p.get("children").cloned().unwrap_or(Value::Null),
            created: now,
            // The own-report ask follows the holder's own forward: nothing new to read.
            read_at: earlier_read.or((new.kind == DispoKind::DispositionReport).then_some(now)),
            status: DispoStatus::Open,
            report: None,
            recipients: Vec::new(),
            forward_instruction: None,
            forward_deadline: None,
            answered_at: None,
            cancelled_by: None,
            delivered: false,
            mail_sent: false,
            version: 1,
            task_token: new.task_token,
        };
        let mut key_item = Item::new();
        key_item.insert("pk".into(), json!(ikey.pk));
        key_item.insert("sk".into(), json!(ikey.sk));
        key_item.insert("task_id".into(), json!(id));
        let ops = vec![
            TxOp::Put {
                item: to_item(&t)?,
                condition: Some(Condition::absent()),
            },
            TxOp::Put {
                item: key_item,
                condition: Some(Condition::absent()),
            },
        ];
        match self.table.transact_write(ops).await {
            Ok(()) => Ok((t, true)),
            Err(TableError::ConditionFailed { .. }) | Err(TableError::Conflict) => {
                match self.find_by_key(&ikey).await? {
                    Some(found) => Ok((found, false)),
                    None => Err(ServiceError::Stale),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn find_by_key(&self, ikey: &Key) -> Result<Option<DispositionTask>, ServiceError> {
        let Some(k) = self.table.get(ikey).await? else {
            return Ok(None);
        };
        let id = k
            .get("task_id")
            .and_then(Value::as_str)
            .ok_or_else(|| internal("idempotency record without task id"))?;
        self.get(id).await.map(Some)
    }

    pub async fn get(&self, id: &str) -> Result<DispositionTask, ServiceError> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ServiceError::NotFound("disposition"));
        }
        match self.table.get(&task_key(id)).await? {
            Some(it) => from_item(it),
            None => Err(ServiceError::NotFound("disposition")),
        }
    }

    /// Reads, changes (when `f` says so; `f` may refuse with an error) and writes a task
    /// guarded by its version, retrying on a concurrent change.
    async fn modify(
        &self,
        id: &str,
        mut f: impl FnMut(&mut DispositionTask, OffsetDateTime) -> Result<bool, ServiceError>,
    ) -> Result<DispositionTask, ServiceError> {
        for _ in 0..50 {
            let mut t = self.get(id).await?;
            let old = t.version;
            if !f(&mut t, self.clock.now())? {
                return Ok(t);
            }
            t.version = old + 1;
            let item = to_item(&t)?;
            match self.table.put(item, Some(Condition::version(old))).await {
                Ok(()) => return Ok(t),
                Err(TableError::ConditionFailed { .. }) | Err(TableError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Stale)
    }

    /// Open tasks of `employee_id`, oldest first.
    pub async fn inbox(&self, employee_id: &str) -> Result<Vec<DispositionTask>, ServiceError> {
        let mut out = Vec::new();
        for prefix in [INBOX_DISPO_UNREAD, INBOX_DISPO_OPEN] {
            let q = Query::partition(Index::Gsi1, inbox_partition(employee_id))
                .sk(crate::ports::table::SortKey::BeginsWith(prefix.to_string()));
            out.extend(self.collect(q).await?.into_iter().filter(|t| t.is_open()));
        }
        out.sort_by_key(|t| t.created);
        Ok(out)
    }

    /// Every task of one execution (its disposition ask and own-report ask).
    pub async fn tasks_of_execution(
        &self,
        execution_id: &str,
    ) -> Result<Vec<DispositionTask>, ServiceError> {
        self.collect(Query::partition(
            Index::Gsi2,
            format!("DISPOS#EXEC#{execution_id}"),
        ))
        .await
    }

    /// The disposition asks of the children an execution forwarded to.
    pub async fn children_of(
        &self,
        execution_id: &str,
    ) -> Result<Vec<DispositionTask>, ServiceError> {
        Ok(self
            .collect(Query::partition(
                Index::Gsi3,
                format!("DISPOS#PARENT#{execution_id}"),
            ))
            .await?
            .into_iter()
            .filter(|t| t.kind == DispoKind::Disposition)
            .collect())
    }

    /// Holder (or their Plh), the one who forwarded it, admins, and the agendaris who
    /// registered it.
    pub fn may_view(&self, t: &DispositionTask, who: &Principal) -> bool {
        who.employee_id == t.holder_id
            || t.acting_id.as_deref() == Some(who.employee_id.as_str())
            || t.from_id.as_deref() == Some(who.employee_id.as_str())
            || t.letter.registered_by == who.employee_id
            || who.has(Role::Admin)
    }

    /// Whether `who` may act on `t` now: the holder, or their Plh — the one named when the
    /// task was created, or whoever a delegation covering today names.
    pub async fn may_act(
        &self,
        t: &DispositionTask,
        who: &Principal,
    ) -> Result<bool, ServiceError> {
        if who.employee_id == t.holder_id
            || t.acting_id.as_deref() == Some(who.employee_id.as_str())
        {
            return Ok(true);
        }
        let holder = match self.org.employee(&t.holder_id).await {
            Ok(e) => e,
            Err(ServiceError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        Ok(self
            .org
            .acting_for(&holder, self.clock.now().date())
            .await?
            .id
            == who.employee_id)
    }

    async fn require_holder(
        &self,
        t: &DispositionTask,
        who: &Principal,
    ) -> Result<(), ServiceError> {
        if self.may_act(t, who).await? {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }

    fn not_open(t: &DispositionTask) -> ServiceError {
        match t.status {
            DispoStatus::Cancelled => ServiceError::conflict(
                "disposition",
                text!(
                    "disposisi ini sudah ditarik",
                    "this disposition was withdrawn"
                ),
            ),
            _ => ServiceError::conflict(
                "disposition",
                text!(
                    "disposisi ini sudah ditindaklanjuti; tidak ada yang diubah",
                    "this disposition has already been answered; nothing was changed"
                ),
            ),
        }
    }

    /// The holder marks the task read (an explicit POST; idempotent).
    pub async fn mark_read(
        &self,
        id: &str,
        who: &Principal,
    ) -> Result<DispositionTask, ServiceError> {
        let t = self.get(id).await?;
        self.require_holder(&t, who).await?;
        self.modify(id, |t, now| {
            if t.read_at.is_some() {
                return Ok(false);
            }
            if t.status == DispoStatus::Cancelled {
                return Err(Self::not_open(t));
            }
            t.read_at = Some(now);
            Ok(true)
        })
        .await
    }

    /// Completes a task with a report (kind `disposition`: the node ends; kind
    /// `disposition_report`: the holder's summary after the children).
    pub async fn complete(
        &self,
        id: &str,
        who: &Principal,
        report: &str,
        workflows: &dyn Workflows,
    ) -> Result<DispositionTask, ServiceError> {
        let t = self.get(id).await?;
        self.require_holder(&t, who).await?;
        let report = report.trim().to_string();
        if report.is_empty() {
            return Err(ServiceError::invalid(
                "report",
                text!("tuliskan laporan", "write the report"),
            ));
        }
        if report.chars().count() > 4000 {
            return Err(ServiceError::invalid(
                "report",
                text!("paling banyak 4000 karakter", "at most 4000 characters"),
            ));
        }
        let t = self
            .modify(id, |t, now| {
                if !t.is_open() {
                    return Err(Self::not_open(t));
                }
                t.status = DispoStatus::Completed;
                t.report = Some(report.clone());
                t.read_at.get_or_insert(now);
                t.answered_at = Some(now);
                t.delivered = false;
                Ok(true)
            })
            .await?;
        self.deliver(&t, workflows).await
    }

    /// Whether `to` may receive a disposition from `from`: a direct report, or someone in
    /// `from`'s unit or a unit below it.
    pub async fn may_forward_to(
        &self,
        from: &Employee,
        to: &Employee,
    ) -> Result<bool, ServiceError> {
        if to.id == from.id || !to.active {
            return Ok(false);
        }
        if to.supervisor_id.as_deref() == Some(from.id.as_str()) {
            return Ok(true);
        }
        let units = self.org.units().await?;
        let mut subtree: BTreeSet<String> = BTreeSet::from([from.unit_id.clone()]);
        loop {
            let before = subtree.len();
            for u in &units {
                if u.parent_id.as_ref().is_some_and(|p| subtree.contains(p)) {
                    subtree.insert(u.id.clone());
                }
            }
            if subtree.len() == before {
                break;
            }
        }
        Ok(subtree.contains(&to.unit_id))
    }

    /// Forwards a `disposition` task to 1..N subordinates with one instruction and a
    /// deadline; each becomes a child execution.
    pub async fn forward(
        &self,
        id: &str,
        who: &Principal,
        fwd: Forward,
        workflows: &dyn Workflows,
    ) -> Result<DispositionTask, ServiceError> {
        let t = self.get(id).await?;
        self.require_holder(&t, who).await?;
        let mut errors = FieldErrors::default();
        if t.kind != DispoKind::Disposition {
            errors.add(
                "action",
                text!(
                    "laporan akhir tidak dapat diteruskan",
                    "a final report cannot be forwarded"
                ),
            );
        }
        let holder = self.org.employee(&t.holder_id).await?;
        let mut recipients: Vec<String> = Vec::new();
        if fwd.recipients.is_empty() {
            errors.add(
                "recipients",
                text!(
                    "pilih paling sedikit satu penerima",
                    "choose at least one recipient"
                ),
            );
        } else if fwd.recipients.len() > MAX_RECIPIENTS {
            errors.add(
                "recipients",
                text!(
                    "paling banyak {MAX_RECIPIENTS} penerima",
                    "at most {MAX_RECIPIENTS} recipients"
                ),
            );
        }
        for (i, r) in fwd.recipients.iter().enumerate() {
            let field = format!("recipients[{i}]");
            match self.find_employee(r.trim()).await? {
                None => errors.add(
                    &field,
                    text!("pegawai tidak ditemukan", "employee not found"),
                ),
                Some(e) if !self.may_forward_to(&holder, &e).await? => errors.add(
                    &field,
                    text!(
                        "{} bukan bawahan atau anggota unit Anda",
                        "{} is not your subordinate nor in your unit",
                        e.name
                    ),
                ),
                Some(e) if recipients.contains(&e.id) => {
                    errors.add(&field, text!("penerima ganda", "duplicate recipient"))
                }
                Some(e) => recipients.push(e.id),
            }
        }
        let instruction = fwd.instruction.trim().to_lowercase();
        if !INSTRUCTIONS.contains(&instruction.as_str()) {
            errors.add(
                "instruction",
                text!(
                    "instruksi harus salah satu dari: {}",
                    "the instruction must be one of: {}",
                    INSTRUCTIONS.join(", ")
                ),
            );
        }
        match parse_date(&fwd.deadline) {
            None => errors.add(
                "deadline",
                text!(
                    "batas waktu harus tanggal YYYY-MM-DD (WIB)",
                    "the deadline must be a date YYYY-MM-DD (WIB)"
                ),
            ),
            Some(d) if d < self.org.today() => errors.add(
                "deadline",
                text!(
                    "batas waktu tidak boleh sebelum hari ini",
                    "the deadline cannot be before today"
                ),
            ),
            Some(_) => {}
        }
        errors.into_result()?;
        let deadline = fwd.deadline.trim().to_string();
        let t = self
            .modify(id, |t, now| {
                if !t.is_open() {
                    return Err(Self::not_open(t));
                }
                t.status = DispoStatus::Forwarded;
                t.recipients = recipients.clone();
                t.forward_instruction = Some(instruction.clone());
                t.forward_deadline = Some(deadline.clone());
                t.read_at.get_or_insert(now);
                t.answered_at = Some(now);
                t.delivered = false;
                Ok(true)
            })
            .await?;
        self.deliver(&t, workflows).await
    }

    /// What the workflow receives (`SendTaskSuccess` output): `AwaitHolder` reads
    /// `$.action.action`, `recipients`, `instruction`, `deadline`, `report`;
    /// `AwaitOwnReport` reads `$.final.report`.
    pub fn output(t: &DispositionTask) -> Value {
        match (t.kind, t.status) {
            (DispoKind::Disposition, DispoStatus::Forwarded) => json!({
                "action": "forward",
                "recipients": t.recipients,
                "instruction": t.forward_instruction,
                "deadline": t.forward_deadline,
                "taskId": t.id,
            }),
            (DispoKind::Disposition, _) => json!({
                "action": "complete", "report": t.report, "taskId": t.id,
            }),
            (DispoKind::DispositionReport, _) => json!({"report": t.report, "taskId": t.id}),
        }
    }

    /// Hands a recorded answer to the workflow (again, after a crash).
    pub async fn deliver(
        &self,
        t: &DispositionTask,
        workflows: &dyn Workflows,
    ) -> Result<DispositionTask, ServiceError> {
        if t.delivered || !matches!(t.status, DispoStatus::Completed | DispoStatus::Forwarded) {
            return Ok(t.clone());
        }
        match workflows
            .send_task_success(&t.task_token, Self::output(t))
            .await
        {
            Ok(()) | Err(WorkflowsError::TaskDoesNotExist) => {}
            Err(WorkflowsError::TaskTimedOut) | Err(WorkflowsError::InvalidToken) => {
                tracing::warn!(task = %t.id, "disposition answer arrived after its ask ended");
            }
            Err(e) => {
                tracing::warn!(task = %t.id, error = %e, "disposition answer recorded, hand-over deferred");
                return Ok(t.clone());
            }
        }
        self.modify(&t.id, |t, _| {
            if t.delivered {
                return Ok(false);
            }
            t.delivered = true;
            Ok(true)
        })
        .await
    }

    /// Sends every answer that was recorded but not handed over (after a crash).
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

    /// Gives an open task to another holder (admins only, e.g. when the holder left or
    /// is ill without a Plh): the new holder gets it unread, in their inbox, by mail.
    pub async fn reassign(
        &self,
        id: &str,
        admin: &Principal,
        to: &str,
        mailer: &dyn Mailer,
        base_url: &str,
    ) -> Result<DispositionTask, ServiceError> {
        admin.require(Role::Admin)?;
        let target = self
            .org
            .find_employee(to)
            .await?
            .filter(|e| e.active)
            .ok_or_else(|| {
                ServiceError::invalid(
                    "to",
                    text!("pegawai tujuan tidak ditemukan", "no such active employee"),
                )
            })?;
        let acting = self
            .org
            .acting_for(&target, self.clock.now().date())
            .await?;
        let t = self
            .modify(id, |t, _| {
                if !t.is_open() {
                    return Err(Self::not_open(t));
                }
                if t.holder_id == target.id {
                    return Ok(false);
                }
                t.holder_id = target.id.clone();
                t.holder_name = target.name.clone();
                t.acting_id = (acting.id != target.id).then(|| acting.id.clone());
                t.read_at = None;
                t.mail_sent = false;
                Ok(true)
            })
            .await?;
        tracing::info!(task = %t.id, admin = %admin.employee_id, to = %target.id, "disposition reassigned");
        self.mail_once(t, mailer, base_url).await
    }

    /// Withdraws a forward to a child whose task is still unread (its parent holder or an
    /// admin): the task is cancelled, then the child execution (and anything below it) is
    /// stopped; the parent's `Map` counts it as cancelled.
    pub async fn cancel(
        &self,
        id: &str,
        who: &Principal,
        workflows: &dyn Workflows,
    ) -> Result<DispositionTask, ServiceError> {
        let t = self.get(id).await?;
        let is_parent = t.from_id.as_deref() == Some(who.employee_id.as_str());
        if !is_parent && !who.has(Role::Admin) {
            return Err(ServiceError::Forbidden);
        }
        if t.parent_execution_id.is_none() || t.kind != DispoKind::Disposition {
            return Err(ServiceError::conflict(
                "disposition",
                text!(
                    "hanya disposisi yang diteruskan yang dapat ditarik",
                    "only a forwarded disposition can be withdrawn"
                ),
            ));
        }
        let by = who.employee_id.clone();
        let t = self
            .modify(id, |t, _| {
                if t.status == DispoStatus::Cancelled {
                    return Ok(false);
                }
                if !t.is_open() || !t.is_unread() {
                    return Err(ServiceError::conflict(
                        "disposition",
                        text!(
                            "disposisi sudah dibaca oleh penerima; tidak dapat ditarik",
                            "the recipient has already read the disposition; it cannot be withdrawn"
                        ),
                    ));
                }
                t.status = DispoStatus::Cancelled;
                t.cancelled_by = Some(by.clone());
                Ok(true)
            })
            .await?;
        match workflows
            .stop_execution(
                &t.execution_id,
                ERROR_CANCELLED,
                &format!("withdrawn by {}", who.name),
            )
            .await
        {
            Ok(()) | Err(WorkflowsError::ExecutionDoesNotExist(_)) => Ok(t),
            Err(e) => Err(ServiceError::Internal(format!("workflow unavailable: {e}"))),
        }
    }

    /// An ask timed out (the `escalate` task): its open tasks expire; the state machine
    /// asks again and `notify` creates the replacement. Safe to run twice.
    pub async fn overdue(&self, execution_id: &str) -> Result<usize, ServiceError> {
        let mut n = 0;
        for t in self.tasks_of_execution(execution_id).await? {
            if t.is_open() {
                self.modify(&t.id, |t, _| {
                    if !t.is_open() {
                        return Ok(false);
                    }
                    t.status = DispoStatus::Expired;
                    Ok(true)
                })
                .await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Mails the task's link unless that is recorded as done.
    pub async fn mail_once(
        &self,
        task: DispositionTask,
        mailer: &dyn Mailer,
        base_url: &str,
    ) -> Result<DispositionTask, ServiceError> {
        if task.mail_sent || !task.is_open() {
            return Ok(task);
        }
        let to = self.org.employee(task.inbox_owner()).await?;
        let mail = compose(&task, &to.name, to.email.as_str(), base_url);
        mailer
            .send(mail)
            .await
            .map_err(|e| ServiceError::Internal(format!("mail: {e}")))?;
        self.modify(&task.id, |t, _| {
            if t.mail_sent {
                return Ok(false);
            }
            t.mail_sent = true;
            Ok(true)
        })
        .await
    }
}

/// The task's mail: Indonesian first, English below; the link carries only the task id.
fn compose(t: &DispositionTask, to_name: &str, to: &str, base_url: &str) -> Mail {
    let link = format!("{}{}", base_url.trim_end_matches('/'), t.link_path());
    let from = t.from_name.clone().unwrap_or_else(|| "-".into());
    let instruction = t.instruction.clone().unwrap_or_else(|| "-".into());
    let deadline = t.deadline.clone().unwrap_or_else(|| "-".into());
    let (what_id, what_en) = match t.kind {
        DispoKind::Disposition => ("Disposisi", "Disposition"),
        DispoKind::DispositionReport => ("Laporan disposisi", "Disposition report"),
    };
    let subject = format!(
        "[paraf] {what_id}: {} / {what_en}",
        t.letter.subject.replace(['\r', '\n'], " ")
    );
    let text = format!(
        "Yth. {to_name},\n\n\
         {what_id} surat \"{subj}\" nomor {num} dari {sender}.\n\
         Dari: {from}\nInstruksi: {instruction}\nBatas waktu: {deadline}\n\n\
         Buka tautan berikut:\n{link}\n\n\
         ---\n\
         Dear {to_name},\n\n\
         {what_en} of the letter \"{subj}\" number {num} from {sender}.\n\
         From: {from}\nInstruction: {instruction}\nDeadline: {deadline}\n\n\
         Open this link:\n{link}\n\n(sent {sent})\n",
        subj = t.letter.subject,
        num = t.letter.number,
        sender = t.letter.sender,
        sent = waktu_wib(t.created),
    );
    Mail {
        to: vec![to.to_string()],
        subject,
        text,
        html: None,
        links: vec![link],
    }
}
