//! [`Table`] on one SQLite file.
//!
//! One `items` table keyed by `(pk, sk)` holds every item as JSON, with the secondary-index
//! keys copied into columns so each GSI is a partial SQLite index on
//! `(gsiNpk, gsiNsk, pk, sk)`. Conditions and updates are evaluated in Rust with the
//! helpers of `paraf_core::ports::table`, inside one `BEGIN IMMEDIATE` transaction, so the
//! SQLite and DynamoDB adapters agree on their meaning.
//!
//! Writes go through one connection behind a mutex (SQLite has one writer anyway); reads use
//! a small pool of their own connections, so in WAL mode they never wait for a write. All
//! SQLite work runs on tokio's blocking threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use paraf_core::ports::table::{
    encode_cursor, query_cursor, validate_item, validate_transaction, Condition, Index, Item, Key,
    Page, Query, SortKey, Table, TableError, TxOp, Update,
};
use rusqlite::{params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;

/// How long a connection waits for a lock held by another process before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle read connections kept open; more are opened under load and closed afterwards.
const READ_POOL: usize = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    data TEXT NOT NULL,
    gsi1pk TEXT, gsi1sk TEXT,
    gsi2pk TEXT, gsi2sk TEXT,
    gsi3pk TEXT, gsi3sk TEXT,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi3 ON items (gsi3pk, gsi3sk, pk, sk) WHERE gsi3pk IS NOT NULL;
";

const UPSERT: &str = "INSERT OR REPLACE INTO items \
    (pk, sk, data, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// The `Table` of `paraf serve`: a SQLite file in WAL mode with `synchronous=FULL`, so a
/// write that returned `Ok` survives a crash or power loss.
#[derive(Clone)]
pub struct SqliteTable {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTable")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteTable {
    /// Opens the table file at `path`, creating it (and its folder) and the schema when
    /// missing.
    pub fn open(path: &Path) -> Result<Self, TableError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                tracing::error!(path = %dir.display(), error = %e, "cannot create table folder");
                TableError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let writer = Connection::open(path).map_err(sql_error)?;
        configure(&writer).map_err(sql_error)?;
        // `transact_write_many` gives each transaction a savepoint, whose statement journal
        // keeps the pages it changes for a rollback inside the open transaction only (never
        // needed after a crash): in memory it costs no file writes. A group touches
        // thousands of pages; a 32 MiB cache keeps them from spilling before the commit.
        writer
            .pragma_update(None, "temp_store", "MEMORY")
            .and_then(|()| writer.pragma_update(None, "cache_size", -32 * 1024))
            .map_err(sql_error)?;
        // The first connection to a fresh file switches it to WAL; readers then share it.
        let mode: String = writer
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(sql_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(TableError::Unavailable(format!(
                "{} cannot use WAL (journal mode is {mode})",
                path.display()
            )));
        }
        writer.execute_batch(SCHEMA).map_err(sql_error)?;
        Ok(SqliteTable {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The file this table lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs SQLite's `PRAGMA integrity_check`; `Ok` when the file is sound. Blocking: call it
    /// from a CLI or `spawn_blocking`, not from a request handler.
    pub fn integrity_check(&self) -> Result<(), TableError> {
        let conn = self.inner.reader()?;
        let problems: Vec<String> = (|| {
            let mut stmt = conn.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<_>, _>>()
        })()
        .map_err(sql_error)?;
        self.inner.give_back(conn);
        if problems.len() == 1 && problems[0] == "ok" {
            Ok(())
        } else {
            tracing::error!(path = %self.inner.path.display(), ?problems, "table integrity check failed");
            Err(TableError::Unavailable(format!(
                "integrity check failed: {}",
                problems.join("; ")
            )))
        }
    }

    async fn write<T, F>(&self, work: F) -> Result<T, TableError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, TableError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let mut conn = lock(&inner.writer);
            work(&mut conn)
        })
        .await
    }

    async fn read<T, F>(&self, work: F) -> Result<T, TableError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, TableError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let conn = inner.reader()?;
            let out = work(&conn);
            // A failing connection is dropped rather than reused.
            if !matches!(out, Err(TableError::Unavailable(_))) {
                inner.give_back(conn);
            }
            out
        })
        .await
    }
}

impl Inner {
    fn reader(&self) -> Result<Connection, TableError> {
        if let Some(conn) = lock(&self.readers).pop() {
            return Ok(conn);
        }
        let conn = Connection::open(&self.path).map_err(sql_error)?;
        configure(&conn).map_err(sql_error)?;
        conn.pragma_update(None, "query_only", true)
            .map_err(sql_error)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut pool = lock(&self.readers);
        if pool.len() < READ_POOL {
            pool.push(conn);
        }
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Queries differ by index, sort-key condition, direction and cursor: keep them all.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// A panic while holding a connection cannot leave a transaction open (rusqlite rolls back
/// on drop), so a poisoned lock is still safe to use.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn blocking<T, F>(work: F) -> Result<T, TableError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, TableError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "table task failed");
        TableError::Unavailable(format!("table task failed: {e}"))
    })?
}

fn sql_error(e: rusqlite::Error) -> TableError {
    tracing::error!(error = %e, "sqlite table error");
    TableError::Unavailable(e.to_string())
}

fn parse_item(data: &str) -> Result<Item, TableError> {
    serde_json::from_str(data).map_err(|e| {
        tracing::error!(error = %e, "stored item is not a JSON object");
        TableError::Unavailable(format!("stored item is corrupt: {e}"))
    })
}

fn load(conn: &Connection, key: &Key) -> Result<Option<Item>, TableError> {
    let data: Option<String> = conn
        .prepare_cached("SELECT data FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut s| s.query_row([&key.pk, &key.sk], |r| r.get(0)).optional())
        .map_err(sql_error)?;
    data.as_deref().map(parse_item).transpose()
}

/// The `(pk, sk)` of an index, when the item is in it. Like a DynamoDB GSI with a sort key,
/// an item missing either attribute is not in the index.
fn index_key(item: &Item, index: Index) -> (Option<&str>, Option<&str>) {
    let (p, s) = index.key_attributes();
    match (item.get(p), item.get(s)) {
        (Some(Value::String(p)), Some(Value::String(s))) => (Some(p), Some(s)),
        _ => (None, None),
    }
}

/// Stores a validated item, replacing any item with its key.
fn store(conn: &Connection, key: &Key, item: &Item) -> Result<(), TableError> {
    let data = Value::Object(item.clone()).to_string();
    let (g1p, g1s) = index_key(item, Index::Gsi1);
    let (g2p, g2s) = index_key(item, Index::Gsi2);
    let (g3p, g3s) = index_key(item, Index::Gsi3);
    conn.prepare_cached(UPSERT)
        .and_then(|mut s| {
            s.execute(rusqlite::params![
                key.pk, key.sk, data, g1p, g1s, g2p, g2s, g3p, g3s
            ])
        })
        .map_err(sql_error)?;
    Ok(())
}

fn remove(conn: &Connection, key: &Key) -> Result<(), TableError> {
    conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut s| s.execute([&key.pk, &key.sk]))
        .map_err(sql_error)?;
    Ok(())
}

fn holds(condition: Option<&Condition>, stored: Option<&Item>) -> bool {
    condition.is_none_or(|c| c.holds(stored))
}

/// Runs `work` in one `BEGIN IMMEDIATE` transaction, committing only when it succeeds.
fn in_transaction<T>(
    conn: &mut Connection,
    work: impl FnOnce(&Connection) -> Result<T, TableError>,
) -> Result<T, TableError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error)?;
    let out = work(&tx)?; // dropping `tx` rolls back
    tx.commit().map_err(sql_error)?;
    Ok(out)
}

/// The smallest string greater than every string starting with `prefix` (`None`: no bound).
/// UTF-8 byte order is code-point order, so this bounds a bytewise `BETWEEN` scan.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Builds the SQL of one query page; returns the statement and its parameters.
fn query_sql(q: &Query, after: Option<&Item>) -> (String, Vec<String>) {
    let (pcol, scol) = q.index.key_attributes();
    let primary = q.index == Index::Primary;
    let mut params = vec![q.pk.clone()];
    // Anonymous `?` parameters bind in order of appearance, as `params` is filled.
    let mut sql = format!("SELECT data FROM items WHERE {pcol} = ?");
    let mut bind = |sql: &mut String, clause: &str, values: &[&str]| {
        params.extend(values.iter().map(|v| v.to_string()));
        sql.push_str(" AND ");
        sql.push_str(clause);
    };
    let sk_clause = |op: &str| format!("{scol} {op} ?");
    match &q.sk {
        SortKey::Any => {}
        SortKey::Eq(v) => bind(&mut sql, &sk_clause("="), &[v]),
        SortKey::Lt(v) => bind(&mut sql, &sk_clause("<"), &[v]),
        SortKey::Le(v) => bind(&mut sql, &sk_clause("<="), &[v]),
        SortKey::Gt(v) => bind(&mut sql, &sk_clause(">"), &[v]),
        SortKey::Ge(v) => bind(&mut sql, &sk_clause(">="), &[v]),
        SortKey::Between(a, b) => bind(&mut sql, &format!("{scol} BETWEEN ? AND ?"), &[a, b]),
        SortKey::BeginsWith(p) => match prefix_end(p) {
            Some(end) => bind(&mut sql, &format!("{scol} >= ? AND {scol} < ?"), &[p, &end]),
            None => bind(&mut sql, &sk_clause(">="), &[p]),
        },
    }
    let (cmp, dir) = if q.forward {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    if let Some(last) = after {
        let text = |a: &str| last.get(a).and_then(Value::as_str).unwrap_or_default();
        if primary {
            bind(&mut sql, &format!("sk {cmp} ?"), &[text("sk")]);
        } else {
            bind(
                &mut sql,
                &format!("({scol}, pk, sk) {cmp} (?, ?, ?)"),
                &[text(scol), text("pk"), text("sk")],
            );
        }
    }
    if primary {
        sql.push_str(&format!(" ORDER BY sk {dir}"));
    } else {
        sql.push_str(&format!(" ORDER BY {scol} {dir}, pk {dir}, sk {dir}"));
    }
    // One extra row tells whether another page exists.
    sql.push_str(&format!(" LIMIT {}", q.page_size() + 1));
    (sql, params)
}

fn run_query(conn: &Connection, q: &Query) -> Result<Page, TableError> {
    let after = query_cursor(q)?;
    let (sql, params) = query_sql(q, after.as_ref());
    let rows: Vec<String> = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(params.iter()), |r| r.get(0))?
                .collect()
        })
        .map_err(sql_error)?;
    let size = q.page_size();
    let more = rows.len() > size;
    let items = rows
        .iter()
        .take(size)
        .map(|d| parse_item(d))
        .collect::<Result<Vec<_>, _>>()?;
    let cursor = match items.last() {
        Some(last) if more => Some(encode_cursor(q.index, last)),
        _ => None,
    };
    Ok(Page { items, cursor })
}

/// Applies one transaction operation after checking its condition; `Err(None)` means the
/// condition failed.
fn apply_op(conn: &Connection, op: &TxOp) -> Result<(), Option<TableError>> {
    let key = op.key().map_err(Some)?;
    let stored = load(conn, &key).map_err(Some)?;
    let stored = stored.as_ref();
    match op {
        TxOp::Put { item, condition } => {
            if !holds(condition.as_ref(), stored) {
                return Err(None);
            }
            store(conn, &key, item).map_err(Some)
        }
        TxOp::Update {
            update, condition, ..
        } => {
            if !holds(condition.as_ref(), stored) {
                return Err(None);
            }
            let new = update.apply(&key, stored).map_err(Some)?;
            store(conn, &key, &new).map_err(Some)
        }
        TxOp::Delete { condition, .. } => {
            if !holds(condition.as_ref(), stored) {
                return Err(None);
            }
            remove(conn, &key).map_err(Some)
        }
        TxOp::Check { condition, .. } => {
            if condition.holds(stored) {
                Ok(())
            } else {
                Err(None)
            }
        }
    }
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        key.validate()?;
        let key = key.clone();
        self.read(move |conn| load(conn, &key)).await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        validate_item(&item)?;
        let key = Key::of(&item)?;
        self.write(move |conn| {
            in_transaction(conn, |tx| {
                let stored = load(tx, &key)?;
                if !holds(condition.as_ref(), stored.as_ref()) {
                    return Err(TableError::ConditionFailed { op: None });
                }
                store(tx, &key, &item)
            })
        })
        .await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        condition: Option<Condition>,
    ) -> Result<Item, TableError> {
        key.validate()?;
        let key = key.clone();
        self.write(move |conn| {
            in_transaction(conn, |tx| {
                let stored = load(tx, &key)?;
                if !holds(condition.as_ref(), stored.as_ref()) {
                    return Err(TableError::ConditionFailed { op: None });
                }
                let new = update.apply(&key, stored.as_ref())?;
                store(tx, &key, &new)?;
                Ok(new)
            })
        })
        .await
    }

    async fn delete(
        &self,
        key: &Key,
        condition: Option<Condition>,
    ) -> Result<Option<Item>, TableError> {
        key.validate()?;
        let key = key.clone();
        self.write(move |conn| {
            in_transaction(conn, |tx| {
                let stored = load(tx, &key)?;
                if !holds(condition.as_ref(), stored.as_ref()) {
                    return Err(TableError::ConditionFailed { op: None });
                }
                if stored.is_some() {
                    remove(tx, &key)?;
                }
                Ok(stored)
            })
        })
        .await
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        self.read(move |conn| run_query(conn, &query)).await
    }

    async fn transact_write(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        validate_transaction(&ops)?;
        for op in &ops {
            op.key()?.validate()?;
        }
        self.write(move |conn| in_transaction(conn, |tx| apply_ops(tx, &ops)))
            .await
    }

    /// One `BEGIN IMMEDIATE` … `COMMIT` (one WAL sync) for every group, each group inside
    /// its own savepoint so that a failing condition rolls back only that group.
    async fn transact_write_many(&self, groups: Vec<Vec<TxOp>>) -> Vec<Result<(), TableError>> {
        let checked: Vec<Result<Vec<TxOp>, TableError>> = groups
            .into_iter()
            .map(|ops| {
                validate_transaction(&ops)?;
                for op in &ops {
                    op.key()?.validate()?;
                }
                Ok(ops)
            })
            .collect();
        let count = checked.len();
        if checked.iter().all(Result::is_err) {
            return checked.into_iter().map(|c| c.map(|_| ())).collect();
        }
        let outcome = self
            .write(move |conn| {
                let mut tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error)?;
                let mut results = Vec::with_capacity(checked.len());
                for group in checked {
                    let ops = match group {
                        Ok(ops) => ops,
                        Err(e) => {
                            results.push(Err(e));
                            continue;
                        }
                    };
                    let savepoint = tx.savepoint().map_err(sql_error)?;
                    match apply_ops(&savepoint, &ops) {
                        Ok(()) => {
                            savepoint.commit().map_err(sql_error)?;
                            results.push(Ok(()));
                        }
                        // Dropping the savepoint rolls this group back, and only it.
                        Err(
                            e @ (TableError::ConditionFailed { .. } | TableError::Validation(_)),
                        ) => {
                            drop(savepoint);
                            results.push(Err(e));
                        }
                        // The store itself failed: nothing of this call is committed.
                        Err(e) => return Err(e),
                    }
                }
                tx.commit().map_err(sql_error)?;
                Ok(results)
            })
            .await;
        match outcome {
            Ok(results) => results,
            Err(e) => vec![Err(e); count],
        }
    }
}

/// Applies a transaction's operations in order; the first failing condition names its op.
fn apply_ops(conn: &Connection, ops: &[TxOp]) -> Result<(), TableError> {
    for (i, op) in ops.iter().enumerate() {
        apply_op(conn, op).map_err(|e| e.unwrap_or(TableError::ConditionFailed { op: Some(i) }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use paraf_core::ports::table::item;
    use serde_json::json;

    fn temp() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("table.sqlite");
        (dir, path)
    }

    #[tokio::test]
    async fn data_survives_closing_and_reopening_the_file() {
        let (_dir, path) = temp();
        let table = SqliteTable::open(&path).unwrap();
        table
            .put(
                item(json!({"pk":"p","sk":"s","gsi1pk":"g","gsi1sk":"1","n":1})),
                None,
            )
            .await
            .unwrap();
        table.increment(&Key::new("c", "c"), "n", 5).await.unwrap();
        drop(table);

        let table = SqliteTable::open(&path).unwrap();
        let got = table.get(&Key::new("p", "s")).await.unwrap().unwrap();
        assert_eq!(got.get("n"), Some(&json!(1)));
        assert_eq!(table.increment(&Key::new("c", "c"), "n", 1).await, Ok(6));
        let page = table
            .query(Query::partition(Index::Gsi1, "g"))
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        table.integrity_check().unwrap();
    }

    #[tokio::test]
    async fn the_file_is_in_wal_mode_with_full_sync() {
        let (_dir, path) = temp();
        let _table = SqliteTable::open(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let table = SqliteTable::open(&path).unwrap();
        let sync: i64 = lock(&table.inner.writer)
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let temp_store: i64 = lock(&table.inner.writer)
            .query_row("PRAGMA temp_store", [], |r| r.get(0))
            .unwrap();
        assert_eq!(temp_store, 2, "savepoint journals in memory");
    }

    #[tokio::test]
    async fn ties_on_an_index_are_ordered_by_the_base_key_across_pages() {
        let (_dir, path) = temp();
        let table = SqliteTable::open(&path).unwrap();
        let mut keys = Vec::new();
        for p in ["b", "a", "c"] {
            for s in ["2", "1"] {
                table
                    .put(
                        item(json!({"pk":p,"sk":s,"gsi2pk":"g","gsi2sk":"same"})),
                        None,
                    )
                    .await
                    .unwrap();
                keys.push((p.to_string(), s.to_string()));
            }
        }
        keys.sort();
        for forward in [true, false] {
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let mut q = Query::partition(Index::Gsi2, "g").limit(4).after(cursor);
                q.forward = forward;
                let page = table.query(q).await.unwrap();
                for i in &page.items {
                    let k = Key::of(i).unwrap();
                    seen.push((k.pk, k.sk));
                }
                cursor = page.cursor;
                if cursor.is_none() {
                    break;
                }
            }
            let mut want = keys.clone();
            if !forward {
                want.reverse();
            }
            assert_eq!(seen, want);
        }
    }

    #[test]
    fn a_prefix_scan_ends_at_the_next_code_point() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }

    #[tokio::test]
    async fn a_damaged_file_fails_the_integrity_check() {
        let (_dir, path) = temp();
        let table = SqliteTable::open(&path).unwrap();
        for batch in 0..20 {
            let ops = (0..100)
                .map(|i| TxOp::Put {
                    item: item(json!({
                        "pk": "p", "sk": format!("{batch:02}{i:03}"),
                        "gsi1pk": "g", "gsi1sk": format!("{i}"), "pad": "x".repeat(100),
                    })),
                    condition: None,
                })
                .collect();
            table.transact_write(ops).await.unwrap();
        }
        table.integrity_check().unwrap();
        drop(table);
        // Overwrite pages in the middle of the file (after the WAL was checkpointed on close).
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 8192] {
            *b = 0x5a;
        }
        std::fs::write(&path, bytes).unwrap();
        let outcome = SqliteTable::open(&path).and_then(|t| t.integrity_check());
        assert!(
            matches!(outcome, Err(TableError::Unavailable(_))),
            "{outcome:?}"
        );
    }
}
