//! RFC 3161 signature time-stamps (PAdES B-T) from a real TSA: `openssl ts -reply`
//! behind a minimal HTTP responder on 127.0.0.1, port 0. Checked by pyHanko, pdfsig
//! and paraf's verifier.

mod common;
mod tsa;

use common::*;
use paraf_pdf::{sign_with_timestamp, verify, SignError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tsa::start_tsa;

/// What a caller of `sign_with_timestamp` writes: POST the query to the configured
/// TSA URL, return the body. Hand-written HTTP keeps the test free of an HTTP client.
async fn post(url: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
    let rest = url.strip_prefix("http://").ok_or("not http")?;
    let (host, path) = rest.split_once('/').ok_or("no path")?;
    let mut s = TcpStream::connect(host).await.map_err(|e| e.to_string())?;
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        paraf_pdf::tsp::QUERY_CONTENT_TYPE,
        body.len()
    );
    s.write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(&body).await.map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.map_err(|e| e.to_string())?;
    let i = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP head")?;
    if !resp.starts_with(b"HTTP/1.1 200") {
        return Err(String::from_utf8_lossy(&resp[..i]).into_owned());
    }
    Ok(resp[i + 4..].to_vec())
}

#[tokio::test]
async fn a_timestamped_signature_is_accepted_by_pyhanko_pdfsig_and_paraf_with_the_tsa_time() {
    let ca = ca().await;
    let tsa = start_tsa(ca.dir.path()).await;
    let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(2);
    let url = tsa.url.clone();
    let signed = sign_with_timestamp(
        &simple_pdf(),
        &ca.signer,
        SIGNERS[0].0,
        &options(0, true),
        |query| async move { post(&url, query).await },
    )
    .await
    .expect("sign with a time-stamp");
    let after = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let file = write(ca.dir.path(), "timestamped.pdf", &signed);

    // paraf: the time-stamp is there, intact, trusted, and at the TSA's time.
    let mut roots = ca.roots();
    roots.push(tsa.root_der.clone());
    let report = verify(&signed, &roots).expect("verify");
    let s = &report.signatures[0];
    assert!(report.all_valid(), "{report:#?}");
    let ts = s.timestamp.as_ref().expect("a time-stamp in the report");
    assert!(ts.is_valid(), "{ts:#?}");
    assert_eq!(ts.tsa_name.as_deref(), Some("Paraf Test TSA"));
    assert!(before <= ts.time && ts.time <= after, "{ts:#?}");
    // Without the TSA's root the time-stamp (and so the signature) is not trusted.
    let report = verify(&signed, &ca.roots()).expect("verify");
    let s = &report.signatures[0];
    assert!(s.timestamp.as_ref().is_some_and(|t| !t.trusted) && !s.is_valid());

    // pyHanko: intact and trusted, with the time-stamp validated.
    let o = run(
        "pyhanko",
        &[
            "sign",
            "validate",
            "--pretty-print",
            "--trust",
            &ca.root_pem.display().to_string(),
            "--trust",
            &tsa.root_pem.display().to_string(),
            "--trust-replace",
            &file,
        ],
    );
    eprintln!("pyhanko:\n{}", o.text);
    assert!(o.ok, "pyhanko:\n{}", o.text);
    for expected in [
        "This timestamp is backed by a time stamping authority.",
        "The timestamp token is cryptographically sound.",
        "TSA certificate subject: \"Common Name: Paraf Test TSA\"",
        "The TSA certificate is trusted.",
        "The signature is judged VALID.",
    ] {
        assert!(
            o.text.contains(expected),
            "pyhanko lacks {expected:?}:\n{}",
            o.text
        );
    }

    // pdfsig: the signature stays valid with the unsigned attribute.
    let (sigs, text) = pdfsig(&ca, &file);
    eprintln!("pdfsig:\n{text}");
    assert!(sigs.len() == 1 && sigs[0].0 && sigs[0].1, "pdfsig:\n{text}");
}

#[tokio::test]
async fn a_tsa_that_cannot_be_reached_fails_the_signing_with_a_timestamp_error() {
    let ca = ca().await;
    let err = sign_with_timestamp(
        &simple_pdf(),
        &ca.signer,
        SIGNERS[0].0,
        &options(0, false),
        |query| async move { post("http://127.0.0.1:9/tsa", query).await },
    )
    .await
    .expect_err("no TSA");
    assert!(matches!(err, SignError::Timestamp(_)), "{err}");
}

#[tokio::test]
async fn a_reply_for_another_request_is_refused() {
    let ca = ca().await;
    let tsa = start_tsa(ca.dir.path()).await;
    // Ask the TSA about something else, then offer its answer for the signature.
    let other = paraf_pdf::timestamp_request(b"something else").expect("request");
    let foreign = post(&tsa.url, other.to_der().to_vec())
        .await
        .expect("TSA answer");
    let err = sign_with_timestamp(
        &simple_pdf(),
        &ca.signer,
        SIGNERS[0].0,
        &options(0, false),
        |_query| async move { Ok::<_, String>(foreign) },
    )
    .await
    .expect_err("foreign reply");
    assert!(
        matches!(
            err,
            SignError::Timestamp(paraf_pdf::tsp::TspError::Mismatch(_))
        ),
        "{err}"
    );
}
