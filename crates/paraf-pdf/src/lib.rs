//! paraf documents: render PDFs from layouts, sign them with real PAdES signatures by
//! incremental update, and verify them. Bytes in, bytes out; no I/O.
//!
//! Signing appends a revision to the PDF (earlier signatures stay valid); the private
//! key never enters this crate: the digest goes through a [`paraf_core::Signer`] (local
//! key store or AWS KMS), or through [`sign::prepare`] / [`sign::PreparedSignature::finish`]
//! for any other signer.
//!
//! ```
//! use paraf_pdf::{sign, verify, Placement, Rect, SignOptions, Stamp};
//! use paraf_core::{Signer, SubjectName};
//! use paraf_local::signer::{LocalCa, LocalSigner};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # LocalCa::init(dir.path(), "KPU Provinsi Jawa Barat")?;
//! let signer = LocalSigner::open(dir.path())?;
//! let subject = SubjectName {
//!     common_name: "Dra. Siti Aminah".into(),
//!     serial_number: Some("197001011990032001".into()),
//!     organizational_unit: Some("Sekretaris".into()),
//!     email: None,
//! };
//! signer.create_key("siti", &subject).await?;
//!
//! let pdf = one_page_pdf();
//! let options = SignOptions {
//!     placement: Placement::Visible {
//!         rect: Rect { x1: 300.0, y1: 80.0, x2: 560.0, y2: 160.0 },
//!         stamp: Stamp {
//!             name: "Dra. Siti Aminah".into(),
//!             nip: Some("197001011990032001".into()),
//!             jabatan: Some("Sekretaris".into()),
//!             verification_url: "https://paraf.example/v/abc".into(),
//!         },
//!     },
//!     ..SignOptions::invisible(time::OffsetDateTime::now_utc())
//! };
//! let signed = sign(&pdf, &signer, "siti", &options).await?;
//!
//! let root = signer.root_certificate().await?;
//! let report = verify(&signed, &[root])?;
//! assert!(report.all_valid());
//! assert_eq!(report.signatures[0].signer_nip.as_deref(), Some("197001011990032001"));
//! # Ok(())
//! # }
//! # fn one_page_pdf() -> Vec<u8> {
//! #     use pdf_writer::{Pdf, Rect, Ref};
//! #     let mut pdf = Pdf::new();
//! #     pdf.catalog(Ref::new(1)).pages(Ref::new(2));
//! #     pdf.pages(Ref::new(2)).kids([Ref::new(3)]).count(1);
//! #     pdf.page(Ref::new(3)).parent(Ref::new(2)).media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
//! #     pdf.finish()
//! # }
//! ```
//!
//! ## Time-stamps (PAdES B-T)
//!
//! [`sign_with_timestamp`] adds an RFC 3161 signature time-stamp from a time-stamping
//! authority (TSA). The TSA URL is the caller's configuration, not this crate's: the
//! caller passes a closure that POSTs the DER request to its URL and returns the body
//! of the answer, which is then checked here (status, nonce, imprint, TSA signature).
//! paraf's composition roots read it from `PARAF_TSA_URL` (unset: no time-stamp), for
//! example with reqwest:
//!
//! ```text
//! let url = std::env::var("PARAF_TSA_URL")?; // e.g. http://timestamp.example/tsa
//! let http = reqwest::Client::new();
//! let signed = paraf_pdf::sign_with_timestamp(&pdf, &signer, "siti", &options, |query| {
//!     let req = http
//!         .post(&url)
//!         .header("Content-Type", paraf_pdf::tsp::QUERY_CONTENT_TYPE)
//!         .body(query);
//!     async move { req.send().await?.error_for_status()?.bytes().await.map(|b| b.to_vec()) }
//! })
//! .await?;
//! ```
//!
//! With a signer that is not a [`paraf_core::Signer`]: [`prepare`], sign
//! [`PreparedSignature::digest_to_sign`], send [`timestamp_request`]`(&signature)` to
//! the TSA, check the answer with [`tsp::TimestampRequest::token_from_response`], then
//! [`PreparedSignature::finish_with_timestamp`]. [`verify`] reports the TSA's time in
//! [`SignatureReport::timestamp`]; pass the TSA's root among the trust roots.

pub mod cms;
pub mod font;
pub mod incremental;
pub mod pdf;
pub mod render;
pub mod sign;
pub mod stamp;
pub mod tsp;
pub mod verify;

pub use pdf::PdfError;
pub use sign::{
    prepare, sign, sign_with_timestamp, timestamp_request, Placement, PreparedSignature, Rect,
    SignError, SignOptions,
};
pub use stamp::Stamp;
pub use verify::{
    verify, Change, ChangeKind, Modification, Report, SignatureReport, TimestampReport, VerifyError,
};
