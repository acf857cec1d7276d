//! `paraf-api`: builds the configuration and adapters once per cold start and serves
//! paraf's router through `lambda_http`.

use paraf_aws::config::{Config, Function};
use paraf_aws::AwsClients;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let clients = AwsClients::load().await;
    let state = Config::from_env(Function::Api).and_then(|c| paraf_fn_api::state(&c, &clients));
    if let Ok(state) = &state {
        // Logged, not fatal: see `probe`.
        let _ = paraf_fn_api::probe(state).await;
    }
    lambda_http::run(paraf_fn_api::app(paraf_fn_api::router(state))).await
}
