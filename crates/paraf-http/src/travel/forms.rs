//! What the e-SPPD API accepts, typed as its OpenAPI document says: the order form (create,
//! estimate), its replacement (update, with the version read) and the multipart uploads.
//! The rules (who may travel, how long, how much) stay in [`paraf_core::travel`]; these
//! types refuse only what is not a form at all (400 naming the field).

use paraf_core::travel::{date_str, Budget, Category, Follower, OrderInput, Place};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::extract::custom_error;

/// A travel order form. Everything may be left out in a draft; submission requires the
/// travellers, purpose, transport, destination, dates and account.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({
    "pelaksana": ["staf@demo.paraf.test"],
    "maksud": "Rapat koordinasi logistik pemilu",
    "alat_angkut": "kereta api",
    "tempat_tujuan": {"provinsi": "DKI Jakarta", "kota": "Jakarta Pusat"},
    "tanggal_berangkat": "2026-12-07",
    "tanggal_kembali": "2026-12-09",
    "anggaran": {"instansi": "KPU Provinsi Jawa Barat", "akun": "524111"}
}))]
pub struct SppdForm {
    /// The PPK (employee id, NIP or email); default: the organisation's only PPK.
    pub ppk: Option<String>,
    /// Travellers (employee id, NIP or email).
    #[schema(max_items = 20)]
    pub pelaksana: Vec<String>,
    /// Followers who are not employees.
    #[schema(max_items = 10)]
    pub pengikut: Vec<Follower>,
    #[schema(max_length = 1000)]
    pub maksud: String,
    /// Means of transport.
    #[serde(deserialize_with = "transport_mode")]
    #[schema(schema_with = paraf_core::schema::transport_mode)]
    pub alat_angkut: Option<String>,
    /// Default: the office (Bandung, Jawa Barat).
    pub tempat_berangkat: Option<Place>,
    pub tempat_tujuan: Option<Place>,
    /// YYYY-MM-DD (WIB).
    #[serde(deserialize_with = "date")]
    #[schema(value_type = Option<String>, format = Date)]
    pub tanggal_berangkat: Option<String>,
    /// YYYY-MM-DD (WIB), on or after the departure; a trip lasts at most 60 days.
    #[serde(deserialize_with = "date")]
    #[schema(value_type = Option<String>, format = Date)]
    pub tanggal_kembali: Option<String>,
    /// Default: dalam_kota when the destination city is the departure city, else luar_kota.
    pub kategori: Option<Category>,
    /// The account charged.
    pub anggaran: Option<Budget>,
    #[schema(max_length = 1000)]
    pub keterangan: String,
}

/// The whole form of a draft or returned order, replacing what was saved: fields left
/// out are emptied. `version` is the one read with the order (409 `stale` when it
/// changed since).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SppdUpdate {
    pub version: i64,
    #[serde(flatten)]
    pub form: SppdForm,
}

impl SppdForm {
    pub fn input(self, version: Option<i64>) -> OrderInput {
        OrderInput {
            ppk: self.ppk,
            pelaksana: self.pelaksana,
            pengikut: self.pengikut,
            maksud: self.maksud,
            alat_angkut: self.alat_angkut.unwrap_or_default(),
            tempat_berangkat: self.tempat_berangkat,
            tempat_tujuan: self.tempat_tujuan,
            tanggal_berangkat: self.tanggal_berangkat,
            tanggal_kembali: self.tanggal_kembali,
            kategori: self.kategori.map(|c| c.as_str().to_string()),
            anggaran: self.anggaran,
            keterangan: self.keterangan,
            version,
        }
    }
}

/// One of the transport modes (present means named: never null or empty).
fn transport_mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    let modes = paraf_core::travel::TRANSPORT_MODES;
    if modes.contains(&s.as_str()) {
        Ok(Some(s))
    } else {
        let all = modes.join(", ");
        Err(custom_error(paraf_core::Text::new(
            format!("harus salah satu dari: {all}"),
            format!("must be one of: {all}"),
        )))
    }
}

/// A date exactly `YYYY-MM-DD` ([`paraf_core::types::parse_date`]), or null.
fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => paraf_core::types::parse_date(&s)
            .map(|d| Some(date_str(d)))
            .map_err(|e| custom_error(e.0)),
    }
}

/// A file with nothing else (attachment, photo).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    /// JPEG, PNG, WebP or PDF, at most 10 MB.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A stamped scan of a stop's endorsement and who endorsed it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ScanUpload {
    /// JPEG, PNG, WebP or PDF, at most 10 MB.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The official who signed and stamped.
    pub nama: String,
    /// Their NIP (18 digits), when they have one.
    pub nip: Option<String>,
    pub jabatan: String,
}

/// A cost actually incurred, with its receipt when there is one.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CostUpload {
    /// The traveller (employee id, NIP or email).
    pub pelaksana: String,
    #[schema(schema_with = paraf_core::schema::actual_kind)]
    pub jenis: String,
    pub uraian: String,
    /// Whole rupiah.
    #[schema(minimum = 1)]
    pub jumlah: i64,
    /// The receipt (JPEG, PNG, WebP or PDF, at most 10 MB); without one the cost goes on
    /// the daftar pengeluaran riil.
    #[schema(value_type = Option<String>, format = Binary)]
    pub file: Option<Vec<u8>>,
}
