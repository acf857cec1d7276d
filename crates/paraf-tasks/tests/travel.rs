//! e-SPPD end to end on the embedded adapters: the demo organisation in a SQLite table,
//! `workflows/approval.asl.json` run by the local interpreter with the same notify /
//! escalate / sign wiring as `paraf serve`, real P-256 signatures by a local CA, PDFs
//! read back with paraf's verifier and poppler's `pdftotext`.

mod support;

use std::sync::Arc;

use paraf_core::format::{rupiah, terbilang};
use paraf_core::signing::{SignSteps, StepState};
use paraf_core::travel::{date_str, Attachment, OrderStatus, TravelOrder};
use paraf_core::{FixedClock, ServiceError};
use paraf_tasks::sign::TsaClient;
use support::{email, world, world_on, World, AKUN};
use time::{Date, OffsetDateTime};

fn invalid_field(r: Result<TravelOrder, ServiceError>, field: &str) {
    match r {
        Err(ServiceError::Invalid(f)) => {
            assert!(f.has(field), "expected 422 on {field}, got {f:?}")
        }
        Err(e) => panic!("expected 422 on {field}, got {e}"),
        Ok(o) => panic!("expected 422 on {field}, the order went to {:?}", o.status),
    }
}

fn receipt(by: &str) -> Attachment {
    Attachment {
        id: "r1".into(),
        name: "kuitansi-hotel.pdf".into(),
        content_type: "application/pdf".into(),
        size: 1234,
        sha256: "0".repeat(64),
        key: "uploads/r1".into(),
        uploaded_by: by.into(),
        uploaded_at: OffsetDateTime::now_utc(),
    }
}

// ---------- chain ----------

#[tokio::test]
async fn a_staff_request_goes_through_kasubag_kabag_ppk_and_sekretaris() {
    let w = world().await;
    let staf = w
        .travel
        .org()
        .find_employee(&email("staf"))
        .await
        .unwrap()
        .unwrap();
    let ppk = w.who("ppk").await;
    let chain = w
        .travel
        .chain_for(&staf, &ppk.employee_id)
        .await
        .expect("chain");
    let got: Vec<(u32, String, String)> = chain
        .iter()
        .map(|c| (c.step, c.action.clone(), c.assignee.clone()))
        .collect();
    let mut want = Vec::new();
    for (i, (local, action)) in [
        ("kasubag", "paraf"),
        ("kabag", "paraf"),
        ("ppk", "sign"),
        ("sekretaris", "sign"),
    ]
    .into_iter()
    .enumerate()
    {
        want.push((
            i as u32 + 1,
            action.to_string(),
            w.who(local).await.employee_id,
        ));
    }
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_kasubag_requester_skips_the_first_step() {
    let w = world().await;
    let o = w.draft("kasubag", &["kasubag"], w.day(0), w.day(1)).await;
    let o = w.submit(&o.id, "kasubag").await.expect("submit");
    let names: Vec<_> = o.chain.iter().map(|c| c.name.clone()).collect();
    assert_eq!(
        names,
        [
            w.who("kabag").await.name,
            w.who("ppk").await.name,
            w.who("sekretaris").await.name
        ]
    );
    assert_eq!(
        w.open_step(&o.id).await.assignee_id,
        w.who("kabag").await.employee_id
    );
}

#[tokio::test]
async fn a_plh_decides_for_the_sekretaris_and_signs_the_surat_tugas() {
    let w = world().await;
    let plh = w.who("kabag.hukum").await;
    w.travel
        .org()
        .create_delegation(
            &email("sekretaris"),
            &email("kabag.hukum"),
            &date_str(w.day(0)),
            &date_str(w.day(7)),
            "cuti tahunan",
        )
        .await
        .expect("delegation");
    let o = w.draft("staf", &["staf"], w.day(0), w.day(1)).await;
    w.submit(&o.id, "staf").await.expect("submit");
    for _ in 0..3 {
        w.decide(&o.id, None, "approve", "").await;
    }
    let last = w.open_step(&o.id).await;
    assert_eq!(last.step, 4);
    assert_eq!(last.acting_id.as_deref(), Some(plh.employee_id.as_str()));
    w.decide(&o.id, Some(&plh.employee_id), "approve", "").await;

    let o = w.order(&o.id).await;
    assert_eq!(o.status, OrderStatus::Approved);
    let spt = w
        .ctx
        .archive
        .get(o.documents.spt.as_deref().expect("SPT archived"))
        .await
        .expect("SPT");
    let signers: Vec<_> = spt.signers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(signers.len(), 4);
    assert_eq!(signers[3], plh.name, "the Plh signs the SPT");
    assert!(!signers.contains(&w.who("sekretaris").await.name.as_str()));
    assert!(w.text(&spt.id).await.contains("Plh."));
}

// ---------- the whole approval ----------

#[tokio::test]
async fn an_approved_order_has_a_signed_spt_and_one_sppd_per_traveller_with_gapless_numbers() {
    let w = world().await;
    let year = w.today.year();
    let o = w
        .draft("staf", &["staf", "intan.permata"], w.day(0), w.day(2))
        .await;
    let o = w.submit(&o.id, "staf").await.expect("submit");
    assert_eq!(o.status, OrderStatus::Submitted);
    assert_eq!(o.chain.len(), 4);
    let o = w.approve_all(&o.id).await;
    assert_eq!(o.status, OrderStatus::Approved);

    let spt_no = format!("1/KU.03-ST/32/{year}");
    assert_eq!(o.numbers.spt.as_deref(), Some(spt_no.as_str()));
    assert_eq!(
        o.numbers.sppd,
        [
            format!("1/KU.03-SPPD/32/{year}"),
            format!("2/KU.03-SPPD/32/{year}")
        ]
    );
    let spt_id = o.documents.spt.clone().expect("SPT");
    let spt = w.pdf(&spt_id).await;
    assert_eq!(w.signature_count(&spt).await, o.chain.len());
    assert!(w.text(&spt_id).await.contains(&spt_no));
    assert_eq!(o.documents.sppd.len(), 2);
    for id in &o.documents.sppd {
        let sppd = w.pdf(id).await;
        // Kasubag and Kabag initial, the PPK signs.
        assert_eq!(w.signature_count(&sppd).await, 3);
    }

    let days: Vec<Date> = w
        .travel
        .duty_days(&w.who("staf").await.employee_id, w.day(-5), w.day(10))
        .await
        .expect("duty days")
        .into_iter()
        .map(|(d, order)| {
            assert_eq!(order, o.id);
            d
        })
        .collect();
    assert_eq!(days, [w.day(0), w.day(1), w.day(2)]);

    for t in ["staf", "intan.permata"] {
        let got = w.mails.to(&email(t), &spt_no);
        assert_eq!(got.len(), 1, "{t} is told once");
        assert!(got[0].links.iter().any(|l| l.ends_with(&o.id)));
    }

    let o2 = w.draft("staf", &["budi.santoso"], w.day(0), w.day(1)).await;
    w.submit(&o2.id, "staf").await.expect("submit");
    let o2 = w.approve_all(&o2.id).await;
    assert_eq!(o2.numbers.spt, Some(format!("2/KU.03-ST/32/{year}")));
    assert_eq!(o2.numbers.sppd, [format!("3/KU.03-SPPD/32/{year}")]);
}

#[tokio::test]
async fn the_documents_an_approver_previews_are_the_ones_signed_but_for_number_and_stamp() {
    let w = world().await;
    let o = w
        .draft("staf", &["staf", "intan.permata"], w.day(0), w.day(2))
        .await;
    let o = w.submit(&o.id, "staf").await.expect("submit");
    let request = serde_json::json!({"service": "sppd", "order": o.id});
    let drafts = paraf_tasks::preview::drafts(w.travel.org(), &w.travel, &request, w.today)
        .await
        .expect("drafts");
    let kinds: Vec<&str> = drafts.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["spt", "sppd", "sppd"]);
    // Who takes part in which: everyone initials the SPT and the Sekretaris (step 4)
    // signs it; the PPK (step 3) signs the SPPDs, the Sekretaris is not on them.
    use paraf_tasks::sign::StepKind::{Paraf, Sign};
    assert_eq!(drafts[0].part_of(1), Some(Paraf));
    assert_eq!(drafts[0].part_of(4), Some(Sign));
    assert_eq!(drafts[1].part_of(3), Some(Sign));
    assert_eq!(drafts[1].part_of(4), None);
    let dir = tempfile::tempdir().expect("tempdir");
    let previews: Vec<String> = drafts
        .iter()
        .map(|d| {
            let pdf = d
                .pdf(&w.ctx.letterhead, time::OffsetDateTime::now_utc())
                .expect("pdf");
            assert_eq!(
                d.pages(&w.ctx.letterhead).expect("svg").len(),
                paraf_pdf::pdf::Document::parse(&pdf)
                    .expect("pdf")
                    .pages()
                    .expect("pages")
                    .len(),
            );
            support::pdftotext(&pdf, &dir.path().join("preview.pdf"))
        })
        .collect();
    assert!(previews[0].contains(paraf_tasks::travel::UNNUMBERED));

    let o = w.approve_all(&o.id).await;
    let spt_no = o.numbers.spt.clone().expect("number");
    let signed = w.text(o.documents.spt.as_deref().expect("SPT")).await;
    // Same words, once the number replaces the placeholder; the signed copy adds only
    // the stamp's words after what the preview shows.
    let expected = previews[0].replace(paraf_tasks::travel::UNNUMBERED, &spt_no);
    let tail = expected.rsplit("Demikian").next().expect("closing");
    assert!(
        signed.contains(&expected[..expected.len() - tail.len()]),
        "{signed}\n---\n{expected}"
    );
    for (i, id) in o.documents.sppd.iter().enumerate() {
        let signed = w.text(id).await;
        let expected = previews[i + 1].replace(paraf_tasks::travel::UNNUMBERED, &o.numbers.sppd[i]);
        let head: String = expected.chars().take(400).collect();
        assert!(signed.contains(&head), "{signed}\n---\n{head}");
    }
}

#[tokio::test]
async fn each_paraf_carries_the_time_its_reviewer_approved_and_the_requester_is_one_party() {
    let clock = Arc::new(FixedClock::new(
        time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("whole second"),
    ));
    let w = world_on(clock.clone()).await;
    let o = w
        .draft("staf", &["staf", "intan.permata"], w.day(3), w.day(4))
        .await;
    w.submit(&o.id, "staf").await.expect("submit");
    // Each reviewer decides ten minutes after the one before.
    for _ in 0..o_chain_len(&w, &o.id).await {
        clock.advance(time::Duration::minutes(10));
        w.decide(&o.id, None, "approve", "").await;
    }
    let o = w.order(&o.id).await;
    assert_eq!(o.status, OrderStatus::Approved);
    let decided: Vec<time::OffsetDateTime> = w
        .travel
        .deciders(&o)
        .await
        .expect("deciders")
        .iter()
        .map(|d| d.decided_at.expect("decided"))
        .collect();
    let root = w.ctx.signer.root_certificate().await.expect("root");
    let spt_id = o.documents.spt.clone().expect("SPT");
    let report =
        paraf_pdf::verify(&w.pdf(&spt_id).await, std::slice::from_ref(&root)).expect("verify");
    let times: Vec<_> = report
        .signatures
        .iter()
        .map(|s| s.signing_time.expect("/M"))
        .collect();
    assert_eq!(times, decided, "each signature at its signer's decision");
    assert!(decided.windows(2).all(|p| p[0] < p[1]), "{decided:?}");
    // The SPPD: the reviewers up to the PPK, each at their own time.
    let report = paraf_pdf::verify(&w.pdf(&o.documents.sppd[0]).await, &[root]).expect("verify");
    let times: Vec<_> = report
        .signatures
        .iter()
        .map(|s| s.signing_time.expect("/M"))
        .collect();
    assert_eq!(times, decided[..times.len()]);
    // The archive names the requester (also a traveller) once among the parties.
    let spt = w.ctx.archive.get(&spt_id).await.expect("record");
    let requester = &o.requester_name;
    assert_eq!(
        spt.parties.iter().filter(|p| *p == requester).count(),
        1,
        "{:?}",
        spt.parties
    );
    assert_eq!(
        spt.signers.iter().map(|s| s.signed_at).collect::<Vec<_>>(),
        decided
    );
}

async fn o_chain_len(w: &World, id: &str) -> usize {
    w.order(id).await.chain.len()
}

#[tokio::test]
async fn a_returned_order_edited_and_resubmitted_goes_back_to_the_step_that_returned_it() {
    let w = world().await;
    let o = w.draft("staf", &["staf"], w.day(0), w.day(1)).await;
    w.submit(&o.id, "staf").await.expect("submit");
    w.decide(&o.id, None, "approve", "").await;
    w.decide(&o.id, None, "approve", "").await;
    let returned = w.decide(&o.id, None, "return", "lengkapi undangan").await;
    assert_eq!(returned.step, 3);
    assert_eq!(w.order(&o.id).await.status, OrderStatus::Returned);

    let staf = w.who("staf").await;
    let mut input = w.input(&["staf"], w.day(0), w.day(2));
    input.keterangan = "undangan terlampir".into();
    input.version = Some(w.order(&o.id).await.version);
    let edited = w.travel.update(&o.id, &staf, input).await.expect("edit");
    assert_eq!(edited.tanggal_kembali, Some(w.day(2)));
    let o = w.submit(&o.id, "staf").await.expect("resubmit");
    assert_eq!(o.status, OrderStatus::Submitted);

    let next = w.open_step(&o.id).await;
    assert_eq!(next.step, 3, "the PPK is asked again, not the Kasubag");
    assert_eq!(next.assignee_id, w.who("ppk").await.employee_id);
    w.decide(&o.id, None, "approve", "").await;
    w.decide(&o.id, None, "approve", "").await;
    let o = w.order(&o.id).await;
    assert_eq!(o.status, OrderStatus::Approved);
    assert_eq!(o.lama(), Some(3));
}

#[tokio::test]
async fn a_rejected_order_frees_the_travellers_days() {
    let w = world().await;
    let o = w.draft("staf", &["staf"], w.day(0), w.day(2)).await;
    w.submit(&o.id, "staf").await.expect("submit");
    w.decide(&o.id, None, "approve", "").await;
    let rejected = w.decide(&o.id, None, "reject", "anggaran dialihkan").await;
    assert_eq!(rejected.step, 2);
    let o = w.order(&o.id).await;
    assert_eq!(o.status, OrderStatus::Rejected);
    assert_eq!(o.reserved, None);

    let again = w.draft("staf", &["staf"], w.day(1), w.day(3)).await;
    let again = w
        .submit(&again.id, "staf")
        .await
        .expect("the days are free");
    assert_eq!(again.status, OrderStatus::Submitted);
}

#[tokio::test]
async fn a_returned_order_moved_to_other_days_and_travellers_frees_the_days_it_held() {
    let w = world().await;
    let o = w
        .draft("staf", &["staf", "intan.permata"], w.day(1), w.day(2))
        .await;
    w.submit(&o.id, "staf").await.expect("submit");
    w.decide(&o.id, None, "return", "ganti tanggal dan pelaksana")
        .await;
    assert_eq!(w.order(&o.id).await.status, OrderStatus::Returned);

    // Moved a week later, Intan no longer travels.
    let staf = w.who("staf").await;
    let mut input = w.input(&["staf"], w.day(8), w.day(9));
    input.version = Some(w.order(&o.id).await.version);
    w.travel.update(&o.id, &staf, input).await.expect("edit");
    w.submit(&o.id, "staf").await.expect("resubmit");

    // The old days of both travellers are free again; the new ones are held.
    let intan = w
        .draft("intan.permata", &["intan.permata"], w.day(1), w.day(2))
        .await;
    w.submit(&intan.id, "intan.permata")
        .await
        .expect("Intan's old days are free");
    let other = w.draft("staf", &["staf"], w.day(1), w.day(1)).await;
    w.submit(&other.id, "staf")
        .await
        .expect("Ahmad's old days are free");
    let clash = w.draft("staf", &["staf"], w.day(9), w.day(10)).await;
    invalid_field(w.submit(&clash.id, "staf").await, "pelaksana");
}

// ---------- rules ----------

#[tokio::test]
async fn a_return_before_departure_is_refused_on_tanggal_kembali() {
    let w = world().await;
    let o = w.draft("staf", &["staf"], w.day(3), w.day(1)).await;
    invalid_field(w.submit(&o.id, "staf").await, "tanggal_kembali");
    assert_eq!(w.order(&o.id).await.status, OrderStatus::Draft);
}

#[tokio::test]
async fn a_trip_overlapping_an_approved_one_is_refused_on_pelaksana() {
    let w = world().await;
    let o = w.draft("staf", &["staf"], w.day(0), w.day(2)).await;
    w.submit(&o.id, "staf").await.expect("submit");
    assert_eq!(w.approve_all(&o.id).await.status, OrderStatus::Approved);
    let other = w
        .draft("kasubag", &["intan.permata", "staf"], w.day(2), w.day(4))
        .await;
    invalid_field(w.submit(&other.id, "kasubag").await, "pelaksana");
}

#[tokio::test]
async fn a_traveller_over_the_monthly_cap_is_refused_on_pelaksana() {
    let w = world().await;
    let admin = w.who("admin").await;
    assert_eq!(w.travel.set_monthly_cap(&admin, 5).await.expect("cap"), 5);
    // Two trips of three days in next month.
    let (y, m) = match w.today.month() {
        time::Month::December => (w.today.year() + 1, time::Month::January),
        m => (w.today.year(), m.next()),
    };
    let d = |day| Date::from_calendar_date(y, m, day).expect("date");
    let first = w.draft("staf", &["staf"], d(2), d(4)).await;
    w.submit(&first.id, "staf").await.expect("3 days fit");
    let second = w.draft("staf", &["staf"], d(10), d(12)).await;
    invalid_field(w.submit(&second.id, "staf").await, "pelaksana");
    assert_eq!(w.order(&second.id).await.status, OrderStatus::Draft);
}

#[tokio::test]
async fn a_trip_over_the_remaining_pagu_is_refused_and_nothing_is_written() {
    let w = world().await;
    let ppk = w.who("ppk").await;
    let year = w.today.year();
    w.travel
        .set_pagu(&ppk, year, AKUN, "Belanja perjalanan dinas biasa", 100_000)
        .await
        .expect("pagu");
    let o = w.draft("staf", &["staf"], w.day(0), w.day(2)).await;
    invalid_field(w.submit(&o.id, "staf").await, "anggaran.akun");
    let after = w.order(&o.id).await;
    assert_eq!(after.status, OrderStatus::Draft);
    assert_eq!(after.version, o.version);
    assert_eq!(after.execution_id, None);
    let pagu = w
        .travel
        .pagu(year, AKUN)
        .await
        .expect("read")
        .expect("pagu");
    assert_eq!((pagu.pagu, pagu.reserved), (100_000, 0));
    // No days were held either: the same traveller can go on the same dates.
    w.travel
        .set_pagu(
            &ppk,
            year,
            AKUN,
            "Belanja perjalanan dinas biasa",
            100_000_000,
        )
        .await
        .expect("pagu raised");
    let again = w.draft("staf", &["staf"], w.day(0), w.day(2)).await;
    w.submit(&again.id, "staf").await.expect("fits now");
    let pagu = w
        .travel
        .pagu(year, AKUN)
        .await
        .expect("read")
        .expect("pagu");
    assert_eq!(pagu.reserved, again_total(&w, &again.id).await);
}

async fn again_total(w: &World, id: &str) -> i64 {
    w.order(id).await.estimate.expect("estimate").total
}

#[tokio::test]
async fn only_the_requester_edits_and_only_before_submission() {
    let w = world().await;
    let o = w
        .draft("staf", &["staf", "intan.permata"], w.day(0), w.day(1))
        .await;
    let intan = w.who("intan.permata").await;
    let mut input = w.input(&["intan.permata"], w.day(0), w.day(1));
    input.version = Some(o.version);
    let r = w.travel.update(&o.id, &intan, input).await;
    assert!(matches!(r, Err(ServiceError::Forbidden)), "{r:?}");

    w.submit(&o.id, "staf").await.expect("submit");
    let staf = w.who("staf").await;
    let mut input = w.input(&["staf"], w.day(0), w.day(3));
    input.version = Some(w.order(&o.id).await.version);
    let r = w.travel.update(&o.id, &staf, input).await;
    assert!(matches!(r, Err(ServiceError::Conflict { .. })), "{r:?}");
}

// ---------- after the trip ----------

#[tokio::test]
async fn a_trip_is_reported_verified_and_settled_with_a_kuitansi_capped_by_the_sbm() {
    let w = world().await;
    let staf = w.who("staf").await;
    let o = w.draft("staf", &["staf"], w.day(0), w.day(2)).await;
    w.submit(&o.id, "staf").await.expect("submit");
    let o = w.approve_all(&o.id).await;
    assert_eq!(o.status, OrderStatus::Approved);
    let id = o.id.clone();

    w.travel
        .add_stop(
            &id,
            &staf,
            "KPU Provinsi Jawa Tengah, Semarang",
            &date_str(w.day(0)),
            Some(&date_str(w.day(2))),
        )
        .await
        .expect("stop");
    let (_, token) = w
        .travel
        .endorsement_link(&id, &staf, 1, "sekretaris@kpu-jateng.go.id")
        .await
        .expect("link");
    let o = w
        .travel
        .endorse_by_link(
            &token,
            "Drs. Slamet Riyadi",
            Some("197001011995031001"),
            "Sekretaris KPU Provinsi Jawa Tengah",
        )
        .await
        .expect("endorsed");
    assert_eq!(
        o.stops[0].endorsement.as_ref().map(|e| e.cara.as_str()),
        Some("tautan")
    );
    let second = w
        .travel
        .endorse_by_link(&token, "Orang Lain", None, "Bukan pejabat")
        .await;
    assert!(
        matches!(
            second,
            Err(ServiceError::Conflict { .. } | ServiceError::NotFound(_))
        ),
        "a used link is refused: {second:?}"
    );
    assert_eq!(
        w.order(&id).await.stops[0]
            .endorsement
            .as_ref()
            .map(|e| e.nama.as_str()),
        Some("Drs. Slamet Riyadi")
    );

    w.travel
        .set_report(
            &id,
            &staf,
            "Rekonsiliasi laporan keuangan semester II selesai.",
            "Data selaras.",
        )
        .await
        .expect("report");
    let lodging_spent = 2_000_000;
    let train = 450_000;
    w.travel
        .add_cost(
            &id,
            &staf,
            &staf.email,
            "penginapan",
            "Hotel Gumaya 2 malam",
            lodging_spent,
            Some(receipt(&staf.employee_id)),
        )
        .await
        .expect("lodging");
    w.travel
        .add_cost(
            &id,
            &staf,
            &staf.email,
            "transport",
            "Tiket kereta api Bandung Semarang PP",
            train,
            None,
        )
        .await
        .expect("train");

    // The bendahara sends it back once, with a note.
    w.travel
        .submit_report(&id, &staf)
        .await
        .expect("report sent");
    let bendahara = w.who("bendahara").await;
    let (o, settle) = w
        .travel
        .verify(&id, &bendahara, false, "lampirkan boarding pass")
        .await
        .expect("returned");
    assert!(!settle);
    assert_eq!(o.status, OrderStatus::Approved);
    assert_eq!(o.return_note.as_deref(), Some("lampirkan boarding pass"));

    let o = w
        .travel
        .submit_report(&id, &staf)
        .await
        .expect("report sent again");
    assert_eq!(o.status, OrderStatus::Reported);
    let (o, settle) = w
        .travel
        .verify(&id, &bendahara, true, "")
        .await
        .expect("bendahara");
    assert!(!settle);
    assert_eq!(o.status, OrderStatus::Verified);
    // Only the order's PPK — or, while the PPK is away, their Plh — approves payment.
    let kabag = w.who("kabag.hukum").await;
    let refused = w.travel.verify(&id, &kabag, true, "").await;
    assert!(
        matches!(refused, Err(ServiceError::Forbidden)),
        "{refused:?}"
    );
    w.travel
        .org()
        .create_delegation(
            &email("ppk"),
            &email("kabag.hukum"),
            &date_str(w.day(0)),
            &date_str(w.day(3)),
            "dinas luar",
        )
        .await
        .expect("delegation");
    let (_, settle) = w
        .travel
        .verify(&id, &kabag, true, "")
        .await
        .expect("the PPK's Plh");
    assert!(settle);
    assert_eq!(w.order(&id).await.status, OrderStatus::Accepted);
    // The time-stamping authority is down: the settlement is a stuck sign step, the
    // order stays accepted, nothing is archived twice.
    let mut down = w.ctx.clone();
    down.tsa = Some(TsaClient::new("http://127.0.0.1:9/tsa").expect("url"));
    let failed = paraf_tasks::travel::settle_recorded(&down, &w.travel, &id).await;
    assert!(failed.is_err());
    assert_eq!(w.order(&id).await.status, OrderStatus::Accepted);
    let signing = SignSteps::new(w.ctx.archive.table(), w.ctx.clock.clone());
    let steps = signing.of_subject("sppd", &id).await.expect("steps");
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].state, StepState::Stuck);
    assert_eq!(steps[0].stage, "settlement");
    assert!(
        steps[0].reason.en.contains("time-stamping"),
        "{:?}",
        steps[0].reason
    );
    let admin = w.who("admin").await;
    assert_eq!(signing.open(&admin).await.expect("open").len(), 1);
    // Back up: the admin's retry signs it (by the PPK's Plh who accepted).
    signing.retry(&steps[0].id, &admin).await.expect("retry");
    let o = paraf_tasks::travel::settle_recorded(&w.ctx, &w.travel, &id)
        .await
        .expect("settle");
    assert_eq!(o.status, OrderStatus::Completed);
    let step = signing.get(&steps[0].id).await.expect("step");
    assert_eq!(step.state, StepState::Resolved);
    assert!(signing.open(&admin).await.expect("open").is_empty());
    let kuitansi = o.numbers.kuitansi.clone();
    assert_eq!(kuitansi.len(), 1);
    assert!(kuitansi[0].starts_with("1/KU.03-KW/32/"), "{kuitansi:?}");
    // Run again, it finds everything done.
    let again = paraf_tasks::travel::settle(&w.ctx, &w.travel, &id)
        .await
        .expect("again");
    assert_eq!(again.version, o.version);

    // Uang harian by the SBM, lodging up to the SBM ceiling, transport as spent.
    let rates = w
        .travel
        .sbm()
        .current(w.today.year())
        .await
        .unwrap()
        .unwrap();
    let traveller = &o.pelaksana[0];
    let daily = rates.daily("Jawa Tengah").unwrap().luar_kota * 3;
    let lodging_cap = rates
        .lodging("Jawa Tengah")
        .unwrap()
        .rate(traveller.tingkat)
        * 2;
    assert!(
        lodging_cap < lodging_spent,
        "the test spends over the ceiling"
    );
    let total = daily + lodging_spent.min(lodging_cap) + train;
    assert_eq!(total, 3_460_000);

    let doc = |kind: &str| {
        o.documents
            .settlement
            .iter()
            .find(|d| d.kind == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
            .document_id
            .clone()
    };
    let kuitansi = w.text(&doc("kuitansi")).await;
    assert!(kuitansi.contains(&rupiah(total)), "{kuitansi}");
    assert!(kuitansi.contains("Rp 3.460.000"));
    let words = terbilang(total as u64);
    assert!(kuitansi.contains(&words), "`{words}` in {kuitansi}");
    let riil = w.text(&doc("daftar-pengeluaran-riil")).await;
    assert!(
        riil.contains("Tiket kereta api Bandung Semarang PP"),
        "{riil}"
    );
    assert!(
        !riil.contains("Hotel Gumaya"),
        "a cost with a receipt is not riil: {riil}"
    );
    for kind in ["rincian-biaya", "sppd-pengesahan", "laporan-perjalanan"] {
        let _ = doc(kind);
    }
    assert_eq!(o.reserved.as_ref().map(|r| r.2), Some(total));
}

#[tokio::test]
async fn a_rejection_frees_the_days_before_anyone_opens_the_rejected_order() {
    let w = world().await;
    let o = w.draft("staf", &["staf"], w.day(0), w.day(2)).await;
    w.submit(&o.id, "staf").await.expect("submit");
    w.decide(&o.id, None, "reject", "tidak prioritas").await;
    // Nobody looked at the rejected order: its status is still the stored one.
    assert_eq!(
        w.travel.load(&o.id).await.unwrap().status,
        OrderStatus::Submitted
    );
    let again = w.draft("staf", &["staf"], w.day(0), w.day(2)).await;
    w.submit(&again.id, "staf")
        .await
        .expect("a rejected order holds no days");
    assert_eq!(w.order(&o.id).await.status, OrderStatus::Rejected);
}
