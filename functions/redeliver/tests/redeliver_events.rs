//! The `redeliver` function driven in-process with an EventBridge scheduled event
//! (`tests/fixtures`), over DynamoDB on moto.

#[path = "../../../crates/paraf-aws/tests/common/mod.rs"]
mod common;

use lambda_runtime::{Context, LambdaEvent};
use paraf_aws::config::{Config, Function};
use serde_json::{json, Value};

const TICK: &str = include_str!("fixtures/eventbridge-scheduled.json");

fn event() -> LambdaEvent<Value> {
    LambdaEvent::new(
        serde_json::from_str(TICK).expect("JSON"),
        Context::default(),
    )
}

fn vars(table: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PARAF_TABLE_NAME", table.to_string()),
        (
            "PARAF_APPROVAL_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:paraf-approval".into(),
        ),
        (
            "PARAF_DISPOSITION_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:paraf-disposition".into(),
        ),
    ]
}

#[tokio::test]
async fn a_scheduled_run_with_nothing_pending_delivers_nothing() {
    let clients = common::Moto::shared().clients().await;
    let table = common::unique("paraf-redeliver");
    paraf_aws::create_table(&clients.dynamodb, &table)
        .await
        .expect("create table");
    let vars = vars(&table);
    let handler = paraf_fn_redeliver::Handler::new(
        Config::from_lookup(Function::Redeliver, |n| {
            vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
        })
        .and_then(|c| paraf_fn_redeliver::redeliverer(&c, &clients)),
    );
    let out = handler.handle(event()).await.expect("one pass");
    assert_eq!(out, json!({"approvals": 0, "dispositions": 0}));
}

#[tokio::test]
async fn a_missing_table_fails_the_run_with_the_redeliver_error_name() {
    let clients = common::Moto::shared().clients().await;
    let vars = vars(&common::unique("paraf-absent"));
    let handler = paraf_fn_redeliver::Handler::new(
        Config::from_lookup(Function::Redeliver, |n| {
            vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
        })
        .and_then(|c| paraf_fn_redeliver::redeliverer(&c, &clients)),
    );
    let err = handler.handle(event()).await.expect_err("no table");
    assert_eq!(err.error_type, paraf_fn_redeliver::ERROR_REDELIVER_FAILED);
    assert!(
        err.error_message.contains("approval decisions"),
        "{}",
        err.error_message
    );
    assert!(
        err.error_message.contains("disposition answers"),
        "{}",
        err.error_message
    );
}

#[tokio::test]
async fn without_configuration_redeliver_fails_as_misconfigured() {
    let clients = common::Moto::shared().clients().await;
    let handler = paraf_fn_redeliver::Handler::new(
        Config::from_lookup(Function::Redeliver, |n| {
            (n == "PARAF_TABLE_NAME").then(|| "paraf-prod".to_string())
        })
        .and_then(|c| paraf_fn_redeliver::redeliverer(&c, &clients)),
    );
    let err = handler.handle(event()).await.expect_err("misconfigured");
    assert_eq!(err.error_type, "Paraf.Misconfigured");
    assert!(
        err.error_message
            .contains("PARAF_APPROVAL_STATE_MACHINE_ARN")
            && err
                .error_message
                .contains("PARAF_DISPOSITION_STATE_MACHINE_ARN"),
        "{}",
        err.error_message
    );
}
