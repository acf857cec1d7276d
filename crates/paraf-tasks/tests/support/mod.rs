//! The e-SPPD world shared by `tests/travel.rs` and `benches/sppd_chain.rs`: the demo
//! organisation in a SQLite table, `workflows/approval.asl.json` run by the local
//! interpreter with the same notify / escalate / sign wiring as `paraf serve`, real P-256
//! signatures by a local CA.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use paraf_core::approvals::{ApprovalTask, TaskKind};
use paraf_core::archive::Archive;
use paraf_core::travel::{date_str, Budget, OrderInput, Place, Travel, TravelOrder};
use paraf_core::{
    Auth, Blobs, Clock, Mail, Mailer, MailerError, Principal, ServiceError, Signer, SystemClock,
    Table, WIB,
};
use paraf_local::blobs::FolderBlobs;
use paraf_local::signer::{LocalCa, LocalSigner};
use paraf_local::table::SqliteTable;
use paraf_local::workflows::{handler_fn, Handlers, LocalWorkflows, TaskContext, TaskError};
use paraf_pdf::render::Letterhead;
use paraf_tasks::definitions;
use paraf_tasks::notify::{Invocation, Notifier};
use paraf_tasks::sign::SignContext;
use time::{Date, Duration};

pub const AKUN: &str = "524111";

/// Every mail sent, in order.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Mail>>);

#[async_trait]
impl Mailer for Recorder {
    async fn send(&self, mail: Mail) -> Result<String, MailerError> {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        v.push(mail);
        Ok(format!("m{}", v.len()))
    }
}

impl Recorder {
    pub fn to(&self, email: &str, subject_part: &str) -> Vec<Mail> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|m| m.to.iter().any(|t| t == email) && m.subject.contains(subject_part))
            .cloned()
            .collect()
    }
}

pub fn task_error(name: &str, cause: impl std::fmt::Display) -> TaskError {
    TaskError::new(name, cause.to_string())
}

pub struct World {
    pub travel: Travel,
    pub wf: LocalWorkflows,
    pub ctx: SignContext,
    pub blobs: Arc<FolderBlobs>,
    pub mails: Arc<Recorder>,
    pub today: Date,
    pub _dir: tempfile::TempDir,
}

pub fn email(local: &str) -> String {
    format!("{local}@{}", paraf_core::demo::DEMO_DOMAIN)
}

pub async fn world() -> World {
    world_on(Arc::new(SystemClock)).await
}

/// The world on `clock` (a [`paraf_core::FixedClock`] to decide at chosen times).
pub async fn world_on(clock: Arc<dyn Clock>) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let table: Arc<dyn Table> =
        Arc::new(SqliteTable::open(&dir.path().join("paraf.sqlite")).expect("table"));
    let auth = Auth::new(table.clone(), clock.clone());
    paraf_core::demo::load(&auth)
        .await
        .expect("demo organisation");
    LocalCa::init(&dir.path().join("pki"), "KPU Provinsi Jawa Barat").expect("CA");
    let signer = Arc::new(LocalSigner::open(&dir.path().join("pki")).expect("signer"));
    let blobs = Arc::new(FolderBlobs::new(
        dir.path().join("blobs"),
        "http://127.0.0.1:1".into(),
        [7u8; 32],
    ));
    let mails = Arc::new(Recorder::default());
    let mailer: Arc<dyn Mailer> = mails.clone();
    let travel = Travel::new(table.clone(), clock.clone());

    // The wiring of `src/runtime.rs` `build_workflows`.
    let notifier = Notifier {
        dispositions: paraf_core::dispositions::Dispositions::new(table.clone(), clock.clone()),
        approvals: travel.approvals().clone(),
        mailer: mailer.clone(),
        base_url: "http://paraf.test".into(),
    };
    let mut handlers = Handlers::new();
    let n = notifier.clone();
    handlers.insert(
        definitions::NOTIFY.into(),
        handler_fn(move |payload, ctx: TaskContext| {
            let n = n.clone();
            async move {
                n.notify(
                    payload,
                    Invocation {
                        idempotency_key: ctx.idempotency_key,
                        task_token: ctx.task_token,
                    },
                )
                .await
                .map_err(|e| task_error(e.name(), &e))
            }
        }),
    );
    let n = notifier;
    handlers.insert(
        definitions::ESCALATE.into(),
        handler_fn(move |payload, _ctx: TaskContext| {
            let n = n.clone();
            async move {
                n.escalate(payload)
                    .await
                    .map_err(|e| task_error(e.name(), &e))
            }
        }),
    );
    let ctx = SignContext {
        org: paraf_core::Org::new(table.clone(), clock.clone()),
        archive: Archive::new(
            table.clone(),
            blobs.clone() as Arc<dyn Blobs>,
            clock.clone(),
        ),
        signer: signer as Arc<dyn Signer>,
        clock: clock.clone(),
        public_base_url: "http://paraf.test".into(),
        letterhead: Letterhead::kpu_jabar(),
        tsa: None,
    };
    let sign_ctx = ctx.clone();
    handlers.insert(
        definitions::SIGN.into(),
        handler_fn(move |payload: serde_json::Value, _ctx: TaskContext| {
            let ctx = sign_ctx.clone();
            let mailer = mailer.clone();
            async move {
                paraf_tasks::travel::run_sign_task(&ctx, Some(mailer), payload)
                    .await
                    .map_err(|e| task_error(e.error_name(), &e))
            }
        }),
    );
    let wf = LocalWorkflows::new(table.clone(), handlers, clock.clone());
    let subs = definitions::local_substitutions(|n| wf.state_machine_arn(n));
    for (name, text) in definitions::definitions() {
        wf.register(name, text, &subs).expect("workflow loads");
    }

    let today = clock.now().to_offset(WIB).date();
    // The demo organisation carries SBM rates for this year and the next.
    World {
        travel,
        wf,
        ctx,
        blobs,
        mails,
        today,
        _dir: dir,
    }
}

impl World {
    pub async fn who(&self, local: &str) -> Principal {
        let emp = self
            .travel
            .org()
            .find_employee(&email(local))
            .await
            .expect("org")
            .unwrap_or_else(|| panic!("no demo employee {local}"));
        Principal::of(&emp)
    }

    pub fn day(&self, offset: i64) -> Date {
        self.today + Duration::days(offset)
    }

    pub fn input(&self, pelaksana: &[&str], from: Date, to: Date) -> OrderInput {
        OrderInput {
            pelaksana: pelaksana.iter().map(|p| email(p)).collect(),
            maksud: "Koordinasi pelaporan keuangan dengan KPU Provinsi Jawa Tengah".into(),
            alat_angkut: "kereta api".into(),
            tempat_tujuan: Some(Place {
                provinsi: "Jawa Tengah".into(),
                kota: "Semarang".into(),
            }),
            tanggal_berangkat: Some(date_str(from)),
            tanggal_kembali: Some(date_str(to)),
            anggaran: Some(Budget {
                instansi: "Sekretariat KPU Provinsi Jawa Barat".into(),
                akun: AKUN.into(),
            }),
            ..Default::default()
        }
    }

    pub async fn draft(
        &self,
        requester: &str,
        pelaksana: &[&str],
        from: Date,
        to: Date,
    ) -> TravelOrder {
        let who = self.who(requester).await;
        self.travel
            .create_draft(&who, self.input(pelaksana, from, to))
            .await
            .expect("draft")
    }

    /// Runs every due step of every execution (notify, sign): deterministic, no sleeping.
    pub async fn settle_workflows(&self) {
        self.wf.run_until_idle().await.expect("interpreter");
    }

    pub async fn submit(&self, id: &str, requester: &str) -> Result<TravelOrder, ServiceError> {
        let who = self.who(requester).await;
        let r = self.travel.submit(id, &who, &self.wf).await;
        self.settle_workflows().await;
        r
    }

    pub async fn order(&self, id: &str) -> TravelOrder {
        let o = self.travel.load(id).await.expect("order");
        self.travel.sync(o).await.expect("sync")
    }

    /// The open approval step of the execution the order runs, if notify has made one
    /// (the interpreter is not driven).
    pub async fn open_task(&self, id: &str) -> Option<ApprovalTask> {
        let o = self.travel.load(id).await.expect("order");
        let exec = o.execution_id.clone().expect("execution started");
        let tasks = self
            .travel
            .approvals()
            .tasks_of_execution(&exec)
            .await
            .expect("tasks");
        tasks
            .into_iter()
            .find(|t| t.kind == TaskKind::ApprovalStep && t.is_open())
    }

    /// The open approval step of the order (the interpreter is polled until notify made it).
    pub async fn open_step(&self, id: &str) -> ApprovalTask {
        for _ in 0..20 {
            if let Some(t) = self.open_task(id).await {
                return t;
            }
            self.settle_workflows().await;
        }
        panic!("no open approval step for order {id}")
    }

    /// `who` (an employee id, or the task's assignee when `None`) decides the task and
    /// the decision is delivered to the waiting execution; the interpreter is not driven.
    pub async fn decide_task(
        &self,
        t: &ApprovalTask,
        who: Option<&str>,
        outcome: &str,
        note: &str,
    ) {
        let emp = self
            .travel
            .org()
            .employee(who.unwrap_or(&t.assignee_id))
            .await
            .expect("decider");
        let decided = self
            .travel
            .approvals()
            .decide(&t.id, &Principal::of(&emp), outcome, note)
            .await
            .unwrap_or_else(|e| panic!("decide step {}: {e}", t.step));
        self.travel
            .approvals()
            .deliver(&decided, &self.wf)
            .await
            .expect("deliver");
    }

    /// `who` (an employee id, or the task's assignee when `None`) decides the open step.
    pub async fn decide(
        &self,
        id: &str,
        who: Option<&str>,
        outcome: &str,
        note: &str,
    ) -> ApprovalTask {
        let t = self.open_step(id).await;
        self.decide_task(&t, who, outcome, note).await;
        self.settle_workflows().await;
        t
    }

    pub async fn approve_all(&self, id: &str) -> TravelOrder {
        let steps = self.travel.load(id).await.expect("order").chain.len();
        for _ in 0..steps {
            self.decide(id, None, "approve", "").await;
        }
        self.order(id).await
    }

    pub async fn pdf(&self, document_id: &str) -> Vec<u8> {
        let doc = self.ctx.archive.get(document_id).await.expect("archived");
        self.blobs.get(&doc.blob_key).await.expect("blob").1
    }

    pub async fn signature_count(&self, pdf: &[u8]) -> usize {
        let root = self.ctx.signer.root_certificate().await.expect("root");
        let report = paraf_pdf::verify(pdf, &[root]).expect("verify");
        assert!(report.all_valid(), "{report:#?}");
        report.signatures.len()
    }

    pub async fn text(&self, document_id: &str) -> String {
        pdftotext(
            &self.pdf(document_id).await,
            &self._dir.path().join("t.pdf"),
        )
    }
}

/// The PDF's text, whitespace collapsed (lines wrap where the layout pleases).
pub fn pdftotext(pdf: &[u8], path: &Path) -> String {
    std::fs::write(path, pdf).expect("write pdf");
    let out = Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
