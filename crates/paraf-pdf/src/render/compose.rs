//! The page composer: a cursor running down A4 pages, breaking to a new page when a line,
//! table row or signature block would cross the bottom margin.
//!
//! Coordinates are PDF points with the origin at the bottom-left of the page; `y` is the
//! top of the next thing to place.

use pdf_writer::{Content, Name, Str};

use super::template::Align;
use super::SignatureSlot;
use crate::font::{EmbeddedFont, FontError, FontFace};

pub const A4: (f32, f32) = (595.276, 841.89);
/// 2.5 cm left (binding edge), 2 cm elsewhere: the usual margins of *naskah dinas*.
const MARGIN_LEFT: f32 = 70.87;
const MARGIN_RIGHT: f32 = 56.69;
const MARGIN_TOP: f32 = 56.69;
const MARGIN_BOTTOM: f32 = 62.0;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.3;
const CELL_PAD: f32 = 3.0;

pub struct Composer {
    pub width: f32,
    pub height: f32,
    pages: Vec<Content>,
    pub y: f32,
    pub size: f32,
    regular: EmbeddedFont,
    bold: EmbeddedFont,
    pub slots: Vec<SignatureSlot>,
    /// The same drawing as SVG elements, one string per page, when asked for
    /// ([`Composer::with_svg`]): the preview people read before they sign.
    svg: Option<Vec<String>>,
}

pub struct Finished {
    pub pages: Vec<Vec<u8>>,
    pub regular: EmbeddedFont,
    pub bold: EmbeddedFont,
    pub slots: Vec<SignatureSlot>,
    pub width: f32,
    pub height: f32,
    /// Each page's SVG elements (y down, in points), when recorded.
    pub svg: Option<Vec<String>>,
}

impl Finished {
    pub fn signature_slots_on(&self, page: usize) -> impl Iterator<Item = &SignatureSlot> {
        self.slots.iter().filter(move |s| s.page == page)
    }
}

/// A table cell ready to draw: its wrapped lines, alignment and face.
pub struct Cell {
    pub lines: Vec<String>,
    pub align: Align,
    pub bold: bool,
    pub span: usize,
}

impl Composer {
    pub fn new(landscape: bool, size: f32) -> Result<Composer, FontError> {
        let (width, height) = if landscape { (A4.1, A4.0) } else { A4 };
        let mut c = Composer {
            width,
            height,
            pages: Vec::new(),
            y: 0.0,
            size,
            regular: EmbeddedFont::new(FontFace::Regular)?,
            bold: EmbeddedFont::new(FontFace::Bold)?,
            slots: Vec::new(),
            svg: None,
        };
        c.new_page();
        Ok(c)
    }

    /// Also records every page as SVG elements (before anything is drawn).
    pub fn with_svg(mut self) -> Composer {
        self.svg = Some(vec![String::new(); self.pages.len()]);
        self
    }

    /// The current page's SVG elements, when recording.
    fn svg_page(&mut self) -> Option<&mut String> {
        self.svg.as_mut().and_then(|pages| pages.last_mut())
    }

    pub fn left(&self) -> f32 {
        MARGIN_LEFT
    }

    pub fn content_width(&self) -> f32 {
        self.width - MARGIN_LEFT - MARGIN_RIGHT
    }

    pub fn page_index(&self) -> usize {
        self.pages.len().saturating_sub(1)
    }

    pub fn line_height(&self, size: f32) -> f32 {
        size * LEADING
    }

    pub fn new_page(&mut self) {
        let mut content = Content::new();
        // Explicit DeviceRGB black: PDF/A checks colour spaces against the sRGB output
        // intent, and the implicit initial DeviceGray is better avoided.
        content
            .set_fill_rgb(0.0, 0.0, 0.0)
            .set_stroke_rgb(0.0, 0.0, 0.0);
        self.pages.push(content);
        if let Some(svg) = self.svg.as_mut() {
            svg.push(String::new());
        }
        self.y = self.height - MARGIN_TOP;
    }

    /// Start a new page unless `height` still fits above the bottom margin.
    pub fn ensure(&mut self, height: f32) {
        if self.y - height < MARGIN_BOTTOM && self.y < self.height - MARGIN_TOP - 1.0 {
            self.new_page();
        }
    }

    fn font(&self, bold: bool) -> &EmbeddedFont {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }

    pub fn measure(&self, text: &str, bold: bool, size: f32) -> f32 {
        self.font(bold).measure(text, size)
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.new_page();
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Draw one line of text with its baseline at `baseline`.
    pub fn text(&mut self, x: f32, baseline: f32, text: &str, bold: bool, size: f32) {
        let bytes = if bold {
            self.bold.encode(text)
        } else {
            self.regular.encode(text)
        };
        let name = if bold { Name(b"F2") } else { Name(b"F1") };
        self.page()
            .begin_text()
            .set_font(name, size)
            .next_line(x, baseline)
            .show(Str(&bytes))
            .end_text();
        if self.svg.is_some() {
            let width = self.measure(text, bold, size);
            let y = self.height - baseline;
            if let Some(svg) = self.svg_page() {
                svg_text(svg, x, y, text, bold, size, width);
            }
        }
    }

    /// Draw `text` aligned within [x, x + width].
    #[allow(clippy::too_many_arguments)]
    pub fn text_aligned(
        &mut self,
        x: f32,
        width: f32,
        baseline: f32,
        text: &str,
        bold: bool,
        size: f32,
        align: Align,
    ) -> (f32, f32) {
        let w = self.measure(text, bold, size);
        let start = match align {
            Align::Left => x,
            Align::Center => x + (width - w) / 2.0,
            Align::Right => x + width - w,
        };
        self.text(start, baseline, text, bold, size);
        (start, w)
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        self.page()
            .set_line_width(width)
            .move_to(x1, y1)
            .line_to(x2, y2)
            .stroke();
        let h = self.height;
        if let Some(svg) = self.svg_page() {
            svg.push_str(&format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#000" stroke-width="{}"/>"##,
                n(x1),
                n(h - y1),
                n(x2),
                n(h - y2),
                n(width)
            ));
        }
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Option<f32>) {
        let page = self.page();
        page.set_line_width(0.5);
        match fill {
            Some(grey) => {
                page.set_fill_rgb(grey, grey, grey)
                    .rect(x, y, w, h)
                    .fill_nonzero_and_stroke()
                    .set_fill_rgb(0.0, 0.0, 0.0);
            }
            None => {
                page.rect(x, y, w, h).stroke();
            }
        }
        let top = self.height - y - h;
        if let Some(svg) = self.svg_page() {
            let fill = match fill {
                Some(grey) => {
                    let v = (grey.clamp(0.0, 1.0) * 255.0).round() as u8;
                    format!("#{v:02x}{v:02x}{v:02x}")
                }
                None => "none".into(),
            };
            svg.push_str(&format!(
                r##"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" stroke="#000" stroke-width="0.5"/>"##,
                n(x),
                n(top),
                n(w),
                n(h)
            ));
        }
    }

    /// Greedy word wrap to `width`; `\n` forces a break, a word wider than the line is cut
    /// between characters (long URLs, NIPs in narrow cells).
    pub fn wrap(&self, text: &str, bold: bool, size: f32, width: f32) -> Vec<String> {
        let font = self.font(bold);
        let mut lines = Vec::new();
        for hard in text.split('\n') {
            let mut line = String::new();
            for word in hard.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if font.measure(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if font.measure(word, size) <= width {
                    line = word.to_string();
                } else {
                    for c in word.chars() {
                        let mut next = line.clone();
                        next.push(c);
                        if !line.is_empty() && font.measure(&next, size) > width {
                            lines.push(std::mem::take(&mut line));
                            line.push(c);
                        } else {
                            line = next;
                        }
                    }
                }
            }
            lines.push(line);
        }
        lines
    }

    /// Lines of text flowing down the page, breaking pages between lines.
    pub fn flow(&mut self, lines: &[String], x: f32, width: f32, bold: bool, align: Align) {
        let size = self.size;
        let lh = self.line_height(size);
        for line in lines {
            self.ensure(lh);
            let baseline = self.y - size;
            if !line.is_empty() {
                self.text_aligned(x, width, baseline, line, bold, size, align);
            }
            self.y -= lh;
        }
    }

    /// One table row; returns false (drawing nothing) if it does not fit on this page.
    pub fn row(&mut self, cells: &[Cell], widths: &[f32], size: f32, fill: Option<f32>) -> bool {
        let lh = self.line_height(size);
        let lines = cells
            .iter()
            .map(|c| c.lines.len().max(1))
            .max()
            .unwrap_or(1);
        let h = lines as f32 * lh + 2.0 * CELL_PAD;
        if self.y - h < MARGIN_BOTTOM && self.y < self.height - MARGIN_TOP - 1.0 {
            return false;
        }
        let mut x = self.left();
        let top = self.y;
        let mut col = 0;
        for cell in cells {
            let w: f32 = widths.iter().skip(col).take(cell.span.max(1)).sum();
            col += cell.span.max(1);
            self.rect(x, top - h, w, h, fill);
            for (i, line) in cell.lines.iter().enumerate() {
                let baseline = top - CELL_PAD - i as f32 * lh - size;
                self.text_aligned(
                    x + CELL_PAD,
                    w - 2.0 * CELL_PAD,
                    baseline,
                    line,
                    cell.bold,
                    size,
                    cell.align,
                );
            }
            x += w;
        }
        self.y -= h;
        true
    }

    pub fn cell_text_width(width: f32) -> f32 {
        width - 2.0 * CELL_PAD
    }

    /// "Halaman i dari n" at the foot of every page of a multi-page document, so a
    /// missing sheet is noticed.
    pub fn finish(mut self) -> Finished {
        let total = self.pages.len();
        if total > 1 {
            for i in 0..total {
                let label = format!("Halaman {} dari {}", i + 1, total);
                let bytes = self.regular.encode(&label);
                let w = self.regular.measure(&label, 8.0);
                let x = (self.width - w) / 2.0;
                self.pages[i]
                    .begin_text()
                    .set_font(Name(b"F1"), 8.0)
                    .next_line(x, MARGIN_BOTTOM / 2.0)
                    .show(Str(&bytes))
                    .end_text();
                let y = self.height - MARGIN_BOTTOM / 2.0;
                if let Some(svg) = self.svg.as_mut().and_then(|p| p.get_mut(i)) {
                    svg_text(svg, x, y, &label, false, 8.0, w);
                }
            }
        }
        Finished {
            pages: self
                .pages
                .into_iter()
                .map(|c| c.finish().into_vec())
                .collect(),
            regular: self.regular,
            bold: self.bold,
            slots: self.slots,
            width: self.width,
            height: self.height,
            svg: self.svg,
        }
    }
}

/// A number for an SVG attribute: two decimals at most.
fn n(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// One run of text with its baseline at `y` (SVG coordinates). `textLength` holds it to
/// the width measured with the embedded font, so the page keeps its layout even where the
/// browser shows another serif face.
#[allow(clippy::too_many_arguments)]
fn svg_text(svg: &mut String, x: f32, y: f32, text: &str, bold: bool, size: f32, width: f32) {
    if text.trim().is_empty() {
        return;
    }
    let weight = if bold { r#" font-weight="bold""# } else { "" };
    svg.push_str(&format!(
        r#"<text x="{}" y="{}" font-size="{}"{weight} textLength="{}" lengthAdjust="spacingAndGlyphs">"#,
        n(x),
        n(y),
        n(size),
        n(width)
    ));
    for c in text.chars() {
        match c {
            '&' => svg.push_str("&amp;"),
            '<' => svg.push_str("&lt;"),
            '>' => svg.push_str("&gt;"),
            '"' => svg.push_str("&quot;"),
            c if c.is_control() => svg.push(' '),
            c => svg.push(c),
        }
    }
    svg.push_str("</text>");
}
