//! The `Signer` contract against the local CA, plus what only the local store shows.

use paraf_core::{Signer, SignerError};
use paraf_local::signer::{LocalCa, LocalSigner};

async fn fresh() -> (LocalSigner, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    LocalCa::init(dir.path(), "KPU Provinsi Jawa Barat").expect("init CA");
    (LocalSigner::open(dir.path()).expect("open"), dir)
}

paraf_contract::signer_contract_tests!(fresh());

#[tokio::test]
async fn keys_survive_reopening_the_store() {
    let (signer, dir) = fresh().await;
    let created = signer
        .create_key("siti", &paraf_contract::signer::sekretaris())
        .await
        .unwrap();
    drop(signer);
    let reopened = LocalSigner::open(dir.path()).unwrap();
    assert_eq!(reopened.chain("siti").await.unwrap(), created);
    assert_eq!(reopened.root_certificate().await.unwrap(), created.chain[1]);
    assert!(reopened
        .root_pem()
        .starts_with("-----BEGIN CERTIFICATE-----\n"));
}

#[tokio::test]
async fn a_store_without_a_ca_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        LocalSigner::open(dir.path()),
        Err(SignerError::Unavailable(_))
    ));
    assert!(!LocalCa::exists(dir.path()));
}

#[tokio::test]
async fn a_root_key_that_does_not_match_its_certificate_is_refused() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    LocalCa::init(a.path(), "A").unwrap();
    LocalCa::init(b.path(), "B").unwrap();
    std::fs::copy(
        b.path().join("ca/root.key.pem"),
        a.path().join("ca/root.key.pem"),
    )
    .unwrap();
    assert!(matches!(
        LocalSigner::open(a.path()),
        Err(SignerError::Unavailable(_))
    ));
}
