//! The real definitions in `workflows/` run by the local interpreter, and its durability
//! across a crash on the SQLite table.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use paraf_core::memory::MemoryTable;
use paraf_core::{ExecutionStatus, FixedClock, Table, Workflows};
use paraf_local::table::SqliteTable;
use paraf_local::workflows::{
    errors, handler_fn, validate_file, Handlers, LocalWorkflows, Options, TaskError,
};
use serde_json::{json, Value};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../workflows")
}

fn subs(wf: &LocalWorkflows) -> BTreeMap<String, String> {
    let f = |n: &str| format!("arn:aws:lambda:ap-southeast-3:000000000000:function:{n}");
    BTreeMap::from([
        ("NotifyFunctionArn".into(), f("notify")),
        ("SignFunctionArn".into(), f("sign")),
        ("EscalateFunctionArn".into(), f("escalate")),
        (
            "DispositionStateMachineArn".into(),
            wf.state_machine_arn("disposition"),
        ),
    ])
}

type Inbox = Arc<Mutex<Vec<(Value, String)>>>;

/// notify records (payload, token); sign counts its calls by idempotency key, and fails
/// with the error names queued in `failures` first.
struct World {
    wf: LocalWorkflows,
    inbox: Inbox,
    signed: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<std::collections::VecDeque<&'static str>>>,
    clock: Arc<FixedClock>,
}

fn world(table: Arc<dyn Table>) -> World {
    let inbox: Inbox = Arc::new(Mutex::new(Vec::new()));
    let signed = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(std::collections::VecDeque::new()));
    let mut h = Handlers::new();
    let i = inbox.clone();
    h.insert(
        "notify".into(),
        handler_fn(move |p: Value, ctx| {
            let i = i.clone();
            async move {
                i.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((p, ctx.task_token.unwrap_or_default()));
                Ok(json!({"sent": true}))
            }
        }),
    );
    let (s, f) = (signed.clone(), failures.clone());
    h.insert(
        "sign".into(),
        handler_fn(move |_, ctx| {
            let (s, f) = (s.clone(), f.clone());
            async move {
                s.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(ctx.idempotency_key);
                let fail = f.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                match fail {
                    Some(name) => Err(TaskError::new(name, "the signer says no")),
                    None => Ok(json!({"document": "signed.pdf"})),
                }
            }
        }),
    );
    h.insert(
        "escalate".into(),
        handler_fn(|_, _| async { Ok(json!({})) }),
    );
    let clock = Arc::new(FixedClock::new(
        time::macros::datetime!(2026-12-01 08:00 UTC),
    ));
    let wf = LocalWorkflows::with_options(table, h, clock.clone(), Options::default());
    let s = subs(&wf);
    wf.register_dir(&dir(), &s)
        .unwrap_or_else(|e| panic!("{e}"));
    World {
        wf,
        inbox,
        signed,
        failures,
        clock,
    }
}

impl World {
    fn take(&self) -> Vec<(Value, String)> {
        std::mem::take(&mut *self.inbox.lock().unwrap_or_else(|p| p.into_inner()))
    }
    async fn idle(&self) {
        self.wf
            .run_until_idle()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    async fn status(&self, id: &str) -> (ExecutionStatus, Value) {
        let d = self
            .wf
            .describe_execution(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (d.status, d.output.unwrap_or(Value::Null))
    }
}

fn chain(n: usize) -> Value {
    json!({
        "request": {"kind": "sppd", "id": "SPPD-7"},
        "chain": (1..=n).map(|i| json!({"step": i, "assignee": format!("E{i}"), "action": if i == n {"sign"} else {"paraf"}})).collect::<Vec<_>>(),
        "requester": "R1"
    })
}

#[test]
fn the_workflow_files_validate_and_use_only_known_error_names() {
    for f in ["approval.asl.json", "disposition.asl.json"] {
        let sm = validate_file(&dir().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        for name in sm.error_names() {
            assert!(
                errors::KNOWN.contains(&name.as_str()),
                "{f}: unknown error name {name}"
            );
        }
    }
}

#[tokio::test]
async fn approving_every_step_of_a_five_step_chain_signs_once() {
    let w = world(Arc::new(MemoryTable::new()));
    let id =
        w.wf.start_execution("approval", "sppd-7", chain(5))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    w.idle().await;
    for step in 1..=5 {
        let asked = w.take();
        assert_eq!(asked.len(), 1, "step {step}");
        assert_eq!(asked[0].0["step"], json!(step));
        assert_eq!(asked[0].0["assignee"], json!(format!("E{step}")));
        w.wf.send_task_success(&asked[0].1, json!({"decision": "approve"}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        w.idle().await;
    }
    let (status, out) = w.status(&id).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(out["status"], json!("approved"));
    assert_eq!(out["signature"], json!({"document": "signed.pdf"}));
    assert_eq!(w.signed.lock().map(|s| s.len()).unwrap_or(0), 1);
}

impl World {
    fn fail_next(&self, names: &[&'static str]) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(names.iter().copied());
    }
    fn sign_calls(&self) -> usize {
        self.signed.lock().map(|s| s.len()).unwrap_or(0)
    }
    /// Starts a one-step chain and approves it: the execution reaches `Sign`.
    async fn approved(&self, name: &str) -> String {
        let id = self
            .wf
            .start_execution("approval", name, chain(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.idle().await;
        let asked = self.take();
        self.wf
            .send_task_success(&asked[0].1, json!({"decision": "approve"}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.idle().await;
        id
    }
}

#[tokio::test]
async fn a_signer_that_is_unavailable_is_retried_then_waits_for_an_admin_who_retries_it() {
    let w = world(Arc::new(MemoryTable::new()));
    w.fail_next(&[errors::PARAF_SIGN_UNAVAILABLE; 4]);
    let id = w.approved("sppd-20").await;
    assert_eq!(w.sign_calls(), 1);
    // The Retry of approval.asl.json: after 3, 6 and 12 seconds.
    for (wait, calls) in [(3, 2), (6, 3), (12, 4)] {
        w.clock.advance(time::Duration::seconds(wait));
        w.idle().await;
        assert_eq!(w.sign_calls(), calls, "after waiting {wait} s");
    }
    // Retries exhausted: notify records the stuck step and the execution waits.
    let stuck = w.take();
    assert_eq!(stuck.len(), 1);
    assert_eq!(
        stuck[0].0["kind"],
        json!(paraf_core::signing::NOTIFY_KIND_STUCK)
    );
    assert_eq!(
        stuck[0].0["failure"]["Error"],
        json!(errors::PARAF_SIGN_UNAVAILABLE)
    );
    assert_eq!(stuck[0].0["request"]["id"], json!("SPPD-7"));
    w.clock.advance(time::Duration::days(30));
    w.idle().await;
    assert_eq!(w.status(&id).await.0, ExecutionStatus::Running, "it waits");
    assert_eq!(w.sign_calls(), 4);
    // An admin asks again: the signer is back.
    w.wf.send_task_success(
        &stuck[0].1,
        json!({"decision": paraf_core::signing::RETRY_DECISION}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    w.idle().await;
    let (status, out) = w.status(&id).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(out["status"], json!("approved"));
    assert_eq!(w.sign_calls(), 5);
}

#[tokio::test]
async fn input_that_cannot_be_signed_waits_for_an_admin_at_once_and_can_be_given_up() {
    let w = world(Arc::new(MemoryTable::new()));
    w.fail_next(&[errors::PARAF_SIGN_INVALID]);
    let id = w.approved("sppd-21").await;
    let stuck = w.take();
    assert_eq!(w.sign_calls(), 1, "no retry cures bad input");
    assert_eq!(stuck.len(), 1);
    assert_eq!(
        stuck[0].0["failure"]["Error"],
        json!(errors::PARAF_SIGN_INVALID)
    );
    w.wf.send_task_success(&stuck[0].1, json!({"decision": "abandon"}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.idle().await;
    let d =
        w.wf.describe_execution(&id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some(errors::PARAF_SIGNING_FAILED));
}

#[tokio::test]
async fn a_rejection_at_step_three_ends_the_chain_rejected_without_signing() {
    let w = world(Arc::new(MemoryTable::new()));
    let id =
        w.wf.start_execution("approval", "sppd-8", chain(5))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    w.idle().await;
    for step in 1..=3 {
        let asked = w.take();
        let answer = if step < 3 {
            json!({"decision": "approve"})
        } else {
            json!({"decision": "reject", "reason": "budget"})
        };
        w.wf.send_task_success(&asked[0].1, answer)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        w.idle().await;
    }
    let (status, out) = w.status(&id).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(
        (
            out["status"].clone(),
            out["step"].clone(),
            out["decision"]["reason"].clone()
        ),
        (json!("rejected"), json!(3), json!("budget"))
    );
    assert!(w.take().is_empty());
    assert_eq!(w.signed.lock().map(|s| s.len()).unwrap_or(9), 0);
}

#[tokio::test]
async fn a_return_at_step_two_asks_the_requester_then_resumes_at_step_two() {
    let w = world(Arc::new(MemoryTable::new()));
    let id =
        w.wf.start_execution("approval", "sppd-9", chain(5))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    w.idle().await;
    let mut asked_steps = Vec::new();
    let mut answers = vec![
        json!({"decision": "approve"}),
        json!({"decision": "return", "note": "fix the dates"}),
        json!({"dates": "fixed"}),
    ];
    answers.extend(std::iter::repeat_n(json!({"decision": "approve"}), 4));
    for a in answers {
        let asked = w.take();
        assert_eq!(asked.len(), 1);
        asked_steps.push((
            asked[0].0["kind"].as_str().unwrap_or("").to_string(),
            asked[0].0["step"].clone(),
            asked[0].0["assignee"].clone(),
        ));
        w.wf.send_task_success(&asked[0].1, a)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        w.idle().await;
    }
    let expected: Vec<(String, Value, Value)> = vec![
        ("approval_step".into(), json!(1), json!("E1")),
        ("approval_step".into(), json!(2), json!("E2")),
        ("resubmit".into(), json!(2), json!("R1")),
        ("approval_step".into(), json!(2), json!("E2")),
        ("approval_step".into(), json!(3), json!("E3")),
        ("approval_step".into(), json!(4), json!("E4")),
        ("approval_step".into(), json!(5), json!("E5")),
    ];
    assert_eq!(asked_steps, expected);
    let (status, out) = w.status(&id).await;
    assert_eq!(
        (
            status,
            out["status"].clone(),
            out["request"]["dates"].clone()
        ),
        (
            ExecutionStatus::Succeeded,
            json!("approved"),
            json!("fixed")
        )
    );
}

#[tokio::test]
async fn an_unanswered_step_is_escalated_and_asked_again() {
    let w = world(Arc::new(MemoryTable::new()));
    let id =
        w.wf.start_execution("approval", "sppd-10", chain(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    w.idle().await;
    let first = w.take();
    // HeartbeatSeconds is one day.
    w.clock
        .advance(time::Duration::days(1) + time::Duration::seconds(1));
    w.idle().await;
    let again = w.take();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0].1, first[0].1, "a new token for the new attempt");
    w.wf.send_task_success(&again[0].1, json!({"decision": "approve"}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.idle().await;
    assert_eq!(w.status(&id).await.0, ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn a_disposition_tree_of_thirteen_nodes_completes_only_after_every_report() {
    let w = world(Arc::new(MemoryTable::new()));
    let root =
        w.wf.start_execution(
            "disposition",
            "letter-1",
            json!({"letter": {"no": "1/2026"}, "holder": "KABAG", "depth": 0}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    w.idle().await;
    let mut nodes = HashSet::new();
    let mut own_reports = 0;
    loop {
        let asked = w.take();
        if asked.is_empty() {
            break;
        }
        assert_eq!(
            w.status(&root).await.0,
            ExecutionStatus::Running,
            "the root waits for its tree"
        );
        for (p, token) in asked {
            let holder = p["holder"].as_str().unwrap_or_default().to_string();
            let depth = p["depth"].as_i64().unwrap_or(0);
            let answer = match p["kind"].as_str() {
                Some("disposition") if depth < 2 => {
                    nodes.insert(holder.clone());
                    json!({"action": "forward", "recipients": [format!("{holder}.1"), format!("{holder}.2"), format!("{holder}.3")],
                           "instruction": "tindak lanjuti", "deadline": "2026-12-08T00:00:00+07:00"})
                }
                Some("disposition") => {
                    nodes.insert(holder.clone());
                    json!({"action": "complete", "report": format!("done by {holder}")})
                }
                Some("disposition_report") => {
                    own_reports += 1;
                    assert_eq!(p["children"].as_array().map(Vec::len), Some(3));
                    json!({"report": format!("summary by {holder}")})
                }
                other => panic!("unexpected {other:?}"),
            };
            w.wf.send_task_success(&token, answer)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        w.idle().await;
    }
    assert_eq!(nodes.len(), 13);
    assert_eq!(own_reports, 4);
    let (status, out) = w.status(&root).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    assert_eq!(out["report"], json!("summary by KABAG"));
    assert_eq!(
        out["children"][2]["children"][1]["report"],
        json!("done by KABAG.3.2")
    );
}

/// A sign function that hangs on its first call (the crash happens while it runs) and
/// records each idempotency key it performed.
#[tokio::test]
async fn after_a_crash_on_sqlite_the_execution_resumes_and_side_effects_happen_once_per_key() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = tmp.path().join("paraf.db");
    let effects: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let clock = Arc::new(FixedClock::new(
        time::macros::datetime!(2026-12-01 08:00 UTC),
    ));
    let build = |hang: bool| {
        let table: Arc<dyn Table> =
            Arc::new(SqliteTable::open(&db).unwrap_or_else(|e| panic!("{e}")));
        let mut h = Handlers::new();
        let inbox: Inbox = Arc::new(Mutex::new(Vec::new()));
        let i = inbox.clone();
        h.insert(
            "notify".into(),
            handler_fn(move |p: Value, ctx| {
                let i = i.clone();
                async move {
                    i.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((p, ctx.task_token.unwrap_or_default()));
                    Ok(json!({}))
                }
            }),
        );
        let e = effects.clone();
        h.insert(
            "sign".into(),
            handler_fn(move |_, ctx| {
                let e = e.clone();
                async move {
                    {
                        let mut done = e.lock().unwrap_or_else(|p| p.into_inner());
                        // The handler's own dedupe: one side effect per key.
                        if !done.contains(&ctx.idempotency_key) {
                            done.push(ctx.idempotency_key.clone());
                        }
                    }
                    if hang {
                        std::future::pending::<()>().await;
                    }
                    Ok::<Value, TaskError>(json!({"document": "signed.pdf"}))
                }
            }),
        );
        h.insert(
            "escalate".into(),
            handler_fn(|_, _| async { Ok(json!({})) }),
        );
        let wf = LocalWorkflows::with_options(table, h, clock.clone(), Options::default());
        let s = subs(&wf);
        wf.register_dir(&dir(), &s)
            .unwrap_or_else(|e| panic!("{e}"));
        (wf, inbox)
    };

    let (wf, inbox) = build(true);
    let id = wf
        .start_execution("approval", "crash-1", chain(2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    let token = inbox.lock().map(|i| i[0].1.clone()).unwrap_or_default();
    wf.send_task_success(&token, json!({"decision": "approve"}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    let token = inbox.lock().map(|i| i[1].1.clone()).unwrap_or_default();
    wf.send_task_success(&token, json!({"decision": "approve"}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The worker reaches Sign and hangs inside it: the "process" dies there.
    let crashed =
        tokio::time::timeout(std::time::Duration::from_millis(300), wf.run_until_idle()).await;
    assert!(crashed.is_err(), "the sign call hangs");
    drop(wf);
    assert_eq!(effects.lock().map(|e| e.len()).unwrap_or(0), 1);

    // Restart: a new interpreter on the same file; the claim's lease runs out.
    let (wf, _) = build(false);
    assert_eq!(
        wf.describe_execution(&id).await.map(|d| d.status),
        Ok(ExecutionStatus::Running)
    );
    clock.advance(time::Duration::seconds(61));
    wf.run_until_idle().await.unwrap_or_else(|e| panic!("{e}"));
    let d = wf
        .describe_execution(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.error);
    assert_eq!(
        d.output.map(|o| o["status"].clone()),
        Some(json!("approved"))
    );
    // Sign ran twice (before and after the crash) with one key: one side effect.
    assert_eq!(effects.lock().map(|e| e.len()).unwrap_or(0), 1);
    let history = wf.get_execution_history(&id).await.unwrap_or_default();
    let scheduled = history
        .iter()
        .filter(|e| {
            e.kind == "TaskScheduled"
                && e.details["resource"] == json!("arn:aws:states:::lambda:invoke")
        })
        .count();
    assert_eq!(scheduled, 2, "scheduled before and after the crash");
}
