//! `paraf`: the local server and admin CLI. A composition root: it builds the embedded
//! adapters over one data directory, hands them to the library, and stops.

mod admin;
mod docs_cmd;
mod runtime;
mod server;
mod workflows_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use runtime::{DataDir, Runtime};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "paraf",
    version,
    about = "paraf: e-office and document signing"
)]
struct Cli {
    /// Where paraf keeps its store, files, keys and outbox.
    #[arg(
        long,
        global = true,
        env = "PARAF_DATA_DIR",
        default_value = "./paraf-data"
    )]
    data_dir: PathBuf,
    /// Log lines as text (coloured only on a terminal) or as JSON objects, one per line,
    /// for servers whose logs a collector reads.
    #[arg(
        long,
        global = true,
        env = "PARAF_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Create the data directory, the organisation CA and the first admin.
    Init(InitArgs),
    /// Serve the web pages and the API.
    Serve(ServeArgs),
    /// Manage units and employees.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// The organisation certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Sign PDFs made elsewhere (incremental update) and archive them.
    Sign(docs_cmd::SignArgs),
    /// Verify the signatures of PDFs; exit 1 unless every signature is valid.
    Verify(docs_cmd::VerifyArgs),
    /// The audit trail.
    #[command(subcommand)]
    Audit(docs_cmd::AuditCommand),
    /// Check and run the ASL workflow definitions with the local interpreter.
    #[command(subcommand)]
    Workflows(workflows_cmd::WorkflowsCommand),
}

#[derive(clap::Args)]
struct InitArgs {
    /// Load the fictional demo organisation (DEMO ONLY: shared password).
    #[arg(long)]
    demo: bool,
    /// Organisation name (ignored with --demo).
    #[arg(long, default_value = "Sekretariat KPU")]
    org_name: String,
    /// First admin's NIP (required without --demo).
    #[arg(long, required_unless_present = "demo")]
    admin_nip: Option<String>,
    #[arg(long, required_unless_present = "demo")]
    admin_email: Option<String>,
    #[arg(long, required_unless_present = "demo")]
    admin_name: Option<String>,
    /// First admin's password; when absent a random one is generated and printed once.
    #[arg(long, env = "PARAF_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Initialise the demo organisation first when the data directory is empty.
    #[arg(long)]
    demo: bool,
    /// TCP port (0 picks a free one).
    #[arg(long, env = "PARAF_PORT", default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, env = "PARAF_BIND", default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// The URL users reach paraf at (links in mail and QR codes); default http://BIND:PORT.
    #[arg(long, env = "PARAF_PUBLIC_URL")]
    public_url: Option<String>,
    /// Send mail through this SMTP server (smtp://user:pass@host:port) instead of the outbox.
    #[arg(long, env = "PARAF_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// RFC 3161 time-stamping authority (http or https URL): every signature gets its
    /// time-stamp, and signing fails while the TSA cannot be reached.
    #[arg(long, env = "PARAF_TSA_URL")]
    tsa_url: Option<String>,
    /// The TSA's root certificate(s), PEM: trusted when verifying, else time-stamps (and the
    /// signatures carrying them) show as untrusted.
    #[arg(long, env = "PARAF_TSA_ROOT")]
    tsa_root: Option<PathBuf>,
    /// Seconds a client has to send a request's headers (also how long an idle
    /// keep-alive connection is kept); slower clients are disconnected.
    #[arg(long, env = "PARAF_HEADER_READ_TIMEOUT", value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    header_read_timeout: Duration,
    /// Seconds a client has to send a request's body once its headers are in; slower
    /// requests get 408 and the connection is closed.
    #[arg(long, env = "PARAF_BODY_READ_TIMEOUT", value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    body_read_timeout: Duration,
    /// Connections served at once; more wait until one ends.
    #[arg(long, env = "PARAF_MAX_CONNECTIONS", value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Reverse proxies (addresses or CIDR networks, comma separated) whose
    /// X-Forwarded-For names the client; login throttling counts by client address.
    /// Without it the TCP peer is the client and X-Forwarded-For is ignored.
    #[arg(long, env = "PARAF_TRUSTED_PROXIES", value_name = "ADDR_OR_CIDR", value_delimiter = ',', value_parser = parse_proxy)]
    trusted_proxies: Vec<ipnet::IpNet>,
}

/// Seconds, e.g. `10` or `0.5`; more than zero.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("`{s}`: give more than 0 and at most 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `10.0.0.1` or `10.0.0.0/8`.
fn parse_proxy(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR network"))
}

#[derive(Subcommand)]
enum CaCommand {
    /// Print the organisation root certificate (PEM): the trust anchor for validators.
    Cert,
}

/// Logs go to stderr, filtered by `PARAF_LOG`; colours only when stderr is a terminal, so
/// a log file or a journal holds plain text.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PARAF_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let dir = DataDir::new(cli.data_dir);
    match cli.command {
        Command::Init(args) => init(&dir, args).await,
        Command::Serve(args) => serve(&dir, args).await,
        Command::Admin(cmd) => {
            let rt = Runtime::open(&dir, None).await?;
            admin::run(&rt, cmd).await
        }
        Command::Sign(args) => docs_cmd::sign(&dir, args).await,
        Command::Verify(args) => docs_cmd::verify(&dir, args).await,
        Command::Audit(cmd) => docs_cmd::audit(&dir, cmd).await,
        Command::Workflows(cmd) => workflows_cmd::run(cmd).await,
        Command::Ca(CaCommand::Cert) => {
            let rt = Runtime::open(&dir, None).await?;
            print!("{}", rt.root_pem());
            Ok(())
        }
    }
}

async fn init(dir: &DataDir, args: InitArgs) -> anyhow::Result<()> {
    if dir.is_initialised() {
        anyhow::bail!(
            "{} is already initialised; use another --data-dir or remove it",
            dir.root().display()
        );
    }
    if args.demo {
        let summary = runtime::init_demo(dir).await?;
        print_demo(dir, &summary);
        return Ok(());
    }
    let (Some(nip), Some(email), Some(name)) = (args.admin_nip, args.admin_email, args.admin_name)
    else {
        anyhow::bail!("--admin-nip, --admin-email and --admin-name are required without --demo");
    };
    let generated = args.admin_password.is_none();
    let password = args.admin_password.unwrap_or_else(runtime::random_password);
    let admin = runtime::init_org(dir, &args.org_name, &nip, &email, &name, &password).await?;
    println!("paraf initialised in {}", dir.root().display());
    println!("first admin: {} ({})", admin.name, admin.email);
    if generated {
        println!("password (shown once, change it after logging in): {password}");
    }
    Ok(())
}

fn print_demo(dir: &DataDir, s: &paraf_core::demo::DemoSummary) {
    println!(
        "DEMO organisation loaded into {}: {} units, {} employees.",
        dir.root().display(),
        s.units,
        s.employees
    );
    println!(
        "DEMO ONLY — every account's password is `{}`:",
        paraf_core::demo::DEMO_PASSWORD
    );
    for (email, jabatan) in &s.accounts {
        println!("  {email:<32} {jabatan}");
    }
}

async fn serve(dir: &DataDir, args: ServeArgs) -> anyhow::Result<()> {
    if !dir.is_initialised() {
        if args.demo {
            let summary = runtime::init_demo(dir).await?;
            print_demo(dir, &summary);
        } else {
            anyhow::bail!(
                "{} is not initialised: run `paraf init` (or `paraf serve --demo`)",
                dir.root().display()
            );
        }
    }
    let _lock = dir.lock()?;
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{local}"))
        .trim_end_matches('/')
        .to_string();
    let rt = Runtime::open(
        dir,
        Some(runtime::ServeConfig {
            public_url: public_url.clone(),
            smtp_url: args.smtp_url,
            tsa: docs_cmd::tsa_client(args.tsa_url.as_deref())?,
            extra_roots: docs_cmd::tsa_roots(args.tsa_root.as_deref())?,
        }),
    )
    .await?;
    let app =
        paraf_http::with_client_addr(paraf_http::router(rt.app_state()?), args.trusted_proxies);
    let limits = server::Limits {
        header_read_timeout: args.header_read_timeout,
        body_read_timeout: args.body_read_timeout,
        max_connections: args.max_connections as usize,
    };
    rt.spawn_workflows();
    // Tests and scripts wait for this exact line.
    println!("paraf listening on http://{local}");
    if public_url != format!("http://{local}") {
        println!("paraf public URL {public_url}");
    }
    tracing::info!(%local, data_dir = %dir.root().display(), ?limits, "serving");
    server::serve(listener, app, limits, shutdown_signal())
        .await
        .context("server failed")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
