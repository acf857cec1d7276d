//! The `Table` contract suite against DynamoDB on moto: one fresh table per test.

mod common;

use std::sync::Arc;

use paraf_aws::{create_table, DynamoTable};
use paraf_core::ports::table::Table;

async fn fresh() -> Arc<dyn Table> {
    let clients = common::Moto::shared().clients().await;
    let name = common::unique("paraf");
    if let Err(e) = create_table(&clients.dynamodb, &name).await {
        panic!("create table {name}: {e}");
    }
    Arc::new(DynamoTable::new(clients.dynamodb, name))
}

paraf_contract::table_contract_tests!(fresh());
