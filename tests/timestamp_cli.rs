//! `paraf sign --tsa-url`: every signature carries an RFC 3161 time-stamp from the
//! configured TSA (`openssl ts -reply` behind a minimal HTTP responder on 127.0.0.1, port
//! 0, as in crates/paraf-pdf/tests/timestamp.rs), checked by pyHanko and `paraf verify`;
//! a TSA that cannot be reached fails the command and nothing is written.

mod common;
#[path = "../crates/paraf-pdf/tests/tsa/mod.rs"]
mod tsa;

use common::{letter_pdf, run, text, tool};
use tsa::start_tsa;

const SEKRETARIS: &str = "sekretaris@demo.paraf.test";

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
