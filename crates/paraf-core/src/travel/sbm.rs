//! Standar Biaya Masukan (SBM): the travel cost rates of one fiscal year, kept as
//! versioned data. Each save writes a new immutable version and moves the `CURRENT`
//! pointer in one transaction (conditional on the version the admin edited), so the
//! history is complete and two admins saving at once cannot lose each other's edit:
//! the second gets `Stale`.
//!
//! Orders record the year and version they were costed with, so a later edit of the
//! table never changes an order already submitted.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::auth::Principal;
use crate::error::{FieldErrors, ServiceError};
use crate::org::Role;
use crate::ports::clock::Clock;
use crate::ports::table::{Condition, Item, Key, Query, SortKey, Table, TxOp};
use crate::text;

/// Category of the daily allowance (uang harian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Category {
    /// Outside the city of the office.
    LuarKota,
    /// Within the city, more than 8 hours.
    DalamKota,
    /// Training (diklat).
    Diklat,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::LuarKota, Category::DalamKota, Category::Diklat];
    pub fn parse(s: &str) -> Option<Category> {
        match s.trim().to_lowercase().replace([' ', '-'], "_").as_str() {
            "luar_kota" => Some(Category::LuarKota),
            "dalam_kota" | "dalam_kota_8_jam" => Some(Category::DalamKota),
            "diklat" => Some(Category::Diklat),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Category::LuarKota => "luar_kota",
            Category::DalamKota => "dalam_kota",
            Category::Diklat => "diklat",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Category::LuarKota => "luar kota",
            Category::DalamKota => "dalam kota lebih dari 8 jam",
            Category::Diklat => "diklat",
        }
    }
}

/// Tingkat biaya perjalanan dinas: A pejabat negara (Ketua, Anggota), B eselon II
/// (Sekretaris), C eselon III / golongan IV, D eselon IV / golongan III, E golongan I/II.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Grade {
    A,
    B,
    C,
    D,
    E,
}

impl Grade {
    pub const ALL: [Grade; 5] = [Grade::A, Grade::B, Grade::C, Grade::D, Grade::E];
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
            Grade::E => "E",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyRate {
    pub provinsi: String,
    pub luar_kota: i64,
    pub dalam_kota: i64,
    pub diklat: i64,
}

impl DailyRate {
    pub fn rate(&self, c: Category) -> i64 {
        match c {
            Category::LuarKota => self.luar_kota,
            Category::DalamKota => self.dalam_kota,
            Category::Diklat => self.diklat,
        }
    }
}

/// Lodging ceiling per night by grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LodgingRate {
    pub provinsi: String,
    pub a: i64,
    pub b: i64,
    pub c: i64,
    pub d: i64,
    pub e: i64,
}

impl LodgingRate {
    pub fn rate(&self, g: Grade) -> i64 {
        match g {
            Grade::A => self.a,
            Grade::B => self.b,
            Grade::C => self.c,
            Grade::D => self.d,
            Grade::E => self.e,
        }
    }
}

/// A round-trip transport estimate per person to a province by one means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransportRate {
    pub provinsi: String,
    /// One of [`super::TRANSPORT_MODES`].
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::transport_mode))]
    pub moda: String,
    pub biaya: i64,
}

/// One version of one fiscal year's rates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SbmTable {
    pub year: i32,
    pub version: u32,
    pub uang_harian: Vec<DailyRate>,
    pub penginapan: Vec<LodgingRate>,
    pub transport: Vec<TransportRate>,
    /// Legal basis, e.g. "PMK Nomor 32 Tahun 2025".
    #[serde(default)]
    pub dasar: String,
    #[serde(default)]
    pub edited_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub edited_at: OffsetDateTime,
    #[serde(default)]
    pub note: String,
}

/// What an admin sends to change a year's rates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SbmInput {
    pub uang_harian: Vec<DailyRate>,
    #[serde(default)]
    pub penginapan: Vec<LodgingRate>,
    #[serde(default)]
    pub transport: Vec<TransportRate>,
    #[serde(default)]
    pub dasar: String,
    #[serde(default)]
    pub note: String,
    /// The version the admin edited (absent for a new year): a stale one is refused.
    #[serde(default)]
    pub base_version: Option<u32>,
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl SbmTable {
    pub fn daily(&self, provinsi: &str) -> Option<&DailyRate> {
        self.uang_harian
            .iter()
            .find(|r| same_name(&r.provinsi, provinsi))
    }
    pub fn lodging(&self, provinsi: &str) -> Option<&LodgingRate> {
        self.penginapan
            .iter()
            .find(|r| same_name(&r.provinsi, provinsi))
    }
    pub fn transport(&self, provinsi: &str, moda: &str) -> Option<&TransportRate> {
        self.transport
            .iter()
            .find(|r| same_name(&r.provinsi, provinsi) && same_name(&r.moda, moda))
    }
    /// Provinces with a daily rate, in table order (the form's choices).
    pub fn provinces(&self) -> Vec<String> {
        self.uang_harian
            .iter()
            .map(|r| r.provinsi.clone())
            .collect()
    }
}

/// Checks one table of per-province rows: every province named once, every rate whole
/// rupiah in range. `rows` are (province, [(rate field, value)]).
fn check_rows(e: &mut FieldErrors, table: &str, rows: Vec<(&str, Vec<(&str, i64)>)>, unique: bool) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, (provinsi, rates)) in rows.into_iter().enumerate() {
        let f = format!("{table}.{i}");
        if provinsi.trim().is_empty() {
            e.add(
                &format!("{f}.provinsi"),
                text!("wajib diisi", "is required"),
            );
        } else if unique && seen.iter().any(|s| same_name(s, provinsi)) {
            e.add(
                &format!("{f}.provinsi"),
                text!(
                    "provinsi {} tercantum dua kali",
                    "province {} is listed twice",
                    provinsi
                ),
            );
        }
        seen.push(provinsi);
        for (name, v) in rates {
            if !(0..=1_000_000_000).contains(&v) {
                e.add(
                    &format!("{f}.{name}"),
                    text!(
                        "harus rupiah bulat antara 0 dan 1.000.000.000",
                        "must be whole rupiah between 0 and 1,000,000,000"
                    ),
                );
            }
        }
    }
}

fn validate(input: &SbmInput) -> Result<(), ServiceError> {
    let mut e = FieldErrors::default();
    if input.uang_harian.is_empty() {
        e.add(
            "uang_harian",
            text!(
                "isi tarif uang harian paling sedikit satu provinsi",
                "give the daily allowance of at least one province"
            ),
        );
    }
    let daily = input.uang_harian.iter().map(|r| {
        let rates = Category::ALL
            .iter()
            .map(|c| (c.as_str(), r.rate(*c)))
            .collect();
        (r.provinsi.as_str(), rates)
    });
    check_rows(&mut e, "uang_harian", daily.collect(), true);
    let lodging = input.penginapan.iter().map(|r| {
        let rates: Vec<(&str, i64)> = Grade::ALL
            .iter()
            .zip(["a", "b", "c", "d", "e"])
            .map(|(g, name)| (name, r.rate(*g)))
            .collect();
        (r.provinsi.as_str(), rates)
    });
    check_rows(&mut e, "penginapan", lodging.collect(), true);
    let transport = input
        .transport
        .iter()
        .map(|r| (r.provinsi.as_str(), vec![("biaya", r.biaya)]));
    check_rows(&mut e, "transport", transport.collect(), false);
    for (i, r) in input.transport.iter().enumerate() {
        if !super::TRANSPORT_MODES.contains(&r.moda.trim()) {
            e.add(
                &format!("transport.{i}.moda"),
                text!(
                    "harus salah satu dari: {}",
                    "must be one of: {}",
                    super::TRANSPORT_MODES.join(", ")
                ),
            );
        }
    }
    if input.dasar.chars().count() > 300 || input.note.chars().count() > 1000 {
        e.add(
            "note",
            text!("terlalu panjang", "too long (dasar 300, note 1000)"),
        );
    }
    e.into_result()
}

fn version_key(year: i32, version: u32) -> Key {
    Key::new(format!("SBM#{year}"), format!("V#{version:06}"))
}
fn current_key(year: i32) -> Key {
    Key::new(format!("SBM#{year}"), "CURRENT")
}

/// The fiscal years rates and ceilings may be kept for.
pub const FISCAL_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// A fiscal year within [`FISCAL_YEARS`] (422 on `year`).
pub fn check_fiscal_year(year: i32) -> Result<(), ServiceError> {
    if !FISCAL_YEARS.contains(&year) {
        return Err(ServiceError::invalid(
            "year",
            text!(
                "tahun anggaran harus antara 2000 dan 2100",
                "the fiscal year must be between 2000 and 2100"
            ),
        ));
    }
    Ok(())
}

/// The SBM store. Cheap to clone.
#[derive(Clone)]
pub struct Sbm {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
}

impl Sbm {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        Sbm { table, clock }
    }

    /// The current version of `year`, if the year has rates.
    pub async fn current(&self, year: i32) -> Result<Option<SbmTable>, ServiceError> {
        check_fiscal_year(year)?;
        let Some(cur) = self.table.get(&current_key(year)).await? else {
            return Ok(None);
        };
        let v = cur.get("version").and_then(Value::as_u64).unwrap_or(0) as u32;
        self.version(year, v).await.map(Some)
    }

    pub async fn version(&self, year: i32, version: u32) -> Result<SbmTable, ServiceError> {
        check_fiscal_year(year)?;
        match self.table.get(&version_key(year, version)).await? {
            Some(it) => from_item(it),
            None => Err(ServiceError::NotFound("SBM version")),
        }
    }

    /// Every version of `year`, oldest first.
    pub async fn history(&self, year: i32) -> Result<Vec<SbmTable>, ServiceError> {
        check_fiscal_year(year)?;
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let q = Query::partition(crate::ports::table::Index::Primary, format!("SBM#{year}"))
                .sk(SortKey::BeginsWith("V#".into()))
                .after(cursor);
            let page = self.table.query(q).await?;
            for it in page.items {
                out.push(from_item(it)?);
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Saves a new version of `year` edited by `who` (an admin).
    pub async fn save(
        &self,
        year: i32,
        input: SbmInput,
        who: &Principal,
    ) -> Result<SbmTable, ServiceError> {
        who.require(Role::Admin)?;
        check_fiscal_year(year)?;
        validate(&input)?;
        let current = self.table.get(&current_key(year)).await?;
        let current_version = current
            .as_ref()
            .and_then(|c| c.get("version"))
            .and_then(Value::as_u64)
            .map(|v| v as u32);
        if input.base_version.is_some() && input.base_version != current_version {
            return Err(ServiceError::conflict(
                "base_version",
                text!(
                    "tabel SBM telah diubah orang lain (versi {}); muat ulang lalu ubah lagi",
                    "the SBM table was changed by someone else (version {}); reload and edit again",
                    current_version.unwrap_or(0)
                ),
            ));
        }
        let version = current_version.unwrap_or(0) + 1;
        let t = SbmTable {
            year,
            version,
            uang_harian: input.uang_harian,
            penginapan: input.penginapan,
            transport: input.transport,
            dasar: input.dasar.trim().to_string(),
            edited_by: who.name.clone(),
            edited_at: self.clock.now(),
            note: input.note.trim().to_string(),
        };
        let it = crate::record::to_item(&t, &version_key(year, version), "sbm")?;
        let ck = current_key(year);
        let mut cur = Item::new();
        cur.insert("pk".into(), json!(ck.pk));
        cur.insert("sk".into(), json!(ck.sk));
        cur.insert("version".into(), json!(version));
        let cur_cond = match current_version {
            Some(v) => Condition::equals("version", v),
            None => Condition::absent(),
        };
        self.table
            .transact_write(vec![
                TxOp::Put {
                    item: it,
                    condition: Some(Condition::absent()),
                },
                TxOp::Put {
                    item: cur,
                    condition: Some(cur_cond),
                },
            ])
            .await
            .map_err(|e| match ServiceError::from(e) {
                ServiceError::Stale => ServiceError::conflict(
                    "base_version",
                    text!(
                        "tabel SBM baru saja diubah orang lain; muat ulang lalu ubah lagi",
                        "the SBM table was just changed by someone else; reload and edit again"
                    ),
                ),
                other => other,
            })?;
        Ok(t)
    }
}

fn from_item(it: Item) -> Result<SbmTable, ServiceError> {
    crate::record::from_item(it, "sbm")
}

/// Example rates for the demo organisation (rounded from the 2025 SBM; not official).
pub fn demo_rates() -> SbmInput {
    let d = |p: &str, l, dk, dl| DailyRate {
        provinsi: p.into(),
        luar_kota: l,
        dalam_kota: dk,
        diklat: dl,
    };
    let h = |p: &str, a, b, c, dd, e| LodgingRate {
        provinsi: p.into(),
        a,
        b,
        c,
        d: dd,
        e,
    };
    let t = |p: &str, m: &str, b| TransportRate {
        provinsi: p.into(),
        moda: m.into(),
        biaya: b,
    };
    SbmInput {
        uang_harian: vec![
            d("Jawa Barat", 430_000, 170_000, 130_000),
            d("DKI Jakarta", 530_000, 210_000, 160_000),
            d("Banten", 370_000, 150_000, 110_000),
            d("Jawa Tengah", 370_000, 150_000, 110_000),
            d("DI Yogyakarta", 420_000, 170_000, 130_000),
            d("Jawa Timur", 410_000, 160_000, 120_000),
            d("Bali", 480_000, 190_000, 140_000),
        ],
        penginapan: vec![
            h(
                "Jawa Barat",
                5_381_000,
                3_500_000,
                1_500_000,
                1_100_000,
                800_000,
            ),
            h(
                "DKI Jakarta",
                8_720_000,
                4_000_000,
                1_800_000,
                1_400_000,
                900_000,
            ),
            h(
                "Banten", 5_725_000, 3_200_000, 1_400_000, 1_000_000, 750_000,
            ),
            h(
                "Jawa Tengah",
                4_242_000,
                3_000_000,
                1_300_000,
                950_000,
                700_000,
            ),
            h(
                "DI Yogyakarta",
                5_017_000,
                3_100_000,
                1_400_000,
                1_000_000,
                750_000,
            ),
            h(
                "Jawa Timur",
                4_400_000,
                3_100_000,
                1_350_000,
                1_000_000,
                720_000,
            ),
            h("Bali", 4_890_000, 3_300_000, 1_500_000, 1_100_000, 850_000),
        ],
        transport: vec![
            t("Jawa Barat", "kendaraan umum", 300_000),
            t("DKI Jakarta", "kereta api", 600_000),
            t("DKI Jakarta", "kendaraan umum", 400_000),
            t("Jawa Tengah", "kereta api", 900_000),
            t("DI Yogyakarta", "kereta api", 1_000_000),
            t("Jawa Timur", "pesawat udara", 2_400_000),
            t("Bali", "pesawat udara", 3_200_000),
        ],
        dasar: "Contoh untuk demo, dibulatkan dari SBM 2025 (bukan angka resmi)".into(),
        note: "demo".into(),
        base_version: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryTable;
    use crate::ports::clock::FixedClock;

    fn admin(name: &str) -> Principal {
        Principal {
            employee_id: "a1".into(),
            nip: "199105152015031015".into(),
            email: "admin@demo.paraf.test".into(),
            name: name.into(),
            roles: [Role::Admin].into(),
        }
    }

    #[tokio::test]
    async fn only_an_admin_may_change_the_rates() {
        let s = sbm();
        let mut staff = admin("Staf");
        staff.roles = [Role::Staff, Role::Ppk].into();
        let e = s.save(2026, demo_rates(), &staff).await.unwrap_err();
        assert_eq!(e, ServiceError::Forbidden);
        assert!(s.current(2026).await.unwrap().is_none());
    }

    fn sbm() -> Sbm {
        Sbm::new(
            Arc::new(MemoryTable::new()),
            Arc::new(FixedClock::new(
                time::macros::datetime!(2026-11-28 09:00 +7),
            )),
        )
    }

    #[tokio::test]
    async fn every_save_is_a_new_version_and_the_history_keeps_the_old_rates() {
        let s = sbm();
        let v1 = s.save(2026, demo_rates(), &admin("Admin")).await.unwrap();
        assert_eq!(v1.version, 1);
        let mut edit = demo_rates();
        edit.uang_harian[0].luar_kota = 450_000;
        edit.base_version = Some(1);
        let v2 = s.save(2026, edit, &admin("Admin")).await.unwrap();
        assert_eq!(v2.version, 2);
        let cur = s.current(2026).await.unwrap().unwrap();
        assert_eq!(cur.daily("jawa barat").unwrap().luar_kota, 450_000);
        let h = s.history(2026).await.unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].daily("Jawa Barat").unwrap().luar_kota, 430_000);
        assert!(s.current(2027).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_save_based_on_an_old_version_is_refused_and_changes_nothing() {
        let s = sbm();
        s.save(2026, demo_rates(), &admin("A")).await.unwrap();
        let mut e = demo_rates();
        e.base_version = Some(1);
        s.save(2026, e.clone(), &admin("A")).await.unwrap();
        e.uang_harian[0].luar_kota = 1;
        let err = s.save(2026, e, &admin("B")).await.unwrap_err();
        assert!(matches!(err, ServiceError::Conflict { ref field, .. } if field == "base_version"));
        assert_eq!(s.history(2026).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn negative_rates_and_unknown_modes_are_named_by_field() {
        let s = sbm();
        let mut e = demo_rates();
        e.uang_harian[1].dalam_kota = -5;
        e.transport[0].moda = "unta".into();
        let Err(ServiceError::Invalid(f)) = s.save(2026, e, &admin("A")).await else {
            panic!("expected invalid")
        };
        assert!(f.has("uang_harian.1.dalam_kota"));
        assert!(f.has("transport.0.moda"));
        assert!(s.current(2026).await.unwrap().is_none());
    }
}
