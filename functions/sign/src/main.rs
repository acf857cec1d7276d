//! `paraf-sign`: builds the configuration and adapters once per cold start and hands
//! every invocation to the sign handler.

use paraf_aws::config::{Config, Function};
use paraf_aws::AwsClients;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = AwsClients::load().await;
    let context =
        Config::from_env(Function::Sign).and_then(|c| paraf_fn_sign::context(&c, &clients));
    let handler = paraf_fn_sign::Handler::new(context);
    lambda_runtime::run(lambda_runtime::service_fn(|event| handler.handle(event))).await
}
