//! The archive: every signed PDF stored once, content-addressed by SHA-256, with a
//! metadata record, retention from the JRA (jadwal retensi arsip), and every retrieval
//! recorded in the audit trail. Append-only: nothing here overwrites or deletes.
//!
//! Layout in the `Table`:
//!
//! | item | pk | sk | gsi1 | gsi2 |
//! |---|---|---|---|---|
//! | document | `DOC#id` | `META` | `DOCTYPE#type` / `archived#id` | `DOCS` / `archived#id` |
//! | by hash, by number | `UNIQUE#DOCSHA#sha`, `UNIQUE#DOCNUM#number` | `UNIQUE` | | |
//! | by signer | `DOCSIGNER#nip` | `archived#id` | | |
//! | retention due | `DOCDUE#year` | `transfer#id` / `final#id` | | |
//!
//! Bytes live in `Blobs` at `archive/<sha[0..2]>/<sha>.pdf`, written once, under
//! retention until the end of the inactive period.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Date, Month, OffsetDateTime};

use crate::audit::{AuditAction, AuditTrail};
use crate::error::{FieldErrors, ServiceError, Text};
use crate::group::Group;
use crate::ports::blobs::{sha256_hex, BlobInfo, Blobs, BlobsError, PutBlob};
use crate::ports::clock::Clock;
use crate::ports::table::{
    item, Condition, Index, Item, Key, Query, SortKey, Table, TableError, TxOp,
};
use crate::text;

/// What happens to a record when its inactive period ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FinalDisposition {
    /// Destroyed (with a destruction record).
    Musnah,
    /// Kept forever: handed to the national archive (ANRI).
    Permanen,
    /// Appraised again.
    DinilaiKembali,
}

impl FinalDisposition {
    pub fn label(self) -> Text {
        match self {
            FinalDisposition::Musnah => text!("musnah", "destroy"),
            FinalDisposition::Permanen => text!("permanen", "permanent"),
            FinalDisposition::DinilaiKembali => text!("dinilai kembali", "re-appraise"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub active_years: u16,
    pub inactive_years: u16,
    pub final_disposition: FinalDisposition,
}

/// One rule of the JRA: records whose classification code starts with `prefix`.
#[derive(Debug, Clone, Copy)]
pub struct JraRule {
    pub prefix: &'static str,
    pub description: &'static str,
    pub retention: Retention,
}

const fn rule(
    prefix: &'static str,
    description: &'static str,
    a: u16,
    i: u16,
    f: FinalDisposition,
) -> JraRule {
    JraRule {
        prefix,
        description,
        retention: Retention {
            active_years: a,
            inactive_years: i,
            final_disposition: f,
        },
    }
}

/// The retention schedule, by classification prefix (longest prefix wins). Modelled on
/// the KPU classification codes; an organisation adjusts it to its own JRA decree.
pub const JRA: &[JraRule] = &[
    rule(
        "PL",
        "Penyelenggaraan pemilu",
        3,
        7,
        FinalDisposition::Permanen,
    ),
    rule(
        "PL.01",
        "Perencanaan program dan anggaran pemilu",
        2,
        8,
        FinalDisposition::Permanen,
    ),
    rule("HK", "Hukum", 2, 8, FinalDisposition::Permanen),
    rule("KU", "Keuangan", 2, 8, FinalDisposition::Musnah),
    rule(
        "KU.03",
        "Perjalanan dinas (SPT, SPPD, kuitansi)",
        2,
        8,
        FinalDisposition::Musnah,
    ),
    rule("KP", "Kepegawaian", 2, 3, FinalDisposition::DinilaiKembali),
    rule(
        "KP.06",
        "Presensi dan cuti pegawai",
        1,
        1,
        FinalDisposition::Musnah,
    ),
    rule(
        "UM",
        "Umum dan rumah tangga",
        2,
        3,
        FinalDisposition::Musnah,
    ),
    rule(
        "TU",
        "Ketatausahaan dan persuratan",
        2,
        3,
        FinalDisposition::Musnah,
    ),
];

/// Used when no rule matches: keep and look again.
pub const DEFAULT_RETENTION: Retention = Retention {
    active_years: 2,
    inactive_years: 3,
    final_disposition: FinalDisposition::DinilaiKembali,
};

pub fn retention_for(classification: &str) -> Retention {
    let c = classification.trim().to_uppercase();
    JRA.iter()
        .filter(|r| {
            c == r.prefix
                || c.starts_with(&format!("{}.", r.prefix))
                || c.starts_with(&format!("{}-", r.prefix))
        })
        .max_by_key(|r| r.prefix.len())
        .map(|r| r.retention)
        .unwrap_or(DEFAULT_RETENTION)
}

/// Someone who signed (or initialled) the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signatory {
    pub name: String,
    pub nip: String,
    pub jabatan: String,
    #[serde(with = "time::serde::rfc3339")]
    pub signed_at: OffsetDateTime,
}

/// A document to archive. `id` is allocated before rendering because the QR code on the
/// stamp already points at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewArchive {
    pub id: String,
    /// e.g. `spt`, `sppd`, `kuitansi`, `disposisi`, `surat`
    pub doc_type: String,
    /// Official number, e.g. `123/PL.01-SD/32/2026`.
    pub number: Option<String>,
    /// The reserved series ([`crate::numbers::Series::key`]) `number` was allocated in by
    /// its service; `None` for a number cited from elsewhere, which must then lie outside
    /// every reserved series.
    #[serde(default)]
    pub series: Option<String>,
    pub title: String,
    /// Classification code, e.g. `KU.03`.
    pub classification: String,
    pub parties: Vec<String>,
    pub signers: Vec<Signatory>,
    /// Employee id (or `system`).
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedDocument {
    pub id: String,
    pub doc_type: String,
    pub number: Option<String>,
    pub title: String,
    pub classification: String,
    pub parties: Vec<String>,
    pub signers: Vec<Signatory>,
    pub sha256: String,
    pub size: u64,
    pub blob_key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub archived_at: OffsetDateTime,
    pub created_by: String,
    pub retention: Retention,
    /// Last day in the active archive (end of the year), then transfer to inactive.
    pub active_until: Date,
    /// Last day in the inactive archive, then the final disposition.
    pub inactive_until: Date,
}

/// Search criteria; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchFilter {
    pub doc_type: Option<String>,
    pub number: Option<String>,
    /// Inclusive, WIB dates of archiving.
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub signer_nip: Option<String>,
    /// Every word must appear in the title (case-insensitive).
    pub words: Option<String>,
}

/// What is due in a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    /// Move from the active to the inactive archive.
    Transfer,
    /// Apply the final disposition.
    Final(FinalDisposition),
}

/// What a public verification page shows (from the QR code): never the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicView {
    pub id: String,
    pub title: String,
    pub number: Option<String>,
    pub doc_type: String,
    pub signers: Vec<PublicSigner>,
    #[serde(with = "time::serde::rfc3339")]
    pub archived_at: OffsetDateTime,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSigner {
    pub name: String,
    pub jabatan: String,
    #[serde(with = "time::serde::rfc3339")]
    pub signed_at: OffsetDateTime,
}

fn doc_key(id: &str) -> Key {
    Key::new(format!("DOC#{id}"), "META")
}

fn unique_key(kind: &str, v: &str) -> Key {
    Key::new(format!("UNIQUE#{kind}#{v}"), "UNIQUE")
}

pub fn blob_key(sha256: &str) -> String {
    format!("archive/{}/{sha256}.pdf", &sha256[..2])
}

fn end_of_year(year: i32) -> Date {
    Date::from_calendar_date(year, Month::December, 31).unwrap_or(Date::MAX)
}

fn from_item(mut it: Item) -> Result<ArchivedDocument, ServiceError> {
    for k in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "type"] {
        it.remove(k);
    }
    serde_json::from_value(Value::Object(it))
        .map_err(|e| ServiceError::Internal(format!("archive record unreadable: {e}")))
}

/// How long a download link lives.
pub const DOWNLOAD_LINK_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Clone)]
pub struct Archive {
    table: Arc<dyn Table>,
    blobs: Arc<dyn Blobs>,
    clock: Arc<dyn Clock>,
    audit: AuditTrail,
    /// Documents archived at the same time are written together ([`crate::group`]), in
    /// stages that overlap: while one group's records commit, the next group's bytes sync.
    blob_writes: Group<PutBlob, Result<BlobInfo, BlobsError>>,
    record_writes: Group<Vec<TxOp>, Result<(), TableError>>,
}

/// Documents one group writes at most: their blobs in one `put_many`, their records in one
/// `transact_write_many` (their audit events go through the audit trail's own group).
const DOCUMENTS_PER_GROUP: usize = 128;

impl Archive {
    /// The store the archive keeps its records in (services that archive share it).
    pub fn table(&self) -> Arc<dyn Table> {
        self.table.clone()
    }

    pub fn new(table: Arc<dyn Table>, blobs: Arc<dyn Blobs>, clock: Arc<dyn Clock>) -> Self {
        let audit = AuditTrail::new(table.clone(), clock.clone());
        let b = blobs.clone();
        let blob_writes = Group::new(
            DOCUMENTS_PER_GROUP,
            Arc::new(move |batch: Vec<PutBlob>| {
                let blobs = b.clone();
                Box::pin(async move { blobs.put_many(batch).await }) as _
            }),
        );
        let t = table.clone();
        let record_writes = Group::new(
            DOCUMENTS_PER_GROUP,
            Arc::new(move |batch: Vec<Vec<TxOp>>| {
                let table = t.clone();
                Box::pin(async move { table.transact_write_many(batch).await }) as _
            }),
        );
        Archive {
            table,
            blobs,
            clock,
            audit,
            blob_writes,
            record_writes,
        }
    }

    pub fn audit(&self) -> &AuditTrail {
        &self.audit
    }

    fn check(new: &NewArchive) -> Result<(), ServiceError> {
        let mut e = FieldErrors::default();
        if new.id.is_empty()
            || new.id.len() > 64
            || !new
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            e.add("id", text!("id dokumen tidak valid", "invalid document id"));
        }
        for (field, v, max) in [
            ("doc_type", &new.doc_type, 32),
            ("title", &new.title, 300),
            ("classification", &new.classification, 32),
        ] {
            if v.trim().is_empty() {
                e.add(field, text!("wajib diisi", "is required"));
            } else if v.chars().count() > max {
                e.add(
                    field,
                    text!("paling banyak {max} karakter", "at most {max} characters"),
                );
            }
        }
        if let Some(n) = &new.number {
            match (crate::numbers::series_of(n), new.series.as_deref()) {
                (None, None) => {}
                (Some(s), Some(claimed)) if s.key == claimed => {}
                (Some(s), _) => e.add("number", crate::numbers::reserved_message(n, s)),
                (None, Some(claimed)) => e.add(
                    "number",
                    text!(
                        "nomor {} bukan nomor seri {}",
                        "number {} is not in the {} series",
                        n.trim(),
                        claimed
                    ),
                ),
            }
        }
        if new.signers.is_empty() {
            e.add(
                "signers",
                text!(
                    "dokumen arsip harus sudah ditandatangani",
                    "an archived document must be signed"
                ),
            );
        }
        e.into_result()
    }

    /// Stores a signed PDF and its record. Archiving the same bytes again returns the
    /// record already there (the sign task may be retried); a different document under
    /// a number already used is a conflict; a number of a reserved series is stored only
    /// for the service that allocated it (`Invalid` on `number` otherwise).
    ///
    /// Returns once the bytes, the record and the `archived` audit event are durable, and
    /// not before. Documents stored at the same time (concurrent requests, a batch of
    /// `paraf sign`) are written together, stage by stage: their bytes in one `put_many`,
    /// their records in one `transact_write_many`, their events in one audit append; the
    /// stages of successive groups overlap, so archiving many costs little more than one.
    pub async fn store(
        &self,
        new: NewArchive,
        pdf: Vec<u8>,
    ) -> Result<ArchivedDocument, ServiceError> {
        Self::check(&new)?;
        let sha = sha256_hex(&pdf);
        // Bytes archived before are found by the record's sha256 claim below (and their
        // blob, named by the hash, by `if_absent`): no lookup per document up front.
        let (doc, retain_until) = record(self.clock.as_ref(), &new, sha, pdf.len() as u64);
        let unanswered = |_| ServiceError::Internal("archiving interrupted".into());

        // 1. The bytes, durable before any record names them.
        let put = PutBlob {
            key: doc.blob_key.clone(),
            bytes: pdf,
            content_type: "application/pdf".into(),
            metadata: [
                ("sha256".to_string(), doc.sha256.clone()),
                ("document".to_string(), doc.id.clone()),
            ]
            .into_iter()
            .collect(),
            if_absent: true,
            retain_until: Some(retain_until),
        };
        match self.blob_writes.submit(put).await.map_err(unanswered)? {
            // Content-addressed: the same key means the same bytes.
            Ok(_) | Err(BlobsError::AlreadyExists(_)) => {}
            Err(e) => return Err(ServiceError::Internal(format!("archive blob: {e}"))),
        }

        // 2. The record and its claims, one transaction.
        let written = self
            .record_writes
            .submit(transaction(&doc)?)
            .await
            .map_err(unanswered)?;
        match written {
            Ok(()) => {}
            Err(TableError::ConditionFailed { op: Some(0) }) => {
                // Another run archived this document first (with other bytes: rendering
                // stamps the time). Said without internal names: it is a person's refusal.
                return Err(ServiceError::conflict(
                    "document",
                    text!(
                        "dokumen ini sudah diarsipkan",
                        "this document is already archived"
                    ),
                ));
            }
            Err(TableError::ConditionFailed { op: Some(1) }) => {
                // The same bytes were archived concurrently: that record stands.
                return self
                    .by_sha256(&doc.sha256)
                    .await?
                    .ok_or(ServiceError::Stale);
            }
            Err(TableError::ConditionFailed { op: Some(2) }) if doc.number.is_some() => {
                return Err(ServiceError::conflict(
                    "number",
                    text!(
                        "nomor dokumen sudah dipakai dokumen lain",
                        "document number already used by another document"
                    ),
                ))
            }
            Err(e) => return Err(e.into()),
        }

        // 3. The audit event (the trail groups concurrent appends too).
        self.audit
            .append(
                &doc.created_by,
                &doc.id,
                AuditAction::Archived,
                json!({"sha256": doc.sha256, "number": doc.number}),
            )
            .await?;
        Ok(doc)
    }

    pub async fn get(&self, id: &str) -> Result<ArchivedDocument, ServiceError> {
        match self.table.get(&doc_key(id)).await? {
            Some(it) => from_item(it),
            None => Err(ServiceError::NotFound("document")),
        }
    }

    async fn by_unique(
        &self,
        kind: &str,
        v: &str,
    ) -> Result<Option<ArchivedDocument>, ServiceError> {
        let Some(claim) = self.table.get(&unique_key(kind, v)).await? else {
            return Ok(None);
        };
        match claim.get("owner").and_then(Value::as_str) {
            Some(id) => Ok(Some(self.get(id).await?)),
            None => Ok(None),
        }
    }

    /// The archived document with exactly these bytes.
    pub async fn by_sha256(&self, sha256: &str) -> Result<Option<ArchivedDocument>, ServiceError> {
        self.by_unique("DOCSHA", &sha256.to_lowercase()).await
    }

    pub async fn by_number(&self, number: &str) -> Result<Option<ArchivedDocument>, ServiceError> {
        self.by_unique("DOCNUM", number.trim()).await
    }

    /// Documents matching `filter`, newest first. A page may hold fewer than `limit`
    /// documents when the filter drops some; `None` as cursor means the end.
    pub async fn search(
        &self,
        filter: &SearchFilter,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<ArchivedDocument>, Option<String>), ServiceError> {
        if let Some(n) = filter.number.as_deref().filter(|n| !n.trim().is_empty()) {
            let found = self.by_number(n).await?.filter(|d| matches(d, filter));
            return Ok((found.into_iter().collect(), None));
        }
        let range = |from: Option<Date>, to: Option<Date>| -> SortKey {
            let lo = from
                .map(|d| {
                    d.midnight()
                        .assume_offset(crate::ports::clock::WIB)
                        .unix_timestamp()
                })
                .unwrap_or(0);
            let hi = to
                .and_then(|d| d.next_day())
                .map(|d| {
                    d.midnight()
                        .assume_offset(crate::ports::clock::WIB)
                        .unix_timestamp()
                })
                .unwrap_or(i64::MAX / 2);
            // Sort keys are `<unix seconds>#id`: all our timestamps have the same digit
            // count (10) until 2286, so string order is time order.
            SortKey::Between(
                format!("{lo:010}"),
                format!("{:010}#~", hi.saturating_sub(1)),
            )
        };
        let sk = range(filter.from, filter.to);
        let (query, via_signer) = match (&filter.signer_nip, &filter.doc_type) {
            (Some(nip), _) => (
                Query::partition(Index::Primary, format!("DOCSIGNER#{}", nip.trim())),
                true,
            ),
            (None, Some(t)) => (
                Query::partition(Index::Gsi1, format!("DOCTYPE#{}", t.trim().to_lowercase())),
                false,
            ),
            (None, None) => (Query::partition(Index::Gsi2, "DOCS"), false),
        };
        let page = self
            .table
            .query(
                query
                    .sk(sk)
                    .backward()
                    .limit(limit.clamp(1, 200))
                    .after(cursor),
            )
            .await?;
        let mut out = Vec::new();
        for it in page.items {
            let doc = if via_signer {
                match it.get("document").and_then(Value::as_str) {
                    Some(id) => self.get(id).await?,
                    None => continue,
                }
            } else {
                from_item(it)?
            };
            if matches(&doc, filter) {
                out.push(doc);
            }
        }
        Ok((out, page.cursor))
    }

    /// A time-limited download link; the retrieval is recorded (who, when).
    pub async fn download_link(&self, id: &str, actor: &str) -> Result<String, ServiceError> {
        let doc = self.get(id).await?;
        let link = self
            .blobs
            .download_link(&doc.blob_key, DOWNLOAD_LINK_TTL)
            .await
            .map_err(|e| ServiceError::Internal(format!("download link: {e}")))?;
        self.audit
            .append(
                actor,
                id,
                AuditAction::Downloaded,
                json!({"expires_in_secs": DOWNLOAD_LINK_TTL.as_secs()}),
            )
            .await?;
        Ok(link)
    }

    /// Records that someone looked at the document's details.
    pub async fn record_view(&self, id: &str, actor: &str) -> Result<(), ServiceError> {
        self.audit
            .append(actor, id, AuditAction::Viewed, json!({}))
            .await?;
        Ok(())
    }

    /// What the public verification page (the QR code's target) may show.
    pub async fn public_view(&self, id: &str) -> Result<PublicView, ServiceError> {
        let d = self.get(id).await?;
        Ok(PublicView {
            id: d.id,
            title: d.title,
            number: d.number,
            doc_type: d.doc_type,
            signers: d
                .signers
                .into_iter()
                .map(|s| PublicSigner {
                    name: s.name,
                    jabatan: s.jabatan,
                    signed_at: s.signed_at,
                })
                .collect(),
            archived_at: d.archived_at,
            sha256: d.sha256,
        })
    }

    /// Documents due for transfer or final disposition in `year`.
    pub async fn retention_report(
        &self,
        year: i32,
    ) -> Result<Vec<(ArchivedDocument, Due)>, ServiceError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .table
                .query(Query::partition(Index::Primary, format!("DOCDUE#{year}")).after(cursor))
                .await?;
            for it in page.items {
                let sk = it.get("sk").and_then(Value::as_str).unwrap_or("");
                let Some(id) = it.get("document").and_then(Value::as_str) else {
                    continue;
                };
                let doc = self.get(id).await?;
                let due = if sk.starts_with("transfer#") {
                    Due::Transfer
                } else {
                    Due::Final(doc.retention.final_disposition)
                };
                out.push((doc, due));
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}

/// The record of a new document and the date its blob stays locked until.
fn record(
    clock: &dyn Clock,
    new: &NewArchive,
    sha: String,
    size: u64,
) -> (ArchivedDocument, OffsetDateTime) {
    let now = clock.now();
    let retention = retention_for(&new.classification);
    let active_until = end_of_year(now.year() + i32::from(retention.active_years));
    let inactive_until =
        end_of_year(now.year() + i32::from(retention.active_years + retention.inactive_years));
    let retain_until = match retention.final_disposition {
        // Never destroyed through paraf: lock for as long as the store allows.
        FinalDisposition::Permanen | FinalDisposition::DinilaiKembali => {
            now + time::Duration::days(366 * 100)
        }
        FinalDisposition::Musnah => inactive_until
            .with_hms(23, 59, 59)
            .map(|d| d.assume_offset(crate::ports::clock::WIB))
            .unwrap_or(now),
    };
    let doc = ArchivedDocument {
        id: new.id.clone(),
        doc_type: new.doc_type.trim().to_lowercase(),
        number: new
            .number
            .clone()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        title: new.title.trim().to_string(),
        classification: new.classification.trim().to_uppercase(),
        parties: new.parties.clone(),
        signers: new.signers.clone(),
        blob_key: blob_key(&sha),
        sha256: sha,
        size,
        archived_at: now,
        created_by: new.created_by.clone(),
        retention,
        active_until,
        inactive_until,
    };
    (doc, retain_until)
}

/// The transaction that records one document: its record (op 0), its hash claim (op 1),
/// its number claim (op 2, when it has a number), its signers' and retention references.
fn transaction(doc: &ArchivedDocument) -> Result<Vec<TxOp>, ServiceError> {
    let sort = format!("{}#{}", doc.archived_at.unix_timestamp(), doc.id);
    let mut record = match serde_json::to_value(doc) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(ServiceError::Internal(
                "archive record did not serialise".into(),
            ))
        }
    };
    let k = doc_key(&doc.id);
    record.extend(item(json!({
        "pk": k.pk, "sk": k.sk, "type": "document",
        "gsi1pk": format!("DOCTYPE#{}", doc.doc_type), "gsi1sk": sort,
        "gsi2pk": "DOCS", "gsi2sk": sort,
    })));
    let claim = |kind: &str, v: &str| {
        let u = unique_key(kind, v);
        TxOp::Put {
            item: item(json!({"pk": u.pk, "sk": u.sk, "type": "unique", "owner": doc.id})),
            condition: Some(Condition::absent()),
        }
    };
    let mut ops = vec![
        TxOp::Put {
            item: record,
            condition: Some(Condition::absent()),
        },
        claim("DOCSHA", &doc.sha256),
    ];
    if let Some(n) = &doc.number {
        ops.push(claim("DOCNUM", n));
    }
    let mut nips: Vec<&str> = doc.signers.iter().map(|s| s.nip.as_str()).collect();
    nips.sort_unstable();
    nips.dedup();
    for nip in nips {
        ops.push(TxOp::Put {
            item: item(json!({"pk": format!("DOCSIGNER#{nip}"), "sk": sort, "type": "docref", "document": doc.id})),
            condition: None,
        });
    }
    for (year, what) in [
        (doc.active_until.year(), "transfer"),
        (doc.inactive_until.year(), "final"),
    ] {
        ops.push(TxOp::Put {
            item: item(json!({"pk": format!("DOCDUE#{year}"), "sk": format!("{what}#{}", doc.id), "type": "docref", "document": doc.id})),
            condition: None,
        });
    }
    Ok(ops)
}

fn matches(d: &ArchivedDocument, f: &SearchFilter) -> bool {
    let day = d.archived_at.to_offset(crate::ports::clock::WIB).date();
    f.doc_type
        .as_ref()
        .is_none_or(|t| d.doc_type == t.trim().to_lowercase())
        && f.signer_nip
            .as_ref()
            .is_none_or(|n| d.signers.iter().any(|s| s.nip == n.trim()))
        && f.from.is_none_or(|from| day >= from)
        && f.to.is_none_or(|to| day <= to)
        && f.words.as_ref().is_none_or(|w| {
            let title = d.title.to_lowercase();
            w.split_whitespace()
                .all(|word| title.contains(&word.to_lowercase()))
        })
}
