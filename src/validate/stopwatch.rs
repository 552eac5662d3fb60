//! Wall-clock durations for `timings.json`, the one evidence file a seed does not fix: how long
//! a workflow or a step really took on this machine. The only real clock in `validate/`.
//!
//! Nothing a workflow checks or records elsewhere depends on it.

/// A running wall-clock stopwatch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stopwatch(std::time::Instant);

impl Stopwatch {
    /// Started now.
    pub fn start() -> Self {
        Self(std::time::Instant::now())
    }

    /// Milliseconds since the start.
    pub fn elapsed_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1000.0
    }

    /// Milliseconds since the start, and starts again.
    pub fn lap_ms(&mut self) -> f64 {
        let ms = self.elapsed_ms();
        *self = Self::start();
        ms
    }
}
