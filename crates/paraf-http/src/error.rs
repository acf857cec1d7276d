//! One error type for the API: every failure leaves as
//! `{"error":{"code","message","fields"}}` with one status per kind (docs/architecture.md, errors).
//!
//! Handlers return `Result<_, ApiError>`; `ServiceError` converts with `?`. Bad JSON,
//! paths and queries are refused by the extractors of [`crate::extract`] in the same
//! shape, naming the field. Field messages arrive from the domain in
//! both languages ([`Text`]) and stay so inside `ApiError`; the body is written in
//! Indonesian when the response is built (no request at hand), and the [`localize`]
//! middleware rewrites it in English when the request asked for English.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use paraf_core::{ServiceError, Text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::{Lang, Texts};
use crate::limits::is_body_deadline;

/// What went wrong, as the client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Malformed,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    Stale,
    Validation,
    TooManyRequests,
    RequestTimeout,
    PayloadTooLarge,
    UnsupportedMediaType,
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Malformed,
        ErrorKind::Unauthenticated,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Stale,
        ErrorKind::Validation,
        ErrorKind::TooManyRequests,
        ErrorKind::RequestTimeout,
        ErrorKind::PayloadTooLarge,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::Internal,
    ];
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Malformed => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict | ErrorKind::Stale => StatusCode::CONFLICT,
            ErrorKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Stale => "stale",
            ErrorKind::Validation => "validation",
            ErrorKind::TooManyRequests => "too_many_requests",
            ErrorKind::RequestTimeout => "request_timeout",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::Internal => "internal",
        }
    }
    fn message(self, t: &Texts) -> &'static str {
        match self {
            ErrorKind::Malformed => t.err_malformed,
            ErrorKind::Unauthenticated => t.err_unauthenticated,
            ErrorKind::Forbidden => t.err_forbidden,
            ErrorKind::NotFound => t.err_not_found,
            ErrorKind::Conflict => t.err_conflict,
            ErrorKind::Stale => t.err_stale,
            ErrorKind::Validation => t.err_validation,
            ErrorKind::TooManyRequests => t.err_too_many,
            ErrorKind::RequestTimeout => t.err_timeout,
            ErrorKind::PayloadTooLarge => t.err_too_large,
            ErrorKind::UnsupportedMediaType => t.err_unsupported,
            ErrorKind::Internal => t.err_internal,
        }
    }
}

/// An API failure. `detail` is a safe, client-facing addition to the message (e.g. which
/// part of the JSON was wrong); internal causes are logged, never put here.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub detail: Option<String>,
    /// Field name → problem in both languages; [`ApiError::body`] picks one.
    pub fields: BTreeMap<String, Text>,
    pub retry_after_secs: Option<u64>,
}

/// The error body, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": {
    "code": "validation",
    "message": "Periksa kembali isian",
    "fields": {"subject": "berisi karakter kendali atau pembalik arah teks (U+202E) yang tidak diperbolehkan"}
}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, one per kind of failure.
    #[schema(schema_with = error_code_schema)]
    pub code: String,
    /// Human-readable, in Indonesian unless English was asked for.
    pub message: String,
    /// Field name → problem (empty object when the error is not about fields).
    pub fields: BTreeMap<String, String>,
}

fn error_code_schema() -> utoipa::openapi::schema::Object {
    let codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
    paraf_core::schema::one_of(&codes)
}

impl ApiError {
    pub fn new(kind: ErrorKind) -> Self {
        ApiError {
            kind,
            detail: None,
            fields: BTreeMap::new(),
            retry_after_secs: None,
        }
    }
    pub fn malformed(detail: impl Into<String>) -> Self {
        ApiError {
            detail: Some(detail.into()),
            ..ApiError::new(ErrorKind::Malformed)
        }
    }
    /// A malformed request, `field` saying what is wrong with it.
    pub fn malformed_field(field: &str, message: Text) -> Self {
        let mut e = ApiError::new(ErrorKind::Malformed);
        e.fields.insert(field.to_string(), message);
        e
    }
    pub fn unauthenticated() -> Self {
        ApiError::new(ErrorKind::Unauthenticated)
    }
    pub fn forbidden() -> Self {
        ApiError::new(ErrorKind::Forbidden)
    }
    pub fn not_found() -> Self {
        ApiError::new(ErrorKind::NotFound)
    }
    /// The request (its body) did not arrive in time.
    pub fn request_timeout() -> Self {
        ApiError::new(ErrorKind::RequestTimeout)
    }
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        log_chain(cause);
        ApiError::new(ErrorKind::Internal)
    }
    pub fn validation(field: &str, message: Text) -> Self {
        let mut e = ApiError::new(ErrorKind::Validation);
        e.fields.insert(field.to_string(), message);
        e
    }

    /// The body in one language.
    pub fn body(&self, lang: Lang) -> ErrorBody {
        let base = self.kind.message(lang.texts());
        let message = match &self.detail {
            Some(d) => format!("{base}: {d}"),
            None => base.to_string(),
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.kind.code().to_string(),
                message,
                fields: self
                    .fields
                    .iter()
                    .map(|(k, v)| (k.clone(), lang.pick(v).to_string()))
                    .collect(),
            },
        }
    }

    pub fn to_response(&self, lang: Lang) -> Response {
        let mut res = (self.kind.status(), axum::Json(self.body(lang))).into_response();
        if let Some(secs) = self.retry_after_secs {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res.extensions_mut().insert(self.clone());
        res
    }
}

fn log_chain(cause: &dyn std::error::Error) {
    let mut chain = cause.to_string();
    let mut src = cause.source();
    while let Some(s) = src {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        src = s.source();
    }
    tracing::error!(error = %chain, "internal error");
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.to_response(Lang::Id)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(fields) => ApiError {
                fields: fields.into_map(),
                ..ApiError::new(ErrorKind::Validation)
            },
            ServiceError::NotFound(what) => ApiError {
                detail: Some(what.to_string()),
                ..ApiError::not_found()
            },
            ServiceError::Conflict { field, message } => {
                let mut e = ApiError::new(ErrorKind::Conflict);
                e.fields.insert(field, message);
                e
            }
            ServiceError::Stale => ApiError::new(ErrorKind::Stale),
            ServiceError::Unauthenticated => ApiError::unauthenticated(),
            ServiceError::Forbidden => ApiError::forbidden(),
            ServiceError::TooManyRequests { retry_after_secs } => ApiError {
                retry_after_secs: Some(retry_after_secs.max(1)),
                ..ApiError::new(ErrorKind::TooManyRequests)
            },
            e @ ServiceError::Internal(_) => ApiError::internal(&e),
        }
    }
}

impl From<axum::extract::multipart::MultipartRejection> for ApiError {
    fn from(r: axum::extract::multipart::MultipartRejection) -> Self {
        ApiError::malformed(r.body_text())
    }
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(r: axum::extract::multipart::MultipartError) -> Self {
        if is_body_deadline(&r) {
            ApiError::request_timeout()
        } else if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorKind::PayloadTooLarge)
        } else {
            ApiError::malformed(r.body_text())
        }
    }
}

pub use crate::extract::{Json, Path, Query};

/// Rewrites API error bodies in the request's language and gives unknown API paths and
/// layer-made errors (body too large) our shape.
pub async fn localize(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path.starts_with("/api/") || path == "/healthz") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let lang = Lang::of_request(&parts);
    let res = next.run(Request::from_parts(parts, body)).await;
    if let Some(err) = res.extensions().get::<ApiError>().cloned() {
        if lang != Lang::Id {
            let mut new = err.to_response(lang);
            // Keep headers other layers set (request id, cache control).
            for (k, v) in res.headers() {
                if k != header::CONTENT_LENGTH && k != header::CONTENT_TYPE {
                    new.headers_mut().insert(k.clone(), v.clone());
                }
            }
            return new;
        }
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let status = res.status();
    if !is_json && (status.is_client_error() || status.is_server_error()) {
        let kind = match status {
            StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT => ErrorKind::RequestTimeout,
            StatusCode::NOT_FOUND => ErrorKind::NotFound,
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::BAD_REQUEST => ErrorKind::Malformed,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::UnsupportedMediaType,
            s if s.is_server_error() => ErrorKind::Internal,
            _ => ErrorKind::Malformed,
        };
        let mut new = ApiError::new(kind).to_response(lang);
        *new.status_mut() = status;
        for (k, v) in res.headers() {
            if k != header::CONTENT_LENGTH && k != header::CONTENT_TYPE {
                new.headers_mut().insert(k.clone(), v.clone());
            }
        }
        return new;
    }
    res
}

/// Reads a whole body, mapping a too-large body to 413 and one that came too slowly to 408.
pub async fn body_bytes(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| unread_body(&e, true))
}

/// Why a body could not be read: it came too slowly (408, whatever else `err` says), it
/// was `too_large` (413), or it was unreadable (400 naming `body`).
pub fn unread_body(err: &(dyn std::error::Error + 'static), too_large: bool) -> ApiError {
    if is_body_deadline(err) {
        ApiError::request_timeout()
    } else if too_large {
        ApiError::new(ErrorKind::PayloadTooLarge)
    } else {
        ApiError::malformed_field(
            "body",
            Text::new(
                "isi permintaan tidak dapat dibaca",
                "the request body could not be read",
            ),
        )
    }
}

/// Reads a body into a string as [`body_bytes`] does, mapping bad UTF-8 to 400.
pub async fn body_text(body: Body, limit: usize) -> Result<String, ApiError> {
    let bytes = body_bytes(body, limit).await?;
    String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::malformed("UTF-8"))
}
