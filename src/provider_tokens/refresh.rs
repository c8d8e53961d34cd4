//! One refresh per sign-in at a time in this process: concurrent requests holding the same
//! expired tokens wait for the one refresh and share its result, and requests that still
//! carry the old cookie shortly after (sent before the browser got the new one) reuse the
//! result instead of spending the refresh token again, which a provider that rotates refresh
//! tokens would refuse.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::ProviderTokensError;
use crate::provider::TokenSet;
use crate::state::session::SessionId;

/// How long a refresh's result answers for the refresh token it spent.
const REUSE_FOR: Duration = Duration::from_secs(60);
/// Refreshes remembered at most; past it, the oldest results are forgotten first.
const MAX_REMEMBERED: usize = 10_000;

type Outcome = Result<TokenSet, ProviderTokensError>;

/// The refreshes under way or just done, by sign-in and the refresh token they spend.
#[derive(Default)]
pub(crate) struct Refreshes {
    hasher: RandomState,
    flights: Mutex<HashMap<u64, Flight>>,
}

struct Flight {
    outcome: Arc<OnceCell<Outcome>>,
    started: Instant,
}

impl Refreshes {
    /// The outcome of the refresh of `session`'s `refresh_token`: `refresh` runs once for all
    /// callers that ask while it runs, or within a minute after it succeeded.
    pub(crate) async fn run<F>(
        &self,
        session: SessionId,
        refresh_token: &str,
        refresh: impl FnOnce() -> F,
    ) -> Outcome
    where
        F: std::future::Future<Output = Outcome>,
    {
        let key = self.hasher.hash_one((session.as_u128(), refresh_token));
        let outcome = self.flight(key);
        let result = outcome.get_or_init(refresh).await.clone();
        if result.is_err() {
            // A failure is not remembered: the next request may try again.
            if let Ok(mut flights) = self.flights.lock() {
                if flights
                    .get(&key)
                    .is_some_and(|flight| Arc::ptr_eq(&flight.outcome, &outcome))
                {
                    flights.remove(&key);
                }
            }
        }
        result
    }

    fn flight(&self, key: u64) -> Arc<OnceCell<Outcome>> {
        let Ok(mut flights) = self.flights.lock() else {
            // Poisoned: refresh alone rather than not at all.
            return Arc::new(OnceCell::new());
        };
        if flights.len() >= MAX_REMEMBERED {
            flights.retain(|_, flight| flight.started.elapsed() < REUSE_FOR);
        }
        if flights.len() >= MAX_REMEMBERED {
            return Arc::new(OnceCell::new());
        }
        let flight = flights.entry(key).or_insert_with(|| Flight {
            outcome: Arc::new(OnceCell::new()),
            started: Instant::now(),
        });
        if flight.started.elapsed() >= REUSE_FOR && flight.outcome.initialized() {
            *flight = Flight {
                outcome: Arc::new(OnceCell::new()),
                started: Instant::now(),
            };
        }
        flight.outcome.clone()
    }
}
