//! Contract suite of the [`Signer`] port: what every adapter (local CA, KMS, …) must do.
//!
//! Each case is a plain `pub async fn case(signer: &dyn Signer)` that panics when the
//! adapter breaks the contract; [`signer_contract_tests!`](crate::signer_contract_tests)
//! turns every case into one `#[tokio::test]`.
//!
//! ```text
//! // crates/<adapter>/tests/signer_contract.rs
//! paraf_contract::signer_contract_tests!(async {
//!     let dir = tempfile::tempdir().unwrap();
//!     LocalCa::init(dir.path(), "KPU Provinsi Jawa Barat").unwrap();
//!     (LocalSigner::open(dir.path()).unwrap(), dir)
//! });
//! ```
//!
//! `$make` is an expression evaluated afresh in every test; it must be a future whose
//! output is a pair `(adapter, guard)`: the adapter (any type implementing [`Signer`])
//! with an organisation root and no keys, and a guard (temp dir, emulator handle, `()`)
//! kept alive until the test ends. The caller's crate needs `tokio` with the `macros` and
//! `rt-multi-thread` features.
//!
//! Signatures and certificates are checked with p256 and x509-cert here, independently of
//! how the adapter made them.

use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use paraf_core::{KeyInfo, Signer, SignerError, SubjectName};
use sha2::{Digest, Sha256};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
use x509_cert::Certificate;

/// Expands into one `#[tokio::test]` per contract case; see the [module docs](crate::signer).
#[macro_export]
macro_rules! signer_contract_tests {
    ($make:expr) => {
        $crate::__signer_contract_cases!($make;
            a_new_key_signs_digests_that_verify_with_its_leaf_certificate,
            the_chain_is_the_leaf_then_the_root_that_issued_it,
            the_leaf_certificate_names_its_subject_and_allows_signing,
            an_unknown_key_is_refused,
            creating_an_existing_key_again_keeps_the_old_key,
            two_keys_are_different_keys,
            a_key_id_that_is_not_a_plain_name_is_refused,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __signer_contract_cases {
    ($make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $make.await;
                $crate::signer::$case(&fixture.0).await;
            }
        )+
    };
}

/// A typical signer: the secretary, with NIP, position and email.
pub fn sekretaris() -> SubjectName {
    SubjectName {
        common_name: "Siti Aminah".into(),
        serial_number: Some("198503122010012003".into()),
        organizational_unit: Some("Sekretaris".into()),
        email: Some("siti.aminah@kpu-jabar.go.id".into()),
    }
}

fn cert(der_bytes: &[u8]) -> Certificate {
    Certificate::from_der(der_bytes).expect("a DER X.509 certificate")
}

fn public_key(cert: &Certificate) -> VerifyingKey {
    VerifyingKey::from_sec1_bytes(
        cert.tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    )
    .expect("a P-256 public key")
}

/// Whether `cert` carries a valid ecdsa-with-SHA256 signature by `issuer`'s key.
fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let Ok(sig) = Signature::from_der(cert.signature.raw_bytes()) else {
        return false;
    };
    let tbs = cert.tbs_certificate.to_der().expect("re-encode tbs");
    public_key(issuer).verify(&tbs, &sig).is_ok()
}

fn leaf(info: &KeyInfo) -> Certificate {
    cert(info.chain.first().expect("a chain with a leaf"))
}

pub async fn a_new_key_signs_digests_that_verify_with_its_leaf_certificate(signer: &dyn Signer) {
    let info = signer
        .create_key("siti", &sekretaris())
        .await
        .expect("create");
    assert_eq!(info.key_id, "siti");
    let key = public_key(&leaf(&info));

    let message = b"the bytes a PDF signature covers";
    let digest: [u8; 32] = Sha256::digest(message).into();
    let der_sig = signer.sign_digest("siti", &digest).await.expect("sign");
    let sig = Signature::from_der(&der_sig).expect("a DER ECDSA signature");
    key.verify_prehash(&digest, &sig)
        .expect("verifies over the digest");
    // The digest is taken as SHA-256 of the message, as CMS validators will.
    key.verify(message, &sig)
        .expect("verifies over the message");

    let other: [u8; 32] = Sha256::digest(b"something else").into();
    assert!(key.verify_prehash(&other, &sig).is_err());
    // Same key, later call: still the same public key.
    let again = signer.sign_digest("siti", &other).await.expect("sign");
    key.verify_prehash(&other, &Signature::from_der(&again).expect("DER"))
        .expect("verifies");
}

pub async fn the_chain_is_the_leaf_then_the_root_that_issued_it(signer: &dyn Signer) {
    let created = signer
        .create_key("siti", &sekretaris())
        .await
        .expect("create");
    let info = signer.chain("siti").await.expect("chain");
    assert_eq!(info, created);
    assert_eq!(info.chain.len(), 2);
    let (leaf, root) = (cert(&info.chain[0]), cert(&info.chain[1]));
    let root_der = signer.root_certificate().await.expect("root");
    assert_eq!(info.chain[1], root_der);

    for c in [&leaf, &root] {
        assert_eq!(c.tbs_certificate.version, x509_cert::Version::V3);
    }
    assert_eq!(leaf.tbs_certificate.issuer, root.tbs_certificate.subject);
    assert_eq!(root.tbs_certificate.issuer, root.tbs_certificate.subject);
    assert!(issued_by(&leaf, &root), "the root signed the leaf");
    assert!(issued_by(&root, &root), "the root is self-signed");
    assert!(!issued_by(&leaf, &leaf));
}

pub async fn the_leaf_certificate_names_its_subject_and_allows_signing(signer: &dyn Signer) {
    let info = signer
        .create_key("siti", &sekretaris())
        .await
        .expect("create");
    let leaf = leaf(&info);
    let subject = leaf.tbs_certificate.subject.to_string();
    for part in ["CN=Siti Aminah", "OU=Sekretaris"] {
        assert!(subject.contains(part), "{part} in {subject}");
    }
    assert!(subject.contains("198503122010012003"), "NIP in {subject}");

    let ku = leaf
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .find(|e| e.extn_id == der::oid::db::rfc5280::ID_CE_KEY_USAGE)
        .expect("keyUsage");
    let usage = KeyUsage::from_der(ku.extn_value.as_bytes()).expect("keyUsage value");
    assert!(usage.0.contains(KeyUsages::DigitalSignature));
    assert!(usage.0.contains(KeyUsages::NonRepudiation));
    assert!(!usage.0.contains(KeyUsages::KeyCertSign), "a leaf is no CA");

    let now = std::time::SystemTime::now();
    let validity = leaf.tbs_certificate.validity;
    assert!(validity.not_before.to_system_time() <= now);
    assert!(validity.not_after.to_system_time() > now);
}

pub async fn an_unknown_key_is_refused(signer: &dyn Signer) {
    let unknown = Err(SignerError::UnknownKey("nobody".into()));
    assert_eq!(signer.chain("nobody").await.map(drop), unknown);
    assert_eq!(
        signer.sign_digest("nobody", &[1; 32]).await.map(drop),
        unknown
    );
}

pub async fn creating_an_existing_key_again_keeps_the_old_key(signer: &dyn Signer) {
    let first = signer
        .create_key("siti", &sekretaris())
        .await
        .expect("create");
    let mut someone_else = sekretaris();
    someone_else.common_name = "Impostor".into();
    assert_eq!(
        signer.create_key("siti", &someone_else).await,
        Err(SignerError::KeyExists("siti".into()))
    );
    assert_eq!(signer.chain("siti").await.expect("chain"), first);
    let digest: [u8; 32] = Sha256::digest(b"after the second create").into();
    let sig = signer.sign_digest("siti", &digest).await.expect("sign");
    public_key(&leaf(&first))
        .verify_prehash(&digest, &Signature::from_der(&sig).expect("DER"))
        .expect("the first key still signs");
}

pub async fn two_keys_are_different_keys(signer: &dyn Signer) {
    let a = signer
        .create_key("kabag", &sekretaris())
        .await
        .expect("create");
    let b = signer
        .create_key("ppk", &sekretaris())
        .await
        .expect("create");
    let (ka, kb) = (public_key(&leaf(&a)), public_key(&leaf(&b)));
    assert_ne!(ka, kb);
    assert_ne!(
        leaf(&a).tbs_certificate.serial_number,
        leaf(&b).tbs_certificate.serial_number
    );
    let digest: [u8; 32] = Sha256::digest(b"x").into();
    let sig = signer.sign_digest("ppk", &digest).await.expect("sign");
    let sig = Signature::from_der(&sig).expect("DER");
    assert!(kb.verify_prehash(&digest, &sig).is_ok());
    assert!(ka.verify_prehash(&digest, &sig).is_err());
}

pub async fn a_key_id_that_is_not_a_plain_name_is_refused(signer: &dyn Signer) {
    for id in ["", "../ca", "a/b", "a b", "..", "kabag\n"] {
        let r = signer.create_key(id, &sekretaris()).await;
        assert!(
            matches!(r, Err(SignerError::Validation(_))),
            "create `{id}`: {r:?}"
        );
        let r = signer.sign_digest(id, &[0; 32]).await;
        assert!(
            matches!(r, Err(SignerError::Validation(_))),
            "sign `{id}`: {r:?}"
        );
    }
}
