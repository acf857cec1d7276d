//! Writes every shipped layout, filled with sample data, for a human look:
//!
//! ```text
//! cargo run -p paraf-pdf --example render_samples -- target/render-samples
//! pdftoppm -png -r 60 target/render-samples/spt.pdf target/render-samples/spt
//! ```

use paraf_pdf::render::{render_at, Letterhead};

mod sample_data;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/render-samples".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let at = time::macros::datetime!(2026-11-28 14:05 +7);
    for (name, layout, data) in sample_data::all() {
        let out = render_at(layout, &data, &Letterhead::kpu_jabar(), at)?;
        let path = dir.join(format!("{name}.pdf"));
        std::fs::write(&path, &out.pdf)?;
        println!("wrote {} ({} pages)", path.display(), out.pages);
    }
    Ok(())
}
