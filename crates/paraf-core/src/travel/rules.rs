//! The rules a submission must pass (completeness, dates, overlapping trips, the monthly
//! cap), the cost estimate from the SBM, the chain derived from the organisation, and the
//! traveller-day and budget holds written with the order.

use super::*;

impl Travel {
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
    pub(super) async fn check_rules(&self, o: &TravelOrder) -> Result<Estimate, ServiceError> {
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
    pub(super) async fn trips_of(
        &self,
        emp: &str,
    ) -> Result<Vec<(String, Date, Date)>, ServiceError> {
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

    /// The writes that take a traveller's days (`hold`) or give them back.
    pub(super) fn trip_ops(o: &TravelOrder, hold: bool) -> Vec<TxOp> {
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
    pub(super) async fn hold(
        &self,
        o: &mut TravelOrder,
        total: i64,
    ) -> Result<Vec<TxOp>, ServiceError> {
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
