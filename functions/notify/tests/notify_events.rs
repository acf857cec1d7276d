//! The `notify` function driven in-process with the payload the approval workflow's
//! `AskAssignee` state sends (`tests/fixtures`), over DynamoDB and SES on moto.

#[path = "../../../crates/paraf-aws/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use lambda_runtime::{Context, LambdaEvent};
use paraf_aws::config::{Config, Function};
use paraf_aws::AwsClients;
use paraf_core::{Org, SystemClock, Table};
use serde_json::Value;

const ASK: &str = include_str!("fixtures/sfn-approval-step-ask.json");
const FROM: &str = "paraf@kpu-jabar.go.id";

struct World {
    handler: paraf_fn_notify::Handler,
    table: Arc<dyn Table>,
    assignee: String,
    requester: String,
}

/// A demo organisation in a fresh table, SES ready to send from `FROM`, and the handler
/// wired as `main` wires it.
async fn world() -> World {
    let clients: AwsClients = common::Moto::shared().clients().await;
    common::ses_identity(&clients, FROM).await;
    let (name, table) = common::demo_table(&clients, "paraf-notify").await;
    let org = Org::new(table.clone(), Arc::new(SystemClock));
    let id = |e: Option<paraf_core::Employee>| e.expect("demo employee").id;
    let assignee = id(org.find_employee("kabag@demo.paraf.test").await.unwrap());
    let requester = id(org.find_employee("staf@demo.paraf.test").await.unwrap());
    let vars = [
        ("PARAF_TABLE_NAME", name),
        ("PARAF_MAIL_FROM", FROM.to_string()),
        (
            "PARAF_PUBLIC_URL",
            "https://paraf.kpu-jabar.go.id".to_string(),
        ),
    ];
    let config = Config::from_lookup(Function::Notify, |n| {
        vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
    });
    let notifier = config.and_then(|c| paraf_fn_notify::notifier(&c, &clients));
    World {
        handler: paraf_fn_notify::Handler::new(notifier),
        table,
        assignee,
        requester,
    }
}

fn event(payload: &str) -> LambdaEvent<Value> {
    LambdaEvent::new(
        serde_json::from_str(payload).expect("JSON payload"),
        Context::default(),
    )
}

async fn mails_mentioning(needle: &str) -> usize {
    common::mails_mentioning(common::Moto::shared(), needle).await
}

#[tokio::test]
async fn an_ask_stores_the_task_and_mails_its_link_once_even_when_lambda_retries() {
    let w = world().await;
    let ask = ASK
        .replace("$ASSIGNEE", &w.assignee)
        .replace("$REQUESTER", &w.requester)
        // One token per test run: moto's mail log is shared by every test.
        .replace("AQCEAAAAKgAAAA", &common::unique("AQCEAAAAKgAAAA"));
    let first = w.handler.handle(event(&ask)).await.expect("first run");
    let task_id = first["taskId"].as_str().expect("task id").to_string();
    assert_eq!(first["mailSent"], true);
    let link = format!("https://paraf.kpu-jabar.go.id/tasks/{task_id}");
    assert_eq!(mails_mentioning(&link).await, 1, "one mail with the link");

    let again = w.handler.handle(event(&ask)).await.expect("retried run");
    assert_eq!(again["taskId"], task_id.as_str(), "the same task");
    assert_eq!(mails_mentioning(&link).await, 1, "no second mail");

    let approvals = paraf_core::approvals::Approvals::new(w.table.clone(), Arc::new(SystemClock));
    let payload: Value = serde_json::from_str(&ask).unwrap();
    let tasks = approvals
        .tasks_of_execution(payload["executionId"].as_str().unwrap())
        .await
        .expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].assignee_id, w.assignee);
    assert_eq!(
        approvals.task_token(&tasks[0]),
        payload["taskToken"].as_str().unwrap(),
        "the token the workflow waits on"
    );
}

#[tokio::test]
async fn the_idempotency_key_is_the_same_for_every_run_of_one_token_only() {
    let a = paraf_fn_notify::idempotency_key("token-1");
    assert_eq!(a, paraf_fn_notify::idempotency_key("token-1"));
    assert_ne!(a, paraf_fn_notify::idempotency_key("token-2"));
    assert_eq!(a.len(), 64);
}

#[tokio::test]
async fn a_bad_ask_fails_with_the_paraf_error_name_as_error_type() {
    let w = world().await;
    let mut payload: Value = serde_json::from_str(ASK).unwrap();
    payload["kind"] = "leave_request".into();
    let err = w
        .handler
        .handle(LambdaEvent::new(payload.clone(), Context::default()))
        .await
        .expect_err("unsupported kind");
    assert_eq!(err.error_type, paraf_tasks::notify::ERROR_UNSUPPORTED_KIND);
    payload["kind"] = "approval_step".into();
    payload.as_object_mut().unwrap().remove("taskToken");
    let err = w
        .handler
        .handle(LambdaEvent::new(payload, Context::default()))
        .await
        .expect_err("no token");
    assert_eq!(err.error_type, "Paraf.InvalidPayload");
}

#[tokio::test]
async fn without_configuration_every_invocation_fails_as_misconfigured_naming_the_variables() {
    let clients = common::Moto::shared().clients().await;
    let notifier = Config::from_lookup(Function::Notify, |n| {
        (n == "PARAF_TABLE_NAME").then(|| "paraf-prod".to_string())
    })
    .and_then(|c| paraf_fn_notify::notifier(&c, &clients));
    let handler = paraf_fn_notify::Handler::new(notifier);
    let err = handler.handle(event(ASK)).await.expect_err("misconfigured");
    assert_eq!(err.error_type, "Paraf.Misconfigured");
    assert!(
        err.error_message.contains("PARAF_MAIL_FROM")
            && err.error_message.contains("PARAF_PUBLIC_URL")
            && !err.error_message.contains("PARAF_TABLE_NAME"),
        "{}",
        err.error_message
    );
}
