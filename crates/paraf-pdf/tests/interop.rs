//! PDFs from other tools, and tampering, seen by pdfsig, pyHanko and paraf alike.

mod common;

use common::*;
use paraf_pdf::verify;

#[tokio::test]
async fn a_pdf_signed_by_pyhanko_with_xref_streams_gets_a_second_valid_signature_from_paraf() {
    let ca = ca().await;
    let dir = ca.dir.path();
    let plain = write(dir, "plain.pdf", &simple_pdf());
    let compressed = dir.join("objstm.pdf").display().to_string();
    // Object streams force xref streams: the PDF 1.5 path of the reader and writer.
    let q = run("qpdf", &["--object-streams=generate", &plain, &compressed]);
    assert!(q.ok, "qpdf: {}", q.text);
    let compressed = std::fs::read(&compressed).expect("read");
    let theirs_bytes = pyhanko_addsig(
        &ca,
        &compressed,
        "kasubag",
        "1/72,600,272,680/Pengirim",
        &[],
    );
    assert!(
        theirs_bytes.windows(5).any(|w| w == b"/XRef"),
        "expected an xref stream"
    );

    let signed = paraf_pdf::sign(&theirs_bytes, &ca.signer, SIGNERS[1].0, &options(1, true))
        .await
        .expect("sign");
    let file = write(dir, "both.pdf", &signed);

    let (sigs, text) = pdfsig(&ca, &file);
    assert_eq!(sigs.len(), 2, "pdfsig:\n{text}");
    assert!(sigs.iter().all(|(v, t)| *v && *t), "pdfsig:\n{text}");
    let (lines, text) = pyhanko(&ca, &file);
    assert_eq!(lines.len(), 2, "pyhanko:\n{text}");
    assert!(
        lines.iter().all(|l| l.contains(":INTACT:TRUSTED")),
        "pyhanko:\n{text}"
    );
    eprintln!("pyhanko:\n{text}");
    let q = qpdf_check(&file);
    assert!(q.ok, "qpdf:\n{}", q.text);
    let report = verify(&signed, &ca.roots()).expect("verify");
    assert_eq!(report.signatures.len(), 2);
    assert!(report.all_valid(), "{report:#?}");
    assert_eq!(report.signatures[0].field_name, "Pengirim");
}

#[tokio::test]
async fn one_flipped_byte_in_a_signed_range_is_reported_by_pdfsig_pyhanko_and_paraf() {
    let ca = ca().await;
    let mut signed = sign_n(&ca, &simple_pdf(), 2).await;
    // Change the letter's number in the page content, which both signatures cover.
    let at = signed
        .windows(3)
        .position(|w| w == b"123")
        .expect("letter number in the content stream");
    signed[at] = b'9';
    let file = write(ca.dir.path(), "tampered.pdf", &signed);

    let (sigs, text) = pdfsig(&ca, &file);
    assert_eq!(sigs.len(), 2, "pdfsig:\n{text}");
    assert!(sigs.iter().all(|(valid, _)| !valid), "pdfsig:\n{text}");
    assert!(text.contains("Digest Mismatch"), "pdfsig:\n{text}");

    let (lines, text) = pyhanko(&ca, &file);
    assert_eq!(lines.len(), 2, "pyhanko:\n{text}");
    assert!(
        lines.iter().all(|l| l.ends_with(":INVALID")),
        "pyhanko:\n{text}"
    );

    eprintln!("pdfsig:\n{}\npyhanko:\n{text}", pdfsig(&ca, &file).1);
    let report = verify(&signed, &ca.roots()).expect("verify");
    assert_eq!(report.signatures.len(), 2);
    for s in &report.signatures {
        assert!(!s.digest_ok && !s.is_valid(), "{s:#?}");
    }
}

#[tokio::test]
async fn content_changed_by_a_later_revision_is_reported_by_paraf() {
    let ca = ca().await;
    let signed = sign_n(&ca, &simple_pdf(), 1).await;
    // qpdf can append nothing incrementally, so write the revision by hand: a new
    // content stream for the page (object 4) after the signature.
    let doc_len = signed.len();
    let startxref = {
        let tail = String::from_utf8_lossy(&signed[doc_len - 64..]).into_owned();
        let n = tail.split("startxref").nth(1).expect("startxref");
        n.split_whitespace().next().expect("offset").to_owned()
    };
    let mut out = signed.clone();
    let obj_at = out.len();
    let body = b"BT /F1 14 Tf 72 760 Td (DIUBAH) Tj ET";
    out.extend_from_slice(format!("4 0 obj\n<</Length {}>>\nstream\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref_at = out.len();
    out.extend_from_slice(
        format!(
            "xref\n4 1\n{obj_at:010} 00000 n\r\ntrailer\n<</Size 20/Root 1 0 R/Prev {startxref}>>\nstartxref\n{xref_at}\n%%EOF\n"
        )
        .as_bytes(),
    );
    let report = verify(&out, &ca.roots()).expect("verify");
    let s = &report.signatures[0];
    assert!(s.digest_ok && s.signature_ok, "{s:#?}");
    assert_eq!(s.modification, paraf_pdf::Modification::ContentChanged);
    assert!(
        s.changes.iter().any(|c| !c.allowed
            && c.to_string()
                .contains("object 4 (content of page 1) changed")),
        "{s:#?}"
    );
    assert!(!s.is_valid());
}
