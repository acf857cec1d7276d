//! After the trip: stops endorsed by the officials visited, the report, photos and the
//! actual costs, then the report sent for verification.

use super::*;

impl Travel {
    pub(super) fn require_traveller_side(
        o: &TravelOrder,
        who: &Principal,
    ) -> Result<(), ServiceError> {
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

    pub(super) async fn change_after_trip(
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

    pub(super) async fn set_endorsement(
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
        decide!(self, id, |o, now| {
            Self::require_traveller_side(o, who)?;
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
            Ok(Some(Vec::new()))
        })
    }
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
