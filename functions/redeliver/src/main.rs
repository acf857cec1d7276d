//! `paraf-redeliver`: builds the configuration and adapters once per cold start and runs
//! one redelivery pass per scheduled invocation.

use paraf_aws::config::{Config, Function};
use paraf_aws::AwsClients;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = AwsClients::load().await;
    let redeliverer = Config::from_env(Function::Redeliver)
        .and_then(|c| paraf_fn_redeliver::redeliverer(&c, &clients));
    let handler = paraf_fn_redeliver::Handler::new(redeliverer);
    lambda_runtime::run(lambda_runtime::service_fn(|event| handler.handle(event))).await
}
