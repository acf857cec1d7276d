//! Writing the laid-out pages as one PDF aiming at PDF/A-2b: catalog with XMP metadata
//! and an sRGB output intent, document info mirrored in the XMP, embedded subset fonts,
//! Flate-compressed streams and a deterministic file ID.
//!
//! The sRGB profile (`sRGB.icc`, ICC v2) is the one from Debian's `icc-profiles-free`
//! (littleCMS; zlib licence, see `sRGB.icc.LICENSE`).

use pdf_writer::types::OutputIntentSubtype;
use pdf_writer::{Date, Filter, Finish, Name, Pdf, Rect, Ref, TextStr};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::compose::Finished;
use super::RenderError;
use paraf_core::WIB;

static SRGB: &[u8] = include_bytes!("sRGB.icc");

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

pub fn assemble(
    doc: Finished,
    title: &str,
    created: OffsetDateTime,
) -> Result<Vec<u8>, RenderError> {
    let created = created.to_offset(WIB);
    let mut pdf = Pdf::new();
    let mut next = Ref::new(1);
    let catalog_ref = next.bump();
    let pages_ref = next.bump();
    let info_ref = next.bump();
    let meta_ref = next.bump();
    let icc_ref = next.bump();
    let regular_ref = next.bump();
    let bold_ref = next.bump();

    let page_refs: Vec<(Ref, Ref)> = doc
        .pages
        .iter()
        .map(|_| (next.bump(), next.bump()))
        .collect();

    let mut id_hash = Sha256::new();
    id_hash.update(title.as_bytes());
    id_hash.update(created.unix_timestamp().to_be_bytes());

    let media = Rect::new(0.0, 0.0, doc.width, doc.height);
    for ((page_ref, content_ref), content) in page_refs.iter().zip(&doc.pages) {
        id_hash.update(content);
        let mut page = pdf.page(*page_ref);
        page.media_box(media)
            .parent(pages_ref)
            .contents(*content_ref);
        page.resources()
            .fonts()
            .pair(Name(b"F1"), regular_ref)
            .pair(Name(b"F2"), bold_ref);
        page.finish();
        pdf.stream(*content_ref, &deflate(content))
            .filter(Filter::FlateDecode);
    }
    pdf.pages(pages_ref)
        .kids(page_refs.iter().map(|(p, _)| *p))
        .count(i32::try_from(page_refs.len()).unwrap_or(i32::MAX));

    doc.regular.write(&mut pdf, regular_ref, &mut next)?;
    doc.bold.write(&mut pdf, bold_ref, &mut next)?;

    let date = pdf_date(created);
    pdf.document_info(info_ref)
        .title(TextStr(title))
        .producer(TextStr("paraf"))
        .creator(TextStr("paraf"))
        .creation_date(date)
        .modified_date(date);

    let xmp = xmp(title, created);
    // Left uncompressed: PDF/A readers and archive tools read XMP without a PDF parser.
    pdf.metadata(meta_ref, xmp.as_bytes());

    pdf.icc_profile(icc_ref, &deflate(SRGB))
        .n(3)
        .filter(Filter::FlateDecode);

    let mut catalog = pdf.catalog(catalog_ref);
    catalog
        .pages(pages_ref)
        .metadata(meta_ref)
        .lang(TextStr("id-ID"));
    catalog
        .output_intents()
        .push()
        .subtype(OutputIntentSubtype::PDFA)
        .output_condition_identifier(TextStr("sRGB IEC61966-2.1"))
        .registry_name(TextStr("http://www.color.org"))
        .info(TextStr("sRGB IEC61966-2.1"))
        .dest_output_profile(icc_ref);
    catalog.finish();

    let id = id_hash.finalize()[..16].to_vec();
    pdf.set_file_id((id.clone(), id));
    Ok(pdf.finish())
}

fn pdf_date(at: OffsetDateTime) -> Date {
    // WIB is UTC+7 exactly, so the offset is whole hours.
    Date::new(u16::try_from(at.year()).unwrap_or(2000))
        .month(u8::from(at.month()))
        .day(at.day())
        .hour(at.hour())
        .minute(at.minute())
        .second(at.second())
        .utc_offset_hour(at.offset().whole_hours())
        .utc_offset_minute(0)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xmp(title: &str, at: OffsetDateTime) -> String {
    let (h, m, _) = at.offset().as_hms();
    let date = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        if h < 0 || m < 0 { '-' } else { '+' },
        h.unsigned_abs(),
        m.unsigned_abs()
    );
    let title = xml_escape(title);
    // The packet header's `begin` holds a byte order mark (U+FEFF), as XMP requires.
    format!(
        r#"<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:language><rdf:Bag><rdf:li>id-ID</rdf:li></rdf:Bag></dc:language>
   <xmp:CreatorTool>paraf</xmp:CreatorTool>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:MetadataDate>{date}</xmp:MetadataDate>
   <pdf:Producer>paraf</pdf:Producer>
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#
    )
}
