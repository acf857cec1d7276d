//! Differential tests: the same definitions, inputs, task answers and Lambda results run
//! by the local interpreter and by an engine nobody here wrote — moto's Step Functions
//! (PyPI `moto[server]`, installed by `scripts/install-emulators`) — and the final status
//! and output compared.
//!
//! Where moto deviates from the AWS Step Functions documentation, the documentation wins:
//! the case states the documented result (the local interpreter must give it) and lists
//! moto's observed, different result as a known deviation, so that a moto upgrade that
//! fixes it makes the test fail and the list shrink.
//!
//! These tests FAIL (never skip) when moto is missing: run `bash scripts/install-emulators`
//! (or `bash scripts/test`) first. The moto server is found in `$PARAF_VENV/bin` or the
//! repository's `.venv/bin`, started on a free loopback port per test, and killed at the end.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paraf_core::memory::MemoryTable;
use paraf_core::{ExecutionStatus, SystemClock, Workflows};
use paraf_local::workflows::{handler_fn, Handlers, LocalWorkflows};
use serde_json::{json, Value};

const REGION: &str = "ap-southeast-3";
const ACCOUNT: &str = "123456789012";
/// Every Lambda function the definitions call; locally each is a handler that behaves as
/// moto's Lambda without Docker does (next queued result, else the payload echoed).
const FUNCTIONS: &[&str] = &["notify", "sign", "escalate", "calc"];
const PATIENCE: Duration = Duration::from_secs(30);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

// ---------------------------------------------------------------------------------------
// moto

/// A moto server on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    base: String,
    http: reqwest::Client,
    _log: tempfile::NamedTempFile,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct SfnError {
    kind: String,
    message: String,
}

impl Moto {
    async fn start() -> Moto {
        let venv = std::env::var_os("PARAF_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join(".venv"));
        let bin = venv.join("bin/moto_server");
        assert!(
            bin.is_file(),
            "{} is missing: run `bash scripts/install-emulators` (the differential tests \
             need moto's Step Functions; they do not skip)",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let log = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        let out = log.reopen().unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // moto's Step Functions calls its own Lambda at localhost:$MOTO_PORT.
            .env("MOTO_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let moto = Moto {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _log: log,
        };
        let started = Instant::now();
        loop {
            let r = moto
                .http
                .get(format!("{}/moto-api/data.json", moto.base))
                .send()
                .await;
            if r.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "moto did not answer on {} within {PATIENCE:?}",
                moto.base
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let r = moto
            .http
            .post(format!("{}/moto-api/config", moto.base))
            .json(&json!({"stepfunctions": {"execute_state_machine": true},
                          "lambda": {"use_docker": false}}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto config: {e}"));
        assert!(r.status().is_success(), "moto config: {}", r.status());
        moto
    }

    /// One Step Functions call, awsJson1.0. moto checks no signature but reads the
    /// region from the Authorization header.
    async fn sfn(&self, op: &str, body: Value) -> Result<Value, SfnError> {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/states/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=0000"
        );
        let r = self
            .http
            .post(format!("{}/", self.base))
            .header("X-Amz-Target", format!("AWSStepFunctions.{op}"))
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("Authorization", auth)
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        let ok = r.status().is_success();
        let text = r.text().await.unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if ok {
            return Ok(v);
        }
        Err(SfnError {
            kind: v["__type"]
                .as_str()
                .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
                .unwrap_or_else(|| text.clone()),
            message: v["message"].as_str().unwrap_or_default().to_string(),
        })
    }

    async fn call(&self, op: &str, body: Value) -> Value {
        self.sfn(op, body)
            .await
            .unwrap_or_else(|e| panic!("{op}: {}: {}", e.kind, e.message))
    }

    /// Results the next Lambda invocations return, in order (any function).
    async fn queue(&self, results: &[Value]) {
        if results.is_empty() {
            return;
        }
        let results: Vec<String> = results.iter().map(Value::to_string).collect();
        let r = self
            .http
            .post(format!(
                "{}/moto-api/static/lambda-simple/response",
                self.base
            ))
            .json(&json!({"results": results, "region": REGION, "account_id": ACCOUNT}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("queue lambda results: {e}"));
        assert!(
            r.status().is_success(),
            "queue lambda results: {}",
            r.status()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Cases

#[derive(Debug, Clone)]
enum Act {
    Success(Value),
    Failure(&'static str, &'static str),
}

/// Answer the first waiting task (whose payload has `field == value`, if given), after
/// queueing the Lambda results that answer will cause.
#[derive(Debug, Clone)]
struct Step {
    when: Option<(&'static str, Value)>,
    act: Act,
    queue: Vec<Value>,
}

fn answer(v: Value) -> Step {
    Step {
        when: None,
        act: Act::Success(v),
        queue: Vec::new(),
    }
}

impl Step {
    fn then_lambda(mut self, results: &[Value]) -> Step {
        self.queue = results.to_vec();
        self
    }
    fn to(mut self, field: &'static str, value: Value) -> Step {
        self.when = Some((field, value));
        self
    }
}

fn fail_task(error: &'static str, cause: &'static str) -> Step {
    Step {
        when: None,
        act: Act::Failure(error, cause),
        queue: Vec::new(),
    }
}

/// How an execution ended. `output` is `Err(text)` when the engine's output is not JSON.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    status: String,
    output: Option<Result<Value, String>>,
    error: Option<String>,
    cause: Option<String>,
}

fn succeeded(output: Value) -> Outcome {
    Outcome {
        status: "SUCCEEDED".into(),
        output: Some(Ok(output)),
        error: None,
        cause: None,
    }
}

fn failed(error: &str, cause: Option<&str>) -> Outcome {
    Outcome {
        status: "FAILED".into(),
        output: None,
        error: Some(error.into()),
        cause: cause.map(str::to_string),
    }
}

/// What moto does instead of what the documentation says.
struct Deviation {
    what: &'static str,
    moto: Outcome,
}

struct Case {
    name: String,
    definition: String,
    input: Value,
    /// Lambda results queued before the execution starts.
    queue: Vec<Value>,
    steps: Vec<Step>,
    /// The documented result (required when moto deviates).
    expect: Option<Outcome>,
    deviation: Option<Deviation>,
    /// Causes written by the engines themselves differ in wording; compare only set ones.
    compare_cause: bool,
}

fn case(name: &str, definition: Value, input: Value) -> Case {
    Case {
        name: name.into(),
        definition: definition.to_string(),
        input,
        queue: Vec::new(),
        steps: Vec::new(),
        expect: None,
        deviation: None,
        compare_cause: false,
    }
}

impl Case {
    fn queue(mut self, results: &[Value]) -> Case {
        self.queue = results.to_vec();
        self
    }
    fn steps(mut self, steps: Vec<Step>) -> Case {
        self.steps = steps;
        self
    }
    fn expect(mut self, o: Outcome) -> Case {
        self.compare_cause = o.cause.is_some();
        self.expect = Some(o);
        self
    }
    fn deviation(mut self, what: &'static str, moto: Outcome) -> Case {
        self.deviation = Some(Deviation { what, moto });
        self
    }
}

/// `${…}` values; `machines` maps state machine placeholders to the engine's ARNs.
fn substitutions(machines: &[(&str, String)]) -> BTreeMap<String, String> {
    let mut s: BTreeMap<String, String> = [
        ("NotifyFunctionArn", "notify"),
        ("SignFunctionArn", "sign"),
        ("EscalateFunctionArn", "escalate"),
        ("CalcFunctionArn", "calc"),
    ]
    .into_iter()
    .map(|(k, f)| (k.to_string(), function_arn(f)))
    .collect();
    for (k, v) in machines {
        s.insert(k.to_string(), v.clone());
    }
    s
}

fn substitute(text: &str, subs: &BTreeMap<String, String>) -> String {
    subs.iter().fold(text.to_string(), |t, (k, v)| {
        t.replace(&format!("${{{k}}}"), v)
    })
}

// ---------------------------------------------------------------------------------------
// Driving either engine through a script

/// The task payloads handed out so far (each carries its `taskToken`) and the status.
struct Snapshot {
    status: String,
    payloads: Vec<Value>,
}

trait Driver {
    async fn queue(&self, results: &[Value]);
    async fn snapshot(&self) -> Snapshot;
    async fn act(&self, token: &str, act: &Act);
    async fn outcome(&self) -> Outcome;
}

fn token_of(p: &Value) -> Option<&str> {
    p.get("taskToken").and_then(Value::as_str)
}

async fn drive(d: &impl Driver, c: &Case) -> Outcome {
    let mut used: HashSet<String> = HashSet::new();
    for step in &c.steps {
        let started = Instant::now();
        let token = loop {
            let s = d.snapshot().await;
            let pick = s.payloads.iter().find(|p| {
                token_of(p).is_some_and(|t| !used.contains(t))
                    && step.when.as_ref().is_none_or(|(f, v)| p.get(*f) == Some(v))
            });
            if let Some(t) = pick.and_then(token_of) {
                break Some(t.to_string());
            }
            if s.status != "RUNNING" {
                break None;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{}: no task for step {step:?} within {PATIENCE:?}; handed out: {:?}",
                c.name,
                s.payloads
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        // The execution ended early (a deviation, or a failure the outcome shows).
        let Some(token) = token else { break };
        used.insert(token.clone());
        d.queue(&step.queue).await;
        d.act(&token, &step.act).await;
    }
    let started = Instant::now();
    loop {
        let s = d.snapshot().await;
        if s.status != "RUNNING" {
            return d.outcome().await;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{}: still running after its script, waiting for {:?}",
            c.name,
            s.payloads
                .iter()
                .filter(|p| token_of(p).is_some_and(|t| !used.contains(t)))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

struct LocalRun {
    wf: LocalWorkflows,
    id: String,
    inbox: Arc<Mutex<Vec<Value>>>,
    results: Arc<Mutex<VecDeque<Value>>>,
    worker: tokio::task::JoinHandle<()>,
}

impl Drop for LocalRun {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

impl Driver for LocalRun {
    async fn queue(&self, results: &[Value]) {
        self.results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(results.iter().cloned());
    }
    async fn snapshot(&self) -> Snapshot {
        let d = self
            .wf
            .describe_execution(&self.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Snapshot {
            status: serde_json::to_value(d.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            payloads: self.inbox.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
    async fn act(&self, token: &str, act: &Act) {
        let r = match act {
            Act::Success(v) => self.wf.send_task_success(token, v.clone()).await,
            Act::Failure(e, c) => self.wf.send_task_failure(token, e, c).await,
        };
        r.unwrap_or_else(|e| panic!("local answer: {e}"));
    }
    async fn outcome(&self) -> Outcome {
        let d = self
            .wf
            .describe_execution(&self.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Outcome {
            status: match d.status {
                ExecutionStatus::Succeeded => "SUCCEEDED",
                ExecutionStatus::Failed => "FAILED",
                ExecutionStatus::TimedOut => "TIMED_OUT",
                ExecutionStatus::Aborted => "ABORTED",
                ExecutionStatus::Running => "RUNNING",
            }
            .into(),
            output: d.output.map(Ok),
            error: d.error,
            cause: d.cause,
        }
    }
}

/// Runs `c` locally; `extra` are further machines (name, definition) it may start.
async fn run_local(c: &Case, extra: &[(&str, &str)]) -> Outcome {
    let inbox: Arc<Mutex<Vec<Value>>> = Arc::default();
    let results: Arc<Mutex<VecDeque<Value>>> = Arc::default();
    let mut handlers = Handlers::new();
    for f in FUNCTIONS {
        let (inbox, results) = (inbox.clone(), results.clone());
        handlers.insert(
            f.to_string(),
            handler_fn(move |payload: Value, _| {
                let (inbox, results) = (inbox.clone(), results.clone());
                async move {
                    if token_of(&payload).is_some() {
                        inbox
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(payload.clone());
                    }
                    // As moto's Lambda without Docker: the next queued result, else the
                    // payload itself.
                    let next = results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .pop_front();
                    Ok(next.unwrap_or(payload))
                }
            }),
        );
    }
    let wf = LocalWorkflows::new(
        Arc::new(MemoryTable::new()),
        handlers,
        Arc::new(SystemClock),
    );
    let machines: Vec<(&str, String)> = extra
        .iter()
        .map(|(n, _)| (placeholder_for(n), wf.state_machine_arn(n)))
        .collect();
    let subs = substitutions(&machines);
    for (n, def) in extra {
        wf.register(n, def, &subs)
            .unwrap_or_else(|e| panic!("{n}: {e}"));
    }
    wf.register(&c.name, &c.definition, &subs)
        .unwrap_or_else(|e| panic!("{}: {e}", c.name));
    results
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(c.queue.iter().cloned());
    let worker = wf.spawn_worker();
    let id = wf
        .start_execution(&c.name, &format!("{}-exec", c.name), c.input.clone())
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", c.name));
    let run = LocalRun {
        wf,
        id,
        inbox,
        results,
        worker,
    };
    drive(&run, c).await
}

/// `disposition` → `DispositionStateMachineArn`.
fn placeholder_for(machine: &str) -> &'static str {
    match machine {
        "disposition" => "DispositionStateMachineArn",
        "approval" => "ApprovalStateMachineArn",
        _ => "ChildStateMachineArn",
    }
}

struct MotoRun<'a> {
    moto: &'a Moto,
    arn: String,
}

impl Driver for MotoRun<'_> {
    async fn queue(&self, results: &[Value]) {
        self.moto.queue(results).await;
    }
    async fn snapshot(&self) -> Snapshot {
        let d = self
            .moto
            .call("DescribeExecution", json!({"executionArn": self.arn}))
            .await;
        let h = self
            .moto
            .call(
                "GetExecutionHistory",
                json!({"executionArn": self.arn, "maxResults": 1000}),
            )
            .await;
        // The token is in the execution history: TaskScheduled's parameters (JSON text).
        // moto loses an answer sent before the task is submitted (AWS keeps it), so a
        // token counts once its TaskSubmitted (→ TaskStarted → TaskScheduled) is there.
        let events: Vec<&Value> = h["events"].as_array().into_iter().flatten().collect();
        let by_id = |id: &Value| events.iter().find(|e| e["id"] == *id).copied();
        let payloads = events
            .iter()
            .filter(|e| e["type"] == "TaskSubmitted")
            .filter_map(|e| by_id(&e["previousEventId"]))
            .filter_map(|e| by_id(&e["previousEventId"]))
            .filter(|e| e["type"] == "TaskScheduled")
            .filter_map(|e| e["taskScheduledEventDetails"]["parameters"].as_str())
            .filter_map(|p| serde_json::from_str::<Value>(p).ok())
            .filter_map(|p| p.get("Payload").cloned())
            .filter(|p| token_of(p).is_some())
            .collect();
        Snapshot {
            status: d["status"].as_str().unwrap_or_default().to_string(),
            payloads,
        }
    }
    async fn act(&self, token: &str, act: &Act) {
        let body = match act {
            Act::Success(v) => (
                "SendTaskSuccess",
                json!({"taskToken": token, "output": v.to_string()}),
            ),
            Act::Failure(e, c) => (
                "SendTaskFailure",
                json!({"taskToken": token, "error": e, "cause": c}),
            ),
        };
        self.moto.call(body.0, body.1).await;
    }
    async fn outcome(&self) -> Outcome {
        let d = self
            .moto
            .call("DescribeExecution", json!({"executionArn": self.arn}))
            .await;
        let text = |k: &str| d[k].as_str().map(str::to_string);
        Outcome {
            status: text("status").unwrap_or_default(),
            output: text("output").map(|o| serde_json::from_str(&o).map_err(|_| o)),
            error: text("error"),
            cause: text("cause"),
        }
    }
}

async fn create_machine(moto: &Moto, name: &str, definition: &str) -> String {
    let r = moto
        .call(
            "CreateStateMachine",
            json!({"name": name, "definition": definition,
                   "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/paraf-workflows")}),
        )
        .await;
    r["stateMachineArn"]
        .as_str()
        .unwrap_or_else(|| panic!("CreateStateMachine {name}: {r}"))
        .to_string()
}

async fn run_moto(moto: &Moto, c: &Case, extra: &[(&str, &str)]) -> Outcome {
    // Unique names: one server serves many cases.
    let tag = format!("{}-{}", c.name, std::process::id());
    let arn_of = |n: &str| format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{n}-{tag}");
    let machines: Vec<(&str, String)> = extra
        .iter()
        .map(|(n, _)| (placeholder_for(n), arn_of(n)))
        .collect();
    let subs = substitutions(&machines);
    for (n, def) in extra {
        create_machine(moto, &format!("{n}-{tag}"), &substitute(def, &subs)).await;
    }
    let arn = create_machine(
        moto,
        &format!("main-{tag}"),
        &substitute(&c.definition, &subs),
    )
    .await;
    moto.queue(&c.queue).await;
    let r = moto
        .call(
            "StartExecution",
            json!({"stateMachineArn": arn, "name": format!("{}-exec", c.name),
                   "input": c.input.to_string()}),
        )
        .await;
    let exec = r["executionArn"]
        .as_str()
        .unwrap_or_else(|| panic!("StartExecution {}: {r}", c.name))
        .to_string();
    drive(&MotoRun { moto, arn: exec }, c).await
}

fn comparable(o: &Outcome, with_cause: bool) -> Outcome {
    let mut o = o.clone();
    if !with_cause {
        o.cause = None;
    }
    o
}

/// Runs every case in both engines (one after the other: moto's Lambda result queue is
/// shared) and reports every mismatch at once.
async fn differential(cases: Vec<Case>, extra: &[(&str, &str)]) {
    let moto = Moto::start().await;
    let mut problems = Vec::new();
    let mut deviations = Vec::new();
    for c in &cases {
        let local = run_local(c, extra).await;
        let remote = run_moto(&moto, c, extra).await;
        let (l, m) = (
            comparable(&local, c.compare_cause),
            comparable(&remote, c.compare_cause),
        );
        if let Some(e) = &c.expect {
            let e = comparable(e, c.compare_cause);
            if l != e {
                problems.push(format!(
                    "{}: local differs from the documented result\n  local: {l:?}\n  docs:  {e:?}",
                    c.name
                ));
            }
        }
        match &c.deviation {
            None if l != m => problems.push(format!(
                "{}: local and moto differ\n  local: {l:?}\n  moto:  {m:?}",
                c.name
            )),
            None => {}
            Some(d) => {
                let known = comparable(&d.moto, c.compare_cause);
                if m != known {
                    problems.push(format!(
                        "{}: moto no longer shows the known deviation ({}); update the list\n  moto now: {m:?}\n  listed:   {known:?}",
                        c.name, d.what
                    ));
                }
                if c.expect.is_none() {
                    problems.push(format!(
                        "{}: a deviation needs the documented result",
                        c.name
                    ));
                }
                deviations.push(format!("{}: {}", c.name, d.what));
            }
        }
    }
    for d in &deviations {
        eprintln!("known moto deviation (docs win): {d}");
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases differ:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Small definitions, one feature each

fn machine(start: &str, states: Value) -> Value {
    json!({"StartAt": start, "States": states})
}

fn callback(extra: Value) -> Value {
    let mut s = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "${NotifyFunctionArn}",
                        "Payload": {"taskToken.$": "$$.Task.Token", "who.$": "$.who"}},
        "ResultPath": "$.answer"
    });
    if let (Some(s), Value::Object(extra)) = (s.as_object_mut(), extra) {
        s.extend(extra);
    }
    s
}

fn ack() -> Value {
    json!({"sent": true})
}

fn feature_cases() -> Vec<Case> {
    let mut cases = vec![
        // https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
        case(
            "paths",
            machine("A", json!({
                "A": {"Type": "Pass", "InputPath": "$.order", "Parameters": {
                        "id.$": "$.id", "first.$": "$.items[0]", "fixed": "x", "ctx.$": "$$.State.Name"},
                      "ResultPath": "$.picked", "Next": "B"},
                "B": {"Type": "Pass", "Result": {"extra": [1, 2]}, "ResultPath": "$.picked.more",
                      "OutputPath": "$.picked", "Next": "C"},
                "C": {"Type": "Pass", "ResultPath": null, "InputPath": null, "End": true}
            })),
            json!({"order": {"id": "SPD-1", "items": ["a", "b"]}}),
        )
        .expect(succeeded(json!({"id": "SPD-1", "first": "a", "fixed": "x", "ctx": "A",
                                  "more": {"extra": [1, 2]}}))),
        // Reference paths select the node itself:
        // https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
        case(
            "definite-path",
            machine("A", json!({"A": {"Type": "Pass", "InputPath": "$[0].v", "End": true}})),
            json!([{"v": 1}, {"v": 2}]),
        )
        .expect(succeeded(json!(1)))
        .deviation(
            "a definite path `$[0].v` yields `[1]` instead of the node `1`",
            succeeded(json!([1])),
        ),
        // Output is JSON text: a string output is a quoted JSON string.
        case(
            "string-output",
            machine("A", json!({"A": {"Type": "Pass", "Result": "selesai", "End": true}})),
            json!({}),
        )
        .expect(succeeded(json!("selesai")))
        .deviation(
            "a bare string output comes back unquoted (`selesai`, not `\"selesai\"`)",
            Outcome {
                output: Some(Err("selesai".into())),
                ..succeeded(Value::Null)
            },
        ),
        case(
            "intrinsics",
            machine("A", json!({"A": {"Type": "Pass", "Parameters": {
                "format.$": "States.Format('Nomor {}/{}/{}', $.n, $.unit, $.year)",
                "parsed.$": "States.StringToJson($.json)",
                "text.$": "States.JsonToString($.obj)",
                "array.$": "States.Array($.n, 'x', $.obj)",
                "parts.$": "States.ArrayPartition($.list, 2)",
                "has.$": "States.ArrayContains($.list, 3)",
                "range.$": "States.ArrayRange(1, 9, 3)",
                "item.$": "States.ArrayGetItem($.list, 1)",
                "len.$": "States.ArrayLength($.list)",
                "unique.$": "States.ArrayUnique($.dups)",
                "sum.$": "States.MathAdd($.n, -3)",
                "split.$": "States.StringSplit($.csv, ',')",
                "merged.$": "States.JsonMerge($.obj, $.obj2, false)",
                "b64.$": "States.Base64Encode($.unit)",
                "unb64.$": "States.Base64Decode('UEwuMDEtU0Q=')",
                "sha256.$": "States.Hash($.unit, 'SHA-256')"
            }, "End": true}})),
            json!({"n": 123, "unit": "PL.01-SD", "year": 2026, "json": "{\"a\":[1,2]}",
                   "obj": {"k": "v", "deep": {"x": 1}}, "obj2": {"deep": {"y": 2}},
                   "list": [1, 2, 3, 4, 5], "dups": [1, 1, "a", "a", 2], "csv": "a,b,,c"}),
        ),
        case(
            "wait",
            machine("A", json!({
                "A": {"Type": "Wait", "Seconds": 1, "Next": "B"},
                "B": {"Type": "Wait", "SecondsPath": "$.secs", "Next": "C"},
                "C": {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "Next": "D"},
                "D": {"Type": "Wait", "TimestampPath": "$.past", "End": true}
            })),
            json!({"secs": 1, "past": "2021-06-01T07:00:00Z"}),
        )
        .expect(succeeded(json!({"secs": 1, "past": "2021-06-01T07:00:00Z"}))),
        case(
            "parallel",
            machine("P", json!({"P": {"Type": "Parallel", "Branches": [
                    {"StartAt": "X", "States": {"X": {"Type": "Pass", "Parameters": {"b.$": "$.v"}, "End": true}}},
                    {"StartAt": "Y", "States": {"Y": {"Type": "Pass", "Result": "two", "End": true}}}
                ],
                "ResultSelector": {"first.$": "$[0].b", "second.$": "$[1]"},
                "ResultPath": "$.r", "End": true}})),
            json!({"v": 7}),
        )
        .expect(succeeded(json!({"v": 7, "r": {"first": 7, "second": "two"}})))
        .deviation(
            "the definite path `$[0].b` in ResultSelector yields `[7]` instead of `7`",
            succeeded(json!({"v": 7, "r": {"first": [7], "second": "two"}})),
        ),
        case(
            "map",
            machine("M", json!({"M": {"Type": "Map", "ItemsPath": "$.people", "MaxConcurrency": 1,
                "ItemSelector": {"i.$": "$$.Map.Item.Index", "who.$": "$$.Map.Item.Value.nama", "unit.$": "$.unit"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "I",
                    "States": {"I": {"Type": "Pass", "Parameters": {"line.$": "States.Format('{}. {} ({})', $.i, $.who, $.unit)"}, "End": true}}},
                "ResultPath": "$.lines", "End": true}})),
            json!({"unit": "Keuangan", "people": [{"nama": "Ani"}, {"nama": "Budi"}, {"nama": "Citra"}]}),
        ),
        case(
            "map-empty",
            machine("M", json!({"M": {"Type": "Map", "ItemsPath": "$.xs",
                "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
                "End": true}})),
            json!({"xs": []}),
        )
        .expect(succeeded(json!([]))),
        case(
            "fail",
            machine("F", json!({"F": {"Type": "Fail", "Error": "Paraf.Custom", "Cause": "sebab"}})),
            json!({}),
        )
        .expect(failed("Paraf.Custom", Some("sebab"))),
        case(
            "fail-paths",
            machine("F", json!({"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}})),
            json!({"e": "Paraf.FromInput", "c": "dari input"}),
        )
        .expect(failed("Paraf.FromInput", Some("dari input"))),
        case(
            "no-choice",
            machine("C", json!({"C": {"Type": "Choice", "Choices": [
                {"Variable": "$.x", "NumericEquals": 1, "Next": "D"}]},
                "D": {"Type": "Succeed"}})),
            json!({"x": 2}),
        )
        .expect(failed("States.NoChoiceMatched", None))
        // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
        .deviation(
            "no matching Choice rule and no Default fails with States.Runtime, not \
             States.NoChoiceMatched",
            failed("States.Runtime", None),
        ),
        case(
            "catch-branch-failure",
            machine("P", json!({
                "P": {"Type": "Parallel", "Branches": [
                        {"StartAt": "X", "States": {"X": {"Type": "Fail", "Error": "Paraf.Branch", "Cause": "cabang gagal"}}}],
                      "Catch": [{"ErrorEquals": ["Paraf.Other"], "Next": "Wrong"},
                                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handled"}],
                      "End": true},
                "Wrong": {"Type": "Fail", "Error": "Wrong"},
                "Handled": {"Type": "Pass", "End": true}
            })),
            json!({"keep": 1}),
        )
        .expect(succeeded(json!({"keep": 1, "err": {"Error": "Paraf.Branch", "Cause": "cabang gagal"}}))),
        case(
            "uncaught-map-failure",
            machine("M", json!({"M": {"Type": "Map", "ItemsPath": "$.xs",
                "ItemProcessor": {"StartAt": "C", "States": {
                    "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 1, "Next": "Bad"}], "Default": "Ok"},
                    "Bad": {"Type": "Fail", "Error": "Paraf.TooBig", "Cause": "lebih dari satu"},
                    "Ok": {"Type": "Succeed"}}},
                "End": true}})),
            json!({"xs": [1, 2]}),
        )
        .expect(failed("Paraf.TooBig", Some("lebih dari satu"))),
        case(
            "lambda-invoke",
            machine("T", json!({
                "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": {"FunctionName": "${CalcFunctionArn}", "Payload": {"x.$": "$.x"}},
                      "ResultSelector": {"total.$": "$.Payload.total", "code.$": "$.StatusCode"},
                      "ResultPath": "$.calc", "Next": "U"},
                "U": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": {"FunctionName": "${CalcFunctionArn}", "Payload.$": "$"},
                      "OutputPath": "$.Payload", "End": true}
            })),
            json!({"x": 2}),
        )
        .queue(&[json!({"total": 1250000}), json!({"terbilang": "satu juta dua ratus lima puluh ribu rupiah"})])
        .expect(succeeded(json!({"terbilang": "satu juta dua ratus lima puluh ribu rupiah"}))),
        case(
            "callback-success",
            machine("T", json!({"T": callback(json!({"Next": "D"})),
                "D": {"Type": "Choice", "Choices": [
                    {"And": [{"Variable": "$.answer.ok", "BooleanEquals": true},
                             {"Variable": "$.answer.amount", "NumericGreaterThanEquals": 1000}], "Next": "Yes"},
                    {"Not": {"Variable": "$.answer.note", "IsPresent": true}, "Next": "No"}],
                    "Default": "Other"},
                "Yes": {"Type": "Pass", "Result": "yes", "ResultPath": "$.route", "End": true},
                "No": {"Type": "Pass", "Result": "no", "ResultPath": "$.route", "End": true},
                "Other": {"Type": "Pass", "Result": "other", "ResultPath": "$.route", "End": true}})),
            json!({"who": "E1"}),
        )
        .queue(&[ack()])
        .steps(vec![answer(json!({"ok": true, "amount": 1500}))])
        .expect(succeeded(json!({"who": "E1", "answer": {"ok": true, "amount": 1500}, "route": "yes"}))),
        case(
            "callback-failure-caught",
            machine("T", json!({"T": callback(json!({"Next": "Done",
                    "Catch": [{"ErrorEquals": ["Paraf.Rejected"], "ResultPath": "$.why", "Next": "Rejected"}]})),
                "Done": {"Type": "Succeed"},
                "Rejected": {"Type": "Pass", "Parameters": {"rejected.$": "$.why.Cause"}, "End": true}})),
            json!({"who": "E2"}),
        )
        .queue(&[ack()])
        .steps(vec![fail_task("Paraf.Rejected", "anggaran habis")])
        .expect(succeeded(json!({"rejected": "anggaran habis"})))
        .deviation(
            "the Cause given to SendTaskFailure is dropped: Catch sees no `Cause`",
            succeeded(json!({"rejected": null})),
        ),
        case(
            "callback-failure-retried",
            machine("T", json!({"T": callback(json!({"End": true,
                    "Retry": [{"ErrorEquals": ["Paraf.Busy"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.5}]}))})),
            json!({"who": "E3"}),
        )
        .queue(&[ack()])
        .steps(vec![
            fail_task("Paraf.Busy", "coba lagi").then_lambda(&[ack()]),
            answer(json!("second time")),
        ])
        .expect(succeeded(json!({"who": "E3", "answer": "second time"})))
        .deviation(
            "a Retry matching the error of SendTaskFailure is not applied to a \
             .waitForTaskToken task: the execution fails at once",
            failed("Paraf.Busy", None),
        ),
        case(
            "callback-failure-uncaught",
            machine("T", json!({"T": callback(json!({"End": true}))})),
            json!({"who": "E4"}),
        )
        .queue(&[ack()])
        .steps(vec![fail_task("Paraf.Withdrawn", "ditarik")])
        .expect(failed("Paraf.Withdrawn", Some("ditarik")))
        .deviation(
            "the Cause given to SendTaskFailure is dropped from the execution's cause",
            failed("Paraf.Withdrawn", None),
        ),
        case(
            "callback-timeout",
            machine("T", json!({"T": callback(json!({"TimeoutSeconds": 1, "Next": "Late",
                    "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.late", "Next": "Late"}]})),
                "Late": {"Type": "Pass", "Parameters": {"error.$": "$.late.Error"}, "End": true}})),
            json!({"who": "E5"}),
        )
        .queue(&[ack()])
        .expect(succeeded(json!({"error": "States.Timeout"}))),
        case(
            "callback-heartbeat-timeout",
            machine("T", json!({"T": callback(json!({"TimeoutSeconds": 30, "HeartbeatSeconds": 1, "Next": "Late",
                    "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.late", "Next": "Late"}]})),
                "Late": {"Type": "Pass", "Parameters": {"error.$": "$.late.Error"}, "End": true}})),
            json!({"who": "E6"}),
        )
        .queue(&[ack()])
        .expect(succeeded(json!({"error": "States.HeartbeatTimeout"})))
        // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
        .deviation(
            "a missed heartbeat is reported as States.Timeout (so a Catch on \
             States.HeartbeatTimeout does not match) instead of States.HeartbeatTimeout",
            failed("States.Timeout", None),
        ),
        case(
            "map-of-callbacks",
            machine("M", json!({"M": {"Type": "Map", "ItemsPath": "$.people",
                "ItemProcessor": {"StartAt": "Ask", "States": {"Ask": callback(json!({"End": true}))}},
                "ResultSelector": {"answers.$": "$[*].answer"},
                "End": true}})),
            json!({"people": [{"who": "A"}, {"who": "B"}]}),
        )
        .queue(&[ack(), ack()])
        .steps(vec![
            answer(json!("jawab B")).to("who", json!("B")),
            answer(json!("jawab A")).to("who", json!("A")),
        ])
        .expect(succeeded(json!({"answers": ["jawab A", "jawab B"]}))),
    ];
    // Choice rules against several inputs.
    let choice = machine(
        "C",
        json!({
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
                {"Or": [{"Variable": "$.s", "StringMatches": "SPPD-*"},
                        {"Variable": "$.s", "StringEquals": "cuti"}], "Next": "Travel"},
                {"Variable": "$.t", "TimestampLessThan": "2026-01-01T00:00:00Z", "Next": "Old"},
                {"Variable": "$.flag", "IsBoolean": true, "Next": "Flag"},
                {"Variable": "$.n", "NumericLessThanPath": "$.limit", "Next": "Under"}
            ], "Default": "Else"},
            "Big": {"Type": "Pass", "Result": {"r": "big"}, "End": true},
            "Travel": {"Type": "Pass", "Result": {"r": "travel"}, "End": true},
            "Old": {"Type": "Pass", "Result": {"r": "old"}, "End": true},
            "Flag": {"Type": "Pass", "Result": {"r": "flag"}, "End": true},
            "Under": {"Type": "Pass", "Result": {"r": "under"}, "End": true},
            "Else": {"Type": "Pass", "Result": {"r": "else"}, "End": true}
        }),
    );
    // Every rule's variable is present: a missing one is a separate case below.
    let base = json!({"n": 1, "s": "lain", "t": "2026-06-01T00:00:00Z", "flag": "no", "limit": 0});
    for (i, change, want) in [
        (1, json!({"s": "SPPD-12"}), json!("travel")),
        (2, json!({"s": "cuti", "n": 3}), json!("travel")),
        (3, json!({"t": "2025-12-31T23:59:59Z"}), json!("old")),
        (4, json!({"flag": false}), json!("flag")),
        (5, json!({"n": 3, "limit": 5}), json!("under")),
        (6, json!({"n": 9, "limit": 5}), json!("else")),
        (7, json!({"n": 11}), json!("big")),
    ] {
        let mut input = base.clone();
        if let (Some(i), Value::Object(c)) = (input.as_object_mut(), change) {
            i.extend(c);
        }
        cases.push(
            case(&format!("choice-{i}"), choice.clone(), input)
                .expect(succeeded(json!({"r": want}))),
        );
    }
    // AWS fails a Choice rule whose Variable does not exist ("Invalid path '$.n': The
    // choice state's condition path references an invalid value."); IsPresent exists
    // for that. https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
    cases.push(
        case("choice-missing-variable", choice, json!({"s": "SPPD-12"}))
            .expect(failed("States.Runtime", None))
            .deviation(
                "a Choice rule on a missing Variable evaluates to false instead of failing \
                 with States.Runtime",
                succeeded(json!({"r": "travel"})),
            ),
    );
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_feature_gives_the_same_result_in_moto_and_locally() {
    differential(feature_cases(), &[]).await;
}

// ---------------------------------------------------------------------------------------
// The real workflow files

fn workflow(name: &str) -> String {
    let path = repo().join("workflows").join(format!("{name}.asl.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn real(name: &str, file: &str, input: Value) -> Case {
    Case {
        definition: workflow(file),
        ..case(name, json!({}), input)
    }
}

fn chain(n: usize) -> Value {
    json!({
        "request": {"kind": "sppd", "id": "SPPD-7", "amount": 1250000},
        "chain": (1..=n).map(|i| json!({"step": i, "assignee": format!("E{i}"),
            "action": if i == n {"sign"} else {"paraf"}})).collect::<Vec<_>>(),
        "requester": "R1"
    })
}

fn approve() -> Step {
    answer(json!({"decision": "approve"}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_workflow_ends_the_same_in_moto_and_locally() {
    let signature = json!({"document": "SPPD-7.pdf", "sha256": "9f2c"});
    let request = chain(3)["request"].clone();
    let cases = vec![
        real("approval-all", "approval", chain(3))
            .queue(&[ack()])
            .steps(vec![
                approve().to("assignee", json!("E1")).then_lambda(&[ack()]),
                approve().to("assignee", json!("E2")).then_lambda(&[ack()]),
                approve()
                    .to("assignee", json!("E3"))
                    .then_lambda(std::slice::from_ref(&signature)),
            ])
            .expect(succeeded(json!({"status": "approved", "request": request,
                                      "signature": signature}))),
        real("approval-rejected", "approval", chain(3))
            .queue(&[ack()])
            .steps(vec![
                approve().then_lambda(&[ack()]),
                answer(json!({"decision": "reject", "reason": "anggaran"})).to("step", json!(2)),
            ])
            .expect(succeeded(json!({"status": "rejected", "request": request, "step": 2,
                "by": "E2", "decision": {"decision": "reject", "reason": "anggaran"}}))),
        real("approval-returned", "approval", chain(2))
            .queue(&[ack()])
            .steps(vec![
                answer(json!({"decision": "return", "note": "lampirkan SPT"}))
                    .to("assignee", json!("E1"))
                    .then_lambda(&[ack()]),
                answer(json!({"attachment": "spt.pdf", "amount": 1300000}))
                    .to("kind", json!("resubmit"))
                    .then_lambda(&[ack()]),
                approve().to("assignee", json!("E1")).then_lambda(&[ack()]),
                approve()
                    .to("assignee", json!("E2"))
                    .then_lambda(std::slice::from_ref(&signature)),
            ])
            .expect(succeeded(json!({"status": "approved",
                "request": {"kind": "sppd", "id": "SPPD-7", "amount": 1300000, "attachment": "spt.pdf"},
                "signature": signature}))),
        real("approval-invalid", "approval", chain(1))
            .queue(&[ack()])
            .steps(vec![answer(json!({"decision": "maybe"}))])
            .expect(failed(
                "Paraf.InvalidDecision",
                Some("the answer to an approval step must be approve, reject or return"),
            )),
        real("approval-empty-chain", "approval", chain(0))
            .queue(std::slice::from_ref(&signature))
            .expect(succeeded(json!({"status": "approved", "request": request,
                                      "signature": signature}))),
    ];
    differential(cases, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disposition_workflow_ends_the_same_in_moto_and_locally() {
    let disposition = workflow("disposition");
    let extra = [("disposition", disposition.as_str())];
    let letter = json!({"agenda": "123/2026", "perihal": "Undangan rapat pleno"});
    let input = json!({"letter": letter, "holder": "ketua", "depth": 0});
    let cases = vec![
        real("disposition-complete", "disposition", input.clone())
            .queue(&[ack()])
            .steps(vec![answer(json!({"action": "complete", "report": "sudah dihadiri"}))])
            .expect(succeeded(json!({"status": "completed", "holder": "ketua", "depth": 0,
                "report": "sudah dihadiri", "children": []}))),
        real("disposition-invalid", "disposition", input.clone())
            .queue(&[ack()])
            .steps(vec![answer(json!({"action": "forward", "recipients": []}))])
            .expect(failed(
                "Paraf.InvalidDecision",
                Some("a disposition is answered with complete (and a report) or forward (to at least one recipient)"),
            )),
        // https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html:
        // `startExecution.sync:2` takes `StateMachineArn`/`Input` and returns the child's
        // DescribeExecution with `Output` as JSON.
        real("disposition-forward", "disposition", input)
            .queue(&[ack()])
            .steps(vec![
                answer(json!({"action": "forward", "recipients": ["sekretaris", "kabag"],
                              "instruction": "tindak lanjuti", "deadline": "2026-12-03"}))
                    .then_lambda(&[ack(), ack()]),
                answer(json!({"action": "complete", "report": "rapat disiapkan"}))
                    .to("holder", json!("sekretaris")),
                answer(json!({"action": "complete", "report": "anggaran siap"}))
                    .to("holder", json!("kabag"))
                    .then_lambda(&[ack()]),
                answer(json!({"report": "semua selesai"})).to("kind", json!("disposition_report")),
            ])
            .expect(succeeded(json!({"status": "completed", "holder": "ketua", "depth": 0,
                "report": "semua selesai", "children": [
                    {"status": "completed", "holder": "sekretaris", "report": "rapat disiapkan", "children": []},
                    {"status": "completed", "holder": "kabag", "report": "anggaran siap", "children": []}]})))
            .deviation(
                "`arn:aws:states:::states:startExecution.sync:2` fails with States.Runtime \
                 (cause `'StateMachineArn'`): moto passes the documented parameter names \
                 to its own client unchanged",
                failed("States.Runtime", None),
            ),
    ];
    differential(cases, &extra).await;
}
