//! Indonesian formatting for documents and pages: dates ("28 November 2026"), WIB times,
//! rupiah ("Rp 1.250.000"), amounts in words (*terbilang*), and the official document
//! number (`123/PL.01-SD/32/2026`).
//!
//! Pure functions: no clock, no locale database. The wording follows the conventions of
//! Indonesian government correspondence (Tata Naskah Dinas), so "seribu" and "seratus"
//! but "satu juta".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, Weekday};

use crate::ports::clock::WIB;

const BULAN: [&str; 12] = [
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

/// The Indonesian month name ("Januari" … "Desember").
pub fn nama_bulan(month: Month) -> &'static str {
    BULAN[usize::from(u8::from(month)) - 1]
}

/// The Indonesian weekday name ("Senin" … "Minggu").
pub fn nama_hari(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Senin",
        Weekday::Tuesday => "Selasa",
        Weekday::Wednesday => "Rabu",
        Weekday::Thursday => "Kamis",
        Weekday::Friday => "Jumat",
        Weekday::Saturday => "Sabtu",
        Weekday::Sunday => "Minggu",
    }
}

/// "28 November 2026".
/// The Indonesian name of a month ("Desember").
pub fn bulan(m: time::Month) -> &'static str {
    BULAN[m as usize - 1]
}

pub fn tanggal(date: Date) -> String {
    format!(
        "{} {} {}",
        date.day(),
        nama_bulan(date.month()),
        date.year()
    )
}

/// "Sabtu, 28 November 2026".
pub fn hari_tanggal(date: Date) -> String {
    format!("{}, {}", nama_hari(date.weekday()), tanggal(date))
}

/// "28 November 2026 14:05 WIB": the instant shown in Jakarta time, whatever offset it
/// carries, because every date users see is WIB.
pub fn waktu_wib(at: OffsetDateTime) -> String {
    let wib = at.to_offset(WIB);
    format!(
        "{} {:02}:{:02} WIB",
        tanggal(wib.date()),
        wib.hour(),
        wib.minute()
    )
}

/// Digits grouped by thousands with dots, the Indonesian way: 1250000 → "1.250.000".
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// "Rp 1.250.000"; negative amounts "-Rp 1.250.000".
pub fn rupiah(amount: i64) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}Rp {}", group_thousands(amount.unsigned_abs()))
}

const SATUAN: [&str; 10] = [
    "", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
];

/// Words for 1..=999; empty for 0.
fn ratusan(n: u64) -> String {
    let mut words: Vec<String> = Vec::new();
    let hundreds = n / 100;
    let rest = n % 100;
    match hundreds {
        0 => {}
        1 => words.push("seratus".into()),
        h => words.push(format!("{} ratus", SATUAN[h as usize])),
    }
    match rest {
        0 => {}
        1..=9 => words.push(SATUAN[rest as usize].into()),
        10 => words.push("sepuluh".into()),
        11 => words.push("sebelas".into()),
        12..=19 => words.push(format!("{} belas", SATUAN[(rest - 10) as usize])),
        _ => {
            words.push(format!("{} puluh", SATUAN[(rest / 10) as usize]));
            if !rest.is_multiple_of(10) {
                words.push(SATUAN[(rest % 10) as usize].into());
            }
        }
    }
    words.join(" ")
}

/// Indonesian number words: 1250000 → "satu juta dua ratus lima puluh ribu".
/// Covers the whole `u64` range (up to *kuintiliun*, 10^18).
pub fn terbilang(n: u64) -> String {
    if n == 0 {
        return "nol".into();
    }
    const SKALA: [&str; 7] = [
        "",
        "ribu",
        "juta",
        "miliar",
        "triliun",
        "kuadriliun",
        "kuintiliun",
    ];
    let mut groups = Vec::new();
    let mut rest = n;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut words: Vec<String> = Vec::new();
    for (scale, &group) in groups.iter().enumerate().rev() {
        match (group, scale) {
            (0, _) => {}
            // "seribu", never "satu ribu"; but "satu juta", "satu miliar".
            (1, 1) => words.push("seribu".into()),
            (g, 0) => words.push(ratusan(g)),
            (g, s) => words.push(format!("{} {}", ratusan(g), SKALA[s])),
        }
    }
    words.join(" ")
}

/// The amount in words as written on a kuitansi: "satu juta dua ratus lima puluh ribu
/// rupiah"; negative amounts start with "minus".
pub fn terbilang_rupiah(amount: i64) -> String {
    let words = format!("{} rupiah", terbilang(amount.unsigned_abs()));
    if amount < 0 {
        format!("minus {words}")
    } else {
        words
    }
}

/// Why a rupiah amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RupiahError {
    #[error("jumlah rupiah kosong")]
    Empty,
    #[error("jumlah rupiah {0:?} bukan angka (contoh: \"Rp 1.250.000\" atau \"1250000\")")]
    NotANumber(String),
    #[error("jumlah rupiah {0:?}: pemisah ribuan harus tiap tiga angka")]
    Grouping(String),
    #[error("jumlah rupiah {0:?} memuat sen; rupiah dicatat dalam bilangan bulat")]
    Cents(String),
    #[error("jumlah rupiah {0:?} terlalu besar")]
    TooLarge(String),
}

/// An amount in whole rupiah. Never a float: the state budget is kept in whole rupiah and
/// rounding errors on a kuitansi are not acceptable.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Rupiah(pub i64);

impl Rupiah {
    /// Accepts "1250000", "1.250.000", "Rp 1.250.000", "Rp1.250.000", "Rp. 1.250.000",
    /// a leading "-", and the customary zero cents ",00" or ",-".
    pub fn parse(input: &str) -> Result<Rupiah, RupiahError> {
        let original = input;
        let mut s = input.trim();
        if s.is_empty() {
            return Err(RupiahError::Empty);
        }
        let negative = s.starts_with('-');
        if negative {
            s = s[1..].trim_start();
        }
        if let Some(rest) = s.strip_prefix("Rp").or_else(|| s.strip_prefix("rp")) {
            s = rest.strip_prefix('.').unwrap_or(rest).trim_start();
        }
        if let Some((whole, cents)) = s.split_once(',') {
            if cents == "-" || (!cents.is_empty() && cents.bytes().all(|b| b == b'0')) {
                s = whole;
            } else if cents.bytes().all(|b| b.is_ascii_digit()) && !cents.is_empty() {
                return Err(RupiahError::Cents(original.into()));
            } else {
                return Err(RupiahError::NotANumber(original.into()));
            }
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(RupiahError::NotANumber(original.into()));
        }
        if s.contains('.') {
            let mut parts = s.split('.');
            let first = parts.next().unwrap_or_default();
            let grouped = (1..=3).contains(&first.len()) && parts.all(|p| p.len() == 3);
            if !grouped {
                return Err(RupiahError::Grouping(original.into()));
            }
        }
        let digits: String = s.chars().filter(|c| *c != '.').collect();
        let value: i64 = digits
            .parse()
            .map_err(|_| RupiahError::TooLarge(original.into()))?;
        Ok(Rupiah(if negative { -value } else { value }))
    }

    pub fn amount(self) -> i64 {
        self.0
    }

    /// "satu juta dua ratus lima puluh ribu rupiah".
    pub fn terbilang(self) -> String {
        terbilang_rupiah(self.0)
    }
}

impl fmt::Display for Rupiah {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&rupiah(self.0))
    }
}

impl FromStr for Rupiah {
    type Err = RupiahError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rupiah::parse(s)
    }
}

/// Why a document number was refused; each variant names the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentNumberError {
    #[error("nomor surat {0:?} harus berbentuk urut/klasifikasi/wilayah/tahun, contoh 123/PL.01-SD/32/2026")]
    Shape(String),
    #[error("nomor urut {0:?} harus angka 1 atau lebih")]
    Sequence(String),
    #[error("kode klasifikasi {0:?} harus huruf besar, angka, titik atau tanda hubung, diawali huruf (contoh PL.01-SD)")]
    Classification(String),
    #[error("kode wilayah {0:?} harus angka (contoh 32), boleh dipisah titik")]
    Region(String),
    #[error("tahun {0:?} harus empat angka antara 1900 dan 2100")]
    Year(String),
}

/// An official outgoing-letter number, `seq/classification/region/year`, e.g.
/// `123/PL.01-SD/32/2026`: 123rd letter of the year, classification PL.01 (from the
/// records classification scheme) of the SD unit, region 32 (Jawa Barat), 2026.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocumentNumber {
    pub seq: u32,
    pub classification: String,
    pub region: String,
    pub year: i32,
}

impl DocumentNumber {
    pub fn parse(input: &str) -> Result<DocumentNumber, DocumentNumberError> {
        let parts: Vec<&str> = input.trim().split('/').map(str::trim).collect();
        let [seq, classification, region, year] = parts.as_slice() else {
            return Err(DocumentNumberError::Shape(input.into()));
        };
        let seq_ok = !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit());
        let seq_value = seq
            .parse::<u32>()
            .ok()
            .filter(|n| seq_ok && *n >= 1)
            .ok_or_else(|| DocumentNumberError::Sequence((*seq).into()))?;
        let class_ok = classification
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
            && classification
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if !class_ok {
            return Err(DocumentNumberError::Classification(
                (*classification).into(),
            ));
        }
        let region_ok = !region.is_empty()
            && region
                .split('.')
                .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
        if !region_ok {
            return Err(DocumentNumberError::Region((*region).into()));
        }
        let year_value = Some(year)
            .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|y| y.parse::<i32>().ok())
            .filter(|y| (1900..=2100).contains(y))
            .ok_or_else(|| DocumentNumberError::Year((*year).into()))?;
        Ok(DocumentNumber {
            seq: seq_value,
            classification: (*classification).into(),
            region: (*region).into(),
            year: year_value,
        })
    }
}

impl fmt::Display for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.seq, self.classification, self.region, self.year
        )
    }
}

impl FromStr for DocumentNumber {
    type Err = DocumentNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocumentNumber::parse(s)
    }
}

impl TryFrom<String> for DocumentNumber {
    type Error = DocumentNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DocumentNumber::parse(&s)
    }
}

impl From<DocumentNumber> for String {
    fn from(n: DocumentNumber) -> String {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_date_is_written_day_month_name_year() {
        assert_eq!(tanggal(date!(2026 - 11 - 28)), "28 November 2026");
        assert_eq!(tanggal(date!(2026 - 01 - 05)), "5 Januari 2026");
    }

    #[test]
    fn a_date_with_its_weekday_names_the_day_in_indonesian() {
        assert_eq!(
            hari_tanggal(date!(2026 - 11 - 28)),
            "Sabtu, 28 November 2026"
        );
        assert_eq!(
            hari_tanggal(date!(2026 - 08 - 17)),
            "Senin, 17 Agustus 2026"
        );
    }

    #[test]
    fn a_utc_instant_is_shown_in_jakarta_time() {
        assert_eq!(
            waktu_wib(datetime!(2026-11-28 07:05 UTC)),
            "28 November 2026 14:05 WIB"
        );
        // Late evening UTC is already the next day in Jakarta.
        assert_eq!(
            waktu_wib(datetime!(2026-11-27 20:30 UTC)),
            "28 November 2026 03:30 WIB"
        );
    }

    #[test]
    fn rupiah_groups_thousands_with_dots() {
        assert_eq!(rupiah(1_250_000), "Rp 1.250.000");
        assert_eq!(rupiah(0), "Rp 0");
        assert_eq!(rupiah(999), "Rp 999");
        assert_eq!(rupiah(1000), "Rp 1.000");
        assert_eq!(rupiah(-1_250_000), "-Rp 1.250.000");
        assert_eq!(rupiah(i64::MIN), "-Rp 9.223.372.036.854.775.808");
    }

    #[test]
    fn terbilang_uses_se_for_one_ten_eleven_hundred_and_thousand() {
        assert_eq!(terbilang(0), "nol");
        assert_eq!(terbilang(1), "satu");
        assert_eq!(terbilang(10), "sepuluh");
        assert_eq!(terbilang(11), "sebelas");
        assert_eq!(terbilang(12), "dua belas");
        assert_eq!(terbilang(19), "sembilan belas");
        assert_eq!(terbilang(20), "dua puluh");
        assert_eq!(terbilang(21), "dua puluh satu");
        assert_eq!(terbilang(100), "seratus");
        assert_eq!(terbilang(111), "seratus sebelas");
        assert_eq!(terbilang(200), "dua ratus");
        assert_eq!(terbilang(1000), "seribu");
        assert_eq!(terbilang(1001), "seribu satu");
        assert_eq!(terbilang(2000), "dua ribu");
        assert_eq!(terbilang(11_000), "sebelas ribu");
        assert_eq!(terbilang(101_000), "seratus satu ribu");
    }

    #[test]
    fn terbilang_says_satu_juta_not_sejuta() {
        assert_eq!(terbilang(1_000_000), "satu juta");
        assert_eq!(terbilang(1_250_000), "satu juta dua ratus lima puluh ribu");
        assert_eq!(terbilang(1_001_000), "satu juta seribu");
        assert_eq!(terbilang(2_000_000_000), "dua miliar");
        assert_eq!(terbilang(1_000_000_000_000), "satu triliun");
        assert_eq!(terbilang(3_000_000_000_005), "tiga triliun lima");
    }

    #[test]
    fn terbilang_covers_the_whole_u64_range() {
        assert_eq!(
            terbilang(u64::MAX),
            "delapan belas kuintiliun empat ratus empat puluh enam kuadriliun tujuh ratus empat \
             puluh empat triliun tujuh puluh tiga miliar tujuh ratus sembilan juta lima ratus \
             lima puluh satu ribu enam ratus lima belas"
        );
    }

    #[test]
    fn terbilang_rupiah_ends_with_rupiah_and_says_minus_for_refunds() {
        assert_eq!(
            terbilang_rupiah(1_250_000),
            "satu juta dua ratus lima puluh ribu rupiah"
        );
        assert_eq!(terbilang_rupiah(-5000), "minus lima ribu rupiah");
    }

    #[test]
    fn rupiah_parses_the_ways_people_write_amounts() {
        for s in [
            "1250000",
            "1.250.000",
            "Rp 1.250.000",
            "Rp1.250.000",
            "Rp. 1.250.000",
            " Rp 1.250.000,00 ",
            "Rp 1.250.000,-",
        ] {
            assert_eq!(Rupiah::parse(s), Ok(Rupiah(1_250_000)), "{s}");
        }
        assert_eq!(Rupiah::parse("-Rp 5.000"), Ok(Rupiah(-5000)));
        assert_eq!(Rupiah(1_250_000).to_string(), "Rp 1.250.000");
    }

    #[test]
    fn rupiah_refuses_floats_cents_and_bad_grouping() {
        assert!(matches!(Rupiah::parse(""), Err(RupiahError::Empty)));
        assert!(matches!(
            Rupiah::parse("1.250.000,50"),
            Err(RupiahError::Cents(_))
        ));
        assert!(matches!(
            Rupiah::parse("12.50.000"),
            Err(RupiahError::Grouping(_))
        ));
        assert!(matches!(
            Rupiah::parse("1e6"),
            Err(RupiahError::NotANumber(_))
        ));
        assert!(matches!(
            Rupiah::parse("99999999999999999999"),
            Err(RupiahError::TooLarge(_))
        ));
    }

    #[test]
    fn a_document_number_round_trips() {
        let n = DocumentNumber::parse("123/PL.01-SD/32/2026").unwrap();
        assert_eq!(
            n,
            DocumentNumber {
                seq: 123,
                classification: "PL.01-SD".into(),
                region: "32".into(),
                year: 2026
            }
        );
        assert_eq!(n.to_string(), "123/PL.01-SD/32/2026");
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"123/PL.01-SD/32/2026\"");
    }

    #[test]
    fn a_bad_document_number_names_the_wrong_part() {
        assert!(matches!(
            DocumentNumber::parse("123/PL.01-SD/2026"),
            Err(DocumentNumberError::Shape(_))
        ));
        assert!(matches!(
            DocumentNumber::parse("0/PL.01-SD/32/2026"),
            Err(DocumentNumberError::Sequence(_))
        ));
        assert!(matches!(
            DocumentNumber::parse("12a/PL.01-SD/32/2026"),
            Err(DocumentNumberError::Sequence(_))
        ));
        assert!(matches!(
            DocumentNumber::parse("123/pl.01/32/2026"),
            Err(DocumentNumberError::Classification(_))
        ));
        assert!(matches!(
            DocumentNumber::parse("123/PL.01-SD/Jabar/2026"),
            Err(DocumentNumberError::Region(_))
        ));
        let err = DocumentNumber::parse("123/PL.01-SD/32/26").unwrap_err();
        assert!(err.to_string().contains("tahun \"26\""), "{err}");
    }
}
