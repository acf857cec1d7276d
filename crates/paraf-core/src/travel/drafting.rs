//! Drafting: a requester fills the form (a draft, or a returned order before it is
//! resubmitted) and adds attachments.

use super::*;

impl Travel {
    pub(super) async fn resolve_employee(
        &self,
        who: &str,
    ) -> Result<Option<Employee>, ServiceError> {
        Ok(self
            .org
            .find_employee(who.trim())
            .await?
            .filter(|e| e.active))
    }

    pub(super) async fn heads_kind(
        &self,
        emp: &Employee,
    ) -> Result<Option<UnitKind>, ServiceError> {
        let unit = self.org.unit(&emp.unit_id).await?;
        Ok((unit.head_id.as_deref() == Some(emp.id.as_str())).then_some(unit.kind))
    }

    pub(super) async fn traveller(&self, emp: &Employee) -> Result<Traveller, ServiceError> {
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
    pub(super) async fn default_ppk(&self) -> Result<Option<Employee>, ServiceError> {
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
    pub(super) async fn apply(
        &self,
        o: &mut TravelOrder,
        input: &OrderInput,
    ) -> Result<(), ServiceError> {
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
        for (i, f) in input.pengikut.iter().enumerate() {
            e.check_text(&format!("pengikut.{i}.nama"), &f.nama);
            e.check_text(&format!("pengikut.{i}.keterangan"), &f.keterangan);
        }
        e.check_text("maksud", &input.maksud);
        e.check_text("keterangan", &input.keterangan);
        for (field, p) in [
            ("tempat_berangkat", &input.tempat_berangkat),
            ("tempat_tujuan", &input.tempat_tujuan),
        ] {
            if let Some(p) = p {
                e.check_text(&format!("{field}.provinsi"), &p.provinsi);
                e.check_text(&format!("{field}.kota"), &p.kota);
            }
        }
        if let Some(b) = &input.anggaran {
            e.check_text("anggaran.instansi", &b.instansi);
            e.check_text("anggaran.akun", &b.akun);
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
        // A draft may be incomplete, never impossible: the trip's length is bounded from
        // the first save, not only at submission.
        if let (Some(Some(a)), Some(Some(b))) = (dep, ret) {
            if (b - a).whole_days() + 1 > MAX_DAYS {
                e.add(
                    "tanggal_kembali",
                    text!(
                        "perjalanan paling lama {} hari",
                        "a trip lasts at most {} days",
                        MAX_DAYS
                    ),
                );
            }
        }
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

    /// A new, empty draft of `who` (not saved).
    async fn blank(
        &self,
        who: &Principal,
        now: OffsetDateTime,
    ) -> Result<TravelOrder, ServiceError> {
        let requester = self.org.employee(&who.employee_id).await?;
        Ok(TravelOrder {
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
            decisions: 0,
            return_note: None,
            travellers_mailed: false,
            timeline: Vec::new(),
            created: now,
            updated: now,
        })
    }

    /// The cost estimate of a form as it would be saved, per traveller and in total;
    /// nothing is written. Refused like a save (422 naming the field), and without a
    /// traveller, dates or SBM rates for the destination.
    pub async fn estimate_form(
        &self,
        who: &Principal,
        input: OrderInput,
    ) -> Result<Estimate, ServiceError> {
        let mut o = self.blank(who, self.clock.now()).await?;
        let mut input = input;
        input.version = None;
        self.apply(&mut o, &input).await?;
        if o.pelaksana.is_empty() {
            return Err(ServiceError::invalid(
                "pelaksana",
                text!(
                    "pilih paling sedikit satu pelaksana",
                    "choose at least one traveller"
                ),
            ));
        }
        self.estimate(&o).await
    }

    /// Saves a new draft by `who`.
    pub async fn create_draft(
        &self,
        who: &Principal,
        input: OrderInput,
    ) -> Result<TravelOrder, ServiceError> {
        let now = self.clock.now();
        let mut o = self.blank(who, now).await?;
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

    pub(super) fn require_editor(o: &TravelOrder, who: &Principal) -> Result<(), ServiceError> {
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
        // The form replaces the whole draft, so it must be the one the editor read.
        if input.version.is_none() {
            return Err(ServiceError::invalid(
                "version",
                text!(
                    "wajib diisi: versi pengajuan yang dibaca",
                    "is required: the version of the order that was read"
                ),
            ));
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
}
