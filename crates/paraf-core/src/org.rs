//! The organisation: units as a tree, employees, and delegation periods (Plh).
//!
//! Storage layout in the `Table` (single-table design):
//!
//! | item | pk | sk | gsi1 | gsi2 | gsi3 |
//! |---|---|---|---|---|---|
//! | unit | `UNIT#id` | `META` | `UNITS` / `code` | `UNITCHILD#parent` / `code` | |
//! | employee | `EMP#id` | `META` | `EMPS` / `name#id` | `UNITEMP#unit` / `name#id` | `REPORTS#supervisor` / `name#id` |
//! | unique value | `UNIQUE#NIP#nip`, `UNIQUE#EMAIL#email`, `UNIQUE#UNIT#code` | `UNIQUE` | | | |
//! | delegation | `DELEG#id` | `META` | `DELEGOF#principal` / `from#id` | `DELEGTO#acting` / `from#id` | |
//!
//! | admin guard | `ORG#ADMINS` | `COUNT` | | | |
//!
//! Writes that touch an item and its unique values go in one transaction, so a crash or
//! a conflict never leaves an employee without its NIP claim or a claim without its owner.
//! Writes that change who is an active admin carry the admin guard along ([`admins`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Date, OffsetDateTime};

use crate::error::{FieldErrors, ServiceError, Text};
use crate::ports::clock::Clock;
use crate::ports::table::{
    item, Condition, Index, Item, Key, Query, SortKey, Table, TableError, TxOp,
};
use crate::text;
use crate::types::{Email, Nip};

pub mod admins;

pub type UnitId = String;
pub type EmployeeId = String;

/// Kinds of unit in a KPU provincial secretariat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UnitKind {
    /// Ketua and the commission (pimpinan).
    Pimpinan,
    /// An Anggota's division (Kadiv).
    Divisi,
    /// The secretariat, headed by the Sekretaris.
    Sekretariat,
    /// A Bagian, headed by a Kabag.
    Bagian,
    /// A Subbagian, headed by a Kasubag.
    Subbagian,
}

impl UnitKind {
    pub const ALL: [UnitKind; 5] = [
        UnitKind::Pimpinan,
        UnitKind::Divisi,
        UnitKind::Sekretariat,
        UnitKind::Bagian,
        UnitKind::Subbagian,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Pimpinan => "pimpinan",
            UnitKind::Divisi => "divisi",
            UnitKind::Sekretariat => "sekretariat",
            UnitKind::Bagian => "bagian",
            UnitKind::Subbagian => "subbagian",
        }
    }
    pub fn parse(s: &str) -> Option<UnitKind> {
        UnitKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim().to_lowercase())
    }
    /// Which kinds may sit directly under this one.
    pub fn may_contain(self, child: UnitKind) -> bool {
        use UnitKind::*;
        matches!(
            (self, child),
            (Pimpinan, Divisi)
                | (Pimpinan, Sekretariat)
                | (Sekretariat, Bagian)
                | (Bagian, Subbagian)
        )
    }
}

/// What a person may do. Everyone is at least `staff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Staff,
    Approver,
    Ppk,
    Bendahara,
    Archivist,
    Admin,
    Agendaris,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Staff,
        Role::Approver,
        Role::Ppk,
        Role::Bendahara,
        Role::Archivist,
        Role::Admin,
        Role::Agendaris,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Approver => "approver",
            Role::Ppk => "ppk",
            Role::Bendahara => "bendahara",
            Role::Archivist => "archivist",
            Role::Admin => "admin",
            Role::Agendaris => "agendaris",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim().to_lowercase();
        // Indonesian synonyms admins type in spreadsheets.
        let s = match s.as_str() {
            "staf" | "pegawai" => "staff",
            "arsiparis" => "archivist",
            "pejabat" | "penyetuju" => "approver",
            other => other,
        };
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub id: UnitId,
    /// Short code, unique, e.g. `SEKR`, `BAG-KUL`.
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent_id: Option<UnitId>,
    /// The official who heads the unit (Ketua, Kadiv, Sekretaris, Kabag, Kasubag).
    pub head_id: Option<EmployeeId>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    pub id: EmployeeId,
    pub nip: Nip,
    pub name: String,
    /// e.g. "Penata Tingkat I"
    pub pangkat: Option<String>,
    /// e.g. "III/d"
    pub golongan: Option<String>,
    /// e.g. "Kepala Subbagian Keuangan"
    pub jabatan: String,
    pub unit_id: UnitId,
    pub supervisor_id: Option<EmployeeId>,
    pub email: Email,
    pub roles: BTreeSet<Role>,
    pub active: bool,
    pub version: i64,
}

impl Employee {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// While `principal` is away (cuti, dinas luar), `acting` (Plh) receives their approvals,
/// from `from` to `to` inclusive (WIB dates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub id: String,
    pub principal_id: EmployeeId,
    pub acting_id: EmployeeId,
    pub from: Date,
    pub to: Date,
    pub reason: String,
}

impl Delegation {
    pub fn covers(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }
}

/// Input for a new unit.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NewUnit {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<String>,
}

/// Input for a new employee, as typed by an admin or read from a CSV row (unparsed).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NewEmployee {
    pub nip: String,
    pub name: String,
    pub email: String,
    pub jabatan: String,
    /// Unit id or unit code.
    pub unit: String,
    pub pangkat: Option<String>,
    pub golongan: Option<String>,
    /// Supervisor's employee id or NIP.
    pub supervisor: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

fn unit_key(id: &str) -> Key {
    Key::new(format!("UNIT#{id}"), "META")
}
fn emp_key(id: &str) -> Key {
    Key::new(format!("EMP#{id}"), "META")
}
fn unique_key(kind: &str, value: &str) -> Key {
    Key::new(format!("UNIQUE#{kind}#{value}"), "UNIQUE")
}
fn deleg_key(id: &str) -> Key {
    Key::new(format!("DELEG#{id}"), "META")
}

fn to_item<T: Serialize>(key: &Key, value: &T, extra: Value) -> Result<Item, ServiceError> {
    let mut it = match serde_json::to_value(value) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(ServiceError::Internal(
                "record did not serialise to an object".into(),
            ))
        }
    };
    it.insert("pk".into(), Value::String(key.pk.clone()));
    it.insert("sk".into(), Value::String(key.sk.clone()));
    if let Value::Object(extra) = extra {
        it.extend(extra);
    }
    Ok(it)
}

fn from_item<T: serde::de::DeserializeOwned>(it: Item) -> Result<T, ServiceError> {
    crate::record::from_item(it, "record")
}

fn sort_name(name: &str, id: &str) -> String {
    format!("{}#{id}", name.to_lowercase())
}

fn required(errors: &mut FieldErrors, field: &str, value: &str, max: usize) -> String {
    let v = value.trim().to_string();
    errors.check_text(field, &v);
    if v.is_empty() {
        errors.add(field, text!("wajib diisi", "is required"));
    } else if v.chars().count() > max {
        errors.add(
            field,
            text!("paling banyak {max} karakter", "at most {max} characters"),
        );
    }
    v
}

fn optional(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The org directory: units, employees, delegations, and the chains derived from them.
#[derive(Clone)]
pub struct Org {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
}

impl Org {
    /// The store and clock the organisation lives in (services built on it share them).
    pub fn parts(&self) -> (Arc<dyn Table>, Arc<dyn Clock>) {
        (self.table.clone(), self.clock.clone())
    }

    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        Org { table, clock }
    }

    // ---------- units ----------

    pub async fn create_unit(&self, input: NewUnit) -> Result<Unit, ServiceError> {
        let mut errors = FieldErrors::default();
        let code = required(&mut errors, "code", &input.code, 32).to_uppercase();
        if !code.is_empty()
            && !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            errors.add(
                "code",
                text!(
                    "hanya huruf, angka, titik dan tanda hubung",
                    "only letters, digits, dots and hyphens"
                ),
            );
        }
        let name = required(&mut errors, "name", &input.name, 200);
        let kind = UnitKind::parse(&input.kind);
        if kind.is_none() {
            errors.add(
                "kind",
                text!(
                    "harus salah satu dari: pimpinan, divisi, sekretariat, bagian, subbagian",
                    "must be one of: pimpinan, divisi, sekretariat, bagian, subbagian"
                ),
            );
        }
        let parent = match optional(&input.parent_id) {
            Some(p) => match self.find_unit(&p).await? {
                Some(u) => Some(u),
                None => {
                    errors.add(
                        "parent_id",
                        text!("unit induk tidak ditemukan", "parent unit not found"),
                    );
                    None
                }
            },
            None => None,
        };
        if let (Some(kind), Some(parent)) = (kind, &parent) {
            if !parent.kind.may_contain(kind) {
                errors.add(
                    "parent_id",
                    text!(
                        "unit {} tidak dapat berada di bawah unit {}",
                        "a {} unit cannot sit under a {} unit",
                        kind.as_str(),
                        parent.kind.as_str()
                    ),
                );
            }
        }
        if kind.is_some_and(|k| k != UnitKind::Pimpinan)
            && parent.is_none()
            && !errors.has("parent_id")
        {
            errors.add(
                "parent_id",
                text!(
                    "wajib diisi kecuali untuk unit pimpinan",
                    "is required except for a pimpinan unit"
                ),
            );
        }
        errors.into_result()?;
        let kind = kind.ok_or_else(|| ServiceError::Internal("kind checked above".into()))?;
        let unit = Unit {
            id: new_id(),
            code: code.clone(),
            name,
            kind,
            parent_id: parent.map(|p| p.id),
            head_id: None,
            version: 1,
        };
        let key = unit_key(&unit.id);
        let it = to_item(
            &key,
            &unit,
            json!({
                "type": "unit",
                "gsi1pk": "UNITS", "gsi1sk": code,
                "gsi2pk": format!("UNITCHILD#{}", unit.parent_id.as_deref().unwrap_or("ROOT")),
                "gsi2sk": code,
            }),
        )?;
        let claim = unique_item("UNIT", &code, &unit.id);
        match self
            .table
            .transact_write(vec![
                TxOp::Put {
                    item: it,
                    condition: Some(Condition::absent()),
                },
                TxOp::Put {
                    item: claim,
                    condition: Some(Condition::absent()),
                },
            ])
            .await
        {
            Ok(()) => Ok(unit),
            Err(TableError::ConditionFailed { op: Some(1) }) => Err(ServiceError::conflict(
                "code",
                text!("kode unit sudah dipakai", "unit code is already in use"),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn unit(&self, id: &str) -> Result<Unit, ServiceError> {
        match self.table.get(&unit_key(id)).await? {
            Some(it) => from_item(it),
            None => Err(ServiceError::NotFound("unit")),
        }
    }

    /// A unit by id or by code.
    pub async fn find_unit(&self, id_or_code: &str) -> Result<Option<Unit>, ServiceError> {
        if let Some(it) = self.table.get(&unit_key(id_or_code)).await? {
            return Ok(Some(from_item(it)?));
        }
        let code = id_or_code.trim().to_uppercase();
        match self.table.get(&unique_key("UNIT", &code)).await? {
            Some(claim) => match claim.get("owner").and_then(Value::as_str) {
                Some(id) => Ok(Some(self.unit(id).await?)),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// All units, ordered by code.
    pub async fn units(&self) -> Result<Vec<Unit>, ServiceError> {
        self.collect(Query::partition(Index::Gsi1, "UNITS")).await
    }

    /// Direct children of a unit (`None`: the roots).
    pub async fn child_units(&self, parent: Option<&str>) -> Result<Vec<Unit>, ServiceError> {
        self.collect(Query::partition(
            Index::Gsi2,
            format!("UNITCHILD#{}", parent.unwrap_or("ROOT")),
        ))
        .await
    }

    /// Makes `head` the head of the unit. The head must belong to the unit.
    pub async fn set_unit_head(&self, unit_id: &str, head: &str) -> Result<Unit, ServiceError> {
        let mut unit = self.unit(unit_id).await?;
        let emp = self.find_employee(head).await?.ok_or_else(|| {
            ServiceError::invalid(
                "head_id",
                text!("pegawai tidak ditemukan", "employee not found"),
            )
        })?;
        if emp.unit_id != unit.id {
            return Err(ServiceError::invalid(
                "head_id",
                text!(
                    "kepala unit harus anggota unit itu",
                    "the head of a unit must belong to that unit"
                ),
            ));
        }
        let version = unit.version;
        unit.head_id = Some(emp.id.clone());
        unit.version += 1;
        self.table
            .update(
                &unit_key(&unit.id),
                crate::ports::table::Update::new()
                    .set("head_id", emp.id)
                    .set("version", unit.version),
                Some(Condition::version(version)),
            )
            .await
            .map_err(stale)?;
        Ok(unit)
    }

    // ---------- employees ----------

    /// Parses and checks input; returns the employee to store or every field error.
    async fn prepare_employee(&self, input: &NewEmployee) -> Result<Employee, ServiceError> {
        let mut errors = FieldErrors::default();
        let nip = match Nip::parse(&input.nip) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.add("nip", e.0);
                None
            }
        };
        let email = match Email::parse(&input.email) {
            Ok(e) => Some(e),
            Err(e) => {
                errors.add("email", e.0);
                None
            }
        };
        let name = required(&mut errors, "name", &input.name, 200);
        let jabatan = required(&mut errors, "jabatan", &input.jabatan, 200);
        let unit = if input.unit.trim().is_empty() {
            errors.add("unit", text!("wajib diisi", "is required"));
            None
        } else {
            let u = self.find_unit(input.unit.trim()).await?;
            if u.is_none() {
                errors.add("unit", text!("unit tidak ditemukan", "unit not found"));
            }
            u
        };
        let supervisor = match optional(&input.supervisor) {
            Some(s) => {
                let found = self.find_employee(&s).await?;
                if found.is_none() {
                    errors.add(
                        "supervisor",
                        text!("atasan tidak ditemukan", "supervisor not found"),
                    );
                }
                found
            }
            None => None,
        };
        let mut roles = BTreeSet::from([Role::Staff]);
        for r in input.roles.iter().filter(|r| !r.trim().is_empty()) {
            match Role::parse(r) {
                Some(role) => {
                    roles.insert(role);
                }
                None => errors.add(
                    "roles",
                    text!(
                        "peran `{}` tidak dikenal (staff, approver, ppk, bendahara, archivist, admin, agendaris)",
                        "unknown role `{}` (staff, approver, ppk, bendahara, archivist, admin, agendaris)",
                        r.trim()
                    ),
                ),
            }
        }
        for (field, v) in [("pangkat", &input.pangkat), ("golongan", &input.golongan)] {
            if v.as_ref().is_some_and(|s| s.chars().count() > 100) {
                errors.add(
                    field,
                    text!("paling banyak 100 karakter", "at most 100 characters"),
                );
            }
        }
        errors.into_result()?;
        let (Some(nip), Some(email), Some(unit)) = (nip, email, unit) else {
            return Err(ServiceError::Internal("fields checked above".into()));
        };
        Ok(Employee {
            id: new_id(),
            nip,
            name,
            pangkat: optional(&input.pangkat),
            golongan: optional(&input.golongan),
            jabatan,
            unit_id: unit.id,
            supervisor_id: supervisor.map(|s| s.id),
            email,
            roles,
            active: true,
            version: 1,
        })
    }

    fn employee_ops(&self, emp: &Employee) -> Result<Vec<TxOp>, ServiceError> {
        let key = emp_key(&emp.id);
        let sort = sort_name(&emp.name, &emp.id);
        let mut extra = json!({
            "type": "employee",
            "gsi1pk": "EMPS", "gsi1sk": sort,
            "gsi2pk": format!("UNITEMP#{}", emp.unit_id), "gsi2sk": sort,
        });
        if let (Some(s), Value::Object(m)) = (&emp.supervisor_id, &mut extra) {
            m.insert("gsi3pk".into(), Value::String(format!("REPORTS#{s}")));
            m.insert("gsi3sk".into(), Value::String(sort.clone()));
        }
        Ok(vec![
            TxOp::Put {
                item: to_item(&key, emp, extra)?,
                condition: Some(Condition::absent()),
            },
            TxOp::Put {
                item: unique_item("NIP", emp.nip.as_str(), &emp.id),
                condition: Some(Condition::absent()),
            },
            TxOp::Put {
                item: unique_item("EMAIL", emp.email.as_str(), &emp.id),
                condition: Some(Condition::absent()),
            },
        ])
    }

    /// Creates an employee with its NIP and email claims in one transaction.
    /// An employee created as admin counts as one more active admin ([`admins`]).
    pub async fn create_employee(&self, input: NewEmployee) -> Result<Employee, ServiceError> {
        let emp = self.prepare_employee(&input).await?;
        let mut ops = self.employee_ops(&emp)?;
        ops.extend(self.guard_for_new(&emp).await?);
        match self.table.transact_write(ops).await {
            Ok(()) => {
                tracing::info!(employee = %emp.id, unit = %emp.unit_id, "employee created");
                Ok(emp)
            }
            Err(TableError::ConditionFailed { op: Some(1) }) => Err(ServiceError::conflict(
                "nip",
                text!("NIP sudah terdaftar", "NIP is already registered"),
            )),
            Err(TableError::ConditionFailed { op: Some(2) }) => Err(ServiceError::conflict(
                "email",
                text!("email sudah terdaftar", "email is already registered"),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn employee(&self, id: &str) -> Result<Employee, ServiceError> {
        match self.table.get(&emp_key(id)).await? {
            Some(it) => from_item(it),
            None => Err(ServiceError::NotFound("employee")),
        }
    }

    /// An employee by id, NIP (with or without spaces) or email.
    pub async fn find_employee(&self, login: &str) -> Result<Option<Employee>, ServiceError> {
        let login = login.trim();
        if login.is_empty() {
            return Ok(None);
        }
        let claim = if let Ok(nip) = Nip::parse(login) {
            self.table.get(&unique_key("NIP", nip.as_str())).await?
        } else if let Ok(email) = Email::parse(login) {
            self.table.get(&unique_key("EMAIL", email.as_str())).await?
        } else {
            return match self.table.get(&emp_key(login)).await? {
                Some(it) => Ok(Some(from_item(it)?)),
                None => Ok(None),
            };
        };
        match claim
            .as_ref()
            .and_then(|c| c.get("owner"))
            .and_then(Value::as_str)
        {
            Some(id) => match self.table.get(&emp_key(id)).await? {
                Some(it) => Ok(Some(from_item(it)?)),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Employees ordered by name, one page at a time.
    pub async fn employees(
        &self,
        unit: Option<&str>,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<Employee>, Option<String>), ServiceError> {
        let q = match unit {
            Some(u) => Query::partition(Index::Gsi2, format!("UNITEMP#{u}")),
            None => Query::partition(Index::Gsi1, "EMPS"),
        }
        .limit(limit)
        .after(cursor);
        let page = self.table.query(q).await?;
        let emps = page
            .items
            .into_iter()
            .map(from_item)
            .collect::<Result<_, _>>()?;
        Ok((emps, page.cursor))
    }

    /// Direct reports of a supervisor.
    pub async fn reports(&self, supervisor_id: &str) -> Result<Vec<Employee>, ServiceError> {
        self.collect(Query::partition(
            Index::Gsi3,
            format!("REPORTS#{supervisor_id}"),
        ))
        .await
    }

    /// Replaces the role set (everyone keeps `staff`), guarded by `version`. Taking
    /// `admin` from the last active admin is refused ([`admins::last_admin`]).
    pub async fn set_roles(
        &self,
        id: &str,
        roles: &[String],
        version: i64,
    ) -> Result<Employee, ServiceError> {
        let mut set = BTreeSet::from([Role::Staff]);
        let mut errors = FieldErrors::default();
        for r in roles {
            match Role::parse(r) {
                Some(role) => {
                    set.insert(role);
                }
                None => errors.add(
                    "roles",
                    text!("peran `{r}` tidak dikenal", "unknown role `{r}`"),
                ),
            }
        }
        errors.into_result()?;
        let before = self.employee(id).await?;
        if before.version != version {
            return Err(ServiceError::Stale);
        }
        let names: Vec<&str> = set.iter().map(|r| r.as_str()).collect();
        let after = Employee {
            roles: set.clone(),
            ..before.clone()
        };
        self.write_guarded(
            &before,
            &after,
            crate::ports::table::Update::new().set("roles", json!(names)),
            "roles",
        )
        .await
    }

    /// The supervisor of an employee: the explicit supervisor if set, else the head of
    /// their unit (if that is not themselves), else the head of the nearest ancestor unit.
    pub async fn supervisor(&self, emp: &Employee) -> Result<Option<Employee>, ServiceError> {
        if let Some(s) = &emp.supervisor_id {
            return Ok(Some(self.employee(s).await?));
        }
        let mut unit = Some(self.unit(&emp.unit_id).await?);
        let mut hops = 0;
        while let Some(u) = unit {
            if let Some(h) = u.head_id.as_deref().filter(|h| *h != emp.id) {
                return Ok(Some(self.employee(h).await?));
            }
            hops += 1;
            if hops > 32 {
                return Err(ServiceError::Internal(
                    "unit tree deeper than 32 levels".into(),
                ));
            }
            unit = match &u.parent_id {
                Some(p) => Some(self.unit(p).await?),
                None => None,
            };
        }
        Ok(None)
    }

    /// Supervisor, their supervisor, … up to the top of the organisation.
    pub async fn supervisor_chain(&self, emp: &Employee) -> Result<Vec<Employee>, ServiceError> {
        let mut chain: Vec<Employee> = Vec::new();
        let mut seen = BTreeSet::from([emp.id.clone()]);
        let mut current = emp.clone();
        while let Some(next) = self.supervisor(&current).await? {
            if !seen.insert(next.id.clone()) {
                return Err(ServiceError::invalid(
                    "supervisor",
                    text!(
                        "rantai atasan berputar pada {}",
                        "the supervisor chain loops at {}",
                        next.name
                    ),
                ));
            }
            chain.push(next.clone());
            current = next;
        }
        Ok(chain)
    }

    // ---------- delegations (Plh) ----------

    pub async fn create_delegation(
        &self,
        principal: &str,
        acting: &str,
        from: &str,
        to: &str,
        reason: &str,
    ) -> Result<Delegation, ServiceError> {
        let mut errors = FieldErrors::default();
        let p = self.find_employee(principal).await?;
        if p.is_none() {
            errors.add(
                "principal",
                text!("pejabat tidak ditemukan", "official not found"),
            );
        }
        let a = self.find_employee(acting).await?;
        if a.is_none() {
            errors.add(
                "acting",
                text!("Plh tidak ditemukan", "Plh (acting official) not found"),
            );
        }
        let from = crate::types::parse_date(from)
            .map_err(|e| errors.add("from", e.0))
            .ok();
        let to = crate::types::parse_date(to)
            .map_err(|e| errors.add("to", e.0))
            .ok();
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                errors.add(
                    "to",
                    text!(
                        "tanggal selesai sebelum tanggal mulai",
                        "the end date is before the start date"
                    ),
                );
            }
        }
        if let (Some(p), Some(a)) = (&p, &a) {
            if p.id == a.id {
                errors.add(
                    "acting",
                    text!(
                        "Plh tidak boleh pejabat itu sendiri",
                        "the Plh cannot be the official themselves"
                    ),
                );
            }
        }
        let reason = required(&mut errors, "reason", reason, 200);
        errors.into_result()?;
        let (Some(p), Some(a), Some(from), Some(to)) = (p, a, from, to) else {
            return Err(ServiceError::Internal("fields checked above".into()));
        };
        for existing in self.delegations_of(&p.id).await? {
            if existing.from <= to && from <= existing.to {
                return Err(ServiceError::conflict(
                    "from",
                    text!(
                        "periode bertumpang tindih dengan Plh yang sudah ada",
                        "the period overlaps an existing Plh"
                    ),
                ));
            }
        }
        let d = Delegation {
            id: new_id(),
            principal_id: p.id.clone(),
            acting_id: a.id.clone(),
            from,
            to,
            reason,
        };
        let sort = format!("{}#{}", from, d.id);
        let it = to_item(
            &deleg_key(&d.id),
            &d,
            json!({"type":"delegation",
                   "gsi1pk": format!("DELEGOF#{}", p.id), "gsi1sk": sort,
                   "gsi2pk": format!("DELEGTO#{}", a.id), "gsi2sk": sort}),
        )?;
        self.table.put(it, Some(Condition::absent())).await?;
        Ok(d)
    }

    pub async fn delegations_of(
        &self,
        principal_id: &str,
    ) -> Result<Vec<Delegation>, ServiceError> {
        self.collect(Query::partition(
            Index::Gsi1,
            format!("DELEGOF#{principal_id}"),
        ))
        .await
    }

    /// Delegations where `acting_id` is Plh.
    pub async fn delegations_to(&self, acting_id: &str) -> Result<Vec<Delegation>, ServiceError> {
        self.collect(Query::partition(
            Index::Gsi2,
            format!("DELEGTO#{acting_id}"),
        ))
        .await
    }

    /// Who acts on `emp`'s approvals on `day`: the Plh if a delegation covers the day.
    pub async fn acting_for(&self, emp: &Employee, day: Date) -> Result<Employee, ServiceError> {
        let ds = self
            .table
            .query(
                Query::partition(Index::Gsi1, format!("DELEGOF#{}", emp.id))
                    .sk(SortKey::Le(format!("{day}#~"))),
            )
            .await?;
        for it in ds.items {
            let d: Delegation = from_item(it)?;
            if d.covers(day) {
                return self.employee(&d.acting_id).await;
            }
        }
        Ok(emp.clone())
    }

    /// Today in WIB.
    pub fn today(&self) -> Date {
        self.clock.now().date()
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    // ---------- CSV import ----------

    /// Imports employees from CSV (header row required; columns `nip, nama|name, email,
    /// jabatan, unit, pangkat, golongan, atasan|supervisor, peran|roles` with roles
    /// separated by `;`). Each row is written atomically or not at all; every rejected row
    /// is reported with its field errors. Rows may name supervisors imported earlier in
    /// the same file.
    pub async fn import_employees_csv(&self, csv_text: &str) -> Result<ImportReport, ServiceError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(csv_text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| {
                ServiceError::invalid(
                    "file",
                    text!("CSV tidak terbaca: {e}", "the CSV could not be read: {e}"),
                )
            })?
            .clone();
        let col = |names: &[&str]| {
            headers.iter().position(|h| {
                names.iter().any(|n| {
                    h.trim()
                        .trim_start_matches('\u{feff}')
                        .eq_ignore_ascii_case(n)
                })
            })
        };
        let cols = [
            ("nip", col(&["nip"])),
            ("name", col(&["nama", "name"])),
            ("email", col(&["email", "surel"])),
            ("jabatan", col(&["jabatan", "position"])),
            ("unit", col(&["unit", "unit_kerja"])),
        ];
        let missing: Vec<&str> = cols
            .iter()
            .filter(|(_, c)| c.is_none())
            .map(|(n, _)| *n)
            .collect();
        if !missing.is_empty() {
            return Err(ServiceError::invalid(
                "file",
                text!(
                    "kolom wajib tidak ada: {}",
                    "required columns are missing: {}",
                    missing.join(", ")
                ),
            ));
        }
        let (pangkat, golongan) = (col(&["pangkat"]), col(&["golongan", "gol"]));
        let (atasan, peran) = (col(&["atasan", "supervisor"]), col(&["peran", "roles"]));
        let mut report = ImportReport::default();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    report.push_rejected(
                        line,
                        None,
                        FieldErrors::one(
                            "row",
                            text!("baris tidak terbaca: {e}", "the row could not be read: {e}"),
                        ),
                    );
                    continue;
                }
            };
            let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_string();
            let opt = |c: Option<usize>| Some(get(c)).filter(|s| !s.is_empty());
            let input = NewEmployee {
                nip: get(cols[0].1),
                name: get(cols[1].1),
                email: get(cols[2].1),
                jabatan: get(cols[3].1),
                unit: get(cols[4].1),
                pangkat: opt(pangkat),
                golongan: opt(golongan),
                supervisor: opt(atasan),
                roles: get(peran)
                    .split([';', '|'])
                    .map(str::to_string)
                    .filter(|s| !s.trim().is_empty())
                    .collect(),
            };
            match self.create_employee(input.clone()).await {
                Ok(emp) => report.rows.push(ImportRow {
                    line,
                    nip: Some(emp.nip.to_string()),
                    status: ImportStatus::Imported,
                    employee_id: Some(emp.id),
                    errors: BTreeMap::new(),
                }),
                Err(ServiceError::Invalid(errors)) => {
                    report.push_rejected(line, Some(input.nip), errors)
                }
                Err(ServiceError::Conflict { field, message }) => {
                    report.push_rejected(line, Some(input.nip), FieldErrors::one(&field, message))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    async fn collect<T: serde::de::DeserializeOwned>(
        &self,
        q: Query,
    ) -> Result<Vec<T>, ServiceError> {
        crate::record::collect(self.table.as_ref(), q, "record").await
    }
}

fn unique_item(kind: &str, value: &str, owner: &str) -> Item {
    let k = unique_key(kind, value);
    item(json!({"pk": k.pk, "sk": k.sk, "type": "unique", "owner": owner}))
}

fn stale(e: TableError) -> ServiceError {
    match e {
        TableError::ConditionFailed { .. } => ServiceError::Stale,
        other => other.into(),
    }
}

// ---------- the first administrator ----------

/// The code of the root unit [`bootstrap`] creates (the demo's root has it too). Its
/// unique claim is the first write of either, so of two concurrent set-ups one wins.
pub const ROOT_UNIT_CODE: &str = "PIMP";

/// The field of the conflict [`bootstrap`] and [`crate::demo::load`] refuse with when the
/// organisation is already set up.
pub const ALREADY_SET_UP_FIELD: &str = "organisation";

fn already_set_up() -> ServiceError {
    ServiceError::conflict(
        ALREADY_SET_UP_FIELD,
        text!(
            "organisasi sudah disiapkan (sudah ada unit)",
            "the organisation is already set up (it has units)"
        ),
    )
}

/// The organisation and its first administrator, as `paraf init` and the AWS `setup`
/// function take them (unparsed).
#[derive(Clone, Default, Deserialize)]
pub struct FirstAdmin {
    /// The name of the root unit.
    pub org_name: String,
    pub nip: String,
    pub email: String,
    pub name: String,
    pub password: String,
}

impl std::fmt::Debug for FirstAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstAdmin")
            .field("org_name", &self.org_name)
            .field("nip", &self.nip)
            .field("email", &self.email)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl FirstAdmin {
    /// Checks every field without touching the table, naming each one at fault:
    /// `org_name`, `nip`, `email`, `name`, `password`.
    pub fn check(&self) -> Result<(), ServiceError> {
        let mut errors = FieldErrors::default();
        required(&mut errors, "org_name", &self.org_name, 200);
        if let Err(e) = Nip::parse(&self.nip) {
            errors.add("nip", e.0);
        }
        if let Err(e) = Email::parse(&self.email) {
            errors.add("email", e.0);
        }
        required(&mut errors, "name", &self.name, 200);
        if let Err(ServiceError::Invalid(e)) = crate::auth::check_password(&self.password) {
            for (field, message) in e.iter() {
                errors.add(field, message.clone());
            }
        }
        errors.into_result()
    }
}

/// Sets up an empty organisation: the root unit ([`ROOT_UNIT_CODE`], named `org_name`)
/// and the first administrator in it (roles staff and admin) with `password`.
///
/// Refuses with a `Conflict` on [`ALREADY_SET_UP_FIELD`], writing nothing, when the
/// organisation has any unit; refuses with `Invalid` (see [`FirstAdmin::check`]) before
/// reading anything. The three writes are not one transaction: a failure after the
/// first leaves a root unit behind, and a second run is then refused.
pub async fn bootstrap(
    auth: &crate::auth::Auth,
    admin: &FirstAdmin,
) -> Result<Employee, ServiceError> {
    admin.check()?;
    let org = auth.org();
    org.ensure_empty().await?;
    let unit = org
        .create_unit(NewUnit {
            code: ROOT_UNIT_CODE.into(),
            name: admin.org_name.trim().into(),
            kind: UnitKind::Pimpinan.as_str().into(),
            parent_id: None,
        })
        .await
        .map_err(set_up_on_conflict)?;
    let employee = org
        .create_employee(NewEmployee {
            nip: admin.nip.clone(),
            name: admin.name.clone(),
            email: admin.email.clone(),
            jabatan: "Administrator paraf".into(),
            unit: unit.id,
            roles: vec![Role::Admin.as_str().into()],
            ..Default::default()
        })
        .await?;
    auth.set_password(&employee.id, &admin.password).await?;
    tracing::info!(employee = %employee.id, "organisation set up with its first administrator");
    Ok(employee)
}

/// A conflict on the root unit's code means another set-up got there first.
pub(crate) fn set_up_on_conflict(e: ServiceError) -> ServiceError {
    match e {
        ServiceError::Conflict { .. } => already_set_up(),
        other => other,
    }
}

impl Org {
    /// `Ok` when the organisation has no unit yet; else the conflict [`bootstrap`] and the
    /// demo refuse with.
    pub async fn ensure_empty(&self) -> Result<(), ServiceError> {
        let page = self
            .table
            .query(Query::partition(Index::Gsi1, "UNITS").limit(1))
            .await?;
        if page.items.is_empty() {
            Ok(())
        } else {
            Err(already_set_up())
        }
    }
}

/// A sortable random id (UUID v7, simple form).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ImportStatus {
    Imported,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    /// Line in the file (the header is line 1).
    pub line: usize,
    pub nip: Option<String>,
    pub status: ImportStatus,
    pub employee_id: Option<String>,
    /// field → reason in both languages (empty when imported).
    pub errors: BTreeMap<String, Text>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub rows: Vec<ImportRow>,
}

impl ImportReport {
    fn push_rejected(&mut self, line: usize, nip: Option<String>, errors: FieldErrors) {
        self.rows.push(ImportRow {
            line,
            nip,
            status: ImportStatus::Rejected,
            employee_id: None,
            errors: errors.into_map(),
        });
    }
    pub fn imported(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.status == ImportStatus::Imported)
            .count()
    }
    pub fn rejected(&self) -> usize {
        self.rows.len() - self.imported()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::Auth;
    use crate::memory::MemoryTable;
    use crate::ports::clock::SystemClock;

    fn auth() -> Auth {
        Auth::new(Arc::new(MemoryTable::new()), Arc::new(SystemClock))
    }

    /// The organisation the domain's unit tests set up: admin `it@contoh.go.id`, password
    /// `rahasia-sekali`.
    pub(crate) fn first_admin() -> FirstAdmin {
        FirstAdmin {
            org_name: "KPU Kabupaten Contoh".into(),
            nip: "198503122010011003".into(),
            email: "it@contoh.go.id".into(),
            name: "Admin Contoh".into(),
            password: "rahasia-sekali".into(),
        }
    }

    #[tokio::test]
    async fn bootstrap_creates_the_root_unit_and_an_admin_who_can_log_in() {
        let auth = auth();
        let admin = bootstrap(&auth, &first_admin()).await.expect("set up");
        assert!(admin.has_role(Role::Admin));
        let root = auth.org().unit(&admin.unit_id).await.expect("root unit");
        assert_eq!(
            (root.code.as_str(), root.name.as_str()),
            (ROOT_UNIT_CODE, "KPU Kabupaten Contoh")
        );
        let who = auth
            .authenticate("it@contoh.go.id", "rahasia-sekali", None)
            .await
            .expect("logs in");
        assert_eq!(who.id, admin.id);
    }

    #[tokio::test]
    async fn bootstrap_refuses_an_organisation_that_has_a_unit_and_writes_nothing() {
        let auth = auth();
        bootstrap(&auth, &first_admin()).await.expect("first run");
        let second = FirstAdmin {
            nip: "199001012015031001".into(),
            email: "lain@contoh.go.id".into(),
            ..first_admin()
        };
        let e = bootstrap(&auth, &second).await.expect_err("second run");
        assert!(
            matches!(&e, ServiceError::Conflict { field, .. } if field == ALREADY_SET_UP_FIELD),
            "{e:?}"
        );
        assert_eq!(auth.org().units().await.expect("units").len(), 1);
        assert!(auth
            .org()
            .find_employee("lain@contoh.go.id")
            .await
            .expect("find")
            .is_none());
    }

    #[tokio::test]
    async fn bootstrap_names_every_bad_field_before_writing_anything() {
        let auth = auth();
        let bad = FirstAdmin {
            org_name: " ".into(),
            nip: "123".into(),
            email: "not-an-address".into(),
            name: String::new(),
            password: "short".into(),
        };
        let Err(ServiceError::Invalid(fields)) = bootstrap(&auth, &bad).await else {
            panic!("expected Invalid");
        };
        let named: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(named, ["email", "name", "nip", "org_name", "password"]);
        assert!(auth.org().units().await.expect("units").is_empty());
    }
}
