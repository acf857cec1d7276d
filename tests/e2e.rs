//! End-to-end: the real `paraf` binary, its data directory, HTTP on loopback.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use common::{client, nip, paraf, token, App, DEMO_PASSWORD};
use serde_json::{json, Value};

#[tokio::test]
async fn the_demo_serves_health_and_a_demo_user_logs_in_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let health = client()
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    for who in ["admin", "sekretaris", "ppk", "bendahara", "arsiparis"] {
        let t = token(&app, &format!("{who}@demo.paraf.test"), DEMO_PASSWORD).await;
        let me: Value = client()
            .get(app.api("/me"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["email"], format!("{who}@demo.paraf.test"), "{me}");
    }
    let wrong = client()
        .post(app.api("/auth/login"))
        .json(&json!({"login": "admin@demo.paraf.test", "password": "salah"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn the_openapi_document_lists_the_routes_the_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let doc: Value = client()
        .get(app.api("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/admin/employees",
        "/api/v1/admin/employees/import",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
}

async fn create_employee(app: &App, admin: &str, i: u32) -> reqwest::StatusCode {
    client()
        .post(app.api("/admin/employees"))
        .bearer_auth(admin)
        .json(&json!({
            "nip": nip(i), "name": format!("Pegawai Uji {i}"), "email": format!("uji{i}@demo.paraf.test"),
            "jabatan": "Pengadministrasi Umum", "unit": "SUB-UMUM"
        }))
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or(reqwest::StatusCode::SERVICE_UNAVAILABLE)
}

#[tokio::test]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = App::start(&data);
    let admin = token(&app, "admin@demo.paraf.test", DEMO_PASSWORD).await;
    assert_eq!(create_employee(&app, &admin, 1).await, 201);
    app.stop();

    let app = App::start(&data);
    let admin = token(&app, "admin@demo.paraf.test", DEMO_PASSWORD).await;
    let list: Value = client()
        .get(app.api("/admin/employees?limit=200"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let emails: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["email"].as_str())
        .collect();
    assert!(emails.contains(&"uji1@demo.paraf.test"), "{emails:?}");
    // The demo is not loaded twice on a restart.
    assert_eq!(
        emails
            .iter()
            .filter(|e| **e == "admin@demo.paraf.test")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_sigkill_during_writes_loses_no_acknowledged_write_and_leaves_the_store_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = App::start(&data);
    let admin = token(&app, "admin@demo.paraf.test", DEMO_PASSWORD).await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicU32::new(100));
    let stop = Arc::new(AtomicBool::new(false));
    let app = Arc::new(app);
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (app, admin, acked, next, stop) = (
            app.clone(),
            admin.clone(),
            acked.clone(),
            next.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i > 3000 {
                    break;
                }
                if create_employee(&app, &admin, i).await == 201 {
                    acked.lock().unwrap().push(i);
                }
            }
        }));
    }
    // Kill while the writers are busy, once some writes went through.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while acked.lock().unwrap().len() < 20 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let pid = app.pid();
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        let _ = w.await;
    }
    drop(app);
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "only {} writes before the kill",
        acked.len()
    );

    // SQLite integrity, and no half-written employee: every NIP and email claim resolves.
    let check = paraf()
        .args(["admin", "check", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("consistent"));

    // Every acknowledged employee is there, whole: found by NIP and by email.
    let app = App::start(&data);
    let admin = token(&app, "admin@demo.paraf.test", DEMO_PASSWORD).await;
    let list = paraf()
        .args(["admin", "employees", "list", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    for i in &acked {
        assert!(
            listed.contains(&nip(*i)),
            "acknowledged employee {i} lost after SIGKILL"
        );
    }
    // And the server still takes writes.
    assert_eq!(create_employee(&app, &admin, 3500).await, 201);
}

#[test]
fn init_creates_the_first_admin_and_refuses_to_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = paraf()
        .args([
            "init",
            "--org-name",
            "KPU Kabupaten Contoh",
            "--admin-nip",
            "198503122010011003",
            "--admin-email",
            "it@contoh.go.id",
            "--admin-name",
            "Admin Contoh",
            "--data-dir",
        ])
        .arg(&data)
        .env("PARAF_ADMIN_PASSWORD", "rahasia-sekali")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = paraf()
        .args(["init", "--demo", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already initialised"));

    let pem = paraf()
        .args(["ca", "cert", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let pem = String::from_utf8_lossy(&pem.stdout);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    let list = paraf()
        .args(["admin", "employees", "list", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout)
        .contains("it@contoh.go.id\tAdmin Contoh\tstaff,admin"));
}

#[test]
fn init_with_an_invalid_nip_names_the_flag_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = paraf()
        .args([
            "init",
            "--admin-nip",
            "123",
            "--admin-email",
            "it@contoh.go.id",
            "--admin-name",
            "A",
            "--data-dir",
        ])
        .arg(&data)
        .env("PARAF_ADMIN_PASSWORD", "rahasia-sekali")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--admin-nip"));
    assert!(!data.exists());
}

#[test]
fn a_csv_import_from_the_cli_reports_rejected_rows_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(paraf()
        .args(["init", "--demo", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap()
        .status
        .success());
    let csv = dir.path().join("pegawai.csv");
    std::fs::write(
        &csv,
        "nip,nama,email,jabatan,unit,peran\n\
         199901012024011002,Andi Baru,andi@demo.paraf.test,Analis,SUB-KEU,staff\n\
         12345,NIP Salah,salah@demo.paraf.test,Analis,SUB-KEU,\n",
    )
    .unwrap();
    let out = paraf()
        .args(["admin", "employees", "import"])
        .arg(&csv)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("line 2\t199901012024011002\timported"),
        "{text}"
    );
    assert!(text.contains("line 3\t12345\trejected (nip:"), "{text}");
    assert!(text.contains("1 imported, 1 rejected"));
}
