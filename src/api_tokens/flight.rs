//! [`Flights`]: one check at a time per token. Requests carrying a token the layer has no
//! verdict on yet wait for the one check under way, and share its verdict, so a client firing
//! many requests at once with a new token costs the provider one call.
//!
//! A waiting request that is dropped (its client went away) does not strand the others: if
//! it was running the check, the next one waiting runs it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

use super::cache::Digest;
use super::verdict::Verdict;

type Flight = Arc<OnceCell<Verdict>>;

/// The checks under way, by token digest. Entries live only while a check is under way.
#[derive(Default)]
pub(crate) struct Flights {
    under_way: Mutex<HashMap<Digest, Flight>>,
}

impl Flights {
    fn lock(&self) -> MutexGuard<'_, HashMap<Digest, Flight>> {
        self.under_way.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The verdict of the check under way for `key`, or of `check`, run now.
    pub(crate) async fn run<F, Fut>(&self, key: Digest, check: F) -> Verdict
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Verdict>,
    {
        let flight = self.lock().entry(key).or_default().clone();
        let ticket = Ticket {
            flights: self,
            key,
            flight,
        };
        ticket.flight.get_or_init(check).await.clone()
    }

    /// How many checks are under way.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// A request's place in a flight: when the last request of a flight leaves, or the verdict
/// is in (the cache has it by then), the flight is forgotten.
struct Ticket<'a> {
    flights: &'a Flights,
    key: Digest,
    flight: Flight,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut under_way = self.flights.lock();
        let ours = under_way
            .get(&self.key)
            .is_some_and(|kept| Arc::ptr_eq(kept, &self.flight));
        // Two holders: the map and this ticket.
        if ours && (self.flight.initialized() || Arc::strong_count(&self.flight) <= 2) {
            under_way.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn requests_for_one_token_share_one_check() {
        let flights = Arc::new(Flights::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut waiting = Vec::new();
        for _ in 0..20 {
            let (flights, runs) = (flights.clone(), runs.clone());
            waiting.push(tokio::spawn(async move {
                flights
                    .run([7; 32], || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Verdict::Invalid
                    })
                    .await
            }));
        }
        for task in waiting {
            assert!(matches!(task.await.unwrap(), Verdict::Invalid));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0, "nothing is left under way");
    }

    #[tokio::test]
    async fn a_dropped_request_hands_the_check_to_the_next() {
        let flights = Arc::new(Flights::default());
        let first = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run([1; 32], std::future::pending::<Verdict>).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run([1; 32], || async { Verdict::Unavailable })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        first.abort();
        let verdict = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the second request ran the check itself")
            .unwrap();
        assert!(matches!(verdict, Verdict::Unavailable));
        assert_eq!(flights.len(), 0);
        // A lone request dropped mid-check leaves nothing behind.
        let lone = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run([2; 32], std::future::pending).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        lone.abort();
        let _ = lone.await;
        assert_eq!(flights.len(), 0);
    }
}
