//! The `api` function: paraf's one [`axum::Router`] (`paraf_http::router`) behind API
//! Gateway HTTP API v2, served by `lambda_http`.
//!
//! The claims of the HTTP API's JWT authorizer (`requestContext.authorizer.jwt.claims`)
//! become the request's [`AuthorizerClaims`]; nothing else sets that extension. The
//! caller's address for login throttling is API Gateway's `requestContext.http.sourceIp`
//! ([`ClientAddr`]), never a header the client could write (`X-Forwarded-For`). Without
//! a usable configuration the function still answers: `GET /healthz` says 503 and names
//! the variables at fault, every other path answers 503 with a JSON error.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use lambda_http::request::RequestContext;
use lambda_http::tower::util::MapRequest;
use lambda_http::{Request, RequestExt};
use paraf_aws::config::{Config, ConfigError, SESSION_SECRET, TSA_URL};
use paraf_aws::AwsClients;
use paraf_core::{Blobs, Clock, Mailer, Signer, SystemClock, Table, Workflows};
use paraf_http::{AppState, AuthorizerClaims, ClientAddr, HttpConfig, JwtKeys};
use serde_json::{json, Value};

/// The service `lambda_http::run` serves.
pub type LambdaApp = MapRequest<Router, fn(Request) -> Request>;

/// The HTTP state over the AWS adapters, wired as `paraf serve` wires the local ones.
pub fn state(config: &Config, clients: &AwsClients) -> Result<AppState, ConfigError> {
    let table: Arc<dyn Table> = Arc::new(config.table(clients));
    let blobs: Arc<dyn Blobs> = Arc::new(
        config
            .blobs(clients)
            .ok_or_else(|| ConfigError::unread(paraf_aws::config::ARCHIVE_BUCKET))?,
    );
    let mailer: Arc<dyn Mailer> = Arc::new(
        config
            .mailer(clients)
            .ok_or_else(|| ConfigError::unread(paraf_aws::config::MAIL_FROM))?,
    );
    let signer: Arc<dyn Signer> = Arc::new(
        config
            .signer(clients, table.clone())
            .ok_or_else(|| ConfigError::unread(paraf_aws::config::CA_ALIAS))?,
    );
    let workflows: Arc<dyn Workflows> = Arc::new(
        config
            .workflows(clients)
            .ok_or_else(|| ConfigError::unread(paraf_aws::config::APPROVAL_STATE_MACHINE_ARN))?,
    );
    let secret = config
        .session_secret
        .as_ref()
        .ok_or_else(|| ConfigError::unread(SESSION_SECRET))?;
    let jwt = JwtKeys::from_seed(secret.as_bytes())
        .map_err(|e| ConfigError::new(SESSION_SECRET, e.to_string()))?;
    let tsa = config
        .tsa_url
        .as_deref()
        .map(paraf_tasks::sign::TsaClient::new)
        .transpose()
        .map_err(|e| ConfigError::new(TSA_URL, e))?;
    let public_url = config
        .public_url
        .clone()
        .ok_or_else(|| ConfigError::unread(paraf_aws::config::PUBLIC_URL))?;
    let org_name = config
        .signing
        .as_ref()
        .map(|s| s.org_name.clone())
        .ok_or_else(|| ConfigError::unread(paraf_aws::config::ORG_NAME))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Ok(AppState::new(
        table,
        blobs,
        mailer,
        signer,
        clock,
        jwt,
        HttpConfig {
            secure_cookies: public_url.starts_with("https://"),
            public_base_url: public_url,
            org_name,
        },
    )
    // Download links are presigned S3 URLs: no `/api/v1/files/{token}` route on AWS.
    .with_workflows(workflows)
    .with_tsa(tsa))
}

/// How long the start-up probe waits for the table before saying it is unreachable.
pub const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// One read of the table at cold start: a table that does not answer (wrong name, no
/// permission, endpoint unreachable) is logged once, in one line, before the first request
/// rather than as a 503 from `/healthz` alone. Never fails the start: the table may come
/// back, and `/healthz` keeps answering for it.
pub async fn probe(state: &AppState) -> Result<(), String> {
    let key = paraf_core::Key::new("HEALTH", "CHECK");
    let read = state.table.get(&key);
    let outcome = match tokio::time::timeout(PROBE_TIMEOUT, read).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("the table does not answer: {e}")),
        Err(_) => Err(format!(
            "the table did not answer within {} s",
            PROBE_TIMEOUT.as_secs()
        )),
    };
    if let Err(why) = &outcome {
        tracing::error!("paraf cannot reach its store at start-up ({why}); /healthz answers 503");
    }
    outcome
}

/// The router to serve: paraf's, or the one that says what configuration is missing (and
/// logs it once, at cold start).
pub fn router(state: Result<AppState, ConfigError>) -> Router {
    match state {
        Ok(state) => paraf_http::router(state),
        Err(e) => {
            tracing::error!(missing = ?e.variables(), "{e}");
            unavailable(&e)
        }
    }
}

/// Answers every request with 503; `GET /healthz` names the variables at fault.
pub fn unavailable(error: &ConfigError) -> Router {
    let missing: Vec<String> = error.variables().iter().map(|v| v.to_string()).collect();
    let health = json!({"status": "unavailable", "missing": missing});
    let refusal = json!({"error": {
        "code": "unavailable",
        "message": format!("paraf is not configured (see GET /healthz): {}", missing.join(", ")),
        "fields": {},
    }});
    Router::new()
        .route(
            "/healthz",
            axum::routing::get(move || async move { unavailable_json(health) }),
        )
        .fallback(move || async move { unavailable_json(refusal) })
}

fn unavailable_json(body: Value) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

/// The router behind Lambda: each request first gets its authorizer claims and source
/// address.
pub fn app(router: Router) -> LambdaApp {
    MapRequest::new(router, with_authorizer_claims as fn(Request) -> Request)
}

/// Copies the HTTP API JWT authorizer's claims into [`AuthorizerClaims`] (API Gateway has
/// verified the token) and `requestContext.http.sourceIp` into [`ClientAddr`]. Anything
/// else claiming to be them is dropped first.
pub fn with_authorizer_claims(mut req: Request) -> Request {
    req.extensions_mut().remove::<AuthorizerClaims>();
    req.extensions_mut().remove::<ClientAddr>();
    let (claims, source_ip) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .map(|jwt| jwt.claims.clone())
                .filter(|c| !c.is_empty()),
            ctx.http
                .source_ip
                .as_deref()
                .and_then(|ip| ip.parse::<std::net::IpAddr>().ok()),
        ),
        #[allow(unreachable_patterns)] // other event sources when features unify
        _ => (None, None),
    };
    if let Some(ip) = source_ip {
        req.extensions_mut().insert(ClientAddr(ip));
    }
    if let Some(claims) = claims {
        let object = claims
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        req.extensions_mut()
            .insert(AuthorizerClaims(Value::Object(object)));
    }
    req
}
