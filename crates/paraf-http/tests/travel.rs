//! e-SPPD through the router: drafts, access, submission rules, SBM versions, exports and
//! the public endorsement page, on the demo organisation with the real SQLite table and
//! the real ASL interpreter running `workflows/approval.asl.json`.

mod support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use paraf_core::approvals::{Approvals, NewTask, TaskKind};
use paraf_core::travel::Travel;
use paraf_core::{FixedClock, Mail, Mailer, MailerError};
use paraf_http::{router, AppState, HttpConfig, JwtKeys};
use paraf_local::table::SqliteTable;
use paraf_local::workflows::{handler_fn, Handlers, LocalWorkflows, TaskContext, TaskError};
use serde_json::{json, Value};
use support::{get, json_req, MemBlobs, NoSigner, Resp};
use tower::ServiceExt;

#[derive(Default)]
struct Outbox(Mutex<Vec<Mail>>);

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: Mail) -> Result<String, MailerError> {
        let mut v = self.0.lock().unwrap();
        v.push(mail);
        Ok(format!("m{}", v.len()))
    }
}

struct T {
    state: AppState,
    outbox: Arc<Outbox>,
    wf: LocalWorkflows,
    _dir: tempfile::TempDir,
}

fn task_error(e: impl std::fmt::Display) -> TaskError {
    TaskError::new("Paraf.NotifyFailed", e.to_string())
}

fn login(local: &str) -> String {
    format!("{local}@{}", paraf_core::demo::DEMO_DOMAIN)
}

impl T {
    /// The demo organisation on Saturday 28 November 2026, SBM 2026 saved.
    async fn new() -> T {
        let clock = Arc::new(FixedClock::new(
            time::macros::datetime!(2026-11-28 02:00 UTC),
        ));
        let dir = tempfile::tempdir().unwrap();
        let table: Arc<SqliteTable> =
            Arc::new(SqliteTable::open(&dir.path().join("paraf.db")).unwrap());
        let outbox = Arc::new(Outbox::default());
        let approvals = Approvals::new(table.clone(), clock.clone());
        let mut handlers = Handlers::new();
        let a = approvals.clone();
        handlers.insert(
            "notify".into(),
            handler_fn(move |p: Value, ctx: TaskContext| {
                let a = a.clone();
                async move {
                    let kind = TaskKind::parse(p["kind"].as_str().unwrap_or("")).unwrap();
                    let resubmit = kind == TaskKind::Resubmit;
                    a.create(NewTask {
                        idempotency_key: ctx.idempotency_key,
                        task_token: p["taskToken"].as_str().unwrap().into(),
                        kind,
                        execution_id: p["executionId"].as_str().unwrap().into(),
                        step: p["step"].as_u64().unwrap() as u32,
                        action: if resubmit {
                            "resubmit"
                        } else {
                            p["action"].as_str().unwrap()
                        }
                        .into(),
                        assignee_id: p["assignee"].as_str().unwrap().into(),
                        requester_id: if resubmit {
                            p["assignee"].as_str().unwrap()
                        } else {
                            p["requester"].as_str().unwrap()
                        }
                        .into(),
                        request: p["request"].clone(),
                    })
                    .await
                    .map_err(task_error)?;
                    Ok(json!({}))
                }
            }),
        );
        handlers.insert(
            "escalate".into(),
            handler_fn(|_p: Value, _ctx: TaskContext| async move { Ok(json!({})) }),
        );
        handlers.insert(
            "sign".into(),
            handler_fn(
                |_p: Value, _ctx: TaskContext| async move { Ok(json!({"document_id": "d"})) },
            ),
        );
        let wf = LocalWorkflows::new(table.clone(), handlers, clock.clone());
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../workflows/approval.asl.json"),
        )
        .unwrap();
        let subs = [
            ("NotifyFunctionArn", "notify"),
            ("EscalateFunctionArn", "escalate"),
            ("SignFunctionArn", "sign"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        wf.register("approval", &text, &subs).unwrap();
        let state = AppState::new(
            table.clone(),
            Arc::new(MemBlobs::default()),
            outbox.clone(),
            Arc::new(NoSigner),
            clock.clone(),
            JwtKeys::generate(),
            HttpConfig::local("http://paraf.test"),
        )
        .with_workflows(Arc::new(wf.clone()));
        paraf_core::demo::load(&state.auth).await.unwrap();
        T {
            state,
            outbox,
            wf,
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        use http_body_util::BodyExt;
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn token(&self, local: &str) -> String {
        let r = self
            .send(json_req(
                "POST",
                "/api/v1/auth/login",
                None,
                &json!({"login": login(local), "password": paraf_core::demo::DEMO_PASSWORD}),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["token"].as_str().unwrap().to_string()
    }

    /// A complete draft by `staf` for staf, 7–9 December 2026 to Jakarta.
    async fn draft(&self, tok: &str) -> String {
        let r = self
            .send(json_req(
                "POST",
                "/api/v1/sppd",
                Some(tok),
                &order_input("2026-12-09"),
            ))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()["id"].as_str().unwrap().to_string()
    }
}

fn order_input(kembali: &str) -> Value {
    json!({
        "pelaksana": [login("staf")],
        "maksud": "Rapat koordinasi logistik pemilu",
        "alat_angkut": "kereta api",
        "tempat_tujuan": {"provinsi": "DKI Jakarta", "kota": "Jakarta Pusat"},
        "tanggal_berangkat": "2026-12-07",
        "tanggal_kembali": kembali,
        "anggaran": {"instansi": "KPU Provinsi Jawa Barat", "akun": "524111"}
    })
}

#[tokio::test]
async fn a_draft_is_created_edited_and_read_back() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t.send(get(&format!("/api/v1/sppd/{id}"), Some(&tok))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "draft");
    assert_eq!(v["lama"], 3);
    assert!(v["estimate"]["total"].as_i64().unwrap() > 0, "{v}");
    let mut input = order_input("2026-12-10");
    input["version"] = v["version"].clone();
    input["maksud"] = json!("Rapat koordinasi (diubah)");
    let r = t
        .send(json_req(
            "PUT",
            &format!("/api/v1/sppd/{id}"),
            Some(&tok),
            &input,
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["maksud"], "Rapat koordinasi (diubah)");
    assert_eq!(r.json()["lama"], 4);
    let r = t.send(get("/api/v1/sppd?scope=mine", Some(&tok))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert!(!r.body.contains("token_hash") && !r.body.contains("\"key\""));
}

#[tokio::test]
async fn another_units_staff_gets_403_and_cannot_decide_the_approval() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/submit"),
            Some(&tok),
            &json!({}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "submitted");
    t.wf.run_until_idle().await.unwrap();
    let other = t.token("budi.santoso").await;
    let r = t
        .send(get(&format!("/api/v1/sppd/{id}"), Some(&other)))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The first approver sees the order and its task; the stranger cannot decide it.
    let kasubag = t.token("kasubag").await;
    let r = t
        .send(get(&format!("/api/v1/sppd/{id}"), Some(&kasubag)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let task = r.json()["task_id"]
        .as_str()
        .expect("open task for the kasubag")
        .to_string();
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/tasks/{task}/decision"),
            Some(&other),
            &json!({"decision": "approve"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Returned by the kasubag: the order shows it at once.
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/tasks/{task}/decision"),
            Some(&kasubag),
            &json!({"decision": "return", "note": "lengkapi undangan"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    t.wf.run_until_idle().await.unwrap();
    let stored = Travel::new(t.state.table.clone(), t.state.clock.clone())
        .load(&id)
        .await
        .unwrap();
    assert_eq!(stored.status.as_str(), "returned");
}

#[tokio::test]
async fn a_traveller_cannot_edit_once_submitted() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/submit"),
            Some(&tok),
            &json!({}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t
        .send(json_req(
            "PUT",
            &format!("/api/v1/sppd/{id}"),
            Some(&tok),
            &order_input("2026-12-10"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

#[tokio::test]
async fn submitting_a_return_before_departure_is_422_naming_tanggal_kembali() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/sppd",
            Some(&tok),
            &order_input("2026-12-05"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/submit"),
            Some(&tok),
            &json!({}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.json()["error"]["fields"]["tanggal_kembali"].is_string(),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn sbm_put_by_a_non_admin_is_403_and_by_an_admin_makes_version_2_with_history() {
    let t = T::new().await;
    let staf = t.token("staf").await;
    let r = t.send(get("/api/v1/sbm/2026", Some(&staf))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut input = serde_json::to_value(paraf_core::travel::sbm::demo_rates()).unwrap();
    input["base_version"] = json!(1);
    input["note"] = json!("revisi tarif");
    let r = t
        .send(json_req("PUT", "/api/v1/sbm/2026", Some(&staf), &input))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let admin = t.token("admin").await;
    let r = t
        .send(json_req("PUT", "/api/v1/sbm/2026", Some(&admin), &input))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["version"], 2);
    let r = t.send(get("/api/v1/sbm/2026/history", Some(&admin))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    let r = t.send(get("/api/v1/sbm/2026/history", Some(&staf))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t.send(get("/api/v1/sbm/2031", Some(&staf))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_export_csv_has_the_row_and_the_xlsx_is_a_zip() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/submit"),
            Some(&tok),
            &json!({}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ppk = t.token("ppk").await;
    let r = t
        .send(get(
            "/api/v1/sppd/export?format=csv&month=2026-12",
            Some(&ppk),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(
        r.body.contains("DKI Jakarta") && r.body.contains("524111"),
        "{}",
        r.body
    );
    let res = router(t.state.clone())
        .oneshot(get("/api/v1/sppd/export?format=xlsx", Some(&ppk)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    use http_body_util::BodyExt;
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(bytes.starts_with(b"PK\x03\x04"));
    let r = t
        .send(get("/api/v1/sppd/export?format=pdf", Some(&ppk)))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["format"].is_string());
    let r = t
        .send(get("/api/v1/sppd?scope=all&month=2026-13", Some(&ppk)))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["month"].is_string());
}

#[tokio::test]
async fn scope_all_is_forbidden_for_plain_staff() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let r = t.send(get("/api/v1/sppd?scope=all", Some(&tok))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = t
        .send(get("/api/v1/sppd/export?format=csv", Some(&tok)))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[tokio::test]
async fn the_public_endorsement_page_works_once_and_refuses_a_second_post() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/submit"),
            Some(&tok),
            &json!({}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The chain and the sign task are the approval tests' business: approve directly.
    Travel::new(t.state.table.clone(), t.state.clock.clone())
        .mark_approved(&id, "spt-doc", &["sppd-doc".to_string()])
        .await
        .unwrap();
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/stops"),
            Some(&tok),
            &json!({"tempat": "KPU RI, Jakarta", "tiba": "2026-12-07"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/stops/1/link"),
            Some(&tok),
            &json!({"email": "pejabat@kpu.go.id"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("token_hash"));
    let link = t.outbox.0.lock().unwrap().last().unwrap().links[0].clone();
    let path = link.strip_prefix("http://paraf.test").unwrap().to_string();
    assert!(path.starts_with("/sppd/pengesahan/"));
    let r = t.send(get(&path, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("KPU RI, Jakarta"));
    let post = |body: &str| {
        Request::builder()
            .method("POST")
            .uri(&path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let r = t
        .send(post("nama=Agus+Salim&nip=&jabatan=Kepala+Biro+Logistik"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t.send(post("nama=Orang+Lain&nip=&jabatan=Lain")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = t.send(get(&format!("/api/v1/sppd/{id}"), Some(&tok))).await;
    assert_eq!(r.json()["stops"][0]["endorsement"]["nama"], "Agus Salim");
    // An unknown token shows nothing of any order.
    let r = t.send(get("/sppd/pengesahan/tidakada.1.salah", None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.send(get(&path, None)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(!r.body.contains("Rapat koordinasi") && !r.body.contains("KPU RI"));
}

#[tokio::test]
async fn an_upload_that_is_not_an_image_or_pdf_is_422_naming_file() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let upload = |bytes: &'static [u8], name: &str| {
        let boundary = "XyZ";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Request::builder()
            .method("POST")
            .uri(format!("/api/v1/sppd/{id}/attachments"))
            .header(header::AUTHORIZATION, format!("Bearer {tok}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    let r = t
        .send(upload(b"MZ\x90\x00 not a picture", "virus.exe"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["error"]["fields"]["file"].is_string());
    let r = t.send(upload(b"%PDF-1.7\n1 0 obj\n", "undangan.pdf")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let url = r.json()["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t.send(get(&url, Some(&tok))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(r.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let other = t.token("budi.santoso").await;
    let r = t.send(get(&url, Some(&other))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
