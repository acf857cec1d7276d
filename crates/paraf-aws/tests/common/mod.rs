//! One `moto_server` per test binary, started on first use on a free loopback port.
//!
//! The server runs under a small `sh` watchdog that kills it when our end of its stdin
//! closes: on [`Moto`]'s drop, and also when the test process exits, since the shared
//! instance lives in a `static` that Rust never drops. Tests fail, not skip, without moto.
#![allow(dead_code)] // each test binary uses a different part

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use paraf_aws::AwsClients;

pub struct Moto {
    pub endpoint: String,
    child: Mutex<Option<(Child, ChildStdin)>>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Ok(mut guard) = self.child.lock() {
            if let Some((mut child, stdin)) = guard.take() {
                drop(stdin); // the watchdog sees EOF and kills moto
                let _ = child.wait();
            }
        }
    }
}

fn moto_python() -> PathBuf {
    let venv = match std::env::var_os("PARAF_VENV") {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv"),
    };
    let bin = venv.join("bin/moto_server");
    assert!(
        bin.exists(),
        "moto_server not found at {} (run scripts/install-emulators or set PARAF_VENV)",
        bin.display()
    );
    venv.join("bin/python")
}

/// moto_server started through a launcher that applies DynamoDB requests one at a time,
/// as DynamoDB applies item writes atomically (see the launcher's docstring).
fn moto_launcher() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/paraf-aws/tests/support/moto_server.py"
    ))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// True once moto answers an HTTP request on `port`.
fn answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
}

impl Moto {
    pub fn start() -> Moto {
        let bin = moto_python();
        let port = free_port();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$@" </dev/null >/dev/null 2>&1 & m=$!; cat >/dev/null; kill $m; wait $m"#)
            .arg(&bin)
            .arg(moto_launcher())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Step Functions calls moto's own Lambda at localhost:$MOTO_PORT (else 5000).
            .env("MOTO_PORT", port.to_string())
            .stdin(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let stdin = child.stdin.take().expect("watchdog stdin");
        let started = Instant::now();
        // Poll until it answers; a Python server takes about a second to come up.
        while !answers(port) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("moto_server exited at start-up: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not answer on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child: Mutex::new(Some((child, stdin))),
        }
    }

    /// The server shared by every test of this binary.
    pub fn shared() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(Moto::start)
    }

    pub async fn config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }

    /// Clients for one test; built per test because each test has its own runtime.
    pub async fn clients(&self) -> AwsClients {
        AwsClients::from_config(&self.config().await)
    }
}

/// Makes this server run Step Functions definitions (moto only stores them otherwise),
/// with Lambda tasks answered from the queue of [`queue_lambda_results`]. The setting is
/// per server and idempotent: every test that needs it calls it.
pub async fn enable_step_functions(moto: &Moto) {
    let r = reqwest::Client::new()
        .post(format!("{}/moto-api/config", moto.endpoint))
        .json(
            &serde_json::json!({"stepfunctions": {"execute_state_machine": true},
                                  "lambda": {"use_docker": false}}),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("moto config: {e}"));
    assert!(r.status().is_success(), "moto config: {}", r.status());
}

/// Results the next Lambda invocations in `region` return, in order, whatever the
/// function (moto keeps one queue per account and region; an empty queue echoes the
/// payload). Tests that queue results use a region of their own.
pub async fn queue_lambda_results(moto: &Moto, region: &str, results: &[serde_json::Value]) {
    if results.is_empty() {
        return;
    }
    let results: Vec<String> = results.iter().map(|v| v.to_string()).collect();
    let r = reqwest::Client::new()
        .post(format!(
            "{}/moto-api/static/lambda-simple/response",
            moto.endpoint
        ))
        .json(&serde_json::json!({"results": results, "region": region,
                                  "account_id": "123456789012"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue lambda results: {e}"));
    assert!(
        r.status().is_success(),
        "queue lambda results: {}",
        r.status()
    );
}

/// A name no other test uses (DynamoDB tables, S3 buckets: lowercase, digits, dashes).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Makes `from` an SES sender identity; one another test of this server made is fine.
pub async fn ses_identity(clients: &AwsClients, from: &str) {
    if let Err(e) = clients
        .sesv2
        .create_email_identity()
        .email_identity(from)
        .send()
        .await
    {
        let msg = format!("{:?}", e.into_service_error());
        assert!(
            msg.contains("AlreadyExists"),
            "create identity {from}: {msg}"
        );
    }
}

/// A new DynamoDB table named `prefix-<unique>`: its name and the `Table` port over it.
pub async fn table(
    clients: &AwsClients,
    prefix: &str,
) -> (String, std::sync::Arc<dyn paraf_core::Table>) {
    let name = unique(prefix);
    paraf_aws::create_table(&clients.dynamodb, &name)
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e}"));
    let table = std::sync::Arc::new(paraf_aws::DynamoTable::new(
        clients.dynamodb.clone(),
        name.clone(),
    ));
    (name, table)
}

/// As [`table`], with the demo organisation (`paraf_core::demo`) loaded.
pub async fn demo_table(
    clients: &AwsClients,
    prefix: &str,
) -> (String, std::sync::Arc<dyn paraf_core::Table>) {
    let (name, table) = self::table(clients, prefix).await;
    let auth = paraf_core::Auth::new(table.clone(), std::sync::Arc::new(paraf_core::SystemClock));
    paraf_core::demo::load(&auth)
        .await
        .unwrap_or_else(|e| panic!("demo organisation: {e:?}"));
    (name, table)
}

/// How many mails moto's SES recorded whose content mentions `needle` (moto keeps every
/// test's mail: make `needle` unique to the test).
pub async fn mails_mentioning(moto: &Moto, needle: &str) -> usize {
    let url = format!("{}/moto-api/data.json", moto.endpoint);
    let data: serde_json::Value = reqwest::get(&url)
        .await
        .unwrap_or_else(|e| panic!("moto data: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("moto data is not JSON: {e}"));
    fn count(v: &serde_json::Value, needle: &str) -> usize {
        match v {
            serde_json::Value::Object(m) if m.contains_key("subject") => {
                usize::from(v.to_string().contains(needle))
            }
            serde_json::Value::Object(m) => m.values().map(|x| count(x, needle)).sum(),
            serde_json::Value::Array(a) => a.iter().map(|x| count(x, needle)).sum(),
            _ => 0,
        }
    }
    count(&data["ses"], needle)
}
