//! Human tasks through the router: mailed links, decisions, Plh, reassignment, reminders
//! and escalation, with the real SQLite table and the real ASL interpreter running
//! `workflows/approval.asl.json` on a fixed clock.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use paraf_core::{FixedClock, NewEmployee, NewUnit};
use paraf_http::AppState;
use paraf_local::table::SqliteTable;
use paraf_local::workflows::LocalWorkflows;
use serde_json::{json, Value};
use support::{
    approval_workflows, form_post, get, hidden, json_req, page_get, send, session, token,
    workflow_state, Outbox, Resp,
};

const PASSWORD: &str = "rahasia-sekali";

struct T {
    state: AppState,
    clock: Arc<FixedClock>,
    wf: LocalWorkflows,
    outbox: Arc<Outbox>,
    /// login (email) by role in the test org
    staf: String,
    kasubag: String,
    kepala: String,
    lain: String,
    plh: String,
    admin: String,
    _dir: tempfile::TempDir,
}

impl T {
    /// staf → kasubag → kepala (signs); lain, plh and an admin on the side.
    async fn new() -> T {
        let clock = Arc::new(FixedClock::new(
            time::macros::datetime!(2026-11-30 02:00 UTC),
        ));
        let dir = tempfile::tempdir().unwrap();
        let table: Arc<SqliteTable> =
            Arc::new(SqliteTable::open(&dir.path().join("paraf.db")).unwrap());
        let outbox = Arc::new(Outbox::default());
        let wf = approval_workflows(table.clone(), clock.clone(), outbox.clone());
        let state = workflow_state(table, clock.clone(), outbox.clone(), &wf);
        let org = &state.org;
        let unit = org
            .create_unit(NewUnit {
                code: "PIMP".into(),
                name: "Pimpinan".into(),
                kind: "pimpinan".into(),
                parent_id: None,
            })
            .await
            .unwrap();
        let mut ids: Vec<String> = Vec::new();
        for (i, (local, sup, roles)) in [
            ("kepala", None, vec!["approver"]),
            ("kasubag", Some(0usize), vec!["approver"]),
            ("staf", Some(1), vec![]),
            ("lain", Some(0), vec![]),
            ("plh", Some(0), vec!["approver"]),
            ("admin", None, vec!["admin"]),
        ]
        .into_iter()
        .enumerate()
        {
            let e = org
                .create_employee(NewEmployee {
                    nip: format!("19900101201501{}{:03}", 1, 100 + i),
                    name: format!("Pegawai {local}"),
                    email: format!("{local}@kpu.test"),
                    jabatan: local.into(),
                    unit: unit.code.clone(),
                    supervisor: sup.map(|s: usize| ids[s].clone()),
                    roles: roles.into_iter().map(str::to_string).collect(),
                    ..Default::default()
                })
                .await
                .unwrap();
            state.auth.set_password(&e.id, PASSWORD).await.unwrap();
            ids.push(e.id);
        }
        T {
            state,
            clock,
            wf,
            outbox,
            staf: "staf@kpu.test".into(),
            kasubag: "kasubag@kpu.test".into(),
            kepala: "kepala@kpu.test".into(),
            lain: "lain@kpu.test".into(),
            plh: "plh@kpu.test".into(),
            admin: "admin@kpu.test".into(),
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        send(&self.state, req).await
    }

    async fn token(&self, login: &str) -> String {
        token(&self.state, login, PASSWORD).await
    }

    /// A web session (cookie) through the login form.
    async fn session(&self, login: &str) -> String {
        session(&self.state, login, PASSWORD).await
    }

    async fn page(&self, session: &str, path: &str) -> Resp {
        self.send(page_get(session, path)).await
    }

    fn post_form(session: &str, path: &str, body: String) -> Request<Body> {
        form_post(session, path, body)
    }

    /// Posts the decision form of `task` as the session's user.
    async fn decide(&self, session: &str, task: &str, decision: &str) -> Resp {
        let page = self.page(session, &format!("/tasks/{task}")).await;
        let csrf = hidden(&page.body, "csrf").unwrap_or_default();
        self.send(Self::post_form(
            session,
            &format!("/tasks/{task}"),
            format!("csrf={csrf}&decision={decision}&note=ok"),
        ))
        .await
    }

    /// Starts an approval as staf and runs the engine: returns (name, first task id).
    async fn start(&self) -> (String, String) {
        let tok = self.token(&self.staf).await;
        let r = self
            .send(json_req(
                "POST",
                "/api/v1/approvals",
                Some(&tok),
                &json!({"subject": "Surat undangan rapat", "document": "DOC-1"}),
            ))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let name = r.json()["name"].as_str().unwrap().to_string();
        self.wf.run_until_idle().await.unwrap();
        let tasks = self.tasks(&name).await;
        assert_eq!(tasks.len(), 1, "{tasks:?}");
        (name, tasks[0]["id"].as_str().unwrap().to_string())
    }

    async fn tasks(&self, name: &str) -> Vec<Value> {
        let tok = self.token(&self.staf).await;
        let r = self
            .send(get(&format!("/api/v1/approvals/{name}"), Some(&tok)))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["tasks"].as_array().unwrap().clone()
    }

    async fn task(&self, id: &str) -> Value {
        let tok = self.token(&self.admin).await;
        let r = self
            .send(get(&format!("/api/v1/tasks/{id}"), Some(&tok)))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    }
}

#[tokio::test]
async fn the_mail_carries_only_an_opaque_link_and_the_task_is_in_the_inbox_and_counted() {
    let t = T::new().await;
    let (_, id) = t.start().await;
    let mails = t.outbox.0.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec![t.kasubag.clone()]);
    assert_eq!(
        mails[0].links,
        vec![format!("http://paraf.test/tasks/{id}")]
    );
    assert!(mails[0].text.contains("Yth.") && mails[0].text.contains("Dear"));
    assert!(!t.task(&id).await.to_string().contains("taskToken"));
    let s = t.session(&t.kasubag).await;
    let inbox = t.page(&s, "/inbox").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(
        inbox.body.contains(&format!("/tasks/{id}")),
        "{}",
        inbox.body
    );
    let tok = t.token(&t.kasubag).await;
    let dash = t.send(get("/api/v1/dashboard", Some(&tok))).await;
    assert_eq!(dash.json()["to_approve"], 1, "{}", dash.body);
}

#[tokio::test]
async fn a_get_on_the_link_shows_a_confirmation_page_and_changes_nothing() {
    let t = T::new().await;
    let (_, id) = t.start().await;
    let before = t.task(&id).await;
    let s = t.session(&t.kasubag).await;
    for _ in 0..3 {
        let r = t.page(&s, &format!("/tasks/{id}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("name=\"decision\" value=\"approve\""));
    }
    let after = t.task(&id).await;
    assert_eq!(after["status"], "open");
    assert_eq!(before["history"], after["history"]);
}

#[tokio::test]
async fn a_post_decides_once_and_the_second_says_sudah_diputuskan_and_the_workflow_moves_on() {
    let t = T::new().await;
    let (name, id) = t.start().await;
    let s = t.session(&t.kasubag).await;
    let r = t.decide(&s, &id, "approve").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let again = t.decide(&s, &id, "reject").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("sudah diputuskan"), "{}", again.body);
    let task = t.task(&id).await;
    assert_eq!(task["decision"]["decision"], "approve");
    assert_eq!(task["delivered"], true);
    // The decision reached the execution: the next step is asked.
    t.wf.run_until_idle().await.unwrap();
    let tasks = t.tasks(&name).await;
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert_eq!(tasks[1]["assignee_name"], "Pegawai kepala");
    assert_eq!(tasks[1]["action"], "sign");
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let t = T::new().await;
    let (_, id) = t.start().await;
    t.clock.advance(time::Duration::days(8));
    let s = t.session(&t.kasubag).await;
    let page = t.page(&s, &format!("/tasks/{id}")).await;
    assert_eq!(page.status, StatusCode::GONE);
    let r = t
        .send(T::post_form(
            &s,
            &format!("/tasks/{id}"),
            format!(
                "csrf={}&decision=approve&note=",
                hidden(&page.body, "csrf").unwrap_or_default()
            ),
        ))
        .await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    assert_eq!(t.task(&id).await["status"], "open");
}

#[tokio::test]
async fn only_the_assignee_their_plh_or_the_reassigned_official_may_decide() {
    let t = T::new().await;
    let (_, id) = t.start().await;
    for other in [&t.lain, &t.staf, &t.admin] {
        let tok = t.token(other).await;
        let r = t
            .send(json_req(
                "POST",
                &format!("/api/v1/tasks/{id}/decision"),
                Some(&tok),
                &json!({"decision": "approve"}),
            ))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{other}: {}", r.body);
    }
    // An admin reassigns to `lain`: now lain decides and kasubag no longer may.
    let admin = t.token(&t.admin).await;
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/tasks/{id}/reassign"),
            Some(&admin),
            &json!({"assignee": t.lain}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let kasubag = t.token(&t.kasubag).await;
    let body = json!({"decision": "approve"});
    let uri = format!("/api/v1/tasks/{id}/decision");
    let r = t.send(json_req("POST", &uri, Some(&kasubag), &body)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let lain = t.token(&t.lain).await;
    let r = t.send(json_req("POST", &uri, Some(&lain), &body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(t
        .outbox
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|m| m.to == vec![t.lain.clone()]));

    // The Plh of kepala decides kepala's step during the delegation, not after it.
    t.wf.run_until_idle().await.unwrap();
    let d = t
        .send(json_req(
            "POST",
            "/api/v1/admin/delegations",
            Some(&admin),
            &json!({"principal": t.kepala, "acting": t.plh, "from": "2026-11-30",
                    "to": "2026-12-01", "reason": "cuti"}),
        ))
        .await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.body);
    let plh = t.token(&t.plh).await;
    let inbox = t.send(get("/api/v1/tasks", Some(&plh))).await;
    let step2 = inbox.json()[0]["id"].as_str().unwrap().to_string();
    let uri = format!("/api/v1/tasks/{step2}/decision");
    t.clock.advance(time::Duration::days(2));
    let plh_later = t.token(&t.plh).await;
    let late = t
        .send(json_req("POST", &uri, Some(&plh_later), &body))
        .await;
    assert_eq!(late.status, StatusCode::FORBIDDEN, "the delegation is over");
    t.clock.advance(time::Duration::days(-2));
    let r = t.send(json_req("POST", &uri, Some(&plh), &body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["decision"]["on_behalf_of"], "Pegawai kepala");
}

#[tokio::test]
async fn a_hundred_concurrent_posts_on_one_link_record_one_decision_and_ninety_nine_already_decided(
) {
    let t = Arc::new(T::new().await);
    let (_, id) = t.start().await;
    let s = t.session(&t.kasubag).await;
    let page = t.page(&s, &format!("/tasks/{id}")).await;
    let csrf = hidden(&page.body, "csrf").unwrap();
    let mut handles = Vec::new();
    for i in 0..100 {
        let (t, s, id, csrf) = (t.clone(), s.clone(), id.clone(), csrf.clone());
        handles.push(tokio::spawn(async move {
            let decision = if i % 2 == 0 { "approve" } else { "reject" };
            t.send(T::post_form(
                &s,
                &format!("/tasks/{id}"),
                format!("csrf={csrf}&decision={decision}&note=alasan"),
            ))
            .await
            .status
        }));
    }
    let mut ok = 0;
    let mut conflict = 0;
    for h in handles {
        match h.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => conflict += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, conflict), (1, 99));
    let task = t.task(&id).await;
    let decided = task["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["event"] == "decided")
        .count();
    assert_eq!(decided, 1);
}

#[tokio::test]
async fn reminders_before_the_due_time_and_escalation_after_it_show_in_the_task_history() {
    let t = T::new().await;
    let (name, first) = t.start().await;
    // HeartbeatSeconds (1 day) passes twice: two reminders, each a new mail and link.
    for _ in 0..2 {
        t.clock.advance(time::Duration::seconds(86_401));
        t.wf.run_until_idle().await.unwrap();
    }
    assert_eq!(t.task(&first).await["status"], "superseded");
    // The third day passes the due time: escalated to kasubag's supervisor.
    t.clock.advance(time::Duration::seconds(86_401));
    t.wf.run_until_idle().await.unwrap();
    let tasks = t.tasks(&name).await;
    let latest = tasks.last().unwrap();
    assert_eq!(latest["status"], "open");
    assert_eq!(latest["assignee_name"], "Pegawai kepala");
    let events: Vec<&str> = latest["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events.iter().filter(|e| **e == "reminder").count(),
        2,
        "{events:?}"
    );
    assert!(events.contains(&"escalated"), "{events:?}");
    let mails = t.outbox.0.lock().unwrap().clone();
    assert_eq!(mails.len(), 4, "first ask, two reminders, the escalation");
    assert!(mails[1].subject.contains("Pengingat"));
    assert!(mails[3].subject.contains("Eskalasi") && mails[3].to == vec![t.kepala.clone()]);
    // The old link no longer decides anything.
    let s = t.session(&t.kasubag).await;
    let r = t.decide(&s, &first, "approve").await;
    assert_ne!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn an_approval_that_ends_in_a_described_document_shows_its_pages_and_asks_before_signing() {
    let t = T::new().await;
    let tok = t.token(&t.staf).await;
    let spec = json!({
        "type": "spt", "classification": "KP.01", "title": "Surat Tugas bimbingan teknis",
        "data": {
            "nomor": "12/KP.01-ST/32/2026", "tanggal": "2026-11-30",
            "menimbang": "bahwa perlu menugaskan pegawai", "dasar": "DIPA 2026",
            "pegawai": [{"nama": "Pegawai staf", "nip": "199001012015011102", "jabatan": "staf"}],
            "untuk": "Bimbingan teknis arsip", "tempat_tujuan": "Kota Bandung",
            "tanggal_berangkat": "2026-12-02", "tanggal_kembali": "2026-12-03",
            "penandatangan": {"jabatan": "Kepala", "nama": "Pegawai kepala", "nip": "199001012015011100"}
        }
    });
    let r = t
        .send(json_req(
            "POST",
            "/api/v1/approvals",
            Some(&tok),
            &json!({"subject": "Surat tugas bimtek arsip", "document": "ST bimtek", "document_spec": spec}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let name = r.json()["name"].as_str().unwrap().to_string();
    t.wf.run_until_idle().await.unwrap();
    let id = t.tasks(&name).await[0]["id"].as_str().unwrap().to_string();
    let s = t.session(&t.kasubag).await;
    let page = t.page(&s, &format!("/tasks/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(">Bimbingan teknis arsip</text>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Anda memaraf dokumen ini"));
    let pdf = t.page(&s, &format!("/tasks/{id}/pratinjau/1")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with("%PDF-"));
    // The kasubag initials (the kepala signs last): asked first, in those words.
    let r = t.decide(&s, &id, "approve").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("Anda akan memaraf Surat Tugas 12/KP.01-ST/32/2026 untuk “Surat tugas bimtek arsip” sebagai kasubag."),
        "{}",
        r.body
    );
    assert!(r.body.contains(">Ya, paraf</button>"));
    assert_eq!(t.task(&id).await["status"], "open");
    // Through the API the decision stands as it always did: one explicit call.
    let tok = t.token(&t.kasubag).await;
    let r = t
        .send(json_req(
            "POST",
            &format!("/api/v1/tasks/{id}/decision"),
            Some(&tok),
            &json!({"decision": "approve"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["decision"]["by_role"], "kasubag");
}
