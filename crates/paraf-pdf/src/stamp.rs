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
    if let Ok(code) = qrcode::QrCode::with_error_correction_level(
        stamp.verification_url.as_bytes(),
        qrcode::EcLevel::M,
    ) {
        let modules = code.width();
        let colors = code.to_colors();
        let side = (height - 1.0).min(width * 0.45).max(0.0);
        if modules > 0 && side > 0.0 {
            qr_side = side;
            let m = side / (modules + 2 * QR_QUIET_ZONE) as f32;
            let x0 = 0.5 + QR_QUIET_ZONE as f32 * m;
            let y0 = (height - side) / 2.0 + QR_QUIET_ZONE as f32 * m;
            c.push_str("q 0 g\n");
            for (i, color) in colors.iter().enumerate() {
                if *color == qrcode::Color::Dark {
                    let (col, row) = (i % modules, i / modules);
                    // Row 0 is the top of the symbol; PDF y grows upwards.
                    let x = x0 + col as f32 * m;
                    let y = y0 + (modules - 1 - row) as f32 * m;
                    c.push_str(&format!("{} {} {} {} re\n", n(x), n(y), n(m), n(m)));
                }
            }
            c.push_str("f Q\n");
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
