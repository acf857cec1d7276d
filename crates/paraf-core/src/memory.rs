//! `MemoryTable`: a `Table` held in memory, for unit tests of the domain and the HTTP
//! layer. It passes the same contract suite as the SQLite and DynamoDB tables, so tests
//! written against it mean the same thing there. Not durable: never used by `paraf serve`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;

use crate::ports::table::{
    encode_cursor, query_cursor, validate_item, validate_transaction, Condition, Item, Key, Page,
    Query, Table, TableError, TxOp, Update,
};

#[derive(Default)]
pub struct MemoryTable {
    items: Mutex<BTreeMap<Key, Item>>,
}

impl MemoryTable {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Key, Item>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn check(
    cond: &Option<Condition>,
    stored: Option<&Item>,
    op: Option<usize>,
) -> Result<(), TableError> {
    match cond {
        Some(c) if !c.holds(stored) => Err(TableError::ConditionFailed { op }),
        _ => Ok(()),
    }
}

/// The sort tuple of an item in an index: (index sort key, pk, sk).
fn position(item: &Item, sk_attr: &str) -> (String, String, String) {
    let s = |a: &str| {
        item.get(a)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s(sk_attr), s("pk"), s("sk"))
}

#[async_trait]
impl Table for MemoryTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        key.validate()?;
        Ok(self.lock().get(key).cloned())
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        validate_item(&item)?;
        let key = Key::of(&item)?;
        let mut items = self.lock();
        check(&condition, items.get(&key), None)?;
        items.insert(key, item);
        Ok(())
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError> {
        key.validate()?;
        let mut items = self.lock();
        let stored = items.get(key);
        check(&condition, stored, None)?;
        let new = update.apply(key, stored)?;
        items.insert(key.clone(), new.clone());
        Ok(new)
    }

    async fn delete(
        &self,
        key: &Key,
        condition: Option<Condition>,
    ) -> Result<Option<Item>, TableError> {
        key.validate()?;
        let mut items = self.lock();
        check(&condition, items.get(key), None)?;
        Ok(items.remove(key))
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let (pk_attr, sk_attr) = query.index.key_attributes();
        let after = query_cursor(&query)?.map(|last| position(&last, sk_attr));
        let items = self.lock();
        let mut hits: Vec<(&Item, (String, String, String))> = items
            .values()
            .filter(|it| it.get(pk_attr).and_then(Value::as_str) == Some(query.pk.as_str()))
            .filter(|it| {
                it.get(sk_attr)
                    .and_then(Value::as_str)
                    .is_some_and(|sk| query.sk.matches(sk))
            })
            .map(|it| (it, position(it, sk_attr)))
            .collect();
        hits.sort_by(|a, b| a.1.cmp(&b.1));
        if !query.forward {
            hits.reverse();
        }
        let rest: Vec<&Item> = hits
            .into_iter()
            .filter(|(_, pos)| match &after {
                Some(a) if query.forward => pos > a,
                Some(a) => pos < a,
                None => true,
            })
            .map(|(it, _)| it)
            .collect();
        let n = query.page_size();
        let page: Vec<Item> = rest.iter().take(n).map(|it| (*it).clone()).collect();
        let cursor = if rest.len() > n {
            page.last().map(|last| encode_cursor(query.index, last))
        } else {
            None
        };
        Ok(Page {
            items: page,
            cursor,
        })
    }

    async fn transact_write(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        validate_transaction(&ops)?;
        let mut items = self.lock();
        let mut writes: Vec<(Key, Option<Item>)> = Vec::with_capacity(ops.len());
        for (i, op) in ops.into_iter().enumerate() {
            let key = op.key()?;
            let stored = items.get(&key);
            match op {
                TxOp::Put { item, condition } => {
                    check(&condition, stored, Some(i))?;
                    writes.push((key, Some(item)));
                }
                TxOp::Update {
                    update, condition, ..
                } => {
                    check(&condition, stored, Some(i))?;
                    let new = update.apply(&key, stored)?;
                    writes.push((key, Some(new)));
                }
                TxOp::Delete { condition, .. } => {
                    check(&condition, stored, Some(i))?;
                    writes.push((key, None));
                }
                TxOp::Check { condition, .. } => check(&Some(condition), stored, Some(i))?,
            }
        }
        for (key, item) in writes {
            match item {
                Some(it) => items.insert(key, it),
                None => items.remove(&key),
            };
        }
        Ok(())
    }
}
