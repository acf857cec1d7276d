//! paraf documents: render PDFs from layouts, sign them with real PAdES signatures by
//! incremental update, and verify them. Bytes in, bytes out; no I/O.

pub mod render;
