//! Document commands: `paraf sign` (sign PDFs made elsewhere and archive them),
//! `paraf verify` (paraf's own signature report, exit 1 unless every signature is valid)
//! and `paraf audit verify` (recompute the audit hash chain, exit 1 when it is broken).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use paraf_core::archive::Archive;
use paraf_core::audit::{AuditTrail, ChainReport};
use paraf_core::{Blobs, Employee, Org, Signer, Table};
use paraf_pdf::Modification;
use paraf_tasks::sign::{
    check_pdf, sign_upload_pdf_as, Position, SignContext, TsaClient, UploadSign, MAX_PDF_BYTES,
};

use crate::runtime::{DataDir, Runtime};

#[derive(clap::Args)]
pub struct SignArgs {
    /// The PDF(s) to sign.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Who signs: NIP or email of an active employee (their key is made on first use).
    #[arg(long)]
    signer: String,
    /// Where to write the signed PDF (one input).
    #[arg(long, conflicts_with = "out_dir", required_unless_present = "out_dir")]
    out: Option<PathBuf>,
    /// Where to write the signed PDFs, under their own file names (several inputs).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Document title in the archive (default: the file name).
    #[arg(long)]
    title: Option<String>,
    /// Official number (one input only).
    #[arg(long)]
    number: Option<String>,
    /// Classification code (JRA), e.g. TU, KU.03.
    #[arg(long, default_value = "TU")]
    classification: String,
    /// Document type in the archive.
    #[arg(long = "type", default_value = "surat")]
    doc_type: String,
    /// invisible, bottom-right, bottom-left, top-right, top-left.
    #[arg(long, default_value = "invisible")]
    position: String,
    /// Page of a visible signature, from 1.
    #[arg(long, default_value_t = 1)]
    page: usize,
    /// The URL users reach paraf at: the stamp's QR code points to URL/v/ID.
    #[arg(
        long,
        env = "PARAF_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    public_url: String,
    /// RFC 3161 time-stamping authority (http or https URL): each signature gets its
    /// time-stamp; when the TSA cannot be reached nothing is signed or written.
    #[arg(long, env = "PARAF_TSA_URL")]
    tsa_url: Option<String>,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The PDF(s) to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The TSA's root certificate(s), PEM, trusted besides the organisation root: without
    /// it a time-stamp, and the signature carrying it, shows as untrusted.
    #[arg(long, env = "PARAF_TSA_ROOT")]
    tsa_root: Option<PathBuf>,
}

/// The TSA client for `--tsa-url` / `PARAF_TSA_URL` (unset or empty: none).
pub fn tsa_client(url: Option<&str>) -> anyhow::Result<Option<TsaClient>> {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(u) => TsaClient::new(u)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("--tsa-url {e}")),
    }
}

/// The certificates (DER) of the PEM file `--tsa-root` / `PARAF_TSA_ROOT` names.
pub fn tsa_roots(path: Option<&Path>) -> anyhow::Result<Vec<Vec<u8>>> {
    let Some(path) = path.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--tsa-root: cannot read {}", path.display()))?;
    let mut roots = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body = &rest[start + "-----BEGIN CERTIFICATE-----".len()..];
        let end = body
            .find("-----END CERTIFICATE-----")
            .with_context(|| format!("--tsa-root {}: unterminated PEM", path.display()))?;
        let b64: String = body[..end].split_whitespace().collect();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64)
            .with_context(|| format!("--tsa-root {}: bad base64", path.display()))?;
        roots.push(der);
        rest = &body[end..];
    }
    if roots.is_empty() {
        bail!("--tsa-root {}: no PEM certificate in it", path.display());
    }
    Ok(roots)
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit hash chain: exit 0 when intact, 1 with the reason when broken.
    Verify,
}

/// Reads a PDF from disk, refusing anything over the upload limit before reading it.
fn read_pdf(path: &Path) -> anyhow::Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX_PDF_BYTES as u64 {
        bail!(
            "{}: larger than {} MB",
            path.display(),
            MAX_PDF_BYTES / 1024 / 1024
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn out_path(args: &SignArgs, input: &Path) -> anyhow::Result<PathBuf> {
    let out = match (&args.out, &args.out_dir) {
        (Some(o), _) => o.clone(),
        (None, Some(dir)) => {
            let name = input
                .file_name()
                .with_context(|| format!("{} has no file name", input.display()))?;
            dir.join(name)
        }
        (None, None) => bail!("give --out or --out-dir"),
    };
    // Never overwrite the original: the signed file is a new revision of it.
    if let (Ok(a), Ok(b)) = (std::fs::canonicalize(input), std::fs::canonicalize(&out)) {
        if a == b {
            bail!(
                "{}: the output would overwrite the input; choose another --out or --out-dir",
                input.display()
            );
        }
    }
    Ok(out)
}

pub async fn sign(dir: &DataDir, args: SignArgs) -> anyhow::Result<()> {
    if args.out.is_some() && args.inputs.len() > 1 {
        bail!("--out takes one input; use --out-dir for several");
    }
    if args.number.is_some() && args.inputs.len() > 1 {
        bail!("--number names one document; sign several without it");
    }
    let position = Position::parse(&args.position).with_context(|| {
        format!(
            "--position {}: choose invisible, bottom-right, bottom-left, top-right or top-left",
            args.position
        )
    })?;
    if args.page == 0 {
        bail!("--page counts from 1");
    }
    let tsa = tsa_client(args.tsa_url.as_deref())?;
    let rt = Runtime::open(dir, None).await?;
    let table = rt.table.clone() as Arc<dyn Table>;
    let blobs = rt.blobs.clone() as Arc<dyn Blobs>;
    let org = Org::new(table.clone(), rt.clock.clone());
    let signer = org
        .find_employee(&args.signer)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .filter(|e| e.active)
        .with_context(|| {
            format!(
                "--signer {}: no active employee with this NIP or email",
                args.signer
            )
        })?;
    let ctx = SignContext {
        org,
        archive: Archive::new(table, blobs.clone(), rt.clock.clone()),
        signer: rt.signer.clone() as Arc<dyn Signer>,
        clock: rt.clock.clone(),
        public_base_url: args.public_url.trim_end_matches('/').to_string(),
        letterhead: paraf_pdf::render::Letterhead::kpu_jabar(),
        tsa,
    };
    if let Some(d) = &args.out_dir {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    // Documents are signed side by side (the CPU work spreads over the runtime's threads)
    // and archived in groups: the archive writes whatever is ready together, one sync per
    // group ([`Archive::store`]). A line is printed only once its document is archived,
    // durably; lines keep the order of the inputs.
    let ctx = Arc::new(ctx);
    let args = Arc::new(args);
    let total = args.inputs.len();
    let mut done: Vec<Option<anyhow::Result<String>>> = (0..total).map(|_| None).collect();
    let mut printed = 0usize;
    let mut failed = 0usize;
    let mut running = tokio::task::JoinSet::new();
    let mut queued = 0usize;
    loop {
        while running.len() < IN_FLIGHT && queued < total {
            let (ctx, args, signer) = (ctx.clone(), args.clone(), signer.clone());
            let at = queued;
            running.spawn(async move {
                let input = &args.inputs[at];
                (at, sign_one(&ctx, &args, &signer, position, input).await)
            });
            queued += 1;
        }
        let Some(finished) = running.join_next().await else {
            break;
        };
        let (at, outcome) = finished.context("a signing task failed")?;
        done[at] = Some(outcome);
        while let Some(Some(outcome)) = done.get_mut(printed).map(Option::take) {
            match outcome {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {e:#}");
                }
            }
            printed += 1;
        }
    }
    if failed > 0 {
        bail!("{failed} of {total} file(s) not signed");
    }
    Ok(())
}

/// Documents being signed or archived at once by `paraf sign`: enough to fill the
/// archive's groups while the next ones are signed, few enough to bound memory.
const IN_FLIGHT: usize = 256;

/// Turns to write a signed copy into the output folder (see `sign_one`).
static OUT_DIR_WRITES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

async fn sign_one(
    ctx: &SignContext,
    args: &SignArgs,
    signer: &Employee,
    position: Position,
    input: &Path,
) -> anyhow::Result<String> {
    let out = out_path(args, input)?;
    let path = input.to_path_buf();
    let pdf = tokio::task::spawn_blocking(move || read_pdf(&path)).await??;
    let title = args.title.clone().unwrap_or_else(|| {
        input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dokumen".into())
    });
    let (doc, bytes) = sign_upload_pdf_as(
        ctx,
        signer,
        UploadSign {
            pdf,
            signer: signer.id.clone(),
            page: args.page - 1,
            position,
            title,
            doc_type: args.doc_type.clone(),
            classification: args.classification.clone(),
            number: args.number.clone(),
            parties: Vec::new(),
            created_by: signer.id.clone(),
        },
    )
    .await
    .map_err(|e| match e {
        paraf_tasks::sign::SignTaskError::Service(s) => {
            anyhow::anyhow!("{}: {}", input.display(), service_message(&s))
        }
        other => anyhow::anyhow!("{}: {other}", input.display()),
    })?;
    // The archived bytes: the archive returns the record of identical bytes archived
    // before, so these are the bytes its record names either way.
    // One file at a time: creating files in one folder from several threads at once only
    // makes them spin on the folder's lock, CPU the signing of the next documents needs.
    let target = out.clone();
    let written = {
        let _turn = OUT_DIR_WRITES.acquire().await?;
        tokio::task::spawn_blocking(move || std::fs::write(&target, bytes)).await?
    };
    written.with_context(|| format!("cannot write {}", out.display()))?;
    Ok(format!(
        "signed {} -> {} (archived as document {}, sha256 {})",
        input.display(),
        out.display(),
        doc.id,
        doc.sha256
    ))
}

fn service_message(e: &paraf_core::ServiceError) -> String {
    match e {
        paraf_core::ServiceError::Invalid(fields) => fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; "),
        paraf_core::ServiceError::Conflict { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    }
}

pub async fn verify(dir: &DataDir, args: VerifyArgs) -> anyhow::Result<()> {
    let rt = Runtime::open(dir, None).await?;
    let root = rt
        .signer
        .root_certificate()
        .await
        .context("cannot read the organisation root certificate")?;
    let mut roots = vec![root];
    roots.extend(tsa_roots(args.tsa_root.as_deref())?);
    let archive = Archive::new(
        rt.table.clone() as Arc<dyn Table>,
        rt.blobs.clone() as Arc<dyn Blobs>,
        rt.clock.clone(),
    );
    let mut bad = 0usize;
    for file in &args.files {
        match verify_one(&archive, &roots, file).await {
            Ok(true) => {}
            Ok(false) => bad += 1,
            Err(e) => {
                bad += 1;
                println!("{}: cannot be verified: {e:#}", file.display());
            }
        }
    }
    if bad > 0 {
        bail!("{bad} of {} file(s) not valid", args.files.len());
    }
    Ok(())
}

async fn verify_one(archive: &Archive, roots: &[Vec<u8>], file: &Path) -> anyhow::Result<bool> {
    let pdf = read_pdf(file)?;
    check_pdf(&pdf)?;
    let report = paraf_pdf::verify(&pdf, roots)?;
    println!(
        "{}: sha256 {}, {} revision(s), {} signature(s)",
        file.display(),
        report.sha256,
        report.revisions,
        report.signatures.len()
    );
    for (i, s) in report.signatures.iter().enumerate() {
        let verdict = if s.is_valid() { "VALID" } else { "NOT VALID" };
        println!(
            "  #{} {} — {} (NIP {}) — {} — {verdict}",
            i + 1,
            s.field_name,
            s.signer_name.as_deref().unwrap_or("?"),
            s.signer_nip.as_deref().unwrap_or("-"),
            s.signing_time
                .map(paraf_core::format::waktu_wib)
                .unwrap_or_else(|| "-".into()),
        );
        if let Some(ts) = &s.timestamp {
            let verdict = if ts.is_valid() {
                "trusted"
            } else if !ts.trusted && ts.imprint_ok && ts.signature_ok {
                "NOT TRUSTED (give the TSA's root with --tsa-root)"
            } else {
                "NOT VALID"
            };
            println!(
                "     time-stamp: {} by {} — {verdict}",
                paraf_core::format::waktu_wib(ts.time),
                ts.tsa_name.as_deref().unwrap_or("?"),
            );
        }
        if s.modification != Modification::None {
            println!("     after this signature: {}", s.modification.as_str());
        }
        for c in &s.changes {
            let verdict = if c.allowed { "allowed" } else { "NOT ALLOWED" };
            println!("       {verdict}: {c}");
        }
        for p in &s.problems {
            println!("     problem: {p}");
        }
    }
    match archive
        .by_sha256(&report.sha256)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        Some(d) => println!(
            "  archive: this is archived document {}{} \"{}\"",
            d.id,
            d.number.map(|n| format!(" ({n})")).unwrap_or_default(),
            d.title
        ),
        None => println!("  archive: no archived document has exactly these bytes"),
    }
    let ok = report.all_valid();
    if report.signatures.is_empty() {
        println!("  result: NOT VALID (no signatures)");
    } else if ok {
        println!("  result: all signatures valid");
    } else {
        println!("  result: NOT VALID");
    }
    Ok(ok)
}

pub async fn audit(dir: &DataDir, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify => {
            let rt = Runtime::open(dir, None).await?;
            let trail = AuditTrail::new(rt.table.clone() as Arc<dyn Table>, rt.clock.clone());
            match trail.verify().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                ChainReport::Intact { events, head } => {
                    println!("audit trail intact: {events} event(s), head {head}");
                    Ok(())
                }
                ChainReport::Broken { at_seq, reason } => {
                    println!("audit trail BROKEN at event {at_seq}: {reason}");
                    bail!("the audit trail is broken at event {at_seq}: {reason}")
                }
            }
        }
    }
}
