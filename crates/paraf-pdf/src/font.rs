//! The font paraf carries inside its binary, measured for layout and embedded in PDFs.
//!
//! Lambda has no system fonts, so the TrueType files (Liberation Serif, metric-compatible
//! with Times New Roman, which Indonesian *tata naskah dinas* asks for; SIL OFL 1.1, see
//! `fonts/LICENSE-LiberationSerif.txt`) are compiled in with `include_bytes!`.
//!
//! A font is embedded as a Type0 / CIDFontType2 font with Identity-H encoding, subset to
//! the glyphs actually shown, with `/W` widths, a FontDescriptor pointing at `/FontFile2`
//! and a `/ToUnicode` CMap so text extraction (and search, and screen readers) give back
//! the original characters, typographic quotes and dashes included. Every text string
//! drawn with [`EmbeddedFont::encode`] is a sequence of 2-byte glyph ids of the subset.
//!
//! ```
//! use paraf_pdf::font::{EmbeddedFont, FontFace};
//! use pdf_writer::{Pdf, Ref};
//!
//! let mut font = EmbeddedFont::new(FontFace::Regular).unwrap();
//! let width = font.measure("Sekretaris", 11.0);
//! assert!(width > 40.0 && width < 60.0);
//! let shown = font.encode("Sekretaris"); // bytes for `Content::show(Str(&shown))`
//! assert_eq!(shown.len(), 2 * "Sekretaris".len());
//!
//! let mut pdf = Pdf::new();
//! let mut next = Ref::new(10);
//! let font_ref = next.bump();
//! font.write(&mut pdf, font_ref, &mut next).unwrap();
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Chunk, Filter, Finish, Name, Rect, Ref, Str};
use sha2::{Digest, Sha256};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

static REGULAR: &[u8] = include_bytes!("../fonts/LiberationSerif-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/LiberationSerif-Bold.ttf");

/// Which of the carried faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FontFace {
    Regular,
    Bold,
}

impl FontFace {
    /// The TrueType file carried in the binary (also served to browsers, so a document's
    /// SVG preview shows the face its PDF embeds).
    pub fn data(self) -> &'static [u8] {
        match self {
            FontFace::Regular => REGULAR,
            FontFace::Bold => BOLD,
        }
    }

    /// The PostScript name, used (with a subset tag) as `/BaseFont`.
    pub fn postscript_name(self) -> &'static str {
        match self {
            FontFace::Regular => "LiberationSerif",
            FontFace::Bold => "LiberationSerif-Bold",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error("the embedded font {0} cannot be read: {1}")]
    Parse(&'static str, String),
    #[error("the embedded font {0} cannot be subset: {1}")]
    Subset(&'static str, String),
}

/// One face, measuring text and remembering which glyphs were shown so that only those
/// are embedded. Use one per PDF: glyph ids written by [`encode`](Self::encode) are only
/// valid for the subset written by [`write`](Self::write) of the same value.
pub struct EmbeddedFont {
    kind: FontFace,
    face: Face<'static>,
    units_per_em: f32,
    remapper: GlyphRemapper,
    /// Subset glyph id → (the text it stands for, advance in 1/1000 em).
    used: BTreeMap<u16, (String, f32)>,
}

impl std::fmt::Debug for EmbeddedFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedFont")
            .field("kind", &self.kind)
            .field("glyphs_used", &self.used.len())
            .finish()
    }
}

const IDENTITY: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

impl EmbeddedFont {
    pub fn new(kind: FontFace) -> Result<EmbeddedFont, FontError> {
        let face = Face::parse(kind.data(), 0)
            .map_err(|e| FontError::Parse(kind.postscript_name(), e.to_string()))?;
        let units_per_em = f32::from(face.units_per_em());
        let mut font = EmbeddedFont {
            kind,
            face,
            units_per_em,
            remapper: GlyphRemapper::new(),
            used: BTreeMap::new(),
        };
        // .notdef is always in the subset; give it its width so /W is complete.
        let notdef = font.advance(GlyphId(0));
        font.used.insert(0, (String::new(), notdef));
        Ok(font)
    }

    pub fn face(&self) -> FontFace {
        self.kind
    }

    /// Control characters (tabs, stray newlines) are drawn as spaces; a character the
    /// font lacks is drawn as "?" rather than failing the whole document, and never as
    /// .notdef, which PDF/A forbids showing.
    fn glyph(&self, c: char) -> GlyphId {
        self.shown(c).0
    }

    /// The glyph drawn for `c` and the character it really shows (for ToUnicode, so a
    /// stand-in "?" extracts as "?").
    fn shown(&self, c: char) -> (GlyphId, char) {
        let c = if c.is_control() { ' ' } else { c };
        if let Some(g) = self.face.glyph_index(c) {
            return (g, c);
        }
        // Non-breaking and other exotic spaces: show a plain space.
        let stand_in = if c.is_whitespace() { ' ' } else { '?' };
        (
            self.face.glyph_index(stand_in).unwrap_or(GlyphId(0)),
            stand_in,
        )
    }

    /// Advance in thousandths of an em (PDF glyph space).
    fn advance(&self, glyph: GlyphId) -> f32 {
        let units = self.face.glyph_hor_advance(glyph).unwrap_or(0);
        f32::from(units) * 1000.0 / self.units_per_em
    }

    /// Width of `text` in points at `size` points. No kerning: the PDF shows glyphs at
    /// their plain advances, so this is exactly the drawn width.
    pub fn measure(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(self.glyph(c)))
            .sum::<f32>()
            * size
            / 1000.0
    }

    /// Distance from the baseline to the top of capital letters, in points at `size`.
    pub fn cap_height(&self, size: f32) -> f32 {
        let units = self
            .face
            .capital_height()
            .unwrap_or_else(|| self.face.ascender());
        f32::from(units) * size / self.units_per_em
    }

    /// The bytes to pass to `Content::show(Str(..))` for `text`, recording its glyphs for
    /// the subset and the ToUnicode map.
    pub fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let (glyph, c) = self.shown(c);
            let width = self.advance(glyph);
            let new = self.remapper.remap(glyph.0);
            if glyph.0 != 0 {
                self.used
                    .entry(new)
                    .or_insert_with(|| (c.to_string(), width));
            }
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }

    /// A subset tag ("ABCDEF+") required by PDF for subset fonts; derived from the glyph
    /// set so the same text gives the same bytes.
    fn subset_tag(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(self.kind.postscript_name());
        for (gid, (text, _)) in &self.used {
            hash.update(gid.to_be_bytes());
            hash.update(text.as_bytes());
        }
        hash.finalize()
            .iter()
            .take(6)
            .map(|b| char::from(b'A' + b % 26))
            .collect()
    }

    /// Write the Type0 font dictionary at `font_ref` and its descendant font, descriptor,
    /// ToUnicode CMap and subset font program at refs taken from `next`. Call after all
    /// text has been encoded. Takes a [`Chunk`], so a `&mut Pdf` works as well.
    pub fn write(&self, chunk: &mut Chunk, font_ref: Ref, next: &mut Ref) -> Result<(), FontError> {
        for (_, object) in self.write_objects(font_ref, next)? {
            chunk.extend(&object);
        }
        Ok(())
    }

    /// Like [`write`](Self::write), but one chunk per object, so a writer that keeps
    /// its own cross-reference table (the incremental update of a signature) knows
    /// where each object starts.
    pub fn write_objects(
        &self,
        font_ref: Ref,
        next: &mut Ref,
    ) -> Result<Vec<(Ref, Chunk)>, FontError> {
        let name = self.kind.postscript_name();
        let cid_ref = next.bump();
        let descriptor_ref = next.bump();
        let cmap_ref = next.bump();
        let file_ref = next.bump();

        let base_font = format!("{}+{}", self.subset_tag(), name);
        let base_font = Name(base_font.as_bytes());

        let mut font = Chunk::new();
        font.type0_font(font_ref)
            .base_font(base_font)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_ref)
            .to_unicode(cmap_ref);

        let mut cid_chunk = Chunk::new();
        let mut cid = cid_chunk.cid_font(cid_ref);
        cid.subtype(CidFontType::Type2)
            .base_font(base_font)
            .system_info(IDENTITY)
            .font_descriptor(descriptor_ref)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        {
            let mut widths = cid.widths();
            for (gid, (_, width)) in &self.used {
                widths.consecutive(*gid, [*width]);
            }
        }
        cid.finish();

        let scale = |v: i16| f32::from(v) * 1000.0 / self.units_per_em;
        let bbox = self.face.global_bounding_box();
        let mut flags = FontFlags::SERIF | FontFlags::NON_SYMBOLIC;
        if self.face.is_italic() {
            flags |= FontFlags::ITALIC;
        }
        let weight = self.face.weight().to_number();
        let mut descriptor = Chunk::new();
        descriptor
            .font_descriptor(descriptor_ref)
            .name(base_font)
            .flags(flags)
            .bbox(Rect::new(
                scale(bbox.x_min),
                scale(bbox.y_min),
                scale(bbox.x_max),
                scale(bbox.y_max),
            ))
            .italic_angle(self.face.italic_angle())
            .ascent(scale(self.face.ascender()))
            .descent(scale(self.face.descender()))
            .cap_height(scale(
                self.face
                    .capital_height()
                    .unwrap_or_else(|| self.face.ascender()),
            ))
            // No stem width in TrueType; this estimate from the weight class is what
            // other writers (krilla, typst) use.
            .stem_v(10.0 + 0.244 * (f32::from(weight) - 50.0))
            .weight(weight)
            .font_file2(file_ref);

        let mut cmap = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
        for (gid, (text, _)) in &self.used {
            if !text.is_empty() {
                cmap.pair_with_multiple(*gid, text.chars());
            }
        }
        let cmap = cmap.finish();
        let mut cmap_chunk = Chunk::new();
        cmap_chunk.cmap(cmap_ref, &cmap);

        let (program_len, packed) = self.program()?;
        let mut file = Chunk::new();
        file.stream(file_ref, &packed)
            .filter(Filter::FlateDecode)
            .pair(
                Name(b"Length1"),
                i32::try_from(program_len).unwrap_or(i32::MAX),
            );
        Ok(vec![
            (font_ref, font),
            (cid_ref, cid_chunk),
            (descriptor_ref, descriptor),
            (cmap_ref, cmap_chunk),
            (file_ref, file),
        ])
    }
}

/// Recently made font programs: (face, original glyph ids in subset order) → (length,
/// zlib-compressed subset). Subsetting and compressing cost milliseconds, and the same
/// official's stamp or the same layout shows the same glyphs again and again.
type ProgramCache = Vec<((FontFace, Vec<u16>), (usize, Arc<Vec<u8>>))>;
static PROGRAMS: Mutex<ProgramCache> = Mutex::new(Vec::new());
const PROGRAMS_KEPT: usize = 64;
/// zlib level of subset font programs.
const PROGRAM_LEVEL: u8 = 1;

impl EmbeddedFont {
    /// The subset font program: its length and its zlib-compressed bytes.
    fn program(&self) -> Result<(usize, Arc<Vec<u8>>), FontError> {
        let key = (self.kind, self.remapper.remapped_gids().collect::<Vec<_>>());
        // A poisoned lock only means another thread panicked mid-update of a cache.
        let cached = |cache: &ProgramCache| {
            cache
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (v.0, Arc::clone(&v.1)))
        };
        if let Some(hit) = cached(&PROGRAMS.lock().unwrap_or_else(|e| e.into_inner())) {
            return Ok(hit);
        }
        let program = subsetter::subset(self.kind.data(), 0, &self.remapper)
            .map_err(|e| FontError::Subset(self.kind.postscript_name(), e.to_string()))?;
        // Level 1, not 6: at level 6 a stamp with a new name spent a third of its time
        // here; level 1 adds ≈ 2 KB to a rendered document (BENCHMARKS.md, sign table).
        let packed = Arc::new(miniz_oxide::deflate::compress_to_vec_zlib(
            &program,
            PROGRAM_LEVEL,
        ));
        let mut cache = PROGRAMS.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= PROGRAMS_KEPT {
            cache.remove(0);
        }
        cache.push((key, (program.len(), Arc::clone(&packed))));
        Ok((program.len(), packed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bold_text_is_wider_than_regular_text() {
        let regular = EmbeddedFont::new(FontFace::Regular).unwrap();
        let bold = EmbeddedFont::new(FontFace::Bold).unwrap();
        let text = "KOMISI PEMILIHAN UMUM";
        assert!(bold.measure(text, 12.0) > regular.measure(text, 12.0));
    }

    #[test]
    fn encoding_gives_two_bytes_per_character_and_reuses_glyph_ids() {
        let mut font = EmbeddedFont::new(FontFace::Regular).unwrap();
        let a = font.encode("“aa” – —");
        assert_eq!(a.len(), 16);
        assert_eq!(a[2..4], a[4..6]);
        // .notdef + “ a ” space – —
        assert_eq!(font.used.len(), 7);
    }

    #[test]
    fn a_character_missing_from_the_font_is_shown_as_a_question_mark_not_notdef() {
        let mut font = EmbeddedFont::new(FontFace::Regular).unwrap();
        let question = font.encode("?");
        // U+4E2D (a CJK ideograph) is not in Liberation Serif.
        assert_eq!(font.encode("\u{4e2d}"), question);
    }

    #[test]
    fn a_subset_font_is_much_smaller_than_the_whole_font() {
        use pdf_writer::Pdf;
        let mut font = EmbeddedFont::new(FontFace::Regular).unwrap();
        font.encode("Surat Tugas");
        let mut pdf = Pdf::new();
        let mut next = Ref::new(2);
        let font_ref = next.bump();
        font.write(&mut pdf, font_ref, &mut next).unwrap();
        let bytes = pdf.finish();
        assert!(bytes.len() < REGULAR.len() / 10, "{} bytes", bytes.len());
    }
}
