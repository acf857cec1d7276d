//! Document layouts as data (`templates/pdf/*.json`) and `{{placeholder}}` filling.
//!
//! A layout is a title and a list of blocks; every text in it may hold placeholders
//! `{{path|filter|filter:arg}}` resolved against the document's JSON data. A path is
//! dot-separated (`pegawai.nama`, `peserta.0.nip`); inside a `table` or `each` block the
//! current row is searched first, then the enclosing data, and `@no` is the 1-based row
//! number. A missing (or `null`) value is an error naming the placeholder, unless the
//! placeholder ends with the `default:TEXT` filter. See `templates/pdf/README.md`.

use paraf_core::format;
use paraf_core::{Nip, WIB};
use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::RenderError;

/// A whole document layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// The document title for the PDF metadata; may hold placeholders.
    pub title: String,
    #[serde(default)]
    pub orientation: Orientation,
    /// Body text size in points (default 11).
    #[serde(default)]
    pub font_size: Option<f32>,
    pub blocks: Vec<Block>,
}

impl Layout {
    /// Parse a layout from its JSON text.
    pub fn from_json(text: &str) -> Result<Layout, RenderError> {
        serde_json::from_str(text).map_err(|e| RenderError::Layout(e.to_string()))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    #[default]
    Portrait,
    Landscape,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// One block of a layout, tagged by `"type"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Block {
    /// The letterhead (kop surat) of the organisation passed to `render`.
    Kop,
    /// Bold, centred, underlined document title.
    Title {
        text: String,
    },
    /// Centred line under the title ("Nomor: {{nomor}}").
    Number {
        text: String,
    },
    /// Bold left-aligned line.
    Heading {
        text: String,
    },
    /// Wrapped text; `\n` starts a new line, an empty line a gap.
    Paragraph {
        text: String,
        #[serde(default)]
        align: Align,
        #[serde(default)]
        bold: bool,
        /// Left indent in points.
        #[serde(default)]
        indent: f32,
    },
    /// "Label : value" rows; values wrap under themselves.
    Fields {
        rows: Vec<(String, String)>,
        /// Width of the label column in points (default 120).
        #[serde(default)]
        label_width: Option<f32>,
        #[serde(default)]
        indent: f32,
    },
    /// A table over the list at `rows` (a single `{{path}}` placeholder), or over fixed
    /// rows written in the layout (an array of arrays of cell texts, as on the SPPD form).
    /// A table whose column headers are all empty has no header row.
    Table {
        columns: Vec<Column>,
        rows: Rows,
        /// Rows after the data, bold; a row shorter than the columns lets its first cell
        /// span the missing columns ("Jumlah" over three columns, then the total).
        #[serde(default)]
        footer: Vec<Vec<String>>,
        #[serde(default)]
        font_size: Option<f32>,
    },
    /// Repeat `blocks` for each element of the list at `items`.
    Each {
        items: String,
        blocks: Vec<Block>,
    },
    /// One signature, on the right half of the page.
    Signature(SignatureSpec),
    /// Several signatures side by side (e.g. the receiver and the treasurer).
    Signatures {
        items: Vec<SignatureSpec>,
    },
    /// Vertical space in points.
    Spacer {
        height: f32,
    },
    PageBreak,
}

/// The rows of a table: data or fixed.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Rows {
    Data(String),
    Fixed(Vec<Vec<String>>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    #[serde(default)]
    pub header: String,
    /// Cell text, with placeholders resolved against the row first (unused by fixed rows).
    #[serde(default)]
    pub value: String,
    /// Relative width; columns share the content width in proportion.
    #[serde(default = "one")]
    pub width: f32,
    #[serde(default)]
    pub align: Align,
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureSpec {
    /// Who signs here, returned with the slot so signing code finds its place
    /// ("kepala", "ppk", "penerima"); may hold placeholders.
    pub role: String,
    /// "Bandung, {{tanggal|tanggal}}" above the position; optional.
    #[serde(default)]
    pub place_date: Option<String>,
    /// Position, possibly several lines ("a.n. Sekretaris\nKepala Bagian ...").
    pub jabatan: String,
    pub name: String,
    #[serde(default)]
    pub nip: Option<String>,
    /// Height reserved for the stamp in points (default 70).
    #[serde(default)]
    pub height: Option<f32>,
}

/// Where placeholders look up values: the innermost row first.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    frames: Vec<(&'a Value, Option<usize>)>,
}

impl<'a> Scope<'a> {
    pub fn new(root: &'a Value) -> Scope<'a> {
        Scope {
            frames: vec![(root, None)],
        }
    }

    /// A scope for one row of a list, numbered from 1.
    pub fn with_row(&self, row: &'a Value, number: usize) -> Scope<'a> {
        let mut frames = self.frames.clone();
        frames.push((row, Some(number)));
        Scope { frames }
    }

    fn lookup(&self, path: &str) -> Option<Value> {
        if path == "@no" {
            return self
                .frames
                .iter()
                .rev()
                .find_map(|(_, n)| *n)
                .map(|n| Value::from(n as u64));
        }
        self.frames
            .iter()
            .rev()
            .find_map(|(value, _)| walk(value, path))
            .filter(|v| !v.is_null())
            .cloned()
    }

    /// The list a `table`/`each` block iterates over: `spec` must be a single
    /// placeholder naming an array.
    pub fn list(&self, spec: &str) -> Result<Vec<&'a Value>, RenderError> {
        let path = spec
            .trim()
            .strip_prefix("{{")
            .and_then(|s| s.strip_suffix("}}"))
            .map(str::trim)
            .ok_or_else(|| RenderError::Syntax(spec.into()))?;
        let found = self
            .frames
            .iter()
            .rev()
            .find_map(|(value, _)| walk(value, path));
        match found {
            Some(Value::Array(items)) => Ok(items.iter().collect()),
            Some(_) => Err(RenderError::NotAList(path.into())),
            None => Err(RenderError::Missing(path.into())),
        }
    }

    /// Replace every placeholder in `text`.
    pub fn fill(&self, text: &str) -> Result<String, RenderError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| RenderError::Syntax(text.into()))?;
            out.push_str(&self.placeholder(after[..end].trim())?);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn placeholder(&self, inner: &str) -> Result<String, RenderError> {
        let mut parts = inner.split('|').map(str::trim);
        let path = parts.next().unwrap_or_default();
        let filters: Vec<&str> = parts.collect();
        let Some(value) = self.lookup(path) else {
            // `default:` only makes sense as the last filter: everything before it needs
            // the value.
            if let Some(text) = filters.last().and_then(|f| f.strip_prefix("default:")) {
                return Ok(text.to_string());
            }
            return Err(RenderError::Missing(path.into()));
        };
        let mut current = value;
        for filter in filters {
            if filter.starts_with("default:") {
                continue;
            }
            current = apply(filter, &current).map_err(|reason| RenderError::Filter {
                placeholder: inner.into(),
                reason,
            })?;
        }
        text_of(&current).ok_or_else(|| RenderError::Filter {
            placeholder: inner.into(),
            reason: "a list or an object cannot be written as text".into(),
        })
    }
}

fn walk<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return None;
    }
    path.split('.').try_fold(value, |v, key| match v {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("Ya".into()),
        Value::Bool(false) => Some("Tidak".into()),
        Value::Null => Some(String::new()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// An integer amount from a JSON number or a written amount ("Rp 1.250.000").
fn amount(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{n} is not a whole number of rupiah")),
        Value::String(s) => format::Rupiah::parse(s)
            .map(|r| r.amount())
            .map_err(|e| e.to_string()),
        other => Err(format!("{other} is not an amount")),
    }
}

/// A date from "2026-11-28" or an RFC 3339 instant (shown in WIB).
fn date(value: &Value) -> Result<Date, String> {
    let s = value
        .as_str()
        .ok_or_else(|| format!("{value} is not a date"))?;
    if let Ok(at) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(at.to_offset(WIB).date());
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).map_err(|_| format!("{s:?} is not a date like 2026-11-28"))
}

fn instant(value: &Value) -> Result<OffsetDateTime, String> {
    let s = value
        .as_str()
        .ok_or_else(|| format!("{value} is not a date and time"))?;
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|_| format!("{s:?} is not a date and time like 2026-11-28T14:05:00+07:00"))
}

fn apply(filter: &str, value: &Value) -> Result<Value, String> {
    let text = |s: String| Ok(Value::String(s));
    match filter {
        "rupiah" => text(format::rupiah(amount(value)?)),
        "angka" => {
            let n = amount(value)?;
            // The rupiah format without "Rp ", for counts and table cells.
            text(format::rupiah(n).replacen("Rp ", "", 1))
        }
        "terbilang" => {
            let n = amount(value)?;
            let words = format::terbilang(n.unsigned_abs());
            text(if n < 0 {
                format!("minus {words}")
            } else {
                words
            })
        }
        "terbilang_rupiah" => text(format::terbilang_rupiah(amount(value)?)),
        "tanggal" => text(format::tanggal(date(value)?)),
        "hari_tanggal" => text(format::hari_tanggal(date(value)?)),
        "waktu_wib" => text(format::waktu_wib(instant(value)?)),
        "jam" => {
            let at = instant(value)?.to_offset(WIB);
            text(format!("{:02}.{:02}", at.hour(), at.minute()))
        }
        "upper" => text(text_of(value).unwrap_or_default().to_uppercase()),
        "nip" => {
            let raw = text_of(value).unwrap_or_default();
            let nip = Nip::parse(&raw).map_err(|e| e.to_string())?;
            let d = nip.as_str();
            // The customary grouping: birth date, appointment month, sex, sequence.
            text(format!(
                "{} {} {} {}",
                &d[..8],
                &d[8..14],
                &d[14..15],
                &d[15..]
            ))
        }
        other => match other.strip_prefix("pilih:") {
            Some(choices) => pick(choices, value),
            None => Err(format!("unknown filter {other:?}")),
        },
    }
}

/// `pilih:KEY=TEXT;KEY=TEXT`: the TEXT whose KEY is the value (a code such as "tautan"
/// shown as "tautan sekali pakai"); any other value is an error, never a blank.
fn pick(choices: &str, value: &Value) -> Result<Value, String> {
    let key = text_of(value).unwrap_or_default();
    let mut keys = Vec::new();
    for choice in choices.split(';') {
        let (k, text) = choice
            .split_once('=')
            .ok_or_else(|| format!("pilih: {choice:?} is not KEY=TEXT"))?;
        if k.trim() == key {
            return Ok(Value::String(text.trim().to_string()));
        }
        keys.push(k.trim());
    }
    Err(format!("{key:?} is not one of {}", keys.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_filled_with_filters() {
        let data = json!({"jumlah": 1250000, "tanggal": "2026-11-28", "p": {"nama": "Siti"}});
        let scope = Scope::new(&data);
        assert_eq!(
            scope
                .fill("{{p.nama}}: {{jumlah|rupiah}} ({{ jumlah | terbilang_rupiah }}) {{tanggal|tanggal}}")
                .unwrap(),
            "Siti: Rp 1.250.000 (satu juta dua ratus lima puluh ribu rupiah) 28 November 2026"
        );
    }

    #[test]
    fn a_missing_value_names_the_placeholder_unless_a_default_is_given() {
        let data = json!({"p": {"nama": "Siti", "nip": null}});
        let scope = Scope::new(&data);
        let err = scope.fill("NIP {{p.nip}}").unwrap_err();
        assert!(
            matches!(&err, RenderError::Missing(p) if p == "p.nip"),
            "{err}"
        );
        assert_eq!(scope.fill("{{p.nip|default:-}}").unwrap(), "-");
    }

    #[test]
    fn rows_are_searched_before_the_document_and_numbered_from_one() {
        let data = json!({"kota": "Bandung", "rows": [{"nama": "A"}, {"nama": "B"}]});
        let scope = Scope::new(&data);
        let rows = scope.list("{{rows}}").unwrap();
        let row = scope.with_row(rows[1], 2);
        assert_eq!(
            row.fill("{{@no}}. {{nama}} ({{kota}})").unwrap(),
            "2. B (Bandung)"
        );
    }

    #[test]
    fn pilih_maps_a_code_to_its_wording_and_rejects_other_codes() {
        let data = json!({"a": "tautan", "b": "pindaian", "c": "faks", "d": null});
        let scope = Scope::new(&data);
        let f = "pilih:tautan=tautan sekali pakai;pindaian=pindaian bercap";
        assert_eq!(
            scope.fill(&format!("{{{{a|{f}}}}}")).unwrap(),
            "tautan sekali pakai"
        );
        assert_eq!(
            scope.fill(&format!("{{{{b|{f}}}}}")).unwrap(),
            "pindaian bercap"
        );
        let err = scope.fill(&format!("{{{{c|{f}}}}}")).unwrap_err();
        assert!(
            matches!(&err, RenderError::Filter { reason, .. } if reason.contains("tautan, pindaian")),
            "{err}"
        );
        assert_eq!(
            scope.fill(&format!("{{{{d|{f}|default:-}}}}")).unwrap(),
            "-"
        );
    }

    #[test]
    fn a_bad_filter_input_is_reported_with_the_placeholder() {
        let data = json!({"x": "banyak"});
        let err = Scope::new(&data).fill("{{x|rupiah}}").unwrap_err();
        assert!(err.to_string().contains("x|rupiah"), "{err}");
    }
}
