//! Official numbers and decisions on the real `paraf serve`:
//! - a number of a reserved series (the next SPT's) cannot be claimed by an uploaded
//!   document (422 naming `number`), while an external number can be cited;
//! - signing that cannot finish (the time-stamping authority is down) fails loudly: it is
//!   retried, then shown on the order as waiting for an administrator, who is mailed,
//!   lists it and retries it once the TSA is back — for the SPT/SPPD after approval and
//!   for the settlement documents after the PPK's acceptance;
//! - twenty racing acceptances by the bendahara, then by the PPK, are decided once each:
//!   one 200, nineteen 409 "sudah diputuskan", one verification and one event recorded.
//!
//! The TSA is `openssl ts` on 127.0.0.1 behind a switch the test flips. Loopback only;
//! every wait is bounded.

mod common;
#[path = "../crates/paraf-pdf/tests/tsa/mod.rs"]
mod tsa;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    addressed_to, call, call_expect, client, demo_token as token, init_demo, letter_pdf, mails,
    multipart, paraf, sppd_form, text, today_wib, web_session, ymd, App, CHAIN, PUBLIC, STAF,
};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};

const ADMIN: &str = "admin@demo.paraf.test";

/// A TSA that can be switched off: while down it drops every connection.
struct FlakyTsa {
    url: String,
    up: Arc<AtomicBool>,
}

async fn flaky_tsa(dir: &std::path::Path) -> FlakyTsa {
    let real = tsa::start_tsa(dir).await;
    let target = real
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host:port")
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/tsa", listener.local_addr().expect("addr"));
    let up = Arc::new(AtomicBool::new(false));
    let switch = up.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !switch.load(Ordering::SeqCst) {
                drop(inbound);
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut out) = TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    FlakyTsa { url, up }
}

/// GETs the order until `done` holds (bounded).
async fn wait_order(
    app: &App,
    tok: &str,
    id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = call_expect(app, tok, "GET", &format!("/sppd/{id}"), None, 200).await;
        if done(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "the order never became {what}: status {}, signing {}",
            v["status"],
            v["signing"]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The caller's open approval task for the order, once notify has made it.
async fn open_task(app: &App, tok: &str, order: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = call_expect(app, tok, "GET", &format!("/sppd/{order}"), None, 200).await;
        if let Some(t) = v["task_id"].as_str() {
            return t.to_string();
        }
        assert!(Instant::now() < deadline, "no task for the approver");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `n` identical API calls at once; their statuses and bodies.
async fn race(app: &App, tok: &str, path: &str, body: Value, n: usize) -> Vec<(u16, Value)> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let (url, tok, body) = (app.api(path), tok.to_string(), body.clone());
        handles.push(tokio::spawn(async move {
            let r = client()
                .post(url)
                .bearer_auth(tok)
                .json(&body)
                .send()
                .await
                .expect("request");
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("joined"));
    }
    out
}

/// Exactly one 200; every other answer a 409 "sudah diputuskan" naming no id or key.
fn decided_once(outcomes: &[(u16, Value)], who: &str) -> Value {
    let ok: Vec<&Value> = outcomes
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(ok.len(), 1, "{who}: one decision, got {outcomes:?}");
    for (s, v) in outcomes.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*s, 409, "{who}: the others are 409, never 403: {v}");
        let fields: Vec<&String> = v["error"]["fields"]
            .as_object()
            .expect("fields")
            .keys()
            .collect();
        assert_eq!(fields, ["status"], "{v}");
        let m = v["error"]["fields"]["status"].as_str().unwrap_or_default();
        assert!(m.contains("sudah diputuskan"), "{v}");
        let body = v.to_string().to_lowercase();
        for internal in ["document id", "id dokumen", "version", "condition"] {
            assert!(!body.contains(internal), "internal wording in {v}");
        }
    }
    ok[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_of_a_reserved_series_cannot_be_claimed_by_an_upload_but_an_external_one_can_be_cited(
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = init_demo(dir.path());
    let year = today_wib().year();
    // `paraf sign` refuses it before signing anything.
    let input = dir.path().join("undangan.pdf");
    std::fs::write(&input, letter_pdf("UNDANGAN")).expect("write");
    let out = dir.path().join("undangan-ttd.pdf");
    let o = paraf()
        .arg("--data-dir")
        .arg(&data)
        .arg("sign")
        .arg(&input)
        .args(["--signer", "sekretaris@demo.paraf.test", "--number"])
        .arg(format!("1/KU.03-ST/32/{year}"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("paraf sign");
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("number: nomor 1/KU.03-ST/32/"),
        "{}",
        text(&o)
    );
    assert!(!out.exists(), "nothing signed");

    let app = App::start(&data);
    let staf = token(&app, STAF).await;
    let upload = |number: &str, lang: &str| {
        client()
            .post(app.api("/documents/sign"))
            .query(&[("title", "Surat undangan"), ("number", number)])
            .header("Accept-Language", lang)
            .header("Content-Type", "application/pdf")
            .bearer_auth(&staf)
            .body(letter_pdf("UNDANGAN"))
            .send()
    };
    // The number the next Surat Tugas would get, and look-alikes of it.
    for n in [
        format!("1/KU.03-ST/32/{year}"),
        format!("2 / ku.03-st / 32 / {year}"),
        format!("1/KU.03-KW/32/{year}"),
        format!("1/TU-AG/32/{year}"),
    ] {
        let r = upload(&n, "id").await.expect("upload");
        assert_eq!(r.status(), 422, "{n}");
        let v: Value = r.json().await.expect("json");
        let m = v["error"]["fields"]["number"].as_str().unwrap_or_default();
        assert!(m.contains("hanya diberikan oleh layanan"), "{n}: {v}");
    }
    let r = upload(&format!("1/KU.03-SPPD/32/{year}"), "en")
        .await
        .expect("upload");
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.expect("json");
    let m = v["error"]["fields"]["number"].as_str().unwrap_or_default();
    assert!(m.contains("only the e-SPPD service allocates"), "{v}");

    // A number from elsewhere is cited as before, once.
    let r = upload("005/UND/KPU-RI/2026", "id").await.expect("upload");
    assert_eq!(r.status(), 201, "an external number");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["document"]["number"], "005/UND/KPU-RI/2026");
    let r = upload("005/UND/KPU-RI/2026", "id").await.expect("upload");
    assert_eq!(r.status(), 409, "an external number is still claimed once");

    // Nor can an approval request pose as e-SPPD to have its numbers taken.
    let v = call_expect(
        &app,
        &staf,
        "POST",
        "/approvals",
        Some(
            json!({"subject": "SPT", "document_spec": {"service": "sppd", "order": "x",
                     "number": format!("3/KU.03-ST/32/{year}")}}),
        ),
        422,
    )
    .await;
    assert!(
        v["error"]["fields"]["document_spec.service"].is_string(),
        "{v}"
    );
    assert!(
        v["error"]["fields"]["document_spec.number"].is_string(),
        "{v}"
    );
    app.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_that_fails_is_shown_and_resolved_by_an_admin_and_every_decision_counts_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = init_demo(dir.path());
    let tsa = flaky_tsa(dir.path()).await;
    let app = App::start_with(
        &data,
        &[("PARAF_PUBLIC_URL", PUBLIC), ("PARAF_TSA_URL", &tsa.url)],
    );
    let staf = token(&app, STAF).await;
    let admin = token(&app, ADMIN).await;
    let year = today_wib().year();

    // A one-traveller trip starting today goes through the four approvals.
    let dep = today_wib();
    let order = call_expect(
        &app,
        &staf,
        "POST",
        "/sppd",
        Some(sppd_form(
            &[STAF],
            "Rekonsiliasi laporan keuangan di KPU RI",
            dep,
            dep + time::Duration::days(1),
        )),
        201,
    )
    .await;
    let id = order["id"].as_str().expect("id").to_string();
    call_expect(
        &app,
        &staf,
        "POST",
        &format!("/sppd/{id}/submit"),
        None,
        200,
    )
    .await;
    for who in CHAIN {
        let tok = token(&app, who).await;
        let task = open_task(&app, &tok, &id).await;
        call_expect(
            &app,
            &tok,
            "POST",
            &format!("/tasks/{task}/decision"),
            Some(json!({"decision": "approve"})),
            200,
        )
        .await;
    }

    // The TSA is down: the sign task fails, is retried, then waits for an administrator.
    let o = wait_order(&app, &staf, &id, "stuck", |v| {
        v["signing"]["state"] == "stuck"
    })
    .await;
    assert_eq!(
        o["status"], "submitted",
        "not approved without its documents"
    );
    assert_eq!(o["signing"]["stage"], "approval");
    assert!(
        o["signing"]["attempts"].as_u64() >= Some(4),
        "{}",
        o["signing"]
    );
    assert!(
        o["signing"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("cap waktu (TSA)")),
        "{}",
        o["signing"]
    );
    assert_eq!(o["signing"]["may_retry"], false, "staff cannot retry");
    assert!(o["signing"]["last_failed"]
        .as_str()
        .is_some_and(|t| t.ends_with("+07:00")));
    let r = client()
        .get(app.api(&format!("/sppd/{id}")))
        .header("Accept-Language", "en")
        .bearer_auth(&staf)
        .send()
        .await
        .expect("order in English");
    let en: Value = r.json().await.expect("json");
    assert!(
        en["signing"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("time-stamping authority")),
        "{}",
        en["signing"]
    );
    let page = web_session(&app, STAF)
        .await
        .get(format!("{}/sppd/{id}", app.url))
        .send()
        .await
        .expect("order page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("data-signing=\"stuck\""),
        "the order page shows it"
    );
    assert!(page.contains("menunggu tindakan admin"), "{page}");
    // Logged loudly enough to reach the administrators: mailed, and listed for them only.
    assert!(
        mails(&data)
            .iter()
            .any(|(_, m)| addressed_to(m, ADMIN) && m.contains("Penandatanganan gagal")),
        "the admin was mailed"
    );
    call_expect(&app, &staf, "GET", "/admin/sign-steps", None, 403).await;
    let list = call_expect(&app, &admin, "GET", "/admin/sign-steps", None, 200).await;
    let step = list
        .as_array()
        .expect("list")
        .iter()
        .find(|x| x["subject"] == id.as_str())
        .expect("the order's step is listed")
        .clone();
    let step_id = step["id"].as_str().expect("step id").to_string();
    assert_eq!(step["state"], "stuck");
    assert_eq!(step["may_retry"], true);
    let admin_page = web_session(&app, ADMIN)
        .await
        .get(format!("{}/admin/penandatanganan", app.url))
        .send()
        .await
        .expect("admin page")
        .text()
        .await
        .expect("html");
    assert!(admin_page.contains(&step_id), "the admin page lists it");

    // The TSA is back; two admins ask at once: one retry, the other is told.
    tsa.up.store(true, Ordering::SeqCst);
    let retries = race(
        &app,
        &admin,
        &format!("/admin/sign-steps/{step_id}/retry"),
        json!({}),
        2,
    )
    .await;
    let retried = decided_once(&retries, "admins");
    assert!(
        retried["state"] == "retrying" || retried["state"] == "resolved",
        "{retried}"
    );
    let o = wait_order(&app, &staf, &id, "approved", |v| v["status"] == "approved").await;
    assert!(
        o["signing"].is_null(),
        "nothing left to show: {}",
        o["signing"]
    );
    assert_eq!(o["numbers"]["spt"], format!("1/KU.03-ST/32/{year}"));
    assert!(o["documents"]["spt"]["archive_id"].is_string());
    let (_, list) = call(&app, &admin, "GET", "/admin/sign-steps", None).await;
    assert!(
        list.as_array().is_some_and(|l| l.is_empty()),
        "resolved: {list}"
    );

    // After the trip: a stop endorsed by a stamped scan, the report sent.
    call_expect(
        &app,
        &staf,
        "POST",
        &format!("/sppd/{id}/stops"),
        Some(json!({"tempat": "KPU RI, Jakarta Pusat", "tiba": ymd(dep)})),
        200,
    )
    .await;
    let scan = reqwest::multipart::Part::bytes(letter_pdf("DISAHKAN"))
        .file_name("pengesahan.pdf")
        .mime_str("application/pdf")
        .expect("mime");
    let form = reqwest::multipart::Form::new()
        .part("file", scan)
        .text("nama", "Drs. Agus Salim")
        .text("jabatan", "Kepala Bagian Umum Sekretariat Jenderal KPU");
    let (s, v) = multipart(&app, &staf, &format!("/sppd/{id}/stops/1/scan"), form).await;
    assert_eq!(s, 200, "scan: {v}");
    call_expect(
        &app,
        &staf,
        "PUT",
        &format!("/sppd/{id}/report"),
        Some(json!({"hasil": "Rekonsiliasi selesai."})),
        200,
    )
    .await;
    call_expect(
        &app,
        &staf,
        "POST",
        &format!("/sppd/{id}/report/submit"),
        None,
        200,
    )
    .await;

    // Twenty acceptances by the bendahara at once: one decision.
    let accept = json!({"decision": "accept", "note": ""});
    let bendahara = token(&app, "bendahara@demo.paraf.test").await;
    let path = format!("/sppd/{id}/verify");
    let won = decided_once(
        &race(&app, &bendahara, &path, accept.clone(), 20).await,
        "bendahara",
    );
    assert_eq!(won["status"], "verified");

    // The TSA goes down again; twenty acceptances by the PPK at once: one decision, whose
    // settlement documents cannot be signed yet.
    tsa.up.store(false, Ordering::SeqCst);
    let ppk = token(&app, CHAIN[2]).await;
    let won = decided_once(&race(&app, &ppk, &path, accept, 20).await, "PPK");
    assert_eq!(won["status"], "accepted");
    assert_eq!(won["signing"]["stage"], "settlement");
    assert_eq!(won["signing"]["state"], "stuck");
    let o = wait_order(&app, &staf, &id, "recorded", |_| true).await;
    let count = |role: &str| {
        o["verifications"]
            .as_array()
            .expect("verifications")
            .iter()
            .filter(|v| v["role"] == role)
            .count()
    };
    assert_eq!((count("bendahara"), count("ppk")), (1, 1));
    let events = |e: &str| {
        o["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter(|t| t["event"] == e)
            .count()
    };
    assert_eq!((events("verified"), events("accepted")), (1, 1));

    // The admin retries the settlement once the TSA is back: the order completes.
    tsa.up.store(true, Ordering::SeqCst);
    let step_id = o["signing"]["id"].as_str().expect("step").to_string();
    let retry_path = format!("/admin/sign-steps/{step_id}/retry");
    let v = call_expect(&app, &admin, "POST", &retry_path, None, 200).await;
    assert_eq!(v["state"], "resolved");
    let o = wait_order(&app, &staf, &id, "completed", |v| {
        v["status"] == "completed"
    })
    .await;
    assert!(o["signing"].is_null());
    assert!(o["documents"]["settlement"]
        .as_array()
        .is_some_and(|d| d.iter().any(|x| x["kind"] == "kuitansi")));
    // A finished signing is not run again.
    call_expect(&app, &admin, "POST", &retry_path, None, 409).await;
    app.stop();
}
