//! Contract suite of the [`Blobs`] port: what every adapter (folder, S3, …) must do.
//!
//! Each case is a plain `pub async fn case(blobs: &dyn Blobs)` that panics when the
//! adapter breaks the contract; [`blobs_contract_tests!`](crate::blobs_contract_tests)
//! turns every case into one `#[tokio::test]`.
//!
//! ```text
//! // crates/<adapter>/tests/blobs_contract.rs
//! paraf_contract::blobs_contract_tests!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let blobs = FolderBlobs::new(dir.path().to_path_buf(), "http://localhost".into(), [7; 32]);
//!     (blobs, dir)
//! });
//! ```
//!
//! `$make` is an expression evaluated afresh in every test; it must be a future (an
//! `async fn` call or an `async { .. }` block) whose output is a pair `(adapter, guard)`:
//! the adapter (any type implementing [`Blobs`]) over an empty store, and a guard (temp
//! dir, emulator handle, `()`) kept alive until the test ends. The caller's crate needs
//! `tokio` with the `macros` and `rt-multi-thread` features.
//!
//! Download links: the contract only checks that one is produced per key and expiry;
//! whether it serves the object and stops after expiry is each adapter's own test.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use paraf_core::{BlobInfo, Blobs, BlobsError, PutBlob};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Expands into one `#[tokio::test]` per contract case; see the [module docs](crate::blobs).
#[macro_export]
macro_rules! blobs_contract_tests {
    ($make:expr) => {
        $crate::__blobs_contract_cases!($make;
            a_put_object_reads_back_with_its_bytes_and_description,
            an_empty_object_is_stored_and_read_back,
            a_missing_object_is_not_found_by_get_head_or_delete,
            a_second_put_if_absent_keeps_the_first_object,
            of_concurrent_puts_if_absent_exactly_one_wins,
            a_put_without_if_absent_replaces_the_whole_object,
            an_object_under_retention_can_be_neither_replaced_nor_deleted,
            retention_ends_at_retain_until,
            a_deleted_object_is_gone_and_its_key_free_again,
            list_returns_keys_with_the_prefix_in_ascending_order_across_pages,
            list_with_a_prefix_nothing_has_is_empty,
            keys_that_escape_the_store_are_refused,
            an_object_and_a_prefix_can_share_a_name,
            metadata_that_s3_would_alter_or_refuse_is_refused,
            a_download_link_is_produced_and_differs_per_key_and_expiry,
            a_batch_put_gives_each_object_its_own_result,
            a_key_named_twice_in_one_batch_ends_as_put_one_after_the_other,
            every_object_of_a_large_batch_is_stored,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __blobs_contract_cases {
    ($make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $make.await;
                $crate::blobs::$case(&fixture.0).await;
            }
        )+
    };
}

fn blob(key: &str, bytes: &[u8]) -> PutBlob {
    PutBlob {
        key: key.into(),
        bytes: bytes.to_vec(),
        content_type: "application/pdf".into(),
        ..PutBlob::default()
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The keys of the first page (up to 100) of `list(prefix)`.
async fn first_page_keys(blobs: &dyn Blobs, prefix: &str) -> Vec<String> {
    blobs
        .list(prefix, 100, None)
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|i| i.key)
        .collect()
}

/// `created` is the store's clock (S3 keeps whole seconds), so compare the rest exactly.
fn same_object(a: &BlobInfo, b: &BlobInfo) {
    let strip = |i: &BlobInfo| BlobInfo {
        created: OffsetDateTime::UNIX_EPOCH,
        ..i.clone()
    };
    assert_eq!(strip(a), strip(b));
    assert!((a.created - b.created).abs() < time::Duration::seconds(2));
}

pub async fn a_put_object_reads_back_with_its_bytes_and_description(blobs: &dyn Blobs) {
    let bytes = b"%PDF-1.7 surat tugas".to_vec();
    let metadata = BTreeMap::from([
        ("nomor".to_string(), "123/PL.01-SD/32/2026".to_string()),
        ("jenis".to_string(), "spt".to_string()),
    ]);
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(60);
    let put = blobs
        .put(PutBlob {
            metadata: metadata.clone(),
            ..blob("archive/2026/spt-123.pdf", &bytes)
        })
        .await
        .expect("put");
    assert_eq!(put.key, "archive/2026/spt-123.pdf");
    assert_eq!(put.size, bytes.len() as u64);
    assert_eq!(put.sha256, sha256(&bytes), "the store computes the sha256");
    assert_eq!(put.content_type, "application/pdf");
    assert_eq!(put.metadata, metadata);
    assert_eq!(put.retain_until, None);
    assert!(put.created > before && put.created < before + time::Duration::seconds(120));

    let (got, got_bytes) = blobs.get("archive/2026/spt-123.pdf").await.expect("get");
    assert_eq!(got_bytes, bytes);
    same_object(&got, &put);
    let head = blobs.head("archive/2026/spt-123.pdf").await.expect("head");
    same_object(&head, &put);
}

pub async fn an_empty_object_is_stored_and_read_back(blobs: &dyn Blobs) {
    let put = blobs.put(blob("empty", b"")).await.expect("put");
    assert_eq!(put.size, 0);
    assert_eq!(put.sha256, sha256(b""));
    let (info, bytes) = blobs.get("empty").await.expect("get");
    assert!(bytes.is_empty());
    assert_eq!(info.size, 0);
}

pub async fn a_missing_object_is_not_found_by_get_head_or_delete(blobs: &dyn Blobs) {
    let nf = |e: BlobsError| assert_eq!(e, BlobsError::NotFound("nope/x.pdf".into()));
    nf(blobs.get("nope/x.pdf").await.expect_err("get"));
    nf(blobs.head("nope/x.pdf").await.expect_err("head"));
    nf(blobs.delete("nope/x.pdf").await.expect_err("delete"));
}

pub async fn a_second_put_if_absent_keeps_the_first_object(blobs: &dyn Blobs) {
    let first = blobs
        .put(PutBlob {
            if_absent: true,
            ..blob("once.pdf", b"first")
        })
        .await
        .expect("first put");
    let second = blobs
        .put(PutBlob {
            if_absent: true,
            content_type: "text/plain".into(),
            ..blob("once.pdf", b"second")
        })
        .await;
    assert_eq!(second, Err(BlobsError::AlreadyExists("once.pdf".into())));
    let (info, bytes) = blobs.get("once.pdf").await.expect("get");
    assert_eq!(bytes, b"first");
    same_object(&info, &first);
}

pub async fn of_concurrent_puts_if_absent_exactly_one_wins(blobs: &dyn Blobs) {
    for round in 0..5 {
        let key = format!("race/{round}");
        let put = |body: &'static [u8]| {
            blobs.put(PutBlob {
                if_absent: true,
                ..blob(&key, body)
            })
        };
        let (a, b, c, d) = tokio::join!(put(b"a"), put(b"b"), put(b"c"), put(b"d"));
        let results = [a, b, c, d];
        let winners: Vec<&BlobInfo> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for r in &results {
            if let Err(e) = r {
                assert_eq!(e, &BlobsError::AlreadyExists(key.clone()));
            }
        }
        let (info, bytes) = blobs.get(&key).await.expect("get");
        assert_eq!(info.sha256, winners[0].sha256);
        assert_eq!(sha256(&bytes), winners[0].sha256);
    }
}

pub async fn a_put_without_if_absent_replaces_the_whole_object(blobs: &dyn Blobs) {
    blobs
        .put(PutBlob {
            metadata: BTreeMap::from([("old".into(), "1".into())]),
            ..blob("doc", b"old bytes")
        })
        .await
        .expect("first put");
    let new = blobs
        .put(PutBlob {
            content_type: "text/plain".into(),
            metadata: BTreeMap::from([("new".into(), "2".into())]),
            ..blob("doc", b"new")
        })
        .await
        .expect("second put");
    let (info, bytes) = blobs.get("doc").await.expect("get");
    assert_eq!(bytes, b"new");
    assert_eq!(info.sha256, sha256(b"new"));
    assert_eq!(info.size, 3);
    assert_eq!(info.content_type, "text/plain");
    assert_eq!(info.metadata, BTreeMap::from([("new".into(), "2".into())]));
    same_object(&info, &new);
}

pub async fn an_object_under_retention_can_be_neither_replaced_nor_deleted(blobs: &dyn Blobs) {
    let until = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let kept = blobs
        .put(PutBlob {
            retain_until: Some(until),
            ..blob("arsip/sk.pdf", b"signed")
        })
        .await
        .expect("put");
    assert_eq!(
        kept.retain_until.map(|t| t.unix_timestamp()),
        Some(until.unix_timestamp())
    );
    let retained = Err(BlobsError::Retained("arsip/sk.pdf".into()));
    assert_eq!(blobs.put(blob("arsip/sk.pdf", b"forged")).await, retained);
    assert_eq!(
        blobs.delete("arsip/sk.pdf").await,
        retained.map(|_: BlobInfo| ())
    );
    assert_eq!(
        blobs
            .put(PutBlob {
                if_absent: true,
                ..blob("arsip/sk.pdf", b"forged")
            })
            .await,
        Err(BlobsError::AlreadyExists("arsip/sk.pdf".into()))
    );
    let (info, bytes) = blobs.get("arsip/sk.pdf").await.expect("get");
    assert_eq!(bytes, b"signed");
    same_object(&info, &kept);
}

pub async fn retention_ends_at_retain_until(blobs: &dyn Blobs) {
    let until = OffsetDateTime::now_utc() + time::Duration::seconds(2);
    blobs
        .put(PutBlob {
            retain_until: Some(until),
            ..blob("short", b"x")
        })
        .await
        .expect("put");
    assert!(matches!(
        blobs.delete("short").await,
        Err(BlobsError::Retained(_))
    ));
    let wait = until - OffsetDateTime::now_utc() + time::Duration::milliseconds(1100);
    tokio::time::sleep(wait.try_into().unwrap_or(Duration::from_secs(3))).await;
    blobs
        .put(blob("short", b"y"))
        .await
        .expect("replace after retention");
    blobs.delete("short").await.expect("delete after retention");
}

pub async fn a_deleted_object_is_gone_and_its_key_free_again(blobs: &dyn Blobs) {
    blobs.put(blob("tmp/a", b"a")).await.expect("put");
    blobs.put(blob("tmp/b", b"b")).await.expect("put");
    blobs.delete("tmp/a").await.expect("delete");
    assert!(matches!(
        blobs.get("tmp/a").await,
        Err(BlobsError::NotFound(_))
    ));
    assert!(matches!(
        blobs.head("tmp/a").await,
        Err(BlobsError::NotFound(_))
    ));
    let listed = first_page_keys(blobs, "tmp/").await;
    assert_eq!(listed, vec!["tmp/b".to_string()]);
    blobs
        .put(PutBlob {
            if_absent: true,
            ..blob("tmp/a", b"again")
        })
        .await
        .expect("put after delete");
    assert_eq!(blobs.get("tmp/a").await.expect("get").1, b"again");
}

pub async fn list_returns_keys_with_the_prefix_in_ascending_order_across_pages(blobs: &dyn Blobs) {
    // Stored out of order; `-` sorts before `/`, so a flat sort and a folder walk differ.
    for key in [
        "docs/b",
        "docsx/1",
        "docs/a/2",
        "other/1",
        "docs/a",
        "docs/c/d/e",
        "docs/a-1",
    ] {
        blobs.put(blob(key, key.as_bytes())).await.expect("put");
    }
    let want = ["docs/a", "docs/a-1", "docs/a/2", "docs/b", "docs/c/d/e"];

    let mut got = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = blobs.list("docs/", 2, cursor).await.expect("list");
        pages += 1;
        assert!(page.items.len() <= 2, "page size");
        for item in &page.items {
            assert_eq!(item.sha256, sha256(item.key.as_bytes()), "{}", item.key);
            assert_eq!(item.size, item.key.len() as u64);
            assert_eq!(item.content_type, "application/pdf");
        }
        got.extend(page.items.into_iter().map(|i| i.key));
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
        assert!(pages < 10, "the cursor never ends");
    }
    assert_eq!(got, want);
    assert_eq!(pages, 3);

    let all = blobs.list("docs/", 1000, None).await.expect("list");
    assert_eq!(all.cursor, None);
    assert_eq!(
        all.items.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        want
    );

    let under_a = blobs.list("docs/a", 1000, None).await.expect("list");
    assert_eq!(
        under_a
            .items
            .iter()
            .map(|i| i.key.as_str())
            .collect::<Vec<_>>(),
        ["docs/a", "docs/a-1", "docs/a/2"]
    );
    let everything = blobs.list("", 1000, None).await.expect("list");
    assert_eq!(everything.items.len(), 7);
    let keys: Vec<&str> = everything.items.iter().map(|i| i.key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
}

pub async fn list_with_a_prefix_nothing_has_is_empty(blobs: &dyn Blobs) {
    blobs.put(blob("a/1", b"1")).await.expect("put");
    for prefix in ["b/", "a/2", "a/1/"] {
        let page = blobs.list(prefix, 10, None).await.expect("list");
        assert!(page.items.is_empty(), "{prefix}");
        assert_eq!(page.cursor, None);
    }
}

pub async fn keys_that_escape_the_store_are_refused(blobs: &dyn Blobs) {
    for key in [
        "../etc/passwd",
        "/abs",
        "a/../../b",
        "a//b",
        "",
        "a b",
        "a\\b",
        "a/",
    ] {
        let invalid = |r: Result<(), BlobsError>, op: &str| {
            assert!(
                matches!(r, Err(BlobsError::Validation(_))),
                "{op} `{key}`: {r:?}"
            );
        };
        invalid(blobs.put(blob(key, b"x")).await.map(drop), "put");
        invalid(blobs.get(key).await.map(drop), "get");
        invalid(blobs.head(key).await.map(drop), "head");
        invalid(blobs.delete(key).await, "delete");
        invalid(
            blobs
                .download_link(key, Duration::from_secs(60))
                .await
                .map(drop),
            "download_link",
        );
    }
    let page = blobs.list("", 1000, None).await.expect("list");
    assert!(
        page.items.is_empty(),
        "nothing was stored: {:?}",
        page.items
    );
}

pub async fn an_object_and_a_prefix_can_share_a_name(blobs: &dyn Blobs) {
    blobs.put(blob("letter", b"the letter")).await.expect("put");
    blobs
        .put(blob("letter/attachment", b"attached"))
        .await
        .expect("put under the same name");
    assert_eq!(blobs.get("letter").await.expect("get").1, b"the letter");
    assert_eq!(
        blobs.get("letter/attachment").await.expect("get").1,
        b"attached"
    );
    blobs.delete("letter").await.expect("delete");
    assert_eq!(
        blobs.get("letter/attachment").await.expect("get").1,
        b"attached"
    );
}

pub async fn metadata_that_s3_would_alter_or_refuse_is_refused(blobs: &dyn Blobs) {
    let cases = [
        BTreeMap::from([("Nomor".to_string(), "1".to_string())]),
        BTreeMap::from([("nomor surat".to_string(), "1".to_string())]),
        BTreeMap::from([("nomor".to_string(), "a\r\nb".to_string())]),
        BTreeMap::from([("big".to_string(), "x".repeat(2100))]),
        // S3 would mangle it: the same refusal everywhere, not only on AWS.
        BTreeMap::from([("judul".to_string(), "Surat Keputusan — Pleno".to_string())]),
        BTreeMap::from([("paraf-sha256".to_string(), "0".to_string())]),
    ];
    for metadata in cases {
        let r = blobs
            .put(PutBlob {
                metadata: metadata.clone(),
                ..blob("m", b"x")
            })
            .await;
        assert!(
            matches!(r, Err(BlobsError::Validation(_))),
            "{metadata:?}: {r:?}"
        );
    }
    assert!(matches!(
        blobs.head("m").await,
        Err(BlobsError::NotFound(_))
    ));
}

pub async fn a_download_link_is_produced_and_differs_per_key_and_expiry(blobs: &dyn Blobs) {
    blobs.put(blob("l/1.pdf", b"1")).await.expect("put");
    blobs.put(blob("l/2.pdf", b"2")).await.expect("put");
    let link = |key: &'static str, secs: u64| blobs.download_link(key, Duration::from_secs(secs));
    let links = [
        link("l/1.pdf", 300).await.expect("link"),
        link("l/1.pdf", 3600).await.expect("link"),
        link("l/2.pdf", 300).await.expect("link"),
    ];
    for l in &links {
        assert!(l.starts_with("http://") || l.starts_with("https://"), "{l}");
    }
    let distinct: BTreeSet<&String> = links.iter().collect();
    assert_eq!(distinct.len(), 3, "{links:?}");
}

pub async fn a_batch_put_gives_each_object_its_own_result(blobs: &dyn Blobs) {
    let until = OffsetDateTime::now_utc() + time::Duration::hours(1);
    blobs
        .put(blob("batch/taken.pdf", b"first"))
        .await
        .expect("put");
    blobs
        .put(PutBlob {
            retain_until: Some(until),
            ..blob("batch/kept.pdf", b"signed")
        })
        .await
        .expect("put");
    let metadata = BTreeMap::from([("nomor".to_string(), "7/2026".to_string())]);
    let results = blobs
        .put_many(vec![
            PutBlob {
                if_absent: true,
                ..blob("batch/a.pdf", b"a")
            },
            PutBlob {
                if_absent: true,
                ..blob("batch/taken.pdf", b"second")
            },
            blob("batch/../escape.pdf", b"x"),
            blob("batch/kept.pdf", b"forged"),
            PutBlob {
                metadata: metadata.clone(),
                retain_until: Some(until),
                ..blob("batch/b.pdf", b"b")
            },
        ])
        .await;
    assert_eq!(results.len(), 5, "one result per object: {results:?}");
    let a = results[0].clone().expect("a stored");
    assert_eq!(a.sha256, sha256(b"a"));
    assert_eq!(
        results[1],
        Err(BlobsError::AlreadyExists("batch/taken.pdf".into()))
    );
    assert!(
        matches!(results[2], Err(BlobsError::Validation(_))),
        "{:?}",
        results[2]
    );
    assert_eq!(
        results[3],
        Err(BlobsError::Retained("batch/kept.pdf".into()))
    );
    let b = results[4].clone().expect("b stored");
    assert_eq!(b.metadata, metadata);

    let (info, bytes) = blobs.get("batch/a.pdf").await.expect("get a");
    assert_eq!(bytes, b"a");
    same_object(&info, &a);
    let (info, bytes) = blobs.get("batch/b.pdf").await.expect("get b");
    assert_eq!(bytes, b"b");
    same_object(&info, &b);
    assert_eq!(
        blobs.get("batch/taken.pdf").await.expect("taken").1,
        b"first"
    );
    assert_eq!(
        blobs.get("batch/kept.pdf").await.expect("kept").1,
        b"signed"
    );
    let listed = first_page_keys(blobs, "batch/").await;
    assert_eq!(
        listed,
        vec![
            "batch/a.pdf",
            "batch/b.pdf",
            "batch/kept.pdf",
            "batch/taken.pdf"
        ]
    );
}

pub async fn a_key_named_twice_in_one_batch_ends_as_put_one_after_the_other(blobs: &dyn Blobs) {
    let results = blobs
        .put_many(vec![
            blob("twice.pdf", b"one"),
            blob("twice.pdf", b"two"),
            PutBlob {
                if_absent: true,
                ..blob("twice.pdf", b"three")
            },
        ])
        .await;
    assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
    assert_eq!(
        results[2],
        Err(BlobsError::AlreadyExists("twice.pdf".into()))
    );
    assert_eq!(blobs.get("twice.pdf").await.expect("get").1, b"two");
}

pub async fn every_object_of_a_large_batch_is_stored(blobs: &dyn Blobs) {
    let batch: Vec<PutBlob> = (0..100)
        .map(|i| PutBlob {
            if_absent: true,
            ..blob(
                &format!("many/{:02x}/{i:03}.pdf", i % 7),
                format!("pdf {i}").as_bytes(),
            )
        })
        .collect();
    let results = blobs.put_many(batch).await;
    assert_eq!(results.len(), 100);
    for (i, r) in results.iter().enumerate() {
        let info = r.as_ref().unwrap_or_else(|e| panic!("object {i}: {e}"));
        assert_eq!(info.sha256, sha256(format!("pdf {i}").as_bytes()));
    }
    for i in [0, 41, 99] {
        let key = format!("many/{:02x}/{i:03}.pdf", i % 7);
        assert_eq!(
            blobs.get(&key).await.expect("get").1,
            format!("pdf {i}").as_bytes()
        );
    }
    let mut listed = 0;
    let mut cursor = None;
    loop {
        let page = blobs.list("many/", 40, cursor).await.expect("list");
        listed += page.items.len();
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(listed, 100);
    assert!(blobs.put_many(Vec::new()).await.is_empty());
}
