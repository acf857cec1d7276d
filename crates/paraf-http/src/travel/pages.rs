//! The e-SPPD pages: the order list, the request form, the order page with its
//! forms, and the public endorsement page.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use paraf_core::format::{rupiah, tanggal, waktu_wib};
use paraf_core::travel::{
    date_str, parse_date, Budget, Category, Estimate, Follower, OrderInput, OrderStatus, Place,
    Stop, TravelOrder, ACTUAL_KINDS, TRANSPORT_MODES,
};
use paraf_core::{ServiceError, Text};
use serde::Deserialize;

use super::texts::{texts, SppdTexts};
use super::{
    act, changeable, list_orders, may_see_all, non_empty, order_view, travel, upload, Act,
    FileView, ListQuery, Upload, MAX_FILE_BODY_BYTES,
};
use crate::error::{ApiError, ErrorKind};
use crate::i18n::Lang;
use crate::pages::{error_page, render, ErrorLine, FieldView, FormView, Page, Shell};
use crate::AppState;

pub fn page_routes() -> Router<AppState> {
    let uploads = Router::new()
        .route("/sppd/{id}/singgah/{no}/pindaian", post(page_scan))
        .route("/sppd/{id}/foto", post(page_photo))
        .route("/sppd/{id}/biaya", post(page_cost))
        .layer(DefaultBodyLimit::max(MAX_FILE_BODY_BYTES));
    Router::new()
        .route("/sppd", get(list_page))
        .route("/sppd/baru", get(new_page).post(new_submit))
        .route(
            "/sppd/pengesahan/{token}",
            get(endorse_page).post(endorse_submit),
        )
        .route("/sppd/{id}", get(detail_page))
        .route("/sppd/{id}/ubah", get(edit_page).post(edit_submit))
        .route("/sppd/{id}/ajukan", post(page_submit))
        .route("/sppd/{id}/tarik", post(page_withdraw))
        .route("/sppd/{id}/singgah", post(page_stop))
        .route("/sppd/{id}/singgah/{no}/tautan", post(page_link))
        .route("/sppd/{id}/laporan", post(page_report))
        .route("/sppd/{id}/laporan/ajukan", post(page_submit_report))
        .route("/sppd/{id}/biaya/{cost}/hapus", post(page_remove_cost))
        .route("/sppd/{id}/verifikasi", post(page_verify))
        .merge(uploads)
}

fn page_fail(lang: Lang, e: ApiError) -> Response {
    error_page(lang, e.kind)
}

// ---------- list page ----------

pub struct ListRow {
    pub href: String,
    pub maksud: String,
    pub tujuan: String,
    pub tanggal: String,
    pub pelaksana: String,
    pub status: String,
    pub total: String,
    pub task: Option<String>,
}

pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "sppd_list.html")]
struct ListPage {
    shell: Shell,
    tx: &'static SppdTexts,
    tabs: Vec<Tab>,
    scope: String,
    q_status: String,
    q_unit: String,
    q_month: String,
    q_destination: String,
    statuses: Vec<(String, String)>,
    rows: Vec<ListRow>,
    errors: Vec<String>,
    export_query: Option<String>,
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn dates(a: Option<time::Date>, b: Option<time::Date>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a == b => tanggal(a),
        (Some(a), Some(b)) => format!("{} – {}", tanggal(a), tanggal(b)),
        (Some(a), None) => tanggal(a),
        _ => "-".into(),
    }
}

async fn list_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    let x = texts(page.lang);
    let all = may_see_all(&page.id.0);
    let scope = match non_empty(&q.scope) {
        Some("approve") => "approve",
        Some("all") if all => "all",
        _ => "mine",
    };
    let mut q2 = q.clone();
    q2.scope = Some(scope.into());
    let (rows, errors) = match list_orders(&state, &page.id.0, &q2).await {
        Ok(r) => (r, Vec::new()),
        Err(e) if !e.fields.is_empty() => (Vec::new(), error_lines(page.lang, &e.fields)),
        Err(e) => return page_fail(page.lang, e),
    };
    let mut tabs = vec![
        Tab {
            href: "/sppd?scope=mine".into(),
            label: x.tab_mine,
            current: scope == "mine",
        },
        Tab {
            href: "/sppd?scope=approve".into(),
            label: x.tab_approve,
            current: scope == "approve",
        },
    ];
    if all {
        tabs.push(Tab {
            href: "/sppd?scope=all".into(),
            label: x.tab_all,
            current: scope == "all",
        });
    }
    let rows = rows
        .iter()
        .map(|(o, t)| ListRow {
            href: format!("/sppd/{}", o.id),
            maksud: if o.maksud.is_empty() {
                "-".into()
            } else {
                o.maksud.clone()
            },
            tujuan: o.tempat_tujuan.label(),
            tanggal: dates(o.tanggal_berangkat, o.tanggal_kembali),
            pelaksana: o
                .pelaksana
                .iter()
                .map(|t| t.nama.clone())
                .collect::<Vec<_>>()
                .join(", "),
            status: page.lang.pick(&o.status.label()).to_string(),
            total: o
                .estimate
                .as_ref()
                .map(|e| rupiah(e.total))
                .unwrap_or_else(|| "-".into()),
            task: t.as_ref().map(|t| format!("/tasks/{t}")),
        })
        .collect();
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let export_query = (scope == "all").then(|| {
        format!(
            "status={}&unit={}&month={}&destination={}",
            enc(&v(&q.status)),
            enc(&v(&q.unit)),
            enc(&v(&q.month)),
            enc(&v(&q.destination))
        )
    });
    let view = ListPage {
        shell: Shell::signed_in(&page, &state, x.title, "/sppd"),
        tx: x,
        tabs,
        scope: scope.into(),
        q_status: v(&q.status),
        q_unit: v(&q.unit),
        q_month: v(&q.month),
        q_destination: v(&q.destination),
        statuses: OrderStatus::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    page.lang.pick(&s.label()).to_string(),
                )
            })
            .collect(),
        rows,
        errors,
        export_query,
    };
    let status = if view.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (page.jar, render(status, &view)).into_response()
}

// ---------- order form ----------

#[derive(Debug, Default, Clone, Deserialize)]
struct OrderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    pelaksana: String,
    #[serde(default)]
    ppk: String,
    #[serde(default)]
    maksud: String,
    #[serde(default)]
    alat_angkut: String,
    #[serde(default, rename = "tempat_berangkat.provinsi")]
    dep_prov: String,
    #[serde(default, rename = "tempat_berangkat.kota")]
    dep_kota: String,
    #[serde(default, rename = "tempat_tujuan.provinsi")]
    tuj_prov: String,
    #[serde(default, rename = "tempat_tujuan.kota")]
    tuj_kota: String,
    #[serde(default)]
    tanggal_berangkat: String,
    #[serde(default)]
    tanggal_kembali: String,
    #[serde(default)]
    kategori: String,
    #[serde(default, rename = "anggaran.instansi")]
    instansi: String,
    #[serde(default, rename = "anggaran.akun")]
    akun: String,
    #[serde(default)]
    keterangan: String,
    /// One follower a line: "Nama; keterangan".
    #[serde(default)]
    pengikut: String,
    #[serde(default)]
    version: String,
}

impl OrderForm {
    fn of(o: &TravelOrder) -> OrderForm {
        OrderForm {
            pelaksana: o
                .pelaksana
                .iter()
                .map(|t| t.nip.clone())
                .collect::<Vec<_>>()
                .join(", "),
            ppk: o.ppk_id.clone(),
            maksud: o.maksud.clone(),
            alat_angkut: o.alat_angkut.clone(),
            dep_prov: o.tempat_berangkat.provinsi.clone(),
            dep_kota: o.tempat_berangkat.kota.clone(),
            tuj_prov: o.tempat_tujuan.provinsi.clone(),
            tuj_kota: o.tempat_tujuan.kota.clone(),
            tanggal_berangkat: o.tanggal_berangkat.map(date_str).unwrap_or_default(),
            tanggal_kembali: o.tanggal_kembali.map(date_str).unwrap_or_default(),
            kategori: o.kategori.as_str().into(),
            instansi: o.anggaran.instansi.clone(),
            akun: o.anggaran.akun.clone(),
            keterangan: o.keterangan.clone(),
            pengikut: o
                .pengikut
                .iter()
                .map(|p| match p.keterangan.as_str() {
                    "" => p.nama.clone(),
                    k => format!("{}; {k}", p.nama),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            version: o.version.to_string(),
            ..Default::default()
        }
    }

    /// The followers field, a line each (blank lines skipped): `pengikut.N` is line N+1.
    fn followers(&self) -> Vec<Follower> {
        self.pengikut
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (nama, keterangan) = l.split_once(';').unwrap_or((l, ""));
                Follower {
                    nama: nama.trim().to_string(),
                    keterangan: keterangan.trim().to_string(),
                }
            })
            .collect()
    }

    fn input(&self) -> OrderInput {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let ppk = opt(&self.ppk);
        OrderInput {
            ppk,
            pelaksana: self
                .pelaksana
                .split([',', '\n', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            pengikut: self.followers(),
            maksud: self.maksud.clone(),
            alat_angkut: self.alat_angkut.clone(),
            tempat_berangkat: Some(Place {
                provinsi: self.dep_prov.clone(),
                kota: self.dep_kota.clone(),
            })
            .filter(|p| !p.kota.trim().is_empty() || !p.provinsi.trim().is_empty()),
            tempat_tujuan: Some(Place {
                provinsi: self.tuj_prov.clone(),
                kota: self.tuj_kota.clone(),
            }),
            tanggal_berangkat: opt(&self.tanggal_berangkat),
            tanggal_kembali: opt(&self.tanggal_kembali),
            kategori: opt(&self.kategori),
            anggaran: Some(Budget {
                instansi: self.instansi.clone(),
                akun: self.akun.clone(),
            }),
            keterangan: self.keterangan.clone(),
            version: self.version.trim().parse().ok(),
        }
    }
}

#[derive(Template)]
#[template(path = "sppd_form.html")]
struct FormPage {
    shell: Shell,
    tx: &'static SppdTexts,
    heading: &'static str,
    action: String,
    version: String,
    form: FormView,
    /// Shown as a textarea after the other fields.
    pengikut: FieldView,
}

fn field(
    name: &'static str,
    label: &str,
    kind: &'static str,
    value: &str,
    required: bool,
) -> FieldView {
    FieldView {
        name,
        label: label.to_string(),
        kind,
        value: value.to_string(),
        required,
        hint: None,
        error: None,
        autocomplete: None,
        options: Vec::new(),
        describedby: String::new(),
    }
}

/// An error of the followers field names its line: `pengikut.1.nama` is "pengikut ke-2".
fn follower_error(lang: Lang, key: &str, message: &str) -> String {
    let mut parts = key.split('.');
    match (
        parts.next(),
        parts.next().and_then(|n| n.parse::<usize>().ok()),
    ) {
        (Some("pengikut"), Some(n)) => {
            let x = texts(lang);
            let what = parts
                .next()
                .map(|p| format!(" ({})", field_label(x, p)))
                .unwrap_or_default();
            format!("{}{}{what}: {message}", x.follower_no, n + 1)
        }
        _ => message.to_string(),
    }
}

fn with_errors(mut form: FormView, errors: &BTreeMap<String, Text>, lang: Lang) -> FormView {
    let mut shown = std::collections::BTreeSet::new();
    for f in &mut form.fields {
        // `pelaksana.2` is about the `pelaksana` field.
        let msgs: Vec<String> = errors
            .iter()
            .filter(|(k, _)| {
                k.as_str() == f.name
                    || k.split('.').next() == Some(f.name)
                        && !f.name.contains('.')
                        && k.starts_with(&format!("{}.", f.name))
            })
            .map(|(k, v)| {
                shown.insert(k.clone());
                follower_error(lang, k, lang.pick(v))
            })
            .collect();
        if !msgs.is_empty() {
            let m = msgs.join("; ");
            form.errors.push(ErrorLine {
                field: Some(f.name),
                message: format!("{}: {m}", f.label),
            });
            f.error = Some(m);
        }
    }
    for (k, v) in errors {
        if !shown.contains(k) {
            form.errors.push(ErrorLine {
                field: None,
                message: format!("{k}: {}", lang.pick(v)),
            });
        }
    }
    form.finish()
}

async fn order_form(state: &AppState, lang: Lang, f: &OrderForm, year: i32) -> FormView {
    let x = texts(lang);
    let provinces = travel(state)
        .sbm()
        .current(year)
        .await
        .ok()
        .flatten()
        .map(|t| t.provinces())
        .unwrap_or_default();
    let mut fields = Vec::new();
    let mut p = field("pelaksana", x.f_pelaksana, "text", &f.pelaksana, true);
    p.hint = Some(x.f_pelaksana_hint.into());
    fields.push(p);
    let mut p = field("ppk", x.f_ppk, "text", &f.ppk, false);
    p.hint = Some(x.f_ppk_hint.into());
    fields.push(p);
    fields.push(field("maksud", x.f_maksud, "text", &f.maksud, true));
    let mut a = field("alat_angkut", x.f_alat, "text", &f.alat_angkut, true);
    a.options = TRANSPORT_MODES
        .iter()
        .map(|m| (m.to_string(), m.to_string()))
        .collect();
    fields.push(a);
    fields.push(field(
        "tempat_berangkat.provinsi",
        x.f_dep_prov,
        "text",
        &f.dep_prov,
        false,
    ));
    fields.push(field(
        "tempat_berangkat.kota",
        x.f_dep_kota,
        "text",
        &f.dep_kota,
        false,
    ));
    let mut t = field(
        "tempat_tujuan.provinsi",
        x.f_tuj_prov,
        "text",
        &f.tuj_prov,
        true,
    );
    t.options = provinces.iter().map(|p| (p.clone(), p.clone())).collect();
    fields.push(t);
    fields.push(field(
        "tempat_tujuan.kota",
        x.f_tuj_kota,
        "text",
        &f.tuj_kota,
        true,
    ));
    fields.push(field(
        "tanggal_berangkat",
        x.f_berangkat,
        "date",
        &f.tanggal_berangkat,
        true,
    ));
    fields.push(field(
        "tanggal_kembali",
        x.f_kembali,
        "date",
        &f.tanggal_kembali,
        true,
    ));
    let mut k = field("kategori", x.f_kategori, "text", &f.kategori, false);
    k.options = Category::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.label().to_string()))
        .collect();
    fields.push(k);
    fields.push(field(
        "anggaran.instansi",
        x.f_instansi,
        "text",
        &f.instansi,
        true,
    ));
    fields.push(field("anggaran.akun", x.f_akun, "text", &f.akun, true));
    fields.push(field(
        "keterangan",
        x.f_keterangan,
        "text",
        &f.keterangan,
        false,
    ));
    let mut p = field("pengikut", x.f_pengikut, "textarea", &f.pengikut, false);
    p.hint = Some(x.f_pengikut_hint.into());
    fields.push(p);
    FormView {
        fields,
        errors: Vec::new(),
    }
}

fn form_year(state: &AppState, f: &OrderForm) -> i32 {
    parse_date(&f.tanggal_berangkat)
        .map(|d| d.year())
        .unwrap_or_else(|| state.clock.now().year())
}

async fn form_response(
    state: &AppState,
    page: &Page,
    f: &OrderForm,
    edit_of: Option<&str>,
    errors: Option<&BTreeMap<String, Text>>,
    status: StatusCode,
) -> Response {
    let x = texts(page.lang);
    let mut form = order_form(state, page.lang, f, form_year(state, f)).await;
    form = with_errors(form, errors.unwrap_or(&BTreeMap::new()), page.lang);
    let at = form.fields.iter().position(|f| f.name == "pengikut");
    let pengikut = form.fields.remove(at.unwrap_or(form.fields.len() - 1));
    let (heading, action) = match edit_of {
        Some(id) => (x.edit_order, format!("/sppd/{id}/ubah")),
        None => (x.new_order, "/sppd/baru".to_string()),
    };
    let view = FormPage {
        shell: Shell::signed_in(page, state, heading, "/sppd"),
        tx: x,
        heading,
        action,
        version: f.version.clone(),
        form,
        pengikut,
    };
    render(status, &view)
}

async fn new_page(State(state): State<AppState>, page: Page) -> Response {
    let f = OrderForm {
        dep_prov: paraf_core::travel::home().provinsi,
        dep_kota: paraf_core::travel::home().kota,
        ..Default::default()
    };
    let r = form_response(&state, &page, &f, None, None, StatusCode::OK).await;
    (page.jar, r).into_response()
}

/// A failed save or submission: the form again with the errors next to their fields.
async fn form_failed(
    state: &AppState,
    page: Page,
    f: &OrderForm,
    edit_of: Option<&str>,
    e: ApiError,
) -> Response {
    if e.fields.is_empty() {
        return page_fail(page.lang, e);
    }
    let status = e.kind.status();
    let r = form_response(state, &page, f, edit_of, Some(&e.fields), status).await;
    (page.jar, r).into_response()
}

async fn save_and_maybe_submit(
    state: &AppState,
    page: &Page,
    f: &OrderForm,
    edit_of: Option<&str>,
) -> Result<String, (ApiError, Option<String>)> {
    let tr = travel(state);
    let o = match edit_of {
        Some(id) => tr.update(id, &page.id.0, f.input()).await,
        None => tr.create_draft(&page.id.0, f.input()).await,
    }
    .map_err(|e| (ApiError::from(e), None))?;
    if f.action == "submit" {
        act(state, &tr, &o.id, &page.id.0, Act::Submit)
            .await
            .map_err(|e| (e, Some(o.id.clone())))?;
    }
    Ok(o.id)
}

/// The request form posted (new or edit): the order on success, the form with its errors
/// otherwise. A draft saved but refused on submission is edited from then on.
async fn save_page(
    state: &AppState,
    page: Page,
    form: Result<Form<OrderForm>, FormRejection>,
    edit_of: Option<&str>,
) -> Response {
    let mut f = match checked_form(&page, form, |f| &f.csrf) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    match save_and_maybe_submit(state, &page, &f, edit_of).await {
        Ok(id) => (page.jar, Redirect::to(&format!("/sppd/{id}"))).into_response(),
        Err((e, saved)) => {
            if let Some(id) = &saved {
                if let Ok(o) = travel(state).load(id).await {
                    f.version = o.version.to_string();
                }
            }
            form_failed(state, page, &f, saved.as_deref().or(edit_of), e).await
        }
    }
}

async fn new_submit(
    State(state): State<AppState>,
    page: Page,
    form: Result<Form<OrderForm>, FormRejection>,
) -> Response {
    save_page(&state, page, form, None).await
}

async fn edit_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
) -> Response {
    let tr = travel(&state);
    let o = match tr.get(&oid, &page.id.0).await {
        Ok(o) => o,
        Err(e) => return page_fail(page.lang, e.into()),
    };
    if o.requester_id != page.id.0.employee_id {
        return error_page(page.lang, ErrorKind::Forbidden);
    }
    if !changeable(&o) {
        return (page.jar, Redirect::to(&format!("/sppd/{oid}"))).into_response();
    }
    let r = form_response(
        &state,
        &page,
        &OrderForm::of(&o),
        Some(&oid),
        None,
        StatusCode::OK,
    )
    .await;
    (page.jar, r).into_response()
}

async fn edit_submit(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<OrderForm>, FormRejection>,
) -> Response {
    save_page(&state, page, form, Some(&oid)).await
}

// ---------- detail page ----------

pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// One traveller's part of the estimate: two columns (item with volume × rate, amount),
/// so the table fits a 360 px phone.
pub struct EstGroup {
    pub person: String,
    pub rows: Vec<EstRow>,
}

pub struct EstRow {
    pub uraian: String,
    /// "volume × tarif".
    pub detail: String,
    pub jumlah: String,
}

pub struct StepRow {
    pub step: u32,
    pub name: String,
    pub jabatan: String,
    pub action: String,
    pub state: &'static str,
    pub state_code: String,
}

pub struct LinkRow {
    pub label: String,
    pub href: String,
}

pub struct StopRow {
    pub no: u32,
    pub tempat: String,
    pub dates: String,
    pub endorsement: Option<String>,
    pub scan: Option<LinkRow>,
    pub link_pending: bool,
}

pub struct CostRow {
    pub id: String,
    pub person: String,
    pub jenis: String,
    pub uraian: String,
    pub jumlah: String,
    pub receipt: Option<String>,
}

pub struct LineRow {
    pub at: String,
    pub shown: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "sppd_detail.html")]
struct DetailPage {
    shell: Shell,
    tx: &'static SppdTexts,
    id: String,
    heading: String,
    status: String,
    status_code: String,
    message: Option<String>,
    errors: Vec<String>,
    /// Returned for revision: the reason and who returned it, first thing on the page.
    returned: Option<crate::subject::ReturnedView>,
    return_note: Option<String>,
    signing: Option<crate::signing::SigningView>,
    stx: &'static crate::signing::SigningTexts,
    facts: Vec<Fact>,
    estimate: Vec<EstGroup>,
    est_total: Option<String>,
    chain: Vec<StepRow>,
    task_href: Option<String>,
    documents: Vec<LinkRow>,
    attachments: Vec<LinkRow>,
    stops: Vec<StopRow>,
    hasil: String,
    kesimpulan: String,
    photos: Vec<LinkRow>,
    costs: Vec<CostRow>,
    verifications: Vec<String>,
    timeline: Vec<LineRow>,
    travellers: Vec<(String, String)>,
    cost_kinds: Vec<&'static str>,
    may_edit: bool,
    may_withdraw: bool,
    may_report: bool,
    may_verify: bool,
    show_report: bool,
}

/// A chain step's action ("paraf", "sign") in the page language.
fn action_label<'a>(x: &'static SppdTexts, a: &'a str) -> &'a str {
    match a {
        "paraf" => x.action_paraf,
        "sign" => x.action_sign,
        _ => a,
    }
}

fn step_label(x: &SppdTexts, s: &str) -> &'static str {
    match s {
        "open" => x.step_open,
        "approved" => x.step_approved,
        "returned" => x.step_returned,
        "rejected" => x.step_rejected,
        _ => x.step_pending,
    }
}

/// A traveller's name (their id when they are not on the order).
fn traveller_name(o: &TravelOrder, id: &str) -> String {
    o.pelaksana
        .iter()
        .find(|t| t.employee_id == id)
        .map(|t| t.nama.clone())
        .unwrap_or_else(|| id.to_string())
}

/// What an order is about, as the order page and the task page list it.
pub(super) fn order_facts(x: &SppdTexts, o: &TravelOrder) -> Vec<Fact> {
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    vec![
        Fact {
            label: x.requester,
            value: o.requester_name.clone(),
        },
        Fact {
            label: x.traveller,
            value: o
                .pelaksana
                .iter()
                .map(|t| {
                    format!(
                        "{} (NIP {}, {}, {})",
                        t.nama,
                        t.nip,
                        t.jabatan,
                        t.tingkat.as_str()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        },
        Fact {
            label: x.f_ppk,
            value: dash(&o.ppk_name),
        },
        Fact {
            label: x.f_maksud,
            value: dash(&o.maksud),
        },
        Fact {
            label: x.f_alat,
            value: dash(&o.alat_angkut),
        },
        Fact {
            label: x.f_dep_kota,
            value: o.tempat_berangkat.label(),
        },
        Fact {
            label: x.col_tujuan,
            value: dash(&o.tempat_tujuan.label()),
        },
        Fact {
            label: x.col_tanggal,
            value: dates(o.tanggal_berangkat, o.tanggal_kembali),
        },
        Fact {
            label: x.lama,
            value: o
                .lama()
                .map(|d| format!("{d} {}", x.days))
                .unwrap_or_else(|| "-".into()),
        },
        Fact {
            label: x.f_kategori,
            value: o.kategori.label().to_string(),
        },
        Fact {
            label: x.f_akun,
            value: format!(
                "{} ({})",
                dash(&o.anggaran.akun),
                dash(&o.anggaran.instansi)
            ),
        },
        Fact {
            label: x.f_keterangan,
            value: dash(&o.keterangan),
        },
        Fact {
            label: x.documents,
            value: [
                o.numbers.spt.clone().into_iter().collect::<Vec<_>>(),
                o.numbers.sppd.clone(),
            ]
            .concat()
            .join(", "),
        },
    ]
}

/// The estimate, one group of lines per traveller.
pub(super) fn estimate_groups(o: &TravelOrder, estimate: Option<&Estimate>) -> Vec<EstGroup> {
    estimate
        .iter()
        .flat_map(|e| &e.per_person)
        .map(|p| EstGroup {
            person: traveller_name(o, &p.employee_id),
            rows: p
                .lines
                .iter()
                .map(|l| EstRow {
                    uraian: l.uraian.clone(),
                    detail: format!("{} × {}", l.volume, rupiah(l.tarif)),
                    jumlah: rupiah(l.jumlah),
                })
                .collect(),
        })
        .filter(|g| !g.rows.is_empty())
        .collect()
}

async fn detail_view(
    state: &AppState,
    page: &Page,
    oid: &str,
    message: Option<String>,
    errors: Vec<String>,
) -> Result<DetailPage, ApiError> {
    let x = texts(page.lang);
    let tr = travel(state);
    let o = tr.get(oid, &page.id.0).await?;
    let v = order_view(state, &tr, &o, &page.id.0, page.lang).await?;
    let name_of = |id: &str| traveller_name(&o, id);
    let facts = order_facts(x, &o);
    let estimate = estimate_groups(&o, v.estimate.as_ref());
    let file_link = |a: &FileView| LinkRow {
        label: a.name.clone(),
        href: a.url.clone(),
    };
    let mut documents = Vec::new();
    if let Some(d) = &v.documents.spt {
        documents.push(LinkRow {
            label: format!("Surat Tugas {}", o.numbers.spt.clone().unwrap_or_default()),
            href: d.link.clone(),
        });
    }
    for (i, d) in v.documents.sppd.iter().enumerate() {
        documents.push(LinkRow {
            label: format!(
                "SPPD {}",
                o.numbers.sppd.get(i).cloned().unwrap_or_default()
            ),
            href: d.link.clone(),
        });
    }
    for d in &v.documents.settlement {
        let who = d
            .employee_id
            .as_deref()
            .map(|e| format!(" – {}", name_of(e)))
            .unwrap_or_default();
        documents.push(LinkRow {
            label: format!("{}{who}", d.kind),
            href: d.link.clone(),
        });
    }
    let stops = v
        .stops
        .iter()
        .map(|s| StopRow {
            no: s.no,
            tempat: s.tempat.clone(),
            dates: format!(
                "{}{}",
                s.tiba,
                s.berangkat
                    .as_ref()
                    .map(|b| format!(" – {b}"))
                    .unwrap_or_default()
            ),
            endorsement: s.endorsement.as_ref().map(|e| {
                format!(
                    "{} {}{} ({}), {}",
                    x.endorsed_by,
                    e.nama,
                    e.nip
                        .as_ref()
                        .map(|n| format!(", NIP {n}"))
                        .unwrap_or_default(),
                    e.jabatan,
                    e.cara
                )
            }),
            scan: s
                .endorsement
                .as_ref()
                .and_then(|e| e.scan.as_ref())
                .map(file_link),
            link_pending: s.link_pending,
        })
        .collect();
    let show_report = !matches!(
        o.status,
        OrderStatus::Draft
            | OrderStatus::Submitted
            | OrderStatus::Returned
            | OrderStatus::Rejected
            | OrderStatus::Withdrawn
    );
    Ok(DetailPage {
        shell: Shell::signed_in(page, state, x.title, "/sppd"),
        tx: x,
        id: o.id.clone(),
        heading: if o.maksud.is_empty() {
            x.title.to_string()
        } else {
            o.maksud.clone()
        },
        status: v.status_label.clone(),
        status_code: v.status.clone(),
        message,
        errors,
        returned: v.returned.as_ref().map(|n| crate::subject::ReturnedView {
            sx: crate::subject::texts(page.lang),
            note: crate::subject::note_line(n, page.lang),
            edit: v.may_edit.then(|| format!("/sppd/{}/ubah", o.id)),
            hint: None,
        }),
        return_note: o.return_note.clone(),
        signing: v.signing.clone(),
        stx: crate::signing::texts(page.lang),
        facts,
        estimate,
        est_total: v.estimate.as_ref().map(|e| rupiah(e.total)),
        chain: v
            .chain
            .iter()
            .map(|c| StepRow {
                step: c.step,
                name: c.name.clone(),
                jabatan: c.jabatan.clone(),
                action: action_label(x, &c.action).to_string(),
                state: step_label(x, &c.state),
                state_code: c.state.clone(),
            })
            .collect(),
        task_href: v.task_id.as_ref().map(|t| format!("/tasks/{t}")),
        documents,
        attachments: v.attachments.iter().map(file_link).collect(),
        stops,
        hasil: o.report.hasil.clone(),
        kesimpulan: o.report.kesimpulan.clone(),
        photos: v.report.photos.iter().map(file_link).collect(),
        costs: v
            .actual
            .iter()
            .map(|c| CostRow {
                id: c.id.clone(),
                person: name_of(&c.employee_id),
                jenis: c.jenis.clone(),
                uraian: c.uraian.clone(),
                jumlah: rupiah(c.jumlah),
                receipt: c.receipt.as_ref().map(|r| r.url.clone()),
            })
            .collect(),
        verifications: o
            .verifications
            .iter()
            .map(|vf| {
                format!(
                    "{} · {} ({}): {}{}",
                    waktu_wib(vf.at),
                    vf.by_name,
                    vf.role,
                    if vf.accepted { x.accept } else { x.return_ },
                    if vf.note.is_empty() {
                        String::new()
                    } else {
                        format!(" – {}", vf.note)
                    }
                )
            })
            .collect(),
        timeline: v
            .timeline
            .iter()
            .zip(tr.timeline(&o).await?.iter())
            .map(|(t, e)| LineRow {
                at: t.at.clone(),
                shown: waktu_wib(e.at),
                text: t.text.clone(),
            })
            .collect(),
        travellers: o
            .pelaksana
            .iter()
            .map(|t| (t.employee_id.clone(), t.nama.clone()))
            .collect(),
        cost_kinds: ACTUAL_KINDS.to_vec(),
        may_edit: v.may_edit,
        may_withdraw: v.may_withdraw,
        may_report: v.may_report,
        may_verify: v.may_verify,
        show_report,
    })
}

async fn detail_page(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): axum::extract::Path<String>,
) -> Response {
    detail_after(&state, page, &oid, Ok(())).await
}

/// The detail page after an action: redirect on success (PRG), the page with the
/// errors (422/409) otherwise.
async fn detail_after(
    state: &AppState,
    page: Page,
    oid: &str,
    r: Result<(), ApiError>,
) -> Response {
    let (status, errors) = match r {
        Ok(()) => (StatusCode::OK, Vec::new()),
        Err(e) if !e.fields.is_empty() => (e.kind.status(), error_lines(page.lang, &e.fields)),
        Err(e) => return page_fail(page.lang, e),
    };
    match detail_view(state, &page, oid, None, errors).await {
        Ok(v) => (page.jar, render(status, &v)).into_response(),
        Err(e) => page_fail(page.lang, e),
    }
}

/// Field errors as the pages list them: "label: message".
fn error_lines(lang: Lang, fields: &BTreeMap<String, Text>) -> Vec<String> {
    let x = texts(lang);
    fields
        .iter()
        .map(|(k, v)| format!("{}: {}", field_label(x, k), lang.pick(v)))
        .collect()
}

fn field_label<'a>(x: &'static SppdTexts, k: &'a str) -> &'a str {
    match k.split('.').next().unwrap_or(k) {
        "file" => x.file,
        "tempat" => x.tempat,
        "tiba" => x.tiba,
        "berangkat" => x.berangkat,
        "email" => x.official_email,
        "nama" => x.nama,
        "nip" => x.nip,
        "jabatan" => x.jabatan,
        "hasil" => x.hasil,
        "kesimpulan" => x.kesimpulan,
        "jenis" => x.jenis,
        "uraian" => x.uraian,
        "jumlah" => x.jumlah,
        "pelaksana" => x.traveller,
        "note" => x.note,
        "tanggal_berangkat" => x.f_berangkat,
        "tanggal_kembali" => x.f_kembali,
        "anggaran" => x.f_akun,
        _ => k,
    }
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    tempat: String,
    #[serde(default)]
    tiba: String,
    #[serde(default)]
    berangkat: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    hasil: String,
    #[serde(default)]
    kesimpulan: String,
    #[serde(default)]
    decision: String,
}

/// A posted page form, or the page refusing it (malformed body, wrong CSRF token).
fn checked_form<F>(
    page: &Page,
    form: Result<Form<F>, FormRejection>,
    csrf: impl Fn(&F) -> &str,
) -> Result<F, Box<Response>> {
    let Ok(Form(f)) = form else {
        return Err(Box::new(error_page(page.lang, ErrorKind::Malformed)));
    };
    match page.csrf_refusal(csrf(&f)) {
        Some(r) => Err(Box::new(r)),
        None => Ok(f),
    }
}

/// A page change: does it, then redirects to the order (PRG) or shows the order page with
/// the errors (422/409).
async fn act_page(state: &AppState, page: Page, oid: &str, change: Act) -> Response {
    match act(state, &travel(state), oid, &page.id.0, change).await {
        Ok(_) => (page.jar, Redirect::to(&format!("/sppd/{oid}"))).into_response(),
        Err(e) => detail_after(state, page, oid, Err(e)).await,
    }
}

/// A page change posted as a urlencoded form.
async fn form_act(
    state: &AppState,
    page: Page,
    oid: &str,
    form: Result<Form<ActionForm>, FormRejection>,
    change: impl FnOnce(ActionForm) -> Act,
) -> Response {
    match checked_form(&page, form, |f| &f.csrf) {
        Ok(f) => act_page(state, page, oid, change(f)).await,
        Err(r) => *r,
    }
}

/// A page change posted as a multipart form (carrying its CSRF token as a field).
async fn upload_act(
    state: &AppState,
    page: Page,
    oid: &str,
    req: Request,
    change: impl FnOnce(Upload) -> Act,
) -> Response {
    let up = match upload(state, oid, &page.id.0, req).await {
        Ok(up) => up,
        Err(e) => return detail_after(state, page, oid, Err(e)).await,
    };
    if let Some(r) = page.csrf_refusal(&up.field("csrf")) {
        return r;
    }
    act_page(state, page, oid, change(up)).await
}

type OrderPath = axum::extract::Path<String>;
type StopPath = axum::extract::Path<(String, u32)>;

async fn page_submit(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |_| Act::Submit).await
}

async fn page_withdraw(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::Withdraw { note: f.note }).await
}

async fn page_stop(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::AddStop {
        berangkat: (!f.berangkat.trim().is_empty()).then_some(f.berangkat),
        tempat: f.tempat,
        tiba: f.tiba,
    })
    .await
}

async fn page_link(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path((oid, no)): StopPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::Link {
        no,
        email: f.email,
    })
    .await
}

async fn page_report(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::Report {
        hasil: f.hasil,
        kesimpulan: f.kesimpulan,
    })
    .await
}

async fn page_submit_report(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |_| Act::SubmitReport).await
}

async fn page_remove_cost(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path((oid, cost)): axum::extract::Path<(String, String)>,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |_| Act::RemoveCost { cost }).await
}

async fn page_verify(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    form_act(&state, page, &oid, form, |f| Act::Verify {
        decision: f.decision,
        note: f.note,
    })
    .await
}

async fn page_scan(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path((oid, no)): StopPath,
    req: Request,
) -> Response {
    upload_act(&state, page, &oid, req, |up| Act::Scan { no, up }).await
}

async fn page_photo(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    req: Request,
) -> Response {
    upload_act(&state, page, &oid, req, Act::Photo).await
}

async fn page_cost(
    State(state): State<AppState>,
    page: Page,
    axum::extract::Path(oid): OrderPath,
    req: Request,
) -> Response {
    upload_act(&state, page, &oid, req, Act::Cost).await
}

// ---------- the public endorsement page ----------

#[derive(Template)]
#[template(path = "sppd_endorse.html")]
struct EndorsePage {
    shell: Shell,
    tx: &'static SppdTexts,
    token: String,
    message: Option<String>,
    facts: Vec<Fact>,
    show_form: bool,
    errors: Vec<String>,
    nama: String,
    nip: String,
    jabatan: String,
}

fn public_shell(state: &AppState, lang: Lang, title: &str) -> Shell {
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

fn endorse_view(
    state: &AppState,
    lang: Lang,
    token: &str,
    o: Option<(&TravelOrder, &Stop)>,
    message: Option<String>,
    show_form: bool,
) -> EndorsePage {
    let x = texts(lang);
    let facts = match o {
        Some((o, s)) => vec![
            Fact {
                label: x.traveller,
                value: o
                    .pelaksana
                    .iter()
                    .map(|t| format!("{} ({})", t.nama, t.jabatan))
                    .collect::<Vec<_>>()
                    .join("; "),
            },
            Fact {
                label: x.f_maksud,
                value: o.maksud.clone(),
            },
            Fact {
                label: x.col_tujuan,
                value: o.tempat_tujuan.label(),
            },
            Fact {
                label: x.col_tanggal,
                value: dates(o.tanggal_berangkat, o.tanggal_kembali),
            },
            Fact {
                label: x.stop,
                value: format!("{} ({})", s.tempat, tanggal(s.tiba)),
            },
        ],
        None => Vec::new(),
    };
    EndorsePage {
        shell: public_shell(state, lang, x.endorse_title),
        tx: x,
        token: token.to_string(),
        message,
        facts,
        show_form,
        errors: Vec::new(),
        nama: String::new(),
        nip: String::new(),
        jabatan: String::new(),
    }
}

/// What a token opens: the order and stop, or the status and message of a refusal.
async fn endorse_target(
    state: &AppState,
    lang: Lang,
    token: &str,
) -> Result<(TravelOrder, Stop), Response> {
    let x = texts(lang);
    match travel(state).endorsement_target(token).await {
        Ok((o, s)) => {
            let now = state.clock.now();
            if s.endorsement.is_some()
                || s.token_expires.is_some_and(|t| now >= t)
                || o.status != OrderStatus::Approved
            {
                let v = endorse_view(state, lang, token, None, Some(x.endorse_used.into()), false);
                Err(render(StatusCode::CONFLICT, &v))
            } else {
                Ok((o, s))
            }
        }
        Err(ServiceError::NotFound(_)) if used_link(state, token).await => {
            let v = endorse_view(state, lang, token, None, Some(x.endorse_used.into()), false);
            Err(render(StatusCode::CONFLICT, &v))
        }
        Err(ServiceError::NotFound(_)) => {
            let v = endorse_view(
                state,
                lang,
                token,
                None,
                Some(x.endorse_unknown.into()),
                false,
            );
            Err(render(StatusCode::NOT_FOUND, &v))
        }
        Err(e) => Err(page_fail(lang, e.into())),
    }
}

/// A link already used: the domain forgets its secret once used, so a second visit finds
/// only a stop endorsed through a link. Says "already used" and nothing of the order.
async fn used_link(state: &AppState, token: &str) -> bool {
    let mut parts = token.trim().splitn(3, '.');
    let (Some(id), Some(no)) = (
        parts.next(),
        parts.next().and_then(|n| n.parse::<u32>().ok()),
    ) else {
        return false;
    };
    match travel(state).load(id).await {
        Ok(o) => o.stops.iter().any(|s| {
            s.no == no
                && s.token_hash.is_none()
                && s.endorsement.as_ref().is_some_and(|e| e.cara == "tautan")
        }),
        Err(_) => false,
    }
}

async fn endorse_page(
    State(state): State<AppState>,
    lang: Lang,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    match endorse_target(&state, lang, &token).await {
        Ok((o, s)) => render(
            StatusCode::OK,
            &endorse_view(&state, lang, &token, Some((&o, &s)), None, true),
        ),
        Err(r) => r,
    }
}

#[derive(Debug, Default, Deserialize)]
struct EndorseForm {
    #[serde(default)]
    nama: String,
    #[serde(default)]
    nip: String,
    #[serde(default)]
    jabatan: String,
}

/// The link is the credential (a secret in the URL, working once), so the form needs no
/// session nor CSRF token: a forged cross-site POST would have to know the secret.
async fn endorse_submit(
    State(state): State<AppState>,
    lang: Lang,
    axum::extract::Path(token): axum::extract::Path<String>,
    form: Result<Form<EndorseForm>, FormRejection>,
) -> Response {
    let x = texts(lang);
    let Ok(Form(f)) = form else {
        return error_page(lang, ErrorKind::Malformed);
    };
    let (o, s) = match endorse_target(&state, lang, &token).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let nip = (!f.nip.trim().is_empty()).then_some(f.nip.as_str());
    match travel(&state)
        .endorse_by_link(&token, &f.nama, nip, &f.jabatan)
        .await
    {
        Ok(o) => {
            let s = o.stops.iter().find(|x| x.no == s.no).cloned().unwrap_or(s);
            render(
                StatusCode::OK,
                &endorse_view(
                    &state,
                    lang,
                    &token,
                    Some((&o, &s)),
                    Some(x.endorse_done.into()),
                    false,
                ),
            )
        }
        Err(ServiceError::Invalid(fields)) => {
            let mut v = endorse_view(&state, lang, &token, Some((&o, &s)), None, true);
            v.errors = error_lines(lang, &fields.into_map());
            v.nama = f.nama;
            v.nip = f.nip;
            v.jabatan = f.jabatan;
            render(StatusCode::UNPROCESSABLE_ENTITY, &v)
        }
        Err(ServiceError::Conflict { .. }) | Err(ServiceError::NotFound(_)) => render(
            StatusCode::CONFLICT,
            &endorse_view(
                &state,
                lang,
                &token,
                None,
                Some(x.endorse_used.into()),
                false,
            ),
        ),
        Err(e) => page_fail(lang, e.into()),
    }
}
