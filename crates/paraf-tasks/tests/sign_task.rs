//! The sign task end to end on the embedded adapters: render a Surat Tugas, two reviewers'
//! paraf (invisible) and the Sekretaris's visible signature, archive — checked by paraf's
//! own verifier and by the independent validators (pdfsig, pyHanko). A missing validator
//! fails the test: run `scripts/install-validators` and export `PARAF_VENV=$PWD/.venv`.

#[path = "../../paraf-pdf/tests/validators/mod.rs"]
mod validators;

use std::path::PathBuf;
use std::sync::Arc;

use paraf_core::archive::Archive;
use paraf_core::{Blobs, Clock, NewEmployee, NewUnit, Org, Signer, SystemClock, Table};
use paraf_local::blobs::FolderBlobs;
use paraf_local::signer::{LocalCa, LocalSigner};
use paraf_local::table::SqliteTable;
use paraf_pdf::render::Letterhead;
use paraf_tasks::sign::{
    self, ChainStep, DocumentSpec, Position, SignContext, SignTaskError, SignTaskInput, UploadSign,
};
use serde_json::json;
use validators::Validators;

const NIP_KASUBAG: &str = "198003152005011002";
const NIP_KABAG: &str = "197512202000032001";
const NIP_SEKRETARIS: &str = "196805171994031003";

struct Fixture {
    ctx: SignContext,
    blobs: Arc<FolderBlobs>,
    root_pem: PathBuf,
    dir: tempfile::TempDir,
    ids: Vec<String>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = LocalCa::init(&dir.path().join("pki"), "KPU Provinsi Jawa Barat").expect("CA");
    let root_pem = dir.path().join("root.pem");
    std::fs::write(&root_pem, ca.root_pem()).expect("root.pem");
    let signer = Arc::new(LocalSigner::open(&dir.path().join("pki")).expect("signer"));
    let table: Arc<dyn Table> =
        Arc::new(SqliteTable::open(&dir.path().join("paraf.sqlite")).expect("table"));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let blobs = Arc::new(FolderBlobs::new(
        dir.path().join("blobs"),
        "http://127.0.0.1:1".into(),
        [9u8; 32],
    ));
    let org = Org::new(table.clone(), clock.clone());
    let unit = org
        .create_unit(NewUnit {
            code: "SEKR".into(),
            name: "Sekretariat".into(),
            kind: "pimpinan".into(),
            parent_id: None,
        })
        .await
        .expect("unit");
    let mut ids = Vec::new();
    for (i, (name, nip, jabatan)) in [
        ("Asep Sunandar", NIP_KASUBAG, "Kepala Subbagian Umum"),
        ("Rina Marlina, S.E.", NIP_KABAG, "Kepala Bagian Keuangan"),
        ("Dr. H. Dedi Supriadi", NIP_SEKRETARIS, "Sekretaris"),
    ]
    .into_iter()
    .enumerate()
    {
        let e = org
            .create_employee(NewEmployee {
                nip: nip.into(),
                name: name.into(),
                email: format!("pejabat{i}@kpu-jabar.go.id"),
                jabatan: jabatan.into(),
                unit: unit.id.clone(),
                roles: vec!["approver".into()],
                ..Default::default()
            })
            .await
            .expect("employee");
        ids.push(e.id);
    }
    let archive = Archive::new(table, blobs.clone() as Arc<dyn Blobs>, clock.clone());
    Fixture {
        ctx: SignContext {
            org,
            archive,
            signer: signer as Arc<dyn Signer>,
            clock,
            public_base_url: "https://paraf.example".into(),
            letterhead: Letterhead::kpu_jabar(),
            tsa: None,
        },
        blobs,
        root_pem,
        dir,
        ids,
    }
}

fn spt_input(f: &Fixture, key: &str, number: &str) -> SignTaskInput {
    SignTaskInput {
        signed_at: None,
        idempotency_key: key.into(),
        document: DocumentSpec {
            doc_type: "spt".into(),
            layout: None,
            data: json!({
                "nomor": number,
                "tanggal": "2026-11-28",
                "menimbang": "bahwa dalam rangka supervisi pemutakhiran data pemilih perlu menugaskan pegawai.",
                "dasar": "Undang-Undang Nomor 7 Tahun 2017 tentang Pemilihan Umum.",
                "pegawai": [{"nama": "Asep Saepudin", "nip": "199001012015031001", "pangkat": "Pengatur (II/c)", "jabatan": "Pengelola Data"}],
                "untuk": "Supervisi pemutakhiran data pemilih di KPU Kabupaten Garut.",
                "tempat_tujuan": "Kabupaten Garut",
                "tanggal_berangkat": "2026-12-01",
                "tanggal_kembali": "2026-12-03",
                "penandatangan": {"jabatan": "Sekretaris", "nama": "Dr. H. Dedi Supriadi", "nip": NIP_SEKRETARIS}
            }),
            classification: "KU.03".into(),
            number: Some(number.into()),
            title: format!("Surat Tugas {number}"),
            parties: vec!["Asep Saepudin".into()],
            slot_role: None,
        },
        chain: f
            .ids
            .iter()
            .map(|id| ChainStep {
                employee: id.clone(),
                kind: None,
            })
            .collect(),
        requester: f.ids[0].clone(),
    }
}

// ---------- independent validators ----------

/// pdfsig's verdicts: (signature valid, certificate trusted) per signature.
fn pdfsig(f: &Fixture, file: &str) -> (Vec<(bool, bool)>, String) {
    let (sigs, text) = Validators::new(f.dir.path(), &f.root_pem).pdfsig(file);
    (sigs.iter().map(|s| (s.valid, s.trusted)).collect(), text)
}

/// pyHanko's status lines, one per signature.
fn pyhanko(f: &Fixture, file: &str) -> (Vec<String>, String) {
    Validators::new(f.dir.path(), &f.root_pem).pyhanko(file)
}

async fn archived_bytes(f: &Fixture, id: &str) -> Vec<u8> {
    let doc = f.ctx.archive.get(id).await.expect("archived");
    f.blobs.get(&doc.blob_key).await.expect("blob").1
}

#[tokio::test]
async fn a_surat_tugas_is_rendered_initialled_twice_signed_and_archived() {
    let f = fixture().await;
    let out = sign::run(&f.ctx, spt_input(&f, "exec-1", "123/PL.01-SD/32/2026"))
        .await
        .expect("sign task");
    assert_eq!(out.document_id, sign::document_id_for("exec-1"));
    assert_eq!(out.number.as_deref(), Some("123/PL.01-SD/32/2026"));

    let pdf = archived_bytes(&f, &out.document_id).await;
    assert_eq!(paraf_core::ports::blobs::sha256_hex(&pdf), out.sha256);
    let root = f.ctx.signer.root_certificate().await.expect("root");
    let report = paraf_pdf::verify(&pdf, &[root]).expect("verify");
    assert!(report.all_valid(), "{report:#?}");
    let nips: Vec<_> = report
        .signatures
        .iter()
        .map(|s| s.signer_nip.clone().unwrap_or_default())
        .collect();
    assert_eq!(nips, [NIP_KASUBAG, NIP_KABAG, NIP_SEKRETARIS]);

    let doc = f.ctx.archive.get(&out.document_id).await.expect("record");
    assert_eq!(doc.signers.len(), 3);
    assert_eq!(doc.doc_type, "spt");
    assert_eq!(doc.classification, "KU.03");

    let file = f.dir.path().join("spt.pdf");
    std::fs::write(&file, &pdf).expect("write");
    let file = file.display().to_string();
    let (sigs, text) = pdfsig(&f, &file);
    assert_eq!(sigs, vec![(true, true); 3], "pdfsig:\n{text}");
    let (lines, text) = pyhanko(&f, &file);
    assert_eq!(lines.len(), 3, "pyHanko:\n{text}");
    assert!(
        lines.iter().all(|l| l.contains("INTACT:TRUSTED")),
        "pyHanko:\n{text}"
    );
    // Only the last signature covers the whole file.
    assert!(lines[2].contains("UNTOUCHED"), "pyHanko:\n{text}");

    // Two reviewers' paraf, then the final signature (the visible one, in the slot).
    let fields: Vec<_> = report
        .signatures
        .iter()
        .map(|s| s.field_name.as_str())
        .collect();
    assert_eq!(fields, ["Paraf1", "Paraf2", "TTE3"]);
}

#[tokio::test]
async fn a_retried_task_returns_the_document_it_already_archived() {
    let f = fixture().await;
    let first = sign::run(&f.ctx, spt_input(&f, "exec-retry", "7/PL.01-SD/32/2026"))
        .await
        .expect("first run");
    let again = sign::run(&f.ctx, spt_input(&f, "exec-retry", "7/PL.01-SD/32/2026"))
        .await
        .expect("retry");
    assert_eq!(first, again);
    let (docs, _) = f
        .ctx
        .archive
        .search(&Default::default(), 50, None)
        .await
        .expect("search");
    assert_eq!(docs.len(), 1);
}

#[tokio::test]
async fn an_unknown_signer_stops_the_task_before_anything_is_archived() {
    let f = fixture().await;
    let mut input = spt_input(&f, "exec-unknown", "8/PL.01-SD/32/2026");
    input.chain[1].employee = "nobody".into();
    let err = sign::run(&f.ctx, input).await.expect_err("must fail");
    assert!(matches!(err, SignTaskError::UnknownEmployee(_)), "{err}");
    assert_eq!(err.error_name(), sign::ERROR_INVALID);
    let (docs, _) = f
        .ctx
        .archive
        .search(&Default::default(), 50, None)
        .await
        .expect("search");
    assert!(docs.is_empty());
}

#[tokio::test]
async fn a_pdf_made_elsewhere_is_signed_visibly_and_archived() {
    let f = fixture().await;
    // A PDF the task itself rendered stands in for one from a word processor: any
    // unsigned, valid PDF will do.
    let rendered = paraf_pdf::render::render(
        paraf_pdf::render::layouts::SPT,
        &spt_input(&f, "x", "1/TU/2026").document.data,
        &Letterhead::kpu_jabar(),
    )
    .expect("render");
    let doc = sign::sign_upload(
        &f.ctx,
        UploadSign {
            pdf: rendered.pdf,
            signer: NIP_SEKRETARIS.into(),
            page: 0,
            position: Position::BottomRight,
            title: "Nota dinas dari pengolah kata".into(),
            doc_type: "surat".into(),
            classification: "TU".into(),
            number: None,
            parties: vec![],
            created_by: f.ids[2].clone(),
        },
    )
    .await
    .expect("sign upload");
    let pdf = archived_bytes(&f, &doc.id).await;
    let file = f.dir.path().join("upload.pdf");
    std::fs::write(&file, &pdf).expect("write");
    let (sigs, text) = pdfsig(&f, &file.display().to_string());
    assert_eq!(sigs, vec![(true, true)], "pdfsig:\n{text}");
}

#[tokio::test]
async fn a_broken_upload_is_refused_and_nothing_is_archived() {
    let f = fixture().await;
    for bad in [
        b"not a pdf at all".to_vec(),
        b"%PDF-1.7\n1 0 obj\n<<".to_vec(),
    ] {
        let err = sign::sign_upload(
            &f.ctx,
            UploadSign {
                pdf: bad,
                signer: NIP_SEKRETARIS.into(),
                page: 0,
                position: Position::Invisible,
                title: "x".into(),
                doc_type: "surat".into(),
                classification: "TU".into(),
                number: None,
                parties: vec![],
                created_by: f.ids[2].clone(),
            },
        )
        .await
        .expect_err("must fail");
        assert!(err.is_bad_input(), "{err}");
    }
    let (docs, _) = f
        .ctx
        .archive
        .search(&Default::default(), 50, None)
        .await
        .expect("search");
    assert!(docs.is_empty());
}
