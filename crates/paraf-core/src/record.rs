//! Domain records as [`Table`] items: a record's own fields (serde) plus its key and its
//! `type`, and the way back. One codec for every service, so a record that cannot be read
//! back is reported the same way everywhere (an internal error naming what it was).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::ServiceError;
use crate::ports::table::{Item, Key, Query, Table};

/// `value`'s fields with `pk`, `sk` and `type` added. `value` must serialise to a JSON
/// object.
pub fn to_item<T: Serialize>(value: &T, key: &Key, kind: &str) -> Result<Item, ServiceError> {
    let Value::Object(mut it) = serde_json::to_value(value)
        .map_err(|e| ServiceError::Internal(format!("{kind} did not serialise: {e}")))?
    else {
        return Err(ServiceError::Internal(format!(
            "{kind} did not serialise to an object"
        )));
    };
    it.insert("pk".into(), json!(key.pk));
    it.insert("sk".into(), json!(key.sk));
    it.insert("type".into(), json!(kind));
    Ok(it)
}

/// The record stored in `it` (extra attributes such as keys are ignored).
pub fn from_item<T: DeserializeOwned>(it: Item, kind: &str) -> Result<T, ServiceError> {
    serde_json::from_value(Value::Object(it))
        .map_err(|e| ServiceError::Internal(format!("stored {kind} unreadable: {e}")))
}

/// Every item `q` matches, page after page, each read as a `T`.
pub async fn collect<T: DeserializeOwned>(
    table: &dyn Table,
    q: Query,
    kind: &str,
) -> Result<Vec<T>, ServiceError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = table.query(q.clone().after(cursor)).await?;
        for it in page.items {
            out.push(from_item(it, kind)?);
        }
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Milliseconds since the epoch, never negative: the sortable time in index sort keys.
pub fn ms(t: OffsetDateTime) -> i64 {
    ((t.unix_timestamp_nanos() / 1_000_000) as i64).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Note {
        text: String,
    }

    #[test]
    fn a_record_comes_back_as_it_went_in_with_its_key_and_type_beside_it() {
        let n = Note { text: "x".into() };
        let it = to_item(&n, &Key::new("NOTE#1", "META"), "note").unwrap();
        assert_eq!(it["pk"], "NOTE#1");
        assert_eq!(it["type"], "note");
        assert_eq!(from_item::<Note>(it, "note").unwrap(), n);
    }

    #[test]
    fn a_value_that_is_not_an_object_is_an_internal_error() {
        let e = to_item(&3, &Key::new("A", "B"), "number").unwrap_err();
        assert!(matches!(e, ServiceError::Internal(m) if m.contains("number")));
    }
}
