//! A small, bounded PDF reader: just enough to append incremental updates to files made
//! by other tools and to verify signatures. Classic xref tables, xref streams (PDF 1.5)
//! with object streams, `/Prev` chains and hybrid files (`/XRefStm`).
//!
//! Every input is untrusted: nesting depth, reference chains, xref chains, stream sizes
//! and decompressed sizes are bounded, and nothing panics on bad input. We write our own
//! reader instead of using a general PDF library because signing needs byte offsets
//! (where the `/Contents` hole is, where each revision ends) that such libraries hide,
//! and because it must never re-save the file.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Why a PDF could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PdfError {
    #[error("not a PDF file (no %PDF- header)")]
    NotPdf,
    #[error("the PDF is encrypted; paraf signs and verifies only unencrypted PDFs")]
    Encrypted,
    #[error("malformed PDF: {0}")]
    Malformed(String),
    #[error("PDF too large or too deeply nested: {0}")]
    TooComplex(String),
}

pub(crate) fn malformed(msg: impl Into<String>) -> PdfError {
    PdfError::Malformed(msg.into())
}

/// Nesting depth of arrays/dictionaries inside one object.
const MAX_DEPTH: usize = 64;
/// How many `/Prev` (and `/XRefStm`) sections we follow.
const MAX_XREF_SECTIONS: usize = 4096;
/// Largest object number we accept: bounds the xref table we allocate.
const MAX_OBJECTS: u32 = 8_000_000;
/// Largest decompressed stream (xref and object streams only; page content is never
/// decoded here).
const MAX_DECODED: usize = 64 * 1024 * 1024;
/// How many objects an object stream may claim to hold.
const MAX_OBJSTM_ENTRIES: usize = 1_000_000;

/// A reference `n g R`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    pub num: u32,
    pub gen: u16,
}

pub type Dict = BTreeMap<Vec<u8>, Object>;

#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    /// Literal or hex string, decoded to its bytes.
    Str(Vec<u8>),
    /// Name without the slash, `#xx` escapes decoded.
    Name(Vec<u8>),
    Array(Vec<Object>),
    Dict(Dict),
    /// Stream: its dictionary and the byte span of its (still encoded) data in the file
    /// or in the decoded object stream it came from.
    Stream(Dict, Vec<u8>),
    Ref(ObjRef),
}

impl Object {
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) | Object::Stream(d, _) => Some(d),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }
    pub fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Object::Str(s) => Some(s),
            _ => None,
        }
    }
}

pub(crate) fn is_white(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn is_delim(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// Object parser over a byte slice.
pub(crate) struct Parser<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(buf: &'a [u8], pos: usize) -> Self {
        Parser { buf, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if is_white(c) {
                self.pos += 1;
            } else if c == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.buf
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(s))
    }

    /// A bare keyword or number token.
    fn regular_token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if is_white(c) || is_delim(c) {
                break;
            }
            self.pos += 1;
        }
        &self.buf[start..self.pos]
    }

    pub(crate) fn keyword(&mut self, kw: &[u8]) -> Result<(), PdfError> {
        self.skip_ws();
        let tok = self.regular_token();
        if tok == kw {
            Ok(())
        } else {
            Err(malformed(format!(
                "expected `{}` at offset {}",
                String::from_utf8_lossy(kw),
                self.pos
            )))
        }
    }

    pub(crate) fn uint(&mut self) -> Result<u64, PdfError> {
        self.skip_ws();
        let tok = self.regular_token();
        parse_uint(tok).ok_or_else(|| malformed(format!("expected a number at {}", self.pos)))
    }

    /// Parses one object. `n g R` references are recognised by looking ahead.
    pub(crate) fn object(&mut self, depth: usize) -> Result<Object, PdfError> {
        if depth > MAX_DEPTH {
            return Err(PdfError::TooComplex("objects nested too deeply".into()));
        }
        self.skip_ws();
        let c = self
            .peek()
            .ok_or_else(|| malformed("unexpected end of data"))?;
        match c {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name()))
            }
            b'(' => self.literal_string().map(Object::Str),
            b'<' if self.starts_with(b"<<") => {
                self.pos += 2;
                let mut dict = Dict::new();
                loop {
                    self.skip_ws();
                    if self.starts_with(b">>") {
                        self.pos += 2;
                        break;
                    }
                    match self.peek() {
                        Some(b'/') => {
                            self.pos += 1;
                            let key = self.name();
                            let value = self.object(depth + 1)?;
                            // A null value is the same as an absent key (ISO 32000 7.3.7).
                            if value != Object::Null {
                                dict.insert(key, value);
                            }
                        }
                        Some(_) => {
                            return Err(malformed(format!("bad dictionary key at {}", self.pos)))
                        }
                        None => return Err(malformed("unterminated dictionary")),
                    }
                }
                Ok(Object::Dict(dict))
            }
            b'<' => self.hex_string().map(Object::Str),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => items.push(self.object(depth + 1)?),
                        None => return Err(malformed("unterminated array")),
                    }
                }
                Ok(Object::Array(items))
            }
            _ => {
                let start = self.pos;
                let tok = self.regular_token();
                if tok.is_empty() {
                    return Err(malformed(format!("unexpected byte at {start}")));
                }
                match tok {
                    b"null" => return Ok(Object::Null),
                    b"true" => return Ok(Object::Bool(true)),
                    b"false" => return Ok(Object::Bool(false)),
                    _ => {}
                }
                if let Some(num) = parse_uint(tok) {
                    // Look ahead for `gen R`.
                    let save = self.pos;
                    self.skip_ws();
                    let gen_tok = self.regular_token();
                    if let Some(gen) = parse_uint(gen_tok) {
                        self.skip_ws();
                        if self.regular_token() == b"R" {
                            let num = u32::try_from(num)
                                .map_err(|_| malformed("object number out of range"))?;
                            let gen = u16::try_from(gen)
                                .map_err(|_| malformed("generation out of range"))?;
                            return Ok(Object::Ref(ObjRef { num, gen }));
                        }
                    }
                    self.pos = save;
                    return Ok(i64::try_from(num)
                        .map(Object::Int)
                        .unwrap_or(Object::Real(num as f64)));
                }
                parse_number(tok).ok_or_else(|| malformed(format!("unknown token at {start}")))
            }
        }
    }

    fn name(&mut self) -> Vec<u8> {
        let raw = self.regular_token();
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'#' && i + 2 < raw.len() {
                if let Some(v) = hex_pair(raw[i + 1], raw[i + 2]) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(raw[i]);
            i += 1;
        }
        out
    }

    fn literal_string(&mut self) -> Result<Vec<u8>, PdfError> {
        self.pos += 1; // (
        let mut out = Vec::new();
        let mut nest = 0usize;
        loop {
            let c = self
                .peek()
                .ok_or_else(|| malformed("unterminated string"))?;
            self.pos += 1;
            match c {
                b'(' => {
                    nest += 1;
                    out.push(c);
                }
                b')' => {
                    if nest == 0 {
                        return Ok(out);
                    }
                    nest -= 1;
                    out.push(c);
                }
                b'\\' => {
                    let e = self
                        .peek()
                        .ok_or_else(|| malformed("unterminated string"))?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn hex_string(&mut self) -> Result<Vec<u8>, PdfError> {
        self.pos += 1; // <
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let c = self
                .peek()
                .ok_or_else(|| malformed("unterminated hex string"))?;
            self.pos += 1;
            if c == b'>' {
                if let Some(h) = high {
                    out.push(h << 4);
                }
                return Ok(out);
            }
            if is_white(c) {
                continue;
            }
            let v = hex_val(c).ok_or_else(|| malformed("bad hex string"))?;
            match high.take() {
                Some(h) => out.push((h << 4) | v),
                None => high = Some(v),
            }
        }
    }

    /// Parses `n g obj <object> [stream … endstream] endobj` at the current position.
    /// `length` resolves an indirect `/Length`.
    pub(crate) fn indirect(
        &mut self,
        length: &dyn Fn(&Object) -> Option<usize>,
    ) -> Result<(ObjRef, Object), PdfError> {
        let num = self.uint()?;
        let gen = self.uint()?;
        self.keyword(b"obj")?;
        let id = ObjRef {
            num: u32::try_from(num).map_err(|_| malformed("object number out of range"))?,
            gen: u16::try_from(gen).map_err(|_| malformed("generation out of range"))?,
        };
        let obj = self.object(0)?;
        self.skip_ws();
        if let (Object::Dict(dict), true) = (&obj, self.starts_with(b"stream")) {
            self.pos += b"stream".len();
            // The keyword is followed by CRLF or LF (a lone CR is tolerated).
            if self.starts_with(b"\r\n") {
                self.pos += 2;
            } else if matches!(self.peek(), Some(b'\n' | b'\r')) {
                self.pos += 1;
            }
            let start = self.pos;
            let declared = dict.get(b"Length".as_slice()).and_then(length);
            let end = match declared {
                Some(len)
                    if start.checked_add(len).is_some_and(|e| e <= self.buf.len())
                        && looks_like_endstream(&self.buf[start + len..]) =>
                {
                    start + len
                }
                // A wrong /Length is common in files made by other tools: fall back to
                // searching for the keyword.
                _ => {
                    let rel = find(&self.buf[start..], b"endstream")
                        .ok_or_else(|| malformed("stream without endstream"))?;
                    let mut end = start + rel;
                    if end > start && self.buf[end - 1] == b'\n' {
                        end -= 1;
                    }
                    if end > start && self.buf[end - 1] == b'\r' {
                        end -= 1;
                    }
                    end
                }
            };
            let data = self.buf[start..end].to_vec();
            self.pos = end;
            self.skip_ws();
            if self.starts_with(b"endstream") {
                self.pos += b"endstream".len();
            }
            return Ok((id, Object::Stream(dict.clone(), data)));
        }
        Ok((id, obj))
    }
}

fn looks_like_endstream(rest: &[u8]) -> bool {
    let skip = rest.iter().take(4).take_while(|c| is_white(**c)).count();
    rest[skip..].starts_with(b"endstream")
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex_pair(a: u8, b: u8) -> Option<u8> {
    Some((hex_val(a)? << 4) | hex_val(b)?)
}

fn parse_uint(tok: &[u8]) -> Option<u64> {
    if tok.is_empty() || tok.len() > 19 || !tok.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(tok).ok()?.parse().ok()
}

fn parse_number(tok: &[u8]) -> Option<Object> {
    let s = std::str::from_utf8(tok).ok()?;
    if s.len() > 64 {
        return None;
    }
    if let Ok(i) = s.parse::<i64>() {
        return Some(Object::Int(i));
    }
    // PDF reals have no exponent; Rust's parser would accept "inf" or "1e5", so check.
    if s.bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+'))
    {
        return s.parse::<f64>().ok().map(Object::Real);
    }
    None
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

pub(crate) fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Where an object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefEntry {
    Free,
    /// Uncompressed, at this byte offset, with this generation.
    Offset(usize, u16),
    /// In object stream `stream`, at index `index`.
    InStream {
        stream: u32,
        index: u32,
    },
}

/// Which kind of cross-reference section a revision ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefKind {
    Table,
    Stream,
}

/// A parsed PDF: its bytes, the merged cross-reference table and the latest trailer.
pub struct Document<'a> {
    pub bytes: &'a [u8],
    pub xref: HashMap<u32, XrefEntry>,
    pub trailer: Dict,
    /// Offset of the last cross-reference section (the `startxref` value).
    pub startxref: usize,
    pub last_xref_kind: XrefKind,
    objstm_cache: RefCell<HashMap<u32, std::rc::Rc<ObjStm>>>,
}

struct ObjStm {
    data: Vec<u8>,
    /// (object number, offset in data)
    entries: Vec<(u32, usize)>,
}

impl<'a> Document<'a> {
    /// Parses the cross-reference chain ending at the file's last `startxref`.
    pub fn parse(bytes: &'a [u8]) -> Result<Document<'a>, PdfError> {
        let head = &bytes[..bytes.len().min(1024)];
        if find(head, b"%PDF-").is_none() {
            return Err(PdfError::NotPdf);
        }
        let tail_start = bytes.len().saturating_sub(2048);
        let sx = rfind(&bytes[tail_start..], b"startxref")
            .ok_or_else(|| malformed("no startxref (truncated file?)"))?
            + tail_start;
        let mut p = Parser::new(bytes, sx + b"startxref".len());
        let startxref = usize::try_from(p.uint()?).map_err(|_| malformed("startxref"))?;
        let mut doc = Document {
            bytes,
            xref: HashMap::new(),
            trailer: Dict::new(),
            startxref,
            last_xref_kind: XrefKind::Table,
            objstm_cache: RefCell::new(HashMap::new()),
        };
        let mut visited = HashSet::new();
        let mut queue = vec![startxref];
        let mut first = true;
        while let Some(off) = queue.pop() {
            if !visited.insert(off) {
                continue; // a /Prev loop
            }
            if visited.len() > MAX_XREF_SECTIONS {
                return Err(PdfError::TooComplex("too many xref sections".into()));
            }
            let (kind, trailer) = doc.read_xref_section(off)?;
            if first {
                doc.last_xref_kind = kind;
                doc.trailer = trailer.clone();
                first = false;
            }
            // `/Prev` is followed after `/XRefStm` (hybrid files: the stream holds the
            // objects the table hides from 1.4 readers, and wins over older sections).
            if let Some(prev) = trailer.get(b"Prev".as_slice()).and_then(Object::as_int) {
                queue.push(usize::try_from(prev).map_err(|_| malformed("bad /Prev"))?);
            }
            if let Some(stm) = trailer.get(b"XRefStm".as_slice()).and_then(Object::as_int) {
                queue.push(usize::try_from(stm).map_err(|_| malformed("bad /XRefStm"))?);
            }
        }
        if doc.trailer.contains_key(b"Encrypt".as_slice()) {
            return Err(PdfError::Encrypted);
        }
        if !doc.trailer.contains_key(b"Root".as_slice()) {
            return Err(malformed("trailer has no /Root"));
        }
        Ok(doc)
    }

    fn add_entry(&mut self, num: u32, entry: XrefEntry) {
        // Sections are read newest first: the first entry seen for a number wins.
        self.xref.entry(num).or_insert(entry);
    }

    fn read_xref_section(&mut self, off: usize) -> Result<(XrefKind, Dict), PdfError> {
        if off >= self.bytes.len() {
            return Err(malformed("xref offset beyond end of file"));
        }
        let mut p = Parser::new(self.bytes, off);
        p.skip_ws();
        if p.starts_with(b"xref") {
            p.pos += 4;
            loop {
                p.skip_ws();
                if p.starts_with(b"trailer") {
                    p.pos += b"trailer".len();
                    let trailer = match p.object(0)? {
                        Object::Dict(d) => d,
                        _ => return Err(malformed("trailer is not a dictionary")),
                    };
                    return Ok((XrefKind::Table, trailer));
                }
                let first = p.uint()?;
                let count = p.uint()?;
                if first.saturating_add(count) > u64::from(MAX_OBJECTS) {
                    return Err(PdfError::TooComplex("xref subsection too large".into()));
                }
                for i in 0..count {
                    let offset = p.uint()?;
                    let gen = p.uint()?;
                    p.skip_ws();
                    let kind = p.regular_token();
                    let num = (first + i) as u32;
                    match kind {
                        b"n" => {
                            let offset = usize::try_from(offset).unwrap_or(usize::MAX);
                            let gen = u16::try_from(gen).unwrap_or(u16::MAX);
                            self.add_entry(num, XrefEntry::Offset(offset, gen));
                        }
                        b"f" => self.add_entry(num, XrefEntry::Free),
                        _ => return Err(malformed("bad xref table entry")),
                    }
                }
            }
        }
        // An xref stream.
        let (_, obj) = p.indirect(&|o| o.as_int().and_then(|i| usize::try_from(i).ok()))?;
        let Object::Stream(dict, raw) = obj else {
            return Err(malformed("startxref does not point to an xref section"));
        };
        if dict.get(b"Type".as_slice()).and_then(Object::as_name) != Some(b"XRef") {
            return Err(malformed("startxref points to an object that is not /XRef"));
        }
        if dict.contains_key(b"Encrypt".as_slice()) {
            return Err(PdfError::Encrypted);
        }
        let data = decode_stream(&dict, &raw)?;
        let widths: Vec<usize> = dict
            .get(b"W".as_slice())
            .and_then(Object::as_array)
            .ok_or_else(|| malformed("xref stream without /W"))?
            .iter()
            .map(|o| o.as_int().and_then(|i| usize::try_from(i).ok()))
            .collect::<Option<_>>()
            .ok_or_else(|| malformed("bad /W"))?;
        if widths.len() != 3 || widths.iter().any(|w| *w > 8) {
            return Err(malformed("bad /W"));
        }
        let size = dict
            .get(b"Size".as_slice())
            .and_then(Object::as_int)
            .ok_or_else(|| malformed("xref stream without /Size"))?;
        let index: Vec<i64> = match dict.get(b"Index".as_slice()).and_then(Object::as_array) {
            Some(a) => a
                .iter()
                .map(Object::as_int)
                .collect::<Option<_>>()
                .ok_or_else(|| malformed("bad /Index"))?,
            None => vec![0, size],
        };
        let row = widths.iter().sum::<usize>();
        if row == 0 {
            return Err(malformed("bad /W"));
        }
        let mut rows = data.chunks_exact(row);
        for pair in index.chunks(2) {
            let [first, count] = pair else {
                return Err(malformed("bad /Index"));
            };
            let (first, count) = (
                u32::try_from(*first).map_err(|_| malformed("bad /Index"))?,
                u32::try_from(*count).map_err(|_| malformed("bad /Index"))?,
            );
            if first.saturating_add(count) > MAX_OBJECTS {
                return Err(PdfError::TooComplex("xref stream too large".into()));
            }
            for i in 0..count {
                let Some(r) = rows.next() else {
                    return Err(malformed("xref stream shorter than its /Index"));
                };
                let (f1, rest) = r.split_at(widths[0]);
                let (f2, f3) = rest.split_at(widths[1]);
                // A zero-width type field means type 1 (ISO 32000 7.5.8.3).
                let t = if widths[0] == 0 { 1 } else { be(f1) };
                let (a, b) = (be(f2), be(f3));
                let entry = match t {
                    0 => XrefEntry::Free,
                    1 => XrefEntry::Offset(
                        usize::try_from(a).unwrap_or(usize::MAX),
                        u16::try_from(b).unwrap_or(u16::MAX),
                    ),
                    2 => XrefEntry::InStream {
                        stream: u32::try_from(a).unwrap_or(u32::MAX),
                        index: u32::try_from(b).unwrap_or(u32::MAX),
                    },
                    _ => continue, // reserved types are treated as null references
                };
                self.add_entry(first + i, entry);
            }
        }
        Ok((XrefKind::Stream, dict))
    }

    /// The object `r`, or `Null` when it does not exist (as the spec says for dangling
    /// references).
    pub fn get(&self, r: ObjRef) -> Result<Object, PdfError> {
        match self.xref.get(&r.num) {
            None | Some(XrefEntry::Free) => Ok(Object::Null),
            Some(XrefEntry::Offset(off, _)) => {
                let (id, obj) = self.parse_at(*off)?;
                if id.num != r.num {
                    return Err(malformed(format!(
                        "xref entry for object {} points to object {}",
                        r.num, id.num
                    )));
                }
                Ok(obj)
            }
            Some(XrefEntry::InStream { stream, index }) => {
                let stm = self.objstm(*stream)?;
                let &(num, off) = stm
                    .entries
                    .get(*index as usize)
                    .ok_or_else(|| malformed("object stream index out of range"))?;
                if num != r.num {
                    return Err(malformed("object stream entry mismatch"));
                }
                Parser::new(&stm.data, off).object(0)
            }
        }
    }

    /// Parses the indirect object at `off` (an uncompressed object).
    pub fn parse_at(&self, off: usize) -> Result<(ObjRef, Object), PdfError> {
        if off >= self.bytes.len() {
            return Err(malformed("object offset beyond end of file"));
        }
        let mut p = Parser::new(self.bytes, off);
        // Indirect /Length: resolve one level, never through another stream.
        p.indirect(&|o| match o {
            Object::Int(i) => usize::try_from(*i).ok(),
            Object::Ref(r) => match self.xref.get(&r.num) {
                Some(XrefEntry::Offset(o2, _)) if *o2 != off => {
                    let mut q = Parser::new(self.bytes, *o2);
                    q.uint().ok()?;
                    q.uint().ok()?;
                    q.keyword(b"obj").ok()?;
                    match q.object(0).ok()? {
                        Object::Int(i) => usize::try_from(i).ok(),
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        })
    }

    fn objstm(&self, num: u32) -> Result<std::rc::Rc<ObjStm>, PdfError> {
        if let Some(s) = self.objstm_cache.borrow().get(&num) {
            return Ok(s.clone());
        }
        // Object streams must be uncompressed objects themselves: this also stops loops.
        let Some(XrefEntry::Offset(off, _)) = self.xref.get(&num) else {
            return Err(malformed("object stream is not a plain object"));
        };
        let (_, obj) = self.parse_at(*off)?;
        let Object::Stream(dict, raw) = obj else {
            return Err(malformed("object stream is not a stream"));
        };
        let n = dict
            .get(b"N".as_slice())
            .and_then(Object::as_int)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| malformed("object stream without /N"))?;
        let first = dict
            .get(b"First".as_slice())
            .and_then(Object::as_int)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| malformed("object stream without /First"))?;
        if n > MAX_OBJSTM_ENTRIES {
            return Err(PdfError::TooComplex("object stream too large".into()));
        }
        let data = decode_stream(&dict, &raw)?;
        let mut p = Parser::new(&data, 0);
        let mut entries = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let obj = u32::try_from(p.uint()?).map_err(|_| malformed("object stream header"))?;
            let rel = usize::try_from(p.uint()?).map_err(|_| malformed("object stream header"))?;
            let at = first
                .checked_add(rel)
                .filter(|a| *a <= data.len())
                .ok_or_else(|| malformed("object stream offset out of range"))?;
            entries.push((obj, at));
        }
        let stm = std::rc::Rc::new(ObjStm { data, entries });
        self.objstm_cache.borrow_mut().insert(num, stm.clone());
        Ok(stm)
    }

    /// The byte span `[start, end)` of `key`'s value in the uncompressed dictionary
    /// object at `off`: where a signature's `/Contents` hole really is.
    pub fn value_span(&self, off: usize, key: &[u8]) -> Result<Option<(usize, usize)>, PdfError> {
        let mut p = Parser::new(self.bytes, off);
        p.uint()?;
        p.uint()?;
        p.keyword(b"obj")?;
        p.skip_ws();
        if !p.starts_with(b"<<") {
            return Err(malformed("not a dictionary"));
        }
        p.pos += 2;
        loop {
            p.skip_ws();
            if p.starts_with(b">>") {
                return Ok(None);
            }
            if p.peek() != Some(b'/') {
                return Err(malformed("bad dictionary key"));
            }
            p.pos += 1;
            let k = p.name();
            p.skip_ws();
            let start = p.pos;
            p.object(1)?;
            if k == key {
                return Ok(Some((start, p.pos)));
            }
        }
    }

    /// Follows references (bounded) to a direct object.
    pub fn resolve(&self, obj: &Object) -> Result<Object, PdfError> {
        let mut cur = obj.clone();
        for _ in 0..32 {
            match cur {
                Object::Ref(r) => cur = self.get(r)?,
                other => return Ok(other),
            }
        }
        Err(PdfError::TooComplex("reference chain too long".into()))
    }

    /// A dictionary value, resolved.
    pub fn dict_get(&self, dict: &Dict, key: &[u8]) -> Result<Option<Object>, PdfError> {
        match dict.get(key) {
            None => Ok(None),
            Some(v) => match self.resolve(v)? {
                Object::Null => Ok(None),
                o => Ok(Some(o)),
            },
        }
    }

    pub fn root_ref(&self) -> Result<ObjRef, PdfError> {
        self.trailer
            .get(b"Root".as_slice())
            .and_then(Object::as_ref)
            .ok_or_else(|| malformed("/Root is not a reference"))
    }

    pub fn catalog(&self) -> Result<Dict, PdfError> {
        match self.get(self.root_ref()?)? {
            Object::Dict(d) => Ok(d),
            _ => Err(malformed("catalog is not a dictionary")),
        }
    }

    /// The highest object number in use + 1 (at least the trailer's `/Size`).
    pub fn size(&self) -> u32 {
        let declared = self
            .trailer
            .get(b"Size".as_slice())
            .and_then(Object::as_int)
            .and_then(|s| u32::try_from(s).ok())
            .unwrap_or(0);
        let max = self.xref.keys().max().map(|m| m + 1).unwrap_or(0);
        declared.max(max)
    }

    /// The page objects, in order (page tree walk; loops and depth bounded).
    pub fn pages(&self) -> Result<Vec<ObjRef>, PdfError> {
        let catalog = self.catalog()?;
        let root = catalog
            .get(b"Pages".as_slice())
            .and_then(Object::as_ref)
            .ok_or_else(|| malformed("catalog has no /Pages reference"))?;
        let mut pages = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![(root, 0usize)];
        while let Some((r, depth)) = stack.pop() {
            if depth > MAX_DEPTH || !seen.insert(r) {
                return Err(malformed("page tree loop or too deep"));
            }
            let node = self.get(r)?;
            let dict = node.as_dict().ok_or_else(|| malformed("page tree node"))?;
            match dict.get(b"Type".as_slice()).and_then(Object::as_name) {
                Some(b"Pages") => {
                    let kids = self
                        .dict_get(dict, b"Kids")?
                        .and_then(|k| k.as_array().map(<[Object]>::to_vec))
                        .unwrap_or_default();
                    // Reverse so the stack pops them in document order.
                    for kid in kids.iter().rev() {
                        let k = kid.as_ref().ok_or_else(|| malformed("page kid"))?;
                        stack.push((k, depth + 1));
                    }
                }
                _ => pages.push(r),
            }
            if pages.len() + stack.len() > MAX_OBJECTS as usize {
                return Err(PdfError::TooComplex("too many pages".into()));
            }
        }
        Ok(pages)
    }
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// Decodes a stream's data: FlateDecode (with PNG predictors) or none. Enough for xref
/// and object streams, which is all we decode.
pub(crate) fn decode_stream(dict: &Dict, raw: &[u8]) -> Result<Vec<u8>, PdfError> {
    let filters: Vec<&[u8]> = match dict.get(b"Filter".as_slice()) {
        None => vec![],
        Some(Object::Name(n)) => vec![n.as_slice()],
        Some(Object::Array(a)) => a.iter().filter_map(Object::as_name).collect(),
        Some(_) => return Err(malformed("bad /Filter")),
    };
    let parms = match dict.get(b"DecodeParms".as_slice()) {
        Some(Object::Dict(d)) => Some(d),
        Some(Object::Array(a)) => a.first().and_then(Object::as_dict),
        _ => None,
    };
    let mut data = raw.to_vec();
    for f in &filters {
        match *f {
            b"FlateDecode" | b"Fl" => {
                data = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&data, MAX_DECODED)
                    .map_err(|e| match e.status {
                        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                            PdfError::TooComplex("stream decompresses too large".into())
                        }
                        _ => malformed("bad Flate data"),
                    })?;
            }
            other => {
                return Err(malformed(format!(
                    "unsupported filter /{} on an xref or object stream",
                    String::from_utf8_lossy(other)
                )))
            }
        }
    }
    if let Some(parms) = parms {
        let predictor = parms
            .get(b"Predictor".as_slice())
            .and_then(Object::as_int)
            .unwrap_or(1);
        if predictor >= 10 {
            let columns = parms
                .get(b"Columns".as_slice())
                .and_then(Object::as_int)
                .unwrap_or(1);
            let colors = parms
                .get(b"Colors".as_slice())
                .and_then(Object::as_int)
                .unwrap_or(1);
            let bpc = parms
                .get(b"BitsPerComponent".as_slice())
                .and_then(Object::as_int)
                .unwrap_or(8);
            let bits = columns
                .checked_mul(colors)
                .and_then(|v| v.checked_mul(bpc))
                .filter(|v| (1..=1 << 24).contains(v))
                .ok_or_else(|| malformed("bad predictor parameters"))?;
            let bpp = usize::try_from(((colors * bpc) + 7) / 8)
                .unwrap_or(1)
                .max(1);
            data = png_unpredict(&data, usize::try_from((bits + 7) / 8).unwrap_or(1), bpp)?;
        } else if predictor != 1 {
            return Err(malformed("unsupported predictor"));
        }
    }
    Ok(data)
}

fn png_unpredict(data: &[u8], row_len: usize, bpp: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        let (&kind, row) = chunk
            .split_first()
            .ok_or_else(|| malformed("bad predictor row"))?;
        let mut cur = row.to_vec();
        cur.resize(row_len, 0);
        for i in 0..row_len {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = match kind {
                0 => cur[i],
                1 => cur[i].wrapping_add(left),
                2 => cur[i].wrapping_add(up),
                3 => cur[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => cur[i].wrapping_add(paeth(left, up, up_left)),
                _ => return Err(malformed("bad PNG predictor")),
            };
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Serialises an object back to PDF syntax (strings as hex: no escaping to get wrong).
pub fn write_object(out: &mut Vec<u8>, obj: &Object) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => {
            let s = format!("{r:.6}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            out.extend_from_slice(if s.is_empty() || s == "-" {
                b"0"
            } else {
                s.as_bytes()
            });
        }
        Object::Str(s) => {
            out.push(b'<');
            out.extend_from_slice(hex::encode_upper(s).as_bytes());
            out.push(b'>');
        }
        Object::Name(n) => write_name(out, n),
        Object::Array(a) => {
            out.push(b'[');
            for (i, o) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(out, o);
            }
            out.push(b']');
        }
        Object::Dict(d) => write_dict(out, d),
        Object::Stream(d, data) => {
            let mut d = d.clone();
            d.insert(b"Length".to_vec(), Object::Int(data.len() as i64));
            write_dict(out, &d);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\nendstream");
        }
        Object::Ref(r) => out.extend_from_slice(format!("{} {} R", r.num, r.gen).as_bytes()),
    }
}

pub fn write_name(out: &mut Vec<u8>, n: &[u8]) {
    out.push(b'/');
    for &c in n {
        if c <= b' ' || c >= 0x7f || is_delim(c) || c == b'#' {
            out.extend_from_slice(format!("#{c:02X}").as_bytes());
        } else {
            out.push(c);
        }
    }
}

pub fn write_dict(out: &mut Vec<u8>, d: &Dict) {
    out.extend_from_slice(b"<<");
    for (k, v) in d {
        write_name(out, k);
        out.push(b' ');
        write_object(out, v);
    }
    out.extend_from_slice(b">>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_arrays_deeper_than_the_limit_are_refused_not_overflowed() {
        let mut s = vec![b'['; 100_000];
        s.extend(vec![b']'; 100_000]);
        assert!(matches!(
            Parser::new(&s, 0).object(0),
            Err(PdfError::TooComplex(_))
        ));
    }

    #[test]
    fn references_and_numbers_are_told_apart() {
        let mut p = Parser::new(b"[1 0 R 2 3 -4.5 /A#20B (x\\)y) <414>]", 0);
        let o = p.object(0).unwrap();
        assert_eq!(
            o,
            Object::Array(vec![
                Object::Ref(ObjRef { num: 1, gen: 0 }),
                Object::Int(2),
                Object::Int(3),
                Object::Real(-4.5),
                Object::Name(b"A B".to_vec()),
                Object::Str(b"x)y".to_vec()),
                Object::Str(vec![0x41, 0x40]),
            ])
        );
    }
}
