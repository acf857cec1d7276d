//! e-SPPD on the embedded adapters (the world of `tests/travel.rs`: demo organisation in
//! SQLite on a temp dir, the local interpreter running `approval.asl.json` with the
//! notify / escalate / sign wiring of `paraf serve`, P-256 signatures by a local CA):
//!
//! a) latency from the Sekretaris's decision (the last of four approval steps) until the
//!    order is `approved` with its Surat Tugas and one SPPD per traveller signed and
//!    archived, over `SPPD_BENCH_ORDERS` orders (default 20) of two travellers each;
//! b) orders per second through the whole chain, `SPPD_BENCH_THROUGHPUT` orders
//!    (default 50) submitted at once and every open approval step approved as soon as
//!    it appears, until every order is `approved`.
//!
//! `cargo bench -p paraf-tasks --bench sppd_chain`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use paraf_core::travel::{OrderStatus, TravelOrder};
use support::{world, World, AKUN};
use time::Date;

/// Travellers, taken two by two; every pair travels on its own days.
const POOL: &[&str] = &[
    "staf",
    "intan.permata",
    "budi.santoso",
    "rizky.ramadhan",
    "nurul.hidayah",
    "dimas.prakoso",
    "sari.wulandari",
    "bendahara",
    "arsiparis",
    "agendaris",
];

/// The requester: staff, so the chain is Kasubag, Kabag, PPK, Sekretaris.
const REQUESTER: &str = "staf";

/// Signatures per order: SPT (Kasubag and Kabag initial, PPK and Sekretaris sign) and
/// two SPPD (Kasubag and Kabag initial, the PPK signs).
const SIGNATURES_PER_ORDER: usize = 4 + 3 + 3;
const DOCUMENTS_PER_ORDER: usize = 3;

/// Gives up on an order (or the whole run) after this long: a failed sign step is only
/// logged by the interpreter, so without a limit the bench would spin.
const STALL: Duration = Duration::from_secs(600);

fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{name}={v}: a positive whole number")),
        Err(_) => default,
    }
}

/// A monthly cap of 31 days and a pagu no run exhausts, this year and next.
async fn prepare(w: &World) {
    let admin = w.who("admin").await;
    w.travel
        .set_monthly_cap(&admin, 31)
        .await
        .expect("monthly cap");
    let ppk = w.who("ppk").await;
    for year in [w.today.year(), w.today.year() + 1] {
        w.travel
            .set_pagu(
                &ppk,
                year,
                AKUN,
                "Belanja perjalanan dinas biasa",
                1_000_000_000_000,
            )
            .await
            .expect("pagu");
    }
}

/// Order `i`'s two travellers and two-day trip: the pairs of `POOL` in turn, all pairs
/// on the same days, the next round two days later, starting tomorrow.
fn trip(w: &World, i: usize) -> ([&'static str; 2], Date, Date) {
    let pairs = POOL.len() / 2;
    let p = i % pairs;
    let from = w.day(1 + 2 * (i / pairs) as i64);
    (
        [POOL[2 * p], POOL[2 * p + 1]],
        from,
        w.day(2 + 2 * (i / pairs) as i64),
    )
}

async fn draft(w: &World, i: usize) -> TravelOrder {
    let (pelaksana, from, to) = trip(w, i);
    w.draft(REQUESTER, &pelaksana, from, to).await
}

/// Approved, with the SPT and both SPPD archived.
fn done(o: &TravelOrder) -> bool {
    o.status == OrderStatus::Approved && o.documents.spt.is_some() && o.documents.sppd.len() == 2
}

/// Drives the interpreter until the order is approved with its documents archived.
async fn until_archived(w: &World, id: &str) -> TravelOrder {
    let start = Instant::now();
    loop {
        w.settle_workflows().await;
        let o = w.order(id).await;
        if done(&o) {
            return o;
        }
        assert!(
            matches!(o.status, OrderStatus::Submitted | OrderStatus::Approved),
            "order {id} went to {:?}",
            o.status
        );
        assert!(
            start.elapsed() < STALL,
            "order {id} not archived after {STALL:?}"
        );
        tokio::task::yield_now().await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// a) Steps 1–3 approved, then the clock runs from the Sekretaris's decision (decide +
/// deliver) until the order reads `approved` with SPT and SPPD archived.
async fn last_approval_latency(n: usize) {
    let w = world().await;
    prepare(&w).await;
    let mut samples = Vec::with_capacity(n);
    // One order first, not counted: fonts, templates and the CA key are loaded once.
    for i in 0..=n {
        let o = draft(&w, i).await;
        w.submit(&o.id, REQUESTER).await.expect("submit");
        for _ in 0..3 {
            w.decide(&o.id, None, "approve", "").await;
        }
        let last = w.open_step(&o.id).await;
        assert_eq!(last.step, 4, "the Sekretaris decides last");
        let start = Instant::now();
        w.decide_task(&last, None, "approve", "").await;
        let o = until_archived(&w, &o.id).await;
        let took = start.elapsed();
        if i == 0 {
            // The documents really are signed: 4 signatures on the SPT, 3 on each SPPD.
            let spt = w.pdf(o.documents.spt.as_deref().expect("SPT")).await;
            let mut sigs = w.signature_count(&spt).await;
            for id in &o.documents.sppd {
                sigs += w.signature_count(&w.pdf(id).await).await;
            }
            assert_eq!(sigs, SIGNATURES_PER_ORDER);
        } else {
            samples.push(took);
        }
    }
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "sppd last-approval→archived: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms, min {:.1} ms, \
         mean {:.1} ms ({n} orders of 2 travellers, 3 documents / {SIGNATURES_PER_ORDER} \
         signatures each)",
        ms(percentile(&samples, 50)),
        ms(percentile(&samples, 95)),
        ms(samples[samples.len() - 1]),
        ms(samples[0]),
        ms(mean),
    );
}

/// b) `m` drafts submitted one after the other, then: drive the interpreter, approve every
/// open approval step, until every order is approved with its documents archived. The
/// clock runs from the first submission to the last archived order.
async fn chain_throughput(m: usize) {
    let w = world().await;
    prepare(&w).await;
    let mut drafts = Vec::with_capacity(m);
    for i in 0..m {
        drafts.push(draft(&w, i).await.id);
    }
    let requester = w.who(REQUESTER).await;
    let start = Instant::now();
    for id in &drafts {
        w.travel
            .submit(id, &requester, &w.wf)
            .await
            .expect("submit");
    }
    let mut pending = drafts;
    let mut decisions = 0usize;
    let mut rounds = 0usize;
    while !pending.is_empty() {
        rounds += 1;
        w.settle_workflows().await;
        let mut still = Vec::with_capacity(pending.len());
        for id in pending {
            if let Some(t) = w.open_task(&id).await {
                w.decide_task(&t, None, "approve", "").await;
                decisions += 1;
                still.push(id);
                continue;
            }
            let o = w.order(&id).await;
            if done(&o) {
                continue;
            }
            assert_eq!(o.status, OrderStatus::Submitted, "order {id}");
            still.push(id);
        }
        pending = still;
        assert!(
            start.elapsed() < STALL,
            "{} orders not archived after {STALL:?}",
            pending.len()
        );
    }
    let took = start.elapsed().as_secs_f64();
    assert_eq!(decisions, 4 * m, "four approval steps per order");
    println!(
        "sppd chain throughput: {m} orders in {took:.1} s = {:.2} orders/s ({:.1} documents/s, \
         {:.1} signatures/s; {decisions} decisions, {rounds} interpreter rounds)",
        m as f64 / took,
        (m * DOCUMENTS_PER_ORDER) as f64 / took,
        (m * SIGNATURES_PER_ORDER) as f64 / took,
    );
}

fn main() {
    let orders = env_count("SPPD_BENCH_ORDERS", 20);
    let throughput = env_count("SPPD_BENCH_THROUGHPUT", 50);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        last_approval_latency(orders).await;
        chain_throughput(throughput).await;
    });
}
