//! The resolved tenants: a bounded map from tenant key to its built provider, each entry
//! living for a time to live, filled once however many logins ask at the same moment.
//!
//! A tenant's discovery document and JWKS live in its built provider, so they share its
//! entry's bound and time to live. A lookup that failed is kept for a pause (1 s, doubling
//! up to 30 s while it keeps failing) in which that tenant's logins are answered at once;
//! other tenants' entries are untouched, and the map's lock is never held across an await.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, Semaphore};

use crate::provider::DynProvider;

/// The first pause after a failed lookup.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause after failed lookups.
const MAX_PAUSE: Duration = Duration::from_secs(30);
/// The longest an unknown tenant is remembered as unknown.
const UNKNOWN_TTL: Duration = Duration::from_secs(30);

/// A tenant's provider, built, with its own bound on logins talking to it at once.
pub(crate) struct Resolved {
    pub(crate) provider: Arc<dyn DynProvider>,
    pub(crate) slots: Semaphore,
}

/// What a lookup found.
#[derive(Clone)]
pub(crate) enum Lookup {
    Found(Arc<Resolved>),
    Unknown,
    Failed(Failure),
}

/// Why a lookup found nothing usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The resolver failed, or gave a configuration that does not build.
    Unavailable,
    /// The resolver did not answer within the provider timeout.
    TooSlow,
}

/// A lookup's outcome and how long it holds.
struct Settled {
    lookup: Lookup,
    until: Instant,
    /// The pause this failure was given, doubled by the next one.
    pause: Option<Duration>,
}

struct Entry {
    born: Instant,
    cell: OnceCell<Settled>,
    /// The pause of the failure this entry replaces.
    previous_pause: Option<Duration>,
}

/// The bounded map. `capacity` is at least 1.
pub(crate) struct TenantCache {
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    capacity: usize,
    ttl: Duration,
}

impl TenantCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: Mutex::default(),
            capacity: capacity.max(1),
            ttl,
        }
    }

    /// The tenant's entry, looked up by `resolve` when it has none that holds: one lookup
    /// at a time per tenant, which every concurrent caller shares.
    pub(crate) async fn get<F, Fut>(&self, key: &str, resolve: F) -> Lookup
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Lookup, Failure>>,
    {
        let entry = self.entry(key);
        let settled = entry
            .cell
            .get_or_init(|| async {
                let now_settled =
                    |lookup: Lookup, pause: Option<Duration>, ttl: Duration| Settled {
                        lookup,
                        until: Instant::now() + ttl,
                        pause,
                    };
                match resolve().await {
                    Ok(lookup @ Lookup::Unknown) => {
                        now_settled(lookup, None, self.ttl.min(UNKNOWN_TTL))
                    }
                    Ok(lookup) => now_settled(lookup, None, self.ttl),
                    Err(failure) => {
                        let pause = entry
                            .previous_pause
                            .map_or(FIRST_PAUSE, |pause| (pause * 2).min(MAX_PAUSE));
                        now_settled(Lookup::Failed(failure), Some(pause), pause)
                    }
                }
            })
            .await;
        settled.lookup.clone()
    }

    /// Forgets a tenant: its next login looks it up again.
    pub(crate) fn invalidate(&self, key: &str) {
        self.lock().remove(key);
    }

    /// How many tenants are held.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// The entry to wait on: the tenant's, when it is being looked up or still holds, else a
    /// new one, made room for.
    fn entry(&self, key: &str) -> Arc<Entry> {
        let now = Instant::now();
        let mut entries = self.lock();
        let mut previous_pause = None;
        if let Some(entry) = entries.get(key) {
            match entry.cell.get() {
                None => return entry.clone(),
                Some(settled) if now < settled.until => return entry.clone(),
                Some(settled) => previous_pause = settled.pause,
            }
            entries.remove(key);
        }
        if entries.len() >= self.capacity {
            make_room(&mut entries, self.capacity, now);
        }
        let entry = Arc::new(Entry {
            born: now,
            cell: OnceCell::new(),
            previous_pause,
        });
        entries.insert(key.to_owned(), entry.clone());
        entry
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Entry>>> {
        // The map holds no invariant a panic could break halfway.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Drops the entries that no longer hold, then, while the map is still full, the oldest.
fn make_room(entries: &mut HashMap<String, Arc<Entry>>, capacity: usize, now: Instant) {
    entries.retain(|_, entry| entry.cell.get().is_none_or(|settled| now < settled.until));
    while entries.len() >= capacity {
        let oldest = entries
            .iter()
            .min_by_key(|(_, entry)| entry.born)
            .map(|(key, _)| key.clone());
        match oldest {
            Some(key) => entries.remove(&key),
            None => break,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn the_map_stays_within_its_bound_and_forgets_on_request() {
        let cache = TenantCache::new(3, Duration::from_secs(60));
        for i in 0..10 {
            cache
                .get(&format!("t{i}"), || async { Ok(Lookup::Unknown) })
                .await;
            assert!(cache.len() <= 3);
        }
        let asked = AtomicUsize::new(0);
        let ask = || async {
            asked.fetch_add(1, Ordering::SeqCst);
            Ok(Lookup::Unknown)
        };
        cache.get("t9", ask).await;
        assert_eq!(asked.load(Ordering::SeqCst), 0, "t9 is held");
        cache.invalidate("t9");
        cache.get("t9", ask).await;
        assert_eq!(asked.load(Ordering::SeqCst), 1, "t9 was forgotten");
    }

    #[tokio::test]
    async fn a_failure_is_kept_for_its_pause() {
        let cache = TenantCache::new(3, Duration::from_secs(60));
        let asked = AtomicUsize::new(0);
        let fail = || async {
            asked.fetch_add(1, Ordering::SeqCst);
            Err(Failure::Unavailable)
        };
        for _ in 0..3 {
            let lookup = cache.get("down", fail).await;
            assert!(matches!(lookup, Lookup::Failed(Failure::Unavailable)));
        }
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }
}
