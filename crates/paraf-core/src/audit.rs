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
//! head `AUDIT` / `HEAD`. Appends are serialised by a version check on the head, inside
//! the same transaction that writes the event, so the chain never forks.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::ServiceError;
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

#[derive(Clone)]
pub struct AuditTrail {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
}

fn event_key(seq: u64) -> Key {
    Key::new(PK, format!("EVT#{seq:012}"))
}

fn head_key() -> Key {
    Key::new(PK, "HEAD")
}

impl AuditTrail {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        AuditTrail { table, clock }
    }

    /// Appends one event and returns it.
    pub async fn append(
        &self,
        actor: &str,
        document: &str,
        action: AuditAction,
        details: Value,
    ) -> Result<AuditEvent, ServiceError> {
        for _ in 0..MAX_ATTEMPTS {
            let head = self.table.get(&head_key()).await?;
            let (last_seq, last_hash) = match &head {
                Some(h) => (
                    h.get("seq").and_then(Value::as_u64).unwrap_or(0),
                    h.get("hash")
                        .and_then(Value::as_str)
                        .unwrap_or(GENESIS)
                        .to_string(),
                ),
                None => (0, GENESIS.to_string()),
            };
            let mut event = AuditEvent {
                seq: last_seq + 1,
                at: self.clock.now(),
                actor: actor.to_string(),
                document: document.to_string(),
                action,
                details: details.clone(),
                prev: last_hash,
                hash: String::new(),
            };
            event.hash = event.compute_hash();
            let mut record = match serde_json::to_value(&event) {
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
            record.insert("gsi1pk".into(), format!("DOCAUDIT#{document}").into());
            record.insert("gsi1sk".into(), format!("{:012}", event.seq).into());
            let hk = head_key();
            let head_condition = if head.is_some() {
                Condition::equals("seq", last_seq)
            } else {
                Condition::absent()
            };
            let ops = vec![
                TxOp::Put {
                    item: record,
                    condition: Some(Condition::absent()),
                },
                TxOp::Put {
                    item: item(
                        json!({"pk": hk.pk, "sk": hk.sk, "seq": event.seq, "hash": event.hash}),
                    ),
                    condition: Some(head_condition),
                },
            ];
            match self.table.transact_write(ops).await {
                Ok(()) => return Ok(event),
                // Someone appended first: read the new head and try again.
                Err(TableError::ConditionFailed { .. }) | Err(TableError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Internal("audit chain too contended".into()))
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
}
