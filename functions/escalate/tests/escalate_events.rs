//! The `escalate` function driven in-process with the payload the approval workflow's
//! `EscalateStep` state sends (`tests/fixtures`), after the notify function stored the
//! ask, over DynamoDB and SES on moto.

#[path = "../../../crates/paraf-aws/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use lambda_runtime::{Context, LambdaEvent};
use paraf_aws::config::{Config, Function};
use paraf_core::{Org, SystemClock};
use serde_json::Value;

const ASK: &str = include_str!("fixtures/sfn-approval-step-ask.json");
const OVERDUE: &str = include_str!("fixtures/sfn-approval-step-overdue.json");
const FROM: &str = "paraf@kpu-jabar.go.id";

fn event(payload: &str) -> LambdaEvent<Value> {
    LambdaEvent::new(
        serde_json::from_str(payload).expect("JSON payload"),
        Context::default(),
    )
}

#[tokio::test]
async fn an_overdue_step_is_recorded_on_the_task_notify_stored() {
    let clients = common::Moto::shared().clients().await;
    common::ses_identity(&clients, FROM).await;
    let (name, table) = common::demo_table(&clients, "paraf-escalate").await;
    let org = Org::new(table.clone(), Arc::new(SystemClock));
    let assignee = org
        .find_employee("kabag@demo.paraf.test")
        .await
        .unwrap()
        .expect("kabag")
        .id;
    let requester = org
        .find_employee("staf@demo.paraf.test")
        .await
        .unwrap()
        .expect("staf")
        .id;
    let vars = [
        ("PARAF_TABLE_NAME", name),
        ("PARAF_MAIL_FROM", FROM.to_string()),
        (
            "PARAF_PUBLIC_URL",
            "https://paraf.kpu-jabar.go.id".to_string(),
        ),
    ];
    let lookup = |n: &str| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
    let fill = |s: &str| {
        s.replace("$ASSIGNEE", &assignee)
            .replace("$REQUESTER", &requester)
    };

    let notify = paraf_fn_notify::Handler::new(
        Config::from_lookup(Function::Notify, lookup)
            .and_then(|c| paraf_fn_notify::notifier(&c, &clients)),
    );
    let asked = notify.handle(event(&fill(ASK))).await.expect("notify");

    let escalate = paraf_fn_escalate::Handler::new(
        Config::from_lookup(Function::Escalate, lookup)
            .and_then(|c| paraf_fn_escalate::notifier(&c, &clients)),
    );
    let out = escalate
        .handle(event(&fill(OVERDUE)))
        .await
        .expect("escalate");
    assert!(
        matches!(out["outcome"].as_str(), Some("reminder" | "escalated")),
        "{out}"
    );
    assert_eq!(out["taskId"], asked["taskId"], "{out}");
}

#[tokio::test]
async fn an_unknown_overdue_kind_fails_with_the_paraf_error_name() {
    let clients = common::Moto::shared().clients().await;
    let vars = [
        ("PARAF_TABLE_NAME", "paraf-unused".to_string()),
        ("PARAF_MAIL_FROM", FROM.to_string()),
        (
            "PARAF_PUBLIC_URL",
            "https://paraf.kpu-jabar.go.id".to_string(),
        ),
    ];
    let escalate = paraf_fn_escalate::Handler::new(
        Config::from_lookup(Function::Escalate, |n| {
            vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
        })
        .and_then(|c| paraf_fn_escalate::notifier(&c, &clients)),
    );
    let payload = OVERDUE.replace("approval_step_overdue", "leave_overdue");
    let err = escalate.handle(event(&payload)).await.expect_err("unknown");
    assert_eq!(err.error_type, paraf_tasks::notify::ERROR_UNSUPPORTED_KIND);
}

#[tokio::test]
async fn without_configuration_escalate_fails_as_misconfigured() {
    let clients = common::Moto::shared().clients().await;
    let escalate = paraf_fn_escalate::Handler::new(
        Config::from_lookup(Function::Escalate, |_| None)
            .and_then(|c| paraf_fn_escalate::notifier(&c, &clients)),
    );
    let err = escalate
        .handle(event(OVERDUE))
        .await
        .expect_err("misconfigured");
    assert_eq!(err.error_type, "Paraf.Misconfigured");
    assert!(
        err.error_message.contains("PARAF_TABLE_NAME"),
        "{}",
        err.error_message
    );
}
