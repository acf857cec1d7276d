//! The visible signature stamp: an appearance stream (form XObject) with the signer's
//! name, NIP, jabatan, the signing time in WIB, "Ditandatangani secara elektronik" and a
//! QR code to the document's verification page.

use time::{OffsetDateTime, UtcOffset};

use crate::font::{EmbeddedFont, FontError, FontFace};

/// What a visible stamp shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The signer's name as printed.
    pub name: String,
    /// NIP (18 digits), printed as "NIP …".
    pub nip: Option<String>,
    /// Jabatan (position).
    pub jabatan: Option<String>,
    /// Where the QR code points: the document's verification page.
    pub verification_url: String,
}

/// WIB, UTC+7: all dates in paraf are WIB.
pub(crate) fn wib() -> UtcOffset {
    paraf_core::WIB
}

/// "28 November 2026 14:05 WIB" (kept for callers; the wording lives in
/// [`paraf_core::format::waktu_wib`]).
pub fn format_wib(t: OffsetDateTime) -> String {
    paraf_core::format::waktu_wib(t)
}

/// The QR code's quiet zone, in modules, as ISO/IEC 18004 asks: readers need it to find
/// the finder patterns when the stamp sits on a busy page.
pub const QR_QUIET_ZONE: usize = 4;

/// A stamp's appearance stream and the fonts it shows, resource names `/F1` (regular)
/// and `/F2` (bold). The fonts must be written into the same revision.
pub(crate) struct Appearance {
    pub content: Vec<u8>,
    pub regular: EmbeddedFont,
    pub bold: EmbeddedFont,
}

/// Builds the appearance stream for a `width` × `height` stamp.
pub(crate) fn appearance(
    stamp: &Stamp,
    signed_at: OffsetDateTime,
    width: f32,
    height: f32,
) -> Result<Appearance, FontError> {
    let mut regular = EmbeddedFont::new(FontFace::Regular)?;
    let mut bold = EmbeddedFont::new(FontFace::Bold)?;
    let mut c = String::new();
    let pad = (height * 0.06).clamp(1.0, 6.0);
    // White background and a thin border: the QR code's quiet zone is white on any page.
    c.push_str(&format!(
        "q 1 g 0 0 {w} {h} re f 0.2 G 0.5 w 0.25 0.25 {w2} {h2} re S Q\n",
        w = n(width),
        h = n(height),
        w2 = n(width - 0.5),
        h2 = n(height - 0.5)
    ));

    // QR code on the left, as large as the height allows, its quiet zone included.
    let mut qr_side = 0.0;
    if let Some((modules, colors)) = qr_symbol(stamp.verification_url.as_bytes()) {
        let side = (height - 1.0).min(width * 0.45).max(0.0);
        if modules > 0 && side > 0.0 {
            qr_side = side;
            let m = side / (modules + 2 * QR_QUIET_ZONE) as f32;
            let x0 = 0.5 + QR_QUIET_ZONE as f32 * m;
            let y0 = (height - side) / 2.0 + QR_QUIET_ZONE as f32 * m;
            qr_modules(&mut c, &colors, modules, m, x0, y0);
        }
    }

    // (text, bold)
    let mut lines = vec![("Ditandatangani secara elektronik".to_string(), false)];
    lines.push((stamp.name.clone(), true));
    if let Some(nip) = &stamp.nip {
        lines.push((format!("NIP {nip}"), false));
    }
    if let Some(j) = &stamp.jabatan {
        lines.push((j.clone(), false));
    }
    lines.push((format_wib(signed_at), false));
    let text_x = (qr_side + 0.5).max(pad) + pad * 0.5;
    let text_w = (width - text_x - pad).max(1.0);
    // Measured widths at 1 pt: the largest size at which every line fits.
    let widest = lines
        .iter()
        .map(|(l, b)| {
            if *b {
                bold.measure(l, 1.0)
            } else {
                regular.measure(l, 1.0)
            }
        })
        .fold(0.0f32, f32::max)
        .max(0.01);
    let size = (text_w / widest)
        .min((height - 2.0 * pad) / (lines.len() as f32 * 1.2))
        .clamp(2.0, 10.0);
    let leading = size * 1.2;
    let block = leading * (lines.len() as f32 - 1.0) + regular.cap_height(size);
    let mut y = (height + block) / 2.0 - regular.cap_height(size);
    for (line, is_bold) in &lines {
        let (font, glyphs) = if *is_bold {
            ("F2", bold.encode(line))
        } else {
            ("F1", regular.encode(line))
        };
        c.push_str(&format!(
            "BT /{font} {} Tf {} {} Td <{}> Tj ET\n",
            n(size),
            n(text_x),
            n(y),
            hex::encode_upper(glyphs)
        ));
        y -= leading;
    }
    Ok(Appearance {
        content: c.into_bytes(),
        regular,
        bold,
    })
}

/// The QR code (error correction level M) for `data`: its width in modules and its
/// modules row by row, top first. The same symbol as
/// `qrcode::QrCode::with_error_correction_level(data, EcLevel::M)`, but the mask is chosen
/// here: the crate scores the eight candidate masks with a boxed closure per module and
/// window, which took about 0.3 ms a stamp, a third of a visible signature. The scoring
/// rules (and the first-lowest tie-break) are the crate's, so the choice is the same;
/// a test compares the two on many inputs.
fn qr_symbol(data: &[u8]) -> Option<(usize, Vec<qrcode::Color>)> {
    use qrcode::canvas::{Canvas, MaskPattern};
    use qrcode::{EcLevel, Version};
    let ec_level = EcLevel::M;
    let bits = qrcode::bits::encode_auto(data, ec_level).ok()?;
    let version = bits.version();
    // encode_auto picks among normal versions only; the penalty rules below are theirs.
    if !matches!(version, Version::Normal(_)) {
        return None;
    }
    let width = usize::try_from(version.width()).ok()?;
    let (data_words, ec_words) =
        qrcode::ec::construct_codewords(&bits.into_bytes(), version, ec_level).ok()?;
    let mut canvas = Canvas::new(version, ec_level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data_words, &ec_words);
    let mut best: Option<(u32, Vec<qrcode::Color>)> = None;
    for pattern in [
        MaskPattern::Checkerboard,
        MaskPattern::HorizontalLines,
        MaskPattern::VerticalLines,
        MaskPattern::DiagonalLines,
        MaskPattern::LargeCheckerboard,
        MaskPattern::Fields,
        MaskPattern::Diamonds,
        MaskPattern::Meadow,
    ] {
        let mut masked = canvas.clone();
        masked.apply_mask(pattern);
        let colors = masked.into_colors();
        let score = mask_penalty(&colors, width);
        if best.as_ref().is_none_or(|(lowest, _)| score < *lowest) {
            best = Some((score, colors));
        }
    }
    best.map(|(_, colors)| (width, colors))
}

/// The penalty of a masked symbol as the qrcode crate computes it (ISO/IEC 18004 rules
/// N1–N4): runs of five or more, 2×2 blocks, finder-like `1011101` patterns without four
/// light modules on one side, and the distance from half dark.
fn mask_penalty(colors: &[qrcode::Color], width: usize) -> u32 {
    let dark: Vec<bool> = colors.iter().map(|c| *c == qrcode::Color::Dark).collect();
    if width == 0 || dark.len() != width * width {
        return u32::MAX;
    }
    let mut score = 0u32;
    for i in 0..width {
        let row = &dark[i * width..(i + 1) * width];
        score += line_penalty(width, |k| row[k]);
        score += line_penalty(width, |k| dark[k * width + i]);
    }
    for pair in dark.chunks_exact(width).collect::<Vec<_>>().windows(2) {
        let (upper, lower) = (pair[0], pair[1]);
        for x in 0..width - 1 {
            let d = upper[x];
            if upper[x + 1] == d && lower[x] == d && lower[x + 1] == d {
                score += 3;
            }
        }
    }
    let dark_count = dark.iter().filter(|d| **d).count();
    let ratio = dark_count * 200 / dark.len();
    score + u32::try_from(ratio.abs_diff(100)).unwrap_or(u32::MAX)
}

/// Runs of same-coloured modules (N1) and finder-like patterns (N3) in one row or column
/// of `len` modules, `dark(k)` telling the colour of module `k`.
fn line_penalty(len: usize, dark: impl Fn(usize) -> bool) -> u32 {
    // A 15-module window: 4 before a candidate pattern, its 7, 4 after. Out-of-range
    // modules count as light, as in the crate, hence 4 light modules of padding each side.
    const FINDER: u32 = 0b1011101;
    let mut score = 0u32;
    let mut window = 0u32;
    let mut run = 0u32;
    let mut last = None;
    for t in 0..len + 8 {
        let module = t >= 4 && t < len + 4 && dark(t - 4);
        if t >= 4 && t < len + 4 {
            if last == Some(module) {
                run += 1;
            } else {
                if run >= 5 {
                    score += run - 2;
                }
                run = 1;
                last = Some(module);
            }
        }
        window = ((window << 1) | u32::from(module)) & 0x7fff;
        // The pattern starts at module t - 14 + 4; the crate tries starts 0..len - 6.
        if t >= 14 && t - 14 + 7 <= len {
            let light_before = window >> 11 == 0;
            let light_after = window & 0xf == 0;
            if (window >> 4) & 0x7f == FINDER && (light_before || light_after) {
                score += 40;
            }
        }
    }
    if run >= 5 {
        score += run - 2;
    }
    score
}

/// Fills the dark modules of a `modules`-wide QR symbol whose bottom-left module sits at
/// (`x0`, `y0`), `m` points per module. The matrix `m 0 0 m x0 y0 cm` makes one module one
/// unit, so every rectangle has small integer coordinates; each horizontal run of dark
/// modules is one rectangle, made taller while the rows below repeat it (the finder
/// patterns' sides). That is fewer than half as many rectangles as dark modules: fewer bytes
/// to format and to deflate, and one `f` for the whole symbol, so no seams show between
/// neighbours.
fn qr_modules(c: &mut String, colors: &[qrcode::Color], modules: usize, m: f32, x0: f32, y0: f32) {
    use std::fmt::Write as _;
    // Four decimals: the rounding error is multiplied by up to ~180 modules across.
    let _ = writeln!(c, "q 0 g {m:.4} 0 0 {m:.4} {x0:.4} {y0:.4} cm");
    // Rectangles still growing downwards: (first column, width, top row, rows).
    let mut open: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut next = Vec::new();
    let emit = |c: &mut String, (x, w, top, h): (usize, usize, usize, usize)| {
        // Row 0 is the top of the symbol; PDF y grows upwards.
        let _ = writeln!(c, "{x} {} {w} {h} re", modules - top - h);
    };
    for (row, line) in colors.chunks_exact(modules.max(1)).enumerate() {
        let mut col = 0;
        while col < line.len() {
            if line[col] != qrcode::Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < line.len() && line[col] == qrcode::Color::Dark {
                col += 1;
            }
            let run = (start, col - start);
            match open.iter().position(|r| (r.0, r.1) == run) {
                Some(i) => {
                    let r = open.swap_remove(i);
                    next.push((r.0, r.1, r.2, r.3 + 1));
                }
                None => next.push((run.0, run.1, row, 1)),
            }
        }
        for r in open.drain(..) {
            emit(c, r);
        }
        std::mem::swap(&mut open, &mut next);
    }
    for r in open {
        emit(c, r);
    }
    c.push_str("f Q\n");
}

/// A number for content streams: two decimals, no exponent.
pub(crate) fn n(v: f32) -> String {
    let s = format!("{:.2}", if v.is_finite() { v } else { 0.0 });
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" || s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_time_is_printed_in_wib_with_indonesian_month() {
        let t = time::macros::datetime!(2026-11-28 07:05 UTC);
        assert_eq!(format_wib(t), "28 November 2026 14:05 WIB");
    }

    #[test]
    fn the_qr_symbol_is_the_one_the_qrcode_crate_makes() {
        let mut inputs: Vec<String> = (0..120)
            .map(|i| {
                let id: String = (0..i)
                    .map(|k| char::from(b'a' + (k * 7 + i) as u8 % 26))
                    .collect();
                format!("https://paraf.example/verifikasi/{id}")
            })
            .collect();
        inputs.extend(
            ["", "0", "198003152005011002", "HTTPS://PARAF.EXAMPLE/V/ABC"].map(String::from),
        );
        inputs.push("x".repeat(700));
        for input in &inputs {
            let theirs =
                qrcode::QrCode::with_error_correction_level(input, qrcode::EcLevel::M).unwrap();
            let (width, colors) = qr_symbol(input.as_bytes()).unwrap();
            assert_eq!(width, theirs.width(), "{input}");
            assert!(
                colors == theirs.to_colors(),
                "a different symbol for {input}"
            );
        }
    }

    #[test]
    fn the_qr_rectangles_cover_exactly_the_dark_modules() {
        let (modules, colors) =
            qr_symbol(b"https://paraf.example/verifikasi/198003152005011002").unwrap();
        let mut c = String::new();
        qr_modules(&mut c, &colors, modules, 2.0, 8.5, 9.0);
        let mut lines = c.lines();
        assert_eq!(
            lines.next(),
            Some("q 0 g 2.0000 0 0 2.0000 8.5000 9.0000 cm")
        );
        let mut drawn = vec![false; modules * modules];
        let mut rects = 0;
        for line in lines.by_ref() {
            let Some(r) = line.strip_suffix(" re") else {
                assert_eq!(line, "f Q");
                break;
            };
            let v: Vec<usize> = r.split(' ').map(|x| x.parse().unwrap()).collect();
            let (x, y, w, h) = (v[0], v[1], v[2], v[3]);
            for row in modules - y - h..modules - y {
                for col in x..x + w {
                    assert!(!drawn[row * modules + col], "module drawn twice");
                    drawn[row * modules + col] = true;
                }
            }
            rects += 1;
        }
        assert_eq!(lines.next(), None);
        let dark: Vec<bool> = colors.iter().map(|c| *c == qrcode::Color::Dark).collect();
        assert_eq!(drawn, dark);
        let dark_count = dark.iter().filter(|d| **d).count();
        assert!(
            rects * 2 < dark_count,
            "{rects} rectangles for {dark_count} modules"
        );
    }

    #[test]
    fn a_name_with_latin_accents_is_drawn_with_its_own_glyphs() {
        let stamp = Stamp {
            name: "Ŝtefan Čapek Ñúñez".into(),
            nip: None,
            jabatan: None,
            verification_url: "https://paraf.example/v/1".into(),
        };
        let t = time::macros::datetime!(2026-11-28 07:05 UTC);
        assert!(appearance(&stamp, t, 260.0, 80.0).is_ok());
        let mut bold = EmbeddedFont::new(FontFace::Bold).unwrap();
        let question = bold.encode("?");
        let name = bold.encode(&stamp.name);
        assert!(name.chunks(2).all(|g| g != question.as_slice()));
    }
}
