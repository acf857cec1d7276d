//! e-SPPD: official travel orders from request to signed SPT/SPPD, trip report and
//! kuitansi.
//!
//! An order ([`TravelOrder`]) lives in one item and moves through [`OrderStatus`]:
//!
//! ```text
//! draf ──submit──▶ diajukan ──(chain approves, sign task)──▶ disetujui ──report──▶ laporan diajukan
//!   ▲                 │  ▲ resubmit                              ▲  return            │ bendahara accepts
//!   │ edit            ▼  │                                        └──── diverifikasi ◀─┘
//!   └───────────── dikembalikan        ditolak / ditarik                   │ PPK accepts
//!                                                                          ▼
//!                                                      disetujui untuk dibayar (settlement signed)
//!                                                                          ▼
//!                                                                        selesai
//! ```
//!
//! Every state change is decided once, like a task: it is taken on the order as it stood
//! ([`TravelOrder::decisions`] counts the changes) and written conditional on the order's
//! version; whoever loses a race, or repeats a decision already taken, gets 409 "sudah
//! diputuskan" and nothing is written. The signing of the documents after the last
//! approval and after the PPK's acceptance may fail: it is then recorded as a failed sign
//! step ([`crate::signing`]) shown on the order, retried, and resolved by an admin.
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

/// A date as people type it ([`crate::types::parse_date`]), or `None`.
pub fn parse_date(s: &str) -> Option<Date> {
    crate::types::parse_date(s).ok()
}
pub fn date_str(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OrderStatus {
    Draft,
    Submitted,
    Returned,
    Rejected,
    Withdrawn,
    Approved,
    Reported,
    Verified,
    /// The PPK approved payment; the settlement documents are being signed.
    Accepted,
    Completed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::Draft,
        OrderStatus::Submitted,
        OrderStatus::Returned,
        OrderStatus::Rejected,
        OrderStatus::Withdrawn,
        OrderStatus::Approved,
        OrderStatus::Reported,
        OrderStatus::Verified,
        OrderStatus::Accepted,
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
            OrderStatus::Accepted => "accepted",
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
            OrderStatus::Accepted => text!(
                "disetujui PPK untuk dibayar; dokumen pembayaran sedang ditandatangani",
                "approved for payment by the PPK; the payment documents are being signed"
            ),
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
                | OrderStatus::Accepted
                | OrderStatus::Completed
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Follower {
    pub nama: String,
    #[serde(default)]
    pub keterangan: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Budget {
    pub instansi: String,
    /// Mata anggaran / account code, e.g. `524111`.
    pub akun: String,
}

#[cfg(feature = "openapi")]
fn cost_line_kind() -> utoipa::openapi::schema::Object {
    crate::schema::one_of(&["uang_harian", "penginapan", "transport", "lainnya"])
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostLine {
    /// uang_harian, penginapan, transport, lainnya.
    #[cfg_attr(feature = "openapi", schema(schema_with = cost_line_kind))]
    pub jenis: String,
    pub uraian: String,
    pub volume: String,
    pub tarif: i64,
    pub jumlah: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonCost {
    pub employee_id: String,
    pub lines: Vec<CostLine>,
    pub total: i64,
}

/// The cost estimate from the SBM at submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// State changes recorded so far. A decision is taken on the order as it stood at one
    /// count and loses to any other change of status that commits first.
    #[serde(default)]
    pub decisions: u32,
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
    /// When they approved (the time of their paraf or signature on the documents).
    pub decided_at: Option<OffsetDateTime>,
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
            let before = order.status;
            let step: Result<Option<Vec<TxOp>>, ServiceError> = {
                let $o: &mut TravelOrder = &mut order;
                async { $body }.await
            };
            if matches!(step, Ok(Some(_))) && order.status != before {
                order.decisions += 1;
            }
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

/// As [`modify!`], for a decision: `$body` decides on the order as first read. When
/// another change of status commits first (a race lost), the decision is 409 "sudah
/// diputuskan" and nothing is written, instead of being taken again on the newer order.
macro_rules! decide {
    ($self:expr, $id:expr, |$o:ident, $now:ident| $body:expr) => {{
        let mut seen: Option<u32> = None;
        modify!($self, $id, |$o, $now| {
            match seen {
                Some(n) if n != $o.decisions => return Err(ServiceError::already_decided()),
                _ => seen = Some($o.decisions),
            }
            $body
        })
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
}

fn pagu_item(p: &Pagu) -> Result<Item, ServiceError> {
    record::to_item(p, &pagu_key(p.year, &p.akun), PAGU)
}

mod approval;
mod budget;
mod drafting;
mod lists;
mod numbering;
mod rules;
mod settlement;
mod trip;

pub use rules::estimate_with;
pub use settlement::{settle_person, PersonSettlement};

#[cfg(test)]
mod tests;
