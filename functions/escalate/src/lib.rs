//! The `escalate` function (`${EscalateFunctionArn}`): an ask timed out, so
//! [`Notifier::escalate`] records a reminder or an escalation; the workflow then asks
//! again and notify mails. Wired exactly as the notify function
//! ([`paraf_fn_notify::notifier`]).

use lambda_runtime::{Diagnostic, LambdaEvent};
use paraf_aws::config::{ConfigError, Configured, ERROR_MISCONFIGURED};
use paraf_fn_notify::failure;
use paraf_tasks::notify::Notifier;
use serde_json::Value;

pub use paraf_fn_notify::notifier;

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
