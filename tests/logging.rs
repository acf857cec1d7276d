//! Logs written to a file are plain: no terminal colour codes in text, and with
//! `--log-format json` one JSON object per line, for a collector to read.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::paraf;

/// Serves once on port 0 with stderr in a file, answers one request, and returns what
/// was logged.
fn log_of_one_request(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("paraf.log");
    let mut child = paraf()
        .args(args)
        .args(["serve", "--demo", "--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("PARAF_LOG", "info")
        .env_remove("PARAF_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("paraf starts");
    let stdout = child.stdout.take().expect("stdout");
    let url = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("paraf listening on ").map(str::to_owned))
        .expect("listening line");
    let health = healthz(url.trim());
    let _ = child.kill();
    let _ = child.wait();
    assert!(health, "the server answered");
    std::fs::read_to_string(&log).expect("log")
}

/// One GET of `/healthz` over a plain socket: whether it answered 200.
fn healthz(url: &str) -> bool {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

#[test]
fn text_logs_written_to_a_file_carry_no_colour_codes() {
    let log = log_of_one_request(&[]);
    assert!(!log.trim().is_empty(), "something was logged");
    assert!(!log.contains('\x1b'), "ANSI escape codes in:\n{log}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let log = log_of_one_request(&["--log-format", "json"]);
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "something was logged");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
}
