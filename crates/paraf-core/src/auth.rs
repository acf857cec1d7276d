//! Identity: passwords (argon2id), login throttling, web sessions, and the `Principal`
//! every request acts as.
//!
//! A `Principal` comes from a session cookie or a bearer token locally, and from the HTTP
//! API's Cognito JWT authorizer on AWS; the domain only ever sees the `Principal`.

use std::collections::BTreeSet;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::ServiceError;
use crate::org::{Employee, Org, Role};
use crate::ports::clock::Clock;
use crate::ports::table::{item, Condition, Key, Table};
use crate::text;

/// Failed logins on one account within one minute before further attempts get 429.
pub const MAX_FAILURES_PER_MINUTE: i64 = 10;
/// How long a web session lasts without activity limits (a working day and then some).
pub const SESSION_HOURS: i64 = 12;
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Who is acting: the claims paraf needs about the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub employee_id: String,
    pub nip: String,
    pub email: String,
    pub name: String,
    pub roles: BTreeSet<Role>,
}

impl Principal {
    pub fn of(emp: &Employee) -> Self {
        Principal {
            employee_id: emp.id.clone(),
            nip: emp.nip.to_string(),
            email: emp.email.to_string(),
            name: emp.name.clone(),
            roles: emp.roles.clone(),
        }
    }
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
    /// `Forbidden` unless the principal holds `role`.
    pub fn require(&self, role: Role) -> Result<(), ServiceError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }
    /// `Forbidden` unless the principal holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ServiceError> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden)
        }
    }
}

/// A web session: the opaque token lives only in the browser's cookie; the table keeps
/// its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    /// Per-session CSRF token every form posts back.
    pub csrf: String,
    pub employee_id: String,
    pub expires: OffsetDateTime,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> String {
    crate::ports::blobs::sha256_hex(token.as_bytes())
}

fn cred_key(employee_id: &str) -> Key {
    Key::new(format!("EMP#{employee_id}"), "CRED")
}

fn session_key(token: &str) -> Key {
    Key::new(format!("SESSION#{}", token_hash(token)), "META")
}

/// Refuses a password shorter than [`MIN_PASSWORD_CHARS`], naming the `password` field.
/// Callers that create an account along with its password check first, so a short
/// password never leaves a half-made account behind.
pub fn check_password(password: &str) -> Result<(), ServiceError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServiceError::invalid(
            "password",
            text!(
                "kata sandi minimal {MIN_PASSWORD_CHARS} karakter",
                "the password must have at least {MIN_PASSWORD_CHARS} characters"
            ),
        ));
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verified against when the account does not exist, so a wrong login and a wrong password
/// take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("paraf-dummy-password").unwrap_or_default())
}

#[derive(Clone)]
pub struct Auth {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
    org: Org,
}

impl Auth {
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        let org = Org::new(table.clone(), clock.clone());
        Auth { table, clock, org }
    }

    pub fn org(&self) -> &Org {
        &self.org
    }

    pub async fn set_password(
        &self,
        employee_id: &str,
        password: &str,
    ) -> Result<(), ServiceError> {
        check_password(password)?;
        self.org.employee(employee_id).await?;
        let hash = hash_password(password)?;
        let k = cred_key(employee_id);
        self.table
            .put(
                item(json!({"pk": k.pk, "sk": k.sk, "type": "credential", "hash": hash})),
                None,
            )
            .await?;
        Ok(())
    }

    /// Checks a login (NIP or email) and password. Wrong login or password →
    /// `Unauthenticated` (the same for both); more than [`MAX_FAILURES_PER_MINUTE`]
    /// failures on the account this minute → `TooManyRequests`, even with the right password.
    pub async fn authenticate(
        &self,
        login: &str,
        password: &str,
    ) -> Result<Employee, ServiceError> {
        let now = self.clock.now();
        let emp = self.org.find_employee(login).await?;
        // Throttle per account; unknown logins are throttled under their own name so
        // guessing accounts is limited too.
        let subject = match &emp {
            Some(e) => e.id.clone(),
            None => format!("login:{}", login.trim().to_lowercase()),
        };
        let minute = now.unix_timestamp() / 60;
        let fail_key = Key::new(format!("LOGINFAIL#{subject}"), minute.to_string());
        let failures = self
            .table
            .get(&fail_key)
            .await?
            .and_then(|it| it.get("count").and_then(Value::as_i64))
            .unwrap_or(0);
        if failures >= MAX_FAILURES_PER_MINUTE {
            let retry_after_secs = (60 - now.unix_timestamp().rem_euclid(60)) as u64;
            return Err(ServiceError::TooManyRequests { retry_after_secs });
        }
        let hash = match &emp {
            Some(e) => self
                .table
                .get(&cred_key(&e.id))
                .await?
                .and_then(|it| it.get("hash").and_then(Value::as_str).map(str::to_string)),
            None => None,
        };
        let ok = verify_password(password, hash.as_deref().unwrap_or(dummy_hash()))
            && hash.is_some()
            && emp.as_ref().is_some_and(|e| e.active);
        match emp {
            Some(e) if ok => Ok(e),
            _ => {
                self.table
                    .update(
                        &fail_key,
                        crate::ports::table::Update::new()
                            .add("count", 1)
                            // DynamoDB TTL removes old counters on AWS.
                            .set("ttl", now.unix_timestamp() + 3600),
                        None,
                    )
                    .await?;
                tracing::info!(subject = %subject, "login failed");
                Err(ServiceError::Unauthenticated)
            }
        }
    }

    pub async fn create_session(&self, emp: &Employee) -> Result<Session, ServiceError> {
        let s = Session {
            token: random_token(),
            csrf: random_token(),
            employee_id: emp.id.clone(),
            expires: self.clock.now() + time::Duration::hours(SESSION_HOURS),
        };
        let k = session_key(&s.token);
        self.table
            .put(
                item(json!({
                    "pk": k.pk, "sk": k.sk, "type": "session",
                    "employee_id": s.employee_id, "csrf": s.csrf,
                    "expires": s.expires.unix_timestamp(), "ttl": s.expires.unix_timestamp(),
                })),
                Some(Condition::absent()),
            )
            .await?;
        Ok(s)
    }

    /// The live session for a cookie token and its (active) employee, if any.
    pub async fn session(&self, token: &str) -> Result<Option<(Session, Employee)>, ServiceError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let Some(it) = self.table.get(&session_key(token)).await? else {
            return Ok(None);
        };
        let expires = it
            .get("expires")
            .and_then(Value::as_i64)
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
        let (Some(expires), Some(emp_id), Some(csrf)) = (
            expires,
            it.get("employee_id").and_then(Value::as_str),
            it.get("csrf").and_then(Value::as_str),
        ) else {
            return Ok(None);
        };
        if expires <= self.clock.now() {
            return Ok(None);
        }
        let emp = match self.org.employee(emp_id).await {
            Ok(e) if e.active => e,
            Ok(_) | Err(ServiceError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some((
            Session {
                token: token.to_string(),
                csrf: csrf.to_string(),
                employee_id: emp.id.clone(),
                expires,
            },
            emp,
        )))
    }

    pub async fn end_session(&self, token: &str) -> Result<(), ServiceError> {
        self.table.delete(&session_key(token), None).await?;
        Ok(())
    }
}
