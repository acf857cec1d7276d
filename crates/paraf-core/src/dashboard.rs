//! The dashboard's counters: what waits for the person now.
//!
//! Services that create work for someone (approval and signing tasks, dispositions, agenda
//! items) index it under the person's inbox partition, so the counters are cheap key-range
//! queries on every runtime:
//!
//! | counter | partition (gsi1pk) | sort key prefix (gsi1sk) |
//! |---|---|---|
//! | to approve | `INBOX#employee` | `APPROVE#` |
//! | to sign | `INBOX#employee` | `SIGN#` |
//! | unread dispositions | `INBOX#employee` | `DISPO#UNREAD#` |
//! | today's agenda | `AGENDA#yyyy-mm-dd` (pk) | any |

use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::ServiceError;
use crate::ports::table::{Index, Query, SortKey, Table};

pub const INBOX_APPROVE: &str = "APPROVE#";
pub const INBOX_SIGN: &str = "SIGN#";
pub const INBOX_DISPO_UNREAD: &str = "DISPO#UNREAD#";

pub fn inbox_partition(employee_id: &str) -> String {
    format!("INBOX#{employee_id}")
}

pub fn agenda_partition(day: Date) -> String {
    format!("AGENDA#{day}")
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub to_approve: u64,
    pub to_sign: u64,
    pub unread_dispositions: u64,
    pub agenda_today: u64,
}

async fn count(table: &dyn Table, q: Query) -> Result<u64, ServiceError> {
    let mut n = 0;
    let mut cursor = None;
    loop {
        let page = table.query(q.clone().after(cursor)).await?;
        n += page.items.len() as u64;
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(n),
        }
    }
}

/// Counts the work waiting for `employee_id` (and the agenda of `today`, WIB).
pub async fn counters(
    table: &dyn Table,
    employee_id: &str,
    today: Date,
) -> Result<Counters, ServiceError> {
    let inbox = |prefix: &str| {
        Query::partition(Index::Gsi1, inbox_partition(employee_id))
            .sk(SortKey::BeginsWith(prefix.to_string()))
    };
    Ok(Counters {
        to_approve: count(table, inbox(INBOX_APPROVE)).await?,
        to_sign: count(table, inbox(INBOX_SIGN)).await?,
        unread_dispositions: count(table, inbox(INBOX_DISPO_UNREAD)).await?,
        agenda_today: count(
            table,
            Query::partition(Index::Primary, agenda_partition(today)),
        )
        .await?,
    })
}
