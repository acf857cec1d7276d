//! `LocalWorkflows`: the durable interpreter behind the `Workflows` port.
//!
//! Every execution is one item `EXEC#<id>`/`META` holding its current state, the state's
//! raw input, what it waits for (a timer, a task token, child executions) and a
//! `version`; every change is one conditional transaction on that version together with
//! its history events (`EVT#<seq>`), so two workers never advance an execution twice.
//! Executions that have something to do are in the sparse index `gsi1` under `WF#DUE`,
//! sorted by the time they become due; a worker claims a task with a lease before
//! calling a handler, so after a crash the task runs again, with the same idempotency
//! key, once the lease has expired. `Map` iterations and `Parallel` branches are child
//! executions in the same table that wake their parent when they end.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use paraf_core::{
    Clock, Condition, ExecutionDescription, ExecutionStatus, HistoryEvent, Index, Item, Key, Query,
    SortKey, Table, TableError, TxOp, Update, Workflows, WorkflowsError,
};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest as _;
use time::OffsetDateTime;

use super::errors::{self, StatesError};
use super::model::{Kind, Resource, Seconds, State, StateMachine, WaitFor};
use super::{load_definition, AslError};

/// What a handler learns about the task it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContext {
    pub execution_id: String,
    pub state_name: String,
    pub attempt: u32,
    /// Same for every run of one attempt of one state visit, also across a crash: a
    /// handler uses it to perform its side effect once.
    pub idempotency_key: String,
    pub task_token: Option<String>,
}

/// A task failure as Lambda reports it (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl TaskError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// The code behind a Lambda function; `functions/<name>` wraps the same function.
#[async_trait]
pub trait TaskHandler: Send + Sync {
    async fn invoke(&self, payload: Value, ctx: TaskContext) -> Result<Value, TaskError>;
}

/// Handlers by function name (`notify`) or by the full name/ARN a definition uses.
pub type Handlers = HashMap<String, Arc<dyn TaskHandler>>;

struct FnHandler<F>(F);

#[async_trait]
impl<F, Fut> TaskHandler for FnHandler<F>
where
    F: Fn(Value, TaskContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskError>> + Send,
{
    async fn invoke(&self, payload: Value, ctx: TaskContext) -> Result<Value, TaskError> {
        (self.0)(payload, ctx).await
    }
}

/// Wraps an async closure as a handler.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(Value, TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

#[derive(Debug, Clone)]
pub struct Options {
    /// How long a claimed task is protected from other workers; after a crash it runs
    /// again once this has passed.
    pub lease: time::Duration,
    /// Seed for `States.MathRandom`/`States.UUID`/retry jitter (tests); tokens never use it.
    pub seed: Option<u64>,
    /// How often `spawn_worker` looks for due timers when nothing wakes it.
    pub poll: std::time::Duration,
    /// Account/region part of the ARNs handed out.
    pub arn_prefix: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lease: time::Duration::seconds(60),
            seed: None,
            poll: std::time::Duration::from_millis(250),
            arn_prefix: "arn:aws:states:local:000000000000".into(),
        }
    }
}

struct Machine {
    name: String,
    def: StateMachine,
}

struct Inner {
    table: Arc<dyn Table>,
    handlers: Handlers,
    clock: Arc<dyn Clock>,
    machines: RwLock<HashMap<String, Arc<Machine>>>,
    rng: Mutex<rand::rngs::StdRng>,
    opts: Options,
    worker_id: String,
    wake: tokio::sync::Notify,
}

/// The local `Workflows`: cheap to clone, all clones share one store and registry.
#[derive(Clone)]
pub struct LocalWorkflows {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Enter,
    Retry,
    Wait,
    Callback,
    Sync,
    Children,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum ParentKind {
    Branch,
    Sync,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ParentRef {
    id: String,
    kind: ParentKind,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    id: String,
    version: i64,
    status: ExecutionStatus,
    sm: String,
    name: String,
    input: Value,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    started_ms: i64,
    stopped_ms: Option<i64>,
    /// `$$.Execution` (for Map/Parallel children: the top execution's).
    ctx_execution: Value,
    /// Path from the top definition to the branch this execution runs.
    branch: Vec<(String, usize)>,
    parent: Option<ParentRef>,
    exec_deadline_ms: Option<i64>,
    /// Map/Parallel child not started yet (MaxConcurrency).
    queued: bool,
    state: String,
    state_input: Value,
    entered_ms: i64,
    entry_seq: u64,
    attempt: u32,
    retry_counts: Vec<u32>,
    phase: Phase,
    wake_ms: Option<i64>,
    deadline_ms: Option<i64>,
    hb_deadline_ms: Option<i64>,
    hb_secs: Option<i64>,
    lease_until_ms: Option<i64>,
    lease_owner: Option<String>,
    /// The live task token: kept so a task re-run after a crash sends the same token.
    token: Option<String>,
    token_hash: Option<String>,
    child: Option<String>,
    children: Option<u64>,
    max_concurrency: Option<u32>,
    poked: bool,
    evt_seq: u64,
}

const DUE: &str = "WF#DUE";

fn exec_key(id: &str) -> Key {
    Key::new(format!("EXEC#{id}"), "META")
}
fn token_key(hash: &str) -> Key {
    Key::new(format!("WFTOKEN#{hash}"), "TOKEN")
}
fn hash_token(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}
fn unavailable(e: TableError) -> WorkflowsError {
    WorkflowsError::Unavailable(e.to_string())
}
fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}
fn from_ms(m: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
fn iso(m: i64) -> String {
    let t = from_ms(m);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// One atomic change: the new META, its events and other writes.
struct Tx {
    events: Vec<(String, Value)>,
    ops: Vec<TxOp>,
    /// Side work done after the commit (aborting children).
    abort_children: Vec<String>,
}

impl Tx {
    fn new() -> Self {
        Tx {
            events: Vec::new(),
            ops: Vec::new(),
            abort_children: Vec::new(),
        }
    }
    fn event(&mut self, kind: &str, details: Value) {
        self.events.push((kind.to_string(), details));
    }
}

enum Outcome {
    /// Leave by `Next` (or end the execution on `End`).
    Next(Value),
    Goto(String, Value),
    /// A catchable error: Retry, then Catch, then the execution fails.
    Error(StatesError),
    /// The execution fails whatever Catch says.
    FailExec(StatesError),
    Succeed(Value),
    /// Keep waiting; the phase fields say for what.
    Sleep,
}

impl LocalWorkflows {
    pub fn new(table: Arc<dyn Table>, handlers: Handlers, clock: Arc<dyn Clock>) -> Self {
        Self::with_options(table, handlers, clock, Options::default())
    }

    pub fn with_options(
        table: Arc<dyn Table>,
        handlers: Handlers,
        clock: Arc<dyn Clock>,
        opts: Options,
    ) -> Self {
        let rng = match opts.seed {
            Some(s) => rand::rngs::StdRng::seed_from_u64(s),
            None => rand::rngs::StdRng::from_entropy(),
        };
        let worker_id = hex::encode(rand::thread_rng().gen::<[u8; 8]>());
        LocalWorkflows {
            inner: Arc::new(Inner {
                table,
                handlers,
                clock,
                machines: RwLock::new(HashMap::new()),
                rng: Mutex::new(rng),
                opts,
                worker_id,
                wake: tokio::sync::Notify::new(),
            }),
        }
    }

    /// The ARN a definition names this state machine by (`${…StateMachineArn}`).
    pub fn state_machine_arn(&self, name: &str) -> String {
        format!("{}:stateMachine:{name}", self.inner.opts.arn_prefix)
    }

    /// Registers a definition under `name`, resolving `${…}` placeholders (an unknown
    /// placeholder is an error).
    pub fn register(
        &self,
        name: &str,
        definition: &str,
        substitutions: &BTreeMap<String, String>,
    ) -> Result<(), AslError> {
        let def = load_definition(definition, substitutions, true)?;
        let m = Machine {
            name: name.to_string(),
            def,
        };
        self.inner
            .machines
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), Arc::new(m));
        Ok(())
    }

    /// Registers every `*.asl.json` of `dir` under its stem (`approval.asl.json` →
    /// `approval`); returns the names.
    pub fn register_dir(
        &self,
        dir: &Path,
        substitutions: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, AslError> {
        let io = |e: std::io::Error| AslError::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        };
        let mut names = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let file = e.file_name().to_string_lossy().to_string();
            if let Some(stem) = file.strip_suffix(".asl.json") {
                let text = std::fs::read_to_string(e.path()).map_err(|err| AslError::Io {
                    path: e.path().display().to_string(),
                    message: err.to_string(),
                })?;
                self.register(stem, &text, substitutions)?;
                names.push(stem.to_string());
            }
        }
        Ok(names)
    }

    fn machine(&self, name_or_arn: &str) -> Option<Arc<Machine>> {
        let name = name_or_arn
            .rsplit_once(":stateMachine:")
            .map(|(_, n)| n)
            .unwrap_or(name_or_arn);
        self.inner
            .machines
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    fn now_ms(&self) -> i64 {
        ms(self.inner.clock.now())
    }

    /// Runs every execution that has something to do now, until none has; returns the
    /// number of steps taken. Timers in the future are left for a later call.
    pub async fn run_until_idle(&self) -> Result<usize, WorkflowsError> {
        let mut steps = 0usize;
        // One broken execution must not hold up the others: its error is logged and it
        // is left alone for the rest of this round.
        let mut failed: std::collections::HashSet<String> = std::collections::HashSet::new();
        loop {
            let now = self.now_ms();
            let page = self
                .inner
                .table
                .query(
                    Query::partition(Index::Gsi1, DUE)
                        .sk(SortKey::Le(format!("{now:016}#~")))
                        .limit(100),
                )
                .await
                .map_err(unavailable)?;
            let ids: Vec<String> = page
                .items
                .iter()
                .filter_map(|i| i.get("id").and_then(Value::as_str))
                .filter(|id| !failed.contains(*id))
                .map(str::to_string)
                .collect();
            if ids.is_empty() {
                return Ok(steps);
            }
            for id in ids {
                if let Err(e) = self.step(&id).await {
                    tracing::warn!(execution = %id, error = %e, "workflow step failed");
                    failed.insert(id);
                    continue;
                }
                steps += 1;
                // A bug that keeps an execution due would otherwise spin for ever.
                if steps > 1_000_000 {
                    return Err(WorkflowsError::Unavailable(
                        "workflow worker does not converge".into(),
                    ));
                }
            }
        }
    }

    /// When the next timer is due (for callers that want to sleep until then).
    pub async fn next_due(&self) -> Result<Option<OffsetDateTime>, WorkflowsError> {
        let page = self
            .inner
            .table
            .query(Query::partition(Index::Gsi1, DUE).limit(1))
            .await
            .map_err(unavailable)?;
        Ok(page
            .items
            .first()
            .and_then(|i| i.get("gsi1sk"))
            .and_then(Value::as_str)
            .and_then(|s| s.split('#').next())
            .and_then(|s| s.parse::<i64>().ok())
            .map(from_ms))
    }

    /// A background worker: runs due work whenever woken (start, task answers) or every
    /// `Options::poll`.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.run_until_idle().await {
                    tracing::warn!(error = %e, "workflow worker step failed");
                }
                let _ = tokio::time::timeout(me.inner.opts.poll, me.inner.wake.notified()).await;
            }
        })
    }

    async fn load(&self, id: &str) -> Result<Option<Meta>, WorkflowsError> {
        let item = self
            .inner
            .table
            .get(&exec_key(id))
            .await
            .map_err(unavailable)?;
        match item {
            None => Ok(None),
            Some(i) => serde_json::from_value(Value::Object(i))
                .map(Some)
                .map_err(|e| WorkflowsError::Unavailable(format!("corrupt execution {id}: {e}"))),
        }
    }

    fn due_ms(&self, m: &Meta, now: i64) -> Option<i64> {
        if m.status != ExecutionStatus::Running || m.queued {
            return None;
        }
        let leased = m.lease_until_ms.filter(|l| *l > now);
        let mut due = match m.phase {
            Phase::Enter => Some(leased.unwrap_or(now)),
            Phase::Retry | Phase::Wait => m.wake_ms,
            Phase::Callback => match (m.deadline_ms, m.hb_deadline_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            Phase::Sync => m.deadline_ms,
            Phase::Children => None,
        };
        if m.poked && !(m.phase == Phase::Enter && leased.is_some()) {
            due = Some(now);
        }
        match (due, m.exec_deadline_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn meta_item(&self, m: &Meta) -> Result<Item, WorkflowsError> {
        let Value::Object(mut item) =
            serde_json::to_value(m).map_err(|e| WorkflowsError::Unavailable(e.to_string()))?
        else {
            return Err(WorkflowsError::Unavailable(
                "execution is not an object".into(),
            ));
        };
        let key = exec_key(&m.id);
        item.insert("pk".into(), Value::String(key.pk));
        item.insert("sk".into(), Value::String(key.sk));
        if let Some(d) = self.due_ms(m, self.now_ms()) {
            item.insert("gsi1pk".into(), Value::String(DUE.into()));
            item.insert(
                "gsi1sk".into(),
                Value::String(format!("{:016}#{}", d.max(0), m.id)),
            );
        }
        Ok(item)
    }

    fn event_ops(&self, m: &mut Meta, tx: &Tx) -> Vec<TxOp> {
        let now = iso(self.now_ms());
        tx.events
            .iter()
            .map(|(kind, details)| {
                m.evt_seq += 1;
                let mut item = Item::new();
                item.insert("pk".into(), json!(format!("EXEC#{}", m.id)));
                item.insert("sk".into(), json!(format!("EVT#{:010}", m.evt_seq)));
                item.insert("seq".into(), json!(m.evt_seq));
                item.insert("kind".into(), json!(kind));
                item.insert("ts".into(), json!(now));
                item.insert("details".into(), details.clone());
                TxOp::Put {
                    item,
                    condition: Some(Condition::absent()),
                }
            })
            .collect()
    }

    /// Writes `m` (read at `m.version`) with its events; `false` when someone else
    /// changed the execution meanwhile.
    async fn commit(&self, mut m: Meta, tx: Tx) -> Result<bool, WorkflowsError> {
        let old = m.version;
        m.version = old + 1;
        let mut ops = self.event_ops(&mut m, &tx);
        ops.insert(
            0,
            TxOp::Put {
                item: self.meta_item(&m)?,
                condition: Some(Condition::version(old)),
            },
        );
        ops.extend(tx.ops);
        match self.inner.table.transact_write(ops).await {
            Ok(()) => {}
            Err(TableError::ConditionFailed { .. }) | Err(TableError::Conflict) => {
                return Ok(false)
            }
            Err(e) => return Err(unavailable(e)),
        }
        for c in tx.abort_children {
            self.abort_tree(&c, "States.BranchFailed", "a sibling or the parent ended")
                .await?;
        }
        self.inner.wake.notify_one();
        Ok(true)
    }

    fn poke_op(&self, id: &str) -> TxOp {
        let now = self.now_ms();
        TxOp::Update {
            key: exec_key(id),
            update: Update::new()
                .add("version", 1)
                .set("poked", true)
                .set("gsi1pk", DUE)
                .set("gsi1sk", format!("{now:016}#{id}")),
            condition: Some(Condition::present()),
        }
    }

    fn ctx(&self, m: &Meta, token: Option<&str>) -> Value {
        let mut c = json!({
            "Execution": m.ctx_execution,
            "State": {"Name": m.state, "EnteredTime": iso(m.entered_ms), "RetryCount": m.attempt},
            "StateMachine": {"Id": self.state_machine_arn(&m.sm), "Name": m.sm},
        });
        if let Some(t) = token {
            c["Task"] = json!({"Token": t});
        }
        c
    }

    fn definition<'a>(
        machine: &'a Machine,
        branch: &[(String, usize)],
    ) -> Option<&'a StateMachine> {
        let mut cur = &machine.def;
        for (state, i) in branch {
            cur = match &cur.states.get(state)?.kind {
                Kind::Parallel { branches, .. } => branches.get(*i)?,
                Kind::Map { processor, .. } => processor,
                _ => return None,
            };
        }
        Some(cur)
    }

    fn new_meta(
        &self,
        machine: &Machine,
        def: &StateMachine,
        id: String,
        name: &str,
        input: Value,
    ) -> Meta {
        let now = self.now_ms();
        Meta {
            id: id.clone(),
            version: 0,
            status: ExecutionStatus::Running,
            sm: machine.name.clone(),
            name: name.to_string(),
            input: input.clone(),
            output: None,
            error: None,
            cause: None,
            started_ms: now,
            stopped_ms: None,
            ctx_execution: json!({"Id": id, "Name": name, "Input": input, "StartTime": iso(now)}),
            branch: Vec::new(),
            parent: None,
            exec_deadline_ms: def.timeout_seconds.map(|s| now + (s as i64) * 1000),
            queued: false,
            state: def.start_at.clone(),
            state_input: input,
            entered_ms: now,
            entry_seq: 1,
            attempt: 0,
            retry_counts: Vec::new(),
            phase: Phase::Enter,
            wake_ms: None,
            deadline_ms: None,
            hb_deadline_ms: None,
            hb_secs: None,
            lease_until_ms: None,
            lease_owner: None,
            token: None,
            token_hash: None,
            child: None,
            children: None,
            max_concurrency: None,
            poked: false,
            evt_seq: 0,
        }
    }

    /// Inserts a new execution with its first events; `Ok(false)` if the id exists.
    async fn insert(&self, m: Meta, def: &StateMachine) -> Result<bool, WorkflowsError> {
        let mut m = m;
        let mut tx = Tx::new();
        tx.event(
            "ExecutionStarted",
            json!({"input": m.input, "stateMachine": m.sm}),
        );
        if let Some(st) = def.states.get(&m.state) {
            tx.event(
                &format!("{}StateEntered", st.kind.type_name()),
                json!({"name": m.state, "input": m.state_input}),
            );
        }
        let mut ops = self.event_ops(&mut m, &tx);
        ops.insert(
            0,
            TxOp::Put {
                item: self.meta_item(&m)?,
                condition: Some(Condition::absent()),
            },
        );
        match self.inner.table.transact_write(ops).await {
            Ok(()) => {
                self.inner.wake.notify_one();
                Ok(true)
            }
            Err(TableError::ConditionFailed { .. }) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn start(
        &self,
        sm: &str,
        name: &str,
        input: Value,
        parent: Option<ParentRef>,
    ) -> Result<String, WorkflowsError> {
        let machine = self
            .machine(sm)
            .ok_or_else(|| WorkflowsError::StateMachineDoesNotExist(sm.to_string()))?;
        if name.is_empty()
            || name.len() > 80
            || name
                .chars()
                .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
        {
            return Err(WorkflowsError::Unavailable(format!(
                "InvalidName: `{name}`"
            )));
        }
        let id = format!(
            "{}:execution:{}:{name}",
            self.inner.opts.arn_prefix, machine.name
        );
        let mut m = self.new_meta(&machine, &machine.def, id.clone(), name, input.clone());
        m.parent = parent;
        if self.insert(m, &machine.def).await? {
            return Ok(id);
        }
        // The name is the idempotency key: same input, same execution.
        match self.load(&id).await? {
            Some(existing) if existing.input == input => Ok(id),
            _ => Err(WorkflowsError::ExecutionAlreadyExists(name.to_string())),
        }
    }

    /// Loads and advances one execution as far as one step goes.
    async fn step(&self, id: &str) -> Result<(), WorkflowsError> {
        let Some(mut m) = self.load(id).await? else {
            return Ok(());
        };
        let now = self.now_ms();
        if m.status != ExecutionStatus::Running || m.queued {
            // Left in the due index by a poke after it ended: just drop it from there.
            if m.status != ExecutionStatus::Running {
                let _ = self.commit(m, Tx::new()).await?;
            }
            return Ok(());
        }
        let Some(machine) = self.machine(&m.sm) else {
            let mut tx = Tx::new();
            let e = StatesError::new(
                errors::RUNTIME,
                format!("state machine `{}` is not registered", m.sm),
            );
            self.end(&mut m, &mut tx, Err((ExecutionStatus::Failed, e)));
            self.commit(m, tx).await?;
            return Ok(());
        };
        if m.exec_deadline_ms.is_some_and(|d| d <= now) {
            let mut tx = Tx::new();
            self.end(
                &mut m,
                &mut tx,
                Err((
                    ExecutionStatus::TimedOut,
                    StatesError::new(errors::TIMEOUT, "the execution timed out"),
                )),
            );
            self.commit(m, tx).await?;
            return Ok(());
        }
        let Some(def) = Self::definition(&machine, &m.branch) else {
            return Err(WorkflowsError::Unavailable(format!(
                "execution {id} names a missing branch"
            )));
        };
        let Some(st) = def.states.get(&m.state).cloned() else {
            return Err(WorkflowsError::Unavailable(format!(
                "execution {id} is in unknown state {}",
                m.state
            )));
        };
        let mut tx = Tx::new();
        m.poked = false;
        let outcome = match m.phase {
            Phase::Retry | Phase::Wait if m.wake_ms.is_some_and(|w| w > now) => Outcome::Sleep,
            Phase::Retry => {
                m.phase = Phase::Enter;
                m.wake_ms = None;
                return self.enter(m, &machine, &st).await;
            }
            Phase::Wait => match self.effective_input(&st, &m.state_input) {
                Ok(eff) => match output_path(&st, eff) {
                    Ok(o) => Outcome::Next(o),
                    Err(e) => Outcome::FailExec(e),
                },
                Err(e) => Outcome::FailExec(e),
            },
            Phase::Enter => {
                if m.lease_until_ms.is_some_and(|l| l > now)
                    && m.lease_owner.as_deref() != Some(&self.inner.worker_id)
                {
                    return Ok(());
                }
                return self.enter(m, &machine, &st).await;
            }
            Phase::Callback => self.check_callback(&mut m, &st, &mut tx, now).await?,
            Phase::Sync => self.check_sync(&mut m, &st, &mut tx, now).await?,
            Phase::Children => self.check_children(&mut m, &st, &mut tx).await?,
        };
        self.apply(&mut m, &machine, def, &st, outcome, &mut tx);
        self.commit(m, tx).await?;
        Ok(())
    }

    fn effective_input(&self, st: &State, raw: &Value) -> Result<Value, StatesError> {
        match &st.input_path {
            None => Ok(raw.clone()),
            Some(None) => Ok(json!({})),
            Some(Some(p)) => p.select(raw).ok_or_else(|| {
                StatesError::new(
                    errors::RUNTIME,
                    format!("Invalid path '{}' : No results for path", p.source),
                )
            }),
        }
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, rand::rngs::StdRng> {
        self.inner.rng.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Executes a state that has just been entered (or whose retry is due).
    async fn enter(
        &self,
        mut m: Meta,
        machine: &Machine,
        st: &State,
    ) -> Result<(), WorkflowsError> {
        let Some(def) = Self::definition(machine, &m.branch) else {
            return Ok(());
        };
        let now = self.now_ms();
        let mut tx = Tx::new();
        let eff = match self.effective_input(st, &m.state_input) {
            Ok(e) => e,
            Err(e) => {
                self.apply(&mut m, machine, def, st, Outcome::FailExec(e), &mut tx);
                self.commit(m, tx).await?;
                return Ok(());
            }
        };
        let ctx = self.ctx(&m, None);
        let outcome = match &st.kind {
            Kind::Pass {
                result,
                parameters,
                result_path,
            } => {
                let r = match (result, parameters) {
                    (Some(r), _) => Ok(r.clone()),
                    (None, Some(p)) => p.eval(&eff, &ctx, &mut *self.rng()),
                    (None, None) => Ok(eff.clone()),
                };
                match r
                    .and_then(|r| result_path.apply(&m.state_input, r))
                    .and_then(|o| output_path(st, o))
                {
                    Ok(o) => Outcome::Next(o),
                    Err(e) => Outcome::FailExec(e),
                }
            }
            Kind::Choice { choices, default } => {
                let mut chosen = None;
                for (rule, next) in choices {
                    match rule.eval(&eff, &ctx) {
                        Ok(true) => {
                            chosen = Some(Ok(next.clone()));
                            break;
                        }
                        Ok(false) => {}
                        Err(e) => {
                            chosen = Some(Err(e));
                            break;
                        }
                    }
                }
                match chosen.or_else(|| default.clone().map(Ok)) {
                    Some(Ok(next)) => match output_path(st, eff) {
                        Ok(o) => Outcome::Goto(next, o),
                        Err(e) => Outcome::FailExec(e),
                    },
                    Some(Err(e)) => Outcome::FailExec(e),
                    None => Outcome::FailExec(StatesError::new(
                        errors::NO_CHOICE_MATCHED,
                        format!("No Matches! (state `{}`)", st.name),
                    )),
                }
            }
            Kind::Wait(w) => {
                let wake = match w {
                    WaitFor::Seconds(s) => Ok(now + (*s as i64) * 1000),
                    WaitFor::SecondsPath(p) => {
                        match p.select(&eff).as_ref().and_then(Value::as_f64) {
                            Some(s) if s >= 0.0 => Ok(now + (s * 1000.0) as i64),
                            _ => Err(StatesError::new(
                                errors::RUNTIME,
                                format!("SecondsPath '{}' is not a non-negative number", p.source),
                            )),
                        }
                    }
                    WaitFor::Timestamp(t) => parse_ts(t),
                    WaitFor::TimestampPath(p) => {
                        match p.select(&eff).as_ref().and_then(Value::as_str) {
                            Some(t) => parse_ts(t),
                            None => Err(StatesError::new(
                                errors::RUNTIME,
                                format!("TimestampPath '{}' is not a timestamp", p.source),
                            )),
                        }
                    }
                };
                match wake {
                    Err(e) => Outcome::FailExec(e),
                    Ok(w) if w <= now => match output_path(st, eff) {
                        Ok(o) => Outcome::Next(o),
                        Err(e) => Outcome::FailExec(e),
                    },
                    Ok(w) => {
                        m.phase = Phase::Wait;
                        m.wake_ms = Some(w);
                        Outcome::Sleep
                    }
                }
            }
            Kind::Succeed => match output_path(st, eff) {
                Ok(o) => Outcome::Succeed(o),
                Err(e) => Outcome::FailExec(e),
            },
            Kind::Fail {
                error,
                cause,
                error_path,
                cause_path,
            } => {
                let pick =
                    |fixed: &Option<String>, path: &Option<super::path::JsonPath>| -> String {
                        fixed
                            .clone()
                            .or_else(|| {
                                path.as_ref()
                                    .and_then(|p| {
                                        p.select(if p.context { &ctx } else { &m.state_input })
                                    })
                                    .map(|v| match v {
                                        Value::String(s) => s,
                                        other => other.to_string(),
                                    })
                            })
                            .unwrap_or_default()
                    };
                Outcome::FailExec(StatesError::new(
                    pick(error, error_path),
                    pick(cause, cause_path),
                ))
            }
            Kind::Parallel { branches, common } => {
                let input = match &common.parameters {
                    Some(p) => p.eval(&eff, &ctx, &mut *self.rng()),
                    None => Ok(eff.clone()),
                };
                match input {
                    Err(e) => Outcome::Error(e),
                    Ok(input) => {
                        let inputs = vec![input; branches.len()];
                        tx.event("ParallelStateStarted", json!({}));
                        self.spawn_children(&mut m, machine, st, inputs, u32::MAX)
                            .await?
                    }
                }
            }
            Kind::Map {
                items_path,
                item_selector,
                max_concurrency,
                ..
            } => {
                let items = match items_path {
                    None => Some(eff.clone()),
                    Some(p) => p.select(&eff),
                };
                match items {
                    Some(Value::Array(items)) => {
                        let mut inputs = Vec::with_capacity(items.len());
                        let mut err = None;
                        for (i, item) in items.iter().enumerate() {
                            let mut c = ctx.clone();
                            c["Map"] = json!({"Item": {"Index": i, "Value": item}});
                            match item_selector {
                                Some(sel) => match sel.eval(&eff, &c, &mut *self.rng()) {
                                    Ok(v) => inputs.push(v),
                                    Err(e) => {
                                        err = Some(e);
                                        break;
                                    }
                                },
                                None => inputs.push(item.clone()),
                            }
                        }
                        match err {
                            Some(e) => Outcome::Error(e),
                            None => {
                                tx.event("MapStateStarted", json!({"length": inputs.len()}));
                                let max = if *max_concurrency == 0 {
                                    u32::MAX
                                } else {
                                    *max_concurrency
                                };
                                self.spawn_children(&mut m, machine, st, inputs, max)
                                    .await?
                            }
                        }
                    }
                    _ => Outcome::FailExec(StatesError::new(
                        errors::RUNTIME,
                        format!("state `{}`: ItemsPath does not select an array", st.name),
                    )),
                }
            }
            Kind::Task(_) => return self.run_task(m, machine, st, eff).await,
        };
        self.apply(&mut m, machine, def, st, outcome, &mut tx);
        self.commit(m, tx).await?;
        Ok(())
    }

    /// Creates the child executions of a Map or Parallel (idempotent: ids are derived
    /// from the parent, so a re-run after a crash finds them).
    async fn spawn_children(
        &self,
        m: &mut Meta,
        machine: &Machine,
        st: &State,
        inputs: Vec<Value>,
        max: u32,
    ) -> Result<Outcome, WorkflowsError> {
        let n = inputs.len();
        if n == 0 {
            return Ok(self.branching_result(m, st, Vec::new()));
        }
        let is_map = matches!(st.kind, Kind::Map { .. });
        for (i, input) in inputs.into_iter().enumerate() {
            let mut branch = m.branch.clone();
            branch.push((st.name.clone(), if is_map { 0 } else { i }));
            let Some(def) = Self::definition(machine, &branch) else {
                continue;
            };
            let id = child_id(m, i);
            let mut c = self.new_meta(machine, def, id.clone(), &format!("{}-{i}", m.name), input);
            c.ctx_execution = m.ctx_execution.clone();
            c.branch = branch;
            c.exec_deadline_ms = None;
            c.parent = Some(ParentRef {
                id: m.id.clone(),
                kind: ParentKind::Branch,
            });
            c.queued = (i as u64) >= u64::from(max);
            self.insert(c, def).await?;
        }
        m.phase = Phase::Children;
        m.children = Some(n as u64);
        m.max_concurrency = Some(max);
        Ok(Outcome::Sleep)
    }

    fn branching_result(&self, m: &Meta, st: &State, results: Vec<Value>) -> Outcome {
        let (Kind::Parallel { common, .. } | Kind::Map { common, .. }) = &st.kind else {
            return Outcome::FailExec(StatesError::new(errors::RUNTIME, "not a Map or Parallel"));
        };
        let raw = Value::Array(results);
        let ctx = self.ctx(m, None);
        let r = match &common.result_selector {
            Some(sel) => sel.eval(&raw, &ctx, &mut *self.rng()),
            None => Ok(raw),
        };
        match r
            .and_then(|r| common.result_path.apply(&m.state_input, r))
            .and_then(|o| output_path(st, o))
        {
            Ok(o) => Outcome::Next(o),
            Err(e) => Outcome::Error(e),
        }
    }

    async fn check_children(
        &self,
        m: &mut Meta,
        st: &State,
        tx: &mut Tx,
    ) -> Result<Outcome, WorkflowsError> {
        let n = m.children.unwrap_or(0);
        let max = m.max_concurrency.unwrap_or(u32::MAX);
        let mut results = Vec::new();
        let mut running = 0u64;
        let mut queued = Vec::new();
        let mut failed: Option<StatesError> = None;
        let mut live = Vec::new();
        for i in 0..n as usize {
            let id = child_id(m, i);
            let Some(c) = self.load(&id).await? else {
                failed = Some(StatesError::new(
                    errors::RUNTIME,
                    format!("child execution {id} is missing"),
                ));
                break;
            };
            match c.status {
                ExecutionStatus::Succeeded => results.push(c.output.unwrap_or(Value::Null)),
                ExecutionStatus::Running if c.queued => {
                    queued.push(id);
                    live.push(c.id);
                }
                ExecutionStatus::Running => {
                    running += 1;
                    live.push(c.id);
                }
                _ => {
                    if failed.is_none() {
                        failed = Some(StatesError::new(
                            c.error.unwrap_or_else(|| errors::BRANCH_FAILED.into()),
                            c.cause.unwrap_or_default(),
                        ));
                    }
                }
            }
        }
        let kind = st.kind.type_name();
        if let Some(e) = failed {
            tx.abort_children = live;
            tx.event(&format!("{kind}StateFailed"), e.to_value());
            return Ok(Outcome::Error(e));
        }
        if results.len() as u64 == n {
            tx.event(&format!("{kind}StateSucceeded"), json!({}));
            return Ok(self.branching_result(m, st, results));
        }
        for id in queued {
            if running >= u64::from(max) {
                break;
            }
            running += 1;
            let now = self.now_ms();
            self.inner
                .table
                .update(
                    &exec_key(&id),
                    Update::new()
                        .set("queued", false)
                        .add("version", 1)
                        .set("gsi1pk", DUE)
                        .set("gsi1sk", format!("{now:016}#{id}")),
                    Some(Condition::present()),
                )
                .await
                .map_err(unavailable)?;
            tx.event("MapIterationStarted", json!({"execution": id}));
        }
        Ok(Outcome::Sleep)
    }

    async fn check_sync(
        &self,
        m: &mut Meta,
        st: &State,
        tx: &mut Tx,
        now: i64,
    ) -> Result<Outcome, WorkflowsError> {
        let Some(child_id) = m.child.clone() else {
            return Ok(Outcome::Error(StatesError::new(
                errors::RUNTIME,
                "no child execution",
            )));
        };
        let Some(c) = self.load(&child_id).await? else {
            return Ok(Outcome::Error(StatesError::new(
                errors::TASK_FAILED,
                format!("child execution {child_id} is missing"),
            )));
        };
        if c.status == ExecutionStatus::Running {
            if m.deadline_ms.is_some_and(|d| d <= now) {
                tx.abort_children.push(child_id);
                tx.event("TaskTimedOut", json!({"error": errors::TIMEOUT}));
                return Ok(Outcome::Error(StatesError::new(
                    errors::TIMEOUT,
                    "the child execution did not finish in time",
                )));
            }
            return Ok(Outcome::Sleep);
        }
        let status = serde_json::to_value(c.status).unwrap_or(Value::Null);
        let mut described = json!({
            "ExecutionArn": c.id, "Name": c.name, "Input": c.input,
            "StateMachineArn": self.state_machine_arn(&c.sm), "Status": status,
            "StartDate": iso(c.started_ms), "StopDate": c.stopped_ms.map(iso),
        });
        if c.status == ExecutionStatus::Succeeded {
            described["Output"] = c.output.unwrap_or(Value::Null);
            tx.event("TaskSucceeded", json!({"output": described}));
            return Ok(self.task_result(m, st, described));
        }
        described["Error"] = json!(c.error);
        described["Cause"] = json!(c.cause);
        tx.event(
            "TaskFailed",
            json!({"error": errors::TASK_FAILED, "cause": described.to_string()}),
        );
        Ok(Outcome::Error(StatesError::new(
            errors::TASK_FAILED,
            described.to_string(),
        )))
    }

    async fn check_callback(
        &self,
        m: &mut Meta,
        st: &State,
        tx: &mut Tx,
        now: i64,
    ) -> Result<Outcome, WorkflowsError> {
        let Some(hash) = m.token_hash.clone() else {
            return Ok(Outcome::Error(StatesError::new(
                errors::RUNTIME,
                "no task token",
            )));
        };
        let key = token_key(&hash);
        let tok = self
            .inner
            .table
            .get(&key)
            .await
            .map_err(unavailable)?
            .unwrap_or_default();
        let status = tok
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("WAITING");
        match status {
            "ANSWERED" => {
                let answer = tok.get("answer").cloned().unwrap_or(Value::Null);
                if let Some(out) = answer.get("output") {
                    tx.event("TaskSucceeded", json!({"output": out}));
                    return Ok(self.task_result(m, st, out.clone()));
                }
                let e = StatesError::new(
                    answer
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    answer
                        .get("cause")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                );
                tx.event("TaskFailed", e.to_value());
                Ok(Outcome::Error(e))
            }
            "TIMED_OUT" => {
                let name = tok
                    .get("timeout")
                    .and_then(Value::as_str)
                    .unwrap_or(errors::TIMEOUT)
                    .to_string();
                tx.event("TaskTimedOut", json!({"error": name}));
                Ok(Outcome::Error(StatesError::new(
                    name,
                    "the task token was not answered in time",
                )))
            }
            _ => {
                let timeout = if m.deadline_ms.is_some_and(|d| d <= now) {
                    Some(errors::TIMEOUT)
                } else if m.hb_deadline_ms.is_some_and(|d| d <= now) {
                    Some(errors::HEARTBEAT_TIMEOUT)
                } else {
                    None
                };
                let Some(name) = timeout else {
                    return Ok(Outcome::Sleep);
                };
                let r = self
                    .inner
                    .table
                    .update(
                        &key,
                        Update::new()
                            .set("status", "TIMED_OUT")
                            .set("timeout", name),
                        Some(Condition::equals("status", "WAITING")),
                    )
                    .await;
                match r {
                    Ok(_) => {
                        tx.event("TaskTimedOut", json!({"error": name}));
                        Ok(Outcome::Error(StatesError::new(
                            name,
                            "the task token was not answered in time",
                        )))
                    }
                    // Answered meanwhile: the answer wins, next step reads it.
                    Err(TableError::ConditionFailed { .. }) => {
                        m.poked = true;
                        Ok(Outcome::Sleep)
                    }
                    Err(e) => Err(unavailable(e)),
                }
            }
        }
    }

    fn task_result(&self, m: &Meta, st: &State, raw: Value) -> Outcome {
        let Kind::Task(t) = &st.kind else {
            return Outcome::FailExec(StatesError::new(errors::RUNTIME, "not a task"));
        };
        let ctx = self.ctx(m, None);
        let r = match &t.result_selector {
            Some(sel) => sel.eval(&raw, &ctx, &mut *self.rng()),
            None => Ok(raw),
        };
        match r
            .and_then(|r| t.result_path.apply(&m.state_input, r))
            .and_then(|o| output_path(st, o))
        {
            Ok(o) => Outcome::Next(o),
            Err(e) => Outcome::Error(e),
        }
    }

    fn seconds(s: &Option<Seconds>, eff: &Value) -> Result<Option<i64>, StatesError> {
        match s {
            None => Ok(None),
            Some(Seconds::Fixed(n)) => Ok(Some(*n as i64)),
            Some(Seconds::Path(p)) => match p.select(eff).as_ref().and_then(Value::as_u64) {
                Some(n) if n > 0 => Ok(Some(n as i64)),
                _ => Err(StatesError::new(
                    errors::RUNTIME,
                    format!("'{}' is not a positive integer", p.source),
                )),
            },
        }
    }

    /// Claims the task with a lease, runs it, and records the outcome.
    async fn run_task(
        &self,
        mut m: Meta,
        machine: &Machine,
        st: &State,
        eff: Value,
    ) -> Result<(), WorkflowsError> {
        let Kind::Task(task) = &st.kind else {
            return Ok(());
        };
        let now = self.now_ms();
        let mut tx = Tx::new();
        m.lease_until_ms = Some(now + self.inner.opts.lease.whole_milliseconds() as i64);
        m.lease_owner = Some(self.inner.worker_id.clone());
        if task.resource == Resource::LambdaCallback && m.token.is_none() {
            let token = hex::encode(rand::thread_rng().gen::<[u8; 32]>());
            let hash = hash_token(&token);
            let mut item = Item::new();
            let key = token_key(&hash);
            item.insert("pk".into(), json!(key.pk));
            item.insert("sk".into(), json!(key.sk));
            item.insert("exec".into(), json!(m.id));
            item.insert("status".into(), json!("WAITING"));
            tx.ops.push(TxOp::Put {
                item,
                condition: Some(Condition::absent()),
            });
            m.token = Some(token);
            m.token_hash = Some(hash);
        }
        let resource = match &task.resource {
            Resource::LambdaInvoke => super::model::LAMBDA_INVOKE.to_string(),
            Resource::LambdaCallback => super::model::LAMBDA_INVOKE_CALLBACK.to_string(),
            Resource::StartExecutionSync2 => super::model::START_EXECUTION_SYNC2.to_string(),
            Resource::LambdaArn(a) => a.clone(),
        };
        // Evaluated before the claim so that `TaskScheduled` carries the resolved
        // parameters (task token included), as in Step Functions' history.
        let ctx = self.ctx(&m, m.token.as_deref());
        let params = match &task.parameters {
            Some(p) => p.eval(&eff, &ctx, &mut *self.rng()),
            None => Ok(eff.clone()),
        };
        tx.event(
            "TaskScheduled",
            json!({"resource": resource, "attempt": m.attempt, "parameters": params.as_ref().ok()}),
        );
        let guard = (m.entry_seq, m.attempt);
        let claimed = m.clone();
        if !self.commit(m, tx).await? {
            return Ok(());
        }
        let mut m = claimed;
        m.version += 1;
        let exec_id = m
            .ctx_execution
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or(&m.id)
            .to_string();
        let idempotency_key = format!("{}#{}#{}#{}", m.id, st.name, m.entry_seq, m.attempt);
        let tctx = TaskContext {
            execution_id: exec_id,
            state_name: st.name.clone(),
            attempt: m.attempt,
            idempotency_key: idempotency_key.clone(),
            task_token: m.token.clone(),
        };
        let timeout = Self::seconds(&task.timeout, &eff);
        let heartbeat = Self::seconds(&task.heartbeat, &eff);
        // What to record once the effect is done.
        enum Done {
            Result(Value),
            Submitted {
                deadline: Option<i64>,
                hb: Option<i64>,
            },
            Child {
                id: String,
                deadline: Option<i64>,
            },
            Error(StatesError),
        }
        let done = match (params, timeout, heartbeat) {
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Done::Error(e),
            (Ok(params), Ok(timeout), Ok(hb)) => {
                match &task.resource {
                    Resource::LambdaInvoke | Resource::LambdaCallback | Resource::LambdaArn(_) => {
                        let (function, payload) = match &task.resource {
                            Resource::LambdaArn(a) => (a.clone(), params.clone()),
                            _ => (
                                params
                                    .get("FunctionName")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_string(),
                                params.get("Payload").cloned().unwrap_or(Value::Null),
                            ),
                        };
                        match self.handler(&function) {
                        None => Done::Error(StatesError::new(
                            errors::LAMBDA_RESOURCE_NOT_FOUND,
                            format!("no handler is registered for function `{function}` (state `{}`)", st.name),
                        )),
                        Some(h) => {
                            let call = h.invoke(payload, tctx);
                            let r = match (timeout, &task.resource) {
                                (Some(t), Resource::LambdaInvoke | Resource::LambdaArn(_)) => {
                                    match tokio::time::timeout(std::time::Duration::from_secs(t as u64), call).await {
                                        Ok(r) => r.map_err(|e| StatesError::new(e.error, e.cause)),
                                        Err(_) => Err(StatesError::new(errors::TIMEOUT, format!("the task did not finish in {t} seconds"))),
                                    }
                                }
                                _ => call.await.map_err(|e| StatesError::new(e.error, e.cause)),
                            };
                            match (r, &task.resource) {
                                (Err(e), _) => Done::Error(e),
                                (Ok(_), Resource::LambdaCallback) => {
                                    let now = self.now_ms();
                                    Done::Submitted { deadline: timeout.map(|t| now + t * 1000), hb: hb.map(|h| now + h * 1000) }
                                }
                                (Ok(v), Resource::LambdaInvoke) => Done::Result(json!({"ExecutedVersion": "$LATEST", "Payload": v, "StatusCode": 200})),
                                (Ok(v), _) => Done::Result(v),
                            }
                        }
                    }
                    }
                    Resource::StartExecutionSync2 => {
                        let sm = params
                            .get("StateMachineArn")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        let input = match params.get("Input") {
                            Some(Value::String(s)) => {
                                serde_json::from_str(s).unwrap_or(Value::String(s.clone()))
                            }
                            Some(v) => v.clone(),
                            None => json!({}),
                        };
                        let name = params
                            .get("Name")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| hash_token(&idempotency_key)[..32].to_string());
                        match self
                            .start(
                                &sm,
                                &name,
                                input,
                                Some(ParentRef {
                                    id: m.id.clone(),
                                    kind: ParentKind::Sync,
                                }),
                            )
                            .await
                        {
                            Ok(id) => Done::Child {
                                id,
                                deadline: timeout.map(|t| self.now_ms() + t * 1000),
                            },
                            Err(WorkflowsError::StateMachineDoesNotExist(s)) => {
                                Done::Error(StatesError::new(
                                    "StepFunctions.StateMachineDoesNotExistException",
                                    format!("state machine `{s}` does not exist"),
                                ))
                            }
                            Err(WorkflowsError::ExecutionAlreadyExists(n)) => {
                                Done::Error(StatesError::new(
                                    "StepFunctions.ExecutionAlreadyExistsException",
                                    format!("execution `{n}` already exists with another input"),
                                ))
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        };
        // Record it; a poke may have raced us, so re-read and re-apply until it sticks.
        let Some(def) = Self::definition(machine, &m.branch) else {
            return Ok(());
        };
        let mut first = true;
        loop {
            if !first {
                match self.load(&m.id).await? {
                    Some(fresh) => m = fresh,
                    None => return Ok(()),
                }
            }
            first = false;
            if m.status != ExecutionStatus::Running
                || (m.entry_seq, m.attempt) != guard
                || m.phase != Phase::Enter
            {
                return Ok(());
            }
            let mut tx = Tx::new();
            m.lease_until_ms = None;
            m.lease_owner = None;
            let outcome = match &done {
                Done::Result(v) => {
                    tx.event("TaskSucceeded", json!({"output": v}));
                    self.task_result(&m, st, v.clone())
                }
                Done::Error(e) => {
                    tx.event(
                        if e.error == errors::TIMEOUT {
                            "TaskTimedOut"
                        } else {
                            "TaskFailed"
                        },
                        e.to_value(),
                    );
                    Outcome::Error(e.clone())
                }
                Done::Submitted { deadline, hb } => {
                    tx.event("TaskSubmitted", json!({"resource": resource}));
                    m.phase = Phase::Callback;
                    m.deadline_ms = *deadline;
                    m.hb_deadline_ms = *hb;
                    m.hb_secs = Self::seconds(&task.heartbeat, &eff).ok().flatten();
                    // An answer may already be in — given while the handler ran, or
                    // before a crash made this task run again (its poke then went with
                    // the lost attempt): always look at the token once, right away.
                    m.poked = true;
                    Outcome::Sleep
                }
                Done::Child { id, deadline } => {
                    tx.event(
                        "TaskSubmitted",
                        json!({"resource": resource, "execution": id}),
                    );
                    m.phase = Phase::Sync;
                    m.child = Some(id.clone());
                    m.deadline_ms = *deadline;
                    // The child may have ended already (a re-run after a crash finds
                    // it by name): look at it once, right away.
                    m.poked = true;
                    Outcome::Sleep
                }
            };
            self.apply(&mut m, machine, def, st, outcome, &mut tx);
            if self.commit(m.clone(), tx).await? {
                return Ok(());
            }
        }
    }

    fn handler(&self, function: &str) -> Option<Arc<dyn TaskHandler>> {
        let h = &self.inner.handlers;
        if let Some(x) = h.get(function) {
            return Some(x.clone());
        }
        // `arn:aws:lambda:…:function:NAME[:alias]` → NAME
        let short = function
            .rsplit_once(":function:")
            .map(|(_, n)| n.split(':').next().unwrap_or(n))
            .unwrap_or(function);
        h.get(short).cloned()
    }

    /// Applies an outcome to `m`: transition, retry, catch or the end of the execution.
    fn apply(
        &self,
        m: &mut Meta,
        _machine: &Machine,
        def: &StateMachine,
        st: &State,
        outcome: Outcome,
        tx: &mut Tx,
    ) {
        let now = self.now_ms();
        let (retry, catch): (&[super::model::Retrier], &[super::model::Catcher]) = match &st.kind {
            Kind::Task(t) => (&t.retry, &t.catch),
            Kind::Parallel { common, .. } | Kind::Map { common, .. } => {
                (&common.retry, &common.catch)
            }
            _ => (&[], &[]),
        };
        let kind = st.kind.type_name();
        match outcome {
            Outcome::Sleep => {}
            Outcome::Next(out) => match &st.next {
                Some(n) => self.transition(m, def, st, n.clone(), out, tx),
                None => {
                    tx.event(
                        &format!("{kind}StateExited"),
                        json!({"name": st.name, "output": out}),
                    );
                    self.end(m, tx, Ok(out));
                }
            },
            Outcome::Goto(n, out) => self.transition(m, def, st, n, out, tx),
            Outcome::Succeed(out) => {
                tx.event(
                    &format!("{kind}StateExited"),
                    json!({"name": st.name, "output": out}),
                );
                self.end(m, tx, Ok(out));
            }
            Outcome::FailExec(e) => self.end(m, tx, Err((ExecutionStatus::Failed, e))),
            Outcome::Error(e) => {
                if let Some((i, r)) = retry
                    .iter()
                    .enumerate()
                    .find(|(_, r)| e.matches(&r.error_equals))
                {
                    if m.retry_counts.len() <= i {
                        m.retry_counts.resize(i + 1, 0);
                    }
                    let count = m.retry_counts[i];
                    if count < r.max_attempts {
                        let mut delay = r.interval_seconds * r.backoff_rate.powi(count as i32);
                        if let Some(max) = r.max_delay_seconds {
                            delay = delay.min(max);
                        }
                        if r.full_jitter {
                            delay *= self.rng().gen::<f64>();
                        }
                        m.retry_counts[i] = count + 1;
                        m.attempt += 1;
                        m.phase = Phase::Retry;
                        m.wake_ms = Some(now + (delay * 1000.0) as i64);
                        m.token = None;
                        m.token_hash = None;
                        m.child = None;
                        m.children = None;
                        m.deadline_ms = None;
                        m.hb_deadline_ms = None;
                        return;
                    }
                }
                if let Some(c) = catch.iter().find(|c| e.matches(&c.error_equals)) {
                    match c.result_path.apply(&m.state_input, e.to_value()) {
                        Ok(out) => self.transition(m, def, st, c.next.clone(), out, tx),
                        Err(e2) => self.end(m, tx, Err((ExecutionStatus::Failed, e2))),
                    }
                    return;
                }
                self.end(m, tx, Err((ExecutionStatus::Failed, e)));
            }
        }
    }

    fn transition(
        &self,
        m: &mut Meta,
        def: &StateMachine,
        st: &State,
        next: String,
        output: Value,
        tx: &mut Tx,
    ) {
        tx.event(
            &format!("{}StateExited", st.kind.type_name()),
            json!({"name": st.name, "output": output}),
        );
        let next_kind = def
            .states
            .get(&next)
            .map(|s| s.kind.type_name())
            .unwrap_or("Unknown");
        tx.event(
            &format!("{next_kind}StateEntered"),
            json!({"name": next, "input": output}),
        );
        m.state = next;
        m.state_input = output;
        m.entered_ms = self.now_ms();
        m.entry_seq += 1;
        m.attempt = 0;
        m.retry_counts.clear();
        self.clear_phase(m);
    }

    fn clear_phase(&self, m: &mut Meta) {
        m.phase = Phase::Enter;
        m.wake_ms = None;
        m.deadline_ms = None;
        m.hb_deadline_ms = None;
        m.hb_secs = None;
        m.lease_until_ms = None;
        m.lease_owner = None;
        m.token = None;
        m.token_hash = None;
        m.child = None;
        m.children = None;
        m.max_concurrency = None;
    }

    fn end(
        &self,
        m: &mut Meta,
        tx: &mut Tx,
        result: Result<Value, (ExecutionStatus, StatesError)>,
    ) {
        let now = self.now_ms();
        match result {
            Ok(out) => {
                tx.event("ExecutionSucceeded", json!({"output": out}));
                m.status = ExecutionStatus::Succeeded;
                m.output = Some(out);
            }
            Err((status, e)) => {
                let kind = match status {
                    ExecutionStatus::TimedOut => "ExecutionTimedOut",
                    ExecutionStatus::Aborted => "ExecutionAborted",
                    _ => "ExecutionFailed",
                };
                tx.event(kind, e.to_value());
                m.status = status;
                m.error = Some(e.error);
                m.cause = Some(e.cause);
            }
        }
        m.stopped_ms = Some(now);
        if let Some(c) = &m.child {
            tx.abort_children.push(c.clone());
        }
        if let Some(n) = m.children {
            tx.abort_children
                .extend((0..n as usize).map(|i| child_id(m, i)));
        }
        self.clear_phase(m);
        m.poked = false;
        if let Some(p) = &m.parent {
            tx.ops.push(self.poke_op(&p.id));
        }
    }

    /// Aborts an execution and everything it started, without waking its parent.
    fn abort_tree<'a>(
        &'a self,
        id: &'a str,
        error: &'a str,
        cause: &'a str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), WorkflowsError>> + Send + 'a>> {
        Box::pin(async move {
            for _ in 0..20 {
                let Some(mut m) = self.load(id).await? else {
                    return Ok(());
                };
                if m.status != ExecutionStatus::Running {
                    return Ok(());
                }
                let mut tx = Tx::new();
                self.end(
                    &mut m,
                    &mut tx,
                    Err((ExecutionStatus::Aborted, StatesError::new(error, cause))),
                );
                tx.ops.clear();
                if self.commit(m, tx).await? {
                    return Ok(());
                }
            }
            Err(WorkflowsError::Unavailable(format!("could not abort {id}")))
        })
    }

    /// Finds the live token and its execution, or the error Step Functions gives.
    async fn live_token(&self, token: &str) -> Result<(Key, Meta), WorkflowsError> {
        let hash = hash_token(token);
        let key = token_key(&hash);
        let Some(tok) = self.inner.table.get(&key).await.map_err(unavailable)? else {
            return Err(WorkflowsError::InvalidToken);
        };
        match tok.get("status").and_then(Value::as_str) {
            Some("WAITING") => {}
            Some("TIMED_OUT") => return Err(WorkflowsError::TaskTimedOut),
            _ => return Err(WorkflowsError::TaskDoesNotExist),
        }
        let exec = tok.get("exec").and_then(Value::as_str).unwrap_or_default();
        let Some(m) = self.load(exec).await? else {
            return Err(WorkflowsError::TaskDoesNotExist);
        };
        if m.status != ExecutionStatus::Running || m.token_hash.as_deref() != Some(hash.as_str()) {
            return Err(WorkflowsError::TaskDoesNotExist);
        }
        let now = self.now_ms();
        if m.deadline_ms.is_some_and(|d| d <= now) || m.hb_deadline_ms.is_some_and(|d| d <= now) {
            return Err(WorkflowsError::TaskTimedOut);
        }
        Ok((key, m))
    }

    async fn answer(&self, token: &str, answer: Value) -> Result<(), WorkflowsError> {
        let (key, m) = self.live_token(token).await?;
        let r = self
            .inner
            .table
            .transact_write(vec![
                TxOp::Update {
                    key,
                    update: Update::new()
                        .set("status", "ANSWERED")
                        .set("answer", answer),
                    condition: Some(Condition::equals("status", "WAITING")),
                },
                self.poke_op(&m.id),
            ])
            .await;
        match r {
            Ok(()) => {
                self.inner.wake.notify_one();
                Ok(())
            }
            // Lost a race with another answer or the timeout: report which.
            Err(TableError::ConditionFailed { .. }) | Err(TableError::Conflict) => {
                match self.live_token(token).await {
                    Ok(_) => Err(WorkflowsError::Unavailable(
                        "token changed concurrently; retry".into(),
                    )),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn child_id(m: &Meta, i: usize) -> String {
    format!("{}/{}.{}/{i}", m.id, m.entry_seq, m.attempt)
}

fn parse_ts(t: &str) -> Result<i64, StatesError> {
    OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map(ms)
        .map_err(|_| {
            StatesError::new(
                errors::RUNTIME,
                format!("`{t}` is not an RFC 3339 timestamp"),
            )
        })
}

fn output_path(st: &State, v: Value) -> Result<Value, StatesError> {
    match &st.output_path {
        None => Ok(v),
        Some(None) => Ok(json!({})),
        Some(Some(p)) => p.select(&v).ok_or_else(|| {
            StatesError::new(
                errors::RUNTIME,
                format!("Invalid path '{}' : No results for path", p.source),
            )
        }),
    }
}

#[async_trait]
impl Workflows for LocalWorkflows {
    async fn start_execution(
        &self,
        state_machine: &str,
        name: &str,
        input: Value,
    ) -> Result<String, WorkflowsError> {
        self.start(state_machine, name, input, None).await
    }

    async fn send_task_success(&self, token: &str, output: Value) -> Result<(), WorkflowsError> {
        self.answer(token, json!({"output": output})).await
    }

    async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowsError> {
        self.answer(token, json!({"error": error, "cause": cause}))
            .await
    }

    async fn send_task_heartbeat(&self, token: &str) -> Result<(), WorkflowsError> {
        for _ in 0..20 {
            let (_, mut m) = self.live_token(token).await?;
            let Some(secs) = m.hb_secs else { return Ok(()) };
            m.hb_deadline_ms = Some(self.now_ms() + secs * 1000);
            let mut tx = Tx::new();
            tx.event("TaskHeartbeat", json!({}));
            if self.commit(m, tx).await? {
                return Ok(());
            }
        }
        Err(WorkflowsError::Unavailable(
            "execution too busy; retry".into(),
        ))
    }

    async fn describe_execution(
        &self,
        execution_id: &str,
    ) -> Result<ExecutionDescription, WorkflowsError> {
        let m = self
            .load(execution_id)
            .await?
            .ok_or_else(|| WorkflowsError::ExecutionDoesNotExist(execution_id.to_string()))?;
        Ok(ExecutionDescription {
            execution_id: m.id,
            state_machine: m.sm,
            name: m.name,
            status: m.status,
            input: m.input,
            output: m.output,
            error: m.error,
            cause: m.cause,
            started: from_ms(m.started_ms),
            stopped: m.stopped_ms.map(from_ms),
        })
    }

    async fn get_execution_history(
        &self,
        execution_id: &str,
    ) -> Result<Vec<HistoryEvent>, WorkflowsError> {
        if self.load(execution_id).await?.is_none() {
            return Err(WorkflowsError::ExecutionDoesNotExist(
                execution_id.to_string(),
            ));
        }
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .inner
                .table
                .query(
                    Query::partition(Index::Primary, format!("EXEC#{execution_id}"))
                        .sk(SortKey::BeginsWith("EVT#".into()))
                        .after(cursor),
                )
                .await
                .map_err(unavailable)?;
            for i in page.items {
                let ts = i
                    .get("ts")
                    .and_then(Value::as_str)
                    .and_then(|s| {
                        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                out.push(HistoryEvent {
                    id: i.get("seq").and_then(Value::as_u64).unwrap_or(0),
                    kind: i
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    timestamp: ts,
                    details: i.get("details").cloned().unwrap_or(Value::Null),
                });
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    async fn stop_execution(
        &self,
        execution_id: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), WorkflowsError> {
        for _ in 0..20 {
            let m = self
                .load(execution_id)
                .await?
                .ok_or_else(|| WorkflowsError::ExecutionDoesNotExist(execution_id.to_string()))?;
            if m.status != ExecutionStatus::Running {
                return Ok(());
            }
            let mut m = m;
            let mut tx = Tx::new();
            self.end(
                &mut m,
                &mut tx,
                Err((ExecutionStatus::Aborted, StatesError::new(error, cause))),
            );
            if self.commit(m, tx).await? {
                return Ok(());
            }
        }
        Err(WorkflowsError::Unavailable(
            "execution too busy; retry".into(),
        ))
    }
}
