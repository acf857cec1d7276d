//! Contract suite of the [`Workflows`] port: what every adapter (the local interpreter,
//! Step Functions) must do, written against the port only.
//!
//! Registering or deploying a definition is adapter-specific, so the fixture does it: it
//! starts the engine (its workers run in the background, as a deployed Step Functions
//! does) with [`CALLBACK_DEFINITION`] deployed under some name, with its
//! `${NotifyFunctionArn}` pointing at a function whose result is ignored.
//!
//! ```text
//! // crates/<adapter>/tests/workflows_contract.rs
//! paraf_contract::workflows_contract_tests!(async {
//!     let engine = start_engine_with(paraf_contract::workflows::CALLBACK_DEFINITION);
//!     (engine, "contract-callback".to_string(), guard)
//! });
//! ```
//!
//! `$make` is a future evaluated afresh in every test whose output is a triple
//! `(adapter, state_machine, guard)`: any type implementing [`Workflows`], the name (or
//! ARN) `start_execution` takes for the callback machine, and a guard (worker handle,
//! emulator process, `()`) kept alive until the test ends. Cases name their executions
//! uniquely, so one deployed machine may serve every test.
//!
//! The task token is found the way a Step Functions client finds it: in the execution
//! history, in the `parameters` of the `TaskScheduled` event (a JSON value, or the JSON
//! text Step Functions gives), under `Payload.taskToken`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use paraf_core::{ExecutionDescription, ExecutionStatus, Workflows, WorkflowsError};
use serde_json::{json, Value};

/// The definition every adapter's fixture deploys: one human step answered by token.
pub const CALLBACK_DEFINITION: &str = r#"{
  "Comment": "Contract fixture: one callback step; the answer lands in $.answer.",
  "StartAt": "Ask",
  "States": {
    "Ask": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {
        "FunctionName": "${NotifyFunctionArn}",
        "Payload": { "taskToken.$": "$$.Task.Token", "request.$": "$" }
      },
      "ResultPath": "$.answer",
      "TimeoutSeconds": 3600,
      "HeartbeatSeconds": 600,
      "End": true
    }
  }
}"#;

/// How long a case waits for the engine to reach a state before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// Expands into one `#[tokio::test]` per contract case; see the [module docs](crate::workflows).
#[macro_export]
macro_rules! workflows_contract_tests {
    ($make:expr) => {
        $crate::__workflows_contract_cases!($make;
            a_started_execution_is_running_with_its_name_and_input,
            starting_the_same_name_and_input_again_while_running_finds_the_same_execution,
            starting_the_same_name_with_another_input_is_execution_already_exists,
            an_unknown_state_machine_is_state_machine_does_not_exist,
            an_unknown_execution_is_execution_does_not_exist,
            task_success_completes_the_execution_with_the_answer_in_its_output,
            task_failure_fails_the_execution_with_that_error_and_cause,
            a_token_is_answered_at_most_once,
            of_concurrent_answers_to_one_token_exactly_one_wins,
            a_token_that_was_never_issued_is_invalid,
            a_heartbeat_is_accepted_while_the_task_waits_and_refused_after,
            a_stopped_execution_is_aborted_and_its_token_refused,
            the_history_starts_with_execution_started_and_ends_with_the_outcome,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __workflows_contract_cases {
    ($make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $make.await;
                $crate::workflows::$case(&fixture.0, &fixture.1).await;
            }
        )+
    };
}

/// A name no other case (or earlier run against a long-lived engine) has used.
fn unique(case: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    // Step Functions names: at most 80 characters.
    let mut s = format!("{case}-{nanos}-{n}");
    if s.len() > 80 {
        s = s[s.len() - 80..].to_string();
    }
    s
}

fn ok<T>(r: Result<T, WorkflowsError>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

async fn describe(wf: &dyn Workflows, id: &str) -> ExecutionDescription {
    ok(wf.describe_execution(id).await, "describe_execution")
}

/// The `taskToken` of the newest `TaskScheduled` event, if any.
async fn scheduled_token(wf: &dyn Workflows, id: &str) -> Option<String> {
    let history = ok(wf.get_execution_history(id).await, "get_execution_history");
    history
        .iter()
        .rev()
        .filter(|e| e.kind == "TaskScheduled")
        .find_map(|e| {
            let params = match e.details.get("parameters") {
                Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok()?,
                Some(v) => v.clone(),
                None => return None,
            };
            params
                .pointer("/Payload/taskToken")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

/// Waits until the execution's task was handed out and returns its token.
async fn token_of(wf: &dyn Workflows, id: &str) -> String {
    let start = Instant::now();
    loop {
        if let Some(t) = scheduled_token(wf, id).await {
            return t;
        }
        let d = describe(wf, id).await;
        assert_eq!(
            d.status,
            ExecutionStatus::Running,
            "the execution ended before its task was scheduled: {d:?}"
        );
        assert!(
            start.elapsed() < PATIENCE,
            "no task token was handed out within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the execution is no longer running.
async fn finished(wf: &dyn Workflows, id: &str) -> ExecutionDescription {
    let start = Instant::now();
    loop {
        let d = describe(wf, id).await;
        if d.status != ExecutionStatus::Running {
            return d;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the execution is still running after {PATIENCE:?}: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An answered token is refused: the port says `TaskDoesNotExist`; Step Functions
/// reports a closed task as `TaskTimedOut` ("Provided task does not exist anymore").
fn assert_closed_token(r: Result<(), WorkflowsError>, what: &str) {
    match r {
        Err(WorkflowsError::TaskDoesNotExist) | Err(WorkflowsError::TaskTimedOut) => {}
        other => panic!("{what}: expected TaskDoesNotExist (or TaskTimedOut), got {other:?}"),
    }
}

async fn start(wf: &dyn Workflows, machine: &str, name: &str, input: Value) -> String {
    ok(
        wf.start_execution(machine, name, input).await,
        "start_execution",
    )
}

pub async fn a_started_execution_is_running_with_its_name_and_input(
    wf: &dyn Workflows,
    machine: &str,
) {
    let name = unique("started");
    let input = json!({"request": {"id": "SPPD-1", "amount": 1250000}});
    let id = start(wf, machine, &name, input.clone()).await;
    let token = token_of(wf, &id).await;
    let d = describe(wf, &id).await;
    assert_eq!(d.execution_id, id);
    assert_eq!(d.name, name);
    assert_eq!(d.status, ExecutionStatus::Running);
    assert_eq!(d.input, input);
    assert_eq!(d.output, None);
    assert_eq!(d.stopped, None);
    assert!(!token.is_empty());
}

pub async fn starting_the_same_name_and_input_again_while_running_finds_the_same_execution(
    wf: &dyn Workflows,
    machine: &str,
) {
    let name = unique("idem");
    let input = json!({"n": 1});
    let first = start(wf, machine, &name, input.clone()).await;
    token_of(wf, &first).await;
    let again = start(wf, machine, &name, input).await;
    assert_eq!(again, first);
}

pub async fn starting_the_same_name_with_another_input_is_execution_already_exists(
    wf: &dyn Workflows,
    machine: &str,
) {
    let name = unique("clash");
    start(wf, machine, &name, json!({"n": 1})).await;
    match wf.start_execution(machine, &name, json!({"n": 2})).await {
        Err(WorkflowsError::ExecutionAlreadyExists(_)) => {}
        other => panic!("expected ExecutionAlreadyExists, got {other:?}"),
    }
}

pub async fn an_unknown_state_machine_is_state_machine_does_not_exist(
    wf: &dyn Workflows,
    machine: &str,
) {
    // Same shape as the real name (a bare name or an ARN), another machine.
    let unknown = format!("{machine}-missing");
    match wf
        .start_execution(&unknown, &unique("nosm"), json!({}))
        .await
    {
        Err(WorkflowsError::StateMachineDoesNotExist(_)) => {}
        other => panic!("expected StateMachineDoesNotExist, got {other:?}"),
    }
}

pub async fn an_unknown_execution_is_execution_does_not_exist(wf: &dyn Workflows, machine: &str) {
    // A real execution id with another name: the shape is right, the execution is not.
    let id = start(wf, machine, &unique("shape"), json!({})).await;
    let missing = format!("{id}-missing");
    match wf.describe_execution(&missing).await {
        Err(WorkflowsError::ExecutionDoesNotExist(_)) => {}
        other => panic!("describe: expected ExecutionDoesNotExist, got {other:?}"),
    }
    match wf.get_execution_history(&missing).await {
        Err(WorkflowsError::ExecutionDoesNotExist(_)) => {}
        other => panic!("history: expected ExecutionDoesNotExist, got {other:?}"),
    }
}

pub async fn task_success_completes_the_execution_with_the_answer_in_its_output(
    wf: &dyn Workflows,
    machine: &str,
) {
    let input = json!({"request": "cuti", "days": 3});
    let id = start(wf, machine, &unique("success"), input).await;
    let token = token_of(wf, &id).await;
    let answer = json!({"decision": "approve", "by": "198001012005011001"});
    ok(
        wf.send_task_success(&token, answer.clone()).await,
        "send_task_success",
    );
    let d = finished(wf, &id).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    assert_eq!(
        d.output,
        Some(json!({"request": "cuti", "days": 3, "answer": answer}))
    );
    assert_eq!((d.error, d.cause), (None, None));
    assert!(d.stopped.is_some_and(|s| s >= d.started));
}

pub async fn task_failure_fails_the_execution_with_that_error_and_cause(
    wf: &dyn Workflows,
    machine: &str,
) {
    let id = start(wf, machine, &unique("failure"), json!({"request": "izin"})).await;
    let token = token_of(wf, &id).await;
    ok(
        wf.send_task_failure(&token, "Paraf.Rejected", "anggaran tidak tersedia")
            .await,
        "send_task_failure",
    );
    let d = finished(wf, &id).await;
    assert_eq!(d.status, ExecutionStatus::Failed, "{d:?}");
    assert_eq!(d.error.as_deref(), Some("Paraf.Rejected"));
    assert_eq!(d.cause.as_deref(), Some("anggaran tidak tersedia"));
    assert_eq!(d.output, None);
}

pub async fn a_token_is_answered_at_most_once(wf: &dyn Workflows, machine: &str) {
    let id = start(wf, machine, &unique("once"), json!({})).await;
    let token = token_of(wf, &id).await;
    ok(
        wf.send_task_success(&token, json!({"n": 1})).await,
        "first answer",
    );
    let d = finished(wf, &id).await;
    assert_closed_token(
        wf.send_task_success(&token, json!({"n": 2})).await,
        "second success",
    );
    assert_closed_token(
        wf.send_task_failure(&token, "Paraf.Late", "too late").await,
        "failure after success",
    );
    assert_eq!(d.output, Some(json!({"answer": {"n": 1}})));
    assert_eq!(
        describe(wf, &id).await,
        d,
        "a refused answer changes nothing"
    );
}

pub async fn of_concurrent_answers_to_one_token_exactly_one_wins(
    wf: &dyn Workflows,
    machine: &str,
) {
    let id = start(wf, machine, &unique("race"), json!({})).await;
    let token = token_of(wf, &id).await;
    let token = &token;
    let answers = (0..8).map(|i| async move {
        let r = wf.send_task_success(token, json!({"n": i})).await;
        (i, r)
    });
    let results = futures_join_all(answers).await;
    let winners: Vec<i32> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "results: {results:?}");
    for (_, r) in results.into_iter().filter(|(_, r)| r.is_err()) {
        // A loser was either too late (closed) or told to retry; never a second win.
        match r {
            Err(WorkflowsError::TaskDoesNotExist)
            | Err(WorkflowsError::TaskTimedOut)
            | Err(WorkflowsError::Unavailable(_)) => {}
            other => panic!("unexpected loser result {other:?}"),
        }
    }
    let d = finished(wf, &id).await;
    assert_eq!(d.output, Some(json!({"answer": {"n": winners[0]}})));
}

/// `join_all` without a futures dependency: every future runs concurrently on this task.
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

pub async fn a_token_that_was_never_issued_is_invalid(wf: &dyn Workflows, machine: &str) {
    let id = start(wf, machine, &unique("invalid"), json!({})).await;
    let real = token_of(wf, &id).await;
    let forged = "AAAA-this-token-was-never-issued-by-any-engine-AAAA";
    assert_ne!(real, forged);
    for (what, r) in [
        ("success", wf.send_task_success(forged, json!({})).await),
        (
            "failure",
            wf.send_task_failure(forged, "Paraf.X", "x").await,
        ),
        ("heartbeat", wf.send_task_heartbeat(forged).await),
    ] {
        assert_eq!(r, Err(WorkflowsError::InvalidToken), "{what}");
    }
    assert_eq!(describe(wf, &id).await.status, ExecutionStatus::Running);
}

pub async fn a_heartbeat_is_accepted_while_the_task_waits_and_refused_after(
    wf: &dyn Workflows,
    machine: &str,
) {
    let id = start(wf, machine, &unique("heartbeat"), json!({})).await;
    let token = token_of(wf, &id).await;
    ok(wf.send_task_heartbeat(&token).await, "first heartbeat");
    ok(wf.send_task_heartbeat(&token).await, "second heartbeat");
    assert_eq!(describe(wf, &id).await.status, ExecutionStatus::Running);
    ok(wf.send_task_success(&token, json!("ok")).await, "answer");
    let d = finished(wf, &id).await;
    assert_eq!(d.output, Some(json!({"answer": "ok"})));
    assert_closed_token(
        wf.send_task_heartbeat(&token).await,
        "heartbeat after answer",
    );
}

pub async fn a_stopped_execution_is_aborted_and_its_token_refused(
    wf: &dyn Workflows,
    machine: &str,
) {
    let id = start(wf, machine, &unique("stop"), json!({})).await;
    let token = token_of(wf, &id).await;
    ok(
        wf.stop_execution(&id, "Paraf.Withdrawn", "ditarik pemohon")
            .await,
        "stop_execution",
    );
    let d = finished(wf, &id).await;
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert_eq!(d.error.as_deref(), Some("Paraf.Withdrawn"));
    assert_eq!(d.cause.as_deref(), Some("ditarik pemohon"));
    assert!(d.stopped.is_some());
    assert_closed_token(
        wf.send_task_success(&token, json!({})).await,
        "answer after stop",
    );
    assert_eq!(describe(wf, &id).await.status, ExecutionStatus::Aborted);
}

pub async fn the_history_starts_with_execution_started_and_ends_with_the_outcome(
    wf: &dyn Workflows,
    machine: &str,
) {
    let id = start(wf, machine, &unique("history"), json!({"k": "v"})).await;
    let token = token_of(wf, &id).await;
    ok(wf.send_task_success(&token, json!(1)).await, "answer");
    finished(wf, &id).await;
    let h = ok(wf.get_execution_history(&id).await, "history");
    let kinds: Vec<&str> = h.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"ExecutionStarted"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"ExecutionSucceeded"), "{kinds:?}");
    for k in [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskSucceeded",
        "TaskStateExited",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert!(
        h.windows(2)
            .all(|w| w[0].id < w[1].id && w[0].timestamp <= w[1].timestamp),
        "event ids increase and time does not go back"
    );
}
