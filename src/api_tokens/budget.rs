//! [`Budget`]: how many introspection calls one provider may get, so that neither a flood of
//! made-up tokens nor the provider's own outage turns into a flood of calls.
//!
//! Two bounds: a token bucket (`rate` calls a second, in bursts of as many), and after a
//! failed call a pause in which none is made (1 s, doubling up to 30 s while calls keep
//! failing), as discovery does: an unreachable endpoint costs one timeout, not one per
//! request.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The first pause after a failed call.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// One provider's introspection budget.
#[derive(Debug)]
pub(crate) struct Budget {
    /// Calls a second, and the size of a burst.
    rate: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Calls that may be made now.
    tokens: f64,
    refilled_at: Instant,
    /// No call before this, after a failure.
    paused_until: Option<Instant>,
    /// The length of the last pause (zero after a success).
    pause: Duration,
    /// When running out of calls was last logged.
    warned_at: Option<Instant>,
}

/// Why no call may be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// More calls than the rate allows.
    Exhausted,
    /// A call failed lately.
    Paused,
}

impl Budget {
    /// A full budget of `rate` calls a second.
    pub(crate) fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        Self {
            rate,
            state: Mutex::new(State {
                tokens: rate,
                refilled_at: Instant::now(),
                paused_until: None,
                pause: Duration::ZERO,
                warned_at: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one call from the budget, or says why none may be made.
    pub(crate) fn take(&self) -> Result<(), Denied> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.paused_until.is_some_and(|until| now < until) {
            return Err(Denied::Paused);
        }
        let elapsed = now
            .saturating_duration_since(state.refilled_at)
            .as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.rate).min(self.rate);
        state.refilled_at = now;
        if state.tokens < 1.0 {
            return Err(Denied::Exhausted);
        }
        state.tokens -= 1.0;
        Ok(())
    }

    /// Whether a call failed lately (no call may be made).
    pub(crate) fn paused(&self) -> bool {
        self.lock()
            .paused_until
            .is_some_and(|until| Instant::now() < until)
    }

    /// Whether to log that the budget ran out: at most once every ten seconds.
    pub(crate) fn warn_exhausted(&self) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        let due = state
            .warned_at
            .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(10));
        if due {
            state.warned_at = Some(now);
        }
        due
    }

    /// A call failed: no call for a pause, longer each time in a row. Whether this begins an
    /// outage (the calls before succeeded), for a single warning.
    pub(crate) fn failed(&self) -> bool {
        let mut state = self.lock();
        let first = state.pause.is_zero();
        state.pause = if first {
            FIRST_PAUSE
        } else {
            (state.pause * 2).min(MAX_PAUSE)
        };
        state.paused_until = Some(Instant::now() + state.pause);
        first
    }

    /// A call succeeded: the next failure pauses from the start again.
    pub(crate) fn succeeded(&self) {
        let mut state = self.lock();
        state.pause = Duration::ZERO;
        state.paused_until = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_rate_then_nothing_until_it_refills() {
        let budget = Budget::new(5);
        for _ in 0..5 {
            assert_eq!(budget.take(), Ok(()));
        }
        assert_eq!(budget.take(), Err(Denied::Exhausted));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(budget.take(), Ok(()), "one call refilled in 200 ms");
    }

    #[test]
    fn failures_pause_every_call_and_a_success_ends_the_pause() {
        let budget = Budget::new(100);
        assert!(!budget.paused());
        assert!(budget.failed(), "the first failure begins an outage");
        assert!(budget.paused());
        assert_eq!(budget.take(), Err(Denied::Paused));
        assert!(!budget.failed(), "a second failure is the same outage");
        assert_eq!(budget.lock().pause, FIRST_PAUSE * 2);
        budget.succeeded();
        assert!(!budget.paused());
        assert_eq!(budget.take(), Ok(()));
        assert!(budget.failed());
    }
}
