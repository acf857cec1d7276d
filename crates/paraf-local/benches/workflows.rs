//! ASL interpreter benchmark: state transitions per second, and the real approval
//! workflow (`workflows/approval.asl.json`) with a 5-level chain approved automatically,
//! end to end, on the in-memory table and on the durable SQLite table. Prints rates;
//! asserts nothing about time.
//!
//! ```text
//! cargo bench -p paraf-local --bench workflows
//! PARAF_BENCH_CHAINS=20 cargo bench -p paraf-local --bench workflows   # a quick run
//! ```
//!
//! `PARAF_BENCH_CHAINS` (default 200) sets how many approval chains run;
//! `PARAF_BENCH_DIR` (default the system temp dir) where the SQLite files go.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use paraf_core::memory::MemoryTable;
use paraf_core::{ExecutionStatus, SystemClock, Table, Workflows};
use paraf_local::table::SqliteTable;
use paraf_local::workflows::{handler_fn, Handlers, LocalWorkflows};
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Loop iterations of the transitions benchmark (two states entered per iteration).
const LOOPS: u64 = 5_000;

fn main() -> Res<()> {
    let chains: usize = match std::env::var("PARAF_BENCH_CHAINS") {
        Ok(v) => v.parse()?,
        Err(_) => 200,
    };
    let dir = match std::env::var_os("PARAF_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "ASL interpreter benchmark — {} cores, SQLite files in {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        dir.path().display()
    );
    rt.block_on(async {
        let mem: Arc<dyn Table> = Arc::new(MemoryTable::new());
        let sqlite: Arc<dyn Table> = Arc::new(SqliteTable::open(&dir.path().join("wf.sqlite"))?);
        let t_mem = transitions("MemoryTable", mem.clone()).await?;
        let t_sql = transitions("SqliteTable", sqlite.clone()).await?;
        println!("  SQLite / memory: {:.2}×", t_sql / t_mem);
        let c_mem = approval_chains("MemoryTable", mem, chains).await?;
        let c_sql = approval_chains("SqliteTable", sqlite, chains).await?;
        println!("  SQLite / memory: {:.2}×", c_sql / c_mem);
        Ok(())
    })
}

/// A Pass/Choice loop: every iteration is one `Choice` and one `Pass` with an intrinsic.
async fn transitions(label: &str, table: Arc<dyn Table>) -> Res<f64> {
    let def = json!({"StartAt": "Loop", "States": {
        "Loop": {"Type": "Choice", "Choices": [
            {"Variable": "$.i", "NumericLessThanPath": "$.n", "Next": "Inc"}], "Default": "Done"},
        "Inc": {"Type": "Pass", "Parameters": {"n.$": "$.n", "i.$": "States.MathAdd($.i, 1)"},
                "Next": "Loop"},
        "Done": {"Type": "Succeed"}}});
    let wf = LocalWorkflows::new(table, Handlers::new(), Arc::new(SystemClock));
    wf.register("loop", &def.to_string(), &BTreeMap::new())?;
    let started = Instant::now();
    let id = wf
        .start_execution("loop", "loop-1", json!({"i": 0, "n": LOOPS}))
        .await?;
    wf.run_until_idle().await?;
    let elapsed = started.elapsed().as_secs_f64();
    let d = wf.describe_execution(&id).await?;
    if d.status != ExecutionStatus::Succeeded {
        return Err(format!("loop ended {:?}: {:?}", d.status, d.error).into());
    }
    let entered = wf
        .get_execution_history(&id)
        .await?
        .iter()
        .filter(|e| e.kind.ends_with("StateEntered"))
        .count();
    let rate = entered as f64 / elapsed;
    println!(
        "state transitions, {label}: {entered} states in {elapsed:.2} s = {rate:.0} transitions/s ({:.1} µs each)",
        elapsed * 1e6 / entered as f64
    );
    Ok(rate)
}

fn workflows_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../workflows")
}

/// `n` approval executions of a 5-step chain, every step approved as soon as it is asked,
/// then signed; returns chains per second.
async fn approval_chains(label: &str, table: Arc<dyn Table>, n: usize) -> Res<f64> {
    let inbox: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut h = Handlers::new();
    let i = inbox.clone();
    h.insert(
        "notify".into(),
        handler_fn(move |_, ctx| {
            let i = i.clone();
            async move {
                if let Some(t) = ctx.task_token {
                    i.lock().unwrap_or_else(|p| p.into_inner()).push(t);
                }
                Ok(json!({"sent": true}))
            }
        }),
    );
    h.insert(
        "sign".into(),
        handler_fn(|_, _| async { Ok(json!({"document": "signed.pdf"})) }),
    );
    h.insert(
        "escalate".into(),
        handler_fn(|_, _| async { Ok(json!({})) }),
    );
    let wf = LocalWorkflows::new(table, h, Arc::new(SystemClock));
    let f = |n: &str| format!("arn:aws:lambda:ap-southeast-3:000000000000:function:{n}");
    let subs = BTreeMap::from([
        ("NotifyFunctionArn".to_string(), f("notify")),
        ("SignFunctionArn".to_string(), f("sign")),
        ("EscalateFunctionArn".to_string(), f("escalate")),
        (
            "DispositionStateMachineArn".to_string(),
            wf.state_machine_arn("disposition"),
        ),
    ]);
    wf.register_dir(&workflows_dir(), &subs)?;
    let chain: Value = json!({
        "request": {"kind": "sppd", "id": "SPPD-1"},
        "chain": (1..=5).map(|i| json!({"step": i, "assignee": format!("E{i}"),
            "action": if i == 5 {"sign"} else {"paraf"}})).collect::<Vec<_>>(),
        "requester": "R1"
    });
    let tag = std::process::id();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for k in 0..n {
        ids.push(
            wf.start_execution(
                "approval",
                &format!("sppd-{label}-{tag}-{k}"),
                chain.clone(),
            )
            .await?,
        );
    }
    let mut answers = 0usize;
    loop {
        wf.run_until_idle().await?;
        let tokens = std::mem::take(&mut *inbox.lock().unwrap_or_else(|p| p.into_inner()));
        if tokens.is_empty() {
            break;
        }
        for t in tokens {
            wf.send_task_success(&t, json!({"decision": "approve"}))
                .await?;
            answers += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    for id in &ids {
        let d = wf.describe_execution(id).await?;
        if d.status != ExecutionStatus::Succeeded
            || d.output.as_ref().map(|o| &o["status"]) != Some(&json!("approved"))
        {
            return Err(format!("{id} ended {:?}: {:?}", d.status, d.error).into());
        }
    }
    let rate = n as f64 / elapsed;
    println!(
        "5-level approval chain end to end, {label}: {n} chains ({answers} approvals + {n} signatures) in {elapsed:.2} s = {rate:.1} chains/s ({:.1} ms each)",
        elapsed * 1e3 / n as f64
    );
    Ok(rate)
}
