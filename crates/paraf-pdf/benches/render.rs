//! Render time per shipped layout, with the sample data of `examples/sample_data`.
//!
//! ```text
//! cargo bench -p paraf-pdf --bench render
//! ```

use std::time::{Duration, Instant};

use paraf_pdf::render::{render_at, Letterhead};

#[path = "../examples/sample_data/mod.rs"]
mod sample_data;

fn main() {
    let seconds: f64 = std::env::var("PARAF_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let org = Letterhead::kpu_jabar();
    let at = time::macros::datetime!(2026-11-28 14:05 +7);
    println!("paraf-pdf render throughput per layout, one core, {seconds} s per row:");
    for (name, layout, data) in sample_data::all() {
        // Parsing the layout JSON is part of rendering as callers do it.
        let render = || render_at(layout, &data, &org, at);
        let (pages, bytes) = match render() {
            Ok(r) => (r.pages, r.pdf.len()),
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        };
        for _ in 0..5 {
            std::hint::black_box(render().ok());
        }
        let start = Instant::now();
        let mut n = 0u32;
        while n < 10 || start.elapsed() < Duration::from_secs_f64(seconds) {
            std::hint::black_box(render().ok());
            n += 1;
        }
        let r = f64::from(n) / start.elapsed().as_secs_f64();
        println!(
            "  {name:<14} {pages} page(s) {:>7} bytes  {r:>8.1} documents/s ({:.3} ms each)",
            bytes,
            1000.0 / r
        );
    }
}
