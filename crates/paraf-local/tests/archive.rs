//! The archive service on the embedded adapters (SQLite table, folder blobs).

use std::sync::Arc;

use paraf_core::archive::{Archive, Due, FinalDisposition, NewArchive, SearchFilter, Signatory};
use paraf_core::audit::{AuditAction, ChainReport};
use paraf_core::{Blobs, BlobsError, Clock, FixedClock, ServiceError};
use paraf_local::blobs::FolderBlobs;
use paraf_local::table::SqliteTable;
use time::macros::{date, datetime};

struct Fixture {
    archive: Archive,
    blobs: Arc<FolderBlobs>,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let table = Arc::new(SqliteTable::open(&dir.path().join("t.sqlite")).unwrap());
    let clock = Arc::new(FixedClock::new(datetime!(2026-11-28 09:00 +7)));
    let blobs = Arc::new(FolderBlobs::with_clock(
        dir.path().join("blobs"),
        "http://127.0.0.1:1".into(),
        [7u8; 32],
        clock.clone(),
    ));
    Fixture {
        archive: Archive::new(table, blobs.clone(), clock.clone()),
        blobs,
        clock,
        _dir: dir,
    }
}

fn signer(name: &str, nip: &str) -> Signatory {
    Signatory {
        name: name.into(),
        nip: nip.into(),
        jabatan: "Sekretaris".into(),
        signed_at: datetime!(2026-11-28 08:55 +7),
    }
}

fn spt(id: &str, number: &str, title: &str) -> NewArchive {
    NewArchive {
        id: id.into(),
        doc_type: "spt".into(),
        number: Some(number.into()),
        series: None,
        title: title.into(),
        classification: "KU.03".into(),
        parties: vec!["Ahmad Fauzi".into()],
        signers: vec![signer("Drs. Bambang Sutrisno", "196905181994031005")],
        created_by: "emp-admin".into(),
    }
}

#[tokio::test]
async fn an_archived_document_keeps_its_bytes_metadata_and_retention() {
    let f = fixture();
    let doc = f
        .archive
        .store(
            spt(
                "doc1",
                "001/KU.03-SD/32/2026",
                "Surat Tugas rapat pleno di Bandung",
            ),
            b"%PDF-1.7 one".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(
        doc.sha256,
        paraf_core::ports::blobs::sha256_hex(b"%PDF-1.7 one")
    );
    // KU.03 (perjalanan dinas): 2 years active, 8 inactive, then destroyed.
    assert_eq!(doc.retention.final_disposition, FinalDisposition::Musnah);
    assert_eq!(doc.active_until, date!(2028 - 12 - 31));
    assert_eq!(doc.inactive_until, date!(2036 - 12 - 31));
    let (info, bytes) = f.blobs.get(&doc.blob_key).await.unwrap();
    assert_eq!(bytes, b"%PDF-1.7 one");
    assert_eq!(info.sha256, doc.sha256);
    // Under retention: not even the adapter deletes it.
    assert!(matches!(
        f.blobs.delete(&doc.blob_key).await,
        Err(BlobsError::Retained(_))
    ));
    assert_eq!(f.archive.get("doc1").await.unwrap(), doc);
}

#[tokio::test]
async fn archiving_the_same_bytes_twice_returns_the_first_record() {
    let f = fixture();
    let a = f
        .archive
        .store(spt("doc1", "001/KU.03-SD/32/2026", "SPT"), b"same".to_vec())
        .await
        .unwrap();
    let b = f
        .archive
        .store(
            spt("doc2", "002/KU.03-SD/32/2026", "SPT lain"),
            b"same".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(a, b);
    assert!(matches!(
        f.archive.get("doc2").await,
        Err(ServiceError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_number_of_a_reserved_series_is_stored_only_for_the_series_it_was_allocated_in() {
    let f = fixture();
    let spt_no = "1/KU.03-ST/32/2026";
    for (series, bytes) in [(None, b"cited".as_slice()), (Some("sppd"), b"other series")] {
        let mut new = spt("doc1", spt_no, "SPT");
        new.series = series.map(str::to_string);
        let err = f
            .archive
            .store(new, bytes.to_vec())
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, ServiceError::Invalid(fields) if fields.has("number")),
            "{err:?}"
        );
    }
    let mut mislabelled = spt("doc1", "001/KU.03-SD/32/2026", "SPT");
    mislabelled.series = Some("spt".into());
    assert!(f.archive.store(mislabelled, b"x".to_vec()).await.is_err());
    assert!(f.archive.by_number(spt_no).await.unwrap().is_none());

    let mut own = spt("doc1", spt_no, "SPT");
    own.series = Some("spt".into());
    let doc = f
        .archive
        .store(own, b"the SPT".to_vec())
        .await
        .expect("stored");
    assert_eq!(doc.number.as_deref(), Some(spt_no));
}

#[tokio::test]
async fn a_number_already_used_by_another_document_is_a_conflict() {
    let f = fixture();
    f.archive
        .store(spt("doc1", "001/KU.03-SD/32/2026", "SPT"), b"one".to_vec())
        .await
        .unwrap();
    let err = f
        .archive
        .store(spt("doc2", "001/KU.03-SD/32/2026", "SPT"), b"two".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Conflict { ref field, .. } if field == "number"),
        "{err:?}"
    );
    assert!(f
        .archive
        .by_sha256(&paraf_core::ports::blobs::sha256_hex(b"two"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn search_finds_by_type_signer_dates_words_and_number() {
    let f = fixture();
    f.archive
        .store(
            spt(
                "a",
                "001/KU.03-SD/32/2026",
                "Surat Tugas rapat pleno Bandung",
            ),
            b"a".to_vec(),
        )
        .await
        .unwrap();
    f.clock.advance(time::Duration::days(3));
    let mut kuitansi = spt(
        "b",
        "002/KU.03-SD/32/2026",
        "Kuitansi perjalanan dinas Cirebon",
    );
    kuitansi.doc_type = "kuitansi".into();
    kuitansi.signers = vec![signer("Ir. Wawan Gunawan", "197501012000031011")];
    f.archive.store(kuitansi, b"b".to_vec()).await.unwrap();
    f.clock.advance(time::Duration::days(3));
    f.archive
        .store(
            spt(
                "c",
                "003/KU.03-SD/32/2026",
                "Surat Tugas monitoring Cirebon",
            ),
            b"c".to_vec(),
        )
        .await
        .unwrap();

    let ids = |docs: Vec<paraf_core::archive::ArchivedDocument>| {
        docs.into_iter().map(|d| d.id).collect::<Vec<_>>()
    };
    let all = f
        .archive
        .search(&SearchFilter::default(), 50, None)
        .await
        .unwrap();
    assert_eq!(ids(all.0), ["c", "b", "a"], "newest first");
    let by_type = SearchFilter {
        doc_type: Some("spt".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(f.archive.search(&by_type, 50, None).await.unwrap().0),
        ["c", "a"]
    );
    let by_signer = SearchFilter {
        signer_nip: Some("197501012000031011".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(f.archive.search(&by_signer, 50, None).await.unwrap().0),
        ["b"]
    );
    let by_words = SearchFilter {
        words: Some("cirebon SURAT".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(f.archive.search(&by_words, 50, None).await.unwrap().0),
        ["c"]
    );
    let by_dates = SearchFilter {
        from: Some(date!(2026 - 11 - 30)),
        to: Some(date!(2026 - 12 - 02)),
        ..Default::default()
    };
    assert_eq!(
        ids(f.archive.search(&by_dates, 50, None).await.unwrap().0),
        ["b"]
    );
    let by_number = SearchFilter {
        number: Some("003/KU.03-SD/32/2026".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(f.archive.search(&by_number, 50, None).await.unwrap().0),
        ["c"]
    );
    // Paging: one at a time, each once.
    let (p1, c1) = f
        .archive
        .search(&SearchFilter::default(), 1, None)
        .await
        .unwrap();
    let (p2, c2) = f
        .archive
        .search(&SearchFilter::default(), 1, c1)
        .await
        .unwrap();
    let (p3, _) = f
        .archive
        .search(&SearchFilter::default(), 1, c2)
        .await
        .unwrap();
    assert_eq!([ids(p1), ids(p2), ids(p3)].concat(), ["c", "b", "a"]);
}

#[tokio::test]
async fn every_download_is_recorded_and_the_audit_chain_holds() {
    let f = fixture();
    f.archive
        .store(spt("doc1", "001/KU.03-SD/32/2026", "SPT"), b"x".to_vec())
        .await
        .unwrap();
    let link = f
        .archive
        .download_link("doc1", "emp-arsiparis")
        .await
        .unwrap();
    assert!(link.starts_with("http://127.0.0.1:1/api/v1/files/"));
    let token = link.rsplit('/').next().unwrap();
    let key = f.blobs.resolve_link(token, f.clock.now()).unwrap();
    assert_eq!(key, f.archive.get("doc1").await.unwrap().blob_key);
    // Ten minutes later the link no longer works.
    assert!(f
        .blobs
        .resolve_link(token, f.clock.now() + time::Duration::minutes(11))
        .is_err());
    let events = f.archive.audit().events_of("doc1").await.unwrap();
    let actions: Vec<_> = events
        .iter()
        .map(|e| (e.action, e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            (AuditAction::Archived, "emp-admin"),
            (AuditAction::Downloaded, "emp-arsiparis")
        ]
    );
    assert!(matches!(
        f.archive.audit().verify().await.unwrap(),
        ChainReport::Intact { events: 2, .. }
    ));
}

#[tokio::test]
async fn the_retention_report_lists_transfers_and_final_dispositions_by_year() {
    let f = fixture();
    f.archive
        .store(spt("doc1", "001/KU.03-SD/32/2026", "SPT"), b"x".to_vec())
        .await
        .unwrap();
    let mut pemilu = spt("doc2", "002/PL.01-SD/32/2026", "Keputusan penetapan DPT");
    pemilu.classification = "PL.01".into();
    f.archive.store(pemilu, b"y".to_vec()).await.unwrap();
    let due_2028: Vec<_> = f
        .archive
        .retention_report(2028)
        .await
        .unwrap()
        .into_iter()
        .map(|(d, due)| (d.id, due))
        .collect();
    assert_eq!(
        due_2028,
        [
            ("doc1".to_string(), Due::Transfer),
            ("doc2".to_string(), Due::Transfer)
        ]
    );
    let due_2036: Vec<_> = f
        .archive
        .retention_report(2036)
        .await
        .unwrap()
        .into_iter()
        .map(|(d, due)| (d.id, due))
        .collect();
    assert_eq!(
        due_2036,
        [
            ("doc1".to_string(), Due::Final(FinalDisposition::Musnah)),
            ("doc2".to_string(), Due::Final(FinalDisposition::Permanen))
        ]
    );
}

#[tokio::test]
async fn the_public_view_names_title_number_and_signers_but_not_the_content() {
    let f = fixture();
    f.archive
        .store(spt("doc1", "001/KU.03-SD/32/2026", "SPT"), b"x".to_vec())
        .await
        .unwrap();
    let v = serde_json::to_value(f.archive.public_view("doc1").await.unwrap()).unwrap();
    assert_eq!(v["number"], "001/KU.03-SD/32/2026");
    assert_eq!(v["signers"][0]["name"], "Drs. Bambang Sutrisno");
    for hidden in ["blob_key", "parties", "created_by"] {
        assert!(v.get(hidden).is_none(), "{hidden} exposed");
    }
    assert!(v["signers"][0].get("nip").is_none());
}

#[tokio::test]
async fn a_document_without_signers_or_title_is_refused_naming_the_fields() {
    let f = fixture();
    let mut bad = spt("doc1", "001/KU.03-SD/32/2026", " ");
    bad.signers.clear();
    match f.archive.store(bad, b"x".to_vec()).await.unwrap_err() {
        ServiceError::Invalid(e) => assert!(e.has("title") && e.has("signers")),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Durability: a document the archive acknowledged is never lost.

mod crash {
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use paraf_core::ports::table::{
        Condition, Item, Key, Page, Query, Table, TableError, TxOp, Update,
    };
    use paraf_core::{BlobInfo, BlobPage, Blobs, BlobsError, PutBlob};

    /// The moment a process dies, among the calls its archive makes to the stores: the
    /// first `alive` calls go through; every later call fails. With `answer_lost`, the
    /// call that fails still reaches the store first (the write happened, its answer never
    /// came back); otherwise it never reaches it (the write is lost).
    pub struct Crash {
        calls: AtomicUsize,
        alive: usize,
        answer_lost: bool,
    }

    impl Crash {
        pub fn after(alive: usize, answer_lost: bool) -> Arc<Crash> {
            Arc::new(Crash {
                calls: AtomicUsize::new(0),
                alive,
                answer_lost,
            })
        }

        pub fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }

        async fn gate<T>(&self, call: impl Future<Output = T>, dead: impl FnOnce() -> T) -> T {
            if self.calls.fetch_add(1, Ordering::SeqCst) < self.alive {
                return call.await;
            }
            if self.answer_lost {
                let _ = call.await;
            }
            dead()
        }
    }

    fn table_down() -> TableError {
        TableError::Unavailable("crashed".into())
    }

    fn blobs_down() -> BlobsError {
        BlobsError::Unavailable("crashed".into())
    }

    pub struct CrashTable(pub Arc<dyn Table>, pub Arc<Crash>);

    #[async_trait]
    impl Table for CrashTable {
        async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
            self.1.gate(self.0.get(key), || Err(table_down())).await
        }
        async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
            self.1
                .gate(self.0.put(item, condition), || Err(table_down()))
                .await
        }
        async fn update(
            &self,
            key: &Key,
            update: Update,
            condition: Option<Condition>,
        ) -> Result<Item, TableError> {
            self.1
                .gate(self.0.update(key, update, condition), || Err(table_down()))
                .await
        }
        async fn delete(
            &self,
            key: &Key,
            condition: Option<Condition>,
        ) -> Result<Option<Item>, TableError> {
            self.1
                .gate(self.0.delete(key, condition), || Err(table_down()))
                .await
        }
        async fn query(&self, query: Query) -> Result<Page, TableError> {
            self.1.gate(self.0.query(query), || Err(table_down())).await
        }
        async fn transact_write(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
            self.1
                .gate(self.0.transact_write(ops), || Err(table_down()))
                .await
        }
        async fn transact_write_many(&self, groups: Vec<Vec<TxOp>>) -> Vec<Result<(), TableError>> {
            let n = groups.len();
            self.1
                .gate(self.0.transact_write_many(groups), || {
                    vec![Err(table_down()); n]
                })
                .await
        }
    }

    pub struct CrashBlobs(pub Arc<dyn Blobs>, pub Arc<Crash>);

    #[async_trait]
    impl Blobs for CrashBlobs {
        async fn put(&self, blob: PutBlob) -> Result<BlobInfo, BlobsError> {
            self.1.gate(self.0.put(blob), || Err(blobs_down())).await
        }
        async fn put_many(&self, blobs: Vec<PutBlob>) -> Vec<Result<BlobInfo, BlobsError>> {
            let n = blobs.len();
            self.1
                .gate(self.0.put_many(blobs), || vec![Err(blobs_down()); n])
                .await
        }
        async fn get(&self, key: &str) -> Result<(BlobInfo, Vec<u8>), BlobsError> {
            self.1.gate(self.0.get(key), || Err(blobs_down())).await
        }
        async fn head(&self, key: &str) -> Result<BlobInfo, BlobsError> {
            self.1.gate(self.0.head(key), || Err(blobs_down())).await
        }
        async fn list(
            &self,
            prefix: &str,
            limit: u32,
            cursor: Option<String>,
        ) -> Result<BlobPage, BlobsError> {
            self.1
                .gate(self.0.list(prefix, limit, cursor), || Err(blobs_down()))
                .await
        }
        async fn delete(&self, key: &str) -> Result<(), BlobsError> {
            self.1.gate(self.0.delete(key), || Err(blobs_down())).await
        }
        async fn download_link(
            &self,
            key: &str,
            expires_in: Duration,
        ) -> Result<String, BlobsError> {
            self.1
                .gate(self.0.download_link(key, expires_in), || Err(blobs_down()))
                .await
        }
    }
}

/// Archives `count` documents at once through stores that die after `alive` calls;
/// returns the documents the archive acknowledged and how many calls a full run makes.
async fn archive_until_crash(
    dir: &std::path::Path,
    count: usize,
    alive: usize,
    answer_lost: bool,
) -> (Vec<paraf_core::archive::ArchivedDocument>, usize) {
    let crash = crash::Crash::after(alive, answer_lost);
    let table = Arc::new(SqliteTable::open(&dir.join("t.sqlite")).unwrap());
    let blobs = Arc::new(FolderBlobs::new(
        dir.join("blobs"),
        "http://127.0.0.1:1".into(),
        [7u8; 32],
    ));
    let archive = Archive::new(
        Arc::new(crash::CrashTable(table, crash.clone())),
        Arc::new(crash::CrashBlobs(blobs, crash.clone())),
        Arc::new(paraf_core::SystemClock),
    );
    let mut tasks = Vec::new();
    for i in 0..count {
        let archive = archive.clone();
        tasks.push(tokio::spawn(async move {
            let new = NewArchive {
                id: format!("doc{i:03}"),
                doc_type: "surat".into(),
                number: Some(format!("{i}/UND/2026")),
                series: None,
                title: format!("Undangan {i}"),
                classification: "TU".into(),
                parties: Vec::new(),
                signers: vec![signer("Drs. Bambang Sutrisno", "196905181994031005")],
                created_by: "emp-admin".into(),
            };
            archive
                .store(new, format!("%PDF-1.7 undangan {i}").into_bytes())
                .await
        }));
    }
    let mut acknowledged = Vec::new();
    for t in tasks {
        if let Ok(doc) = t.await.unwrap() {
            acknowledged.push(doc);
        }
    }
    (acknowledged, crash.calls())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_the_archive_acknowledged_survives_a_crash_at_any_moment() {
    const DOCS: usize = 12;
    // A run without a crash: every document acknowledged; its calls are the crash points.
    let dir = tempfile::tempdir().unwrap();
    let (all, calls) = archive_until_crash(dir.path(), DOCS, usize::MAX, false).await;
    assert_eq!(all.len(), DOCS);
    let mut crashes_that_lost_answers = 0;
    for alive in 0..=calls {
        for answer_lost in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (acknowledged, _) = archive_until_crash(dir.path(), DOCS, alive, answer_lost).await;
            if acknowledged.len() < DOCS {
                crashes_that_lost_answers += 1;
            }
            // After the crash: open the stores again, as the next process would.
            let table = Arc::new(SqliteTable::open(&dir.path().join("t.sqlite")).unwrap());
            let blobs = Arc::new(FolderBlobs::new(
                dir.path().join("blobs"),
                "http://127.0.0.1:1".into(),
                [7u8; 32],
            ));
            let archive = Archive::new(table, blobs.clone(), Arc::new(paraf_core::SystemClock));
            let at = format!("crash after {alive} calls (answer lost: {answer_lost})");
            for doc in &acknowledged {
                let stored = archive
                    .get(&doc.id)
                    .await
                    .unwrap_or_else(|e| panic!("{at}: acknowledged {} has no record: {e}", doc.id));
                assert_eq!(&stored, doc, "{at}");
                let (_, bytes) = blobs
                    .get(&doc.blob_key)
                    .await
                    .unwrap_or_else(|e| panic!("{at}: acknowledged {} has no bytes: {e}", doc.id));
                assert_eq!(
                    paraf_core::ports::blobs::sha256_hex(&bytes),
                    doc.sha256,
                    "{at}"
                );
                let number = doc.number.as_deref().unwrap_or_default();
                assert_eq!(
                    archive.by_number(number).await.unwrap().as_ref(),
                    Some(doc),
                    "{at}"
                );
                let events = archive.audit().events_of(&doc.id).await.unwrap();
                assert!(
                    events.iter().any(|e| e.action == AuditAction::Archived),
                    "{at}: acknowledged {} has no audit event",
                    doc.id
                );
            }
            assert!(
                matches!(
                    archive.audit().verify().await.unwrap(),
                    ChainReport::Intact { .. }
                ),
                "{at}: the audit chain broke"
            );
        }
    }
    assert!(
        crashes_that_lost_answers > 0,
        "some crash points must cost answers"
    );
}
