//! Failed sign steps: signing that could not finish is never a silent hang.
//!
//! A *sign step* is the work that renders, signs and archives a record's documents: the
//! approval workflow's `Sign` task (a travel order's SPT and SPPDs), or the settlement of
//! a travel order after the PPK's acceptance. When an attempt fails, the step is recorded
//! here ([`SignSteps::failed`]) with its reason in both languages, and logged with its
//! cause:
//!
//! ```text
//!   attempt fails ──▶ retrying ──(automatic retries, ASL `Retry`)──▶ attempt succeeds ──▶ resolved
//!                        │ retries exhausted                               ▲
//!                        ▼                                                 │
//!                      stuck ──(an admin asks again: decide-once)──▶ retrying
//! ```
//!
//! A stuck step waits for an administrator: the approval workflow waits on a task token
//! stored with the step (`SigningStuck` in `workflows/approval.asl.json`); the admin's
//! "retry" ([`SignSteps::retry`]) hands that token back and the workflow signs again. A
//! step without a token (settlement, signed by the service itself) is run again by the
//! caller of [`SignSteps::retry`]. The record (and the order page) shows the state and the
//! reason; admins list every open step ([`SignSteps::open`]).
//!
//! Layout: pk `SIGNSTEP#<service>#<subject>`, sk `<stage>`; open steps (retrying or stuck)
//! are also in the sparse index `gsi1pk = SIGNSTEPS#OPEN`, by first failure.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::auth::Principal;
use crate::error::{ServiceError, Text};
use crate::org::Role;
use crate::ports::clock::Clock;
use crate::ports::table::{Condition, Index, Item, Key, Query, Table, TableError};
use crate::record;
use crate::text;

/// Error name of a sign task whose input cannot be signed (no retry helps; an admin may
/// fix the cause and retry): the ASL's `Catch` may name it.
pub const ERROR_SIGN_INVALID: &str = "Paraf.SignInvalid";
/// Error name of a sign task that failed for a reason worth retrying (signer, store or
/// time-stamping authority unavailable): the ASL's `Retry` names it.
pub const ERROR_SIGN_UNAVAILABLE: &str = "Paraf.SignUnavailable";
/// The `kind` of the notify payload that reports a sign step stuck.
pub const NOTIFY_KIND_STUCK: &str = "sign_stuck";
/// The answer that sends a stuck workflow back to signing.
pub const RETRY_DECISION: &str = "retry";

const OPEN: &str = "SIGNSTEPS#OPEN";
const KIND: &str = "sign_step";
/// How often a read-change-write runs again after losing a race.
const ATTEMPTS: usize = 20;
/// History entries kept per step (the oldest go first).
const MAX_HISTORY: usize = 50;

/// Where a sign step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = SignStepState))]
pub enum StepState {
    /// An attempt failed; it is being tried again (automatically, or at an admin's request).
    Retrying,
    /// Automatic retries are exhausted: it waits for an administrator.
    Stuck,
    /// It finished after having failed.
    Resolved,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Retrying => "retrying",
            StepState::Stuck => "stuck",
            StepState::Resolved => "resolved",
        }
    }
    pub fn label(self) -> Text {
        match self {
            StepState::Retrying => text!(
                "penandatanganan gagal, sedang dicoba ulang",
                "signing failed, being retried"
            ),
            StepState::Stuck => text!(
                "penandatanganan gagal, menunggu tindakan admin",
                "signing failed, waiting for an administrator"
            ),
            StepState::Resolved => text!(
                "penandatanganan selesai setelah dicoba ulang",
                "signing finished after a retry"
            ),
        }
    }
}

/// Which sign step: the service, the record it signs for, and the stage of that record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StepRef {
    /// e.g. `sppd`.
    pub service: String,
    /// The record, e.g. the order id.
    pub subject: String,
    /// e.g. `approval`, `settlement`.
    pub stage: String,
}

impl StepRef {
    pub fn new(service: &str, subject: &str, stage: &str) -> Self {
        StepRef {
            service: service.to_string(),
            subject: subject.to_string(),
            stage: stage.to_string(),
        }
    }
    /// `service-subject-stage`: the id in links and the API.
    pub fn id(&self) -> String {
        format!("{}-{}-{}", self.service, self.subject, self.stage)
    }
    /// The step named by an id (`None` when it cannot be one).
    pub fn parse(id: &str) -> Option<StepRef> {
        let mut parts = id.splitn(3, '-');
        let (service, subject, stage) = (parts.next()?, parts.next()?, parts.next()?);
        let r = StepRef::new(service, subject, stage);
        r.valid().then_some(r)
    }
    fn valid(&self) -> bool {
        [&self.service, &self.subject, &self.stage]
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    }
    fn key(&self) -> Key {
        Key::new(
            format!("SIGNSTEP#{}#{}", self.service, self.subject),
            self.stage.clone(),
        )
    }
}

/// One event of a step's history (the same record a task's history keeps).
pub type StepEvent = crate::approvals::HistoryEntry;

/// A sign step that failed at least once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignStep {
    pub id: String,
    pub service: String,
    pub subject: String,
    pub stage: String,
    /// What is being signed, for lists (e.g. the order's subject).
    pub title: String,
    /// The record's page, e.g. `/sppd/<id>`.
    pub link: Option<String>,
    pub state: StepState,
    /// The last error's name (`Paraf.SignUnavailable`, `States.Timeout`, …).
    pub error: String,
    /// Why the last attempt failed, for people.
    pub reason: Text,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The workflow's task token while it waits for an administrator. Never shown.
    #[serde(default)]
    pub task_token: Option<String>,
    /// Admins were mailed about the current stuck episode.
    #[serde(default)]
    pub admins_mailed: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub first_failed: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_failed: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resolved: Option<OffsetDateTime>,
    pub history: Vec<StepEvent>,
    pub version: i64,
}

impl SignStep {
    pub fn is_open(&self) -> bool {
        self.state != StepState::Resolved
    }
    fn step_ref(&self) -> StepRef {
        StepRef::new(&self.service, &self.subject, &self.stage)
    }
    fn push(&mut self, at: OffsetDateTime, event: &str, actor: Option<&str>, text: Text) {
        self.history.push(StepEvent {
            at,
            event: event.into(),
            actor: actor.map(str::to_string),
            text,
        });
        if self.history.len() > MAX_HISTORY {
            let extra = self.history.len() - MAX_HISTORY;
            self.history.drain(..extra);
        }
    }
}

/// Why a step failed, for people, from the error name alone (when the signer could not
/// say more: a timeout, a crash of the function).
pub fn reason_for(error: &str) -> Text {
    match error {
        ERROR_SIGN_UNAVAILABLE => text!(
            "layanan kunci tanda tangan, penyimpanan arsip atau penyedia cap waktu (TSA) tidak dapat dihubungi",
            "the signing keys, the archive store or the time-stamping authority (TSA) could not be reached"
        ),
        ERROR_SIGN_INVALID => text!(
            "dokumen tidak dapat ditandatangani dengan data yang ada",
            "the documents cannot be signed with the data as it is"
        ),
        "States.Timeout" => text!(
            "penandatanganan melebihi batas waktu",
            "signing took longer than allowed"
        ),
        _ => text!(
            "penandatanganan gagal karena kesalahan sistem; rinciannya ada di log server",
            "signing failed with a system error; the details are in the server log"
        ),
    }
}

/// A failed attempt, as the signer reports it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub step: StepRef,
    pub title: String,
    pub link: Option<String>,
    /// The error's name.
    pub error: String,
    pub reason: Text,
}

fn to_item(s: &SignStep) -> Result<Item, ServiceError> {
    let mut it = record::to_item(s, &s.step_ref().key(), KIND)?;
    if s.is_open() {
        it.insert("gsi1pk".into(), json!(OPEN));
        it.insert(
            "gsi1sk".into(),
            json!(format!("{:016}#{}", record::ms(s.first_failed), s.id)),
        );
    }
    Ok(it)
}

/// A step recorded for the first time (no attempt counted yet).
fn fresh(f: &Failure, now: OffsetDateTime) -> SignStep {
    SignStep {
        id: f.step.id(),
        service: f.step.service.clone(),
        subject: f.step.subject.clone(),
        stage: f.step.stage.clone(),
        title: f.title.chars().take(200).collect(),
        link: f.link.clone(),
        state: StepState::Retrying,
        error: f.error.clone(),
        reason: f.reason.clone(),
        attempts: 0,
        task_token: None,
        admins_mailed: false,
        first_failed: now,
        last_failed: now,
        resolved: None,
        history: Vec::new(),
        version: 0,
    }
}

/// The failed sign steps. Cheap to clone.
#[derive(Clone)]
pub struct SignSteps {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
}

impl SignSteps {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        SignSteps { table, clock }
    }

    async fn find(&self, r: &StepRef) -> Result<Option<SignStep>, ServiceError> {
        if !r.valid() {
            return Ok(None);
        }
        match self.table.get(&r.key()).await? {
            Some(it) => record::from_item(it, KIND).map(Some),
            None => Ok(None),
        }
    }

    /// A step by its id.
    pub async fn get(&self, id: &str) -> Result<SignStep, ServiceError> {
        let r = StepRef::parse(id).ok_or(ServiceError::NotFound("sign step"))?;
        self.find(&r)
            .await?
            .ok_or(ServiceError::NotFound("sign step"))
    }

    /// Reads the step, lets `change` alter it (or `None` to leave it), writes it back
    /// conditional on the version read; runs again on a newer record after a lost race.
    async fn change(
        &self,
        r: &StepRef,
        change: impl Fn(Option<SignStep>, OffsetDateTime) -> Result<Option<SignStep>, ServiceError>,
    ) -> Result<Option<SignStep>, ServiceError> {
        if !r.valid() {
            return Err(ServiceError::Internal(format!(
                "invalid sign step {}",
                r.id()
            )));
        }
        for _ in 0..ATTEMPTS {
            let old = self.find(r).await?;
            let cond = match &old {
                Some(s) => Condition::version(s.version),
                None => Condition::absent(),
            };
            let old_version = old.as_ref().map(|s| s.version).unwrap_or(0);
            let Some(mut new) = change(old, self.clock.now())? else {
                return Ok(None);
            };
            new.version = old_version + 1;
            match self.table.put(to_item(&new)?, Some(cond)).await {
                Ok(()) => return Ok(Some(new)),
                Err(TableError::ConditionFailed { .. } | TableError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Stale)
    }

    /// Records a failed attempt: the step is retrying (or stuck when `stuck`), with the
    /// reason. Logged with its cause.
    pub async fn failed(
        &self,
        f: Failure,
        cause: &str,
        stuck: bool,
    ) -> Result<SignStep, ServiceError> {
        if stuck {
            tracing::error!(step = %f.step.id(), error = %f.error, cause = %cause, "sign step failed and is stuck: waiting for an administrator");
        } else {
            tracing::warn!(step = %f.step.id(), error = %f.error, cause = %cause, "sign step failed; it is retried");
        }
        let state = if stuck {
            StepState::Stuck
        } else {
            StepState::Retrying
        };
        let out = self
            .change(&f.step, |old, now| {
                let mut s = old.unwrap_or_else(|| fresh(&f, now));
                if s.state == StepState::Resolved {
                    // Failing again after it had finished: a new episode.
                    s.first_failed = now;
                    s.resolved = None;
                    s.attempts = 0;
                }
                s.title = f.title.chars().take(200).collect();
                s.link = f.link.clone();
                s.state = state;
                s.error = f.error.clone();
                s.reason = f.reason.clone();
                s.attempts += 1;
                s.last_failed = now;
                s.task_token = None;
                if stuck {
                    s.admins_mailed = false;
                }
                let n = s.attempts;
                s.push(
                    now,
                    "failed",
                    None,
                    Text::new(
                        format!("percobaan {n} gagal: {}", f.reason.id),
                        format!("attempt {n} failed: {}", f.reason.en),
                    ),
                );
                Ok(Some(s))
            })
            .await?;
        out.ok_or(ServiceError::Stale)
    }

    /// Automatic retries are exhausted: the step waits for an administrator, who gives
    /// `token` back to the workflow (none: the caller signs again itself). A failure the
    /// signer did not record itself (a timeout, a crash) is recorded with `f.reason`.
    pub async fn stuck(
        &self,
        f: Failure,
        token: Option<String>,
        cause: &str,
    ) -> Result<SignStep, ServiceError> {
        tracing::error!(step = %f.step.id(), error = %f.error, cause = %cause, "sign step stuck: waiting for an administrator");
        let out = self
            .change(&f.step, |old, now| {
                let mut s = old.unwrap_or_else(|| fresh(&f, now));
                if s.state == StepState::Stuck && s.task_token == token {
                    return Ok(None);
                }
                if s.state == StepState::Resolved {
                    // Failing again after it had finished: a new episode.
                    s.first_failed = now;
                    s.resolved = None;
                    s.attempts = 0;
                }
                if s.attempts == 0 || s.error != f.error {
                    // The signer did not record this failure (a timeout, a crash): what
                    // the workflow reports is all we know.
                    s.attempts += 1;
                    s.error = f.error.clone();
                    s.reason = f.reason.clone();
                    s.last_failed = now;
                }
                s.title = f.title.chars().take(200).collect();
                s.link = f.link.clone();
                s.state = StepState::Stuck;
                s.task_token = token.clone();
                s.admins_mailed = false;
                let reason = s.reason.clone();
                s.push(
                    now,
                    "stuck",
                    None,
                    Text::new(
                        format!("menunggu admin: {}", reason.id),
                        format!("waiting for an administrator: {}", reason.en),
                    ),
                );
                Ok(Some(s))
            })
            .await?;
        match out {
            Some(s) => Ok(s),
            None => self.get(&f.step.id()).await,
        }
    }

    /// The step finished: resolved, if it had failed (`None` when it never had).
    pub async fn resolved(&self, r: &StepRef) -> Result<Option<SignStep>, ServiceError> {
        if self.find(r).await?.is_none_or(|s| !s.is_open()) {
            return Ok(None);
        }
        let out = self
            .change(r, |old, now| {
                let Some(mut s) = old.filter(SignStep::is_open) else {
                    return Ok(None);
                };
                s.state = StepState::Resolved;
                s.resolved = Some(now);
                s.task_token = None;
                s.push(
                    now,
                    "resolved",
                    None,
                    text!(
                        "dokumen ditandatangani dan diarsipkan",
                        "documents signed and archived"
                    ),
                );
                Ok(Some(s))
            })
            .await?;
        if let Some(s) = &out {
            tracing::info!(step = %s.id, attempts = s.attempts, "sign step resolved after failing");
        }
        Ok(out)
    }

    /// An administrator asks a stuck step to run again: decided once (a second request,
    /// or a step that is not stuck, is 409 and changes nothing). Returns the step as it
    /// was taken, with the token to hand back to its workflow (none: the caller signs).
    pub async fn retry(&self, id: &str, who: &Principal) -> Result<SignStep, ServiceError> {
        who.require(Role::Admin)?;
        let seen = self.get(id).await?;
        let r = seen.step_ref();
        let taken = std::sync::Mutex::new(None);
        self.change(&r, |old, now| {
            let Some(mut s) = old else {
                return Err(ServiceError::NotFound("sign step"));
            };
            match s.state {
                StepState::Stuck if s.version == seen.version => {}
                StepState::Stuck | StepState::Retrying => {
                    return Err(ServiceError::already_decided())
                }
                StepState::Resolved => {
                    return Err(ServiceError::conflict(
                        "status",
                        text!(
                            "penandatanganan ini sudah selesai",
                            "this signing has already finished"
                        ),
                    ))
                }
            }
            if let Ok(mut t) = taken.lock() {
                *t = Some(s.clone());
            }
            s.state = StepState::Retrying;
            s.task_token = None;
            s.push(
                now,
                "retry",
                Some(&who.employee_id),
                text!(
                    "{} meminta penandatanganan diulang",
                    "{} asked for the signing to run again",
                    who.name
                ),
            );
            Ok(Some(s))
        })
        .await?;
        tracing::info!(step = %id, admin = %who.employee_id, "sign step retried by an administrator");
        taken.into_inner().ok().flatten().ok_or(ServiceError::Stale)
    }

    /// Records that the admins were mailed about the current stuck episode; `false` when
    /// someone recorded it first (then they mailed).
    pub async fn mark_mailed(&self, id: &str) -> Result<bool, ServiceError> {
        let r = StepRef::parse(id).ok_or(ServiceError::NotFound("sign step"))?;
        Ok(self
            .change(&r, |old, _now| {
                Ok(old
                    .filter(|s| s.state == StepState::Stuck && !s.admins_mailed)
                    .map(|mut s| {
                        s.admins_mailed = true;
                        s
                    }))
            })
            .await?
            .is_some())
    }

    /// Every open step (retrying or stuck), oldest failure first (admins).
    pub async fn open(&self, who: &Principal) -> Result<Vec<SignStep>, ServiceError> {
        who.require(Role::Admin)?;
        record::collect(
            self.table.as_ref(),
            Query::partition(Index::Gsi1, OPEN),
            KIND,
        )
        .await
    }

    /// The steps of one record (any state).
    pub async fn of_subject(
        &self,
        service: &str,
        subject: &str,
    ) -> Result<Vec<SignStep>, ServiceError> {
        if !StepRef::new(service, subject, "x").valid() {
            return Ok(Vec::new());
        }
        record::collect(
            self.table.as_ref(),
            Query::partition(Index::Primary, format!("SIGNSTEP#{service}#{subject}")),
            KIND,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryTable;
    use crate::org::Role;
    use crate::ports::clock::SystemClock;

    fn steps() -> SignSteps {
        SignSteps::new(Arc::new(MemoryTable::new()), Arc::new(SystemClock))
    }

    fn admin(name: &str) -> Principal {
        Principal {
            employee_id: format!("emp{name}"),
            nip: "198503122010011003".into(),
            name: name.into(),
            email: format!("{name}@contoh.go.id"),
            roles: [Role::Staff, Role::Admin].into(),
        }
    }

    fn failure(reason: &str) -> Failure {
        Failure {
            step: StepRef::new("sppd", "order1", "approval"),
            title: "Perjalanan dinas ke Jakarta".into(),
            link: Some("/sppd/order1".into()),
            error: "Paraf.SignUnavailable".into(),
            reason: Text::new(reason, reason),
        }
    }

    #[tokio::test]
    async fn a_failed_attempt_is_recorded_and_listed_until_it_resolves() {
        let s = steps();
        let a = s
            .failed(failure("TSA"), "tsa down", false)
            .await
            .expect("recorded");
        assert_eq!((a.state, a.attempts), (StepState::Retrying, 1));
        let b = s
            .failed(failure("TSA lagi"), "tsa down", false)
            .await
            .expect("again");
        assert_eq!((b.attempts, b.reason.id.as_str()), (2, "TSA lagi"));
        assert_eq!(s.open(&admin("A")).await.expect("open").len(), 1);
        let done = s
            .resolved(&StepRef::new("sppd", "order1", "approval"))
            .await
            .expect("resolved")
            .expect("it had failed");
        assert_eq!(done.state, StepState::Resolved);
        assert!(s.open(&admin("A")).await.expect("open").is_empty());
        // Resolving what never failed records nothing.
        let none = s
            .resolved(&StepRef::new("sppd", "order2", "approval"))
            .await
            .expect("nothing");
        assert!(none.is_none());
        assert!(s
            .of_subject("sppd", "order2")
            .await
            .expect("none")
            .is_empty());
    }

    #[tokio::test]
    async fn a_stuck_step_is_retried_once_however_many_admins_ask() {
        let s = steps();
        s.failed(failure("TSA"), "tsa down", false)
            .await
            .expect("failed");
        let stuck = s
            .stuck(failure("TSA"), Some("token-1".into()), "retries exhausted")
            .await
            .expect("stuck");
        assert_eq!(stuck.state, StepState::Stuck);
        assert_eq!(stuck.reason.id, "TSA", "the signer's own reason stays");
        let mut tries = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            let id = stuck.id.clone();
            tries.push(tokio::spawn(async move {
                s.retry(&id, &admin(&i.to_string())).await
            }));
        }
        let mut won = Vec::new();
        for t in tries {
            match t.await.expect("joined") {
                Ok(taken) => won.push(taken),
                Err(e) => assert_eq!(e, ServiceError::already_decided()),
            }
        }
        assert_eq!(won.len(), 1, "exactly one retry");
        assert_eq!(won[0].task_token.as_deref(), Some("token-1"));
        let now = s.get(&stuck.id).await.expect("step");
        assert_eq!(now.state, StepState::Retrying);
        assert_eq!(now.task_token, None, "the token was handed out once");
        assert_eq!(now.history.iter().filter(|e| e.event == "retry").count(), 1);
    }

    #[tokio::test]
    async fn only_admins_retry_or_list_and_a_finished_step_is_not_retried() {
        let s = steps();
        let stuck = s
            .stuck(
                failure("penanda tangan tidak aktif"),
                None,
                "unknown employee",
            )
            .await
            .expect("stuck");
        assert_eq!(stuck.attempts, 1);
        let staff = Principal {
            roles: [Role::Staff].into(),
            ..admin("B")
        };
        assert_eq!(
            s.retry(&stuck.id, &staff).await.expect_err("staff"),
            ServiceError::Forbidden
        );
        assert_eq!(
            s.open(&staff).await.expect_err("staff"),
            ServiceError::Forbidden
        );
        s.resolved(&StepRef::new("sppd", "order1", "approval"))
            .await
            .expect("resolved");
        assert!(matches!(
            s.retry(&stuck.id, &admin("A")).await,
            Err(ServiceError::Conflict { .. })
        ));
        assert!(matches!(
            s.retry("sppd-nothing-here", &admin("A")).await,
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            s.get("../etc").await,
            Err(ServiceError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn admins_are_mailed_once_per_stuck_episode() {
        let s = steps();
        let stuck = s
            .stuck(failure("TSA"), Some("t1".into()), "x")
            .await
            .expect("stuck");
        assert!(s.mark_mailed(&stuck.id).await.expect("first"));
        assert!(!s.mark_mailed(&stuck.id).await.expect("second"));
        s.retry(&stuck.id, &admin("A")).await.expect("retry");
        s.failed(failure("TSA"), "x", false).await.expect("failed");
        s.stuck(failure("TSA"), Some("t2".into()), "x")
            .await
            .expect("stuck again");
        assert!(s.mark_mailed(&stuck.id).await.expect("new episode"));
    }
}
