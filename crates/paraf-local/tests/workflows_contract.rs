//! The `Workflows` contract against `LocalWorkflows`: the interpreter over a SQLite table,
//! the system clock and a background worker, as `paraf serve` runs it.

use std::collections::BTreeMap;
use std::sync::Arc;

use paraf_core::SystemClock;
use paraf_local::table::SqliteTable;
use paraf_local::workflows::{handler_fn, Handlers, LocalWorkflows};
use serde_json::json;

/// Stops the background worker when the test ends; keeps the table's folder alive.
struct Guard {
    worker: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

async fn fresh() -> (LocalWorkflows, String, Guard) {
    let dir = tempfile::tempdir().expect("temp dir");
    let table = SqliteTable::open(&dir.path().join("paraf.sqlite")).expect("sqlite table");
    let mut handlers = Handlers::new();
    handlers.insert(
        "notify".into(),
        handler_fn(|_, _| async { Ok(json!({"sent": true})) }),
    );
    let wf = LocalWorkflows::new(Arc::new(table), handlers, Arc::new(SystemClock));
    let subs = BTreeMap::from([(
        "NotifyFunctionArn".to_string(),
        "arn:aws:lambda:ap-southeast-3:000000000000:function:notify".to_string(),
    )]);
    wf.register(
        "contract-callback",
        paraf_contract::workflows::CALLBACK_DEFINITION,
        &subs,
    )
    .expect("the contract definition registers");
    let worker = wf.spawn_worker();
    (
        wf,
        "contract-callback".to_string(),
        Guard { worker, _dir: dir },
    )
}

paraf_contract::workflows_contract_tests!(fresh());
