//! The notify task (`${NotifyFunctionArn}`): stores the human task of a
//! `.waitForTaskToken` state and mails its link, once.
//!
//! Run again after a crash with the same idempotency key, it finds the task it created and
//! mails only if the mail was not recorded as sent; the window between the mail leaving and
//! that record is the only place a duplicate can come from (at-least-once mail, as SES).

use std::sync::Arc;

use paraf_core::approvals::{ApprovalTask, Approvals, NewTask, TaskKind};
use paraf_core::dispositions::{DispoKind, Dispositions, NewDispositionTask};
use paraf_core::{Clock, Mailer, ServiceError, Table};
use serde_json::{json, Value};

/// Error names the workflow sees when notify fails (`States.TaskFailed` matches them all).
pub const ERROR_INVALID_PAYLOAD: &str = "Paraf.InvalidPayload";
pub const ERROR_UNSUPPORTED_KIND: &str = "Paraf.UnsupportedTaskKind";
pub const ERROR_NOTIFY_FAILED: &str = "Paraf.NotifyFailed";

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    #[error("task kind `{0}` is not handled by notify yet")]
    UnsupportedKind(String),
    #[error("storing the task failed: {0}")]
    Store(#[from] ServiceError),
    #[error("mail could not be sent: {0}")]
    Mail(#[from] paraf_core::MailerError),
}

impl NotifyError {
    /// The Lambda `errorType` / ASL error name.
    pub fn name(&self) -> &'static str {
        match self {
            NotifyError::InvalidPayload(_) => ERROR_INVALID_PAYLOAD,
            NotifyError::UnsupportedKind(_) => ERROR_UNSUPPORTED_KIND,
            NotifyError::Store(_) | NotifyError::Mail(_) => ERROR_NOTIFY_FAILED,
        }
    }
}

/// What the runtime tells a task about its invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Same for every run of one ask (also across a crash).
    pub idempotency_key: String,
    /// The task token when the runtime passes it outside the payload.
    pub task_token: Option<String>,
}

/// The notify and escalate tasks over the ports.
#[derive(Clone)]
pub struct Notifier {
    pub approvals: Approvals,
    /// The e-disposisi tasks (`disposition`, `disposition_report`).
    pub dispositions: Dispositions,
    pub mailer: Arc<dyn Mailer>,
    /// `HttpConfig.public_base_url`: links are `{base}/tasks/{id}`.
    pub base_url: String,
}

fn field<'a>(p: &'a Value, name: &str) -> Result<&'a Value, NotifyError> {
    p.get(name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| NotifyError::InvalidPayload(format!("`{name}` is missing")))
}

fn string(p: &Value, name: &str) -> Result<String, NotifyError> {
    field(p, name)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| NotifyError::InvalidPayload(format!("`{name}` is not a string")))
}

/// The token of the waiting state: in the payload (Step Functions), or handed over by the
/// runtime (the local interpreter).
fn task_token(p: &Value, inv: &Invocation) -> Result<String, NotifyError> {
    match p.get("taskToken").and_then(Value::as_str) {
        Some(t) => Ok(t.to_string()),
        None => inv
            .task_token
            .clone()
            .ok_or_else(|| NotifyError::InvalidPayload("`taskToken` is missing".into())),
    }
}

fn step_number(p: &Value) -> Result<u32, NotifyError> {
    field(p, "step")?
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| NotifyError::InvalidPayload("`step` is not a step number".into()))
}

impl Notifier {
    /// The notifier over one table: the approval and disposition services, the mailer and
    /// the public base URL of the links it mails.
    pub fn new(
        table: Arc<dyn Table>,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        base_url: String,
    ) -> Notifier {
        Notifier {
            approvals: Approvals::new(table.clone(), clock.clone()),
            dispositions: Dispositions::new(table, clock),
            mailer,
            base_url,
        }
    }

    /// The notify task: `kind` `approval_step` or `resubmit` (approval.asl.json),
    /// `disposition` or `disposition_report` (disposition.asl.json).
    pub async fn notify(&self, payload: Value, inv: Invocation) -> Result<Value, NotifyError> {
        let kind = string(&payload, "kind")?;
        if let Some(k) = DispoKind::parse(&kind) {
            return self.notify_disposition(k, payload, inv).await;
        }
        if kind == paraf_core::signing::NOTIFY_KIND_STUCK {
            return self.sign_stuck(payload, inv).await;
        }
        let kind = match TaskKind::parse(&kind) {
            Some(k) => k,
            None => return Err(NotifyError::UnsupportedKind(kind)),
        };
        let task_token = task_token(&payload, &inv)?;
        let execution_id = string(&payload, "executionId")?;
        let step = step_number(&payload)?;
        let request = field(&payload, "request")?.clone();
        let (assignee, action, requester) = match kind {
            TaskKind::ApprovalStep => (
                string(&payload, "assignee")?,
                string(&payload, "action")?,
                string(&payload, "requester")?,
            ),
            TaskKind::Resubmit => {
                let requester = string(&payload, "assignee")?;
                (requester.clone(), "resubmit".to_string(), requester)
            }
        };
        let (task, _) = self
            .approvals
            .create(NewTask {
                idempotency_key: inv.idempotency_key,
                task_token,
                kind,
                execution_id,
                step,
                action,
                assignee_id: assignee,
                requester_id: requester,
                request,
            })
            .await?;
        let task = self.mail_once(task).await?;
        Ok(json!({"taskId": task.id, "mailSent": task.mail_sent}))
    }

    /// A disposition ask: stores the holder's task and mails its link, once.
    async fn notify_disposition(
        &self,
        kind: DispoKind,
        payload: Value,
        inv: Invocation,
    ) -> Result<Value, NotifyError> {
        let task_token = task_token(&payload, &inv)?;
        let execution_id = string(&payload, "executionId")?;
        string(&payload, "holder")?;
        field(&payload, "letter")?;
        let (task, _) = self
            .dispositions
            .create(NewDispositionTask {
                idempotency_key: inv.idempotency_key,
                task_token,
                kind,
                execution_id,
                payload,
            })
            .await?;
        let task = self
            .dispositions
            .mail_once(task, self.mailer.as_ref(), &self.base_url)
            .await?;
        Ok(json!({"taskId": task.id, "mailSent": task.mail_sent}))
    }

    /// A sign step whose automatic retries are exhausted (`SigningStuck` in
    /// approval.asl.json): recorded as stuck with the workflow's token, logged, and the
    /// administrators mailed once; the workflow waits until one of them asks for a retry.
    async fn sign_stuck(&self, payload: Value, inv: Invocation) -> Result<Value, NotifyError> {
        let task_token = task_token(&payload, &inv)?;
        string(&payload, "executionId")?;
        let failure = field(&payload, "failure")?;
        let error = failure
            .get("Error")
            .and_then(Value::as_str)
            .unwrap_or("States.TaskFailed")
            .to_string();
        let cause = failure
            .get("Cause")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let step = crate::travel::sign_step_of(&payload);
        let (table, clock) = self.approvals.org().parts();
        let signing = paraf_core::signing::SignSteps::new(table.clone(), clock.clone());
        let travel = paraf_core::travel::Travel::new(table, clock);
        let (title, link) = crate::travel::step_subject(&travel, &step, &payload).await;
        let failure = paraf_core::signing::Failure {
            step,
            title,
            link,
            reason: paraf_core::signing::reason_for(&error),
            error,
        };
        let stuck = signing.stuck(failure, Some(task_token), &cause).await?;
        if !stuck.admins_mailed && signing.mark_mailed(&stuck.id).await? {
            self.mail_admins(&stuck).await;
        }
        Ok(json!({"step": stuck.id, "state": stuck.state.as_str()}))
    }

    /// Tells every active administrator that a sign step waits for them (a failed mail
    /// is logged: the step is listed on the administrators' page either way).
    async fn mail_admins(&self, s: &paraf_core::signing::SignStep) {
        let mut admins = Vec::new();
        let mut cursor = None;
        loop {
            match self.approvals.org().employees(None, 200, cursor).await {
                Ok((page, next)) => {
                    admins.extend(
                        page.into_iter()
                            .filter(|e| e.active && e.has_role(paraf_core::Role::Admin)),
                    );
                    match next {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "administrators could not be listed for a stuck sign step");
                    return;
                }
            }
        }
        let link = format!(
            "{}/admin/penandatanganan",
            self.base_url.trim_end_matches('/')
        );
        let text = format!(
            "Penandatanganan dokumen gagal dan menunggu tindakan admin.\n\n\
             Dokumen: {title}\nAlasan: {reason_id}\nPercobaan: {attempts}\n\n\
             Perbaiki penyebabnya, lalu minta penandatanganan diulang di:\n{link}\n\n\
             ---\n\
             Signing failed and waits for an administrator.\n\n\
             Documents: {title}\nReason: {reason_en}\nAttempts: {attempts}\n\n\
             Fix the cause, then ask for the signing to run again at:\n{link}\n",
            title = s.title,
            reason_id = s.reason.id,
            reason_en = s.reason.en,
            attempts = s.attempts,
        );
        for admin in admins {
            let mail = paraf_core::Mail {
                to: vec![admin.email.to_string()],
                subject: format!(
                    "[paraf] Penandatanganan gagal / Signing failed: {}",
                    s.title.chars().take(80).collect::<String>()
                ),
                text: text.clone(),
                html: None,
                links: vec![link.clone()],
            };
            if let Err(e) = self.mailer.send(mail).await {
                tracing::warn!(to = %admin.email, error = %e, "mail about a stuck sign step failed");
            }
        }
    }

    /// Mails the task's link unless that is recorded as done.
    pub async fn mail_once(&self, task: ApprovalTask) -> Result<ApprovalTask, NotifyError> {
        Ok(self
            .approvals
            .mail_once(task, self.mailer.as_ref(), &self.base_url)
            .await?)
    }

    /// The escalate task (`${EscalateFunctionArn}`), kinds `approval_step_overdue` and
    /// `resubmit_overdue`: records a reminder or an escalation in the task's history; the
    /// state machine then asks again and notify mails the reminder or the supervisor.
    pub async fn escalate(&self, payload: Value) -> Result<Value, NotifyError> {
        let kind = string(&payload, "kind")?;
        let execution_id = string(&payload, "executionId")?;
        let reason = payload
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("States.Timeout")
            .to_string();
        let (task_kind, step) = match kind.as_str() {
            "disposition_overdue" | "disposition_report_overdue" => {
                // The state machine asks again; this ask's task makes way for the new one.
                let n = self.dispositions.overdue(&execution_id).await?;
                return Ok(json!({"outcome": "reminder", "replaced": n}));
            }
            "approval_step_overdue" => {
                let step = field(&payload, "step")?;
                (TaskKind::ApprovalStep, step_number(step)?)
            }
            "resubmit_overdue" => {
                // The payload does not name the step: the open resubmit task is the one.
                let tasks = self.approvals.tasks_of_execution(&execution_id).await?;
                let step = tasks
                    .iter()
                    .rev()
                    .find(|t| t.kind == TaskKind::Resubmit && t.is_open())
                    .map(|t| t.step);
                match step {
                    Some(s) => (TaskKind::Resubmit, s),
                    None => return Ok(json!({"outcome": "nothing"})),
                }
            }
            other => return Err(NotifyError::UnsupportedKind(other.to_string())),
        };
        let r = self
            .approvals
            .overdue(&execution_id, step, task_kind, &reason)
            .await?;
        Ok(match r {
            paraf_core::approvals::Overdue::Reminded(t) => {
                json!({"outcome": "reminder", "taskId": t.id})
            }
            paraf_core::approvals::Overdue::Escalated(t, to) => {
                json!({"outcome": "escalated", "taskId": t.id, "to": to.id})
            }
            paraf_core::approvals::Overdue::Nothing => json!({"outcome": "nothing"}),
        })
    }
}
