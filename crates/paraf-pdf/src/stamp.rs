//! The visible signature stamp: an appearance stream (form XObject) with the signer's
//! name, NIP, jabatan, the signing time in WIB, "Ditandatangani secara elektronik" and a
//! QR code to the document's verification page.

use time::{OffsetDateTime, UtcOffset};

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
    // 7 hours is always a valid offset; the fallback is never taken.
    UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC)
}

const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// "28 November 2026 14:05 WIB".
pub fn format_wib(t: OffsetDateTime) -> String {
    let t = t.to_offset(wib());
    format!(
        "{} {} {} {:02}:{:02} WIB",
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// Builds the appearance stream content for a `width` × `height` stamp and the
/// resource dictionary it needs (as PDF source).
pub(crate) fn appearance(
    stamp: &Stamp,
    signed_at: OffsetDateTime,
    width: f32,
    height: f32,
) -> (Vec<u8>, Vec<u8>) {
    let mut c = String::new();
    let pad = (height * 0.06).clamp(1.0, 6.0);
    // White background and a thin border, so the QR code has its quiet zone on any page.
    c.push_str(&format!(
        "q 1 g 0 0 {w} {h} re f 0.2 G 0.5 w 0.25 0.25 {w2} {h2} re S Q\n",
        w = n(width),
        h = n(height),
        w2 = n(width - 0.5),
        h2 = n(height - 0.5)
    ));

    // QR code on the left, as large as the height allows.
    let qr_side = (height - 2.0 * pad).min(width * 0.4).max(0.0);
    if let Ok(code) = qrcode::QrCode::with_error_correction_level(
        stamp.verification_url.as_bytes(),
        qrcode::EcLevel::M,
    ) {
        let modules = code.width();
        let colors = code.to_colors();
        if modules > 0 && qr_side > 0.0 {
            let m = qr_side / modules as f32;
            let y0 = (height - qr_side) / 2.0;
            c.push_str("q 0 g\n");
            for (i, color) in colors.iter().enumerate() {
                if *color == qrcode::Color::Dark {
                    let (col, row) = (i % modules, i / modules);
                    // Row 0 is the top of the symbol; PDF y grows upwards.
                    let x = pad + col as f32 * m;
                    let y = y0 + (modules - 1 - row) as f32 * m;
                    c.push_str(&format!("{} {} {} {} re\n", n(x), n(y), n(m), n(m)));
                }
            }
            c.push_str("f Q\n");
        }
    }

    let mut lines = vec!["Ditandatangani secara elektronik".to_string()];
    lines.push(stamp.name.clone());
    if let Some(nip) = &stamp.nip {
        lines.push(format!("NIP {nip}"));
    }
    if let Some(j) = &stamp.jabatan {
        lines.push(j.clone());
    }
    lines.push(format_wib(signed_at));
    let text_x = pad * 2.0 + qr_side;
    let text_w = (width - text_x - pad).max(1.0);
    // Helvetica averages about 0.55 em per character: shrink to fit width and height.
    let longest = lines
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1)
        .max(1) as f32;
    let size = (text_w / (longest * 0.55))
        .min((height - 2.0 * pad) / (lines.len() as f32 * 1.25))
        .clamp(2.0, 10.0);
    let leading = size * 1.25;
    let block = leading * lines.len() as f32;
    let mut y = (height + block) / 2.0 - size;
    for line in &lines {
        draw_text(&mut c, text_x, y, size, line);
        y -= leading;
    }

    let resources = b"<</Font<</Helv<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>>>/ProcSet[/PDF/Text]>>".to_vec();
    (c.into_bytes(), resources)
}

/// Draws one line of text. The only place that knows the font: switching to the
/// embedded TrueType font means changing this function and the resources above.
fn draw_text(out: &mut String, x: f32, y: f32, size: f32, text: &str) {
    out.push_str(&format!(
        "BT /Helv {} Tf {} {} Td <{}> Tj ET\n",
        n(size),
        n(x),
        n(y),
        hex::encode_upper(win_ansi(text))
    ));
}

/// WinAnsiEncoding: Latin-1 plus a few typographic characters; others become '?'.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|ch| match ch {
            ' '..='~' => ch as u8,
            '\u{a0}'..='\u{ff}' => ch as u32 as u8,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{20ac}' => 0x80,
            _ => b'?',
        })
        .collect()
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
    fn non_latin_characters_become_question_marks_in_win_ansi() {
        assert_eq!(win_ansi("é€→"), vec![0xe9, 0x80, b'?']);
    }
}
