//! The `api` function driven in-process with real API Gateway HTTP API v2 events
//! (`tests/fixtures`), answered by paraf's router over a DynamoDB table on moto.

#[path = "../../../crates/paraf-aws/tests/common/mod.rs"]
mod common;

use http_body_util::BodyExt as _;
use lambda_http::tower::ServiceExt as _;
use paraf_aws::config::{Config, Function};
use paraf_aws::AwsClients;

use serde_json::{json, Value};

const HEALTHZ: &str = include_str!("fixtures/apigw-v2-healthz.json");
const ME_WITH_CLAIMS: &str = include_str!("fixtures/apigw-v2-jwt-me.json");

fn env(table: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PARAF_TABLE_NAME", table.to_string()),
        ("PARAF_ARCHIVE_BUCKET", "paraf-test-archive".into()),
        ("PARAF_MAIL_FROM", "paraf@kpu-jabar.go.id".into()),
        ("PARAF_PUBLIC_URL", "https://paraf.kpu-jabar.go.id".into()),
        ("PARAF_ORG_NAME", "KPU Provinsi Jawa Barat (demo)".into()),
        ("PARAF_KMS_ALIAS_PREFIX", "alias/paraf/test/".into()),
        ("PARAF_CA_ALIAS", "alias/paraf/test/ca".into()),
        (
            "PARAF_APPROVAL_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:paraf-approval".into(),
        ),
        (
            "PARAF_DISPOSITION_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:paraf-disposition".into(),
        ),
        (
            "PARAF_SESSION_SECRET",
            "k3Vq9rT2mW8xZ1pL6nB4cF7hJ0dS5gA2".into(),
        ),
    ]
}

fn config(vars: &[(&'static str, String)]) -> Result<Config, paraf_aws::config::ConfigError> {
    Config::from_lookup(Function::Api, |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
}

/// The function as `main` builds it, over `clients`.
fn app(vars: &[(&'static str, String)], clients: &AwsClients) -> paraf_fn_api::LambdaApp {
    let state = config(vars).and_then(|c| paraf_fn_api::state(&c, clients));
    paraf_fn_api::app(paraf_fn_api::router(state))
}

/// Runs one API Gateway event through the function: status and JSON body.
async fn invoke(app: paraf_fn_api::LambdaApp, event: &str) -> (u16, Value) {
    let request = lambda_http::request::from_str(event).expect("a valid HTTP API v2 event");
    let response = app.oneshot(request).await.expect("infallible router");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "JSON body expected, got {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, body)
}

/// A fresh table on moto with the demo organisation loaded.
async fn demo_table(clients: &AwsClients) -> String {
    common::demo_table(clients, "paraf-api").await.0
}

#[tokio::test]
async fn healthz_from_an_api_gateway_event_answers_ok_over_a_reachable_table() {
    let clients = common::Moto::shared().clients().await;
    let table = common::unique("paraf-api");
    paraf_aws::create_table(&clients.dynamodb, &table)
        .await
        .expect("create table");
    let (status, body) = invoke(app(&env(&table), &clients), HEALTHZ).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn the_jwt_authorizer_claims_of_a_demo_employee_identify_the_caller() {
    let clients = common::Moto::shared().clients().await;
    let table = demo_table(&clients).await;
    let (status, body) = invoke(app(&env(&table), &clients), ME_WITH_CLAIMS).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "ketua@demo.paraf.test");
    assert_eq!(body["nip"], "197204152000031002");
    // The employee record, not `cognito:groups`, decides the roles.
    assert_eq!(body["roles"], json!(["staff", "approver"]));
}

#[tokio::test]
async fn without_an_authorizer_the_same_request_is_unauthenticated() {
    let clients = common::Moto::shared().clients().await;
    let table = demo_table(&clients).await;
    let mut event: Value = serde_json::from_str(ME_WITH_CLAIMS).expect("fixture");
    event["requestContext"]
        .as_object_mut()
        .expect("requestContext")
        .remove("authorizer");
    // The Cognito token in `authorization` is not paraf's own: it must not authenticate.
    let (status, body) = invoke(app(&env(&table), &clients), &event.to_string()).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated");
}

#[tokio::test]
async fn claims_of_an_unknown_person_are_refused() {
    let clients = common::Moto::shared().clients().await;
    let table = demo_table(&clients).await;
    let event = ME_WITH_CLAIMS.replace("ketua@demo.paraf.test", "stranger@example.org");
    let (status, _) = invoke(app(&env(&table), &clients), &event).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn missing_configuration_answers_503_and_names_the_variables() {
    let clients = common::Moto::shared().clients().await;
    let mut vars = env("paraf-anything");
    vars.retain(|(k, _)| !matches!(*k, "PARAF_TABLE_NAME" | "PARAF_SESSION_SECRET"));
    for (k, v) in vars.iter_mut() {
        if *k == "PARAF_MAIL_FROM" {
            *v = "nobody".into();
        }
    }
    let (status, body) = invoke(app(&vars, &clients), HEALTHZ).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body,
        json!({
            "status": "unavailable",
            "missing": ["PARAF_TABLE_NAME", "PARAF_MAIL_FROM", "PARAF_SESSION_SECRET"]
        })
    );
    let (status, body) = invoke(app(&vars, &clients), ME_WITH_CLAIMS).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("PARAF_TABLE_NAME")),
        "{body}"
    );
}

#[tokio::test]
async fn an_unreachable_table_makes_healthz_answer_503() {
    // Nothing listens on port 9 of loopback (discard): every DynamoDB call fails.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    let clients = AwsClients::from_config(&sdk);
    let (status, body) = invoke(app(&env("paraf-unreachable"), &clients), HEALTHZ).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");

    // The cold start says so once, before any request.
    let state = config(&env("paraf-unreachable"))
        .and_then(|c| paraf_fn_api::state(&c, &clients))
        .expect("a complete configuration");
    let why = paraf_fn_api::probe(&state)
        .await
        .expect_err("the probe notices the unreachable table");
    assert!(why.contains("table"), "{why}");
}

#[tokio::test]
async fn the_start_up_probe_passes_over_a_reachable_table() {
    let clients = common::Moto::shared().clients().await;
    let (name, _) = common::table(&clients, "paraf-probe").await;
    let state = config(&env(&name))
        .and_then(|c| paraf_fn_api::state(&c, &clients))
        .expect("a complete configuration");
    paraf_fn_api::probe(&state)
        .await
        .expect("the table answers");
}

/// `POST /api/v1/auth/login` as API Gateway delivers it: from `source_ip`, with an
/// `X-Forwarded-For` the client wrote itself.
fn login_event(source_ip: &str, forwarded_for: &str, login: &str, password: &str) -> String {
    let mut event: Value = serde_json::from_str(HEALTHZ).expect("fixture");
    event["routeKey"] = json!("POST /api/v1/auth/login");
    event["rawPath"] = json!("/api/v1/auth/login");
    event["headers"]["content-type"] = json!("application/json");
    event["headers"]["x-forwarded-for"] = json!(forwarded_for);
    event["headers"]
        .as_object_mut()
        .expect("headers")
        .remove("content-length");
    event["requestContext"]["routeKey"] = json!("POST /api/v1/auth/login");
    event["requestContext"]["http"]["method"] = json!("POST");
    event["requestContext"]["http"]["path"] = json!("/api/v1/auth/login");
    event["requestContext"]["http"]["sourceIp"] = json!(source_ip);
    event["body"] = json!(json!({"login": login, "password": password}).to_string());
    event.to_string()
}

#[tokio::test]
async fn logins_are_throttled_by_the_api_gateway_source_address_not_by_headers() {
    let clients = common::Moto::shared().clients().await;
    let table = demo_table(&clients).await;
    let vars = env(&table);
    let admin = "admin@demo.paraf.test";
    for i in 0..10 {
        // A different forged X-Forwarded-For every time: it must not spread the count.
        let event = login_event(
            "203.0.113.7",
            &format!("198.51.100.{i}"),
            admin,
            "salah-salah",
        );
        let (status, body) = invoke(app(&vars, &clients), &event).await;
        assert_eq!(status, 401, "{body}");
    }
    let event = login_event("203.0.113.7", "198.51.100.99", admin, "paraf-demo");
    let (status, body) = invoke(app(&vars, &clients), &event).await;
    assert_eq!(status, 429, "the stranger's address is stopped: {body}");
    assert_eq!(body["error"]["code"], "too_many_requests");
    let event = login_event("198.51.100.20", "198.51.100.20", admin, "paraf-demo");
    let (status, body) = invoke(app(&vars, &clients), &event).await;
    assert_eq!(
        status, 200,
        "the owner elsewhere signs in on DynamoDB too: {body}"
    );
}
