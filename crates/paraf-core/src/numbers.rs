//! Official numbers: the reserved series.
//!
//! Each numbered series (SPT, SPPD, kuitansi, nomor agenda surat masuk, …) belongs to the
//! service that allocates it: gapless per year, taken in the same transaction as the
//! record that carries it ([`take`]), and never claimable from outside. [`RESERVED`] is
//! the one registry of those series; a new service that numbers something adds its
//! [`Series`] there, and from then on:
//! - its numbers are `seq/CODE/REGION/year` ([`Series::number`]);
//! - a document from elsewhere (an uploaded PDF, `paraf sign`) may cite any number except
//!   one carrying a reserved code ([`check_cited`]: 422 naming `number`);
//! - the archive stores a number in a reserved series only when the document says it
//!   was allocated in that series ([`crate::archive::NewArchive::series`]).
//!
//! A number belongs to a series by its code alone, whatever its sequence, region or
//! year, and after folding the look-alikes people (or attackers) type: spaces, lower
//! case, Unicode dashes and full-width slashes. So `2/ku.03-st/32/2026` and
//! `2 / KU.03‐ST / 32 / 2026` are the SPT series as much as `2/KU.03-ST/32/2026`.

use serde_json::{json, Value};

use crate::error::{ServiceError, Text};
use crate::ports::table::{Condition, Item, Key, Table, TxOp};
use crate::text;

/// The region part of every number the organisation allocates (32: Jawa Barat).
pub const REGION: &str = "32";

/// A series of official numbers that one service allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    /// Stable name: the counter's key and what an archived document records.
    pub key: &'static str,
    /// The classification part, e.g. `KU.03-ST`.
    pub code: &'static str,
    /// What the numbers name, in Indonesian and English.
    pub name: (&'static str, &'static str),
    /// The service that allocates them, in Indonesian and English.
    pub service: (&'static str, &'static str),
}

/// Surat Tugas of a travel order (signed by the Sekretaris at final approval).
pub const SPT: Series = Series {
    key: "spt",
    code: "KU.03-ST",
    name: ("Surat Tugas (SPT)", "assignment letter (SPT)"),
    service: ("e-SPPD", "e-SPPD"),
};
/// One SPPD per traveller of an approved travel order.
pub const SPPD: Series = Series {
    key: "sppd",
    code: "KU.03-SPPD",
    name: ("SPPD", "travel order (SPPD)"),
    service: ("e-SPPD", "e-SPPD"),
};
/// One kuitansi per traveller at settlement.
pub const KUITANSI: Series = Series {
    key: "kuitansi",
    code: "KU.03-KW",
    name: ("kuitansi", "receipt (kuitansi)"),
    service: ("e-SPPD", "e-SPPD"),
};
/// Nomor agenda: the registration number of an incoming letter in the buku agenda.
pub const AGENDA: Series = Series {
    key: "agenda",
    code: "TU-AG",
    name: (
        "nomor agenda surat masuk",
        "incoming-letter register number (nomor agenda)",
    ),
    service: ("e-disposisi", "e-disposisi"),
};

/// Every reserved series. New services add theirs here.
pub const RESERVED: &[Series] = &[SPT, SPPD, KUITANSI, AGENDA];

impl Series {
    /// The `seq`-th number of `year`, e.g. `12/KU.03-ST/32/2026`.
    pub fn number(&self, seq: u64, year: i32) -> String {
        format!("{seq}/{}/{REGION}/{year}", self.code)
    }

    /// Does `number` carry this series' code?
    pub fn owns(&self, number: &str) -> bool {
        let folded = fold(number);
        folded.split('/').any(|part| part == self.code)
    }

    /// The registered series named `key`.
    pub fn by_key(key: &str) -> Option<&'static Series> {
        RESERVED.iter().find(|s| s.key == key)
    }
}

/// Upper case without white space, dash and slash look-alikes made plain.
fn fold(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '\u{200B}'..='\u{200D}' | '\u{FEFF}'))
        .map(|c| match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => '-',
            '\u{FF0F}' | '\u{2215}' | '\u{2044}' => '/',
            '\u{FF0E}' => '.',
            c => c,
        })
        .flat_map(char::to_uppercase)
        .collect()
}

/// The reserved series `number` belongs to, if any.
pub fn series_of(number: &str) -> Option<&'static Series> {
    RESERVED.iter().find(|s| s.owns(number))
}

/// Why a number cannot be cited from outside its series' service, in both languages.
pub fn reserved_message(number: &str, s: &Series) -> Text {
    text!(
        "nomor {} termasuk seri {} yang hanya diberikan oleh layanan {}; dokumen dari luar hanya boleh mencantumkan nomor di luar seri ini",
        "number {} belongs to the {} series, which only the {} service allocates; a document from elsewhere may only cite numbers outside this series",
        number.trim(),
        s.name.0,
        s.service.0
    )
}

/// A number a document from elsewhere may carry: any but one of a reserved series
/// (`Invalid` naming `number`).
pub fn check_cited(number: &str) -> Result<(), ServiceError> {
    match series_of(number) {
        Some(s) => Err(ServiceError::invalid("number", reserved_message(number, s))),
        None => Ok(()),
    }
}

/// The counter of a series in a year.
fn counter_key(series: &Series, year: i32) -> Key {
    Key::new(format!("NUMBER#{}#{year}", series.key), "COUNTER")
}

/// Takes the next `n` numbers of `series` in `year`: the numbers, and the counter write
/// that must commit in the same transaction as the record that carries them (conditional
/// on the counter as read, so two takers racing cannot both commit: the loser reads
/// again). Nothing is taken until that transaction commits, so numbers are gapless.
pub async fn take(
    table: &dyn Table,
    series: &Series,
    year: i32,
    n: usize,
) -> Result<(Vec<String>, TxOp), ServiceError> {
    let key = counter_key(series, year);
    let last = table
        .get(&key)
        .await?
        .and_then(|it| it.get("last").and_then(Value::as_u64));
    let start = last.unwrap_or(0);
    let end = start + n as u64;
    let mut it = Item::new();
    it.insert("pk".into(), json!(key.pk));
    it.insert("sk".into(), json!(key.sk));
    it.insert("type".into(), json!("number_counter"));
    it.insert("last".into(), json!(end));
    let numbers = (start + 1..=end).map(|s| series.number(s, year)).collect();
    let op = TxOp::Put {
        item: it,
        condition: Some(match last {
            Some(l) => Condition::equals("last", l),
            None => Condition::absent(),
        }),
    };
    Ok((numbers, op))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryTable;
    use crate::ports::table::TableError;

    #[test]
    fn a_number_belongs_to_its_series_by_code_whatever_its_spelling() {
        for n in [
            "2/KU.03-ST/32/2026",
            " 2 / ku.03-st / 32 / 2026 ",
            "2/KU.03\u{2010}ST/32/2026",
            "2\u{FF0F}KU.03-ST\u{FF0F}32\u{FF0F}2026",
            "0002/KU.03-ST/99/1999",
            "KU.03-ST/7",
        ] {
            assert_eq!(series_of(n), Some(&SPT), "{n:?}");
        }
        assert_eq!(series_of("1/KU.03-SPPD/32/2026"), Some(&SPPD));
        assert_eq!(series_of("1/KU.03-KW/32/2026"), Some(&KUITANSI));
        assert_eq!(series_of("17/TU-AG/32/2026"), Some(&AGENDA));
    }

    #[test]
    fn a_number_from_elsewhere_may_be_cited() {
        for n in [
            "005/UND/KPU-RI/2026",
            "123/PL.01-SD/32/2026",
            "KU.03-STX/1",
            "1/KU.03/32/2026",
        ] {
            assert_eq!(series_of(n), None, "{n:?}");
            assert!(check_cited(n).is_ok(), "{n:?}");
        }
    }

    #[test]
    fn citing_a_reserved_number_is_refused_naming_the_number_field_in_both_languages() {
        let Err(ServiceError::Invalid(f)) = check_cited("2/KU.03-ST/32/2026") else {
            panic!("expected Invalid");
        };
        let t = f.get("number").expect("the number field");
        assert!(
            t.id.contains("hanya diberikan oleh layanan e-SPPD"),
            "{}",
            t.id
        );
        assert!(
            t.en.contains("only the e-SPPD service allocates"),
            "{}",
            t.en
        );
    }

    #[test]
    fn the_registry_has_one_series_per_key_and_code() {
        let mut keys = std::collections::BTreeSet::new();
        let mut codes = std::collections::BTreeSet::new();
        for s in RESERVED {
            assert!(keys.insert(s.key) && codes.insert(s.code), "{s:?}");
            assert_eq!(fold(s.code), s.code, "codes are written folded");
            assert_eq!(Series::by_key(s.key), Some(s));
            assert_eq!(series_of(&s.number(1, 2026)), Some(s));
            // Parses as an official number.
            crate::format::DocumentNumber::parse(&s.number(12, 2026))
                .unwrap_or_else(|e| panic!("{}: {e}", s.key));
        }
    }

    #[tokio::test]
    async fn numbers_are_taken_gapless_and_a_racing_taker_must_read_again() {
        let table = MemoryTable::new();
        let (first, op) = take(&table, &SPPD, 2026, 2).await.expect("take");
        assert_eq!(first, ["1/KU.03-SPPD/32/2026", "2/KU.03-SPPD/32/2026"]);
        // A second taker read the same counter before the first committed.
        let (same, late) = take(&table, &SPPD, 2026, 1).await.expect("take");
        assert_eq!(same, ["1/KU.03-SPPD/32/2026"]);
        table.transact_write(vec![op]).await.expect("first commits");
        assert!(matches!(
            table.transact_write(vec![late]).await,
            Err(TableError::ConditionFailed { .. })
        ));
        let (next, op) = take(&table, &SPPD, 2026, 1).await.expect("take");
        assert_eq!(next, ["3/KU.03-SPPD/32/2026"]);
        table.transact_write(vec![op]).await.expect("commits");
        // Each year and each series counts on its own.
        let (other, _) = take(&table, &SPPD, 2027, 1).await.expect("take");
        assert_eq!(other, ["1/KU.03-SPPD/32/2027"]);
        let (spt, _) = take(&table, &SPT, 2026, 1).await.expect("take");
        assert_eq!(spt, ["1/KU.03-ST/32/2026"]);
    }
}
