//! Helpers to run the real `paraf` binary (zero2prod's `spawn_app`): a temp data dir, port 0,
//! and a child process that is killed when the test drops it.

#![allow(dead_code)]

#[path = "../../crates/paraf-pdf/tests/validators/mod.rs"]
pub mod validators;

#[allow(unused_imports)]
pub use validators::{tool, Validators};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const DEMO_PASSWORD: &str = "paraf-demo";
/// The public address the e-SPPD tests give `paraf serve` (links in mails use it).
pub const PUBLIC: &str = "http://paraf.kpu-jabar.test";
/// The demo's staff member who requests trips.
pub const STAF: &str = "staf@demo.paraf.test";
/// The demo's approval chain of a staff member's trip: Kasubag, Kabag, PPK, Sekretaris.
pub const CHAIN: [&str; 4] = [
    "kasubag@demo.paraf.test",
    "kabag@demo.paraf.test",
    "ppk@demo.paraf.test",
    "sekretaris@demo.paraf.test",
];

pub fn paraf() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_paraf"));
    c.env_remove("PARAF_DATA_DIR").env("PARAF_LOG", "warn");
    c
}

/// Runs one `paraf` command on `data` (no TSA from the environment) and waits for it.
pub fn run(data: &Path, args: &[&str]) -> std::process::Output {
    paraf()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("PARAF_TSA_URL")
        .env_remove("PARAF_TSA_ROOT")
        .output()
        .expect("paraf runs")
}

/// A running `paraf serve`; killed on drop so no test leaves a server behind.
pub struct App {
    pub url: String,
    pub data_dir: PathBuf,
    child: Child,
}

impl App {
    /// Starts `paraf serve --demo --port 0` on `data_dir` and waits for its listening line.
    pub fn start(data_dir: &Path) -> App {
        Self::start_with(data_dir, &[])
    }

    /// As [`App::start`], with extra environment variables (e.g. `PARAF_PUBLIC_URL`).
    pub fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> App {
        let mut child = paraf()
            .args(["serve", "--demo", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("paraf starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("paraf listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("paraf printed its listening line in time");
        App {
            url,
            data_dir: data_dir.to_path_buf(),
            child,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a graceful exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("paraf did not stop after SIGTERM");
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{}", self.url, path)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Logs in through the API and returns the bearer token.
pub async fn token(app: &App, login: &str, password: &str) -> String {
    let res = client()
        .post(app.api("/auth/login"))
        .json(&serde_json::json!({"login": login, "password": password}))
        .send()
        .await
        .expect("login request");
    assert_eq!(res.status(), 200, "login of {login}");
    let body: serde_json::Value = res.json().await.expect("json");
    body["token"].as_str().expect("token").to_string()
}

/// `paraf init --demo` in `dir/data`; the data directory.
pub fn init_demo(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let o = paraf()
        .arg("--data-dir")
        .arg(&data)
        .args(["init", "--demo"])
        .output()
        .expect("init");
    assert!(o.status.success(), "init: {}", text(&o));
    data
}

/// Logs a demo account in (the demo password) and returns the bearer token.
pub async fn demo_token(app: &App, login: &str) -> String {
    token(app, login, DEMO_PASSWORD).await
}

/// A valid NIP, unique for each test employee number `i` below 50,000 (born 1990,
/// appointed in January of 2015 + i / 999).
pub fn nip(i: u32) -> String {
    format!("19900101{}011{:03}", 2015 + i / 999, 1 + i % 999)
}

/// What a finished command printed, stdout then stderr (for assertion messages).
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A one-page A4 PDF as a word processor might leave it (classic xref table).
pub fn letter_pdf(words: &str) -> Vec<u8> {
    let content = format!("BT /F1 14 Tf 72 760 Td ({words}) Tj ET");
    let objs = [
        "<</Type/Catalog/Pages 2 0 R>>".to_string(),
        "<</Type/Pages/Kids[3 0 R]/Count 1>>".to_string(),
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>".to_string(),
        format!("<</Length {}>>\nstream\n{content}\nendstream", content.len()),
        "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>".to_string(),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offs = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offs.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offs {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<</Size {}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A browser-like session: signed in through the login form, cookies kept.
pub async fn web_session(app: &App, login: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let page = c
        .get(format!("{}/login", app.url))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    let csrf = hidden(&page, "csrf");
    let r = c
        .post(format!("{}/login", app.url))
        .form(&[
            ("login", login),
            ("password", DEMO_PASSWORD),
            ("csrf", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303, "web login of {login}");
    c
}

/// The value of the hidden input `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no input {name} in:\n{html}"));
    let rest = &html[at..];
    let v = rest.find("value=\"").expect("value") + 7;
    rest[v..v + rest[v..].find('"').expect("quote")].to_string()
}

/// One API call with a bearer token: the status and the JSON body (null when none).
pub async fn call(
    app: &App,
    tok: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let c = client();
    let url = app.api(path);
    let req = match method {
        "GET" => c.get(url),
        "PUT" => c.put(url),
        "DELETE" => c.delete(url),
        _ => c.post(url),
    }
    .bearer_auth(tok);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let v = r.json().await.unwrap_or(Value::Null);
    (status, v)
}

/// [`call`] that must answer `want`; the JSON body.
pub async fn call_expect(
    app: &App,
    tok: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    want: u16,
) -> Value {
    let (s, v) = call(app, tok, method, path, body).await;
    assert_eq!(s, want, "{method} {path}: {v}");
    v
}

/// One multipart upload to the API with a bearer token: the status and the JSON body.
pub async fn multipart(
    app: &App,
    tok: &str,
    path: &str,
    form: reqwest::multipart::Form,
) -> (u16, Value) {
    let r = client()
        .post(app.api(path))
        .bearer_auth(tok)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Today in WIB.
pub fn today_wib() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("WIB"))
        .date()
}

/// `YYYY-MM-DD`.
pub fn ymd(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// Mails in the outbox (quoted-printable soft breaks undone), by file name.
pub fn mails(data: &Path) -> Vec<(String, String)> {
    let Ok(dir) = std::fs::read_dir(data.join("outbox")) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = dir
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| {
            let body = std::fs::read_to_string(e.path()).ok()?;
            Some((
                e.file_name().to_string_lossy().to_string(),
                body.replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "="),
            ))
        })
        .collect();
    out.sort();
    out
}

/// Whether a mail's headers name `to` as a recipient.
pub fn addressed_to(mail: &str, to: &str) -> bool {
    mail.lines()
        .take_while(|l| !l.trim().is_empty())
        .any(|l| l.to_ascii_lowercase().starts_with("to:") && l.contains(to))
}

/// An e-SPPD request body as the form sends it: `pelaksana` (logins) travel to Jakarta by
/// train from `dep` to `ret`, charged to the secretariat's travel account.
pub fn sppd_form(pelaksana: &[&str], maksud: &str, dep: time::Date, ret: time::Date) -> Value {
    serde_json::json!({
        "pelaksana": pelaksana,
        "maksud": maksud,
        "alat_angkut": "kereta api",
        "tempat_tujuan": {"provinsi": "DKI Jakarta", "kota": "Jakarta Pusat"},
        "tanggal_berangkat": ymd(dep),
        "tanggal_kembali": ymd(ret),
        "anggaran": {"instansi": "Sekretariat KPU Provinsi Jawa Barat", "akun": "524111"}
    })
}
