//! Contract suites: one per port, written once, run against every adapter. An adapter's
//! test file invokes the suite macro with an expression that builds a fresh, empty
//! instance; each contract case becomes one `#[tokio::test]`.

pub mod blobs;
pub mod mailer;
pub mod signer;
pub mod table;
pub mod workflows;
