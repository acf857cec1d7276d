//! Contract suite of the [`Table`] port: what every adapter (SQLite, DynamoDB, …) must do.
//!
//! Each case is a plain `pub async fn case(t: Arc<dyn Table>)` that panics when the adapter
//! breaks the contract; [`table_contract_tests!`](crate::table_contract_tests) turns every
//! case into one `#[tokio::test]`.
//!
//! ```text
//! // crates/<adapter>/tests/table_contract.rs
//! async fn fresh() -> (std::sync::Arc<dyn paraf_core::Table>, tempfile::TempDir) {
//!     let dir = tempfile::tempdir().unwrap();
//!     let table = SqliteTable::open(&dir.path().join("t.sqlite")).unwrap();
//!     (std::sync::Arc::new(table), dir)
//! }
//! paraf_contract::table_contract_tests!(fresh());
//! ```
//!
//! `$make` is an expression evaluated afresh in every test; it must be a future (an
//! `async fn` call or an `async { .. }` block, so adapters with async setup fit) whose output
//! implements [`TableFixture`]: an `Arc<dyn Table>`, or a pair `(Arc<dyn Table>, guard)`
//! where the guard (a temp dir, an emulator handle, …) lives until the test ends. The table
//! must be empty. The caller's crate needs `tokio` with the `macros` and
//! `rt-multi-thread` features.

use std::collections::BTreeSet;
use std::sync::Arc;

use paraf_core::ports::table::{
    item, Condition, Index, Item, Key, Query, SortKey, Table, TableError, TxOp, Update,
    MAX_ITEM_BYTES, MAX_TX_ITEMS,
};
use serde_json::{json, Value};

/// What `$make` of [`table_contract_tests!`](crate::table_contract_tests) produces.
pub trait TableFixture {
    fn table(&self) -> Arc<dyn Table>;
}

impl TableFixture for Arc<dyn Table> {
    fn table(&self) -> Arc<dyn Table> {
        Arc::clone(self)
    }
}

impl<G> TableFixture for (Arc<dyn Table>, G) {
    fn table(&self) -> Arc<dyn Table> {
        Arc::clone(&self.0)
    }
}

/// Expands into one `#[tokio::test]` per contract case; see the [module docs](crate::table).
#[macro_export]
macro_rules! table_contract_tests {
    ($make:expr) => {
        $crate::__table_contract_cases!($make;
            a_put_item_can_be_read_back_with_all_its_values,
            a_get_of_a_missing_item_returns_none,
            a_put_replaces_the_whole_item,
            a_conditional_put_on_an_existing_key_fails_with_condition_failed,
            conditions_on_put_are_checked_against_the_stored_item,
            conditions_on_update_are_checked_against_the_stored_item,
            conditions_on_delete_are_checked_against_the_stored_item,
            an_update_creates_a_missing_item_and_returns_it,
            an_update_sets_removes_and_adds_and_returns_the_new_item,
            an_update_that_breaks_a_rule_fails_with_validation_and_changes_nothing,
            a_delete_returns_the_old_item_and_a_missing_delete_returns_none,
            a_transaction_with_one_failing_condition_writes_nothing_and_names_that_op,
            a_transaction_names_the_first_of_several_failing_ops,
            a_failing_check_op_cancels_the_transaction,
            a_transaction_with_passing_checks_applies_puts_updates_and_deletes,
            a_transaction_of_one_hundred_operations_writes_all_of_them,
            a_transaction_of_one_hundred_and_one_operations_fails_with_validation,
            a_transaction_naming_one_key_twice_fails_with_validation,
            an_empty_transaction_fails_with_validation,
            transactions_in_one_call_each_succeed_or_fail_on_their_own,
            a_later_transaction_in_one_call_sees_the_writes_of_an_earlier_one,
            many_transactions_in_one_call_all_arrive,
            sort_key_conditions_select_the_right_items_on_the_primary_key,
            sort_key_conditions_select_the_right_items_on_two_secondary_indexes,
            sort_keys_are_ordered_bytewise,
            pages_of_a_primary_query_return_each_item_once_in_order_both_ways,
            pages_of_an_index_query_with_tied_sort_keys_return_each_item_once_both_ways,
            pages_respect_the_sort_key_condition,
            a_garbage_or_foreign_cursor_fails_with_invalid_cursor,
            a_sparse_index_holds_only_items_with_both_index_keys,
            one_hundred_concurrent_increments_return_one_to_one_hundred,
            concurrent_guarded_decrements_never_take_a_counter_below_one,
            an_increment_of_a_non_number_fails_with_validation,
            a_missing_or_non_string_key_fails_with_validation,
            an_empty_index_key_fails_with_validation,
            an_item_over_400_kb_fails_with_validation_and_one_just_under_is_stored,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __table_contract_cases {
    ($make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let fixture = $make.await;
                let table = $crate::table::TableFixture::table(&fixture);
                $crate::table::$case(table).await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------
// helpers

fn key(pk: &str, sk: &str) -> Key {
    Key::new(pk, sk)
}

async fn get(t: &dyn Table, pk: &str, sk: &str) -> Option<Item> {
    match t.get(&key(pk, sk)).await {
        Ok(found) => found,
        Err(e) => panic!("get ({pk}, {sk}) failed: {e:?}"),
    }
}

async fn put(t: &dyn Table, value: Value) {
    let it = item(value);
    if let Err(e) = t.put(it.clone(), None).await {
        panic!("put {it:?} failed: {e:?}");
    }
}

fn put_op(value: Value, condition: Option<Condition>) -> TxOp {
    TxOp::Put {
        item: item(value),
        condition,
    }
}

/// Reads every page of `q`, checking that only the last page lacks a cursor.
async fn all_pages(t: &dyn Table, q: Query) -> (Vec<Item>, usize) {
    let mut items = Vec::new();
    let mut cursor = None;
    for pages in 1..=10_000 {
        let page = match t.query(q.clone().after(cursor)).await {
            Ok(page) => page,
            Err(e) => panic!("query {q:?} failed on page {pages}: {e:?}"),
        };
        if let Some(limit) = q.limit {
            assert!(page.items.len() <= limit as usize, "page over the limit");
        }
        items.extend(page.items);
        cursor = page.cursor;
        if cursor.is_none() {
            return (items, pages);
        }
    }
    panic!("query {q:?} never ended");
}

fn attr(items: &[Item], name: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| match i.get(name) {
            Some(Value::String(s)) => s.clone(),
            other => panic!("item {i:?} has {name} = {other:?}"),
        })
        .collect()
}

fn base_keys(items: &[Item]) -> Vec<(String, String)> {
    attr(items, "pk")
        .into_iter()
        .zip(attr(items, "sk"))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn condition_failed(outcome: Result<impl std::fmt::Debug, TableError>, op: Option<usize>) {
    match outcome {
        Err(TableError::ConditionFailed { op: got }) => assert_eq!(got, op, "wrong op named"),
        other => panic!("expected ConditionFailed {{ op: {op:?} }}, got {other:?}"),
    }
}

fn validation(outcome: Result<impl std::fmt::Debug, TableError>) {
    match outcome {
        Err(TableError::Validation(_)) => {}
        other => panic!("expected Validation, got {other:?}"),
    }
}

/// Conditions against `{"pk":"c","sk":"1","version":3,"state":"draft"}` and whether they hold.
fn conditions_on_the_stored_item() -> Vec<(Condition, bool)> {
    vec![
        (Condition::present(), true),
        (Condition::absent(), false),
        (Condition::Exists("state".into()), true),
        (Condition::Exists("missing".into()), false),
        (Condition::NotExists("missing".into()), true),
        (Condition::NotExists("state".into()), false),
        (Condition::equals("state", "draft"), true),
        (Condition::equals("state", "sent"), false),
        (Condition::NotEquals("state".into(), json!("sent")), true),
        (Condition::NotEquals("state".into(), json!("draft")), false),
        (Condition::NotEquals("missing".into(), json!("x")), true),
        (Condition::version(3), true),
        (Condition::version(2), false),
        (Condition::version(4), false),
        (
            Condition::And(vec![Condition::present(), Condition::version(3)]),
            true,
        ),
        (
            Condition::And(vec![Condition::present(), Condition::version(2)]),
            false,
        ),
    ]
}

fn stored_for_conditions() -> Value {
    json!({"pk":"c","sk":"1","version":3,"state":"draft"})
}

// ---------------------------------------------------------------------------------------
// single items

pub async fn a_put_item_can_be_read_back_with_all_its_values(t: Arc<dyn Table>) {
    let value = json!({
        "pk": "doc#1", "sk": "meta", "title": "Surat Tugas — perjalanan dinas ✓",
        "amount": 1250000, "rate": 0.5, "neg": -7, "ok": true, "none": null,
        "tags": ["a", "b"], "nested": {"x": [1, {"y": "z"}]},
        "gsi1pk": "type#spt", "gsi1sk": "2026-11-28",
    });
    put(&*t, value.clone()).await;
    assert_eq!(get(&*t, "doc#1", "meta").await, Some(item(value)));
}

pub async fn a_get_of_a_missing_item_returns_none(t: Arc<dyn Table>) {
    put(&*t, json!({"pk":"a","sk":"1"})).await;
    assert_eq!(get(&*t, "a", "2").await, None);
    assert_eq!(get(&*t, "b", "1").await, None);
}

pub async fn a_put_replaces_the_whole_item(t: Arc<dyn Table>) {
    put(&*t, json!({"pk":"a","sk":"1","x":1,"y":2})).await;
    put(&*t, json!({"pk":"a","sk":"1","x":3})).await;
    assert_eq!(
        get(&*t, "a", "1").await,
        Some(item(json!({"pk":"a","sk":"1","x":3})))
    );
}

pub async fn a_conditional_put_on_an_existing_key_fails_with_condition_failed(t: Arc<dyn Table>) {
    let first = json!({"pk":"letter#7","sk":"meta","from":"first"});
    t.put(item(first.clone()), Some(Condition::absent()))
        .await
        .expect("insert-only put of a new key");
    let second = item(json!({"pk":"letter#7","sk":"meta","from":"second"}));
    condition_failed(t.put(second, Some(Condition::absent())).await, None);
    assert_eq!(get(&*t, "letter#7", "meta").await, Some(item(first)));
}

pub async fn conditions_on_put_are_checked_against_the_stored_item(t: Arc<dyn Table>) {
    for (n, (condition, holds)) in conditions_on_the_stored_item().into_iter().enumerate() {
        put(&*t, stored_for_conditions()).await;
        let new = item(json!({"pk":"c","sk":"1","version":4,"case":n}));
        let outcome = t.put(new.clone(), Some(condition.clone())).await;
        let stored = get(&*t, "c", "1").await;
        if holds {
            assert_eq!(outcome, Ok(()), "{condition:?} should hold");
            assert_eq!(stored, Some(new), "{condition:?}");
        } else {
            condition_failed(outcome, None);
            assert_eq!(stored, Some(item(stored_for_conditions())), "{condition:?}");
        }
    }
    // On a missing item only absence-style conditions hold.
    let missing = |n: i32| item(json!({"pk":"m","sk":format!("{n}")}));
    condition_failed(t.put(missing(1), Some(Condition::present())).await, None);
    condition_failed(t.put(missing(2), Some(Condition::version(0))).await, None);
    condition_failed(
        t.put(missing(3), Some(Condition::Exists("state".into())))
            .await,
        None,
    );
    for n in 1..=3 {
        assert_eq!(get(&*t, "m", &n.to_string()).await, None);
    }
    let neq = Condition::NotEquals("state".into(), json!("x"));
    assert_eq!(t.put(missing(4), Some(neq)).await, Ok(()));
    assert_eq!(get(&*t, "m", "4").await, Some(missing(4)));
}

pub async fn conditions_on_update_are_checked_against_the_stored_item(t: Arc<dyn Table>) {
    for (condition, holds) in conditions_on_the_stored_item() {
        put(&*t, stored_for_conditions()).await;
        let update = Update::new().set("state", "sent").add("version", 1);
        let outcome = t
            .update(&key("c", "1"), update, Some(condition.clone()))
            .await;
        let stored = get(&*t, "c", "1").await;
        let updated = item(json!({"pk":"c","sk":"1","version":4,"state":"sent"}));
        if holds {
            assert_eq!(outcome, Ok(updated.clone()), "{condition:?} should hold");
            assert_eq!(stored, Some(updated), "{condition:?}");
        } else {
            condition_failed(outcome, None);
            assert_eq!(stored, Some(item(stored_for_conditions())), "{condition:?}");
        }
    }
    // A condition that the item exists stops an update from creating it.
    let outcome = t
        .update(
            &key("m", "1"),
            Update::new().set("x", 1),
            Some(Condition::present()),
        )
        .await;
    condition_failed(outcome, None);
    assert_eq!(get(&*t, "m", "1").await, None);
}

pub async fn conditions_on_delete_are_checked_against_the_stored_item(t: Arc<dyn Table>) {
    for (condition, holds) in conditions_on_the_stored_item() {
        put(&*t, stored_for_conditions()).await;
        let outcome = t.delete(&key("c", "1"), Some(condition.clone())).await;
        let stored = get(&*t, "c", "1").await;
        if holds {
            assert_eq!(
                outcome,
                Ok(Some(item(stored_for_conditions()))),
                "{condition:?} should hold"
            );
            assert_eq!(stored, None, "{condition:?}");
        } else {
            condition_failed(outcome, None);
            assert_eq!(stored, Some(item(stored_for_conditions())), "{condition:?}");
        }
    }
    condition_failed(
        t.delete(&key("m", "1"), Some(Condition::present())).await,
        None,
    );
}

pub async fn an_update_creates_a_missing_item_and_returns_it(t: Arc<dyn Table>) {
    let new = t
        .update(
            &key("u", "1"),
            Update::new().set("name", "Kasubag").add("n", 2),
            None,
        )
        .await
        .expect("update of a missing item");
    let want = item(json!({"pk":"u","sk":"1","name":"Kasubag","n":2}));
    assert_eq!(new, want);
    assert_eq!(get(&*t, "u", "1").await, Some(want));
}

pub async fn an_update_sets_removes_and_adds_and_returns_the_new_item(t: Arc<dyn Table>) {
    put(
        &*t,
        json!({"pk":"u","sk":"1","keep":"k","old":"o","n":10,"state":"draft","gsi1pk":"g","gsi1sk":"1"}),
    )
    .await;
    let update = Update::new()
        .set("state", "approved")
        .set("by", json!({"nip":"198001012006041001"}))
        .remove("old")
        .remove("never-there")
        .add("n", -3)
        .add("fresh", 5);
    let new = t
        .update(&key("u", "1"), update, None)
        .await
        .expect("update");
    let want = item(json!({
        "pk":"u","sk":"1","keep":"k","n":7,"state":"approved","fresh":5,
        "by":{"nip":"198001012006041001"},"gsi1pk":"g","gsi1sk":"1",
    }));
    assert_eq!(new, want);
    assert_eq!(get(&*t, "u", "1").await, Some(want));
}

pub async fn an_update_that_breaks_a_rule_fails_with_validation_and_changes_nothing(
    t: Arc<dyn Table>,
) {
    let stored = json!({"pk":"u","sk":"1","label":"x","n":1});
    put(&*t, stored.clone()).await;
    let k = key("u", "1");
    validation(t.update(&k, Update::new().add("label", 1), None).await);
    validation(t.update(&k, Update::new().set("pk", "other"), None).await);
    validation(t.update(&k, Update::new().remove("sk"), None).await);
    validation(t.update(&k, Update::new().set("gsi1pk", 5), None).await);
    validation(
        t.update(&k, Update::new().set("n", 2).add("label", 1), None)
            .await,
    );
    assert_eq!(get(&*t, "u", "1").await, Some(item(stored)));
}

pub async fn a_delete_returns_the_old_item_and_a_missing_delete_returns_none(t: Arc<dyn Table>) {
    let stored = json!({"pk":"d","sk":"1","x":[1,2]});
    put(&*t, stored.clone()).await;
    assert_eq!(t.delete(&key("d", "1"), None).await, Ok(Some(item(stored))));
    assert_eq!(get(&*t, "d", "1").await, None);
    assert_eq!(t.delete(&key("d", "1"), None).await, Ok(None));
}

// ---------------------------------------------------------------------------------------
// transactions

pub async fn a_transaction_with_one_failing_condition_writes_nothing_and_names_that_op(
    t: Arc<dyn Table>,
) {
    put(&*t, json!({"pk":"tx","sk":"57","taken":true})).await;
    put(&*t, json!({"pk":"tx","sk":"to-delete"})).await;
    put(&*t, json!({"pk":"tx","sk":"to-update","n":1})).await;
    let mut ops: Vec<TxOp> = (0..60)
        .map(|i| {
            put_op(
                json!({"pk":"tx","sk":format!("{i}")}),
                Some(Condition::absent()),
            )
        })
        .collect();
    ops[10] = TxOp::Delete {
        key: key("tx", "to-delete"),
        condition: None,
    };
    ops[20] = TxOp::Update {
        key: key("tx", "to-update"),
        update: Update::new().add("n", 1),
        condition: Some(Condition::present()),
    };
    condition_failed(t.transact_write(ops).await, Some(57));

    let (items, _) = all_pages(&*t, Query::partition(Index::Primary, "tx")).await;
    assert_eq!(
        items,
        vec![
            item(json!({"pk":"tx","sk":"57","taken":true})),
            item(json!({"pk":"tx","sk":"to-delete"})),
            item(json!({"pk":"tx","sk":"to-update","n":1})),
        ],
        "a cancelled transaction wrote something"
    );
}

pub async fn a_transaction_names_the_first_of_several_failing_ops(t: Arc<dyn Table>) {
    put(&*t, json!({"pk":"tx","sk":"3"})).await;
    put(&*t, json!({"pk":"tx","sk":"7"})).await;
    let ops = (0..10)
        .map(|i| {
            put_op(
                json!({"pk":"tx","sk":format!("{i}")}),
                Some(Condition::absent()),
            )
        })
        .collect();
    condition_failed(t.transact_write(ops).await, Some(3));
    assert_eq!(get(&*t, "tx", "0").await, None);
}

pub async fn transactions_in_one_call_each_succeed_or_fail_on_their_own(t: Arc<dyn Table>) {
    put(&*t, json!({"pk":"many","sk":"taken"})).await;
    let groups = vec![
        vec![
            put_op(json!({"pk":"many","sk":"a1"}), Some(Condition::absent())),
            put_op(json!({"pk":"many","sk":"a2"}), None),
        ],
        // Fails on its second op: neither of its writes may stay.
        vec![
            put_op(json!({"pk":"many","sk":"b1"}), Some(Condition::absent())),
            put_op(json!({"pk":"many","sk":"taken"}), Some(Condition::absent())),
        ],
        // Names one key twice: refused as a whole, as `transact_write` refuses it.
        vec![
            put_op(json!({"pk":"many","sk":"c1"}), None),
            put_op(json!({"pk":"many","sk":"c1"}), None),
        ],
        vec![put_op(
            json!({"pk":"many","sk":"d1"}),
            Some(Condition::absent()),
        )],
    ];
    let results = t.transact_write_many(groups).await;
    assert_eq!(results.len(), 4, "one result per transaction: {results:?}");
    assert_eq!(results[0], Ok(()));
    condition_failed(results[1].clone(), Some(1));
    assert!(
        matches!(results[2], Err(TableError::Validation(_))),
        "{:?}",
        results[2]
    );
    assert_eq!(results[3], Ok(()));
    let (items, _) = all_pages(&*t, Query::partition(Index::Primary, "many")).await;
    let sks: Vec<&str> = items
        .iter()
        .map(|i| i.get("sk").and_then(Value::as_str).unwrap_or(""))
        .collect();
    assert_eq!(sks, vec!["a1", "a2", "d1", "taken"]);
}

pub async fn a_later_transaction_in_one_call_sees_the_writes_of_an_earlier_one(t: Arc<dyn Table>) {
    // The audit chain's pattern: each group moves a head on by one, guarded by its value.
    let head = |seq: i64, condition: Option<Condition>| {
        put_op(json!({"pk":"chain","sk":"HEAD","seq":seq}), condition)
    };
    let results = t
        .transact_write_many(vec![
            vec![head(1, Some(Condition::absent()))],
            vec![head(2, Some(Condition::equals("seq", 1)))],
            // Stale: expects the head it would have seen before the first group.
            vec![head(9, Some(Condition::absent()))],
            vec![head(3, Some(Condition::equals("seq", 2)))],
        ])
        .await;
    assert_eq!(results[0], Ok(()));
    assert_eq!(results[1], Ok(()));
    condition_failed(results[2].clone(), Some(0));
    assert_eq!(results[3], Ok(()));
    let stored = get(&*t, "chain", "HEAD").await.expect("head");
    assert_eq!(stored.get("seq"), Some(&json!(3)));
}

pub async fn many_transactions_in_one_call_all_arrive(t: Arc<dyn Table>) {
    let groups: Vec<Vec<TxOp>> = (0..150)
        .map(|i| {
            (0..3)
                .map(|j| {
                    put_op(
                        json!({"pk":"bulk","sk":format!("{i:03}-{j}")}),
                        Some(Condition::absent()),
                    )
                })
                .collect()
        })
        .collect();
    let results = t.transact_write_many(groups).await;
    assert_eq!(results.len(), 150);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let (items, _) = all_pages(&*t, Query::partition(Index::Primary, "bulk")).await;
    assert_eq!(items.len(), 450);
    assert_eq!(t.transact_write_many(Vec::new()).await, Vec::new());
}

pub async fn a_failing_check_op_cancels_the_transaction(t: Arc<dyn Table>) {
    put(&*t, json!({"pk":"org","sk":"unit#1","version":2})).await;
    let ops = vec![
        put_op(json!({"pk":"tx","sk":"a"}), None),
        TxOp::Check {
            key: key("org", "unit#1"),
            condition: Condition::version(1),
        },
        put_op(json!({"pk":"tx","sk":"b"}), None),
    ];
    condition_failed(t.transact_write(ops).await, Some(1));
    assert_eq!(get(&*t, "tx", "a").await, None);
    assert_eq!(get(&*t, "tx", "b").await, None);

    let ops = vec![
        put_op(json!({"pk":"tx","sk":"a"}), None),
        TxOp::Check {
            key: key("org", "missing"),
            condition: Condition::present(),
        },
    ];
    condition_failed(t.transact_write(ops).await, Some(1));
    assert_eq!(get(&*t, "tx", "a").await, None);
}

pub async fn a_transaction_with_passing_checks_applies_puts_updates_and_deletes(t: Arc<dyn Table>) {
    put(&*t, json!({"pk":"org","sk":"unit#1","version":2})).await;
    put(&*t, json!({"pk":"tx","sk":"old"})).await;
    put(&*t, json!({"pk":"tx","sk":"count","n":5})).await;
    let ops = vec![
        TxOp::Check {
            key: key("org", "unit#1"),
            condition: Condition::version(2),
        },
        put_op(
            json!({"pk":"tx","sk":"new","v":1}),
            Some(Condition::absent()),
        ),
        TxOp::Update {
            key: key("tx", "count"),
            update: Update::new().add("n", 1).set("s", "x"),
            condition: Some(Condition::equals("n", 5)),
        },
        TxOp::Delete {
            key: key("tx", "old"),
            condition: Some(Condition::present()),
        },
        TxOp::Update {
            key: key("tx", "created"),
            update: Update::new().set("by", "tx"),
            condition: None,
        },
    ];
    assert_eq!(t.transact_write(ops).await, Ok(()));
    assert_eq!(
        get(&*t, "org", "unit#1").await,
        Some(item(json!({"pk":"org","sk":"unit#1","version":2})))
    );
    assert_eq!(
        get(&*t, "tx", "new").await,
        Some(item(json!({"pk":"tx","sk":"new","v":1})))
    );
    assert_eq!(
        get(&*t, "tx", "count").await,
        Some(item(json!({"pk":"tx","sk":"count","n":6,"s":"x"})))
    );
    assert_eq!(get(&*t, "tx", "old").await, None);
    assert_eq!(
        get(&*t, "tx", "created").await,
        Some(item(json!({"pk":"tx","sk":"created","by":"tx"})))
    );
}

pub async fn a_transaction_of_one_hundred_operations_writes_all_of_them(t: Arc<dyn Table>) {
    let ops: Vec<TxOp> = (0..MAX_TX_ITEMS)
        .map(|i| {
            put_op(
                json!({"pk":"tx","sk":format!("{i:03}"),"i":i}),
                Some(Condition::absent()),
            )
        })
        .collect();
    assert_eq!(t.transact_write(ops).await, Ok(()));
    let (items, _) = all_pages(&*t, Query::partition(Index::Primary, "tx")).await;
    let want: Vec<Item> = (0..MAX_TX_ITEMS)
        .map(|i| item(json!({"pk":"tx","sk":format!("{i:03}"),"i":i})))
        .collect();
    assert_eq!(items, want);
}

pub async fn a_transaction_of_one_hundred_and_one_operations_fails_with_validation(
    t: Arc<dyn Table>,
) {
    let ops: Vec<TxOp> = (0..=MAX_TX_ITEMS)
        .map(|i| put_op(json!({"pk":"tx","sk":format!("{i:03}")}), None))
        .collect();
    validation(t.transact_write(ops).await);
    assert_eq!(get(&*t, "tx", "000").await, None);
}

pub async fn a_transaction_naming_one_key_twice_fails_with_validation(t: Arc<dyn Table>) {
    let ops = vec![
        put_op(json!({"pk":"tx","sk":"a","n":1}), None),
        put_op(json!({"pk":"tx","sk":"b"}), None),
        TxOp::Update {
            key: key("tx", "a"),
            update: Update::new().set("n", 2),
            condition: None,
        },
    ];
    validation(t.transact_write(ops).await);
    assert_eq!(get(&*t, "tx", "a").await, None);
    assert_eq!(get(&*t, "tx", "b").await, None);
}

pub async fn an_empty_transaction_fails_with_validation(t: Arc<dyn Table>) {
    validation(t.transact_write(Vec::new()).await);
}

// ---------------------------------------------------------------------------------------
// queries

/// Sort keys of one partition, loaded in scrambled order.
const SORT_KEYS: [&str; 8] = ["c", "a", "b#2", "d", "b#1", "b", "ba", "e"];

fn sort_key_cases() -> Vec<(SortKey, Vec<&'static str>)> {
    vec![
        (
            SortKey::Any,
            vec!["a", "b", "b#1", "b#2", "ba", "c", "d", "e"],
        ),
        (SortKey::Eq("b#1".into()), vec!["b#1"]),
        (SortKey::Eq("zz".into()), vec![]),
        (
            SortKey::BeginsWith("b".into()),
            vec!["b", "b#1", "b#2", "ba"],
        ),
        (SortKey::BeginsWith("b#".into()), vec!["b#1", "b#2"]),
        (SortKey::BeginsWith("x".into()), vec![]),
        (
            SortKey::Between("b#1".into(), "c".into()),
            vec!["b#1", "b#2", "ba", "c"],
        ),
        (SortKey::Between("bb".into(), "bz".into()), vec![]),
        (SortKey::Lt("b#1".into()), vec!["a", "b"]),
        (SortKey::Le("b#1".into()), vec!["a", "b", "b#1"]),
        (SortKey::Gt("ba".into()), vec!["c", "d", "e"]),
        (SortKey::Ge("ba".into()), vec!["ba", "c", "d", "e"]),
    ]
}

async fn check_sort_key_cases(t: &dyn Table, index: Index, pk: &str) {
    let (_, sk_attr) = index.key_attributes();
    for (condition, want) in sort_key_cases() {
        for forward in [true, false] {
            let mut q = Query::partition(index, pk).sk(condition.clone());
            q.forward = forward;
            let (items, _) = all_pages(t, q).await;
            let mut want = strings(&want);
            if !forward {
                want.reverse();
            }
            assert_eq!(
                attr(&items, sk_attr),
                want,
                "{index:?} {condition:?} forward={forward}"
            );
        }
    }
}

pub async fn sort_key_conditions_select_the_right_items_on_the_primary_key(t: Arc<dyn Table>) {
    for sk in SORT_KEYS {
        put(&*t, json!({"pk":"p","sk":sk})).await;
        // Neighbouring partitions must never leak into the result.
        put(&*t, json!({"pk":"p2","sk":sk})).await;
        put(&*t, json!({"pk":"o","sk":sk})).await;
    }
    check_sort_key_cases(&*t, Index::Primary, "p").await;
}

pub async fn sort_key_conditions_select_the_right_items_on_two_secondary_indexes(
    t: Arc<dyn Table>,
) {
    // The base keys run against the index keys, so an adapter that sorts or filters by the
    // wrong attribute gives a different answer.
    for (n, sk) in SORT_KEYS.iter().enumerate() {
        let base_sk = format!("{}", 9 - n);
        put(
            &*t,
            json!({"pk":"base","sk":base_sk,"gsi1pk":"g1","gsi1sk":sk,"gsi2pk":"g2","gsi2sk":sk}),
        )
        .await;
        put(
            &*t,
            json!({"pk":"other","sk":base_sk,"gsi1pk":"g1x","gsi1sk":sk,"gsi2pk":"g1","gsi2sk":"zz"}),
        )
        .await;
    }
    check_sort_key_cases(&*t, Index::Gsi1, "g1").await;
    check_sort_key_cases(&*t, Index::Gsi2, "g2").await;
    let (items, _) = all_pages(&*t, Query::partition(Index::Gsi3, "g1")).await;
    assert!(items.is_empty(), "gsi3 holds items without gsi3 keys");
}

pub async fn sort_keys_are_ordered_bytewise(t: Arc<dyn Table>) {
    // UTF-8 byte order: uppercase < lowercase, a prefix before its extensions, then
    // multi-byte characters (é = C3 A9, 日 = E6 97 A5, 😀 = F0 9F 98 80).
    let want = ["A", "Z", "a", "a b", "ab", "z", "é", "日", "😀"];
    for sk in want.iter().rev() {
        put(&*t, json!({"pk":"p","sk":sk,"gsi1pk":"g","gsi1sk":sk})).await;
    }
    for index in [Index::Primary, Index::Gsi1] {
        let pk = if index == Index::Primary { "p" } else { "g" };
        let (items, _) = all_pages(&*t, Query::partition(index, pk)).await;
        assert_eq!(attr(&items, "sk"), strings(&want), "{index:?}");
        let (items, _) = all_pages(&*t, Query::partition(index, pk).backward()).await;
        let mut back = strings(&want);
        back.reverse();
        assert_eq!(attr(&items, "sk"), back, "{index:?}");
        let (items, _) =
            all_pages(&*t, Query::partition(index, pk).sk(SortKey::Gt("z".into()))).await;
        assert_eq!(attr(&items, "sk"), strings(&["é", "日", "😀"]), "{index:?}");
    }
}

pub async fn pages_of_a_primary_query_return_each_item_once_in_order_both_ways(t: Arc<dyn Table>) {
    let mut want: Vec<String> = (0..23).map(|i| format!("item#{i:02}")).collect();
    let ops = want
        .iter()
        .rev()
        .map(|sk| put_op(json!({"pk":"p","sk":sk}), None))
        .collect();
    t.transact_write(ops).await.expect("load");
    put(&*t, json!({"pk":"q","sk":"item#00"})).await;

    for limit in [1, 4, 23] {
        let q = Query::partition(Index::Primary, "p").limit(limit);
        let (items, pages) = all_pages(&*t, q.clone()).await;
        assert_eq!(attr(&items, "sk"), want, "limit {limit}");
        assert!(pages >= 23usize.div_ceil(limit as usize), "limit {limit}");
        let (items, _) = all_pages(&*t, q.backward()).await;
        let mut back = want.clone();
        back.reverse();
        assert_eq!(attr(&items, "sk"), back, "backward, limit {limit}");
    }
    let first = t
        .query(Query::partition(Index::Primary, "p").limit(5))
        .await
        .expect("query");
    assert_eq!(first.items.len(), 5);
    assert!(
        first.cursor.is_some(),
        "a full page with more items needs a cursor"
    );
    want.truncate(5);
    assert_eq!(attr(&first.items, "sk"), want);
}

pub async fn pages_of_an_index_query_with_tied_sort_keys_return_each_item_once_both_ways(
    t: Arc<dyn Table>,
) {
    // 5 sort-key values, each shared by 4 or 5 items spread over several base partitions.
    let mut all = Vec::new();
    let mut ops = Vec::new();
    for i in 0..23 {
        let (pk, sk, gsk) = (
            format!("doc#{}", i % 3),
            format!("v{i:02}"),
            format!("day{}", i % 5),
        );
        ops.push(put_op(
            json!({"pk":pk,"sk":sk,"gsi3pk":"inbox","gsi3sk":gsk}),
            None,
        ));
        all.push((gsk, pk, sk));
    }
    t.transact_write(ops).await.expect("load");
    all.sort();
    let want_keys: BTreeSet<(String, String)> =
        all.iter().map(|(_, p, s)| (p.clone(), s.clone())).collect();

    for limit in [1, 3, 4, 7] {
        for forward in [true, false] {
            let mut q = Query::partition(Index::Gsi3, "inbox").limit(limit);
            q.forward = forward;
            let (items, _) = all_pages(&*t, q).await;
            let keys = base_keys(&items);
            let unique: BTreeSet<(String, String)> = keys.iter().cloned().collect();
            assert_eq!(keys.len(), all.len(), "an item repeated, limit {limit}");
            assert_eq!(unique, want_keys, "limit {limit} forward={forward}");
            let gsks = attr(&items, "gsi3sk");
            let mut sorted = gsks.clone();
            sorted.sort();
            if !forward {
                sorted.reverse();
            }
            assert_eq!(gsks, sorted, "limit {limit} forward={forward}");
        }
    }
}

pub async fn pages_respect_the_sort_key_condition(t: Arc<dyn Table>) {
    let ops = (0..30)
        .map(|i| {
            put_op(
                json!({"pk":"p","sk":format!("{i:02}"),"gsi1pk":"g","gsi1sk":format!("{:02}", 29 - i)}),
                None,
            )
        })
        .collect();
    t.transact_write(ops).await.expect("load");
    let want: Vec<String> = (5..=24).map(|i| format!("{i:02}")).collect();
    for index in [Index::Primary, Index::Gsi1] {
        let (pk, sk_attr) = match index {
            Index::Primary => ("p", "sk"),
            _ => ("g", "gsi1sk"),
        };
        let q = Query::partition(index, pk)
            .sk(SortKey::Between("05".into(), "24".into()))
            .limit(6);
        let (items, pages) = all_pages(&*t, q.clone()).await;
        assert_eq!(attr(&items, sk_attr), want, "{index:?}");
        assert!(pages >= 4, "{index:?}: 20 items in pages of 6");
        let (items, _) = all_pages(&*t, q.backward()).await;
        let mut back = want.clone();
        back.reverse();
        assert_eq!(attr(&items, sk_attr), back, "{index:?} backward");
    }
}

pub async fn a_garbage_or_foreign_cursor_fails_with_invalid_cursor(t: Arc<dyn Table>) {
    for i in 0..5 {
        put(
            &*t,
            json!({"pk":"p","sk":format!("{i}"),"gsi1pk":"g","gsi1sk":format!("{i}")}),
        )
        .await;
        put(&*t, json!({"pk":"other","sk":format!("{i}")})).await;
    }
    let page = t
        .query(Query::partition(Index::Gsi1, "g").limit(2))
        .await
        .expect("query");
    let gsi_cursor = page.cursor.expect("more pages");
    let page = t
        .query(Query::partition(Index::Primary, "other").limit(2))
        .await
        .expect("query");
    let other_cursor = page.cursor.expect("more pages");

    let garbage = [
        "!!not a cursor!!".to_string(),
        String::new(),
        "eyJ4IjoxfQ".to_string(),  // base64 of {"x":1}
        "bm90IGpzb24".to_string(), // base64 of "not json"
    ];
    for cursor in garbage {
        let q = Query::partition(Index::Primary, "p").after(Some(cursor.clone()));
        match t.query(q).await {
            Err(TableError::InvalidCursor) => {}
            other => panic!("cursor {cursor:?} gave {other:?}"),
        }
    }
    // A cursor of another index, or of another partition, is foreign too.
    let q = Query::partition(Index::Primary, "p").after(Some(gsi_cursor));
    assert_eq!(t.query(q).await, Err(TableError::InvalidCursor));
    let q = Query::partition(Index::Primary, "p").after(Some(other_cursor));
    assert_eq!(t.query(q).await, Err(TableError::InvalidCursor));
}

pub async fn a_sparse_index_holds_only_items_with_both_index_keys(t: Arc<dyn Table>) {
    put(&*t, json!({"pk":"a","sk":"1","gsi1pk":"g","gsi1sk":"1"})).await;
    put(&*t, json!({"pk":"a","sk":"2"})).await;
    put(&*t, json!({"pk":"a","sk":"3","gsi1pk":"g"})).await;
    put(&*t, json!({"pk":"a","sk":"4","gsi2pk":"g","gsi2sk":"4"})).await;
    let gsi1 = |t: Arc<dyn Table>| async move {
        let (items, _) = all_pages(&*t, Query::partition(Index::Gsi1, "g")).await;
        attr(&items, "sk")
    };
    assert_eq!(gsi1(t.clone()).await, strings(&["1"]));

    // Index membership follows updates both ways.
    t.update(
        &key("a", "2"),
        Update::new().set("gsi1pk", "g").set("gsi1sk", "2"),
        None,
    )
    .await
    .expect("update");
    assert_eq!(gsi1(t.clone()).await, strings(&["1", "2"]));
    t.update(&key("a", "1"), Update::new().remove("gsi1pk"), None)
        .await
        .expect("update");
    assert_eq!(gsi1(t.clone()).await, strings(&["2"]));
    t.delete(&key("a", "2"), None).await.expect("delete");
    assert_eq!(gsi1(t.clone()).await, Vec::<String>::new());

    let (items, _) = all_pages(&*t, Query::partition(Index::Gsi2, "g")).await;
    assert_eq!(attr(&items, "sk"), strings(&["4"]));
    let (items, _) = all_pages(&*t, Query::partition(Index::Gsi3, "g")).await;
    assert!(items.is_empty());
}

// ---------------------------------------------------------------------------------------
// counters

pub async fn one_hundred_concurrent_increments_return_one_to_one_hundred(t: Arc<dyn Table>) {
    let counter = key("counter", "agenda#2026");
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let t = Arc::clone(&t);
            let counter = counter.clone();
            tokio::spawn(async move { t.increment(&counter, "next", 1).await })
        })
        .collect();
    let mut got = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok(n)) => got.push(n),
            other => panic!("increment failed: {other:?}"),
        }
    }
    got.sort_unstable();
    assert_eq!(got, (1..=100).collect::<Vec<i64>>());
    let stored = get(&*t, "counter", "agenda#2026").await.expect("counter");
    assert_eq!(stored.get("next"), Some(&json!(100)));
    assert_eq!(t.increment(&counter, "next", 5).await, Ok(105));
}

/// The shape of paraf's last-admin guard: each transaction writes a record and takes one
/// from a counter on condition that the counter is neither 0 nor 1. Of ten racing
/// transactions on a counter of 5, exactly four succeed (with their records) and the
/// counter ends at 1; the others fail with `ConditionFailed` naming the counter, or with a
/// `Conflict` and are tried again.
pub async fn concurrent_guarded_decrements_never_take_a_counter_below_one(t: Arc<dyn Table>) {
    put(&*t, json!({"pk":"guard","sk":"count","count":5})).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let t = Arc::clone(&t);
            tokio::spawn(async move {
                let ops = vec![
                    put_op(
                        json!({"pk":"member","sk":format!("{i}")}),
                        Some(Condition::absent()),
                    ),
                    TxOp::Update {
                        key: key("guard", "count"),
                        update: Update::new().add("count", -1),
                        condition: Some(Condition::And(vec![
                            Condition::Exists("count".into()),
                            Condition::NotEquals("count".into(), json!(0)),
                            Condition::NotEquals("count".into(), json!(1)),
                        ])),
                    },
                ];
                for _ in 0..100 {
                    match t.transact_write(ops.clone()).await {
                        Err(TableError::Conflict) => continue,
                        other => return other,
                    }
                }
                Err(TableError::Conflict)
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => won += 1,
            Ok(Err(TableError::ConditionFailed { op: Some(1) })) => {}
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(won, 4);
    let stored = get(&*t, "guard", "count").await.expect("counter");
    assert_eq!(stored.get("count"), Some(&json!(1)));
    let (members, _) = all_pages(&*t, Query::partition(Index::Primary, "member")).await;
    assert_eq!(members.len(), 4, "only the winners' records are stored");
}

pub async fn an_increment_of_a_non_number_fails_with_validation(t: Arc<dyn Table>) {
    put(&*t, json!({"pk":"c","sk":"1","n":"seven"})).await;
    validation(t.increment(&key("c", "1"), "n", 1).await);
    assert_eq!(
        get(&*t, "c", "1").await,
        Some(item(json!({"pk":"c","sk":"1","n":"seven"})))
    );
}

// ---------------------------------------------------------------------------------------
// validation

pub async fn a_missing_or_non_string_key_fails_with_validation(t: Arc<dyn Table>) {
    let bad = [
        json!({"pk":1,"sk":"1"}),
        json!({"pk":"a","sk":2}),
        json!({"pk":"a"}),
        json!({"sk":"a"}),
        json!({"pk":"","sk":"1"}),
        json!({"pk":"a","sk":1.5}),
        json!({"pk":"a","sk":"1","gsi1pk":7,"gsi1sk":"x"}),
        json!({"pk":"a","sk":"1","gsi2pk":"g","gsi2sk":["x"]}),
    ];
    for value in bad {
        validation(t.put(item(value.clone()), None).await);
        validation(t.transact_write(vec![put_op(value, None)]).await);
    }
    validation(t.get(&key("", "1")).await);
    validation(
        t.update(&key("a", ""), Update::new().set("x", 1), None)
            .await,
    );
    validation(t.delete(&key("", ""), None).await);
    assert_eq!(get(&*t, "a", "1").await, None);
}

pub async fn an_empty_index_key_fails_with_validation(t: Arc<dyn Table>) {
    // DynamoDB refuses empty strings as index keys; so must every adapter.
    validation(
        t.put(
            item(json!({"pk":"a","sk":"1","gsi1pk":"","gsi1sk":"x"})),
            None,
        )
        .await,
    );
    validation(
        t.put(
            item(json!({"pk":"a","sk":"1","gsi3pk":"g","gsi3sk":""})),
            None,
        )
        .await,
    );
    assert_eq!(get(&*t, "a", "1").await, None);
}

pub async fn an_item_over_400_kb_fails_with_validation_and_one_just_under_is_stored(
    t: Arc<dyn Table>,
) {
    let big = "x".repeat(MAX_ITEM_BYTES + 1);
    validation(
        t.put(item(json!({"pk":"big","sk":"1","body":big})), None)
            .await,
    );
    validation(
        t.transact_write(vec![put_op(json!({"pk":"big","sk":"1","body":big}), None)])
            .await,
    );
    assert_eq!(get(&*t, "big", "1").await, None);

    // About 390 KB of JSON is under DynamoDB's limit however the adapter counts.
    let under = json!({"pk":"big","sk":"2","body":"y".repeat(MAX_ITEM_BYTES - 10 * 1024)});
    assert_eq!(t.put(item(under.clone()), None).await, Ok(()));
    assert_eq!(get(&*t, "big", "2").await, Some(item(under.clone())));
    // Growing it over the limit by an update is refused too, and changes nothing.
    let grow = Update::new().set("more", "z".repeat(20 * 1024));
    validation(t.update(&key("big", "2"), grow, None).await);
    assert_eq!(get(&*t, "big", "2").await, Some(item(under)));
}
