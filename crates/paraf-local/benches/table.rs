//! `SqliteTable` benchmark: durable writes, racing conditional writes, and query latency on
//! a loaded table. Prints rates and ratios; asserts nothing about time.
//!
//! ```text
//! cargo bench -p paraf-local --bench table
//! PARAF_BENCH_ITEMS=20000 cargo bench -p paraf-local --bench table   # a quick run (CI)
//! ```
//!
//! `PARAF_BENCH_ITEMS` (default 1 000 000) sets how many items the query section loads;
//! `PARAF_BENCH_DIR` (default the system temp dir) where the files go — put it on the disk
//! you want to measure, not on a tmpfs.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use paraf_core::ports::table::{
    item, Condition, Index, Query, SortKey, Table, TableError, TxOp, MAX_TX_ITEMS,
};
use paraf_local::table::SqliteTable;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Items per base partition and per GSI partition of the loaded table.
const PER_PARTITION: usize = 1000;
const QUERIES: usize = 2000;
const RANGE: u32 = 20;

fn main() -> Res<()> {
    let items: usize = match std::env::var("PARAF_BENCH_ITEMS") {
        Ok(v) => v.replace('_', "").parse()?,
        Err(_) => 1_000_000,
    };
    let dir = match std::env::var_os("PARAF_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "SqliteTable benchmark — {} cores, files in {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        dir.path().display()
    );
    rt.block_on(async {
        durable_puts(&open(&dir, "puts")?).await?;
        conflicting_puts(&open(&dir, "race")?).await?;
        queries(&open(&dir, "query")?, items).await
    })
}

fn open(dir: &tempfile::TempDir, name: &str) -> Res<Arc<SqliteTable>> {
    Ok(Arc::new(SqliteTable::open(
        &dir.path().join(format!("{name}.sqlite")),
    )?))
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn payload(i: usize) -> serde_json::Value {
    json!({
        "title": format!("Surat masuk nomor {i}/PL.01-SD/32/2026"),
        "from": "KPU Kabupaten Bandung", "state": "registered", "version": 1,
        "amount": i * 1250,
    })
}

/// Single-item puts, each its own `synchronous=FULL` transaction: one task, then several.
async fn durable_puts(t: &Arc<SqliteTable>) -> Res<()> {
    const N: usize = 2000;
    let start = Instant::now();
    for i in 0..N {
        let mut it = item(payload(i));
        it.insert("pk".into(), json!(format!("doc#{}", i % 50)));
        it.insert("sk".into(), json!(format!("v#{i:06}")));
        t.put(it, None).await?;
    }
    let one = start.elapsed();
    println!(
        "durable puts, 1 task:  {N} in {:.2} s = {:.0} puts/s ({:.2} ms each)",
        one.as_secs_f64(),
        rate(N, one),
        ms(one) / N as f64
    );

    const TASKS: usize = 8;
    let start = Instant::now();
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let t = Arc::clone(t);
        handles.push(tokio::spawn(async move {
            for i in 0..N / TASKS {
                let mut it = item(payload(i));
                it.insert("pk".into(), json!(format!("task#{task}")));
                it.insert("sk".into(), json!(format!("v#{i:06}")));
                t.put(it, None).await?;
            }
            Ok::<_, TableError>(())
        }));
    }
    for h in handles {
        h.await??;
    }
    let many = start.elapsed();
    println!(
        "durable puts, {TASKS} tasks: {N} in {:.2} s = {:.0} puts/s ({:.2}x one task)",
        many.as_secs_f64(),
        rate(N, many),
        rate(N, many) / rate(N, one)
    );
    Ok(())
}

/// Several tasks race insert-only puts on the same keys: exactly one must win each key.
async fn conflicting_puts(t: &Arc<SqliteTable>) -> Res<()> {
    const KEYS: usize = 250;
    const TASKS: usize = 8;
    let start = Instant::now();
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let t = Arc::clone(t);
        handles.push(tokio::spawn(async move {
            let (mut won, mut lost) = (0usize, 0usize);
            for k in 0..KEYS {
                let it = item(json!({"pk":"race","sk":format!("k#{k:04}"),"winner":task}));
                match t.put(it, Some(Condition::absent())).await {
                    Ok(()) => won += 1,
                    Err(TableError::ConditionFailed { op: None }) => lost += 1,
                    Err(e) => return Err(e),
                }
            }
            Ok((won, lost))
        }));
    }
    let (mut won, mut lost) = (0, 0);
    for h in handles {
        let (w, l) = h.await??;
        won += w;
        lost += l;
    }
    let took = start.elapsed();
    let attempts = KEYS * TASKS;
    println!(
        "racing insert-only puts: {TASKS} tasks x {KEYS} keys = {attempts} attempts in {:.2} s = {:.0} attempts/s",
        took.as_secs_f64(),
        rate(attempts, took)
    );
    println!(
        "  won {won} (expected {KEYS}: {}), condition failed {lost} = {:.1}% conflict rate",
        if won == KEYS { "ok" } else { "WRONG" },
        100.0 * lost as f64 / attempts as f64
    );
    Ok(())
}

/// Loads `n` items in 100-item transactions, then times 20-item sort-key-range queries.
async fn queries(t: &Arc<SqliteTable>, n: usize) -> Res<()> {
    let partitions = n.div_ceil(PER_PARTITION).max(1);
    let start = Instant::now();
    let mut next = 0;
    while next < n {
        let end = (next + MAX_TX_ITEMS).min(n);
        let ops = (next..end)
            .map(|i| {
                let mut it = item(payload(i));
                // Base partition: a document's versions; GSI1: the same items by day,
                // interleaved across documents, so the index order differs from the base.
                it.insert("pk".into(), json!(format!("doc#{:06}", i / PER_PARTITION)));
                it.insert("sk".into(), json!(format!("v#{:06}", i % PER_PARTITION)));
                it.insert("gsi1pk".into(), json!(format!("day#{:06}", i % partitions)));
                it.insert("gsi1sk".into(), json!(format!("t#{:09}", i / partitions)));
                TxOp::Put {
                    item: it,
                    condition: None,
                }
            })
            .collect();
        t.transact_write(ops).await?;
        next = end;
    }
    let load = start.elapsed();
    let size = std::fs::metadata(t.path())?.len();
    println!(
        "load: {n} items in 100-item transactions in {:.1} s = {:.0} items/s; file {:.0} MB",
        load.as_secs_f64(),
        rate(n, load),
        size as f64 / 1e6
    );

    let per_partition = n.min(PER_PARTITION) as u32;
    let mut rng = StdRng::seed_from_u64(7);
    for index in [Index::Primary, Index::Gsi1] {
        let mut times = Vec::with_capacity(QUERIES);
        for _ in 0..QUERIES {
            let p = rng.gen_range(0..partitions);
            let from = rng.gen_range(0..per_partition.saturating_sub(RANGE).max(1));
            let (pk, lo, hi) = match index {
                Index::Primary => (
                    format!("doc#{p:06}"),
                    format!("v#{from:06}"),
                    format!("v#{:06}", from + RANGE - 1),
                ),
                _ => (
                    format!("day#{p:06}"),
                    format!("t#{from:09}"),
                    format!("t#{:09}", from + RANGE - 1),
                ),
            };
            let q = Query::partition(index, pk).sk(SortKey::Between(lo, hi));
            let q = if rng.gen_bool(0.5) { q } else { q.backward() };
            let start = Instant::now();
            let page = t.query(q).await?;
            times.push(start.elapsed());
            if page.items.len() != RANGE as usize && partitions * PER_PARTITION == n {
                return Err(format!("{index:?} query gave {} items", page.items.len()).into());
            }
        }
        times.sort();
        let total: Duration = times.iter().sum();
        println!(
            "query {RANGE}-item sort-key range on {:<7}: p50 {:.3} ms, p99 {:.3} ms, {:.0} queries/s (1 task, {QUERIES} queries)",
            format!("{index:?}"),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            rate(QUERIES, total)
        );
    }
    t.integrity_check()?;
    Ok(())
}
