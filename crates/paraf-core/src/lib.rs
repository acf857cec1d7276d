//! paraf domain: the organisation model, the services built on it, and the ports
//! (`Table`, `Blobs`, `Workflows`, `Signer`, `Mailer`, `Clock`) that adapters implement.
//!
//! Nothing in this crate knows about SQLite, AWS, HTTP or PDF bytes: it is written once
//! against the ports and runs unchanged on `paraf serve` and on Lambda.

pub mod approvals;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod demo;
pub mod dispositions;
pub mod error;
pub mod format;
pub mod group;
pub mod memory;
pub mod numbers;
pub mod org;
pub mod ports;
pub mod record;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod signing;
pub mod travel;
pub mod types;

pub use auth::{Auth, Principal, Session};
pub use error::{FieldErrors, ServiceError, Text};
pub use org::{
    Delegation, Employee, ImportReport, NewEmployee, NewUnit, Org, Role, Unit, UnitKind,
};
pub use ports::blobs::{BlobInfo, BlobPage, Blobs, BlobsError, PutBlob};
pub use ports::clock::{Clock, FixedClock, SystemClock, WIB};
pub use ports::mailer::{Mail, Mailer, MailerError};
pub use ports::signer::{KeyInfo, Signer, SignerError, SubjectName};
pub use ports::table::{
    Condition, Index, Item, Key, Page, Query, SortKey, Table, TableError, TxOp, Update,
};
pub use ports::workflows::{
    ExecutionDescription, ExecutionStatus, HistoryEvent, Workflows, WorkflowsError,
};
pub use types::{Email, Invalid, Nip};
