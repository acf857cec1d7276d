//! The `escalate` function (`${EscalateFunctionArn}`): an ask timed out, so
//! [`Notifier::escalate`] records a reminder or an escalation; the workflow then asks
//! again and notify mails. Wired as the notify function.

use lambda_runtime::{Diagnostic, LambdaEvent};
use std::sync::Arc;

use paraf_aws::config::{failure, Config, ConfigError, Configured, ERROR_MISCONFIGURED};
use paraf_aws::AwsClients;
use paraf_core::{SystemClock, Table};
use paraf_tasks::notify::Notifier;
use serde_json::Value;

/// The notifier over the AWS adapters, as the notify function builds it.
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
        notifier.escalate(event.payload).await.map_err(|e| {
            tracing::warn!(error = %e, error_type = e.name(), "escalate failed");
            failure(e.name(), &e)
        })
    }
}
