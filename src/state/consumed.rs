//! Login attempts this process has already taken to the provider: a callback replayed with
//! the same flow cookie is refused before it spends the app's credentials again.
//!
//! Not a session store: a bounded set of short-lived entries (a flow cookie lives at most
//! ten minutes), forgotten when they expire or, under a flood, oldest first.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

/// How many attempts are remembered at most.
const CAPACITY: usize = 100_000;

/// The attempts taken to the provider, with the Unix time until which each is remembered.
///
/// An attempt is kept as a 64-bit keyed hash of its key (this process's random SipHash
/// keys), some 40 bytes an entry: at most a few MiB when full.
#[derive(Debug, Default)]
pub(crate) struct ConsumedFlows {
    hasher: RandomState,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    keys: HashSet<u64>,
    /// In the order they were consumed, which is also their order of expiry (every flow
    /// has the same lifetime).
    order: VecDeque<(u64, u64)>,
}

impl ConsumedFlows {
    /// Marks the attempt `key` (valid until `expires_at`) as taken to the provider; `false`
    /// when it already was.
    pub(crate) fn consume(&self, key: &str, expires_at: u64, now: u64) -> bool {
        let key = self.hasher.hash_one(key);
        let mut entries = match self.inner.lock() {
            Ok(entries) => entries,
            Err(poisoned) => poisoned.into_inner(),
        };
        while let Some((until, _)) = entries.order.front() {
            if *until > now && entries.order.len() < CAPACITY {
                break;
            }
            if let Some((_, old)) = entries.order.pop_front() {
                entries.keys.remove(&old);
            }
        }
        if !entries.keys.insert(key) {
            return false;
        }
        entries.order.push_back((expires_at, key));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_is_consumed_once_until_it_expires() {
        let consumed = ConsumedFlows::default();
        assert!(consumed.consume("a", 100, 10));
        assert!(!consumed.consume("a", 100, 20));
        assert!(consumed.consume("b", 100, 20));
        assert!(
            consumed.consume("a", 300, 100),
            "expired entries are forgotten"
        );
    }

    #[test]
    fn the_set_stays_bounded_under_a_flood() {
        let consumed = ConsumedFlows::default();
        for i in 0..CAPACITY + 10 {
            assert!(consumed.consume(&i.to_string(), 1_000, 1));
        }
        let entries = consumed.inner.lock().unwrap();
        assert!(entries.order.len() <= CAPACITY);
        assert_eq!(entries.order.len(), entries.keys.len());
    }
}
