//! Accounts on the real binary: the organisation keeps an admin whatever admins do (alone
//! or racing each other), `paraf admin roles` repairs roles from the shell, and failed
//! logins are throttled per account and client address (tests connect from different
//! loopback addresses: Linux routes all of 127.0.0.0/8 to `lo`).

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{client, paraf, text, token, App, DEMO_PASSWORD};
use serde_json::{json, Value};

const ADMIN: &str = "admin@demo.paraf.test";
const STAFF: &str = "staf@demo.paraf.test";

/// A client whose connections come from `from` (a loopback address such as 127.0.0.2).
fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().expect("address"))
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn login_from(app: &App, from: &str, login: &str, password: &str) -> reqwest::Response {
    client_from(from)
        .post(app.api("/auth/login"))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .expect("login request")
}

async fn get_json(app: &App, bearer: &str, path: &str) -> Value {
    let res = client()
        .get(app.api(path))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.expect("json")
}

async fn employee(app: &App, bearer: &str, who: &str) -> Value {
    get_json(app, bearer, &format!("/admin/employees/{who}")).await
}

async fn put_json(app: &App, bearer: &str, path: &str, body: Value) -> (u16, Value) {
    let res = client()
        .put(app.api(path))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn set_roles(app: &App, bearer: &str, emp: &Value, roles: &[&str]) -> (u16, Value) {
    put_json(
        app,
        bearer,
        &format!("/admin/employees/{}/roles", emp["id"].as_str().expect("id")),
        json!({"roles": roles, "version": emp["version"]}),
    )
    .await
}

async fn set_active(app: &App, bearer: &str, emp: &Value, active: bool) -> (u16, Value) {
    put_json(
        app,
        bearer,
        &format!(
            "/admin/employees/{}/active",
            emp["id"].as_str().expect("id")
        ),
        json!({"active": active, "version": emp["version"]}),
    )
    .await
}

fn is_admin(emp: &Value) -> bool {
    emp["active"] == true
        && emp["roles"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "admin"))
}

/// A second admin (`admin2@demo.paraf.test`) with a password, and their token.
async fn second_admin(app: &App, admin: &str) -> (Value, String) {
    let res = client()
        .post(app.api("/admin/employees"))
        .bearer_auth(admin)
        .json(&json!({
            "nip": common::nip(77), "name": "Admin Kedua", "email": "admin2@demo.paraf.test",
            "jabatan": "Pranata Komputer", "unit": "SUB-UMUM", "roles": ["admin"],
            "password": "kata-sandi-kedua",
        }))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let emp: Value = res.json().await.expect("json");
    let t = token(app, "admin2@demo.paraf.test", "kata-sandi-kedua").await;
    (emp, t)
}

#[tokio::test]
async fn the_only_admin_can_neither_drop_the_admin_role_nor_be_deactivated() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let admin = token(&app, ADMIN, DEMO_PASSWORD).await;
    let me = employee(&app, &admin, ADMIN).await;

    let (status, body) = set_roles(&app, &admin, &me, &["staff"]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    let why = body["error"]["fields"]["roles"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("setidaknya satu admin aktif"), "{body}");

    let (status, body) = set_active(&app, &admin, &me, false).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["fields"]["active"].is_string(), "{body}");

    // In English when asked.
    let res = client()
        .put(app.api(&format!(
            "/admin/employees/{}/roles?lang=en",
            me["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin)
        .json(&json!({"roles": [], "version": me["version"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["fields"]["roles"]
            .as_str()
            .is_some_and(|m| m.contains("at least one active admin")),
        "{body}"
    );

    let after = employee(&app, &admin, ADMIN).await;
    assert_eq!(after["roles"], me["roles"], "roles unchanged");
    assert_eq!(after["active"], true);
    assert_eq!(after["version"], me["version"], "nothing written");
}

#[tokio::test]
async fn two_admins_removing_each_other_at_once_leave_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let admin = token(&app, ADMIN, DEMO_PASSWORD).await;
    let (_, admin2) = second_admin(&app, &admin).await;
    for round in 0..6 {
        let a = employee(&app, &admin, ADMIN).await;
        let b = employee(&app, &admin, "admin2@demo.paraf.test").await;
        assert!(
            is_admin(&a) && is_admin(&b),
            "round {round} starts with two admins"
        );
        // Half the rounds race two role removals, half a removal against a deactivation.
        let ((s1, body1), (s2, body2)) = if round % 2 == 0 {
            tokio::join!(
                set_roles(&app, &admin, &b, &["staff"]),
                set_roles(&app, &admin2, &a, &["staff"]),
            )
        } else {
            tokio::join!(
                set_active(&app, &admin, &b, false),
                set_roles(&app, &admin2, &a, &["staff"]),
            )
        };
        let won = [s1, s2].iter().filter(|s| **s == 200).count();
        assert_eq!(won, 1, "round {round}: {s1} {body1} / {s2} {body2}");
        // The loser is refused as the last admin, or (when the winner finished before the
        // loser was even authenticated) as no longer admin (403) or no longer active (401).
        for (s, body) in [(s1, &body1), (s2, &body2)] {
            assert!(
                matches!(s, 200 | 401 | 403 | 409),
                "round {round}: {s} {body}"
            );
        }
        let (survivor_token, loser_login) = if s1 == 200 {
            (&admin, "admin2@demo.paraf.test")
        } else {
            (&admin2, ADMIN)
        };
        let a = employee(&app, survivor_token, ADMIN).await;
        let b = employee(&app, survivor_token, "admin2@demo.paraf.test").await;
        assert_eq!(
            u8::from(is_admin(&a)) + u8::from(is_admin(&b)),
            1,
            "round {round}: exactly one admin left: {a} {b}"
        );
        // The survivor restores the other for the next round.
        let mut loser = employee(&app, survivor_token, loser_login).await;
        if loser["active"] == false {
            let (s, body) = set_active(&app, survivor_token, &loser, true).await;
            assert_eq!(s, 200, "{body}");
            loser = body;
        }
        let (s, body) = set_roles(&app, survivor_token, &loser, &["admin"]).await;
        assert_eq!(s, 200, "{body}");
    }
}

#[tokio::test]
async fn an_admin_imported_from_csv_counts_so_the_first_may_step_down() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let admin = token(&app, ADMIN, DEMO_PASSWORD).await;
    let csv = format!(
        "nip,nama,email,jabatan,unit,peran\n{},Admin Impor,impor@demo.paraf.test,Pranata Komputer,SUB-UMUM,admin\n",
        common::nip(88)
    );
    let res = client()
        .post(app.api("/admin/employees/import"))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let me = employee(&app, &admin, ADMIN).await;
    let (status, body) = set_roles(&app, &admin, &me, &["staff"]).await;
    assert_eq!(status, 200, "{body}");
    // Now the imported admin is the last one; not even the shell may take that away.
    let imported = paraf()
        .args([
            "admin",
            "roles",
            "revoke",
            "impor@demo.paraf.test",
            "admin",
            "--data-dir",
        ])
        .arg(&app.data_dir)
        .output()
        .unwrap();
    assert!(!imported.status.success(), "{}", text(&imported));
    assert!(
        text(&imported).contains("at least one active admin"),
        "{}",
        text(&imported)
    );
}

#[tokio::test]
async fn paraf_admin_roles_grants_and_revokes_on_a_running_and_on_a_stopped_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let app = App::start(&data);
    let admin_cmd = |args: &[&str]| {
        let out = paraf()
            .args(["admin", "roles"])
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        (out.status.success(), text(&out))
    };

    // While the server runs: staff becomes admin, and the server knows at once.
    let (ok, out) = admin_cmd(&["grant", STAFF, "admin"]);
    assert!(ok, "{out}");
    assert!(out.contains("admin"), "{out}");
    let staff = token(&app, STAFF, DEMO_PASSWORD).await;
    let list = client()
        .get(app.api("/admin/employees"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200, "the new admin is admin on the server");
    let (ok, out) = admin_cmd(&["list"]);
    assert!(ok && out.contains(STAFF) && out.contains(ADMIN), "{out}");
    let (ok, out) = admin_cmd(&["grant", STAFF, "kepala-besar"]);
    assert!(!ok && out.contains("unknown role"), "{out}");
    app.stop();

    // With the server stopped: the demo admin steps down, and the last one cannot.
    let (ok, out) = admin_cmd(&["revoke", ADMIN, "admin"]);
    assert!(ok, "{out}");
    let (ok, out) = admin_cmd(&["revoke", STAFF, "admin"]);
    assert!(!ok, "{out}");
    assert!(out.contains("setidaknya satu admin aktif"), "{out}");
    let (ok, out) = admin_cmd(&["list"]);
    assert!(ok && out.contains(STAFF) && !out.contains(ADMIN), "{out}");
    let check = paraf()
        .args(["admin", "check", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains("1 active admins"), "{}", text(&check));
}

// ---------- login throttling ----------

/// Sends wrong passwords from `from` until one is refused with 429; returns how many
/// failures came first and the refusal.
async fn fail_until_429(app: &App, from: &str, login: &str) -> (usize, reqwest::Response) {
    for n in 0..50 {
        let res = login_from(app, from, login, "bukan-sandinya").await;
        match res.status().as_u16() {
            401 => continue,
            429 => return (n, res),
            other => panic!("unexpected {other}"),
        }
    }
    panic!("{login} from {from} was never throttled");
}

#[tokio::test]
async fn a_strangers_wrong_passwords_never_lock_the_owner_out_from_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let stranger = "127.0.0.2";
    let (failures, refusal) = fail_until_429(&app, stranger, ADMIN).await;
    assert_eq!(failures, 10, "ten failures, then the stranger is stopped");
    let retry: u64 = refusal.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=120).contains(&retry), "Retry-After {retry}");
    let body: Value = refusal.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));

    // The right password from the stranger's address is refused too…
    let res = login_from(&app, stranger, ADMIN, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 429);
    // …and the web form says so in words.
    let web = client_from(stranger);
    let form = web.get(format!("{}/login", app.url)).send().await.unwrap();
    let page = form.text().await.unwrap();
    let csrf = hidden(&page, "csrf");
    let res = web
        .post(format!("{}/login", app.url))
        .form(&[
            ("login", ADMIN),
            ("password", DEMO_PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let page = res.text().await.unwrap();
    assert!(page.contains("Terlalu banyak percobaan masuk"), "{page}");

    // The owner, from another address, signs in as always.
    let res = login_from(&app, "127.0.0.3", ADMIN, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 200);
    // And other accounts from the stranger's address are not blocked by this one.
    let res = login_from(&app, stranger, STAFF, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_password_spray_over_many_accounts_from_one_address_is_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(&dir.path().join("data"));
    let sprayer = "127.0.0.4";
    let accounts = [
        "ketua",
        "sekretaris",
        "kabag",
        "kasubag",
        "ppk",
        "bendahara",
        "arsiparis",
        "agendaris",
        "staf",
        "admin",
    ];
    let mut refused_after = None;
    for n in 0..60 {
        // Never more than a few tries per account: only the address limit can stop this.
        let login = if n < accounts.len() {
            format!("{}@demo.paraf.test", accounts[n])
        } else {
            format!("orang{n}@demo.paraf.test")
        };
        let res = login_from(&app, sprayer, &login, "Jakarta2026!").await;
        match res.status().as_u16() {
            401 => {}
            429 => {
                assert!(res.headers().contains_key("retry-after"));
                refused_after = Some(n);
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        refused_after,
        Some(30),
        "thirty failures from one address, then 429"
    );
    let res = login_from(&app, sprayer, STAFF, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 429, "nothing more from that address");
    let res = login_from(&app, "127.0.0.5", STAFF, DEMO_PASSWORD).await;
    assert_eq!(res.status(), 200, "other addresses are not affected");
}

/// The value of a hidden form field.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).expect("hidden field") + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = "127.0.0.6";
    let app = App::start_with(
        &dir.path().join("data"),
        &[("PARAF_TRUSTED_PROXIES", "127.0.0.6")],
    );
    let via = |from: &'static str, client: &'static str, password: &'static str| {
        let app_url = app.api("/auth/login");
        async move {
            client_from(from)
                .post(app_url)
                .header("x-forwarded-for", client)
                .json(&json!({"login": ADMIN, "password": password}))
                .send()
                .await
                .expect("login request")
                .status()
                .as_u16()
        }
    };
    for _ in 0..10 {
        assert_eq!(via(proxy, "198.51.100.1", "salah-salah").await, 401);
    }
    assert_eq!(via(proxy, "198.51.100.1", DEMO_PASSWORD).await, 429);
    assert_eq!(
        via(proxy, "198.51.100.2", DEMO_PASSWORD).await,
        200,
        "another client behind the same proxy"
    );
    assert_eq!(
        via("127.0.0.7", "198.51.100.1", DEMO_PASSWORD).await,
        200,
        "from a peer that is not a trusted proxy the header means nothing"
    );
}
