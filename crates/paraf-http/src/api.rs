//! The JSON API under `/api/v1`. Every route is registered once through utoipa-axum's
//! `routes!`, so the router and the OpenAPI document cannot drift apart.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use paraf_core::org::{ImportStatus, NewEmployee, NewUnit};
use paraf_core::{BlobsError, Delegation, Employee, ImportReport, Key, Role, Unit};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::client_addr::ClientIp;
use crate::error::{body_text, ApiError, ErrorBody, ErrorKind, Json, Path, Query};
use crate::i18n::{Lang, Texts};
use crate::identity::Identity;
use crate::jwt::{Claims, TOKEN_SECONDS};
use crate::{AppState, JWT_AUDIENCE, MAX_BODY_BYTES};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "paraf API",
        description = "e-office and document signing for the secretariat of KPU Provinsi Jawa Barat. \
                       Errors are always `{\"error\":{\"code\",\"message\",\"fields\"}}`; messages are \
                       Indonesian unless `?lang=en` or `Accept-Language` prefers English.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    components(schemas(ErrorBody)),
    tags(
        (name = "system", description = "health and the API description"),
        (name = "auth", description = "sign in and the caller"),
        (name = "org", description = "the organisation, for every signed-in user"),
        (name = "admin", description = "units, employees, delegations (role admin)"),
        (name = "files", description = "time-limited download links"),
        (name = "archive", description = "signed documents: archive search, download, retention (role archivist), verification, signing an uploaded PDF, the public QR record"),
        (name = "approvals", description = "approval chains and their human tasks: inbox, decisions, reassignment"),
        (name = "dispositions", description = "e-disposisi: incoming letters, dispositions, reports, withdrawing an unread forward"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".to_string());
        http.description =
            Some("ES256 token from POST /api/v1/auth/login, or a Cognito token on AWS".to_string());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// The refusals every operation shares, added to each operation of the document where its
/// shape makes them possible (and not described more precisely by the operation itself):
/// they come from the layers and extractors all handlers share, not from one handler.
///
/// - 400 when it takes a body, a query or a path parameter (the extractors of
///   [`crate::extract`] name the field); 422 when it takes a body or a query (a text
///   breaking the user text rule, [`paraf_core::types::check_text`]);
/// - 401 when it needs a token; 404 when its path names something;
/// - 413 and 415 when it takes a body (the size limit, the media type);
/// - 408 when it takes a body (the body must arrive within the server's deadline);
/// - 500 always (logged with the request id, never explained to the client).
pub fn complete(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{Ref, RefOr, ResponseBuilder};
    let error = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    let global_security = doc.security.clone();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let params = op.parameters.as_deref().unwrap_or(&[]);
            let has = |place: ParameterIn| {
                params
                    .iter()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == place))
            };
            let (in_path, in_query) = (has(ParameterIn::Path), has(ParameterIn::Query));
            let body = op.request_body.is_some();
            // `security(())` makes an operation public: one requirement with no scheme.
            let public = op
                .security
                .as_ref()
                .or(global_security.as_ref())
                .is_none_or(|reqs| reqs.iter().any(|r| r == &Default::default()));
            let mut add = |status: &str, description: &str, when: bool| {
                if when {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description));
                }
            };
            add(
                "400",
                "malformed: the body, a query or a path parameter is not what this operation \
                 takes; `fields` names which and why",
                body || in_query || in_path,
            );
            add(
                "422",
                "a text contains a control or text-direction character (U+0000-U+001F except \
                 tab and line breaks, U+007F-U+009F, U+202A-U+202E, U+2066-U+2069 ...); \
                 `fields` names where",
                body || in_query,
            );
            add("401", "no valid bearer token", !public);
            add("404", "not found", in_path);
            add(
                "408",
                "the body did not arrive within the server's deadline",
                body,
            );
            add(
                "413",
                "the body is larger than this operation accepts",
                body,
            );
            add(
                "415",
                "the body's Content-Type is not one this operation takes",
                body,
            );
            add(
                "500",
                "an unexpected failure, logged with the request id (never explained)",
                true,
            );
        }
    }
}

/// The API router and its complete OpenAPI document.
pub fn router_and_document() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (api, mut doc) = routes().split_for_parts();
    complete(&mut doc);
    (api, doc)
}

/// All API routes with their OpenAPI operations.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(openapi_json))
        .routes(routes!(login))
        .routes(routes!(me))
        .routes(routes!(dashboard))
        .routes(routes!(org_units))
        .routes(routes!(supervisors))
        .routes(routes!(create_unit))
        .routes(routes!(set_unit_head))
        .routes(routes!(list_employees, create_employee))
        .routes(routes!(get_employee))
        .routes(routes!(set_roles))
        .routes(routes!(set_active))
        .routes(routes!(set_password))
        .routes(routes!(import_employees))
        .routes(routes!(list_delegations, create_delegation))
        .routes(routes!(file))
        .merge(crate::documents::api_routes())
        .merge(crate::inbox::api_routes())
        .merge(crate::dispositions::api_routes())
        .merge(crate::travel::api_routes())
        .merge(crate::signing::api_routes())
}

// ---------- views ----------

/// An employee as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EmployeeView {
    pub id: String,
    /// 18 digits.
    pub nip: String,
    pub name: String,
    pub pangkat: Option<String>,
    pub golongan: Option<String>,
    pub jabatan: String,
    pub unit_id: String,
    pub supervisor_id: Option<String>,
    pub email: String,
    #[schema(value_type = Vec<paraf_core::Role>)]
    pub roles: Vec<String>,
    pub active: bool,
    /// Pass back when changing roles (optimistic concurrency).
    pub version: i64,
}

impl From<&Employee> for EmployeeView {
    fn from(e: &Employee) -> Self {
        EmployeeView {
            id: e.id.clone(),
            nip: e.nip.to_string(),
            name: e.name.clone(),
            pangkat: e.pangkat.clone(),
            golongan: e.golongan.clone(),
            jabatan: e.jabatan.clone(),
            unit_id: e.unit_id.clone(),
            supervisor_id: e.supervisor_id.clone(),
            email: e.email.to_string(),
            roles: e.roles.iter().map(|r| r.as_str().to_string()).collect(),
            active: e.active,
            version: e.version,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnitView {
    pub id: String,
    pub code: String,
    pub name: String,
    #[schema(value_type = paraf_core::org::UnitKind)]
    pub kind: String,
    pub parent_id: Option<String>,
    pub head_id: Option<String>,
    pub version: i64,
}

impl From<&Unit> for UnitView {
    fn from(u: &Unit) -> Self {
        UnitView {
            id: u.id.clone(),
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind.as_str().to_string(),
            parent_id: u.parent_id.clone(),
            head_id: u.head_id.clone(),
            version: u.version,
        }
    }
}

/// A unit and the units under it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnitNode {
    #[serde(flatten)]
    pub unit: UnitView,
    #[schema(no_recursion)]
    pub children: Vec<UnitNode>,
}

/// Builds the unit forest; units whose parent is missing become roots so none is hidden.
pub fn unit_tree(units: &[Unit]) -> Vec<UnitNode> {
    let ids: std::collections::BTreeSet<&str> = units.iter().map(|u| u.id.as_str()).collect();
    let mut children: BTreeMap<Option<&str>, Vec<&Unit>> = BTreeMap::new();
    for u in units {
        let parent = u.parent_id.as_deref().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(u);
    }
    fn build(
        parent: Option<&str>,
        children: &BTreeMap<Option<&str>, Vec<&Unit>>,
        depth: usize,
    ) -> Vec<UnitNode> {
        if depth > 32 {
            return Vec::new();
        }
        children
            .get(&parent)
            .map(|us| {
                us.iter()
                    .map(|u| UnitNode {
                        unit: UnitView::from(*u),
                        children: build(Some(u.id.as_str()), children, depth + 1),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    build(None, &children, 0)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DelegationView {
    pub id: String,
    pub principal_id: String,
    pub acting_id: String,
    /// YYYY-MM-DD (WIB), inclusive.
    pub from: String,
    /// YYYY-MM-DD (WIB), inclusive.
    pub to: String,
    pub reason: String,
}

impl From<&Delegation> for DelegationView {
    fn from(d: &Delegation) -> Self {
        DelegationView {
            id: d.id.clone(),
            principal_id: d.principal_id.clone(),
            acting_id: d.acting_id.clone(),
            from: d.from.to_string(),
            to: d.to.to_string(),
            reason: d.reason.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportRowView {
    /// Line in the file (the header is line 1).
    pub line: usize,
    pub nip: Option<String>,
    #[schema(value_type = paraf_core::org::ImportStatus)]
    pub status: String,
    pub employee_id: Option<String>,
    /// field → reason, in the language of the request (empty when imported).
    pub errors: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportReportView {
    pub imported: usize,
    pub rejected: usize,
    pub rows: Vec<ImportRowView>,
}

impl ImportReportView {
    /// The report with its reasons in `lang`.
    pub fn new(r: &ImportReport, lang: Lang) -> Self {
        ImportReportView {
            imported: r.imported(),
            rejected: r.rejected(),
            rows: r
                .rows
                .iter()
                .map(|row| ImportRowView {
                    line: row.line,
                    nip: row.nip.clone(),
                    status: match row.status {
                        ImportStatus::Imported => "imported",
                        ImportStatus::Rejected => "rejected",
                    }
                    .to_string(),
                    employee_id: row.employee_id.clone(),
                    errors: row
                        .errors
                        .iter()
                        .map(|(k, v)| (k.clone(), lang.pick(v).to_string()))
                        .collect(),
                })
                .collect(),
        }
    }
}

// ---------- system ----------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the table does not answer.
    pub status: String,
}

/// Liveness and readiness: the table answers a read.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.table.get(&Key::new("HEALTH", "CHECK")).await {
        Ok(_) => Json(Health {
            status: "ok".into(),
        })
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: table unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable".into(),
                }),
            )
                .into_response()
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json(Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>) -> Response {
    axum::Json(doc.as_ref().clone()).into_response()
}

// ---------- auth ----------

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"login": "staf@demo.paraf.test", "password": "paraf-demo"}))]
pub struct LoginRequest {
    /// NIP (18 digits, spaces allowed) or email.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// ES256 JWT.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
    pub employee: EmployeeView,
}

/// Signs in with NIP or email and password; returns a bearer token.
///
/// Failed logins are counted per account and client address, and per client address
/// across accounts; past either limit the caller's address gets 429 for that account (or
/// for every account) until `Retry-After` seconds have passed, the right password
/// included. Failures from other addresses never refuse this one.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, body = ErrorBody, description = "malformed JSON"),
        (status = 401, body = ErrorBody, description = "wrong login or password"),
        (status = 408, body = ErrorBody, description = "the body did not arrive in time"),
        (status = 429, body = ErrorBody, description = "too many failed logins from this address (for this account, or for any); see Retry-After",
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(from): ClientIp,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let emp = state
        .auth
        .authenticate(&req.login, &req.password, from)
        .await?;
    let token = issue_token(&state, &emp)?;
    Ok(Json(LoginResponse {
        token,
        token_type: "Bearer".into(),
        expires_in: TOKEN_SECONDS,
        employee: EmployeeView::from(&emp),
    }))
}

pub(crate) fn issue_token(state: &AppState, emp: &Employee) -> Result<String, ApiError> {
    let now = state.clock.now().unix_timestamp();
    let claims = Claims {
        sub: emp.id.clone(),
        email: emp.email.to_string(),
        nip: emp.nip.to_string(),
        name: emp.name.clone(),
        roles: emp.roles.iter().map(|r| r.as_str().to_string()).collect(),
        iat: now,
        exp: now + TOKEN_SECONDS,
        iss: state.jwt_issuer().to_string(),
        aud: JWT_AUDIENCE.to_string(),
    };
    state.jwt.sign(&claims).map_err(|e| ApiError::internal(&e))
}

/// The caller's employee record.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = EmployeeView), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, id: Identity) -> Result<Json<EmployeeView>, ApiError> {
    let emp = state.org.employee(&id.0.employee_id).await?;
    Ok(Json(EmployeeView::from(&emp)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DashboardView {
    /// Today in WIB, YYYY-MM-DD.
    pub today: String,
    pub to_approve: u64,
    pub to_sign: u64,
    pub unread_dispositions: u64,
    pub agenda_today: u64,
}

/// What waits for the caller now.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "auth",
    responses((status = 200, body = DashboardView), (status = 401, body = ErrorBody)))]
async fn dashboard(
    State(state): State<AppState>,
    id: Identity,
) -> Result<Json<DashboardView>, ApiError> {
    let today = state.clock.now().date();
    let c = paraf_core::dashboard::counters(state.table.as_ref(), &id.0.employee_id, today).await?;
    Ok(Json(DashboardView {
        today: today.to_string(),
        to_approve: c.to_approve,
        to_sign: c.to_sign,
        unread_dispositions: c.unread_dispositions,
        agenda_today: c.agenda_today,
    }))
}

// ---------- org (any signed-in user) ----------

/// The unit tree.
#[utoipa::path(get, path = "/api/v1/org/units", tag = "org",
    responses((status = 200, body = Vec<UnitNode>), (status = 401, body = ErrorBody)))]
async fn org_units(
    State(state): State<AppState>,
    _id: Identity,
) -> Result<Json<Vec<UnitNode>>, ApiError> {
    let units = state.org.units().await?;
    Ok(Json(unit_tree(&units)))
}

/// The supervisor chain of an employee, nearest first.
#[utoipa::path(get, path = "/api/v1/org/employees/{id}/supervisors", tag = "org",
    params(("id" = String, Path, description = "employee id, NIP or email")),
    responses((status = 200, body = Vec<EmployeeView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn supervisors(
    State(state): State<AppState>,
    _id: Identity,
    Path(emp_id): Path<String>,
) -> Result<Json<Vec<EmployeeView>>, ApiError> {
    let emp = find_employee(&state, &emp_id).await?;
    let chain = state.org.supervisor_chain(&emp).await?;
    Ok(Json(chain.iter().map(EmployeeView::from).collect()))
}

async fn find_employee(state: &AppState, id: &str) -> Result<Employee, ApiError> {
    state.org.find_employee(id).await?.ok_or_else(|| ApiError {
        detail: Some("employee".into()),
        ..ApiError::not_found()
    })
}

// ---------- admin: units ----------

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUnitBody {
    /// Short unique code, e.g. `BAG-KUL`.
    pub code: String,
    pub name: String,
    #[schema(value_type = paraf_core::org::UnitKind)]
    pub kind: String,
    /// Parent unit id or code (required except for pimpinan).
    pub parent_id: Option<String>,
}

/// Creates a unit.
#[utoipa::path(post, path = "/api/v1/admin/units", tag = "admin", request_body = NewUnitBody,
    responses((status = 201, body = UnitView), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_unit(
    State(state): State<AppState>,
    id: Identity,
    Json(b): Json<NewUnitBody>,
) -> Result<(StatusCode, Json<UnitView>), ApiError> {
    id.require(Role::Admin)?;
    let u = state
        .org
        .create_unit(NewUnit {
            code: b.code,
            name: b.name,
            kind: b.kind,
            parent_id: b.parent_id,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(UnitView::from(&u))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetHeadBody {
    /// The head's employee id or NIP; must belong to the unit.
    pub head: String,
}

/// Sets the head of a unit.
#[utoipa::path(put, path = "/api/v1/admin/units/{id}/head", tag = "admin", request_body = SetHeadBody,
    params(("id" = String, Path, description = "unit id")),
    responses((status = 200, body = UnitView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_unit_head(
    State(state): State<AppState>,
    id: Identity,
    Path(unit_id): Path<String>,
    Json(b): Json<SetHeadBody>,
) -> Result<Json<UnitView>, ApiError> {
    id.require(Role::Admin)?;
    let u = state.org.set_unit_head(&unit_id, &b.head).await?;
    Ok(Json(UnitView::from(&u)))
}

// ---------- admin: employees ----------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmployeesQuery {
    /// Only this unit (id).
    pub unit: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EmployeesPage {
    pub items: Vec<EmployeeView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Employees ordered by name, a page at a time.
#[utoipa::path(get, path = "/api/v1/admin/employees", tag = "admin", params(EmployeesQuery),
    responses((status = 200, body = EmployeesPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_employees(
    State(state): State<AppState>,
    id: Identity,
    Query(q): Query<EmployeesQuery>,
) -> Result<Json<EmployeesPage>, ApiError> {
    id.require(Role::Admin)?;
    let limit = crate::extract::page_size(q.limit)?;
    let (emps, cursor) = state
        .org
        .employees(q.unit.as_deref(), limit, q.cursor)
        .await?;
    Ok(Json(EmployeesPage {
        items: emps.iter().map(EmployeeView::from).collect(),
        next_cursor: cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "nip": "199203152019031004", "name": "Rudi Hartono", "email": "rudi@kpu-jabar.go.id",
    "jabatan": "Pengelola Keuangan", "unit": "SUB-KEU", "pangkat": "Penata Muda",
    "golongan": "III/a", "roles": ["staff"], "password": "rahasia-sekali"
}))]
pub struct NewEmployeeBody {
    pub nip: String,
    pub name: String,
    pub email: String,
    pub jabatan: String,
    /// Unit id or code.
    pub unit: String,
    pub pangkat: Option<String>,
    pub golongan: Option<String>,
    /// Supervisor's employee id or NIP.
    pub supervisor: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<paraf_core::Role>)]
    pub roles: Vec<String>,
    /// Initial password (at least 8 characters); without it the employee cannot sign in
    /// until one is set.
    pub password: Option<String>,
}

/// Creates an employee (and optionally their first password).
#[utoipa::path(post, path = "/api/v1/admin/employees", tag = "admin", request_body = NewEmployeeBody,
    responses((status = 201, body = EmployeeView), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "NIP or email already registered; `fields` names which"),
              (status = 422, body = ErrorBody)))]
async fn create_employee(
    State(state): State<AppState>,
    id: Identity,
    Json(b): Json<NewEmployeeBody>,
) -> Result<(StatusCode, Json<EmployeeView>), ApiError> {
    id.require(Role::Admin)?;
    let emp = create_employee_with_password(&state, b).await?;
    Ok((StatusCode::CREATED, Json(EmployeeView::from(&emp))))
}

pub(crate) async fn create_employee_with_password(
    state: &AppState,
    b: NewEmployeeBody,
) -> Result<Employee, ApiError> {
    let password = b.password.filter(|p| !p.is_empty());
    // Checked first so a short password never leaves a half-made account behind.
    if let Some(p) = &password {
        paraf_core::auth::check_password(p)?;
    }
    let emp = state
        .org
        .create_employee(NewEmployee {
            nip: b.nip,
            name: b.name,
            email: b.email,
            jabatan: b.jabatan,
            unit: b.unit,
            pangkat: b.pangkat,
            golongan: b.golongan,
            supervisor: b.supervisor,
            roles: b.roles,
        })
        .await?;
    if let Some(p) = password {
        state.auth.set_password(&emp.id, &p).await?;
    }
    Ok(emp)
}

/// One employee.
#[utoipa::path(get, path = "/api/v1/admin/employees/{id}", tag = "admin",
    params(("id" = String, Path, description = "employee id, NIP or email")),
    responses((status = 200, body = EmployeeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_employee(
    State(state): State<AppState>,
    id: Identity,
    Path(emp_id): Path<String>,
) -> Result<Json<EmployeeView>, ApiError> {
    id.require(Role::Admin)?;
    let emp = find_employee(&state, &emp_id).await?;
    Ok(Json(EmployeeView::from(&emp)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetRolesBody {
    /// The new role set; `staff` is always kept.
    #[schema(value_type = Vec<paraf_core::Role>)]
    pub roles: Vec<String>,
    /// The `version` read with the employee; 409 `stale` if it changed since.
    pub version: i64,
}

/// Replaces an employee's roles. The organisation keeps at least one active admin:
/// taking `admin` from the last one is refused with 409 (`conflict`, field `roles`) and
/// nothing is written.
#[utoipa::path(put, path = "/api/v1/admin/employees/{id}/roles", tag = "admin", request_body = SetRolesBody,
    params(("id" = String, Path, description = "employee id")),
    responses((status = 200, body = EmployeeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`stale`: the version changed; `conflict` on `roles`: the last active admin would lose the role"),
              (status = 422, body = ErrorBody)))]
async fn set_roles(
    State(state): State<AppState>,
    id: Identity,
    Path(emp_id): Path<String>,
    Json(b): Json<SetRolesBody>,
) -> Result<Json<EmployeeView>, ApiError> {
    id.require(Role::Admin)?;
    let emp = state.org.set_roles(&emp_id, &b.roles, b.version).await?;
    Ok(Json(EmployeeView::from(&emp)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetActiveBody {
    /// `false` deactivates: the employee can no longer sign in and is signed out
    /// everywhere; `true` activates again.
    pub active: bool,
    /// The `version` read with the employee; 409 `stale` if it changed since.
    pub version: i64,
}

/// Deactivates or reactivates an employee. Deactivating the last active admin is refused
/// with 409 (`conflict`, field `active`) and nothing is written.
#[utoipa::path(put, path = "/api/v1/admin/employees/{id}/active", tag = "admin", request_body = SetActiveBody,
    params(("id" = String, Path, description = "employee id")),
    responses((status = 200, body = EmployeeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`stale`: the version changed; `conflict` on `active`: the last active admin would be deactivated"),
              (status = 422, body = ErrorBody)))]
async fn set_active(
    State(state): State<AppState>,
    id: Identity,
    Path(emp_id): Path<String>,
    Json(b): Json<SetActiveBody>,
) -> Result<Json<EmployeeView>, ApiError> {
    id.require(Role::Admin)?;
    let emp = state.org.set_active(&emp_id, b.active, b.version).await?;
    tracing::info!(employee = %emp.id, active = emp.active, by = %id.0.employee_id, "employee activity changed");
    Ok(Json(EmployeeView::from(&emp)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetPasswordBody {
    /// At least 8 characters.
    pub password: String,
}

/// Sets an employee's password.
#[utoipa::path(put, path = "/api/v1/admin/employees/{id}/password", tag = "admin", request_body = SetPasswordBody,
    params(("id" = String, Path, description = "employee id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_password(
    State(state): State<AppState>,
    id: Identity,
    Path(emp_id): Path<String>,
    Json(b): Json<SetPasswordBody>,
) -> Result<StatusCode, ApiError> {
    id.require(Role::Admin)?;
    state.auth.set_password(&emp_id, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Imports employees from CSV (`text/csv` body, or `multipart/form-data` with a `file`
/// part). Answers 200 with a per-row report even when rows are rejected; each row is
/// written whole or not at all.
#[utoipa::path(post, path = "/api/v1/admin/employees/import", tag = "admin",
    request_body(content(
        (String = "text/csv", example = json!(IMPORT_EXAMPLE)),
        (CsvUpload = "multipart/form-data"),
    ), description = "header row: nip, nama, email, jabatan, unit, pangkat, golongan, atasan, peran"),
    responses((status = 200, body = ImportReportView), (status = 403, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 422, body = ErrorBody, description = "the file itself is unusable (missing columns)")))]
async fn import_employees(
    State(state): State<AppState>,
    id: Identity,
    lang: Lang,
    req: Request,
) -> Result<Json<ImportReportView>, ApiError> {
    id.require(Role::Admin)?;
    let csv = csv_from_request(req, &state).await?;
    let report = state.org.import_employees_csv(&csv).await?;
    tracing::info!(
        imported = report.imported(),
        rejected = report.rejected(),
        "employee CSV import"
    );
    Ok(Json(ImportReportView::new(&report, lang)))
}

/// A CSV file of employees sent as the `file` part of a multipart form.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CsvUpload {
    /// UTF-8 CSV (a byte-order mark is ignored), at most 5 MB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

const IMPORT_EXAMPLE: &str = "nip,nama,email,jabatan,unit,pangkat,golongan,atasan,peran\n\
     199203152019031004,Rudi Hartono,rudi@kpu-jabar.go.id,Pengelola Keuangan,SUB-KEU,Penata Muda,III/a,,staff\n";

/// The CSV text of a `text/csv` body or of the `file` part of a multipart form.
pub(crate) async fn csv_from_request(req: Request, state: &AppState) -> Result<String, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("multipart/form-data") {
        let mut mp = axum::extract::Multipart::from_request(req, state).await?;
        while let Some(field) = mp.next_field().await? {
            if field.name() == Some("file") {
                let bytes = field.bytes().await?;
                return String::from_utf8(bytes.to_vec())
                    .map(|s| s.trim_start_matches('\u{feff}').to_string())
                    .map_err(|_| ApiError::validation("file", Texts::both(|t| t.field_not_utf8)));
            }
        }
        Err(ApiError::validation(
            "file",
            Texts::both(|t| t.field_required),
        ))
    } else if ct.starts_with("text/csv") || ct.starts_with("text/plain") {
        body_text(req.into_body(), MAX_BODY_BYTES).await
    } else {
        Err(ApiError {
            detail: Some("text/csv, multipart/form-data".into()),
            ..ApiError::new(ErrorKind::UnsupportedMediaType)
        })
    }
}

// ---------- admin: delegations ----------

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "principal": "sekretaris@demo.paraf.test", "acting": "kabag@demo.paraf.test",
    "from": "2026-12-01", "to": "2026-12-05", "reason": "Cuti tahunan"
}))]
pub struct NewDelegationBody {
    /// The official who is away (id, NIP or email).
    pub principal: String,
    /// The Plh (id, NIP or email).
    pub acting: String,
    /// YYYY-MM-DD
    pub from: String,
    /// YYYY-MM-DD, inclusive
    pub to: String,
    pub reason: String,
}

/// Appoints a Plh for a period.
#[utoipa::path(post, path = "/api/v1/admin/delegations", tag = "admin", request_body = NewDelegationBody,
    responses((status = 201, body = DelegationView), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "overlaps an existing delegation"), (status = 422, body = ErrorBody)))]
async fn create_delegation(
    State(state): State<AppState>,
    id: Identity,
    Json(b): Json<NewDelegationBody>,
) -> Result<(StatusCode, Json<DelegationView>), ApiError> {
    id.require(Role::Admin)?;
    let d = state
        .org
        .create_delegation(&b.principal, &b.acting, &b.from, &b.to, &b.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(DelegationView::from(&d))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DelegationsQuery {
    /// Delegations of this official (employee id).
    pub principal: Option<String>,
    /// Delegations where this employee is Plh (employee id).
    pub acting: Option<String>,
}

/// Delegations of an official or to a Plh (give one of the two).
#[utoipa::path(get, path = "/api/v1/admin/delegations", tag = "admin", params(DelegationsQuery),
    responses((status = 200, body = Vec<DelegationView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_delegations(
    State(state): State<AppState>,
    id: Identity,
    Query(q): Query<DelegationsQuery>,
) -> Result<Json<Vec<DelegationView>>, ApiError> {
    id.require(Role::Admin)?;
    let ds = match (q.principal.as_deref(), q.acting.as_deref()) {
        (Some(p), None) => state.org.delegations_of(p).await?,
        (None, Some(a)) => state.org.delegations_to(a).await?,
        _ => {
            return Err(ApiError::validation(
                "principal",
                Texts::both(|t| t.field_principal_or_acting),
            ))
        }
    };
    Ok(Json(ds.iter().map(DelegationView::from).collect()))
}

// ---------- files ----------

/// Downloads the object a time-limited link grants (local server only; on AWS links point
/// to S3 directly).
#[utoipa::path(get, path = "/api/v1/files/{token}", tag = "files", security(()),
    params(("token" = String, Path, description = "link token")),
    responses((status = 200, description = "the object", content_type = "application/octet-stream"),
              (status = 404, body = ErrorBody, description = "unknown, expired or forged link")))]
async fn file(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let Some(resolve) = state.file_links.as_ref() else {
        return Err(ApiError::not_found());
    };
    let key = resolve(&token, state.clock.now()).map_err(blobs_error)?;
    let (info, bytes) = state.blobs.get(&key).await.map_err(blobs_error)?;
    let name: String = key
        .rsplit('/')
        .next()
        .unwrap_or("file")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    let mut res = Response::new(Body::from(bytes));
    let ct = HeaderValue::from_str(&info.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    res.headers_mut().insert(header::CONTENT_TYPE, ct);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", info.sha256)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

fn blobs_error(e: BlobsError) -> ApiError {
    match e {
        BlobsError::NotFound(_) | BlobsError::InvalidLink | BlobsError::Validation(_) => {
            ApiError::not_found()
        }
        other => ApiError::internal(&other),
    }
}
