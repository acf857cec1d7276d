//! The `Blobs` contract suite against S3 on moto (path-style): one fresh archive bucket
//! (versioning + Object Lock) per test, plus what the suite leaves to each adapter.

mod common;

use std::time::Duration;

use paraf_aws::{create_archive_bucket, S3Blobs};
use paraf_core::{Blobs, PutBlob};

async fn fresh() -> (S3Blobs, ()) {
    let clients = common::Moto::shared().clients().await;
    let bucket = common::unique("paraf");
    if let Err(e) = create_archive_bucket(&clients.s3, &bucket).await {
        panic!("create bucket {bucket}: {e}");
    }
    (S3Blobs::new(clients.s3, bucket), ())
}

paraf_contract::blobs_contract_tests!(fresh());

#[tokio::test]
async fn a_download_link_serves_the_object_bytes() {
    let (blobs, ()) = fresh().await;
    blobs
        .put(PutBlob {
            key: "arsip/sk.pdf".into(),
            bytes: b"%PDF-1.7 sk".to_vec(),
            content_type: "application/pdf".into(),
            ..PutBlob::default()
        })
        .await
        .expect("put");
    let link = blobs
        .download_link("arsip/sk.pdf", Duration::from_secs(300))
        .await
        .expect("link");
    assert!(link.contains("X-Amz-Expires=300"), "{link}");
    assert!(link.contains("X-Amz-Signature="), "{link}");
    // moto serves presigned URLs without checking signature or expiry (docs/testing.md),
    // so this proves the URL names the right object, not that AWS would honour it.
    let response = reqwest::get(&link).await.expect("download");
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        response.bytes().await.expect("body").as_ref(),
        b"%PDF-1.7 sk"
    );
}

#[tokio::test]
async fn a_download_link_never_outlives_what_sigv4_allows() {
    let (blobs, ()) = fresh().await;
    let link = blobs
        .download_link("arsip/sk.pdf", Duration::from_secs(30 * 24 * 3600))
        .await
        .expect("link");
    assert!(link.contains("X-Amz-Expires=604800"), "{link}");
}
