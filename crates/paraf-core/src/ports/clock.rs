//! `Clock`: the current time, so that deadlines, numbering years and expiries are testable.
//! Every date shown to users is in WIB (Asia/Jakarta, UTC+7, no daylight saving since 1964).

use std::sync::Mutex;

use time::{OffsetDateTime, UtcOffset};

/// Asia/Jakarta.
pub const WIB: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

pub trait Clock: Send + Sync {
    /// Now, in WIB.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc().to_offset(WIB)
    }
}

/// A clock that stands still until moved (tests, demos).
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn new(at: OffsetDateTime) -> Self {
        FixedClock(Mutex::new(at.to_offset(WIB)))
    }
    pub fn advance(&self, by: time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_speaks_wib() {
        assert_eq!(SystemClock.now().offset(), WIB);
        assert_eq!(WIB.whole_hours(), 7);
    }

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let c = FixedClock::new(time::macros::datetime!(2026-11-28 01:00 UTC));
        assert_eq!(c.now().hour(), 8);
        c.advance(time::Duration::hours(1));
        assert_eq!(c.now().hour(), 9);
    }
}
