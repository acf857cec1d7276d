//! The organisation never loses its last active administrator.
//!
//! A counted guard item (`ORG#ADMINS` / `COUNT`) holds the number of employees who are
//! both active and `admin`. Every write that changes that number — a role change, a
//! deactivation or reactivation, a new employee created as admin (form, API, CSV import,
//! set-up) — writes the employee and the guard in one transaction. A decrement carries the
//! condition "the count is neither 0 nor 1", so the store itself refuses to remove the
//! last one: of two admins removing each other at the same moment one wins and the other
//! is refused with 409, and nothing of the refused write is stored.
//!
//! Stores made before the guard existed get it on first use, counted from the employees
//! (see [`Org::ensure_admin_guard`]).

use serde_json::{json, Value};

use super::{emp_key, from_item, Employee, Org, Role};
use crate::error::{ServiceError, Text};
use crate::ports::table::{item, Condition, Index, Key, Query, TableError, TxOp, Update};
use crate::text;

/// How often a transaction that collided with another one (DynamoDB's
/// `TransactionConflict`) is tried again before the caller is told to retry.
const CONFLICT_ATTEMPTS: usize = 3;

fn guard_key() -> Key {
    Key::new("ORG#ADMINS", "COUNT")
}

fn is_active_admin(e: &Employee) -> bool {
    e.active && e.has_role(Role::Admin)
}

/// The change to the guard a write brings: +1, -1 or nothing.
fn guard_op(delta: i64) -> Option<TxOp> {
    let key = guard_key();
    let exists = Condition::Exists("count".into());
    match delta {
        0 => None,
        d if d > 0 => Some(TxOp::Update {
            key,
            update: Update::new().add("count", d),
            condition: Some(exists),
        }),
        d => Some(TxOp::Update {
            key,
            update: Update::new().add("count", d),
            // Only -1 happens (one employee per write): "neither 0 nor 1" is "at least 2".
            condition: Some(Condition::And(vec![
                exists,
                Condition::NotEquals("count".into(), Value::from(0)),
                Condition::NotEquals("count".into(), Value::from(1)),
            ])),
        }),
    }
}

fn last_admin_text() -> Text {
    text!(
        "organisasi harus tetap memiliki setidaknya satu admin aktif; jadikan pegawai lain admin terlebih dahulu",
        "the organisation must keep at least one active admin; make another employee admin first"
    )
}

/// The refusal of a write that would leave no active admin, on `field` (`roles`, `active`).
pub fn last_admin(field: &str) -> ServiceError {
    ServiceError::conflict(field, last_admin_text())
}

/// Whether a refusal is [`last_admin`]'s.
pub fn is_last_admin(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Conflict { message, .. } if *message == last_admin_text())
}

impl Org {
    /// Creates the guard from the employees when the store has none yet. Safe to race:
    /// the guard is put only if still absent, and no guarded write can commit before it
    /// exists (each one requires it), so the count it starts from is current.
    pub async fn ensure_admin_guard(&self) -> Result<(), ServiceError> {
        let key = guard_key();
        if self.table.get(&key).await?.is_some() {
            return Ok(());
        }
        let count = self.active_admins().await?.len() as i64;
        let guard = item(json!({
            "pk": key.pk, "sk": key.sk, "type": "admin_guard", "count": count,
        }));
        match self.table.put(guard, Some(Condition::absent())).await {
            Ok(()) => {
                tracing::info!(count, "admin guard created from the employees");
                Ok(())
            }
            Err(TableError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The number of active admins as the guard holds it.
    pub async fn admin_count(&self) -> Result<i64, ServiceError> {
        self.ensure_admin_guard().await?;
        Ok(self
            .table
            .get(&guard_key())
            .await?
            .and_then(|it| it.get("count").and_then(Value::as_i64))
            .unwrap_or(0))
    }

    /// Active employees holding `admin`, counted from the employees themselves.
    pub async fn active_admins(&self) -> Result<Vec<Employee>, ServiceError> {
        self.active_with_role(Role::Admin).await
    }

    /// Active employees holding `role` (a walk over every employee: for rare events,
    /// such as one mail to every bendahara).
    pub async fn active_with_role(&self, role: Role) -> Result<Vec<Employee>, ServiceError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .table
                .query(Query::partition(Index::Gsi1, "EMPS").after(cursor))
                .await?;
            for it in page.items {
                let e: Employee = from_item(it)?;
                if e.active && e.has_role(role) {
                    out.push(e);
                }
            }
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// The guard's share of a transaction creating `emp`: +1 when they start as an active
    /// admin (the guard is made first if missing).
    pub(super) async fn guard_for_new(&self, emp: &Employee) -> Result<Option<TxOp>, ServiceError> {
        if !is_active_admin(emp) {
            return Ok(None);
        }
        self.ensure_admin_guard().await?;
        Ok(guard_op(1))
    }

    /// Stores `update` on the employee `before` (read at `before.version`) together with
    /// the guard's change, so the change in active admins and the record agree. `field`
    /// names what the caller changed, for the refusal of a last-admin removal.
    /// A version that moved on is `Stale`; a missing employee `NotFound`.
    pub(super) async fn write_guarded(
        &self,
        before: &Employee,
        after: &Employee,
        update: Update,
        field: &str,
    ) -> Result<Employee, ServiceError> {
        let delta = i64::from(is_active_admin(after)) - i64::from(is_active_admin(before));
        if delta != 0 {
            self.ensure_admin_guard().await?;
        }
        let mut ops = vec![TxOp::Update {
            key: emp_key(&before.id),
            update: update.add("version", 1),
            condition: Some(Condition::And(vec![
                Condition::present(),
                Condition::version(before.version),
            ])),
        }];
        ops.extend(guard_op(delta));
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.table.transact_write(ops.clone()).await {
                Ok(()) => break,
                Err(TableError::ConditionFailed { op: Some(1) }) => {
                    tracing::info!(employee = %before.id, field, "refused: last active admin");
                    return Err(last_admin(field));
                }
                Err(TableError::ConditionFailed { .. }) => return Err(ServiceError::Stale),
                Err(TableError::Conflict) if attempt < CONFLICT_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let stored = self.employee(&before.id).await?;
        if delta != 0 {
            tracing::info!(employee = %before.id, delta, "active admins changed");
        }
        Ok(stored)
    }

    /// Makes an employee active or inactive (an inactive employee cannot sign in and is
    /// signed out everywhere), guarded by `version`. Deactivating the last active admin is
    /// refused.
    pub async fn set_active(
        &self,
        id: &str,
        active: bool,
        version: i64,
    ) -> Result<Employee, ServiceError> {
        let before = self.employee(id).await?;
        if before.version != version {
            return Err(ServiceError::Stale);
        }
        let after = Employee {
            active,
            ..before.clone()
        };
        self.write_guarded(
            &before,
            &after,
            Update::new().set("active", active),
            "active",
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::Auth;
    use crate::memory::MemoryTable;
    use crate::org::tests::first_admin;
    use crate::org::{bootstrap, NewEmployee};
    use crate::ports::clock::SystemClock;
    use crate::ports::table::Table;

    async fn org_with_admin() -> (Org, Employee, Arc<MemoryTable>) {
        let table = Arc::new(MemoryTable::new());
        let auth = Auth::new(table.clone(), Arc::new(SystemClock));
        let admin = bootstrap(&auth, &first_admin()).await.expect("set up");
        (auth.org().clone(), admin, table)
    }

    async fn second_admin(org: &Org, unit: &str) -> Employee {
        org.create_employee(NewEmployee {
            nip: "199001012015031001".into(),
            name: "Admin Kedua".into(),
            email: "admin2@contoh.go.id".into(),
            jabatan: "Pranata Komputer".into(),
            unit: unit.into(),
            roles: vec!["admin".into()],
            ..Default::default()
        })
        .await
        .expect("second admin")
    }

    fn roles(e: &Employee) -> Vec<&'static str> {
        e.roles.iter().map(|r| r.as_str()).collect()
    }

    #[tokio::test]
    async fn the_only_admin_cannot_drop_their_admin_role_and_nothing_changes() {
        let (org, admin, _) = org_with_admin().await;
        let e = org
            .set_roles(&admin.id, &["staff".into()], admin.version)
            .await
            .expect_err("refused");
        assert!(is_last_admin(&e), "{e:?}");
        assert!(matches!(&e, ServiceError::Conflict { field, .. } if field == "roles"));
        let now = org.employee(&admin.id).await.expect("read");
        assert_eq!(roles(&now), ["staff", "admin"]);
        assert_eq!(now.version, admin.version, "nothing written");
        assert_eq!(org.admin_count().await.expect("count"), 1);
    }

    #[tokio::test]
    async fn the_only_admin_cannot_be_deactivated() {
        let (org, admin, _) = org_with_admin().await;
        let e = org
            .set_active(&admin.id, false, admin.version)
            .await
            .expect_err("refused");
        assert!(matches!(&e, ServiceError::Conflict { field, .. } if field == "active"));
        assert!(org.employee(&admin.id).await.expect("read").active);
    }

    #[tokio::test]
    async fn with_a_second_admin_one_may_go_and_then_the_other_must_stay() {
        let (org, admin, _) = org_with_admin().await;
        let other = second_admin(&org, &admin.unit_id).await;
        assert_eq!(org.admin_count().await.expect("count"), 2);
        let demoted = org
            .set_roles(&admin.id, &[], admin.version)
            .await
            .expect("one of two admins may drop the role");
        assert_eq!(roles(&demoted), ["staff"]);
        assert_eq!(demoted.version, admin.version + 1);
        let e = org
            .set_active(&other.id, false, other.version)
            .await
            .expect_err("now the last one");
        assert!(is_last_admin(&e));
        // Granting again counts again.
        org.set_roles(&admin.id, &["admin".into()], demoted.version)
            .await
            .expect("granted");
        assert_eq!(org.admin_count().await.expect("count"), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_admins_removing_each_other_at_once_leave_one() {
        for _ in 0..20 {
            let (org, admin, _) = org_with_admin().await;
            let other = second_admin(&org, &admin.unit_id).await;
            let (o1, o2) = (org.clone(), org.clone());
            let (a, b) = (admin.clone(), other.clone());
            let a = tokio::spawn(async move { o1.set_roles(&a.id, &[], a.version).await });
            let b = tokio::spawn(async move { o2.set_active(&b.id, false, b.version).await });
            let (a, b) = (a.await.expect("joined"), b.await.expect("joined"));
            assert_eq!(
                u8::from(a.is_ok()) + u8::from(b.is_ok()),
                1,
                "exactly one wins: {a:?} {b:?}"
            );
            let left = org.active_admins().await.expect("admins");
            assert_eq!(left.len(), 1);
            assert_eq!(org.admin_count().await.expect("count"), 1);
        }
    }

    #[tokio::test]
    async fn deactivating_a_non_admin_or_an_inactive_admin_leaves_the_count_alone() {
        let (org, admin, _) = org_with_admin().await;
        let other = second_admin(&org, &admin.unit_id).await;
        let off = org
            .set_active(&other.id, false, other.version)
            .await
            .expect("deactivated");
        assert_eq!(org.admin_count().await.expect("count"), 1);
        // Taking admin from an inactive employee changes no count, so it is allowed.
        let off = org
            .set_roles(&other.id, &[], off.version)
            .await
            .expect("inactive admin demoted");
        assert_eq!(org.admin_count().await.expect("count"), 1);
        // Reactivating a non-admin neither.
        org.set_active(&other.id, true, off.version)
            .await
            .expect("reactivated");
        assert_eq!(org.admin_count().await.expect("count"), 1);
    }

    #[tokio::test]
    async fn a_store_without_the_guard_gets_it_counted_from_the_employees() {
        let (org, admin, table) = org_with_admin().await;
        second_admin(&org, &admin.unit_id).await;
        table.delete(&guard_key(), None).await.expect("forget");
        assert_eq!(org.admin_count().await.expect("count"), 2);
        org.set_roles(&admin.id, &[], admin.version)
            .await
            .expect("one of two");
        assert_eq!(org.admin_count().await.expect("count"), 1);
    }

    #[tokio::test]
    async fn a_stale_version_is_refused_before_the_guard_is_asked() {
        let (org, admin, _) = org_with_admin().await;
        let e = org
            .set_roles(&admin.id, &[], admin.version + 7)
            .await
            .expect_err("stale");
        assert_eq!(e, ServiceError::Stale);
    }
}
