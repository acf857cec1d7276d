//! e-SPPD: official travel orders from request to signed SPT/SPPD, trip report and
//! kuitansi.
//!
//! An order ([`TravelOrder`]) lives in one item and moves through [`OrderStatus`]:
//!
//! ```text
//! draf ──submit──▶ diajukan ──(chain approves, sign task)──▶ disetujui ──report──▶ laporan diajukan
//!   ▲                 │  ▲ resubmit                              ▲  return            │ bendahara accepts
//!   │ edit            ▼  │                                        └──── diverifikasi ◀─┘
//!   └───────────── dikembalikan        ditolak / ditarik                   │ PPK accepts (kuitansi signed)
//!                                                                          ▼
//!                                                                        selesai
//! ```
//!
//! The approval itself is the generic approval workflow (`workflows/approval.asl.json`)
//! with a chain derived from the organisation ([`Travel::chain_for`]); its human tasks
//! are [`crate::approvals`] tasks whose request carries `service: "sppd"`. The order's
//! status while in approval is derived from those tasks ([`Travel::sync`]), so a decision
//! recorded anywhere (link, inbox, API) is reflected without a second write path.
//!
//! Rules that refuse a submission, each a 422 naming its field: return before departure
//! (`tanggal_kembali`), a traveller on another active trip on overlapping dates and a
//! traveller over the monthly cap of travel days (`pelaksana`), the account's remaining
//! budget exceeded (`anggaran.akun`). The traveller index and the budget reservation are
//! written in the same transaction as the status change, so two submissions racing for
//! the same days or the same pagu cannot both pass.
//!
//! Hook for e-absensi: on approval every travel day of every traveller is recorded under
//! `DUTY#<employee>` ([`Travel::duty_days`]); attendance shows those days as DL.

pub mod sbm;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::approvals::{
    ApprovalRequest, ApprovalTask, Approvals, ChainStep, Outcome, Status as TaskStatus, TaskKind,
};
use crate::auth::Principal;
use crate::error::{FieldErrors, ServiceError, Text};
use crate::format::{rupiah, tanggal};
use crate::org::{Employee, Org, Role, UnitKind};
use crate::ports::clock::Clock;
use crate::ports::table::{Condition, Index, Item, Key, Query, SortKey, Table, TableError, TxOp};
use crate::ports::workflows::Workflows;
use crate::record;
use crate::text;

pub use sbm::{Category, Grade, Sbm, SbmInput, SbmTable};

/// Means of transport an order may name (the SBM's transport estimates use the same).
pub const TRANSPORT_MODES: [&str; 5] = [
    "kendaraan dinas",
    "kendaraan umum",
    "kereta api",
    "pesawat udara",
    "kapal laut",
];
/// Default monthly cap of travel days per traveller.
pub const DEFAULT_MONTHLY_CAP: u32 = 15;
/// The `service` value in the approval request of a travel order.
pub const SERVICE: &str = "sppd";
/// Longest trip accepted.
pub const MAX_DAYS: i64 = 60;
/// Archive classification of every travel document (JRA: keuangan, perjalanan dinas).
pub const CLASSIFICATION: &str = "KU.03";

time::serde::format_description!(ymd, Date, "[year]-[month]-[day]");

pub mod ymd_option {
    //! `Option<Date>` as `YYYY-MM-DD` or null.
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::Date;
    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        d.map(super::date_str).serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        match s {
            None => Ok(None),
            Some(s) => super::parse_date(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("expected YYYY-MM-DD")),
        }
    }
}

pub fn parse_date(s: &str) -> Option<Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &f).ok()
}
pub fn date_str(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Draft,
    Submitted,
    Returned,
    Rejected,
    Withdrawn,
    Approved,
    Reported,
    Verified,
    Completed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::Draft,
        OrderStatus::Submitted,
        OrderStatus::Returned,
        OrderStatus::Rejected,
        OrderStatus::Withdrawn,
        OrderStatus::Approved,
        OrderStatus::Reported,
        OrderStatus::Verified,
        OrderStatus::Completed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Draft => "draft",
            OrderStatus::Submitted => "submitted",
            OrderStatus::Returned => "returned",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Withdrawn => "withdrawn",
            OrderStatus::Approved => "approved",
            OrderStatus::Reported => "reported",
            OrderStatus::Verified => "verified",
            OrderStatus::Completed => "completed",
        }
    }
    pub fn parse(s: &str) -> Option<OrderStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }
    pub fn label(self) -> Text {
        match self {
            OrderStatus::Draft => text!("draf", "draft"),
            OrderStatus::Submitted => text!("dalam persetujuan", "awaiting approval"),
            OrderStatus::Returned => text!("dikembalikan untuk perbaikan", "returned for revision"),
            OrderStatus::Rejected => text!("ditolak", "rejected"),
            OrderStatus::Withdrawn => text!("ditarik", "withdrawn"),
            OrderStatus::Approved => text!("disetujui", "approved"),
            OrderStatus::Reported => text!("laporan diajukan", "report submitted"),
            OrderStatus::Verified => text!("diverifikasi bendahara", "verified by the treasurer"),
            OrderStatus::Completed => text!("selesai", "completed"),
        }
    }
    /// Holds the travellers' days and the budget.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            OrderStatus::Submitted
                | OrderStatus::Returned
                | OrderStatus::Approved
                | OrderStatus::Reported
                | OrderStatus::Verified
                | OrderStatus::Completed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Place {
    pub provinsi: String,
    pub kota: String,
}

impl Place {
    pub fn label(&self) -> String {
        if self.kota.trim().is_empty() {
            self.provinsi.clone()
        } else {
            format!("{}, {}", self.kota, self.provinsi)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traveller {
    pub employee_id: String,
    pub nama: String,
    pub nip: String,
    pub pangkat: Option<String>,
    pub golongan: Option<String>,
    pub jabatan: String,
    pub unit_id: String,
    pub tingkat: Grade,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follower {
    pub nama: String,
    #[serde(default)]
    pub keterangan: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Budget {
    pub instansi: String,
    /// Mata anggaran / account code, e.g. `524111`.
    pub akun: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostLine {
    /// uang_harian, penginapan, transport, lainnya.
    pub jenis: String,
    pub uraian: String,
    pub volume: String,
    pub tarif: i64,
    pub jumlah: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonCost {
    pub employee_id: String,
    pub lines: Vec<CostLine>,
    pub total: i64,
}

/// The cost estimate from the SBM at submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimate {
    pub sbm_year: i32,
    pub sbm_version: u32,
    pub per_person: Vec<PersonCost>,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// Blob key.
    pub key: String,
    pub uploaded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
}

/// Who endorsed a stop (the official visited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endorsement {
    pub nama: String,
    pub nip: Option<String>,
    pub jabatan: String,
    /// `tautan` (one-time link) or `pindaian` (uploaded stamped scan).
    pub cara: String,
    pub scan: Option<Attachment>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A place visited: arrival and departure endorsed by an official there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stop {
    pub no: u32,
    pub tempat: String,
    #[serde(with = "ymd")]
    pub tiba: Date,
    #[serde(default, with = "ymd_option")]
    pub berangkat: Option<Date>,
    /// Email the one-time link went to.
    pub official_email: Option<String>,
    /// sha256 of the one-time token (the token itself is only in the mail).
    pub token_hash: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub token_expires: Option<OffsetDateTime>,
    pub endorsement: Option<Endorsement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Report {
    pub hasil: String,
    #[serde(default)]
    pub kesimpulan: String,
    #[serde(default)]
    pub photos: Vec<Attachment>,
}

/// A cost actually incurred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActualCost {
    pub id: String,
    pub employee_id: String,
    /// penginapan, transport, lainnya.
    pub jenis: String,
    pub uraian: String,
    pub jumlah: i64,
    /// The receipt; without one the cost goes on the daftar pengeluaran riil.
    pub receipt: Option<Attachment>,
}

pub const ACTUAL_KINDS: [&str; 3] = ["penginapan", "transport", "lainnya"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub event: String,
    pub actor: Option<String>,
    pub text: Text,
}

/// Official numbers, allocated once at final approval (SPT, one SPPD per traveller) and
/// at settlement (one kuitansi per traveller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Numbers {
    pub spt: Option<String>,
    #[serde(default)]
    pub sppd: Vec<String>,
    #[serde(default)]
    pub kuitansi: Vec<String>,
    #[serde(default, with = "ymd_option")]
    pub approved_on: Option<Date>,
    #[serde(default, with = "ymd_option")]
    pub settled_on: Option<Date>,
}

/// Archived documents of the order (archive ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Documents {
    pub spt: Option<String>,
    #[serde(default)]
    pub sppd: Vec<String>,
    #[serde(default)]
    pub settlement: Vec<SettlementDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementDoc {
    /// kuitansi, rincian-biaya, daftar-pengeluaran-riil, sppd-pengesahan, laporan-perjalanan
    pub kind: String,
    pub employee_id: Option<String>,
    pub document_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub by_id: String,
    pub by_name: String,
    pub role: String,
    pub accepted: bool,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TravelOrder {
    pub id: String,
    pub version: i64,
    pub status: OrderStatus,
    pub requester_id: String,
    pub requester_name: String,
    pub unit_id: String,
    /// Pejabat pemberi perintah (the PPK).
    pub ppk_id: String,
    pub ppk_name: String,
    pub pelaksana: Vec<Traveller>,
    pub pengikut: Vec<Follower>,
    pub maksud: String,
    pub alat_angkut: String,
    pub tempat_berangkat: Place,
    pub tempat_tujuan: Place,
    #[serde(with = "ymd_option")]
    pub tanggal_berangkat: Option<Date>,
    #[serde(with = "ymd_option")]
    pub tanggal_kembali: Option<Date>,
    pub kategori: Category,
    pub anggaran: Budget,
    pub keterangan: String,
    pub attachments: Vec<Attachment>,
    pub estimate: Option<Estimate>,
    pub chain: Vec<ChainStep>,
    pub execution_name: Option<String>,
    pub execution_id: Option<String>,
    pub submissions: u32,
    /// Budget held while active: (fiscal year, account, amount).
    pub reserved: Option<(i32, String, i64)>,
    /// Keys of the traveller-day items this order holds (written at submission, moved
    /// on resubmission, deleted when it ends), so edits of dates or travellers never
    /// leave days behind.
    #[serde(default)]
    pub held_trips: Vec<(String, String)>,
    pub numbers: Numbers,
    pub documents: Documents,
    pub stops: Vec<Stop>,
    pub report: Report,
    pub actual: Vec<ActualCost>,
    pub verifications: Vec<Verification>,
    /// Last note of a verifier who returned the report.
    pub return_note: Option<String>,
    /// The travellers were told the SPT and SPPD are signed (mailed once, also when the
    /// sign task runs again).
    #[serde(default)]
    pub travellers_mailed: bool,
    pub timeline: Vec<TimelineEntry>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
}

impl TravelOrder {
    /// Lama perjalanan: days from departure to return, both counted.
    pub fn lama(&self) -> Option<i64> {
        match (self.tanggal_berangkat, self.tanggal_kembali) {
            (Some(a), Some(b)) if b >= a => Some((b - a).whole_days() + 1),
            _ => None,
        }
    }
    pub fn subject(&self) -> String {
        format!(
            "Perjalanan dinas ke {}: {}",
            self.tempat_tujuan.label(),
            self.maksud
        )
    }
    pub fn is_traveller(&self, employee_id: &str) -> bool {
        self.pelaksana.iter().any(|t| t.employee_id == employee_id)
    }
    fn push(&mut self, at: OffsetDateTime, event: &str, actor: Option<&str>, text: Text) {
        self.timeline.push(TimelineEntry {
            at,
            event: event.into(),
            actor: actor.map(str::to_string),
            text,
        });
    }
    /// Travel days of the trip (both ends included).
    pub fn days(&self) -> Vec<Date> {
        let (Some(a), Some(b)) = (self.tanggal_berangkat, self.tanggal_kembali) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut d = a;
        while d <= b && out.len() <= MAX_DAYS as usize {
            out.push(d);
            match d.next_day() {
                Some(n) => d = n,
                None => break,
            }
        }
        out
    }
}

/// What a requester fills (draft create / update). Everything optional for a draft;
/// [`Travel::submit`] requires the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderInput {
    /// The PPK (employee id, NIP or email); default: the organisation's only PPK.
    pub ppk: Option<String>,
    /// Travellers (employee id, NIP or email).
    pub pelaksana: Vec<String>,
    pub pengikut: Vec<Follower>,
    pub maksud: String,
    pub alat_angkut: String,
    pub tempat_berangkat: Option<Place>,
    pub tempat_tujuan: Option<Place>,
    pub tanggal_berangkat: Option<String>,
    pub tanggal_kembali: Option<String>,
    /// luar_kota, dalam_kota or diklat; default: dalam_kota when the destination city is
    /// the departure city, else luar_kota.
    pub kategori: Option<String>,
    pub anggaran: Option<Budget>,
    pub keterangan: String,
    /// Version the editor saw (optimistic concurrency on update).
    pub version: Option<i64>,
}

/// Where the office is (default departure).
pub fn home() -> Place {
    Place {
        provinsi: "Jawa Barat".into(),
        kota: "Bandung".into(),
    }
}

/// The travel cost grade of an employee, from their records: unit heads by the kind of
/// unit they head, others by golongan.
pub fn grade_of(emp: &Employee, heads: Option<UnitKind>) -> Grade {
    match heads {
        Some(UnitKind::Pimpinan | UnitKind::Divisi) => return Grade::A,
        Some(UnitKind::Sekretariat) => return Grade::B,
        Some(UnitKind::Bagian) => return Grade::C,
        Some(UnitKind::Subbagian) => return Grade::D,
        None => {}
    }
    match emp
        .golongan
        .as_deref()
        .and_then(|g| g.trim().split('/').next())
        .map(str::trim)
    {
        Some("IV") => Grade::C,
        Some("III") => Grade::D,
        _ => Grade::E,
    }
}

/// Filters of the "all orders" list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFilter {
    pub status: Option<OrderStatus>,
    pub unit_id: Option<String>,
    /// `YYYY-MM`: trips departing in that month.
    pub month: Option<(i32, u8)>,
    /// Matches the destination province or city (case-insensitive, part of the name).
    pub destination: Option<String>,
}

/// Budget ceiling of one account in one fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagu {
    pub year: i32,
    pub akun: String,
    pub uraian: String,
    pub pagu: i64,
    /// Held by active orders (estimate until settled, then the amount paid).
    pub reserved: i64,
    pub version: i64,
}

impl Pagu {
    pub fn remaining(&self) -> i64 {
        self.pagu - self.reserved
    }
}

/// A chain step decided: who decided (the Plh when one acted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decider {
    pub step: u32,
    pub action: String,
    pub employee_id: String,
    /// The official the Plh acted for.
    pub on_behalf_of: Option<String>,
}

fn order_key(id: &str) -> Key {
    Key::new(format!("SPPD#{id}"), "ORDER")
}
fn trip_partition(emp: &str) -> String {
    format!("SPPDTRIP#{emp}")
}
fn duty_partition(emp: &str) -> String {
    format!("DUTY#{emp}")
}
fn pagu_key(year: i32, akun: &str) -> Key {
    Key::new(format!("PAGU#{year}"), akun.to_string())
}
fn settings_key() -> Key {
    Key::new("SPPDCONF", "SETTINGS")
}
fn counter_key(kind: &str, year: i32) -> Key {
    Key::new(format!("NUMBER#{kind}#{year}"), "COUNTER")
}
fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

fn to_item(o: &TravelOrder) -> Result<Item, ServiceError> {
    let mut it = record::to_item(o, &order_key(&o.id), ORDER)?;
    let day = o
        .tanggal_berangkat
        .map(date_str)
        .unwrap_or_else(|| "0000-00-00".into());
    it.insert("gsi1pk".into(), json!("SPPDS"));
    it.insert("gsi1sk".into(), json!(format!("{day}#{}", o.id)));
    it.insert("gsi2pk".into(), json!(format!("SPPDBY#{}", o.requester_id)));
    it.insert(
        "gsi2sk".into(),
        json!(format!("{:016}#{}", record::ms(o.created), o.id)),
    );
    Ok(it)
}

const ORDER: &str = "travel_order";
const PAGU: &str = "pagu";

fn trip_item(emp: &str, o: &TravelOrder) -> Option<Item> {
    let (a, b) = (o.tanggal_berangkat?, o.tanggal_kembali?);
    let mut it = Item::new();
    it.insert("pk".into(), json!(trip_partition(emp)));
    it.insert("sk".into(), json!(format!("{}#{}", date_str(a), o.id)));
    it.insert("order".into(), json!(o.id));
    it.insert("start".into(), json!(date_str(a)));
    it.insert("end".into(), json!(date_str(b)));
    it.insert("type".into(), json!("travel_trip"));
    Some(it)
}

/// How often a read-change-write runs again after losing a race.
const ATTEMPTS: usize = 20;

/// "… (status: …)" in both languages.
fn wrong_status(id: &str, en: &str, status: OrderStatus) -> ServiceError {
    let l = status.label();
    ServiceError::conflict(
        "status",
        Text::new(
            format!("{id} (status: {})", l.id),
            format!("{en} (status: {})", l.en),
        ),
    )
}

/// Refuses one more entry in a list already holding `max`.
fn at_most(len: usize, max: usize, field: &str, id: &str, en: &str) -> Result<(), ServiceError> {
    if len >= max {
        return Err(ServiceError::invalid(
            field,
            text!("paling banyak {max} {id}", "at most {max} {en}"),
        ));
    }
    Ok(())
}

fn already_endorsed() -> ServiceError {
    ServiceError::conflict(
        "token",
        text!("tempat ini sudah disahkan", "this stop is already endorsed"),
    )
}

fn days_in_month(year: i32, month: Month) -> u8 {
    month.length(year)
}

/// Reads order `$id`, runs `$body` with `$o: &mut TravelOrder` and the time `$now` — it
/// gives the other writes that must commit with the order, or `None` to leave everything
/// as it is — and writes the order and those writes in one transaction conditional on the
/// version read ([`Travel::commit`]). A concurrent change runs `$body` again on the newer
/// order. A macro, not a method taking an async closure: such closures' futures cannot be
/// shown to be `Send`, which the HTTP handlers need.
macro_rules! modify {
    ($self:expr, $id:expr, |$o:ident, $now:ident| $body:expr) => {{
        let this = $self;
        let id: &str = $id;
        let mut outcome: Result<TravelOrder, ServiceError> = Err(ServiceError::Stale);
        for _ in 0..ATTEMPTS {
            let mut order = match this.load(id).await {
                Ok(o) => o,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            };
            let $now: OffsetDateTime = this.clock.now();
            let step: Result<Option<Vec<TxOp>>, ServiceError> = {
                let $o: &mut TravelOrder = &mut order;
                async { $body }.await
            };
            match step {
                Err(e) => outcome = Err(e),
                Ok(None) => outcome = Ok(order),
                Ok(Some(ops)) => match this.commit(&mut order, $now, ops).await {
                    Ok(true) => outcome = Ok(order),
                    Ok(false) => continue,
                    Err(e) => outcome = Err(e),
                },
            }
            break;
        }
        outcome
    }};
}

/// The travel service. Cheap to clone.
#[derive(Clone)]
pub struct Travel {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
    org: Org,
    sbm: Sbm,
    approvals: Approvals,
}

impl Travel {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        Travel {
            org: Org::new(table.clone(), clock.clone()),
            sbm: Sbm::new(table.clone(), clock.clone()),
            approvals: Approvals::new(table.clone(), clock.clone()),
            table,
            clock,
        }
    }

    pub fn sbm(&self) -> &Sbm {
        &self.sbm
    }
    pub fn org(&self) -> &Org {
        &self.org
    }
    pub fn approvals(&self) -> &Approvals {
        &self.approvals
    }
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
    pub fn today(&self) -> Date {
        self.clock.now().date()
    }

    // ---------- settings and budget ----------

    /// The monthly cap of travel days per traveller.
    pub async fn monthly_cap(&self) -> Result<u32, ServiceError> {
        Ok(self
            .table
            .get(&settings_key())
            .await?
            .and_then(|it| it.get("monthly_cap").and_then(Value::as_u64))
            .map(|v| v as u32)
            .unwrap_or(DEFAULT_MONTHLY_CAP))
    }

    pub async fn set_monthly_cap(&self, who: &Principal, cap: u32) -> Result<u32, ServiceError> {
        who.require(Role::Admin)?;
        if !(1..=31).contains(&cap) {
            return Err(ServiceError::invalid(
                "monthly_cap",
                text!(
                    "harus antara 1 dan 31 hari",
                    "must be between 1 and 31 days"
                ),
            ));
        }
        let k = settings_key();
        let mut it = Item::new();
        it.insert("pk".into(), json!(k.pk));
        it.insert("sk".into(), json!(k.sk));
        it.insert("monthly_cap".into(), json!(cap));
        self.table.put(it, None).await?;
        Ok(cap)
    }

    pub async fn pagu(&self, year: i32, akun: &str) -> Result<Option<Pagu>, ServiceError> {
        if akun.trim().is_empty() || akun.len() > 40 {
            return Ok(None);
        }
        match self.table.get(&pagu_key(year, akun.trim())).await? {
            Some(it) => record::from_item(it, PAGU).map(Some),
            None => Ok(None),
        }
    }

    pub async fn pagus(&self, year: i32) -> Result<Vec<Pagu>, ServiceError> {
        record::collect(
            self.table.as_ref(),
            Query::partition(Index::Primary, format!("PAGU#{year}")),
            PAGU,
        )
        .await
    }

    /// Sets (or changes) the ceiling of an account; what active orders hold stays held.
    pub async fn set_pagu(
        &self,
        who: &Principal,
        year: i32,
        akun: &str,
        uraian: &str,
        amount: i64,
    ) -> Result<Pagu, ServiceError> {
        who.require_any(&[Role::Admin, Role::Ppk])?;
        let mut e = FieldErrors::default();
        let akun = akun.trim();
        if akun.is_empty()
            || akun.len() > 40
            || !akun
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            e.add(
                "akun",
                text!(
                    "kode akun wajib diisi (angka, huruf, titik atau tanda hubung)",
                    "the account code is required (digits, letters, dots or dashes)"
                ),
            );
        }
        if !(0..=1_000_000_000_000).contains(&amount) {
            e.add(
                "pagu",
                text!(
                    "harus rupiah bulat, tidak negatif",
                    "must be whole rupiah, not negative"
                ),
            );
        }
        if !(2000..=2100).contains(&year) {
            e.add("year", text!("tahun tidak valid", "invalid year"));
        }
        e.into_result()?;
        for _ in 0..20 {
            let old = self.pagu(year, akun).await?;
            let p = Pagu {
                year,
                akun: akun.to_string(),
                uraian: uraian.trim().to_string(),
                pagu: amount,
                reserved: old.as_ref().map(|o| o.reserved).unwrap_or(0),
                version: old.as_ref().map(|o| o.version + 1).unwrap_or(1),
            };
            let cond = match &old {
                Some(o) => Condition::version(o.version),
                None => Condition::absent(),
            };
            match self.table.put(pagu_item(&p)?, Some(cond)).await {
                Ok(()) => return Ok(p),
                Err(crate::ports::table::TableError::ConditionFailed { .. })
                | Err(crate::ports::table::TableError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Stale)
    }

    // ---------- drafts ----------

    async fn resolve_employee(&self, who: &str) -> Result<Option<Employee>, ServiceError> {
        Ok(self
            .org
            .find_employee(who.trim())
            .await?
            .filter(|e| e.active))
    }

    async fn heads_kind(&self, emp: &Employee) -> Result<Option<UnitKind>, ServiceError> {
        let unit = self.org.unit(&emp.unit_id).await?;
        Ok((unit.head_id.as_deref() == Some(emp.id.as_str())).then_some(unit.kind))
    }

    async fn traveller(&self, emp: &Employee) -> Result<Traveller, ServiceError> {
        let heads = self.heads_kind(emp).await?;
        Ok(Traveller {
            employee_id: emp.id.clone(),
            nama: emp.name.clone(),
            nip: emp.nip.to_string(),
            pangkat: emp.pangkat.clone(),
            golongan: emp.golongan.clone(),
            jabatan: emp.jabatan.clone(),
            unit_id: emp.unit_id.clone(),
            tingkat: grade_of(emp, heads),
        })
    }

    /// The organisation's PPK when there is exactly one.
    async fn default_ppk(&self) -> Result<Option<Employee>, ServiceError> {
        let mut ppks: Vec<Employee> = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = self.org.employees(None, 200, cursor).await?;
            ppks.extend(
                page.into_iter()
                    .filter(|e| e.active && e.has_role(Role::Ppk)),
            );
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(if ppks.len() == 1 {
            ppks.into_iter().next()
        } else {
            None
        })
    }

    /// Applies a form to an order (draft or returned): parses, resolves people, checks
    /// shapes. Completeness is checked on submission.
    async fn apply(&self, o: &mut TravelOrder, input: &OrderInput) -> Result<(), ServiceError> {
        let mut e = FieldErrors::default();
        // PPK
        match input
            .ppk
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(p) => match self.resolve_employee(p).await? {
                Some(emp) if emp.has_role(Role::Ppk) => {
                    o.ppk_id = emp.id.clone();
                    o.ppk_name = emp.name.clone();
                }
                Some(_) => e.add(
                    "ppk",
                    text!(
                        "pegawai ini bukan Pejabat Pembuat Komitmen",
                        "this employee is not a commitment officer (PPK)"
                    ),
                ),
                None => e.add(
                    "ppk",
                    text!("pegawai tidak ditemukan", "employee not found"),
                ),
            },
            None if o.ppk_id.is_empty() => {
                if let Some(p) = self.default_ppk().await? {
                    o.ppk_id = p.id.clone();
                    o.ppk_name = p.name.clone();
                }
            }
            None => {}
        }
        // travellers
        let mut travellers = Vec::new();
        let mut seen = BTreeSet::new();
        if input.pelaksana.len() > 20 {
            e.add(
                "pelaksana",
                text!("paling banyak 20 pelaksana", "at most 20 travellers"),
            );
        }
        for (i, p) in input.pelaksana.iter().take(20).enumerate() {
            match self.resolve_employee(p).await? {
                Some(emp) => {
                    if !seen.insert(emp.id.clone()) {
                        e.add(
                            &format!("pelaksana.{i}"),
                            text!("{} tercantum dua kali", "{} is listed twice", emp.name),
                        );
                    } else {
                        travellers.push(self.traveller(&emp).await?);
                    }
                }
                None => e.add(
                    &format!("pelaksana.{i}"),
                    text!(
                        "pegawai `{}` tidak ditemukan atau tidak aktif",
                        "employee `{}` not found or inactive",
                        p
                    ),
                ),
            }
        }
        // followers
        if input.pengikut.len() > 10 {
            e.add(
                "pengikut",
                text!("paling banyak 10 pengikut", "at most 10 followers"),
            );
        }
        for (i, f) in input.pengikut.iter().enumerate() {
            if f.nama.trim().is_empty() || f.nama.chars().count() > 100 {
                e.add(
                    &format!("pengikut.{i}.nama"),
                    text!(
                        "wajib diisi, paling banyak 100 karakter",
                        "required, at most 100 characters"
                    ),
                );
            }
        }
        let long = |s: &str, max: usize| s.chars().count() > max;
        if long(&input.maksud, 1000) {
            e.add(
                "maksud",
                text!("paling banyak 1000 karakter", "at most 1000 characters"),
            );
        }
        if long(&input.keterangan, 1000) {
            e.add(
                "keterangan",
                text!("paling banyak 1000 karakter", "at most 1000 characters"),
            );
        }
        let mode = input.alat_angkut.trim().to_lowercase();
        if !mode.is_empty() && !TRANSPORT_MODES.contains(&mode.as_str()) {
            e.add(
                "alat_angkut",
                text!(
                    "harus salah satu dari: {}",
                    "must be one of: {}",
                    TRANSPORT_MODES.join(", ")
                ),
            );
        }
        let place = |field: &str, p: &Option<Place>, e: &mut FieldErrors| -> Option<Place> {
            let p = p.clone()?;
            if long(&p.provinsi, 60) || long(&p.kota, 80) {
                e.add(
                    field,
                    text!("nama tempat terlalu panjang", "place name too long"),
                );
            }
            Some(Place {
                provinsi: p.provinsi.trim().to_string(),
                kota: p.kota.trim().to_string(),
            })
        };
        let from = place("tempat_berangkat", &input.tempat_berangkat, &mut e);
        let to = place("tempat_tujuan", &input.tempat_tujuan, &mut e);
        let date = |field: &str, s: &Option<String>, e: &mut FieldErrors| -> Option<Option<Date>> {
            match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Some(None),
                Some(s) => match parse_date(s) {
                    Some(d) => Some(Some(d)),
                    None => {
                        e.add(
                            field,
                            text!(
                                "tanggal harus berbentuk TTTT-BB-HH",
                                "the date must be YYYY-MM-DD"
                            ),
                        );
                        None
                    }
                },
            }
        };
        let dep = date("tanggal_berangkat", &input.tanggal_berangkat, &mut e);
        let ret = date("tanggal_kembali", &input.tanggal_kembali, &mut e);
        let kategori = match input
            .kategori
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(k) => match Category::parse(k) {
                Some(c) => Some(c),
                None => {
                    e.add(
                        "kategori",
                        text!(
                            "harus luar_kota, dalam_kota atau diklat",
                            "must be luar_kota, dalam_kota or diklat"
                        ),
                    );
                    None
                }
            },
        };
        if let Some(b) = &input.anggaran {
            if long(&b.instansi, 200) || long(&b.akun, 40) {
                e.add("anggaran.akun", text!("terlalu panjang", "too long"));
            }
        }
        if let Some(v) = input.version {
            if v != o.version {
                return Err(ServiceError::conflict(
                    "version",
                    text!(
                        "pengajuan telah diubah di tempat lain; muat ulang halaman",
                        "the order was changed elsewhere; reload the page"
                    ),
                ));
            }
        }
        e.into_result()?;
        o.pelaksana = travellers;
        o.pengikut = input
            .pengikut
            .iter()
            .map(|f| Follower {
                nama: f.nama.trim().to_string(),
                keterangan: f.keterangan.trim().to_string(),
            })
            .collect();
        o.maksud = input.maksud.trim().to_string();
        o.alat_angkut = mode;
        o.tempat_berangkat = from.unwrap_or_else(home);
        o.tempat_tujuan = to.unwrap_or_default();
        o.tanggal_berangkat = dep.flatten();
        o.tanggal_kembali = ret.flatten();
        o.kategori = kategori.unwrap_or_else(|| {
            if !o.tempat_tujuan.kota.is_empty()
                && o.tempat_tujuan
                    .kota
                    .eq_ignore_ascii_case(&o.tempat_berangkat.kota)
            {
                Category::DalamKota
            } else {
                Category::LuarKota
            }
        });
        o.anggaran = input
            .anggaran
            .clone()
            .map(|b| Budget {
                instansi: b.instansi.trim().to_string(),
                akun: b.akun.trim().to_string(),
            })
            .unwrap_or_default();
        o.keterangan = input.keterangan.trim().to_string();
        Ok(())
    }

    /// Saves a new draft by `who`.
    pub async fn create_draft(
        &self,
        who: &Principal,
        input: OrderInput,
    ) -> Result<TravelOrder, ServiceError> {
        let requester = self.org.employee(&who.employee_id).await?;
        let now = self.clock.now();
        let mut o = TravelOrder {
            id: crate::org::new_id(),
            version: 1,
            status: OrderStatus::Draft,
            requester_id: requester.id.clone(),
            requester_name: requester.name.clone(),
            unit_id: requester.unit_id.clone(),
            ppk_id: String::new(),
            ppk_name: String::new(),
            pelaksana: Vec::new(),
            pengikut: Vec::new(),
            maksud: String::new(),
            alat_angkut: String::new(),
            tempat_berangkat: home(),
            tempat_tujuan: Place::default(),
            tanggal_berangkat: None,
            tanggal_kembali: None,
            kategori: Category::LuarKota,
            anggaran: Budget::default(),
            keterangan: String::new(),
            attachments: Vec::new(),
            estimate: None,
            chain: Vec::new(),
            execution_name: None,
            execution_id: None,
            submissions: 0,
            reserved: None,
            held_trips: Vec::new(),
            numbers: Numbers::default(),
            documents: Documents::default(),
            stops: Vec::new(),
            report: Report::default(),
            actual: Vec::new(),
            verifications: Vec::new(),
            return_note: None,
            travellers_mailed: false,
            timeline: Vec::new(),
            created: now,
            updated: now,
        };
        let mut input = input;
        input.version = None;
        self.apply(&mut o, &input).await?;
        o.push(
            now,
            "created",
            Some(&who.employee_id),
            text!("draf dibuat oleh {}", "draft created by {}", who.name),
        );
        self.table
            .put(to_item(&o)?, Some(Condition::absent()))
            .await?;
        Ok(o)
    }

    /// Reads an order (no access check).
    pub async fn load(&self, id: &str) -> Result<TravelOrder, ServiceError> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ServiceError::NotFound("travel order"));
        }
        match self.table.get(&order_key(id)).await? {
            Some(it) => record::from_item(it, ORDER),
            None => Err(ServiceError::NotFound("travel order")),
        }
    }

    /// Whether `who` may read `o`: the requester, a traveller, whoever the chain names
    /// (or their Plh who acted), the PPK of the order, the bendahara and admins.
    pub async fn may_view(&self, o: &TravelOrder, who: &Principal) -> Result<bool, ServiceError> {
        let me = who.employee_id.as_str();
        if o.requester_id == me
            || o.is_traveller(me)
            || o.ppk_id == me
            || who.has(Role::Admin)
            || who.has(Role::Ppk)
            || who.has(Role::Bendahara)
            || o.chain.iter().any(|c| c.assignee == me)
        {
            return Ok(true);
        }
        if let Some(exec) = &o.execution_id {
            for t in self.approvals.tasks_of_execution(exec).await? {
                if t.acting_id.as_deref() == Some(me)
                    || t.assignee_id == me
                    || t.decision.as_ref().is_some_and(|d| d.by_id == me)
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Reads an order for `who`, with its status brought up to date.
    pub async fn get(&self, id: &str, who: &Principal) -> Result<TravelOrder, ServiceError> {
        let o = self.load(id).await?;
        if !self.may_view(&o, who).await? {
            return Err(ServiceError::Forbidden);
        }
        self.sync(o).await
    }

    /// Writes `o` (read at its current `version`) as the next version together with
    /// `ops`, in one transaction. `Ok(false)`: someone changed the order or another item
    /// of the transaction first; read again.
    async fn commit(
        &self,
        o: &mut TravelOrder,
        now: OffsetDateTime,
        mut ops: Vec<TxOp>,
    ) -> Result<bool, ServiceError> {
        let old = o.version;
        o.version = old + 1;
        o.updated = now;
        let item = to_item(o)?;
        let written = if ops.is_empty() {
            self.table.put(item, Some(Condition::version(old))).await
        } else {
            ops.push(TxOp::Put {
                item,
                condition: Some(Condition::version(old)),
            });
            self.table.transact_write(ops).await
        };
        match written {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed { .. } | TableError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The writes that take a traveller's days (`hold`) or give them back.
    fn trip_ops(o: &TravelOrder, hold: bool) -> Vec<TxOp> {
        if !hold {
            return o
                .held_trips
                .iter()
                .map(|(pk, sk)| TxOp::Delete {
                    key: Key::new(pk.clone(), sk.clone()),
                    condition: None,
                })
                .collect();
        }
        o.pelaksana
            .iter()
            .filter_map(|t| trip_item(&t.employee_id, o))
            .map(|item| TxOp::Put {
                item,
                condition: None,
            })
            .collect()
    }

    /// Replaces the days `o` holds by those of its current travellers and dates, and the
    /// budget it holds by `total`: the writes, to commit with the order.
    async fn hold(&self, o: &mut TravelOrder, total: i64) -> Result<Vec<TxOp>, ServiceError> {
        let mut ops = Self::trip_ops(o, false);
        let fresh = Self::trip_ops(o, true);
        // A delete and a put of the same key cannot share a transaction: the put wins.
        ops.retain(|d| {
            !fresh.iter().any(|p| match (d, p) {
                (TxOp::Delete { key, .. }, TxOp::Put { item, .. }) => {
                    Key::of(item).ok().as_ref() == Some(key)
                }
                _ => false,
            })
        });
        o.held_trips = fresh
            .iter()
            .filter_map(|p| match p {
                TxOp::Put { item, .. } => Key::of(item).ok().map(|k| (k.pk, k.sk)),
                _ => None,
            })
            .collect();
        ops.extend(fresh);
        let year = o.tanggal_berangkat.map(|d| d.year()).unwrap_or(0);
        let akun = o.anggaran.akun.clone();
        match o.reserved.take() {
            Some((y, a, held)) if y == year && a == akun => {
                ops.extend(
                    self.reserve_op(y, &a, total - held, "anggaran.akun")
                        .await?,
                );
            }
            old => {
                if let Some((y, a, held)) = old {
                    ops.extend(self.reserve_op(y, &a, -held, "anggaran.akun").await?);
                }
                ops.extend(self.reserve_op(year, &akun, total, "anggaran.akun").await?);
            }
        }
        o.reserved = Some((year, akun, total));
        Ok(ops)
    }

    fn require_editor(o: &TravelOrder, who: &Principal) -> Result<(), ServiceError> {
        if o.requester_id != who.employee_id {
            return Err(ServiceError::Forbidden);
        }
        if !matches!(o.status, OrderStatus::Draft | OrderStatus::Returned) {
            return Err(wrong_status(
                "pengajuan yang sudah diajukan tidak dapat diubah",
                "a submitted order cannot be edited",
                o.status,
            ));
        }
        Ok(())
    }

    /// Changes a draft, or a returned order before it is resubmitted.
    pub async fn update(
        &self,
        id: &str,
        who: &Principal,
        input: OrderInput,
    ) -> Result<TravelOrder, ServiceError> {
        let o = self.load(id).await?;
        if !self.may_view(&o, who).await? {
            return Err(ServiceError::Forbidden);
        }
        self.sync(o).await?;
        modify!(self, id, |o, now| {
            Self::require_editor(o, who)?;
            self.apply(o, &input).await?;
            o.push(
                now,
                "edited",
                Some(&who.employee_id),
                text!("diubah oleh {}", "edited by {}", who.name),
            );
            Ok(Some(Vec::new()))
        })
    }

    /// Adds an uploaded attachment (stored by the caller) to a draft or returned order.
    pub async fn add_attachment(
        &self,
        id: &str,
        who: &Principal,
        a: Attachment,
    ) -> Result<TravelOrder, ServiceError> {
        self.sync(self.load(id).await?).await?;
        modify!(self, id, |o, now| {
            Self::require_editor(o, who)?;
            at_most(o.attachments.len(), 10, "file", "lampiran", "attachments")?;
            o.push(
                now,
                "attached",
                Some(&who.employee_id),
                text!("lampiran {} ditambahkan", "attachment {} added", a.name),
            );
            o.attachments.push(a.clone());
            Ok(Some(Vec::new()))
        })
    }

    // ---------- costs and rules ----------

    /// The estimate of an order from the SBM of its departure year.
    pub async fn estimate(&self, o: &TravelOrder) -> Result<Estimate, ServiceError> {
        let dep = o.tanggal_berangkat.ok_or_else(|| {
            ServiceError::invalid("tanggal_berangkat", text!("wajib diisi", "is required"))
        })?;
        let year = dep.year();
        let table = self.sbm.current(year).await?.ok_or_else(|| {
            ServiceError::invalid(
                "tanggal_berangkat",
                text!(
                    "SBM tahun anggaran {} belum ditetapkan; hubungi admin",
                    "no SBM rates for fiscal year {} yet; ask an admin",
                    year
                ),
            )
        })?;
        estimate_with(&table, o)
    }

    /// Checks completeness and the rules for submitting `o` (not yet written).
    async fn check_rules(&self, o: &TravelOrder) -> Result<Estimate, ServiceError> {
        let mut e = FieldErrors::default();
        let req = text!("wajib diisi", "is required");
        if o.ppk_id.is_empty() {
            e.add(
                "ppk",
                text!(
                    "pilih Pejabat Pembuat Komitmen",
                    "choose the commitment officer (PPK)"
                ),
            );
        }
        if o.pelaksana.is_empty() {
            e.add(
                "pelaksana",
                text!(
                    "pilih paling sedikit satu pelaksana",
                    "choose at least one traveller"
                ),
            );
        }
        if o.maksud.is_empty() {
            e.add("maksud", req.clone());
        }
        if o.alat_angkut.is_empty() {
            e.add("alat_angkut", req.clone());
        }
        if o.tempat_tujuan.provinsi.is_empty() {
            e.add("tempat_tujuan.provinsi", req.clone());
        }
        if o.tempat_tujuan.kota.is_empty() {
            e.add("tempat_tujuan.kota", req.clone());
        }
        if o.tempat_berangkat.kota.is_empty() {
            e.add("tempat_berangkat.kota", req.clone());
        }
        if o.anggaran.akun.is_empty() {
            e.add("anggaran.akun", req.clone());
        }
        if o.anggaran.instansi.is_empty() {
            e.add("anggaran.instansi", req.clone());
        }
        match (o.tanggal_berangkat, o.tanggal_kembali) {
            (None, _) => e.add("tanggal_berangkat", req.clone()),
            (_, None) => e.add("tanggal_kembali", req.clone()),
            (Some(a), Some(b)) if b < a => e.add(
                "tanggal_kembali",
                text!(
                    "tanggal kembali ({}) sebelum tanggal berangkat ({})",
                    "the return date ({}) is before the departure date ({})",
                    tanggal(b),
                    tanggal(a)
                ),
            ),
            (Some(a), Some(b)) if (b - a).whole_days() + 1 > MAX_DAYS => e.add(
                "tanggal_kembali",
                text!(
                    "perjalanan paling lama {} hari",
                    "a trip lasts at most {} days",
                    MAX_DAYS
                ),
            ),
            (Some(a), _) if a < self.today() => e.add(
                "tanggal_berangkat",
                text!(
                    "tanggal berangkat sudah lewat ({})",
                    "the departure date has passed ({})",
                    tanggal(a)
                ),
            ),
            _ => {}
        }
        e.into_result()?;
        let est = self.estimate(o).await?;
        // Overlap and monthly cap, per traveller.
        let cap = self.monthly_cap().await?;
        let (Some(a), Some(b)) = (o.tanggal_berangkat, o.tanggal_kembali) else {
            return Err(internal("dates checked above"));
        };
        for t in &o.pelaksana {
            let mut trips = Vec::new();
            for (order, s, f) in self.trips_of(&t.employee_id).await? {
                if order != o.id {
                    // A decision nobody has opened yet (a rejection) gives the days back now.
                    let other = match self.load(&order).await {
                        Ok(other) => self.sync(other).await?,
                        Err(ServiceError::NotFound(_)) => continue,
                        Err(e) => return Err(e),
                    };
                    if !other.status.is_active() {
                        continue;
                    }
                }
                trips.push((order, s, f));
            }
            for (order, s, f) in &trips {
                if order != &o.id && *s <= b && *f >= a {
                    let other = self.load(order).await?;
                    let l = other.status.label();
                    let (place, from, to) = (other.tempat_tujuan.label(), tanggal(*s), tanggal(*f));
                    return Err(ServiceError::invalid(
                        "pelaksana",
                        Text::new(
                            format!(
                                "{} sudah dijadwalkan perjalanan dinas ke {place} pada {from} s.d. {to} (status: {})",
                                t.nama, l.id
                            ),
                            format!(
                                "{} is already on a trip to {place} from {from} to {to} (status: {})",
                                t.nama, l.en
                            ),
                        ),
                    ));
                }
            }
            // Days per month this trip touches.
            let mut month = (a.year(), a.month());
            loop {
                let first = Date::from_calendar_date(month.0, month.1, 1).map_err(internal)?;
                let last =
                    Date::from_calendar_date(month.0, month.1, days_in_month(month.0, month.1))
                        .map_err(internal)?;
                let overlap = |s: Date, f: Date| -> i64 {
                    let s = s.max(first);
                    let f = f.min(last);
                    if f >= s {
                        (f - s).whole_days() + 1
                    } else {
                        0
                    }
                };
                let mut used: i64 = trips
                    .iter()
                    .filter(|(order, _, _)| order != &o.id)
                    .map(|(_, s, f)| overlap(*s, *f))
                    .sum();
                used += overlap(a, b);
                if used > cap as i64 {
                    return Err(ServiceError::invalid(
                        "pelaksana",
                        text!(
                            "{} akan melakukan perjalanan dinas {} hari pada {} {}, melebihi batas {} hari per bulan",
                            "{} would travel {} days in {} {}, over the cap of {} days a month",
                            t.nama,
                            used,
                            crate::format::bulan(month.1),
                            month.0,
                            cap
                        ),
                    ));
                }
                if month == (b.year(), b.month()) {
                    break;
                }
                month = if month.1 == Month::December {
                    (month.0 + 1, Month::January)
                } else {
                    (month.0, month.1.next())
                };
            }
        }
        Ok(est)
    }

    /// Active trips of a traveller: (order, start, end).
    async fn trips_of(&self, emp: &str) -> Result<Vec<(String, Date, Date)>, ServiceError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .table
                .query(Query::partition(Index::Primary, trip_partition(emp)).after(cursor))
                .await?;
            for it in page.items {
                let get = |k: &str| it.get(k).and_then(Value::as_str).map(str::to_string);
                if let (Some(o), Some(s), Some(f)) = (get("order"), get("start"), get("end")) {
                    if let (Some(s), Some(f)) = (parse_date(&s), parse_date(&f)) {
                        out.push((o, s, f));
                    }
                }
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// The approval chain of an order: Kasubag → Kabag (the requester's heads) → PPK →
    /// Sekretaris, skipping levels the requester holds and anyone twice. The PPK signs the
    /// SPPD, the Sekretaris the SPT; the others initial.
    pub async fn chain_for(
        &self,
        requester: &Employee,
        ppk_id: &str,
    ) -> Result<Vec<ChainStep>, ServiceError> {
        let sups = self.org.supervisor_chain(requester).await?;
        let mut kasubag = None;
        let mut kabag = None;
        let mut sekretaris = None;
        for s in &sups {
            match self.heads_kind(s).await? {
                Some(UnitKind::Subbagian) if kasubag.is_none() && kabag.is_none() => {
                    kasubag = Some(s.clone())
                }
                Some(UnitKind::Bagian) if kabag.is_none() => kabag = Some(s.clone()),
                Some(UnitKind::Sekretariat) if sekretaris.is_none() => sekretaris = Some(s.clone()),
                _ => {}
            }
        }
        if sekretaris.is_none() {
            // Requesters outside the secretariat's tree (commissioners) still need the
            // Sekretaris: the head of the secretariat unit.
            for u in self.org.units().await? {
                if u.kind == UnitKind::Sekretariat {
                    if let Some(h) = &u.head_id {
                        sekretaris = Some(self.org.employee(h).await?);
                        break;
                    }
                }
            }
        }
        let ppk = self.org.employee(ppk_id).await?;
        let Some(sekretaris) = sekretaris else {
            return Err(ServiceError::invalid(
                "chain",
                text!(
                    "unit Sekretariat belum mempunyai kepala untuk menandatangani SPT",
                    "the secretariat has no head to sign the SPT"
                ),
            ));
        };
        let mut steps: Vec<(Employee, &str, &str)> = Vec::new();
        for (emp, action, role) in [
            (kasubag, "paraf", "kasubag"),
            (kabag, "paraf", "kabag"),
            (Some(ppk), "sign", "ppk"),
            (Some(sekretaris), "sign", "sekretaris"),
        ] {
            let Some(emp) = emp else { continue };
            if emp.id == requester.id {
                continue;
            }
            if let Some(pos) = steps.iter().position(|(e, _, _)| e.id == emp.id) {
                // The same official at two levels acts once, at the higher level.
                steps.remove(pos);
            }
            steps.push((emp, action, role));
        }
        Ok(steps
            .into_iter()
            .enumerate()
            .map(|(i, (e, action, _))| ChainStep {
                step: i as u32 + 1,
                assignee: e.id.clone(),
                action: action.into(),
                name: e.name.clone(),
                jabatan: e.jabatan.clone(),
            })
            .collect())
    }

    /// Takes the budget for an order: the pagu item updated on its version, in the
    /// caller's transaction. `None` when the account has no pagu set.
    async fn reserve_op(
        &self,
        year: i32,
        akun: &str,
        delta: i64,
        field: &str,
    ) -> Result<Option<TxOp>, ServiceError> {
        let Some(mut p) = self.pagu(year, akun).await? else {
            return Ok(None);
        };
        if delta > 0 && p.reserved + delta > p.pagu {
            return Err(ServiceError::invalid(
                field,
                text!(
                    "sisa pagu akun {} tahun {} tinggal {}, biaya perjalanan ini {}",
                    "the remaining budget of account {} in {} is {}, this trip costs {}",
                    akun,
                    year,
                    rupiah(p.remaining().max(0)),
                    rupiah(delta)
                ),
            ));
        }
        let old = p.version;
        p.reserved = (p.reserved + delta).max(0);
        p.version = old + 1;
        Ok(Some(TxOp::Put {
            item: pagu_item(&p)?,
            condition: Some(Condition::version(old)),
        }))
    }

    /// Submits a draft: rules, estimate, chain; holds the travellers' days and the budget
    /// and starts the approval workflow.
    pub async fn submit(
        &self,
        id: &str,
        who: &Principal,
        workflows: &dyn Workflows,
    ) -> Result<TravelOrder, ServiceError> {
        let o = self.sync(self.load(id).await?).await?;
        if o.requester_id != who.employee_id {
            return Err(ServiceError::Forbidden);
        }
        if o.status == OrderStatus::Returned {
            return self.resubmit(id, who, workflows).await;
        }
        let requester = self.org.employee(&o.requester_id).await?;
        let o = modify!(self, id, |o, now| {
            if o.status != OrderStatus::Draft {
                return Err(wrong_status(
                    "hanya draf yang dapat diajukan",
                    "only a draft can be submitted",
                    o.status,
                ));
            }
            let est = self.check_rules(o).await?;
            let chain = self.chain_for(&requester, &o.ppk_id).await?;
            let total = est.total;
            o.submissions += 1;
            o.execution_name = Some(format!("sppd{}n{}", o.id, o.submissions));
            o.chain = chain.clone();
            o.estimate = Some(est);
            o.status = OrderStatus::Submitted;
            o.push(
                now,
                "submitted",
                Some(&who.employee_id),
                text!(
                    "diajukan oleh {}; perkiraan biaya {}; alur persetujuan: {}",
                    "submitted by {}; estimated cost {}; approval chain: {}",
                    who.name,
                    rupiah(total),
                    chain
                        .iter()
                        .map(|c| c.name.clone())
                        .collect::<Vec<_>>()
                        .join(" → ")
                ),
            );
            self.hold(o, total).await.map(Some)
        })?;
        self.start_workflow(o, &requester, workflows).await
    }

    async fn start_workflow(
        &self,
        o: TravelOrder,
        requester: &Employee,
        workflows: &dyn Workflows,
    ) -> Result<TravelOrder, ServiceError> {
        let mut request = serde_json::Map::new();
        request.insert("service".into(), json!(SERVICE));
        request.insert("order".into(), json!(o.id));
        let name = o.execution_name.clone().unwrap_or_default();
        let started: Result<ApprovalRequest, ServiceError> = self
            .approvals
            .start_chain(
                requester,
                &o.subject().chars().take(200).collect::<String>(),
                Some("Surat Tugas dan SPPD"),
                o.chain.clone(),
                request,
                &name,
                workflows,
            )
            .await;
        match started {
            Ok(req) => {
                modify!(self, &o.id, |o, _now| {
                    if o.execution_id.as_deref() == Some(req.execution_id.as_str()) {
                        return Ok(None);
                    }
                    o.execution_id = Some(req.execution_id.clone());
                    Ok(Some(Vec::new()))
                })
            }
            Err(e) => {
                // Nothing started: give the days and the budget back, back to draft.
                tracing::warn!(order = %o.id, error = %e, "approval workflow did not start");
                let _ = self.release(&o.id, OrderStatus::Draft, None).await;
                Err(e)
            }
        }
    }

    /// Ends an order's hold on days and budget, setting `status` (draft, rejected,
    /// withdrawn). Idempotent.
    async fn release(
        &self,
        id: &str,
        status: OrderStatus,
        entry: Option<TimelineEntry>,
    ) -> Result<TravelOrder, ServiceError> {
        modify!(self, id, |o, _now| {
            if o.status == status {
                return Ok(None);
            }
            let mut ops = Self::trip_ops(o, false);
            o.held_trips.clear();
            if let Some((year, akun, amount)) = o.reserved.take() {
                ops.extend(
                    self.reserve_op(year, &akun, -amount, "anggaran.akun")
                        .await?,
                );
            }
            o.status = status;
            o.timeline.extend(entry.clone());
            Ok(Some(ops))
        })
    }

    /// Brings an order in approval up to date with its approval tasks: returned,
    /// rejected or withdrawn as the latest decision says.
    pub async fn sync(&self, o: TravelOrder) -> Result<TravelOrder, ServiceError> {
        if !matches!(o.status, OrderStatus::Submitted | OrderStatus::Returned) {
            return Ok(o);
        }
        let Some(exec) = o.execution_id.clone() else {
            return Ok(o);
        };
        let mut tasks = self.approvals.tasks_of_execution(&exec).await?;
        tasks.sort_by_key(|t| t.created);
        let Some(latest) = tasks
            .iter()
            .rev()
            .find(|t| t.status != TaskStatus::Superseded || t.superseded_by.is_none())
        else {
            return Ok(o);
        };
        let decided = latest.decision.as_ref().map(|d| d.outcome);
        let derived = match (latest.kind, latest.status, decided) {
            (TaskKind::ApprovalStep, TaskStatus::Decided, Some(Outcome::Reject)) => {
                OrderStatus::Rejected
            }
            (TaskKind::ApprovalStep, TaskStatus::Decided, Some(Outcome::Return)) => {
                OrderStatus::Returned
            }
            (TaskKind::Resubmit, TaskStatus::Decided, Some(Outcome::Withdraw)) => {
                OrderStatus::Withdrawn
            }
            (TaskKind::Resubmit, TaskStatus::Decided, _) => OrderStatus::Submitted,
            (TaskKind::Resubmit, _, _) => OrderStatus::Returned,
            _ => OrderStatus::Submitted,
        };
        if derived == o.status {
            return Ok(o);
        }
        let entry = latest.decision.as_ref().map(|d| {
            let label = derived.label();
            let note = if d.note.is_empty() {
                String::new()
            } else {
                format!(": {}", d.note)
            };
            TimelineEntry {
                at: d.at,
                event: derived.as_str().into(),
                actor: Some(d.by_id.clone()),
                text: Text::new(
                    format!("{} oleh {}{note}", label.id, d.by_name),
                    format!("{} by {}{note}", label.en, d.by_name),
                ),
            }
        });
        match derived {
            OrderStatus::Rejected | OrderStatus::Withdrawn => {
                self.release(&o.id, derived, entry).await
            }
            _ => {
                modify!(self, &o.id, |o, _now| {
                    if o.status == derived
                        || !matches!(o.status, OrderStatus::Submitted | OrderStatus::Returned)
                    {
                        return Ok(None);
                    }
                    o.status = derived;
                    o.timeline.extend(entry.clone());
                    Ok(Some(Vec::new()))
                })
            }
        }
    }

    /// The open resubmission task of a returned order.
    async fn resubmit_task(&self, o: &TravelOrder) -> Result<ApprovalTask, ServiceError> {
        let exec = o.execution_id.clone().unwrap_or_default();
        let tasks = self.approvals.tasks_of_execution(&exec).await?;
        tasks
            .into_iter()
            .rev()
            .find(|t| t.kind == TaskKind::Resubmit && t.is_open())
            .ok_or_else(|| {
                ServiceError::conflict(
                    "status",
                    text!(
                        "permintaan perbaikan belum sampai; coba lagi sebentar lagi",
                        "the revision request has not arrived yet; try again shortly"
                    ),
                )
            })
    }

    /// Resubmits a returned order (after the requester's edits): the rules again, a new
    /// estimate, then the chain resumes at the step that returned it.
    pub async fn resubmit(
        &self,
        id: &str,
        who: &Principal,
        workflows: &dyn Workflows,
    ) -> Result<TravelOrder, ServiceError> {
        let o = self.sync(self.load(id).await?).await?;
        if o.requester_id != who.employee_id {
            return Err(ServiceError::Forbidden);
        }
        if o.status != OrderStatus::Returned {
            return Err(wrong_status(
                "hanya pengajuan yang dikembalikan yang dapat diajukan kembali",
                "only a returned order can be resubmitted",
                o.status,
            ));
        }
        let task = self.resubmit_task(&o).await?;
        let o = modify!(self, id, |o, now| {
            if o.status != OrderStatus::Returned {
                return Err(wrong_status(
                    "hanya pengajuan yang dikembalikan yang dapat diajukan kembali",
                    "only a returned order can be resubmitted",
                    o.status,
                ));
            }
            let est = self.check_rules(o).await?;
            let total = est.total;
            o.estimate = Some(est);
            o.status = OrderStatus::Submitted;
            o.push(
                now,
                "resubmitted",
                Some(&who.employee_id),
                text!("diajukan kembali oleh {}", "resubmitted by {}", who.name),
            );
            // Travellers and dates may have changed: the days held follow them.
            self.hold(o, total).await.map(Some)
        })?;
        let decided = self
            .approvals
            .decide(&task.id, who, "resubmit", "diperbaiki dan diajukan kembali")
            .await
            .map_err(decide_error)?;
        if let Err(e) = self.approvals.deliver(&decided, workflows).await {
            tracing::warn!(order = %o.id, error = %e, "resubmission recorded, hand-over deferred");
        }
        Ok(o)
    }

    /// Withdraws a draft (deleted from view) or a returned order (the workflow ends).
    pub async fn withdraw(
        &self,
        id: &str,
        who: &Principal,
        note: &str,
        workflows: &dyn Workflows,
    ) -> Result<TravelOrder, ServiceError> {
        let o = self.sync(self.load(id).await?).await?;
        if o.requester_id != who.employee_id {
            return Err(ServiceError::Forbidden);
        }
        let entry = TimelineEntry {
            at: self.clock.now(),
            event: "withdrawn".into(),
            actor: Some(who.employee_id.clone()),
            text: text!("ditarik oleh {}", "withdrawn by {}", who.name),
        };
        match o.status {
            OrderStatus::Draft => self.release(id, OrderStatus::Withdrawn, Some(entry)).await,
            OrderStatus::Returned => {
                let task = self.resubmit_task(&o).await?;
                let note = if note.trim().is_empty() {
                    "ditarik oleh pengaju"
                } else {
                    note
                };
                let decided = self
                    .approvals
                    .decide(&task.id, who, "withdraw", note)
                    .await
                    .map_err(decide_error)?;
                if let Err(e) = self.approvals.deliver(&decided, workflows).await {
                    tracing::warn!(order = %o.id, error = %e, "withdrawal recorded, hand-over deferred");
                }
                self.release(id, OrderStatus::Withdrawn, Some(entry)).await
            }
            s => Err(wrong_status(
                "pengajuan ini tidak dapat ditarik",
                "this order cannot be withdrawn",
                s,
            )),
        }
    }

    // ---------- lists ----------

    /// Orders `who` requested or travels on, newest first.
    pub async fn mine(&self, who: &Principal) -> Result<Vec<TravelOrder>, ServiceError> {
        let mine = Query::partition(Index::Gsi2, format!("SPPDBY#{}", who.employee_id));
        let mut out: Vec<TravelOrder> = record::collect(self.table.as_ref(), mine, ORDER).await?;
        for (order, _, _) in self.trips_of(&who.employee_id).await? {
            if !out.iter().any(|o| o.id == order) {
                out.push(self.load(&order).await?);
            }
        }
        let mut synced = Vec::with_capacity(out.len());
        for o in out {
            synced.push(self.sync(o).await?);
        }
        synced.sort_by_key(|o| std::cmp::Reverse(o.created));
        Ok(synced)
    }

    /// Orders waiting for `who`'s decision (as assignee or Plh), with the task.
    pub async fn to_approve(
        &self,
        who: &Principal,
    ) -> Result<Vec<(TravelOrder, ApprovalTask)>, ServiceError> {
        let mut out = Vec::new();
        for t in self.approvals.inbox(&who.employee_id).await? {
            if t.kind != TaskKind::ApprovalStep
                || t.request.get("service").and_then(Value::as_str) != Some(SERVICE)
            {
                continue;
            }
            let Some(id) = t.request.get("order").and_then(Value::as_str) else {
                continue;
            };
            if let Ok(o) = self.load(id).await {
                out.push((o, t));
            }
        }
        Ok(out)
    }

    /// All orders (PPK, bendahara, admin), filtered; by departure date, newest first.
    pub async fn all(
        &self,
        who: &Principal,
        f: &ListFilter,
    ) -> Result<Vec<TravelOrder>, ServiceError> {
        who.require_any(&[Role::Admin, Role::Ppk, Role::Bendahara])?;
        let mut q = Query::partition(Index::Gsi1, "SPPDS");
        if let Some((y, m)) = f.month {
            q = q.sk(SortKey::BeginsWith(format!("{y:04}-{m:02}-")));
        }
        let mut out = Vec::new();
        for o in record::collect::<TravelOrder>(self.table.as_ref(), q, ORDER).await? {
            let o = self.sync(o).await?;
            if o.status == OrderStatus::Draft && o.requester_id != who.employee_id {
                continue;
            }
            if f.status.is_some_and(|s| s != o.status) {
                continue;
            }
            if f.unit_id.as_deref().is_some_and(|u| u != o.unit_id) {
                continue;
            }
            if let Some(d) = f
                .destination
                .as_deref()
                .map(|d| d.trim().to_lowercase())
                .filter(|d| !d.is_empty())
            {
                let hay =
                    format!("{} {}", o.tempat_tujuan.provinsi, o.tempat_tujuan.kota).to_lowercase();
                if !hay.contains(&d) {
                    continue;
                }
            }
            out.push(o);
        }
        out.sort_by(|a, b| {
            b.tanggal_berangkat
                .cmp(&a.tanggal_berangkat)
                .then(b.created.cmp(&a.created))
        });
        Ok(out)
    }

    /// The order's timeline: its own events and every approval task's history, by time.
    pub async fn timeline(&self, o: &TravelOrder) -> Result<Vec<TimelineEntry>, ServiceError> {
        let mut out = o.timeline.clone();
        if let Some(exec) = &o.execution_id {
            for t in self.approvals.tasks_of_execution(exec).await? {
                let step = match t.kind {
                    TaskKind::ApprovalStep => text!(
                        "langkah {} ({}): ",
                        "step {} ({}): ",
                        t.step,
                        t.assignee_name
                    ),
                    TaskKind::Resubmit => text!("perbaikan: ", "revision: "),
                };
                for h in &t.history {
                    if h.event == "delivered"
                        || h.event == "decided" && t.kind == TaskKind::Resubmit
                    {
                        continue;
                    }
                    out.push(TimelineEntry {
                        at: h.at,
                        event: format!("task.{}", h.event),
                        actor: h.actor.clone(),
                        text: Text::new(
                            format!("{}{}", step.id, h.text.id),
                            format!("{}{}", step.en, h.text.en),
                        ),
                    });
                }
            }
        }
        out.sort_by_key(|e| e.at);
        out.dedup_by(|a, b| a.at == b.at && a.text == b.text);
        Ok(out)
    }

    // ---------- final approval (used by the sign task) ----------

    /// Who approved each step of the order's chain, in step order.
    pub async fn deciders(&self, o: &TravelOrder) -> Result<Vec<Decider>, ServiceError> {
        let exec = o.execution_id.clone().unwrap_or_default();
        let tasks = self.approvals.tasks_of_execution(&exec).await?;
        let mut out = Vec::new();
        for c in &o.chain {
            let d = tasks
                .iter()
                .filter(|t| t.kind == TaskKind::ApprovalStep && t.step == c.step)
                .filter_map(|t| {
                    t.decision
                        .as_ref()
                        .filter(|d| d.outcome == Outcome::Approve)
                        .map(|d| (t, d))
                })
                .max_by_key(|(_, d)| d.at);
            let (employee_id, on_behalf_of) = match d {
                Some((t, d)) => (
                    d.by_id.clone(),
                    (d.by_id != t.assignee_id).then(|| t.assignee_id.clone()),
                ),
                None => (c.assignee.clone(), None),
            };
            out.push(Decider {
                step: c.step,
                action: c.action.clone(),
                employee_id,
                on_behalf_of,
            });
        }
        Ok(out)
    }

    /// Allocates the order's SPT and SPPD numbers (once; gapless per year and type).
    pub async fn allocate_approval_numbers(
        &self,
        id: &str,
        on: Date,
    ) -> Result<TravelOrder, ServiceError> {
        self.allocate(
            id,
            on,
            |o| o.numbers.spt.is_some(),
            |o, seqs| {
                let year = on.year();
                o.numbers.spt = Some(format!(
                    "{}/{}-ST/32/{year}",
                    seqs["spt"][0], CLASSIFICATION
                ));
                o.numbers.sppd = seqs["sppd"]
                    .iter()
                    .map(|n| format!("{n}/{}-SPPD/32/{year}", CLASSIFICATION))
                    .collect();
                o.numbers.approved_on = Some(on);
            },
            |o| vec![("spt", 1), ("sppd", o.pelaksana.len())],
        )
        .await
    }

    /// Allocates one kuitansi number per traveller (once).
    pub async fn allocate_settlement_numbers(
        &self,
        id: &str,
        on: Date,
    ) -> Result<TravelOrder, ServiceError> {
        self.allocate(
            id,
            on,
            |o| !o.numbers.kuitansi.is_empty(),
            |o, seqs| {
                let year = on.year();
                o.numbers.kuitansi = seqs["kuitansi"]
                    .iter()
                    .map(|n| format!("{n}/{}-KW/32/{year}", CLASSIFICATION))
                    .collect();
                o.numbers.settled_on = Some(on);
            },
            |o| vec![("kuitansi", o.pelaksana.len())],
        )
        .await
    }

    async fn allocate(
        &self,
        id: &str,
        on: Date,
        done: impl Fn(&TravelOrder) -> bool,
        assign: impl Fn(&mut TravelOrder, &std::collections::BTreeMap<&'static str, Vec<u64>>),
        wants: impl Fn(&TravelOrder) -> Vec<(&'static str, usize)>,
    ) -> Result<TravelOrder, ServiceError> {
        let year = on.year();
        modify!(self, id, |o, _now| {
            if done(o) {
                return Ok(None);
            }
            let mut ops = Vec::new();
            let mut seqs = std::collections::BTreeMap::new();
            for (kind, n) in wants(o) {
                let k = counter_key(kind, year);
                let last = self
                    .table
                    .get(&k)
                    .await?
                    .and_then(|it| it.get("last").and_then(Value::as_u64));
                let start = last.unwrap_or(0);
                seqs.insert(kind, (start + 1..=start + n as u64).collect::<Vec<_>>());
                let mut it = Item::new();
                it.insert("pk".into(), json!(k.pk));
                it.insert("sk".into(), json!(k.sk));
                it.insert("last".into(), json!(start + n as u64));
                ops.push(TxOp::Put {
                    item: it,
                    condition: Some(match last {
                        Some(l) => Condition::equals("last", l),
                        None => Condition::absent(),
                    }),
                });
            }
            assign(o, &seqs);
            Ok(Some(ops))
        })
    }

    /// Records the signed SPT and SPPDs: the order is approved, the travel days are
    /// recorded for attendance (DL). Idempotent.
    pub async fn mark_approved(
        &self,
        id: &str,
        spt: &str,
        sppd: &[String],
    ) -> Result<TravelOrder, ServiceError> {
        let o = modify!(self, id, |o, now| {
            if o.status == OrderStatus::Approved && o.documents.spt.as_deref() == Some(spt) {
                return Ok(None);
            }
            o.status = OrderStatus::Approved;
            o.documents.spt = Some(spt.to_string());
            o.documents.sppd = sppd.to_vec();
            o.push(
                now,
                "approved",
                None,
                text!(
                    "disetujui; Surat Tugas {} dan SPPD {} ditandatangani dan diarsipkan",
                    "approved; Surat Tugas {} and SPPD {} signed and archived",
                    o.numbers.spt.clone().unwrap_or_default(),
                    o.numbers.sppd.join(", ")
                ),
            );
            Ok(Some(Vec::new()))
        })?;
        for t in &o.pelaksana {
            for d in o.days() {
                let mut it = Item::new();
                it.insert("pk".into(), json!(duty_partition(&t.employee_id)));
                it.insert("sk".into(), json!(date_str(d)));
                it.insert("order".into(), json!(o.id));
                it.insert("kind".into(), json!("DL"));
                it.insert("spt".into(), json!(o.numbers.spt));
                self.table.put(it, None).await?;
            }
        }
        Ok(o)
    }

    /// Records that the travellers were mailed about the approval (idempotent).
    pub async fn mark_travellers_mailed(&self, id: &str) -> Result<TravelOrder, ServiceError> {
        modify!(self, id, |o, _now| {
            if o.travellers_mailed {
                return Ok(None);
            }
            o.travellers_mailed = true;
            Ok(Some(Vec::new()))
        })
    }

    /// Days `employee_id` is on official travel (DL) between `from` and `to`, with the
    /// order: what e-absensi shows as DL.
    pub async fn duty_days(
        &self,
        employee_id: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<(Date, String)>, ServiceError> {
        let page = self
            .table
            .query(
                Query::partition(Index::Primary, duty_partition(employee_id))
                    .sk(SortKey::Between(date_str(from), date_str(to))),
            )
            .await?;
        let mut out = Vec::new();
        for it in page.items {
            let sk = it.get("sk").and_then(Value::as_str).and_then(parse_date);
            let order = it
                .get("order")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some(d) = sk {
                // A trip rejected later never reaches here; one withdrawn after approval
                // cannot happen (approved orders are not withdrawn).
                out.push((d, order));
            }
        }
        Ok(out)
    }

    // ---------- after the trip ----------

    fn require_traveller_side(o: &TravelOrder, who: &Principal) -> Result<(), ServiceError> {
        if o.requester_id != who.employee_id && !o.is_traveller(&who.employee_id) {
            return Err(ServiceError::Forbidden);
        }
        if o.status != OrderStatus::Approved {
            return Err(wrong_status(
                "laporan hanya dapat diisi setelah SPPD disetujui dan sebelum diajukan untuk verifikasi",
                "the report can be filled only after approval and before it is sent for verification",
                o.status,
            ));
        }
        Ok(())
    }

    async fn change_after_trip(
        &self,
        id: &str,
        who: &Principal,
        mut f: impl FnMut(&mut TravelOrder, OffsetDateTime) -> Result<(), ServiceError>,
    ) -> Result<TravelOrder, ServiceError> {
        modify!(self, id, |o, now| {
            Self::require_traveller_side(o, who)?;
            f(o, now)?;
            Ok(Some(Vec::new()))
        })
    }

    /// Adds a stop (a place visited) whose arrival and departure an official endorses.
    pub async fn add_stop(
        &self,
        id: &str,
        who: &Principal,
        tempat: &str,
        tiba: &str,
        berangkat: Option<&str>,
    ) -> Result<TravelOrder, ServiceError> {
        let mut e = FieldErrors::default();
        let tempat = tempat.trim();
        if tempat.is_empty() || tempat.chars().count() > 120 {
            e.add(
                "tempat",
                text!(
                    "wajib diisi, paling banyak 120 karakter",
                    "required, at most 120 characters"
                ),
            );
        }
        let tiba_d = parse_date(tiba);
        if tiba_d.is_none() {
            e.add(
                "tiba",
                text!(
                    "tanggal harus berbentuk TTTT-BB-HH",
                    "the date must be YYYY-MM-DD"
                ),
            );
        }
        let berangkat_d = match berangkat.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match parse_date(s) {
                Some(d) => Some(d),
                None => {
                    e.add(
                        "berangkat",
                        text!(
                            "tanggal harus berbentuk TTTT-BB-HH",
                            "the date must be YYYY-MM-DD"
                        ),
                    );
                    None
                }
            },
        };
        e.into_result()?;
        let tiba_d = tiba_d.ok_or_else(|| internal("checked"))?;
        self.change_after_trip(id, who, |o, now| {
            let (Some(a), Some(b)) = (o.tanggal_berangkat, o.tanggal_kembali) else {
                return Err(internal("approved order without dates"));
            };
            if tiba_d < a || tiba_d > b {
                return Err(ServiceError::invalid(
                    "tiba",
                    text!(
                        "tanggal tiba harus di antara {} dan {}",
                        "the arrival date must be between {} and {}",
                        tanggal(a),
                        tanggal(b)
                    ),
                ));
            }
            if let Some(d) = berangkat_d {
                if d < tiba_d || d > b {
                    return Err(ServiceError::invalid(
                        "berangkat",
                        text!(
                            "tanggal berangkat dari tempat ini harus di antara tanggal tiba dan {}",
                            "the departure from this place must be between the arrival and {}",
                            tanggal(b)
                        ),
                    ));
                }
            }
            at_most(o.stops.len(), 10, "tempat", "tempat", "places")?;
            let no = o.stops.len() as u32 + 1;
            o.stops.push(Stop {
                no,
                tempat: tempat.to_string(),
                tiba: tiba_d,
                berangkat: berangkat_d,
                official_email: None,
                token_hash: None,
                token_expires: None,
                endorsement: None,
            });
            o.push(
                now,
                "stop",
                Some(&who.employee_id),
                text!("tempat singgah {} ditambahkan", "stop {} added", tempat),
            );
            Ok(())
        })
        .await
    }

    /// Creates the one-time endorsement link of a stop for the official at `email`;
    /// returns the order and the token (to be mailed, never stored in clear).
    pub async fn endorsement_link(
        &self,
        id: &str,
        who: &Principal,
        no: u32,
        email: &str,
    ) -> Result<(TravelOrder, String), ServiceError> {
        let email = crate::types::Email::parse(email).map_err(|_| {
            ServiceError::invalid(
                "email",
                text!("alamat email tidak valid", "invalid email address"),
            )
        })?;
        let token = crate::approvals::new_task_id();
        let hash = token_hash(&token);
        let o = self
            .change_after_trip(id, who, |o, now| {
                let s = o
                    .stops
                    .iter_mut()
                    .find(|s| s.no == no)
                    .ok_or(ServiceError::NotFound("stop"))?;
                if s.endorsement.is_some() {
                    return Err(ServiceError::conflict(
                        "stop",
                        text!("tempat ini sudah disahkan", "this stop is already endorsed"),
                    ));
                }
                s.official_email = Some(email.to_string());
                s.token_hash = Some(hash.clone());
                s.token_expires = Some(now + Duration::days(14));
                let tempat = s.tempat.clone();
                o.push(
                    now,
                    "endorsement_requested",
                    Some(&who.employee_id),
                    text!(
                        "tautan pengesahan {} dikirim ke {}",
                        "endorsement link for {} sent to {}",
                        tempat,
                        email
                    ),
                );
                Ok(())
            })
            .await?;
        Ok((o, format!("{id}.{no}.{token}")))
    }

    /// Finds the order and stop of a one-time endorsement token (`order.no.secret`).
    pub async fn endorsement_target(
        &self,
        token: &str,
    ) -> Result<(TravelOrder, Stop), ServiceError> {
        let mut parts = token.trim().splitn(3, '.');
        let (Some(id), Some(no), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ServiceError::NotFound("endorsement link"));
        };
        let no: u32 = no
            .parse()
            .map_err(|_| ServiceError::NotFound("endorsement link"))?;
        let o = self
            .load(id)
            .await
            .map_err(|_| ServiceError::NotFound("endorsement link"))?;
        let stop = o
            .stops
            .iter()
            .find(|s| s.no == no)
            .cloned()
            .ok_or(ServiceError::NotFound("endorsement link"))?;
        let expected = stop.token_hash.clone().unwrap_or_default();
        let given = token_hash(secret);
        if expected.is_empty() || !constant_eq(expected.as_bytes(), given.as_bytes()) {
            return Err(ServiceError::NotFound("endorsement link"));
        }
        Ok((o, stop))
    }

    /// The official visited endorses a stop through the one-time link (no sign-in: the
    /// link is the credential, and it works once).
    pub async fn endorse_by_link(
        &self,
        token: &str,
        nama: &str,
        nip: Option<&str>,
        jabatan: &str,
    ) -> Result<TravelOrder, ServiceError> {
        let (o, stop) = self.endorsement_target(token).await?;
        let now = self.clock.now();
        if stop.endorsement.is_some() || stop.token_expires.is_some_and(|t| now >= t) {
            return Err(ServiceError::conflict(
                "token",
                text!(
                    "tautan ini sudah dipakai atau kedaluwarsa",
                    "this link was already used or has expired"
                ),
            ));
        }
        let e = endorsement_fields(nama, nip, jabatan)?;
        self.set_endorsement(
            &o.id,
            stop.no,
            Endorsement {
                cara: "tautan".into(),
                scan: None,
                at: now,
                ..e
            },
        )
        .await
    }

    /// A traveller records a stop's endorsement from an uploaded stamped scan.
    #[allow(clippy::too_many_arguments)]
    pub async fn endorse_by_scan(
        &self,
        id: &str,
        who: &Principal,
        no: u32,
        nama: &str,
        nip: Option<&str>,
        jabatan: &str,
        scan: Attachment,
    ) -> Result<TravelOrder, ServiceError> {
        let o = self.load(id).await?;
        Self::require_traveller_side(&o, who)?;
        let e = endorsement_fields(nama, nip, jabatan)?;
        let now = self.clock.now();
        self.set_endorsement(
            id,
            no,
            Endorsement {
                cara: "pindaian".into(),
                scan: Some(scan),
                at: now,
                ..e
            },
        )
        .await
    }

    async fn set_endorsement(
        &self,
        id: &str,
        no: u32,
        e: Endorsement,
    ) -> Result<TravelOrder, ServiceError> {
        modify!(self, id, |o, now| {
            if o.status != OrderStatus::Approved {
                return Err(ServiceError::conflict(
                    "status",
                    text!(
                        "pengesahan hanya dapat dicatat sebelum laporan diajukan",
                        "endorsements can be recorded only before the report is submitted"
                    ),
                ));
            }
            let s = o
                .stops
                .iter_mut()
                .find(|s| s.no == no)
                .ok_or(ServiceError::NotFound("stop"))?;
            if s.endorsement.is_some() {
                return Err(already_endorsed());
            }
            let tempat = s.tempat.clone();
            let who = format!("{} ({})", e.nama, e.jabatan);
            s.endorsement = Some(e.clone());
            o.push(
                now,
                "endorsed",
                None,
                text!(
                    "kedatangan di {} disahkan oleh {}",
                    "arrival at {} endorsed by {}",
                    tempat,
                    who
                ),
            );
            Ok(Some(Vec::new()))
        })
    }

    /// Writes the trip report's text.
    pub async fn set_report(
        &self,
        id: &str,
        who: &Principal,
        hasil: &str,
        kesimpulan: &str,
    ) -> Result<TravelOrder, ServiceError> {
        let mut e = FieldErrors::default();
        if hasil.trim().is_empty() {
            e.add("hasil", text!("wajib diisi", "is required"));
        } else if hasil.chars().count() > 20_000 {
            e.add(
                "hasil",
                text!("paling banyak 20.000 karakter", "at most 20,000 characters"),
            );
        }
        if kesimpulan.chars().count() > 5_000 {
            e.add(
                "kesimpulan",
                text!("paling banyak 5.000 karakter", "at most 5,000 characters"),
            );
        }
        e.into_result()?;
        self.change_after_trip(id, who, |o, now| {
            o.report.hasil = hasil.trim().to_string();
            o.report.kesimpulan = kesimpulan.trim().to_string();
            o.push(
                now,
                "report",
                Some(&who.employee_id),
                text!(
                    "laporan perjalanan diisi oleh {}",
                    "trip report written by {}",
                    who.name
                ),
            );
            Ok(())
        })
        .await
    }

    pub async fn add_photo(
        &self,
        id: &str,
        who: &Principal,
        a: Attachment,
    ) -> Result<TravelOrder, ServiceError> {
        self.change_after_trip(id, who, |o, now| {
            at_most(o.report.photos.len(), 20, "file", "foto", "photos")?;
            o.push(
                now,
                "photo",
                Some(&who.employee_id),
                text!("foto {} ditambahkan", "photo {} added", a.name),
            );
            o.report.photos.push(a.clone());
            Ok(())
        })
        .await
    }

    /// Records a cost actually incurred by a traveller (with its receipt, or without one:
    /// then it goes on the daftar pengeluaran riil).
    #[allow(clippy::too_many_arguments)]
    pub async fn add_cost(
        &self,
        id: &str,
        who: &Principal,
        employee: &str,
        jenis: &str,
        uraian: &str,
        jumlah: i64,
        receipt: Option<Attachment>,
    ) -> Result<TravelOrder, ServiceError> {
        let mut e = FieldErrors::default();
        let jenis = jenis.trim().to_lowercase();
        if !ACTUAL_KINDS.contains(&jenis.as_str()) {
            e.add(
                "jenis",
                text!(
                    "harus salah satu dari: {}",
                    "must be one of: {}",
                    ACTUAL_KINDS.join(", ")
                ),
            );
        }
        if uraian.trim().is_empty() || uraian.chars().count() > 200 {
            e.add(
                "uraian",
                text!(
                    "wajib diisi, paling banyak 200 karakter",
                    "required, at most 200 characters"
                ),
            );
        }
        if !(1..=1_000_000_000).contains(&jumlah) {
            e.add(
                "jumlah",
                text!(
                    "harus rupiah bulat lebih dari 0",
                    "must be whole rupiah above 0"
                ),
            );
        }
        e.into_result()?;
        let emp = self.resolve_employee(employee).await?;
        self.change_after_trip(id, who, |o, now| {
            let Some(emp) = emp.as_ref().filter(|e| o.is_traveller(&e.id)) else {
                return Err(ServiceError::invalid(
                    "pelaksana",
                    text!(
                        "bukan pelaksana perjalanan ini",
                        "not a traveller of this order"
                    ),
                ));
            };
            at_most(o.actual.len(), 100, "uraian", "rincian", "items")?;
            o.actual.push(ActualCost {
                id: crate::org::new_id(),
                employee_id: emp.id.clone(),
                jenis: jenis.clone(),
                uraian: uraian.trim().to_string(),
                jumlah,
                receipt: receipt.clone(),
            });
            o.push(
                now,
                "cost",
                Some(&who.employee_id),
                text!(
                    "biaya riil {} {} untuk {}{}",
                    "actual cost {} {} for {}{}",
                    uraian.trim(),
                    rupiah(jumlah),
                    emp.name,
                    if receipt.is_some() {
                        " (dengan kuitansi)"
                    } else {
                        " (tanpa bukti)"
                    }
                ),
            );
            Ok(())
        })
        .await
    }

    /// Removes a recorded cost (before the report is submitted).
    pub async fn remove_cost(
        &self,
        id: &str,
        who: &Principal,
        cost_id: &str,
    ) -> Result<TravelOrder, ServiceError> {
        self.change_after_trip(id, who, |o, now| {
            let before = o.actual.len();
            o.actual.retain(|c| c.id != cost_id);
            if o.actual.len() == before {
                return Err(ServiceError::NotFound("cost"));
            }
            o.push(
                now,
                "cost_removed",
                Some(&who.employee_id),
                text!("rincian biaya dihapus", "cost item removed"),
            );
            Ok(())
        })
        .await
    }

    /// The traveller sends the report and costs for verification.
    pub async fn submit_report(
        &self,
        id: &str,
        who: &Principal,
    ) -> Result<TravelOrder, ServiceError> {
        let o = self.load(id).await?;
        Self::require_traveller_side(&o, who)?;
        let mut e = FieldErrors::default();
        if o.report.hasil.is_empty() {
            e.add(
                "hasil",
                text!(
                    "isi hasil perjalanan dinas terlebih dahulu",
                    "write the trip's results first"
                ),
            );
        }
        if o.tanggal_berangkat.is_some_and(|d| self.today() < d) {
            e.add(
                "status",
                text!("perjalanan belum dimulai", "the trip has not started yet"),
            );
        }
        if o.stops.is_empty() {
            e.add(
                "tempat",
                text!(
                    "catat paling sedikit satu tempat yang dikunjungi",
                    "record at least one place visited"
                ),
            );
        }
        for s in &o.stops {
            if s.endorsement.is_none() {
                e.add(
                    &format!("tempat.{}", s.no),
                    text!(
                        "kedatangan di {} belum disahkan",
                        "the arrival at {} is not endorsed yet",
                        s.tempat
                    ),
                );
            }
        }
        e.into_result()?;
        self.change_after_trip(id, who, |o, now| {
            o.status = OrderStatus::Reported;
            o.return_note = None;
            o.push(
                now,
                "reported",
                Some(&who.employee_id),
                text!(
                    "laporan dan rincian biaya diajukan untuk verifikasi oleh {}",
                    "report and costs sent for verification by {}",
                    who.name
                ),
            );
            Ok(())
        })
        .await
    }

    /// The bendahara (on a submitted report) or then the PPK (on a verified one) accepts
    /// or returns with notes. Returns the order and whether the PPK's acceptance now
    /// needs the settlement documents.
    pub async fn verify(
        &self,
        id: &str,
        who: &Principal,
        accept: bool,
        note: &str,
    ) -> Result<(TravelOrder, bool), ServiceError> {
        let note = note.trim();
        if !accept && note.is_empty() {
            return Err(ServiceError::invalid(
                "note",
                text!("tuliskan catatan perbaikan", "write what must be corrected"),
            ));
        }
        if note.chars().count() > 2000 {
            return Err(ServiceError::invalid(
                "note",
                text!("paling banyak 2000 karakter", "at most 2000 characters"),
            ));
        }
        let mut settle = false;
        let o = modify!(self, id, |o, now| {
            // The order's PPK, or their Plh while they are away.
            let ppk_side = o.ppk_id == who.employee_id
                || match self.org.employee(&o.ppk_id).await {
                    Ok(ppk) => self.org.acting_for(&ppk, now.date()).await?.id == who.employee_id,
                    Err(_) => false,
                };
            let role = match o.status {
                OrderStatus::Reported if who.has(Role::Bendahara) => "bendahara",
                OrderStatus::Verified if ppk_side => "ppk",
                OrderStatus::Reported | OrderStatus::Verified => {
                    return Err(ServiceError::Forbidden)
                }
                s => {
                    return Err(wrong_status(
                        "tidak ada laporan yang menunggu verifikasi",
                        "no report is waiting for verification",
                        s,
                    ))
                }
            };
            o.verifications.push(Verification {
                by_id: who.employee_id.clone(),
                by_name: who.name.clone(),
                role: role.into(),
                accepted: accept,
                note: note.to_string(),
                at: now,
            });
            settle = accept && role == "ppk";
            let (event, text) = match (accept, role) {
                (false, _) => {
                    o.status = OrderStatus::Approved;
                    o.return_note = Some(note.to_string());
                    (
                        "verification_returned",
                        text!(
                            "laporan dikembalikan oleh {} ({}): {}",
                            "report returned by {} ({}): {}",
                            who.name,
                            role,
                            note
                        ),
                    )
                }
                (true, "bendahara") => {
                    o.status = OrderStatus::Verified;
                    (
                        "verified",
                        text!(
                            "diverifikasi oleh bendahara {}",
                            "verified by the treasurer {}",
                            who.name
                        ),
                    )
                }
                (true, _) => (
                    "accepted",
                    text!(
                        "disetujui untuk dibayar oleh PPK {}",
                        "approved for payment by the PPK {}",
                        who.name
                    ),
                ),
            };
            o.push(now, event, Some(&who.employee_id), text);
            Ok(Some(Vec::new()))
        })?;
        Ok((o, settle))
    }

    /// Records the settlement documents: the order is complete, the budget holds the
    /// amount paid instead of the estimate. Idempotent.
    pub async fn mark_completed(
        &self,
        id: &str,
        docs: Vec<SettlementDoc>,
        paid: i64,
    ) -> Result<TravelOrder, ServiceError> {
        modify!(self, id, |o, now| {
            if o.status == OrderStatus::Completed {
                return Ok(None);
            }
            let mut ops = Vec::new();
            if let Some((y, a, held)) = o.reserved.clone() {
                // Paid is paid: the hold becomes the amount, even past the pagu.
                if let Some(mut p) = self.pagu(y, &a).await? {
                    let pv = p.version;
                    p.reserved = (p.reserved - held + paid).max(0);
                    p.version = pv + 1;
                    ops.push(TxOp::Put {
                        item: pagu_item(&p)?,
                        condition: Some(Condition::version(pv)),
                    });
                }
                o.reserved = Some((y, a, paid));
            }
            o.status = OrderStatus::Completed;
            o.documents.settlement = docs.clone();
            o.push(now, "completed", None, text!(
                "selesai: kuitansi, rincian biaya dan daftar pengeluaran riil ditandatangani dan diarsipkan; dibayar {}",
                "completed: receipts, cost breakdown and actual-expense list signed and archived; paid {}",
                rupiah(paid)
            ));
            Ok(Some(ops))
        })
    }

    /// The SBM version the order was costed with.
    pub async fn sbm_of(&self, o: &TravelOrder) -> Result<SbmTable, ServiceError> {
        let est = o
            .estimate
            .as_ref()
            .ok_or_else(|| internal("order without estimate"))?;
        self.sbm.version(est.sbm_year, est.sbm_version).await
    }
}

fn decide_error(e: crate::approvals::DecideError) -> ServiceError {
    use crate::approvals::DecideError as D;
    match e {
        D::NotFound => ServiceError::NotFound("approval task"),
        D::Forbidden => ServiceError::Forbidden,
        D::AlreadyDecided(_) | D::Expired(_) => ServiceError::conflict(
            "status",
            text!(
                "permintaan perbaikan sudah tidak terbuka",
                "the revision request is no longer open"
            ),
        ),
        D::Invalid(f) => ServiceError::Invalid(f),
        D::Service(s) => s,
    }
}

fn pagu_item(p: &Pagu) -> Result<Item, ServiceError> {
    record::to_item(p, &pagu_key(p.year, &p.akun), PAGU)
}

fn token_hash(token: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(
        format!("paraf-endorse:{token}").as_bytes(),
    ))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn endorsement_fields(
    nama: &str,
    nip: Option<&str>,
    jabatan: &str,
) -> Result<Endorsement, ServiceError> {
    let mut e = FieldErrors::default();
    if nama.trim().is_empty() || nama.chars().count() > 120 {
        e.add(
            "nama",
            text!(
                "wajib diisi, paling banyak 120 karakter",
                "required, at most 120 characters"
            ),
        );
    }
    if jabatan.trim().is_empty() || jabatan.chars().count() > 200 {
        e.add(
            "jabatan",
            text!(
                "wajib diisi, paling banyak 200 karakter",
                "required, at most 200 characters"
            ),
        );
    }
    let nip = nip.map(str::trim).filter(|s| !s.is_empty());
    if let Some(n) = nip {
        if crate::types::Nip::parse(n).is_err() {
            e.add(
                "nip",
                text!("NIP harus 18 digit angka", "the NIP must be 18 digits"),
            );
        }
    }
    e.into_result()?;
    Ok(Endorsement {
        nama: nama.trim().to_string(),
        nip: nip.map(|n| n.chars().filter(|c| c.is_ascii_digit()).collect()),
        jabatan: jabatan.trim().to_string(),
        cara: String::new(),
        scan: None,
        at: OffsetDateTime::UNIX_EPOCH,
    })
}

/// The estimate of `o` with `table`'s rates: uang harian for every day, lodging for every
/// night outside the city, the transport estimate when the means has one.
pub fn estimate_with(table: &SbmTable, o: &TravelOrder) -> Result<Estimate, ServiceError> {
    let prov = o.tempat_tujuan.provinsi.as_str();
    let daily = table.daily(prov).ok_or_else(|| {
        ServiceError::invalid(
            "tempat_tujuan.provinsi",
            text!(
                "provinsi {} tidak ada dalam SBM tahun {}",
                "province {} is not in the {} SBM",
                prov,
                table.year
            ),
        )
    })?;
    let lama = o.lama().ok_or_else(|| {
        ServiceError::invalid("tanggal_kembali", text!("wajib diisi", "is required"))
    })?;
    let mut per_person = Vec::new();
    for t in &o.pelaksana {
        let mut lines = Vec::new();
        let rate = daily.rate(o.kategori);
        lines.push(CostLine {
            jenis: "uang_harian".into(),
            uraian: format!("Uang harian {} ({})", daily.provinsi, o.kategori.label()),
            volume: format!("{lama} OH"),
            tarif: rate,
            jumlah: rate * lama,
        });
        let nights = lama - 1;
        if o.kategori == Category::LuarKota && nights > 0 {
            if let Some(l) = table.lodging(prov) {
                let r = l.rate(t.tingkat);
                lines.push(CostLine {
                    jenis: "penginapan".into(),
                    uraian: format!("Penginapan {} (tingkat {})", l.provinsi, t.tingkat.as_str()),
                    volume: format!("{nights} malam"),
                    tarif: r,
                    jumlah: r * nights,
                });
            }
        }
        if let Some(tr) = table.transport(prov, &o.alat_angkut) {
            lines.push(CostLine {
                jenis: "transport".into(),
                uraian: format!("Transport {} pulang pergi ke {}", tr.moda, tr.provinsi),
                volume: "1 PP".into(),
                tarif: tr.biaya,
                jumlah: tr.biaya,
            });
        }
        let total = lines.iter().map(|l| l.jumlah).sum();
        per_person.push(PersonCost {
            employee_id: t.employee_id.clone(),
            lines,
            total,
        });
    }
    let total = per_person.iter().map(|p| p.total).sum();
    Ok(Estimate {
        sbm_year: table.year,
        sbm_version: table.version,
        per_person,
        total,
    })
}

/// What is paid to one traveller at settlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSettlement {
    pub employee_id: String,
    /// Rincian biaya: uang harian by the SBM, lodging as spent up to the SBM ceiling,
    /// transport and other costs as spent.
    pub lines: Vec<CostLine>,
    pub total: i64,
    /// Costs without receipts (daftar pengeluaran riil), as claimed.
    pub riil: Vec<(String, i64)>,
    pub riil_total: i64,
}

/// The settlement of one traveller from the SBM the order was costed with and the costs
/// recorded after the trip.
pub fn settle_person(table: &SbmTable, o: &TravelOrder, t: &Traveller) -> PersonSettlement {
    let lama = o.lama().unwrap_or(0);
    let prov = o.tempat_tujuan.provinsi.as_str();
    let mut lines = Vec::new();
    if let Some(d) = table.daily(prov) {
        let r = d.rate(o.kategori);
        lines.push(CostLine {
            jenis: "uang_harian".into(),
            uraian: format!(
                "Uang harian {} ({}) {lama} hari x {}",
                d.provinsi,
                o.kategori.label(),
                rupiah(r)
            ),
            volume: format!("{lama} OH"),
            tarif: r,
            jumlah: r * lama,
        });
    }
    let mine: Vec<&ActualCost> = o
        .actual
        .iter()
        .filter(|c| c.employee_id == t.employee_id)
        .collect();
    let nights = (lama - 1).max(0);
    let lodging_cap = table.lodging(prov).map(|l| l.rate(t.tingkat) * nights);
    let lodging: i64 = mine
        .iter()
        .filter(|c| c.jenis == "penginapan")
        .map(|c| c.jumlah)
        .sum();
    if lodging > 0 {
        let paid = lodging_cap.map(|cap| lodging.min(cap)).unwrap_or(lodging);
        let capped = paid < lodging;
        lines.push(CostLine {
            jenis: "penginapan".into(),
            uraian: if capped {
                format!(
                    "Penginapan {nights} malam (riil {}, dibatasi SBM)",
                    rupiah(lodging)
                )
            } else {
                format!("Penginapan {nights} malam")
            },
            volume: format!("{nights} malam"),
            tarif: if nights > 0 { paid / nights } else { paid },
            jumlah: paid,
        });
    }
    for c in mine.iter().filter(|c| c.jenis != "penginapan") {
        lines.push(CostLine {
            jenis: c.jenis.clone(),
            uraian: c.uraian.clone(),
            volume: "1".into(),
            tarif: c.jumlah,
            jumlah: c.jumlah,
        });
    }
    let riil: Vec<(String, i64)> = mine
        .iter()
        .filter(|c| c.receipt.is_none())
        .map(|c| (c.uraian.clone(), c.jumlah))
        .collect();
    let riil_total = riil.iter().map(|(_, j)| j).sum();
    let total = lines.iter().map(|l| l.jumlah).sum();
    PersonSettlement {
        employee_id: t.employee_id.clone(),
        lines,
        total,
        riil,
        riil_total,
    }
}

#[cfg(test)]
mod tests;
