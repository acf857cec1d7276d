//! The app under test: the real SQLite `Table` in a temp dir, and small in-memory
//! Blobs / Mailer / Signer (no HTTP route uses them yet beyond file links); for the
//! workflow tests, an outbox that keeps every mail and the approval glue on the local
//! ASL interpreter.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use paraf_core::approvals::{Approvals, NewTask, TaskKind};
use paraf_core::{
    BlobInfo, BlobPage, Blobs, BlobsError, FixedClock, KeyInfo, Mail, Mailer, MailerError,
    NewEmployee, NewUnit, PutBlob, Signer, SignerError, SubjectName,
};
use paraf_http::{router, AppState, HttpConfig, JwtKeys};
use paraf_local::table::SqliteTable;
use paraf_local::workflows::{handler_fn, Handlers, LocalWorkflows, TaskContext, TaskError};
use serde_json::{json, Value};
use tower::ServiceExt;

#[derive(Default)]
pub struct MemBlobs(Mutex<BTreeMap<String, (BlobInfo, Vec<u8>)>>);

#[async_trait]
impl Blobs for MemBlobs {
    async fn put(&self, blob: PutBlob) -> Result<BlobInfo, BlobsError> {
        let info = BlobInfo {
            key: blob.key.clone(),
            size: blob.bytes.len() as u64,
            sha256: paraf_core::ports::blobs::sha256_hex(&blob.bytes),
            content_type: blob.content_type,
            metadata: blob.metadata,
            created: time::OffsetDateTime::UNIX_EPOCH,
            retain_until: blob.retain_until,
        };
        self.0
            .lock()
            .unwrap()
            .insert(blob.key, (info.clone(), blob.bytes));
        Ok(info)
    }
    async fn get(&self, key: &str) -> Result<(BlobInfo, Vec<u8>), BlobsError> {
        self.0
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .ok_or_else(|| BlobsError::NotFound(key.into()))
    }
    async fn head(&self, key: &str) -> Result<BlobInfo, BlobsError> {
        self.get(key).await.map(|(i, _)| i)
    }
    async fn list(
        &self,
        _prefix: &str,
        _limit: u32,
        _cursor: Option<String>,
    ) -> Result<BlobPage, BlobsError> {
        Err(BlobsError::Unavailable("not in tests".into()))
    }
    async fn delete(&self, key: &str) -> Result<(), BlobsError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
    async fn download_link(&self, key: &str, _expires_in: Duration) -> Result<String, BlobsError> {
        Ok(format!("/api/v1/files/{key}"))
    }
}

pub struct NoMail;
#[async_trait]
impl Mailer for NoMail {
    async fn send(&self, _mail: Mail) -> Result<String, MailerError> {
        Err(MailerError::Unavailable("not in tests".into()))
    }
}

/// Keeps every mail sent.
#[derive(Default)]
pub struct Outbox(pub Mutex<Vec<Mail>>);

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: Mail) -> Result<String, MailerError> {
        let mut v = self.0.lock().unwrap();
        v.push(mail);
        Ok(format!("m{}", v.len()))
    }
}

fn task_error(e: impl std::fmt::Display) -> TaskError {
    TaskError::new("Paraf.NotifyFailed", e.to_string())
}

/// `workflows/approval.asl.json` on the local interpreter with the glue `paraf serve`
/// registers, over the domain: notify creates the task and mails its link, escalate marks
/// the step overdue, sign answers a fixed document.
pub fn approval_workflows(
    table: Arc<SqliteTable>,
    clock: Arc<FixedClock>,
    outbox: Arc<Outbox>,
) -> LocalWorkflows {
    let approvals = Approvals::new(table.clone(), clock.clone());
    let mut handlers = Handlers::new();
    let (a, m) = (approvals.clone(), outbox);
    handlers.insert(
        "notify".into(),
        handler_fn(move |p: Value, ctx: TaskContext| {
            let (a, m) = (a.clone(), m.clone());
            async move {
                let kind = TaskKind::parse(p["kind"].as_str().unwrap_or("")).unwrap();
                let resubmit = kind == TaskKind::Resubmit;
                let (t, _) = a
                    .create(NewTask {
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
                a.mail_once(t, m.as_ref(), "http://paraf.test")
                    .await
                    .map_err(task_error)?;
                Ok(json!({}))
            }
        }),
    );
    let a = approvals;
    handlers.insert(
        "escalate".into(),
        handler_fn(move |p: Value, _ctx: TaskContext| {
            let a = a.clone();
            async move {
                a.overdue(
                    p["executionId"].as_str().unwrap(),
                    p["step"]["step"].as_u64().unwrap() as u32,
                    TaskKind::ApprovalStep,
                    p["reason"].as_str().unwrap_or(""),
                )
                .await
                .map_err(task_error)?;
                Ok(json!({}))
            }
        }),
    );
    handlers.insert(
        "sign".into(),
        handler_fn(|_p: Value, _ctx: TaskContext| async move { Ok(json!({"document_id": "d"})) }),
    );
    let wf = LocalWorkflows::new(table, handlers, clock);
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/approval.asl.json"),
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
    wf
}

/// The app state over `table` with the outbox as mailer and `wf` as workflow engine.
pub fn workflow_state(
    table: Arc<SqliteTable>,
    clock: Arc<FixedClock>,
    outbox: Arc<Outbox>,
    wf: &LocalWorkflows,
) -> AppState {
    AppState::new(
        table,
        Arc::new(MemBlobs::default()),
        outbox,
        Arc::new(NoSigner),
        clock,
        JwtKeys::generate(),
        HttpConfig::local("http://paraf.test"),
    )
    .with_workflows(Arc::new(wf.clone()))
}

/// One request through the router.
pub async fn send(state: &AppState, req: Request<Body>) -> Resp {
    let res = router(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A bearer token through the API's login.
pub async fn token(state: &AppState, login: &str, password: &str) -> String {
    let r = send(
        state,
        json_req(
            "POST",
            "/api/v1/auth/login",
            None,
            &json!({"login": login, "password": password}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["token"].as_str().unwrap().to_string()
}

/// A web session cookie through the login form.
pub async fn session(state: &AppState, login: &str, password: &str) -> String {
    let form = send(state, get("/login", None)).await;
    let csrf = hidden(&form.body, "csrf").unwrap();
    let post = Request::builder()
        .method("POST")
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("paraf_login_csrf={csrf}"))
        .body(Body::from(format!(
            "login={}&password={password}&csrf={csrf}&next=%2F",
            login.replace('@', "%40")
        )))
        .unwrap();
    let r = send(state, post).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.cookies()["paraf_session"].clone()
}

/// A page request in a web session.
pub fn page_get(session: &str, path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::COOKIE, format!("paraf_session={session}"))
        .body(Body::empty())
        .unwrap()
}

/// A urlencoded form posted in a web session.
pub fn form_post(session: &str, path: &str, body: String) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("paraf_session={session}"))
        .body(Body::from(body))
        .unwrap()
}

pub struct NoSigner;
#[async_trait]
impl Signer for NoSigner {
    async fn create_key(&self, _: &str, _: &SubjectName) -> Result<KeyInfo, SignerError> {
        Err(SignerError::Unavailable("not in tests".into()))
    }
    async fn chain(&self, _: &str) -> Result<KeyInfo, SignerError> {
        Err(SignerError::Unavailable("not in tests".into()))
    }
    async fn sign_digest(&self, _: &str, _: &[u8; 32]) -> Result<Vec<u8>, SignerError> {
        Err(SignerError::Unavailable("not in tests".into()))
    }
    async fn root_certificate(&self) -> Result<Vec<u8>, SignerError> {
        Err(SignerError::Unavailable("not in tests".into()))
    }
}

pub const ADMIN_NIP: &str = "198503122010011003";
pub const ADMIN_EMAIL: &str = "admin@kpu-jabar.go.id";
pub const STAFF_NIP: &str = "199001012015032001";
pub const STAFF_EMAIL: &str = "siti@kpu-jabar.go.id";
pub const PASSWORD: &str = "rahasia-sekali";

pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    pub blobs: Arc<MemBlobs>,
    pub admin_id: String,
    pub staff_id: String,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Saturday 28 November 2026, 09:00 WIB; one unit, an admin and a staff member.
    pub async fn new() -> TestApp {
        let clock = Arc::new(FixedClock::new(
            time::macros::datetime!(2026-11-28 02:00 UTC),
        ));
        let blobs = Arc::new(MemBlobs::default());
        let dir = tempfile::tempdir().unwrap();
        let table = SqliteTable::open(&dir.path().join("paraf.db")).unwrap();
        let state = AppState::new(
            Arc::new(table),
            blobs.clone(),
            Arc::new(NoMail),
            Arc::new(NoSigner),
            clock.clone(),
            JwtKeys::generate(),
            HttpConfig::local("http://paraf.test"),
        );
        let unit = state
            .org
            .create_unit(NewUnit {
                code: "PIMP".into(),
                name: "Pimpinan".into(),
                kind: "pimpinan".into(),
                parent_id: None,
            })
            .await
            .unwrap();
        let admin = state
            .org
            .create_employee(NewEmployee {
                nip: ADMIN_NIP.into(),
                name: "Budi Santoso".into(),
                email: ADMIN_EMAIL.into(),
                jabatan: "Kepala Subbagian Umum".into(),
                unit: unit.code.clone(),
                roles: vec!["admin".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let staff = state
            .org
            .create_employee(NewEmployee {
                nip: STAFF_NIP.into(),
                name: "Siti Rahmawati".into(),
                email: STAFF_EMAIL.into(),
                jabatan: "Pengadministrasi Umum".into(),
                unit: unit.code,
                supervisor: Some(admin.id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        state.auth.set_password(&admin.id, PASSWORD).await.unwrap();
        state.auth.set_password(&staff.id, PASSWORD).await.unwrap();
        TestApp {
            state,
            clock,
            blobs,
            admin_id: admin.id,
            staff_id: staff.id,
            _dir: dir,
        }
    }

    pub fn app(&self) -> Router {
        router(self.state.clone())
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        send(&self.state, req).await
    }

    pub async fn login(&self, login: &str) -> String {
        token(&self.state, login, PASSWORD).await
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// `name=value` pairs of every Set-Cookie.
    pub fn cookies(&self) -> BTreeMap<String, String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|c| c.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

pub fn json_req(method: &str, uri: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::from(body.to_string())).unwrap()
}

pub fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::empty()).unwrap()
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    rest.split('"').next().map(str::to_string)
}
