//! e-SPPD through the router: drafts, access, submission rules, SBM versions, exports and
//! the public endorsement page, on the demo organisation with the real SQLite table and
//! the real ASL interpreter running `workflows/approval.asl.json`.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use paraf_core::travel::Travel;
use paraf_core::FixedClock;
use paraf_http::{router, AppState};
use paraf_local::table::SqliteTable;
use paraf_local::workflows::LocalWorkflows;
use serde_json::{json, Value};
use support::{
    approval_workflows, form_post, get, hidden, json_req, page_get, workflow_state, Outbox, Resp,
};
use tower::ServiceExt;

struct T {
    state: AppState,
    outbox: Arc<Outbox>,
    wf: LocalWorkflows,
    _dir: tempfile::TempDir,
}

fn login(local: &str) -> String {
    format!("{local}@{}", paraf_core::demo::DEMO_DOMAIN)
}

impl T {
    /// The demo organisation on Saturday 28 November 2026, SBM 2026 saved.
    async fn new() -> T {
        let clock = Arc::new(FixedClock::new(
            time::macros::datetime!(2026-11-28 02:00 UTC),
        ));
        let dir = tempfile::tempdir().unwrap();
        let table: Arc<SqliteTable> =
            Arc::new(SqliteTable::open(&dir.path().join("paraf.db")).unwrap());
        let outbox = Arc::new(Outbox::default());
        let wf = approval_workflows(table.clone(), clock.clone(), outbox.clone());
        let state = workflow_state(table, clock, outbox.clone(), &wf);
        paraf_core::demo::load(&state.auth).await.unwrap();
        T {
            state,
            outbox,
            wf,
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        support::send(&self.state, req).await
    }

    async fn token(&self, local: &str) -> String {
        support::token(&self.state, &login(local), paraf_core::demo::DEMO_PASSWORD).await
    }

    /// A web session of the demo user `local`.
    async fn session(&self, local: &str) -> String {
        support::session(&self.state, &login(local), paraf_core::demo::DEMO_PASSWORD).await
    }

    async fn page(&self, session: &str, path: &str) -> Resp {
        self.send(page_get(session, path)).await
    }

    /// Posts `fields` (already urlencoded) with the CSRF token of the page at `from`.
    async fn post_page(&self, session: &str, from: &str, to: &str, fields: &str) -> Resp {
        let page = self.page(session, from).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = hidden(&page.body, "csrf").expect("csrf field");
        self.send(form_post(session, to, format!("csrf={csrf}&{fields}")))
            .await
    }

    /// Submits order `id` through the API.
    async fn submit(&self, tok: &str, id: &str) -> Resp {
        self.send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/submit"),
            Some(tok),
            &json!({}),
        ))
        .await
    }

    /// A complete draft by `staf` for staf, 7–9 December 2026 to Jakarta.
    async fn draft(&self, tok: &str) -> String {
        let r = self
            .send(json_req(
                "POST",
                "/api/v1/sppd",
                Some(tok),
                &order_input("2026-12-09"),
            ))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()["id"].as_str().unwrap().to_string()
    }
}

fn order_input(kembali: &str) -> Value {
    json!({
        "pelaksana": [login("staf")],
        "maksud": "Rapat koordinasi logistik pemilu",
        "alat_angkut": "kereta api",
        "tempat_tujuan": {"provinsi": "DKI Jakarta", "kota": "Jakarta Pusat"},
        "tanggal_berangkat": "2026-12-07",
        "tanggal_kembali": kembali,
        "anggaran": {"instansi": "KPU Provinsi Jawa Barat", "akun": "524111"}
    })
}

#[tokio::test]
async fn a_draft_is_created_edited_and_read_back() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t.send(get(&format!("/api/v1/sppd/{id}"), Some(&tok))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "draft");
    assert_eq!(v["lama"], 3);
    assert!(v["estimate"]["total"].as_i64().unwrap() > 0, "{v}");
    let mut input = order_input("2026-12-10");
    input["version"] = v["version"].clone();
    input["maksud"] = json!("Rapat koordinasi (diubah)");
    let r = t
        .send(json_req(
            "PUT",
            &format!("/api/v1/sppd/{id}"),
            Some(&tok),
            &input,
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["maksud"], "Rapat koordinasi (diubah)");
    assert_eq!(r.json()["lama"], 4);
    let r = t.send(get("/api/v1/sppd?scope=mine", Some(&tok))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert!(!r.body.contains("token_hash") && !r.body.contains("\"key\""));
}

#[tokio::test]
async fn another_units_staff_gets_403_and_cannot_decide_the_approval() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t.submit(&tok, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "submitted");
    t.wf.run_until_idle().await.unwrap();
    let other = t.token("budi.santoso").await;
    let r = t
        .send(get(&format!("/api/v1/sppd/{id}"), Some(&other)))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The first approver sees the order and its task; the stranger cannot decide it.
    let kasubag = t.token("kasubag").await;
    let r = t
        .send(get(&format!("/api/v1/sppd/{id}"), Some(&kasubag)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let task = r.json()["task_id"]
        .as_str()
        .expect("open task for the kasubag")
        .to_string();
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/tasks/{task}/decision"),
            Some(&other),
            &json!({"decision": "approve"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Returned by the kasubag: the order shows it at once.
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/tasks/{task}/decision"),
            Some(&kasubag),
            &json!({"decision": "return", "note": "lengkapi undangan"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    t.wf.run_until_idle().await.unwrap();
    let stored = Travel::new(t.state.table.clone(), t.state.clock.clone())
        .load(&id)
        .await
        .unwrap();
    assert_eq!(stored.status.as_str(), "returned");
}

#[tokio::test]
async fn a_traveller_cannot_edit_once_submitted() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t.submit(&tok, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut input = order_input("2026-12-10");
    input["version"] = r.json()["version"].clone();
    let r = t
        .send(json_req(
            "PUT",
            &format!("/api/v1/sppd/{id}"),
            Some(&tok),
            &input,
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

#[tokio::test]
async fn submitting_a_return_before_departure_is_422_naming_tanggal_kembali() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/sppd",
            Some(&tok),
            &order_input("2026-12-05"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = t.submit(&tok, &id).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.json()["error"]["fields"]["tanggal_kembali"].is_string(),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn sbm_put_by_a_non_admin_is_403_and_by_an_admin_makes_version_2_with_history() {
    let t = T::new().await;
    let staf = t.token("staf").await;
    let r = t.send(get("/api/v1/sbm/2026", Some(&staf))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut input = serde_json::to_value(paraf_core::travel::sbm::demo_rates()).unwrap();
    input["base_version"] = json!(1);
    input["note"] = json!("revisi tarif");
    let r = t
        .send(json_req("PUT", "/api/v1/sbm/2026", Some(&staf), &input))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let admin = t.token("admin").await;
    let r = t
        .send(json_req("PUT", "/api/v1/sbm/2026", Some(&admin), &input))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["version"], 2);
    let r = t.send(get("/api/v1/sbm/2026/history", Some(&admin))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    let r = t.send(get("/api/v1/sbm/2026/history", Some(&staf))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t.send(get("/api/v1/sbm/2031", Some(&staf))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_export_csv_has_the_row_and_the_xlsx_is_a_zip() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t.submit(&tok, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ppk = t.token("ppk").await;
    let r = t
        .send(get(
            "/api/v1/sppd/export?format=csv&month=2026-12",
            Some(&ppk),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(
        r.body.contains("DKI Jakarta") && r.body.contains("524111"),
        "{}",
        r.body
    );
    let res = router(t.state.clone())
        .oneshot(get("/api/v1/sppd/export?format=xlsx", Some(&ppk)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    use http_body_util::BodyExt;
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(bytes.starts_with(b"PK\x03\x04"));
    let r = t
        .send(get("/api/v1/sppd/export?format=pdf", Some(&ppk)))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["format"].is_string());
    let r = t
        .send(get("/api/v1/sppd?scope=all&month=2026-13", Some(&ppk)))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["month"].is_string());
}

#[tokio::test]
async fn scope_all_is_forbidden_for_plain_staff() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let r = t.send(get("/api/v1/sppd?scope=all", Some(&tok))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = t
        .send(get("/api/v1/sppd/export?format=csv", Some(&tok)))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[tokio::test]
async fn the_public_endorsement_page_works_once_and_refuses_a_second_post() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let r = t.submit(&tok, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The chain and the sign task are the approval tests' business: approve directly.
    Travel::new(t.state.table.clone(), t.state.clock.clone())
        .mark_approved(&id, "spt-doc", &["sppd-doc".to_string()])
        .await
        .unwrap();
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/stops"),
            Some(&tok),
            &json!({"tempat": "KPU RI, Jakarta", "tiba": "2026-12-07"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/sppd/{id}/stops/1/link"),
            Some(&tok),
            &json!({"email": "pejabat@kpu.go.id"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("token_hash"));
    let link = t.outbox.0.lock().unwrap().last().unwrap().links[0].clone();
    let path = link.strip_prefix("http://paraf.test").unwrap().to_string();
    assert!(path.starts_with("/sppd/pengesahan/"));
    let r = t.send(get(&path, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("KPU RI, Jakarta"));
    let post = |body: &str| {
        Request::builder()
            .method("POST")
            .uri(&path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let r = t
        .send(post("nama=Agus+Salim&nip=&jabatan=Kepala+Biro+Logistik"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t.send(post("nama=Orang+Lain&nip=&jabatan=Lain")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = t.send(get(&format!("/api/v1/sppd/{id}"), Some(&tok))).await;
    assert_eq!(r.json()["stops"][0]["endorsement"]["nama"], "Agus Salim");
    // An unknown token shows nothing of any order.
    let r = t.send(get("/sppd/pengesahan/tidakada.1.salah", None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.send(get(&path, None)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(!r.body.contains("Rapat koordinasi") && !r.body.contains("KPU RI"));
}

#[tokio::test]
async fn an_upload_that_is_not_an_image_or_pdf_is_422_naming_file() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let upload = |bytes: &'static [u8], name: &str| {
        let boundary = "XyZ";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Request::builder()
            .method("POST")
            .uri(format!("/api/v1/sppd/{id}/attachments"))
            .header(header::AUTHORIZATION, format!("Bearer {tok}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    let r = t
        .send(upload(b"MZ\x90\x00 not a picture", "virus.exe"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["error"]["fields"]["file"].is_string());
    let r = t.send(upload(b"%PDF-1.7\n1 0 obj\n", "undangan.pdf")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let url = r.json()["attachments"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t.send(get(&url, Some(&tok))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(r.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let other = t.token("budi.santoso").await;
    let r = t.send(get(&url, Some(&other))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// The request form's fields for a trip by staf, 7–9 December 2026, with `pengikut`.
fn request_form(pengikut: &str) -> String {
    let enc = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' => (b as char).to_string(),
                b' ' => "+".to_string(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    [
        ("action", "save"),
        ("pelaksana", login("staf").as_str()),
        ("maksud", "Rapat koordinasi logistik pemilu"),
        ("alat_angkut", "kereta api"),
        ("tempat_tujuan.provinsi", "DKI Jakarta"),
        ("tempat_tujuan.kota", "Jakarta Pusat"),
        ("tanggal_berangkat", "2026-12-07"),
        ("tanggal_kembali", "2026-12-09"),
        ("anggaran.instansi", "KPU Provinsi Jawa Barat"),
        ("anggaran.akun", "524111"),
        ("pengikut", pengikut),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", enc(v)))
    .collect::<Vec<_>>()
    .join("&")
}

#[tokio::test]
async fn the_request_form_takes_followers_a_line_each_and_names_the_line_in_error() {
    let t = T::new().await;
    let s = t.session("staf").await;
    let form = t.page(&s, "/sppd/baru").await;
    assert!(
        form.body
            .contains("<textarea id=\"field-pengikut\" name=\"pengikut\""),
        "{}",
        form.body
    );
    // The second line has no name: the error names that follower.
    let r = t
        .post_page(
            &s,
            "/sppd/baru",
            "/sppd/baru",
            &request_form("Andi Wijaya; sopir\n; tanpa nama"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"error-pengikut\""), "{}", r.body);
    assert!(r.body.contains("pengikut ke-2 (Nama)"), "{}", r.body);
    assert!(r.body.contains("href=\"#field-pengikut\""), "{}", r.body);
    assert!(r.body.contains("Andi Wijaya; sopir"), "{}", r.body);
    // Saved: the API shows the list, the edit form shows it back a line each.
    let r = t
        .post_page(
            &s,
            "/sppd/baru",
            "/sppd/baru",
            &request_form("Andi Wijaya; sopir\n\nBudi Hartono\n"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let at = r.headers[header::LOCATION].to_str().unwrap().to_string();
    let id = at.strip_prefix("/sppd/").unwrap();
    let tok = t.token("staf").await;
    let v = t.send(get(&format!("/api/v1/sppd/{id}"), Some(&tok))).await;
    assert_eq!(
        v.json()["pengikut"],
        json!([{"nama": "Andi Wijaya", "keterangan": "sopir"}, {"nama": "Budi Hartono", "keterangan": ""}])
    );
    let edit = t.page(&s, &format!("/sppd/{id}/ubah")).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    assert!(
        edit.body
            .contains(">Andi Wijaya; sopir\nBudi Hartono</textarea>"),
        "{}",
        edit.body
    );
}

#[tokio::test]
async fn the_order_page_names_chain_actions_in_its_language_and_the_estimate_fits_two_columns() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let s = t.session("staf").await;
    // Submitted through the page form (the same change as the API's submit).
    let r = t
        .post_page(
            &s,
            &format!("/sppd/{id}"),
            &format!("/sppd/{id}/ajukan"),
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    t.wf.run_until_idle().await.unwrap();
    let r = t.page(&s, &format!("/sppd/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(", paraf): sedang diproses"), "{}", r.body);
    assert!(r.body.contains(", tanda tangan): menunggu"), "{}", r.body);
    assert!(!r.body.contains(", sign)"), "{}", r.body);
    // Two columns: the item (with volume × rate under it) and the amount.
    assert!(
        r.body.contains("scope=\"colgroup\" colspan=\"2\""),
        "{}",
        r.body
    );
    assert!(r.body.contains(" × Rp "), "{}", r.body);
    assert!(!r.body.contains(">Tarif<"), "{}", r.body);
    let r = t.page(&s, &format!("/sppd/{id}?lang=en")).await;
    assert!(r.body.contains(", initials): in progress"), "{}", r.body);
    assert!(r.body.contains(", signature): waiting"), "{}", r.body);
    // A page form with a stale CSRF token changes nothing.
    let r = t
        .send(form_post(
            &s,
            &format!("/sppd/{id}/tarik"),
            "csrf=salah&note=x".into(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = t.send(get(&format!("/api/v1/sppd/{id}"), Some(&tok))).await;
    assert_eq!(r.json()["status"], "submitted");
}

#[tokio::test]
async fn the_estimate_of_a_form_answers_with_its_costs_and_names_what_is_missing() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/sppd/estimate",
            Some(&tok),
            &order_input("2026-12-09"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["per_person"].as_array().unwrap().len(), 1, "{v}");
    assert!(v["total"].as_i64().unwrap() > 0, "{v}");
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/sppd/estimate",
            Some(&tok),
            &json!({}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.json()["error"]["fields"]["pelaksana"].is_string(),
        "{}",
        r.body
    );
    let r = t.send(get("/api/v1/sppd?scope=mine", Some(&tok))).await;
    assert_eq!(r.json().as_array().unwrap().len(), 0, "nothing was saved");
}

#[tokio::test]
async fn changing_a_draft_without_its_version_is_refused_and_loses_nothing() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    let id = t.draft(&tok).await;
    let uri = format!("/api/v1/sppd/{id}");
    let r = t
        .send(json_req("PUT", &uri, Some(&tok), &json!({"maksud": "x"})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.json()["error"]["fields"]["version"].is_string(),
        "{}",
        r.body
    );
    let v = t.send(get(&uri, Some(&tok))).await.json();
    assert_eq!(v["pelaksana"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["maksud"], "Rapat koordinasi logistik pemilu");
}

#[tokio::test]
async fn a_draft_with_impossible_dates_or_a_non_object_body_is_refused_and_not_stored() {
    let t = T::new().await;
    let tok = t.token("staf").await;
    for (dep, ret, status, field) in [
        ("0000-01-01", "2026-12-09", 400, "tanggal_berangkat"),
        ("+2027-01-01", "2027-01-02", 400, "tanggal_berangkat"),
        ("1900-01-01", "9999-12-31", 422, "tanggal_kembali"),
    ] {
        let mut input = order_input(ret);
        input["tanggal_berangkat"] = json!(dep);
        let r = t
            .send(json_req("POST", "/api/v1/sppd", Some(&tok), &input))
            .await;
        assert_eq!(r.status.as_u16(), status, "{dep}..{ret}: {}", r.body);
        assert!(
            r.json()["error"]["fields"][field].is_string(),
            "{dep}..{ret}: {}",
            r.body
        );
    }
    let r = t
        .send(json_req("POST", "/api/v1/sppd", Some(&tok), &json!([])))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.json()["error"]["fields"]["body"].is_string(),
        "{}",
        r.body
    );
    let r = t.send(get("/api/v1/sppd?scope=mine", Some(&tok))).await;
    assert_eq!(r.json().as_array().unwrap().len(), 0, "no draft was stored");
}

// ---------- what approvers see (the task page) and a returned order ----------

/// Percent-encodes a form value.
fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl T {
    /// A submitted order of staf (7–9 December 2026, Jakarta), its approval started.
    async fn submitted(&self) -> String {
        let tok = self.token("staf").await;
        let id = self.draft(&tok).await;
        let r = self.submit(&tok, &id).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        self.wf.run_until_idle().await.unwrap();
        id
    }

    /// The open task of order `id` that `local` may decide.
    async fn task_of(&self, local: &str, id: &str) -> String {
        let tok = self.token(local).await;
        let r = self
            .send(get(&format!("/api/v1/sppd/{id}"), Some(&tok)))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["task_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no open task for {local}: {}", r.body))
            .to_string()
    }

    /// `local` decides their task on order `id` through the API; the workflow moves on.
    async fn decide_api(&self, local: &str, id: &str, decision: &str, note: &str) {
        let task = self.task_of(local, id).await;
        let tok = self.token(local).await;
        let r = self
            .send(json_req(
                "POST",
                &format!("/api/v1/tasks/{task}/decision"),
                Some(&tok),
                &json!({"decision": decision, "note": note}),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        self.wf.run_until_idle().await.unwrap();
    }

    async fn task_status(&self, task: &str) -> String {
        let tok = self.token("admin").await;
        let r = self
            .send(get(&format!("/api/v1/tasks/{task}"), Some(&tok)))
            .await;
        r.json()["status"].as_str().unwrap().to_string()
    }

    /// The newest mail to the demo user `local`.
    fn mail_to(&self, local: &str) -> paraf_core::Mail {
        let to = login(local);
        self.outbox
            .0
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m.to.contains(&to))
            .cloned()
            .unwrap_or_else(|| panic!("no mail to {to}"))
    }
}

#[tokio::test]
async fn the_ppk_reads_the_trip_and_the_documents_pages_then_confirms_naming_the_sppd_and_the_role()
{
    let t = T::new().await;
    let id = t.submitted().await;
    t.decide_api("kasubag", &id, "approve", "").await;
    t.decide_api("kabag", &id, "approve", "").await;
    let task = t.task_of("ppk", &id).await;
    let s = t.session("ppk").await;
    let page = t.page(&s, &format!("/tasks/{task}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let stored = Travel::new(t.state.table.clone(), t.state.clock.clone())
        .load(&id)
        .await
        .unwrap();
    let total = paraf_core::format::rupiah(stored.estimate.as_ref().unwrap().total);
    for want in [
        "Rapat koordinasi logistik pemilu",
        "7 Desember 2026 – 9 Desember 2026",
        "Ahmad Fauzi, S.E.",
        "Analis Keuangan",
        "Jakarta Pusat, DKI Jakarta",
        "kereta api",
        "524111",
        total.as_str(),
        &format!("href=\"/sppd/{id}\""),
        // The documents as pages: the SPT and the traveller's SPPD, their PDFs linked.
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"doc-page\"",
        ">SURAT TUGAS</text>",
        &format!("/tasks/{task}/pratinjau/1"),
        &format!("/tasks/{task}/pratinjau/2"),
        "Anda menandatangani dokumen ini",
    ] {
        assert!(page.body.contains(want), "{want:?} not on the task page");
    }
    assert!(!page.body.contains("2026-12-07"), "no ISO date on the page");
    // Reject and return are their own form, their reason required.
    assert!(page.body.contains("class=\"danger\""));
    assert!(page
        .body
        .contains("id=\"field-note\" name=\"note\" rows=\"3\" required"));

    // "Setujui" asks first, naming what is signed and the role; nothing is decided yet.
    let csrf = hidden(&page.body, "csrf").unwrap();
    let uri = format!("/tasks/{task}");
    let r = t
        .send(form_post(
            &s,
            &uri,
            format!(
                "csrf={csrf}&decision=approve&note={}",
                enc("Biaya sesuai SBM")
            ),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("Anda akan menandatangani SPPD – Ahmad Fauzi, S.E. dan memaraf Surat Tugas untuk “Perjalanan dinas ke Jakarta Pusat, DKI Jakarta: Rapat koordinasi logistik pemilu” sebagai Pejabat Pembuat Komitmen."),
        "{}",
        r.body
    );
    assert!(r.body.contains("name=\"confirmed\" value=\"1\""));
    assert!(
        r.body.contains("value=\"Biaya sesuai SBM\""),
        "the note is kept"
    );
    assert_eq!(t.task_status(&task).await, "open");
    // Confirmed: decided, with its note.
    let r = t
        .send(form_post(
            &s,
            &uri,
            format!(
                "csrf={csrf}&decision=approve&confirmed=1&note={}",
                enc("Biaya sesuai SBM")
            ),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(t.task_status(&task).await, "decided");
    // In English: the same question in English words.
    t.wf.run_until_idle().await.unwrap();
    let last = t.task_of("sekretaris", &id).await;
    let s = t.session("sekretaris").await;
    let page = t.page(&s, &format!("/tasks/{last}?lang=en")).await;
    let csrf = hidden(&page.body, "csrf").unwrap();
    let r = t
        .send(form_post(
            &s,
            &format!("/tasks/{last}?lang=en"),
            format!("csrf={csrf}&decision=approve&note="),
        ))
        .await;
    assert!(
        r.body
            .contains("You are about to sign Surat Tugas (assignment letter) for"),
        "{}",
        r.body
    );
    assert!(r.body.contains("as Sekretaris KPU Provinsi Jawa Barat."));
    // The earlier note is on the page of the next step.
    assert!(r.body.contains("Biaya sesuai SBM"));
}

#[tokio::test]
async fn return_and_reject_without_a_reason_are_422_naming_note_on_the_page_and_in_the_api() {
    let t = T::new().await;
    let id = t.submitted().await;
    let task = t.task_of("kasubag", &id).await;
    let s = t.session("kasubag").await;
    for decision in ["return", "reject"] {
        let r = t
            .post_page(
                &s,
                &format!("/tasks/{task}"),
                &format!("/tasks/{task}"),
                &format!("decision={decision}&note=+++"),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("id=\"error-note\""), "{}", r.body);
        assert!(r
            .body
            .contains("tuliskan alasan penolakan atau pengembalian"));
        let tok = t.token("kasubag").await;
        let r = t
            .send(json_req(
                "POST",
                &format!("/api/v1/tasks/{task}/decision"),
                Some(&tok),
                &json!({"decision": decision}),
            ))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(
            r.json()["error"]["fields"]["note"].is_string(),
            "{}",
            r.body
        );
    }
    assert_eq!(t.task_status(&task).await, "open");
}

#[tokio::test]
async fn the_preview_pdf_is_for_whoever_may_see_the_task_and_404_past_its_documents() {
    let t = T::new().await;
    let id = t.submitted().await;
    let task = t.task_of("kasubag", &id).await;
    for who in ["kasubag", "staf", "admin"] {
        let s = t.session(who).await;
        let r = t.page(&s, &format!("/tasks/{task}/pratinjau/1")).await;
        assert_eq!(r.status, StatusCode::OK, "{who}: {}", r.body);
        assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
        assert!(r.body.starts_with("%PDF-"));
    }
    let s = t.session("kasubag").await;
    assert_eq!(
        t.page(&s, &format!("/tasks/{task}/pratinjau/3"))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "one SPT and one SPPD"
    );
    assert_eq!(
        t.page(&s, &format!("/tasks/{task}/pratinjau/nol"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.page(&s, "/tasks/00000000000000000000000000000000/pratinjau/1")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for stranger in ["budi.santoso", "kabag"] {
        let s = t.session(stranger).await;
        let r = t.page(&s, &format!("/tasks/{task}/pratinjau/1")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{stranger}");
        assert!(!r.body.starts_with("%PDF"));
    }
    // Not signed in: to the login page, never the document.
    let r = t
        .send(get(&format!("/tasks/{task}/pratinjau/1"), None))
        .await;
    assert!(r.status.is_redirection(), "{}", r.status);
    // Decided: nothing left to preview.
    t.decide_api("kasubag", &id, "approve", "").await;
    let r = t.page(&s, &format!("/tasks/{task}/pratinjau/1")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_returned_order_shows_its_reason_and_who_returned_it_in_the_mail_the_task_and_atop_the_order(
) {
    let t = T::new().await;
    let id = t.submitted().await;
    let task = t.task_of("kasubag", &id).await;
    let s = t.session("kasubag").await;
    let reason = "Lampirkan undangan rapat dari KPU RI";
    let r = t
        .post_page(
            &s,
            &format!("/tasks/{task}"),
            &format!("/tasks/{task}"),
            &format!("decision=return&note={}", enc(reason)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    t.wf.run_until_idle().await.unwrap();
    let who = "Teguh Prasetyo, S.E. (Kepala Subbagian Keuangan)";
    let edit = format!("/sppd/{id}/ubah");

    let mail = t.mail_to("staf");
    assert!(mail.subject.contains("Mohon perbaikan"), "{}", mail.subject);
    for want in [reason, who, &format!("http://paraf.test{edit}")] {
        assert!(
            mail.text.contains(want),
            "{want:?} not in the mail:\n{}",
            mail.text
        );
    }
    let revision = mail.links[0].rsplit('/').next().unwrap().to_string();

    // The revision task: the reason, who, and the edit form (no bare "resubmit" that
    // would skip the order's rules).
    let staf = t.session("staf").await;
    let r = t.page(&staf, &format!("/tasks/{revision}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for want in [reason, who, &format!("href=\"{edit}\"")] {
        assert!(r.body.contains(want), "{want:?} not on the revision task");
    }
    assert!(!r.body.contains("value=\"resubmit\""));

    // The order page says so first, before the order's facts.
    let r = t.page(&staf, &format!("/sppd/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let at = |s: &str| {
        r.body
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} not on the order page"))
    };
    assert!(at(reason) < at("<dl class=\"facts\">"));
    assert!(at(who) < at("<dl class=\"facts\">"));
    assert!(at(&format!("href=\"{edit}\"")) < at("<dl class=\"facts\">"));
    // Only the requester is offered the edit form; the approver reads the reason.
    let r = t.page(&s, &format!("/sppd/{id}")).await;
    assert!(r.body.contains(reason));
    assert!(!r
        .body
        .contains(&format!("class=\"button\" href=\"{edit}\"")));
    // The API says the same.
    let tok = t.token("staf").await;
    let v = t
        .send(get(&format!("/api/v1/sppd/{id}"), Some(&tok)))
        .await
        .json();
    assert_eq!(v["returned"]["note"], reason);
    assert_eq!(v["returned"]["by_role"], "Kepala Subbagian Keuangan");
}

#[tokio::test]
async fn a_note_given_with_an_approval_is_on_the_order_timeline_and_in_the_next_approvers_mail() {
    let t = T::new().await;
    let id = t.submitted().await;
    let note = "Anggaran tersedia di DIPA 2026";
    t.decide_api("kasubag", &id, "approve", note).await;
    let mail = t.mail_to("kabag");
    assert!(mail.text.contains("Catatan sebelumnya:"), "{}", mail.text);
    assert!(mail.text.contains(note), "{}", mail.text);
    assert!(mail
        .text
        .contains("Teguh Prasetyo, S.E. (Kepala Subbagian Keuangan)"));
    let staf = t.session("staf").await;
    let r = t.page(&staf, &format!("/sppd/{id}")).await;
    let timeline = r.body.split("class=\"history\"").nth(1).expect("timeline");
    assert!(timeline.contains(note), "{timeline}");
}
