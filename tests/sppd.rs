//! e-SPPD end to end through the real `paraf serve`: a staff member requests a trip for
//! two travellers, four officials answer from the links in their mail (GET shows, POST
//! decides; the PPK first returns it for revision, the requester edits and resubmits and
//! the chain resumes at the PPK), the SPT and both SPPDs are signed and archived and
//! checked by `pdfsig` and pyHanko; after the trip the visited official endorses through
//! a one-time link, the travellers file the report and the actual costs with receipts,
//! the bendahara and the PPK verify, and the kuitansi carries the amounts of the SBM table
//! in figures and in words. Loopback only; every wait is bounded.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    addressed_to, call, client, demo_token as token, hidden, init_demo, mails, multipart, paraf,
    sppd_form, text, today_wib, web_session, ymd, App, Validators, CHAIN, PUBLIC, STAF,
};
use serde_json::{json, Value};

const INTAN: &str = "intan.permata@demo.paraf.test";
const MAKSUD: &str = "Konsultasi penyusunan laporan keuangan ke KPU RI";
const OFFICIAL: &str = "kabag.umum@kpu.go.id";

/// Waits for a mail to `to` not in `seen` whose body holds a link with `marker`; returns
/// the link rewritten to the running server.
async fn next_link(app: &App, seen: &mut BTreeSet<String>, to: &str, marker: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for (name, m) in mails(&app.data_dir) {
            if seen.contains(&name) || !addressed_to(&m, to) {
                continue;
            }
            if let Some(link) = m
                .split_whitespace()
                .find(|w| w.starts_with(PUBLIC) && w.contains(marker))
            {
                seen.insert(name);
                return link.replacen(PUBLIC, &app.url, 1);
            }
        }
        assert!(Instant::now() < deadline, "no mail to {to} with {marker}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// GET the mailed link (shows, changes nothing), then POST the decision to it.
async fn decide_by_link(app: &App, link: &str, who: &str, decision: &str, note: &str) {
    let web = web_session(app, who).await;
    let page = web.get(link).send().await.expect("GET link");
    assert_eq!(page.status(), 200, "{who} opens {link}");
    let html = page.text().await.expect("html");
    assert!(html.contains("Jakarta"), "the task page shows the trip");
    let csrf = hidden(&html, "csrf");
    let r = web
        .post(link)
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", decision),
            ("note", note),
            // The approval signs documents: answered as the confirmation form does.
            ("confirmed", "1"),
        ])
        .send()
        .await
        .expect("POST decision");
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{who} decides {decision}: {}",
        r.status()
    );
}

async fn wait_status(app: &App, tok: &str, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (s, v) = call(app, tok, "GET", &format!("/sppd/{id}"), None).await;
        assert_eq!(s, 200, "{v}");
        if v["status"] == status {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "order never became {status}: {}",
            v["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The archived PDF, through the archivist's time-limited link.
async fn archived_pdf(app: &App, archivist: &str, id: &str) -> Vec<u8> {
    let (s, v) = call(
        app,
        archivist,
        "POST",
        &format!("/archive/documents/{id}/download-link"),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 200, "download link of {id}: {v}");
    let url = v["url"]
        .as_str()
        .expect("url")
        .replacen(PUBLIC, &app.url, 1);
    let r = client().get(url).send().await.expect("download");
    assert_eq!(r.status(), 200);
    r.bytes().await.expect("bytes").to_vec()
}

/// pdfsig and pyHanko, trusting the organisation root (`paraf ca cert`'s output).
fn validators(dir: &Path, root_pem: &[u8]) -> Validators {
    let root = dir.join("org-root.pem");
    std::fs::write(&root, root_pem).expect("root");
    Validators::new(dir, &root)
}

/// Both validators accept every one of the `n` signatures of `pdf`.
fn check_signed(v: &Validators, dir: &Path, name: &str, pdf: &[u8], n: usize) {
    let f = dir.join(name);
    std::fs::write(&f, pdf).expect("write pdf");
    let f = f.display().to_string();
    let (sigs, t) = v.pdfsig(&f);
    assert_eq!(sigs.len(), n, "pdfsig sees {n} signatures in {name}:\n{t}");
    assert!(
        sigs.iter().all(|s| s.valid && s.trusted),
        "pdfsig on {name}:\n{t}"
    );
    let (lines, t) = v.pyhanko(&f);
    assert_eq!(
        lines.len(),
        n,
        "pyHanko sees {n} signatures in {name}:\n{t}"
    );
    for l in lines {
        assert!(l.contains("INTACT:TRUSTED"), "pyHanko on {name}: {l}\n{t}");
    }
}

fn pdftotext(dir: &Path, name: &str, pdf: &[u8]) -> String {
    let f = dir.join(name);
    std::fs::write(&f, pdf).expect("write");
    let o = Command::new("pdftotext")
        .arg(&f)
        .arg("-")
        .output()
        .expect("pdftotext");
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// 1250000 → "Rp 1.250.000"
fn rp(n: i64) -> String {
    paraf_core::format::rupiah(n)
}

fn tiny_png() -> Vec<u8> {
    // 1×1 PNG.
    vec![
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ]
}

fn file_part(bytes: Vec<u8>, name: &str, mime: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(mime)
        .expect("mime")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trip_goes_from_request_through_four_mailed_approvals_to_a_signed_kuitansi() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = init_demo(dir.path());
    let o = paraf()
        .arg("--data-dir")
        .arg(&data)
        .args(["ca", "cert"])
        .output()
        .expect("ca cert");
    assert!(o.status.success(), "ca cert: {}", text(&o));
    let validators = validators(dir.path(), &o.stdout);
    let app = App::start_with(&data, &[("PARAF_PUBLIC_URL", PUBLIC)]);
    let staf = token(&app, STAF).await;
    let archivist = token(&app, "arsiparis@demo.paraf.test").await;
    let mut seen = BTreeSet::new();

    // The SBM the trip is costed with.
    let dep = today_wib();
    let ret = dep + time::Duration::days(2);
    let (s, sbm) = call(&app, &staf, "GET", &format!("/sbm/{}", dep.year()), None).await;
    assert_eq!(s, 200, "{sbm}");
    let rate = |table: &str, key: &str| -> i64 {
        sbm[table]
            .as_array()
            .expect("rates")
            .iter()
            .find(|r| r["provinsi"] == "DKI Jakarta")
            .and_then(|r| r[key].as_i64())
            .expect("DKI Jakarta rate")
    };
    let daily = rate("uang_harian", "luar_kota");
    let lodging_d = rate("penginapan", "d");

    // Request: a draft, edited, then submitted.
    let (s, order) = call(
        &app,
        &staf,
        "POST",
        "/sppd",
        Some(sppd_form(&[STAF, INTAN], MAKSUD, dep, ret)),
    )
    .await;
    assert_eq!(s, 201, "{order}");
    let id = order["id"].as_str().expect("id").to_string();
    assert_eq!(order["status"], "draft");
    let (s, order) = call(
        &app,
        &staf,
        "PUT",
        &format!("/sppd/{id}"),
        Some({
            let mut edited = sppd_form(&[STAF, INTAN], MAKSUD, dep, ret);
            edited["keterangan"] = json!("Membawa dokumen LK semester I");
            edited["version"] = order["version"].clone();
            edited
        }),
    )
    .await;
    assert_eq!(s, 200, "{order}");
    let (s, order) = call(&app, &staf, "POST", &format!("/sppd/{id}/submit"), None).await;
    assert_eq!(s, 200, "{order}");
    assert_eq!(order["status"], "submitted");
    // A traveller cannot edit a submitted order.
    let intan = token(&app, INTAN).await;
    let (s, _) = call(
        &app,
        &intan,
        "PUT",
        &format!("/sppd/{id}"),
        Some(json!({"maksud": "x", "version": order["version"]})),
    )
    .await;
    assert!(s == 403 || s == 409, "traveller edit after submit: {s}");
    // Another unit's staff cannot read it.
    let budi = token(&app, "budi.santoso@demo.paraf.test").await;
    let (s, _) = call(&app, &budi, "GET", &format!("/sppd/{id}"), None).await;
    assert_eq!(s, 403, "another unit's staff");

    // Kasubag and Kabag approve from their mail.
    for who in &CHAIN[..2] {
        let link = next_link(&app, &mut seen, who, "/tasks/").await;
        decide_by_link(&app, &link, who, "approve", "").await;
    }
    // The PPK returns it for revision; the requester edits and resubmits; the chain
    // resumes at the PPK (step 3), not at the beginning.
    let link = next_link(&app, &mut seen, CHAIN[2], "/tasks/").await;
    decide_by_link(
        &app,
        &link,
        CHAIN[2],
        "return",
        "Lampirkan undangan dari KPU RI",
    )
    .await;
    let returned = wait_status(&app, &staf, &id, "returned").await;
    let (s, _) = multipart(
        &app,
        &staf,
        &format!("/sppd/{id}/attachments"),
        reqwest::multipart::Form::new().part(
            "file",
            file_part(
                common::letter_pdf("UNDANGAN KPU RI"),
                "undangan.pdf",
                "application/pdf",
            ),
        ),
    )
    .await;
    assert_eq!(s, 200, "attachment on a returned order");
    let (s, v2) = call(&app, &staf, "POST", &format!("/sppd/{id}/resubmit"), None).await;
    assert_eq!(s, 200, "{v2}");
    assert!(returned["version"].as_i64() < v2["version"].as_i64());
    let link = next_link(&app, &mut seen, CHAIN[2], "/tasks/").await;
    let task_id = link.rsplit('/').next().expect("task id").to_string();
    let (s, task) = call(
        &app,
        &token(&app, CHAIN[2]).await,
        "GET",
        &format!("/tasks/{task_id}"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{task}");
    assert_eq!(
        task["step"], 3,
        "the chain resumed at the step that returned it"
    );
    decide_by_link(&app, &link, CHAIN[2], "approve", "").await;
    let link = next_link(&app, &mut seen, CHAIN[3], "/tasks/").await;
    decide_by_link(&app, &link, CHAIN[3], "approve", "").await;

    // Final approval: SPT and two SPPDs, numbered, signed, archived, mailed.
    let order = wait_status(&app, &staf, &id, "approved").await;
    let year = today_wib().year();
    let spt_no = order["numbers"]["spt"]
        .as_str()
        .expect("spt number")
        .to_string();
    assert_eq!(spt_no, format!("1/KU.03-ST/32/{year}"));
    let sppd_nos: Vec<String> = order["numbers"]["sppd"]
        .as_array()
        .expect("sppd numbers")
        .iter()
        .map(|n| n.as_str().expect("number").to_string())
        .collect();
    assert_eq!(
        sppd_nos,
        vec![
            format!("1/KU.03-SPPD/32/{year}"),
            format!("2/KU.03-SPPD/32/{year}")
        ]
    );
    let spt_id = order["documents"]["spt"]["archive_id"]
        .as_str()
        .expect("spt doc")
        .to_string();
    let spt = archived_pdf(&app, &archivist, &spt_id).await;
    // Kasubag, Kabag and PPK initial; the Sekretaris signs.
    check_signed(&validators, dir.path(), "spt.pdf", &spt, 4);
    let t = pdftotext(dir.path(), "spt.pdf", &spt);
    for want in [
        spt_no.as_str(),
        "SURAT TUGAS",
        "Ahmad Fauzi",
        "Intan Permatasari",
        "Bambang Sutrisno",
    ] {
        assert!(t.contains(want), "SPT lacks {want:?}: {t}");
    }
    let sppd_docs = order["documents"]["sppd"]
        .as_array()
        .expect("sppd docs")
        .clone();
    assert_eq!(sppd_docs.len(), 2);
    for (d, t) in sppd_docs
        .iter()
        .zip(order["pelaksana"].as_array().expect("pelaksana"))
    {
        assert_eq!(
            d["employee_id"], t["employee_id"],
            "each SPPD names its traveller"
        );
    }
    for (i, d) in sppd_docs.iter().enumerate() {
        let pdf = archived_pdf(&app, &archivist, d["archive_id"].as_str().expect("id")).await;
        // Kasubag and Kabag initial; the PPK signs.
        check_signed(&validators, dir.path(), &format!("sppd-{i}.pdf"), &pdf, 3);
        let t = pdftotext(dir.path(), &format!("sppd-{i}.pdf"), &pdf);
        assert!(t.contains(&sppd_nos[i]), "SPPD {i} number: {t}");
        assert!(
            t.contains(&rp(daily * 3)),
            "SPPD {i} uang harian {}: {t}",
            rp(daily * 3)
        );
    }
    for who in [STAF, INTAN] {
        let m = mails(&data);
        assert!(
            m.iter()
                .any(|(_, m)| addressed_to(m, who) && m.contains(&spt_no)),
            "{who} was told the SPT is signed"
        );
    }

    // After the trip: a stop endorsed by the official there through a one-time link.
    let (s, o2) = call(
        &app,
        &staf,
        "POST",
        &format!("/sppd/{id}/stops"),
        Some(json!({"tempat": "KPU RI, Jakarta Pusat", "tiba": ymd(dep), "berangkat": ymd(ret)})),
    )
    .await;
    assert_eq!(s, 200, "{o2}");
    let (s, o2) = call(
        &app,
        &staf,
        "POST",
        &format!("/sppd/{id}/stops/1/link"),
        Some(json!({"email": OFFICIAL})),
    )
    .await;
    assert_eq!(s, 200, "{o2}");
    let link = next_link(&app, &mut seen, OFFICIAL, "/sppd/pengesahan/").await;
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = anon.get(&link).send().await.expect("GET endorsement");
    assert_eq!(
        r.status(),
        200,
        "the official opens the link without an account"
    );
    let form = [
        ("nama", "Drs. Agus Salim"),
        ("nip", "197001011995031001"),
        ("jabatan", "Kepala Bagian Umum Sekretariat Jenderal KPU"),
    ];
    let r = anon
        .post(&link)
        .form(&form)
        .send()
        .await
        .expect("POST endorsement");
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let r = anon
        .post(&link)
        .form(&form)
        .send()
        .await
        .expect("second POST");
    assert!(
        r.status().is_client_error(),
        "the link works once: {}",
        r.status()
    );

    // Report, a photo, costs with and without receipts.
    let (s, _) = call(
        &app,
        &staf,
        "PUT",
        &format!("/sppd/{id}/report"),
        Some(json!({"hasil": "Konsultasi dilaksanakan dengan Biro Keuangan KPU RI.\nLaporan keuangan semester I diperbaiki.", "kesimpulan": "Perbaikan dikirim paling lambat akhir bulan."})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = multipart(
        &app,
        &staf,
        &format!("/sppd/{id}/photos"),
        reqwest::multipart::Form::new()
            .part("file", file_part(tiny_png(), "rapat.png", "image/png")),
    )
    .await;
    assert_eq!(s, 200, "photo");
    let lodging = 1_300_000_i64; // two nights, under the SBM ceiling
    let train = 600_000_i64;
    let taxi = 150_000_i64; // no receipt: daftar pengeluaran riil
    for (who, jenis, uraian, jumlah, receipt) in [
        (STAF, "penginapan", "Hotel 2 malam", lodging, true),
        (
            STAF,
            "transport",
            "Tiket kereta Bandung-Jakarta PP",
            train,
            true,
        ),
        (
            STAF,
            "transport",
            "Taksi stasiun-kantor KPU RI PP",
            taxi,
            false,
        ),
        (
            INTAN,
            "transport",
            "Tiket kereta Bandung-Jakarta PP",
            train,
            true,
        ),
    ] {
        let mut f = reqwest::multipart::Form::new()
            .text("pelaksana", who)
            .text("jenis", jenis)
            .text("uraian", uraian)
            .text("jumlah", jumlah.to_string());
        if receipt {
            f = f.part(
                "file",
                file_part(
                    common::letter_pdf("KUITANSI HOTEL"),
                    "bukti.pdf",
                    "application/pdf",
                ),
            );
        }
        let (s, v) = multipart(&app, &staf, &format!("/sppd/{id}/costs"), f).await;
        assert_eq!(s, 200, "{uraian}: {v}");
    }
    let (s, v) = call(
        &app,
        &staf,
        "POST",
        &format!("/sppd/{id}/report/submit"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "reported");

    // Verification: the bendahara, then the PPK, each told by mail when it is their turn;
    // the settlement documents are signed.
    let asked = |to: &str| {
        let order_link = format!("{PUBLIC}/sppd/{id}");
        mails(&data)
            .iter()
            .filter(|(_, m)| {
                addressed_to(m, to)
                    && m.contains("Laporan perjalanan dinas")
                    && m.contains(&order_link)
            })
            .count()
    };
    assert_eq!(
        asked("bendahara@demo.paraf.test"),
        1,
        "the bendahara is asked once"
    );
    assert_eq!(
        asked(CHAIN[2]),
        0,
        "the PPK is not asked before the bendahara"
    );
    let bendahara = token(&app, "bendahara@demo.paraf.test").await;
    let (s, v) = call(
        &app,
        &bendahara,
        "POST",
        &format!("/sppd/{id}/verify"),
        Some(json!({"decision": "accept", "note": ""})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "verified");
    assert_eq!(asked(CHAIN[2]), 1, "then the PPK is asked, once");
    let ppk = token(&app, CHAIN[2]).await;
    let (s, done) = call(
        &app,
        &ppk,
        "POST",
        &format!("/sppd/{id}/verify"),
        Some(json!({"decision": "accept", "note": ""})),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(done["status"], "completed");

    let settlement = done["documents"]["settlement"]
        .as_array()
        .expect("settlement")
        .clone();
    let doc_of = |kind: &str, emp: Option<&str>| -> String {
        settlement
            .iter()
            .find(|d| d["kind"] == kind && (emp.is_none() || d["employee_id"].as_str() == emp))
            .and_then(|d| d["archive_id"].as_str())
            .unwrap_or_else(|| panic!("no {kind} in {settlement:?}"))
            .to_string()
    };
    let staf_id = order["pelaksana"][0]["employee_id"]
        .as_str()
        .expect("employee")
        .to_string();
    let intan_id = order["pelaksana"][1]["employee_id"]
        .as_str()
        .expect("employee")
        .to_string();
    let kuitansi = archived_pdf(&app, &archivist, &doc_of("kuitansi", Some(&staf_id))).await;
    // The bendahara and the PPK sign.
    check_signed(&validators, dir.path(), "kuitansi.pdf", &kuitansi, 2);
    let t = pdftotext(dir.path(), "kuitansi.pdf", &kuitansi);
    let total = daily * 3 + lodging.min(lodging_d * 2) + train + taxi;
    assert_eq!(daily, 530_000, "the demo SBM's DKI Jakarta rate");
    assert_eq!(total, 3_640_000);
    assert!(t.contains("Rp 3.640.000"), "kuitansi total: {t}");
    assert!(t.contains(&rp(daily * 3)), "uang harian line: {t}");
    assert!(
        t.contains("tiga juta enam ratus empat puluh ribu rupiah"),
        "terbilang: {t}"
    );
    assert!(t.contains("1/KU.03-KW/32/"), "kuitansi number: {t}");
    let riil = archived_pdf(
        &app,
        &archivist,
        &doc_of("daftar-pengeluaran-riil", Some(&staf_id)),
    )
    .await;
    check_signed(&validators, dir.path(), "riil.pdf", &riil, 1);
    let t = pdftotext(dir.path(), "riil.pdf", &riil);
    assert!(
        t.contains("Taksi stasiun-kantor KPU RI PP") && t.contains(&rp(taxi)),
        "{t}"
    );
    let kuitansi_intan = archived_pdf(&app, &archivist, &doc_of("kuitansi", Some(&intan_id))).await;
    let t = pdftotext(dir.path(), "kuitansi-intan.pdf", &kuitansi_intan);
    let total_intan = daily * 3 + train;
    assert!(t.contains(&rp(total_intan)), "{t}");
    assert!(
        t.contains("dua juta seratus sembilan puluh ribu rupiah"),
        "{t}"
    );
    let pengesahan =
        archived_pdf(&app, &archivist, &doc_of("sppd-pengesahan", Some(&staf_id))).await;
    let t = pdftotext(dir.path(), "pengesahan.pdf", &pengesahan);
    assert!(t.contains("Drs. Agus Salim"), "{t}");
    let _ = archived_pdf(&app, &archivist, &doc_of("laporan-perjalanan", None)).await;
    app.stop();
}
