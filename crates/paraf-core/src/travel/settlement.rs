//! Settlement: the bendahara and then the PPK verify the report; the PPK's acceptance
//! leads to the settlement documents and completes the order.

use super::*;

impl Travel {
    /// The bendahara (on a submitted report) or then the PPK (on a verified one) accepts
    /// or returns with notes, once: a verifier whose step is already decided (by them, a
    /// colleague, or a request racing theirs) gets 409 "sudah diputuskan" and nothing is
    /// written. Returns the order and whether the PPK's acceptance now needs the
    /// settlement documents (the order is then [`OrderStatus::Accepted`]).
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
        let o = decide!(self, id, |o, now| {
            // The order's PPK, or their Plh while they are away.
            let ppk_side = o.ppk_id == who.employee_id
                || match self.org.employee(&o.ppk_id).await {
                    Ok(ppk) => self.org.acting_for(&ppk, now.date()).await?.id == who.employee_id,
                    Err(_) => false,
                };
            let bendahara = who.has(Role::Bendahara);
            let role = match o.status {
                OrderStatus::Reported if bendahara => "bendahara",
                OrderStatus::Verified if ppk_side => "ppk",
                // Past the caller's step: the bendahara's once the report is verified,
                // the PPK's once payment is approved.
                OrderStatus::Verified if bendahara => return Err(ServiceError::already_decided()),
                OrderStatus::Accepted | OrderStatus::Completed if bendahara || ppk_side => {
                    return Err(ServiceError::already_decided())
                }
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
                (true, _) => {
                    o.status = OrderStatus::Accepted;
                    (
                        "accepted",
                        text!(
                            "disetujui untuk dibayar oleh PPK {}",
                            "approved for payment by the PPK {}",
                            who.name
                        ),
                    )
                }
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
            match o.status {
                OrderStatus::Completed => return Ok(None),
                OrderStatus::Accepted => {}
                s => {
                    return Err(wrong_status(
                        "pembayaran belum disetujui PPK",
                        "payment is not approved by the PPK",
                        s,
                    ))
                }
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

    /// The PPK (or Plh) whose acceptance the settlement documents carry.
    pub fn accepting_verifier(o: &TravelOrder) -> Option<&Verification> {
        o.verifications
            .iter()
            .rev()
            .find(|v| v.accepted && v.role == "ppk")
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
