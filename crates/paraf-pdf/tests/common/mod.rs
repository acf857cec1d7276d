//! Shared helpers: a local CA with signers, a simple PDF, and the independent
//! validators (pdfsig, pyHanko, qpdf). A missing validator fails the test: run
//! `scripts/install-validators` and export `PARAF_VENV=$PWD/.venv`.
#![allow(dead_code)]

#[path = "../validators/mod.rs"]
mod validators;

use std::path::{Path, PathBuf};

#[allow(unused_imports)]
pub use validators::{run, tool, Output, Validators};

use paraf_core::{Signer, SubjectName};
use paraf_local::signer::{LocalCa, LocalSigner};
use paraf_pdf::{Placement, Rect, SignOptions, Stamp};
use pdf_writer::{Content, Finish, Name, Pdf, Ref, Str};

pub struct Ca {
    pub dir: tempfile::TempDir,
    pub signer: LocalSigner,
    pub root_der: Vec<u8>,
    pub root_pem: PathBuf,
}

impl Ca {
    /// The trust roots to hand to `verify`.
    pub fn roots(&self) -> Vec<Vec<u8>> {
        vec![self.root_der.clone()]
    }

    /// pdfsig and pyHanko, trusting this CA's root.
    pub fn validators(&self) -> Validators {
        Validators::new(self.dir.path(), &self.root_pem)
    }
}

pub const SIGNERS: [(&str, &str, &str, &str); 3] = [
    (
        "kasubag",
        "Asep Sunandar",
        "198003152005011002",
        "Kepala Subbagian Umum",
    ),
    (
        "kabag",
        "Rina Marlina, S.E.",
        "197512202000032001",
        "Kepala Bagian Keuangan",
    ),
    (
        "sekretaris",
        "Dr. H. Dedi Supriadi",
        "196805171994031003",
        "Sekretaris",
    ),
];

pub async fn ca() -> Ca {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = LocalCa::init(dir.path(), "KPU Provinsi Jawa Barat").expect("CA");
    let root_pem = dir.path().join("root.pem");
    std::fs::write(&root_pem, ca.root_pem()).expect("root.pem");
    let signer = LocalSigner::open(dir.path()).expect("signer");
    for (id, name, nip, jabatan) in SIGNERS {
        signer
            .create_key(
                id,
                &SubjectName {
                    common_name: name.into(),
                    serial_number: Some(nip.into()),
                    organizational_unit: Some(jabatan.into()),
                    email: None,
                },
            )
            .await
            .expect("create key");
    }
    Ca {
        root_der: ca.root_der().to_vec(),
        dir,
        signer,
        root_pem,
    }
}

/// A one-page A4 letter made with pdf-writer (classic xref table).
pub fn simple_pdf() -> Vec<u8> {
    let mut pdf = Pdf::new();
    let (catalog, pages, page, content, font) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.parent(pages)
        .media_box(pdf_writer::Rect::new(0.0, 0.0, 595.0, 842.0))
        .contents(content);
    p.resources().fonts().pair(Name(b"F1"), font);
    p.finish();
    pdf.type1_font(font).base_font(Name(b"Helvetica"));
    let mut c = Content::new();
    c.begin_text()
        .set_font(Name(b"F1"), 14.0)
        .next_line(72.0, 760.0)
        .show(Str(b"SURAT TUGAS Nomor 123/PL.01-SD/32/2026"))
        .end_text();
    pdf.stream(content, &c.finish());
    pdf.finish()
}

pub fn options(i: usize, visible: bool) -> SignOptions {
    let (_, name, nip, jabatan) = SIGNERS[i];
    let mut o = SignOptions::invisible(time::OffsetDateTime::now_utc());
    o.reason = Some("Disetujui".into());
    o.location = Some("Bandung".into());
    if visible {
        let y = 80.0 + 90.0 * i as f32;
        o.placement = Placement::Visible {
            rect: Rect {
                x1: 300.0,
                y1: y,
                x2: 560.0,
                y2: y + 80.0,
            },
            stamp: Stamp {
                name: name.into(),
                nip: Some(nip.into()),
                jabatan: Some(jabatan.into()),
                verification_url: format!("https://paraf.example/verifikasi/{nip}"),
            },
        };
    }
    o
}

/// Signs with the first `n` signers in turn; the last one visibly.
pub async fn sign_n(ca: &Ca, pdf: &[u8], n: usize) -> Vec<u8> {
    let mut doc = pdf.to_vec();
    for (i, (key_id, ..)) in SIGNERS.iter().enumerate().take(n) {
        doc = paraf_pdf::sign(&doc, &ca.signer, key_id, &options(i, i + 1 == n))
            .await
            .expect("sign");
    }
    doc
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p.display().to_string()
}

/// pdfsig's verdict per signature: (signature valid, certificate trusted).
pub fn pdfsig(ca: &Ca, file: &str) -> (Vec<(bool, bool)>, String) {
    let (sigs, text) = ca.validators().pdfsig(file);
    (sigs.iter().map(|s| (s.valid, s.trusted)).collect(), text)
}

/// pyHanko's lines, one per signature (`NAME:CERTHASH:INTACT:TRUSTED,…`).
pub fn pyhanko(ca: &Ca, file: &str) -> (Vec<String>, String) {
    ca.validators().pyhanko(file)
}

pub fn qpdf_check(file: &str) -> Output {
    run("qpdf", &["--check", file])
}

/// Signs `pdf` with pyHanko (PAdES) as the CA's signer `key_id`, in the field `field`
/// (pyHanko's `--field` syntax); `extra` goes before the key source (e.g. `--certify`).
pub fn pyhanko_addsig(ca: &Ca, pdf: &[u8], key_id: &str, field: &str, extra: &[&str]) -> Vec<u8> {
    let dir = ca.dir.path();
    let tag = field.replace(['/', ','], "-");
    let input = write(dir, &format!("pyhanko-in-{tag}.pdf"), pdf);
    let output = dir
        .join(format!("pyhanko-out-{tag}.pdf"))
        .display()
        .to_string();
    let key = dir
        .join(format!("keys/{key_id}/key.pem"))
        .display()
        .to_string();
    let cert = dir
        .join(format!("keys/{key_id}/cert.pem"))
        .display()
        .to_string();
    let root = ca.root_pem.display().to_string();
    let mut args = vec!["sign", "addsig", "--field", field, "--use-pades"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "pemder",
        "--key",
        &key,
        "--cert",
        &cert,
        "--chain",
        &root,
        "--no-pass",
        &input,
        &output,
    ]);
    let o = run("pyhanko", &args);
    assert!(o.ok, "pyhanko addsig: {}", o.text);
    std::fs::read(&output).expect("pyHanko's output")
}
