//! The wall clock every timestamp comes from: the simulated clock (tokio time, so a paused test
//! runtime controls it) or the system clock for binaries.
//!
//! It only tells the time; the CRD condition timers and watch deadlines use `tokio::time` directly.

use std::sync::Arc;

/// Wall-clock source for timestamps (see ARCHITECTURE.md).
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// The simulated clock: 2026-01-01T00:00:00Z plus tokio time elapsed since `start`.
pub fn simulated_clock(start: tokio::time::Instant) -> Clock {
    let epoch = jiff::Timestamp::from_second(1_767_225_600).expect("valid epoch");
    Arc::new(move || {
        let d = start.elapsed();
        epoch
            .checked_add(jiff::SignedDuration::try_from(d).unwrap_or_default())
            .unwrap_or(epoch)
    })
}

/// The system clock (for binaries).
pub fn system_clock() -> Clock {
    Arc::new(jiff::Timestamp::now)
}
