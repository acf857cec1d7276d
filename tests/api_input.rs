//! What a new API user met (issue 12), replayed on the real `paraf serve --demo`: the cost
//! estimate of a form, a draft changed without its version, impossible dates and bodies,
//! a page size past 32 bits, control and text-direction characters in stored texts, and
//! malformed JSON. Each refusal names the field and nothing is stored.

mod common;

use common::{call, client, demo_token as token, sppd_form, today_wib, ymd, App};
use serde_json::{json, Value};

const STAF: &str = "staf@demo.paraf.test";

fn form() -> Value {
    let dep = today_wib() + time::Duration::days(10);
    sppd_form(
        &[STAF],
        "Rapat koordinasi logistik pemilu",
        dep,
        dep + time::Duration::days(2),
    )
}

/// The field a refusal names, with its status.
fn refusal(status: u16, v: &Value, want: u16, field: &str) {
    assert_eq!(status, want, "{v}");
    assert!(
        v["error"]["fields"][field]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{field} not named: {v}"
    );
}

async fn my_orders(app: &App, tok: &str) -> usize {
    let (s, v) = call(app, tok, "GET", "/sppd?scope=mine", None).await;
    assert_eq!(s, 200, "{v}");
    v.as_array().expect("list").len()
}

#[tokio::test]
async fn the_estimate_answers_every_form_and_changing_a_draft_needs_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let staf = token(&app, STAF).await;

    let (s, v) = call(&app, &staf, "POST", "/sppd/estimate", Some(form())).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["total"].as_i64().is_some_and(|t| t > 0), "{v}");
    let (s, v) = call(&app, &staf, "POST", "/sppd/estimate", Some(json!({}))).await;
    refusal(s, &v, 422, "pelaksana");
    assert_eq!(my_orders(&app, &staf).await, 0, "an estimate saves nothing");

    let (s, draft) = call(&app, &staf, "POST", "/sppd", Some(form())).await;
    assert_eq!(s, 201, "{draft}");
    let path = format!("/sppd/{}", draft["id"].as_str().unwrap());
    let (s, v) = call(&app, &staf, "PUT", &path, Some(json!({"maksud": "x"}))).await;
    refusal(s, &v, 400, "version");
    let (_, kept) = call(&app, &staf, "GET", &path, None).await;
    assert_eq!(kept["pelaksana"].as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(kept["maksud"], draft["maksud"]);

    let mut changed = form();
    changed["maksud"] = json!("Rapat koordinasi distribusi logistik");
    changed["version"] = draft["version"].clone();
    let (s, v) = call(&app, &staf, "PUT", &path, Some(changed)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["maksud"], "Rapat koordinasi distribusi logistik");
    app.stop();
}

#[tokio::test]
async fn impossible_dates_non_object_bodies_and_huge_page_sizes_are_refused_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let staf = token(&app, STAF).await;
    let admin = token(&app, "admin@demo.paraf.test").await;

    for (dep, ret, status, field) in [
        ("0000-01-01", None, 400, "tanggal_berangkat"),
        ("+2027-01-01", None, 400, "tanggal_berangkat"),
        ("1900-01-01", Some("9999-12-31"), 422, "tanggal_kembali"),
    ] {
        let mut f = form();
        f["tanggal_berangkat"] = json!(dep);
        if let Some(r) = ret {
            f["tanggal_kembali"] = json!(r);
        }
        let (s, v) = call(&app, &staf, "POST", "/sppd", Some(f)).await;
        refusal(s, &v, status, field);
    }
    // The longest trip a draft takes is 60 days, both ends counted.
    let dep = today_wib() + time::Duration::days(10);
    let mut f = form();
    f["tanggal_kembali"] = json!(ymd(dep + time::Duration::days(60)));
    let (s, v) = call(&app, &staf, "POST", "/sppd", Some(f)).await;
    refusal(s, &v, 422, "tanggal_kembali");
    let (s, v) = call(&app, &staf, "POST", "/sppd", Some(json!([]))).await;
    refusal(s, &v, 400, "body");
    assert_eq!(my_orders(&app, &staf).await, 0, "no draft was stored");

    for (limit, status) in [("2147483648", 422), ("99999999999", 400), ("0", 422)] {
        let (s, v) = call(
            &app,
            &admin,
            "GET",
            &format!("/admin/employees?limit={limit}"),
            None,
        )
        .await;
        refusal(s, &v, status, "limit");
    }
    app.stop();
}

#[tokio::test]
async fn control_and_direction_characters_are_refused_in_stored_texts_and_bad_json_names_its_field()
{
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let agendaris = token(&app, "agendaris@demo.paraf.test").await;
    let letter = json!({"subject": "Undangan rapat pleno", "number": "045/UND/XI/2026",
                        "sender": "KPU RI", "date": "2026-11-27", "holder": "ketua@demo.paraf.test"});
    for (field, value) in [
        ("subject", "Undangan\u{0}rapat"),
        ("number", "045/UND/\u{202e}6202"),
        ("sender", "KPU\u{2066} RI"),
    ] {
        let mut body = letter.clone();
        body[field] = json!(value);
        let (s, v) = call(&app, &agendaris, "POST", "/dispositions", Some(body)).await;
        refusal(s, &v, 422, field);
    }
    let (s, v) = call(&app, &agendaris, "GET", "/dispositions", None).await;
    assert_eq!(s, 200, "{v}");
    let ketua = token(&app, "ketua@demo.paraf.test").await;
    let (_, inbox) = call(&app, &ketua, "GET", "/dispositions", None).await;
    assert_eq!(inbox, json!([]), "no letter was registered");

    let staf = token(&app, STAF).await;
    let mut f = form();
    f["pengikut"] = json!([{"nama": "Sopir\u{202e}", "keterangan": ""}]);
    let (s, v) = call(&app, &staf, "POST", "/sppd", Some(f)).await;
    refusal(s, &v, 422, "pengikut.0.nama");

    for (body, field) in [
        (r#"{"maksud": "x""#, "body"),
        (r#"{"pelaksana": "staf"}"#, "pelaksana"),
        (r#"{"pelaksana": [1]}"#, "pelaksana.0"),
    ] {
        let r = client()
            .post(app.api("/sppd?lang=en"))
            .bearer_auth(&staf)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        refusal(s, &v, 400, field);
        let shown = v.to_string();
        for rust in ["Vec<", "String", "struct", "SppdForm", "sequence", "i64"] {
            assert!(!shown.contains(rust), "{body}: {rust} shown: {shown}");
        }
    }
    app.stop();
}
