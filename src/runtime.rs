//! The data directory and the embedded adapters built over it.
//!
//! ```text
//! DATA_DIR/
//!   paraf.json      written last by `paraf init`: marks the directory as ready
//!   paraf.sqlite    the Table (WAL)
//!   blobs/          the Blobs folder
//!   outbox/         mail as .eml files when no SMTP server is configured
//!   pki/ca/         the organisation root CA (key 0600)
//!   pki/keys/       signers' keys and certificates
//!   secrets/        JWT signing key and download-link secret (0600)
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use paraf_core::{Auth, Blobs, Clock, Mailer, Signer, SystemClock, Table};
use paraf_local::blobs::FolderBlobs;
use paraf_local::mailer::{OutboxMailer, SmtpMailer};
use paraf_local::signer::{LocalCa, LocalSigner};
use paraf_local::table::SqliteTable;
use paraf_local::workflows::{handler_fn, Handlers, LocalWorkflows, TaskContext, TaskError};
use paraf_tasks::definitions;
use paraf_tasks::notify::{Invocation, Notifier};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

pub struct DataDir(PathBuf);

#[derive(Serialize, Deserialize)]
struct Marker {
    org_name: String,
    format: u32,
}

impl DataDir {
    pub fn new(root: PathBuf) -> Self {
        DataDir(root)
    }
    pub fn root(&self) -> &Path {
        &self.0
    }
    fn marker(&self) -> PathBuf {
        self.0.join("paraf.json")
    }
    /// Takes the data directory for this process alone (released when the process
    /// ends, however it ends): two servers on one store would run every workflow step
    /// twice.
    pub fn lock(&self) -> anyhow::Result<std::fs::File> {
        let path = self.0.join("paraf.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another `paraf serve` is already using {}",
                self.0.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    pub fn is_initialised(&self) -> bool {
        self.marker().is_file()
    }
    fn table_path(&self) -> PathBuf {
        self.0.join("paraf.sqlite")
    }
    fn pki(&self) -> PathBuf {
        self.0.join("pki")
    }
    fn secrets(&self) -> PathBuf {
        self.0.join("secrets")
    }
    fn org_name(&self) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(self.marker()).with_context(|| {
            format!("{} is not initialised: run `paraf init`", self.0.display())
        })?;
        let m: Marker = serde_json::from_str(&text).context("paraf.json is unreadable")?;
        Ok(m.org_name)
    }
}

/// Settings only the server needs.
pub struct ServeConfig {
    pub public_url: String,
    pub smtp_url: Option<String>,
    /// Time-stamps every signature (workflow sign task and API uploads) when set.
    pub tsa: Option<paraf_tasks::sign::TsaClient>,
    /// Trusted besides the organisation root when verifying (DER), e.g. the TSA's root.
    pub extra_roots: Vec<Vec<u8>>,
}

/// Every adapter over one data directory.
pub struct Runtime {
    pub table: Arc<SqliteTable>,
    pub blobs: Arc<FolderBlobs>,
    pub mailer: Arc<dyn Mailer>,
    pub signer: Arc<LocalSigner>,
    pub clock: Arc<dyn Clock>,
    pub auth: Auth,
    pub org_name: String,
    /// The approval and disposition state machines, durable in `table`.
    pub workflows: LocalWorkflows,
    pub approvals: paraf_core::approvals::Approvals,
    jwt_pem: String,
    public_url: String,
    tsa: Option<paraf_tasks::sign::TsaClient>,
    extra_roots: Vec<Vec<u8>>,
}

fn write_secret(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

pub fn random_password() -> String {
    let mut b = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut b);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b)
}

/// Creates the directory skeleton, CA and secrets; the marker is written by the caller
/// once the organisation is in place, so a failed init is visible as not initialised.
fn create_skeleton(dir: &DataDir, org_name: &str) -> anyhow::Result<()> {
    if dir.root().exists()
        && std::fs::read_dir(dir.root())
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        anyhow::bail!(
            "{} exists and is not empty but was never fully initialised; remove it and run init again",
            dir.root().display()
        );
    }
    for sub in ["blobs", "outbox", "pki", "secrets"] {
        std::fs::create_dir_all(dir.root().join(sub))
            .with_context(|| format!("cannot create {}", dir.root().join(sub).display()))?;
    }
    LocalCa::init(&dir.pki(), org_name).context("cannot create the organisation CA")?;
    write_secret(
        &dir.secrets().join("jwt.pem"),
        paraf_http::JwtKeys::generate()
            .to_pem()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .as_bytes(),
    )?;
    let mut link = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut link);
    write_secret(&dir.secrets().join("link.key"), &link)?;
    Ok(())
}

fn mark_ready(dir: &DataDir, org_name: &str) -> anyhow::Result<()> {
    let tmp = dir.root().join("paraf.json.tmp");
    let text = serde_json::to_string_pretty(&Marker {
        org_name: org_name.to_string(),
        format: 1,
    })?;
    std::fs::write(&tmp, text)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, dir.marker())?;
    Ok(())
}

pub async fn init_demo(dir: &DataDir) -> anyhow::Result<paraf_core::demo::DemoSummary> {
    let name = paraf_core::demo::DEMO_ORG_NAME;
    create_skeleton(dir, name)?;
    let table: Arc<dyn Table> = Arc::new(SqliteTable::open(&dir.table_path())?);
    let auth = Auth::new(table, Arc::new(SystemClock));
    let summary = paraf_core::demo::load(&auth)
        .await
        .map_err(|e| anyhow::anyhow!("loading the demo failed: {e:?}"))?;
    mark_ready(dir, name)?;
    Ok(summary)
}

pub async fn init_org(
    dir: &DataDir,
    org_name: &str,
    nip: &str,
    email: &str,
    name: &str,
    password: &str,
) -> anyhow::Result<paraf_core::Employee> {
    let first = paraf_core::org::FirstAdmin {
        org_name: org_name.into(),
        nip: nip.into(),
        email: email.into(),
        name: name.into(),
        password: password.into(),
    };
    // Check the admin's details before touching the disk.
    first.check().map_err(init_error)?;
    create_skeleton(dir, org_name)?;
    let table: Arc<dyn Table> = Arc::new(SqliteTable::open(&dir.table_path())?);
    let auth = Auth::new(table, Arc::new(SystemClock));
    let admin = paraf_core::org::bootstrap(&auth, &first)
        .await
        .map_err(init_error)?;
    mark_ready(dir, org_name)?;
    Ok(admin)
}

/// A set-up error in the words of `paraf init`: each field as the flag that gave it.
fn init_error(e: paraf_core::ServiceError) -> anyhow::Error {
    match e {
        paraf_core::ServiceError::Invalid(fields) => {
            let lines: Vec<String> = fields
                .iter()
                .map(|(field, message)| {
                    let flag = match field.as_str() {
                        "org_name" => "--org-name",
                        "nip" => "--admin-nip",
                        "email" => "--admin-email",
                        "name" => "--admin-name",
                        "password" => "the admin password",
                        other => other,
                    };
                    format!("{flag}: {}", message.en)
                })
                .collect();
            anyhow::anyhow!("{}", lines.join("; "))
        }
        other => anyhow::anyhow!("setting up the organisation failed: {other:?}"),
    }
}

impl Runtime {
    pub async fn open(dir: &DataDir, serve: Option<ServeConfig>) -> anyhow::Result<Runtime> {
        let org_name = dir.org_name()?;
        let table =
            Arc::new(SqliteTable::open(&dir.table_path()).context("cannot open the store")?);
        let public_url = serve
            .as_ref()
            .map(|s| s.public_url.clone())
            .unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let link_secret: [u8; 32] = std::fs::read(dir.secrets().join("link.key"))
            .context("cannot read secrets/link.key")?
            .try_into()
            .map_err(|_| anyhow::anyhow!("secrets/link.key must be 32 bytes"))?;
        let blobs = Arc::new(FolderBlobs::new(
            dir.root().join("blobs"),
            public_url.clone(),
            link_secret,
        ));
        let mailer: Arc<dyn Mailer> = match serve.as_ref().and_then(|s| s.smtp_url.clone()) {
            Some(url) => Arc::new(SmtpMailer::from_url(&url).context("invalid --smtp-url")?),
            None => Arc::new(OutboxMailer::new(dir.root().join("outbox"))),
        };
        let signer = Arc::new(LocalSigner::open(&dir.pki()).context("cannot open the key store")?);
        let tsa = serve.as_ref().and_then(|s| s.tsa.clone());
        let extra_roots = serve
            .as_ref()
            .map(|s| s.extra_roots.clone())
            .unwrap_or_default();
        let jwt_pem = std::fs::read_to_string(dir.secrets().join("jwt.pem"))
            .context("cannot read secrets/jwt.pem")?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let auth = Auth::new(table.clone(), clock.clone());
        let approvals = paraf_core::approvals::Approvals::new(table.clone(), clock.clone());
        let workflows = build_workflows(
            table.clone(),
            clock.clone(),
            approvals.clone(),
            mailer.clone(),
            signer.clone(),
            blobs.clone(),
            &public_url,
            tsa.clone(),
        )?;
        Ok(Runtime {
            table,
            blobs,
            mailer,
            signer,
            clock,
            auth,
            org_name,
            workflows,
            approvals,
            jwt_pem,
            public_url,
            tsa,
            extra_roots,
        })
    }

    pub fn root_pem(&self) -> String {
        self.signer.root_pem()
    }

    pub fn app_state(&self) -> anyhow::Result<paraf_http::AppState> {
        let jwt = paraf_http::JwtKeys::from_pem(&self.jwt_pem)
            .context("secrets/jwt.pem is not a P-256 key")?;
        let blobs = self.blobs.clone();
        let state = paraf_http::AppState::new(
            self.table.clone() as Arc<dyn Table>,
            self.blobs.clone() as Arc<dyn Blobs>,
            self.mailer.clone(),
            self.signer.clone() as Arc<dyn Signer>,
            self.clock.clone(),
            jwt,
            paraf_http::HttpConfig {
                public_base_url: self.public_url.clone(),
                secure_cookies: self.public_url.starts_with("https://"),
                org_name: self.org_name.clone(),
            },
        )
        .with_file_links(Arc::new(move |token: &str, now| {
            blobs.resolve_link(token, now)
        }))
        .with_workflows(Arc::new(self.workflows.clone()))
        .with_tsa(self.tsa.clone())
        .with_extra_roots(self.extra_roots.clone());
        Ok(state)
    }

    /// Runs the workflow engine in the background (`paraf serve`): due steps, timers, and
    /// decisions recorded before a crash but not yet handed to their execution.
    pub fn spawn_workflows(&self) {
        self.workflows.spawn_worker();
        let approvals = self.approvals.clone();
        let dispositions = paraf_core::dispositions::Dispositions::new(
            self.table.clone() as Arc<dyn Table>,
            self.clock.clone(),
        );
        let wf = self.workflows.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = approvals.redeliver_pending(&wf).await {
                    tracing::warn!(error = %e, "redelivering approval decisions failed");
                }
                if let Err(e) = dispositions.redeliver_pending(&wf).await {
                    tracing::warn!(error = %e, "redelivering disposition answers failed");
                }
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
        });
    }
}

fn task_error(name: &str, cause: impl std::fmt::Display) -> TaskError {
    TaskError::new(name, cause.to_string())
}

/// The local interpreter over the store, with every workflow of `workflows/` (carried in
/// the binary) and the task handlers their `${…FunctionArn}` resolve to.
// One parameter per adapter the handlers need: a composition root's wiring, not an API.
#[allow(clippy::too_many_arguments)]
fn build_workflows(
    table: Arc<SqliteTable>,
    clock: Arc<dyn Clock>,
    approvals: paraf_core::approvals::Approvals,
    mailer: Arc<dyn Mailer>,
    signer: Arc<LocalSigner>,
    blobs: Arc<FolderBlobs>,
    public_url: &str,
    tsa: Option<paraf_tasks::sign::TsaClient>,
) -> anyhow::Result<LocalWorkflows> {
    let notifier = Notifier {
        dispositions: paraf_core::dispositions::Dispositions::new(
            table.clone() as Arc<dyn Table>,
            clock.clone(),
        ),
        approvals,
        mailer: mailer.clone(),
        base_url: public_url.to_string(),
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
    let table_dyn: Arc<dyn Table> = table.clone();
    let sign_ctx = paraf_tasks::sign::SignContext {
        org: paraf_core::Org::new(table_dyn.clone(), clock.clone()),
        archive: paraf_core::archive::Archive::new(
            table_dyn.clone(),
            blobs as Arc<dyn Blobs>,
            clock.clone(),
        ),
        signer: signer as Arc<dyn Signer>,
        clock: clock.clone(),
        public_base_url: public_url.to_string(),
        letterhead: paraf_pdf::render::Letterhead::kpu_jabar(),
        tsa,
    };
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
    // `paraf serve` holds the data directory's lock, so no other worker shares this
    // store: a lease only has to outlive one handler call of this process, and a short
    // one lets a task interrupted by a crash run again soon after the restart.
    let wf = LocalWorkflows::with_options(
        table_dyn,
        handlers,
        clock,
        paraf_local::workflows::Options {
            lease: time::Duration::seconds(10),
            ..Default::default()
        },
    );
    let subs = definitions::local_substitutions(|n| wf.state_machine_arn(n));
    for (name, text) in definitions::definitions() {
        wf.register(name, text, &subs)
            .with_context(|| format!("workflow `{name}` does not load"))?;
    }
    Ok(wf)
}
