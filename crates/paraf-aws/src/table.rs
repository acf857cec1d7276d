//! [`Table`] on DynamoDB: one table with string keys `pk`/`sk` and three sparse global
//! secondary indexes `gsi1`..`gsi3` on `gsi{n}pk`/`gsi{n}sk` (projection ALL).
//!
//! Conditions and updates are pushed to DynamoDB as expressions, so they are evaluated in
//! the same atomic step as the write; nothing is read first. Items are JSON objects mapped
//! to attribute values one to one (string S, number N, bool BOOL, null NULL, array L,
//! object M).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType,
    TableStatus, TransactWriteItem, Update as DynUpdate,
};
use aws_sdk_dynamodb::Client;
use paraf_core::ports::table::{
    encode_cursor, query_cursor, validate_item, validate_transaction, Condition, Index, Item, Key,
    Page, Query, SortKey, Table, TableError, TxOp, Update,
};
use serde_json::{Map, Number, Value};

/// The DynamoDB-backed table. Cheap to clone; build the [`Client`] once per cold start.
#[derive(Clone, Debug)]
pub struct DynamoTable {
    client: Client,
    name: String,
}

impl DynamoTable {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        DynamoTable {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Creates the table paraf expects (on-demand, `pk`/`sk`, GSIs `gsi1`..`gsi3`) and waits
/// until it is ACTIVE. Used by tests and by deployment checks; production tables come from
/// the SAM template with the same shape.
pub async fn create_table(client: &Client, name: &str) -> Result<(), TableError> {
    let s = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| TableError::Unavailable(format!("table definition: {e}")))
    };
    let schema = |p: &str, s: &str| -> Result<Vec<KeySchemaElement>, TableError> {
        let el = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(|e| TableError::Unavailable(format!("table definition: {e}")))
        };
        Ok(vec![el(p, KeyType::Hash)?, el(s, KeyType::Range)?])
    };
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(schema("pk", "sk")?));
    for index in Index::ALL {
        let (p, k) = index.key_attributes();
        req = req
            .attribute_definitions(s(p)?)
            .attribute_definitions(s(k)?);
        if let Some(index_name) = index.name() {
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(index_name)
                .set_key_schema(Some(schema(p, k)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| TableError::Unavailable(format!("table definition: {e}")))?;
            req = req.global_secondary_indexes(gsi);
        }
    }
    req.send().await.map_err(|e| map_err("CreateTable", e))?;
    // Tables take seconds to become ACTIVE on AWS (at once on emulators).
    let mut wait = Duration::from_millis(20);
    for _ in 0..60 {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| map_err("DescribeTable", e))?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(2));
    }
    Err(TableError::Unavailable(format!(
        "table `{name}` did not become active"
    )))
}

// ---------------------------------------------------------------------------------------
// values

/// JSON value → attribute value.
pub fn to_attr(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_attr).collect()),
        Value::Object(m) => AttributeValue::M(
            m.iter()
                .map(|(k, v)| (k.clone(), to_attr(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// Attribute value → JSON value. Types paraf never writes (binary, sets) are refused.
pub fn from_attr(a: &AttributeValue) -> Result<Value, TableError> {
    Ok(match a {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => parse_number(n)?,
        AttributeValue::L(l) => Value::Array(l.iter().map(from_attr).collect::<Result<_, _>>()?),
        AttributeValue::M(m) => Value::Object(from_attrs(m)?),
        other => {
            tracing::error!(?other, "unsupported DynamoDB attribute type");
            return Err(TableError::Unavailable(
                "stored item has an unsupported attribute type".into(),
            ));
        }
    })
}

fn parse_number(n: &str) -> Result<Value, TableError> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(Value::from(i));
    }
    if let Ok(u) = n.parse::<u64>() {
        return Ok(Value::from(u));
    }
    n.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| TableError::Unavailable(format!("stored number `{n}` is not JSON")))
}

pub fn to_attrs(item: &Item) -> HashMap<String, AttributeValue> {
    item.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()
}

pub fn from_attrs(m: &HashMap<String, AttributeValue>) -> Result<Item, TableError> {
    let mut out = Map::new();
    for (k, v) in m {
        out.insert(k.clone(), from_attr(v)?);
    }
    Ok(out)
}

fn key_attrs(key: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(key.pk.clone())),
        ("sk".to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

// ---------------------------------------------------------------------------------------
// expressions

/// Collects `#n`/`:v` placeholders shared by the update and condition expressions of one
/// request, so attribute names never clash with DynamoDB's reserved words.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| v.as_str() == attr) {
            return k.clone();
        }
        let k = format!("#n{}", self.names.len());
        self.names.insert(k.clone(), attr.to_string());
        k
    }

    fn value(&mut self, v: AttributeValue) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), v);
        k
    }

    /// `None` for a condition that always holds (an empty `And`).
    fn condition(&mut self, c: &Condition) -> Option<String> {
        match c {
            Condition::Exists(a) => Some(format!("attribute_exists({})", self.name(a))),
            Condition::NotExists(a) => Some(format!("attribute_not_exists({})", self.name(a))),
            Condition::Equals(a, v) => {
                let n = self.name(a);
                Some(format!("{n} = {}", self.value(to_attr(v))))
            }
            Condition::NotEquals(a, v) => {
                let n = self.name(a);
                Some(format!("{n} <> {}", self.value(to_attr(v))))
            }
            Condition::And(cs) => {
                let parts: Vec<String> = cs
                    .iter()
                    .filter_map(|c| self.condition(c))
                    .map(|p| format!("({p})"))
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" AND "))
            }
        }
    }

    fn opt_condition(&mut self, c: Option<&Condition>) -> Option<String> {
        c.and_then(|c| self.condition(c))
    }

    /// `None` when the update changes nothing (UpdateItem then only ensures the item exists).
    fn update(&mut self, key: &Key, u: &Update) -> Result<Option<String>, TableError> {
        check_update(key, u)?;
        let mut set = Vec::new();
        for (a, v) in &u.set {
            if a == "pk" || a == "sk" {
                continue; // same value as the key: checked above
            }
            let n = self.name(a);
            set.push(format!("{n} = {}", self.value(to_attr(v))));
        }
        let remove: Vec<String> = u.remove.iter().map(|a| self.name(a)).collect();
        let mut add = Vec::new();
        for (a, by) in &u.add {
            let n = self.name(a);
            add.push(format!(
                "{n} {}",
                self.value(AttributeValue::N(by.to_string()))
            ));
        }
        let mut clauses = Vec::new();
        if !set.is_empty() {
            clauses.push(format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            clauses.push(format!("REMOVE {}", remove.join(", ")));
        }
        if !add.is_empty() {
            clauses.push(format!("ADD {}", add.join(", ")));
        }
        Ok((!clauses.is_empty()).then(|| clauses.join(" ")))
    }

    /// `attribute_not_exists(a) OR attribute_type(a, N)` for every attribute `u` adds to.
    /// DynamoDB refuses ADD to a non-number anyway; checking it as a condition makes the
    /// refusal part of the atomic condition (moto 5.2 otherwise applies the SET part of
    /// such an update before it fails on the ADD).
    fn add_guards(&mut self, u: &Update) -> Option<String> {
        let parts: Vec<String> = u
            .add
            .iter()
            .map(|(a, _)| {
                let n = self.name(a);
                let t = self.value(AttributeValue::S("N".into()));
                format!("(attribute_not_exists({n}) OR attribute_type({n}, {t}))")
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The rules DynamoDB would enforce only after a round trip (or differently), checked up
/// front so every adapter refuses the same updates with `Validation`.
fn check_update(key: &Key, u: &Update) -> Result<(), TableError> {
    key.validate()?;
    for (a, v) in &u.set {
        let same = match a.as_str() {
            "pk" => Some(v.as_str() == Some(key.pk.as_str())),
            "sk" => Some(v.as_str() == Some(key.sk.as_str())),
            _ => None,
        };
        if same == Some(false) {
            return Err(TableError::Validation(format!(
                "cannot update key attribute `{a}`"
            )));
        }
        if is_index_key(a) && !matches!(v, Value::String(s) if !s.is_empty()) {
            return Err(TableError::Validation(format!(
                "index attribute `{a}` must be a non-empty string"
            )));
        }
    }
    for a in u.remove.iter().chain(u.add.iter().map(|(a, _)| a)) {
        if a == "pk" || a == "sk" {
            return Err(TableError::Validation(format!(
                "cannot change key attribute `{a}`"
            )));
        }
    }
    for (a, _) in &u.add {
        if is_index_key(a) {
            return Err(TableError::Validation(format!(
                "index attribute `{a}` must be a string"
            )));
        }
    }
    Ok(())
}

fn is_index_key(a: &str) -> bool {
    Index::ALL[1..].iter().any(|i| {
        let (p, s) = i.key_attributes();
        a == p || a == s
    })
}

fn key_condition(e: &mut Expr, q: &Query) -> String {
    let (p, s) = q.index.key_attributes();
    let pn = e.name(p);
    let pv = e.value(AttributeValue::S(q.pk.clone()));
    let mut out = format!("{pn} = {pv}");
    let cmp = |op: &str, v: &str, e: &mut Expr| {
        let sn = e.name(s);
        let sv = e.value(AttributeValue::S(v.to_string()));
        format!(" AND {sn} {op} {sv}")
    };
    let tail = match &q.sk {
        SortKey::Any => String::new(),
        SortKey::Eq(v) => cmp("=", v, e),
        SortKey::Lt(v) => cmp("<", v, e),
        SortKey::Le(v) => cmp("<=", v, e),
        SortKey::Gt(v) => cmp(">", v, e),
        SortKey::Ge(v) => cmp(">=", v, e),
        SortKey::BeginsWith(v) => {
            let sn = e.name(s);
            let sv = e.value(AttributeValue::S(v.clone()));
            format!(" AND begins_with({sn}, {sv})")
        }
        SortKey::Between(a, b) => {
            let sn = e.name(s);
            let av = e.value(AttributeValue::S(a.clone()));
            let bv = e.value(AttributeValue::S(b.clone()));
            format!(" AND {sn} BETWEEN {av} AND {bv}")
        }
    };
    out.push_str(&tail);
    out
}

// ---------------------------------------------------------------------------------------
// errors

/// Maps an SDK error to the port's error; the AWS code and message are logged, not shown.
fn map_err<E, R>(op: &'static str, err: SdkError<E, R>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().unwrap_or("").to_string();
    let message = err.message().unwrap_or("").to_string();
    match code.as_str() {
        "ConditionalCheckFailedException" => TableError::ConditionFailed { op: None },
        "ValidationException" => {
            tracing::info!(op, code, message, "DynamoDB refused the request");
            TableError::Validation(format!("DynamoDB refused {op}"))
        }
        "TransactionConflictException" | "TransactionInProgressException" => {
            tracing::info!(op, code, message, "DynamoDB transaction conflict");
            TableError::Conflict
        }
        _ => {
            tracing::error!(op, code, message, error = ?aws_sdk_dynamodb::error::DisplayErrorContext(&err), "DynamoDB request failed");
            TableError::Unavailable(format!("DynamoDB {op} failed"))
        }
    }
}

fn map_tx_err<R: std::fmt::Debug>(err: SdkError<TransactWriteItemsError, R>) -> TableError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        let reasons = e.cancellation_reasons();
        // The first failed condition wins; DynamoDB reports one reason per operation, in order.
        if let Some(i) = reasons
            .iter()
            .position(|r| r.code() == Some("ConditionalCheckFailed"))
        {
            return TableError::ConditionFailed { op: Some(i) };
        }
        let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).collect();
        if codes.contains(&"TransactionConflict") {
            tracing::info!(?codes, "DynamoDB transaction conflict");
            return TableError::Conflict;
        }
        if codes.contains(&"ValidationError") {
            tracing::info!(?codes, message = ?e.message(), "DynamoDB refused a transaction");
            return TableError::Validation("DynamoDB refused the transaction".into());
        }
        tracing::error!(?codes, message = ?e.message(), "DynamoDB transaction cancelled");
        return TableError::Unavailable("DynamoDB transaction cancelled".into());
    }
    map_err("TransactWriteItems", err)
}

// ---------------------------------------------------------------------------------------
// the port

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        key.validate()?;
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_err("GetItem", e))?;
        out.item().map(from_attrs).transpose()
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        validate_item(&item)?;
        let mut e = Expr::default();
        let cond = e.opt_condition(condition.as_ref());
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(to_attrs(&item)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await
            .map_err(|e| map_err("PutItem", e))?;
        Ok(())
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError> {
        let mut e = Expr::default();
        let expr = e.update(key, &update)?;
        let user = e.opt_condition(condition.as_ref());
        let guards = e.add_guards(&update);
        let cond = match (user, &guards) {
            (Some(u), Some(g)) => Some(format!("({u}) AND {g}")),
            (u, g) => u.or_else(|| g.clone()),
        };
        let outcome = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key_attrs(key)))
            .set_update_expression(expr)
            .set_condition_expression(cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| map_err("UpdateItem", e));
        let out = match outcome {
            Err(TableError::ConditionFailed { .. }) if guards.is_some() => {
                // Nothing was written; tell a non-number counter from a failed condition.
                let stored = self.get(key).await?;
                let not_a_number = update.add.iter().any(|(a, _)| {
                    stored
                        .as_ref()
                        .and_then(|i| i.get(a))
                        .is_some_and(|v| !v.is_number())
                });
                return Err(if not_a_number {
                    TableError::Validation("cannot add to a non-number".into())
                } else {
                    TableError::ConditionFailed { op: None }
                });
            }
            other => other?,
        };
        match out.attributes() {
            Some(a) => from_attrs(a),
            // An update that changes nothing returns no attributes; the item is its key.
            None => Ok(Map::from_iter([
                ("pk".to_string(), Value::String(key.pk.clone())),
                ("sk".to_string(), Value::String(key.sk.clone())),
            ])),
        }
    }

    async fn delete(
        &self,
        key: &Key,
        condition: Option<Condition>,
    ) -> Result<Option<Item>, TableError> {
        key.validate()?;
        let mut e = Expr::default();
        let cond = e.opt_condition(condition.as_ref());
        let out = self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key_attrs(key)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| map_err("DeleteItem", e))?;
        out.attributes().map(from_attrs).transpose()
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let start = query_cursor(&query)?;
        let mut e = Expr::default();
        let key_cond = key_condition(&mut e, &query);
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .set_index_name(query.index.name().map(str::to_string))
            .key_condition_expression(key_cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .scan_index_forward(query.forward)
            .limit(query.page_size() as i32)
            // Index queries are eventually consistent on AWS; the base table need not be.
            .consistent_read(query.index == Index::Primary)
            .set_exclusive_start_key(start.as_ref().map(to_attrs))
            .send()
            .await
            .map_err(|e| map_err("Query", e))?;
        let items = out
            .items()
            .iter()
            .map(from_attrs)
            .collect::<Result<Vec<_>, _>>()?;
        // The cursor is the port's opaque form of LastEvaluatedKey, so it is checked the
        // same way by every adapter.
        let cursor = match out.last_evaluated_key() {
            None => None,
            Some(last) => Some(match items.last() {
                Some(item) => encode_cursor(query.index, item),
                None => encode_cursor(query.index, &from_attrs(last)?),
            }),
        };
        Ok(Page { items, cursor })
    }

    async fn transact_write(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        validate_transaction(&ops)?;
        let mut items = Vec::with_capacity(ops.len());
        for op in &ops {
            let mut e = Expr::default();
            let built = match op {
                TxOp::Put { item, condition } => {
                    let cond = e.opt_condition(condition.as_ref());
                    TransactWriteItem::builder().put(
                        Put::builder()
                            .table_name(&self.name)
                            .set_item(Some(to_attrs(item)))
                            .set_condition_expression(cond)
                            .set_expression_attribute_names(e.names())
                            .set_expression_attribute_values(e.values())
                            .build()
                            .map_err(build_err)?,
                    )
                }
                TxOp::Update {
                    key,
                    update,
                    condition,
                } => {
                    let expr = e.update(key, update)?;
                    let cond = e.opt_condition(condition.as_ref());
                    // A transaction's Update needs an expression: an empty one becomes a
                    // harmless SET of the sort key to itself.
                    let expr = match expr {
                        Some(x) => x,
                        None => {
                            let n = e.name("sk");
                            let v = e.value(AttributeValue::S(key.sk.clone()));
                            format!("SET {n} = {v}")
                        }
                    };
                    TransactWriteItem::builder().update(
                        DynUpdate::builder()
                            .table_name(&self.name)
                            .set_key(Some(key_attrs(key)))
                            .update_expression(expr)
                            .set_condition_expression(cond)
                            .set_expression_attribute_names(e.names())
                            .set_expression_attribute_values(e.values())
                            .build()
                            .map_err(build_err)?,
                    )
                }
                TxOp::Delete { key, condition } => {
                    key.validate()?;
                    let cond = e.opt_condition(condition.as_ref());
                    TransactWriteItem::builder().delete(
                        Delete::builder()
                            .table_name(&self.name)
                            .set_key(Some(key_attrs(key)))
                            .set_condition_expression(cond)
                            .set_expression_attribute_names(e.names())
                            .set_expression_attribute_values(e.values())
                            .build()
                            .map_err(build_err)?,
                    )
                }
                TxOp::Check { key, condition } => {
                    key.validate()?;
                    // A ConditionCheck needs an expression: an always-true condition
                    // becomes "the key attribute is whatever it is".
                    let cond = match e.condition(condition) {
                        Some(c) => c,
                        None => {
                            let n = e.name("pk");
                            format!("attribute_exists({n}) OR attribute_not_exists({n})")
                        }
                    };
                    TransactWriteItem::builder().condition_check(
                        ConditionCheck::builder()
                            .table_name(&self.name)
                            .set_key(Some(key_attrs(key)))
                            .condition_expression(cond)
                            .set_expression_attribute_names(e.names())
                            .set_expression_attribute_values(e.values())
                            .build()
                            .map_err(build_err)?,
                    )
                }
            };
            items.push(built.build());
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(map_tx_err)?;
        Ok(())
    }

    async fn increment(&self, key: &Key, attr: &str, by: i64) -> Result<i64, TableError> {
        let update = Update::new().add(attr, by);
        let mut e = Expr::default();
        let expr = e.update(key, &update)?;
        let out = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key_attrs(key)))
            .set_update_expression(expr)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| map_err("UpdateItem", e))?;
        match out.attributes().and_then(|a| a.get(attr)) {
            Some(AttributeValue::N(n)) => n
                .parse::<i64>()
                .map_err(|_| TableError::Validation(format!("counter `{attr}` is not an integer"))),
            _ => Err(TableError::Unavailable(format!(
                "counter `{attr}` missing after update"
            ))),
        }
    }
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> TableError {
    tracing::error!(error = %e, "DynamoDB request could not be built");
    TableError::Unavailable("DynamoDB request could not be built".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_values_survive_the_round_trip_through_attribute_values() {
        let v = json!({"s":"x","n":-7,"f":0.5,"b":true,"z":null,"l":[1,"a"],"m":{"k":[{}]}});
        let Value::Object(m) = &v else { panic!() };
        assert_eq!(from_attrs(&to_attrs(m)).map(Value::Object), Ok(v));
    }

    #[test]
    fn conditions_use_placeholders_for_every_name_and_value() {
        let mut e = Expr::default();
        let c = Condition::And(vec![Condition::present(), Condition::version(3)]);
        assert_eq!(
            e.condition(&c).as_deref(),
            Some("(attribute_exists(#n0)) AND (#n1 = :v0)")
        );
        assert_eq!(e.names.get("#n1").map(String::as_str), Some("version"));
        assert_eq!(e.condition(&Condition::And(vec![])), None);
    }

    #[test]
    fn an_update_may_not_touch_the_key_or_give_an_index_a_non_string() {
        let k = Key::new("a", "b");
        let mut e = Expr::default();
        assert!(e.update(&k, &Update::new().set("pk", "z")).is_err());
        assert!(e.update(&k, &Update::new().remove("sk")).is_err());
        assert!(e.update(&k, &Update::new().set("gsi1pk", 5)).is_err());
        assert!(e.update(&k, &Update::new().set("pk", "a")).is_ok());
    }
}
