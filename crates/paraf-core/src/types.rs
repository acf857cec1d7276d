//! Values with rules, parsed once at the edge and trusted afterwards.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::error::Text;
use crate::text;

/// Why a value was refused, in both languages; `field`-less so the caller names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub Text);

/// Nomor Induk Pegawai: 18 digits `YYYYMMDD YYYYMM G NNN` — birth date, month of
/// appointment (TMT CPNS), sex (1 male, 2 female), sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nip(String);

impl Nip {
    /// Accepts the 18 digits with or without the customary spaces
    /// (`19850312 201001 1 003`).
    pub fn parse(input: &str) -> Result<Nip, Invalid> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid(text!(
                "NIP harus 18 digit angka",
                "NIP must be 18 digits"
            )));
        }
        let num = |r: std::ops::Range<usize>| digits[r].parse::<u16>().unwrap_or(0);
        let birth_year = num(0..4) as i32;
        let birth = Month::try_from(num(4..6) as u8)
            .ok()
            .and_then(|m| Date::from_calendar_date(birth_year, m, num(6..8) as u8).ok())
            .ok_or_else(|| {
                Invalid(text!(
                    "NIP: tanggal lahir (digit 1–8) tidak valid",
                    "NIP: the birth date (digits 1–8) is not a valid date"
                ))
            })?;
        let appointed_year = num(8..12) as i32;
        let appointed_month = num(12..14) as u8;
        if Month::try_from(appointed_month).is_err() {
            return Err(Invalid(text!(
                "NIP: bulan pengangkatan (digit 13–14) tidak valid",
                "NIP: the month of appointment (digits 13–14) is not a valid month"
            )));
        }
        if birth.year() < 1900 {
            return Err(Invalid(text!(
                "NIP: tahun lahir sebelum 1900",
                "NIP: the birth year is before 1900"
            )));
        }
        // ASN are appointed at 18 at the earliest.
        if appointed_year < birth_year + 18 || appointed_year > 2100 {
            return Err(Invalid(text!(
                "NIP: tahun pengangkatan (digit 9–12) harus sedikitnya 18 tahun setelah lahir",
                "NIP: the year of appointment (digits 9–12) must be at least 18 years after birth"
            )));
        }
        if !matches!(&digits[14..15], "1" | "2") {
            return Err(Invalid(text!(
                "NIP: digit ke-15 (jenis kelamin) harus 1 atau 2",
                "NIP: digit 15 (sex) must be 1 or 2"
            )));
        }
        if &digits[15..18] == "000" {
            return Err(Invalid(text!(
                "NIP: nomor urut (digit 16–18) tidak boleh 000",
                "NIP: the sequence number (digits 16–18) must not be 000"
            )));
        }
        Ok(Nip(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> Date {
        let n = |r: std::ops::Range<usize>| self.0[r].parse::<u16>().unwrap_or(1);
        Month::try_from(n(4..6) as u8)
            .ok()
            .and_then(|m| Date::from_calendar_date(n(0..4) as i32, m, n(6..8) as u8).ok())
            .unwrap_or(Date::MIN)
    }

    /// Year and month of appointment.
    pub fn appointed(&self) -> (i32, u8) {
        (
            self.0[8..12].parse().unwrap_or(0),
            self.0[12..14].parse().unwrap_or(0),
        )
    }

    /// `true` for 1 (laki-laki), `false` for 2 (perempuan).
    pub fn is_male(&self) -> bool {
        &self.0[14..15] == "1"
    }

    /// The customary grouped form `19850312 201001 1 003`.
    pub fn grouped(&self) -> String {
        format!(
            "{} {} {} {}",
            &self.0[0..8],
            &self.0[8..14],
            &self.0[14..15],
            &self.0[15..18]
        )
    }
}

impl fmt::Display for Nip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Nip {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        Nip::parse(&s)
    }
}

impl From<Nip> for String {
    fn from(n: Nip) -> String {
        n.0
    }
}

/// An email address, lower-cased. Deliberately simple: one `@`, a dotted domain, no
/// spaces — the mail server is the real judge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, Invalid> {
        let s = input.trim().to_lowercase();
        let bad = || {
            Invalid(text!(
                "alamat email tidak valid",
                "not a valid email address"
            ))
        };
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || s.len() > 254
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        {
            return Err(bad());
        }
        Ok(Email(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

/// Whether `c` may not appear in text a person typed: control characters other than tab
/// and line breaks (NUL among them), and the bidirectional embedding, override and
/// isolate characters (U+202A–U+202E, U+2066–U+2069), which make a subject, number or
/// name read differently from what is stored. One rule for every user text field.
pub fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Refuses user text carrying a character [`is_forbidden_char`] forbids, saying which
/// (as a code point: the character itself would not show).
pub fn check_text(s: &str) -> Result<(), Invalid> {
    match s.chars().find(|c| is_forbidden_char(*c)) {
        None => Ok(()),
        Some(c) => {
            let cp = format!("U+{:04X}", c as u32);
            Err(Invalid(text!(
                "berisi karakter kendali atau pembalik arah teks ({}) yang tidak diperbolehkan",
                "contains a control or text-direction character ({}) that is not allowed",
                cp
            )))
        }
    }
}

/// Earliest and latest year a date typed by a person may have.
pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 9999;

/// A calendar date written exactly `YYYY-MM-DD` (four-digit year 1900–9999, no sign,
/// surrounding spaces ignored). The one date rule of every form and API field.
pub fn parse_date(input: &str) -> Result<Date, Invalid> {
    let bad = || {
        Invalid(text!(
            "tanggal harus berbentuk TTTT-BB-HH (tahun 1900–9999)",
            "the date must be YYYY-MM-DD (year 1900–9999)"
        ))
    };
    let s = input.trim();
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err(bad());
    }
    let year: i32 = s[0..4].parse().map_err(|_| bad())?;
    let month: u8 = s[5..7].parse().map_err(|_| bad())?;
    let day: u8 = s[8..10].parse().map_err(|_| bad())?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(bad());
    }
    let month = Month::try_from(month).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, day).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_exactly_four_digit_years_from_1900() {
        assert_eq!(
            parse_date(" 2026-11-28 ").unwrap(),
            time::macros::date!(2026 - 11 - 28)
        );
        for bad in [
            "0000-01-01",
            "+2027-01-01",
            "1899-12-31",
            "2026-02-30",
            "2026-1-05",
            "20261105",
            "２０２６-01-01",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_date("9999-12-31").is_ok());
    }

    #[test]
    fn user_text_refuses_nul_and_direction_overrides_but_keeps_line_breaks() {
        assert!(check_text("Undangan rapat\r\n\tpleno").is_ok());
        assert!(check_text("Rapat pleno — 2026 · Bandung").is_ok());
        for bad in [
            "a\u{0}b",
            "nomor\u{202e}fdp.exe",
            "x\u{2066}y",
            "\u{7f}",
            "\u{85}",
        ] {
            let e = check_text(bad).unwrap_err();
            assert!(e.0.en.contains("U+"), "{bad:?}: {}", e.0.en);
        }
    }

    #[test]
    fn a_well_formed_nip_yields_its_birth_and_appointment() {
        let n = Nip::parse("19850312 201001 1 003").unwrap();
        assert_eq!(n.as_str(), "198503122010011003");
        assert_eq!(n.birth_date(), time::macros::date!(1985 - 03 - 12));
        assert_eq!(n.appointed(), (2010, 1));
        assert!(n.is_male());
        assert_eq!(n.grouped(), "19850312 201001 1 003");
    }

    #[test]
    fn nips_with_impossible_parts_are_refused() {
        for bad in [
            "12345",              // too short
            "19850312201001100x", // not digits
            "198502302010011003", // 30 February
            "198503122010131003", // month 13 of appointment
            "198503121995011003", // appointed at 9
            "198503122010013003", // sex digit 3
            "198503122010011000", // sequence 000
        ] {
            assert!(Nip::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_refused_nip_says_why_in_indonesian_and_in_english() {
        let Invalid(why) = Nip::parse("12345").unwrap_err();
        assert_eq!(why.id, "NIP harus 18 digit angka");
        assert_eq!(why.en, "NIP must be 18 digits");
        let Invalid(why) = Nip::parse("198503122010011000").unwrap_err();
        assert!(why.en.contains("must not be 000"), "{}", why.en);
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" Admin@Demo.Paraf.Test ").unwrap().as_str(),
            "admin@demo.paraf.test"
        );
        for bad in ["", "a", "a@b", "a@@b.c", "a b@c.d", "@c.d", "a@.c"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
