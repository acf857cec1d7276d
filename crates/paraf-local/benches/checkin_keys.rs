//! Election-day check-in load simulation (see `docs/scale.md`). Prints tables; asserts
//! nothing about time.
//!
//! ```text
//! cargo bench -p paraf-local --bench checkin_keys
//! PARAF_BENCH_CHECKINS=20000 cargo bench -p paraf-local --bench checkin_keys   # quicker
//! ```
//!
//! Part 1 generates `WORKERS` synthetic ad hoc worker ids (7 per polling station) and
//! arrival times over two hours with a morning peak whose busiest minute carries 10× the
//! average minute, and counts writes per partition per second for the key
//! `ATT#<date>#<shard>`, shard = FNV-1a-64(worker id) mod N.
//!
//! Part 2 writes `PARAF_BENCH_CHECKINS` (default 100 000) of those check-ins through the
//! real `Table` port into a `SqliteTable` (temp file) with the insert-only conditional
//! put, re-sends 1 % of them with a later time (a client retry), and reads every shard
//! partition back with paged queries.

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use paraf_core::ports::table::{item, Condition, Index, Query, Table, TableError};
use paraf_local::table::SqliteTable;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Ad hoc polling-station workers (KPPS): about 820 000 stations × 7.
const WORKERS: usize = 5_700_000;
const MEMBERS_PER_STATION: usize = 7;
const MINUTES: usize = 120;
const SECONDS: usize = MINUTES * 60;
/// The busiest minute carries this many times the average minute.
const PEAK_FACTOR: f64 = 10.0;
/// Minute of the peak after the window opens (stations open at 07:00 WIB).
const PEAK_MINUTE: f64 = 20.0;
/// Width (standard deviation, minutes) of the morning peak.
const PEAK_SIGMA: f64 = 3.0;
/// Write throughput of one DynamoDB partition-key value (1 KB items, 1 WCU each).
const PARTITION_LIMIT: u32 = 1000;
const SHARDS: [u64; 4] = [1, 16, 64, 256];
/// Shard count used for the write sample in part 2.
const SAMPLE_SHARDS: u64 = 64;
const DATE: &str = "2029-02-14";

/// FNV-1a, 64 bit: stable across processes, languages and releases (unlike std's
/// `DefaultHasher`), so every writer and every recap agrees on a worker's shard.
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn worker_id(i: usize) -> String {
    format!(
        "KPPS-{:07}-{}",
        i / MEMBERS_PER_STATION,
        i % MEMBERS_PER_STATION + 1
    )
}

/// Weight of each minute: a flat base plus a Gaussian bump scaled so that the busiest
/// minute is `PEAK_FACTOR` × the mean minute.
fn minute_weights() -> Vec<f64> {
    let bump: Vec<f64> = (0..MINUTES)
        .map(|m| (-0.5 * ((m as f64 - PEAK_MINUTE) / PEAK_SIGMA).powi(2)).exp())
        .collect();
    let s: f64 = bump.iter().sum();
    let n = MINUTES as f64;
    // (1 + a) = PEAK_FACTOR · (n + a·s) / n  ⇒  a = (PEAK_FACTOR − 1)·n / (n − PEAK_FACTOR·s)
    let a = (PEAK_FACTOR - 1.0) * n / (n - PEAK_FACTOR * s);
    bump.iter().map(|b| 1.0 + a * b).collect()
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

struct Arrival {
    hash: u64,
    second: u16,
}

fn main() -> Res<()> {
    let sample: usize = match std::env::var("PARAF_BENCH_CHECKINS") {
        Ok(v) => v.replace('_', "").parse()?,
        Err(_) => 100_000,
    };
    let arrivals = simulate_rates();
    let dir = tempfile::tempdir()?;
    let table = Arc::new(SqliteTable::open(&dir.path().join("checkins.sqlite"))?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(write_sample(table, &arrivals, sample))
}

/// Part 1: per-partition write rates for several shard counts.
fn simulate_rates() -> Vec<Arrival> {
    let start = Instant::now();
    let weights = minute_weights();
    let total: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(MINUTES);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cumulative.push(acc);
    }
    let mut rng = StdRng::seed_from_u64(2029);
    let arrivals: Vec<Arrival> = (0..WORKERS)
        .map(|i| {
            let u: f64 = rng.gen();
            let minute = cumulative.partition_point(|&c| c < u).min(MINUTES - 1);
            let second = (minute * 60 + rng.gen_range(0..60)) as u16;
            Arrival {
                hash: fnv1a(&worker_id(i)),
                second,
            }
        })
        .collect();

    let mut per_second = vec![0u32; SECONDS];
    for a in &arrivals {
        per_second[usize::from(a.second)] += 1;
    }
    let peak_second = per_second.iter().copied().max().unwrap_or(0);
    let peak_minute = per_second
        .chunks(60)
        .map(|c| c.iter().sum::<u32>())
        .max()
        .unwrap_or(0);
    println!(
        "check-in load simulation — {WORKERS} workers over {MINUTES} min ({:.1} s to generate)",
        start.elapsed().as_secs_f64()
    );
    println!(
        "aggregate: mean {:.0}/s, peak minute {} ({:.0}/s, {:.1}× mean), peak second {}/s",
        WORKERS as f64 / SECONDS as f64,
        peak_minute,
        f64::from(peak_minute) / 60.0,
        f64::from(peak_minute) / (WORKERS as f64 / MINUTES as f64),
        peak_second
    );
    println!();
    println!(
        "| shards N | max writes/s on one partition | p99 (all partition-seconds) | p99 (peak minute) | partition-seconds > {PARTITION_LIMIT} | max / limit |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let peak_minute_index = per_second
        .chunks(60)
        .enumerate()
        .max_by_key(|(_, c)| c.iter().sum::<u32>())
        .map_or(0, |(i, _)| i);
    for n in SHARDS {
        let shards = n as usize;
        let mut cells = vec![0u32; shards * SECONDS];
        for a in &arrivals {
            let shard = (a.hash % n) as usize;
            cells[usize::from(a.second) * shards + shard] += 1;
        }
        let peak_range = peak_minute_index * 60 * shards..(peak_minute_index + 1) * 60 * shards;
        let mut in_peak = cells[peak_range].to_vec();
        in_peak.sort_unstable();
        let over = cells.iter().filter(|&&c| c > PARTITION_LIMIT).count();
        cells.sort_unstable();
        let max = cells.last().copied().unwrap_or(0);
        println!(
            "| {n} | {max} | {} | {} | {over} of {} | {:.2} |",
            percentile(&cells, 0.99),
            percentile(&in_peak, 0.99),
            shards * SECONDS,
            f64::from(max) / f64::from(PARTITION_LIMIT)
        );
    }
    println!();
    arrivals
}

fn checkin(i: usize, a: &Arrival, late: u32) -> serde_json::Map<String, serde_json::Value> {
    let worker = worker_id(i);
    let shard = a.hash % SAMPLE_SHARDS;
    let secs = u32::from(a.second) + late;
    let at = format!(
        "{DATE}T{:02}:{:02}:{:02}+07:00",
        7 + secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    item(json!({
        "pk": format!("ATT#{DATE}#{shard:03}"),
        "sk": format!("{worker}#IN"),
        "worker": worker,
        "station": format!("{:07}", i / MEMBERS_PER_STATION),
        "at": at,
        "kind": "in",
    }))
}

/// Part 2: the sample through the real port, then read back shard by shard.
async fn write_sample(table: Arc<SqliteTable>, arrivals: &[Arrival], sample: usize) -> Res<()> {
    const TASKS: usize = 8;
    let sample = sample.min(arrivals.len());
    // Every (WORKERS / sample)-th worker, so the sample spans all stations.
    let step = (arrivals.len() / sample.max(1)).max(1);
    let picked: Arc<Vec<(usize, u64, u16)>> = Arc::new(
        (0..sample)
            .map(|k| k * step)
            .map(|i| (i, arrivals[i].hash, arrivals[i].second))
            .collect(),
    );
    let start = Instant::now();
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let table = Arc::clone(&table);
        let picked = Arc::clone(&picked);
        handles.push(tokio::spawn(async move {
            let (mut written, mut duplicates) = (0usize, 0usize);
            for (n, &(i, hash, second)) in picked.iter().enumerate().skip(task).step_by(TASKS) {
                let a = Arrival { hash, second };
                table
                    .put(checkin(i, &a, 0), Some(Condition::absent()))
                    .await?;
                written += 1;
                // 1 % of clients retry later (timeout, double tap): must not add an item.
                if n % 100 == 0 {
                    match table
                        .put(checkin(i, &a, 37), Some(Condition::absent()))
                        .await
                    {
                        Err(TableError::ConditionFailed { .. }) => duplicates += 1,
                        Err(e) => return Err(e),
                        Ok(()) => return Err(TableError::Validation("retry was stored".into())),
                    }
                }
            }
            Ok::<_, TableError>((written, duplicates))
        }));
    }
    let (mut written, mut duplicates) = (0, 0);
    for h in handles {
        let (w, d) = h.await??;
        written += w;
        duplicates += d;
    }
    let took = start.elapsed();
    println!(
        "sample: {written} conditional puts into SqliteTable, {TASKS} tasks, {:.1} s ({:.0}/s); {duplicates} retries refused (ConditionFailed)",
        took.as_secs_f64(),
        written as f64 / took.as_secs_f64()
    );

    let start = Instant::now();
    let mut counts = Vec::with_capacity(SAMPLE_SHARDS as usize);
    let mut pages = 0usize;
    for shard in 0..SAMPLE_SHARDS {
        let mut cursor = None;
        let mut count = 0usize;
        loop {
            let page = table
                .query(
                    Query::partition(Index::Primary, format!("ATT#{DATE}#{shard:03}"))
                        .after(cursor),
                )
                .await?;
            pages += 1;
            count += page.items.len();
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
        counts.push(count);
    }
    let total: usize = counts.iter().sum();
    let min = counts.iter().copied().min().unwrap_or(0);
    let max = counts.iter().copied().max().unwrap_or(0);
    let mean = total as f64 / counts.len() as f64;
    println!(
        "read back: {SAMPLE_SHARDS} shard partitions, {pages} pages, {total} items in {:.2} s; items per shard min {min} / max {max} / mean {mean:.1} (max/mean {:.3})",
        start.elapsed().as_secs_f64(),
        max as f64 / mean
    );
    if total != written {
        return Err(format!("read back {total} items, wrote {written}").into());
    }
    Ok(())
}
