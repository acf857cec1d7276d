//! The demo organisation: a fictional KPU provincial secretariat (Jawa Barat) with one
//! account per role. DEMO ONLY — every account shares the password [`DEMO_PASSWORD`].
//! People, NIPs and addresses are invented.

use crate::auth::Auth;
use crate::error::ServiceError;
use crate::org::{set_up_on_conflict, NewEmployee, NewUnit};

pub const DEMO_PASSWORD: &str = "paraf-demo";
pub const DEMO_DOMAIN: &str = "demo.paraf.test";
pub const DEMO_ORG_NAME: &str = "KPU Provinsi Jawa Barat (demo)";

/// (code, name, kind, parent code)
const UNITS: &[(&str, &str, &str, Option<&str>)] = &[
    ("PIMP", "Pimpinan KPU Provinsi Jawa Barat", "pimpinan", None),
    (
        "DIV-TEKNIS",
        "Divisi Teknis Penyelenggaraan",
        "divisi",
        Some("PIMP"),
    ),
    (
        "DIV-HUKUM",
        "Divisi Hukum dan Pengawasan",
        "divisi",
        Some("PIMP"),
    ),
    ("SEKR", "Sekretariat", "sekretariat", Some("PIMP")),
    (
        "BAG-KUL",
        "Bagian Keuangan, Umum dan Logistik",
        "bagian",
        Some("SEKR"),
    ),
    (
        "SUB-KEU",
        "Subbagian Keuangan",
        "subbagian",
        Some("BAG-KUL"),
    ),
    (
        "SUB-UMUM",
        "Subbagian Umum dan Logistik",
        "subbagian",
        Some("BAG-KUL"),
    ),
    (
        "BAG-TEKNIS",
        "Bagian Teknis Penyelenggaraan Pemilu dan Partisipasi Masyarakat",
        "bagian",
        Some("SEKR"),
    ),
    (
        "SUB-TEKNIS",
        "Subbagian Teknis Penyelenggaraan Pemilu",
        "subbagian",
        Some("BAG-TEKNIS"),
    ),
    (
        "SUB-PARMAS",
        "Subbagian Partisipasi dan Hubungan Masyarakat",
        "subbagian",
        Some("BAG-TEKNIS"),
    ),
    (
        "BAG-HUKUM",
        "Bagian Hukum dan Sumber Daya Manusia",
        "bagian",
        Some("SEKR"),
    ),
    (
        "SUB-HUKUM",
        "Subbagian Hukum",
        "subbagian",
        Some("BAG-HUKUM"),
    ),
    (
        "SUB-SDM",
        "Subbagian Sumber Daya Manusia",
        "subbagian",
        Some("BAG-HUKUM"),
    ),
];

/// A demo person: (email local part, name, NIP, pangkat, golongan, jabatan, unit, roles,
/// heads their unit).
type Person = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
);

const PEOPLE: &[Person] = &[
    (
        "ketua",
        "Dr. Hendra Kusumawijaya, S.IP., M.Si.",
        "197204152000031002",
        "Pembina Utama Muda",
        "IV/c",
        "Ketua KPU Provinsi Jawa Barat",
        "PIMP",
        "approver",
        true,
    ),
    (
        "anggota.teknis",
        "Rina Marlina, S.Sos., M.AP.",
        "197809222005012004",
        "Pembina",
        "IV/a",
        "Anggota KPU, Koordinator Divisi Teknis Penyelenggaraan",
        "DIV-TEKNIS",
        "approver",
        true,
    ),
    (
        "anggota.hukum",
        "Asep Saepul Rohman, S.H., M.H.",
        "198001102006041003",
        "Pembina",
        "IV/a",
        "Anggota KPU, Koordinator Divisi Hukum dan Pengawasan",
        "DIV-HUKUM",
        "approver",
        true,
    ),
    (
        "sekretaris",
        "Drs. Bambang Sutrisno, M.M.",
        "196905181994031005",
        "Pembina Utama Muda",
        "IV/c",
        "Sekretaris KPU Provinsi Jawa Barat",
        "SEKR",
        "approver",
        true,
    ),
    (
        "kabag",
        "Dewi Kartika Sari, S.E., M.Ak.",
        "197611032001122001",
        "Pembina",
        "IV/a",
        "Kepala Bagian Keuangan, Umum dan Logistik",
        "BAG-KUL",
        "approver",
        true,
    ),
    (
        "kabag.teknis",
        "Agus Setiawan, S.IP.",
        "197703282002121002",
        "Pembina",
        "IV/a",
        "Kepala Bagian Teknis Penyelenggaraan Pemilu dan Partisipasi Masyarakat",
        "BAG-TEKNIS",
        "approver",
        true,
    ),
    (
        "kabag.hukum",
        "Yuliani Pratiwi, S.H., M.H.",
        "197907142003122003",
        "Pembina",
        "IV/a",
        "Kepala Bagian Hukum dan Sumber Daya Manusia",
        "BAG-HUKUM",
        "approver",
        true,
    ),
    (
        "kasubag",
        "Teguh Prasetyo, S.E.",
        "198205202008011006",
        "Penata Tingkat I",
        "III/d",
        "Kepala Subbagian Keuangan",
        "SUB-KEU",
        "approver",
        true,
    ),
    (
        "kasubag.umum",
        "Neneng Hasanah, S.Sos.",
        "198312122009022005",
        "Penata Tingkat I",
        "III/d",
        "Kepala Subbagian Umum dan Logistik",
        "SUB-UMUM",
        "approver",
        true,
    ),
    (
        "kasubag.teknis",
        "Dadang Supriatna, S.IP.",
        "198108082009011007",
        "Penata Tingkat I",
        "III/d",
        "Kepala Subbagian Teknis Penyelenggaraan Pemilu",
        "SUB-TEKNIS",
        "approver",
        true,
    ),
    (
        "kasubag.parmas",
        "Siti Nurhaliza, S.I.Kom.",
        "198504252010012008",
        "Penata",
        "III/c",
        "Kepala Subbagian Partisipasi dan Hubungan Masyarakat",
        "SUB-PARMAS",
        "approver",
        true,
    ),
    (
        "kasubag.hukum",
        "Rudi Hartono, S.H.",
        "198302172010011009",
        "Penata",
        "III/c",
        "Kepala Subbagian Hukum",
        "SUB-HUKUM",
        "approver",
        true,
    ),
    (
        "kasubag.sdm",
        "Lilis Suryani, S.Psi.",
        "198609302011012010",
        "Penata",
        "III/c",
        "Kepala Subbagian Sumber Daya Manusia",
        "SUB-SDM",
        "approver",
        true,
    ),
    (
        "ppk",
        "Ir. Wawan Gunawan, M.T.",
        "197501012000031011",
        "Pembina",
        "IV/a",
        "Pejabat Pembuat Komitmen",
        "BAG-KUL",
        "ppk;approver",
        false,
    ),
    (
        "bendahara",
        "Euis Komariah, A.Md.",
        "198707072012012012",
        "Penata Muda Tingkat I",
        "III/b",
        "Bendahara Pengeluaran",
        "SUB-KEU",
        "bendahara",
        false,
    ),
    (
        "arsiparis",
        "Yusuf Maulana, S.Hum.",
        "198911112014031013",
        "Penata Muda Tingkat I",
        "III/b",
        "Arsiparis Ahli Pertama",
        "SUB-UMUM",
        "archivist",
        false,
    ),
    (
        "agendaris",
        "Rini Anggraeni",
        "199003032015032014",
        "Pengatur Tingkat I",
        "II/d",
        "Pengadministrasi Persuratan (Agendaris)",
        "SUB-UMUM",
        "agendaris",
        false,
    ),
    (
        "admin",
        "Fajar Nugraha, S.Kom.",
        "199105152015031015",
        "Penata Muda Tingkat I",
        "III/b",
        "Pranata Komputer Ahli Pertama",
        "SUB-SDM",
        "admin",
        false,
    ),
    (
        "staf",
        "Ahmad Fauzi, S.E.",
        "199206182017031016",
        "Penata Muda",
        "III/a",
        "Analis Keuangan",
        "SUB-KEU",
        "staff",
        false,
    ),
    (
        "intan.permata",
        "Intan Permatasari, S.Ak.",
        "199408082019032017",
        "Penata Muda",
        "III/a",
        "Penyusun Laporan Keuangan",
        "SUB-KEU",
        "staff",
        false,
    ),
    (
        "budi.santoso",
        "Budi Santoso",
        "199012012014031018",
        "Pengatur",
        "II/c",
        "Pengelola Barang Milik Negara",
        "SUB-UMUM",
        "staff",
        false,
    ),
    (
        "rizky.ramadhan",
        "Rizky Ramadhan, S.IP.",
        "199511212020121019",
        "Penata Muda",
        "III/a",
        "Analis Penyelenggaraan Pemilu",
        "SUB-TEKNIS",
        "staff",
        false,
    ),
    (
        "nurul.hidayah",
        "Nurul Hidayah, S.Sos.",
        "199602142020122020",
        "Penata Muda",
        "III/a",
        "Pranata Hubungan Masyarakat",
        "SUB-PARMAS",
        "staff",
        false,
    ),
    (
        "dimas.prakoso",
        "Dimas Prakoso, S.H.",
        "199307302019031021",
        "Penata Muda",
        "III/a",
        "Analis Hukum",
        "SUB-HUKUM",
        "staff",
        false,
    ),
    (
        "sari.wulandari",
        "Sari Wulandari, S.Psi.",
        "199410102019032022",
        "Penata Muda",
        "III/a",
        "Analis Sumber Daya Manusia Aparatur",
        "SUB-SDM",
        "staff",
        false,
    ),
];

/// What the demo created, for the CLI to print.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    pub units: usize,
    pub employees: usize,
    /// (email, jabatan) of the accounts, one per role.
    pub accounts: Vec<(String, String)>,
}

/// Loads the demo organisation into an empty table. Refuses, writing nothing, when the
/// organisation already has a unit (the `Conflict` of [`crate::org::bootstrap`]), so it is
/// never loaded twice nor mixed into a real organisation.
pub async fn load(auth: &Auth) -> Result<DemoSummary, ServiceError> {
    let org = auth.org();
    org.ensure_empty().await?;
    let mut summary = DemoSummary::default();
    for (i, (code, name, kind, parent)) in UNITS.iter().enumerate() {
        let parent_id = match parent {
            Some(p) => Some(
                org.find_unit(p)
                    .await?
                    .ok_or(ServiceError::NotFound("unit"))?
                    .id,
            ),
            None => None,
        };
        org.create_unit(NewUnit {
            code: code.to_string(),
            name: name.to_string(),
            kind: kind.to_string(),
            parent_id,
        })
        .await
        // The root's code claim is the first write: losing it means another set-up won.
        .map_err(|e| if i == 0 { set_up_on_conflict(e) } else { e })?;
        summary.units += 1;
    }
    for (local, name, nip, pangkat, golongan, jabatan, unit, roles, head) in PEOPLE {
        let email = format!("{local}@{DEMO_DOMAIN}");
        let emp = org
            .create_employee(NewEmployee {
                nip: nip.to_string(),
                name: name.to_string(),
                email: email.clone(),
                jabatan: jabatan.to_string(),
                unit: unit.to_string(),
                pangkat: Some(pangkat.to_string()),
                golongan: Some(golongan.to_string()),
                supervisor: None,
                roles: roles.split(';').map(str::to_string).collect(),
            })
            .await?;
        auth.set_password(&emp.id, DEMO_PASSWORD).await?;
        if *head {
            org.set_unit_head(&emp.unit_id, &emp.id).await?;
        }
        if !local.contains('.') {
            summary.accounts.push((email, jabatan.to_string()));
        }
        summary.employees += 1;
    }
    // e-SPPD: example SBM rates for this fiscal year and the next, and a pagu for the
    // travel account, so a trip can be requested at once.
    let (table, clock) = org.parts();
    let travel = crate::travel::Travel::new(table, clock);
    let year = travel.today().year();
    let admin = org
        .find_employee(&format!("admin@{DEMO_DOMAIN}"))
        .await?
        .ok_or(ServiceError::NotFound("employee"))?;
    let admin = crate::auth::Principal::of(&admin);
    for y in [year, year + 1] {
        travel
            .sbm()
            .save(y, crate::travel::sbm::demo_rates(), &admin)
            .await?;
        travel
            .set_pagu(
                &admin,
                y,
                DEMO_TRAVEL_ACCOUNT,
                "Belanja perjalanan dinas biasa",
                DEMO_TRAVEL_PAGU,
            )
            .await?;
    }
    Ok(summary)
}

/// The demo's travel account (akun belanja perjalanan dinas biasa) and its pagu.
pub const DEMO_TRAVEL_ACCOUNT: &str = "524111";
pub const DEMO_TRAVEL_PAGU: i64 = 250_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_nip_is_valid_and_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for p in PEOPLE {
            assert!(crate::types::Nip::parse(p.2).is_ok(), "{}", p.2);
            assert!(seen.insert(p.2), "duplicate {}", p.2);
        }
        assert!(PEOPLE.len() >= 25);
    }

    #[tokio::test]
    async fn the_demo_refuses_an_organisation_that_is_already_set_up_and_writes_nothing() {
        use std::sync::Arc;
        let table = Arc::new(crate::memory::MemoryTable::new());
        let auth = Auth::new(table.clone(), Arc::new(crate::SystemClock));
        auth.org()
            .create_unit(NewUnit {
                code: "KPU-X".into(),
                name: "KPU Kabupaten X".into(),
                kind: "pimpinan".into(),
                parent_id: None,
            })
            .await
            .expect("a first unit");
        let e = load(&auth).await.expect_err("refused");
        assert!(
            matches!(&e, ServiceError::Conflict { field, .. } if field == crate::org::ALREADY_SET_UP_FIELD),
            "{e:?}"
        );
        assert_eq!(auth.org().units().await.expect("units").len(), 1);
        assert!(auth.org().find_unit("PIMP").await.expect("find").is_none());
    }

    #[test]
    fn the_demo_has_one_account_per_required_role() {
        for local in ["admin", "sekretaris", "ppk", "bendahara", "arsiparis"] {
            assert!(PEOPLE.iter().any(|p| p.0 == local), "{local}");
        }
    }
}
