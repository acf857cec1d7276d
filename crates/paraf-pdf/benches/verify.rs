//! Verification throughput, in-process: the paraf half of `bench/verify-vs-pyhanko`
//! (which runs `bench/pyhanko_verify.py` on the same files). Every row verifies every
//! signature of the file, including the difference analysis of each later revision.
//!
//! ```text
//! cargo bench -p paraf-pdf --bench verify
//! PARAF_BENCH_DIR=/tmp/vb PARAF_BENCH_SECONDS=5 cargo bench -p paraf-pdf --bench verify
//! ```
//!
//! Writes `verify-1.pdf` (one visible signature), `verify-3.pdf` (three signatures, two
//! later revisions to analyse) and `root.pem` to `PARAF_BENCH_DIR` (kept) or a temporary
//! folder (deleted), and prints documents/s.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

fn rate(seconds: f64, mut f: impl FnMut() -> bool) -> (f64, usize) {
    for _ in 0..10 {
        assert!(f(), "every signature verifies");
    }
    let start = Instant::now();
    let mut n = 0;
    while n < 20 || start.elapsed() < Duration::from_secs_f64(seconds) {
        std::hint::black_box(f());
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
    let ca = common::ca().await;
    let dir = match std::env::var_os("PARAF_BENCH_DIR") {
        Some(d) => std::path::PathBuf::from(d),
        None => ca.dir.path().to_path_buf(),
    };
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(&ca.root_pem, dir.join("root.pem"))?;
    let roots = ca.roots();
    println!("paraf-pdf verify throughput, 1-page PDF, P-256, one core, {seconds} s per row:");
    for n in [1, 3] {
        let pdf = common::sign_n(&ca, &common::simple_pdf(), n).await;
        std::fs::write(dir.join(format!("verify-{n}.pdf")), &pdf)?;
        let (r, count) = rate(seconds, || {
            paraf_pdf::verify(&pdf, &roots).is_ok_and(|report| report.all_valid())
        });
        println!(
            "  {:<52} {r:>9.1} documents/s ({:.3} ms each, n={count})",
            format!("{n} signature(s), paraf_pdf::verify"),
            1000.0 / r
        );
        println!("RESULT paraf_verify_{n} {r:.1}");
    }
    println!("files: {}", dir.display());
    Ok(())
}
