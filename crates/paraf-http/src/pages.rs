//! The server-rendered web shell: login, dashboard, the four services' entry pages and
//! the admin pages. No JavaScript; every POST form carries a CSRF token (the session's,
//! or a double-submit cookie on the login form, which has no session yet).

use std::collections::BTreeMap;
use std::convert::Infallible;

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use axum_extra::extract::cookie::{Cookie, SameSite, SignedCookieJar};
use base64::Engine as _;
use paraf_core::{Role, ServiceError, Text};
use rand::RngCore;
use serde::Deserialize;

use crate::api::{create_employee_with_password, unit_tree, NewEmployeeBody, UnitNode};
use crate::client_addr::ClientIp;
use crate::error::{ApiError, ErrorKind};
use crate::i18n::{Lang, Texts, LANG_COOKIE};
use crate::identity::{cookie, same_token, Identity, WebSession, SESSION_COOKIE};
use crate::AppState;

pub const LOGIN_CSRF_COOKIE: &str = "paraf_login_csrf";
pub const FLASH_COOKIE: &str = "paraf_flash";
const STYLESHEET: &str = include_str!("../static/app.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/app.css", get(stylesheet))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", get(logout_confirm).post(logout))
        .route("/", get(dashboard))
        .route("/agenda", get(soon))
        .route("/absensi", get(soon))
        .route("/admin", get(|| async { Redirect::to("/admin/employees") }))
        .route(
            "/admin/employees",
            get(admin_employees).post(admin_create_employee),
        )
        .route("/admin/employees/import", post(admin_import))
        .route("/admin/units", get(admin_units).post(admin_create_unit))
        .route("/admin/units/{id}/head", post(admin_set_head))
        .fallback(not_found)
}

impl FromRequestParts<AppState> for Lang {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Infallible> {
        Ok(Lang::of_request(parts))
    }
}

/// Remembers `?lang=` in a cookie so the choice sticks across pages.
pub async fn remember_lang(req: Request, next: Next) -> Response {
    let chosen = Lang::from_query(req.uri().query());
    let mut res = next.run(req).await;
    if let Some(lang) = chosen {
        let c = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

// ---------- shell ----------

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

pub struct UserView {
    pub name: String,
}

/// What the base layout needs.
pub struct Shell {
    pub t: &'static Texts,
    pub title: String,
    pub org_name: String,
    pub user: Option<UserView>,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub flash: Option<String>,
}

impl Shell {
    fn anonymous(state: &AppState, lang: Lang, title: &str) -> Shell {
        Shell {
            t: lang.texts(),
            title: title.to_string(),
            org_name: state.config.org_name.clone(),
            user: None,
            nav: Vec::new(),
            csrf: String::new(),
            flash: None,
        }
    }

    pub(crate) fn signed_in(ctx: &Page, state: &AppState, title: &str, current: &str) -> Shell {
        let t = ctx.lang.texts();
        let mut nav = vec![
            NavItem {
                href: "/",
                label: t.nav_home,
                current: false,
            },
            NavItem {
                href: "/inbox",
                label: t.nav_inbox,
                current: false,
            },
            NavItem {
                href: "/agenda",
                label: t.nav_agenda,
                current: false,
            },
            NavItem {
                href: "/disposisi",
                label: t.nav_disposisi,
                current: false,
            },
            NavItem {
                href: "/absensi",
                label: t.nav_absensi,
                current: false,
            },
            NavItem {
                href: "/sppd",
                label: t.nav_sppd,
                current: false,
            },
        ];
        for (href, label) in crate::documents::nav_items(ctx.lang, &ctx.id.0) {
            nav.push(NavItem {
                href,
                label,
                current: false,
            });
        }
        if ctx.id.0.has(Role::Admin) {
            nav.push(NavItem {
                href: "/admin/employees",
                label: t.nav_admin,
                current: false,
            });
        }
        for n in &mut nav {
            n.current = n.href == current;
        }
        Shell {
            t,
            title: title.to_string(),
            org_name: state.config.org_name.clone(),
            user: Some(UserView {
                name: ctx.id.0.name.clone(),
            }),
            nav,
            csrf: ctx.csrf.clone(),
            flash: ctx.flash.clone(),
        }
    }
}

/// Everything a signed-in page handler starts from.
pub struct Page {
    pub id: Identity,
    pub lang: Lang,
    pub csrf: String,
    pub flash: Option<String>,
    pub jar: SignedCookieJar,
}

impl FromRequestParts<AppState> for Page {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let id = Identity::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let lang = Lang::of_request(parts);
        let csrf = parts
            .extensions
            .get::<WebSession>()
            .map(|s| s.0.csrf.clone())
            .unwrap_or_default();
        let jar = SignedCookieJar::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let flash = jar
            .get(FLASH_COOKIE)
            .and_then(|c| flash_text(lang, c.value()));
        let jar = if flash.is_some() {
            jar.remove(Cookie::build(FLASH_COOKIE).path("/"))
        } else {
            jar
        };
        Ok(Page {
            id,
            lang,
            csrf,
            flash,
            jar,
        })
    }
}

impl Page {
    /// The 403 page when the form's CSRF token is missing or wrong.
    pub(crate) fn csrf_refusal(&self, sent: &str) -> Option<Response> {
        if same_token(sent, &self.csrf) {
            None
        } else {
            tracing::info!(employee = %self.id.0.employee_id, "form refused: CSRF token missing or wrong");
            Some(csrf_failed(self.lang))
        }
    }
    /// The 403 page unless the user is an admin.
    fn admin_refusal(&self) -> Option<Response> {
        self.id
            .require(Role::Admin)
            .err()
            .map(|e| error_page(self.lang, e.kind))
    }
}

/// Flash messages are codes (signed cookie), turned into text in the reader's language.
fn flash_text(lang: Lang, code: &str) -> Option<String> {
    let t = lang.texts();
    Some(
        match code {
            "logged_out" => t.logged_out,
            "employee_created" => t.employee_created,
            "unit_created" => t.unit_created,
            "head_set" => t.head_set,
            "sign_retried" => crate::signing::texts(lang).retried,
            _ => return None,
        }
        .to_string(),
    )
}

pub(crate) fn flash(jar: SignedCookieJar, code: &'static str) -> SignedCookieJar {
    jar.add(
        Cookie::build((FLASH_COOKIE, code))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::minutes(1)),
    )
}

pub(crate) fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "500").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    shell: Shell,
    message: String,
}

/// A full error page in the language of the request (pages never show JSON).
pub fn error_page(lang: Lang, kind: ErrorKind) -> Response {
    let t = lang.texts();
    let (title, message) = match kind {
        ErrorKind::Forbidden => (t.forbidden_title, t.forbidden_body),
        ErrorKind::NotFound => (t.not_found_title, t.err_not_found),
        ErrorKind::Internal => (t.server_error_title, t.err_internal),
        ErrorKind::TooManyRequests => (t.server_error_title, t.err_too_many),
        ErrorKind::RequestTimeout => (t.server_error_title, t.err_timeout),
        _ => (t.server_error_title, t.err_malformed),
    };
    let shell = Shell {
        t,
        title: title.to_string(),
        org_name: String::new(),
        user: None,
        nav: Vec::new(),
        csrf: String::new(),
        flash: None,
    };
    render(
        kind.status(),
        &ErrorPage {
            shell,
            message: message.to_string(),
        },
    )
}

fn csrf_failed(lang: Lang) -> Response {
    let t = lang.texts();
    let shell = Shell {
        t,
        title: t.forbidden_title.to_string(),
        org_name: String::new(),
        user: None,
        nav: Vec::new(),
        csrf: String::new(),
        flash: None,
    };
    render(
        StatusCode::FORBIDDEN,
        &ErrorPage {
            shell,
            message: t.csrf_body.to_string(),
        },
    )
}

fn fail(lang: Lang, e: impl Into<ApiError>) -> Response {
    error_page(lang, e.into().kind)
}

async fn not_found(lang: Lang, req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        return ApiError::not_found().to_response(lang);
    }
    error_page(lang, ErrorKind::NotFound)
}

// ---------- forms ----------

pub struct FieldView {
    pub name: &'static str,
    pub label: String,
    pub kind: &'static str,
    pub value: String,
    pub required: bool,
    pub hint: Option<String>,
    pub error: Option<String>,
    pub autocomplete: Option<&'static str>,
    pub options: Vec<(String, String)>,
    pub describedby: String,
}

pub struct ErrorLine {
    pub field: Option<&'static str>,
    pub message: String,
}

#[derive(Default)]
pub struct FormView {
    pub fields: Vec<FieldView>,
    pub errors: Vec<ErrorLine>,
}

impl FormView {
    fn field(
        &mut self,
        name: &'static str,
        label: &str,
        kind: &'static str,
        required: bool,
    ) -> &mut FieldView {
        self.fields.push(FieldView {
            name,
            label: label.to_string(),
            kind,
            value: String::new(),
            required,
            hint: None,
            error: None,
            autocomplete: None,
            options: Vec::new(),
            describedby: String::new(),
        });
        let last = self.fields.len() - 1;
        &mut self.fields[last]
    }

    /// Attaches errors, in the page's language, to their fields (and to the summary), in
    /// field order; errors on fields the form does not show go to the summary alone.
    fn with_errors(mut self, errors: &BTreeMap<String, Text>, lang: Lang) -> Self {
        for f in &mut self.fields {
            if let Some(e) = errors.get(f.name) {
                let e = lang.pick(e);
                f.error = Some(e.to_string());
                self.errors.push(ErrorLine {
                    field: Some(f.name),
                    message: format!("{}: {e}", f.label),
                });
            }
        }
        for (k, v) in errors {
            if !self.fields.iter().any(|f| f.name == k) {
                self.errors.push(ErrorLine {
                    field: None,
                    message: format!("{k}: {}", lang.pick(v)),
                });
            }
        }
        self
    }

    /// Links each field to its hint and error (`aria-describedby`).
    pub(crate) fn finish(mut self) -> Self {
        for f in &mut self.fields {
            let mut ids = Vec::new();
            if f.hint.is_some() {
                ids.push(format!("hint-{}", f.name));
            }
            if f.error.is_some() {
                ids.push(format!("error-{}", f.name));
            }
            f.describedby = ids.join(" ");
        }
        self
    }
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Only local paths, so `next` cannot send a user to another site.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next.to_string()
    } else {
        "/".to_string()
    }
}

// ---------- login / logout ----------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    shell: Shell,
    form: FormView,
    login_csrf: String,
    next: String,
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

fn login_page(
    state: &AppState,
    lang: Lang,
    login: &str,
    next: &str,
    csrf: &str,
    error: Option<&str>,
) -> LoginPage {
    let t = lang.texts();
    let mut form = FormView::default();
    let f = form.field("login", t.login_label, "text", true);
    f.value = login.to_string();
    f.hint = Some(t.login_hint.to_string());
    f.autocomplete = Some("username");
    let f = form.field("password", t.password_label, "password", true);
    f.autocomplete = Some("current-password");
    if let Some(e) = error {
        // The message names no field: which of the two was wrong is not disclosed.
        form.errors.push(ErrorLine {
            field: Some("login"),
            message: e.to_string(),
        });
    }
    LoginPage {
        shell: Shell::anonymous(state, lang, t.login_title),
        form: form.finish(),
        login_csrf: csrf.to_string(),
        next: safe_next(next),
    }
}

fn login_csrf_cookie(state: &AppState, token: &str) -> HeaderValue {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

async fn login_form(
    State(state): State<AppState>,
    lang: Lang,
    jar: SignedCookieJar,
    q: Result<Query<LoginQuery>, QueryRejection>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    let next = q
        .ok()
        .and_then(|Query(q)| q.next)
        .unwrap_or_else(|| "/".to_string());
    if let Some(token) = cookie(&parts, SESSION_COOKIE) {
        if let Ok(Some(_)) = state.auth.session(token).await {
            return Redirect::to(&safe_next(&next)).into_response();
        }
    }
    let token = cookie(&parts, LOGIN_CSRF_COOKIE)
        .filter(|t| t.len() == 43)
        .map(str::to_string)
        .unwrap_or_else(random_token);
    let flash = jar
        .get(FLASH_COOKIE)
        .and_then(|c| flash_text(lang, c.value()));
    let jar = if flash.is_some() {
        jar.remove(Cookie::build(FLASH_COOKIE).path("/"))
    } else {
        jar
    };
    let mut page = login_page(&state, lang, "", &next, &token, None);
    page.shell.flash = flash;
    let mut res = render(StatusCode::OK, &page);
    res.headers_mut()
        .append(header::SET_COOKIE, login_csrf_cookie(&state, &token));
    (jar, res).into_response()
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

async fn login_submit(State(state): State<AppState>, lang: Lang, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let from = ClientIp::of(&parts).0;
    let sent_cookie = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or("").to_string();
    let Ok(Form(form)) =
        Form::<LoginForm>::from_request(Request::from_parts(parts, body), &state).await
    else {
        return error_page(lang, ErrorKind::Malformed);
    };
    if !same_token(&form.csrf, &sent_cookie) {
        return csrf_failed(lang);
    }
    let t = lang.texts();
    let emp = match state
        .auth
        .authenticate(&form.login, &form.password, from)
        .await
    {
        Ok(emp) => emp,
        Err(e @ (ServiceError::Unauthenticated | ServiceError::TooManyRequests { .. })) => {
            let (status, msg) = match e {
                ServiceError::TooManyRequests { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, t.login_throttled)
                }
                _ => (StatusCode::UNAUTHORIZED, t.login_failed),
            };
            let page = login_page(&state, lang, &form.login, &form.next, &form.csrf, Some(msg));
            let mut res = render(status, &page);
            if let ServiceError::TooManyRequests { retry_after_secs } = e {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            return res;
        }
        Err(e) => return fail(lang, e),
    };
    let session = match state.auth.create_session(&emp).await {
        Ok(s) => s,
        Err(e) => return fail(lang, e),
    };
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let max_age = paraf_core::auth::SESSION_HOURS * 3600;
    let mut res = Redirect::to(&safe_next(&form.next)).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session.token
    )) {
        h.append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{LOGIN_CSRF_COOKIE}=; Path=/login; Max-Age=0")) {
        h.append(header::SET_COOKIE, v);
    }
    tracing::info!(employee = %emp.id, "signed in (web)");
    res
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage {
    shell: Shell,
}

async fn logout_confirm(State(state): State<AppState>, page: Page) -> Response {
    let t = page.lang.texts();
    let shell = Shell::signed_in(&page, &state, t.logout, "");
    render(StatusCode::OK, &LogoutPage { shell })
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    page: Page,
    session: Option<Extension<WebSession>>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let sent = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if let Some(r) = page.csrf_refusal(&sent) {
        return r;
    }
    if let Some(Extension(WebSession(s))) = session {
        if let Err(e) = state.auth.end_session(&s.token).await {
            return fail(page.lang, e);
        }
    }
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let jar = flash(page.jar, "logged_out");
    let mut res = (jar, Redirect::to("/login")).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

// ---------- dashboard and services ----------

pub struct CounterView {
    pub label: &'static str,
    pub value: u64,
    pub href: &'static str,
}

pub struct ServiceView {
    pub label: &'static str,
    pub description: &'static str,
    pub href: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    today: String,
    today_iso: String,
    counters: Vec<CounterView>,
    services: Vec<ServiceView>,
}

async fn dashboard(State(state): State<AppState>, page: Page) -> Response {
    let t = page.lang.texts();
    let today = state.clock.now().date();
    let c =
        match paraf_core::dashboard::counters(state.table.as_ref(), &page.id.0.employee_id, today)
            .await
        {
            Ok(c) => c,
            Err(e) => return fail(page.lang, e),
        };
    let shell = Shell::signed_in(&page, &state, t.dashboard_title, "/");
    let view = DashboardPage {
        today: page.lang.long_date(today),
        today_iso: today.to_string(),
        counters: vec![
            CounterView {
                label: t.counter_to_approve,
                value: c.to_approve,
                href: "/inbox",
            },
            CounterView {
                label: t.counter_to_sign,
                value: c.to_sign,
                href: "/inbox",
            },
            CounterView {
                label: t.counter_unread_dispositions,
                value: c.unread_dispositions,
                href: "/disposisi",
            },
            CounterView {
                label: t.counter_agenda_today,
                value: c.agenda_today,
                href: "/agenda",
            },
        ],
        services: vec![
            ServiceView {
                label: t.nav_agenda,
                description: t.desc_agenda,
                href: "/agenda",
            },
            ServiceView {
                label: t.nav_disposisi,
                description: t.desc_disposisi,
                href: "/disposisi",
            },
            ServiceView {
                label: t.nav_absensi,
                description: t.desc_absensi,
                href: "/absensi",
            },
            ServiceView {
                label: t.nav_sppd,
                description: t.desc_sppd,
                href: "/sppd",
            },
        ],
        shell,
    };
    (page.jar, render(StatusCode::OK, &view)).into_response()
}

#[derive(Template)]
#[template(path = "soon.html")]
struct SoonPage {
    shell: Shell,
    description: &'static str,
}

async fn soon(State(state): State<AppState>, page: Page, uri: axum::http::Uri) -> Response {
    let t = page.lang.texts();
    let (href, title, description) = match uri.path() {
        "/agenda" => ("/agenda", t.nav_agenda, t.desc_agenda),
        "/disposisi" => ("/disposisi", t.nav_disposisi, t.desc_disposisi),
        "/absensi" => ("/absensi", t.nav_absensi, t.desc_absensi),
        "/sppd" => ("/sppd", t.nav_sppd, t.desc_sppd),
        _ => ("/inbox", t.nav_inbox, t.desc_inbox),
    };
    let shell = Shell::signed_in(&page, &state, title, href);
    (
        page.jar,
        render(StatusCode::OK, &SoonPage { shell, description }),
    )
        .into_response()
}

// ---------- admin: employees ----------

pub struct EmployeeRow {
    pub nip: String,
    pub name: String,
    pub jabatan: String,
    pub email: String,
    pub roles: String,
}

pub struct ReportRow {
    pub line: usize,
    pub nip: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub errors: String,
}

pub struct ReportView {
    pub imported: usize,
    pub rejected: usize,
    pub rows: Vec<ReportRow>,
}

#[derive(Template)]
#[template(path = "admin_employees.html")]
struct EmployeesPage {
    shell: Shell,
    employees: Vec<EmployeeRow>,
    next_cursor: Option<String>,
    form: FormView,
    report: Option<ReportView>,
}

#[derive(Debug, Default, Deserialize)]
struct EmployeeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nip: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    jabatan: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    pangkat: String,
    #[serde(default)]
    golongan: String,
    #[serde(default)]
    supervisor: String,
    #[serde(default)]
    roles: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

async fn employee_form(
    state: &AppState,
    lang: Lang,
    input: &EmployeeForm,
) -> Result<FormView, ServiceError> {
    let t = lang.texts();
    let units = state.org.units().await?;
    let mut form = FormView::default();
    for (name, label, kind, required, value) in [
        ("nip", t.col_nip, "text", true, &input.nip),
        ("name", t.col_name, "text", true, &input.name),
        ("email", t.col_email, "email", true, &input.email),
        ("jabatan", t.col_jabatan, "text", true, &input.jabatan),
        ("unit", t.col_unit, "text", true, &input.unit),
        ("pangkat", "Pangkat", "text", false, &input.pangkat),
        ("golongan", "Golongan", "text", false, &input.golongan),
        (
            "supervisor",
            t.supervisor_label,
            "text",
            false,
            &input.supervisor,
        ),
        ("roles", t.col_roles, "text", false, &input.roles),
        (
            "password",
            t.initial_password,
            "password",
            false,
            &String::new(),
        ),
    ] {
        let f = form.field(name, label, kind, required);
        f.value = value.clone();
        match name {
            "nip" => f.hint = Some("18 digit".to_string()),
            "roles" => f.hint = Some(t.roles_hint.to_string()),
            "password" => f.autocomplete = Some("new-password"),
            "unit" => {
                f.options = units
                    .iter()
                    .map(|u| (u.code.clone(), format!("{} — {}", u.code, u.name)))
                    .collect()
            }
            _ => {}
        }
    }
    Ok(form)
}

async fn employees_view(
    state: &AppState,
    page: &Page,
    cursor: Option<String>,
    form: FormView,
    report: Option<ReportView>,
) -> Result<EmployeesPage, ServiceError> {
    let t = page.lang.texts();
    let (emps, next_cursor) = state.org.employees(None, 50, cursor).await?;
    Ok(EmployeesPage {
        shell: Shell::signed_in(page, state, t.employees_title, "/admin/employees"),
        employees: emps
            .iter()
            .map(|e| EmployeeRow {
                nip: e.nip.to_string(),
                name: e.name.clone(),
                jabatan: e.jabatan.clone(),
                email: e.email.to_string(),
                roles: e
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        next_cursor,
        form: form.finish(),
        report,
    })
}

async fn admin_employees(
    State(state): State<AppState>,
    page: Page,
    q: Result<Query<CursorQuery>, QueryRejection>,
) -> Response {
    if let Some(r) = page.admin_refusal() {
        return r;
    }
    let cursor = q
        .ok()
        .and_then(|Query(q)| q.cursor)
        .filter(|c| !c.is_empty());
    let result = async {
        let form = employee_form(&state, page.lang, &EmployeeForm::default()).await?;
        employees_view(&state, &page, cursor, form, None).await
    }
    .await;
    match result {
        Ok(view) => {
            let res = render(StatusCode::OK, &view);
            (page.jar, res).into_response()
        }
        Err(e) => fail(page.lang, e),
    }
}

async fn admin_create_employee(
    State(state): State<AppState>,
    page: Page,
    form: Result<Form<EmployeeForm>, FormRejection>,
) -> Response {
    if let Some(r) = page.admin_refusal() {
        return r;
    }
    let input = form.map(|Form(f)| f).unwrap_or_default();
    if let Some(r) = page.csrf_refusal(&input.csrf) {
        return r;
    }
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let body = NewEmployeeBody {
        nip: input.nip.clone(),
        name: input.name.clone(),
        email: input.email.clone(),
        jabatan: input.jabatan.clone(),
        unit: input.unit.clone(),
        pangkat: opt(&input.pangkat),
        golongan: opt(&input.golongan),
        supervisor: opt(&input.supervisor),
        roles: input
            .roles
            .split([',', ';'])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        password: opt(&input.password),
    };
    match create_employee_with_password(&state, body).await {
        Ok(_) => (
            flash(page.jar, "employee_created"),
            Redirect::to("/admin/employees"),
        )
            .into_response(),
        Err(e) if matches!(e.kind, ErrorKind::Validation | ErrorKind::Conflict) => {
            let status = e.kind.status();
            let result = async {
                let form = employee_form(&state, page.lang, &input)
                    .await?
                    .with_errors(&e.fields, page.lang);
                employees_view(&state, &page, None, form, None).await
            }
            .await;
            match result {
                Ok(view) => render(status, &view),
                Err(e) => fail(page.lang, e),
            }
        }
        Err(e) => fail(page.lang, e),
    }
}

async fn admin_import(State(state): State<AppState>, page: Page, req: Request) -> Response {
    if let Some(r) = page.admin_refusal() {
        return r;
    }
    let t = page.lang.texts();
    let mut mp = match Multipart::from_request(req, &state).await {
        Ok(m) => m,
        Err(_) => return csrf_failed(page.lang),
    };
    let (mut csrf, mut file) = (String::new(), None);
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => csrf = field.text().await.unwrap_or_default(),
                Some("file") => file = field.bytes().await.ok(),
                _ => {}
            },
            Ok(None) => break,
            Err(e) => return fail(page.lang, ApiError::from(e)),
        }
    }
    if let Some(r) = page.csrf_refusal(&csrf) {
        return r;
    }
    let mut errors = BTreeMap::new();
    let mut report = None;
    match file.map(|b| String::from_utf8(b.to_vec())) {
        Some(Ok(text)) if !text.trim().is_empty() => {
            match state
                .org
                .import_employees_csv(text.trim_start_matches('\u{feff}'))
                .await
            {
                Ok(r) => {
                    report = Some(ReportView {
                        imported: r.imported(),
                        rejected: r.rejected(),
                        rows: r
                            .rows
                            .iter()
                            .map(|row| {
                                let ok = row.status == paraf_core::org::ImportStatus::Imported;
                                ReportRow {
                                    line: row.line,
                                    nip: row.nip.clone().unwrap_or_default(),
                                    status: if ok { "imported" } else { "rejected" },
                                    status_label: if ok {
                                        t.status_imported
                                    } else {
                                        t.status_rejected
                                    },
                                    errors: row
                                        .errors
                                        .iter()
                                        .map(|(k, v)| format!("{k}: {}", page.lang.pick(v)))
                                        .collect::<Vec<_>>()
                                        .join("; "),
                                }
                            })
                            .collect(),
                    })
                }
                Err(ServiceError::Invalid(f)) => errors = f.into_map(),
                Err(e) => return fail(page.lang, e),
            }
        }
        Some(Err(_)) => {
            errors.insert("file".to_string(), Texts::both(|t| t.field_not_utf8));
        }
        _ => {
            errors.insert("file".to_string(), Texts::both(|t| t.field_required));
        }
    }
    let result = async {
        let form = employee_form(&state, page.lang, &EmployeeForm::default())
            .await?
            .with_errors(&errors, page.lang);
        employees_view(&state, &page, None, form, report).await
    }
    .await;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    match result {
        Ok(view) => render(status, &view),
        Err(e) => fail(page.lang, e),
    }
}

// ---------- admin: units ----------

pub struct UnitRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub head: String,
    pub depth: usize,
}

#[derive(Template)]
#[template(path = "admin_units.html")]
struct UnitsPage {
    shell: Shell,
    units: Vec<UnitRow>,
    form: FormView,
}

#[derive(Debug, Default, Deserialize)]
struct UnitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    parent_id: String,
}

async fn units_view(
    state: &AppState,
    page: &Page,
    input: &UnitForm,
    errors: &BTreeMap<String, Text>,
) -> Result<UnitsPage, ServiceError> {
    let t = page.lang.texts();
    let units = state.org.units().await?;
    let mut heads = BTreeMap::new();
    for u in &units {
        if let Some(h) = &u.head_id {
            if let Ok(e) = state.org.employee(h).await {
                heads.insert(h.clone(), e.name);
            }
        }
    }
    let mut rows = Vec::new();
    fn walk(
        nodes: &[UnitNode],
        depth: usize,
        heads: &BTreeMap<String, String>,
        rows: &mut Vec<UnitRow>,
    ) {
        for n in nodes {
            rows.push(UnitRow {
                id: n.unit.id.clone(),
                code: n.unit.code.clone(),
                name: n.unit.name.clone(),
                kind: n.unit.kind.clone(),
                head: n
                    .unit
                    .head_id
                    .as_ref()
                    .and_then(|h| heads.get(h))
                    .cloned()
                    .unwrap_or_default(),
                depth: depth.min(4),
            });
            walk(&n.children, depth + 1, heads, rows);
        }
    }
    walk(&unit_tree(&units), 0, &heads, &mut rows);
    let mut form = FormView::default();
    form.field("code", t.col_code, "text", true).value = input.code.clone();
    form.field("name", t.col_name, "text", true).value = input.name.clone();
    let f = form.field("kind", t.col_kind, "text", true);
    f.value = input.kind.clone();
    f.options = paraf_core::UnitKind::ALL
        .iter()
        .map(|k| (k.as_str().to_string(), k.as_str().to_string()))
        .collect();
    let f = form.field("parent_id", t.col_parent, "text", false);
    f.value = input.parent_id.clone();
    f.options = units
        .iter()
        .map(|u| (u.id.clone(), format!("{} — {}", u.code, u.name)))
        .collect();
    Ok(UnitsPage {
        shell: Shell::signed_in(page, state, t.units_title, "/admin/employees"),
        units: rows,
        form: form.with_errors(errors, page.lang).finish(),
    })
}

async fn admin_units(State(state): State<AppState>, page: Page) -> Response {
    if let Some(r) = page.admin_refusal() {
        return r;
    }
    match units_view(&state, &page, &UnitForm::default(), &BTreeMap::new()).await {
        Ok(view) => {
            let res = render(StatusCode::OK, &view);
            (page.jar, res).into_response()
        }
        Err(e) => fail(page.lang, e),
    }
}

async fn admin_create_unit(
    State(state): State<AppState>,
    page: Page,
    form: Result<Form<UnitForm>, FormRejection>,
) -> Response {
    if let Some(r) = page.admin_refusal() {
        return r;
    }
    let input = form.map(|Form(f)| f).unwrap_or_default();
    if let Some(r) = page.csrf_refusal(&input.csrf) {
        return r;
    }
    let new = paraf_core::NewUnit {
        code: input.code.clone(),
        name: input.name.clone(),
        kind: input.kind.clone(),
        parent_id: Some(input.parent_id.clone()).filter(|p| !p.trim().is_empty()),
    };
    match state.org.create_unit(new).await.map_err(ApiError::from) {
        Ok(_) => (
            flash(page.jar, "unit_created"),
            Redirect::to("/admin/units"),
        )
            .into_response(),
        Err(e) if matches!(e.kind, ErrorKind::Validation | ErrorKind::Conflict) => {
            match units_view(&state, &page, &input, &e.fields).await {
                Ok(view) => render(e.kind.status(), &view),
                Err(e) => fail(page.lang, e),
            }
        }
        Err(e) => fail(page.lang, e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct HeadForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    head: String,
}

async fn admin_set_head(
    State(state): State<AppState>,
    page: Page,
    Path(unit_id): Path<String>,
    form: Result<Form<HeadForm>, FormRejection>,
) -> Response {
    if let Some(r) = page.admin_refusal() {
        return r;
    }
    let input = form.map(|Form(f)| f).unwrap_or_default();
    if let Some(r) = page.csrf_refusal(&input.csrf) {
        return r;
    }
    match state
        .org
        .set_unit_head(&unit_id, &input.head)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => (flash(page.jar, "head_set"), Redirect::to("/admin/units")).into_response(),
        Err(e) if matches!(e.kind, ErrorKind::Validation | ErrorKind::Conflict) => {
            // Shown in the page's error summary (the head field lives in the table row).
            let errors: BTreeMap<String, Text> = e
                .fields
                .iter()
                .map(|(k, v)| (k.replace("head_id", "head"), v.clone()))
                .collect();
            match units_view(&state, &page, &UnitForm::default(), &errors).await {
                Ok(view) => render(e.kind.status(), &view),
                Err(e) => fail(page.lang, e),
            }
        }
        Err(e) => fail(page.lang, e),
    }
}
