//! Ports: the small interfaces the domain needs from the outside world. Each names what
//! it guarantees and the errors an adapter MUST return; the contract suites in
//! `paraf-contract` hold every adapter to them.

pub mod blobs;
pub mod clock;
pub mod mailer;
pub mod signer;
pub mod table;
pub mod workflows;
