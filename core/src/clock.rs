//! Time, injected: the engine reads the current time only through a [`Clock`].

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch (UTC). Token expiry and every other time in tessera has
/// one-second precision, as the wire format does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The timestamp `secs` seconds later (saturating, never overflows).
    #[must_use]
    pub const fn plus_secs(self, secs: u64) -> Self {
        let secs = if secs > i64::MAX as u64 {
            i64::MAX
        } else {
            secs as i64
        };
        Self(self.0.saturating_add(secs))
    }

    /// Whole seconds from `self` until `later` (0 when `later` is not after `self`).
    #[must_use]
    pub const fn secs_until(self, later: Self) -> u64 {
        let d = later.0.saturating_sub(self.0);
        if d < 0 { 0 } else { d as u64 }
    }

    /// RFC 3339 with offset, seconds precision, UTC: `2026-02-21T15:33:44+00:00`.
    #[must_use]
    pub fn to_rfc3339(self) -> String {
        // 0000-01-01T00:00:00 .. 9999-12-31T23:59:59: by hand (this is on the hot path of
        // every reply with an expiry); the rest through `time` (its errors and limits).
        const MIN: i64 = -62_167_219_200;
        const MAX: i64 = 253_402_300_799;
        if (MIN..=MAX).contains(&self.0) {
            return rfc3339_fast(self.0);
        }
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+00:00"
        );
        time::OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&format).ok())
            .unwrap_or_else(|| "9999-12-31T23:59:59+00:00".to_owned())
    }
}

/// `secs` (years 0 to 9999) as `YYYY-MM-DDTHH:MM:SS+00:00`; the civil date from the day
/// number as in H. Hinnant's `civil_from_days`.
fn rfc3339_fast(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = [0u8; 25];
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, rem / 3600);
    put(14, 2, rem / 60 % 60);
    put(17, 2, rem % 60);
    for (i, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        out[i] = c;
    }
    out[19..].copy_from_slice(b"+00:00");
    // all ASCII digits and separators
    std::str::from_utf8(&out).unwrap_or_default().to_owned()
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the system time
    fn now(&self) -> Timestamp {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to: tests expire tokens without sleeping.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `start`.
    #[must_use]
    pub const fn new(start: Timestamp) -> Self {
        Self {
            now: AtomicI64::new(start.0),
        }
    }

    /// Move the clock forward by `secs` seconds.
    pub fn advance(&self, secs: u64) {
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        self.now.fetch_add(secs, Ordering::SeqCst);
    }

    /// Set the clock to `t` (backwards too: tests of clock jumps).
    pub fn set(&self, t: Timestamp) {
        self.now.store(t.0, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    /// 2026-01-01T00:00:00Z.
    fn default() -> Self {
        Self::new(Timestamp(1_767_225_600))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_by_hand_is_what_time_formats() {
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+00:00"
        );
        let slow = |s: i64| {
            time::OffsetDateTime::from_unix_timestamp(s)
                .unwrap()
                .format(&format)
                .unwrap()
        };
        let mut s: i64 = -62_167_219_200;
        while s <= 253_402_300_799 {
            assert_eq!(Timestamp(s).to_rfc3339(), slow(s), "{s}");
            s += 86_399 * 7 + 3_613;
        }
        for s in [
            -62_167_219_200,
            -1,
            0,
            951_782_400, // 2000-02-29
            1_709_208_000,
            4_107_542_399,
            253_402_300_799,
        ] {
            assert_eq!(Timestamp(s).to_rfc3339(), slow(s), "{s}");
        }
        assert_eq!(
            Timestamp(i64::MAX).to_rfc3339(),
            "9999-12-31T23:59:59+00:00"
        );
    }

    #[test]
    fn rfc3339_is_utc_seconds() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            Timestamp(1_771_688_024).to_rfc3339(),
            "2026-02-21T15:33:44+00:00"
        );
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Timestamp(i64::MAX - 1).plus_secs(10), Timestamp(i64::MAX));
        assert_eq!(Timestamp(10).secs_until(Timestamp(5)), 0);
        assert_eq!(Timestamp(5).secs_until(Timestamp(10)), 5);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Timestamp(100));
        assert_eq!(c.now(), Timestamp(100));
        c.advance(5);
        assert_eq!(c.now(), Timestamp(105));
        c.set(Timestamp(1));
        assert_eq!(c.now(), Timestamp(1));
    }
}
