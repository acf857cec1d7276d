//! The embedded runtime of `paraf serve`: every port implemented on one machine, under
//! one data directory.

pub mod blobs;
pub mod mailer;
pub mod signer;
pub mod table;
pub mod workflows;
