//! The order's decisions on the in-memory table: each state change decided once, the
//! numbers taken only by the service at its stage.

use super::*;
use crate::auth::Auth;
use crate::memory::MemoryTable;
use crate::ports::clock::SystemClock;

struct World {
    travel: Travel,
    table: Arc<MemoryTable>,
}

async fn world() -> World {
    let table = Arc::new(MemoryTable::new());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let auth = Auth::new(table.clone(), clock.clone());
    crate::demo::load(&auth).await.expect("demo organisation");
    World {
        travel: Travel::new(table.clone(), clock),
        table,
    }
}

impl World {
    async fn who(&self, local: &str) -> Principal {
        let email = format!("{local}@{}", crate::demo::DEMO_DOMAIN);
        let emp = self
            .travel
            .org()
            .find_employee(&email)
            .await
            .expect("org")
            .unwrap_or_else(|| panic!("no demo employee {local}"));
        Principal::of(&emp)
    }

    /// A draft of `staf` for two travellers, then put in `status` as if it had got there.
    async fn order_in(&self, status: OrderStatus) -> TravelOrder {
        let staf = self.who("staf").await;
        let today = self.travel.today();
        let input = OrderInput {
            pelaksana: vec![
                staf.employee_id.clone(),
                self.who("intan.permata").await.employee_id,
            ],
            maksud: "Rekonsiliasi laporan keuangan".into(),
            alat_angkut: "kereta api".into(),
            tempat_tujuan: Some(Place {
                provinsi: "DKI Jakarta".into(),
                kota: "Jakarta Pusat".into(),
            }),
            tanggal_berangkat: Some(date_str(today)),
            tanggal_kembali: Some(date_str(today + Duration::days(1))),
            anggaran: Some(Budget {
                instansi: "Sekretariat KPU Provinsi Jawa Barat".into(),
                akun: "524111".into(),
            }),
            ..Default::default()
        };
        let mut o = self.travel.create_draft(&staf, input).await.expect("draft");
        o.status = status;
        o.version += 1;
        self.table
            .put(to_item(&o).expect("item"), None)
            .await
            .expect("stored");
        o
    }

    async fn order(&self, id: &str) -> TravelOrder {
        self.travel.load(id).await.expect("order")
    }
}

/// `n` requests racing on their own threads; their outcomes.
async fn race<T, F, Fut>(n: usize, f: F) -> Vec<Result<T, ServiceError>>
where
    T: Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut handles = Vec::new();
    for _ in 0..n {
        let b = barrier.clone();
        let fut = f();
        handles.push(tokio::spawn(async move {
            b.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("joined"));
    }
    out
}

fn events(o: &TravelOrder, event: &str) -> usize {
    o.timeline.iter().filter(|e| e.event == event).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_racing_ppk_acceptances_record_one_decision_and_one_event() {
    let w = world().await;
    let o = w.order_in(OrderStatus::Verified).await;
    let ppk = w.who("ppk").await;
    let outcomes = race(20, || {
        let (travel, id, ppk) = (w.travel.clone(), o.id.clone(), ppk.clone());
        async move { travel.verify(&id, &ppk, true, "").await }
    })
    .await;
    let won: Vec<_> = outcomes.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "exactly one acceptance");
    assert!(won[0].1, "the winner leads to the settlement documents");
    for r in &outcomes {
        if let Err(e) = r {
            assert_eq!(e, &ServiceError::already_decided());
        }
    }
    let after = w.order(&o.id).await;
    assert_eq!(after.status, OrderStatus::Accepted);
    assert_eq!(
        after
            .verifications
            .iter()
            .filter(|v| v.role == "ppk")
            .count(),
        1
    );
    assert_eq!(events(&after, "accepted"), 1);
    assert_eq!(after.decisions, o.decisions + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_bendahara_acceptances_are_already_decided_not_forbidden() {
    let w = world().await;
    let o = w.order_in(OrderStatus::Reported).await;
    let bendahara = w.who("bendahara").await;
    let outcomes = race(20, || {
        let (travel, id, who) = (w.travel.clone(), o.id.clone(), bendahara.clone());
        async move { travel.verify(&id, &who, true, "").await }
    })
    .await;
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1);
    for r in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r, &ServiceError::already_decided(), "409, never 403");
    }
    let after = w.order(&o.id).await;
    assert_eq!(after.status, OrderStatus::Verified);
    assert_eq!(after.verifications.len(), 1);
    assert_eq!(events(&after, "verified"), 1);
}

#[tokio::test]
async fn a_verifier_repeating_a_decided_step_is_told_so_and_nothing_is_written() {
    let w = world().await;
    let o = w.order_in(OrderStatus::Reported).await;
    let (bendahara, ppk) = (w.who("bendahara").await, w.who("ppk").await);
    // The PPK cannot act before the bendahara.
    assert_eq!(
        w.travel.verify(&o.id, &ppk, true, "").await.err(),
        Some(ServiceError::Forbidden)
    );
    w.travel
        .verify(&o.id, &bendahara, true, "")
        .await
        .expect("bendahara");
    let before = w.order(&o.id).await;
    for (who, accept) in [(&bendahara, true), (&bendahara, false)] {
        let note = if accept { "" } else { "ulang" };
        assert_eq!(
            w.travel.verify(&o.id, who, accept, note).await.err(),
            Some(ServiceError::already_decided())
        );
    }
    let (_, settle) = w.travel.verify(&o.id, &ppk, true, "").await.expect("ppk");
    assert!(settle);
    for who in [&ppk, &bendahara] {
        assert_eq!(
            w.travel.verify(&o.id, who, true, "").await.err(),
            Some(ServiceError::already_decided())
        );
    }
    let after = w.order(&o.id).await;
    assert_eq!(after.verifications.len(), before.verifications.len() + 1);
    // Someone who never verifies is still simply not allowed.
    let staf = w.who("staf").await;
    assert!(w.travel.verify(&o.id, &staf, true, "").await.is_err());
}

#[tokio::test]
async fn a_returned_report_is_a_new_round_the_bendahara_decides_again() {
    let w = world().await;
    let o = w.order_in(OrderStatus::Verified).await;
    let (bendahara, ppk) = (w.who("bendahara").await, w.who("ppk").await);
    let (back, _) = w
        .travel
        .verify(&o.id, &ppk, false, "lampirkan boarding pass")
        .await
        .expect("returned by the PPK");
    assert_eq!(back.status, OrderStatus::Approved);
    let mut again = w.order(&o.id).await;
    again.status = OrderStatus::Reported;
    w.table
        .put(to_item(&again).expect("item"), None)
        .await
        .expect("report sent again");
    let (o2, _) = w
        .travel
        .verify(&o.id, &bendahara, true, "")
        .await
        .expect("the bendahara decides the new round");
    assert_eq!(o2.status, OrderStatus::Verified);
}

#[tokio::test]
async fn the_settlement_completes_only_an_accepted_order_and_only_once() {
    let w = world().await;
    let o = w.order_in(OrderStatus::Verified).await;
    assert!(matches!(
        w.travel.mark_completed(&o.id, Vec::new(), 1000).await,
        Err(ServiceError::Conflict { .. })
    ));
    let ppk = w.who("ppk").await;
    w.travel.verify(&o.id, &ppk, true, "").await.expect("ppk");
    let done = w
        .travel
        .mark_completed(&o.id, Vec::new(), 1000)
        .await
        .expect("completed");
    assert_eq!(done.status, OrderStatus::Completed);
    let again = w
        .travel
        .mark_completed(&o.id, Vec::new(), 2000)
        .await
        .expect("idempotent");
    assert_eq!(again.version, done.version, "nothing written");
    assert_eq!(events(&again, "completed"), 1);
}

#[tokio::test]
async fn numbers_are_taken_only_at_their_stage_and_once() {
    let w = world().await;
    let today = w.travel.today();
    let draft = w.order_in(OrderStatus::Draft).await;
    assert!(matches!(
        w.travel.allocate_approval_numbers(&draft.id, today).await,
        Err(ServiceError::Conflict { .. })
    ));
    assert!(matches!(
        w.travel.allocate_settlement_numbers(&draft.id, today).await,
        Err(ServiceError::Conflict { .. })
    ));
    let year = today.year();
    let a = w.order_in(OrderStatus::Submitted).await;
    let b = w.order_in(OrderStatus::Submitted).await;
    let a1 = w
        .travel
        .allocate_approval_numbers(&a.id, today)
        .await
        .expect("a");
    let b1 = w
        .travel
        .allocate_approval_numbers(&b.id, today)
        .await
        .expect("b");
    let a2 = w
        .travel
        .allocate_approval_numbers(&a.id, today)
        .await
        .expect("a again");
    assert_eq!(a1.numbers, a2.numbers, "allocated once");
    assert_eq!(a1.numbers.spt, Some(format!("1/KU.03-ST/32/{year}")));
    assert_eq!(b1.numbers.spt, Some(format!("2/KU.03-ST/32/{year}")));
    assert_eq!(
        b1.numbers.sppd,
        [
            format!("3/KU.03-SPPD/32/{year}"),
            format!("4/KU.03-SPPD/32/{year}")
        ]
    );
    let c = w.order_in(OrderStatus::Accepted).await;
    let c1 = w
        .travel
        .allocate_settlement_numbers(&c.id, today)
        .await
        .expect("kuitansi");
    assert_eq!(
        c1.numbers.kuitansi,
        [
            format!("1/KU.03-KW/32/{year}"),
            format!("2/KU.03-KW/32/{year}")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_allocations_for_many_orders_leave_no_gap_and_no_number_twice() {
    let w = world().await;
    let today = w.travel.today();
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(w.order_in(OrderStatus::Submitted).await.id);
    }
    let next = Arc::new(std::sync::Mutex::new(ids.clone()));
    let outcomes = race(8, || {
        let travel = w.travel.clone();
        let id = next
            .lock()
            .map(|mut v| v.pop().unwrap_or_default())
            .unwrap_or_default();
        async move { travel.allocate_approval_numbers(&id, today).await }
    })
    .await;
    let mut spt: Vec<String> = outcomes
        .into_iter()
        .map(|r| r.expect("allocated").numbers.spt.expect("spt"))
        .collect();
    spt.sort_by_key(|n| n.split('/').next().and_then(|s| s.parse::<u32>().ok()));
    let want: Vec<String> = (1..=8)
        .map(|i| format!("{i}/KU.03-ST/32/{}", today.year()))
        .collect();
    assert_eq!(spt, want);
}

fn refused_field(r: Result<impl std::fmt::Debug, ServiceError>, field: &str) {
    match r {
        Err(ServiceError::Invalid(f)) => assert!(f.has(field), "{field} not named: {f:?}"),
        other => panic!("expected 422 on {field}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_draft_refuses_impossible_dates_and_trips_longer_than_the_limit() {
    let w = world().await;
    let staf = w.who("staf").await;
    let with = |dep: &str, ret: &str| OrderInput {
        tanggal_berangkat: Some(dep.into()),
        tanggal_kembali: Some(ret.into()),
        ..Default::default()
    };
    for (dep, ret, field) in [
        ("0000-01-01", "2026-01-02", "tanggal_berangkat"),
        ("+2027-01-01", "2027-01-02", "tanggal_berangkat"),
        ("1900-01-01", "9999-12-31", "tanggal_kembali"),
        ("2026-12-01", "2027-03-01", "tanggal_kembali"),
    ] {
        refused_field(w.travel.create_draft(&staf, with(dep, ret)).await, field);
    }
    w.travel
        .create_draft(&staf, with("2026-12-01", "2027-01-29"))
        .await
        .expect("60 days is the longest trip");
}

#[tokio::test]
async fn a_draft_refuses_control_and_direction_override_characters() {
    let w = world().await;
    let staf = w.who("staf").await;
    let input = OrderInput {
        maksud: "Rapat\u{0}koordinasi".into(),
        tempat_tujuan: Some(Place {
            provinsi: "DKI Jakarta".into(),
            kota: "Jakarta\u{202e}atraksaJ".into(),
        }),
        ..Default::default()
    };
    match w.travel.create_draft(&staf, input).await {
        Err(ServiceError::Invalid(f)) => {
            assert!(f.has("maksud") && f.has("tempat_tujuan.kota"), "{f:?}")
        }
        other => panic!("expected 422, got {other:?}"),
    }
}

#[tokio::test]
async fn changing_a_draft_requires_the_version_that_was_read_and_keeps_it_otherwise() {
    let w = world().await;
    let o = w.order_in(OrderStatus::Draft).await;
    let staf = w.who("staf").await;
    let partial = OrderInput {
        maksud: "x".into(),
        ..Default::default()
    };
    refused_field(w.travel.update(&o.id, &staf, partial).await, "version");
    let kept = w.order(&o.id).await;
    assert_eq!(kept.pelaksana.len(), 2, "nothing stored is lost");
    assert_eq!(kept.maksud, "Rekonsiliasi laporan keuangan");
}

#[tokio::test]
async fn the_estimate_of_a_form_costs_it_without_saving_anything() {
    let w = world().await;
    let staf = w.who("staf").await;
    let today = w.travel.today();
    let input = OrderInput {
        pelaksana: vec![staf.employee_id.clone()],
        tempat_tujuan: Some(Place {
            provinsi: "DKI Jakarta".into(),
            kota: "Jakarta Pusat".into(),
        }),
        tanggal_berangkat: Some(date_str(today)),
        tanggal_kembali: Some(date_str(today + Duration::days(2))),
        ..Default::default()
    };
    let est = w
        .travel
        .estimate_form(&staf, input)
        .await
        .expect("estimate");
    assert_eq!(est.per_person.len(), 1);
    assert!(est.total > 0);
    refused_field(
        w.travel.estimate_form(&staf, OrderInput::default()).await,
        "pelaksana",
    );
}
