//! The audit trail: every event on a document (created, signed, viewed, downloaded,
//! verified) appended to one hash chain.
//!
//! Event `n` stores `prev` = hash of event `n-1` and `hash` = SHA-256 over its own
//! canonical fields and `prev`. A head item records the last sequence number and hash.
//! [`AuditTrail::verify`] recomputes the whole chain: an edited event breaks its hash, an
//! inserted or deleted event breaks the sequence or the `prev` link, and deleting the
//! newest events no longer matches the head.
//!
//! Layout: event `AUDIT` / `EVT#<seq:012>` (gsi1 `DOCAUDIT#<document>` / `<seq:012>`),
//! head `AUDIT` / `HEAD`. Appends are serialised by a check of the head's hash, inside
//! the same transaction that writes the events, so the chain never forks. Appends made at
//! the same time in one process are written together ([`crate::group`]): one transaction,
//! one sync, for a whole group of events.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::ServiceError;
use crate::group::Group;
use crate::ports::clock::Clock;
use crate::ports::table::{item, Condition, Index, Key, Query, Table, TableError, TxOp};

const PK: &str = "AUDIT";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Appends racing for the head retry this often before giving up.
const MAX_ATTEMPTS: usize = 50;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditAction {
    Created,
    Signed,
    Archived,
    Viewed,
    Downloaded,
    Verified,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Created => "created",
            AuditAction::Signed => "signed",
            AuditAction::Archived => "archived",
            AuditAction::Viewed => "viewed",
            AuditAction::Downloaded => "downloaded",
            AuditAction::Verified => "verified",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Employee id, or `public` / `system`.
    pub actor: String,
    pub document: String,
    pub action: AuditAction,
    pub details: Value,
    pub prev: String,
    pub hash: String,
}

impl AuditEvent {
    /// SHA-256 over the canonical JSON of every field but `hash` (serde_json writes object
    /// keys sorted, so the bytes are stable).
    fn compute_hash(&self) -> String {
        let canonical = json!({
            "seq": self.seq,
            "at": self.at.unix_timestamp_nanos().to_string(),
            "actor": self.actor,
            "document": self.document,
            "action": self.action.as_str(),
            "details": self.details,
            "prev": self.prev,
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// The outcome of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    Intact { events: u64, head: String },
    Broken { at_seq: u64, reason: String },
}

/// One event to append: who did what to which document.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub actor: String,
    pub document: String,
    pub action: AuditAction,
    pub details: Value,
}

/// Answers of one group of appends: each caller's events, in order.
type Appended = Result<Vec<AuditEvent>, ServiceError>;

#[derive(Clone)]
pub struct AuditTrail {
    table: Arc<dyn Table>,
    /// Appends of this process share transactions (see [`crate::group`]): the chain has
    /// one head, so appends one by one would each wait for the previous one's commit.
    appends: Group<Vec<NewEvent>, Appended>,
}

fn event_key(seq: u64) -> Key {
    Key::new(PK, format!("EVT#{seq:012}"))
}

fn head_key() -> Key {
    Key::new(PK, "HEAD")
}

/// Events written per transaction: with the head, within the store's 100-item limit.
const EVENTS_PER_TX: usize = crate::ports::table::MAX_TX_ITEMS - 1;
/// Events appended by one group at most (the rest waits for the next group).
const EVENTS_PER_GROUP: usize = 512;

impl AuditTrail {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        let (t, c) = (table.clone(), clock.clone());
        let appends = Group::new(
            EVENTS_PER_GROUP,
            Arc::new(move |requests: Vec<Vec<NewEvent>>| {
                let (table, clock) = (t.clone(), c.clone());
                Box::pin(async move {
                    let sizes: Vec<usize> = requests.iter().map(Vec::len).collect();
                    let all: Vec<NewEvent> = requests.into_iter().flatten().collect();
                    match append_chain(table.as_ref(), clock.as_ref(), all).await {
                        Ok(events) => {
                            let mut events = events.into_iter();
                            sizes
                                .into_iter()
                                .map(|n| Ok(events.by_ref().take(n).collect()))
                                .collect()
                        }
                        Err(e) => sizes.into_iter().map(|_| Err(e.clone())).collect(),
                    }
                }) as _
            }),
        );
        AuditTrail { table, appends }
    }

    /// Appends one event and returns it once it is durable.
    pub async fn append(
        &self,
        actor: &str,
        document: &str,
        action: AuditAction,
        details: Value,
    ) -> Result<AuditEvent, ServiceError> {
        let mut events = self
            .append_all(vec![NewEvent {
                actor: actor.to_string(),
                document: document.to_string(),
                action,
                details,
            }])
            .await?;
        events
            .pop()
            .ok_or_else(|| ServiceError::Internal("audit event not appended".into()))
    }

    /// Appends several events, consecutive in the chain and in this order, and returns
    /// them once they are all durable. Concurrent appends of this process are written
    /// together: one transaction (one sync) for a group of callers.
    pub async fn append_all(&self, events: Vec<NewEvent>) -> Result<Vec<AuditEvent>, ServiceError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let n = events.len();
        let appended = self
            .appends
            .submit(events)
            .await
            .map_err(|_| ServiceError::Internal("audit append interrupted".into()))??;
        if appended.len() != n {
            return Err(ServiceError::Internal("audit append incomplete".into()));
        }
        Ok(appended)
    }

    /// Events of one document, oldest first.
    pub async fn events_of(&self, document: &str) -> Result<Vec<AuditEvent>, ServiceError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .table
                .query(Query::partition(Index::Gsi1, format!("DOCAUDIT#{document}")).after(cursor))
                .await?;
            for it in page.items {
                out.push(parse_event(it)?);
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Recomputes the whole chain.
    pub async fn verify(&self) -> Result<ChainReport, ServiceError> {
        let mut expected_seq = 1u64;
        let mut prev = GENESIS.to_string();
        let mut cursor = None;
        loop {
            let page = self
                .table
                .query(
                    Query::partition(Index::Primary, PK)
                        .sk(crate::ports::table::SortKey::BeginsWith("EVT#".into()))
                        .after(cursor),
                )
                .await?;
            for it in page.items {
                let sk = it
                    .get("sk")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let event = match parse_event(it) {
                    Ok(e) => e,
                    Err(_) => {
                        return Ok(ChainReport::Broken {
                            at_seq: expected_seq,
                            reason: format!("event {sk} is unreadable"),
                        })
                    }
                };
                if sk != format!("EVT#{:012}", event.seq) {
                    return Ok(ChainReport::Broken {
                        at_seq: expected_seq,
                        reason: format!("event stored at {sk} claims sequence {}", event.seq),
                    });
                }
                if event.seq != expected_seq {
                    return Ok(ChainReport::Broken {
                        at_seq: expected_seq,
                        reason: format!("event {expected_seq} is missing (found {})", event.seq),
                    });
                }
                if event.prev != prev {
                    return Ok(ChainReport::Broken {
                        at_seq: event.seq,
                        reason: "link to the previous event does not match".into(),
                    });
                }
                if event.compute_hash() != event.hash {
                    return Ok(ChainReport::Broken {
                        at_seq: event.seq,
                        reason: "event content was changed after it was recorded".into(),
                    });
                }
                prev = event.hash;
                expected_seq += 1;
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let events = expected_seq - 1;
        let head = self.table.get(&head_key()).await?;
        let (head_seq, head_hash) = match &head {
            Some(h) => (
                h.get("seq").and_then(Value::as_u64).unwrap_or(0),
                h.get("hash")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ),
            None => (0, GENESIS.to_string()),
        };
        if head_seq != events || head_hash != prev {
            return Ok(ChainReport::Broken {
                at_seq: events + 1,
                reason: format!(
                    "the chain ends at event {events} but its head records event {head_seq}"
                ),
            });
        }
        Ok(ChainReport::Intact { events, head: prev })
    }
}

/// Appends `entries` to the chain after its current head, in transactions of at most
/// [`EVENTS_PER_TX`] events, all handed to the store in one `transact_write_many` (one
/// sync on SQLite). Each transaction moves the head on, guarded by the head it expects,
/// so the chain never forks: when another writer (another process) appended first, the
/// rest is built again on the new head.
async fn append_chain(
    table: &dyn Table,
    clock: &dyn Clock,
    entries: Vec<NewEvent>,
) -> Result<Vec<AuditEvent>, ServiceError> {
    let mut done: Vec<AuditEvent> = Vec::with_capacity(entries.len());
    let mut attempts = 0;
    while done.len() < entries.len() {
        attempts += 1;
        if attempts > MAX_ATTEMPTS {
            return Err(ServiceError::Internal("audit chain too contended".into()));
        }
        let head = table.get(&head_key()).await?;
        let (mut seq, mut hash) = match &head {
            Some(h) => (
                h.get("seq").and_then(Value::as_u64).unwrap_or(0),
                h.get("hash")
                    .and_then(Value::as_str)
                    .unwrap_or(GENESIS)
                    .to_string(),
            ),
            None => (0, GENESIS.to_string()),
        };
        let mut events = Vec::with_capacity(entries.len() - done.len());
        for e in &entries[done.len()..] {
            let mut event = AuditEvent {
                seq: seq + 1,
                at: clock.now(),
                actor: e.actor.clone(),
                document: e.document.clone(),
                action: e.action,
                details: e.details.clone(),
                prev: hash,
                hash: String::new(),
            };
            event.hash = event.compute_hash();
            seq = event.seq;
            hash = event.hash.clone();
            events.push(event);
        }
        let mut groups = Vec::new();
        // Each transaction expects the head left by the one before it, named by its hash:
        // a head that another writer moved to the same seq must not let a later
        // transaction of ours through after an earlier one failed (that would fork).
        let mut expected = head.as_ref().map(|_| events[0].prev.clone());
        for chunk in events.chunks(EVENTS_PER_TX) {
            let mut ops = Vec::with_capacity(chunk.len() + 1);
            for event in chunk {
                ops.push(TxOp::Put {
                    item: event_record(event)?,
                    condition: Some(Condition::absent()),
                });
            }
            let (Some(last), hk) = (chunk.last(), head_key()) else {
                continue;
            };
            ops.push(TxOp::Put {
                item: item(json!({"pk": hk.pk, "sk": hk.sk, "seq": last.seq, "hash": last.hash})),
                condition: Some(match expected {
                    Some(hash) => Condition::equals("hash", hash),
                    None => Condition::absent(),
                }),
            });
            expected = Some(last.hash.clone());
            groups.push(ops);
        }
        let results = table.transact_write_many(groups).await;
        let mut written = 0;
        for (chunk, result) in events.chunks(EVENTS_PER_TX).zip(results) {
            match result {
                Ok(()) => written += chunk.len(),
                // Someone appended first: build the rest on the new head.
                Err(TableError::ConditionFailed { .. }) | Err(TableError::Conflict) => break,
                Err(e) => return Err(e.into()),
            }
        }
        done.extend(events.into_iter().take(written));
    }
    Ok(done)
}

fn event_record(event: &AuditEvent) -> Result<crate::ports::table::Item, ServiceError> {
    let mut record = match serde_json::to_value(event) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(ServiceError::Internal(
                "audit event did not serialise".into(),
            ))
        }
    };
    let k = event_key(event.seq);
    record.insert("pk".into(), k.pk.into());
    record.insert("sk".into(), k.sk.into());
    record.insert(
        "gsi1pk".into(),
        format!("DOCAUDIT#{}", event.document).into(),
    );
    record.insert("gsi1sk".into(), format!("{:012}", event.seq).into());
    Ok(record)
}

fn parse_event(mut it: crate::ports::table::Item) -> Result<AuditEvent, ServiceError> {
    for k in ["pk", "sk", "gsi1pk", "gsi1sk"] {
        it.remove(k);
    }
    serde_json::from_value(Value::Object(it))
        .map_err(|e| ServiceError::Internal(format!("audit event unreadable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryTable;
    use crate::ports::clock::SystemClock;
    use crate::ports::table::Update;

    async fn trail_with(n: usize) -> (AuditTrail, Arc<MemoryTable>) {
        let table = Arc::new(MemoryTable::new());
        let trail = AuditTrail::new(table.clone(), Arc::new(SystemClock));
        for i in 0..n {
            trail
                .append(
                    "emp1",
                    &format!("doc{}", i % 3),
                    AuditAction::Viewed,
                    json!({"i": i}),
                )
                .await
                .unwrap();
        }
        (trail, table)
    }

    #[tokio::test]
    async fn an_untouched_chain_verifies() {
        let (trail, _) = trail_with(25).await;
        assert!(matches!(
            trail.verify().await.unwrap(),
            ChainReport::Intact { events: 25, .. }
        ));
        assert_eq!(trail.events_of("doc1").await.unwrap().len(), 8);
    }

    #[tokio::test]
    async fn an_edited_event_is_detected() {
        let (trail, table) = trail_with(10).await;
        table
            .update(
                &event_key(4),
                Update::new().set("actor", "someone-else"),
                None,
            )
            .await
            .unwrap();
        assert!(matches!(
            trail.verify().await.unwrap(),
            ChainReport::Broken { at_seq: 4, .. }
        ));
    }

    #[tokio::test]
    async fn a_deleted_event_is_detected_in_the_middle_and_at_the_end() {
        let (trail, table) = trail_with(10).await;
        table.delete(&event_key(10), None).await.unwrap();
        assert!(matches!(
            trail.verify().await.unwrap(),
            ChainReport::Broken { at_seq: 10, .. }
        ));
        table.delete(&event_key(5), None).await.unwrap();
        assert!(matches!(
            trail.verify().await.unwrap(),
            ChainReport::Broken { at_seq: 5, .. }
        ));
    }

    #[tokio::test]
    async fn an_inserted_event_is_detected_even_with_a_fresh_hash() {
        let (trail, table) = trail_with(6).await;
        // Forge a plausible event 4 over the real one, with a correctly computed hash but
        // the real event 3 as its predecessor: event 5's link then no longer matches.
        let real3 = parse_event(table.get(&event_key(3)).await.unwrap().unwrap()).unwrap();
        let mut forged = parse_event(table.get(&event_key(4)).await.unwrap().unwrap()).unwrap();
        forged.actor = "intruder".into();
        forged.prev = real3.hash;
        forged.hash = forged.compute_hash();
        let mut rec = match serde_json::to_value(&forged).unwrap() {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        rec.insert("pk".into(), PK.into());
        rec.insert("sk".into(), "EVT#000000000004".into());
        table.put(rec, None).await.unwrap();
        assert!(matches!(
            trail.verify().await.unwrap(),
            ChainReport::Broken { at_seq: 5, .. }
        ));
    }

    #[tokio::test]
    async fn concurrent_appends_make_one_unbroken_chain() {
        let table: Arc<MemoryTable> = Arc::new(MemoryTable::new());
        let trail = AuditTrail::new(table, Arc::new(SystemClock));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let t = trail.clone();
            tasks.push(tokio::spawn(async move {
                t.append("emp", "doc", AuditAction::Downloaded, json!({"i": i}))
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(matches!(
            trail.verify().await.unwrap(),
            ChainReport::Intact { events: 20, .. }
        ));
    }

    fn viewed(n: usize, tag: &str) -> Vec<NewEvent> {
        (0..n)
            .map(|i| NewEvent {
                actor: "emp".into(),
                document: format!("{tag}{i}"),
                action: AuditAction::Viewed,
                details: json!({"i": i}),
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_trails_on_one_table_appending_groups_at_once_make_one_unbroken_chain() {
        // Two processes on one store, each grouping its own appends.
        let table: Arc<MemoryTable> = Arc::new(MemoryTable::new());
        let trails = [
            AuditTrail::new(table.clone(), Arc::new(SystemClock)),
            AuditTrail::new(table.clone(), Arc::new(SystemClock)),
        ];
        let mut tasks = Vec::new();
        for i in 0..40 {
            let t = trails[i % 2].clone();
            tasks.push(tokio::spawn(async move {
                t.append_all(viewed(1 + i % 7 * 30, &format!("t{i}-")))
                    .await
            }));
        }
        let mut appended = 0;
        for t in tasks {
            appended += t.await.unwrap().unwrap().len();
        }
        match trails[0].verify().await.unwrap() {
            ChainReport::Intact { events, .. } => assert_eq!(events as usize, appended),
            broken => panic!("{broken:?}"),
        }
    }

    /// A table on which, just before the first batch of transactions, another process
    /// appends exactly one transaction's worth of events: the head it leaves has the seq
    /// our second transaction expects, but not the hash.
    struct Interleaved {
        inner: Arc<MemoryTable>,
        other: AuditTrail,
        done: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl Table for Interleaved {
        async fn get(&self, key: &Key) -> Result<Option<crate::ports::table::Item>, TableError> {
            self.inner.get(key).await
        }
        async fn put(
            &self,
            item: crate::ports::table::Item,
            condition: Option<Condition>,
        ) -> Result<(), TableError> {
            self.inner.put(item, condition).await
        }
        async fn update(
            &self,
            key: &Key,
            update: crate::ports::table::Update,
            condition: Option<Condition>,
        ) -> Result<crate::ports::table::Item, TableError> {
            self.inner.update(key, update, condition).await
        }
        async fn delete(
            &self,
            key: &Key,
            condition: Option<Condition>,
        ) -> Result<Option<crate::ports::table::Item>, TableError> {
            self.inner.delete(key, condition).await
        }
        async fn query(&self, query: Query) -> Result<crate::ports::table::Page, TableError> {
            self.inner.query(query).await
        }
        async fn transact_write(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
            self.inner.transact_write(ops).await
        }
        async fn transact_write_many(&self, groups: Vec<Vec<TxOp>>) -> Vec<Result<(), TableError>> {
            if !self.done.swap(true, std::sync::atomic::Ordering::SeqCst) {
                self.other
                    .append_all(viewed(EVENTS_PER_TX, "other"))
                    .await
                    .unwrap();
            }
            self.inner.transact_write_many(groups).await
        }
    }

    #[tokio::test]
    async fn a_head_moved_by_another_writer_to_the_expected_seq_does_not_fork_the_chain() {
        let inner = Arc::new(MemoryTable::new());
        let table = Arc::new(Interleaved {
            inner: inner.clone(),
            other: AuditTrail::new(inner.clone(), Arc::new(SystemClock)),
            done: false.into(),
        });
        table.other.append_all(viewed(1, "first")).await.unwrap();
        let trail = AuditTrail::new(table, Arc::new(SystemClock));
        // Two transactions: the first expects the head at seq 1 and fails; the other
        // writer left the head at seq 1 + EVENTS_PER_TX, which the second expects.
        let ours = trail
            .append_all(viewed(2 * EVENTS_PER_TX, "ours"))
            .await
            .unwrap();
        assert_eq!(
            ours[0].seq as usize,
            1 + EVENTS_PER_TX + 1,
            "built on the new head"
        );
        match trail.verify().await.unwrap() {
            ChainReport::Intact { events, .. } => {
                assert_eq!(events as usize, 1 + 3 * EVENTS_PER_TX)
            }
            broken => panic!("{broken:?}"),
        }
    }
}
