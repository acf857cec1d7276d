//! The Lambda functions' configuration: read from the environment once per cold start into
//! typed values, then turned into adapters.
//!
//! Each function reads only the variables it uses ([`Function::variables`]); a missing or
//! invalid one is reported together with every other one in a single [`ConfigError`], so
//! one look at the log (or at `GET /healthz` of the API) tells the whole story. Nothing
//! here panics and nothing here touches the network: the organisation CA is opened (or
//! created) on first use by [`OrgCa`].
//!
//! | variable | api | notify, escalate | sign | redeliver | setup |
//! |---|---|---|---|---|---|
//! | `PARAF_TABLE_NAME` | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | `PARAF_ARCHIVE_BUCKET` | ✓ | | ✓ | | |
//! | `PARAF_MAIL_FROM` | ✓ | ✓ | ✓ | | |
//! | `PARAF_PUBLIC_URL` | ✓ | ✓ | ✓ | | |
//! | `PARAF_ORG_NAME` | ✓ | | ✓ | | ✓ |
//! | `PARAF_KMS_ALIAS_PREFIX` | ✓ | | ✓ | | |
//! | `PARAF_CA_ALIAS` | ✓ | | ✓ | | ✓ |
//! | `PARAF_APPROVAL_STATE_MACHINE_ARN` | ✓ | | | ✓ | |
//! | `PARAF_DISPOSITION_STATE_MACHINE_ARN` | ✓ | | | ✓ | |
//! | `PARAF_SESSION_SECRET` | ✓ | | | | |
//! | `PARAF_TSA_URL` (optional) | ✓ | | ✓ | | |
//!
//! Region, credentials and `AWS_ENDPOINT_URL` are read by `aws-config` ([`AwsClients::load`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use paraf_core::{Email, SignerError, SubjectName, Table};
use tokio::sync::OnceCell;

use crate::{
    AwsClients, CaIssuer, DynamoTable, KmsCa, KmsSigner, S3Blobs, SesMailer, SfnWorkflows,
};

pub const TABLE_NAME: &str = "PARAF_TABLE_NAME";
pub const ARCHIVE_BUCKET: &str = "PARAF_ARCHIVE_BUCKET";
pub const MAIL_FROM: &str = "PARAF_MAIL_FROM";
pub const PUBLIC_URL: &str = "PARAF_PUBLIC_URL";
pub const ORG_NAME: &str = "PARAF_ORG_NAME";
pub const KMS_ALIAS_PREFIX: &str = "PARAF_KMS_ALIAS_PREFIX";
pub const CA_ALIAS: &str = "PARAF_CA_ALIAS";
pub const APPROVAL_STATE_MACHINE_ARN: &str = "PARAF_APPROVAL_STATE_MACHINE_ARN";
pub const DISPOSITION_STATE_MACHINE_ARN: &str = "PARAF_DISPOSITION_STATE_MACHINE_ARN";
pub const SESSION_SECRET: &str = "PARAF_SESSION_SECRET";
pub const TSA_URL: &str = "PARAF_TSA_URL";

/// What a function runs with for the life of one cold start: its wiring, or the
/// configuration error every invocation then fails with (`Paraf.Misconfigured`), logged
/// once — in one line naming every variable at fault — when made.
pub struct Configured<T>(Result<T, ConfigError>);

impl<T> Configured<T> {
    pub fn new(wiring: Result<T, ConfigError>) -> Self {
        if let Err(e) = &wiring {
            tracing::error!(missing = ?e.variables(), "{e}");
        }
        Configured(wiring)
    }

    pub fn get(&self) -> Result<&T, &ConfigError> {
        self.0.as_ref()
    }
}

/// The Lambda `errorType` of a task function that cannot run for want of configuration.
pub const ERROR_MISCONFIGURED: &str = "Paraf.Misconfigured";

/// Shortest accepted `PARAF_SESSION_SECRET`.
pub const MIN_SESSION_SECRET_CHARS: usize = 32;
/// The CA's common name is `<org> Root CA` in at most 64 characters.
const MAX_ORG_NAME_CHARS: usize = 56;

/// The Lambda functions of paraf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Api,
    Notify,
    Escalate,
    Sign,
    Redeliver,
    /// Run once after a deploy: the organisation (or the demo) and its root CA.
    Setup,
}

impl Function {
    /// `(variable, required)` for every variable the function reads.
    pub fn variables(self) -> &'static [(&'static str, bool)] {
        match self {
            Function::Api => &[
                (TABLE_NAME, true),
                (ARCHIVE_BUCKET, true),
                (MAIL_FROM, true),
                (PUBLIC_URL, true),
                (ORG_NAME, true),
                (KMS_ALIAS_PREFIX, true),
                (CA_ALIAS, true),
                (APPROVAL_STATE_MACHINE_ARN, true),
                (DISPOSITION_STATE_MACHINE_ARN, true),
                (SESSION_SECRET, true),
                (TSA_URL, false),
            ],
            Function::Notify | Function::Escalate => {
                &[(TABLE_NAME, true), (MAIL_FROM, true), (PUBLIC_URL, true)]
            }
            Function::Sign => &[
                (TABLE_NAME, true),
                (ARCHIVE_BUCKET, true),
                (MAIL_FROM, true),
                (PUBLIC_URL, true),
                (ORG_NAME, true),
                (KMS_ALIAS_PREFIX, true),
                (CA_ALIAS, true),
                (TSA_URL, false),
            ],
            Function::Redeliver => &[
                (TABLE_NAME, true),
                (APPROVAL_STATE_MACHINE_ARN, true),
                (DISPOSITION_STATE_MACHINE_ARN, true),
            ],
            Function::Setup => &[(TABLE_NAME, true), (ORG_NAME, true), (CA_ALIAS, true)],
        }
    }
}

/// One variable that is missing or does not hold what it must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: &'static str,
    pub reason: String,
}

/// A Lambda error with `errorType` `error_type`: what a workflow's `Retry`/`Catch` match.
pub fn failure(error_type: &str, message: impl std::fmt::Display) -> lambda_runtime::Diagnostic {
    lambda_runtime::Diagnostic {
        error_type: error_type.to_string(),
        error_message: message.to_string(),
    }
}

/// Every configuration problem found at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![Problem {
                variable,
                reason: reason.into(),
            }],
        }
    }

    /// A variable this function needs that its configuration does not read.
    pub fn unread(variable: &'static str) -> Self {
        ConfigError::new(variable, "is not read by this function")
    }

    /// The names of the variables at fault, in the order they were read.
    pub fn variables(&self) -> Vec<&'static str> {
        self.problems.iter().map(|p| p.variable).collect()
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("paraf is not configured: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", p.variable, p.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// `PARAF_SESSION_SECRET`: seeds the API's token and cookie keys. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl SessionSecret {
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(..)")
    }
}

/// The approval and disposition state machines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachines {
    pub approval: String,
    pub disposition: String,
}

impl StateMachines {
    /// Step Functions behind the `Workflows` port, workflows named as in `workflows/`.
    pub fn workflows(&self, clients: &AwsClients) -> SfnWorkflows {
        SfnWorkflows::new(
            clients.sfn.clone(),
            BTreeMap::from([
                ("approval".to_string(), self.approval.clone()),
                ("disposition".to_string(), self.disposition.clone()),
            ]),
        )
    }
}

/// The organisation's signing PKI: keys in KMS, certificates by the root CA in KMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    pub org_name: String,
    /// e.g. `alias/paraf/prod/`: signer keys are `<prefix><key id>`.
    pub kms_alias_prefix: String,
    /// e.g. `alias/paraf/prod/ca`.
    pub ca_alias: String,
}

impl Signing {
    /// The KMS signer over `table`, its CA opened (or created) on first use.
    pub fn signer(&self, clients: &AwsClients, table: Arc<dyn Table>) -> KmsSigner {
        let ca = OrgCa::new(
            clients.kms.clone(),
            table.clone(),
            &self.ca_alias,
            &self.org_name,
        );
        KmsSigner::new(
            clients.kms.clone(),
            table,
            Arc::new(ca),
            self.kms_alias_prefix.clone(),
        )
    }
}

/// The organisation root CA: its name and KMS alias (every function that reads both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaSettings {
    pub org_name: String,
    /// e.g. `alias/paraf/prod/ca`.
    pub ca_alias: String,
}

impl CaSettings {
    /// The CA over `table`, opened (or created) on first use.
    pub fn org_ca(&self, clients: &AwsClients, table: Arc<dyn Table>) -> OrgCa {
        OrgCa::new(clients.kms.clone(), table, &self.ca_alias, &self.org_name)
    }
}

/// Everything any function reads; a field is `Some` when [`Config::function`] reads it
/// (and then always `Some`, except the optional `tsa_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub function: Function,
    pub table_name: String,
    pub archive_bucket: Option<String>,
    pub mail_from: Option<Email>,
    /// Without a trailing slash.
    pub public_url: Option<String>,
    pub signing: Option<Signing>,
    /// `Some` when the function reads the organisation name and the CA alias.
    pub ca: Option<CaSettings>,
    pub state_machines: Option<StateMachines>,
    pub session_secret: Option<SessionSecret>,
    pub tsa_url: Option<String>,
}

impl Config {
    /// Reads the process environment (once per cold start).
    pub fn from_env(function: Function) -> Result<Config, ConfigError> {
        Config::from_lookup(function, |name| std::env::var(name).ok())
    }

    /// Reads the variables of `function` through `lookup` (tests pass a map).
    pub fn from_lookup(
        function: Function,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut reader = Reader {
            function,
            lookup: &lookup,
            problems: Vec::new(),
        };
        let table_name = reader.get(TABLE_NAME, table_name);
        let archive_bucket = reader.get(ARCHIVE_BUCKET, bucket_name);
        let mail_from = reader.get(MAIL_FROM, |v| {
            Email::parse(v).map_err(|e| format!("is not an email address ({e})"))
        });
        let public_url = reader.get(PUBLIC_URL, public_url);
        let org_name = reader.get(ORG_NAME, org_name);
        let kms_alias_prefix = reader.get(KMS_ALIAS_PREFIX, alias_prefix);
        let ca_alias = reader.get(CA_ALIAS, alias_name);
        let approval = reader.get(APPROVAL_STATE_MACHINE_ARN, state_machine_arn);
        let disposition = reader.get(DISPOSITION_STATE_MACHINE_ARN, state_machine_arn);
        let session_secret = reader.get(SESSION_SECRET, |v| {
            if v.chars().count() < MIN_SESSION_SECRET_CHARS {
                Err(format!(
                    "is shorter than {MIN_SESSION_SECRET_CHARS} characters"
                ))
            } else {
                Ok(SessionSecret(v.to_string()))
            }
        });
        let tsa_url = reader.get(TSA_URL, |v| http_url(v).map(str::to_string));
        if !reader.problems.is_empty() {
            return Err(ConfigError {
                problems: reader.problems,
            });
        }
        let ca = match (&org_name, &ca_alias) {
            (Some(org_name), Some(ca_alias)) => Some(CaSettings {
                org_name: org_name.clone(),
                ca_alias: ca_alias.clone(),
            }),
            _ => None,
        };
        let signing = match (org_name, kms_alias_prefix, ca_alias) {
            (Some(org_name), Some(kms_alias_prefix), Some(ca_alias)) => Some(Signing {
                org_name,
                kms_alias_prefix,
                ca_alias,
            }),
            _ => None,
        };
        let state_machines = match (approval, disposition) {
            (Some(approval), Some(disposition)) => Some(StateMachines {
                approval,
                disposition,
            }),
            _ => None,
        };
        Ok(Config {
            function,
            // Every function reads the table name: with no problem it is there.
            table_name: table_name.unwrap_or_default(),
            archive_bucket,
            mail_from,
            public_url,
            signing,
            ca,
            state_machines,
            session_secret,
            tsa_url,
        })
    }

    /// The table every function works on.
    pub fn table(&self, clients: &AwsClients) -> DynamoTable {
        DynamoTable::new(clients.dynamodb.clone(), self.table_name.clone())
    }

    /// The archive bucket, when this function reads it.
    pub fn blobs(&self, clients: &AwsClients) -> Option<S3Blobs> {
        self.archive_bucket
            .as_ref()
            .map(|b| S3Blobs::new(clients.s3.clone(), b.clone()))
    }

    /// What a function that mails people links needs: SES and the public base URL.
    pub fn mailing(&self, clients: &AwsClients) -> Result<(SesMailer, String), ConfigError> {
        let mailer = self
            .mailer(clients)
            .ok_or_else(|| ConfigError::unread(MAIL_FROM))?;
        let base_url = self
            .public_url
            .clone()
            .ok_or_else(|| ConfigError::unread(PUBLIC_URL))?;
        Ok((mailer, base_url))
    }

    /// SES from `PARAF_MAIL_FROM`, when this function reads it.
    pub fn mailer(&self, clients: &AwsClients) -> Option<SesMailer> {
        self.mail_from
            .as_ref()
            .map(|from| SesMailer::new(clients.sesv2.clone(), from.clone()))
    }

    /// The KMS signer, when this function reads the signing variables.
    pub fn signer(&self, clients: &AwsClients, table: Arc<dyn Table>) -> Option<KmsSigner> {
        self.signing.as_ref().map(|s| s.signer(clients, table))
    }

    /// The organisation root CA, when this function reads its name and alias.
    pub fn org_ca(&self, clients: &AwsClients, table: Arc<dyn Table>) -> Option<OrgCa> {
        self.ca.as_ref().map(|c| c.org_ca(clients, table))
    }

    /// Step Functions, when this function reads the state machine ARNs.
    pub fn workflows(&self, clients: &AwsClients) -> Option<SfnWorkflows> {
        self.state_machines.as_ref().map(|m| m.workflows(clients))
    }
}

struct Reader<'a> {
    function: Function,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    /// The parsed value of `name` if the function reads it; records what is wrong.
    fn get<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let required = self
            .function
            .variables()
            .iter()
            .find(|(v, _)| *v == name)
            .map(|(_, r)| *r)?;
        let value = (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let Some(value) = value else {
            if required {
                self.problems.push(Problem {
                    variable: name,
                    reason: "is missing".into(),
                });
            }
            return None;
        };
        match parse(&value) {
            Ok(v) => Some(v),
            Err(reason) => {
                self.problems.push(Problem {
                    variable: name,
                    reason,
                });
                None
            }
        }
    }
}

fn table_name(v: &str) -> Result<String, String> {
    let ok = (3..=255).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    ok.then(|| v.to_string())
        .ok_or_else(|| "is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)".into())
}

fn bucket_name(v: &str) -> Result<String, String> {
    let ok = (3..=63).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-".contains(&b))
        && !v.starts_with(['.', '-'])
        && !v.ends_with(['.', '-']);
    ok.then(|| v.to_string())
        .ok_or_else(|| "is not an S3 bucket name (3 to 63 of a-z 0-9 . -)".into())
}

fn http_url(v: &str) -> Result<&str, String> {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or_else(|| "must start with https://".to_string())?;
    if rest.is_empty() || rest.starts_with('/') || v.chars().any(char::is_whitespace) {
        return Err("is not a URL".into());
    }
    Ok(v)
}

/// The HTTPS base URL of the API; plain HTTP only on loopback (`cargo lambda watch`).
fn public_url(v: &str) -> Result<String, String> {
    let url = http_url(v)?.trim_end_matches('/');
    if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', ':']).next().unwrap_or("");
        if !matches!(host, "localhost" | "127.0.0.1") {
            return Err("must start with https:// (plain http only for localhost)".into());
        }
    }
    if url.contains(['?', '#']) {
        return Err("must be a base URL without query or fragment".into());
    }
    Ok(url.to_string())
}

fn org_name(v: &str) -> Result<String, String> {
    if v.chars().count() > MAX_ORG_NAME_CHARS {
        return Err(format!("is longer than {MAX_ORG_NAME_CHARS} characters"));
    }
    Ok(v.to_string())
}

fn alias_chars_ok(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
}

/// A KMS alias prefix: `alias/…/`, not in the reserved `alias/aws/`.
fn alias_prefix(v: &str) -> Result<String, String> {
    let ok = v.starts_with("alias/")
        && v.ends_with('/')
        && v.len() > "alias/".len()
        && !v.starts_with("alias/aws/")
        && alias_chars_ok(v)
        && v.len() < 200;
    ok.then(|| v.to_string()).ok_or_else(|| {
        "is not a KMS alias prefix like alias/paraf/prod/ (alias/…/, not alias/aws/)".into()
    })
}

/// A KMS alias name: `alias/…`, not in the reserved `alias/aws/`.
fn alias_name(v: &str) -> Result<String, String> {
    let ok = v.starts_with("alias/")
        && !v.ends_with('/')
        && v.len() > "alias/".len()
        && !v.starts_with("alias/aws/")
        && alias_chars_ok(v)
        && v.len() <= 256;
    ok.then(|| v.to_string())
        .ok_or_else(|| "is not a KMS alias like alias/paraf/prod/ca".into())
}

fn state_machine_arn(v: &str) -> Result<String, String> {
    let parts: Vec<&str> = v.split(':').collect();
    let ok = parts.len() >= 7
        && parts[0] == "arn"
        && parts[2] == "states"
        && parts[5] == "stateMachine"
        && !parts[6].is_empty();
    ok.then(|| v.to_string()).ok_or_else(|| {
        "is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)".into()
    })
}

// ---------------------------------------------------------------------------------------
// the organisation CA, opened or created on first use

/// How often a cold start that lost the race to create the CA looks for the winner's.
const CA_OPEN_ATTEMPTS: u32 = 5;
const CA_OPEN_PAUSE: Duration = Duration::from_millis(400);

/// The organisation root CA in KMS ([`KmsCa`]), opened on first use and created if it does
/// not exist yet. Of concurrent cold starts one creates it; the others get `KeyExists` and
/// open the winner's once its certificate is stored.
pub struct OrgCa {
    kms: aws_sdk_kms::Client,
    table: Arc<dyn Table>,
    alias: String,
    org_name: String,
    ca: OnceCell<KmsCa>,
}

impl std::fmt::Debug for OrgCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgCa")
            .field("alias", &self.alias)
            .field("ready", &self.ca.initialized())
            .finish_non_exhaustive()
    }
}

impl OrgCa {
    pub fn new(
        kms: aws_sdk_kms::Client,
        table: Arc<dyn Table>,
        alias: &str,
        org_name: &str,
    ) -> Self {
        OrgCa {
            kms,
            table,
            alias: alias.to_string(),
            org_name: org_name.to_string(),
            ca: OnceCell::new(),
        }
    }

    /// The CA, opened or created on the first call; a failure is not remembered.
    pub async fn get(&self) -> Result<&KmsCa, SignerError> {
        self.ca.get_or_try_init(|| self.open_or_init()).await
    }

    /// The root certificate's subject (RFC 4514, e.g. `CN=… Root CA,O=…,C=ID`), opening
    /// or creating the CA.
    pub async fn subject(&self) -> Result<String, SignerError> {
        use der::Decode as _;
        let der = self.get().await?.root().await?;
        let cert = x509_cert::Certificate::from_der(&der).map_err(|e| {
            SignerError::Unavailable(format!("the stored root certificate is unreadable: {e}"))
        })?;
        Ok(cert.tbs_certificate.subject.to_string())
    }

    async fn open_or_init(&self) -> Result<KmsCa, SignerError> {
        match KmsCa::open(self.kms.clone(), self.table.as_ref(), &self.alias).await {
            Err(SignerError::UnknownKey(_)) => {}
            other => return other,
        }
        match KmsCa::init(
            self.kms.clone(),
            self.table.as_ref(),
            &self.alias,
            &self.org_name,
        )
        .await
        {
            Err(SignerError::KeyExists(_)) => {}
            other => {
                if other.is_ok() {
                    tracing::info!(alias = %self.alias, "created the organisation root CA");
                }
                return other;
            }
        }
        // Another cold start holds the alias: its certificate lands in the table shortly.
        for attempt in 1..=CA_OPEN_ATTEMPTS {
            match KmsCa::open(self.kms.clone(), self.table.as_ref(), &self.alias).await {
                Err(SignerError::UnknownKey(_)) if attempt < CA_OPEN_ATTEMPTS => {
                    tokio::time::sleep(CA_OPEN_PAUSE).await;
                }
                Err(SignerError::UnknownKey(_)) => break,
                other => return other,
            }
        }
        tracing::error!(alias = %self.alias, "the CA key alias exists but no root certificate is stored (an interrupted creation?)");
        Err(SignerError::Unavailable(format!(
            "KMS alias {} exists without a stored root certificate",
            self.alias
        )))
    }
}

#[async_trait]
impl CaIssuer for OrgCa {
    async fn certify(
        &self,
        public_key: &[u8],
        subject: &SubjectName,
    ) -> Result<Vec<Vec<u8>>, SignerError> {
        self.get().await?.certify(public_key, subject).await
    }

    async fn root(&self) -> Result<Vec<u8>, SignerError> {
        self.get().await?.root().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> BTreeMap<&'static str, &'static str> {
        BTreeMap::from([
            (TABLE_NAME, "paraf-prod"),
            (ARCHIVE_BUCKET, "paraf-prod-archive"),
            (MAIL_FROM, "paraf@kpu-jabar.go.id"),
            (PUBLIC_URL, "https://paraf.kpu-jabar.go.id/"),
            (ORG_NAME, "Sekretariat KPU Provinsi Jawa Barat"),
            (KMS_ALIAS_PREFIX, "alias/paraf/prod/"),
            (CA_ALIAS, "alias/paraf/prod/ca"),
            (
                APPROVAL_STATE_MACHINE_ARN,
                "arn:aws:states:ap-southeast-3:123456789012:stateMachine:paraf-approval",
            ),
            (
                DISPOSITION_STATE_MACHINE_ARN,
                "arn:aws:states:ap-southeast-3:123456789012:stateMachine:paraf-disposition",
            ),
            (SESSION_SECRET, "0123456789abcdef0123456789abcdef"),
        ])
    }

    fn read(
        f: Function,
        env: &BTreeMap<&'static str, &'static str>,
    ) -> Result<Config, ConfigError> {
        Config::from_lookup(f, |n| env.get(n).map(|v| v.to_string()))
    }

    #[test]
    fn a_complete_environment_gives_the_api_everything_it_reads() {
        let c = read(Function::Api, &full()).expect("complete");
        assert_eq!(c.table_name, "paraf-prod");
        assert_eq!(
            c.public_url.as_deref(),
            Some("https://paraf.kpu-jabar.go.id")
        );
        assert_eq!(
            c.signing.as_ref().map(|s| s.ca_alias.as_str()),
            Some("alias/paraf/prod/ca")
        );
        assert!(c.state_machines.is_some());
        assert!(c.session_secret.is_some());
        assert_eq!(c.tsa_url, None);
    }

    #[test]
    fn every_missing_and_invalid_variable_is_named_at_once() {
        let mut env = full();
        env.remove(TABLE_NAME);
        env.remove(SESSION_SECRET);
        env.insert(MAIL_FROM, "not an address");
        env.insert(KMS_ALIAS_PREFIX, "alias/aws/");
        env.insert(PUBLIC_URL, "http://paraf.example");
        env.insert(TSA_URL, "ftp://tsa.example");
        let e = read(Function::Api, &env).expect_err("misconfigured");
        assert_eq!(
            e.variables(),
            vec![
                TABLE_NAME,
                MAIL_FROM,
                PUBLIC_URL,
                KMS_ALIAS_PREFIX,
                SESSION_SECRET,
                TSA_URL
            ]
        );
        let text = e.to_string();
        assert!(text.contains("PARAF_TABLE_NAME is missing"), "{text}");
        assert!(!text.contains("0123456789abcdef"), "no secret in {text}");
    }

    #[test]
    fn each_function_reads_only_its_own_variables() {
        let env = BTreeMap::from([
            (TABLE_NAME, "paraf-prod"),
            (MAIL_FROM, "paraf@kpu-jabar.go.id"),
            (PUBLIC_URL, "https://paraf.kpu-jabar.go.id"),
        ]);
        let n = read(Function::Notify, &env).expect("notify needs no more");
        assert!(n.signing.is_none() && n.state_machines.is_none());
        let e = read(Function::Redeliver, &env).expect_err("redeliver needs the ARNs");
        assert_eq!(
            e.variables(),
            vec![APPROVAL_STATE_MACHINE_ARN, DISPOSITION_STATE_MACHINE_ARN]
        );
        let e = read(Function::Sign, &env).expect_err("sign needs the PKI");
        assert_eq!(
            e.variables(),
            vec![ARCHIVE_BUCKET, ORG_NAME, KMS_ALIAS_PREFIX, CA_ALIAS]
        );
        let e = read(Function::Setup, &env).expect_err("setup needs the CA");
        assert_eq!(e.variables(), vec![ORG_NAME, CA_ALIAS]);
        let s = read(Function::Setup, &full()).expect("setup");
        assert!(s.signing.is_none() && s.mail_from.is_none() && s.public_url.is_none());
        assert_eq!(
            s.ca.map(|c| c.ca_alias),
            Some("alias/paraf/prod/ca".to_string())
        );
    }

    #[test]
    fn an_empty_variable_counts_as_missing_and_loopback_may_use_http() {
        let mut env = full();
        env.insert(TABLE_NAME, "  ");
        env.insert(PUBLIC_URL, "http://127.0.0.1:9000");
        let e = read(Function::Api, &env).expect_err("empty table name");
        assert_eq!(e.variables(), vec![TABLE_NAME]);
        assert_eq!(e.problems[0].reason, "is missing");
    }

    #[test]
    fn the_session_secret_is_never_printed() {
        let c = read(Function::Api, &full()).expect("complete");
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
    }
}
