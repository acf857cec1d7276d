use std::sync::Arc;

use paraf_core::memory::MemoryTable;
use paraf_core::org::ImportStatus;
use paraf_core::{demo, Auth, FixedClock, NewEmployee, Role, ServiceError};
use time::macros::datetime;

fn setup() -> (Auth, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(datetime!(2026-11-28 08:00 +7)));
    (
        Auth::new(Arc::new(MemoryTable::new()), clock.clone()),
        clock,
    )
}

async fn with_demo() -> (Auth, Arc<FixedClock>) {
    let (auth, clock) = setup();
    demo::load(&auth).await.expect("demo loads");
    (auth, clock)
}

fn new_staff(nip: &str, email: &str) -> NewEmployee {
    NewEmployee {
        nip: nip.into(),
        name: "Pegawai Baru".into(),
        email: email.into(),
        jabatan: "Pengadministrasi Umum".into(),
        unit: "SUB-UMUM".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_invalid_nip_is_refused_naming_the_field() {
    let (auth, _) = with_demo().await;
    let err = auth
        .org()
        .create_employee(new_staff("123", "baru@demo.paraf.test"))
        .await
        .unwrap_err();
    match err {
        ServiceError::Invalid(f) => assert!(f.has("nip") && !f.has("email")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_duplicate_nip_is_a_conflict_and_claims_nothing_else() {
    let (auth, _) = with_demo().await;
    let org = auth.org();
    // NIP of the demo's staf@ account, with a fresh email.
    let err = org
        .create_employee(new_staff("199206182017031016", "baru@demo.paraf.test"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Conflict { ref field, .. } if field == "nip"),
        "{err:?}"
    );
    // The email was not claimed by the failed transaction: it can be used now.
    org.create_employee(new_staff("199912312024011001", "baru@demo.paraf.test"))
        .await
        .expect("email still free");
}

#[tokio::test]
async fn the_supervisor_chain_climbs_the_unit_tree_to_the_ketua() {
    let (auth, _) = with_demo().await;
    let org = auth.org();
    let staf = org
        .find_employee("staf@demo.paraf.test")
        .await
        .unwrap()
        .unwrap();
    let chain: Vec<String> = org
        .supervisor_chain(&staf)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.email.to_string())
        .collect();
    assert_eq!(
        chain,
        ["kasubag", "kabag", "sekretaris", "ketua"].map(|l| format!("{l}@demo.paraf.test"))
    );
    // A head's supervisor is the head of the unit above, not themselves.
    let kabag = org
        .find_employee("kabag@demo.paraf.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        org.supervisor(&kabag)
            .await
            .unwrap()
            .unwrap()
            .email
            .as_str(),
        "sekretaris@demo.paraf.test"
    );
}

#[tokio::test]
async fn a_plh_acts_only_within_the_delegation_period() {
    let (auth, _) = with_demo().await;
    let org = auth.org();
    let kabag = org
        .find_employee("kabag@demo.paraf.test")
        .await
        .unwrap()
        .unwrap();
    org.create_delegation(
        "kabag@demo.paraf.test",
        "kasubag@demo.paraf.test",
        "2026-12-01",
        "2026-12-05",
        "cuti tahunan",
    )
    .await
    .unwrap();
    let day =
        |d| time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE).unwrap();
    assert_eq!(
        org.acting_for(&kabag, day("2026-12-03"))
            .await
            .unwrap()
            .email
            .as_str(),
        "kasubag@demo.paraf.test"
    );
    assert_eq!(
        org.acting_for(&kabag, day("2026-12-06")).await.unwrap().id,
        kabag.id
    );
    assert_eq!(
        org.acting_for(&kabag, day("2026-11-30")).await.unwrap().id,
        kabag.id
    );
    let overlap = org
        .create_delegation(
            "kabag@demo.paraf.test",
            "staf@demo.paraf.test",
            "2026-12-05",
            "2026-12-07",
            "dinas luar",
        )
        .await
        .unwrap_err();
    assert!(matches!(overlap, ServiceError::Conflict { .. }));
}

#[tokio::test]
async fn a_csv_import_reports_each_bad_row_and_writes_only_good_rows() {
    let (auth, _) = with_demo().await;
    let org = auth.org();
    let csv = "nip,nama,email,jabatan,unit,pangkat,golongan,atasan,peran\n\
        199901012024011002,Andi Baru,andi@demo.paraf.test,Analis,SUB-KEU,Penata Muda,III/a,kasubag@demo.paraf.test,staff\n\
        12345,Salah NIP,salah@demo.paraf.test,Analis,SUB-KEU,,,,\n\
        199901012024011003,Unit Salah,unit@demo.paraf.test,Analis,TIDAK-ADA,,,,bos\n\
        199901012024011004,Email Ganda,andi@demo.paraf.test,Analis,SUB-KEU,,,,\n";
    let report = org.import_employees_csv(csv).await.unwrap();
    assert_eq!(report.rows.len(), 4);
    assert_eq!(report.imported(), 1);
    assert_eq!(report.rows[0].status, ImportStatus::Imported);
    assert!(report.rows[1].errors.contains_key("nip"));
    assert_eq!(report.rows[1].line, 3);
    assert!(
        report.rows[2].errors.contains_key("unit") && report.rows[2].errors.contains_key("roles")
    );
    assert!(report.rows[3].errors.contains_key("email"));
    // Each reason comes in both languages; the edge picks one.
    let roles = &report.rows[2].errors["roles"];
    assert!(
        roles.id.starts_with("peran `bos` tidak dikenal"),
        "{roles:?}"
    );
    assert!(roles.en.starts_with("unknown role `bos`"), "{roles:?}");
    assert_eq!(
        report.rows[3].errors["email"].en,
        "email is already registered"
    );
    // The rejected rows left nothing behind.
    assert!(org
        .find_employee("199901012024011004")
        .await
        .unwrap()
        .is_none());
    assert!(org
        .find_employee("unit@demo.paraf.test")
        .await
        .unwrap()
        .is_none());
    let andi = org
        .find_employee("199901012024011002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        org.supervisor(&andi).await.unwrap().unwrap().email.as_str(),
        "kasubag@demo.paraf.test"
    );
}

#[tokio::test]
async fn login_works_by_nip_or_email_and_throttles_ten_failures_from_one_address() {
    let (auth, clock) = with_demo().await;
    let here = Some("203.0.113.7".parse().unwrap());
    let by_email = auth
        .authenticate("ppk@demo.paraf.test", demo::DEMO_PASSWORD, here)
        .await
        .unwrap();
    assert!(by_email.has_role(Role::Ppk));
    let by_nip = auth
        .authenticate("19750101 200003 1 011", demo::DEMO_PASSWORD, here)
        .await
        .unwrap();
    assert_eq!(by_nip.id, by_email.id);
    for _ in 0..10 {
        assert_eq!(
            auth.authenticate("ppk@demo.paraf.test", "salah", here)
                .await
                .unwrap_err(),
            ServiceError::Unauthenticated
        );
    }
    let err = auth
        .authenticate("ppk@demo.paraf.test", demo::DEMO_PASSWORD, here)
        .await
        .unwrap_err();
    let ServiceError::TooManyRequests { retry_after_secs } = err else {
        panic!("{err:?}")
    };
    // Other accounts from here, and this account from elsewhere, are not affected; the
    // refusal lifts after Retry-After.
    auth.authenticate("admin@demo.paraf.test", demo::DEMO_PASSWORD, here)
        .await
        .unwrap();
    auth.authenticate(
        "ppk@demo.paraf.test",
        demo::DEMO_PASSWORD,
        Some("198.51.100.20".parse().unwrap()),
    )
    .await
    .unwrap();
    clock.advance(time::Duration::seconds(retry_after_secs as i64));
    auth.authenticate("ppk@demo.paraf.test", demo::DEMO_PASSWORD, here)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_session_ends_at_logout_and_at_expiry() {
    let (auth, clock) = with_demo().await;
    let emp = auth
        .authenticate("admin@demo.paraf.test", demo::DEMO_PASSWORD, None)
        .await
        .unwrap();
    let s = auth.create_session(&emp).await.unwrap();
    assert_eq!(auth.session(&s.token).await.unwrap().unwrap().1.id, emp.id);
    clock.advance(time::Duration::hours(13));
    assert!(auth.session(&s.token).await.unwrap().is_none());
    let s2 = auth.create_session(&emp).await.unwrap();
    auth.end_session(&s2.token).await.unwrap();
    assert!(auth.session(&s2.token).await.unwrap().is_none());
    assert!(auth.session("forged").await.unwrap().is_none());
}

#[tokio::test]
async fn the_demo_cannot_be_loaded_twice() {
    let (auth, _) = with_demo().await;
    assert!(demo::load(&auth).await.is_err());
}
