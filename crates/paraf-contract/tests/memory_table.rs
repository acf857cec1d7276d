//! The in-memory table used by unit tests is held to the same contract as the real ones.

use std::sync::Arc;

use paraf_core::memory::MemoryTable;
use paraf_core::Table;

async fn fresh() -> Arc<dyn Table> {
    Arc::new(MemoryTable::new())
}

paraf_contract::table_contract_tests!(fresh());
