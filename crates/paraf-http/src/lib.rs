//! paraf's HTTP face: one axum [`Router`] with the JSON API under `/api/v1` (OpenAPI 3.1
//! at `/api/v1/openapi.json`), identity (JWT, session cookie, or an authorizer in front),
//! and the server-rendered web shell. Locally it is served by hyper (`paraf serve`), on
//! Lambda by `lambda_http::run(router(state))`.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn demo(table: Arc<dyn paraf_core::Table>, blobs: Arc<dyn paraf_core::Blobs>,
//! #         mailer: Arc<dyn paraf_core::Mailer>, signer: Arc<dyn paraf_core::Signer>) {
//! use paraf_http::{router, AppState, HttpConfig, JwtKeys};
//! let state = AppState::new(
//!     table, blobs, mailer, signer,
//!     Arc::new(paraf_core::SystemClock),
//!     JwtKeys::generate(),
//!     HttpConfig::local("http://127.0.0.1:8080"),
//! );
//! let app: axum::Router = router(state);
//! # }
//! ```

pub mod api;
pub mod client_addr;
pub mod dispositions;
pub mod documents;
pub mod error;
pub mod export;
pub mod extract;
pub mod i18n;
pub mod identity;
pub mod inbox;
pub mod jwt;
pub mod limits;
pub mod pages;
pub mod signing;
pub mod subject;
pub mod travel;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::Router;
use axum_extra::extract::cookie::Key as CookieKey;
use paraf_core::{Auth, Blobs, BlobsError, Clock, Mailer, Org, Signer, Table};
use time::OffsetDateTime;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use client_addr::{with_client_addr, ClientAddr, ClientIp};
pub use error::{ApiError, ErrorKind};
pub use i18n::{Lang, Texts};
pub use identity::{principal_from_cognito_claims, AuthorizerClaims, Identity};
pub use jwt::{Claims, JwtError, JwtKeys};

/// Largest request body accepted (CSV imports, uploads to come).
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// Audience of paraf's own API tokens.
pub const JWT_AUDIENCE: &str = "paraf-api";

/// Deployment settings the HTTP layer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Where users reach paraf, e.g. `https://paraf.kpu-jabar.go.id` (no trailing slash);
    /// also the `iss` of API tokens.
    pub public_base_url: String,
    /// Mark cookies `Secure` (on whenever served over HTTPS).
    pub secure_cookies: bool,
    /// Shown in the page header, e.g. "Sekretariat KPU Provinsi Jawa Barat".
    pub org_name: String,
}

impl HttpConfig {
    /// Settings for a local `paraf serve` over plain HTTP.
    pub fn local(public_base_url: &str) -> Self {
        HttpConfig {
            public_base_url: public_base_url.trim_end_matches('/').to_string(),
            secure_cookies: public_base_url.starts_with("https://"),
            org_name: "Sekretariat KPU Provinsi Jawa Barat".to_string(),
        }
    }
}

/// Turns a download-link token into the blob key it grants, or refuses it
/// (`BlobsError::InvalidLink` when expired or forged). The folder-blobs adapter's
/// `resolve_link(token, now)` fits: `Arc::new(move |t, now| blobs.resolve_link(t, now))`.
pub type FileLinkResolver =
    Arc<dyn Fn(&str, OffsetDateTime) -> Result<String, BlobsError> + Send + Sync>;

/// Everything a handler may use. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub table: Arc<dyn Table>,
    pub blobs: Arc<dyn Blobs>,
    pub mailer: Arc<dyn Mailer>,
    pub signer: Arc<dyn Signer>,
    pub clock: Arc<dyn Clock>,
    pub org: Org,
    pub auth: Auth,
    /// Signed documents, their retention and their audit trail.
    pub archive: paraf_core::archive::Archive,
    /// The approval and disposition state machines (Step Functions on AWS, the local
    /// interpreter in `paraf serve`). `None` until wired: workflow routes answer 503.
    pub workflows: Option<Arc<dyn paraf_core::Workflows>>,
    pub jwt: Arc<JwtKeys>,
    pub config: Arc<HttpConfig>,
    /// Serves `GET /api/v1/files/{token}` when set (local folder blobs); on AWS links go
    /// straight to S3 and this stays `None`.
    pub file_links: Option<FileLinkResolver>,
    /// The configured time-stamping authority: uploads signed through the API carry its
    /// time-stamp. `None`: no time-stamp.
    pub tsa: Option<paraf_tasks::sign::TsaClient>,
    /// Trusted besides the organisation root when verifying (DER), e.g. the TSA's root.
    pub extra_roots: Arc<Vec<Vec<u8>>>,
    cookie_key: CookieKey,
}

impl AppState {
    pub fn new(
        table: Arc<dyn Table>,
        blobs: Arc<dyn Blobs>,
        mailer: Arc<dyn Mailer>,
        signer: Arc<dyn Signer>,
        clock: Arc<dyn Clock>,
        jwt: JwtKeys,
        config: HttpConfig,
    ) -> Self {
        let org = Org::new(table.clone(), clock.clone());
        let auth = Auth::new(table.clone(), clock.clone());
        let archive =
            paraf_core::archive::Archive::new(table.clone(), blobs.clone(), clock.clone());
        let cookie_key = CookieKey::from(&jwt.derive("cookie-signing"));
        AppState {
            table,
            blobs,
            mailer,
            signer,
            clock,
            org,
            auth,
            archive,
            workflows: None,
            jwt: Arc::new(jwt),
            config: Arc::new(config),
            file_links: None,
            tsa: None,
            extra_roots: Arc::new(Vec::new()),
            cookie_key,
        }
    }

    /// Time-stamps every signature the API makes with `tsa` (RFC 3161).
    pub fn with_tsa(mut self, tsa: Option<paraf_tasks::sign::TsaClient>) -> Self {
        self.tsa = tsa;
        self
    }

    /// Trusts these roots (DER) besides the organisation's when verifying, e.g. the TSA's.
    pub fn with_extra_roots(mut self, roots: Vec<Vec<u8>>) -> Self {
        self.extra_roots = Arc::new(roots);
        self
    }

    /// Connects the workflow engine.
    pub fn with_workflows(mut self, workflows: Arc<dyn paraf_core::Workflows>) -> Self {
        self.workflows = Some(workflows);
        self
    }

    /// Enables `GET /api/v1/files/{token}`.
    pub fn with_file_links(mut self, resolver: FileLinkResolver) -> Self {
        self.file_links = Some(resolver);
        self
    }

    pub(crate) fn jwt_issuer(&self) -> &str {
        &self.config.public_base_url
    }
}

impl FromRef<AppState> for CookieKey {
    fn from_ref(s: &AppState) -> CookieKey {
        s.cookie_key.clone()
    }
}

/// The whole HTTP surface: API, OpenAPI document, pages, stylesheet, health check.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api::router_and_document();
    let doc = Arc::new(doc);
    let api = api
        .layer(axum::Extension(doc))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let pages = pages::routes()
        .merge(documents::page_routes())
        .merge(inbox::page_routes())
        .merge(dispositions::page_routes())
        .merge(travel::page_routes())
        .merge(signing::page_routes())
        .merge(subject::page_routes())
        .layer(
            ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                     font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                    ),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(axum::middleware::from_fn(pages::remember_lang)),
        );
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(api)
        .merge(pages)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                        let id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!(
                            "request",
                            method = %req.method(),
                            path = %req.uri().path(),
                            request_id = %id,
                        )
                    }),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                // Outside the body limit and timeout so their refusals get the API's shape.
                .layer(axum::middleware::from_fn(error::localize))
                // The edge admits uploads (PDFs up to 20 MB, refused from Content-Length
                // above that); extractors keep MAX_BODY_BYTES except on the upload routes,
                // which raise their own DefaultBodyLimit.
                .layer(RequestBodyLimitLayer::new(documents::MAX_UPLOAD_BODY_BYTES))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(30),
                )),
        )
        .with_state(state)
}
