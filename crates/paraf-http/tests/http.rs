//! The HTTP surface driven through `router(state).oneshot(..)`.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use paraf_core::{BlobsError, PutBlob};
use paraf_http::{AuthorizerClaims, ClientAddr};
use serde_json::{json, Value};
use support::*;

#[tokio::test]
async fn healthz_answers_ok_when_the_table_answers() {
    let t = TestApp::new().await;
    let r = t.send(get("/healthz", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ok"}));
    assert!(
        r.headers.get("x-request-id").is_some(),
        "a request id is given to every response"
    );
}

/// Every API route, as served. Adding a route means adding it here; the test then proves
/// the OpenAPI document carries it with exactly the methods the router answers.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/dashboard"),
    ("GET", "/api/v1/org/units"),
    ("GET", "/api/v1/org/employees/{id}/supervisors"),
    ("POST", "/api/v1/admin/units"),
    ("PUT", "/api/v1/admin/units/{id}/head"),
    ("GET", "/api/v1/admin/employees"),
    ("POST", "/api/v1/admin/employees"),
    ("GET", "/api/v1/admin/employees/{id}"),
    ("PUT", "/api/v1/admin/employees/{id}/roles"),
    ("PUT", "/api/v1/admin/employees/{id}/active"),
    ("PUT", "/api/v1/admin/employees/{id}/password"),
    ("POST", "/api/v1/admin/employees/import"),
    ("GET", "/api/v1/admin/delegations"),
    ("POST", "/api/v1/admin/delegations"),
    ("GET", "/api/v1/files/{token}"),
    ("GET", "/api/v1/archive/documents"),
    ("GET", "/api/v1/archive/documents/{id}"),
    ("POST", "/api/v1/archive/documents/{id}/download-link"),
    ("GET", "/api/v1/archive/retention"),
    ("POST", "/api/v1/verify"),
    ("POST", "/api/v1/documents/sign"),
    ("GET", "/api/v1/public/documents/{id}"),
    ("POST", "/api/v1/approvals"),
    ("GET", "/api/v1/approvals/{name}"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/api/v1/tasks/{id}"),
    ("POST", "/api/v1/tasks/{id}/decision"),
    ("POST", "/api/v1/tasks/{id}/reassign"),
    ("POST", "/api/v1/dispositions"),
    ("GET", "/api/v1/dispositions"),
    ("GET", "/api/v1/dispositions/{id}"),
    ("POST", "/api/v1/dispositions/{id}/read"),
    ("POST", "/api/v1/dispositions/{id}/complete"),
    ("POST", "/api/v1/dispositions/{id}/forward"),
    ("POST", "/api/v1/dispositions/{id}/cancel"),
    ("POST", "/api/v1/dispositions/{id}/reassign"),
    ("GET", "/api/v1/letters/{id}"),
    ("GET", "/api/v1/sppd"),
    ("POST", "/api/v1/sppd"),
    ("GET", "/api/v1/sppd/export"),
    ("POST", "/api/v1/sppd/estimate"),
    ("GET", "/api/v1/sppd/settings"),
    ("PUT", "/api/v1/sppd/settings"),
    ("GET", "/api/v1/sppd/{id}"),
    ("PUT", "/api/v1/sppd/{id}"),
    ("POST", "/api/v1/sppd/{id}/attachments"),
    ("GET", "/api/v1/sppd/{id}/files/{file_id}"),
    ("POST", "/api/v1/sppd/{id}/submit"),
    ("POST", "/api/v1/sppd/{id}/resubmit"),
    ("POST", "/api/v1/sppd/{id}/withdraw"),
    ("POST", "/api/v1/sppd/{id}/stops"),
    ("POST", "/api/v1/sppd/{id}/stops/{no}/link"),
    ("POST", "/api/v1/sppd/{id}/stops/{no}/scan"),
    ("PUT", "/api/v1/sppd/{id}/report"),
    ("POST", "/api/v1/sppd/{id}/photos"),
    ("POST", "/api/v1/sppd/{id}/costs"),
    ("DELETE", "/api/v1/sppd/{id}/costs/{cost_id}"),
    ("POST", "/api/v1/sppd/{id}/report/submit"),
    ("POST", "/api/v1/sppd/{id}/verify"),
    ("GET", "/api/v1/sbm/{year}"),
    ("PUT", "/api/v1/sbm/{year}"),
    ("GET", "/api/v1/sbm/{year}/history"),
    ("GET", "/api/v1/pagu/{year}"),
    ("PUT", "/api/v1/pagu/{year}/{akun}"),
    ("GET", "/api/v1/admin/sign-steps"),
    ("GET", "/api/v1/admin/sign-steps/{id}"),
    ("POST", "/api/v1/admin/sign-steps/{id}/retry"),
];

#[tokio::test]
async fn the_openapi_document_lists_every_route_the_router_serves() {
    let t = TestApp::new().await;
    let r = t.send(get("/api/v1/openapi.json", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, expected);
    // And the router answers exactly those methods on those paths (405 otherwise).
    for path in documented.iter().map(|(_, p)| p).collect::<BTreeSet<_>>() {
        let concrete = path
            .replace("{id}", "x")
            .replace("{token}", "x")
            .replace("{name}", "x");
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let req = Request::builder()
                .method(method)
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let r = t.send(req).await;
            let served = documented.contains(&(method.to_string(), path.clone()));
            assert_eq!(
                r.status != StatusCode::METHOD_NOT_ALLOWED,
                served,
                "{method} {concrete} answered {}",
                r.status
            );
        }
    }
}

#[tokio::test]
async fn login_by_nip_and_by_email_gives_a_token_that_opens_me() {
    let t = TestApp::new().await;
    for login in [STAFF_NIP, "19900101 201503 2 001", STAFF_EMAIL] {
        let r = t
            .send(json_req(
                "POST",
                "/api/v1/auth/login",
                None,
                &json!({"login": login, "password": PASSWORD}),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{login}: {}", r.body);
        let body = r.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["employee"]["nip"], STAFF_NIP);
        let token = body["token"].as_str().unwrap();
        let me = t.send(get("/api/v1/me", Some(token))).await;
        assert_eq!(me.status, StatusCode::OK);
        assert_eq!(me.json()["name"], "Siti Rahmawati");
        assert_eq!(me.headers[header::CACHE_CONTROL], "no-store");
    }
}

#[tokio::test]
async fn the_openapi_document_names_the_refusals_of_logins_and_of_the_last_admin() {
    let t = TestApp::new().await;
    let doc = t.send(get("/api/v1/openapi.json", None)).await.json();
    let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    assert!(
        login["429"]["headers"]["Retry-After"].is_object(),
        "{login}"
    );
    assert!(login["408"].is_object(), "{login}");
    for (path, field) in [
        ("/api/v1/admin/employees/{id}/roles", "`roles`"),
        ("/api/v1/admin/employees/{id}/active", "`active`"),
    ] {
        let conflict = &doc["paths"][path]["put"]["responses"]["409"]["description"];
        assert!(
            conflict
                .as_str()
                .is_some_and(|d| d.contains("last active admin") && d.contains(field)),
            "{path}: {conflict}"
        );
    }
}

/// The schema `s` with its `$ref` (if any) followed to the component.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &doc["components"]["schemas"][name]
        }
        None => s,
    }
}

/// The named properties of an object schema, `allOf` parts merged.
fn properties(doc: &Value, s: &Value) -> serde_json::Map<String, Value> {
    let s = resolve(doc, s);
    let mut out = s["properties"].as_object().cloned().unwrap_or_default();
    for part in s["allOf"].as_array().into_iter().flatten() {
        out.extend(properties(doc, part));
    }
    out
}

/// The allowed values of a (possibly nullable, possibly referenced) string schema.
fn enum_values(doc: &Value, s: &Value) -> Option<Vec<String>> {
    let s = resolve(doc, s);
    if let Some(v) = s["enum"].as_array() {
        return Some(
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
        );
    }
    s["oneOf"]
        .as_array()?
        .iter()
        .find_map(|branch| enum_values(doc, branch))
}

/// Every operation of the document as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), op));
        }
    }
    out
}

#[tokio::test]
async fn every_request_body_in_the_openapi_document_is_typed_with_named_parts_and_binary_files() {
    let t = TestApp::new().await;
    let doc = t.send(get("/api/v1/openapi.json", None)).await.json();
    let mut bodies = 0;
    for (method, path, op) in operations(&doc) {
        let Some(content) = op["requestBody"]["content"].as_object() else {
            continue;
        };
        for (media, c) in content {
            bodies += 1;
            let s = resolve(&doc, &c["schema"]);
            let at = format!("{method} {path} {media}");
            match media.as_str() {
                "application/json" | "multipart/form-data" => {
                    let props = properties(&doc, s);
                    assert!(!props.is_empty(), "{at}: no named properties: {s}");
                    if media == "multipart/form-data" {
                        let file = &props["file"];
                        assert_eq!(file["format"], "binary", "{at}: the file part: {file}");
                    }
                }
                "application/pdf" => {
                    assert_eq!(s["type"], "string", "{at}: {s}");
                    assert_eq!(s["format"], "binary", "{at}: {s}");
                }
                "text/csv" => assert_eq!(s["type"], "string", "{at}"),
                other => panic!("{at}: unexpected media type {other}"),
            }
        }
    }
    assert!(bodies >= 35, "{bodies} request bodies");
    // Two types once shared the name `ReassignBody`, and one of them won: each reassign
    // route must document the field its server reads.
    for (path, field) in [
        ("/api/v1/dispositions/{id}/reassign", "to"),
        ("/api/v1/tasks/{id}/reassign", "assignee"),
    ] {
        let body = &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"];
        let s = resolve(&doc, &body["schema"]);
        assert!(s["properties"][field].is_object(), "{path}: {s}");
        assert_eq!(s["required"], json!([field]), "{path}: {s}");
    }
    for path in ["/api/v1/sppd/estimate", "/api/v1/sbm/{year}"] {
        let ops = doc["paths"][path].as_object().unwrap();
        for (method, op) in ops {
            let ok = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(k, _)| k.starts_with('2'))
                .map(|(_, r)| resolve(&doc, &r["content"]["application/json"]["schema"]))
                .unwrap();
            assert!(ok["properties"].is_object(), "{method} {path}: {ok}");
        }
    }
}

#[tokio::test]
async fn every_operation_documents_the_refusals_its_shape_allows() {
    let t = TestApp::new().await;
    let doc = t.send(get("/api/v1/openapi.json", None)).await.json();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        let has = |s: &str| responses.contains_key(s);
        let at = format!("{method} {path}");
        let public = op["security"]
            .as_array()
            .is_some_and(|reqs| reqs.iter().any(|r| r == &json!({})));
        // A public operation may still answer 401 for its own reasons (a wrong password).
        assert!(public || has("401"), "{at}");
        assert!(has("500"), "{at}");
        if op["requestBody"].is_object() {
            for s in ["400", "408", "413", "415", "422"] {
                assert!(has(s), "{at} lacks {s}");
            }
        }
        if path.contains('{') {
            assert!(has("400") && has("404"), "{at}");
        }
        for (status, r) in responses {
            if status.starts_with('4') {
                let s = &r["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(s, "#/components/schemas/ErrorBody", "{at} {status}");
            }
        }
    }
    let sbm = &doc["paths"]["/api/v1/sbm/{year}"]["get"];
    assert!(sbm["responses"]["422"].is_object());
    assert_eq!(sbm["parameters"][0]["schema"]["minimum"], 2000);
}

#[tokio::test]
async fn the_openapi_document_names_allowed_values_as_enums_and_shows_examples() {
    let t = TestApp::new().await;
    let doc = t.send(get("/api/v1/openapi.json", None)).await.json();
    let schemas = &doc["components"]["schemas"];
    let values = |schema: &str, prop: &str| -> Vec<String> {
        let p = &schemas[schema]["properties"][prop];
        let p = if p["items"].is_object() {
            &p["items"]
        } else {
            p
        };
        enum_values(&doc, p).unwrap_or_else(|| panic!("{schema}.{prop} is no enum: {p}"))
    };
    for (schema, prop, one) in [
        ("CostLine", "jenis", "uang_harian"),
        ("CostUpload", "jenis", "penginapan"),
        ("CostView", "jenis", "transport"),
        ("SppdForm", "kategori", "diklat"),
        ("OrderView", "kategori", "luar_kota"),
        ("ForwardBody", "instruction", "tindak lanjuti"),
        ("DispositionView", "instruction", "arsipkan"),
        ("OrderView", "status", "accepted"),
        ("SummaryView", "status", "draft"),
        ("DispositionView", "status", "forwarded"),
        ("TaskView", "status", "superseded"),
        ("StepView", "state", "returned"),
        ("ImportRowView", "status", "rejected"),
        ("LetterView", "status", "RUNNING"),
        ("DecisionBody", "decision", "withdraw"),
        ("VerifyBody", "decision", "accept"),
        ("NewUnitBody", "kind", "subbagian"),
        ("SetRolesBody", "roles", "bendahara"),
        ("ErrorDetail", "code", "validation"),
    ] {
        let v = values(schema, prop);
        assert!(v.iter().any(|x| x == one), "{schema}.{prop}: {v:?}");
    }
    for schema in [
        "LoginRequest",
        "SppdForm",
        "RegisterBody",
        "ForwardBody",
        "DecisionBody",
        "ReportBody",
        "ErrorBody",
    ] {
        assert!(
            schemas[schema]["example"].is_object(),
            "{schema} has no example"
        );
    }
}

/// A login request from the client address `from`, as a server in front would mark it.
fn login_from(from: &str, login: &str, password: &str) -> Request<Body> {
    let mut req = json_req(
        "POST",
        "/api/v1/auth/login",
        None,
        &json!({"login": login, "password": password}),
    );
    req.extensions_mut()
        .insert(ClientAddr(from.parse().expect("address")));
    req
}

#[tokio::test]
async fn wrong_password_is_401_and_the_eleventh_attempt_from_that_address_is_429() {
    let t = TestApp::new().await;
    let stranger = "203.0.113.7";
    for _ in 0..10 {
        let r = t
            .send(login_from(stranger, STAFF_EMAIL, "salah-salah"))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["error"]["code"], "unauthenticated");
    }
    let r = t.send(login_from(stranger, STAFF_EMAIL, PASSWORD)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.json()["error"]["code"], "too_many_requests");
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=120).contains(&retry), "{retry}");
    // The owner, elsewhere, is not locked out.
    let r = t
        .send(login_from("198.51.100.20", STAFF_EMAIL, PASSWORD))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    t.clock.advance(time::Duration::seconds(retry as i64));
    let r = t.send(login_from(stranger, STAFF_EMAIL, PASSWORD)).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_forwarded_for_header_does_not_change_the_address_that_is_throttled() {
    let t = TestApp::new().await;
    for i in 0..10 {
        let mut req = login_from("203.0.113.7", STAFF_EMAIL, "salah-salah");
        // A client-written header, different every time: ignored.
        req.headers_mut().insert(
            "x-forwarded-for",
            format!("198.51.100.{i}").parse().unwrap(),
        );
        assert_eq!(t.send(req).await.status, StatusCode::UNAUTHORIZED);
    }
    let r = t
        .send(login_from("203.0.113.7", STAFF_EMAIL, PASSWORD))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn malformed_json_is_400_in_our_error_shape() {
    let t = TestApp::new().await;
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"login\": "))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let e = r.json();
    assert_eq!(e["error"]["code"], "malformed");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Permintaan tidak dapat dibaca"));
    assert!(e["error"]["fields"]["body"]
        .as_str()
        .unwrap()
        .starts_with("JSON terpotong"));
}

/// Sends `body` as JSON to `uri` with `token`, in English when `en`.
async fn refusal(t: &TestApp, method: &str, uri: &str, token: &str, body: &str, en: bool) -> Value {
    let mut req = Request::builder()
        .method(method)
        .uri(if en {
            format!("{uri}?lang=en")
        } else {
            uri.to_string()
        })
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if en {
        req = req.header(header::ACCEPT_LANGUAGE, "en");
    }
    let r = t
        .send(req.body(Body::from(body.to_string())).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.json());
    r.json()
}

#[tokio::test]
async fn a_malformed_body_names_the_field_in_both_languages_without_rust_type_names() {
    let t = TestApp::new().await;
    let admin = t.login(ADMIN_NIP).await;
    for (body, field) in [
        (r#"[]"#, "body"),
        (r#"{"active":"yes","version":1}"#, "active"),
        (r#"{"active":true}"#, "version"),
        (r#"{"active":true,"version":1.5}"#, "version"),
    ] {
        let uri = "/api/v1/admin/employees/x/active";
        for en in [false, true] {
            let e = refusal(&t, "PUT", uri, &admin, body, en).await;
            let msg = e["error"]["fields"][field]
                .as_str()
                .unwrap_or_else(|| panic!("{body}: {field} not named: {e}"));
            let text = e.to_string();
            for rust in [
                "i64",
                "bool",
                "struct",
                "SetActiveBody",
                "sequence",
                "deserialize",
            ] {
                assert!(!text.contains(rust), "{body}: {rust} shown: {text}");
            }
            let english = msg.contains("must") || msg.contains("required") || msg.contains("is ");
            assert_eq!(english, en, "{body}: {msg}");
        }
    }
}

#[tokio::test]
async fn an_invalid_nip_is_422_naming_nip_and_a_duplicate_is_409_naming_the_field() {
    let t = TestApp::new().await;
    let admin = t.login(ADMIN_NIP).await;
    let mut body = json!({"nip": "12345", "name": "Ani", "email": "ani@kpu-jabar.go.id",
                          "jabatan": "Analis", "unit": "PIMP"});
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/admin/employees",
            Some(&admin),
            &body,
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = r.json();
    assert_eq!(e["error"]["code"], "validation");
    assert!(e["error"]["fields"]["nip"]
        .as_str()
        .unwrap()
        .contains("18 digit"));

    body["nip"] = json!(STAFF_NIP);
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/admin/employees",
            Some(&admin),
            &body,
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["error"]["fields"]["nip"].is_string());

    body["nip"] = json!("199205152018012002");
    body["password"] = json!("kata-sandi-awal");
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/admin/employees",
            Some(&admin),
            &body,
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/auth/login",
            None,
            &json!({"login": "ani@kpu-jabar.go.id", "password": "kata-sandi-awal"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "the initial password works");
}

#[tokio::test]
async fn staff_calling_an_admin_route_gets_403_and_no_token_gets_401() {
    let t = TestApp::new().await;
    let staff = t.login(STAFF_NIP).await;
    let r = t.send(get("/api/v1/admin/employees", Some(&staff))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["code"], "forbidden");
    let r = t.send(get("/api/v1/admin/employees", None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["code"], "unauthenticated");
    let r = t.send(get("/api/v1/me", Some("not.a.token"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Any signed-in user reads the org.
    let r = t.send(get("/api/v1/org/units", Some(&staff))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()[0]["code"], "PIMP");
    let r = t
        .send(get(
            &format!("/api/v1/org/employees/{STAFF_NIP}/supervisors"),
            Some(&staff),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()[0]["name"], "Budi Santoso");
}

#[tokio::test]
async fn a_csv_import_reports_every_row_and_writes_only_the_good_ones() {
    let t = TestApp::new().await;
    let admin = t.login(ADMIN_EMAIL).await;
    let csv = "nip,nama,email,jabatan,unit,peran\n\
               198807072012121001,Dedi Kurniawan,dedi@kpu-jabar.go.id,Bendahara,PIMP,bendahara\n\
               12345,Salah Nip,salah@kpu-jabar.go.id,Staf,PIMP,\n\
               199203032019031002,Eko Prasetyo,eko@kpu-jabar.go.id,Analis,TIDAKADA,\n";
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/admin/employees/import")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(csv))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let report = r.json();
    assert_eq!(report["imported"], 1);
    assert_eq!(report["rejected"], 2);
    assert_eq!(report["rows"][1]["line"], 3);
    assert!(report["rows"][1]["errors"]["nip"].is_string());
    assert!(report["rows"][2]["errors"]["unit"].is_string());

    let ok = t
        .send(get(
            "/api/v1/admin/employees/198807072012121001",
            Some(&admin),
        ))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["roles"], json!(["staff", "bendahara"]));
    let bad = t
        .send(get(
            "/api/v1/admin/employees/199203032019031002",
            Some(&admin),
        ))
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);

    // The same file as a multipart upload: every row is now a duplicate or still wrong.
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/admin/employees/import")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["imported"], 0);
    assert!(
        r.json()["rows"][0]["errors"]["nip"].is_string(),
        "duplicate named"
    );

    let page = t
        .send(get("/api/v1/admin/employees?limit=2", Some(&admin)))
        .await;
    let p = page.json();
    assert_eq!(p["items"].as_array().unwrap().len(), 2);
    let next = p["next_cursor"].as_str().unwrap();
    let page2 = t
        .send(get(
            &format!("/api/v1/admin/employees?limit=2&cursor={next}"),
            Some(&admin),
        ))
        .await;
    assert_eq!(page2.json()["items"].as_array().unwrap().len(), 1);
    let bad = t
        .send(get("/api/v1/admin/employees?cursor=garbage", Some(&admin)))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.json()["error"]["fields"]["cursor"].is_string(),
        "{}",
        bad.body
    );
}

#[tokio::test]
async fn roles_change_with_the_version_read_and_a_stale_version_is_409() {
    let t = TestApp::new().await;
    let admin = t.login(ADMIN_NIP).await;
    let uri = format!("/api/v1/admin/employees/{}/roles", t.staff_id);
    let r = t
        .send(json_req(
            "PUT",
            &uri,
            Some(&admin),
            &json!({"roles": ["approver"], "version": 1}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["roles"], json!(["staff", "approver"]));
    let r = t
        .send(json_req(
            "PUT",
            &uri,
            Some(&admin),
            &json!({"roles": ["admin"], "version": 1}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["error"]["code"], "stale");
}

#[tokio::test]
async fn the_page_login_flow_with_csrf_reaches_the_dashboard_with_the_name_and_the_date() {
    let t = TestApp::new().await;
    let r = t.send(get("/", None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login?next=/");

    let form = t.send(get("/login", None)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.headers["x-frame-options"], "DENY");
    assert!(form.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(form.body.contains("<label for=\"field-login\""));
    let csrf = hidden(&form.body, "csrf").unwrap();
    assert_eq!(form.cookies()["paraf_login_csrf"], csrf);

    let post = Request::builder()
        .method("POST")
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("paraf_login_csrf={csrf}"))
        .body(Body::from(format!(
            "login={ADMIN_NIP}&password={PASSWORD}&csrf={csrf}&next=%2F"
        )))
        .unwrap();
    let r = t.send(post).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/");
    let set = r.set_cookie("paraf_session").unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"));
    let session = r.cookies()["paraf_session"].clone();

    let req = Request::builder()
        .uri("/")
        .header(header::COOKIE, format!("paraf_session={session}"))
        .body(Body::empty())
        .unwrap();
    let home = t.send(req).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Budi Santoso"));
    assert!(home.body.contains("Sabtu, 28 November 2026"));
    assert!(
        home.body.contains("href=\"/admin/employees\""),
        "admins see the admin link"
    );
    assert!(home.body.contains("href=\"/sppd\""));

    // Admin pages work with the session, and logout needs the session's token.
    let req = Request::builder()
        .uri("/admin/employees")
        .header(header::COOKIE, format!("paraf_session={session}"))
        .body(Body::empty())
        .unwrap();
    let admin_page = t.send(req).await;
    assert_eq!(admin_page.status, StatusCode::OK);
    assert!(admin_page.body.contains("Siti Rahmawati"));
    let page_csrf = hidden(&admin_page.body, "csrf").unwrap();
    let logout = |token: String| {
        Request::builder()
            .method("POST")
            .uri("/logout")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("paraf_session={session}"))
            .body(Body::from(format!("csrf={token}")))
            .unwrap()
    };
    assert_eq!(
        t.send(logout("wrong".into())).await.status,
        StatusCode::FORBIDDEN
    );
    let r = t.send(logout(page_csrf)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let req = Request::builder()
        .uri("/")
        .header(header::COOKIE, format!("paraf_session={session}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        t.send(req).await.status,
        StatusCode::SEE_OTHER,
        "the session ended"
    );
}

#[tokio::test]
async fn a_form_post_without_the_csrf_token_is_403() {
    let t = TestApp::new().await;
    let post = Request::builder()
        .method("POST")
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("login={ADMIN_NIP}&password={PASSWORD}")))
        .unwrap();
    let r = t.send(post).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("<html"), "a page, not JSON");
    assert!(r.set_cookie("paraf_session").is_none());
}

#[tokio::test]
async fn a_wrong_password_on_the_page_shows_on_the_form_and_too_many_says_so() {
    let t = TestApp::new().await;
    let form = t.send(get("/login", None)).await;
    let csrf = hidden(&form.body, "csrf").unwrap();
    let post = |password: &str| {
        Request::builder()
            .method("POST")
            .uri("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("paraf_login_csrf={csrf}"))
            .body(Body::from(format!(
                "login={STAFF_EMAIL}&password={password}&csrf={csrf}"
            )))
            .unwrap()
    };
    let r = t.send(post("salah")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("NIP/email atau kata sandi salah."));
    assert!(r.body.contains("class=\"error-summary\""));
    assert!(
        r.body.contains(&format!("value=\"{STAFF_EMAIL}\"")),
        "the login is kept"
    );
    for _ in 0..9 {
        t.send(post("salah")).await;
    }
    let r = t.send(post(PASSWORD)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Terlalu banyak percobaan"));
}

#[tokio::test]
async fn lang_en_switches_the_texts_and_is_remembered() {
    let t = TestApp::new().await;
    let r = t.send(get("/login?lang=en", None)).await;
    assert!(r.body.contains("<html lang=\"en\">"));
    assert!(r.body.contains("Sign in"));
    assert!(r
        .set_cookie("paraf_lang")
        .unwrap()
        .starts_with("paraf_lang=en"));
    let req = Request::builder()
        .uri("/login")
        .header(header::COOKIE, "paraf_lang=en")
        .body(Body::empty())
        .unwrap();
    assert!(t.send(req).await.body.contains("Sign in"));
    let r = t.send(get("/login", None)).await;
    assert!(r.body.contains("Masuk"));

    let r = t.send(get("/api/v1/me?lang=en", None)).await;
    assert_eq!(r.json()["error"]["message"], "Please sign in first");
    let req = Request::builder()
        .uri("/api/v1/me")
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
        .body(Body::empty())
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.json()["error"]["message"], "Please sign in first");
    assert!(r.headers.get("x-request-id").is_some());
    let r = t.send(get("/api/v1/me", None)).await;
    assert_eq!(
        r.json()["error"]["message"],
        "Silakan masuk terlebih dahulu"
    );
}

#[tokio::test]
async fn cognito_claims_in_the_extensions_yield_the_principal() {
    let t = TestApp::new().await;
    let mut req = get("/api/v1/me", None);
    req.extensions_mut().insert(AuthorizerClaims(json!({
        "sub": "0b6c1d2e-cognito-uuid",
        "email": STAFF_EMAIL,
        "cognito:groups": "[admin]",
    })));
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["id"], t.staff_id.as_str());

    // The employee record, not the group claim, decides the roles.
    let mut req = get("/api/v1/admin/employees", None);
    req.extensions_mut().insert(AuthorizerClaims(
        json!({"sub": "x", "email": STAFF_EMAIL, "cognito:groups": ["admin"]}),
    ));
    assert_eq!(t.send(req).await.status, StatusCode::FORBIDDEN);

    let mut req = get("/api/v1/me", None);
    req.extensions_mut().insert(AuthorizerClaims(
        json!({"sub": "x", "email": "nobody@kpu-jabar.go.id"}),
    ));
    assert_eq!(t.send(req).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_file_link_streams_the_blob_only_while_the_resolver_accepts_it() {
    let t = TestApp::new().await;
    paraf_core::Blobs::put(
        t.blobs.as_ref(),
        PutBlob {
            key: "docs/spt.pdf".into(),
            bytes: b"%PDF-1.7".to_vec(),
            content_type: "application/pdf".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let state = t
        .state
        .clone()
        .with_file_links(Arc::new(|token: &str, _now| match token {
            "good" => Ok("docs/spt.pdf".to_string()),
            _ => Err(BlobsError::InvalidLink),
        }));
    use tower::ServiceExt;
    let res = paraf_http::router(state.clone())
        .oneshot(get("/api/v1/files/good", None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/pdf");
    let res = paraf_http::router(state)
        .oneshot(get("/api/v1/files/forged", None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        t.send(get("/api/v1/files/good", None)).await.status,
        StatusCode::NOT_FOUND,
        "no resolver, no files"
    );
}

#[tokio::test]
async fn the_admin_page_imports_a_csv_and_shows_the_report() {
    let t = TestApp::new().await;
    let session = t
        .state
        .auth
        .create_session(&t.state.org.employee(&t.admin_id).await.unwrap())
        .await
        .unwrap();
    let csv = "nip,nama,email,jabatan,unit\n12345,Salah,s@kpu-jabar.go.id,Staf,PIMP\n";
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n",
        session.csrf
    );
    let req = Request::builder()
        .method("POST")
        .uri("/admin/employees/import")
        .header(header::COOKIE, format!("paraf_session={}", session.token))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("ditolak"));
    assert!(r.body.contains("NIP harus 18 digit"));

    // A staff member's session does not open admin pages.
    let staff = t
        .state
        .auth
        .create_session(&t.state.org.employee(&t.staff_id).await.unwrap())
        .await
        .unwrap();
    let req = Request::builder()
        .uri("/admin/employees")
        .header(header::COOKIE, format!("paraf_session={}", staff.token))
        .body(Body::empty())
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.body.contains("href=\"/admin/employees\""));
}

#[tokio::test]
async fn a_body_over_five_megabytes_is_413_in_our_error_shape() {
    let t = TestApp::new().await;
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/auth/login?lang=en")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, 6 * 1024 * 1024)
        .body(Body::from(vec![b' '; 6 * 1024 * 1024]))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
    let r = t.send(get("/api/v1/nothing-here", None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn an_admin_builds_units_sets_heads_and_appoints_a_plh() {
    let t = TestApp::new().await;
    let admin = t.login(ADMIN_NIP).await;
    let r = t
        .send(json_req("POST", "/api/v1/admin/units", Some(&admin),
            &json!({"code": "SEKR", "name": "Sekretariat", "kind": "sekretariat", "parent_id": "PIMP"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/admin/units",
            Some(&admin),
            &json!({"code": "SEKR", "name": "Lagi", "kind": "sekretariat", "parent_id": "PIMP"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["error"]["fields"]["code"].is_string());
    let tree = t.send(get("/api/v1/org/units", Some(&admin))).await.json();
    assert_eq!(tree[0]["children"][0]["code"], "SEKR");
    let pimp = tree[0]["id"].as_str().unwrap().to_string();
    let r = t
        .send(json_req(
            "PUT",
            &format!("/api/v1/admin/units/{pimp}/head"),
            Some(&admin),
            &json!({"head": ADMIN_NIP}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["head_id"], t.admin_id.as_str());

    let plh = json!({"principal": ADMIN_NIP, "acting": STAFF_NIP, "from": "2026-12-01", "to": "2026-12-05", "reason": "cuti"});
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/admin/delegations",
            Some(&admin),
            &plh,
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/admin/delegations",
            Some(&admin),
            &plh,
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = t
        .send(get(
            &format!("/api/v1/admin/delegations?principal={}", t.admin_id),
            Some(&admin),
        ))
        .await;
    assert_eq!(r.json()[0]["to"], "2026-12-05");
    let r = t.send(get("/api/v1/admin/delegations", Some(&admin))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = t
        .send(json_req(
            "PUT",
            &format!("/api/v1/admin/employees/{}/password", t.staff_id),
            Some(&admin),
            &json!({"password": "pendek"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"]["password"].is_string());

    let r = t.send(get("/api/v1/dashboard", Some(&admin))).await;
    assert_eq!(r.json()["today"], "2026-11-28");
    assert_eq!(r.json()["to_approve"], 0);
}

#[tokio::test]
async fn an_invalid_nip_with_lang_en_is_422_with_an_english_reason_and_indonesian_by_default() {
    let t = TestApp::new().await;
    let admin = t.login(ADMIN_NIP).await;
    let mut body = json!({"nip": "12345", "name": "Ani", "email": "ani@kpu-jabar.go.id",
                          "jabatan": "Analis", "unit": "PIMP", "roles": ["bos"]});
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/admin/employees?lang=en",
            Some(&admin),
            &body,
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = r.json();
    assert_eq!(e["error"]["code"], "validation");
    assert_eq!(e["error"]["message"], "Please check the input");
    assert_eq!(e["error"]["fields"]["nip"], "NIP must be 18 digits");
    assert!(
        e["error"]["fields"]["roles"]
            .as_str()
            .unwrap()
            .starts_with("unknown role `bos`"),
        "{}",
        r.body
    );

    let r = t
        .send(json_req(
            "POST",
            "/api/v1/admin/employees",
            Some(&admin),
            &body,
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let e = r.json();
    assert_eq!(e["error"]["message"], "Periksa kembali isian");
    assert_eq!(e["error"]["fields"]["nip"], "NIP harus 18 digit angka");
    assert!(e["error"]["fields"]["roles"]
        .as_str()
        .unwrap()
        .starts_with("peran `bos` tidak dikenal"));

    // Conflicts and the HTTP layer's own field messages follow the request too.
    body["nip"] = json!(STAFF_NIP);
    body["roles"] = json!([]);
    let mut req = json_req("POST", "/api/v1/admin/employees", Some(&admin), &body);
    req.headers_mut()
        .insert(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9".parse().unwrap());
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json()["error"]["fields"]["nip"],
        "NIP is already registered"
    );
    let r = t
        .send(get("/api/v1/admin/delegations?lang=en", Some(&admin)))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json()["error"]["fields"]["principal"],
        "give one of: principal or acting"
    );
}

#[tokio::test]
async fn a_csv_import_report_reads_in_english_with_lang_en() {
    let t = TestApp::new().await;
    let admin = t.login(ADMIN_EMAIL).await;
    let csv = "nip,nama,email,jabatan,unit,peran\n\
               12345,Salah Nip,salah@kpu-jabar.go.id,Staf,PIMP,bos\n\
               199203032019031002,Eko Prasetyo,eko@kpu-jabar.go.id,Analis,TIDAKADA,\n";
    let import = |uri: &str, csv: &str| {
        Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(csv.to_string()))
            .unwrap()
    };
    let r = t
        .send(import("/api/v1/admin/employees/import?lang=en", csv))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let report = r.json();
    assert_eq!(report["rejected"], 2);
    assert_eq!(report["rows"][0]["errors"]["nip"], "NIP must be 18 digits");
    assert!(report["rows"][0]["errors"]["roles"]
        .as_str()
        .unwrap()
        .starts_with("unknown role `bos`"));
    assert_eq!(report["rows"][1]["errors"]["unit"], "unit not found");

    let r = t.send(import("/api/v1/admin/employees/import", csv)).await;
    assert_eq!(
        r.json()["rows"][0]["errors"]["nip"],
        "NIP harus 18 digit angka"
    );
    assert_eq!(
        r.json()["rows"][1]["errors"]["unit"],
        "unit tidak ditemukan"
    );

    let r = t
        .send(import(
            "/api/v1/admin/employees/import?lang=en",
            "nip,nama\n1,x\n",
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json()["error"]["fields"]["file"],
        "required columns are missing: email, jabatan, unit"
    );
}

#[tokio::test]
async fn a_form_error_on_the_english_admin_page_is_in_english() {
    let t = TestApp::new().await;
    let session = t
        .state
        .auth
        .create_session(&t.state.org.employee(&t.admin_id).await.unwrap())
        .await
        .unwrap();
    let post = |uri: &str| {
        Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::COOKIE, format!("paraf_session={}", session.token))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={}&nip=12345&name=Ani&email=ani%40kpu-jabar.go.id&jabatan=Analis&unit=PIMP",
                session.csrf
            )))
            .unwrap()
    };
    let r = t.send(post("/admin/employees?lang=en")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("<html lang=\"en\">"));
    assert!(r.body.contains("NIP must be 18 digits"), "{}", r.body);
    assert!(!r.body.contains("NIP harus 18 digit"));

    let r = t.send(post("/admin/employees")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("NIP harus 18 digit angka"));

    // The import form without a file, and the units form, speak English too.
    let boundary = "b0undary";
    let req = Request::builder()
        .method("POST")
        .uri("/admin/employees/import?lang=en")
        .header(header::COOKIE, format!("paraf_session={}", session.token))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--{boundary}--\r\n",
            session.csrf
        )))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("is required"), "{}", r.body);
    let req = Request::builder()
        .method("POST")
        .uri("/admin/units?lang=en")
        .header(header::COOKIE, format!("paraf_session={}", session.token))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "csrf={}&code=PIMP&name=Lagi&kind=pimpinan&parent_id=",
            session.csrf
        )))
        .unwrap();
    let r = t.send(req).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("unit code is already in use"), "{}", r.body);
}

#[tokio::test]
async fn a_page_size_outside_1_to_200_is_refused_naming_limit() {
    let t = TestApp::new().await;
    let admin = t.login(ADMIN_NIP).await;
    for (limit, status) in [
        ("2147483648", 422),
        ("0", 422),
        ("201", 422),
        ("99999999999", 400),
    ] {
        let r = t
            .send(get(
                &format!("/api/v1/admin/employees?limit={limit}"),
                Some(&admin),
            ))
            .await;
        assert_eq!(r.status.as_u16(), status, "{limit}: {}", r.body);
        assert!(
            r.json()["error"]["fields"]["limit"].is_string(),
            "{}",
            r.body
        );
    }
    let r = t
        .send(get("/api/v1/admin/employees?limit=200", Some(&admin)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
