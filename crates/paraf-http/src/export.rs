//! Table downloads for finance staff: one [`Sheet`] written as CSV (for any tool) or XLSX
//! (for Excel), and [`respond`] to send it as an attachment.
//!
//! CSV is what Excel opens without asking: UTF-8 with a byte-order mark, RFC 4180 quoting,
//! CRLF line ends. Text that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`,
//! tab, CR at the start) gets a leading `'` so a downloaded file cannot run anything.
//! XLSX keeps numbers as numbers (`#,##0`) and dates as real Excel dates (`dd/mm/yyyy`),
//! with a bold, frozen, filterable header row.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook};
use time::Date;

use crate::ApiError;

/// `Content-Type` of [`to_csv`] output.
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
/// `Content-Type` of [`to_xlsx`] output.
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Excel's limit on worksheet names (UTF-16 code units).
const MAX_SHEET_NAME: usize = 31;
/// Widest column [`to_xlsx`] fits to content (in Excel character units).
const MAX_COLUMN_WIDTH: usize = 60;
/// Narrowest column [`to_xlsx`] sets.
const MIN_COLUMN_WIDTH: usize = 6;
/// Longest file stem [`respond`] puts in `Content-Disposition`.
const MAX_FILE_STEM: usize = 100;

/// One cell of a [`Sheet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Date(Date),
    Empty,
}

/// A table to export: a title (the worksheet name), a header row and data rows. Rows may be
/// shorter than the header; missing cells are empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    /// Number of columns: the longest of the header and every row.
    fn width(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .chain(std::iter::once(self.headers.len()))
            .max()
            .unwrap_or(0)
    }
}

/// Which file to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// `format` query value: "csv" or "xlsx" (case-insensitive) → `Some(Format)`.
    pub fn parse(s: &str) -> Option<Format> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("csv") {
            Some(Format::Csv)
        } else if s.eq_ignore_ascii_case("xlsx") {
            Some(Format::Xlsx)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => CSV_CONTENT_TYPE,
            Format::Xlsx => XLSX_CONTENT_TYPE,
        }
    }

    /// File extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

// ---------- CSV ----------

/// The sheet as CSV: UTF-8 with BOM, RFC 4180 quoting, CRLF, dates as `YYYY-MM-DD`,
/// integers plain, formula-looking text defused with a leading `'`. The title is not
/// written.
pub fn to_csv(sheet: &Sheet) -> Vec<u8> {
    let width = sheet.width();
    let mut out = String::with_capacity(64 * (sheet.rows.len() + 1));
    out.push('\u{FEFF}');
    if width > 0 {
        let headers = (0..width).map(|i| sheet.headers.get(i).map_or("", String::as_str));
        for (i, h) in headers.enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_csv_text(&mut out, h);
        }
        out.push_str("\r\n");
    }
    for row in &sheet.rows {
        for i in 0..width {
            if i > 0 {
                out.push(',');
            }
            match row.get(i).unwrap_or(&Cell::Empty) {
                Cell::Text(s) => push_csv_text(&mut out, s),
                Cell::Int(n) => out.push_str(&n.to_string()),
                Cell::Date(d) => out.push_str(&iso_date(*d)),
                Cell::Empty => {}
            }
        }
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// Appends one text field, defused and quoted as needed.
fn push_csv_text(out: &mut String, s: &str) {
    let defuse = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = s.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if defuse {
        out.push('\'');
    }
    if quote {
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// `YYYY-MM-DD` (years outside 0..=9999 keep their sign and digits).
fn iso_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

// ---------- XLSX ----------

/// The sheet as an XLSX workbook with one worksheet named after the title (sanitised for
/// Excel): bold, frozen header row with an autofilter, integers as numbers (`#,##0`),
/// dates as Excel dates (`dd/mm/yyyy`; dates Excel cannot hold, before 1900 or after 9999,
/// are written as `YYYY-MM-DD` text), columns fitted to their content up to a cap.
pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, String> {
    let err = |e: rust_xlsxwriter::XlsxError| format!("xlsx export: {e}");
    let width = sheet.width();
    let last_col = u16::try_from(width.saturating_sub(1))
        .map_err(|_| format!("xlsx export: {width} columns is too many"))?;
    let last_row = u32::try_from(sheet.rows.len())
        .map_err(|_| format!("xlsx export: {} rows is too many", sheet.rows.len()))?;

    let header_fmt = XlsxFormat::new().set_bold();
    let int_fmt = XlsxFormat::new().set_num_format("#,##0");
    let date_fmt = XlsxFormat::new().set_num_format("dd/mm/yyyy");

    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet();
    ws.set_name(sheet_name(&sheet.title)).map_err(err)?;

    // Widths in characters, as the cells will be displayed.
    let mut widths = vec![0usize; width];
    for (col, h) in sheet.headers.iter().enumerate() {
        // Bold text and the filter button need a little more room.
        widths[col] = text_width(h) + 3;
        ws.write_string_with_format(0, col as u16, h, &header_fmt)
            .map_err(err)?;
    }
    for (r, row) in sheet.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (col, cell) in row.iter().enumerate() {
            let c = col as u16;
            let shown = match cell {
                Cell::Text(s) => {
                    ws.write_string(r, c, s).map_err(err)?;
                    text_width(s)
                }
                Cell::Int(n) => {
                    ws.write_number_with_format(r, c, *n as f64, &int_fmt)
                        .map_err(err)?;
                    grouped_width(*n)
                }
                Cell::Date(d) => match excel_date(*d) {
                    Some(x) => {
                        ws.write_datetime_with_format(r, c, x, &date_fmt)
                            .map_err(err)?;
                        10
                    }
                    None => {
                        let s = iso_date(*d);
                        ws.write_string(r, c, &s).map_err(err)?;
                        s.len()
                    }
                },
                Cell::Empty => 0,
            };
            widths[col] = widths[col].max(shown);
        }
    }

    if width > 0 {
        ws.set_freeze_panes(1, 0).map_err(err)?;
        ws.autofilter(0, 0, last_row, last_col).map_err(err)?;
        for (col, w) in widths.iter().enumerate() {
            let w = (w + 1).clamp(MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH);
            ws.set_column_width(col as u16, w as f64).map_err(err)?;
        }
    }

    workbook.save_to_buffer().map_err(err)
}

/// The title as an Excel worksheet name: at most 31 UTF-16 units, none of `[]:*?/\` or
/// control characters, no apostrophe at either end, not blank, not the reserved "History".
fn sheet_name(title: &str) -> String {
    let cleaned: String = title
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '-',
            c => c,
        })
        .collect();
    let mut name = String::new();
    let mut units = 0;
    for c in cleaned.trim().trim_matches('\'').chars() {
        units += c.len_utf16();
        if units > MAX_SHEET_NAME {
            break;
        }
        name.push(c);
    }
    let name = name.trim().trim_matches('\'').trim();
    if name.is_empty() {
        "Sheet1".to_string()
    } else if name.eq_ignore_ascii_case("history") {
        format!("{name} 1")
    } else {
        name.to_string()
    }
}

/// Display width of text: its longest line, in characters.
fn text_width(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Width of `n` shown as `#,##0`.
fn grouped_width(n: i64) -> usize {
    let digits = n.unsigned_abs().to_string().len();
    digits + (digits - 1) / 3 + usize::from(n < 0)
}

/// The date as an Excel date, if Excel can hold it (years 1900–9999).
fn excel_date(d: Date) -> Option<ExcelDateTime> {
    let year = u16::try_from(d.year()).ok().filter(|y| *y >= 1900)?;
    ExcelDateTime::from_ymd(year, u8::from(d.month()), d.day()).ok()
}

// ---------- HTTP ----------

/// A download response: 200 with the format's `Content-Type`,
/// `Content-Disposition: attachment; filename="<file_stem>.<ext>"` (the stem reduced to
/// `[A-Za-z0-9._-]`) and `Cache-Control: no-store`. An XLSX failure is an internal error.
pub fn respond(sheet: &Sheet, format: Format, file_stem: &str) -> Result<Response, ApiError> {
    let body = match format {
        Format::Csv => to_csv(sheet),
        Format::Xlsx => {
            to_xlsx(sheet).map_err(|e| ApiError::internal(&std::io::Error::other(e)))?
        }
    };
    let disposition = format!(
        "attachment; filename=\"{}.{}\"",
        file_stem_safe(file_stem),
        format.extension()
    );
    let disposition = HeaderValue::from_str(&disposition).map_err(|e| ApiError::internal(&e))?;
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, format.content_type())
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .map_err(|e| ApiError::internal(&e))
}

/// The stem with every character outside `[A-Za-z0-9._-]` replaced by `_`, without leading
/// dots, at most 100 characters; "export" when nothing is left.
fn file_stem_safe(stem: &str) -> String {
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_FILE_STEM)
        .collect();
    let safe = safe.trim_start_matches('.');
    if safe.is_empty() || safe.chars().all(|c| c == '_') {
        "export".to_string()
    } else {
        safe.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use time::macros::date;

    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    fn sheet(rows: Vec<Vec<Cell>>) -> Sheet {
        Sheet {
            title: "Realisasi Anggaran".to_string(),
            headers: vec![
                "Uraian".to_string(),
                "Jumlah (Rp)".to_string(),
                "Tanggal".to_string(),
            ],
            rows,
        }
    }

    fn csv_text(sheet: &Sheet) -> String {
        let bytes = to_csv(sheet);
        String::from_utf8(bytes[3..].to_vec()).unwrap()
    }

    fn zip_entry(bytes: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("xlsx is a zip");
        let mut file = zip.by_name(name).expect(name);
        let mut s = String::new();
        file.read_to_string(&mut s).unwrap();
        s
    }

    /// The `<c r="REF" ...>...</c>` element of a worksheet, or panics.
    fn cell_xml<'a>(xml: &'a str, reference: &str) -> &'a str {
        let start = xml
            .find(&format!("<c r=\"{reference}\""))
            .unwrap_or_else(|| panic!("no cell {reference} in {xml}"));
        let rest = &xml[start..];
        let end = rest
            .find("</c>")
            .map(|i| i + 4)
            .or_else(|| rest.find("/>").map(|i| i + 2))
            .unwrap();
        &rest[..end]
    }

    #[test]
    fn csv_starts_with_a_byte_order_mark_and_ends_lines_with_crlf() {
        let bytes = to_csv(&sheet(vec![vec![
            text("ATK"),
            Cell::Int(1500),
            Cell::Empty,
        ]]));
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
        let s = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(s, "Uraian,Jumlah (Rp),Tanggal\r\nATK,1500,\r\n");
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines() {
        let s = csv_text(&sheet(vec![vec![
            text("Kertas, A4"),
            text("kata \"rapat\""),
            text("baris\nkedua"),
        ]]));
        let row = s.split_once("\r\n").unwrap().1;
        assert_eq!(
            row,
            "\"Kertas, A4\",\"kata \"\"rapat\"\"\",\"baris\nkedua\"\r\n"
        );
    }

    #[test]
    fn csv_defuses_formula_text_but_not_negative_numbers() {
        let s = csv_text(&sheet(vec![
            vec![text("=HYPERLINK(\"x\")"), Cell::Int(-250), text("+1")],
            vec![text("-2"), text("@SUM(A1)"), text("\tx")],
            vec![text("=1,2"), text("biasa"), text("\rx")],
        ]));
        let lines: Vec<&str> = s.split("\r\n").collect();
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"x\"\")\",-250,'+1");
        assert_eq!(lines[2], "'-2,'@SUM(A1),'\tx");
        assert_eq!(lines[3], "\"'=1,2\",biasa,\"'\rx\"");
    }

    #[test]
    fn csv_writes_dates_as_iso_and_pads_short_rows() {
        let s = csv_text(&sheet(vec![
            vec![
                text("Honor"),
                Cell::Int(0),
                Cell::Date(date!(2026 - 11 - 28)),
            ],
            vec![text("Sisa")],
        ]));
        assert!(s.ends_with("Honor,0,2026-11-28\r\nSisa,,\r\n"), "{s}");
    }

    #[test]
    fn xlsx_is_a_zip_holding_headers_values_numbers_and_serial_dates() {
        let bytes = to_xlsx(&sheet(vec![
            vec![
                text("Perjalanan dinas"),
                Cell::Int(1_234_567),
                Cell::Date(date!(2026 - 11 - 28)),
            ],
            vec![text("Konsumsi rapat"), Cell::Int(-5_000), Cell::Empty],
        ]))
        .unwrap();
        assert_eq!(&bytes[..2], b"PK");

        let strings = zip_entry(&bytes, "xl/sharedStrings.xml");
        for s in [
            "Uraian",
            "Jumlah (Rp)",
            "Tanggal",
            "Perjalanan dinas",
            "Konsumsi rapat",
        ] {
            assert!(strings.contains(s), "{s} missing from {strings}");
        }

        let ws = zip_entry(&bytes, "xl/worksheets/sheet1.xml");
        assert!(cell_xml(&ws, "A1").contains("t=\"s\""));
        let b2 = cell_xml(&ws, "B2");
        assert!(
            b2.contains("<v>1234567</v>") && !b2.contains("t=\""),
            "{b2}"
        );
        let b3 = cell_xml(&ws, "B3");
        assert!(b3.contains("<v>-5000</v>") && !b3.contains("t=\""), "{b3}");
        let c2 = cell_xml(&ws, "C2");
        assert!(c2.contains("<v>46354</v>") && !c2.contains("t=\""), "{c2}");
        assert!(!ws.contains("r=\"C3\""), "empty cell written: {ws}");

        // Frozen header, autofilter over the whole table, fitted widths.
        assert!(ws.contains("state=\"frozen\""), "{ws}");
        assert!(ws.contains("<autoFilter ref=\"A1:C3\""), "{ws}");
        assert!(ws.contains("<cols>"), "{ws}");

        let styles = zip_entry(&bytes, "xl/styles.xml");
        assert!(styles.contains("formatCode=\"#,##0\""), "{styles}");
        assert!(styles.contains("formatCode=\"dd/mm/yyyy\""), "{styles}");
        assert!(styles.contains("<b/>"), "{styles}");
    }

    #[test]
    fn xlsx_names_the_worksheet_from_a_sanitised_title() {
        let mut s = sheet(vec![]);
        s.title = "Laporan [Q4] 2026/11: belanja * barang? dan jasa".to_string();
        let bytes = to_xlsx(&s).unwrap();
        let wb = zip_entry(&bytes, "xl/workbook.xml");
        assert!(
            wb.contains("<sheet name=\"Laporan -Q4- 2026-11- belanja -\""),
            "{wb}"
        );
    }

    #[test]
    fn sheet_names_obey_excel_rules() {
        assert_eq!(sheet_name(""), "Sheet1");
        assert_eq!(sheet_name("  '''  "), "Sheet1");
        assert_eq!(sheet_name("'Kas'"), "Kas");
        assert_eq!(sheet_name("history"), "history 1");
        assert_eq!(sheet_name("a\\b"), "a-b");
        let long = "Rekapitulasi Belanja Pegawai Tahun 2026";
        assert_eq!(sheet_name(long), "Rekapitulasi Belanja Pegawai Ta");
        assert_eq!(sheet_name(long).len(), 31);
    }

    #[test]
    fn xlsx_writes_dates_excel_cannot_hold_as_text() {
        let bytes = to_xlsx(&sheet(vec![vec![
            Cell::Empty,
            Cell::Empty,
            Cell::Date(date!(1899 - 12 - 31)),
        ]]))
        .unwrap();
        let strings = zip_entry(&bytes, "xl/sharedStrings.xml");
        assert!(strings.contains("1899-12-31"), "{strings}");
    }

    #[test]
    fn format_parses_case_insensitively() {
        assert_eq!(Format::parse("CSV"), Some(Format::Csv));
        assert_eq!(Format::parse("xlsx"), Some(Format::Xlsx));
        assert_eq!(Format::parse("Xlsx"), Some(Format::Xlsx));
        assert_eq!(Format::parse("pdf"), None);
        assert_eq!(Format::Xlsx.extension(), "xlsx");
        assert_eq!(Format::Csv.content_type(), CSV_CONTENT_TYPE);
    }

    #[test]
    fn respond_sends_an_attachment_with_a_safe_file_name() {
        let res = respond(&sheet(vec![]), Format::Xlsx, "../laporan \"keuangan\" 2026").unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers();
        assert_eq!(h[header::CONTENT_TYPE], XLSX_CONTENT_TYPE);
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            h[header::CONTENT_DISPOSITION],
            "attachment; filename=\"_laporan__keuangan__2026.xlsx\""
        );
        let csv = respond(&sheet(vec![]), Format::Csv, "").unwrap();
        assert_eq!(
            csv.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"export.csv\""
        );
    }
}
