//! The real `paraf-notify` binary served by `cargo lambda watch` (the Lambda runtime API
//! emulator of cargo-lambda, PyPI `cargo-lambda`, installed in `.venv` by
//! `scripts/install-aws-tools`) and called over the Lambda Invoke API
//! (`POST /2015-03-31/functions/{name}/invocations`) as Step Functions calls it, with
//! DynamoDB and SES on moto. This is the path the in-process tests skip: `main`, the
//! environment, `lambda_runtime`'s wire protocol and the error body.
//!
//! The watch runs with `--only-lambda-apis` and the test starts the binary cargo built for
//! it, as Lambda starts `bootstrap`: letting the watch `cargo run` the function would
//! rebuild it with another feature set than the test build (minutes, for nothing).
//! cargo-lambda then names the function `_`.
//!
//! FAILS (never skips) when cargo-lambda or moto is missing.

#[path = "../../../crates/paraf-aws/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paraf_core::{Org, SystemClock};
use serde_json::{json, Value};

const FROM: &str = "paraf@kpu-jabar.go.id";
const BASE_URL: &str = "https://paraf.kpu-jabar.go.id";
/// The first invocation also waits for the function's cold start.
const FIRST_CALL: Duration = Duration::from_secs(120);

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cargo_lambda() -> PathBuf {
    let venv = std::env::var_os("PARAF_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv"));
    let bin = venv.join("bin/cargo-lambda");
    assert!(
        bin.is_file(),
        "{} is missing: run `bash scripts/install-aws-tools` (this test does not skip)",
        bin.display()
    );
    bin
}

/// `cargo lambda watch` in its own process group under a `sh` watchdog: when our end of
/// the watchdog's stdin closes (drop, or this test process dying however it dies) the
/// whole group — watch, cargo and the function — is killed.
struct Watch {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    function: Option<Child>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(mut f) = self.function.take() {
            let _ = f.kill();
            let _ = f.wait();
        }
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Watch {
    fn start() -> Watch {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(
                // dash's `kill` takes no `--`; the trap comes after the spawn so that the
                // watch does not inherit ignored signals, and lets the watchdog outlive a
                // signal sent to the whole test process group, to clean up after it.
                r#"setsid "$0" "$@" </dev/null & m=$!; trap '' TERM INT HUP; cat >/dev/null; kill -TERM -$m 2>/dev/null; sleep 1; kill -KILL -$m 2>/dev/null; wait $m"#,
            )
            .arg(cargo_lambda())
            .args(["lambda", "watch", "--only-lambda-apis"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .current_dir(workspace())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start cargo lambda watch");
        let stdin = child.stdin.take();
        let log = Arc::new(Mutex::new(Vec::new()));
        for out in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
        }
        let w = Watch {
            child,
            stdin,
            port,
            log,
            function: None,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = w.child_status() {
                panic!("cargo lambda watch exited: {status}\n{}", w.output());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "cargo lambda watch did not listen on {port}\n{}",
                w.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        w
    }

    fn child_status(&self) -> std::io::Result<Option<std::process::ExitStatus>> {
        // `try_wait` needs `&mut`; a zero-signal kill tells whether the watchdog lives.
        let alive = Command::new("kill")
            .args(["-0", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status()?
            .success();
        Ok((!alive).then(std::process::ExitStatus::default))
    }

    /// Starts the function binary as Lambda starts `bootstrap`: the runtime API and the
    /// function's settings in the environment, the configuration on top. It stops when
    /// dropped, and by itself once the runtime API is gone.
    fn start_function(&mut self, env: &[(&str, String)]) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paraf-notify"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt", self.port),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start paraf-notify");
        for out in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = self.log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(format!("[paraf-notify] {line}"));
                }
            });
        }
        self.function = Some(child);
    }

    fn output(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The Lambda Invoke API, as the AWS SDK (and Step Functions) calls it.
    async fn invoke(&self, payload: &Value, timeout: Duration) -> (u16, Value) {
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/_/invocations",
            self.port
        );
        let r = reqwest::Client::new()
            .post(&url)
            .timeout(timeout)
            .json(payload)
            .send()
            .await
            .unwrap_or_else(|e| panic!("invoke failed: {e}\n{}", self.output()));
        let status = r.status().as_u16();
        let body = r.text().await.expect("invoke body");
        let v = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("invoke body is not JSON ({e}): {body}"));
        (status, v)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_notify_binary_under_cargo_lambda_watch_answers_the_invoke_api() {
    let moto = common::Moto::shared();
    let clients = moto.clients().await;
    common::ses_identity(&clients, FROM).await;
    let (table_name, table) = common::demo_table(&clients, "paraf-watch").await;
    let org = Org::new(table.clone(), Arc::new(SystemClock));
    let kabag = org
        .find_employee("kabag@demo.paraf.test")
        .await
        .expect("lookup")
        .expect("demo kabag");
    let staf = org
        .find_employee("staf@demo.paraf.test")
        .await
        .expect("lookup")
        .expect("demo staf");

    let env = [
        ("PARAF_TABLE_NAME", table_name.clone()),
        ("PARAF_MAIL_FROM", FROM.to_string()),
        ("PARAF_PUBLIC_URL", BASE_URL.to_string()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("RUST_LOG", "info".to_string()),
    ];
    let mut watch = Watch::start();
    watch.start_function(&env);

    let token = common::unique("watch-token");
    let execution = format!(
        "arn:aws:states:us-east-1:123456789012:execution:paraf-approval:{}",
        common::unique("x")
    );
    let ask = json!({
        "kind": "approval_step",
        "taskToken": token,
        "executionId": execution,
        "step": 1,
        "assignee": kabag.id,
        "action": "paraf",
        "requester": staf.id,
        "request": {"id": "watch-1", "subject": "Surat Perintah Tugas: uji cargo lambda watch"}
    });
    let (status, out) = watch.invoke(&ask, FIRST_CALL).await;
    assert_eq!(status, 200, "{out}\n{}", watch.output());
    let task_id = out["taskId"].as_str().expect("taskId").to_string();
    assert_eq!(out["mailSent"], true, "{out}");
    let link = format!("{BASE_URL}/tasks/{task_id}");
    assert_eq!(
        common::mails_mentioning(moto, &link).await,
        1,
        "one mail carries the link"
    );

    // Lambda retries an invocation with the same payload: the same task, no second mail.
    let (status, again) = watch.invoke(&ask, Duration::from_secs(60)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["taskId"], task_id.as_str());
    assert_eq!(
        common::mails_mentioning(moto, &link).await,
        1,
        "still one mail"
    );
    let approvals = paraf_core::approvals::Approvals::new(table.clone(), Arc::new(SystemClock));
    let tasks = approvals
        .tasks_of_execution(&execution)
        .await
        .expect("tasks of the execution");
    assert_eq!(tasks.len(), 1);
    assert_eq!(approvals.task_token(&tasks[0]), token);

    // A bad payload comes back as a Lambda error whose errorType the ASL Catch matches.
    let (_, err) = watch
        .invoke(
            &json!({"kind": "leave_request", "taskToken": "t"}),
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(
        err["errorType"],
        paraf_tasks::notify::ERROR_UNSUPPORTED_KIND,
        "{err}"
    );
}
