//! The limits of `paraf serve` against slow and greedy clients, over raw TCP: headers or
//! a body trickled byte by byte are cut off, and connections beyond the limit wait.
//! Timeouts are configured small and bounds are generous: what is checked is that the
//! server ends the connection, not how fast.

mod common;

use std::time::Duration;

use common::App;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far beyond any configured timeout here: reaching it means the server never acted.
const GENEROUS: Duration = Duration::from_secs(60);

/// `paraf serve --demo` with these settings (environment variables); the data directory
/// lives as long as the returned guard.
fn start(settings: &[(&str, &str)]) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start_with(&dir.path().join("data"), settings);
    (dir, app)
}

fn addr(app: &App) -> String {
    app.url.trim_start_matches("http://").to_string()
}

/// Writes `head`, then one byte of `trickle` every 100 ms, while reading; returns what
/// the server sent before it closed the connection, or panics after `bound`.
async fn trickle_until_closed(app: &App, head: &[u8], trickle: &[u8], bound: Duration) -> String {
    let stream = TcpStream::connect(addr(app)).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(head).await.expect("head");
    let trickle = trickle.to_vec();
    let writer = tokio::spawn(async move {
        for b in trickle.iter().cycle() {
            if wr.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut got = Vec::new();
    let read = tokio::time::timeout(bound, async {
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    writer.abort();
    assert!(read.is_ok(), "the server never closed the slow connection");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected() {
    let (_dir, app) = start(&[("PARAF_HEADER_READ_TIMEOUT", "1")]);
    let got = trickle_until_closed(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: paraf\r\n",
        b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        GENEROUS,
    )
    .await;
    assert!(
        !got.contains("200 OK"),
        "the request was never completed, so never answered: {got}"
    );
    // The server still serves everyone else.
    let health = common::client()
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_timeout() {
    let (_dir, app) = start(&[("PARAF_HEADER_READ_TIMEOUT", "1")]);
    let mut stream = TcpStream::connect(addr(&app)).await.expect("connect");
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(GENEROUS, stream.read(&mut buf))
        .await
        .expect("the server closed the idle connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
}

#[tokio::test]
async fn a_client_trickling_its_body_gets_408_and_is_disconnected() {
    let (_dir, app) = start(&[("PARAF_BODY_READ_TIMEOUT", "1")]);
    let got = trickle_until_closed(
        &app,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: paraf\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"login\":\"",
        b"a",
        // Generous for 1 s, yet below the 30 s every request has to be answered in: the
        // body deadline, not that, must end it.
        Duration::from_secs(20),
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("request_timeout"), "a JSON error body: {got}");
}

/// A PDF upload is read by its own handler, not the JSON extractor: a trickled one is cut
/// off the same way, and answered 408 rather than as too large.
#[tokio::test]
async fn a_pdf_upload_trickled_to_the_sign_endpoint_gets_408() {
    let (_dir, app) = start(&[("PARAF_BODY_READ_TIMEOUT", "1")]);
    let token = common::demo_token(&app, "staf@demo.paraf.test").await;
    let head = format!(
        "POST /api/v1/documents/sign?title=Surat%20undangan HTTP/1.1\r\nHost: paraf\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/pdf\r\n\
         Content-Length: 100000\r\n\r\n%PDF-1.7\n"
    );
    let got = trickle_until_closed(&app, head.as_bytes(), b"%", Duration::from_secs(20)).await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains("request_timeout"), "a JSON error body: {got}");
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_ends() {
    let (_dir, app) = start(&[
        ("PARAF_MAX_CONNECTIONS", "2"),
        // Long enough that the two held connections stay open until the test ends them.
        ("PARAF_HEADER_READ_TIMEOUT", "120"),
    ]);
    let held1 = TcpStream::connect(addr(&app)).await.expect("first");
    let held2 = TcpStream::connect(addr(&app)).await.expect("second");
    // The third connects (the kernel's backlog takes it) and asks, but is not served…
    let mut third = TcpStream::connect(addr(&app)).await.expect("third");
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: paraf\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let early = tokio::time::timeout(Duration::from_secs(2), third.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the limit: {early:?}");
    // …until one of the two ends.
    drop(held1);
    let n = tokio::time::timeout(GENEROUS, third.read(&mut buf))
        .await
        .expect("served once a connection ended")
        .expect("read");
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(held2);
}
