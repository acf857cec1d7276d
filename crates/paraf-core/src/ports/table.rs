//! `Table`: a DynamoDB-shaped item store.
//!
//! Items are JSON objects. Every item has the string attributes `pk` (partition key) and
//! `sk` (sort key); together they identify it. Items may carry secondary-index keys
//! `gsi1pk`/`gsi1sk`, `gsi2pk`/`gsi2sk`, `gsi3pk`/`gsi3sk` (strings); an item without an
//! index's partition key is simply not in that index (DynamoDB's sparse indexes).
//!
//! Guarantees every adapter gives (checked by the contract suite in `paraf-contract`):
//! - single-item operations are atomic and, once they return `Ok`, durable;
//! - a condition is evaluated against the stored item in the same atomic step as the
//!   write; a failed condition returns [`TableError::ConditionFailed`] and changes nothing,
//!   never a generic error;
//! - [`Table::transact_write`] writes all of its (at most [`MAX_TX_ITEMS`]) operations or
//!   none; when a condition fails it returns `ConditionFailed { op: Some(i) }` naming the
//!   first failing operation;
//! - [`Table::transact_write_many`] applies several such transactions in order, each on its
//!   own (one failing changes nothing and leaves the others alone), and returns one result
//!   per transaction; every one reported `Ok` is durable when the call returns, so an
//!   adapter may make them durable together (one sync for all of them);
//! - [`Table::increment`] is an atomic counter: N concurrent increments by 1 return N
//!   distinct consecutive values;
//! - queries return items of one partition ordered by sort key (bytewise, ties on an
//!   index broken by the base key), forwards or backwards, in pages of at most `limit`
//!   items; a returned cursor continues exactly after the last item; `None` means no
//!   more items (a `Some` cursor may lead to an empty last page, as in DynamoDB).

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::{Map, Value};

/// One stored item: attribute name → value.
pub type Item = Map<String, Value>;

/// DynamoDB's limit on one item, applied everywhere so code that works locally works on AWS.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's limit on one `TransactWriteItems` call.
pub const MAX_TX_ITEMS: usize = 100;
/// The largest page a query returns, whatever `limit` asks.
pub const MAX_PAGE: u32 = 1000;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TableError {
    /// A condition did not hold; nothing was written. `op` names the failing operation of
    /// a transaction, and is `None` for single-item operations.
    #[error("condition failed{}", op.map(|i| format!(" on transaction operation {i}")).unwrap_or_default())]
    ConditionFailed { op: Option<usize> },
    /// The request itself is wrong (missing key, non-string key, too large, too many
    /// operations, the same key twice in one transaction, adding to a non-number).
    #[error("invalid table request: {0}")]
    Validation(String),
    /// A cursor that this table did not hand out for this query.
    #[error("invalid cursor")]
    InvalidCursor,
    /// Another transaction touched the same items at the same time; safe to retry.
    #[error("transaction conflict")]
    Conflict,
    /// The store could not be reached or failed; the cause is logged, not shown to users.
    #[error("table unavailable: {0}")]
    Unavailable(String),
}

/// Primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// `Validation` unless both parts are non-empty (DynamoDB refuses empty keys).
    pub fn validate(&self) -> Result<(), TableError> {
        if self.pk.is_empty() || self.sk.is_empty() {
            return Err(TableError::Validation(
                "attributes `pk` and `sk` must be non-empty strings".into(),
            ));
        }
        Ok(())
    }

    /// The key of a stored item (fails when `pk`/`sk` are missing or not strings).
    pub fn of(item: &Item) -> Result<Key, TableError> {
        let get = |name: &str| match item.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(TableError::Validation(format!(
                "attribute `{name}` must be a non-empty string"
            ))),
        };
        Ok(Key {
            pk: get("pk")?,
            sk: get("sk")?,
        })
    }
}

/// Which key to query by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    Primary,
    Gsi1,
    Gsi2,
    Gsi3,
}

impl Index {
    pub const ALL: [Index; 4] = [Index::Primary, Index::Gsi1, Index::Gsi2, Index::Gsi3];

    /// Names of the partition- and sort-key attributes of this index.
    pub fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Primary => ("pk", "sk"),
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
            Index::Gsi2 => ("gsi2pk", "gsi2sk"),
            Index::Gsi3 => ("gsi3pk", "gsi3sk"),
        }
    }

    /// The DynamoDB index name (`None` for the base table).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Index::Primary => None,
            Index::Gsi1 => Some("gsi1"),
            Index::Gsi2 => Some("gsi2"),
            Index::Gsi3 => Some("gsi3"),
        }
    }
}

/// A condition on the currently stored item (a missing item has no attributes).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Exists(String),
    NotExists(String),
    Equals(String, Value),
    NotEquals(String, Value),
    And(Vec<Condition>),
}

impl Condition {
    /// The item must not exist yet (insert-only).
    pub fn absent() -> Self {
        Condition::NotExists("pk".into())
    }
    /// The item must already exist.
    pub fn present() -> Self {
        Condition::Exists("pk".into())
    }
    /// Optimistic locking: the stored `version` attribute equals `v`.
    pub fn version(v: i64) -> Self {
        Condition::Equals("version".into(), Value::from(v))
    }
    pub fn equals(attr: impl Into<String>, v: impl Into<Value>) -> Self {
        Condition::Equals(attr.into(), v.into())
    }

    /// Evaluates the condition against the stored item. Adapters that cannot push the
    /// condition to their store use this, so both sides agree on its meaning.
    pub fn holds(&self, stored: Option<&Item>) -> bool {
        let get = |a: &str| stored.and_then(|i| i.get(a));
        match self {
            Condition::Exists(a) => get(a).is_some(),
            Condition::NotExists(a) => get(a).is_none(),
            Condition::Equals(a, v) => get(a).is_some_and(|x| values_equal(x, v)),
            // DynamoDB: `<>` on a missing attribute is true.
            Condition::NotEquals(a, v) => !get(a).is_some_and(|x| values_equal(x, v)),
            Condition::And(cs) => cs.iter().all(|c| c.holds(stored)),
        }
    }
}

/// Numbers compare by value (1 == 1.0), as DynamoDB does.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// Changes to one item: set attributes, remove attributes, add to numbers (a missing
/// number counts as 0). Updating a missing item creates it (DynamoDB's UpdateItem),
/// unless a condition forbids it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub set: Item,
    pub remove: Vec<String>,
    pub add: Vec<(String, i64)>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(mut self, attr: impl Into<String>, v: impl Into<Value>) -> Self {
        self.set.insert(attr.into(), v.into());
        self
    }
    pub fn remove(mut self, attr: impl Into<String>) -> Self {
        self.remove.push(attr.into());
        self
    }
    pub fn add(mut self, attr: impl Into<String>, by: i64) -> Self {
        self.add.push((attr.into(), by));
        self
    }

    /// Applies the update to the stored item (or a new one with `key`), returning the new
    /// item. Key attributes cannot be changed.
    pub fn apply(&self, key: &Key, stored: Option<&Item>) -> Result<Item, TableError> {
        let mut item = stored.cloned().unwrap_or_else(|| {
            let mut m = Item::new();
            m.insert("pk".into(), Value::String(key.pk.clone()));
            m.insert("sk".into(), Value::String(key.sk.clone()));
            m
        });
        for (k, v) in &self.set {
            if k == "pk" || k == "sk" {
                if item.get(k) != Some(v) {
                    return Err(TableError::Validation(format!(
                        "cannot update key attribute `{k}`"
                    )));
                }
                continue;
            }
            item.insert(k.clone(), v.clone());
        }
        for k in &self.remove {
            if k == "pk" || k == "sk" {
                return Err(TableError::Validation(format!(
                    "cannot remove key attribute `{k}`"
                )));
            }
            item.remove(k);
        }
        for (k, by) in &self.add {
            let current = match item.get(k) {
                None => 0,
                Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
                    TableError::Validation(format!("attribute `{k}` is not an integer"))
                })?,
                Some(_) => {
                    return Err(TableError::Validation(format!(
                        "attribute `{k}` is not a number"
                    )))
                }
            };
            let next = current
                .checked_add(*by)
                .ok_or_else(|| TableError::Validation(format!("attribute `{k}` overflows")))?;
            item.insert(k.clone(), Value::from(next));
        }
        validate_item(&item)?;
        Ok(item)
    }
}

/// Sort-key condition of a query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Any,
    Eq(String),
    BeginsWith(String),
    /// Inclusive on both ends.
    Between(String, String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

impl SortKey {
    pub fn matches(&self, sk: &str) -> bool {
        match self {
            SortKey::Any => true,
            SortKey::Eq(v) => sk == v,
            SortKey::BeginsWith(p) => sk.starts_with(p.as_str()),
            SortKey::Between(a, b) => sk >= a.as_str() && sk <= b.as_str(),
            SortKey::Lt(v) => sk < v.as_str(),
            SortKey::Le(v) => sk <= v.as_str(),
            SortKey::Gt(v) => sk > v.as_str(),
            SortKey::Ge(v) => sk >= v.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk: SortKey,
    /// `true`: ascending sort key.
    pub forward: bool,
    /// Page size; `None` means [`MAX_PAGE`].
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl Query {
    pub fn partition(index: Index, pk: impl Into<String>) -> Self {
        Query {
            index,
            pk: pk.into(),
            sk: SortKey::Any,
            forward: true,
            limit: None,
            cursor: None,
        }
    }
    pub fn sk(mut self, sk: SortKey) -> Self {
        self.sk = sk;
        self
    }
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }
    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }
    /// The effective page size.
    pub fn page_size(&self) -> usize {
        self.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE) as usize
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<Item>,
    pub cursor: Option<String>,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum TxOp {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Update {
        key: Key,
        update: Update,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// Writes nothing; the transaction fails unless the condition holds.
    Check { key: Key, condition: Condition },
}

impl TxOp {
    pub fn key(&self) -> Result<Key, TableError> {
        match self {
            TxOp::Put { item, .. } => Key::of(item),
            TxOp::Update { key, .. } | TxOp::Delete { key, .. } | TxOp::Check { key, .. } => {
                Ok(key.clone())
            }
        }
    }
}

#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError>;

    /// Stores `item` whole, replacing any item with the same key, if `condition` holds.
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError>;

    /// Applies `update` if `condition` holds; returns the item as stored afterwards.
    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError>;

    /// Deletes the item if `condition` holds; returns the deleted item, if there was one.
    async fn delete(
        &self,
        key: &Key,
        condition: Option<Condition>,
    ) -> Result<Option<Item>, TableError>;

    async fn query(&self, query: Query) -> Result<Page, TableError>;

    /// All of `ops` or none; at most [`MAX_TX_ITEMS`], each key at most once.
    async fn transact_write(&self, ops: Vec<TxOp>) -> Result<(), TableError>;

    /// Several independent transactions in one call. Each is applied exactly as
    /// [`Table::transact_write`] applies it (all of its operations or none, its own
    /// `ConditionFailed { op }`, its own `Validation`), in the order given, so one sees the
    /// writes of those before it; one that fails changes nothing and does not stop the
    /// others. Returns one result per transaction, in order. When the call returns, every
    /// transaction reported `Ok` is durable, as after `transact_write`: an adapter may make
    /// them durable together (the SQLite table commits them with one sync), which is what
    /// makes a batch of documents cheaper than one call per document. A store that fails
    /// part-way reports its error for every transaction it did not make durable.
    ///
    /// The default runs them one after the other through `transact_write` (DynamoDB has no
    /// call for several transactions; each `TransactWriteItems` is durable on its own).
    async fn transact_write_many(&self, groups: Vec<Vec<TxOp>>) -> Vec<Result<(), TableError>> {
        let mut results = Vec::with_capacity(groups.len());
        for ops in groups {
            results.push(self.transact_write(ops).await);
        }
        results
    }

    /// Adds `by` to the number `attr` of the item (creating both if missing) and returns
    /// the new value, atomically.
    async fn increment(&self, key: &Key, attr: &str, by: i64) -> Result<i64, TableError> {
        let item = self.update(key, Update::new().add(attr, by), None).await?;
        item.get(attr).and_then(Value::as_i64).ok_or_else(|| {
            TableError::Unavailable(format!("counter `{attr}` missing after update"))
        })
    }
}

/// Checks the rules every stored item follows (keys, index keys, size).
pub fn validate_item(item: &Item) -> Result<(), TableError> {
    Key::of(item)?;
    for index in &Index::ALL[1..] {
        let (p, s) = index.key_attributes();
        for a in [p, s] {
            // DynamoDB refuses an empty string as an index key, so the local store must too.
            match item.get(a) {
                None => {}
                Some(Value::String(s)) if !s.is_empty() => {}
                Some(_) => {
                    return Err(TableError::Validation(format!(
                        "index attribute `{a}` must be a non-empty string"
                    )))
                }
            }
        }
    }
    let size = serde_json::to_vec(item)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_ITEM_BYTES {
        return Err(TableError::Validation(format!(
            "item of {size} bytes is larger than {MAX_ITEM_BYTES}"
        )));
    }
    Ok(())
}

/// Checks a transaction's shape: size limit and unique keys.
pub fn validate_transaction(ops: &[TxOp]) -> Result<(), TableError> {
    if ops.is_empty() || ops.len() > MAX_TX_ITEMS {
        return Err(TableError::Validation(format!(
            "a transaction has 1 to {MAX_TX_ITEMS} operations, not {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        let key = op.key()?;
        if let TxOp::Put { item, .. } = op {
            validate_item(item)?;
        }
        if !seen.insert(key.clone()) {
            return Err(TableError::Validation(format!(
                "key ({}, {}) appears twice in one transaction",
                key.pk, key.sk
            )));
        }
    }
    Ok(())
}

/// The position after which a query page continues: the key attributes of the last item
/// returned (DynamoDB's `LastEvaluatedKey`), made opaque.
pub fn encode_cursor(index: Index, last: &Item) -> String {
    let (p, s) = index.key_attributes();
    let mut key = Map::new();
    for a in ["pk", "sk", p, s] {
        if let Some(v) = last.get(a) {
            key.insert(a.to_string(), v.clone());
        }
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Value::Object(key).to_string())
}

/// Checks a query and reads its cursor, if any: the partition key must be non-empty
/// (`Validation`), the cursor made for the same index and partition (`InvalidCursor`).
pub fn query_cursor(query: &Query) -> Result<Option<Item>, TableError> {
    if query.pk.is_empty() {
        return Err(TableError::Validation(
            "a query needs a non-empty partition key".into(),
        ));
    }
    let Some(c) = &query.cursor else {
        return Ok(None);
    };
    let last = decode_cursor(query.index, c)?;
    let (p, _) = query.index.key_attributes();
    if last.get(p).and_then(Value::as_str) != Some(query.pk.as_str()) {
        return Err(TableError::InvalidCursor);
    }
    Ok(Some(last))
}

/// Reads a cursor made by [`encode_cursor`], checking it belongs to `index`.
pub fn decode_cursor(index: Index, cursor: &str) -> Result<Item, TableError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| TableError::InvalidCursor)?;
    let key: Item = serde_json::from_slice(&bytes).map_err(|_| TableError::InvalidCursor)?;
    let (p, s) = index.key_attributes();
    for a in ["pk", "sk", p, s] {
        if !matches!(key.get(a), Some(Value::String(_))) {
            return Err(TableError::InvalidCursor);
        }
    }
    // Exactly this index's key attributes: a GSI cursor also names `pk`/`sk`, and must
    // not pass for a cursor of the base table.
    let expected = if index == Index::Primary { 2 } else { 4 };
    if key.len() != expected {
        return Err(TableError::InvalidCursor);
    }
    Ok(key)
}

/// Builds an item from a JSON object literal (handy in tests and the domain).
pub fn item(value: Value) -> Item {
    match value {
        Value::Object(m) => m,
        _ => Item::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_condition_on_a_missing_item_sees_no_attributes() {
        assert!(Condition::absent().holds(None));
        assert!(!Condition::present().holds(None));
        assert!(Condition::NotEquals("a".into(), json!(1)).holds(None));
        assert!(!Condition::version(1).holds(None));
    }

    #[test]
    fn numbers_compare_by_value_in_conditions() {
        let stored = item(json!({"pk":"a","sk":"b","version":3}));
        assert!(Condition::version(3).holds(Some(&stored)));
        assert!(Condition::equals("version", json!(3.0)).holds(Some(&stored)));
        assert!(!Condition::version(2).holds(Some(&stored)));
    }

    #[test]
    fn an_update_cannot_change_the_key() {
        let key = Key::new("a", "b");
        let err = Update::new().set("pk", "z").apply(&key, None).unwrap_err();
        assert!(matches!(err, TableError::Validation(_)));
    }

    #[test]
    fn adding_to_a_string_is_refused() {
        let key = Key::new("a", "b");
        let stored = item(json!({"pk":"a","sk":"b","n":"x"}));
        assert!(Update::new()
            .add("n", 1)
            .apply(&key, Some(&stored))
            .is_err());
    }

    #[test]
    fn a_cursor_for_one_index_is_refused_by_another() {
        let last = item(json!({"pk":"a","sk":"b","gsi1pk":"x","gsi1sk":"y"}));
        let c = encode_cursor(Index::Gsi1, &last);
        assert!(decode_cursor(Index::Gsi1, &c).is_ok());
        assert_eq!(
            decode_cursor(Index::Gsi2, &c),
            Err(TableError::InvalidCursor)
        );
        assert_eq!(
            decode_cursor(Index::Primary, &c),
            Err(TableError::InvalidCursor)
        );
        assert_eq!(
            decode_cursor(Index::Primary, "!!"),
            Err(TableError::InvalidCursor)
        );
    }

    #[test]
    fn a_transaction_may_not_touch_one_key_twice() {
        let put = TxOp::Put {
            item: item(json!({"pk":"a","sk":"b"})),
            condition: None,
        };
        assert!(validate_transaction(&[put.clone(), put]).is_err());
        assert!(validate_transaction(&[]).is_err());
    }
}
