//! The layer's one clock: Unix time in seconds, replaceable in tests.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the layer reads the time: the system clock, unless a test sets another with
/// [`SocialAuthLayerBuilder::clock`](crate::SocialAuthLayerBuilder::clock).
///
/// ```
/// use socialauth::Clock;
/// let fixed = Clock::from_fn(|| 1_700_000_000);
/// assert_eq!(fixed.now(), 1_700_000_000);
/// assert!(Clock::system().now() > 1_700_000_000);
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    source: Option<Arc<dyn Fn() -> u64 + Send + Sync>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads `now` (Unix seconds), for tests that move time.
    pub fn from_fn(now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self {
            source: Some(Arc::new(now)),
        }
    }

    /// The current Unix time, in seconds.
    pub fn now(&self) -> u64 {
        match &self.source {
            Some(source) => source(),
            None => system_now(),
        }
    }
}

impl Clock {
    /// The current Unix time in milliseconds: the system clock's, or a custom clock's
    /// seconds times 1000.
    pub(crate) fn now_ms(&self) -> u64 {
        match &self.source {
            Some(source) => source().saturating_mul(1000),
            None => system_now_ms(),
        }
    }
}

/// The system's Unix time in milliseconds (0 before 1970).
pub(crate) fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The system's Unix time in seconds (0 before 1970).
pub(crate) fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.source.is_some() {
            "Clock(custom)"
        } else {
            "Clock(system)"
        })
    }
}
