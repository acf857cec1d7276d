//! [`SfnWorkflows`]: the [`Workflows`] port on AWS Step Functions (Standard workflows).
//!
//! Workflows are addressed by name (`approval`, `disposition`), mapped to the state
//! machine ARNs the deployment created; a full ARN (`arn:` prefix) is taken as it is.
//! Execution ids are execution ARNs.
//!
//! Guarantees, as the port requires:
//! - `start_execution` always names the execution. A name already used with the same
//!   input (compared as JSON values) returns that execution's ARN, whether it still runs
//!   or not — Step Functions itself is idempotent only while the execution runs, so on
//!   `ExecutionAlreadyExists` the adapter describes
//!   `arn:aws:states:R:A:execution:MACHINE:NAME` and compares the inputs. Another input
//!   is [`WorkflowsError::ExecutionAlreadyExists`].
//! - Step Functions' own error names map one to one: `ExecutionDoesNotExist`,
//!   `StateMachineDoesNotExist` (also `StateMachineDeleting`), `TaskDoesNotExist`,
//!   `TaskTimedOut` (what Step Functions answers for a token whose task has closed —
//!   answered, stopped or timed out), `InvalidToken`. A malformed ARN (`InvalidArn`)
//!   names nothing that exists: `StateMachineDoesNotExist` or `ExecutionDoesNotExist`.
//! - Throttling, network and service failures, and request errors the port has no name
//!   for (`InvalidName`, `InvalidExecutionInput` over 256 KiB, `ValidationException`), are
//!   [`WorkflowsError::Unavailable`] carrying the Step Functions error code.
//!
//! History events keep Step Functions' type names (`TaskScheduled`, `TaskStateEntered`…)
//! and ids; `details` uses the field names the local interpreter writes, so one caller
//! reads both: `name`, `input`, `output`, `parameters` (JSON values, parsed from the JSON
//! text Step Functions returns), `resource` (the full `arn:aws:states:::lambda:invoke…`
//! as written in the definition), and for failures both `error`/`cause` (Step Functions'
//! names) and `Error`/`Cause` (the local interpreter's). A waiting task's token is at
//! `details.parameters.Payload.taskToken` of its `TaskScheduled` event. The history is
//! read to its end, page by page.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::primitives::DateTime;
use aws_sdk_sfn::types::{self as sfn, HistoryEventType};
use paraf_core::{ExecutionDescription, ExecutionStatus, HistoryEvent, Workflows, WorkflowsError};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Step Functions behind the [`Workflows`] port.
#[derive(Clone, Debug)]
pub struct SfnWorkflows {
    client: aws_sdk_sfn::Client,
    /// Workflow name → state machine ARN.
    machines: BTreeMap<String, String>,
}

/// What a failed call was about, to name the missing thing in the port's error.
enum Subject<'a> {
    Machine(&'a str),
    Execution(&'a str),
    Token,
}

impl SfnWorkflows {
    /// `machines` maps workflow names (`approval`, `disposition`) to state machine ARNs.
    pub fn new(client: aws_sdk_sfn::Client, machines: BTreeMap<String, String>) -> Self {
        SfnWorkflows { client, machines }
    }

    /// The ARN a workflow name (or an ARN, returned as it is) starts executions of.
    pub fn state_machine_arn<'a>(&'a self, state_machine: &'a str) -> Option<&'a str> {
        if state_machine.starts_with("arn:") {
            return Some(state_machine);
        }
        self.machines.get(state_machine).map(String::as_str)
    }

    /// The workflow name of a state machine ARN, when it is one of ours.
    fn machine_name(&self, arn: &str) -> String {
        self.machines
            .iter()
            .find(|(_, a)| a.as_str() == arn)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| arn.to_string())
    }

    /// On `ExecutionAlreadyExists`: the existing execution's ARN when its input is
    /// `input`, `None` when it differs or cannot be described.
    async fn same_execution(
        &self,
        machine_arn: &str,
        name: &str,
        input: &Value,
    ) -> Result<Option<String>, WorkflowsError> {
        let Some(arn) = execution_arn(machine_arn, name) else {
            return Ok(None);
        };
        match self.describe_execution(&arn).await {
            Ok(d) if d.input == *input => Ok(Some(arn)),
            Ok(_) | Err(WorkflowsError::ExecutionDoesNotExist(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `arn:aws:states:R:A:stateMachine:M` → `arn:aws:states:R:A:execution:M:NAME`; `None`
/// for a version or alias ARN, whose executions are named after the machine differently.
fn execution_arn(machine_arn: &str, name: &str) -> Option<String> {
    let parts: Vec<&str> = machine_arn.split(':').collect();
    match parts.as_slice() {
        [arn, partition, service, region, account, "stateMachine", machine] => Some(format!(
            "{arn}:{partition}:{service}:{region}:{account}:execution:{machine}:{name}"
        )),
        _ => None,
    }
}

fn map_err<E, R>(err: SdkError<E, R>, subject: Subject<'_>) -> WorkflowsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().map(str::to_string);
    match (code.as_deref(), subject) {
        (Some("TaskDoesNotExist"), _) => WorkflowsError::TaskDoesNotExist,
        (Some("TaskTimedOut"), _) => WorkflowsError::TaskTimedOut,
        (Some("InvalidToken"), _) => WorkflowsError::InvalidToken,
        (Some("ExecutionDoesNotExist" | "InvalidArn"), Subject::Execution(id)) => {
            WorkflowsError::ExecutionDoesNotExist(id.to_string())
        }
        (
            Some("StateMachineDoesNotExist" | "StateMachineDeleting" | "InvalidArn"),
            Subject::Machine(m),
        ) => WorkflowsError::StateMachineDoesNotExist(m.to_string()),
        (Some("ExecutionAlreadyExists"), _) => {
            WorkflowsError::ExecutionAlreadyExists(err.message().unwrap_or_default().to_string())
        }
        (code, _) => WorkflowsError::Unavailable(format!(
            "{}: {}",
            code.unwrap_or("no error code"),
            DisplayErrorContext(&err)
        )),
    }
}

fn timestamp(t: &DateTime) -> OffsetDateTime {
    // Step Functions times are milliseconds after 1970: always in range.
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Step Functions hands inputs and outputs over as JSON text. moto returns a bare string
/// output unquoted (docs/testing.md); as text it keeps its meaning.
fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn status(s: &sfn::ExecutionStatus) -> Result<ExecutionStatus, WorkflowsError> {
    Ok(match s {
        // PENDING_REDRIVE: a redrive was requested and the execution is about to run again.
        sfn::ExecutionStatus::Running | sfn::ExecutionStatus::PendingRedrive => {
            ExecutionStatus::Running
        }
        sfn::ExecutionStatus::Succeeded => ExecutionStatus::Succeeded,
        sfn::ExecutionStatus::Failed => ExecutionStatus::Failed,
        sfn::ExecutionStatus::TimedOut => ExecutionStatus::TimedOut,
        sfn::ExecutionStatus::Aborted => ExecutionStatus::Aborted,
        other => {
            return Err(WorkflowsError::Unavailable(format!(
                "unknown execution status {}",
                other.as_str()
            )))
        }
    })
}

/// Builds an event's `details` object.
#[derive(Default)]
struct Details(Map<String, Value>);

impl Details {
    fn text(&mut self, key: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::String(v.to_string()));
        }
        self
    }
    fn json(&mut self, key: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.0.insert(key.into(), json_text(v));
        }
        self
    }
    fn num(&mut self, key: &str, v: Option<i64>) -> &mut Self {
        if let Some(v) = v {
            self.0.insert(key.into(), Value::from(v));
        }
        self
    }
    /// The state's `Resource` as written in the definition (the local interpreter's
    /// `resource`), and Step Functions' split parts.
    fn resource(&mut self, resource_type: &str, resource: &str) -> &mut Self {
        self.0.insert(
            "resource".into(),
            Value::String(format!("arn:aws:states:::{resource_type}:{resource}")),
        );
        self.text("resourceType", Some(resource_type))
    }
    /// Both spellings: Step Functions' `error`/`cause`, the interpreter's `Error`/`Cause`.
    fn failure(&mut self, error: Option<&str>, cause: Option<&str>) -> &mut Self {
        self.text("error", error)
            .text("cause", cause)
            .text("Error", error)
            .text("Cause", cause)
    }
}

fn details(e: &sfn::HistoryEvent) -> Value {
    let mut d = Details::default();
    if let Some(x) = e.execution_started_event_details() {
        d.json("input", x.input()).text("roleArn", x.role_arn());
    }
    if let Some(x) = e.execution_succeeded_event_details() {
        d.json("output", x.output());
    }
    if let Some(x) = e.execution_failed_event_details() {
        d.failure(x.error(), x.cause());
    }
    if let Some(x) = e.execution_aborted_event_details() {
        d.failure(x.error(), x.cause());
    }
    if let Some(x) = e.execution_timed_out_event_details() {
        d.failure(x.error(), x.cause());
    }
    if let Some(x) = e.state_entered_event_details() {
        d.text("name", Some(x.name())).json("input", x.input());
    }
    if let Some(x) = e.state_exited_event_details() {
        d.text("name", Some(x.name())).json("output", x.output());
    }
    if let Some(x) = e.task_scheduled_event_details() {
        d.resource(x.resource_type(), x.resource())
            .text("region", Some(x.region()))
            .json("parameters", Some(x.parameters()))
            .num("timeoutInSeconds", x.timeout_in_seconds())
            .num("heartbeatInSeconds", x.heartbeat_in_seconds());
    }
    if let Some(x) = e.task_started_event_details() {
        d.resource(x.resource_type(), x.resource());
    }
    if let Some(x) = e.task_submitted_event_details() {
        d.resource(x.resource_type(), x.resource())
            .json("output", x.output());
    }
    if let Some(x) = e.task_succeeded_event_details() {
        d.resource(x.resource_type(), x.resource())
            .json("output", x.output());
    }
    if let Some(x) = e.task_failed_event_details() {
        d.resource(x.resource_type(), x.resource())
            .failure(x.error(), x.cause());
    }
    if let Some(x) = e.task_timed_out_event_details() {
        d.resource(x.resource_type(), x.resource())
            .failure(x.error(), x.cause());
    }
    if let Some(x) = e.task_start_failed_event_details() {
        d.resource(x.resource_type(), x.resource())
            .failure(x.error(), x.cause());
    }
    if let Some(x) = e.task_submit_failed_event_details() {
        d.resource(x.resource_type(), x.resource())
            .failure(x.error(), x.cause());
    }
    if let Some(x) = e.lambda_function_scheduled_event_details() {
        d.text("resource", Some(x.resource()))
            .json("input", x.input())
            .num("timeoutInSeconds", x.timeout_in_seconds());
    }
    if let Some(x) = e.lambda_function_succeeded_event_details() {
        d.json("output", x.output());
    }
    if let Some(x) = e.lambda_function_failed_event_details() {
        d.failure(x.error(), x.cause());
    }
    if let Some(x) = e.lambda_function_timed_out_event_details() {
        d.failure(x.error(), x.cause());
    }
    if let Some(x) = e.lambda_function_schedule_failed_event_details() {
        d.failure(x.error(), x.cause());
    }
    if let Some(x) = e.lambda_function_start_failed_event_details() {
        d.failure(x.error(), x.cause());
    }
    if let Some(x) = e.map_state_started_event_details() {
        d.num("length", Some(i64::from(x.length())));
    }
    for x in [
        e.map_iteration_started_event_details(),
        e.map_iteration_succeeded_event_details(),
        e.map_iteration_failed_event_details(),
        e.map_iteration_aborted_event_details(),
    ]
    .into_iter()
    .flatten()
    {
        d.text("name", x.name())
            .num("index", Some(i64::from(x.index())));
    }
    if let Some(x) = e.activity_scheduled_event_details() {
        d.text("resource", Some(x.resource()))
            .json("input", x.input())
            .num("timeoutInSeconds", x.timeout_in_seconds())
            .num("heartbeatInSeconds", x.heartbeat_in_seconds());
    }
    if let Some(x) = e.activity_succeeded_event_details() {
        d.json("output", x.output());
    }
    if let Some(x) = e.activity_failed_event_details() {
        d.failure(x.error(), x.cause());
    }
    if let Some(x) = e.activity_timed_out_event_details() {
        d.failure(x.error(), x.cause());
    }
    if let Some(x) = e.evaluation_failed_event_details() {
        d.failure(x.error(), x.cause())
            .text("state", Some(x.state()))
            .text("location", x.location());
    }
    Value::Object(d.0)
}

fn kind(t: &HistoryEventType) -> String {
    t.as_str().to_string()
}

#[async_trait]
impl Workflows for SfnWorkflows {
    async fn start_execution(
        &self,
        state_machine: &str,
        name: &str,
        input: Value,
    ) -> Result<String, WorkflowsError> {
        let arn = self
            .state_machine_arn(state_machine)
            .ok_or_else(|| WorkflowsError::StateMachineDoesNotExist(state_machine.to_string()))?;
        let r = self
            .client
            .start_execution()
            .state_machine_arn(arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match r {
            Ok(out) => Ok(out.execution_arn().to_string()),
            Err(e) => match map_err(e, Subject::Machine(state_machine)) {
                WorkflowsError::ExecutionAlreadyExists(message) => {
                    match self.same_execution(arn, name, &input).await? {
                        Some(existing) => Ok(existing),
                        None => Err(WorkflowsError::ExecutionAlreadyExists(
                            if message.is_empty() {
                                name.to_string()
                            } else {
                                message
                            },
                        )),
                    }
                }
                other => Err(other),
            },
        }
    }

    async fn send_task_success(&self, token: &str, output: Value) -> Result<(), WorkflowsError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, Subject::Token))
    }

    async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowsError> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, Subject::Token))
    }

    async fn send_task_heartbeat(&self, token: &str) -> Result<(), WorkflowsError> {
        self.client
            .send_task_heartbeat()
            .task_token(token)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, Subject::Token))
    }

    async fn describe_execution(
        &self,
        execution_id: &str,
    ) -> Result<ExecutionDescription, WorkflowsError> {
        let d = self
            .client
            .describe_execution()
            .execution_arn(execution_id)
            .send()
            .await
            .map_err(|e| map_err(e, Subject::Execution(execution_id)))?;
        Ok(ExecutionDescription {
            execution_id: d.execution_arn().to_string(),
            state_machine: self.machine_name(d.state_machine_arn()),
            name: d.name().unwrap_or_default().to_string(),
            status: status(d.status())?,
            input: d.input().map(json_text).unwrap_or(Value::Null),
            output: d.output().map(json_text),
            error: d.error().map(str::to_string),
            cause: d.cause().map(str::to_string),
            started: timestamp(d.start_date()),
            stopped: d.stop_date().map(timestamp),
        })
    }

    async fn get_execution_history(
        &self,
        execution_id: &str,
    ) -> Result<Vec<HistoryEvent>, WorkflowsError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .get_execution_history()
                .execution_arn(execution_id)
                .max_results(1000)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| map_err(e, Subject::Execution(execution_id)))?;
            out.extend(page.events().iter().map(|e| HistoryEvent {
                id: u64::try_from(e.id()).unwrap_or(0),
                kind: kind(e.r#type()),
                timestamp: timestamp(e.timestamp()),
                details: details(e),
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    async fn stop_execution(
        &self,
        execution_id: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowsError> {
        self.client
            .stop_execution()
            .execution_arn(execution_id)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, Subject::Execution(execution_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_arn_is_built_from_its_state_machine_arn_and_name() {
        assert_eq!(
            execution_arn(
                "arn:aws:states:ap-southeast-3:123456789012:stateMachine:approval",
                "SPPD-7"
            )
            .as_deref(),
            Some("arn:aws:states:ap-southeast-3:123456789012:execution:approval:SPPD-7")
        );
        assert_eq!(
            execution_arn(
                "arn:aws:states:ap-southeast-3:123456789012:stateMachine:approval:prod",
                "x"
            ),
            None,
            "an alias ARN's executions are not named after it"
        );
    }

    #[test]
    fn json_text_that_is_not_json_stays_a_string() {
        assert_eq!(json_text("{\"a\":1}"), serde_json::json!({"a": 1}));
        assert_eq!(json_text("selesai"), Value::String("selesai".into()));
    }
}
