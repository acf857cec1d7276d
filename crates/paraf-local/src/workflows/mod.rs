//! Amazon States Language, run locally: the interpreter behind `paraf serve`'s
//! `Workflows` port and `paraf workflows validate|run`. It runs the very files in
//! `workflows/` that Step Functions runs on AWS, and refuses (naming state and field)
//! whatever it does not implement rather than run it differently.

pub mod choice;
pub mod engine;
pub mod errors;
pub mod intrinsics;
pub mod model;
pub mod path;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use paraf_core::memory::MemoryTable;
use paraf_core::{ExecutionStatus, SystemClock, Workflows};
use serde_json::Value;

pub use engine::{
    handler_fn, Handlers, LocalWorkflows, Options, TaskContext, TaskError, TaskHandler,
};
pub use errors::StatesError;
pub use model::StateMachine;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AslError {
    #[error("definition is not valid JSON: {0}")]
    Json(String),
    #[error("top level: field `{field}`: {message}")]
    TopLevel { field: String, message: String },
    #[error("state `{state}`: field `{field}`: {message}")]
    Field {
        state: String,
        field: String,
        message: String,
    },
    #[error("no value for the substitution `${{{0}}}`")]
    Substitution(String),
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
}

/// How an execution run by [`run_once`] ended when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct ExecutionFailure {
    pub error: String,
    pub cause: String,
}

/// Parses and checks a definition, substituting `${…}` first.
pub(crate) fn load_definition(
    text: &str,
    substitutions: &BTreeMap<String, String>,
    strict: bool,
) -> Result<StateMachine, AslError> {
    let mut v: Value = serde_json::from_str(text).map_err(|e| AslError::Json(e.to_string()))?;
    model::substitute(&mut v, substitutions, strict)?;
    model::parse_definition(&v)
}

/// Checks a definition as CI does: `${…}` placeholders may stay unresolved.
pub fn validate_str(text: &str) -> Result<StateMachine, AslError> {
    load_definition(text, &BTreeMap::new(), false)
}

pub fn validate_file(path: &Path) -> Result<StateMachine, AslError> {
    let text = std::fs::read_to_string(path).map_err(|e| AslError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    validate_str(&text)
}

/// Runs one execution of `definition` to its end in memory (for `paraf workflows run`).
/// Wait states and retries really wait; a task with no handler fails naming its function;
/// an execution left waiting for a task token fails with `States.Runtime`.
pub async fn run_once(
    definition: &str,
    substitutions: &BTreeMap<String, String>,
    input: Value,
    handlers: Handlers,
) -> Result<Value, ExecutionFailure> {
    let fail = |error: &str, cause: String| ExecutionFailure {
        error: error.to_string(),
        cause,
    };
    let wf = LocalWorkflows::new(
        Arc::new(MemoryTable::new()),
        handlers,
        Arc::new(SystemClock),
    );
    wf.register("run", definition, substitutions)
        .map_err(|e| fail("States.Runtime", e.to_string()))?;
    let id = wf
        .start_execution("run", "run", input)
        .await
        .map_err(|e| fail(e.name(), e.to_string()))?;
    loop {
        wf.run_until_idle()
            .await
            .map_err(|e| fail(e.name(), e.to_string()))?;
        let d = wf
            .describe_execution(&id)
            .await
            .map_err(|e| fail(e.name(), e.to_string()))?;
        match d.status {
            ExecutionStatus::Succeeded => return Ok(d.output.unwrap_or(Value::Null)),
            ExecutionStatus::Running => {}
            _ => {
                return Err(fail(
                    d.error.as_deref().unwrap_or("States.Runtime"),
                    d.cause.unwrap_or_default(),
                ))
            }
        }
        match wf
            .next_due()
            .await
            .map_err(|e| fail(e.name(), e.to_string()))?
        {
            Some(at) => {
                let wait = at - time::OffsetDateTime::now_utc();
                if wait.is_positive() {
                    tokio::time::sleep(wait.unsigned_abs()).await;
                }
            }
            None => {
                return Err(fail(
                    "States.Runtime",
                    "the execution waits for a task token or a child that nothing will answer"
                        .into(),
                ))
            }
        }
    }
}
