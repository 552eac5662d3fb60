//! The world's wall clock: where every timestamp fabsync records comes from.
//!
//! Monotonic time (timeouts, intervals, backoff) is `tokio::time` everywhere; this module only
//! answers "what time is it" for records, reports and NetBox journal entries. The simulated clock
//! is a fixed epoch plus the tokio clock's elapsed time, so a paused runtime gives reproducible
//! timestamps. It does not schedule anything.

use std::fmt;
use std::sync::Arc;

use jiff::{RoundMode, Timestamp, TimestampRound, Unit};

/// A source of wall-clock timestamps.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> Timestamp;
}

/// A clock shared by every part of one world.
pub type SharedClock = Arc<dyn Clock>;

/// The clock shape the fake servers take (`fake_apiserver::Clock`, `fake_netbox::Clock`).
pub type ClockFn = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The default epoch of simulated worlds.
pub const SIM_EPOCH: &str = "2026-01-01T00:00:00Z";

/// Simulated wall clock: `epoch + (tokio now − start)`.
#[derive(Debug, Clone)]
pub struct SimClock {
    epoch: Timestamp,
    start: tokio::time::Instant,
}

impl SimClock {
    /// A simulated clock starting at `epoch` now (in tokio time).
    pub fn new(epoch: Timestamp) -> Self {
        Self {
            epoch,
            start: tokio::time::Instant::now(),
        }
    }

    /// A simulated clock starting at [`SIM_EPOCH`].
    pub fn at_default_epoch() -> Self {
        Self::new(SIM_EPOCH.parse().expect("SIM_EPOCH is a valid timestamp"))
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.start);
        let span = jiff::SignedDuration::try_from(elapsed).unwrap_or(jiff::SignedDuration::MAX);
        self.epoch.saturating_add(span).unwrap_or(Timestamp::MAX)
    }
}

/// The real wall clock, for worlds that talk to real systems.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Adapts a shared clock to the closure form the fake servers take.
pub fn as_fn(clock: &SharedClock) -> ClockFn {
    let clock = clock.clone();
    Arc::new(move || clock.now())
}

/// RFC 3339 with second precision, the form stored and shown everywhere.
pub fn format_ts(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `ts` without its fraction of a second: the instant [`format_ts`] shows (and a record read back
/// from the store holds).
pub fn whole_seconds(ts: Timestamp) -> Timestamp {
    let second = TimestampRound::new()
        .smallest(Unit::Second)
        .mode(RoundMode::Floor);
    ts.round(second)
        .expect("flooring to a second stays within range: Timestamp::MIN is a whole second")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn sim_clock_follows_tokio_time() {
        let clock = SimClock::at_default_epoch();
        assert_eq!(format_ts(clock.now()), "2026-01-01T00:00:00Z");
        tokio::time::sleep(Duration::from_secs(90)).await;
        assert_eq!(format_ts(clock.now()), "2026-01-01T00:01:30Z");
    }

    #[test]
    fn whole_seconds_is_what_format_ts_shows() {
        for s in [
            "2026-01-01T00:00:07.999999999Z",
            "2026-01-01T00:00:07Z",
            "1969-12-31T23:59:59.5Z",
        ] {
            let t: Timestamp = s.parse().unwrap();
            let w = whole_seconds(t);
            assert_eq!(w.subsec_nanosecond(), 0, "{s}");
            assert_eq!(format_ts(w), format_ts(t), "{s}");
            assert_eq!(w.to_string(), format_ts(t), "{s}");
        }
    }
}
