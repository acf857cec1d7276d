//! The `setup` function driven in-process with the payloads of `aws lambda invoke`, over
//! DynamoDB and KMS on moto.

#[path = "../../../crates/paraf-aws/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use paraf_aws::config::{Config, Function};
use paraf_core::{Auth, SystemClock};
use paraf_fn_setup::{Handler, ERROR_ALREADY_SET_UP, ERROR_INVALID_PAYLOAD};
use serde_json::{json, Value};

const ORG: &str = "KPU Kabupaten Contoh";

struct World {
    handler: Handler,
    auth: Auth,
}

/// A fresh table and CA alias, and the handler wired as `main` wires it.
async fn world() -> World {
    let clients = common::Moto::shared().clients().await;
    let (name, table) = common::table(&clients, "paraf-setup").await;
    let vars = [
        ("PARAF_TABLE_NAME", name),
        ("PARAF_ORG_NAME", ORG.to_string()),
        (
            "PARAF_CA_ALIAS",
            format!("alias/{}/ca", common::unique("paraf-test")),
        ),
    ];
    let config = Config::from_lookup(Function::Setup, |n| {
        vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
    });
    let setup = config.and_then(|c| paraf_fn_setup::setup(&c, &clients));
    World {
        handler: Handler::new(setup),
        auth: Auth::new(table, Arc::new(SystemClock)),
    }
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

fn admin_payload() -> Value {
    json!({"admin": {
        "nip": "198503122010011003",
        "email": "it@contoh.go.id",
        "name": "Admin Contoh",
        "password": "rahasia-sekali",
    }})
}

async fn counts(auth: &Auth) -> (usize, usize) {
    let units = auth.org().units().await.expect("units").len();
    let (employees, more) = auth
        .org()
        .employees(None, 100, None)
        .await
        .expect("employees");
    assert!(more.is_none(), "fewer than 100 employees");
    (units, employees.len())
}

fn error_of(r: Result<Value, Diagnostic>) -> Diagnostic {
    match r {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(d) => d,
    }
}

#[tokio::test]
async fn the_first_admin_is_created_with_the_ca_and_can_log_in() {
    let w = world().await;
    let out = w
        .handler
        .handle(event(admin_payload()))
        .await
        .expect("set up");
    assert_eq!(out["mode"], "admin");
    assert_eq!(
        (out["units"].clone(), out["employees"].clone()),
        (json!(1), json!(1))
    );
    let subject = out["caSubject"].as_str().expect("CA subject");
    assert!(subject.contains(&format!("CN={ORG} Root CA")), "{subject}");
    let admin = w
        .auth
        .authenticate("it@contoh.go.id", "rahasia-sekali", None)
        .await
        .expect("the admin logs in");
    assert_eq!(out["adminId"], admin.id.as_str());
    assert!(admin.has_role(paraf_core::Role::Admin));
    assert!(
        !out.to_string().contains("rahasia-sekali"),
        "no password in {out}"
    );
}

#[tokio::test]
async fn a_second_invocation_is_refused_as_already_set_up_and_changes_nothing() {
    let w = world().await;
    w.handler
        .handle(event(admin_payload()))
        .await
        .expect("first run");
    let before = counts(&w.auth).await;
    let mut other = admin_payload();
    other["admin"]["nip"] = json!("199001012015031001");
    other["admin"]["email"] = json!("lain@contoh.go.id");
    let e = error_of(w.handler.handle(event(other)).await);
    assert_eq!(e.error_type, ERROR_ALREADY_SET_UP, "{}", e.error_message);
    let e = error_of(
        w.handler
            .handle(event(
                json!({"demo": true, "iUnderstandThisIsDemoData": true}),
            ))
            .await,
    );
    assert_eq!(e.error_type, ERROR_ALREADY_SET_UP, "{}", e.error_message);
    assert_eq!(counts(&w.auth).await, before);
    assert!(w
        .auth
        .org()
        .find_employee("lain@contoh.go.id")
        .await
        .expect("find")
        .is_none());
}

#[tokio::test]
async fn the_demo_loads_only_with_its_explicit_flag() {
    let w = world().await;
    let e = error_of(w.handler.handle(event(json!({"demo": true}))).await);
    assert_eq!(e.error_type, ERROR_INVALID_PAYLOAD);
    assert!(
        e.error_message.contains("iUnderstandThisIsDemoData"),
        "{}",
        e.error_message
    );
    assert_eq!(counts(&w.auth).await, (0, 0));

    let out = w
        .handler
        .handle(event(
            json!({"demo": true, "iUnderstandThisIsDemoData": true}),
        ))
        .await
        .expect("demo loaded");
    assert_eq!(out["mode"], "demo");
    let (units, employees) = counts(&w.auth).await;
    assert_eq!(out["units"], units);
    assert_eq!(out["employees"], employees);
    assert!(units > 1 && employees >= 25, "{out}");
    w.auth
        .authenticate(
            "admin@demo.paraf.test",
            paraf_core::demo::DEMO_PASSWORD,
            None,
        )
        .await
        .expect("the demo admin logs in");
}

#[tokio::test]
async fn a_bad_payload_names_the_field_and_writes_nothing() {
    let w = world().await;
    let cases = [
        (json!("admin"), "payload must be"),
        (json!({}), "payload must be"),
        (json!({"admn": {}}), "`admn`"),
        (json!({"admin": "x"}), "`admin`"),
        (
            json!({"admin": {"nip": "198503122010011003", "email": "it@contoh.go.id", "name": "A"}}),
            "`admin.password` is missing",
        ),
        (
            json!({"admin": {"nip": 1, "email": "e", "name": "A", "password": "p"}}),
            "`admin.nip` must be a string",
        ),
        (
            json!({"admin": {"nip": "123", "email": "it@contoh.go.id", "name": "A", "password": "rahasia-sekali"}}),
            "`admin.nip`",
        ),
        (
            json!({"admin": {"nip": "198503122010011003", "email": "it@contoh.go.id", "name": "A", "password": "short"}}),
            "`admin.password`",
        ),
        (
            json!({"demo": "yes", "iUnderstandThisIsDemoData": true}),
            "`demo`",
        ),
        (json!({"demo": true, "admin": {}}), "`demo`"),
    ];
    for (payload, named) in cases {
        let e = error_of(w.handler.handle(event(payload.clone())).await);
        assert_eq!(e.error_type, ERROR_INVALID_PAYLOAD, "{payload}");
        assert!(
            e.error_message.contains(named),
            "{payload}: {} does not name {named}",
            e.error_message
        );
    }
    assert_eq!(counts(&w.auth).await, (0, 0));
}

#[tokio::test]
async fn missing_configuration_fails_every_invocation_as_misconfigured() {
    let clients = common::Moto::shared().clients().await;
    let setup = Config::from_lookup(Function::Setup, |n| {
        (n == "PARAF_TABLE_NAME").then(|| "paraf-setup-unused".to_string())
    })
    .and_then(|c| paraf_fn_setup::setup(&c, &clients));
    let handler = Handler::new(setup);
    let e = error_of(handler.handle(event(admin_payload())).await);
    assert_eq!(e.error_type, paraf_aws::config::ERROR_MISCONFIGURED);
    assert!(
        e.error_message.contains("PARAF_ORG_NAME"),
        "{}",
        e.error_message
    );
    assert!(
        e.error_message.contains("PARAF_CA_ALIAS"),
        "{}",
        e.error_message
    );
}
