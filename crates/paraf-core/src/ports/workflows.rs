//! `Workflows`: mirrors the Step Functions API used by paraf. Step Functions on AWS; an
//! interpreter of the same ASL files, durable in the `Table`, locally.
//!
//! Guarantees (the workflow issue adds the contract suite):
//! - `start_execution` with a name already used returns the existing execution's id when
//!   the input is the same, and [`WorkflowsError::ExecutionAlreadyExists`] otherwise;
//! - a task token is answered at most once: afterwards `TaskDoesNotExist` (or
//!   `TaskTimedOut` when its timeout fired first); a token that was never issued is
//!   `InvalidToken`.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum WorkflowsError {
    #[error("ExecutionAlreadyExists: {0}")]
    ExecutionAlreadyExists(String),
    #[error("ExecutionDoesNotExist: {0}")]
    ExecutionDoesNotExist(String),
    #[error("StateMachineDoesNotExist: {0}")]
    StateMachineDoesNotExist(String),
    #[error("TaskDoesNotExist")]
    TaskDoesNotExist,
    #[error("TaskTimedOut")]
    TaskTimedOut,
    #[error("InvalidToken")]
    InvalidToken,
    #[error("InvalidDefinition: {0}")]
    InvalidDefinition(String),
    #[error("workflows unavailable: {0}")]
    Unavailable(String),
}

impl WorkflowsError {
    /// The Step Functions error name.
    pub fn name(&self) -> &'static str {
        match self {
            WorkflowsError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            WorkflowsError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            WorkflowsError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            WorkflowsError::TaskDoesNotExist => "TaskDoesNotExist",
            WorkflowsError::TaskTimedOut => "TaskTimedOut",
            WorkflowsError::InvalidToken => "InvalidToken",
            WorkflowsError::InvalidDefinition(_) => "InvalidDefinition",
            WorkflowsError::Unavailable(_) => "ServiceUnavailable",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionDescription {
    pub execution_id: String,
    pub state_machine: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub started: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub stopped: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    /// Step Functions event type, e.g. `TaskStateEntered`, `TaskSucceeded`.
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    pub details: Value,
}

#[async_trait]
pub trait Workflows: Send + Sync {
    /// Starts (or, same name and input, finds) an execution; returns its id (ARN on AWS).
    async fn start_execution(
        &self,
        state_machine: &str,
        name: &str,
        input: Value,
    ) -> Result<String, WorkflowsError>;
    async fn send_task_success(&self, token: &str, output: Value) -> Result<(), WorkflowsError>;
    async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowsError>;
    async fn send_task_heartbeat(&self, token: &str) -> Result<(), WorkflowsError>;
    async fn describe_execution(
        &self,
        execution_id: &str,
    ) -> Result<ExecutionDescription, WorkflowsError>;
    async fn get_execution_history(
        &self,
        execution_id: &str,
    ) -> Result<Vec<HistoryEvent>, WorkflowsError>;
    async fn stop_execution(
        &self,
        execution_id: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowsError>;
}
