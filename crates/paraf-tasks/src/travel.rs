//! The documents of e-SPPD: at final approval the Surat Tugas (signed by the Sekretaris)
//! and one SPPD per traveller (signed by the PPK), every reviewer's paraf an invisible
//! signature before; at settlement the kuitansi, rincian biaya and daftar pengeluaran
//! riil per traveller, the SPPD's endorsement page and the trip report.
//!
//! Both run again safely: numbers are allocated once per order, document ids derive from
//! the order (and the workflow execution), and a document already archived is reused.

use std::sync::Arc;

use paraf_core::archive::{ArchivedDocument, NewArchive, Signatory};
use paraf_core::format::rupiah;
use paraf_core::numbers::{self, Series};
use paraf_core::signing::{Failure, SignSteps, StepRef};
use paraf_core::travel::{
    date_str, settle_person, Decider, OrderStatus, SettlementDoc, Travel, TravelOrder,
    CLASSIFICATION, SERVICE,
};
use paraf_core::{Employee, Mail, Mailer, Org, Principal, Role, ServiceError};
use paraf_pdf::render::layouts;
use paraf_pdf::{Placement, Rect, SignOptions};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::sign::{
    document_id_for, ensure_key, SignContext, SignTaskError, SignTaskOutput, StepKind,
};

/// What the approval workflow's sign task returns for a travel order: the SPT's archive
/// entry (the SPPDs are recorded on the order).
pub async fn finalize(
    ctx: &SignContext,
    mailer: Option<&dyn Mailer>,
    travel: &Travel,
    order_id: &str,
    execution_id: &str,
    signed_at: OffsetDateTime,
) -> Result<SignTaskOutput, SignTaskError> {
    let o = travel.load(order_id).await?;
    if o.execution_id.as_deref() != Some(execution_id) {
        // Only the order's own approval signs its documents and takes its numbers.
        return Err(SignTaskError::Invalid(format!(
            "execution {execution_id} is not the approval of order {order_id}"
        )));
    }
    let deciders = travel.deciders(&o).await?;
    let on = signed_at.to_offset(paraf_core::WIB).date();
    let o = travel.allocate_approval_numbers(&o.id, on).await?;
    let people = people_of(&ctx.org, &deciders).await?;
    let mut papers = approval_papers(&o, &people, execution_id, on)?.into_iter();
    let spt = papers
        .next()
        .ok_or_else(|| SignTaskError::Invalid("the order has no approval chain".into()))?;
    let spt = sign_document(ctx, spt, &o, signed_at).await?;
    let mut sppd_ids = Vec::new();
    for paper in papers {
        let doc = sign_document(ctx, paper, &o, signed_at).await?;
        sppd_ids.push(doc.id);
    }
    let o = travel.mark_approved(&o.id, &spt.id, &sppd_ids).await?;
    // Once: a retry of the task finds the mail recorded. (A crash between sending and
    // recording sends it again on the retry, like the approval mails.)
    if let Some(m) = mailer.filter(|_| !o.travellers_mailed) {
        mail_travellers(ctx, m, &o).await;
        travel.mark_travellers_mailed(&o.id).await?;
    }
    Ok(SignTaskOutput {
        document_id: spt.id,
        sha256: spt.sha256,
        number: spt.number,
    })
}

/// The PPK accepted the report: renders, signs and archives the settlement documents and
/// completes the order. The PPK (or their Plh) who accepted signs. Runs again safely.
pub async fn settle(
    ctx: &SignContext,
    travel: &Travel,
    order_id: &str,
) -> Result<TravelOrder, SignTaskError> {
    let o = travel.load(order_id).await?;
    if o.status == OrderStatus::Completed {
        return Ok(o);
    }
    let (verifier, ppk_at) = Travel::accepting_verifier(&o)
        .map(|v| (v.by_id.clone(), v.at))
        .ok_or_else(|| SignTaskError::Invalid("payment is not approved by the PPK".into()))?;
    let now = ctx.clock.now();
    let on = now.to_offset(paraf_core::WIB).date();
    let o = travel.allocate_settlement_numbers(&o.id, on).await?;
    let sbm = travel.sbm_of(&o).await?;
    let ppk = employee(&ctx.org, &verifier).await?;
    let bendahara_v = o
        .verifications
        .iter()
        .rev()
        .find(|v| v.accepted && v.role == "bendahara")
        .map(|v| (v.by_id.clone(), v.at));
    let bendahara = match bendahara_v {
        Some((id, at)) => Some((employee(&ctx.org, &id).await?, at)),
        None => None,
    };
    let who =
        |e: &Employee| json!({"nama": e.name, "nip": e.nip.to_string(), "jabatan": e.jabatan});
    let ppk_json = who(&ppk);
    let bendahara_json = bendahara
        .as_ref()
        .map(|(b, _)| who(b))
        .unwrap_or_else(|| json!({"nama": "-", "nip": null}));
    // The bendahara signs where the layout has their slot, then the PPK, each at the time
    // of their verification.
    let mut signers = Vec::new();
    if let Some((b, at)) = &bendahara {
        signers.push(Step::sign(b, "bendahara", Some(*at)));
    }
    signers.push(Step::sign(&ppk, "ppk", Some(ppk_at)));
    let only_ppk = vec![Step::sign(&ppk, "ppk", Some(ppk_at))];
    let key = format!("sppd-settlement:{}", o.id);
    let tanggal_sppd = o
        .numbers
        .approved_on
        .map(date_str)
        .unwrap_or_else(|| date_str(on));
    // Only the kuitansi gets a number of its own: the archive claims each number once, and
    // the other documents merely cite the kuitansi, SPPD or SPT numbers already claimed.
    let mut papers: Vec<(Option<&str>, Paper)> = Vec::new();
    let kuitansi_series: Option<&'static Series> = Some(&numbers::KUITANSI);
    let mut paid = 0;
    for (i, t) in o.pelaksana.iter().enumerate() {
        let s = settle_person(&sbm, &o, t);
        paid += s.total;
        let kuitansi_no = o.numbers.kuitansi.get(i).cloned().unwrap_or_default();
        let sppd_no = o.numbers.sppd.get(i).cloned().unwrap_or_default();
        let pegawai = json!({"nama": t.nama, "nip": t.nip, "jabatan": t.jabatan});
        let lines = |keterangan: bool| -> Vec<Value> {
            s.lines
                .iter()
                .map(|l| {
                    json!({"uraian": l.uraian, "jumlah": l.jumlah,
                           "keterangan": if keterangan { json!(l.volume) } else { Value::Null }})
                })
                .collect()
        };
        let kuitansi = json!({
            "nomor": kuitansi_no,
            "tahun_anggaran": o.estimate.as_ref().map(|e| e.sbm_year).unwrap_or(on.year()),
            "akun": format!("{} ({})", o.anggaran.akun, o.anggaran.instansi),
            "jumlah": s.total,
            "untuk": format!("Biaya perjalanan dinas ke {} dalam rangka {} sesuai SPPD Nomor {} tanggal {}",
                o.tempat_tujuan.label(), o.maksud, sppd_no, paraf_core::format::tanggal(o.numbers.approved_on.unwrap_or(on))),
            "rincian": lines(false),
            "ppk": ppk_json,
            "bendahara": bendahara_json,
            "penerima": pegawai,
            "tanggal_bayar": date_str(on),
            "tanggal": date_str(on),
        });
        let rincian = json!({
            "nomor": kuitansi_no, "nomor_sppd": sppd_no, "tanggal_sppd": tanggal_sppd, "tanggal": date_str(on),
            "pegawai": pegawai, "rincian": lines(true),
            "total": s.total, "ppk": ppk_json, "bendahara": bendahara_json,
        });
        let riil = json!({
            "nomor_sppd": sppd_no, "tanggal_sppd": tanggal_sppd, "tanggal": date_str(on), "pegawai": pegawai,
            "pengeluaran": s.riil.iter().map(|(u, j)| json!({"uraian": u, "jumlah": j})).collect::<Vec<_>>(),
            "total": s.riil_total, "ppk": ppk_json,
        });
        let pengesahan = json!({
            "nomor_sppd": sppd_no, "tanggal": date_str(on), "pegawai": {"nama": t.nama, "nip": t.nip},
            "persinggahan": o.stops.iter().map(|s| {
                let e = s.endorsement.as_ref();
                json!({"tempat": s.tempat, "tiba": date_str(s.tiba), "berangkat": s.berangkat.map(date_str),
                       "pejabat": {"nama": e.map(|e| e.nama.clone()).unwrap_or_default(), "nip": e.and_then(|e| e.nip.clone()),
                                   "jabatan": e.map(|e| e.jabatan.clone()).unwrap_or_default()},
                       "cara": e.map(|e| e.cara.clone()).unwrap_or_else(|| "tautan".into())})
            }).collect::<Vec<_>>(),
            "ppk": ppk_json,
        });
        let who = Some(t.employee_id.as_str());
        for (layout, data, number, series, title, steps) in [
            (
                "kuitansi",
                kuitansi,
                kuitansi_no.clone(),
                kuitansi_series,
                format!("Kuitansi perjalanan dinas {} ({})", t.nama, rupiah(s.total)),
                &signers,
            ),
            (
                "rincian-biaya",
                rincian,
                String::new(),
                None,
                format!("Rincian biaya perjalanan dinas {}", t.nama),
                &signers,
            ),
            (
                "daftar-pengeluaran-riil",
                riil,
                String::new(),
                None,
                format!("Daftar pengeluaran riil {}", t.nama),
                &only_ppk,
            ),
            (
                "sppd-pengesahan",
                pengesahan,
                String::new(),
                None,
                format!("Pengesahan SPPD {}", t.nama),
                &only_ppk,
            ),
        ] {
            papers.push((
                who,
                Paper {
                    id: document_id_for(&format!("{key}#{layout}#{i}")),
                    layout,
                    data,
                    number,
                    series,
                    title,
                    steps: steps.clone(),
                },
            ));
        }
    }
    // The trip report, signed by the PPK who accepted it (the reporter's words, the
    // PPK's acceptance).
    let reporter = employee(&ctx.org, &o.requester_id).await?;
    let report = json!({
        "nomor_spt": o.numbers.spt, "tanggal_spt": tanggal_sppd, "tanggal": date_str(on),
        "maksud": o.maksud, "tempat_tujuan": o.tempat_tujuan.label(),
        "tanggal_berangkat": o.tanggal_berangkat.map(date_str), "tanggal_kembali": o.tanggal_kembali.map(date_str),
        "pelaksana": o.pelaksana.iter().map(|t| json!({"nama": t.nama, "nip": t.nip, "jabatan": t.jabatan})).collect::<Vec<_>>(),
        "hasil": o.report.hasil,
        "kesimpulan": if o.report.kesimpulan.is_empty() { Value::Null } else { json!(o.report.kesimpulan) },
        "foto": o.report.photos.iter().map(|p| json!({"nama": p.name, "sha256": p.sha256})).collect::<Vec<_>>(),
        "pelapor": {"nama": reporter.name, "nip": reporter.nip.to_string(), "jabatan": reporter.jabatan},
    });
    papers.push((
        None,
        Paper {
            id: document_id_for(&format!("{key}#laporan")),
            layout: "laporan-perjalanan",
            data: report,
            number: String::new(),
            series: None,
            title: format!("Laporan perjalanan dinas {}", o.maksud),
            steps: vec![Step::paraf(&ppk, Some(ppk_at))],
        },
    ));
    let mut docs = Vec::new();
    for (employee_id, paper) in papers {
        let kind = paper.layout.to_string();
        let doc = sign_document(ctx, paper, &o, now).await?;
        docs.push(SettlementDoc {
            kind,
            employee_id: employee_id.map(str::to_string),
            document_id: doc.id,
        });
    }
    Ok(travel.mark_completed(&o.id, docs, paid).await?)
}

/// Each decider of the chain with their employee record (active).
async fn people_of(
    org: &Org,
    deciders: &[Decider],
) -> Result<Vec<(Decider, Employee)>, SignTaskError> {
    let mut people = Vec::with_capacity(deciders.len());
    for d in deciders {
        people.push((d.clone(), employee(org, &d.employee_id).await?));
    }
    Ok(people)
}

/// What the last approval of an order signs, in signing order: the SPT (everyone
/// initials, the Sekretaris — the last step — signs) and one SPPD per traveller (the
/// reviewers before the PPK initial, the PPK signs). The approvers preview the same
/// papers before they decide ([`approval_drafts`]).
fn approval_papers<'a>(
    o: &TravelOrder,
    people: &[(Decider, Employee)],
    execution_id: &str,
    on: time::Date,
) -> Result<Vec<Paper<'a>>, SignTaskError> {
    let (sekretaris_d, sekretaris) = people
        .last()
        .ok_or_else(|| SignTaskError::Invalid("the order has no approval chain".into()))?;
    let mut papers = vec![Paper {
        id: document_id_for(&format!("{execution_id}#spt")),
        layout: "spt",
        data: spt_data(o, sekretaris_d, sekretaris, on),
        number: o.numbers.spt.clone().unwrap_or_default(),
        series: Some(&numbers::SPT),
        title: format!("Surat Tugas {}", o.maksud),
        steps: initials_then_sign(people, "penandatangan"),
    }];
    let ppk_pos = people
        .iter()
        .position(|(d, _)| {
            d.employee_id == o.ppk_id || d.on_behalf_of.as_deref() == Some(o.ppk_id.as_str())
        })
        .unwrap_or(people.len() - 1);
    let (ppk_d, ppk) = &people[ppk_pos];
    let sppd_steps = initials_then_sign(&people[..=ppk_pos], "ppk");
    for (i, t) in o.pelaksana.iter().enumerate() {
        papers.push(Paper {
            id: document_id_for(&format!("{execution_id}#sppd#{i}")),
            layout: "sppd",
            data: sppd_data(o, i, ppk_d, ppk, on),
            number: o.numbers.sppd.get(i).cloned().unwrap_or_default(),
            series: Some(&numbers::SPPD),
            title: format!("SPPD {} {}", t.nama, o.maksud),
            steps: sppd_steps.clone(),
        });
    }
    Ok(papers)
}

/// Where a preview shows the number a document gets only when it is signed.
pub const UNNUMBERED: &str = "[diberi nomor saat ditandatangani]";

/// The SPT and SPPDs of an order in approval as its last approval will sign them, with
/// today's date and without numbers or signatures: what the approvers read first.
pub async fn approval_drafts(
    org: &Org,
    travel: &Travel,
    o: &TravelOrder,
    on: time::Date,
) -> Result<Vec<crate::preview::Draft>, SignTaskError> {
    let deciders = travel.deciders(o).await?;
    let people = people_of(org, &deciders).await?;
    let mut o = o.clone();
    o.numbers.spt = Some(UNNUMBERED.into());
    o.numbers.sppd = vec![UNNUMBERED.into(); o.pelaksana.len()];
    Ok(approval_papers(&o, &people, "preview", on)?
        .into_iter()
        .map(|p| crate::preview::Draft {
            kind: p.layout.to_string(),
            layout: p.layout.to_string(),
            title: p.title,
            data: p.data,
            signers: p
                .steps
                .iter()
                .map(|s| crate::preview::DraftSigner {
                    step: s.step,
                    employee_id: s.who.id.clone(),
                    kind: s.kind,
                })
                .collect(),
        })
        .collect())
}

/// Everyone of `people` initials (an invisible signature) but the last, who signs in the
/// layout's `slot`.
fn initials_then_sign<'a>(people: &[(Decider, Employee)], slot: &'a str) -> Vec<Step<'a>> {
    let last = people.len().saturating_sub(1);
    people
        .iter()
        .enumerate()
        .map(|(i, (d, e))| {
            let step = if i == last {
                Step::sign(e, slot, d.decided_at)
            } else {
                Step::paraf(e, d.decided_at)
            };
            Step {
                step: Some(d.step),
                ..step
            }
        })
        .collect()
}

async fn employee(org: &Org, id: &str) -> Result<Employee, SignTaskError> {
    match org.find_employee(id).await? {
        Some(e) if e.active => Ok(e),
        _ => Err(SignTaskError::UnknownEmployee(id.to_string())),
    }
}

fn jabatan_for(d: &Decider, e: &Employee, assignee_jabatan: Option<&str>) -> String {
    match (&d.on_behalf_of, assignee_jabatan) {
        (Some(_), Some(j)) => format!("Plh. {j}"),
        _ => e.jabatan.clone(),
    }
}

fn spt_data(o: &TravelOrder, d: &Decider, e: &Employee, on: time::Date) -> Value {
    let step = o.chain.iter().find(|c| c.step == d.step);
    json!({
        "nomor": o.numbers.spt,
        "tanggal": date_str(on),
        "menimbang": format!("bahwa dalam rangka {}, perlu menugaskan pegawai Sekretariat KPU Provinsi Jawa Barat untuk melaksanakan perjalanan dinas.", o.maksud),
        "dasar": format!("Daftar Isian Pelaksanaan Anggaran {} Tahun Anggaran {}, akun {}.", o.anggaran.instansi, o.tanggal_berangkat.map(|d| d.year()).unwrap_or(on.year()), o.anggaran.akun),
        "pegawai": o.pelaksana.iter().map(|t| json!({
            "nama": t.nama, "nip": t.nip,
            "pangkat": match (&t.pangkat, &t.golongan) {
                (Some(p), Some(g)) => Some(format!("{p} ({g})")),
                (Some(p), None) => Some(p.clone()),
                (None, Some(g)) => Some(g.clone()),
                _ => None,
            },
            "jabatan": t.jabatan,
        })).collect::<Vec<_>>(),
        "untuk": o.maksud,
        "tempat_tujuan": o.tempat_tujuan.label(),
        "tanggal_berangkat": o.tanggal_berangkat.map(date_str),
        "tanggal_kembali": o.tanggal_kembali.map(date_str),
        "penandatangan": {"jabatan": jabatan_for(d, e, step.map(|s| s.jabatan.as_str())), "nama": e.name, "nip": e.nip.to_string()},
    })
}

fn sppd_data(o: &TravelOrder, i: usize, d: &Decider, e: &Employee, on: time::Date) -> Value {
    let t = &o.pelaksana[i];
    let lines = o.estimate.as_ref().and_then(|est| {
        est.per_person
            .iter()
            .find(|p| p.employee_id == t.employee_id)
    });
    // A Plh signs as "Plh. Pejabat Pembuat Komitmen"; the PPK under the layout's title.
    let ppk_jabatan = d
        .on_behalf_of
        .as_ref()
        .map(|_| "Plh. Pejabat Pembuat Komitmen".to_string());
    let pengikut = if o.pengikut.is_empty() {
        Value::Null
    } else {
        json!(o
            .pengikut
            .iter()
            .map(|f| if f.keterangan.is_empty() {
                f.nama.clone()
            } else {
                format!("{} ({})", f.nama, f.keterangan)
            })
            .collect::<Vec<_>>()
            .join("; "))
    };
    json!({
        "nomor": o.numbers.sppd.get(i),
        "tanggal": date_str(on),
        "ppk": {"nama": e.name, "nip": e.nip.to_string(), "jabatan": ppk_jabatan},
        "pegawai": {"nama": t.nama, "nip": t.nip, "jabatan": t.jabatan,
                    "pangkat": match (&t.pangkat, &t.golongan) {
                        (Some(p), Some(g)) => format!("{p} ({g})"),
                        (Some(p), None) => p.clone(),
                        (None, Some(g)) => g.clone(),
                        _ => "-".into(),
                    }},
        "tingkat_biaya": t.tingkat.as_str(),
        "maksud": o.maksud,
        "angkutan": o.alat_angkut,
        "tempat_berangkat": o.tempat_berangkat.label(),
        "tempat_tujuan": o.tempat_tujuan.label(),
        "lama_hari": o.lama(),
        "tanggal_berangkat": o.tanggal_berangkat.map(date_str),
        "tanggal_kembali": o.tanggal_kembali.map(date_str),
        "pengikut": pengikut,
        "anggaran": {"instansi": o.anggaran.instansi, "akun": o.anggaran.akun},
        "keterangan": if o.keterangan.is_empty() { Value::Null } else { json!(o.keterangan) },
        "biaya": lines.map(|p| p.lines.iter().map(|l| json!({"uraian": l.uraian, "volume": l.volume, "tarif": l.tarif, "jumlah": l.jumlah})).collect::<Vec<_>>()).unwrap_or_default(),
        "total": lines.map(|p| p.total).unwrap_or(0),
    })
}

/// A document to produce: the layout (also its archive type), its data, its official
/// number (empty: none of its own) and the reserved series it was taken from, and who
/// signs in which order (an invisible paraf, or a visible stamp in the named slot).
struct Paper<'a> {
    id: String,
    layout: &'static str,
    data: Value,
    number: String,
    series: Option<&'static Series>,
    title: String,
    steps: Vec<Step<'a>>,
}

/// One signature on a [`Paper`]: who, an invisible paraf or a visible signature in the
/// layout's slot, and when they decided — the signature's time (`None`: the document's),
/// so a reviewer's paraf says when they approved, and a re-run signs the same bytes.
#[derive(Clone)]
struct Step<'a> {
    /// The chain step that decides it (none for the settlement's signers).
    step: Option<u32>,
    who: Employee,
    kind: StepKind,
    slot: Option<&'a str>,
    at: Option<OffsetDateTime>,
}

impl<'a> Step<'a> {
    fn paraf(who: &Employee, at: Option<OffsetDateTime>) -> Step<'a> {
        Step {
            step: None,
            who: who.clone(),
            kind: StepKind::Paraf,
            slot: None,
            at,
        }
    }

    fn sign(who: &Employee, slot: &'a str, at: Option<OffsetDateTime>) -> Step<'a> {
        Step {
            step: None,
            who: who.clone(),
            kind: StepKind::Sign,
            slot: Some(slot),
            at,
        }
    }
}

/// Renders a [`Paper`], signs it step by step and archives it under its id. A document
/// already archived under that id is returned as it is.
async fn sign_document(
    ctx: &SignContext,
    paper: Paper<'_>,
    o: &TravelOrder,
    at: OffsetDateTime,
) -> Result<ArchivedDocument, SignTaskError> {
    let Paper {
        id,
        layout: layout_name,
        data,
        number,
        series,
        title,
        steps,
    } = paper;
    let (id, doc_type, number, title, steps) = (
        id.as_str(),
        layout_name,
        number.as_str(),
        title.as_str(),
        &steps,
    );
    match ctx.archive.get(id).await {
        Ok(done) => return Ok(done),
        Err(ServiceError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let layout = layouts::by_name(layout_name)
        .ok_or_else(|| SignTaskError::UnknownLayout(layout_name.to_string()))?;
    let rendered = paraf_pdf::render::render_at(layout, &data, &ctx.letterhead, at)?;
    let url = ctx.verification_url(id);
    let mut pdf = rendered.pdf.clone();
    let mut signers = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let (emp, kind, slot) = (&step.who, &step.kind, step.slot);
        let step_at = step.at.unwrap_or(at);
        let key_id = ensure_key(ctx.signer.as_ref(), emp).await?;
        let mut options = SignOptions::invisible(step_at);
        options.field_name = Some(format!(
            "{}{}",
            if *kind == StepKind::Sign {
                "TTE"
            } else {
                "Paraf"
            },
            i + 1
        ));
        options.location = Some("Bandung".into());
        options.reason = Some(match kind {
            StepKind::Paraf => "Paraf".into(),
            StepKind::Sign => "Ditandatangani".into(),
        });
        if *kind == StepKind::Sign {
            if let Some(s) =
                slot.and_then(|r| rendered.signature_slots.iter().find(|s| s.role == r))
            {
                let [x1, y1, x2, y2] = s.rect;
                options.page = s.page;
                options.placement = Placement::Visible {
                    rect: Rect { x1, y1, x2, y2 },
                    stamp: crate::sign::stamp(emp, url.clone()),
                };
            }
        }
        pdf = crate::sign::sign_pdf(ctx, &pdf, &key_id, &options).await?;
        signers.push(Signatory {
            name: emp.name.clone(),
            nip: emp.nip.to_string(),
            jabatan: emp.jabatan.clone(),
            signed_at: step_at,
        });
    }
    // The travellers, and the requester when not one of them.
    let mut parties: Vec<String> = o.pelaksana.iter().map(|t| t.nama.clone()).collect();
    if !o.pelaksana.iter().any(|t| t.employee_id == o.requester_id) {
        parties.push(o.requester_name.clone());
    }
    let stored = ctx
        .archive
        .store(
            NewArchive {
                id: id.to_string(),
                doc_type: doc_type.to_string(),
                number: (!number.is_empty()).then(|| number.to_string()),
                series: series.map(|s| s.key.to_string()),
                title: title.chars().take(200).collect(),
                classification: CLASSIFICATION.to_string(),
                parties,
                signers,
                created_by: o.requester_id.clone(),
            },
            pdf,
        )
        .await?;
    tracing::info!(document = %stored.id, kind = doc_type, order = %o.id, "travel document signed and archived");
    Ok(stored)
}

/// Tells whoever verifies next that a trip report waits for them: every bendahara once
/// the report is submitted, the order's PPK (or their Plh today) once the bendahara
/// accepted. Called by the request whose decision moved the order there — decided once,
/// so mailed once. A failed mail is logged: the order waits on their list either way.
pub async fn mail_next_verifier(ctx: &SignContext, mailer: &dyn Mailer, o: &TravelOrder) {
    let (recipients, step_id, step_en) = match o.status {
        OrderStatus::Reported => (
            ctx.org.active_with_role(Role::Bendahara).await,
            "verifikasi bendahara",
            "the treasurer's check",
        ),
        OrderStatus::Verified => {
            let ppk = match ctx.org.employee(&o.ppk_id).await {
                Ok(p) => ctx
                    .org
                    .acting_for(&p, ctx.org.today())
                    .await
                    .map(|e| vec![e]),
                Err(e) => Err(e),
            };
            (
                ppk,
                "persetujuan pembayaran PPK",
                "the PPK's approval of payment",
            )
        }
        _ => return,
    };
    let recipients = match recipients {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(order = %o.id, error = %e, "finding who verifies the trip report failed");
            return;
        }
    };
    let link = format!(
        "{}/sppd/{}",
        ctx.public_base_url.trim_end_matches('/'),
        o.id
    );
    let travellers: Vec<&str> = o.pelaksana.iter().map(|t| t.nama.as_str()).collect();
    for r in recipients {
        let text = format!(
            "Yth. {nama},\n\n\
             Laporan perjalanan dinas {travellers} ke {tujuan} ({maksud}) beserta rincian \
             biayanya menunggu {step_id} Anda.\n\n\
             Periksa dan putuskan di:\n{link}\n\n\
             ---\n\
             Dear {nama},\n\n\
             The trip report of {travellers} to {tujuan} ({maksud}) and its costs await \
             {step_en}.\n\n\
             Check it and decide at:\n{link}\n",
            nama = r.name,
            travellers = travellers.join(", "),
            tujuan = o.tempat_tujuan.label(),
            maksud = o.maksud,
        );
        let mail = Mail {
            to: vec![r.email.to_string()],
            subject: format!(
                "[paraf] Laporan perjalanan dinas menunggu verifikasi / trip report awaiting your check: {}",
                o.maksud
            ),
            text,
            html: None,
            links: vec![link.clone()],
        };
        if let Err(e) = mailer.send(mail).await {
            tracing::warn!(order = %o.id, to = %r.email, error = %e, "mailing the next verifier failed");
        }
    }
}

/// Tells every traveller their SPT and SPPD are signed (a failed mail is logged: the
/// documents are on the order's page either way).
async fn mail_travellers(ctx: &SignContext, mailer: &dyn Mailer, o: &TravelOrder) {
    let link = format!(
        "{}/sppd/{}",
        ctx.public_base_url.trim_end_matches('/'),
        o.id
    );
    for t in &o.pelaksana {
        let Ok(emp) = employee(&ctx.org, &t.employee_id).await else {
            continue;
        };
        let spt = o.numbers.spt.clone().unwrap_or_default();
        let text = format!(
            "Yth. {nama},\n\n\
             Surat Tugas Nomor {spt} dan SPPD perjalanan dinas Anda ke {tujuan} \
             ({berangkat} s.d. {kembali}) telah disetujui dan ditandatangani secara elektronik.\n\
             Maksud: {maksud}\n\n\
             Unduh dokumen dan isi laporan perjalanan di:\n{link}\n\n\
             ---\n\
             Dear {nama},\n\n\
             Your Surat Tugas {spt} and travel order (SPPD) to {tujuan} are approved and signed.\n\
             Download them and file the trip report at:\n{link}\n",
            nama = t.nama,
            tujuan = o.tempat_tujuan.label(),
            berangkat = o
                .tanggal_berangkat
                .map(paraf_core::format::tanggal)
                .unwrap_or_default(),
            kembali = o
                .tanggal_kembali
                .map(paraf_core::format::tanggal)
                .unwrap_or_default(),
            maksud = o.maksud,
        );
        let mail = Mail {
            to: vec![emp.email.to_string()],
            subject: format!("[paraf] SPT {spt} dan SPPD disetujui / travel order approved"),
            text,
            html: None,
            links: vec![link.clone()],
        };
        if let Err(e) = mailer.send(mail).await {
            tracing::warn!(order = %o.id, to = %emp.email, error = %e, "approval mail to a traveller failed");
        }
    }
}

/// Whether a sign-task payload is a travel order's (`request.service == "sppd"`).
pub fn order_of(payload: &Value) -> Option<&str> {
    order_of_request(payload.get("request")?)
}

/// The travel order an approval request is about, if it is one's.
pub fn order_of_request(r: &Value) -> Option<&str> {
    (r.get("service")?.as_str()? == paraf_core::travel::SERVICE)
        .then(|| r.get("order").and_then(Value::as_str))
        .flatten()
}

/// Who may verify: the bendahara, then the PPK.
pub fn may_verify(p: &Principal) -> bool {
    p.has(Role::Bendahara) || p.has(Role::Ppk)
}

/// The stage of an order whose documents the approval workflow signs.
pub const STAGE_APPROVAL: &str = "approval";
/// The stage of an order whose settlement documents are signed after the PPK accepted.
pub const STAGE_SETTLEMENT: &str = "settlement";
/// The service name of generic approval requests' sign steps.
const GENERIC_SERVICE: &str = "approval";

/// The sign step a sign-task payload runs (also in the notify payload of a stuck one):
/// a travel order's approval, or a generic approval's document.
pub fn sign_step_of(payload: &Value) -> StepRef {
    match order_of(payload) {
        Some(order) => StepRef::new(SERVICE, order, STAGE_APPROVAL),
        None => {
            let exec = payload
                .get("executionId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            StepRef::new(GENERIC_SERVICE, &document_id_for(exec), "sign")
        }
    }
}

/// What a list of failed steps shows for the step of `payload`: its title and page.
pub(crate) async fn step_subject(
    travel: &Travel,
    step: &StepRef,
    payload: &Value,
) -> (String, Option<String>) {
    if step.service == SERVICE {
        let title = match travel.load(&step.subject).await {
            Ok(o) => o.subject(),
            Err(_) => String::new(),
        };
        return (title, Some(format!("/sppd/{}", step.subject)));
    }
    let title = payload
        .pointer("/request/subject")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    (title, None)
}

/// Records how an attempt of a sign step ended: a failure (retrying, or stuck when no
/// automatic retry follows), or the end of an earlier failure. Recording is best effort:
/// a store that cannot take the record must not hide the signing's own outcome.
async fn record<T>(
    signing: &SignSteps,
    step: StepRef,
    subject: impl std::future::Future<Output = (String, Option<String>)>,
    outcome: &Result<T, SignTaskError>,
    stuck: bool,
) {
    let id = step.id();
    let recorded = match outcome {
        Ok(_) => signing.resolved(&step).await.map(|_| ()),
        Err(e) => {
            let (title, link) = subject.await;
            let f = Failure {
                step,
                title,
                link,
                error: e.error_name().to_string(),
                reason: e.reason(),
            };
            signing.failed(f, &e.to_string(), stuck).await.map(|_| ())
        }
    };
    if let Err(e) = recorded {
        tracing::error!(step = %id, error = %e, "the sign step's outcome could not be recorded");
    }
}

fn sign_steps(ctx: &SignContext) -> SignSteps {
    SignSteps::new(ctx.archive.table(), ctx.clock.clone())
}

/// [`settle`], with its failure recorded as a stuck sign step on the order (no workflow
/// retries it: an admin does, through [`paraf_core::signing::SignSteps::retry`]) and a
/// success ending an earlier failure.
pub async fn settle_recorded(
    ctx: &SignContext,
    travel: &Travel,
    order_id: &str,
) -> Result<TravelOrder, SignTaskError> {
    let step = StepRef::new(SERVICE, order_id, STAGE_SETTLEMENT);
    let out = settle(ctx, travel, order_id).await;
    let payload = Value::Null;
    let subject = step_subject(travel, &step, &payload);
    record(&sign_steps(ctx), step.clone(), subject, &out, true).await;
    out
}

/// The whole sign task: a travel order's documents, or the generic document. Every
/// failed attempt is recorded as a failed sign step (the workflow's `Retry` runs it again;
/// when retries are exhausted, `SigningStuck` makes it wait for an admin).
pub async fn run_sign_task(
    ctx: &SignContext,
    mailer: Option<Arc<dyn Mailer>>,
    payload: Value,
) -> Result<Value, SignTaskError> {
    let travel = Travel::new(ctx.archive.table(), ctx.clock.clone());
    let step = sign_step_of(&payload);
    let out = sign_task(ctx, mailer, &travel, &payload).await;
    let subject = step_subject(&travel, &step, &payload);
    record(&sign_steps(ctx), step.clone(), subject, &out, false).await;
    out
}

async fn sign_task(
    ctx: &SignContext,
    mailer: Option<Arc<dyn Mailer>>,
    travel: &Travel,
    payload: &Value,
) -> Result<Value, SignTaskError> {
    if let Some(order) = order_of(payload) {
        let exec = payload
            .get("executionId")
            .and_then(Value::as_str)
            .ok_or_else(|| SignTaskError::Invalid("executionId is missing".into()))?
            .to_string();
        let signed_at = payload
            .get("signedAt")
            .and_then(Value::as_str)
            .and_then(|s| {
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            })
            .unwrap_or_else(|| ctx.clock.now());
        let out = finalize(ctx, mailer.as_deref(), travel, order, &exec, signed_at).await?;
        return serde_json::to_value(out).map_err(|e| SignTaskError::Invalid(e.to_string()));
    }
    let input: crate::sign::SignTaskInput = serde_json::from_value(payload.clone())
        .map_err(|e| SignTaskError::Invalid(e.to_string()))?;
    let out = crate::sign::run(ctx, input).await?;
    serde_json::to_value(out).map_err(|e| SignTaskError::Invalid(e.to_string()))
}
