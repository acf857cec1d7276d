//! Difference analysis: what each revision after a signature changed, judged by an
//! explicit policy in the spirit of PDF's DocMDP and pyHanko's difference analysis.
//!
//! Every object a revision adds, changes or frees, and that a reader can reach from the
//! trailer, must be explained by a rule below; whatever no rule explains is a change of
//! content. Orphans (new objects nothing refers to) cannot be seen and are ignored.
//!
//! Allowed, at [`Level::Signatures`]: a new signature field with its widgets and their
//! appearances, signed by a new signature dictionary, or unsigned and invisible; an
//! empty signature field being signed; validation data (`/DSS`, `/VRI`).
//! At [`Level::Metadata`]: the trailer's `/Info`, the XMP `/Metadata` stream, the
//! catalog's `/Version`, `/Extensions` and `/MarkInfo` — nothing a reader sees.
//! At [`Level::FormFilling`]: new values and appearances of existing non-signature
//! fields, which only a certification signature (DocMDP P=2 or 3) can permit.
//!
//! Everything else is [`Level::Content`]: a new catalog (`trailer /Root`), a changed
//! page tree, new or changed pages (contents, resources, any key but `/Annots`),
//! annotations other than the widgets of new signature fields (FreeText, Stamp, …),
//! new form fields of other types, changed or removed fields, catalog entries such as
//! `/OpenAction`, `/Names`, `/Outlines`, `/Perms`, an AcroForm that asks viewers to
//! redraw fields (`/NeedAppearances`) or carries XFA, a visible unsigned signature field
//! (a "sneaky signature", whose appearance can cover the signed text), a new field
//! reusing an existing signature, an object defined after the signature whose number
//! the signed revision already referred to, a freed object, and bytes after the last
//! revision. Annotations are never allowed, whatever DocMDP says: they change what a
//! reader sees.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use paraf_core::{text, Text};

use crate::pdf::{Dict, Document, ObjRef, Object, PdfError, XrefEntry};

/// Objects reachable from one revision's trailer that we walk, at most.
const MAX_OBJECTS: usize = 1_000_000;
/// Single-object changes listed per revision before "and N more".
const MAX_LISTED: usize = 20;

/// How much a change matters, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Signatures and validation data.
    Signatures,
    /// Document metadata: nothing a reader sees.
    Metadata,
    /// Values of existing form fields.
    FormFilling,
    /// What the document shows or says.
    Content,
}

/// How an object changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    Added,
    Changed,
    Removed,
}

/// What an object is to a reader, as far as the revisions tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The content stream of page N (1-based).
    PageContent(usize),
    /// The resources (fonts, images, forms) of page N.
    PageResources(usize),
    /// Another entry of page N.
    PageEntry(usize, String),
    /// A catalog entry.
    CatalogEntry(String),
    /// An object of this `/Type` or `/Subtype`.
    Typed(String),
    Stream,
    Other,
}

/// One thing a revision changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// A signature in a new (or a pre-placed empty) signature field.
    SignatureAdded {
        field: String,
    },
    /// A new signature field, unsigned and invisible (for a later signer).
    EmptySignatureFieldAdded {
        field: String,
    },
    /// Validation data: the `/DSS` dictionary, certificates, CRLs, OCSP responses.
    ValidationDataAdded,
    /// `Info`, `XMP`, `Version`, `Extensions` or `MarkInfo`.
    MetadataChanged {
        part: String,
    },
    /// An existing form field got a new value.
    FormFilled {
        field: String,
    },
    /// The trailer points to another document catalog.
    RootReplaced,
    /// A catalog entry other than the allowed ones changed.
    CatalogChanged {
        key: String,
    },
    /// Pages added, removed or moved (page counts before and after).
    PagesChanged {
        before: usize,
        after: usize,
    },
    /// Entries of an existing page other than `/Annots` changed.
    PageChanged {
        page: usize,
        keys: Vec<String>,
    },
    AnnotationAdded {
        page: usize,
        subtype: String,
    },
    AnnotationChanged {
        page: usize,
        subtype: String,
    },
    AnnotationRemoved {
        page: usize,
    },
    /// A new form field that is not a signature field.
    FieldAdded {
        field: String,
        field_type: String,
    },
    /// An existing field's entries changed beyond what signing or filling it allows.
    FieldChanged {
        field: String,
        keys: Vec<String>,
    },
    FieldRemoved {
        field: String,
    },
    /// A new signature field whose value is a signature dictionary that already existed.
    SignatureReused {
        field: String,
    },
    /// A new signature that does not verify (its bytes, digest or value are wrong):
    /// whatever its appearance shows was put there by nobody who signed.
    BrokenSignatureAdded {
        field: String,
    },
    /// A new unsigned signature field with a visible appearance on page N.
    VisibleUnsignedSignatureField {
        field: String,
        page: usize,
    },
    /// An AcroForm entry such as `/NeedAppearances` or `/XFA`.
    FormChanged {
        key: String,
    },
    /// An object whose number the earlier revision referred to while it did not exist.
    DanglingReferenceFilled {
        referred_by: Vec<u32>,
    },
    /// A single object no rule explains.
    Object {
        object: u32,
        touch: Touch,
        role: Role,
    },
    /// More single objects than are listed.
    MoreObjects {
        count: usize,
    },
    /// Bytes after the last revision's `%%EOF`.
    DataAfterLastRevision {
        bytes: usize,
    },
    /// The revision could not be read or compared.
    Unreadable {
        reason: String,
    },
}

impl ChangeKind {
    pub fn level(&self) -> Level {
        match self {
            ChangeKind::SignatureAdded { .. }
            | ChangeKind::EmptySignatureFieldAdded { .. }
            | ChangeKind::ValidationDataAdded => Level::Signatures,
            ChangeKind::MetadataChanged { .. } => Level::Metadata,
            ChangeKind::FormFilled { .. } => Level::FormFilling,
            _ => Level::Content,
        }
    }
}

/// A change made by one revision after a signature, and whether that signature's
/// policy allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The revision that made it (1 = the original file).
    pub revision: usize,
    pub kind: ChangeKind,
    /// The objects concerned (object numbers).
    pub objects: Vec<u32>,
    /// Allowed after the signature this change is reported for.
    pub allowed: bool,
}

impl Change {
    /// What changed, in Indonesian and English, for people.
    pub fn text(&self) -> Text {
        let rev = self.revision;
        let objs = if self.objects.is_empty() {
            Text::new("", "")
        } else {
            let list = list_objects(&self.objects);
            text!(" (objek {list})", " (object {list})")
        };
        let what = describe(&self.kind);
        Text::new(
            format!("revisi {rev}: {}{}", what.id, objs.id),
            format!("revision {rev}: {}{}", what.en, objs.en),
        )
    }
}

impl std::fmt::Display for Change {
    /// English, for logs and the command line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text().en)
    }
}

fn list_objects(objects: &[u32]) -> String {
    let mut s: Vec<String> = objects.iter().take(8).map(u32::to_string).collect();
    if objects.len() > 8 {
        s.push(format!("+{}", objects.len() - 8));
    }
    s.join(", ")
}

fn describe(kind: &ChangeKind) -> Text {
    match kind {
        ChangeKind::SignatureAdded { field } => {
            text!("tanda tangan \"{field}\" ditambahkan", "signature \"{field}\" added")
        }
        ChangeKind::EmptySignatureFieldAdded { field } => text!(
            "kolom tanda tangan kosong \"{field}\" (tidak terlihat) ditambahkan",
            "empty, invisible signature field \"{field}\" added"
        ),
        ChangeKind::ValidationDataAdded => text!(
            "data validasi (DSS: sertifikat, status pencabutan) ditambahkan",
            "validation data (DSS: certificates, revocation status) added"
        ),
        ChangeKind::MetadataChanged { part } => text!(
            "metadata dokumen ({part}) diubah; isi yang terlihat tidak berubah",
            "document metadata ({part}) changed; nothing a reader sees changed"
        ),
        ChangeKind::FormFilled { field } => {
            text!("isian formulir \"{field}\" diisi", "form field \"{field}\" filled in")
        }
        ChangeKind::RootReplaced => text!(
            "katalog dokumen diganti dengan katalog baru: pembaca melihat dokumen lain",
            "the document catalog was replaced by a new one: readers see another document"
        ),
        ChangeKind::CatalogChanged { key } => {
            text!("entri katalog /{key} diubah", "catalog entry /{key} changed")
        }
        ChangeKind::PagesChanged { before, after } => text!(
            "susunan halaman diubah ({before} halaman menjadi {after})",
            "the page tree changed ({before} pages, now {after})"
        ),
        ChangeKind::PageChanged { page, keys } => {
            let keys = keys.iter().map(|k| format!("/{k}")).collect::<Vec<_>>().join(", ");
            text!(
                "halaman {page} diubah ({keys})",
                "page {page} changed ({keys})"
            )
        }
        ChangeKind::AnnotationAdded { page, subtype } => text!(
            "anotasi {subtype} ditambahkan di halaman {page}",
            "{subtype} annotation added on page {page}"
        ),
        ChangeKind::AnnotationChanged { page, subtype } => text!(
            "anotasi {subtype} di halaman {page} diubah",
            "{subtype} annotation on page {page} changed"
        ),
        ChangeKind::AnnotationRemoved { page } => text!(
            "anotasi di halaman {page} dihapus",
            "an annotation on page {page} was removed"
        ),
        ChangeKind::FieldAdded { field, field_type } => text!(
            "isian formulir baru \"{field}\" ({field_type}) ditambahkan",
            "new form field \"{field}\" ({field_type}) added"
        ),
        ChangeKind::FieldChanged { field, keys } => {
            let keys = keys.iter().map(|k| format!("/{k}")).collect::<Vec<_>>().join(", ");
            text!(
                "isian \"{field}\" diubah ({keys})",
                "field \"{field}\" changed ({keys})"
            )
        }
        ChangeKind::FieldRemoved { field } => {
            text!("isian \"{field}\" dihapus", "field \"{field}\" removed")
        }
        ChangeKind::SignatureReused { field } => text!(
            "kolom tanda tangan baru \"{field}\" memakai ulang tanda tangan yang sudah ada",
            "new signature field \"{field}\" reuses an existing signature"
        ),
        ChangeKind::BrokenSignatureAdded { field } => text!(
            "tanda tangan \"{field}\" ditambahkan, tetapi tanda tangan itu tidak utuh",
            "signature \"{field}\" added, but that signature does not verify"
        ),
        ChangeKind::VisibleUnsignedSignatureField { field, page } => text!(
            "kolom tanda tangan \"{field}\" tanpa tanda tangan, tetapi dengan tampilan yang terlihat di halaman {page}, ditambahkan",
            "unsigned signature field \"{field}\" with a visible appearance on page {page} added"
        ),
        ChangeKind::FormChanged { key } => {
            text!("entri formulir /{key} diubah", "form entry /{key} changed")
        }
        ChangeKind::DanglingReferenceFilled { referred_by } => {
            let by = list_objects(referred_by);
            text!(
                "objek yang dirujuk objek {by} tetapi belum ada saat penandatanganan kini diisi",
                "an object that object {by} referred to but that did not exist when signed is now defined"
            )
        }
        ChangeKind::Object { object, touch, role } => {
            let role = describe_role(role);
            match touch {
                Touch::Added => Text::new(
                    format!("objek {object} ({}) ditambahkan", role.id),
                    format!("object {object} ({}) added", role.en),
                ),
                Touch::Changed => Text::new(
                    format!("objek {object} ({}) diubah", role.id),
                    format!("object {object} ({}) changed", role.en),
                ),
                Touch::Removed => Text::new(
                    format!("objek {object} ({}) dihapus", role.id),
                    format!("object {object} ({}) removed", role.en),
                ),
            }
        }
        ChangeKind::MoreObjects { count } => text!(
            "dan {count} objek lain diubah",
            "and {count} more objects changed"
        ),
        ChangeKind::DataAfterLastRevision { bytes } => text!(
            "{bytes} byte ditambahkan setelah akhir revisi terakhir",
            "{bytes} bytes appended after the end of the last revision"
        ),
        ChangeKind::Unreadable { reason } => text!(
            "revisi tidak dapat dibaca: {reason}",
            "the revision cannot be read: {reason}"
        ),
    }
}

fn describe_role(role: &Role) -> Text {
    match role {
        Role::PageContent(p) => text!("isi halaman {p}", "content of page {p}"),
        Role::PageResources(p) => text!("sumber daya halaman {p}", "resources of page {p}"),
        Role::PageEntry(p, k) => text!("/{k} halaman {p}", "/{k} of page {p}"),
        Role::CatalogEntry(k) => text!("entri katalog /{k}", "catalog entry /{k}"),
        Role::Typed(t) => Text::new(t.clone(), t.clone()),
        Role::Stream => text!("stream", "stream"),
        Role::Other => text!("objek", "object"),
    }
}

/// Who refers to an object: the trailer or another object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Holder {
    Trailer,
    Obj(u32),
}

/// One revision of the file as a reader sees it.
pub(crate) struct State<'a> {
    doc: Document<'a>,
    /// Every object reachable from the trailer's `/Root` and `/Info` (whether it exists
    /// or not) → who refers to it, under which top-level key (empty inside arrays).
    refs: HashMap<u32, Vec<(Holder, Vec<u8>)>>,
    pages: Vec<ObjRef>,
    /// Intermediate page tree nodes.
    nodes: Vec<ObjRef>,
}

impl<'a> State<'a> {
    /// Reads the revision ending at the end of `bytes`.
    pub(crate) fn read(bytes: &'a [u8]) -> Result<State<'a>, PdfError> {
        let doc = Document::parse(bytes)?;
        let mut refs: HashMap<u32, Vec<(Holder, Vec<u8>)>> = HashMap::new();
        let mut stack = Vec::new();
        for key in [b"Root".as_slice(), b"Info"] {
            if let Some(Object::Ref(r)) = doc.trailer.get(key) {
                note(&mut refs, &mut stack, *r, Holder::Trailer, key);
            }
        }
        while let Some(r) = stack.pop() {
            if refs.len() > MAX_OBJECTS {
                return Err(PdfError::TooComplex("too many objects".into()));
            }
            let obj = doc.get(r)?;
            each_ref(&obj, &mut |child, key| {
                note(&mut refs, &mut stack, child, Holder::Obj(r.num), key)
            });
        }
        let (pages, nodes) = page_tree(&doc)?;
        Ok(State {
            doc,
            refs,
            pages,
            nodes,
        })
    }

    fn get(&self, num: u32) -> Object {
        // Every reachable object was parsed once already by `read`.
        self.doc.get(ObjRef { num, gen: 0 }).unwrap_or(Object::Null)
    }

    fn resolve(&self, obj: Option<&Object>) -> Object {
        match obj {
            Some(o) => self.doc.resolve(o).unwrap_or(Object::Null),
            None => Object::Null,
        }
    }

    fn dict(&self, obj: Option<&Object>) -> Dict {
        match self.resolve(obj) {
            Object::Dict(d) | Object::Stream(d, _) => d,
            _ => Dict::new(),
        }
    }

    fn page_index(&self, num: u32) -> Option<usize> {
        self.pages.iter().position(|p| p.num == num).map(|i| i + 1)
    }
}

fn note(
    refs: &mut HashMap<u32, Vec<(Holder, Vec<u8>)>>,
    stack: &mut Vec<ObjRef>,
    r: ObjRef,
    holder: Holder,
    key: &[u8],
) {
    let e = refs.entry(r.num).or_default();
    if e.is_empty() {
        stack.push(r);
    }
    e.push((holder, key.to_vec()));
}

/// Calls `f` for every reference inside `obj`, with the top-level dictionary key it
/// sits under (empty when `obj` is not a dictionary).
fn each_ref(obj: &Object, f: &mut dyn FnMut(ObjRef, &[u8])) {
    match obj {
        Object::Dict(d) | Object::Stream(d, _) => {
            for (k, v) in d {
                nested(v, &mut |r| f(r, k));
            }
        }
        other => nested(other, &mut |r| f(r, b"")),
    }
}

fn nested(obj: &Object, f: &mut dyn FnMut(ObjRef)) {
    match obj {
        Object::Ref(r) => f(*r),
        Object::Array(a) => a.iter().for_each(|o| nested(o, f)),
        Object::Dict(d) | Object::Stream(d, _) => d.values().for_each(|o| nested(o, f)),
        _ => {}
    }
}

/// The pages in order and the intermediate nodes of the page tree.
fn page_tree(doc: &Document) -> Result<(Vec<ObjRef>, Vec<ObjRef>), PdfError> {
    let pages = doc.pages()?;
    let catalog = doc.catalog()?;
    let mut nodes = Vec::new();
    let mut stack: Vec<ObjRef> = catalog
        .get(b"Pages".as_slice())
        .and_then(Object::as_ref)
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    while let Some(r) = stack.pop() {
        if !seen.insert(r.num) || pages.contains(&r) {
            continue;
        }
        nodes.push(r);
        if let Object::Dict(d) = doc.get(r)? {
            if let Some(Object::Array(kids)) = doc.dict_get(&d, b"Kids")? {
                stack.extend(kids.iter().filter_map(Object::as_ref));
            }
        }
    }
    Ok((pages, nodes))
}

fn name_of(d: &Dict, key: &[u8]) -> Option<String> {
    d.get(key)
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
}

fn key_name(k: &[u8]) -> String {
    String::from_utf8_lossy(k).into_owned()
}

/// Keys whose values differ between two dictionaries, except `ignore`.
fn differing_keys(a: &Dict, b: &Dict, ignore: &[&[u8]]) -> Vec<String> {
    let keys: BTreeSet<&Vec<u8>> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| !ignore.contains(&k.as_slice()) && a.get(*k) != b.get(*k))
        .map(|k| key_name(k))
        .collect()
}

/// A form field in a revision's field tree.
pub(super) struct Field {
    /// Fully qualified name (`parent.child`).
    pub(super) name: String,
    /// `/FT`, inherited from ancestors.
    pub(super) ft: Option<Vec<u8>>,
    pub(super) dict: Dict,
    /// Its widget annotations: itself when merged, else its kids without `/T`.
    pub(super) widgets: Vec<u32>,
}

const MAX_FIELDS: usize = 10_000;

/// Every field reachable from the AcroForm's `/Fields` (indirect objects only, as the
/// format requires), in field order, with its object number.
pub(super) fn form_fields(doc: &Document, acroform: &Dict) -> Vec<(u32, Field)> {
    let get = |num: u32| doc.get(ObjRef { num, gen: 0 }).unwrap_or(Object::Null);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let top = match acroform
        .get(b"Fields".as_slice())
        .map(|o| doc.resolve(o).unwrap_or(Object::Null))
    {
        Some(Object::Array(a)) => a,
        _ => Vec::new(),
    };
    let mut stack: Vec<(Object, Option<Vec<u8>>, String, usize)> = top
        .into_iter()
        .rev()
        .map(|f| (f, None, String::new(), 0))
        .collect();
    while let Some((f, ft, parent, depth)) = stack.pop() {
        let Object::Ref(r) = f else { continue };
        if depth > 32 || out.len() >= MAX_FIELDS || !seen.insert(r.num) {
            continue;
        }
        let Object::Dict(d) = get(r.num) else {
            continue;
        };
        let ft = d
            .get(b"FT".as_slice())
            .and_then(Object::as_name)
            .map(<[u8]>::to_vec)
            .or(ft);
        let own = d
            .get(b"T".as_slice())
            .and_then(Object::as_str)
            .map(super::decode_text)
            .unwrap_or_default();
        let name = match (parent.is_empty(), own.is_empty()) {
            (true, _) => own,
            (false, true) => parent.clone(),
            (false, false) => format!("{parent}.{own}"),
        };
        let mut widgets = Vec::new();
        if d.get(b"Subtype".as_slice()).and_then(Object::as_name) == Some(b"Widget") {
            widgets.push(r.num);
        }
        let kids = d
            .get(b"Kids".as_slice())
            .map(|k| doc.resolve(k).unwrap_or(Object::Null));
        if let Some(Object::Array(kids)) = kids {
            for k in kids.into_iter().rev() {
                let Some(kr) = k.as_ref() else { continue };
                match get(kr.num) {
                    // A kid without a name is a widget of this field.
                    Object::Dict(kd) if !kd.contains_key(b"T".as_slice()) => widgets.push(kr.num),
                    _ => stack.push((k, ft.clone(), name.clone(), depth + 1)),
                }
            }
        }
        out.push((
            r.num,
            Field {
                name,
                ft,
                dict: d,
                widgets,
            },
        ));
    }
    out
}

fn field_tree(state: &State, acroform: &Dict) -> BTreeMap<u32, Field> {
    form_fields(&state.doc, acroform).into_iter().collect()
}

/// Whether a widget shows anything: not hidden, a rectangle of at least one point, and
/// a normal appearance.
fn widget_visible(state: &State, num: u32) -> bool {
    let Object::Dict(w) = state.get(num) else {
        return false;
    };
    let flags = w.get(b"F".as_slice()).and_then(Object::as_int).unwrap_or(0);
    // Hidden (2) or NoView (32).
    if flags & (2 | 32) != 0 {
        return false;
    }
    let rect: Vec<f64> = match state.resolve(w.get(b"Rect".as_slice())) {
        Object::Array(a) => a
            .iter()
            .filter_map(|o| match o {
                Object::Int(i) => Some(*i as f64),
                Object::Real(r) => Some(*r),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let sized = matches!(rect.as_slice(), [x1, y1, x2, y2] if (x2 - x1).abs() >= 1.0 && (y2 - y1).abs() >= 1.0);
    let ap = state.dict(w.get(b"AP".as_slice()));
    sized && ap.contains_key(b"N".as_slice())
}

/// The changes one revision made to the one before it.
pub(crate) fn diff(old: &State, new: &State, revision: usize) -> Vec<Change> {
    let mut d = Diff {
        old,
        new,
        touched: touched(old, new),
        explained: HashSet::new(),
        changes: Vec::new(),
    };
    if let Err(e) = d.run() {
        d.push(
            ChangeKind::Unreadable {
                reason: e.to_string(),
            },
            Vec::new(),
        );
    }
    d.changes
        .into_iter()
        .map(|(kind, objects)| Change {
            revision,
            kind,
            objects,
            allowed: false,
        })
        .collect()
}

/// The reachable objects `new` added, changed or freed compared with `old`.
fn touched(old: &State, new: &State) -> BTreeMap<u32, Touch> {
    let live = |s: &State, num: u32| {
        s.doc
            .xref
            .get(&num)
            .copied()
            .filter(|e| *e != XrefEntry::Free)
    };
    let nums: BTreeSet<u32> = old
        .doc
        .xref
        .keys()
        .chain(new.doc.xref.keys())
        .copied()
        .collect();
    let mut out = BTreeMap::new();
    for num in nums {
        let touch = match (live(old, num), live(new, num)) {
            (None, None) => continue,
            (None, Some(_)) => Touch::Added,
            (Some(_), None) => Touch::Removed,
            (Some(a), Some(b)) => {
                // Same entry: same bytes, unless the object stream holding it changed.
                let same_container = match a {
                    XrefEntry::InStream { stream, .. } => {
                        old.doc.xref.get(&stream) == new.doc.xref.get(&stream)
                    }
                    _ => true,
                };
                if a == b && same_container {
                    continue;
                }
                if old.get(num) == new.get(num) {
                    continue;
                }
                Touch::Changed
            }
        };
        let relevant = match touch {
            Touch::Added => new.refs.contains_key(&num),
            Touch::Changed => new.refs.contains_key(&num) || old.refs.contains_key(&num),
            Touch::Removed => old.refs.contains_key(&num),
        };
        if relevant {
            out.insert(num, touch);
        }
    }
    out
}

struct Diff<'s, 'a> {
    old: &'s State<'a>,
    new: &'s State<'a>,
    touched: BTreeMap<u32, Touch>,
    explained: HashSet<u32>,
    changes: Vec<(ChangeKind, Vec<u32>)>,
}

impl Diff<'_, '_> {
    fn is_touched(&self, num: u32) -> bool {
        self.touched.contains_key(&num)
    }

    fn is_added(&self, num: u32) -> bool {
        self.touched.get(&num) == Some(&Touch::Added)
    }

    fn push(&mut self, kind: ChangeKind, mut objects: Vec<u32>) {
        objects.sort_unstable();
        objects.dedup();
        self.changes.push((kind, objects));
    }

    /// Explains every object this revision added that `value` reaches through added
    /// objects only; returns them. Existing objects are not explained by being pointed to.
    fn adopt(&mut self, value: &Object) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = Vec::new();
        nested(value, &mut |r| stack.push(r.num));
        while let Some(n) = stack.pop() {
            if !self.is_added(n) || !self.explained.insert(n) {
                continue;
            }
            out.push(n);
            nested(&self.new.get(n), &mut |r| stack.push(r.num));
        }
        out
    }

    /// Whether, in the earlier revision, only `allowed` (holder, key) pairs referred to
    /// `num`: a changed object is judged by its role only when it has no other role.
    fn sole_use(&self, num: u32, allowed: &[(Holder, &[u8])]) -> bool {
        self.old.refs.get(&num).is_none_or(|v| {
            v.iter()
                .all(|(h, k)| allowed.iter().any(|(ah, ak)| ah == h && ak == k))
        })
    }

    fn run(&mut self) -> Result<(), PdfError> {
        let old_root = self.old.doc.root_ref()?.num;
        let new_root = self.new.doc.root_ref()?.num;
        let old_cat = self.old.doc.catalog()?;
        let new_cat = self.new.doc.catalog()?;

        self.dangling_references();
        self.catalog(old_root, new_root, &old_cat, &new_cat);
        self.info();
        self.metadata(old_root, &old_cat, &new_cat);
        let widgets = self.form(old_root, &old_cat, &new_cat);
        self.pages(&widgets);
        self.validation_data(old_root, &old_cat, &new_cat);
        self.unexplained();
        Ok(())
    }

    /// Objects the earlier revision referred to while they did not exist: defining them
    /// now changes what old, untouched objects show.
    fn dangling_references(&mut self) {
        let filled: Vec<u32> = self
            .touched
            .iter()
            .filter(|(n, t)| **t == Touch::Added && self.old.refs.contains_key(n))
            .map(|(n, _)| *n)
            .collect();
        for n in filled {
            let referred_by: Vec<u32> = self.old.refs[&n]
                .iter()
                .filter_map(|(h, _)| match h {
                    Holder::Obj(m) => Some(*m),
                    Holder::Trailer => None,
                })
                .collect();
            self.explained.insert(n);
            let mut objects = vec![n];
            let filled = self.new.get(n);
            objects.extend(self.adopt(&filled));
            self.push(ChangeKind::DanglingReferenceFilled { referred_by }, objects);
        }
    }

    fn catalog(&mut self, old_root: u32, new_root: u32, old_cat: &Dict, new_cat: &Dict) {
        if old_root != new_root {
            self.explained.insert(new_root);
            self.push(ChangeKind::RootReplaced, vec![new_root]);
        } else if self.is_touched(new_root) {
            // Its entries are judged one by one below.
            self.explained.insert(new_root);
        }
        let keys: BTreeSet<&Vec<u8>> = old_cat.keys().chain(new_cat.keys()).collect();
        for k in keys {
            let after = new_cat.get(k);
            if old_cat.get(k) == after {
                continue;
            }
            let kind = match k.as_slice() {
                // Judged by their own rules.
                b"AcroForm" | b"DSS" | b"Metadata" => continue,
                b"Version" | b"Extensions" | b"MarkInfo" => {
                    ChangeKind::MetadataChanged { part: key_name(k) }
                }
                _ => ChangeKind::CatalogChanged { key: key_name(k) },
            };
            let objects = after.map(|v| self.adopt(v)).unwrap_or_default();
            self.push(kind, objects);
        }
    }

    /// The trailer's `/Info` dictionary.
    fn info(&mut self) {
        let r = |s: &State| {
            s.doc
                .trailer
                .get(b"Info".as_slice())
                .and_then(Object::as_ref)
        };
        let (before, after) = (r(self.old), r(self.new));
        let Some(after) = after else {
            if before.is_some() {
                self.push(
                    ChangeKind::MetadataChanged {
                        part: "Info".into(),
                    },
                    Vec::new(),
                );
            }
            return;
        };
        let touched = self.is_touched(after.num);
        if before == Some(after) && !touched {
            return;
        }
        let mut objects = Vec::new();
        if self.is_added(after.num)
            || (touched && self.sole_use(after.num, &[(Holder::Trailer, b"Info")]))
        {
            self.explained.insert(after.num);
            objects.push(after.num);
        } else if touched {
            return; // shared with another role: judged as a plain object
        }
        objects.extend(self.adopt(&self.new.get(after.num)));
        self.push(
            ChangeKind::MetadataChanged {
                part: "Info".into(),
            },
            objects,
        );
    }

    /// The catalog's XMP `/Metadata` stream.
    fn metadata(&mut self, old_root: u32, old_cat: &Dict, new_cat: &Dict) {
        let r = |d: &Dict| d.get(b"Metadata".as_slice()).and_then(Object::as_ref);
        let (before, after) = (r(old_cat), r(new_cat));
        let Some(after) = after else {
            if before.is_some() {
                self.push(
                    ChangeKind::MetadataChanged { part: "XMP".into() },
                    Vec::new(),
                );
            }
            return;
        };
        let touched = self.is_touched(after.num);
        if before == Some(after) && !touched {
            return;
        }
        let own = self.is_added(after.num)
            || (touched && self.sole_use(after.num, &[(Holder::Obj(old_root), b"Metadata")]));
        if touched && !own {
            return; // shared with another role: judged as a plain object
        }
        if !matches!(self.new.get(after.num), Object::Stream(..)) {
            return;
        }
        self.explained.insert(after.num);
        self.push(
            ChangeKind::MetadataChanged { part: "XMP".into() },
            vec![after.num],
        );
    }

    /// The AcroForm and its fields. Returns the widgets of new or changed fields whose
    /// change was judged here, so the page rule does not judge them again.
    fn form(&mut self, old_root: u32, old_cat: &Dict, new_cat: &Dict) -> HashSet<u32> {
        let (old_v, new_v) = (
            old_cat.get(b"AcroForm".as_slice()),
            new_cat.get(b"AcroForm".as_slice()),
        );
        let (old_af, new_af) = (self.old.dict(old_v), self.new.dict(new_v));
        let old_holder = match old_v {
            Some(Object::Ref(r)) => Holder::Obj(r.num),
            _ => Holder::Obj(old_root),
        };
        if let Some(Object::Ref(r)) = new_v {
            if self.is_added(r.num)
                || (self.is_touched(r.num)
                    && self.sole_use(r.num, &[(Holder::Obj(old_root), b"AcroForm")]))
            {
                self.explained.insert(r.num);
            }
        }
        for key in differing_keys(
            &old_af,
            &new_af,
            &[b"Fields", b"DR", b"DA", b"SigFlags", b"NeedAppearances"],
        ) {
            let objects = new_af
                .get(key.as_bytes())
                .map(|v| self.adopt(v))
                .unwrap_or_default();
            self.push(ChangeKind::FormChanged { key }, objects);
        }
        let needs = |d: &Dict| d.get(b"NeedAppearances".as_slice()) == Some(&Object::Bool(true));
        if needs(&new_af) && !needs(&old_af) {
            self.push(
                ChangeKind::FormChanged {
                    key: "NeedAppearances".into(),
                },
                Vec::new(),
            );
        }
        // Default resources and the /Fields array serve the fields judged below.
        for key in [b"DR".as_slice(), b"Fields"] {
            if let Some(v) = new_af.get(key) {
                if let Object::Ref(r) = v {
                    if self.is_touched(r.num) && self.sole_use(r.num, &[(old_holder, key)]) {
                        self.explained.insert(r.num);
                    }
                }
                if key == b"DR" {
                    self.adopt(v);
                }
            }
        }

        let old_fields = field_tree(self.old, &old_af);
        let new_fields = field_tree(self.new, &new_af);
        for (num, f) in &old_fields {
            if !new_fields.contains_key(num) {
                self.push(
                    ChangeKind::FieldRemoved {
                        field: f.name.clone(),
                    },
                    vec![*num],
                );
            }
        }
        let mut judged = HashSet::new();
        for (num, f) in &new_fields {
            match old_fields.get(num) {
                None => {
                    judged.extend(f.widgets.iter().copied());
                    self.new_field(*num, f);
                }
                Some(before) => {
                    if self.is_touched(*num) || f.widgets.iter().any(|w| self.is_touched(*w)) {
                        judged.extend(f.widgets.iter().copied());
                        self.changed_field(*num, before, f);
                    }
                }
            }
        }
        judged
    }

    fn new_field(&mut self, num: u32, f: &Field) {
        let field = f.name.clone();
        self.explained.insert(num);
        let mut objects = vec![num];
        if f.ft.as_deref() != Some(b"Sig") || !self.is_added(num) {
            objects.extend(self.adopt(&Object::Dict(f.dict.clone())));
            let field_type = f.ft.as_deref().map(key_name).unwrap_or_else(|| "?".into());
            self.push(ChangeKind::FieldAdded { field, field_type }, objects);
            return;
        }
        let signed = match f.dict.get(b"V".as_slice()) {
            Some(Object::Ref(v)) if self.is_added(v.num) => true,
            Some(Object::Ref(v)) => {
                self.push(
                    ChangeKind::SignatureReused {
                        field: field.clone(),
                    },
                    vec![v.num],
                );
                true
            }
            _ => false,
        };
        let mut visible_on = None;
        for w in &f.widgets {
            if *w != num && self.is_added(*w) {
                self.explained.insert(*w);
                objects.push(*w);
            }
            if widget_visible(self.new, *w) {
                visible_on = Some(self.widget_page(*w));
            }
        }
        // What the field and its widgets bring: the signature dictionary, appearances,
        // their fonts.
        objects.extend(self.adopt(&Object::Dict(f.dict.clone())));
        for w in &f.widgets {
            let widget = self.new.get(*w);
            objects.extend(self.adopt(&widget));
        }
        let kind = match (signed, visible_on) {
            (true, _) => ChangeKind::SignatureAdded { field },
            (false, None) => ChangeKind::EmptySignatureFieldAdded { field },
            (false, Some(page)) => ChangeKind::VisibleUnsignedSignatureField { field, page },
        };
        self.push(kind, objects);
    }

    fn widget_page(&self, w: u32) -> usize {
        let from_p = match self.new.get(w) {
            Object::Dict(d) => d
                .get(b"P".as_slice())
                .and_then(Object::as_ref)
                .and_then(|p| self.new.page_index(p.num)),
            _ => None,
        };
        from_p
            .or_else(|| {
                self.new
                    .pages
                    .iter()
                    .position(|p| {
                        let annots = match self.new.get(p.num) {
                            Object::Dict(d) => self.new.resolve(d.get(b"Annots".as_slice())),
                            _ => Object::Null,
                        };
                        annots.as_array().is_some_and(|a| {
                            a.iter().any(|o| o.as_ref().is_some_and(|r| r.num == w))
                        })
                    })
                    .map(|i| i + 1)
            })
            .unwrap_or(0)
    }

    /// An existing field changed: an empty signature field being signed, or (where a
    /// certification permits it) a form field being filled in.
    fn changed_field(&mut self, num: u32, before: &Field, f: &Field) {
        let field = f.name.clone();
        let is_sig = f.ft.as_deref() == Some(b"Sig");
        let was_signed = before.dict.contains_key(b"V".as_slice());
        let (allowed_keys, widget_keys): (&[&[u8]], &[&[u8]]) = if is_sig && !was_signed {
            (&[b"V", b"AP", b"AS", b"F"], &[b"AP", b"AS", b"F"])
        } else if is_sig {
            (&[], &[])
        } else {
            (&[b"V", b"AS", b"AP"], &[b"AS", b"AP"])
        };
        let mut keys = differing_keys(&before.dict, &f.dict, allowed_keys);
        let mut objects = vec![num];
        self.explained.insert(num);
        for w in f.widgets.iter().filter(|w| **w != num) {
            if !self.is_touched(*w) {
                continue;
            }
            let (Object::Dict(a), Object::Dict(b)) = (self.old.get(*w), self.new.get(*w)) else {
                keys.push("Kids".into());
                continue;
            };
            keys.extend(differing_keys(&a, &b, widget_keys));
            self.explained.insert(*w);
            objects.push(*w);
            objects.extend(self.adopt(&Object::Dict(b)));
        }
        objects.extend(self.adopt(&Object::Dict(f.dict.clone())));
        if !keys.is_empty() || (is_sig && was_signed) {
            keys.sort();
            keys.dedup();
            if keys.is_empty() {
                keys = differing_keys(&before.dict, &f.dict, &[]);
            }
            self.push(ChangeKind::FieldChanged { field, keys }, objects);
            return;
        }
        if !is_sig {
            self.push(ChangeKind::FormFilled { field }, objects);
            return;
        }
        match f.dict.get(b"V".as_slice()) {
            Some(Object::Ref(v)) if self.is_added(v.num) => {
                self.push(ChangeKind::SignatureAdded { field }, objects)
            }
            Some(Object::Ref(v)) => {
                let v = v.num;
                self.push(ChangeKind::SignatureReused { field }, vec![v])
            }
            // Still empty, with a new appearance: a sneaky signature in a pre-placed field.
            _ => {
                let page = f
                    .widgets
                    .iter()
                    .find(|w| widget_visible(self.new, **w))
                    .map(|w| self.widget_page(*w));
                match page {
                    Some(page) => self.push(
                        ChangeKind::VisibleUnsignedSignatureField { field, page },
                        objects,
                    ),
                    None => self.push(ChangeKind::EmptySignatureFieldAdded { field }, objects),
                }
            }
        }
    }

    fn pages(&mut self, judged_widgets: &HashSet<u32>) {
        let (old, new) = (self.old, self.new);
        let tree: Vec<u32> = new
            .nodes
            .iter()
            .map(|r| r.num)
            .filter(|n| self.is_touched(*n))
            .collect();
        if old.pages != new.pages || !tree.is_empty() {
            let mut objects = tree.clone();
            self.explained.extend(tree);
            for p in new.pages.iter().filter(|p| !old.pages.contains(p)) {
                if self.is_added(p.num) {
                    self.explained.insert(p.num);
                    objects.push(p.num);
                }
                objects.extend(self.adopt(&new.get(p.num)));
            }
            self.push(
                ChangeKind::PagesChanged {
                    before: old.pages.len(),
                    after: new.pages.len(),
                },
                objects,
            );
        }
        for (i, p) in new.pages.iter().enumerate() {
            let page = i + 1;
            if !old.pages.contains(p) {
                continue;
            }
            let (before, after) = (
                old.dict(Some(&Object::Ref(*p))),
                new.dict(Some(&Object::Ref(*p))),
            );
            if self.is_touched(p.num) {
                self.explained.insert(p.num);
                let keys = differing_keys(&before, &after, &[b"Annots"]);
                if !keys.is_empty() {
                    let mut objects = vec![p.num];
                    for k in &keys {
                        if let Some(v) = after.get(k.as_bytes()) {
                            objects.extend(self.adopt(v));
                        }
                    }
                    self.push(ChangeKind::PageChanged { page, keys }, objects);
                }
            }
            if let Some(Object::Ref(r)) = after.get(b"Annots".as_slice()) {
                if self.is_added(r.num)
                    || (self.is_touched(r.num)
                        && self.sole_use(r.num, &[(Holder::Obj(p.num), b"Annots")]))
                {
                    self.explained.insert(r.num);
                }
            }
            let list = |s: &State, d: &Dict| match s.resolve(d.get(b"Annots".as_slice())) {
                Object::Array(a) => a,
                _ => Vec::new(),
            };
            let (was, now) = (list(old, &before), list(new, &after));
            for a in was.iter().filter(|a| !now.contains(a)) {
                let objects = a.as_ref().map(|r| vec![r.num]).unwrap_or_default();
                self.push(ChangeKind::AnnotationRemoved { page }, objects);
            }
            for a in &now {
                let num = a.as_ref().map(|r| r.num);
                let subtype =
                    || name_of(&new.dict(Some(a)), b"Subtype").unwrap_or_else(|| "?".into());
                if !was.contains(a) {
                    if num.is_some_and(|n| judged_widgets.contains(&n)) {
                        continue;
                    }
                    let mut objects = Vec::new();
                    if let Some(n) = num.filter(|n| self.is_added(*n)) {
                        self.explained.insert(n);
                        objects.push(n);
                    }
                    objects.extend(self.adopt(&new.resolve(Some(a))));
                    let subtype = subtype();
                    self.push(ChangeKind::AnnotationAdded { page, subtype }, objects);
                } else if let Some(n) = num.filter(|n| self.is_touched(*n)) {
                    if self.explained.insert(n) {
                        let mut objects = vec![n];
                        objects.extend(self.adopt(&new.get(n)));
                        let subtype = subtype();
                        self.push(ChangeKind::AnnotationChanged { page, subtype }, objects);
                    }
                }
            }
        }
    }

    /// The Document Security Store: certificates, CRLs, OCSP responses and VRI entries
    /// that later validation needs. New objects under it, and objects that only the
    /// earlier DSS used, may change.
    fn validation_data(&mut self, old_root: u32, old_cat: &Dict, new_cat: &Dict) {
        let (before, after) = (
            old_cat.get(b"DSS".as_slice()),
            new_cat.get(b"DSS".as_slice()),
        );
        // What the earlier DSS reached, through any objects.
        let mut old_set = HashSet::new();
        let mut stack = Vec::new();
        if let Some(v) = before {
            nested(v, &mut |r| stack.push(r.num));
        }
        while let Some(n) = stack.pop() {
            if old_set.len() < MAX_OBJECTS && old_set.insert(n) {
                nested(&self.old.get(n), &mut |r| stack.push(r.num));
            }
        }
        let mut objects = Vec::new();
        let mut seen = HashSet::new();
        if let Some(v) = after {
            nested(v, &mut |r| stack.push(r.num));
        }
        while let Some(n) = stack.pop() {
            let ours = self.is_added(n) || old_set.contains(&n);
            if !ours || !seen.insert(n) {
                continue;
            }
            if self.is_touched(n) {
                let only_dss = self.old.refs.get(&n).is_none_or(|v| {
                    v.iter().all(|(h, k)| match h {
                        Holder::Obj(m) => old_set.contains(m) || (*m == old_root && k == b"DSS"),
                        Holder::Trailer => false,
                    })
                });
                if self.is_added(n) || only_dss {
                    self.explained.insert(n);
                    objects.push(n);
                } else {
                    continue;
                }
            }
            nested(&self.new.get(n), &mut |r| stack.push(r.num));
        }
        if before != after || !objects.is_empty() {
            self.push(ChangeKind::ValidationDataAdded, objects);
        }
    }

    /// Whatever no rule explained.
    fn unexplained(&mut self) {
        let left: Vec<(u32, Touch)> = self
            .touched
            .iter()
            .filter(|(n, _)| !self.explained.contains(n))
            .map(|(n, t)| (*n, *t))
            .collect();
        for (i, (object, touch)) in left.iter().enumerate() {
            if i == MAX_LISTED {
                self.push(
                    ChangeKind::MoreObjects {
                        count: left.len() - MAX_LISTED,
                    },
                    left[MAX_LISTED..].iter().map(|(n, _)| *n).collect(),
                );
                break;
            }
            let role = self.role(*object);
            self.push(
                ChangeKind::Object {
                    object: *object,
                    touch: *touch,
                    role,
                },
                vec![*object],
            );
        }
    }

    /// What an object is, from who referred to it (or refers to it now) and its type.
    fn role(&self, num: u32) -> Role {
        let old_root = self.old.doc.root_ref().map(|r| r.num).ok();
        for state in [self.old, self.new] {
            for (h, k) in state.refs.get(&num).into_iter().flatten() {
                let Holder::Obj(m) = h else { continue };
                let key = key_name(k);
                if let Some(p) = state.page_index(*m) {
                    return match k.as_slice() {
                        b"Contents" => Role::PageContent(p),
                        b"Resources" => Role::PageResources(p),
                        _ => Role::PageEntry(p, key),
                    };
                }
                if Some(*m) == old_root {
                    return Role::CatalogEntry(key);
                }
            }
        }
        let obj = match self.new.get(num) {
            Object::Null => self.old.get(num),
            o => o,
        };
        match &obj {
            Object::Dict(d) | Object::Stream(d, _) => {
                if let Some(t) = name_of(d, b"Subtype").or_else(|| name_of(d, b"Type")) {
                    return Role::Typed(t);
                }
                if matches!(obj, Object::Stream(..)) {
                    Role::Stream
                } else {
                    Role::Other
                }
            }
            _ => Role::Other,
        }
    }
}
