//! [`SfnWorkflows`] against moto's Step Functions (definitions executed, Lambda tasks
//! answered from moto's result queue), and the same runs through [`LocalWorkflows`].
//!
//! The `workflows_contract_tests!` macro cannot run whole on moto: moto refuses a closed
//! token with `InvalidToken` (AWS: `TaskTimedOut`), takes several answers to one token,
//! drops the causes of SendTaskFailure and StopExecution, and aborts a stopped execution
//! only once its task is answered. So the cases moto supports run one by one
//! (`mod contract`); each deviation has a `moto_deviation_…` test stating what moto does,
//! which fails once moto behaves as AWS.
//!
//! moto also accepts an answer sent before the task is submitted and then loses it (the
//! execution waits on; AWS keeps it). That is a race, so no test states it: tokens are
//! taken from the history only once a `TaskSubmitted` follows their `TaskScheduled`,
//! here and in [`MotoTokens`] for the contract cases.
//!
//! Lambda results are queued per account and region in moto, so every test that queues
//! results runs its state machines in a region of its own. Tests fail, not skip, without
//! moto (`bash scripts/install-emulators`).

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::Region;
use paraf_aws::SfnWorkflows;
use paraf_core::memory::MemoryTable;
use paraf_core::{
    ExecutionDescription, ExecutionStatus, HistoryEvent, SystemClock, Workflows, WorkflowsError,
};
use paraf_local::workflows::{handler_fn, Handlers, LocalWorkflows};
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";
const PATIENCE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// moto fixtures

/// A Step Functions client on the shared moto, in `region`, with execution enabled.
async fn sfn_client(region: &str) -> aws_sdk_sfn::Client {
    let moto = common::Moto::shared();
    common::enable_step_functions(moto).await;
    let config = moto.config().await;
    aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::config::Builder::from(&config)
            .region(Region::new(region.to_string()))
            .build(),
    )
}

fn function_arn(region: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{ACCOUNT}:function:paraf-{name}")
}

/// `${…}` of the workflow files, pointing at moto Lambda functions in `region`.
fn moto_substitutions(region: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("NotifyFunctionArn".into(), function_arn(region, "notify")),
        ("SignFunctionArn".into(), function_arn(region, "sign")),
        (
            "EscalateFunctionArn".into(),
            function_arn(region, "escalate"),
        ),
    ])
}

fn substitute(text: &str, subs: &BTreeMap<String, String>) -> String {
    let out = subs.iter().fold(text.to_string(), |t, (k, v)| {
        t.replace(&format!("${{{k}}}"), v)
    });
    assert!(!out.contains("${"), "a placeholder is left: {out}");
    out
}

async fn create_machine(client: &aws_sdk_sfn::Client, name: &str, definition: &str) -> String {
    let out = client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/paraf-workflows"))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateStateMachine {name}: {}",
                aws_sdk_sfn::error::DisplayErrorContext(&e)
            )
        });
    out.state_machine_arn().to_string()
}

fn approval_definition() -> &'static str {
    paraf_tasks::definitions::definitions()
        .into_iter()
        .find(|(n, _)| *n == "approval")
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("paraf-tasks carries no approval definition"))
}

/// The contract's one-callback machine, deployed under a fresh name in `region`;
/// returns the adapter (knowing it as `contract-callback`) and the machine's ARN.
async fn callback_machine(region: &str) -> (SfnWorkflows, String) {
    let client = sfn_client(region).await;
    let definition = substitute(
        paraf_contract::workflows::CALLBACK_DEFINITION,
        &moto_substitutions(region),
    );
    let arn = create_machine(&client, &common::unique("callback"), &definition).await;
    let wf = SfnWorkflows::new(
        client,
        BTreeMap::from([("contract-callback".to_string(), arn.clone())]),
    );
    (wf, arn)
}

// ---------------------------------------------------------------------------------------
// Driving either engine through the port

/// Where the Lambda functions' results come from: moto's queue, or the local handlers'.
#[async_trait]
trait LambdaResults: Send + Sync {
    async fn queue(&self, results: &[Value]);
}

struct MotoQueue {
    region: String,
}

#[async_trait]
impl LambdaResults for MotoQueue {
    async fn queue(&self, results: &[Value]) {
        common::queue_lambda_results(common::Moto::shared(), &self.region, results).await;
    }
}

/// The local handlers behave as moto's Lambda without Docker: the next queued result,
/// else the payload echoed.
#[derive(Clone, Default)]
struct LocalQueue(Arc<Mutex<VecDeque<Value>>>);

#[async_trait]
impl LambdaResults for LocalQueue {
    async fn queue(&self, results: &[Value]) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(results.iter().cloned());
    }
}

fn local_engine(results: &LocalQueue) -> (LocalWorkflows, tokio::task::JoinHandle<()>) {
    let mut handlers = Handlers::new();
    for name in [
        paraf_tasks::definitions::NOTIFY,
        paraf_tasks::definitions::SIGN,
        paraf_tasks::definitions::ESCALATE,
    ] {
        let results = results.clone();
        handlers.insert(
            name.to_string(),
            handler_fn(move |payload: Value, _| {
                let next = results
                    .0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pop_front();
                async move { Ok(next.unwrap_or(payload)) }
            }),
        );
    }
    let wf = LocalWorkflows::new(
        Arc::new(MemoryTable::new()),
        handlers,
        Arc::new(SystemClock),
    );
    let subs = paraf_tasks::definitions::local_substitutions(|n| wf.state_machine_arn(n));
    for (name, definition) in paraf_tasks::definitions::definitions() {
        wf.register(name, definition, &subs)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let worker = wf.spawn_worker();
    (wf, worker)
}

/// Task payloads handed out and ready to be answered, with their tokens: the `Payload`
/// of each `TaskScheduled` whose task was submitted (a later `TaskSubmitted`; see the
/// module docs for why).
fn ready_tasks(history: &[HistoryEvent]) -> Vec<(String, Value)> {
    history
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == "TaskScheduled")
        .filter(|(i, _)| history[i + 1..].iter().any(|e| e.kind == "TaskSubmitted"))
        .filter_map(|(_, e)| {
            let params = match e.details.get("parameters")? {
                Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
                v => v.clone(),
            };
            let payload = params.get("Payload")?.clone();
            let token = payload.get("taskToken")?.as_str()?.to_string();
            Some((token, payload))
        })
        .collect()
}

/// One human answer: to the first unanswered task whose payload has `field == value`,
/// after queueing the Lambda results the answer will cause.
struct Step {
    when: (&'static str, Value),
    answer: Value,
    then_lambda: Vec<Value>,
}

fn step(field: &'static str, value: Value, answer: Value, then_lambda: &[Value]) -> Step {
    Step {
        when: (field, value),
        answer,
        then_lambda: then_lambda.to_vec(),
    }
}

async fn describe(wf: &dyn Workflows, id: &str) -> ExecutionDescription {
    wf.describe_execution(id)
        .await
        .unwrap_or_else(|e| panic!("describe {id}: {e}"))
}

async fn finished(wf: &dyn Workflows, id: &str) -> ExecutionDescription {
    let started = Instant::now();
    loop {
        let d = describe(wf, id).await;
        if d.status != ExecutionStatus::Running {
            return d;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "still running after {PATIENCE:?}: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits for a ready task matching `when` (not in `used`) and returns its token.
async fn wait_for_task(
    wf: &dyn Workflows,
    id: &str,
    when: Option<&(&'static str, Value)>,
    used: &[String],
) -> String {
    let started = Instant::now();
    loop {
        let history = wf
            .get_execution_history(id)
            .await
            .unwrap_or_else(|e| panic!("history of {id}: {e}"));
        let tasks = ready_tasks(&history);
        if let Some((token, _)) = tasks
            .iter()
            .find(|(t, p)| !used.contains(t) && when.is_none_or(|(f, v)| p.get(*f) == Some(v)))
        {
            return token.clone();
        }
        let d = describe(wf, id).await;
        assert_eq!(
            d.status,
            ExecutionStatus::Running,
            "ended before a task {when:?} was handed out: {d:?}"
        );
        assert!(
            started.elapsed() < PATIENCE,
            "no task {when:?} within {PATIENCE:?}; ready: {tasks:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Starts `approval` named `name`, answers the steps in order, and returns how it ended.
async fn run(
    wf: &dyn Workflows,
    lambda: &dyn LambdaResults,
    name: &str,
    input: &Value,
    first: &[Value],
    steps: &[Step],
) -> ExecutionDescription {
    lambda.queue(first).await;
    let id = wf
        .start_execution("approval", name, input.clone())
        .await
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    let mut used = Vec::new();
    for s in steps {
        let token = wait_for_task(wf, &id, Some(&s.when), &used).await;
        used.push(token.clone());
        // Queued first: the answer makes the next Lambda call at once.
        lambda.queue(&s.then_lambda).await;
        wf.send_task_success(&token, s.answer.clone())
            .await
            .unwrap_or_else(|e| panic!("answer {:?}: {e}", s.when));
    }
    finished(wf, &id).await
}

/// What must match between the engines: status, output, error (causes written by the
/// engines themselves differ in wording).
fn outcome(d: &ExecutionDescription) -> (ExecutionStatus, Option<Value>, Option<String>) {
    (d.status, d.output.clone(), d.error.clone())
}

/// Runs the approval workflow with the same script in moto (state machines in
/// `region`) and locally; both must end as `expect`.
async fn same_in_moto_and_locally(
    region: &str,
    input: Value,
    first: &[Value],
    steps: &[Step],
    expect: (ExecutionStatus, Option<Value>, Option<String>),
) {
    let client = sfn_client(region).await;
    let definition = substitute(approval_definition(), &moto_substitutions(region));
    let arn = create_machine(&client, &common::unique("approval"), &definition).await;
    let sfn = SfnWorkflows::new(client, BTreeMap::from([("approval".to_string(), arn)]));
    let name = common::unique("SPPD-7");
    let moto = MotoQueue {
        region: region.into(),
    };
    let remote = run(&sfn, &moto, &name, &input, first, steps).await;
    assert_eq!(remote.name, name);
    assert_eq!(remote.input, input);

    let local_results = LocalQueue::default();
    let (local, worker) = local_engine(&local_results);
    let here = run(&local, &local_results, &name, &input, first, steps).await;
    worker.abort();

    assert_eq!(outcome(&remote), outcome(&here), "moto and local differ");
    assert_eq!(outcome(&here), expect, "not the documented result");
}

fn chain(n: usize) -> Value {
    json!({
        "request": {"kind": "sppd", "id": "SPPD-7", "amount": 1250000},
        "chain": (1..=n).map(|i| json!({"step": i, "assignee": format!("E{i}"),
            "action": if i == n {"sign"} else {"paraf"}})).collect::<Vec<_>>(),
        "requester": "R1"
    })
}

fn ack() -> Value {
    json!({"sent": true})
}

fn approve() -> Value {
    json!({"decision": "approve"})
}

// ---------------------------------------------------------------------------------------
// 1. The real approval workflow, in moto and locally

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_chain_approved_by_everyone_is_signed_the_same_in_moto_and_locally() {
    let signature = json!({"document": "SPPD-7.pdf", "sha256": "9f2c"});
    let input = chain(3);
    same_in_moto_and_locally(
        "ap-southeast-3",
        input.clone(),
        &[ack()],
        &[
            step("assignee", json!("E1"), approve(), &[ack()]),
            step("assignee", json!("E2"), approve(), &[ack()]),
            step(
                "assignee",
                json!("E3"),
                approve(),
                std::slice::from_ref(&signature),
            ),
        ],
        (
            ExecutionStatus::Succeeded,
            Some(json!({"status": "approved", "request": input["request"],
                        "signature": signature})),
            None,
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_rejected_at_the_second_step_ends_the_same_in_moto_and_locally() {
    let input = chain(3);
    let reject = json!({"decision": "reject", "reason": "anggaran"});
    same_in_moto_and_locally(
        "ap-southeast-1",
        input.clone(),
        &[ack()],
        &[
            step("assignee", json!("E1"), approve(), &[ack()]),
            step("assignee", json!("E2"), reject.clone(), &[]),
        ],
        (
            ExecutionStatus::Succeeded,
            Some(
                json!({"status": "rejected", "request": input["request"], "step": 2,
                        "by": "E2", "decision": reject}),
            ),
            None,
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_returned_for_revision_and_resubmitted_ends_the_same_in_moto_and_locally() {
    let signature = json!({"document": "SPPD-7.pdf", "sha256": "77aa"});
    same_in_moto_and_locally(
        "ap-southeast-2",
        chain(2),
        &[ack()],
        &[
            step(
                "assignee",
                json!("E1"),
                json!({"decision": "return", "note": "lampirkan SPT"}),
                &[ack()],
            ),
            step(
                "kind",
                json!("resubmit"),
                json!({"attachment": "spt.pdf", "amount": 1300000}),
                &[ack()],
            ),
            step("assignee", json!("E1"), approve(), &[ack()]),
            step(
                "assignee",
                json!("E2"),
                approve(),
                std::slice::from_ref(&signature),
            ),
        ],
        (
            ExecutionStatus::Succeeded,
            Some(json!({"status": "approved",
                "request": {"kind": "sppd", "id": "SPPD-7", "amount": 1300000,
                            "attachment": "spt.pdf"},
                "signature": signature})),
            None,
        ),
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// 2. Adapter semantics in moto (the one-callback machine; nothing queued: us-east-1)

const REGION: &str = "us-east-1";

async fn start_callback(wf: &SfnWorkflows, input: Value) -> (String, String) {
    let id = wf
        .start_execution("contract-callback", &common::unique("exec"), input)
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let token = wait_for_task(wf, &id, None, &[]).await;
    (id, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_the_same_name_and_input_twice_returns_the_same_execution_even_after_it_ended() {
    let (wf, _) = callback_machine(REGION).await;
    let name = common::unique("twice");
    let input = json!({"request": {"id": "SPPD-9"}, "n": [1, 2]});
    let first = wf
        .start_execution("contract-callback", &name, input.clone())
        .await
        .unwrap_or_else(|e| panic!("first: {e}"));
    assert!(
        first.starts_with("arn:aws:states:"),
        "an execution ARN: {first}"
    );
    let again = wf
        .start_execution("contract-callback", &name, input.clone())
        .await
        .unwrap_or_else(|e| panic!("again while running: {e}"));
    assert_eq!(again, first);
    let token = wait_for_task(&wf, &first, None, &[]).await;
    wf.send_task_success(&token, json!("ok"))
        .await
        .unwrap_or_else(|e| panic!("answer: {e}"));
    assert_eq!(
        finished(&wf, &first).await.status,
        ExecutionStatus::Succeeded
    );
    // Step Functions refuses this once the execution ended; the port does not.
    let after = wf
        .start_execution("contract-callback", &name, input)
        .await
        .unwrap_or_else(|e| panic!("again after it ended: {e}"));
    assert_eq!(after, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_name_with_another_input_is_execution_already_exists() {
    let (wf, _) = callback_machine(REGION).await;
    let name = common::unique("clash");
    wf.start_execution("contract-callback", &name, json!({"n": 1}))
        .await
        .unwrap_or_else(|e| panic!("first: {e}"));
    match wf
        .start_execution("contract-callback", &name, json!({"n": 2}))
        .await
    {
        Err(WorkflowsError::ExecutionAlreadyExists(_)) => {}
        other => panic!("expected ExecutionAlreadyExists, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_workflow_name_or_state_machine_arn_is_state_machine_does_not_exist() {
    let (wf, arn) = callback_machine(REGION).await;
    for machine in [
        "no-such-workflow".to_string(),
        format!("{arn}-missing"),
        "arn:not-an-arn".to_string(),
    ] {
        match wf
            .start_execution(&machine, &common::unique("nosm"), json!({}))
            .await
        {
            Err(WorkflowsError::StateMachineDoesNotExist(m)) => assert_eq!(m, machine),
            other => panic!("{machine}: expected StateMachineDoesNotExist, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_execution_is_execution_does_not_exist_for_describe_history_and_stop() {
    let (wf, _) = callback_machine(REGION).await;
    let (id, _) = start_callback(&wf, json!({})).await;
    let missing = format!("{id}-missing");
    let expect = |what: &str, r: Result<(), WorkflowsError>| match r {
        Err(WorkflowsError::ExecutionDoesNotExist(m)) => assert_eq!(m, missing, "{what}"),
        other => panic!("{what}: expected ExecutionDoesNotExist, got {other:?}"),
    };
    expect(
        "describe",
        wf.describe_execution(&missing).await.map(|_| ()),
    );
    expect(
        "history",
        wf.get_execution_history(&missing).await.map(|_| ()),
    );
    expect("stop", wf.stop_execution(&missing, "Paraf.X", "x").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invented_token_is_invalid_token() {
    let (wf, _) = callback_machine(REGION).await;
    let (id, _) = start_callback(&wf, json!({})).await;
    let forged = "AAAA-this-token-was-never-issued-AAAA";
    assert_eq!(
        wf.send_task_success(forged, json!({})).await,
        Err(WorkflowsError::InvalidToken)
    );
    assert_eq!(
        wf.send_task_failure(forged, "Paraf.X", "x").await,
        Err(WorkflowsError::InvalidToken)
    );
    assert_eq!(
        wf.send_task_heartbeat(forged).await,
        Err(WorkflowsError::InvalidToken)
    );
    assert_eq!(describe(&wf, &id).await.status, ExecutionStatus::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_is_accepted_while_the_task_waits() {
    let (wf, _) = callback_machine(REGION).await;
    let (id, token) = start_callback(&wf, json!({})).await;
    for i in 0..2 {
        wf.send_task_heartbeat(&token)
            .await
            .unwrap_or_else(|e| panic!("heartbeat {i}: {e}"));
    }
    assert_eq!(describe(&wf, &id).await.status, ExecutionStatus::Running);
    wf.send_task_success(&token, json!("ok"))
        .await
        .unwrap_or_else(|e| panic!("answer: {e}"));
    let d = finished(&wf, &id).await;
    assert_eq!(d.output, Some(json!({"answer": "ok"})));
}

/// A machine that waits `seconds` in a Wait state (nothing to answer), by ARN.
async fn waiting_machine(seconds: u64) -> (SfnWorkflows, String) {
    let client = sfn_client(REGION).await;
    let definition = json!({"StartAt": "Hold", "States": {
        "Hold": {"Type": "Wait", "Seconds": seconds, "End": true}}});
    let arn = create_machine(&client, &common::unique("hold"), &definition.to_string()).await;
    (SfnWorkflows::new(client, BTreeMap::new()), arn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_execution_is_aborted() {
    let (wf, arn) = waiting_machine(60).await;
    let id = wf
        .start_execution(&arn, &common::unique("exec"), json!({"k": 1}))
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    wf.stop_execution(&id, "Paraf.Withdrawn", "ditarik pemohon")
        .await
        .unwrap_or_else(|e| panic!("stop: {e}"));
    let d = finished(&wf, &id).await;
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert!(d.stopped.is_some_and(|s| s >= d.started));
    let h = wf
        .get_execution_history(&id)
        .await
        .unwrap_or_else(|e| panic!("history: {e}"));
    assert_eq!(h.last().map(|e| e.kind.as_str()), Some("ExecutionAborted"));
}

/// AWS records the error and cause given to StopExecution in the description and the
/// `ExecutionAborted` event; moto records neither (it passes empty strings itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_deviation_stop_execution_drops_the_error_and_cause() {
    let (wf, arn) = waiting_machine(60).await;
    let id = wf
        .start_execution(&arn, &common::unique("exec"), json!({}))
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    wf.stop_execution(&id, "Paraf.Withdrawn", "ditarik pemohon")
        .await
        .unwrap_or_else(|e| panic!("stop: {e}"));
    let d = finished(&wf, &id).await;
    assert_eq!(
        (d.error.as_deref(), d.cause.as_deref()),
        (None, None),
        "moto now keeps them: assert Paraf.Withdrawn / ditarik pemohon in a_stopped_execution_is_aborted"
    );
}

/// AWS aborts an execution at once, closing its waiting task (the token is then
/// refused); moto only flags it, and it stays RUNNING until the task's answer arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_deviation_a_stopped_execution_waiting_for_a_token_runs_until_answered() {
    let (wf, _) = callback_machine(REGION).await;
    let (id, token) = start_callback(&wf, json!({})).await;
    wf.stop_execution(&id, "Paraf.Withdrawn", "ditarik pemohon")
        .await
        .unwrap_or_else(|e| panic!("stop: {e}"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        describe(&wf, &id).await.status,
        ExecutionStatus::Running,
        "moto now aborts at once: use the contract's a_stopped_execution_is_aborted_and_its_token_refused"
    );
    assert_eq!(wf.send_task_success(&token, json!({})).await, Ok(()));
    let d = finished(&wf, &id).await;
    assert_eq!(d.status, ExecutionStatus::Aborted, "the answer is not used");
    assert_eq!(d.output, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_names_events_and_details_as_the_local_interpreter_does() {
    let (wf, _) = callback_machine(REGION).await;
    let input = json!({"k": "v"});
    let (id, token) = start_callback(&wf, input.clone()).await;
    wf.send_task_success(&token, json!(1))
        .await
        .unwrap_or_else(|e| panic!("answer: {e}"));
    finished(&wf, &id).await;
    let h = wf
        .get_execution_history(&id)
        .await
        .unwrap_or_else(|e| panic!("history: {e}"));
    let of = |kind: &str| {
        h.iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} in {h:?}"))
    };
    assert_eq!(h.first().map(|e| e.kind.as_str()), Some("ExecutionStarted"));
    assert_eq!(of("ExecutionStarted").details["input"], input);
    assert_eq!(of("TaskStateEntered").details["name"], json!("Ask"));
    assert_eq!(of("TaskStateEntered").details["input"], input);
    let scheduled = &of("TaskScheduled").details;
    assert_eq!(
        scheduled["resource"],
        json!("arn:aws:states:::lambda:invoke.waitForTaskToken")
    );
    assert_eq!(
        scheduled["parameters"]["Payload"]["taskToken"],
        json!(token)
    );
    assert_eq!(scheduled["parameters"]["Payload"]["request"], input);
    assert_eq!(
        h.last()
            .map(|e| (e.kind.as_str(), e.details["output"].clone())),
        Some(("ExecutionSucceeded", json!({"k": "v", "answer": 1})))
    );
    assert!(
        h.windows(2)
            .all(|w| w[0].id < w[1].id && w[0].timestamp <= w[1].timestamp),
        "event ids increase and time does not go back"
    );
}

// ---------------------------------------------------------------------------------------
// moto deviations, each stated as what moto does (docs: AWS Step Functions API reference)

/// AWS answers a token whose task closed with `TaskTimedOut` ("Provided task does not
/// exist anymore"); moto looks tokens up only in running executions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_deviation_a_token_of_an_ended_execution_is_invalid_token() {
    let (wf, _) = callback_machine(REGION).await;
    let (id, token) = start_callback(&wf, json!({})).await;
    wf.send_task_success(&token, json!({"n": 1}))
        .await
        .unwrap_or_else(|e| panic!("first answer: {e}"));
    let d = finished(&wf, &id).await;
    assert_eq!(d.output, Some(json!({"answer": {"n": 1}})));
    assert_eq!(
        wf.send_task_success(&token, json!({"n": 2})).await,
        Err(WorkflowsError::InvalidToken),
        "moto now refuses as AWS does: use the contract's a_token_is_answered_at_most_once"
    );
    assert_eq!(
        wf.send_task_heartbeat(&token).await,
        Err(WorkflowsError::InvalidToken)
    );
    assert_eq!(
        describe(&wf, &id).await,
        d,
        "the refused answer changed nothing"
    );
}

/// AWS refuses a second answer to a token; moto accepts (and ignores) it while the
/// execution still runs. A Wait after the callback keeps it running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_deviation_a_second_answer_is_accepted_while_the_execution_runs() {
    let client = sfn_client(REGION).await;
    let definition = json!({"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": function_arn(REGION, "notify"),
                               "Payload": {"taskToken.$": "$$.Task.Token"}},
                "ResultPath": "$.answer", "Next": "Linger"},
        "Linger": {"Type": "Wait", "Seconds": 5, "End": true}}});
    let arn = create_machine(&client, &common::unique("linger"), &definition.to_string()).await;
    let wf = SfnWorkflows::new(client, BTreeMap::new());
    let id = wf
        .start_execution(&arn, &common::unique("exec"), json!({}))
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let token = wait_for_task(&wf, &id, None, &[]).await;
    wf.send_task_success(&token, json!(1))
        .await
        .unwrap_or_else(|e| panic!("first answer: {e}"));
    // The second answer must come after moto has taken the first (its execution thread
    // moves on asynchronously) and before the Wait ends.
    let started = Instant::now();
    while !wf
        .get_execution_history(&id)
        .await
        .unwrap_or_else(|e| panic!("history: {e}"))
        .iter()
        .any(|e| e.kind == "TaskSucceeded" || e.kind == "WaitStateEntered")
    {
        assert!(
            started.elapsed() < PATIENCE,
            "moto never took the first answer"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        wf.send_task_success(&token, json!(2)).await,
        Ok(()),
        "moto now refuses a second answer: assert TaskTimedOut/TaskDoesNotExist instead"
    );
    let d = finished(&wf, &id).await;
    assert_eq!(d.output, Some(json!({"answer": 1})), "the first answer won");
}

/// AWS fails the execution with the error and cause given to SendTaskFailure; moto
/// keeps the error and drops the cause (as crates/paraf-local/tests/asl_moto.rs found).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_deviation_the_cause_of_a_task_failure_is_dropped() {
    let (wf, _) = callback_machine(REGION).await;
    let (id, token) = start_callback(&wf, json!({"request": "izin"})).await;
    wf.send_task_failure(&token, "Paraf.Rejected", "anggaran tidak tersedia")
        .await
        .unwrap_or_else(|e| panic!("failure: {e}"));
    let d = finished(&wf, &id).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("Paraf.Rejected"));
    assert_eq!(
        d.cause, None,
        "moto now keeps the cause: use the contract's task_failure_… case"
    );
}

// ---------------------------------------------------------------------------------------
// 3. The contract cases moto supports

/// The adapter as the contract sees it, with `TaskScheduled` events held back until the
/// task is submitted: moto loses earlier answers (module docs), AWS does not.
struct MotoTokens(SfnWorkflows);

#[async_trait]
impl Workflows for MotoTokens {
    async fn start_execution(
        &self,
        state_machine: &str,
        name: &str,
        input: Value,
    ) -> Result<String, WorkflowsError> {
        self.0.start_execution(state_machine, name, input).await
    }
    async fn send_task_success(&self, token: &str, output: Value) -> Result<(), WorkflowsError> {
        self.0.send_task_success(token, output).await
    }
    async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowsError> {
        self.0.send_task_failure(token, error, cause).await
    }
    async fn send_task_heartbeat(&self, token: &str) -> Result<(), WorkflowsError> {
        self.0.send_task_heartbeat(token).await
    }
    async fn describe_execution(
        &self,
        execution_id: &str,
    ) -> Result<ExecutionDescription, WorkflowsError> {
        self.0.describe_execution(execution_id).await
    }
    async fn get_execution_history(
        &self,
        execution_id: &str,
    ) -> Result<Vec<HistoryEvent>, WorkflowsError> {
        let h = self.0.get_execution_history(execution_id).await?;
        Ok(h.iter()
            .enumerate()
            .filter(|(i, e)| {
                e.kind != "TaskScheduled" || h[i + 1..].iter().any(|e| e.kind == "TaskSubmitted")
            })
            .map(|(_, e)| e.clone())
            .collect())
    }
    async fn stop_execution(
        &self,
        execution_id: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowsError> {
        self.0.stop_execution(execution_id, error, cause).await
    }
}

/// `(adapter, machine)` for a contract case; `by_arn` passes the state machine's ARN
/// instead of its workflow name.
async fn contract_fixture(by_arn: bool) -> (MotoTokens, String) {
    let (wf, arn) = callback_machine(REGION).await;
    let machine = if by_arn {
        arn
    } else {
        "contract-callback".to_string()
    };
    (MotoTokens(wf), machine)
}

macro_rules! contract_cases {
    ($($case:ident),+ $(,)?) => {
        mod contract {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (wf, machine) = contract_fixture(false).await;
                    paraf_contract::workflows::$case(&wf, &machine).await;
                }
            )+
        }
    };
}

contract_cases!(
    a_started_execution_is_running_with_its_name_and_input,
    starting_the_same_name_and_input_again_while_running_finds_the_same_execution,
    starting_the_same_name_with_another_input_is_execution_already_exists,
    an_unknown_state_machine_is_state_machine_does_not_exist,
    an_unknown_execution_is_execution_does_not_exist,
    task_success_completes_the_execution_with_the_answer_in_its_output,
    a_token_that_was_never_issued_is_invalid,
    the_history_starts_with_execution_started_and_ends_with_the_outcome,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_state_machine_arn_is_state_machine_does_not_exist_in_the_contract() {
    let (wf, machine) = contract_fixture(true).await;
    paraf_contract::workflows::an_unknown_state_machine_is_state_machine_does_not_exist(
        &wf, &machine,
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Paging (moto returns the whole history in one page, so a stub server plays AWS)

/// Serves GetExecutionHistory in two pages, as Step Functions does past `maxResults`.
async fn two_page_history_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("address: {e}"));
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            let body = loop {
                let Ok(n) = conn.read(&mut buf).await else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                let Some(end) = text.find("\r\n\r\n") else {
                    continue;
                };
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break Some(text[end + 4..].to_string());
                }
            };
            let Some(body) = body else { continue };
            let page = if body.contains("\"nextToken\"") {
                json!({"events": [
                    {"id": 3, "type": "ExecutionSucceeded", "timestamp": 1764300002.0,
                     "previousEventId": 2,
                     "executionSucceededEventDetails": {"output": "{\"done\":true}"}}]})
            } else {
                json!({"events": [
                    {"id": 1, "type": "ExecutionStarted", "timestamp": 1764300000.0,
                     "executionStartedEventDetails": {"input": "{\"k\":1}"}},
                    {"id": 2, "type": "PassStateEntered", "timestamp": 1764300001.0,
                     "previousEventId": 1,
                     "stateEnteredEventDetails": {"name": "P", "input": "{\"k\":1}"}}],
                       "nextToken": "page-2"})
            }
            .to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                page.len(),
                body = page
            );
            let _ = conn.write_all(response.as_bytes()).await;
            let _ = conn.shutdown().await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_history_is_read_page_by_page_to_its_end() {
    let endpoint = two_page_history_server().await;
    let config = aws_sdk_sfn::config::Builder::from(&common::Moto::shared().config().await)
        .endpoint_url(endpoint)
        .build();
    let wf = SfnWorkflows::new(aws_sdk_sfn::Client::from_conf(config), BTreeMap::new());
    let h = wf
        .get_execution_history("arn:aws:states:us-east-1:123456789012:execution:m:x")
        .await
        .unwrap_or_else(|e| panic!("history: {e}"));
    let kinds: Vec<(u64, &str)> = h.iter().map(|e| (e.id, e.kind.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (1, "ExecutionStarted"),
            (2, "PassStateEntered"),
            (3, "ExecutionSucceeded")
        ]
    );
    assert_eq!(h[1].details, json!({"name": "P", "input": {"k": 1}}));
    assert_eq!(h[2].details, json!({"output": {"done": true}}));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("free port: {e}"));
    let config = aws_sdk_sfn::config::Builder::from(&common::Moto::shared().config().await)
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .build();
    let wf = SfnWorkflows::new(aws_sdk_sfn::Client::from_conf(config), BTreeMap::new());
    match wf.send_task_heartbeat("any-token").await {
        Err(WorkflowsError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    match wf
        .describe_execution("arn:aws:states:us-east-1:123456789012:execution:m:x")
        .await
    {
        Err(WorkflowsError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
