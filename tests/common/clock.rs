//! The one clock of the tests: what the layer, the fakes and forged tokens call "now" (the
//! crate's own system clock), and a clock a test moves forward.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use socialauth::Clock;

/// Seconds since the Unix epoch, as JWT claims and OAuth 1.0a timestamps count them.
pub fn now() -> u64 {
    Clock::system().now()
}

/// A clock the test moves: the system's, plus an offset.
#[derive(Clone, Default)]
pub struct Shifted(Arc<AtomicU64>);

impl Shifted {
    /// The layer's clock (`.clock(..)`), reading this offset.
    pub fn clock(&self) -> Clock {
        let offset = self.0.clone();
        Clock::from_fn(move || now() + offset.load(Ordering::SeqCst))
    }

    /// Moves the clock `secs` forward.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}
