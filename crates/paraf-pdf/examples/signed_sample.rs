//! Writes a letter signed by three officials (the last one with a visible stamp) for a
//! human look:
//!
//! ```text
//! cargo run -p paraf-pdf --example signed_sample -- /tmp/signed-sample.pdf
//! pdftoppm -png -r 100 /tmp/signed-sample.pdf /tmp/signed-sample
//! ```
//!
//! The local CA and keys go to a temporary folder that is deleted afterwards.

use paraf_core::{Signer, SubjectName};
use paraf_local::signer::{LocalCa, LocalSigner};
use paraf_pdf::{Placement, Rect, SignOptions, Stamp};
use pdf_writer::{Content, Finish, Name, Pdf, Ref, Str};

const SIGNERS: [(&str, &str, &str, &str); 3] = [
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

fn letter() -> Vec<u8> {
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "signed-sample.pdf".into());
    let dir = tempfile::tempdir()?;
    LocalCa::init(dir.path(), "KPU Provinsi Jawa Barat")?;
    let signer = LocalSigner::open(dir.path())?;
    let mut doc = letter();
    for (i, (id, name, nip, jabatan)) in SIGNERS.iter().enumerate() {
        let subject = SubjectName {
            common_name: (*name).into(),
            serial_number: Some((*nip).into()),
            organizational_unit: Some((*jabatan).into()),
            email: None,
        };
        signer.create_key(id, &subject).await?;
        let mut options = SignOptions::invisible(time::OffsetDateTime::now_utc());
        options.reason = Some("Disetujui".into());
        options.location = Some("Bandung".into());
        if i + 1 == SIGNERS.len() {
            options.placement = Placement::Visible {
                rect: Rect {
                    x1: 300.0,
                    y1: 80.0,
                    x2: 560.0,
                    y2: 160.0,
                },
                stamp: Stamp {
                    name: (*name).into(),
                    nip: Some((*nip).into()),
                    jabatan: Some((*jabatan).into()),
                    verification_url: format!("https://paraf.example/verifikasi/{nip}"),
                },
            };
        }
        doc = paraf_pdf::sign(&doc, &signer, id, &options).await?;
    }
    std::fs::write(&out, doc)?;
    println!("wrote {out}");
    Ok(())
}
