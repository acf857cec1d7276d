//! Forged revisions of a paraf-signed letter, checked where people check documents:
//! `paraf verify`, `POST /api/v1/verify` and the `/verifikasi` page of the real binary.
//! Each must say NOT VALID and name what changed; the genuine file stays valid and is
//! recognised in the archive. (Every attack class is in paraf-pdf's attack corpus.)

mod common;

use common::{hidden, letter_pdf, run, text, token, web_session, App, DEMO_PASSWORD};
use paraf_pdf::incremental::Update;
use paraf_pdf::pdf::{Dict, Document, Object};
use serde_json::Value;

const FORGED: &[u8] =
    b"q 1 1 1 rg 60 750 480 40 re f Q BT /F1 14 Tf 72 760 Td (Jumlah Rp 9.999.999) Tj ET";

fn name(s: &str) -> Object {
    Object::Name(s.as_bytes().to_vec())
}

/// One more revision of `signed`, written by `f`.
fn revise(signed: &[u8], f: impl FnOnce(&Document, &mut Update, &mut Dict)) -> Vec<u8> {
    let doc = Document::parse(signed).expect("parse");
    let mut up = Update::new(&doc).expect("update");
    let mut trailer = up.trailer(&doc);
    f(&doc, &mut up, &mut trailer);
    up.finish(&doc, trailer).expect("finish")
}

/// A new catalog and page tree whose page shows another amount (`trailer /Root`).
fn with_new_root(signed: &[u8]) -> Vec<u8> {
    revise(signed, |doc, up, trailer| {
        let (catalog, pages, page, content) = (up.alloc(), up.alloc(), up.alloc(), up.alloc());
        up.write(content, &Object::Stream(Dict::new(), FORGED.to_vec()));
        let old_page = doc.pages().expect("pages")[0];
        let Object::Dict(mut p) = doc.get(old_page).expect("page") else {
            panic!("page");
        };
        p.insert(b"Parent".to_vec(), Object::Ref(pages));
        p.insert(b"Contents".to_vec(), Object::Ref(content));
        up.write(page, &Object::Dict(p));
        let mut tree = Dict::new();
        tree.insert(b"Type".to_vec(), name("Pages"));
        tree.insert(b"Kids".to_vec(), Object::Array(vec![Object::Ref(page)]));
        tree.insert(b"Count".to_vec(), Object::Int(1));
        up.write(pages, &Object::Dict(tree));
        let mut c = doc.catalog().expect("catalog");
        c.insert(b"Pages".to_vec(), Object::Ref(pages));
        up.write(catalog, &Object::Dict(c));
        trailer.insert(b"Root".to_vec(), Object::Ref(catalog));
    })
}

/// A FreeText annotation with another amount over the page.
fn with_overlay_annotation(signed: &[u8]) -> Vec<u8> {
    revise(signed, |doc, up, _| {
        let page = doc.pages().expect("pages")[0];
        let ap = up.alloc();
        let mut form = Dict::new();
        form.insert(b"Type".to_vec(), name("XObject"));
        form.insert(b"Subtype".to_vec(), name("Form"));
        form.insert(
            b"BBox".to_vec(),
            Object::Array([0, 0, 480, 40].map(Object::Int).to_vec()),
        );
        up.write(ap, &Object::Stream(form, FORGED.to_vec()));
        let annot = up.alloc();
        let mut a = Dict::new();
        a.insert(b"Type".to_vec(), name("Annot"));
        a.insert(b"Subtype".to_vec(), name("FreeText"));
        a.insert(
            b"Rect".to_vec(),
            Object::Array([60, 750, 540, 790].map(Object::Int).to_vec()),
        );
        a.insert(b"Contents".to_vec(), Object::Str(b"Rp 9.999.999".to_vec()));
        let mut apd = Dict::new();
        apd.insert(b"N".to_vec(), Object::Ref(ap));
        a.insert(b"AP".to_vec(), Object::Dict(apd));
        up.write(annot, &Object::Dict(a));
        let Object::Dict(mut p) = doc.get(page).expect("page") else {
            panic!("page");
        };
        let mut annots = match doc.dict_get(&p, b"Annots").expect("annots") {
            Some(Object::Array(v)) => v,
            _ => Vec::new(),
        };
        annots.push(Object::Ref(annot));
        p.insert(b"Annots".to_vec(), Object::Array(annots));
        up.write(page, &Object::Dict(p));
    })
}

async fn verify_api(app: &App, token: &str, pdf: &[u8], lang: &str) -> Value {
    let res = common::client()
        .post(app.api(&format!("/verify?lang={lang}")))
        .bearer_auth(token)
        .header("Content-Type", "application/pdf")
        .body(pdf.to_vec())
        .send()
        .await
        .expect("verify request");
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

fn descriptions(report: &Value) -> Vec<(bool, String)> {
    report["signatures"][0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["allowed"].as_bool().expect("allowed"),
                c["description"].as_str().expect("description").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn forged_revisions_are_not_valid_on_the_command_line_the_api_and_the_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let o = run(&data, &["init", "--demo"]);
    assert!(o.status.success(), "init: {}", text(&o));
    let letter = dir.path().join("kuitansi.pdf");
    std::fs::write(&letter, letter_pdf("KUITANSI Jumlah Rp 1.250.000")).expect("write");
    let signed_path = dir.path().join("kuitansi-ttd.pdf");
    let o = run(
        &data,
        &[
            "sign",
            &letter.display().to_string(),
            "--signer",
            "sekretaris@demo.paraf.test",
            "--out",
            &signed_path.display().to_string(),
            "--title",
            "Kuitansi",
        ],
    );
    assert!(o.status.success(), "sign: {}", text(&o));
    let signed = std::fs::read(&signed_path).expect("signed");
    let forged = [
        ("new-root", with_new_root(&signed)),
        ("freetext", with_overlay_annotation(&signed)),
    ];

    // The command line: exit 1, NOT VALID, and what changed.
    for (label, bytes) in &forged {
        let f = dir.path().join(format!("{label}.pdf"));
        std::fs::write(&f, bytes).expect("write");
        let o = run(&data, &["verify", &f.display().to_string()]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{label}: {t}");
        assert!(t.contains("NOT VALID"), "{label}: {t}");
        let named = match *label {
            "new-root" => "NOT ALLOWED: revision 3: the document catalog was replaced",
            _ => "NOT ALLOWED: revision 3: FreeText annotation added on page 1",
        };
        assert!(t.contains(named), "{label}: {t}");
        assert!(
            t.contains("no archived document has exactly these bytes"),
            "{t}"
        );
    }
    let o = run(&data, &["verify", &signed_path.display().to_string()]);
    assert!(o.status.success(), "the genuine file: {}", text(&o));

    // The API, in Indonesian and English.
    let app = App::start(&data);
    let staff = token(&app, "staf@demo.paraf.test", DEMO_PASSWORD).await;
    let v = verify_api(&app, &staff, &forged[0].1, "id").await;
    assert_eq!(v["all_valid"], false, "{v}");
    assert_eq!(v["signatures"][0]["valid"], false, "{v}");
    assert_eq!(v["signatures"][0]["modification"], "content_changed", "{v}");
    assert!(v["archived"].is_null(), "{v}");
    assert!(
        descriptions(&v)
            .iter()
            .any(|(ok, d)| !ok && d.contains("katalog dokumen diganti")),
        "{v}"
    );
    let v = verify_api(&app, &staff, &forged[1].1, "en").await;
    assert_eq!(v["all_valid"], false, "{v}");
    assert!(
        descriptions(&v)
            .iter()
            .any(|(ok, d)| !ok && d.starts_with("revision 3: FreeText annotation added on page 1")),
        "{v}"
    );
    let v = verify_api(&app, &staff, &signed, "id").await;
    assert_eq!(v["all_valid"], true, "{v}");
    assert_eq!(v["signatures"][0]["modification"], "none", "{v}");
    assert!(v["archived"]["id"].is_string(), "{v}");

    // The page: the verdict and each refused change, in Indonesian.
    let web = web_session(&app, "arsiparis@demo.paraf.test").await;
    let form = web
        .get(format!("{}/verifikasi", app.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let csrf = hidden(&form, "csrf");
    let body = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(forged[1].1.clone())
            .file_name("kuitansi.pdf")
            .mime_str("application/pdf")
            .expect("mime"),
    );
    let res = web
        .post(format!("{}/verifikasi", app.url))
        .multipart(body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("html");
    assert!(html.contains("Tidak diizinkan"), "{html}");
    assert!(
        html.contains("anotasi FreeText ditambahkan di halaman 1"),
        "{html}"
    );
    assert!(!html.contains("Semua tanda tangan sah"), "{html}");
}
