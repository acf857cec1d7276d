//! The `Blobs` contract against `FolderBlobs`, plus its download links end to end.

use std::time::Duration;

use paraf_core::{Blobs, BlobsError, PutBlob};
use paraf_local::blobs::FolderBlobs;
use time::OffsetDateTime;

const BASE: &str = "http://127.0.0.1:8080";

async fn fresh() -> (FolderBlobs, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = FolderBlobs::new(dir.path().join("blobs"), BASE.into(), [42; 32]);
    (blobs, dir)
}

paraf_contract::blobs_contract_tests!(fresh());

fn token(link: &str) -> &str {
    link.strip_prefix(&format!("{BASE}/api/v1/files/"))
        .unwrap_or_else(|| panic!("{link} is not under {BASE}/api/v1/files/"))
}

#[tokio::test]
async fn a_download_link_serves_its_object_until_it_expires() {
    let (blobs, _dir) = fresh().await;
    blobs
        .put(PutBlob {
            key: "arsip/2026/sk-1.pdf".into(),
            bytes: b"%PDF-1.7".to_vec(),
            content_type: "application/pdf".into(),
            ..PutBlob::default()
        })
        .await
        .unwrap();
    let link = blobs
        .download_link("arsip/2026/sk-1.pdf", Duration::from_secs(300))
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let key = blobs.resolve_link(token(&link), now).unwrap();
    assert_eq!(key, "arsip/2026/sk-1.pdf");
    assert_eq!(blobs.get(&key).await.unwrap().1, b"%PDF-1.7");

    let later = now + time::Duration::seconds(301);
    assert_eq!(
        blobs.resolve_link(token(&link), later),
        Err(BlobsError::InvalidLink)
    );
}

#[tokio::test]
async fn a_link_with_a_forged_mac_or_from_another_secret_is_refused() {
    let (blobs, dir) = fresh().await;
    blobs
        .put(PutBlob {
            key: "a.pdf".into(),
            bytes: b"a".to_vec(),
            ..PutBlob::default()
        })
        .await
        .unwrap();
    let link = blobs
        .download_link("a.pdf", Duration::from_secs(300))
        .await
        .unwrap();
    let token = token(&link);
    let now = OffsetDateTime::now_utc();

    let (payload, mac) = token.split_once('.').unwrap();
    // The first character carries six MAC bits (the last one has unused padding bits).
    let first = if mac.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{payload}.{first}{}", &mac[1..]);
    assert_eq!(
        blobs.resolve_link(&forged, now),
        Err(BlobsError::InvalidLink)
    );

    let other = FolderBlobs::new(dir.path().join("blobs"), BASE.into(), [43; 32]);
    assert_eq!(other.resolve_link(token, now), Err(BlobsError::InvalidLink));
    assert!(blobs.resolve_link(token, now).is_ok());
}

#[tokio::test]
async fn objects_stay_inside_the_root_folder() {
    let (blobs, dir) = fresh().await;
    blobs
        .put(PutBlob {
            key: "x/y.pdf".into(),
            bytes: b"y".to_vec(),
            ..PutBlob::default()
        })
        .await
        .unwrap();
    assert!(dir.path().join("blobs/index.sqlite").is_file());
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("blobs")]);
}
