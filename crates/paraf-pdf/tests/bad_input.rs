//! Bad input to verify and sign: a clear error, never a panic.

mod common;

use common::*;
use paraf_pdf::{verify, PdfError, SignError, VerifyError};

fn verify_err(bytes: &[u8]) -> PdfError {
    match verify(bytes, &[]) {
        Err(VerifyError::Pdf(e)) => e,
        Ok(r) => panic!("expected an error, got {r:?}"),
    }
}

#[test]
fn a_file_that_is_not_a_pdf_is_refused() {
    assert_eq!(verify_err(b"PK\x03\x04 this is a zip"), PdfError::NotPdf);
    assert_eq!(verify_err(b""), PdfError::NotPdf);
}

#[test]
fn a_truncated_pdf_is_refused() {
    let pdf = simple_pdf();
    for cut in [10, pdf.len() / 2, pdf.len() - 30] {
        assert!(matches!(
            verify_err(&pdf[..cut]),
            PdfError::Malformed(_) | PdfError::TooComplex(_)
        ));
    }
}

#[test]
fn object_and_xref_loops_end_in_an_error() {
    // /Root points to an object that refers to itself; /Prev points to its own section.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let o1 = pdf.len();
    pdf.extend_from_slice(b"1 0 obj\n1 0 R\nendobj\n");
    let o2 = pdf.len();
    pdf.extend_from_slice(b"2 0 obj\n<</Type/Pages/Kids[2 0 R]/Count 1>>\nendobj\n");
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!(
            "xref\n0 3\n0000000000 65535 f\r\n{o1:010} 00000 n\r\n{o2:010} 00000 n\r\ntrailer\n<</Size 3/Root 1 0 R/Prev {xref}>>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    assert!(matches!(
        verify_err(&pdf),
        PdfError::Malformed(_) | PdfError::TooComplex(_)
    ));

    // A page tree whose node is its own kid.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let o1 = pdf.len();
    pdf.extend_from_slice(b"1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n");
    let o2 = pdf.len();
    pdf.extend_from_slice(b"2 0 obj\n<</Type/Pages/Kids[2 0 R]/Count 1>>\nendobj\n");
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!(
            "xref\n0 3\n0000000000 65535 f\r\n{o1:010} 00000 n\r\n{o2:010} 00000 n\r\ntrailer\n<</Size 3/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    let options = options(0, false);
    let chain = vec![vec![0u8; 4]];
    assert!(matches!(
        paraf_pdf::prepare(&pdf, &chain, &options),
        Err(SignError::Pdf(PdfError::Malformed(_)))
    ));
    // verify does not walk pages: no signatures, no error.
    assert!(verify(&pdf, &[]).expect("verify").signatures.is_empty());
}

#[test]
fn a_hundred_megabytes_of_junk_is_refused_quickly() {
    let mut junk = vec![0u8; 100 * 1024 * 1024];
    // Pseudo-random junk with a PDF header and a few keywords sprinkled in.
    let mut x: u32 = 0x1234_5678;
    for b in junk.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    junk[..9].copy_from_slice(b"%PDF-1.7\n");
    assert!(verify(&junk, &[]).is_err());
    let n = junk.len();
    junk[n - 40..n - 20].copy_from_slice(b"startxref\n50000000\n\n");
    assert!(verify(&junk, &[]).is_err());
}

#[test]
fn an_encrypted_pdf_is_refused_as_encrypted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = write(dir.path(), "plain.pdf", &simple_pdf());
    let enc = dir.path().join("enc.pdf").display().to_string();
    let o = run(
        "qpdf",
        &["--encrypt", "user", "owner", "256", "--", &plain, &enc],
    );
    assert!(o.ok, "qpdf: {}", o.text);
    let bytes = std::fs::read(&enc).expect("read");
    assert_eq!(verify_err(&bytes), PdfError::Encrypted);
    let chain = vec![vec![0u8; 4]];
    assert!(matches!(
        paraf_pdf::prepare(&bytes, &chain, &options(0, false)),
        Err(SignError::Pdf(PdfError::Encrypted))
    ));
}

#[tokio::test]
async fn a_pdf_with_no_signatures_verifies_to_an_empty_report() {
    let report = verify(&simple_pdf(), &[]).expect("verify");
    assert!(report.signatures.is_empty());
    assert!(!report.all_valid());
    assert_eq!(report.sha256.len(), 64);
}

#[tokio::test]
async fn an_untrusted_root_makes_the_signature_untrusted_but_intact() {
    let ca = ca().await;
    let other = common::ca().await;
    let signed = sign_n(&ca, &simple_pdf(), 1).await;
    let report = verify(&signed, &other.roots()).expect("verify");
    let s = &report.signatures[0];
    assert!(
        s.digest_ok && s.signature_ok && !s.trusted && !s.is_valid(),
        "{s:#?}"
    );
}
