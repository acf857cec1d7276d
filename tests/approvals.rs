//! Crash test of the approval workflow in the real `paraf serve`: 50 executions of a
//! 5-step chain (kasubag → kabag → sekretaris → ketua, then the sign task), the server
//! SIGKILLed 20 times at random moments and restarted, tasks answered through the HTTP
//! API in between. Every execution ends, every step's mail went out once, no step ran
//! twice. Loopback only; bounded by a deadline.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{client, App, DEMO_PASSWORD};
use rand::Rng;
use serde_json::{json, Value};

const EXECUTIONS: usize = 50;
const KILLS: usize = 20;
/// Links and QR codes carry the public URL, which must not change with the port the
/// server happens to get after each restart.
const PUBLIC: &[(&str, &str)] = &[("PARAF_PUBLIC_URL", "http://paraf.kpu-jabar.test")];
const DEADLINE_SECS: u64 = 420;
const APPROVERS: [&str; 4] = [
    "kasubag@demo.paraf.test",
    "kabag@demo.paraf.test",
    "sekretaris@demo.paraf.test",
    "ketua@demo.paraf.test",
];

/// A Surat Tugas the sign step renders, signs (three paraf, one visible signature) and
/// archives.
fn spt_spec(i: usize) -> Value {
    json!({
        "type": "spt",
        "classification": "KU.03",
        "number": format!("{:03}/PL.01-SD/32/2026", i + 1),
        "title": format!("Surat Tugas supervisi {i}"),
        "parties": ["Ahmad Fauzi, S.E."],
        "data": {
            "nomor": format!("{:03}/PL.01-SD/32/2026", i + 1),
            "tanggal": "2026-11-28",
            "menimbang": "bahwa dalam rangka supervisi pemutakhiran data pemilih perlu menugaskan pegawai.",
            "dasar": "Undang-Undang Nomor 7 Tahun 2017 tentang Pemilihan Umum.",
            "pegawai": [{"nama": "Ahmad Fauzi, S.E.", "nip": "199206182017031016", "pangkat": "Penata Muda (III/a)", "jabatan": "Analis Keuangan"}],
            "untuk": "Melaksanakan supervisi di KPU Kabupaten Garut.",
            "tempat_tujuan": "Kabupaten Garut",
            "tanggal_berangkat": "2026-12-01",
            "tanggal_kembali": "2026-12-03",
            "penandatangan": {"jabatan": "Ketua", "nama": "Dr. Hendra Kusumawijaya, S.IP., M.Si.", "nip": "197204152000031002"}
        }
    })
}

async fn login(app: &App, who: &str) -> Option<String> {
    let r = client()
        .post(app.api("/auth/login"))
        .json(&json!({"login": who, "password": DEMO_PASSWORD}))
        .send()
        .await
        .ok()?;
    let v: Value = r.json().await.ok()?;
    v["token"].as_str().map(str::to_string)
}

/// Answers every task waiting for the approvers; errors (the server may die) are fine.
async fn answer_all(app: &App, tokens: &BTreeMap<&str, String>) {
    for who in APPROVERS {
        let Some(tok) = tokens.get(who) else { continue };
        let Ok(r) = client()
            .get(app.api("/tasks"))
            .bearer_auth(tok)
            .send()
            .await
        else {
            return;
        };
        let Ok(tasks) = r.json::<Vec<Value>>().await else {
            return;
        };
        for t in tasks {
            let Some(id) = t["id"].as_str() else { continue };
            let _ = client()
                .post(app.api(&format!("/tasks/{id}/decision")))
                .bearer_auth(tok)
                .json(&json!({"decision": "approve"}))
                .send()
                .await;
        }
    }
}

async fn tokens(app: &App) -> BTreeMap<&'static str, String> {
    let mut out = BTreeMap::new();
    for who in APPROVERS.into_iter().chain(["staf@demo.paraf.test"]) {
        if let Some(t) = login(app, who).await {
            out.insert(who, t);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_approval_chains_survive_twenty_sigkills_with_one_mail_per_step_and_no_step_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut app = App::start_with(&data, PUBLIC);
    let mut toks = tokens(&app).await;
    let staf = toks["staf@demo.paraf.test"].clone();
    let mut names = Vec::new();
    for i in 0..EXECUTIONS {
        let r = client()
            .post(app.api("/approvals"))
            .bearer_auth(&staf)
            .json(&json!({
                "subject": format!("Surat tugas {i}"),
                "document": format!("ST-{i}"),
                "document_spec": spt_spec(i),
            }))
            .send()
            .await
            .expect("start request");
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["chain"].as_array().map(Vec::len), Some(4), "{v}");
        names.push(v["name"].as_str().expect("name").to_string());
    }

    let deadline = Instant::now()
        + Duration::from_secs(
            std::env::var("PARAF_CRASH_DEADLINE")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEADLINE_SECS),
        );
    let mut kills = 0;
    let done = |v: &Value| v["status"].as_str().is_some_and(|s| s != "RUNNING");
    loop {
        if Instant::now() >= deadline {
            // Say where every unfinished execution stands before failing.
            let staf = toks["staf@demo.paraf.test"].clone();
            let mut stuck = Vec::new();
            for n in &names {
                if let Ok(r) = client()
                    .get(app.api(&format!("/approvals/{n}")))
                    .bearer_auth(&staf)
                    .send()
                    .await
                {
                    if let Ok(v) = r.json::<Value>().await {
                        if !done(&v) {
                            stuck.push(v.to_string());
                        }
                    }
                }
            }
            let kept = dir.keep();
            panic!(
                "{} executions did not finish in time (data kept in {}):\n{}",
                stuck.len(),
                kept.display(),
                stuck.join("\n")
            );
        }
        if kills < KILLS {
            // Kill at a random moment while tasks are being answered.
            let wait = Duration::from_millis(rand::thread_rng().gen_range(20..600));
            let answering = answer_all(&app, &toks);
            let _ = tokio::time::timeout(wait, answering).await;
            app.kill_hard();
            kills += 1;
            app = App::start_with(&data, PUBLIC);
            toks = tokens(&app).await;
            continue;
        }
        answer_all(&app, &toks).await;
        let staf = toks["staf@demo.paraf.test"].clone();
        let mut finished = 0;
        for n in &names {
            let r = client()
                .get(app.api(&format!("/approvals/{n}")))
                .bearer_auth(&staf)
                .send()
                .await
                .expect("describe");
            let v: Value = r.json().await.expect("json");
            if done(&v) {
                finished += 1;
            }
        }
        if finished == EXECUTIONS {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    let outbox: Vec<String> = std::fs::read_dir(data.join("outbox"))
        .expect("outbox")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        // Undo quoted-printable soft line breaks, which may split a link.
        .map(|m| m.replace("=\r\n", "").replace("=\n", ""))
        .collect();
    let staf = toks["staf@demo.paraf.test"].clone();
    for n in &names {
        let v: Value = client()
            .get(app.api(&format!("/approvals/{n}")))
            .bearer_auth(&staf)
            .send()
            .await
            .expect("describe")
            .json()
            .await
            .expect("json");
        let tasks = v["tasks"].as_array().expect("tasks");
        let steps: Vec<u64> = tasks.iter().filter_map(|t| t["step"].as_u64()).collect();
        assert_eq!(
            steps,
            vec![1, 2, 3, 4],
            "one task per step, none twice: {v}"
        );
        for t in tasks {
            let id = t["id"].as_str().expect("id");
            assert_eq!(t["decision"]["decision"], "approve", "{t}");
            assert_eq!(t["delivered"], true, "{t}");
            let decided = t["history"]
                .as_array()
                .map(|h| h.iter().filter(|e| e["event"] == "decided").count());
            assert_eq!(decided, Some(1), "{t}");
            // Never two mails for one step. A crash between creating a task and mailing it
            // may let the approver decide from the web inbox first; such a task is then
            // never mailed (and a crash between mailing and recording it leaves one mail
            // that the history does not list).
            let mails = outbox.iter().filter(|m| m.contains(id)).count();
            let events: Vec<&str> = t["history"]
                .as_array()
                .map(|h| h.iter().filter_map(|e| e["event"].as_str()).collect())
                .unwrap_or_default();
            assert!(mails <= 1, "task {id} mailed {mails} times: {t}");
            assert!(
                events.iter().filter(|e| **e == "mailed").count() <= mails,
                "history lists a mail that is not in the outbox: {t}"
            );
            if mails == 0 {
                assert_eq!(events, ["created", "decided", "delivered"], "{t}");
            }
        }
        // The sign step ran once: the execution succeeded with one archived document.
        assert_eq!(v["status"], "SUCCEEDED", "{v}");
    }
    // One archived document per execution, never two: count them through the CLI.
    app.stop();
    let out = common::paraf()
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .expect("paraf audit verify");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let archived = {
        use paraf_core::Blobs;
        let blobs = paraf_local::blobs::FolderBlobs::new(
            data.join("blobs"),
            "http://127.0.0.1".into(),
            [0; 32],
        );
        let mut count = 0;
        let mut cursor = None;
        loop {
            let page = blobs
                .list("archive/", 1000, cursor)
                .await
                .expect("list the archive");
            count += page.items.len();
            cursor = page.cursor;
            if cursor.is_none() {
                break count;
            }
        }
    };
    if archived != EXECUTIONS {
        let kept = dir.keep();
        panic!(
            "{archived} archived PDFs for {EXECUTIONS} executions (data kept in {})",
            kept.display()
        );
    }
    assert_eq!(kills, KILLS);
}
