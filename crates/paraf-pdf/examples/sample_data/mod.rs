//! Sample document data for the shipped layouts, shared by the render samples example
//! and the render benchmark (`#[path]`-included; not an example itself). The same data
//! as the tests in `tests/render.rs`.
#![allow(dead_code)]

use serde_json::{json, Value};

/// (layout name, layout JSON, data) for every shipped layout.
pub fn all() -> Vec<(&'static str, &'static str, Value)> {
    use paraf_pdf::render::layouts;
    vec![
        ("spt", layouts::SPT, spt_data()),
        ("sppd", layouts::SPPD, sppd_data()),
        ("kuitansi", layouts::KUITANSI, kuitansi_data()),
        ("disposisi", layouts::DISPOSISI, disposisi_data()),
        ("rekap-agenda", layouts::REKAP_AGENDA, agenda_data()),
        ("rekap-absensi", layouts::REKAP_ABSENSI, absensi_data(40)),
        (
            "rincian-biaya",
            layouts::RINCIAN_BIAYA,
            rincian_biaya_data(),
        ),
        (
            "daftar-pengeluaran-riil",
            layouts::DAFTAR_PENGELUARAN_RIIL,
            pengeluaran_riil_data(),
        ),
        (
            "sppd-pengesahan",
            layouts::SPPD_PENGESAHAN,
            sppd_pengesahan_data(),
        ),
        (
            "laporan-perjalanan",
            layouts::LAPORAN_PERJALANAN,
            laporan_perjalanan_data(),
        ),
    ]
}

const NIP_SEKRETARIS: &str = "197205141998031004";
const NIP_PPK: &str = "198003122005012002";
const NIP_STAF: &str = "199108232019031001";

pub fn spt_data() -> Value {
    json!({
        "nomor": "123/PL.01-SD/32/2026",
        "tanggal": "2026-11-28",
        "menimbang": "bahwa dalam rangka supervisi pemutakhiran data pemilih berkelanjutan di kabupaten/kota, perlu menugaskan pegawai Sekretariat KPU Provinsi Jawa Barat.",
        "dasar": "1. Undang-Undang Nomor 7 Tahun 2017 tentang Pemilihan Umum;\n2. Peraturan KPU Nomor 1 Tahun 2025 tentang Tata Kerja.",
        "pegawai": [
            {"nama": "Rina Marlina, S.Sos.", "nip": NIP_PPK, "pangkat": "Penata (III/c)", "jabatan": "Kepala Subbagian Perencanaan"},
            {"nama": "Asep Saepudin", "nip": NIP_STAF, "pangkat": "Pengatur (II/c)", "jabatan": "Pengelola Data"}
        ],
        "untuk": "Melaksanakan supervisi pemutakhiran data pemilih di KPU Kabupaten Garut.",
        "tempat_tujuan": "Kabupaten Garut",
        "tanggal_berangkat": "2026-12-01",
        "tanggal_kembali": "2026-12-03",
        "penandatangan": {"jabatan": "Sekretaris", "nama": "Dr. H. Ahmad Fauzi, M.Si.", "nip": NIP_SEKRETARIS}
    })
}

pub fn sppd_data() -> Value {
    json!({
        "nomor": "124/KU.02-SD/32/2026",
        "tanggal": "2026-11-28",
        "ppk": {"nama": "Rina Marlina, S.Sos.", "nip": NIP_PPK},
        "pegawai": {"nama": "Asep Saepudin", "nip": NIP_STAF, "pangkat": "Pengatur (II/c)", "jabatan": "Pengelola Data"},
        "tingkat_biaya": "C",
        "maksud": "Supervisi pemutakhiran data pemilih berkelanjutan",
        "angkutan": "Kendaraan dinas",
        "tempat_berangkat": "Bandung",
        "tempat_tujuan": "Garut",
        "lama_hari": 3,
        "tanggal_berangkat": "2026-12-01",
        "tanggal_kembali": "2026-12-03",
        "pengikut": null,
        "anggaran": {"instansi": "Sekretariat KPU Provinsi Jawa Barat", "akun": "524111"},
        "biaya": [
            {"uraian": "Uang harian Jawa Barat", "volume": "3 OH", "tarif": 430000, "jumlah": 1290000},
            {"uraian": "Penginapan", "volume": "2 OM", "tarif": 570000, "jumlah": 1140000},
            {"uraian": "Transport Bandung–Garut (pergi-pulang)", "volume": "1 PP", "tarif": 320000, "jumlah": 320000}
        ],
        "total": 2750000
    })
}

pub fn kuitansi_data() -> Value {
    json!({
        "nomor": "KW-0457/2026",
        "tanggal": "2026-11-28",
        "tanggal_bayar": "2026-11-30",
        "tahun_anggaran": 2026,
        "akun": "524111 — Belanja perjalanan dinas biasa",
        "jumlah": 1250000,
        "untuk": "Pembayaran uang harian perjalanan dinas ke KPU Kabupaten Garut",
        "rincian": [
            {"uraian": "Uang harian 2 hari × Rp 430.000", "jumlah": 860000},
            {"uraian": "Transport lokal", "jumlah": 390000}
        ],
        "ppk": {"nama": "Rina Marlina, S.Sos.", "nip": NIP_PPK},
        "bendahara": {"nama": "Dewi Kartika, S.E.", "nip": "198511052010122003"},
        "penerima": {"nama": "Asep Saepudin", "nip": NIP_STAF}
    })
}

pub fn disposisi_data() -> Value {
    json!({
        "nomor_agenda": "0812/2026",
        "tanggal": "2026-11-28",
        "surat": {
            "dari": "KPU Republik Indonesia",
            "nomor": "1021/PL.02.1-SD/05/2026",
            "tanggal": "2026-11-25",
            "diterima": "2026-11-26T02:15:00Z",
            "sifat": "Segera",
            "perihal": "Undangan rapat koordinasi “Evaluasi Pemutakhiran Data Pemilih Berkelanjutan”"
        },
        "disposisi": [
            {"dari": "Ketua", "kepada": "Sekretaris", "instruksi": "Tindak lanjuti", "catatan": "Siapkan bahan paparan", "batas_waktu": "2026-11-30"},
            {"dari": "Sekretaris", "kepada": "Kabag Perencanaan, Data dan Informasi", "instruksi": "Koordinasikan", "catatan": null, "batas_waktu": null}
        ],
        "pemberi": {"jabatan": "Sekretaris", "nama": "Dr. H. Ahmad Fauzi, M.Si.", "nip": NIP_SEKRETARIS}
    })
}

pub fn agenda_data() -> Value {
    json!({
        "unit": "Sekretariat KPU Provinsi Jawa Barat",
        "periode": "November 2026",
        "tanggal": "2026-11-30",
        "agenda": [
            {"mulai": "2026-11-02T08:00:00+07:00", "selesai": "2026-11-02T10:00:00+07:00", "kegiatan": "Rapat pleno rekapitulasi daftar pemilih berkelanjutan", "tempat": "Ruang Rapat Utama", "pelaksana": "Ketua dan Anggota", "keterangan": null},
            {"mulai": "2026-11-10T06:30:00Z", "selesai": "2026-11-10T08:00:00Z", "kegiatan": "Bimbingan teknis tata naskah dinas", "tempat": "Aula", "pelaksana": "Sekretaris", "keterangan": "Daring dan luring"}
        ],
        "pelapor": {"jabatan": "Kepala Bagian Umum", "nama": "Hendra Gunawan, S.H.", "nip": "197810092003121002"}
    })
}

pub fn absensi_data(pegawai: usize) -> Value {
    let rows: Vec<Value> = (0..pegawai)
        .map(|i| {
            json!({
                "nama": format!("Pegawai Nomor {} bin Fulan", i + 1),
                "nip": NIP_STAF,
                "hadir": 18, "dl": 2, "izin": 0, "sakit": 1, "cuti": 0, "tl": 3, "psw": 0, "alpa": 0,
                "persen": 95
            })
        })
        .collect();
    json!({
        "unit": "Subbagian Keuangan",
        "periode": "1–30 November 2026",
        "hari_kerja": 21,
        "tanggal": "2026-11-30",
        "pegawai": rows,
        "penandatangan": {"jabatan": "Kepala Subbagian Keuangan", "nama": "Dewi Kartika, S.E.", "nip": "198511052010122003"}
    })
}

const NIP_BENDAHARA: &str = "198511052010122003";

pub fn rincian_biaya_data() -> Value {
    json!({
        "nomor": "RB-0458/2026",
        "nomor_sppd": "124/KU.02-SD/32/2026",
        "tanggal_sppd": "2026-11-28",
        "tanggal": "2026-12-04",
        "pegawai": {"nama": "Asep Saepudin", "nip": NIP_STAF, "jabatan": "Pengelola Data"},
        "rincian": [
            {"uraian": "Uang harian 3 hari × Rp 430.000", "jumlah": 1290000, "keterangan": null},
            {"uraian": "Penginapan 2 malam × Rp 570.000", "jumlah": 1140000, "keterangan": "Hotel Santika Garut"},
            {"uraian": "Transport Bandung–Garut (pergi-pulang)", "jumlah": 320000, "keterangan": "Pengeluaran riil"}
        ],
        "total": 2750000,
        "ppk": {"nama": "Rina Marlina, S.Sos.", "nip": NIP_PPK},
        "bendahara": {"nama": "Dewi Kartika, S.E.", "nip": NIP_BENDAHARA}
    })
}

pub fn pengeluaran_riil_data() -> Value {
    json!({
        "nomor_sppd": "124/KU.02-SD/32/2026",
        "tanggal_sppd": "2026-11-28",
        "tanggal": "2026-12-04",
        "pegawai": {"nama": "Asep Saepudin", "nip": NIP_STAF, "jabatan": "Pengelola Data"},
        "pengeluaran": [
            {"uraian": "Transport Bandung–Garut (pergi-pulang), bus umum", "jumlah": 320000},
            {"uraian": "Transport lokal di Garut", "jumlah": 150000}
        ],
        "total": 470000,
        "ppk": {"nama": "Rina Marlina, S.Sos.", "nip": NIP_PPK}
    })
}

pub fn sppd_pengesahan_data() -> Value {
    json!({
        "nomor_sppd": "124/KU.02-SD/32/2026",
        "tanggal": "2026-12-04",
        "pegawai": {"nama": "Asep Saepudin", "nip": NIP_STAF},
        "persinggahan": [
            {"tempat": "KPU Kabupaten Garut", "tiba": "2026-12-01", "berangkat": "2026-12-02",
             "pejabat": {"nama": "Drs. Cecep Supriatna", "nip": "197001011995031002", "jabatan": "Sekretaris KPU Kabupaten Garut"},
             "cara": "tautan"},
            {"tempat": "Kecamatan Tarogong Kidul", "tiba": "2026-12-02", "berangkat": null,
             "pejabat": {"nama": "Ujang Hidayat", "nip": null, "jabatan": "Ketua PPK Tarogong Kidul"},
             "cara": "pindaian"}
        ],
        "ppk": {"nama": "Rina Marlina, S.Sos.", "nip": NIP_PPK}
    })
}

pub fn laporan_perjalanan_data() -> Value {
    json!({
        "nomor_spt": "123/PL.01-SD/32/2026",
        "tanggal_spt": "2026-11-28",
        "tanggal": "2026-12-04",
        "maksud": "Supervisi pemutakhiran data pemilih berkelanjutan",
        "tempat_tujuan": "KPU Kabupaten Garut",
        "tanggal_berangkat": "2026-12-01",
        "tanggal_kembali": "2026-12-03",
        "pelaksana": [
            {"nama": "Rina Marlina, S.Sos.", "nip": NIP_PPK, "jabatan": "Kepala Subbagian Perencanaan"},
            {"nama": "Asep Saepudin", "nip": NIP_STAF, "jabatan": "Pengelola Data"}
        ],
        "hasil": "1. Rapat koordinasi dengan Sekretaris KPU Kabupaten Garut.\n2. Pemeriksaan sampel data pemilih di 3 kecamatan; ditemukan 12 pemilih ganda.\n3. Data pemilih ganda telah ditandai untuk diperbaiki.",
        "kesimpulan": null,
        "foto": [
            {"nama": "rapat-koordinasi.jpg", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
            {"nama": "coklit-tarogong.jpg", "sha256": "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"}
        ],
        "pelapor": {"nama": "Rina Marlina, S.Sos.", "nip": NIP_PPK, "jabatan": "Kepala Subbagian Perencanaan"}
    })
}
