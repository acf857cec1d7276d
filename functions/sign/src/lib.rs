//! The `sign` function (`${SignFunctionArn}`): [`paraf_tasks::travel::run_sign_task`] (a
//! travel order's SPT and SPPDs, or the generic document of [`paraf_tasks::sign::run`])
//! over KMS keys, the S3 archive, the DynamoDB table and SES for the travellers' mail. The payload is the approval workflow's `Sign`
//! state (`executionId` is the idempotency key, `signedAt` the signing time), so a retry
//! returns the document the first run archived. Failures carry the task's error names
//! (`Paraf.SignInvalid`, `Paraf.SignUnavailable`) as Lambda `errorType`.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use paraf_aws::config::{
    failure, Config, ConfigError, Configured, ARCHIVE_BUCKET, CA_ALIAS, ERROR_MISCONFIGURED,
    MAIL_FROM, PUBLIC_URL, TSA_URL,
};
use paraf_aws::AwsClients;
use paraf_core::{Blobs, Clock, Mailer, Signer, SystemClock, Table};
use paraf_tasks::sign::{SignContext, TsaClient};
use serde_json::Value;

/// The sign task's context and the travellers' mailer over the AWS adapters, wired as
/// `paraf serve` wires them.
pub fn context(config: &Config, clients: &AwsClients) -> Result<SignTask, ConfigError> {
    let table: Arc<dyn Table> = Arc::new(config.table(clients));
    let blobs: Arc<dyn Blobs> = Arc::new(
        config
            .blobs(clients)
            .ok_or_else(|| ConfigError::unread(ARCHIVE_BUCKET))?,
    );
    let signer: Arc<dyn Signer> = Arc::new(
        config
            .signer(clients, table.clone())
            .ok_or_else(|| ConfigError::unread(CA_ALIAS))?,
    );
    let public_base_url = config
        .public_url
        .clone()
        .ok_or_else(|| ConfigError::unread(PUBLIC_URL))?;
    let tsa = config
        .tsa_url
        .as_deref()
        .map(TsaClient::new)
        .transpose()
        .map_err(|e| ConfigError::new(TSA_URL, e))?;
    let mailer: Arc<dyn Mailer> = Arc::new(
        config
            .mailer(clients)
            .ok_or_else(|| ConfigError::unread(MAIL_FROM))?,
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(SignTask {
        context: SignContext {
            org: paraf_core::Org::new(table.clone(), clock.clone()),
            archive: paraf_core::archive::Archive::new(table, blobs, clock.clone()),
            signer,
            clock,
            public_base_url,
            letterhead: paraf_pdf::render::Letterhead::kpu_jabar(),
            tsa,
        },
        mailer,
    })
}

/// What the handler runs with.
#[derive(Clone)]
pub struct SignTask {
    pub context: SignContext,
    pub mailer: Arc<dyn Mailer>,
}

/// What every invocation of this cold start runs with.
pub struct Handler {
    context: Configured<SignTask>,
}

impl Handler {
    /// Logs one line when the configuration is unusable; every invocation then fails with
    /// `Paraf.Misconfigured`.
    pub fn new(context: Result<SignTask, ConfigError>) -> Self {
        Handler {
            context: Configured::new(context),
        }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let task = self
            .context
            .get()
            .map_err(|e| failure(ERROR_MISCONFIGURED, e))?;
        paraf_tasks::travel::run_sign_task(&task.context, Some(task.mailer.clone()), event.payload)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, error_type = e.error_name(), "sign failed");
                failure(e.error_name(), &e)
            })
    }
}
