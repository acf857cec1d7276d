//! `paraf-setup`: builds the configuration and adapters once per cold start and hands the
//! invocation to the setup handler.

use paraf_aws::config::{Config, Function};
use paraf_aws::AwsClients;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = AwsClients::load().await;
    let setup = Config::from_env(Function::Setup).and_then(|c| paraf_fn_setup::setup(&c, &clients));
    let handler = paraf_fn_setup::Handler::new(setup);
    lambda_runtime::run(lambda_runtime::service_fn(|event| handler.handle(event))).await
}
