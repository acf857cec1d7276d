//! The `setup` function: invoked by hand once after the first deploy, it creates the
//! organisation in the table, as `paraf init` does locally, and opens (or creates) the
//! organisation root CA in KMS so the first signature does not pay for it.
//!
//! ```text
//! {"admin": {"nip": "…", "email": "…", "name": "…", "password": "…"}}
//! {"demo": true, "iUnderstandThisIsDemoData": true}
//! ```
//!
//! The first creates the root unit (named `PARAF_ORG_NAME`) and the first administrator
//! ([`paraf_core::org::bootstrap`]); the second loads the fictional demo organisation
//! ([`paraf_core::demo::load`]), whose accounts all share a published password — hence the
//! second flag. Either is refused once the organisation has any unit, writing nothing.
//!
//! Failures are Lambda errors whose `errorType` is one of the `ERROR_*` constants here or
//! [`paraf_aws::config::ERROR_MISCONFIGURED`]; the password is never logged nor echoed.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use paraf_aws::config::{
    failure, Config, ConfigError, Configured, OrgCa, CA_ALIAS, ERROR_MISCONFIGURED, ORG_NAME,
};
use paraf_aws::AwsClients;
use paraf_core::org::FirstAdmin;
use paraf_core::{Auth, ServiceError, SystemClock, Table};
use serde_json::{json, Map, Value};

/// The organisation already has units: nothing was written.
pub const ERROR_ALREADY_SET_UP: &str = "Paraf.AlreadySetUp";
/// The payload is not one of the two accepted shapes; the message names the field.
pub const ERROR_INVALID_PAYLOAD: &str = "Paraf.InvalidPayload";
/// The table or KMS failed (logged with its cause); running again is safe.
pub const ERROR_SETUP_FAILED: &str = "Paraf.SetupFailed";

/// The flag that must accompany `"demo": true`.
pub const DEMO_CONFIRMATION: &str = "iUnderstandThisIsDemoData";

/// The organisation's table and root CA.
pub struct Setup {
    auth: Auth,
    ca: OrgCa,
    org_name: String,
}

/// The setup over the AWS adapters.
pub fn setup(config: &Config, clients: &AwsClients) -> Result<Setup, ConfigError> {
    let table: Arc<dyn Table> = Arc::new(config.table(clients));
    let ca = config
        .org_ca(clients, table.clone())
        .ok_or_else(|| ConfigError::unread(CA_ALIAS))?;
    let org_name = config
        .ca
        .as_ref()
        .map(|c| c.org_name.clone())
        .ok_or_else(|| ConfigError::unread(ORG_NAME))?;
    Ok(Setup {
        auth: Auth::new(table, Arc::new(SystemClock)),
        ca,
        org_name,
    })
}

fn invalid(field: &str, problem: impl std::fmt::Display) -> Diagnostic {
    failure(ERROR_INVALID_PAYLOAD, format!("`{field}` {problem}"))
}

/// What the payload asks for, parsed.
enum Request {
    Admin(FirstAdmin),
    Demo,
}

fn parse(payload: &Value, org_name: &str) -> Result<Request, Diagnostic> {
    let shapes = "the payload must be {\"admin\": {\"nip\", \"email\", \"name\", \"password\"}} or {\"demo\": true, \"iUnderstandThisIsDemoData\": true}";
    let Some(top) = payload.as_object() else {
        return Err(failure(ERROR_INVALID_PAYLOAD, shapes));
    };
    if let Some(k) = top
        .keys()
        .find(|k| !["admin", "demo", DEMO_CONFIRMATION].contains(&k.as_str()))
    {
        return Err(invalid(k, "is not a setup field"));
    }
    match (top.get("admin"), top.get("demo")) {
        (Some(_), Some(_)) => Err(invalid("demo", "cannot be given together with `admin`")),
        (Some(admin), None) => {
            if top.contains_key(DEMO_CONFIRMATION) {
                return Err(invalid(DEMO_CONFIRMATION, "belongs to a demo load only"));
            }
            parse_admin(admin, org_name).map(Request::Admin)
        }
        (None, Some(demo)) => {
            if demo != &Value::Bool(true) {
                return Err(invalid("demo", "must be true"));
            }
            if top.get(DEMO_CONFIRMATION) != Some(&Value::Bool(true)) {
                return Err(invalid(
                    DEMO_CONFIRMATION,
                    "must be true: the demo organisation's accounts all share a published password",
                ));
            }
            Ok(Request::Demo)
        }
        (None, None) => Err(failure(ERROR_INVALID_PAYLOAD, shapes)),
    }
}

const ADMIN_FIELDS: [&str; 4] = ["nip", "email", "name", "password"];

fn parse_admin(admin: &Value, org_name: &str) -> Result<FirstAdmin, Diagnostic> {
    let admin: &Map<String, Value> = admin.as_object().ok_or_else(|| {
        invalid(
            "admin",
            "must be an object with nip, email, name and password",
        )
    })?;
    if let Some(k) = admin.keys().find(|k| !ADMIN_FIELDS.contains(&k.as_str())) {
        return Err(invalid(&format!("admin.{k}"), "is not an admin field"));
    }
    let field = |name: &str| -> Result<String, Diagnostic> {
        match admin.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(&format!("admin.{name}"), "must be a string")),
            None => Err(invalid(&format!("admin.{name}"), "is missing")),
        }
    };
    let first = FirstAdmin {
        org_name: org_name.to_string(),
        nip: field("nip")?,
        email: field("email")?,
        name: field("name")?,
        password: field("password")?,
    };
    match first.check() {
        Ok(()) => Ok(first),
        Err(ServiceError::Invalid(fields)) => {
            let problems: Vec<String> = fields
                .iter()
                .map(|(f, message)| {
                    if f == "org_name" {
                        format!("{ORG_NAME}: {}", message.en)
                    } else {
                        format!("`admin.{f}` {}", message.en)
                    }
                })
                .collect();
            let error_type = if fields.has("org_name") {
                ERROR_MISCONFIGURED
            } else {
                ERROR_INVALID_PAYLOAD
            };
            Err(failure(error_type, problems.join("; ")))
        }
        Err(other) => Err(service_failure(other)),
    }
}

/// A conflict means the organisation was set up (by an earlier or a concurrent run).
fn service_failure(e: ServiceError) -> Diagnostic {
    match e {
        ServiceError::Conflict { message, .. } => failure(
            ERROR_ALREADY_SET_UP,
            format!("{}; nothing was written", message.en),
        ),
        ServiceError::Invalid(fields) => {
            let problems: Vec<String> = fields
                .iter()
                .map(|(f, m)| format!("`{f}` {}", m.en))
                .collect();
            failure(ERROR_INVALID_PAYLOAD, problems.join("; "))
        }
        other => {
            tracing::error!(error = ?other, "setup failed");
            failure(ERROR_SETUP_FAILED, format!("setup failed: {other}"))
        }
    }
}

/// What every invocation of this cold start runs with.
pub struct Handler {
    setup: Configured<Setup>,
}

impl Handler {
    /// Logs one line when the configuration is unusable; every invocation then fails with
    /// `Paraf.Misconfigured`.
    pub fn new(setup: Result<Setup, ConfigError>) -> Self {
        Handler {
            setup: Configured::new(setup),
        }
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
        let setup = self
            .setup
            .get()
            .map_err(|e| failure(ERROR_MISCONFIGURED, e))?;
        let request = parse(&event.payload, &setup.org_name)?;
        let org = setup.auth.org();
        // Refused before KMS is touched; bootstrap and the demo check again while writing.
        org.ensure_empty().await.map_err(service_failure)?;
        // The CA first: if KMS fails, nothing is written and a second run starts afresh.
        let ca_subject = setup.ca.subject().await.map_err(|e| {
            tracing::error!(error = ?e, "opening or creating the organisation CA failed");
            failure(ERROR_SETUP_FAILED, format!("the organisation CA: {e}"))
        })?;
        match request {
            Request::Admin(first) => {
                let admin = paraf_core::org::bootstrap(&setup.auth, &first)
                    .await
                    .map_err(service_failure)?;
                Ok(json!({
                    "mode": "admin",
                    "adminId": admin.id,
                    "adminEmail": admin.email.as_str(),
                    "units": 1,
                    "employees": 1,
                    "caSubject": ca_subject,
                }))
            }
            Request::Demo => {
                let summary = paraf_core::demo::load(&setup.auth)
                    .await
                    .map_err(service_failure)?;
                let accounts: Vec<&str> =
                    summary.accounts.iter().map(|(e, _)| e.as_str()).collect();
                Ok(json!({
                    "mode": "demo",
                    "units": summary.units,
                    "employees": summary.employees,
                    "accounts": accounts,
                    "caSubject": ca_subject,
                }))
            }
        }
    }
}
