//! The document commands of the real binary: `paraf sign` (one file with `--out`, several
//! with `--out-dir`), `paraf verify` (exit 0 only when every signature is valid) and
//! `paraf audit verify` (an event edited or deleted in the SQLite file is detected).

mod common;

use std::path::Path;
use std::process::Command;

use common::{letter_pdf, run, text};

const SEKRETARIS: &str = "sekretaris@demo.paraf.test";

fn init_demo(data: &Path) {
    let o = run(data, &["init", "--demo"]);
    assert!(o.status.success(), "init: {}", text(&o));
}

fn sqlite(db: &Path, sql: &str) {
    let o = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 command is installed (Debian package sqlite3)");
    assert!(o.status.success(), "sqlite3: {}", text(&o));
}

#[test]
fn pdfs_are_signed_verified_and_the_audit_trail_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    init_demo(&data);
    let a = dir.path().join("undangan.pdf");
    let b = dir.path().join("nota.pdf");
    std::fs::write(&a, letter_pdf("UNDANGAN RAPAT PLENO")).expect("write");
    std::fs::write(&b, letter_pdf("NOTA DINAS")).expect("write");
    let (a_s, b_s) = (a.display().to_string(), b.display().to_string());

    // One file, a visible stamp.
    let signed = dir.path().join("undangan-ttd.pdf");
    let signed_s = signed.display().to_string();
    let o = run(
        &data,
        &[
            "sign",
            &a_s,
            "--signer",
            SEKRETARIS,
            "--out",
            &signed_s,
            "--position",
            "bottom-right",
            "--title",
            "Undangan Rapat Pleno",
        ],
    );
    assert!(o.status.success(), "sign: {}", text(&o));
    assert!(text(&o).contains("archived as document"), "{}", text(&o));
    let bytes = std::fs::read(&signed).expect("signed file");
    let original = std::fs::read(&a).expect("original");
    assert!(
        bytes.starts_with(&original),
        "an incremental update keeps the original bytes"
    );

    // Several files into a folder, by NIP.
    let out_dir = dir.path().join("ttd");
    let out_s = out_dir.display().to_string();
    let o = run(
        &data,
        &[
            "sign",
            &a_s,
            &b_s,
            "--signer",
            "196905181994031005",
            "--out-dir",
            &out_s,
        ],
    );
    assert!(o.status.success(), "sign --out-dir: {}", text(&o));
    for name in ["undangan.pdf", "nota.pdf"] {
        assert!(out_dir.join(name).is_file(), "{name} written");
    }

    // Verify: all valid and recognised in the archive.
    let nota = out_dir.join("nota.pdf").display().to_string();
    let o = run(&data, &["verify", &signed_s, &nota]);
    assert!(o.status.success(), "verify: {}", text(&o));
    let t = text(&o);
    assert!(t.contains("this is archived document"), "{t}");
    assert!(t.contains("VALID") && !t.contains("NOT VALID"), "{t}");

    // A changed byte inside the signed range: exit 1 and says why.
    let mut tampered = bytes.clone();
    let at = tampered
        .windows(6)
        .position(|w| w == b"UNDANG")
        .expect("text in the content stream");
    tampered[at] = b'X';
    let bad = dir.path().join("tampered.pdf");
    std::fs::write(&bad, &tampered).expect("write");
    let o = run(&data, &["verify", &bad.display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("NOT VALID"), "{}", text(&o));

    // An unsigned PDF and a non-PDF: exit 1, a readable reason, no panic.
    let o = run(&data, &["verify", &a_s]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let junk = dir.path().join("junk.pdf");
    std::fs::write(&junk, b"PK\x03\x04 not a pdf").expect("write");
    let o = run(&data, &["verify", &junk.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not a PDF"), "{}", text(&o));
    let o = run(
        &data,
        &[
            "sign",
            &junk.display().to_string(),
            "--signer",
            SEKRETARIS,
            "--out",
            &dir.path().join("x.pdf").display().to_string(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!dir.path().join("x.pdf").exists());

    // The audit trail: intact, then an event edited or deleted in the SQLite file.
    let o = run(&data, &["audit", "verify"]);
    assert!(o.status.success(), "audit verify: {}", text(&o));
    assert!(text(&o).contains("intact"), "{}", text(&o));

    let copy = dir.path().join("data-copy");
    let st = Command::new("cp")
        .arg("-r")
        .arg(&data)
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(st.success());

    sqlite(
        &data.join("paraf.sqlite"),
        "UPDATE items SET data = json_set(data, '$.actor', 'someone-else') \
         WHERE pk = 'AUDIT' AND sk = 'EVT#000000000002';",
    );
    let o = run(&data, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("BROKEN at event 2"), "{}", text(&o));

    sqlite(
        &copy.join("paraf.sqlite"),
        "DELETE FROM items WHERE pk = 'AUDIT' AND sk = 'EVT#000000000002';",
    );
    let o = run(&copy, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("missing"), "{}", text(&o));
}

/// `paraf sign` prints a document's line only once it is archived durably: killing the
/// process (SIGKILL, no chance to clean up) in the middle of a batch loses none of the
/// documents it reported, and leaves the audit chain whole.
#[test]
fn documents_paraf_sign_reported_survive_the_process_being_killed() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    init_demo(&data);
    let inputs = dir.path().join("in");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    let mut args = vec![
        "sign".to_string(),
        "--signer".into(),
        SEKRETARIS.into(),
        "--position".into(),
        "bottom-right".into(),
        "--out-dir".into(),
        dir.path().join("out").display().to_string(),
    ];
    for i in 0..600 {
        let path = inputs.join(format!("surat-{i:03}.pdf"));
        std::fs::write(&path, letter_pdf(&format!("SURAT NOMOR {i}"))).expect("write");
        args.push(path.display().to_string());
    }
    let mut child = common::paraf()
        .arg("--data-dir")
        .arg(&data)
        .args(&args)
        .env_remove("PARAF_TSA_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("paraf sign starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut reported = Vec::new();
    // Kill it as soon as it has reported a few documents, mid-batch.
    for line in lines.by_ref() {
        reported.push(line.expect("a line"));
        if reported.len() == 5 {
            child.kill().expect("kill");
            break;
        }
    }
    // Whatever it printed before it died was reported too.
    reported.extend(lines.map_while(Result::ok));
    let status = child.wait().expect("wait");
    assert!(
        reported.len() >= 5,
        "only {} lines: {reported:?}",
        reported.len()
    );
    assert!(
        reported.len() < 600 || status.success(),
        "killed with all 600 done? {status:?}"
    );

    let mut outputs = Vec::new();
    let mut ids = Vec::new();
    for line in &reported {
        // "signed IN -> OUT (archived as document ID, sha256 SHA)"
        let (_, rest) = line.split_once(" -> ").expect(line);
        let (out, rest) = rest.split_once(" (archived as document ").expect(line);
        let (id, _) = rest.split_once(',').expect(line);
        outputs.push(out.to_string());
        ids.push(id.to_string());
    }
    let mut verify = vec!["verify".to_string()];
    verify.extend(outputs.iter().cloned());
    let verify: Vec<&str> = verify.iter().map(String::as_str).collect();
    let o = run(&data, &verify);
    let t = text(&o);
    assert!(o.status.success(), "verify: {t}");
    for id in &ids {
        assert!(
            t.contains(&format!("this is archived document {id}")),
            "reported document {id} is not in the archive after the kill: {t}"
        );
    }
    let o = run(&data, &["audit", "verify"]);
    assert!(o.status.success(), "audit verify: {}", text(&o));
}
