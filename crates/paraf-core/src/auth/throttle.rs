//! Login throttling, counted in the `Table` so every server and Lambda instance shares it.
//!
//! Two limits, each over the current and the previous one-minute window (so any 60
//! seconds are covered, whatever the clock says):
//!
//! - per account **and** client address: [`MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS`]
//!   failed logins. A stranger who guesses a password from their address stops
//!   themselves; the owner, from any other address, still signs in.
//! - per client address across accounts: [`MAX_FAILURES_PER_ADDRESS`] failed logins,
//!   so spraying one password over many accounts is slowed too.
//!
//! There is deliberately no limit per account alone: it would let anyone lock anyone
//! out. IPv6 addresses count per /64 (one subscriber's network); an IPv4-mapped IPv6
//! address counts as its IPv4 address. A request whose address is unknown counts under
//! one shared "unknown" address.
//!
//! An attempt takes its place before the password is checked (an atomic increment), so
//! a burst of parallel guesses gets no more checks than the limit; a successful login
//! and a refused attempt give their place back (a counter back at zero is deleted).
//! Counters of failures expire by `ttl` on DynamoDB; locally they stay, a few small items
//! per minute in which logins failed.

use std::net::IpAddr;

use serde_json::Value;

use crate::ports::table::{Condition, Key, Table, TableError, Update};

/// Failed logins on one account from one address, within the last one to two minutes,
/// before further attempts on that account from that address get 429.
pub const MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS: i64 = 10;
/// Failed logins from one address, whatever the accounts, within the last one to two
/// minutes, before every further login from that address gets 429.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 30;
/// Length of one counting window.
pub const WINDOW_SECS: i64 = 60;

/// The address a limit counts under (IPv6 by /64).
pub fn address_bucket(addr: Option<IpAddr>) -> String {
    match addr {
        None => "unknown".into(),
        Some(IpAddr::V4(v4)) => format!("v4:{v4}"),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("v4:{v4}"),
            None => {
                let s = v6.segments();
                format!("v6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// One counter of failures, windowed.
struct Counter {
    pk: String,
    limit: i64,
}

/// A place taken in the counters for one attempt.
pub(super) struct Attempt {
    taken: Vec<Key>,
}

pub(super) struct Throttled {
    pub retry_after_secs: u64,
}

fn window_of(now: i64) -> i64 {
    now.div_euclid(WINDOW_SECS)
}

/// The counters one login attempt counts in: the address's, then the account's from that
/// address. `subject` names the account (or the unknown login).
fn counters(subject: &str, addr: Option<IpAddr>) -> [Counter; 2] {
    let bucket = address_bucket(addr);
    [
        Counter {
            pk: format!("LOGINTHROTTLE#ADDR#{bucket}"),
            limit: MAX_FAILURES_PER_ADDRESS,
        },
        Counter {
            pk: format!("LOGINTHROTTLE#ACCT#{subject}#{bucket}"),
            limit: MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS,
        },
    ]
}

/// Takes a place for one attempt in every counter, or refuses with how long to wait.
pub(super) async fn take(
    table: &dyn Table,
    subject: &str,
    addr: Option<IpAddr>,
    now: i64,
) -> Result<Result<Attempt, Throttled>, TableError> {
    let window = window_of(now);
    let mut attempt = Attempt { taken: Vec::new() };
    for c in counters(subject, addr) {
        let current = Key::new(c.pk.clone(), window.to_string());
        let previous = Key::new(c.pk.clone(), (window - 1).to_string());
        let mine = table
            .update(
                &current,
                Update::new()
                    .add("count", 1)
                    .set("ttl", (window + 3) * WINDOW_SECS),
                None,
            )
            .await?
            .get("count")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        attempt.taken.push(current.clone());
        let before = table
            .get(&previous)
            .await?
            .and_then(|it| it.get("count").and_then(Value::as_i64))
            .unwrap_or(0);
        if before + mine > c.limit {
            attempt.give_back(table).await?;
            // Failures of this window alone at the limit keep it closed through the next.
            let this_window = mine - 1;
            let until = (window + 1) * WINDOW_SECS
                + if this_window >= c.limit {
                    WINDOW_SECS
                } else {
                    0
                };
            return Ok(Err(Throttled {
                retry_after_secs: (until - now).max(1) as u64,
            }));
        }
    }
    Ok(Ok(attempt))
}

impl Attempt {
    /// Gives the places back: the attempt is not a failure.
    pub(super) async fn give_back(&mut self, table: &dyn Table) -> Result<(), TableError> {
        for key in self.taken.drain(..) {
            let left = table
                .update(&key, Update::new().add("count", -1), None)
                .await?
                .get("count")
                .and_then(Value::as_i64);
            if left == Some(0) {
                // Successful logins leave nothing behind (the local store has no TTL).
                match table
                    .delete(&key, Some(Condition::equals("count", 0)))
                    .await
                {
                    Ok(_) | Err(TableError::ConditionFailed { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_per_ipv4_address_and_per_ipv6_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_bucket(Some(a)), address_bucket(Some(b)));
        assert_ne!(address_bucket(Some(a)), address_bucket(Some(c)));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(address_bucket(Some(mapped)), "v4:10.1.2.3");
        assert_eq!(address_bucket(None), "unknown");
    }
}
