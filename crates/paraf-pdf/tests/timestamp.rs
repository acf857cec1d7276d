//! RFC 3161 signature time-stamps (PAdES B-T) from a real TSA: `openssl ts -reply`
//! behind a minimal HTTP responder on 127.0.0.1, port 0. Checked by pyHanko, pdfsig
//! and paraf's verifier.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use paraf_pdf::{sign_with_timestamp, verify, SignError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A time-stamping authority: its own root, a P-256 TSA certificate with the critical
/// timeStamping extended key usage, and an `openssl ts` configuration.
struct Tsa {
    root_pem: PathBuf,
    root_der: Vec<u8>,
    url: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = std::process::Command::new(tool("openssl"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

async fn start_tsa(dir: &Path) -> Tsa {
    let dir = dir.join("tsa");
    std::fs::create_dir_all(&dir).expect("tsa dir");
    let days = "30";
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            days,
            "-subj",
            "/CN=Paraf Test TSA Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.csr",
            "-subj",
            "/CN=Paraf Test TSA",
        ],
    );
    std::fs::write(
        dir.join("tsa.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .expect("ext");
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-days",
            days,
            "-extfile",
            "tsa.ext",
            "-out",
            "tsa.pem",
        ],
    );
    std::fs::write(
        dir.join("ts.cnf"),
        "[ tsa ]\ndefault_tsa = paraf_tsa\n[ paraf_tsa ]\ndir = .\nserial = ./serial\n\
         crypto_device = builtin\nsigner_cert = ./tsa.pem\ncerts = ./root.pem\n\
         signer_key = ./tsa.key\nsigner_digest = sha256\ndefault_policy = 1.3.6.1.4.1.99999.1\n\
         digests = sha256, sha384, sha512\naccuracy = secs:1\nordering = yes\ntsa_name = yes\n\
         ess_cert_id_chain = no\ness_cert_id_alg = sha256\n",
    )
    .expect("ts.cnf");
    std::fs::write(dir.join("serial"), "01\n").expect("serial");
    let root_pem = dir.join("root.pem");
    openssl(
        &dir,
        &[
            "x509", "-in", "root.pem", "-outform", "DER", "-out", "root.der",
        ],
    );
    let root_der = std::fs::read(dir.join("root.der")).expect("root.der");

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/tsa", listener.local_addr().expect("addr"));
    let serve_dir = dir.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let dir = serve_dir.clone();
            tokio::spawn(async move { respond(stream, &dir).await });
        }
    });
    Tsa {
        root_pem,
        root_der,
        url,
    }
}

/// One HTTP/1.1 exchange: the query body to `openssl ts -reply`, its reply back.
async fn respond(mut stream: TcpStream, dir: &Path) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, length) = loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let id = rand_id();
    let (query, reply) = (format!("q{id}.tsq"), format!("r{id}.tsr"));
    std::fs::write(dir.join(&query), &buf[head_end..head_end + length]).expect("query");
    let ok = tokio::process::Command::new(tool("openssl"))
        .current_dir(dir)
        .args([
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-queryfile",
            &query,
            "-out",
            &reply,
        ])
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    let body = if ok {
        std::fs::read(dir.join(&reply)).unwrap_or_default()
    } else {
        Vec::new()
    };
    let status = if ok {
        "200 OK"
    } else {
        "500 Internal Server Error"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        paraf_pdf::tsp::REPLY_CONTENT_TYPE,
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

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
