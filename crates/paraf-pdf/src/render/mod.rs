//! Rendering official documents (Surat Tugas, SPPD, kuitansi, lembar disposisi, recaps)
//! from layouts kept as data in `templates/pdf/*.json`.
//!
//! [`render`] fills a [`Layout`] with a document's JSON data, lays it out on A4 pages with
//! the organisation's letterhead and returns the PDF bytes together with the rectangles
//! reserved for signatures, so the signing code can put each visible stamp exactly there.
//!
//! The output aims at PDF/A-2b: fonts embedded (subset), XMP metadata with the PDF/A
//! identification, an sRGB output intent, document info mirrored in the XMP, and a file
//! ID. Rendering is pure: the same inputs and creation time give the same bytes.
//!
//! ```
//! use paraf_pdf::render::{render_at, Letterhead};
//! use serde_json::json;
//!
//! let layout = r#"{"title": "Nota {{nomor}}", "blocks": [
//!     {"type": "kop"}, {"type": "title", "text": "NOTA DINAS"},
//!     {"type": "paragraph", "text": "Jumlah {{jumlah|rupiah}}."},
//!     {"type": "signature", "role": "kepala", "jabatan": "Sekretaris", "name": "{{ttd}}"}]}"#;
//! let data = json!({"nomor": "1/PL.01-SD/32/2026", "jumlah": 1250000, "ttd": "Dra. Hj. Siti"});
//! let at = time::macros::datetime!(2026-11-28 14:05 +7);
//! let out = render_at(layout, &data, &Letterhead::kpu_jabar(), at).unwrap();
//! assert!(out.pdf.starts_with(b"%PDF-"));
//! assert_eq!(out.signature_slots[0].role, "kepala");
//! ```

mod compose;
mod pdfa;
pub mod template;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::font::FontError;
use compose::{Cell, Composer};
use template::Scope;
pub use template::{Align, Block, Column, Layout, Orientation, Rows, SignatureSpec};

/// The layouts shipped in `templates/pdf/`, compiled in so Lambda needs no files.
pub mod layouts {
    pub const SPT: &str = include_str!("../../../../templates/pdf/spt.json");
    pub const SPPD: &str = include_str!("../../../../templates/pdf/sppd.json");
    pub const KUITANSI: &str = include_str!("../../../../templates/pdf/kuitansi.json");
    pub const DISPOSISI: &str = include_str!("../../../../templates/pdf/disposisi.json");
    pub const REKAP_AGENDA: &str = include_str!("../../../../templates/pdf/rekap-agenda.json");
    pub const REKAP_ABSENSI: &str = include_str!("../../../../templates/pdf/rekap-absensi.json");
    pub const RINCIAN_BIAYA: &str = include_str!("../../../../templates/pdf/rincian-biaya.json");
    pub const DAFTAR_PENGELUARAN_RIIL: &str =
        include_str!("../../../../templates/pdf/daftar-pengeluaran-riil.json");
    pub const SPPD_PENGESAHAN: &str =
        include_str!("../../../../templates/pdf/sppd-pengesahan.json");
    pub const LAPORAN_PERJALANAN: &str =
        include_str!("../../../../templates/pdf/laporan-perjalanan.json");

    /// A shipped layout by its file name without `.json` ("spt", "rekap-absensi").
    pub fn by_name(name: &str) -> Option<&'static str> {
        Some(match name {
            "spt" => SPT,
            "sppd" => SPPD,
            "kuitansi" => KUITANSI,
            "disposisi" => DISPOSISI,
            "rekap-agenda" => REKAP_AGENDA,
            "rekap-absensi" => REKAP_ABSENSI,
            "rincian-biaya" => RINCIAN_BIAYA,
            "daftar-pengeluaran-riil" => DAFTAR_PENGELUARAN_RIIL,
            "sppd-pengesahan" => SPPD_PENGESAHAN,
            "laporan-perjalanan" => LAPORAN_PERJALANAN,
            _ => return None,
        })
    }
}

/// The organisation's letterhead (kop surat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Letterhead {
    /// Name lines, largest first: "KOMISI PEMILIHAN UMUM", "PROVINSI JAWA BARAT".
    pub lines: Vec<String>,
    /// Address and contact lines, small, under the name.
    pub address: Vec<String>,
}

impl Letterhead {
    /// The secretariat of KPU Provinsi Jawa Barat, paraf's first user.
    pub fn kpu_jabar() -> Letterhead {
        Letterhead {
            lines: vec!["KOMISI PEMILIHAN UMUM".into(), "PROVINSI JAWA BARAT".into()],
            address: vec![
                "Jalan Garut Nomor 11, Kacapiring, Batununggal, Kota Bandung 40271".into(),
                "Telepon (022) 7271213 – Laman jabar.kpu.go.id – Pos-el setda@jabar.kpu.go.id"
                    .into(),
            ],
        }
    }
}

/// Where a signature goes: page index (0-based) and rectangle `[x0, y0, x1, y1]` in PDF
/// points, origin at the bottom-left of the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureSlot {
    pub page: usize,
    pub rect: [f32; 4],
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub pdf: Vec<u8>,
    pub signature_slots: Vec<SignatureSlot>,
    pub pages: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the layout is not valid: {0}")]
    Layout(String),
    #[error("placeholder {{{{{0}}}}} has no value in the document data")]
    Missing(String),
    #[error("placeholder {{{{{placeholder}}}}}: {reason}")]
    Filter { placeholder: String, reason: String },
    #[error("placeholder {{{{{0}}}}} must be a list to fill a table or repeated block")]
    NotAList(String),
    #[error("unclosed or malformed placeholder in {0:?}")]
    Syntax(String),
    #[error("a table needs at least one column")]
    NoColumns,
    #[error(transparent)]
    Font(#[from] FontError),
}

/// Anything `render` accepts as a layout: a parsed [`Layout`] or its JSON text.
pub trait AsLayout {
    fn layout(&self) -> Result<std::borrow::Cow<'_, Layout>, RenderError>;
}

impl AsLayout for Layout {
    fn layout(&self) -> Result<std::borrow::Cow<'_, Layout>, RenderError> {
        Ok(std::borrow::Cow::Borrowed(self))
    }
}

impl AsLayout for str {
    fn layout(&self) -> Result<std::borrow::Cow<'_, Layout>, RenderError> {
        Layout::from_json(self).map(std::borrow::Cow::Owned)
    }
}

impl AsLayout for String {
    fn layout(&self) -> Result<std::borrow::Cow<'_, Layout>, RenderError> {
        self.as_str().layout()
    }
}

/// Render a document now (creation date = the current time, in WIB).
pub fn render<L: AsLayout + ?Sized>(
    layout: &L,
    data: &Value,
    org: &Letterhead,
) -> Result<Rendered, RenderError> {
    render_at(layout, data, org, OffsetDateTime::now_utc())
}

/// Render a document with a given creation time, which goes into the metadata; the same
/// inputs give byte-identical output.
pub fn render_at<L: AsLayout + ?Sized>(
    layout: &L,
    data: &Value,
    org: &Letterhead,
    created: OffsetDateTime,
) -> Result<Rendered, RenderError> {
    let (finished, title) = compose(layout, data, org, false)?;
    let pages = finished.pages.len();
    let signature_slots = finished.slots.clone();
    let pdf = pdfa::assemble(finished, &title, created)?;
    Ok(Rendered {
        pdf,
        signature_slots,
        pages,
    })
}

/// The pages of a document as SVG images (one `<svg>` element per page), laid out exactly
/// as [`render`] lays out the PDF: what an approver reads before signing, in any browser
/// and without a PDF viewer. Text is drawn in the serif family of the embedded font
/// (`paraf Serif`, falling back to Liberation Serif and Times); each run is held to the
/// width measured with the embedded font. Each signature slot is outlined (dashed,
/// `class="slot"`), empty, where the signature will go.
pub fn render_svg<L: AsLayout + ?Sized>(
    layout: &L,
    data: &Value,
    org: &Letterhead,
) -> Result<Vec<String>, RenderError> {
    let (finished, _) = compose(layout, data, org, true)?;
    let (w, h) = (finished.width, finished.height);
    let bodies = finished.svg.as_deref().unwrap_or_default();
    Ok(bodies
        .iter()
        .enumerate()
        .map(|(page, body)| {
            let mut svg = format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" class="doc-page" viewBox="0 0 {w:.2} {h:.2}" xml:space="preserve" font-family="'paraf Serif', 'Liberation Serif', Tinos, 'Times New Roman', Times, serif"><rect width="{w:.2}" height="{h:.2}" fill="#fff"/>"##
            );
            svg.push_str(body);
            for s in finished.signature_slots_on(page) {
                let [x0, y0, x1, y1] = s.rect;
                svg.push_str(&format!(
                    r##"<rect class="slot" x="{x0:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="none" stroke="#8b1a1a" stroke-width="1" stroke-dasharray="4 3"/>"##,
                    h - y1,
                    x1 - x0,
                    y1 - y0
                ));
            }
            svg.push_str("</svg>");
            svg
        })
        .collect())
}

/// Lays the layout out, recording SVG too when `svg`.
fn compose<L: AsLayout + ?Sized>(
    layout: &L,
    data: &Value,
    org: &Letterhead,
    svg: bool,
) -> Result<(compose::Finished, String), RenderError> {
    let layout = layout.layout()?;
    let scope = Scope::new(data);
    let title = scope.fill(&layout.title)?;
    let size = layout.font_size.unwrap_or(11.0).clamp(6.0, 24.0);
    let mut c = Composer::new(layout.orientation == Orientation::Landscape, size)?;
    if svg {
        c = c.with_svg();
    }
    blocks(&mut c, &layout.blocks, &scope, org)?;
    Ok((c.finish(), title))
}

fn blocks(
    c: &mut Composer,
    list: &[Block],
    scope: &Scope<'_>,
    org: &Letterhead,
) -> Result<(), RenderError> {
    for block in list {
        block_one(c, block, scope, org)?;
    }
    Ok(())
}

fn block_one(
    c: &mut Composer,
    block: &Block,
    scope: &Scope<'_>,
    org: &Letterhead,
) -> Result<(), RenderError> {
    let x = c.left();
    let width = c.content_width();
    let size = c.size;
    match block {
        Block::Kop => kop(c, org),
        Block::Title { text } => {
            let text = scope.fill(text)?;
            let title_size = size + 2.0;
            c.y -= 4.0;
            for line in c.wrap(&text, true, title_size, width) {
                c.ensure(c.line_height(title_size));
                let baseline = c.y - title_size;
                let (start, w) =
                    c.text_aligned(x, width, baseline, &line, true, title_size, Align::Center);
                // Titles of naskah dinas are underlined.
                c.line(start, baseline - 2.0, start + w, baseline - 2.0, 0.8);
                c.y -= c.line_height(title_size);
            }
        }
        Block::Number { text } => {
            let lines = c.wrap(&scope.fill(text)?, false, size, width);
            c.flow(&lines, x, width, false, Align::Center);
            c.y -= size * 0.6;
        }
        Block::Heading { text } => {
            c.y -= size * 0.3;
            let lines = c.wrap(&scope.fill(text)?, true, size, width);
            c.flow(&lines, x, width, true, Align::Left);
        }
        Block::Paragraph {
            text,
            align,
            bold,
            indent,
        } => {
            let indent = indent.clamp(0.0, width / 2.0);
            let lines = c.wrap(&scope.fill(text)?, *bold, size, width - indent);
            c.flow(&lines, x + indent, width - indent, *bold, *align);
            c.y -= size * 0.4;
        }
        Block::Fields {
            rows,
            label_width,
            indent,
        } => {
            let indent = indent.clamp(0.0, width / 2.0);
            let label_w = label_width.unwrap_or(120.0).clamp(20.0, width / 2.0);
            let colon_w = 12.0;
            let value_x = x + indent + label_w + colon_w;
            let value_w = width - indent - label_w - colon_w;
            let lh = c.line_height(size);
            for (label, value) in rows {
                let label = scope.fill(label)?;
                let value = scope.fill(value)?;
                let label_lines = c.wrap(&label, false, size, label_w - 4.0);
                let value_lines = c.wrap(&value, false, size, value_w);
                let n = label_lines.len().max(value_lines.len());
                for i in 0..n {
                    c.ensure(lh);
                    let baseline = c.y - size;
                    if let Some(l) = label_lines.get(i) {
                        c.text(x + indent, baseline, l, false, size);
                    }
                    if i == 0 && !label.is_empty() {
                        c.text(x + indent + label_w, baseline, ":", false, size);
                    }
                    if let Some(v) = value_lines.get(i) {
                        c.text(value_x, baseline, v, false, size);
                    }
                    c.y -= lh;
                }
            }
            c.y -= size * 0.4;
        }
        Block::Table {
            columns,
            rows,
            footer,
            font_size,
        } => table(
            c,
            columns,
            rows,
            footer,
            font_size.unwrap_or(size - 1.0),
            scope,
        )?,
        Block::Each {
            items,
            blocks: body,
        } => {
            for (i, item) in scope.list(items)?.into_iter().enumerate() {
                blocks(c, body, &scope.with_row(item, i + 1), org)?;
            }
        }
        Block::Signature(spec) => signatures(c, std::slice::from_ref(spec), scope, true)?,
        Block::Signatures { items } => signatures(c, items, scope, false)?,
        Block::Spacer { height } => {
            let h = height.clamp(0.0, c.height);
            c.ensure(h);
            c.y -= h;
        }
        Block::PageBreak => c.new_page(),
    }
    Ok(())
}

fn kop(c: &mut Composer, org: &Letterhead) {
    let x = c.left();
    let width = c.content_width();
    for (i, line) in org.lines.iter().enumerate() {
        // The first line (the institution) a little smaller than the unit name below it,
        // as on KPU letterheads.
        let size = if i == 0 { 14.0 } else { 15.0 };
        c.text_aligned(x, width, c.y - size, line, true, size, Align::Center);
        c.y -= size * 1.2;
    }
    for line in &org.address {
        let size = 9.5;
        for l in c.wrap(line, false, size, width) {
            c.text_aligned(x, width, c.y - size, &l, false, size, Align::Center);
            c.y -= size * 1.25;
        }
    }
    // The double rule under a kop: thick, then thin.
    c.y -= 4.0;
    c.line(x, c.y, x + width, c.y, 2.0);
    c.line(x, c.y - 3.0, x + width, c.y - 3.0, 0.6);
    c.y -= 16.0;
}

fn table(
    c: &mut Composer,
    columns: &[Column],
    rows: &Rows,
    footer: &[Vec<String>],
    size: f32,
    scope: &Scope<'_>,
) -> Result<(), RenderError> {
    if columns.is_empty() {
        return Err(RenderError::NoColumns);
    }
    let size = size.clamp(6.0, 24.0);
    let total: f32 = columns.iter().map(|col| col.width.max(0.1)).sum();
    let widths: Vec<f32> = columns
        .iter()
        .map(|col| col.width.max(0.1) / total * c.content_width())
        .collect();

    let header: Vec<Cell> = columns
        .iter()
        .zip(&widths)
        .map(|(col, w)| {
            Ok(Cell {
                lines: c.wrap(
                    &scope.fill(&col.header)?,
                    true,
                    size,
                    Composer::cell_text_width(*w),
                ),
                align: Align::Center,
                bold: true,
                span: 1,
            })
        })
        .collect::<Result<_, RenderError>>()?;

    let mut body: Vec<Vec<Cell>> = Vec::new();
    let mut push_row = |c: &Composer, texts: Vec<String>| {
        let cells = columns
            .iter()
            .zip(&widths)
            .zip(texts)
            .map(|((col, w), text)| Cell {
                lines: c.wrap(&text, false, size, Composer::cell_text_width(*w)),
                align: col.align,
                bold: false,
                span: 1,
            })
            .collect();
        body.push(cells);
    };
    match rows {
        Rows::Data(spec) => {
            for (i, row) in scope.list(spec)?.into_iter().enumerate() {
                let row_scope = scope.with_row(row, i + 1);
                let texts = columns
                    .iter()
                    .map(|col| row_scope.fill(&col.value))
                    .collect::<Result<Vec<_>, _>>()?;
                push_row(c, texts);
            }
        }
        Rows::Fixed(fixed) => {
            for row in fixed {
                let mut texts = row
                    .iter()
                    .map(|t| scope.fill(t))
                    .collect::<Result<Vec<_>, _>>()?;
                texts.resize(columns.len(), String::new());
                push_row(c, texts);
            }
        }
    }
    for frow in footer {
        let n = frow.len().clamp(1, columns.len());
        // The first cell spans the columns the row does not name.
        let first_span = columns.len() - n + 1;
        let mut cells = Vec::with_capacity(n);
        let mut col = 0;
        for (j, text) in frow.iter().take(n).enumerate() {
            let span = if j == 0 { first_span } else { 1 };
            let w: f32 = widths.iter().skip(col).take(span).sum();
            let align = if j == 0 && span > 1 {
                Align::Right
            } else {
                columns[col].align
            };
            cells.push(Cell {
                lines: c.wrap(&scope.fill(text)?, true, size, Composer::cell_text_width(w)),
                align,
                bold: true,
                span,
            });
            col += span;
        }
        body.push(cells);
    }

    // The header row stays with the first data row, and is repeated on each new page.
    let has_header = columns.iter().any(|col| !col.header.is_empty());
    let header_h = c.line_height(size) * 2.0 + 12.0;
    c.ensure(header_h);
    if has_header {
        c.row(&header, &widths, size, Some(0.88));
    }
    for cells in &body {
        if !c.row(cells, &widths, size, None) {
            c.new_page();
            if has_header {
                c.row(&header, &widths, size, Some(0.88));
            }
            // A row taller than a whole page is drawn anyway rather than lost; it runs
            // past the bottom margin.
            if !c.row(cells, &widths, size, None) {
                c.y = c.y.max(0.0);
            }
        }
    }
    c.y -= c.size * 0.8;
    Ok(())
}

struct FilledSignature {
    role: String,
    top: Vec<String>,
    name: String,
    nip: Option<String>,
    height: f32,
}

/// Signature blocks: place and date, position, the reserved stamp space, name (bold,
/// underlined) and NIP. A single one sits on the right half; several share the width.
fn signatures(
    c: &mut Composer,
    specs: &[SignatureSpec],
    scope: &Scope<'_>,
    right_half: bool,
) -> Result<(), RenderError> {
    if specs.is_empty() {
        return Ok(());
    }
    let size = c.size;
    let lh = c.line_height(size);
    let full = c.content_width();
    let (x0, col_w) = if right_half {
        (c.left() + full * 0.5, full * 0.5)
    } else {
        (c.left(), full / specs.len() as f32)
    };
    let mut filled = Vec::with_capacity(specs.len());
    for spec in specs {
        let mut top = Vec::new();
        if let Some(pd) = &spec.place_date {
            top.extend(c.wrap(&scope.fill(pd)?, false, size, col_w - 8.0));
        }
        top.extend(c.wrap(&scope.fill(&spec.jabatan)?, false, size, col_w - 8.0));
        filled.push(FilledSignature {
            role: scope.fill(&spec.role)?,
            top,
            name: scope.fill(&spec.name)?,
            nip: spec.nip.as_deref().map(|n| scope.fill(n)).transpose()?,
            height: spec.height.unwrap_or(70.0).clamp(20.0, 300.0),
        });
    }
    let top_lines = filled.iter().map(|f| f.top.len()).max().unwrap_or(0);
    let stamp_h = filled.iter().map(|f| f.height).fold(0.0, f32::max);
    let block_h = size * 1.0 + top_lines as f32 * lh + stamp_h + 2.0 * lh;
    c.y -= size;
    // A signature block is never split from its name: keep it whole on one page.
    c.ensure(block_h - size);
    let start_y = c.y;
    for (i, f) in filled.iter().enumerate() {
        let x = x0 + col_w * i as f32;
        let mut y = start_y;
        for line in &f.top {
            c.text_aligned(x, col_w, y - size, line, false, size, Align::Center);
            y -= lh;
        }
        // Align the stamp areas of side-by-side signatures.
        y = start_y - top_lines as f32 * lh;
        let slot_w = (col_w - 16.0).min(200.0);
        let slot_x = x + (col_w - slot_w) / 2.0;
        c.slots.push(SignatureSlot {
            page: c.page_index(),
            rect: [slot_x, y - stamp_h, slot_x + slot_w, y],
            role: f.role.clone(),
        });
        y -= stamp_h;
        let baseline = y - size;
        let (start, w) = c.text_aligned(x, col_w, baseline, &f.name, true, size, Align::Center);
        c.line(start, baseline - 1.5, start + w, baseline - 1.5, 0.6);
        y -= lh;
        if let Some(nip) = &f.nip {
            let line = format!("NIP. {nip}");
            c.text_aligned(x, col_w, y - size, &line, false, size, Align::Center);
        }
    }
    c.y = start_y - block_h + size;
    Ok(())
}
