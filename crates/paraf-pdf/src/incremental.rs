//! Incremental updates: new or replaced objects appended after the last `%%EOF`, then
//! one cross-reference section of the kind the file already ends with (table or
//! stream) and a trailer whose `/Prev` points to the previous section. The bytes before
//! stay as they are, so earlier signatures keep covering them.
//!
//! Signing writes its revision with this; so do later additions such as validation
//! data, and the tests that build forged revisions.
//!
//! ```
//! use paraf_pdf::incremental::Update;
//! use paraf_pdf::pdf::{Document, Object};
//! # fn one_page_pdf() -> Vec<u8> {
//! #     use pdf_writer::{Pdf, Rect, Ref};
//! #     let mut pdf = Pdf::new();
//! #     pdf.catalog(Ref::new(1)).pages(Ref::new(2));
//! #     pdf.pages(Ref::new(2)).kids([Ref::new(3)]).count(1);
//! #     pdf.page(Ref::new(3)).parent(Ref::new(2)).media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
//! #     pdf.finish()
//! # }
//! let pdf = one_page_pdf();
//! let doc = Document::parse(&pdf)?;
//! let mut update = Update::new(&doc)?;
//! let info = update.alloc();
//! update.write(info, &Object::Dict([(b"Title".to_vec(), Object::Str(b"Surat".to_vec()))].into()));
//! let mut trailer = update.trailer(&doc);
//! trailer.insert(b"Info".to_vec(), Object::Ref(info));
//! let updated = update.finish(&doc, trailer)?;
//! assert!(updated.starts_with(&pdf));
//! assert_eq!(Document::parse(&updated)?.trailer.get(b"Info".as_slice()), Some(&Object::Ref(info)));
//! # Ok::<(), paraf_pdf::PdfError>(())
//! ```

use sha2::{Digest, Sha256};

use crate::pdf::{write_dict, write_object, Dict, Document, ObjRef, Object, PdfError, XrefKind};

/// Largest `/Size` we append to: new object numbers must not overflow.
const MAX_SIZE: u32 = 8_000_000;

/// A revision being appended to a PDF.
pub struct Update {
    /// The file so far: the original bytes, then what this revision wrote.
    pub(crate) out: Vec<u8>,
    offsets: Vec<(ObjRef, usize)>,
    next: u32,
}

impl Update {
    /// Starts a revision after the last one of `doc`.
    pub fn new(doc: &Document) -> Result<Update, PdfError> {
        if doc.size() > MAX_SIZE {
            return Err(PdfError::TooComplex("/Size too large".into()));
        }
        let mut out = doc.bytes.to_vec();
        if !matches!(out.last(), Some(b'\n' | b'\r')) {
            out.push(b'\n');
        }
        Ok(Update {
            out,
            offsets: Vec::new(),
            next: doc.size(),
        })
    }

    /// A fresh object number.
    pub fn alloc(&mut self) -> ObjRef {
        let r = ObjRef {
            num: self.next,
            gen: 0,
        };
        self.next += 1;
        r
    }

    /// The first object number not yet allocated.
    pub fn next_number(&self) -> u32 {
        self.next
    }

    /// Makes object numbers up to `next` (exclusive) count as allocated: for objects
    /// written by another writer that numbers its own.
    pub fn reserve_until(&mut self, next: u32) {
        self.next = self.next.max(next);
    }

    /// Writes `obj` as object `r` (new, or replacing the object of that number).
    pub fn write(&mut self, r: ObjRef, obj: &Object) {
        self.begin(r);
        write_object(&mut self.out, obj);
        self.end();
    }

    /// Writes object `r` from bytes already in PDF syntax (the part between `obj` and
    /// `endobj`).
    pub fn write_raw(&mut self, r: ObjRef, body: &[u8]) {
        self.begin(r);
        self.out.extend_from_slice(body);
        self.end();
    }

    /// Appends a whole indirect object (`N G obj … endobj`) written by another writer.
    pub(crate) fn write_chunk(&mut self, r: ObjRef, chunk: &[u8]) {
        self.offsets.push((r, self.out.len()));
        self.out.extend_from_slice(chunk);
    }

    pub(crate) fn begin(&mut self, r: ObjRef) {
        self.offsets.push((r, self.out.len()));
        self.out
            .extend_from_slice(format!("{} {} obj\n", r.num, r.gen).as_bytes());
    }

    pub(crate) fn end(&mut self) {
        self.out.extend_from_slice(b"\nendobj\n");
    }

    /// The trailer this revision should start from: `/Root` and `/Info` kept, `/Prev`
    /// to the last section, `/ID` keeping the original's first part and a new second
    /// part for this revision.
    pub fn trailer(&self, doc: &Document) -> Dict {
        let mut trailer = Dict::new();
        for key in [b"Root".as_slice(), b"Info"] {
            if let Some(v) = doc.trailer.get(key) {
                trailer.insert(key.to_vec(), v.clone());
            }
        }
        let first_id = doc
            .trailer
            .get(b"ID".as_slice())
            .and_then(Object::as_array)
            .and_then(|a| a.first())
            .and_then(Object::as_str)
            .map(<[u8]>::to_vec);
        let new_id = Sha256::digest(&self.out)[..16].to_vec();
        trailer.insert(
            b"ID".to_vec(),
            Object::Array(vec![
                Object::Str(first_id.unwrap_or_else(|| new_id.clone())),
                Object::Str(new_id),
            ]),
        );
        trailer.insert(b"Prev".to_vec(), Object::Int(doc.startxref as i64));
        trailer
    }

    /// Writes the cross-reference section (of the kind `doc` ends with), `trailer`
    /// (`/Size` set here) and `%%EOF`; returns the whole file.
    pub fn finish(mut self, doc: &Document, trailer: Dict) -> Result<Vec<u8>, PdfError> {
        self.finish_xref(doc.last_xref_kind, trailer)?;
        Ok(self.out)
    }

    pub(crate) fn finish_xref(
        &mut self,
        kind: XrefKind,
        mut trailer: Dict,
    ) -> Result<(), PdfError> {
        match kind {
            XrefKind::Table => {
                let xref_at = self.out.len();
                let mut entries = self.offsets.clone();
                entries.sort();
                self.out.extend_from_slice(b"xref\n");
                for group in runs(&entries) {
                    self.out.extend_from_slice(
                        format!("{} {}\n", group[0].0.num, group.len()).as_bytes(),
                    );
                    for (r, off) in group {
                        self.out
                            .extend_from_slice(format!("{off:010} {:05} n\r\n", r.gen).as_bytes());
                    }
                }
                trailer.insert(b"Size".to_vec(), Object::Int(i64::from(self.next)));
                self.out.extend_from_slice(b"trailer\n");
                write_dict(&mut self.out, &trailer);
                self.out
                    .extend_from_slice(format!("\nstartxref\n{xref_at}\n%%EOF\n").as_bytes());
            }
            XrefKind::Stream => {
                let xref_ref = self.alloc();
                let xref_at = self.out.len();
                let mut entries = self.offsets.clone();
                entries.push((xref_ref, xref_at));
                entries.sort();
                let width = if u32::try_from(xref_at).is_ok() { 4 } else { 8 };
                let mut data = Vec::new();
                let mut index = Vec::new();
                for group in runs(&entries) {
                    index.push(Object::Int(i64::from(group[0].0.num)));
                    index.push(Object::Int(group.len() as i64));
                    for (r, off) in group {
                        data.push(1u8);
                        data.extend_from_slice(&(*off as u64).to_be_bytes()[8 - width..]);
                        data.extend_from_slice(&r.gen.to_be_bytes());
                    }
                }
                trailer.insert(b"Type".to_vec(), Object::Name(b"XRef".to_vec()));
                trailer.insert(b"Size".to_vec(), Object::Int(i64::from(self.next)));
                trailer.insert(b"Index".to_vec(), Object::Array(index));
                trailer.insert(
                    b"W".to_vec(),
                    Object::Array(vec![
                        Object::Int(1),
                        Object::Int(width as i64),
                        Object::Int(2),
                    ]),
                );
                self.out.extend_from_slice(
                    format!("{} {} obj\n", xref_ref.num, xref_ref.gen).as_bytes(),
                );
                write_object(&mut self.out, &Object::Stream(trailer, data));
                self.out.extend_from_slice(
                    format!("\nendobj\nstartxref\n{xref_at}\n%%EOF\n").as_bytes(),
                );
            }
        }
        Ok(())
    }
}

/// Splits sorted entries into runs of consecutive object numbers (xref subsections).
fn runs(entries: &[(ObjRef, usize)]) -> Vec<&[(ObjRef, usize)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || entries[i].0.num != entries[i - 1].0.num + 1 {
            out.push(&entries[start..i]);
            start = i;
        }
    }
    out
}
