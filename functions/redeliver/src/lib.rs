//! The `redeliver` function, run on a schedule: what `paraf serve` does every 2 s.
//! Approval decisions and disposition answers recorded in the table but not yet handed
//! to their waiting execution (`SendTaskSuccess` failed or the caller died in between)
//! are delivered now, once per invocation.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use paraf_aws::config::{
    failure, Config, ConfigError, Configured, APPROVAL_STATE_MACHINE_ARN, ERROR_MISCONFIGURED,
};
use paraf_aws::AwsClients;
use paraf_core::approvals::Approvals;
use paraf_core::dispositions::Dispositions;
use paraf_core::{Clock, SystemClock, Table, Workflows};
use serde_json::{json, Value};

/// The Lambda `errorType` when a redelivery pass failed (the next run tries again).
pub const ERROR_REDELIVER_FAILED: &str = "Paraf.RedeliverFailed";

/// The services and the workflow engine a pass needs.
#[derive(Clone)]
pub struct Redeliverer {
    pub approvals: Approvals,
    pub dispositions: Dispositions,
    pub workflows: Arc<dyn Workflows>,
}

/// Wired over the AWS adapters as `paraf serve` wires the local ones.
pub fn redeliverer(config: &Config, clients: &AwsClients) -> Result<Redeliverer, ConfigError> {
    let table: Arc<dyn Table> = Arc::new(config.table(clients));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let workflows = config
        .workflows(clients)
        .ok_or_else(|| ConfigError::unread(APPROVAL_STATE_MACHINE_ARN))?;
    Ok(Redeliverer {
        approvals: Approvals::new(table.clone(), clock.clone()),
        dispositions: Dispositions::new(table, clock),
        workflows: Arc::new(workflows),
    })
}

impl Redeliverer {
    /// One pass over both queues; both are tried even when the first fails.
    pub async fn run_once(&self) -> Result<Value, Diagnostic> {
        let approvals = self
            .approvals
            .redeliver_pending(self.workflows.as_ref())
            .await;
        let dispositions = self
            .dispositions
            .redeliver_pending(self.workflows.as_ref())
            .await;
        match (approvals, dispositions) {
            (Ok(a), Ok(d)) => Ok(json!({"approvals": a, "dispositions": d})),
            (a, d) => {
                let mut errors = Vec::new();
                if let Err(e) = a {
                    tracing::warn!(error = %e, "redelivering approval decisions failed");
                    errors.push(format!("approval decisions: {e}"));
                }
                if let Err(e) = d {
                    tracing::warn!(error = %e, "redelivering disposition answers failed");
                    errors.push(format!("disposition answers: {e}"));
                }
                Err(failure(ERROR_REDELIVER_FAILED, errors.join("; ")))
            }
        }
    }
}

/// What every invocation of this cold start runs with.
pub struct Handler {
    redeliverer: Configured<Redeliverer>,
}

impl Handler {
    /// Logs one line when the configuration is unusable; every invocation then fails with
    /// `Paraf.Misconfigured`.
    pub fn new(redeliverer: Result<Redeliverer, ConfigError>) -> Self {
        Handler {
            redeliverer: Configured::new(redeliverer),
        }
    }

    /// The schedule's event is not read: every run does the same pass.
    pub async fn handle(&self, _event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        self.redeliverer
            .get()
            .map_err(|e| failure(ERROR_MISCONFIGURED, e))?
            .run_once()
            .await
    }
}
