//! `paraf-escalate`: builds the configuration and adapters once per cold start and hands
//! every invocation to the escalate handler.

use paraf_aws::config::{Config, Function};
use paraf_aws::AwsClients;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = AwsClients::load().await;
    let notifier = Config::from_env(Function::Escalate)
        .and_then(|c| paraf_fn_escalate::notifier(&c, &clients));
    let handler = paraf_fn_escalate::Handler::new(notifier);
    lambda_runtime::run(lambda_runtime::service_fn(|event| handler.handle(event))).await
}
