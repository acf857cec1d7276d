//! Signing throughput, in-process, on a 1-page PDF with a P-256 key: the paraf half of
//! `bench/sign-vs-pyhanko` (which runs `bench/pyhanko_sign.py` on the same files).
//!
//! ```text
//! cargo bench -p paraf-pdf --bench sign
//! PARAF_BENCH_DIR=/tmp/sb PARAF_BENCH_SECONDS=5 cargo bench -p paraf-pdf --bench sign
//! ```
//!
//! Writes `input.pdf`, the signer's `keys/bench/{key,cert}.pem` and `ca/root.pem` to
//! `PARAF_BENCH_DIR` (kept) or a temporary folder (deleted), and prints documents/s.

use std::time::{Duration, Instant};

use p256::ecdsa::{signature::hazmat::PrehashSigner, Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use paraf_core::{Signer, SubjectName};
use paraf_local::signer::{LocalCa, LocalSigner};
use paraf_pdf::{prepare, sign, Placement, Rect, SignOptions, Stamp};
use pdf_writer::{Content, Finish, Name, Pdf, Ref, Str};

fn one_page_pdf() -> Vec<u8> {
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

fn visible(o: &SignOptions) -> SignOptions {
    SignOptions {
        placement: Placement::Visible {
            rect: Rect {
                x1: 300.0,
                y1: 80.0,
                x2: 560.0,
                y2: 160.0,
            },
            stamp: Stamp {
                name: "Asep Sunandar".into(),
                nip: Some("198003152005011002".into()),
                jabatan: Some("Kepala Subbagian Umum".into()),
                verification_url: "https://paraf.example/verifikasi/198003152005011002".into(),
            },
        },
        ..o.clone()
    }
}

/// Runs `f` for about `seconds` (at least 20 times); documents per second.
async fn rate<F, Fut>(seconds: f64, mut f: F) -> (f64, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    // Warm-up: page cache, allocator, CPU frequency.
    for _ in 0..10 {
        std::hint::black_box(f().await);
    }
    let start = Instant::now();
    let mut n = 0;
    while n < 20 || start.elapsed() < Duration::from_secs_f64(seconds) {
        std::hint::black_box(f().await);
        n += 1;
    }
    (n as f64 / start.elapsed().as_secs_f64(), n)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::var("PARAF_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let tmp;
    let dir = match std::env::var_os("PARAF_BENCH_DIR") {
        Some(d) => {
            let d = std::path::PathBuf::from(d);
            std::fs::create_dir_all(&d)?;
            d
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    if !LocalCa::exists(&dir) {
        LocalCa::init(&dir, "KPU Provinsi Jawa Barat")?;
    }
    let signer = LocalSigner::open(&dir)?;
    if !dir.join("keys/bench/cert.pem").exists() {
        let subject = SubjectName {
            common_name: "Asep Sunandar".into(),
            serial_number: Some("198003152005011002".into()),
            organizational_unit: Some("Kepala Subbagian Umum".into()),
            email: None,
        };
        signer.create_key("bench", &subject).await?;
    }
    let pdf = one_page_pdf();
    std::fs::write(dir.join("input.pdf"), &pdf)?;
    println!("files: {}", dir.display());

    let t = time::OffsetDateTime::now_utc();
    let invisible = SignOptions::invisible(t);
    let stamped = visible(&invisible);
    let chain = signer.chain("bench").await?.chain;
    let key_pem = std::fs::read_to_string(dir.join("keys/bench/key.pem"))?;
    let key = SigningKey::from_pkcs8_pem(&key_pem)?;

    // Check once that the output verifies, so the loop measures real signatures.
    let root = signer.root_certificate().await?;
    let once = sign(&pdf, &signer, "bench", &stamped).await?;
    if !paraf_pdf::verify(&once, &[root])?.all_valid() {
        return Err("the benchmark's signature does not verify".into());
    }
    std::fs::write(dir.join("paraf-signed.pdf"), &once)?;

    let in_memory = |options: &SignOptions| {
        let prepared = prepare(&pdf, &chain, options).ok()?;
        let sig: Signature = key.sign_prehash(&prepared.digest_to_sign()).ok()?;
        prepared.finish(sig.to_der().as_bytes()).ok()
    };
    println!("paraf-pdf sign throughput, 1-page PDF, P-256, one core, {seconds} s per row:");
    for (label, key_name, options) in [
        (
            "invisible, paraf_pdf::sign + LocalSigner",
            "paraf_invisible",
            &invisible,
        ),
        (
            "visible QR stamp, paraf_pdf::sign + LocalSigner",
            "paraf_visible",
            &stamped,
        ),
    ] {
        let (r, n) = rate(seconds, || async {
            sign(&pdf, &signer, "bench", options)
                .await
                .map(|d| d.len())
                .unwrap_or(0)
        })
        .await;
        println!(
            "  {label:<52} {r:>9.1} documents/s ({:.3} ms each, n={n})",
            1000.0 / r
        );
        println!("RESULT {key_name} {r:.1}");
    }
    // A different name on every stamp: font subsets are cached per glyph sequence, so
    // this row pays for subsetting and compressing the bold face (the name) every time.
    let mut i = 0u32;
    let (r, n) = rate(seconds, || {
        i += 1;
        let letters: String = [i / 676 % 26, i / 26 % 26, i % 26]
            .iter()
            .map(|d| char::from(b'A' + *d as u8))
            .collect();
        let mut options = stamped.clone();
        if let Placement::Visible { stamp, .. } = &mut options.placement {
            stamp.name = format!("Pegawai {letters}");
        }
        let signer = &signer;
        let pdf = &pdf;
        async move {
            sign(pdf, signer, "bench", &options)
                .await
                .map(|d| d.len())
                .unwrap_or(0)
        }
    })
    .await;
    println!(
        "  {:<52} {r:>9.1} documents/s ({:.3} ms each, n={n})",
        "visible, a new name each time (font cache cold)",
        1000.0 / r
    );
    println!("RESULT paraf_visible_cold {r:.1}");
    for (label, options) in [
        ("invisible, prepare + in-memory key + finish", &invisible),
        (
            "visible QR stamp, prepare + in-memory key + finish",
            &stamped,
        ),
    ] {
        let (r, n) = rate(seconds, || async {
            in_memory(options).map_or(0, |d| d.len())
        })
        .await;
        println!(
            "  {label:<52} {r:>9.1} documents/s ({:.3} ms each, n={n})",
            1000.0 / r
        );
    }
    Ok(())
}
