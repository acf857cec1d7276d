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

fn moto_binary() -> PathBuf {
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
    bin
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
        let bin = moto_binary();
        let port = free_port();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$@" </dev/null >/dev/null 2>&1 & m=$!; cat >/dev/null; kill $m; wait $m"#)
            .arg(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
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

/// A name no other test uses (DynamoDB tables, S3 buckets: lowercase, digits, dashes).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
