//! Who is calling. One extractor, [`Identity`], used by every protected route (API and
//! pages). It takes the principal from, in order:
//!
//! 1. [`AuthorizerClaims`] in the request extensions — on AWS the Lambda entry copies the
//!    HTTP API's Cognito JWT authorizer claims there (the API Gateway already checked the
//!    token); see [`principal_from_cognito_claims`];
//! 2. an `Authorization: Bearer` token signed with the server's [`crate::JwtKeys`];
//! 3. the `paraf_session` cookie of the web pages. Over the API a cookie only
//!    authenticates safe methods unless `x-csrf-token` carries the session's CSRF token,
//!    so a cross-site form cannot drive the API with a user's cookie.
//!
//! In every case the employee record is read and is authoritative: a deactivated employee
//! is signed out everywhere and role changes apply at once. Without credentials the API
//! answers 401 and pages redirect to `/login`.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Redirect, Response};
use paraf_core::{Employee, Org, Principal, ServiceError, Session};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ErrorKind};
use crate::i18n::Lang;
use crate::AppState;

/// The web session cookie.
pub const SESSION_COOKIE: &str = "paraf_session";
/// Header carrying the session CSRF token when the API is called with the cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Claims a trusted authorizer in front of the router already verified (API Gateway HTTP
/// API JWT authorizer with Cognito). The Lambda entry inserts them into the request
/// extensions; nothing reads them from the request itself.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizerClaims(pub Value);

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity(pub Principal);

/// The web session behind the request, when it came with the session cookie (pages need
/// its CSRF token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession(pub Session);

/// Maps Cognito claims to a principal. The employee is found by `custom:employee_id`, then
/// `email`, then `sub` as an employee id; the employee record — not `cognito:groups` — is
/// authoritative for roles (groups are advisory and only logged when they disagree), and
/// an unknown or inactive employee is `Unauthenticated`.
pub async fn principal_from_cognito_claims(
    claims: &Value,
    org: &Org,
) -> Result<Principal, ServiceError> {
    let s = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let mut emp: Option<Employee> = None;
    for candidate in [s("custom:employee_id"), s("email"), s("sub")]
        .into_iter()
        .flatten()
    {
        if let Some(e) = org.find_employee(candidate).await? {
            emp = Some(e);
            break;
        }
    }
    let emp = emp
        .filter(|e| e.active)
        .ok_or(ServiceError::Unauthenticated)?;
    let groups = cognito_groups(claims);
    let principal = Principal::of(&emp);
    let roles: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
    if !groups.is_empty() && groups.iter().any(|g| !roles.contains(&g.as_str())) {
        tracing::debug!(employee = %emp.id, ?groups, ?roles, "cognito groups differ from employee roles; employee record wins");
    }
    Ok(principal)
}

/// `cognito:groups` as a JSON array, or as API Gateway flattens it: `"[admin staff]"`.
fn cognito_groups(claims: &Value) -> Vec<String> {
    match claims.get("cognito:groups") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s
            .trim_matches(|c| c == '[' || c == ']')
            .split([' ', ','])
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Why [`Identity`] refused; shaped for the API (JSON) or the pages (redirect / page).
#[derive(Debug)]
pub struct IdentityRejection {
    api: bool,
    lang: Lang,
    next: String,
    error: ApiError,
}

impl IntoResponse for IdentityRejection {
    fn into_response(self) -> Response {
        if self.api {
            return self.error.to_response(self.lang);
        }
        match self.error.kind {
            ErrorKind::Unauthenticated => {
                let next = if self.next.starts_with('/') && !self.next.starts_with("//") {
                    self.next
                } else {
                    "/".to_string()
                };
                let q: String = next
                    .bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                            (b as char).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect();
                Redirect::to(&format!("/login?next={q}")).into_response()
            }
            _ => crate::pages::error_page(self.lang, self.error.kind),
        }
    }
}

pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

pub(crate) fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Constant-time string comparison for tokens.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

async fn resolve(parts: &mut Parts, state: &AppState, api: bool) -> Result<Principal, ApiError> {
    if let Some(Identity(p)) = parts.extensions.get::<Identity>() {
        return Ok(p.clone());
    }
    if let Some(AuthorizerClaims(claims)) = parts.extensions.get::<AuthorizerClaims>() {
        return Ok(principal_from_cognito_claims(claims, &state.org).await?);
    }
    if let Some(token) = bearer(parts) {
        let now = state.clock.now().unix_timestamp();
        let claims = state
            .jwt
            .verify(token, state.jwt_issuer(), crate::JWT_AUDIENCE, now)
            .map_err(|e| {
                tracing::info!(error = %e, "bearer token refused");
                ApiError::unauthenticated()
            })?;
        return match state.org.employee(&claims.sub).await {
            Ok(emp) if emp.active => Ok(Principal::of(&emp)),
            Ok(_) | Err(ServiceError::NotFound(_)) => Err(ApiError::unauthenticated()),
            Err(e) => Err(e.into()),
        };
    }
    if let Some(token) = cookie(parts, SESSION_COOKIE) {
        let Some((session, emp)) = state.auth.session(token).await? else {
            return Err(ApiError::unauthenticated());
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if api && !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same_token(sent, &session.csrf) {
                return Err(ApiError::forbidden());
            }
        }
        parts.extensions.insert(WebSession(session));
        return Ok(Principal::of(&emp));
    }
    Err(ApiError::unauthenticated())
}

impl FromRequestParts<AppState> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map(|u| u.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let api = uri.path().starts_with("/api/");
        match resolve(parts, state, api).await {
            Ok(p) => {
                parts.extensions.insert(Identity(p.clone()));
                Ok(Identity(p))
            }
            Err(error) => Err(IdentityRejection {
                api,
                lang: Lang::of_request(parts),
                next: uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
                error,
            }),
        }
    }
}

impl Identity {
    /// `403` unless the caller holds `role`.
    pub fn require(&self, role: paraf_core::Role) -> Result<&Principal, ApiError> {
        self.0.require(role)?;
        Ok(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_as_arrays_or_as_api_gateway_strings() {
        let a = serde_json::json!({"cognito:groups": ["admin", "staff"]});
        let b = serde_json::json!({"cognito:groups": "[admin staff]"});
        assert_eq!(cognito_groups(&a), vec!["admin", "staff"]);
        assert_eq!(cognito_groups(&b), vec!["admin", "staff"]);
    }

    #[test]
    fn tokens_compare_only_when_equal_and_present() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("", ""));
    }
}
