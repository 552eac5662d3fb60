//! Failed logins (the login form and wrong Bearer tokens) are throttled: after
//! [`MAX_FAILURES`] failures within [`WINDOW`], every further attempt is refused with 429 and a
//! `Retry-After` until the oldest failure leaves the window, so the access token cannot be
//! guessed at line speed.
//!
//! Counted for the whole server (requests carry no trustworthy client identity behind a proxy);
//! it changes nothing else. Time is `tokio::time`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Failures allowed within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Recent failed logins.
#[derive(Debug, Default)]
pub(crate) struct LoginThrottle {
    failures: Mutex<VecDeque<Instant>>,
}

impl LoginThrottle {
    /// `Some(wait)` when attempts are refused for now.
    pub fn refused(&self) -> Option<Duration> {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        while f.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            f.pop_front();
        }
        (f.len() >= MAX_FAILURES).then(|| WINDOW - now.duration_since(f[0]))
    }

    /// Counts a failed attempt.
    pub fn failed(&self) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(Instant::now());
    }
}
