//! The `sign` function driven in-process with the payload the approval workflow's `Sign`
//! state sends (`tests/fixtures`), over DynamoDB, KMS and S3 on moto: the organisation CA
//! is created on first use, the document rendered, signed with KMS keys and archived.
//!
//! moto signs KMS `DIGEST` requests wrongly (crates/paraf-aws/tests/signer_contract.rs),
//! so the signatures are not checked here; the embedded adapters' sign-task test checks
//! them with pdfsig and pyHanko.

#[path = "../../../crates/paraf-aws/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use lambda_runtime::{Context, LambdaEvent};
use paraf_aws::config::{Config, Function};
use paraf_aws::AwsClients;
use paraf_core::{Blobs, Org, SystemClock, Table};
use serde_json::Value;

const SIGN: &str = include_str!("fixtures/sfn-approval-sign.json");

struct World {
    clients: AwsClients,
    vars: Vec<(&'static str, String)>,
    table: Arc<dyn Table>,
    bucket: String,
    payload: String,
}

impl World {
    /// The handler as one cold start of `main` builds it.
    fn cold_start(&self) -> paraf_fn_sign::Handler {
        let context = Config::from_lookup(Function::Sign, |n| {
            self.vars
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.clone())
        })
        .and_then(|c| paraf_fn_sign::context(&c, &self.clients));
        paraf_fn_sign::Handler::new(context)
    }
}

async fn world() -> World {
    let clients = common::Moto::shared().clients().await;
    let (name, table) = common::demo_table(&clients, "paraf-sign").await;
    let bucket = common::unique("paraf-archive");
    paraf_aws::create_archive_bucket(&clients.s3, &bucket)
        .await
        .expect("create bucket");
    let org = Org::new(table.clone(), Arc::new(SystemClock));
    let mut ids = Vec::new();
    for who in [
        "kabag@demo.paraf.test",
        "sekretaris@demo.paraf.test",
        "staf@demo.paraf.test",
    ] {
        ids.push(
            org.find_employee(who)
                .await
                .expect("lookup")
                .expect("demo employee")
                .id,
        );
    }
    let prefix = format!("alias/{}/", common::unique("paraf"));
    let vars = vec![
        ("PARAF_TABLE_NAME", name),
        ("PARAF_ARCHIVE_BUCKET", bucket.clone()),
        (
            "PARAF_PUBLIC_URL",
            "https://paraf.kpu-jabar.go.id".to_string(),
        ),
        (
            "PARAF_ORG_NAME",
            "KPU Provinsi Jawa Barat (demo)".to_string(),
        ),
        ("PARAF_CA_ALIAS", format!("{prefix}ca")),
        ("PARAF_KMS_ALIAS_PREFIX", prefix),
        ("PARAF_MAIL_FROM", "paraf@kpu-jabar.go.id".to_string()),
    ];
    let payload = SIGN
        .replace("$REVIEWER", &ids[0])
        .replace("$SIGNER", &ids[1])
        .replace("$REQUESTER", &ids[2]);
    World {
        clients,
        vars,
        table,
        bucket,
        payload,
    }
}

fn event(payload: &str) -> LambdaEvent<Value> {
    LambdaEvent::new(
        serde_json::from_str(payload).expect("JSON payload"),
        Context::default(),
    )
}

#[tokio::test]
async fn a_sign_step_archives_a_signed_pdf_in_s3_once() {
    let w = world().await;
    let out = w
        .cold_start()
        .handle(event(&w.payload))
        .await
        .expect("signed");
    let id = out["document_id"]
        .as_str()
        .expect("document id")
        .to_string();
    assert_eq!(out["number"], "123/PL.01-ST/32/2026");

    let blobs: Arc<dyn Blobs> = Arc::new(paraf_aws::S3Blobs::new(
        w.clients.s3.clone(),
        w.bucket.clone(),
    ));
    let archive =
        paraf_core::archive::Archive::new(w.table.clone(), blobs.clone(), Arc::new(SystemClock));
    let doc = archive.get(&id).await.expect("archived");
    assert_eq!(doc.sha256, out["sha256"].as_str().unwrap());
    assert_eq!(
        doc.signers.len(),
        2,
        "reviewer's paraf and the final signature"
    );
    let (_, pdf) = blobs.get(&doc.blob_key).await.expect("PDF in S3");
    assert!(pdf.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&pdf);
    assert_eq!(
        text.matches("/Type /Sig").count() + text.matches("/Type/Sig").count(),
        2,
        "two signature dictionaries"
    );

    // Another cold start (the CA now exists: opened, not created) retried by Step
    // Functions finds the same document.
    let again = w
        .cold_start()
        .handle(event(&w.payload))
        .await
        .expect("retry");
    assert_eq!(again, out);
}

#[tokio::test]
async fn an_unknown_signer_fails_with_the_sign_error_name() {
    let w = world().await;
    let payload = w.payload.replace(
        &serde_json::from_str::<Value>(&w.payload).unwrap()["chain"][1]["assignee"]
            .as_str()
            .unwrap()
            .to_string(),
        "nobody-at-all",
    );
    let err = w
        .cold_start()
        .handle(event(&payload))
        .await
        .expect_err("unknown employee");
    assert_eq!(err.error_type, paraf_tasks::sign::ERROR_INVALID);
    let err = w
        .cold_start()
        .handle(event(r#"{"kind": "sign"}"#))
        .await
        .expect_err("no request");
    assert_eq!(err.error_type, "Paraf.SignInvalid");
}

#[tokio::test]
async fn without_configuration_the_sign_step_fails_as_misconfigured() {
    let clients = common::Moto::shared().clients().await;
    let handler = paraf_fn_sign::Handler::new(
        Config::from_lookup(Function::Sign, |_| None)
            .and_then(|c| paraf_fn_sign::context(&c, &clients)),
    );
    let err = handler
        .handle(event(SIGN))
        .await
        .expect_err("misconfigured");
    assert_eq!(err.error_type, "Paraf.Misconfigured");
    for v in [
        "PARAF_TABLE_NAME",
        "PARAF_ARCHIVE_BUCKET",
        "PARAF_MAIL_FROM",
        "PARAF_PUBLIC_URL",
        "PARAF_ORG_NAME",
        "PARAF_KMS_ALIAS_PREFIX",
        "PARAF_CA_ALIAS",
    ] {
        assert!(
            err.error_message.contains(v),
            "{v} in {}",
            err.error_message
        );
    }
    assert!(!err.error_message.contains("PARAF_TSA_URL"), "optional");
}
