//! `paraf sign --tsa-url`: every signature carries an RFC 3161 time-stamp from the
//! configured TSA (`openssl ts -reply` behind a minimal HTTP responder on 127.0.0.1, port
//! 0, as in crates/paraf-pdf/tests/timestamp.rs), checked by pyHanko and `paraf verify`;
//! a TSA that cannot be reached fails the command and nothing is written.

mod common;
#[path = "../crates/paraf-pdf/tests/tsa/mod.rs"]
mod tsa;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::paraf;
use tsa::start_tsa;

const SEKRETARIS: &str = "sekretaris@demo.paraf.test";

/// A validator from `PARAF_VENV`, the repository's `.venv`, or the PATH.
fn tool(cmd: &str) -> PathBuf {
    let venv = std::env::var_os("PARAF_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let p = venv.join("bin").join(cmd);
    if p.is_file() {
        return p;
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(cmd))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("`{cmd}` not found: run scripts/install-validators and set PARAF_VENV")
        })
}

fn run(data: &Path, args: &[&str]) -> Output {
    paraf()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("PARAF_TSA_URL")
        .env_remove("PARAF_TSA_ROOT")
        .output()
        .expect("paraf runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A one-page A4 PDF with a classic xref table.
fn letter_pdf(words: &str) -> Vec<u8> {
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

// The binary runs blocking in the test body while the TSA answers on the runtime's workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_signed_with_a_configured_tsa_carries_its_timestamp_for_pyhanko_and_paraf_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tsa = start_tsa(dir.path()).await;
    let data = dir.path().join("data");
    let o = run(&data, &["init", "--demo"]);
    assert!(o.status.success(), "init: {}", text(&o));
    let input = dir.path().join("undangan.pdf");
    std::fs::write(&input, letter_pdf("UNDANGAN RAPAT PLENO")).expect("write");
    let out = dir.path().join("undangan-ttd.pdf");
    let (input_s, out_s) = (input.display().to_string(), out.display().to_string());

    let before = time::OffsetDateTime::now_utc();
    let o = run(
        &data,
        &[
            "sign",
            &input_s,
            "--signer",
            SEKRETARIS,
            "--out",
            &out_s,
            "--position",
            "bottom-right",
            "--tsa-url",
            &tsa.url,
        ],
    );
    let after = time::OffsetDateTime::now_utc();
    assert!(o.status.success(), "sign --tsa-url: {}", text(&o));

    // pyHanko: the signature is valid, with a time-stamp from a trusted TSA.
    let o = run(&data, &["ca", "cert"]);
    assert!(o.status.success(), "ca cert: {}", text(&o));
    let org_root = dir.path().join("org-root.pem");
    std::fs::write(&org_root, &o.stdout).expect("org root");
    let o = std::process::Command::new(tool("pyhanko"))
        .args(["sign", "validate", "--pretty-print", "--trust"])
        .arg(&org_root)
        .arg("--trust")
        .arg(&tsa.root_pem)
        .arg("--trust-replace")
        .arg(&out)
        .output()
        .expect("pyhanko runs");
    let t = text(&o);
    assert!(o.status.success(), "pyhanko:\n{t}");
    for expected in [
        "This timestamp is backed by a time stamping authority.",
        "The timestamp token is cryptographically sound.",
        "TSA certificate subject: \"Common Name: Paraf Test TSA\"",
        "The TSA certificate is trusted.",
        "The signature is judged VALID.",
    ] {
        assert!(t.contains(expected), "pyhanko lacks {expected:?}:\n{t}");
    }

    // paraf verify with the TSA's root: the TSA's time, trusted, all valid.
    let root = tsa.root_pem.display().to_string();
    let o = run(&data, &["verify", &out_s, "--tsa-root", &root]);
    let t = text(&o);
    eprintln!("paraf verify --tsa-root:\n{t}");
    assert!(o.status.success(), "verify --tsa-root: {t}");
    let line = t
        .lines()
        .find(|l| l.contains("time-stamp:"))
        .unwrap_or_else(|| panic!("no time-stamp line:\n{t}"));
    assert!(line.contains("by Paraf Test TSA — trusted"), "{line}");
    let minutes = [before, after].map(paraf_core::format::waktu_wib);
    assert!(
        minutes.iter().any(|m| line.contains(m.as_str())),
        "{line} is not at {minutes:?}"
    );
    assert!(t.contains("result: all signatures valid"), "{t}");

    // Without it the time-stamp is not trusted, and neither is the signature.
    let o = run(&data, &["verify", &out_s]);
    let t = text(&o);
    assert!(!o.status.success(), "verify without the TSA root: {t}");
    assert!(
        t.contains("NOT TRUSTED (give the TSA's root with --tsa-root)"),
        "{t}"
    );
}

#[test]
fn a_tsa_that_cannot_be_reached_fails_the_signing_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let o = run(&data, &["init", "--demo"]);
    assert!(o.status.success(), "init: {}", text(&o));
    let input = dir.path().join("nota.pdf");
    std::fs::write(&input, letter_pdf("NOTA DINAS")).expect("write");
    let out = dir.path().join("nota-ttd.pdf");
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/tsa");
    let o = run(
        &data,
        &[
            "sign",
            &input.display().to_string(),
            "--signer",
            SEKRETARIS,
            "--out",
            &out.display().to_string(),
            "--tsa-url",
            &url,
        ],
    );
    let t = text(&o);
    assert!(!o.status.success(), "sign with an unreachable TSA: {t}");
    assert!(
        t.contains("the time-stamping authority could not be reached") && t.contains(&url),
        "{t}"
    );
    assert!(!out.exists(), "nothing is written");
}
