//! Signatures made by paraf, checked by pdfsig, pyHanko, qpdf and paraf's own verifier.

mod common;

use common::*;
use paraf_pdf::{verify, Modification};

async fn signed_by_n_is_accepted_by_every_validator(n: usize) {
    let ca = ca().await;
    let signed = sign_n(&ca, &simple_pdf(), n).await;
    let file = write(ca.dir.path(), &format!("signed{n}.pdf"), &signed);

    let (sigs, text) = pdfsig(&ca, &file);
    assert_eq!(sigs.len(), n, "pdfsig:\n{text}");
    assert!(sigs.iter().all(|(v, t)| *v && *t), "pdfsig:\n{text}");

    let (lines, text) = pyhanko(&ca, &file);
    assert_eq!(lines.len(), n, "pyhanko:\n{text}");
    for line in &lines {
        assert!(line.contains(":INTACT:TRUSTED"), "pyhanko:\n{text}");
    }

    eprintln!("pdfsig:\n{}\npyhanko:\n{text}", pdfsig(&ca, &file).1);
    let q = qpdf_check(&file);
    assert!(q.ok && !q.text.contains("WARNING"), "qpdf:\n{}", q.text);

    let report = verify(&signed, &ca.roots()).expect("verify");
    assert_eq!(report.signatures.len(), n);
    assert!(report.all_valid(), "{report:#?}");
    for (i, s) in report.signatures.iter().enumerate() {
        assert_eq!(s.signer_name.as_deref(), Some(SIGNERS[i].1));
        assert_eq!(s.signer_nip.as_deref(), Some(SIGNERS[i].2));
        assert!(s.signing_certificate_v2 && s.certificate_valid_at_signing_time);
        let expected = if i + 1 == n {
            Modification::None
        } else {
            Modification::OnlySignaturesAdded
        };
        assert_eq!(s.modification, expected);
    }
}

#[tokio::test]
async fn one_signer_is_accepted_by_pdfsig_pyhanko_qpdf_and_paraf() {
    signed_by_n_is_accepted_by_every_validator(1).await;
}

#[tokio::test]
async fn two_signers_keep_both_signatures_valid() {
    signed_by_n_is_accepted_by_every_validator(2).await;
}

#[tokio::test]
async fn three_signers_keep_all_signatures_valid() {
    signed_by_n_is_accepted_by_every_validator(3).await;
}

/// Writes a signed sample to look at: `cargo test -p paraf-pdf --test signing -- --ignored`.
#[tokio::test]
#[ignore]
async fn write_signed_sample_for_review() {
    let ca = ca().await;
    let signed = sign_n(&ca, &simple_pdf(), 3).await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(dir.join("signed-sample.pdf"), signed).expect("write");
}

#[tokio::test]
async fn signing_a_page_that_does_not_exist_is_refused() {
    let ca = ca().await;
    let mut o = options(0, true);
    o.page = 3;
    let err = paraf_pdf::sign(&simple_pdf(), &ca.signer, SIGNERS[0].0, &o)
        .await
        .expect_err("page 3 of a 1-page PDF");
    assert!(matches!(
        err,
        paraf_pdf::SignError::PageOutOfRange { page: 3, count: 1 }
    ));
}

#[tokio::test]
async fn a_field_name_already_used_is_refused() {
    let ca = ca().await;
    let mut o = options(0, false);
    o.field_name = Some("Paraf Kasubag".into());
    let once = paraf_pdf::sign(&simple_pdf(), &ca.signer, SIGNERS[0].0, &o)
        .await
        .expect("sign");
    let err = paraf_pdf::sign(&once, &ca.signer, SIGNERS[1].0, &o)
        .await
        .expect_err("same field name");
    assert!(matches!(err, paraf_pdf::SignError::FieldExists(n) if n == "Paraf Kasubag"));
}

#[tokio::test]
async fn an_unknown_key_is_a_signer_error_and_nothing_is_signed() {
    let ca = ca().await;
    let err = paraf_pdf::sign(&simple_pdf(), &ca.signer, "nobody", &options(0, false))
        .await
        .expect_err("unknown key");
    assert!(matches!(
        err,
        paraf_pdf::SignError::Signer(paraf_core::SignerError::UnknownKey(_))
    ));
}
