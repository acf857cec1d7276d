//! The `Table` contract suite against `SqliteTable` on a fresh file per test.

use std::sync::Arc;

use paraf_core::Table;
use paraf_local::table::SqliteTable;
use tempfile::TempDir;

/// A fresh, empty table; the temp dir is returned so it lives as long as the test.
async fn fresh() -> (Arc<dyn Table>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let table = SqliteTable::open(&dir.path().join("table.sqlite")).expect("open table");
    (Arc::new(table), dir)
}

paraf_contract::table_contract_tests!(fresh());
