//! e-disposisi through the router: registering a letter, reading, forwarding down a tree,
//! reports, and withdrawing an unread forward — with the real SQLite table, the real
//! notify task (`paraf_tasks::notify`) and the ASL interpreter running
//! `workflows/disposition.asl.json` on a fixed clock.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use paraf_core::approvals::Approvals;
use paraf_core::dispositions::Dispositions;
use paraf_core::{ExecutionStatus, FixedClock, NewEmployee, NewUnit, Workflows};
use paraf_http::AppState;
use paraf_local::table::SqliteTable;
use paraf_local::workflows::{handler_fn, Handlers, LocalWorkflows, TaskContext, TaskError};
use paraf_tasks::notify::{Invocation, Notifier};
use serde_json::{json, Value};
use support::{
    get, hidden, json_req, page_get, send, session, token, workflow_state, Outbox, Resp,
};

const PASSWORD: &str = "rahasia-sekali";
const DEADLINE: &str = "2026-12-05";

struct T {
    state: AppState,
    clock: Arc<FixedClock>,
    wf: LocalWorkflows,
    outbox: Arc<Outbox>,
    tokens: Mutex<HashMap<String, String>>,
    _dir: tempfile::TempDir,
}

/// Logins (`{local}@kpu.test`): ketua heads Pimpinan; a, b, c head units below it and
/// report to ketua; a1..a3, b1..b3, c1..c3 are their staff; agendaris registers letters;
/// luar works in an unrelated unit.
const LEVEL1: [&str; 3] = ["a", "b", "c"];

impl T {
    async fn new() -> T {
        let clock = Arc::new(FixedClock::new(
            time::macros::datetime!(2026-11-30 02:00 UTC),
        ));
        let dir = tempfile::tempdir().unwrap();
        let table: Arc<SqliteTable> =
            Arc::new(SqliteTable::open(&dir.path().join("paraf.db")).unwrap());
        let outbox = Arc::new(Outbox::default());
        // The same notify and escalate glue `paraf serve` registers.
        let notifier = Notifier {
            approvals: Approvals::new(table.clone(), clock.clone()),
            dispositions: Dispositions::new(table.clone(), clock.clone()),
            mailer: outbox.clone(),
            base_url: "http://paraf.test".into(),
        };
        let mut handlers = Handlers::new();
        let n = notifier.clone();
        handlers.insert(
            "notify".into(),
            handler_fn(move |p: Value, ctx: TaskContext| {
                let n = n.clone();
                async move {
                    n.notify(
                        p,
                        Invocation {
                            idempotency_key: ctx.idempotency_key,
                            task_token: ctx.task_token,
                        },
                    )
                    .await
                    .map_err(|e| TaskError::new(e.name(), e.to_string()))
                }
            }),
        );
        let n = notifier;
        handlers.insert(
            "escalate".into(),
            handler_fn(move |p: Value, _ctx: TaskContext| {
                let n = n.clone();
                async move {
                    n.escalate(p)
                        .await
                        .map_err(|e| TaskError::new(e.name(), e.to_string()))
                }
            }),
        );
        let wf = LocalWorkflows::new(table.clone(), handlers, clock.clone());
        let subs = paraf_tasks::definitions::local_substitutions(|n| wf.state_machine_arn(n));
        for (name, text) in paraf_tasks::definitions::definitions() {
            wf.register(name, text, &subs).unwrap();
        }
        let state = workflow_state(table, clock.clone(), outbox.clone(), &wf);
        let org = &state.org;
        let auth = &state.auth;
        let unit = |code: &str, parent: Option<String>| NewUnit {
            code: code.into(),
            name: format!("Unit {code}"),
            kind: if parent.is_none() {
                "pimpinan"
            } else {
                "divisi"
            }
            .into(),
            parent_id: parent,
        };
        let root = org.create_unit(unit("PIMP", None)).await.unwrap();
        let luar = org.create_unit(unit("LUAR", None)).await.unwrap();
        let mut n = 0;
        let mut add = |local: String, unit: String, sup: Option<String>, roles: Vec<&str>| {
            n += 1;
            let e = NewEmployee {
                nip: format!("19900101201501{}{:03}", 1, 100 + n),
                name: format!("Pegawai {local}"),
                email: format!("{local}@kpu.test"),
                jabatan: local.clone(),
                unit,
                supervisor: sup,
                roles: roles.into_iter().map(str::to_string).collect(),
                ..Default::default()
            };
            async move {
                let e = org.create_employee(e).await.unwrap();
                auth.set_password(&e.id, PASSWORD).await.unwrap();
                e.id
            }
        };
        let ketua = add("ketua".into(), root.id.clone(), None, vec!["approver"]).await;
        add("agendaris".into(), root.id.clone(), None, vec!["agendaris"]).await;
        add("admin".into(), root.id.clone(), None, vec!["admin"]).await;
        add("luar".into(), luar.id.clone(), None, vec![]).await;
        for l in LEVEL1 {
            let u = org
                .create_unit(unit(&l.to_uppercase(), Some(root.id.clone())))
                .await
                .unwrap();
            let head = add(l.into(), u.id.clone(), Some(ketua.clone()), vec![]).await;
            for i in 1..=3 {
                add(format!("{l}{i}"), u.id.clone(), Some(head.clone()), vec![]).await;
            }
        }
        T {
            state,
            clock,
            wf,
            outbox,
            tokens: Mutex::new(HashMap::new()),
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> Resp {
        send(&self.state, req).await
    }

    async fn token(&self, local: &str) -> String {
        if let Some(t) = self.tokens.lock().unwrap().get(local) {
            return t.clone();
        }
        let t = token(&self.state, &format!("{local}@kpu.test"), PASSWORD).await;
        self.tokens.lock().unwrap().insert(local.into(), t.clone());
        t
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> Resp {
        let tok = self.token(who).await;
        self.send(json_req("POST", path, Some(&tok), &body)).await
    }

    async fn get(&self, who: &str, path: &str) -> Resp {
        let tok = self.token(who).await;
        self.send(get(path, Some(&tok))).await
    }

    async fn idle(&self) {
        self.wf.run_until_idle().await.unwrap();
    }

    /// The agendaris registers a letter for ketua; returns the letter id.
    async fn register(&self) -> String {
        let r = self
            .post(
                "agendaris",
                "/api/v1/dispositions",
                json!({"subject": "Undangan rapat koordinasi pemilihan", "number": "045/UND/XI/2026",
                       "sender": "KPU RI", "date": "2026-11-27", "holder": "ketua@kpu.test"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.json()["id"].as_str().unwrap().to_string();
        self.idle().await;
        id
    }

    async fn inbox(&self, who: &str) -> Vec<Value> {
        let r = self.get(who, "/api/v1/dispositions").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json().as_array().unwrap().clone()
    }

    /// The one open task of `who`.
    async fn task(&self, who: &str) -> Value {
        let v = self.inbox(who).await;
        assert_eq!(v.len(), 1, "{who}: {v:?}");
        v[0].clone()
    }

    async fn unread(&self, who: &str) -> u64 {
        let r = self.get(who, "/api/v1/dashboard").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["unread_dispositions"].as_u64().unwrap()
    }

    async fn letter_status(&self, id: &str) -> (String, Value) {
        let r = self
            .get("agendaris", &format!("/api/v1/letters/{id}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v = r.json();
        (
            v["status"].as_str().unwrap_or("").to_string(),
            v["output"].clone(),
        )
    }

    async fn forward(&self, who: &str, task: &str, to: &[&str]) -> Resp {
        let to: Vec<String> = to.iter().map(|l| format!("{l}@kpu.test")).collect();
        self.post(
            who,
            &format!("/api/v1/dispositions/{task}/forward"),
            json!({"recipients": to, "instruction": "tindak lanjuti", "deadline": DEADLINE}),
        )
        .await
    }

    async fn complete(&self, who: &str, task: &str, report: &str) -> Resp {
        self.post(
            who,
            &format!("/api/v1/dispositions/{task}/complete"),
            json!({"report": report}),
        )
        .await
    }

    async fn session(&self, local: &str) -> String {
        session(&self.state, &format!("{local}@kpu.test"), PASSWORD).await
    }

    async fn page(&self, session: &str, path: &str) -> Resp {
        self.send(page_get(session, path)).await
    }
}

#[tokio::test]
async fn a_three_level_tree_with_fan_out_three_completes_only_after_all_thirteen_nodes_reported() {
    let t = T::new().await;
    let letter = t.register().await;
    let mut everyone = vec!["ketua".to_string()];
    for l in LEVEL1 {
        everyone.push(l.into());
        everyone.extend((1..=3).map(|i| format!("{l}{i}")));
    }
    let mut nodes = BTreeSet::new();
    let mut own_reports = 0;
    loop {
        let mut acted = false;
        for who in &everyone {
            for task in t.inbox(who).await {
                assert_eq!(t.letter_status(&letter).await.0, "RUNNING");
                let id = task["id"].as_str().unwrap();
                assert_eq!(task["subject"], "Undangan rapat koordinasi pemilihan");
                assert_eq!(task["number"], "045/UND/XI/2026");
                assert_eq!(task["sender"], "KPU RI");
                let r = match task["kind"].as_str().unwrap() {
                    "disposition" => {
                        assert!(nodes.insert(who.clone()), "{who} asked twice");
                        let depth = task["depth"].as_u64().unwrap();
                        if depth > 0 {
                            assert_eq!(task["instruction"], "tindak lanjuti");
                            assert_eq!(task["deadline"], DEADLINE);
                        }
                        if depth == 0 {
                            t.forward(who, id, &LEVEL1).await
                        } else if depth == 1 {
                            let subs: Vec<String> = (1..=3).map(|i| format!("{who}{i}")).collect();
                            let subs: Vec<&str> = subs.iter().map(String::as_str).collect();
                            t.forward(who, id, &subs).await
                        } else {
                            t.complete(who, id, &format!("selesai oleh {who}")).await
                        }
                    }
                    "disposition_report" => {
                        own_reports += 1;
                        t.complete(who, id, &format!("rangkuman {who}")).await
                    }
                    other => panic!("unexpected kind {other}"),
                };
                assert_eq!(r.status, StatusCode::OK, "{}", r.body);
                acted = true;
            }
        }
        t.idle().await;
        if !acted {
            break;
        }
    }
    assert_eq!(nodes.len(), 13);
    assert_eq!(own_reports, 4);
    let (status, out) = t.letter_status(&letter).await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(out["report"], "rangkuman ketua");
    assert_eq!(out["children"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        out["children"][2]["children"][1]["report"],
        "selesai oleh c2"
    );
    assert_eq!(out["children"][0]["status"], "completed");
    // Every node got a mail carrying only its opaque link.
    let mails = t.outbox.0.lock().unwrap().clone();
    assert_eq!(mails.len(), 13 + 4);
    assert!(mails
        .iter()
        .all(|m| m.links.len() == 1 && m.links[0].starts_with("http://paraf.test/disposisi/")));
}

#[tokio::test]
async fn the_unread_counter_drops_only_when_the_holder_marks_the_disposition_read() {
    let t = T::new().await;
    t.register().await;
    assert_eq!(t.unread("ketua").await, 1);
    let task = t.task("ketua").await;
    let id = task["id"].as_str().unwrap();
    assert_eq!(task["unread"], true);
    // Opening the mailed link (signed in) or reading it through the API changes nothing.
    let session = t.session("ketua").await;
    let page = t.page(&session, &format!("/disposisi/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("045/UND/XI/2026"), "{}", page.body);
    assert!(page.body.contains("KPU RI"));
    assert_eq!(
        t.get("ketua", &format!("/api/v1/dispositions/{id}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(t.unread("ketua").await, 1);
    // The explicit POST marks it read, once.
    let r = t
        .post(
            "ketua",
            &format!("/api/v1/dispositions/{id}/read"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["unread"], false);
    assert_eq!(t.unread("ketua").await, 0);
    let r = t
        .post(
            "ketua",
            &format!("/api/v1/dispositions/{id}/read"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(t.unread("ketua").await, 0);
    // Still in the inbox: read is not done.
    assert_eq!(t.inbox("ketua").await.len(), 1);
    // Someone else cannot mark it read.
    let r = t
        .post("a", &format!("/api/v1/dispositions/{id}/read"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_forward_to_someone_outside_the_holders_subtree_is_422_naming_the_field() {
    let t = T::new().await;
    t.register().await;
    let id = t.task("ketua").await["id"].as_str().unwrap().to_string();
    t.forward("ketua", &id, &["a"]).await;
    t.idle().await;
    let a_task = t.task("a").await["id"].as_str().unwrap().to_string();
    // b1 is in unit B under b, not in a's unit and not a's report; luar is elsewhere.
    let r = t.forward("a", &a_task, &["a1", "b1"]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let fields = &r.json()["error"]["fields"];
    assert!(fields.get("recipients[1]").is_some(), "{fields}");
    assert!(fields.get("recipients[0]").is_none(), "{fields}");
    let r = t.forward("a", &a_task, &["luar"]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["error"]["fields"].get("recipients[0]").is_some());
    // An instruction outside the glossary and a bad date name their fields too.
    let r = t
        .post(
            "a",
            &format!("/api/v1/dispositions/{a_task}/forward"),
            json!({"recipients": ["a1@kpu.test"], "instruction": "buang", "deadline": "besok"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &r.json()["error"]["fields"];
    assert!(fields.get("instruction").is_some() && fields.get("deadline").is_some());
    // Nothing changed: the task is still open.
    assert_eq!(t.task("a").await["status"], "open");
}

#[tokio::test]
async fn cancelling_an_unread_child_stops_it_and_the_parent_still_completes() {
    let t = T::new().await;
    let letter = t.register().await;
    let id = t.task("ketua").await["id"].as_str().unwrap().to_string();
    let r = t.forward("ketua", &id, &LEVEL1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    t.idle().await;
    let b = t.task("b").await;
    let b_id = b["id"].as_str().unwrap();
    assert_eq!(t.unread("b").await, 1);
    // Someone who did not forward it cannot withdraw it.
    let r = t
        .post(
            "a",
            &format!("/api/v1/dispositions/{b_id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .post(
            "ketua",
            &format!("/api/v1/dispositions/{b_id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["status"], "cancelled");
    t.idle().await;
    let d =
        t.wf.describe_execution(b["execution_id"].as_str().unwrap())
            .await
            .unwrap();
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert!(t.inbox("b").await.is_empty());
    assert_eq!(t.unread("b").await, 0);
    // b can no longer answer.
    let r = t.complete("b", b_id, "terlambat").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    for who in ["a", "c"] {
        let task = t.task(who).await;
        let r = t
            .complete(who, task["id"].as_str().unwrap(), &format!("selesai {who}"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    t.idle().await;
    assert_eq!(t.letter_status(&letter).await.0, "RUNNING");
    let report = t.task("ketua").await;
    assert_eq!(report["kind"], "disposition_report");
    let r = t
        .complete("ketua", report["id"].as_str().unwrap(), "rangkuman")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    t.idle().await;
    let (status, out) = t.letter_status(&letter).await;
    assert_eq!(status, "SUCCEEDED");
    let statuses: Vec<&str> = out["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "cancelled", "completed"]);
}

#[tokio::test]
async fn cancelling_a_child_that_has_read_its_disposition_is_refused_with_409() {
    let t = T::new().await;
    t.register().await;
    let id = t.task("ketua").await["id"].as_str().unwrap().to_string();
    t.forward("ketua", &id, &["a", "b"]).await;
    t.idle().await;
    let a_id = t.task("a").await["id"].as_str().unwrap().to_string();
    let r = t
        .post("a", &format!("/api/v1/dispositions/{a_id}/read"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t
        .post(
            "ketua",
            &format!("/api/v1/dispositions/{a_id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.json()["error"]["fields"].get("disposition").is_some());
    t.idle().await;
    assert_eq!(t.task("a").await["status"], "open");
}

#[tokio::test]
async fn on_the_web_page_the_holder_marks_read_and_forwards_and_the_parent_withdraws_an_unread_child(
) {
    let t = T::new().await;
    t.register().await;
    let id = t.task("ketua").await["id"].as_str().unwrap().to_string();
    let session = t.session("ketua").await;
    let page = t.page(&session, &format!("/disposisi/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = hidden(&page.body, "csrf").unwrap();
    let post = |body: String, path: String| {
        Request::builder()
            .method("POST")
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("paraf_session={session}"))
            .body(Body::from(body))
            .unwrap()
    };
    let r = t
        .send(post(
            format!("csrf={csrf}&action=read"),
            format!("/disposisi/{id}"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(t.unread("ketua").await, 0);
    // A recipient outside the subtree is shown on the form, nothing is forwarded.
    let r = t
        .send(post(
            format!("csrf={csrf}&action=forward&recipients=luar%40kpu.test&instruction=pelajari&deadline={DEADLINE}"),
            format!("/disposisi/{id}"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("recipients[0]"), "{}", r.body);
    let r = t
        .send(post(
            format!("csrf={csrf}&action=forward&recipients=a%40kpu.test%0Ab%40kpu.test&instruction=pelajari&deadline={DEADLINE}"),
            format!("/disposisi/{id}"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    t.idle().await;
    let b = t.task("b").await;
    assert_eq!(b["instruction"], "pelajari");
    let b_id = b["id"].as_str().unwrap();
    // The parent's page lists the children with a withdraw button for the unread ones.
    let page = t.page(&session, &format!("/disposisi/{id}")).await;
    assert!(
        page.body.contains(&format!("/disposisi/{b_id}/tarik")),
        "{}",
        page.body
    );
    let r = t
        .send(post(
            format!("csrf={csrf}"),
            format!("/disposisi/{b_id}/tarik"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(t.inbox("b").await.is_empty());
    // The list page of the holder shows what is open.
    let a_session = t.session("a").await;
    let list = t.page(&a_session, "/disposisi").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Undangan rapat koordinasi pemilihan"));
}

#[tokio::test]
async fn an_overdue_disposition_is_asked_again_and_keeps_its_read_state() {
    let t = T::new().await;
    let letter = t.register().await;
    let first = t.task("ketua").await["id"].as_str().unwrap().to_string();
    let r = t
        .post(
            "ketua",
            &format!("/api/v1/dispositions/{first}/read"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    t.clock.advance(time::Duration::days(4));
    t.tokens.lock().unwrap().clear(); // the old tokens expired with the days
    t.idle().await;
    let again = t.task("ketua").await;
    assert_ne!(again["id"].as_str().unwrap(), first);
    assert_eq!(again["unread"], false);
    assert_eq!(t.unread("ketua").await, 0);
    // The replaced task takes no answer; the new one does.
    let r = t.complete("ketua", &first, "laporan").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = t
        .complete("ketua", again["id"].as_str().unwrap(), "laporan")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    t.idle().await;
    assert_eq!(t.letter_status(&letter).await.0, "SUCCEEDED");
}

#[tokio::test]
async fn a_disposition_for_an_official_on_leave_goes_to_their_plh_who_acts_for_them() {
    let t = T::new().await;
    // The Ketua is away from 30 November to 2 December; `a` is Plh.
    t.state
        .org
        .create_delegation(
            "ketua@kpu.test",
            "a@kpu.test",
            "2026-11-30",
            "2026-12-02",
            "cuti",
        )
        .await
        .unwrap();
    let letter = t.register().await;
    assert_eq!(t.unread("a").await, 1, "the Plh's inbox has it");
    assert_eq!(t.unread("ketua").await, 0);
    let task = t.task("a").await;
    let id = task["id"].as_str().unwrap().to_string();
    // Someone who is neither holder nor Plh cannot act.
    let r = t
        .post(
            "luar",
            &format!("/api/v1/dispositions/{id}/complete"),
            json!({"report": "bukan saya"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .post(
            "a",
            &format!("/api/v1/dispositions/{id}/complete"),
            json!({"report": "Sudah dikoordinasikan atas nama Ketua"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    t.idle().await;
    assert_eq!(t.letter_status(&letter).await.0, "SUCCEEDED");
}

#[tokio::test]
async fn an_admin_reassigns_an_open_disposition_and_only_an_admin_may() {
    let t = T::new().await;
    let letter = t.register().await;
    let id = t.task("ketua").await["id"].as_str().unwrap().to_string();
    let uri = format!("/api/v1/dispositions/{id}/reassign");
    let r = t.post("agendaris", &uri, json!({"to": "b@kpu.test"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .post("admin", &uri, json!({"to": "nobody@kpu.test"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.json()["error"]["fields"]["to"].is_string());
    let r = t.post("admin", &uri, json!({"to": "b@kpu.test"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Gone from the Ketua's inbox, unread in b's; the old holder can no longer act.
    assert!(t.inbox("ketua").await.is_empty());
    assert_eq!(t.unread("b").await, 1);
    let r = t
        .post(
            "ketua",
            &format!("/api/v1/dispositions/{id}/complete"),
            json!({"report": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = t
        .post(
            "b",
            &format!("/api/v1/dispositions/{id}/complete"),
            json!({"report": "Selesai"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    t.idle().await;
    assert_eq!(t.letter_status(&letter).await.0, "SUCCEEDED");
    // A closed task cannot be reassigned.
    let r = t.post("admin", &uri, json!({"to": "c@kpu.test"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn every_registered_letter_gets_the_next_nomor_agenda_of_the_year() {
    let t = T::new().await;
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let id = t.register().await;
        let r = t.get("agendaris", &format!("/api/v1/letters/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v = r.json();
        // The sender's number stays the letter's own; the register numbers it apart.
        assert_eq!(v["number"], "045/UND/XI/2026");
        numbers.push(v["agenda_number"].as_str().unwrap_or_default().to_string());
    }
    // The fixed clock is in 2026 (WIB).
    let want: Vec<String> = (1..=3).map(|n| format!("{n}/TU-AG/32/2026")).collect();
    assert_eq!(numbers, want);
    // The holder's page shows it.
    let task = t.inbox("ketua").await[0].clone();
    let session = t.session("ketua").await;
    let page = t
        .page(
            &session,
            &format!("/disposisi/{}", task["id"].as_str().unwrap_or_default()),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("/TU-AG/32/2026"), "{}", page.body);
}

#[tokio::test]
async fn a_letter_with_nul_or_a_direction_override_is_refused_by_field_and_not_stored() {
    let t = T::new().await;
    for (field, value) in [
        ("subject", "Undangan\u{0}rapat"),
        ("number", "045/UND/\u{202e}6202"),
        ("sender", "KPU\u{2066} RI"),
    ] {
        let mut body = json!({"subject": "Undangan rapat", "number": "045/UND/XI/2026",
                              "sender": "KPU RI", "date": "2026-11-27", "holder": "ketua@kpu.test"});
        body[field] = json!(value);
        let r = t.post("agendaris", "/api/v1/dispositions", body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        assert!(r.json()["error"]["fields"][field].is_string(), "{}", r.body);
    }
    assert!(
        t.inbox("ketua").await.is_empty(),
        "no letter was registered"
    );
}
