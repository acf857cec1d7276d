//! The `notify` function (`${NotifyFunctionArn}`): the `.waitForTaskToken` asks of the
//! approval and disposition workflows, handled by [`Notifier::notify`].
//!
//! Lambda retries an invocation with the same payload, so the idempotency key is derived
//! from the task token: a retry finds the task the first run stored and mails at most
//! once. Failures reach the workflow as Lambda errors whose `errorType` is the paraf error
//! name ([`paraf_tasks::notify::NotifyError::name`]).

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use paraf_aws::config::{failure, Config, ConfigError, Configured, ERROR_MISCONFIGURED};
use paraf_aws::AwsClients;
use paraf_core::{SystemClock, Table};
use paraf_tasks::notify::{Invocation, Notifier, NotifyError, ERROR_INVALID_PAYLOAD};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The notify task over the AWS adapters, wired as `paraf serve` wires the local ones.
pub fn notifier(config: &Config, clients: &AwsClients) -> Result<Notifier, ConfigError> {
    let (mailer, base_url) = config.mailing(clients)?;
    let table: Arc<dyn Table> = Arc::new(config.table(clients));
    Ok(Notifier::new(
        table,
        Arc::new(SystemClock),
        Arc::new(mailer),
        base_url,
    ))
}

/// The same for every run of one ask: the SHA-256 (hex) of its task token.
pub fn idempotency_key(task_token: &str) -> String {
    hex::encode(Sha256::digest(task_token.as_bytes()))
}

/// What every invocation of this cold start runs with.
pub struct Handler {
    notifier: Configured<Notifier>,
}

impl Handler {
    /// Logs one line when the configuration is unusable; every invocation then fails with
    /// `Paraf.Misconfigured`.
    pub fn new(notifier: Result<Notifier, ConfigError>) -> Self {
        Handler {
            notifier: Configured::new(notifier),
        }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let notifier = self
            .notifier
            .get()
            .map_err(|e| failure(ERROR_MISCONFIGURED, e))?;
        let payload = event.payload;
        let token = payload
            .get("taskToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| failure(ERROR_INVALID_PAYLOAD, "`taskToken` is missing"))?
            .to_string();
        let invocation = Invocation {
            idempotency_key: idempotency_key(&token),
            task_token: Some(token),
        };
        notifier
            .notify(payload, invocation)
            .await
            .map_err(|e: NotifyError| {
                tracing::warn!(error = %e, error_type = e.name(), "notify failed");
                failure(e.name(), &e)
            })
    }
}
