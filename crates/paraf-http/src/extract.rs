//! Extractors whose refusals are [`ApiError`]s that name the field and say what is wrong
//! in Indonesian and English — never a Rust type name or a parser's wording.
//!
//! - [`Json`]: `Content-Type: application/json` (else 415), a body within the limit
//!   (413, 408), valid JSON whose top level is an object (400, field `body`), every
//!   string passing the user text rule of [`paraf_core::types::check_text`] (422 naming
//!   the field), then the target type (400 naming the field: required, wrong kind of
//!   value, not one of the allowed values, out of range).
//! - [`Query`]: the same rule for every query value, then the target type (400).
//! - [`Path`]: a path parameter of the wrong kind (400 naming it).
//!
//! Field names are dotted paths as the domain uses them (`pelaksana.0`, `tempat_tujuan.kota`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use paraf_core::Text;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{unread_body, ApiError, ErrorKind};

/// A JSON request body (see the module notes for what is refused and how).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError {
                detail: Some("Content-Type: application/json".into()),
                ..ApiError::new(ErrorKind::UnsupportedMediaType)
            });
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        parse_json(&bytes).map(Json)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

fn bytes_rejection(r: BytesRejection) -> ApiError {
    unread_body(&r, r.status() == StatusCode::PAYLOAD_TOO_LARGE)
}

/// Parses a JSON body into `T` with the refusals of [`Json`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let what = if e.is_eof() {
            Text::new(
                format!("JSON terpotong (baris {}, kolom {})", e.line(), e.column()),
                format!(
                    "the JSON ends too early (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        } else {
            Text::new(
                format!(
                    "bukan JSON yang sah (baris {}, kolom {})",
                    e.line(),
                    e.column()
                ),
                format!("not valid JSON (line {}, column {})", e.line(), e.column()),
            )
        };
        ApiError::malformed_field("body", what)
    })?;
    if !value.is_object() {
        return Err(ApiError::malformed_field(
            "body",
            Text::new("harus berupa objek JSON", "must be a JSON object"),
        ));
    }
    let mut bad = ApiError::new(ErrorKind::Validation);
    check_strings(&value, "", &mut bad);
    if !bad.fields.is_empty() {
        return Err(bad);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = dotted(e.path());
        let (field, what) = explain(&e.inner().to_string(), &path);
        ApiError::malformed_field(&field, what)
    })
}

/// Applies the user text rule to every string (and key) of a JSON value.
fn check_strings(v: &Value, path: &str, bad: &mut ApiError) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::String(s) => refuse_text(bad, if path.is_empty() { "body" } else { path }, s),
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                check_strings(x, &join(&i.to_string()), bad);
            }
        }
        Value::Object(map) => {
            for (k, x) in map {
                refuse_text(bad, &join(k), k);
                check_strings(x, &join(k), bad);
            }
        }
        _ => {}
    }
}

fn refuse_text(bad: &mut ApiError, field: &str, s: &str) {
    if let Err(e) = paraf_core::types::check_text(s) {
        bad.fields.entry(field.to_string()).or_insert(e.0);
    }
}

/// `pelaksana[0].nama` as the domain writes it: `pelaksana.0.nama` (empty at the top).
fn dotted(p: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = Vec::new();
    for s in p.iter() {
        match s {
            Segment::Seq { index } => out.push(index.to_string()),
            Segment::Map { key } => out.push(key.clone()),
            Segment::Enum { variant } => out.push(variant.clone()),
            Segment::Unknown => {}
        }
    }
    out.join(".")
}

/// A serde message turned into (field, text in both languages). Serde's wording is
/// stable across versions (`missing field`, `invalid type`, `unknown variant`, …); what
/// it expected is said in words, never as a Rust type.
fn explain(msg: &str, path: &str) -> (String, Text) {
    let at = |f: &str| match (path.is_empty(), f.is_empty()) {
        (true, true) => "body".to_string(),
        (true, false) => f.to_string(),
        (false, true) => path.to_string(),
        (false, false) => format!("{path}.{f}"),
    };
    let ticked = |s: &str| -> Vec<String> {
        s.split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, x)| x.to_string())
            .collect()
    };
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let name = ticked(rest).into_iter().next().unwrap_or_default();
        return (at(&name), Text::new("wajib diisi", "is required"));
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let allowed = rest
            .split_once("expected ")
            .map(|(_, e)| ticked(e).join(", "))
            .unwrap_or_default();
        return (
            at(""),
            Text::new(
                format!("harus salah satu dari: {allowed}"),
                format!("must be one of: {allowed}"),
            ),
        );
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let name = ticked(rest).into_iter().next().unwrap_or_default();
        return (
            at(&name),
            Text::new("isian tidak dikenal", "is not a known field"),
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let expected = rest.split_once(", expected ").map(|(_, e)| e).unwrap_or("");
        let (id, en) = kind(expected);
        return (
            at(""),
            Text::new(format!("harus berupa {id}"), format!("must be {en}")),
        );
    }
    if msg.starts_with("invalid value: ") {
        let expected = msg.split_once(", expected ").map(|(_, e)| e).unwrap_or("");
        if is_integer(expected) {
            return (
                at(""),
                Text::new(
                    "bilangan di luar rentang yang diperbolehkan",
                    "the number is out of the allowed range",
                ),
            );
        }
        return (at(""), Text::new("nilai tidak sah", "invalid value"));
    }
    if msg.starts_with("invalid length ") {
        return (
            at(""),
            Text::new("jumlah unsur tidak sesuai", "wrong number of items"),
        );
    }
    if let Some((id, en)) = msg.split_once(BILINGUAL) {
        return (at(""), Text::new(id, en));
    }
    (at(""), Text::new("nilai tidak sah", "invalid value"))
}

/// Separates the two languages in a custom deserialisation message ([`custom_error`]).
const BILINGUAL: char = '\u{1f}';

/// A deserialisation error whose text [`Json`] and [`Query`] show as it is, in the
/// reader's language.
pub fn custom_error<E: serde::de::Error>(t: Text) -> E {
    E::custom(format!("{}{BILINGUAL}{}", t.id, t.en))
}

fn is_integer(expected: &str) -> bool {
    let e = expected.trim();
    e.contains("integer")
        || matches!(
            e,
            "i8" | "i16"
                | "i32"
                | "i64"
                | "i128"
                | "isize"
                | "u8"
                | "u16"
                | "u32"
                | "u64"
                | "u128"
                | "usize"
        )
}

/// What serde expected, in words.
fn kind(expected: &str) -> (&'static str, &'static str) {
    let e = expected.trim();
    if is_integer(e) {
        ("bilangan bulat", "a whole number")
    } else if e.contains("f32") || e.contains("f64") || e.contains("float") {
        ("angka", "a number")
    } else if e.contains("bool") {
        ("true atau false", "true or false")
    } else if e.contains("string") || e.contains("char") || e.contains("identifier") {
        ("teks", "text")
    } else if e.contains("sequence") || e.contains("tuple") || e.contains("array") {
        ("daftar (array)", "a list (array)")
    } else if e.contains("struct") || e.contains("map") {
        ("objek", "an object")
    } else if e.contains("variant") || e.contains("enum") {
        (
            "salah satu nilai yang diperbolehkan",
            "one of the allowed values",
        )
    } else {
        ("nilai lain", "another kind of value")
    }
}

/// Largest page a list answers.
pub const MAX_PAGE: u32 = 200;

/// The `limit` of a paged list: 50 when absent, else 1–[`MAX_PAGE`] (422 on `limit`).
pub fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(
            "limit",
            Text::new(
                format!("harus antara 1 dan {MAX_PAGE}"),
                format!("must be between 1 and {MAX_PAGE}"),
            ),
        )),
    }
}

/// Query parameters (see the module notes).
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// Parses a query string into `T` with the refusals of [`Query`].
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let mut bad = ApiError::new(ErrorKind::Validation);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        refuse_text(&mut bad, &k, &k);
        refuse_text(&mut bad, &k, &v);
    }
    if !bad.fields.is_empty() {
        return Err(bad);
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = dotted(e.path());
        let msg = e.inner().to_string();
        let (field, what) = explain(&msg, &path);
        // The query parser reports a number that does not parse in its own words.
        let what = if msg.contains("digit") || msg.contains("number too") {
            Text::new(
                "harus bilangan bulat dalam rentang yang diperbolehkan",
                "must be a whole number in the allowed range",
            )
        } else {
            what
        };
        ApiError::malformed_field(if field == "body" { "query" } else { &field }, what)
    })
}

/// Path parameters (see the module notes).
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(r) => Err(path_rejection(r)),
        }
    }
}

fn path_rejection(r: PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind as K;
    let PathRejection::FailedToDeserializePathParams(e) = r else {
        return ApiError::malformed_field("path", Text::new("alamat tidak sah", "invalid path"));
    };
    match e.into_kind() {
        K::ParseErrorAtKey {
            key, expected_type, ..
        } => {
            let (id, en) = kind(expected_type);
            ApiError::malformed_field(
                &key,
                Text::new(
                    format!("harus berupa {id} dalam rentang yang diperbolehkan"),
                    format!("must be {en} in the allowed range"),
                ),
            )
        }
        K::InvalidUtf8InPathParam { key } => {
            ApiError::malformed_field(&key, Text::new("bukan UTF-8 yang sah", "not valid UTF-8"))
        }
        _ => ApiError::malformed_field("path", Text::new("alamat tidak sah", "invalid path")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Place {
        kota: String,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Form {
        version: i64,
        #[serde(default)]
        pelaksana: Vec<String>,
        tujuan: Option<Place>,
        limit: Option<u32>,
    }

    fn refusal(body: &str) -> (StatusCode, String, Text) {
        let e = parse_json::<Form>(body.as_bytes()).unwrap_err();
        let (k, v) = e.fields.into_iter().next().expect("a field is named");
        (e.kind.status(), k, v)
    }

    fn no_rust_in(t: &Text) {
        for word in ["i64", "u32", "struct", "Form", "Place", "sequence", "serde"] {
            assert!(
                !t.id.contains(word) && !t.en.contains(word),
                "{word} shown: {t:?}"
            );
        }
    }

    #[test]
    fn every_refused_json_body_names_its_field_in_both_languages() {
        for (body, field, en) in [
            (r#"{}"#, "version", "is required"),
            (r#"[]"#, "body", "must be a JSON object"),
            (r#"{"version":"1"}"#, "version", "must be a whole number"),
            (
                r#"{"version":1,"pelaksana":[7]}"#,
                "pelaksana.0",
                "must be text",
            ),
            (r#"{"version":1,"tujuan":{}}"#, "tujuan.kota", "is required"),
            (
                r#"{"version":1,"limit":4294967296}"#,
                "limit",
                "out of the allowed range",
            ),
            (r#"{"version":1,"#, "body", "ends too early"),
            (r#"{"version":1}}"#, "body", "not valid JSON"),
        ] {
            let (status, k, t) = refusal(body);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(k, field, "{body}");
            assert!(t.en.contains(en), "{body}: {t:?}");
            assert_ne!(t.id, t.en, "{body}: Indonesian too");
            no_rust_in(&t);
        }
    }

    #[test]
    fn control_characters_anywhere_in_a_body_are_refused_by_field() {
        let e = parse_json::<Form>(r#"{"version":1,"pelaksana":["a","b\u202e"]}"#.as_bytes())
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation);
        assert!(e.fields.contains_key("pelaksana.1"), "{:?}", e.fields);
    }

    #[test]
    fn a_query_number_that_does_not_fit_is_refused_by_name() {
        let e = parse_query::<Form>("version=1&limit=99999999999").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
        let t = &e.fields["limit"];
        no_rust_in(t);
        let e = parse_query::<Form>("version=1&limit=x%00").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation);
        assert!(e.fields.contains_key("limit"));
    }
}
