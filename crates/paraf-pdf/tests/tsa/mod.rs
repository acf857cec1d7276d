//! A time-stamping authority for tests: `openssl ts -reply` behind a minimal HTTP
//! responder on 127.0.0.1, port 0. Shared by paraf-pdf's time-stamp tests and the
//! binary's `paraf sign --tsa-url` test (included there with `#[path]`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A time-stamping authority: its own root, a P-256 TSA certificate with the critical
/// timeStamping extended key usage, and an `openssl ts` configuration.
pub struct Tsa {
    pub root_pem: PathBuf,
    pub root_der: Vec<u8>,
    pub url: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = std::process::Command::new("openssl")
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

pub async fn start_tsa(dir: &Path) -> Tsa {
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
    let ok = tokio::process::Command::new("openssl")
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
