//! Group commit: callers who want the same kind of durable write at the same time share
//! one write. A store pays for durability per write (a sync of the SQLite WAL, of a file
//! and its folder), not per item, so a hundred documents archived together cost about as
//! much as one.
//!
//! A caller queues its request and waits for its own answer. When no flush is running,
//! the caller starts one as a task of its own (so a caller that stops waiting — a client
//! that hangs up — never interrupts a write other callers depend on). The flush takes
//! everything queued, up to a limit, writes it in one go, answers each caller, and goes
//! on while requests keep arriving; whatever arrives during a write forms the next group.
//! Nobody is answered before the write that holds their request has returned, so an
//! answer means what the write's own guarantee says (for the archive: durable).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// The write of one group: one answer per request, in order.
pub type Flush<Req, Res> =
    Arc<dyn Fn(Vec<Req>) -> Pin<Box<dyn Future<Output = Vec<Res>> + Send>> + Send + Sync>;

pub struct Group<Req, Res> {
    shared: Arc<Shared<Req, Res>>,
}

impl<Req, Res> Clone for Group<Req, Res> {
    fn clone(&self) -> Self {
        Group {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<Req, Res> {
    queue: Mutex<Queue<Req, Res>>,
    flush: Flush<Req, Res>,
    max: usize,
}

struct Queue<Req, Res> {
    waiting: Vec<(Req, oneshot::Sender<Res>)>,
    flushing: bool,
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unanswered;

impl<Req: Send + 'static, Res: Send + 'static> Group<Req, Res> {
    /// Groups of at most `max` requests (at least 1), written by `flush`.
    pub fn new(max: usize, flush: Flush<Req, Res>) -> Self {
        Group {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    waiting: Vec::new(),
                    flushing: false,
                }),
                flush,
                max: max.max(1),
            }),
        }
    }

    /// Queues `req` and waits for its answer; `Unanswered` only when the write panicked
    /// (its requests may or may not have been written). Must run inside a tokio runtime.
    pub async fn submit(&self, req: Req) -> Result<Res, Unanswered> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut q = lock(&self.shared.queue);
            q.waiting.push((req, tx));
            !std::mem::replace(&mut q.flushing, true)
        };
        if start {
            let shared = Arc::clone(&self.shared);
            tokio::spawn(async move {
                let _done = FlushEnds(&shared);
                loop {
                    let batch: Vec<_> = {
                        let mut q = lock(&shared.queue);
                        let n = q.waiting.len().min(shared.max);
                        q.waiting.drain(..n).collect()
                    };
                    if batch.is_empty() {
                        return;
                    }
                    let (requests, answers): (Vec<Req>, Vec<_>) = batch.into_iter().unzip();
                    let results = (shared.flush)(requests).await;
                    // A write that answers fewer requests leaves the rest `Unanswered`.
                    for (answer, result) in answers.into_iter().zip(results) {
                        let _ = answer.send(result);
                    }
                }
            });
        }
        rx.await.map_err(|_| Unanswered)
    }
}

/// Ends a flush however it ends: the next caller starts a new one. On a panic the queued
/// requests are dropped (their callers get `Unanswered`) rather than left waiting forever.
struct FlushEnds<'a, Req, Res>(&'a Shared<Req, Res>);

impl<Req, Res> Drop for FlushEnds<'_, Req, Res> {
    fn drop(&mut self) {
        let mut q = lock(&self.0.queue);
        q.flushing = false;
        if std::thread::panicking() {
            q.waiting.clear();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding it; a poisoned queue is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_writes_and_each_gets_its_own_answer() {
        let writes = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&writes);
        let group: Group<u32, u32> = Group::new(
            64,
            Arc::new(move |reqs: Vec<u32>| {
                let counted = Arc::clone(&counted);
                Box::pin(async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    reqs.into_iter().map(|r| r * 2).collect()
                })
            }),
        );
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let g = group.clone();
            tasks.push(tokio::spawn(async move { (i, g.submit(i).await) }));
        }
        for t in tasks {
            let (i, answer) = t.await.unwrap();
            assert_eq!(answer, Ok(i * 2));
        }
        let writes = writes.load(Ordering::SeqCst);
        assert!(writes < 200, "200 requests took {writes} writes");
    }

    #[tokio::test]
    async fn a_write_that_panics_leaves_its_callers_unanswered_and_the_next_one_works() {
        let group: Group<u32, u32> = Group::new(
            8,
            Arc::new(|reqs: Vec<u32>| {
                Box::pin(async move {
                    if reqs.contains(&13) {
                        panic!("unlucky");
                    }
                    reqs
                })
            }),
        );
        assert_eq!(group.submit(13).await, Err(Unanswered));
        assert_eq!(group.submit(7).await, Ok(7));
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_does_not_stop_the_write() {
        let written = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&written);
        let group: Group<u32, u32> = Group::new(
            8,
            Arc::new(move |reqs: Vec<u32>| {
                let w = Arc::clone(&w);
                Box::pin(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    w.fetch_add(reqs.len(), Ordering::SeqCst);
                    reqs
                })
            }),
        );
        let impatient = tokio::time::timeout(std::time::Duration::from_millis(1), group.submit(1));
        assert!(impatient.await.is_err(), "gave up waiting");
        assert_eq!(group.submit(2).await, Ok(2));
        assert_eq!(
            written.load(Ordering::SeqCst),
            2,
            "both requests were written"
        );
    }
}
