//! Documents over HTTP: signing an uploaded PDF, the archivist's search / detail /
//! download (every retrieval logged), verification against the archive, bad uploads, and
//! the public page behind the QR code.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use paraf_core::{Blobs, NewEmployee, Signer};
use paraf_local::signer::{LocalCa, LocalSigner};
use serde_json::Value;
use support::*;

const ARCHIVIST_NIP: &str = "198806152012122001";
const ARCHIVIST_EMAIL: &str = "arsip@kpu-jabar.go.id";

struct Docs {
    app: TestApp,
    _pki: tempfile::TempDir,
    admin: String,
    staff: String,
    archivist: String,
    archivist_id: String,
}

async fn docs() -> Docs {
    let mut app = TestApp::new().await;
    let pki = tempfile::tempdir().expect("tempdir");
    LocalCa::init(pki.path(), "KPU Provinsi Jawa Barat").expect("CA");
    let signer = LocalSigner::open(pki.path()).expect("signer");
    app.state.signer = Arc::new(signer) as Arc<dyn Signer>;
    let admin = app.state.org.employee(&app.admin_id).await.expect("admin");
    let arch = app
        .state
        .org
        .create_employee(NewEmployee {
            nip: ARCHIVIST_NIP.into(),
            name: "Dewi Lestari".into(),
            email: ARCHIVIST_EMAIL.into(),
            jabatan: "Arsiparis".into(),
            unit: admin.unit_id.clone(),
            roles: vec!["archivist".into()],
            ..Default::default()
        })
        .await
        .expect("archivist");
    app.state
        .auth
        .set_password(&arch.id, PASSWORD)
        .await
        .expect("password");
    let admin = app.login(ADMIN_EMAIL).await;
    let staff = app.login(STAFF_EMAIL).await;
    let archivist = app.login(ARCHIVIST_EMAIL).await;
    Docs {
        app,
        _pki: pki,
        admin,
        staff,
        archivist,
        archivist_id: arch.id,
    }
}

/// A one-page A4 PDF with a classic xref table; `trailer_extra` goes into the trailer.
fn simple_pdf(trailer_extra: &str) -> Vec<u8> {
    let objs = [
        "<</Type/Catalog/Pages 2 0 R>>",
        "<</Type/Pages/Kids[3 0 R]/Count 1>>",
        "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offs = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offs.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 4\n0000000000 65535 f \n");
    for o in offs {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<</Size 4/Root 1 0 R{trailer_extra}>>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    out
}

/// A page tree whose node is its own kid.
fn looping_pdf() -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let o1 = pdf.len();
    pdf.extend_from_slice(b"1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n");
    let o2 = pdf.len();
    pdf.extend_from_slice(b"2 0 obj\n<</Type/Pages/Kids[2 0 R]/Count 1>>\nendobj\n");
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!(
            "xref\n0 3\n0000000000 65535 f \n{o1:010} 00000 n \n{o2:010} 00000 n \ntrailer\n<</Size 3/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    pdf
}

fn pdf_req(uri: &str, token: &str, bytes: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/pdf")
        .header(header::CONTENT_LENGTH, bytes.len().to_string())
        .body(Body::from(bytes))
        .expect("request")
}

fn multipart_req(uri: &str, token: &str, fields: &[(&str, &str)], pdf: &[u8]) -> Request<Body> {
    let boundary = "paraf-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"surat.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request")
}

/// Signs a fresh PDF as the admin through the API; returns the document JSON.
async fn signed_document(d: &Docs, title: &str, number: &str) -> Value {
    let r = d
        .app
        .send(multipart_req(
            "/api/v1/documents/sign",
            &d.admin,
            &[
                ("title", title),
                ("number", number),
                ("classification", "TU"),
                ("position", "bottom-right"),
                ("page", "1"),
            ],
            &simple_pdf(""),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["document"].clone()
}

async fn archived_bytes(d: &Docs, id: &str) -> Vec<u8> {
    let doc = d.app.state.archive.get(id).await.expect("archived");
    d.app.blobs.get(&doc.blob_key).await.expect("blob").1
}

async fn archive_is_empty(d: &Docs) -> bool {
    let (docs, _) = d
        .app
        .state
        .archive
        .search(&Default::default(), 50, None)
        .await
        .expect("search");
    // No record, and no event at all in the audit trail.
    let chain = d.app.state.archive.audit().verify().await.expect("chain");
    docs.is_empty()
        && matches!(
            chain,
            paraf_core::audit::ChainReport::Intact { events: 0, .. }
        )
}

#[tokio::test]
async fn an_archivist_finds_a_document_and_every_retrieval_is_logged() {
    let d = docs().await;
    let doc = signed_document(&d, "Nota Dinas Rapat Pleno", "5/TU.01/32/2026").await;
    let id = doc["id"].as_str().expect("id").to_string();
    assert_eq!(doc["signers"][0]["nip"], ADMIN_NIP);

    for q in [
        "q=pleno",
        "number=5%2FTU.01%2F32%2F2026",
        "type=surat",
        "signer=198503122010011003",
        "from=2026-11-28&to=2026-11-28",
    ] {
        let r = d
            .app
            .send(get(
                &format!("/api/v1/archive/documents?{q}"),
                Some(&d.archivist),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
        assert_eq!(r.json()["items"][0]["id"], id.as_str(), "{q}");
    }
    let r = d
        .app
        .send(get(
            "/api/v1/archive/documents?q=anggaran",
            Some(&d.archivist),
        ))
        .await;
    assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(0));
    let r = d
        .app
        .send(get(
            "/api/v1/archive/documents?from=28-11-2026",
            Some(&d.archivist),
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    let r = d
        .app
        .send(json_req(
            "POST",
            &format!("/api/v1/archive/documents/{id}/download-link"),
            Some(&d.archivist),
            &serde_json::json!({}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["url"].as_str().is_some_and(|u| !u.is_empty()));

    let r = d
        .app
        .send(get(
            &format!("/api/v1/archive/documents/{id}"),
            Some(&d.archivist),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let events = r.json()["events"].as_array().cloned().unwrap_or_default();
    assert!(events.iter().any(|e| e["action"] == "archived"));
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "downloaded" && e["actor"] == d.archivist_id.as_str()),
        "{events:?}"
    );

    let r = d
        .app
        .send(get(
            "/api/v1/archive/retention?year=2028",
            Some(&d.archivist),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["items"][0]["due"], "transfer");

    // The archive pages, with the same identity.
    let r = d.app.send(get("/arsip?q=pleno", Some(&d.archivist))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Nota Dinas Rapat Pleno"));
    let r = d
        .app
        .send(get(&format!("/arsip/{id}"), Some(&d.archivist)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("downloaded"));
}

#[tokio::test]
async fn only_archivists_search_and_others_see_only_their_own_documents() {
    let d = docs().await;
    let doc = signed_document(&d, "Surat Undangan", "6/TU.01/32/2026").await;
    let id = doc["id"].as_str().expect("id");
    for uri in [
        "/api/v1/archive/documents".to_string(),
        "/api/v1/archive/retention".to_string(),
        format!("/api/v1/archive/documents/{id}"),
    ] {
        let r = d.app.send(get(&uri, Some(&d.staff))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.body);
    }
    let r = d.app.send(get("/arsip", Some(&d.staff))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The signer may fetch their own document.
    let r = d
        .app
        .send(get(
            &format!("/api/v1/archive/documents/{id}"),
            Some(&d.admin),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Without a login: 401.
    let r = d.app.send(get("/api/v1/archive/documents", None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_verified_upload_is_recognised_as_the_archived_document() {
    let d = docs().await;
    let doc = signed_document(&d, "Berita Acara Rekapitulasi", "7/PL.01/32/2026").await;
    let id = doc["id"].as_str().expect("id").to_string();
    let bytes = archived_bytes(&d, &id).await;

    let r = d
        .app
        .send(pdf_req("/api/v1/verify", &d.staff, bytes.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["all_valid"], true, "{v}");
    assert_eq!(v["signatures"][0]["signer_nip"], ADMIN_NIP);
    assert_eq!(v["archived"]["id"], id.as_str());
    assert!(
        v["archived"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("dokumen arsip") && m.contains(&id)),
        "{v}"
    );
    // In English on request.
    let r = d
        .app
        .send(pdf_req("/api/v1/verify?lang=en", &d.staff, bytes.clone()))
        .await;
    assert!(r.json()["archived"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("archived document")));

    // One byte changed inside the signed range: invalid, and not the archived document.
    let mut tampered = bytes.clone();
    if let Some(at) = tampered.windows(5).position(|w| w == b"/Page") {
        tampered[at + 1] = b'p';
    }
    let r = d
        .app
        .send(pdf_req("/api/v1/verify", &d.staff, tampered))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["all_valid"], false);
    assert!(r.json()["archived"].is_null());

    // The multipart form works too, and the verification is in the audit trail.
    let r = d
        .app
        .send(multipart_req("/api/v1/verify", &d.staff, &[], &bytes))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let events = d
        .app
        .state
        .archive
        .audit()
        .events_of(&id)
        .await
        .expect("events");
    assert!(events
        .iter()
        .any(|e| e.action == paraf_core::audit::AuditAction::Verified));
}

#[tokio::test]
async fn bad_uploads_are_refused_with_a_clear_4xx_and_nothing_is_stored() {
    let d = docs().await;
    let good = simple_pdf("");
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("not a pdf", b"PK\x03\x04 this is a zip".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("object loop", looping_pdf()),
        (
            "encrypted",
            simple_pdf("/Encrypt<</Filter/Standard/V 2/R 3/O<00>/U<00>/P -4>>"),
        ),
    ];
    for (what, bytes) in bad {
        for uri in [
            "/api/v1/verify",
            "/api/v1/documents/sign?title=Surat&position=bottom-right",
        ] {
            let r = d.app.send(pdf_req(uri, &d.admin, bytes.clone())).await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{what} to {uri}: {}",
                r.body
            );
            let msg = r.json()["error"]["fields"]["file"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(!msg.is_empty(), "{what}: {}", r.body);
        }
    }
    // Encrypted says so.
    let r = d
        .app
        .send(pdf_req(
            "/api/v1/verify",
            &d.admin,
            simple_pdf("/Encrypt<</Filter/Standard>>"),
        ))
        .await;
    assert!(r.body.contains("terenkripsi"), "{}", r.body);

    // 100 MB of junk: refused from its Content-Length, before it is read.
    let junk = vec![0x5Au8; 100 * 1024 * 1024];
    for uri in ["/api/v1/verify", "/api/v1/documents/sign?title=x"] {
        let r = d.app.send(pdf_req(uri, &d.admin, junk.clone())).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
        assert_eq!(r.json()["error"]["code"], "payload_too_large");
    }
    // Neither a body nor a known type.
    let r = d
        .app
        .send(
            Request::builder()
                .method("POST")
                .uri("/api/v1/verify")
                .header(header::AUTHORIZATION, format!("Bearer {}", d.admin))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("hello"))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A missing title on a good PDF: 422 naming the field, nothing signed.
    let r = d
        .app
        .send(pdf_req("/api/v1/documents/sign", &d.admin, good))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["error"]["fields"]["title"].is_string());

    assert!(archive_is_empty(&d).await, "nothing may be archived");
}

#[tokio::test]
async fn the_public_page_shows_the_record_and_never_the_content() {
    let d = docs().await;
    let doc = signed_document(
        &d,
        "Keputusan Sekretaris tentang Tim Kerja",
        "8/HK.02/32/2026",
    )
    .await;
    let id = doc["id"].as_str().expect("id");
    assert_eq!(
        doc["verification_url"],
        format!("http://paraf.test/v/{id}").as_str()
    );
    let r = d.app.send(get(&format!("/v/{id}"), None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Keputusan Sekretaris tentang Tim Kerja"));
    assert!(r.body.contains("8/HK.02/32/2026"));
    assert!(r.body.contains("Budi Santoso"));
    assert!(r.body.contains("Terdaftar di arsip"));
    assert!(!r.body.contains("/api/v1/files"));
    assert!(!r.body.contains(ADMIN_NIP), "no NIP on the public page");
    assert!(!r.body.contains("unduh"));

    let r = d
        .app
        .send(get(&format!("/api/v1/public/documents/{id}"), None))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "registered");

    for unknown in ["/v/does-not-exist", "/v/..%2F..%2Fetc"] {
        let r = d.app.send(get(unknown, None)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{unknown}");
    }
}

#[tokio::test]
async fn the_document_routes_are_in_the_openapi_document() {
    let d = docs().await;
    let r = d.app.send(get("/api/v1/openapi.json", None)).await;
    let paths = r.json()["paths"].clone();
    for p in [
        "/api/v1/archive/documents",
        "/api/v1/archive/documents/{id}",
        "/api/v1/archive/documents/{id}/download-link",
        "/api/v1/archive/retention",
        "/api/v1/verify",
        "/api/v1/documents/sign",
        "/api/v1/public/documents/{id}",
    ] {
        assert!(paths.get(p).is_some(), "{p} missing from OpenAPI");
    }
}
