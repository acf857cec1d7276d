//! The independent validators the signing tests run, found and read one way everywhere:
//! pdfsig (poppler, trusting the organisation root through an NSS database) and pyHanko
//! (from `PARAF_VENV`, the repository's `.venv`, or the PATH). Included by path from the
//! tests of paraf-pdf, paraf-tasks and the binary. A missing validator fails the test: run
//! `scripts/install-validators`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A validator's path; panics (fails the test) when it is not installed.
pub fn tool(cmd: &str) -> PathBuf {
    if let Some(venv) = std::env::var_os("PARAF_VENV") {
        let p = Path::new(&venv).join("bin").join(cmd);
        if p.is_file() {
            return p;
        }
    }
    // The repository's own venv, as scripts/install-validators makes it.
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(p) = here
        .ancestors()
        .map(|d| d.join(".venv/bin").join(cmd))
        .find(|p| p.is_file())
    {
        return p;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(cmd))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("`{cmd}` not found: run scripts/install-validators and set PARAF_VENV")
        })
}

pub struct Output {
    pub ok: bool,
    /// stdout, then stderr.
    pub text: String,
}

/// Runs a validator to completion.
pub fn run(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(tool(cmd))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd}: {e}"));
    Output {
        ok: out.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// pdfsig's verdict on one signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfsigVerdict {
    pub valid: bool,
    pub trusted: bool,
    /// "Total document signed" (else it covers an earlier revision).
    pub whole_file: bool,
}

/// Both validators, trusting one root.
pub struct Validators {
    nss: String,
    root: String,
}

impl Validators {
    /// Trusts `root_pem` (a file); keeps pdfsig's NSS database in `dir/nss`, made once.
    pub fn new(dir: &Path, root_pem: &Path) -> Validators {
        let nss = dir.join("nss");
        let db = format!("sql:{}", nss.display());
        let root = root_pem.display().to_string();
        if !nss.exists() {
            std::fs::create_dir_all(&nss).expect("nss dir");
            let o = run("certutil", &["-N", "-d", &db, "--empty-password"]);
            assert!(o.ok, "certutil -N: {}", o.text);
            let o = run(
                "certutil",
                &["-A", "-d", &db, "-n", "root", "-t", "C,C,C", "-i", &root],
            );
            assert!(o.ok, "certutil -A: {}", o.text);
        }
        Validators { nss: db, root }
    }

    /// pdfsig's verdict on each signature (empty signature fields, which pdfsig lists as
    /// "not signed", left out), and its whole output. pdfsig exits 0 even on a digest
    /// mismatch: the verdict is in the text.
    pub fn pdfsig(&self, file: &str) -> (Vec<PdfsigVerdict>, String) {
        let o = run("pdfsig", &["-nssdir", &self.nss, file]);
        let sigs = o
            .text
            .split("Signature #")
            .skip(1)
            .filter(|b| !b.contains("The signature form field is not signed."))
            .map(|b| PdfsigVerdict {
                valid: b.contains("Signature Validation: Signature is Valid."),
                trusted: b.contains("Certificate Validation: Certificate is Trusted."),
                whole_file: b.contains("Total document signed"),
            })
            .collect();
        (sigs, o.text)
    }

    /// pyHanko's status lines, one per signature (`FIELD:CERTHASH:INTACT:…` or
    /// `FIELD:CERTHASH:INVALID`; not the warnings Python may print), and its whole output.
    pub fn pyhanko(&self, file: &str) -> (Vec<String>, String) {
        let o = run(
            "pyhanko",
            &[
                "sign",
                "validate",
                "--trust",
                &self.root,
                "--trust-replace",
                file,
            ],
        );
        let lines = o
            .text
            .lines()
            .filter(|l| {
                let parts: Vec<&str> = l.splitn(3, ':').collect();
                matches!(parts.as_slice(), [_, hash, rest]
                    if !hash.is_empty()
                        && hash.bytes().all(|c| c.is_ascii_hexdigit())
                        && (rest.starts_with("INTACT:") || *rest == "INVALID"))
            })
            .map(str::to_owned)
            .collect();
        (lines, o.text)
    }
}
