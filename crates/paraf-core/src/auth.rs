//! Identity: passwords (argon2id), login throttling ([`throttle`]), web sessions, and the
//! `Principal` every request acts as.
//!
//! A `Principal` comes from a session cookie or a bearer token locally, and from the HTTP
//! API's Cognito JWT authorizer on AWS; the domain only ever sees the `Principal`.

pub mod throttle;

use std::collections::BTreeSet;
use std::net::IpAddr;
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

    /// Checks a login (NIP or email) and password, tried from the client address `from`
    /// (`None` when the server cannot tell). Wrong login or password → `Unauthenticated`
    /// (the same for both); too many failures of this account from this address, or of
    /// any accounts from this address → `TooManyRequests`, even with the right password
    /// ([`throttle`]). Failures from other addresses never refuse this one.
    pub async fn authenticate(
        &self,
        login: &str,
        password: &str,
        from: Option<IpAddr>,
    ) -> Result<Employee, ServiceError> {
        let now = self.clock.now().unix_timestamp();
        let emp = self.org.find_employee(login).await?;
        // Unknown logins are counted under their own (hashed) name, so guessing which
        // accounts exist is limited too.
        let subject = match &emp {
            Some(e) => e.id.clone(),
            None => format!("login:{}", &token_hash(&login.trim().to_lowercase())[..32]),
        };
        let mut attempt = match throttle::take(self.table.as_ref(), &subject, from, now).await? {
            Ok(a) => a,
            Err(t) => {
                tracing::warn!(subject = %subject, from = %throttle::address_bucket(from), "login throttled");
                return Err(ServiceError::TooManyRequests {
                    retry_after_secs: t.retry_after_secs,
                });
            }
        };
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
            Some(e) if ok => {
                attempt.give_back(self.table.as_ref()).await?;
                Ok(e)
            }
            _ => {
                tracing::info!(subject = %subject, from = %throttle::address_bucket(from), "login failed");
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

#[cfg(test)]
mod tests {
    use super::throttle::{MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS, MAX_FAILURES_PER_ADDRESS};
    use super::*;
    use crate::memory::MemoryTable;
    use crate::org::tests::first_admin;
    use crate::org::{bootstrap, NewEmployee};
    use crate::ports::clock::FixedClock;

    /// The password of every account of the fixture (the set-up admin's).
    const PASSWORD: &str = "rahasia-sekali";

    struct Fixture {
        auth: Auth,
        clock: Arc<FixedClock>,
    }

    /// An organisation with its admin (`it@contoh.go.id`) and `n` staff
    /// (`staf{i}@contoh.go.id`), all with [`PASSWORD`], at 08:00:05 WIB.
    async fn fixture(n: u32) -> Fixture {
        let clock = Arc::new(FixedClock::new(
            time::macros::datetime!(2026-11-30 01:00:05 UTC),
        ));
        let auth = Auth::new(Arc::new(MemoryTable::new()), clock.clone());
        let admin = bootstrap(&auth, &first_admin()).await.expect("set up");
        for i in 0..n {
            let e = auth
                .org()
                .create_employee(NewEmployee {
                    nip: format!("199001012015011{:03}", 1 + i),
                    name: format!("Staf {i}"),
                    email: format!("staf{i}@contoh.go.id"),
                    jabatan: "Pelaksana".into(),
                    unit: admin.unit_id.clone(),
                    ..Default::default()
                })
                .await
                .expect("staff");
            auth.set_password(&e.id, PASSWORD).await.expect("password");
        }
        Fixture { auth, clock }
    }

    /// Whether the right password of `login`, from `from`, is refused with 429.
    async fn refused(f: &Fixture, login: &str, from: Option<IpAddr>) -> bool {
        matches!(
            f.auth.authenticate(login, PASSWORD, from).await,
            Err(ServiceError::TooManyRequests { .. })
        )
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("address"))
    }

    async fn fail_until_throttled(f: &Fixture, login: &str, from: Option<IpAddr>) -> usize {
        for n in 0..100 {
            match f.auth.authenticate(login, "salah-salah", from).await {
                Err(ServiceError::Unauthenticated) => {}
                Err(ServiceError::TooManyRequests { .. }) => return n,
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("never throttled");
    }

    #[tokio::test]
    async fn a_strangers_failures_stop_the_stranger_and_never_the_owner_elsewhere() {
        let f = fixture(0).await;
        let stranger = ip("203.0.113.7");
        let n = fail_until_throttled(&f, "it@contoh.go.id", stranger).await;
        assert_eq!(n as i64, MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS);
        let e = f
            .auth
            .authenticate("it@contoh.go.id", PASSWORD, stranger)
            .await
            .expect_err("the right password from the stranger's address is refused too");
        let ServiceError::TooManyRequests { retry_after_secs } = e else {
            panic!("{e:?}")
        };
        assert!(
            (1..=2 * WINDOW).contains(&retry_after_secs),
            "{retry_after_secs}"
        );
        let owner = f
            .auth
            .authenticate("it@contoh.go.id", PASSWORD, ip("198.51.100.20"))
            .await
            .expect("the owner signs in from their own address");
        assert_eq!(owner.email.as_str(), "it@contoh.go.id");
    }

    const WINDOW: u64 = throttle::WINDOW_SECS as u64;

    #[tokio::test]
    async fn the_block_lifts_once_the_failures_are_two_windows_old() {
        let f = fixture(0).await;
        let from = ip("203.0.113.7");
        fail_until_throttled(&f, "it@contoh.go.id", from).await;
        let Err(ServiceError::TooManyRequests { retry_after_secs }) =
            f.auth.authenticate("it@contoh.go.id", PASSWORD, from).await
        else {
            panic!("throttled")
        };
        f.clock
            .advance(time::Duration::seconds(retry_after_secs as i64 - 1));
        assert!(refused(&f, "it@contoh.go.id", from).await);
        f.clock.advance(time::Duration::seconds(1));
        f.auth
            .authenticate("it@contoh.go.id", PASSWORD, from)
            .await
            .expect("after Retry-After the right password works again");
    }

    #[tokio::test]
    async fn failures_spread_over_a_window_boundary_still_count() {
        let f = fixture(0).await;
        let from = ip("203.0.113.7");
        // 08:00:05 → five failures at 08:00:55, five at 08:01:05.
        f.clock.advance(time::Duration::seconds(50));
        for _ in 0..5 {
            let _ = f.auth.authenticate("it@contoh.go.id", "salah", from).await;
        }
        f.clock.advance(time::Duration::seconds(10));
        for _ in 0..5 {
            let _ = f.auth.authenticate("it@contoh.go.id", "salah", from).await;
        }
        assert!(refused(&f, "it@contoh.go.id", from).await);
    }

    #[tokio::test]
    async fn a_password_spray_over_many_accounts_from_one_address_is_throttled() {
        let f = fixture(12).await;
        let sprayer = ip("203.0.113.99");
        let mut refused_at = None;
        'spray: for round in 0..10 {
            for i in 0..12 {
                let login = format!("staf{i}@contoh.go.id");
                match f.auth.authenticate(&login, "Password123", sprayer).await {
                    Err(ServiceError::Unauthenticated) => {}
                    Err(ServiceError::TooManyRequests { .. }) => {
                        refused_at = Some(round * 12 + i);
                        break 'spray;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(refused_at, Some(MAX_FAILURES_PER_ADDRESS as u32));
        assert!(
            refused(&f, "staf0@contoh.go.id", sprayer).await,
            "nothing more from that address, right passwords included"
        );
        f.auth
            .authenticate("staf0@contoh.go.id", PASSWORD, ip("198.51.100.20"))
            .await
            .expect("other addresses are not affected");
    }

    #[tokio::test]
    async fn unknown_logins_count_like_accounts() {
        let f = fixture(0).await;
        let from = ip("203.0.113.7");
        let n = fail_until_throttled(&f, "tidak.ada@contoh.go.id", from).await;
        assert_eq!(n as i64, MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS);
    }

    #[tokio::test]
    async fn successful_logins_do_not_use_up_the_limits() {
        let f = fixture(0).await;
        let from = ip("203.0.113.7");
        for _ in 0..(2 * MAX_FAILURES_PER_ADDRESS) {
            f.auth
                .authenticate("it@contoh.go.id", PASSWORD, from)
                .await
                .expect("signs in");
        }
        let window = f.clock.now().unix_timestamp() / throttle::WINDOW_SECS;
        let counter = Key::new("LOGINTHROTTLE#ADDR#v4:203.0.113.7", window.to_string());
        assert_eq!(
            f.auth.table.get(&counter).await.expect("read"),
            None,
            "successful logins leave no counter behind"
        );
        let n = fail_until_throttled(&f, "it@contoh.go.id", from).await;
        assert_eq!(n as i64, MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_guesses_get_no_more_password_checks_than_the_limit() {
        let f = fixture(0).await;
        let from = ip("203.0.113.7");
        let guesses: Vec<_> = (0..40)
            .map(|_| {
                let auth = f.auth.clone();
                tokio::spawn(
                    async move { auth.authenticate("it@contoh.go.id", "salah", from).await },
                )
            })
            .collect();
        let mut checked = 0;
        for g in guesses {
            if matches!(g.await.expect("joined"), Err(ServiceError::Unauthenticated)) {
                checked += 1;
            }
        }
        assert_eq!(checked, MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS);
    }
}
