//! The attack corpus: forged revisions of paraf-signed PDFs in every class of the
//! published PDF-signature attacks (incremental saving, signature wrapping, universal
//! forgery, shadow attacks, evil annotations, sneaky signatures), made here by the
//! test itself, and the legitimate updates that must stay valid. paraf must call every
//! forgery not valid and say what changed; pdfsig's and pyHanko's verdicts on the same
//! files are printed beside paraf's (and written to `attack-corpus.txt` in the test's
//! temporary directory) for comparison.

mod common;

use common::*;
use paraf_pdf::incremental::Update;
use paraf_pdf::pdf::{Dict, Document, ObjRef, Object};
use paraf_pdf::{verify, Modification, Report};

const FORGED: &[u8] =
    b"q 1 1 1 rg 60 750 480 40 re f Q BT /F1 14 Tf 72 760 Td (Rp 9.999.999 - DIUBAH) Tj ET";

fn r(num: u32) -> ObjRef {
    ObjRef { num, gen: 0 }
}

fn name(s: &str) -> Object {
    Object::Name(s.as_bytes().to_vec())
}

fn text(s: &str) -> Object {
    Object::Str(s.as_bytes().to_vec())
}

fn dict(entries: &[(&str, Object)]) -> Dict {
    entries
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.clone()))
        .collect()
}

fn rect(x1: i64, y1: i64, x2: i64, y2: i64) -> Object {
    Object::Array(vec![
        Object::Int(x1),
        Object::Int(y1),
        Object::Int(x2),
        Object::Int(y2),
    ])
}

fn get_dict(doc: &Document, r: ObjRef) -> Dict {
    match doc.get(r).expect("object") {
        Object::Dict(d) => d,
        other => panic!("object {} is not a dictionary: {other:?}", r.num),
    }
}

fn first_page(doc: &Document) -> ObjRef {
    doc.pages().expect("pages")[0]
}

/// An appearance stream showing the forged amount over the letter's text.
fn forged_appearance(up: &mut Update, font: ObjRef) -> ObjRef {
    let ap = up.alloc();
    let resources = dict(&[("Font", Object::Dict(dict(&[("F1", Object::Ref(font))])))]);
    up.write(
        ap,
        &Object::Stream(
            dict(&[
                ("Type", name("XObject")),
                ("Subtype", name("Form")),
                ("BBox", rect(0, 0, 480, 40)),
                ("Resources", Object::Dict(resources)),
            ]),
            b"1 1 1 rg 0 0 480 40 re f BT /F1 14 Tf 12 10 Td (Rp 9.999.999) Tj ET".to_vec(),
        ),
    );
    ap
}

/// An annotation of `subtype` over the letter's text, drawn by the appearance `ap`,
/// with `extra` entries.
fn covering(subtype: &str, ap: ObjRef, extra: &[(&str, Object)]) -> Dict {
    let mut d = dict(&[
        ("Type", name("Annot")),
        ("Subtype", name(subtype)),
        ("Rect", rect(60, 750, 540, 790)),
        ("AP", Object::Dict(dict(&[("N", Object::Ref(ap))]))),
    ]);
    d.extend(dict(extra));
    d
}

/// Appends a revision: `f` writes objects and edits the trailer.
fn revise(pdf: &[u8], f: impl FnOnce(&Document, &mut Update, &mut Dict)) -> Vec<u8> {
    let doc = Document::parse(pdf).expect("parse");
    let mut up = Update::new(&doc).expect("update");
    let mut trailer = up.trailer(&doc);
    f(&doc, &mut up, &mut trailer);
    up.finish(&doc, trailer).expect("finish")
}

/// Appends a revision that is only a cross-reference table: `entries` point object
/// numbers at offsets already in the file (`None`: freed).
fn xref_only(pdf: &[u8], entries: &[(u32, Option<usize>)]) -> Vec<u8> {
    let doc = Document::parse(pdf).expect("parse");
    let mut out = pdf.to_vec();
    let at = out.len();
    out.extend_from_slice(b"xref\n");
    for (num, off) in entries {
        out.extend_from_slice(format!("{num} 1\n").as_bytes());
        match off {
            Some(o) => out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes()),
            None => out.extend_from_slice(b"0000000000 65535 f\r\n"),
        }
    }
    let root = doc.root_ref().expect("root");
    out.extend_from_slice(
        format!(
            "trailer\n<</Size {}/Root {} 0 R/Prev {}>>\nstartxref\n{at}\n%%EOF\n",
            doc.size(),
            root.num,
            doc.startxref
        )
        .as_bytes(),
    );
    out
}

/// Adds an annotation (and optionally a form field) to the first page.
fn add_annotation(up: &mut Update, doc: &Document, annot: Dict, field: bool) -> ObjRef {
    let page = first_page(doc);
    let a = up.alloc();
    up.write(a, &Object::Dict(annot));
    let mut p = get_dict(doc, page);
    let mut annots = match doc.dict_get(&p, b"Annots").expect("annots") {
        Some(Object::Array(v)) => v,
        _ => Vec::new(),
    };
    annots.push(Object::Ref(a));
    p.insert(b"Annots".to_vec(), Object::Array(annots));
    up.write(page, &Object::Dict(p));
    if field {
        let catalog = doc.catalog().expect("catalog");
        let af_ref = catalog
            .get(b"AcroForm".as_slice())
            .and_then(Object::as_ref)
            .expect("the signed file has an indirect AcroForm");
        let mut af = get_dict(doc, af_ref);
        let mut fields = match doc.dict_get(&af, b"Fields").expect("fields") {
            Some(Object::Array(v)) => v,
            _ => Vec::new(),
        };
        fields.push(Object::Ref(a));
        af.insert(b"Fields".to_vec(), Object::Array(fields));
        up.write(af_ref, &Object::Dict(af));
    }
    a
}

/// The first signature field's signature dictionary.
fn first_sig_dict(doc: &Document) -> ObjRef {
    let catalog = doc.catalog().expect("catalog");
    let Some(Object::Dict(af)) = doc.dict_get(&catalog, b"AcroForm").expect("acroform") else {
        panic!("no AcroForm");
    };
    let Some(Object::Array(fields)) = doc.dict_get(&af, b"Fields").expect("fields") else {
        panic!("no fields");
    };
    let field = get_dict(doc, fields[0].as_ref().expect("field ref"));
    field
        .get(b"V".as_slice())
        .and_then(Object::as_ref)
        .expect("signed field")
}

fn redefine_sig_dict(signed: &[u8], edit: impl FnOnce(&mut Dict)) -> Vec<u8> {
    revise(signed, |doc, up, _| {
        let sig = first_sig_dict(doc);
        let mut d = get_dict(doc, sig);
        edit(&mut d);
        up.write(sig, &Object::Dict(d));
    })
}

/// A one-page letter whose page content is an array with a reference to object 900,
/// which does not exist when it is signed.
fn letter_with_dangling_reference() -> Vec<u8> {
    let plain = simple_pdf();
    revise(&plain, |doc, up, _| {
        let page = first_page(doc);
        let mut p = get_dict(doc, page);
        p.insert(
            b"Contents".to_vec(),
            Object::Array(vec![Object::Ref(r(4)), Object::Ref(r(900))]),
        );
        up.write(page, &Object::Dict(p));
    })
}

/// The shadow "hide" document: the amount shown is an overlay XObject (object 6 of
/// this revision) over other text; an unused earlier version of object 6 that draws
/// nothing sits in the file body. Returns the file and that version's offset.
fn shadow_hide_document() -> (Vec<u8>, usize) {
    let plain = simple_pdf();
    let with_overlay = revise(&plain, |doc, up, _| {
        let page = first_page(doc);
        let hidden = up.alloc();
        up.write(
            hidden,
            &Object::Stream(
                Dict::new(),
                b"BT /F1 14 Tf 72 700 Td (Jumlah: Rp 9.999.999) Tj ET q /Ov Do Q".to_vec(),
            ),
        );
        let overlay = up.alloc();
        assert_eq!(overlay.num, 7, "object numbers the test relies on");
        up.write(
            overlay,
            &Object::Stream(
                dict(&[
                    ("Type", name("XObject")),
                    ("Subtype", name("Form")),
                    ("BBox", rect(0, 0, 595, 842)),
                    (
                        "Resources",
                        Object::Dict(dict(&[(
                            "Font",
                            Object::Dict(dict(&[("F1", Object::Ref(r(5)))])),
                        )])),
                    ),
                ]),
                b"1 1 1 rg 60 690 480 30 re f BT /F1 14 Tf 72 700 Td (Jumlah: Rp 1.250.000) Tj ET"
                    .to_vec(),
            ),
        );
        let mut p = get_dict(doc, page);
        p.insert(
            b"Contents".to_vec(),
            Object::Array(vec![Object::Ref(r(4)), Object::Ref(hidden)]),
        );
        let mut res = match doc.dict_get(&p, b"Resources").expect("res") {
            Some(Object::Dict(d)) => d,
            _ => Dict::new(),
        };
        res.insert(
            b"XObject".to_vec(),
            Object::Dict(dict(&[("Ov", Object::Ref(overlay))])),
        );
        p.insert(b"Resources".to_vec(), Object::Dict(res));
        up.write(page, &Object::Dict(p));
    });
    // The unused version of object 7, placed in the body (no xref entry points to it),
    // then one more ordinary revision so that it lies inside what gets signed.
    let mut out = with_overlay;
    let shadow_at = out.len();
    out.extend_from_slice(b"7 0 obj\n<</Type/XObject/Subtype/Form/BBox[0 0 1 1]/Length 0>>\nstream\n\nendstream\nendobj\n");
    let out = revise(&out, |_, up, trailer| {
        let info = up.alloc();
        up.write(info, &Object::Dict(dict(&[("Title", text("Kuitansi"))])));
        trailer.insert(b"Info".to_vec(), Object::Ref(info));
    });
    (out, shadow_at)
}

/// A letter with a text field showing the amount; the field is filled in after signing.
fn letter_with_text_field() -> Vec<u8> {
    let plain = simple_pdf();
    revise(&plain, |doc, up, _| {
        let page = first_page(doc);
        let field = up.alloc();
        let ap = up.alloc();
        up.write(
            ap,
            &Object::Stream(
                dict(&[
                    ("Type", name("XObject")),
                    ("Subtype", name("Form")),
                    ("BBox", rect(0, 0, 300, 24)),
                    (
                        "Resources",
                        Object::Dict(dict(&[(
                            "Font",
                            Object::Dict(dict(&[("F1", Object::Ref(r(5)))])),
                        )])),
                    ),
                ]),
                b"/Tx BMC BT /F1 12 Tf 2 6 Td (Rp 1.250.000) Tj ET EMC".to_vec(),
            ),
        );
        up.write(
            field,
            &Object::Dict(dict(&[
                ("Type", name("Annot")),
                ("Subtype", name("Widget")),
                ("FT", name("Tx")),
                ("T", text("jumlah")),
                ("V", text("Rp 1.250.000")),
                ("DA", text("/F1 12 Tf 0 g")),
                ("Rect", rect(72, 690, 372, 714)),
                ("F", Object::Int(4)),
                ("P", Object::Ref(page)),
                ("AP", Object::Dict(dict(&[("N", Object::Ref(ap))]))),
            ])),
        );
        let af = up.alloc();
        up.write(
            af,
            &Object::Dict(dict(&[
                ("Fields", Object::Array(vec![Object::Ref(field)])),
                (
                    "DR",
                    Object::Dict(dict(&[(
                        "Font",
                        Object::Dict(dict(&[("F1", Object::Ref(r(5)))])),
                    )])),
                ),
                ("DA", text("/F1 12 Tf 0 g")),
            ])),
        );
        let mut catalog = doc.catalog().expect("catalog");
        catalog.insert(b"AcroForm".to_vec(), Object::Ref(af));
        up.write(doc.root_ref().expect("root"), &Object::Dict(catalog));
        let mut p = get_dict(doc, page);
        p.insert(b"Annots".to_vec(), Object::Array(vec![Object::Ref(field)]));
        up.write(page, &Object::Dict(p));
    })
}

/// A letter that carries an alternative page tree (objects in the file, referenced by
/// nothing) for the shadow "hide-and-replace" attack.
fn letter_with_hidden_page_tree() -> (Vec<u8>, ObjRef) {
    let plain = simple_pdf();
    let mut pages = r(0);
    let out = revise(&plain, |_, up, _| {
        pages = up.alloc();
        let page = up.alloc();
        let content = up.alloc();
        up.write(content, &Object::Stream(Dict::new(), FORGED.to_vec()));
        up.write(
            page,
            &Object::Dict(dict(&[
                ("Type", name("Page")),
                ("Parent", Object::Ref(pages)),
                ("MediaBox", rect(0, 0, 595, 842)),
                ("Contents", Object::Ref(content)),
                (
                    "Resources",
                    Object::Dict(dict(&[(
                        "Font",
                        Object::Dict(dict(&[("F1", Object::Ref(r(5)))])),
                    )])),
                ),
            ])),
        );
        up.write(
            pages,
            &Object::Dict(dict(&[
                ("Type", name("Pages")),
                ("Kids", Object::Array(vec![Object::Ref(page)])),
                ("Count", Object::Int(1)),
            ])),
        );
    });
    (out, pages)
}

/// What one validator made of one file.
struct Verdicts {
    paraf_valid: bool,
    paraf: String,
    pdfsig: String,
    pyhanko: String,
}

struct Case {
    name: &'static str,
    attack: bool,
    file: Vec<u8>,
    /// For a forgery: words the report of the first signature must contain.
    expect: &'static str,
}

fn paraf_summary(report: &Report) -> String {
    report
        .signatures
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                if s.is_valid() { "valid" } else { "NOT VALID" },
                s.modification.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn all_text(report: &Report) -> String {
    let mut t = String::new();
    for s in &report.signatures {
        for p in &s.problems {
            t.push_str(p);
            t.push('\n');
        }
        for c in &s.changes {
            t.push_str(&format!("{} {c}\n", if c.allowed { "+" } else { "-" }));
        }
    }
    t
}

fn judge(ca: &Ca, case: &Case) -> (Verdicts, Report) {
    let file = write(ca.dir.path(), &format!("{}.pdf", case.name), &case.file);
    let report = verify(&case.file, &ca.roots()).unwrap_or_else(|e| {
        panic!(
            "{}: paraf could not read its own corpus file: {e}",
            case.name
        )
    });
    let validators = ca.validators();
    let (sigs, text) = validators.pdfsig(&file);
    let pdfsig_verdict = if sigs.is_empty() {
        format!(
            "no signatures ({})",
            text.lines().last().unwrap_or("").trim()
        )
    } else {
        sigs.iter()
            .map(|s| {
                format!(
                    "{} {} {}",
                    if s.valid { "valid" } else { "NOT VALID" },
                    if s.trusted { "trusted" } else { "untrusted" },
                    if s.whole_file {
                        "whole file"
                    } else {
                        "part of the file"
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let (lines, text) = validators.pyhanko(&file);
    let pyhanko_verdict = if lines.is_empty() {
        // pyHanko refuses some forgeries outright; show why.
        let error = text
            .lines()
            .find(|l| l.contains("ERROR"))
            .and_then(|l| l.split(" - ").last())
            .unwrap_or("no signatures");
        format!("cannot read: {error}")
    } else {
        lines
            .iter()
            .map(|l| l.splitn(3, ':').nth(2).unwrap_or(l).to_owned())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    (
        Verdicts {
            paraf_valid: report.all_valid(),
            paraf: paraf_summary(&report),
            pdfsig: pdfsig_verdict,
            pyhanko: pyhanko_verdict,
        },
        report,
    )
}

/// Every forgery of the corpus, made from paraf-signed files.
async fn attacks(ca: &Ca) -> Vec<Case> {
    let plain = simple_pdf();
    let signed = sign_n(ca, &plain, 1).await;
    let mut cases = Vec::new();
    let mut add = |name, expect, file| {
        cases.push(Case {
            name,
            attack: true,
            file,
            expect,
        })
    };

    // Incremental saving attacks.
    add(
        "isa-new-root",
        "document catalog was replaced",
        revise(&signed, |doc, up, trailer| {
            let (catalog, pages, page, content) = (up.alloc(), up.alloc(), up.alloc(), up.alloc());
            up.write(content, &Object::Stream(Dict::new(), FORGED.to_vec()));
            let mut p = get_dict(doc, first_page(doc));
            p.insert(b"Parent".to_vec(), Object::Ref(pages));
            p.insert(b"Contents".to_vec(), Object::Ref(content));
            up.write(page, &Object::Dict(p));
            up.write(
                pages,
                &Object::Dict(dict(&[
                    ("Type", name("Pages")),
                    ("Kids", Object::Array(vec![Object::Ref(page)])),
                    ("Count", Object::Int(1)),
                ])),
            );
            let mut c = doc.catalog().expect("catalog");
            c.insert(b"Pages".to_vec(), Object::Ref(pages));
            up.write(catalog, &Object::Dict(c));
            trailer.insert(b"Root".to_vec(), Object::Ref(catalog));
        }),
    );
    add(
        "isa-new-page",
        "page tree changed (1 pages, now 2)",
        revise(&signed, |doc, up, _| {
            let (page, content) = (up.alloc(), up.alloc());
            up.write(content, &Object::Stream(Dict::new(), FORGED.to_vec()));
            let mut p = get_dict(doc, first_page(doc));
            p.remove(b"Annots".as_slice());
            p.insert(b"Contents".to_vec(), Object::Ref(content));
            up.write(page, &Object::Dict(p));
            let mut pages = get_dict(doc, r(2));
            pages.insert(
                b"Kids".to_vec(),
                Object::Array(vec![Object::Ref(first_page(doc)), Object::Ref(page)]),
            );
            pages.insert(b"Count".to_vec(), Object::Int(2));
            up.write(r(2), &Object::Dict(pages));
        }),
    );
    add(
        "isa-overwritten-content",
        "object 4 (content of page 1) changed",
        revise(&signed, |_, up, _| {
            up.write(r(4), &Object::Stream(Dict::new(), FORGED.to_vec()));
        }),
    );
    add(
        "isa-freed-content",
        "object 4 (content of page 1) removed",
        xref_only(&signed, &[(4, None)]),
    );
    add(
        "isa-overlay-freetext-annotation",
        "FreeText annotation added on page 1",
        revise(&signed, |doc, up, _| {
            let ap = forged_appearance(up, r(5));
            add_annotation(
                up,
                doc,
                covering(
                    "FreeText",
                    ap,
                    &[
                        ("Contents", text("Rp 9.999.999")),
                        ("DA", text("/Helv 14 Tf 0 g")),
                    ],
                ),
                false,
            );
        }),
    );
    add(
        "evil-annotation-stamp",
        "Stamp annotation added on page 1",
        revise(&signed, |doc, up, _| {
            let ap = forged_appearance(up, r(5));
            add_annotation(up, doc, covering("Stamp", ap, &[]), false);
        }),
    );
    add(
        "new-text-field-covering-text",
        "new form field \"catatan\" (Tx) added",
        revise(&signed, |doc, up, _| {
            let ap = forged_appearance(up, r(5));
            let page = first_page(doc);
            add_annotation(
                up,
                doc,
                covering(
                    "Widget",
                    ap,
                    &[
                        ("FT", name("Tx")),
                        ("T", text("catatan")),
                        ("V", text("Rp 9.999.999")),
                        ("P", Object::Ref(page)),
                    ],
                ),
                true,
            );
        }),
    );
    add(
        "sneaky-unsigned-signature-field",
        "unsigned signature field \"Persetujuan\" with a visible appearance on page 1 added",
        revise(&signed, |doc, up, _| {
            let ap = forged_appearance(up, r(5));
            let page = first_page(doc);
            add_annotation(
                up,
                doc,
                covering(
                    "Widget",
                    ap,
                    &[
                        ("FT", name("Sig")),
                        ("T", text("Persetujuan")),
                        ("F", Object::Int(4)),
                        ("P", Object::Ref(page)),
                    ],
                ),
                true,
            );
        }),
    );
    add(
        "signature-appearance-replaced",
        "(Form) changed",
        revise(&signed, |doc, up, _| {
            // The stamp of the (visible) signature shows something else.
            let catalog = doc.catalog().expect("catalog");
            let af = get_dict(
                doc,
                catalog
                    .get(b"AcroForm".as_slice())
                    .and_then(Object::as_ref)
                    .expect("acroform"),
            );
            let Some(Object::Array(fields)) = doc.dict_get(&af, b"Fields").expect("fields") else {
                panic!("fields");
            };
            let widget = get_dict(doc, fields[0].as_ref().expect("ref"));
            let ap = match doc.dict_get(&widget, b"AP").expect("ap") {
                Some(Object::Dict(d)) => d,
                _ => panic!("the signature is visible"),
            };
            let n = ap.get(b"N".as_slice()).and_then(Object::as_ref).expect("N");
            up.write(
                n,
                &Object::Stream(
                    dict(&[
                        ("Type", name("XObject")),
                        ("Subtype", name("Form")),
                        ("BBox", rect(0, 0, 260, 80)),
                    ]),
                    b"0 0 1 rg 0 0 260 80 re f".to_vec(),
                ),
            );
        }),
    );
    add(
        "visible-stamp-of-a-signature-that-does-not-verify",
        "signature \"Pengesahan\" added, but that signature does not verify",
        revise(&signed, |doc, up, _| {
            let ap = forged_appearance(up, r(5));
            let sig = up.alloc();
            up.write(
                sig,
                &Object::Dict(dict(&[
                    ("Type", name("Sig")),
                    ("Filter", name("Adobe.PPKLite")),
                    ("SubFilter", name("ETSI.CAdES.detached")),
                    ("ByteRange", Object::Array(vec![Object::Int(0); 4])),
                    ("Contents", Object::Str(vec![0; 64])),
                ])),
            );
            let page = first_page(doc);
            add_annotation(
                up,
                doc,
                covering(
                    "Widget",
                    ap,
                    &[
                        ("FT", name("Sig")),
                        ("T", text("Pengesahan")),
                        ("V", Object::Ref(sig)),
                        ("F", Object::Int(132)),
                        ("P", Object::Ref(page)),
                    ],
                ),
                true,
            );
        }),
    );
    add(
        "catalog-openaction-javascript",
        "catalog entry /OpenAction changed",
        revise(&signed, |doc, up, _| {
            let mut c = doc.catalog().expect("catalog");
            c.insert(
                b"OpenAction".to_vec(),
                Object::Dict(dict(&[
                    ("S", name("JavaScript")),
                    ("JS", text("app.alert('Rp 9.999.999')")),
                ])),
            );
            up.write(doc.root_ref().expect("root"), &Object::Dict(c));
        }),
    );
    add(
        "objects-appended-without-xref",
        "appended after the end of the last revision",
        {
            let mut f = signed.clone();
            f.extend_from_slice(
                b"4 0 obj\n<</Length 20>>\nstream\nBT (DIUBAH) Tj ET  \nendstream\nendobj\n",
            );
            f
        },
    );
    add(
        "content-changed-after-validation-data",
        "object 4 (content of page 1) changed",
        {
            let with_dss = revise(&signed, |doc, up, _| add_dss(doc, up, &ca.root_der));
            revise(&with_dss, |_, up, _| {
                up.write(r(4), &Object::Stream(Dict::new(), FORGED.to_vec()));
            })
        },
    );
    {
        let base = sign_n(ca, &letter_with_dangling_reference(), 1).await;
        add(
            "dangling-reference-filled",
            "did not exist when signed",
            revise(&base, |_, up, _| {
                up.write(r(900), &Object::Stream(Dict::new(), FORGED.to_vec()));
                up.reserve_until(901);
            }),
        );
    }

    // Signature wrapping and universal forgery.
    add(
        "data-hidden-in-contents",
        "/Contents holds data besides the signature",
        hide_in_contents(&signed, false),
    );
    add(
        "signature-wrapping-object-in-contents",
        "ByteRange does not cover",
        hide_in_contents(&signed, true),
    );
    add(
        "usf-contents-removed",
        "signed revision is not a revision of this file",
        redefine_sig_dict(&signed, |d| {
            d.remove(b"Contents".as_slice());
        }),
    );
    add(
        "usf-byterange-removed",
        "ByteRange does not cover",
        redefine_sig_dict(&signed, |d| {
            d.remove(b"ByteRange".as_slice());
        }),
    );
    add(
        "usf-byterange-zero",
        "ByteRange does not cover",
        redefine_sig_dict(&signed, |d| {
            d.insert(
                b"ByteRange".to_vec(),
                Object::Array(vec![Object::Int(0); 4]),
            );
        }),
    );
    add(
        "usf-contents-empty",
        "CMS",
        redefine_sig_dict(&signed, |d| {
            d.insert(b"Contents".to_vec(), Object::Str(Vec::new()));
        }),
    );
    add(
        "usf-forged-field-on-unsigned-file",
        "CMS",
        revise(&plain, |doc, up, _| {
            let sig = up.alloc();
            up.write(
                sig,
                &Object::Dict(dict(&[
                    ("Type", name("Sig")),
                    ("Filter", name("Adobe.PPKLite")),
                    ("SubFilter", name("ETSI.CAdES.detached")),
                    ("ByteRange", Object::Array(vec![Object::Int(0); 4])),
                    ("Contents", Object::Str(vec![0; 16])),
                ])),
            );
            let field = up.alloc();
            up.write(
                field,
                &Object::Dict(dict(&[
                    ("Type", name("Annot")),
                    ("Subtype", name("Widget")),
                    ("FT", name("Sig")),
                    ("T", text("Palsu")),
                    ("V", Object::Ref(sig)),
                    ("Rect", rect(0, 0, 0, 0)),
                ])),
            );
            let af = up.alloc();
            up.write(
                af,
                &Object::Dict(dict(&[
                    ("Fields", Object::Array(vec![Object::Ref(field)])),
                    ("SigFlags", Object::Int(3)),
                ])),
            );
            let mut c = doc.catalog().expect("catalog");
            c.insert(b"AcroForm".to_vec(), Object::Ref(af));
            up.write(doc.root_ref().expect("root"), &Object::Dict(c));
        }),
    );

    // Shadow attacks: content prepared before signing, revealed after.
    {
        let (base, shadow_at) = shadow_hide_document();
        let signed = sign_n(ca, &base, 1).await;
        add(
            "shadow-hide",
            "object 7 (resources of page 1) changed",
            xref_only(&signed, &[(7, Some(shadow_at))]),
        );
    }
    {
        let base = sign_n(ca, &letter_with_text_field(), 1).await;
        add(
            "shadow-replace-form-value",
            "form field \"jumlah\" filled in",
            revise(&base, |doc, up, _| {
                let catalog = doc.catalog().expect("catalog");
                let af = get_dict(
                    doc,
                    catalog
                        .get(b"AcroForm".as_slice())
                        .and_then(Object::as_ref)
                        .expect("acroform"),
                );
                let Some(Object::Array(fields)) = doc.dict_get(&af, b"Fields").expect("fields")
                else {
                    panic!("fields");
                };
                let field_ref = fields[0].as_ref().expect("ref");
                let mut field = get_dict(doc, field_ref);
                let ap = forged_appearance(up, r(5));
                field.insert(b"V".to_vec(), text("Rp 9.999.999"));
                field.insert(
                    b"AP".to_vec(),
                    Object::Dict(dict(&[("N", Object::Ref(ap))])),
                );
                up.write(field_ref, &Object::Dict(field));
            }),
        );
        add(
            "shadow-replace-font",
            "object 5 (resources of page 1) changed",
            revise(&signed, |_, up, _| {
                up.write(
                    r(5),
                    &Object::Dict(dict(&[
                        ("Type", name("Font")),
                        ("Subtype", name("Type1")),
                        ("BaseFont", name("Symbol")),
                    ])),
                );
            }),
        );
    }
    {
        let (base, hidden_pages) = letter_with_hidden_page_tree();
        let signed = sign_n(ca, &base, 1).await;
        add(
            "shadow-hide-and-replace",
            "catalog entry /Pages changed",
            revise(&signed, |doc, up, _| {
                let mut c = doc.catalog().expect("catalog");
                c.insert(b"Pages".to_vec(), Object::Ref(hidden_pages));
                up.write(doc.root_ref().expect("root"), &Object::Dict(c));
            }),
        );
    }
    cases
}

/// Validation data for the signature: the root certificate in a `/DSS`.
fn add_dss(doc: &Document, up: &mut Update, cert: &[u8]) {
    let cert_ref = up.alloc();
    up.write(cert_ref, &Object::Stream(Dict::new(), cert.to_vec()));
    let dss = up.alloc();
    let vri_key = "A".repeat(40);
    up.write(
        dss,
        &Object::Dict(dict(&[
            ("Certs", Object::Array(vec![Object::Ref(cert_ref)])),
            (
                "VRI",
                Object::Dict(dict(&[(
                    vri_key.as_str(),
                    Object::Dict(dict(&[(
                        "Cert",
                        Object::Array(vec![Object::Ref(cert_ref)]),
                    )])),
                )])),
            ),
        ])),
    );
    let mut c = doc.catalog().expect("catalog");
    c.insert(b"DSS".to_vec(), Object::Ref(dss));
    up.write(doc.root_ref().expect("root"), &Object::Dict(c));
}

/// Writes into the unsigned `/Contents` hole: hidden bytes in the zero padding, or
/// (`wrap`) an object placed after the signature's end inside the hole, which a new
/// revision then draws on the page.
fn hide_in_contents(signed: &[u8], wrap: bool) -> Vec<u8> {
    let report = verify(signed, &[]).expect("verify");
    let [_, a, b, _] = report.signatures[0].byte_range[..] else {
        panic!("byte range");
    };
    let (a, b) = (a as usize, b as usize);
    let mut out = signed.to_vec();
    let hex = &signed[a + 1..b - 1];
    let used = hex.iter().rposition(|c| *c != b'0').map_or(0, |p| p + 2) & !1;
    if !wrap {
        let hidden = hex::encode_upper(b"Rp 9.999.999 disisipkan");
        out[a + 1 + used + 16..a + 1 + used + 16 + hidden.len()].copy_from_slice(hidden.as_bytes());
        return out;
    }
    let sig_end = a + 1 + used;
    let body = format!(
        ">>>>endobj\n400 0 obj\n<</Length {}>>\nstream\n{}\nendstream\nendobj\n%",
        FORGED.len(),
        String::from_utf8_lossy(FORGED)
    );
    let obj_at = sig_end + body.find("400 0 obj").expect("object");
    assert!(sig_end + body.len() < b, "the hole is large enough");
    out[sig_end..sig_end + body.len()].copy_from_slice(body.as_bytes());
    for c in &mut out[sig_end + body.len()..b] {
        *c = b' ';
    }
    // A revision that draws the hidden object on the page.
    let doc = Document::parse(&out).expect("parse");
    let page = first_page(&doc);
    let mut p = get_dict(&doc, page);
    p.insert(
        b"Contents".to_vec(),
        Object::Array(vec![Object::Ref(r(4)), Object::Ref(r(400))]),
    );
    let mut up = Update::new(&doc).expect("update");
    up.write(page, &Object::Dict(p));
    up.reserve_until(401);
    let trailer = up.trailer(&doc);
    let with_page = up.finish(&doc, trailer).expect("finish");
    // Point object 40 into the hole with one more cross-reference section.
    xref_only(&with_page, &[(400, Some(obj_at))])
}

/// The legitimate updates: each must stay valid for paraf, pdfsig and pyHanko alike.
async fn controls(ca: &Ca) -> Vec<Case> {
    let plain = simple_pdf();
    let signed = sign_n(ca, &plain, 1).await;
    let mut cases = Vec::new();
    let mut add = |name, file| {
        cases.push(Case {
            name,
            attack: false,
            file,
            expect: "",
        })
    };
    add(
        "control-second-signature-by-paraf",
        sign_n(ca, &plain, 2).await,
    );
    add(
        "control-second-signature-by-pyhanko",
        pyhanko_addsig(ca, &signed, "kabag", "1/72,600,272,680/Kabag", &[]),
    );
    add(
        "control-validation-data-only",
        revise(&signed, |doc, up, _| add_dss(doc, up, &ca.root_der)),
    );
    add(
        "control-metadata-only",
        revise(&signed, |doc, up, trailer| {
            let info = up.alloc();
            up.write(
                info,
                &Object::Dict(dict(&[
                    ("Title", text("Surat Tugas 123/PL.01-SD/32/2026")),
                    ("Producer", text("paraf")),
                ])),
            );
            trailer.insert(b"Info".to_vec(), Object::Ref(info));
            let xmp = up.alloc();
            up.write(
                xmp,
                &Object::Stream(
                    dict(&[("Type", name("Metadata")), ("Subtype", name("XML"))]),
                    br#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta><?xpacket end="r"?>"#.to_vec(),
                ),
            );
            let mut c = doc.catalog().expect("catalog");
            c.insert(b"Metadata".to_vec(), Object::Ref(xmp));
            up.write(doc.root_ref().expect("root"), &Object::Dict(c));
        }),
    );
    add(
        "control-empty-signature-field-for-the-next-signer",
        revise(&signed, |doc, up, _| {
            let page = first_page(doc);
            add_annotation(
                up,
                doc,
                dict(&[
                    ("Type", name("Annot")),
                    ("Subtype", name("Widget")),
                    ("FT", name("Sig")),
                    ("T", text("Sekretaris")),
                    ("Rect", rect(0, 0, 0, 0)),
                    ("P", Object::Ref(page)),
                ]),
                true,
            );
        }),
    );
    cases
}

#[tokio::test]
async fn every_forged_revision_is_not_valid_and_every_legitimate_update_stays_valid() {
    let ca = ca().await;
    let mut cases = attacks(&ca).await;
    cases.extend(controls(&ca).await);

    // The validators take a second or two a file: run them on every core. The first
    // call alone, as it creates pdfsig's certificate database.
    let judged: Vec<std::sync::Mutex<Option<(Verdicts, Report)>>> =
        cases.iter().map(|_| std::sync::Mutex::new(None)).collect();
    *judged[0].lock().expect("lock") = Some(judge(&ca, &cases[0]));
    let next = std::sync::atomic::AtomicUsize::new(1);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                *judged[i].lock().expect("lock") = Some(judge(&ca, case));
            });
        }
    });

    let mut table = format!(
        "{:<50} {:<34} {:<40} {}\n",
        "file", "paraf", "pdfsig", "pyHanko"
    );
    let mut failures = Vec::new();
    for (case, judged) in cases.iter().zip(judged) {
        let (v, report) = judged.into_inner().expect("lock").expect("judged");
        table.push_str(&format!(
            "{:<50} {:<34} {:<40} {}\n",
            case.name, v.paraf, v.pdfsig, v.pyhanko
        ));
        let details = all_text(&report);
        if case.attack {
            if v.paraf_valid {
                failures.push(format!(
                    "{}: paraf calls a forgery valid\n{details}",
                    case.name
                ));
            } else if !details.contains(case.expect) {
                failures.push(format!(
                    "{}: the report does not say \"{}\":\n{details}",
                    case.name, case.expect
                ));
            }
        } else {
            let first = &report.signatures[0];
            if !v.paraf_valid || first.modification == Modification::ContentChanged {
                failures.push(format!(
                    "{}: paraf refuses a legitimate update\n{details}",
                    case.name
                ));
            }
            // Legitimate updates are legitimate for the independent validators too.
            if !v
                .pdfsig
                .split(" | ")
                .all(|s| s.starts_with("valid trusted"))
            {
                failures.push(format!("{}: pdfsig says {}", case.name, v.pdfsig));
            }
            if !v
                .pyhanko
                .split(" | ")
                .all(|s| s.starts_with("INTACT:TRUSTED") && !s.contains("ILLEGAL"))
            {
                failures.push(format!("{}: pyHanko says {}", case.name, v.pyhanko));
            }
        }
    }
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("attack-corpus.txt");
    std::fs::write(&out, &table).expect("write the comparison");
    eprintln!("{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn the_report_names_the_allowed_changes_of_a_pyhanko_co_signature() {
    let ca = ca().await;
    let cases = controls(&ca).await;
    let cosigned = cases
        .iter()
        .find(|c| c.name == "control-second-signature-by-pyhanko")
        .expect("case");
    let report = verify(&cosigned.file, &ca.roots()).expect("verify");
    let first = &report.signatures[0];
    assert!(first.is_valid(), "{first:#?}");
    assert!(first.changes.iter().all(|c| c.allowed), "{first:#?}");
    assert!(
        first
            .changes
            .iter()
            .any(|c| c.to_string().contains("signature \"Kabag\" added")),
        "{first:#?}"
    );
    let metadata = cases
        .iter()
        .find(|c| c.name == "control-metadata-only")
        .expect("case");
    let report = verify(&metadata.file, &ca.roots()).expect("verify");
    assert_eq!(
        report.signatures[0].modification,
        Modification::MetadataChanged
    );
    assert!(report.signatures[0].is_valid());
    let dss = cases
        .iter()
        .find(|c| c.name == "control-validation-data-only")
        .expect("case");
    let report = verify(&dss.file, &ca.roots()).expect("verify");
    assert_eq!(
        report.signatures[0].modification,
        Modification::OnlySignaturesAdded
    );
    assert!(report.signatures[0]
        .changes
        .iter()
        .any(|c| c.to_string().contains("validation data")));
}

/// Fills the "jumlah" field of [`letter_with_text_field`] with another amount.
fn fill_amount(pdf: &[u8]) -> Vec<u8> {
    revise(pdf, |doc, up, _| {
        let catalog = doc.catalog().expect("catalog");
        let Some(Object::Dict(af)) = doc.dict_get(&catalog, b"AcroForm").expect("acroform") else {
            panic!("acroform");
        };
        let Some(Object::Array(fields)) = doc.dict_get(&af, b"Fields").expect("fields") else {
            panic!("fields");
        };
        let field_ref = fields
            .iter()
            .filter_map(Object::as_ref)
            .find(|r| get_dict(doc, *r).get(b"T".as_slice()) == Some(&text("jumlah")))
            .expect("the amount field");
        let mut field = get_dict(doc, field_ref);
        let ap = forged_appearance(up, r(5));
        field.insert(b"V".to_vec(), text("Rp 9.999.999"));
        field.insert(
            b"AP".to_vec(),
            Object::Dict(dict(&[("N", Object::Ref(ap))])),
        );
        up.write(field_ref, &Object::Dict(field));
    })
}

#[tokio::test]
async fn a_certification_signature_permits_form_filling_and_nothing_more() {
    let ca = ca().await;
    let dir = ca.dir.path();
    // pyHanko's certification signature permits form filling (DocMDP P=2).
    let certified = pyhanko_addsig(
        &ca,
        &letter_with_text_field(),
        "sekretaris",
        "Sertifikasi",
        &["--certify"],
    );

    let filled = fill_amount(&certified);
    let report = verify(&filled, &ca.roots()).expect("verify");
    let s = &report.signatures[0];
    assert!(s.is_valid(), "{s:#?}");
    assert_eq!(s.modification, Modification::FormFilled);
    assert!(
        s.changes
            .iter()
            .any(|c| c.allowed && c.to_string().contains("form field \"jumlah\" filled in")),
        "{s:#?}"
    );
    let file = write(dir, "filled.pdf", &filled);
    let (lines, text) = pyhanko(&ca, &file);
    assert!(
        lines.len() == 1 && lines[0].contains("FORM_FILLING,ACCEPTABLE_MODIFICATIONS"),
        "pyHanko agrees:\n{text}"
    );

    // The same fill without the certification: not valid.
    let approved = sign_n(&ca, &letter_with_text_field(), 1).await;
    let report = verify(&fill_amount(&approved), &ca.roots()).expect("verify");
    assert_eq!(
        report.signatures[0].modification,
        Modification::ContentChanged
    );

    // Certified for form filling, still no annotations.
    let annotated = revise(&certified, |doc, up, _| {
        let ap = forged_appearance(up, r(5));
        add_annotation(up, doc, covering("FreeText", ap, &[]), false);
    });
    let report = verify(&annotated, &ca.roots()).expect("verify");
    assert!(!report.all_valid(), "{report:#?}");
}
