//! Rendered documents checked by independent tools: poppler's `pdftotext` must read back
//! the Indonesian text (so the ToUnicode maps are right) and `qpdf --check` must find no
//! damage. These tests fail, not skip, when the tools are missing: install
//! `poppler-utils` and `qpdf`.

use std::path::Path;
use std::process::Command;

use paraf_pdf::render::{
    layouts, render_at, render_svg, Layout, Letterhead, RenderError, Rendered,
};
use serde_json::{json, Value};
use time::macros::datetime;

const AT: time::OffsetDateTime = datetime!(2026-11-28 14:05 +7);

fn render_layout(layout: &str, data: &Value) -> Rendered {
    match render_at(layout, data, &Letterhead::kpu_jabar(), AT) {
        Ok(r) => r,
        Err(e) => panic!("render failed: {e}"),
    }
}

fn write(dir: &Path, name: &str, pdf: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    path
}

/// The text poppler extracts, whitespace collapsed so wrapped lines compare as prose.
fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "doc.pdf", pdf);
    let out = Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext must be installed (Debian: poppler-utils)");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn qpdf_check(pdf: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "doc.pdf", pdf);
    let out = Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .expect("qpdf must be installed (Debian: qpdf)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // qpdf exits 0 when clean, 3 for warnings, 2 for errors: accept only a clean file.
    assert_eq!(
        out.status.code(),
        Some(0),
        "qpdf --check: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("No syntax or stream encoding errors found"),
        "{stdout}"
    );
}

fn assert_contains(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(
            text.contains(e),
            "expected {e:?} in extracted text:\n{text}"
        );
    }
}

// The sample data the examples render too: one copy for both.
#[path = "../examples/sample_data/mod.rs"]
mod sample_data;
use sample_data::*;

#[test]
fn a_surat_tugas_reads_back_with_its_number_people_and_signatory() {
    let out = render_layout(layouts::SPT, &spt_data());
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "KOMISI PEMILIHAN UMUM",
            "PROVINSI JAWA BARAT",
            "Telepon (022) 7271213 – Laman",
            "SURAT TUGAS",
            "Nomor: 123/PL.01-SD/32/2026",
            "MEMBERI TUGAS",
            "Rina Marlina, S.Sos.",
            "19800312 200501 2 002",
            "Selasa, 1 Desember 2026 s.d. Kamis, 3 Desember 2026",
            "Bandung, 28 November 2026",
            "Dr. H. Ahmad Fauzi, M.Si.",
            "NIP. 19720514 199803 1 004",
        ],
    );
    assert_eq!(out.pages, 1);
    let [slot] = out.signature_slots.as_slice() else {
        panic!("one signature slot expected: {:?}", out.signature_slots)
    };
    assert_eq!(slot.role, "penandatangan");
    assert_eq!(slot.page, 0);
    let [x0, y0, x1, y1] = slot.rect;
    assert!(
        x0 > 297.0 && x1 < 595.0 && y0 > 0.0 && y1 > y0 + 60.0,
        "{slot:?}"
    );
}

#[test]
fn a_kuitansi_shows_the_amount_in_rupiah_and_in_words_within_typographic_quotes() {
    let out = render_layout(layouts::KUITANSI, &kuitansi_data());
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "KUITANSI",
            "Rp 1.250.000",
            "“satu juta dua ratus lima puluh ribu rupiah”",
            "524111 — Belanja perjalanan dinas biasa",
            "2 hari × Rp 430.000",
            "Rp 860.000",
            "Lunas dibayar",
            "30 November 2026",
            "Yang menerima,",
        ],
    );
    let roles: Vec<&str> = out
        .signature_slots
        .iter()
        .map(|s| s.role.as_str())
        .collect();
    assert_eq!(roles, ["ppk", "bendahara", "penerima"]);
    // Side by side: same height, left to right, not overlapping.
    let s = &out.signature_slots;
    assert!(s
        .windows(2)
        .all(|w| w[0].rect[1] == w[1].rect[1] && w[0].rect[2] <= w[1].rect[0]));
}

#[test]
fn an_sppd_lists_the_trip_and_its_costs_with_a_total_in_words() {
    let out = render_layout(layouts::SPPD, &sppd_data());
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "SURAT PERINTAH PERJALANAN DINAS",
            "Pejabat Pembuat Komitmen",
            "a. 3 (tiga) hari",
            "Transport Bandung–Garut",
            "Rp 1.290.000",
            "Rp 2.750.000",
            "Terbilang: dua juta tujuh ratus lima puluh ribu rupiah",
            "Dikeluarkan di Bandung",
        ],
    );
    assert_eq!(out.signature_slots[0].role, "ppk");
}

#[test]
fn a_lembar_disposisi_shows_each_instruction_and_the_receipt_time_in_wib() {
    let out = render_layout(layouts::DISPOSISI, &disposisi_data());
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "LEMBAR DISPOSISI",
            "1021/PL.02.1-SD/05/2026",
            "26 November 2026 09:15 WIB",
            "“Evaluasi Pemutakhiran Data Pemilih Berkelanjutan”",
            "Tindak lanjuti",
            "Koordinasikan",
            "30 November 2026",
        ],
    );
}

#[test]
fn a_rekap_agenda_is_a_landscape_table_with_wib_times() {
    let out = render_layout(layouts::REKAP_AGENDA, &agenda_data());
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "REKAPITULASI AGENDA KEGIATAN",
            "Sekretariat KPU Provinsi Jawa Barat — November 2026",
            "Senin, 2 November 2026",
            "08.00–10.00",
            // 06:30 UTC is 13:30 in Jakarta.
            "13.30–15.00",
            "Bimbingan teknis tata naskah dinas",
        ],
    );
    // Landscape: the signature sits right of the portrait page width.
    assert!(out.signature_slots[0].rect[2] > 600.0);
}

#[test]
fn a_long_rekap_absensi_breaks_onto_more_pages_and_repeats_the_header() {
    let out = render_layout(layouts::REKAP_ABSENSI, &absensi_data(40));
    qpdf_check(&out.pdf);
    assert!(out.pages >= 2, "{} pages", out.pages);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "REKAPITULASI KEHADIRAN PEGAWAI",
            "Pegawai Nomor 1 bin Fulan",
            "Pegawai Nomor 40 bin Fulan",
            "1–30 November 2026",
            &format!("Halaman 2 dari {}", out.pages),
        ],
    );
    assert!(text.matches("Tanpa ket.").count() >= 2, "header repeated");
    let slot = &out.signature_slots[0];
    assert_eq!(slot.page, out.pages - 1, "signature comes after the table");
}

fn roles(out: &Rendered) -> Vec<&str> {
    out.signature_slots
        .iter()
        .map(|s| s.role.as_str())
        .collect()
}

#[test]
fn a_rincian_biaya_totals_the_costs_in_words_with_receiver_treasurer_and_ppk() {
    let out = render_layout(layouts::RINCIAN_BIAYA, &rincian_biaya_data());
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "RINCIAN BIAYA PERJALANAN DINAS",
            "Lampiran SPPD Nomor: 124/KU.02-SD/32/2026",
            "Tanggal: 28 November 2026",
            "Perincian biaya",
            "Keterangan",
            "Uang harian 3 hari × Rp 430.000",
            "Rp 1.290.000 -",
            "Hotel Santika Garut",
            "Jumlah Rp 2.750.000",
            "Terbilang: dua juta tujuh ratus lima puluh ribu rupiah",
            "Telah dibayar sejumlah Rp 2.750.000",
            "Bendahara Pengeluaran,",
            "Bandung, 4 Desember 2026",
            "Telah menerima jumlah uang sebesar Rp 2.750.000",
            "Yang menerima,",
            "Dewi Kartika, S.E.",
            "Asep Saepudin",
            "NIP. 19910823 201903 1 001",
            "Mengetahui/Menyetujui",
            "Pejabat Pembuat Komitmen,",
            "Rina Marlina, S.Sos.",
        ],
    );
    assert_eq!(out.pages, 1);
    assert_eq!(roles(&out), ["bendahara", "penerima", "ppk"]);
    let s = &out.signature_slots;
    // The treasurer and the receiver side by side, the PPK below on the right.
    assert!(s[0].rect[1] == s[1].rect[1] && s[0].rect[2] <= s[1].rect[0]);
    assert!(s[2].rect[3] < s[1].rect[1] && s[2].rect[0] > 297.0);
}

#[test]
fn a_daftar_pengeluaran_riil_states_the_unreceipted_costs() {
    let out = render_layout(layouts::DAFTAR_PENGELUARAN_RIIL, &pengeluaran_riil_data());
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "DAFTAR PENGELUARAN RIIL",
            "Yang bertanda tangan di bawah ini:",
            ": Asep Saepudin",
            ": 19910823 201903 1 001",
            ": Pengelola Data",
            "berdasarkan Surat Perintah Perjalanan Dinas (SPPD) Nomor 124/KU.02-SD/32/2026 tanggal 28 November 2026, dengan ini kami menyatakan dengan sesungguhnya bahwa:",
            "1. Biaya transport pegawai dan/atau biaya penginapan di bawah ini yang tidak dapat diperoleh bukti-bukti pengeluarannya, meliputi:",
            "Transport lokal di Garut Rp 150.000",
            "Jumlah Rp 470.000",
            "menyetorkan kelebihan tersebut ke Kas Negara.",
            "Demikian pernyataan ini kami buat dengan sebenarnya, untuk dipergunakan sebagaimana mestinya.",
            "Mengetahui/Menyetujui",
            "Pejabat Pembuat Komitmen,",
            "Bandung, 4 Desember 2026",
            "Pelaksana SPPD,",
            "Rina Marlina, S.Sos.",
        ],
    );
    assert_eq!(out.pages, 1);
    assert_eq!(roles(&out), ["ppk", "pelaksana"]);
}

#[test]
fn a_daftar_pengeluaran_riil_with_no_costs_renders_an_empty_table_totalling_zero() {
    let mut data = pengeluaran_riil_data();
    data["pengeluaran"] = json!([]);
    data["total"] = json!(0);
    let out = render_layout(layouts::DAFTAR_PENGELUARAN_RIIL, &data);
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(&text, &["No. Uraian Jumlah Jumlah Rp 0", "Kas Negara."]);
    assert!(!text.contains("Transport"), "{text}");
    assert_eq!(roles(&out), ["ppk", "pelaksana"]);
}

#[test]
fn an_sppd_pengesahan_lists_each_stop_with_its_endorsing_official_and_how() {
    let out = render_layout(layouts::SPPD_PENGESAHAN, &sppd_pengesahan_data());
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "PENGESAHAN SPPD",
            "Nomor SPPD: 124/KU.02-SD/32/2026",
            "Asep Saepudin",
            "Pejabat yang mengesahkan",
            "KPU Kabupaten Garut 1 Desember 2026 2 Desember 2026",
            "Drs. Cecep Supriatna",
            "NIP. 197001011995031002",
            "tautan sekali pakai",
            // No departure from the last stop, an official without a NIP.
            "2 Desember 2026 -",
            "Ujang Hidayat NIP. -",
            "pindaian bercap",
            "Telah diperiksa dengan keterangan bahwa perjalanan tersebut atas perintahnya dan semata-mata untuk kepentingan jabatan dalam waktu yang sesingkat-singkatnya.",
            "Bandung, 4 Desember 2026",
            "Pejabat Pembuat Komitmen,",
            "Rina Marlina, S.Sos.",
        ],
    );
    assert_eq!(roles(&out), ["ppk"]);
}

#[test]
fn an_sppd_pengesahan_rejects_an_unknown_way_of_endorsing() {
    let mut data = sppd_pengesahan_data();
    data["persinggahan"][0]["cara"] = json!("faks");
    let err = render_at(
        layouts::SPPD_PENGESAHAN,
        &data,
        &Letterhead::kpu_jabar(),
        AT,
    )
    .unwrap_err();
    assert!(matches!(err, RenderError::Filter { .. }), "{err}");
}

#[test]
fn a_laporan_perjalanan_reports_the_trip_results_and_photo_hashes() {
    let out = render_layout(layouts::LAPORAN_PERJALANAN, &laporan_perjalanan_data());
    qpdf_check(&out.pdf);
    let text = pdftotext(&out.pdf);
    assert_contains(
        &text,
        &[
            "LAPORAN PERJALANAN DINAS",
            "Dasar",
            "Surat Tugas Nomor 123/PL.01-SD/32/2026 tanggal 28 November 2026",
            "Supervisi pemutakhiran data pemilih berkelanjutan",
            "Selasa, 1 Desember 2026 s.d. Kamis, 3 Desember 2026",
            "Rina Marlina, S.Sos. 19800312 200501 2 002 Kepala Subbagian Perencanaan",
            "Asep Saepudin 19910823 201903 1 001 Pengelola Data",
            "Hasil perjalanan dinas 1. Rapat koordinasi",
            "3. Data pemilih ganda telah ditandai untuk diperbaiki.",
            "Kesimpulan dan saran",
            "Lampiran foto",
            "SHA-256",
            "rapat-koordinasi.jpg",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "Bandung, 4 Desember 2026",
            "Yang melaporkan, Kepala Subbagian Perencanaan",
            "NIP. 19800312 200501 2 002",
        ],
    );
    assert_eq!(roles(&out), ["pelapor"]);

    let mut data = laporan_perjalanan_data();
    data["kesimpulan"] = json!("Perlu pendampingan lanjutan di Kecamatan Tarogong Kidul.");
    let text = pdftotext(&render_layout(layouts::LAPORAN_PERJALANAN, &data).pdf);
    assert_contains(
        &text,
        &["Kesimpulan dan saran Perlu pendampingan lanjutan di Kecamatan Tarogong Kidul."],
    );
}

#[test]
fn a_long_paragraph_wraps_and_continues_on_a_second_page() {
    let sentence = "Pegawai yang ditugaskan wajib melaporkan hasil pelaksanaan tugas secara tertulis kepada pejabat yang memberi tugas paling lambat tujuh hari setelah tugas selesai. ";
    let layout = r#"{"title": "Uji", "blocks": [{"type": "kop"},
        {"type": "paragraph", "text": "{{isi}}"},
        {"type": "paragraph", "text": "AKHIR DOKUMEN"}]}"#;
    let out = render_layout(layout, &json!({"isi": sentence.repeat(40)}));
    qpdf_check(&out.pdf);
    assert!(out.pages >= 2, "{} pages", out.pages);
    let text = pdftotext(&out.pdf);
    assert_contains(&text, &["AKHIR DOKUMEN", "Halaman 2 dari"]);
}

#[test]
fn a_missing_placeholder_is_an_error_naming_it() {
    let mut data = spt_data();
    data["penandatangan"]
        .as_object_mut()
        .unwrap()
        .remove("nama");
    let err = render_at(layouts::SPT, &data, &Letterhead::kpu_jabar(), AT).unwrap_err();
    assert!(
        matches!(&err, RenderError::Missing(p) if p == "penandatangan.nama"),
        "{err}"
    );
    assert!(err.to_string().contains("{{penandatangan.nama}}"), "{err}");
}

#[test]
fn every_shipped_layout_parses() {
    for name in [
        "spt",
        "sppd",
        "kuitansi",
        "disposisi",
        "rekap-agenda",
        "rekap-absensi",
        "rincian-biaya",
        "daftar-pengeluaran-riil",
        "sppd-pengesahan",
        "laporan-perjalanan",
    ] {
        let text = layouts::by_name(name).unwrap();
        if let Err(e) = Layout::from_json(text) {
            panic!("{name}: {e}");
        }
    }
}

#[test]
fn the_same_document_renders_to_the_same_bytes() {
    let a = render_layout(layouts::KUITANSI, &kuitansi_data());
    let b = render_layout(layouts::KUITANSI, &kuitansi_data());
    assert_eq!(a.pdf, b.pdf);
}

#[test]
fn the_pdf_carries_pdfa_identification_and_an_srgb_output_intent() {
    let out = render_layout(layouts::SPT, &spt_data());
    let raw = String::from_utf8_lossy(&out.pdf);
    assert_contains(
        &raw,
        &[
            "<pdfaid:part>2</pdfaid:part>",
            "<pdfaid:conformance>B</pdfaid:conformance>",
            "/GTS_PDFA1",
            "/FontFile2",
            "/ToUnicode",
            "/Producer (paraf)",
            "/ID [",
        ],
    );
}

/// The words of SVG pages: the text runs, entities decoded, whitespace collapsed.
fn svg_words(pages: &[String]) -> String {
    let mut out = Vec::new();
    for page in pages {
        for run in page.split("<text ").skip(1) {
            let inner = run.split_once('>').map(|(_, r)| r).unwrap_or("");
            let text = inner.split("</text>").next().unwrap_or("");
            let text = text
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&");
            out.extend(text.split_whitespace().map(str::to_string));
        }
    }
    out.join(" ")
}

#[test]
fn the_svg_preview_has_the_pdfs_pages_and_every_word_poppler_reads_from_the_pdf() {
    for (layout, data) in [
        (layouts::SPT, spt_data()),
        (layouts::REKAP_ABSENSI, absensi_data(40)),
        (layouts::KUITANSI, kuitansi_data()),
    ] {
        let out = render_layout(layout, &data);
        let pages = render_svg(layout, &data, &Letterhead::kpu_jabar()).unwrap();
        assert_eq!(pages.len(), out.pages);
        let svg = svg_words(&pages);
        for word in pdftotext(&out.pdf).split_whitespace() {
            assert!(svg.contains(word), "{word:?} is missing from the SVG pages");
        }
        // Each signature slot is outlined on its page, nowhere else.
        for (i, page) in pages.iter().enumerate() {
            assert!(page.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
            assert!(page.ends_with("</svg>"));
            let slots = out.signature_slots.iter().filter(|s| s.page == i).count();
            assert_eq!(page.matches("class=\"slot\"").count(), slots, "page {i}");
        }
    }
}

#[test]
fn svg_text_is_escaped() {
    let layout = r#"{"title": "Uji", "blocks": [{"type": "paragraph", "text": "{{isi}}"}]}"#;
    let pages = render_svg(
        layout,
        &json!({"isi": "<script>alert(1)</script> & \"kutip\""}),
        &Letterhead::kpu_jabar(),
    )
    .unwrap();
    assert!(!pages[0].contains("<script>"), "{}", pages[0]);
    assert!(pages[0].contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;kutip&quot;"));
}

// Samples for a human look: `cargo run -p paraf-pdf --example render_samples`.
