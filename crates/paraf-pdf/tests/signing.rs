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
    // The original plus one incremental update per signature (font CMaps inside the
    // stamp end with a `%%EOF` of their own that is no revision end).
    assert_eq!(report.revisions, n + 1);
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

// A signed sample for a human look: `cargo run -p paraf-pdf --example signed_sample`.

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

#[tokio::test]
async fn the_visible_stamp_shows_the_signer_in_text_and_a_qr_code_to_the_verification_page() {
    let ca = ca().await;
    let mut o = options(0, true);
    let (name, nip) = ("Ŝtefan Ñúñez-Čapek, S.Kom.", SIGNERS[0].2);
    let url = format!("https://paraf.example/verifikasi/{nip}");
    if let paraf_pdf::Placement::Visible { stamp, .. } = &mut o.placement {
        stamp.name = name.into();
    }
    let signed = paraf_pdf::sign(&simple_pdf(), &ca.signer, SIGNERS[0].0, &o)
        .await
        .expect("sign");
    let dir = ca.dir.path();
    let file = write(dir, "stamped.pdf", &signed);

    let png_prefix = dir.join("page").display().to_string();
    let r = run(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            "-singlefile",
            &file,
            &png_prefix,
        ],
    );
    assert!(r.ok, "pdftoppm: {}", r.text);
    let png = format!("{png_prefix}.png");
    // stdout only: zbarimg chatters about D-Bus on stderr.
    let z = std::process::Command::new(tool("zbarimg"))
        .args(["--quiet", "--raw", &png])
        .output()
        .expect("zbarimg");
    let decoded = String::from_utf8_lossy(&z.stdout);
    assert!(
        z.status.success(),
        "zbarimg found no QR code: {}",
        String::from_utf8_lossy(&z.stderr)
    );
    assert_eq!(decoded.trim(), url);

    let t = run(
        "pdftotext",
        &["-enc", "UTF-8", "-f", "1", "-l", "1", &file, "-"],
    );
    assert!(t.ok, "pdftotext: {}", t.text);
    let text = t.text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains(name), "{text}");
    assert!(text.contains(&format!("NIP {nip}")), "{text}");
    assert!(text.contains("WIB"), "{text}");
    assert!(text.contains("Ditandatangani secara elektronik"), "{text}");

    let (sigs, text) = pdfsig(&ca, &file);
    assert!(sigs.len() == 1 && sigs[0].0 && sigs[0].1, "pdfsig:\n{text}");
    let q = qpdf_check(&file);
    assert!(q.ok && !q.text.contains("WARNING"), "qpdf:\n{}", q.text);
}
