//! The `sign` function driven in-process with the payload the approval workflow's `Sign`
//! state sends (`tests/fixtures`), over DynamoDB, KMS and S3 on moto: the organisation CA
//! is created on first use, the document rendered, signed with KMS keys and archived.
//!
//! A travel order (`request.service == "sppd"`) is finalised the same way: its SPT and
//! SPPD are signed, archived, the order approved and the travellers mailed through SES.
//!
//! moto signs KMS `DIGEST` requests wrongly (crates/paraf-aws/tests/signer_contract.rs),
//! so no signature value is checked here: the travel test checks everything else
//! paraf_pdf's verifier reports (byte range, digest, chain to the KMS CA, signer) and
//! that each signing certificate holds a KMS key's public key; the embedded adapters'
//! sign-task test checks the signatures themselves with pdfsig and pyHanko.

#[path = "../../../crates/paraf-aws/tests/common/mod.rs"]
mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lambda_runtime::{Context, LambdaEvent};
use paraf_aws::config::{Config, Function};
use paraf_aws::AwsClients;
use paraf_core::archive::{Archive, SearchFilter};
use paraf_core::travel::{date_str, Budget, OrderInput, OrderStatus, Place, Travel};
use paraf_core::{
    Blobs, ExecutionDescription, HistoryEvent, Org, Principal, Signer, SystemClock, Table,
    Workflows, WorkflowsError, WIB,
};
use paraf_pdf::{ChangeKind, Modification};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

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

    fn var(&self, name: &str) -> String {
        self.vars
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} is set"))
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

/// Step Functions as far as submitting a travel order needs it: the approval execution
/// starts, and its input is kept (the `Sign` state passes `request`, `chain` and
/// `requester` on from it). Nothing else is reached here.
#[derive(Default)]
struct Started(Mutex<Vec<(String, String, Value)>>);

#[async_trait]
impl Workflows for Started {
    async fn start_execution(
        &self,
        state_machine: &str,
        name: &str,
        input: Value,
    ) -> Result<String, WorkflowsError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push((
            state_machine.to_string(),
            name.to_string(),
            input,
        ));
        Ok(format!(
            "arn:aws:states:us-east-1:123456789012:execution:paraf-approval:{name}"
        ))
    }
    async fn send_task_success(&self, _: &str, _: Value) -> Result<(), WorkflowsError> {
        unreachable!("no task is answered in this test")
    }
    async fn send_task_failure(&self, _: &str, _: &str, _: &str) -> Result<(), WorkflowsError> {
        unreachable!("no task is answered in this test")
    }
    async fn send_task_heartbeat(&self, _: &str) -> Result<(), WorkflowsError> {
        unreachable!("no task is answered in this test")
    }
    async fn describe_execution(&self, id: &str) -> Result<ExecutionDescription, WorkflowsError> {
        Err(WorkflowsError::ExecutionDoesNotExist(id.to_string()))
    }
    async fn get_execution_history(&self, id: &str) -> Result<Vec<HistoryEvent>, WorkflowsError> {
        Err(WorkflowsError::ExecutionDoesNotExist(id.to_string()))
    }
    async fn stop_execution(&self, _: &str, _: &str, _: &str) -> Result<(), WorkflowsError> {
        unreachable!("no execution is stopped in this test")
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The mails moto's SES recorded that mention `needle`, each as its JSON text.
async fn mails_about(needle: &str) -> Vec<String> {
    let url = format!("{}/moto-api/data.json", common::Moto::shared().endpoint);
    let data: Value = reqwest::get(&url)
        .await
        .expect("moto data")
        .json()
        .await
        .expect("moto data is JSON");
    fn collect(v: &Value, needle: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) if m.contains_key("subject") => {
                let text = v.to_string();
                if text.contains(needle) {
                    out.push(text);
                }
            }
            Value::Object(m) => m.values().for_each(|x| collect(x, needle, out)),
            Value::Array(a) => a.iter().for_each(|x| collect(x, needle, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(&data["ses"], needle, &mut out);
    out
}

/// The documents of `doc_type` in the archive (each test has a table of its own).
async fn archived(archive: &Archive, doc_type: &str) -> Vec<String> {
    let filter = SearchFilter {
        doc_type: Some(doc_type.to_string()),
        ..Default::default()
    };
    let (docs, _) = archive.search(&filter, 50, None).await.expect("search");
    docs.into_iter().map(|d| d.id).collect()
}

#[tokio::test]
async fn a_travel_order_is_finalised_on_aws_signed_with_kms_archived_in_s3_and_mailed_through_ses()
{
    let w = world().await;
    common::ses_identity(&w.clients, &w.var("PARAF_MAIL_FROM")).await;
    let travel = Travel::new(w.table.clone(), Arc::new(SystemClock));
    let staf = travel
        .org()
        .find_employee("staf@demo.paraf.test")
        .await
        .expect("lookup")
        .expect("demo employee");
    let who = Principal::of(&staf);
    let today = travel.today();
    let draft = travel
        .create_draft(
            &who,
            OrderInput {
                pelaksana: vec![staf.email.to_string()],
                maksud: "Rapat koordinasi logistik pemilu".into(),
                alat_angkut: "kereta api".into(),
                tempat_tujuan: Some(Place {
                    provinsi: "DKI Jakarta".into(),
                    kota: "Jakarta Pusat".into(),
                }),
                tanggal_berangkat: Some(date_str(today)),
                tanggal_kembali: Some(date_str(today + Duration::days(1))),
                anggaran: Some(Budget {
                    instansi: "Sekretariat KPU Provinsi Jawa Barat".into(),
                    akun: paraf_core::demo::DEMO_TRAVEL_ACCOUNT.into(),
                }),
                ..Default::default()
            },
        )
        .await
        .expect("draft");
    let workflows = Started::default();
    let order = travel
        .submit(&draft.id, &who, &workflows)
        .await
        .expect("submitted");
    assert_eq!(order.status, OrderStatus::Submitted);
    assert_eq!(order.chain.len(), 4, "kasubag, kabag, PPK, Sekretaris");
    let execution_id = order.execution_id.clone().expect("execution started");
    let execution_name = order.execution_name.clone().expect("execution named");

    // The payload of the approval workflow's `Sign` state, no decision recorded: each
    // step's assignee signs.
    let signed_at = OffsetDateTime::now_utc();
    let payload = json!({
        "kind": "sign",
        "executionId": execution_id,
        "signedAt": signed_at.format(&Rfc3339).expect("RFC 3339"),
        "request": {
            "service": "sppd",
            "order": order.id,
            "id": execution_name,
            "subject": order.subject(),
            "document": "Surat Tugas dan SPPD",
            "requesterName": order.requester_name,
            "subjectPath": format!("/sppd/{}", order.id),
            "editPath": format!("/sppd/{}/ubah", order.id),
        },
        "chain": order.chain,
        "requester": order.requester_id,
    });
    {
        let started = workflows.0.lock().unwrap_or_else(|p| p.into_inner());
        let [(_, name, input)] = started.as_slice() else {
            panic!("one execution started: {started:?}");
        };
        assert_eq!(name, &execution_name);
        for part in ["request", "chain", "requester"] {
            assert_eq!(payload[part], input[part], "{part} as the execution got it");
        }
    }

    let out = w
        .cold_start()
        .handle(event(&payload.to_string()))
        .await
        .expect("finalised");
    let year = signed_at.to_offset(WIB).year();
    let spt_number = format!("1/KU.03-ST/32/{year}");
    assert_eq!(out["number"], spt_number.as_str(), "{out}");
    let spt_id = out["document_id"]
        .as_str()
        .expect("document id")
        .to_string();

    let o = travel.load(&order.id).await.expect("order");
    assert_eq!(o.status, OrderStatus::Approved);
    assert_eq!(o.documents.spt.as_deref(), Some(spt_id.as_str()));
    assert_eq!(o.documents.sppd.len(), 1, "one SPPD per traveller");
    assert_eq!(o.numbers.spt.as_deref(), Some(spt_number.as_str()));
    assert_eq!(o.numbers.sppd, [format!("1/KU.03-SPPD/32/{year}")]);

    // The SPT in S3: initialled by the first three of the chain, signed by the
    // Sekretaris, every signature made with the signer's KMS key.
    let blobs: Arc<dyn Blobs> = Arc::new(paraf_aws::S3Blobs::new(
        w.clients.s3.clone(),
        w.bucket.clone(),
    ));
    let archive = Archive::new(w.table.clone(), blobs.clone(), Arc::new(SystemClock));
    let spt = archive.get(&spt_id).await.expect("SPT archived");
    assert_eq!(spt.doc_type, "spt");
    assert_eq!(spt.number.as_deref(), Some(spt_number.as_str()));
    assert_eq!(spt.sha256, out["sha256"].as_str().expect("sha256"));
    let (_, pdf) = blobs.get(&spt.blob_key).await.expect("PDF in S3");
    let config = Config::from_lookup(Function::Sign, |n| {
        w.vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone())
    })
    .expect("configured");
    let signer = config
        .signer(&w.clients, w.table.clone())
        .expect("signing configured");
    let root = signer.root_certificate().await.expect("KMS CA root");
    let report = paraf_pdf::verify(&pdf, &[root]).expect("verifiable PDF");
    assert_eq!(report.signatures.len(), 4, "{report:#?}");
    let pdf_text = String::from_utf8_lossy(&pdf);
    let prefix = w.var("PARAF_KMS_ALIAS_PREFIX");
    for (i, (s, step)) in report.signatures.iter().zip(&o.chain).enumerate() {
        let emp = travel.org().employee(&step.assignee).await.expect("signer");
        let field = if i == 3 { "TTE" } else { "Paraf" };
        assert_eq!(s.field_name, format!("{field}{}", i + 1));
        assert_eq!(s.signer_nip.as_deref(), Some(emp.nip.to_string().as_str()));
        assert!(s.byte_range_ok && s.digest_ok, "intact: {s:#?}");
        assert!(s.trusted, "certified by the KMS CA: {s:#?}");
        assert!(s.signing_certificate_v2 && s.certificate_valid_at_signing_time);
        // moto signs DIGEST requests over SHA-256(digest) (docs/testing.md): the value cannot
        // verify. If this fails, moto was fixed: require `report.all_valid()` instead.
        assert!(!s.signature_ok, "moto now signs KMS digests right");
        // So every later signature counts as a broken one added; apart from those,
        // nothing may have changed after each signature.
        for change in &s.changes {
            assert!(
                matches!(
                    change.kind,
                    ChangeKind::SignatureAdded { .. } | ChangeKind::BrokenSignatureAdded { .. }
                ),
                "signature {i}: only signatures were added after it: {change:#?}"
            );
        }
        if i == 3 {
            assert_eq!(s.modification, Modification::None, "{s:#?}");
        } else {
            assert_eq!(
                s.changes.len(),
                3 - i,
                "one change per later signature: {s:#?}"
            );
        }
        let key = w
            .clients
            .kms
            .get_public_key()
            .key_id(format!("{prefix}{}", paraf_tasks::sign::key_id_for(&emp)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("KMS key of {}: {e:?}", emp.name));
        let spki = key.public_key().expect("public key").as_ref();
        assert!(
            pdf_text.contains(&upper_hex(spki)),
            "signature {} is certified for {}'s KMS key",
            i + 1,
            emp.name
        );
    }

    // The traveller's mail went out through SES (the order id is in its link).
    let mails = mails_about(&o.id).await;
    let [mail] = mails.as_slice() else {
        panic!("one mail about the order: {mails:#?}");
    };
    assert!(
        mail.contains("staf@demo.paraf.test"),
        "to the traveller: {mail}"
    );
    assert!(mail.contains(&spt_number), "names the SPT: {mail}");

    // A retry by Step Functions (another cold start) finds the documents.
    let again = w
        .cold_start()
        .handle(event(&payload.to_string()))
        .await
        .expect("retry");
    assert_eq!(again, out);
    assert_eq!(archived(&archive, "spt").await, [spt_id]);
    assert_eq!(archived(&archive, "sppd").await, o.documents.sppd);
    let after = travel.load(&order.id).await.expect("order");
    assert_eq!(after.numbers, o.numbers, "numbers allocated once");
    assert_eq!(after.documents, o.documents);
    assert_eq!(
        mails_about(&o.id).await.len(),
        1,
        "the retry mails no one again"
    );
}
