//! [`VerifiedCache`]: what a costly, deterministic check said of tokens seen lately, so that
//! a browser's following requests skip the check.
//!
//! The cache knows nothing of tokens but their bytes: the caller passes the check to run on
//! a miss (for identity tokens, the HMAC and the claims), and only what passed is kept, so
//! invalid tokens can neither fill the cache nor evict anything. The check must not depend
//! on anything that changes (such as the clock): what is kept is reused as it is.
//!
//! Memory is bounded: a fixed number of sets of [`WAYS`] entries each, a set chosen by a
//! keyed hash (SipHash with this process's random keys) of the token's last [`HASHED`] bytes
//! (for a signed token, its signature, which no two valid tokens share); a full set forgets
//! its oldest entry. An entry answers only for a token with the same 64-bit keyed hash and
//! the same bytes, all of them: a request can neither pick the set its token lands in nor
//! have its bytes compared with a kept token's (and learn from how long that takes) without
//! a hash match, which it cannot aim for.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};

/// Entries per set: tokens whose hashes pick the same set share it without evicting each
/// other until there are more of them.
const WAYS: usize = 8;
/// How many of a token's last bytes are hashed: a base64url HMAC-SHA256 tag is 43.
const HASHED: usize = 48;

/// A bounded cache of tokens that passed a check, with what the check returned.
pub(crate) struct VerifiedCache<V> {
    hasher: RandomState,
    sets: Box<[Mutex<Set<V>>]>,
}

struct Set<V> {
    entries: [Option<Entry<V>>; WAYS],
    /// The entry to replace when the set is full: the oldest.
    oldest: usize,
}

struct Entry<V> {
    hash: u64,
    token: Box<[u8]>,
    value: V,
}

impl<V: Clone> VerifiedCache<V> {
    /// A cache holding at most `capacity` tokens (rounded up to a whole number of sets).
    pub(crate) fn new(capacity: usize) -> Self {
        let sets = capacity.div_ceil(WAYS).max(1);
        Self {
            hasher: RandomState::new(),
            sets: (0..sets)
                .map(|_| {
                    Mutex::new(Set {
                        entries: std::array::from_fn(|_| None),
                        oldest: 0,
                    })
                })
                .collect(),
        }
    }

    /// What `check` returned for `token` when it was last run and passed, or else what it
    /// returns now, kept if it passes. `check` runs without any lock held.
    pub(crate) fn get_or_verify<T: AsRef<[u8]> + ?Sized>(
        &self,
        token: &T,
        check: impl FnOnce() -> Option<V>,
    ) -> Option<V> {
        let token = token.as_ref();
        let tail = token.len().saturating_sub(HASHED);
        let hash = self.hasher.hash_one(token.get(tail..).unwrap_or_default());
        if let Some(set) = self.set(hash) {
            if let Some(entry) = set.find(hash, token) {
                return Some(entry.value.clone());
            }
        }
        let value = check()?;
        if let Some(mut set) = self.set(hash) {
            set.insert(hash, token, value.clone());
        }
        Some(value)
    }

    fn set(&self, hash: u64) -> Option<MutexGuard<'_, Set<V>>> {
        let index = usize::try_from(hash % self.sets.len() as u64).ok()?;
        // A poisoned set is only a miss.
        self.sets.get(index)?.lock().ok()
    }

    /// How many tokens are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sets
            .iter()
            .filter_map(|set| set.lock().ok())
            .map(|set| set.entries.iter().flatten().count())
            .sum()
    }
}

impl<V> Set<V> {
    fn find(&self, hash: u64, token: &[u8]) -> Option<&Entry<V>> {
        // The hashes first: only a token with the kept one's 64-bit keyed hash reaches the
        // byte comparison.
        self.entries
            .iter()
            .flatten()
            .find(|entry| entry.hash == hash && *entry.token == *token)
    }

    fn insert(&mut self, hash: u64, token: &[u8], value: V) {
        let entry = Entry {
            hash,
            token: token.into(),
            value,
        };
        // Another request may have kept the same token meanwhile: keep one copy.
        let same = |kept: &Option<Entry<V>>| {
            kept.as_ref()
                .is_some_and(|kept| kept.hash == hash && *kept.token == *token)
        };
        let slot = match self
            .entries
            .iter()
            .position(|kept| same(kept) || kept.is_none())
        {
            Some(free) => free,
            None => {
                let oldest = self.oldest;
                self.oldest = (oldest + 1) % WAYS;
                oldest
            }
        };
        if let Some(kept) = self.entries.get_mut(slot) {
            *kept = Some(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A check that counts its runs and passes tokens starting with `ok`.
    fn counting(runs: &Cell<usize>, token: &str) -> Option<String> {
        runs.set(runs.get() + 1);
        token.starts_with("ok").then(|| token.to_uppercase())
    }

    #[test]
    fn a_token_that_passed_is_not_checked_again() {
        let cache = VerifiedCache::new(64);
        let runs = Cell::new(0);
        for _ in 0..3 {
            let value = cache.get_or_verify("ok-1", || counting(&runs, "ok-1"));
            assert_eq!(value.as_deref(), Some("OK-1"));
        }
        assert_eq!(runs.get(), 1);
        // Another token is checked on its own, and answers with its own value.
        let other = cache.get_or_verify("ok-2", || counting(&runs, "ok-2"));
        assert_eq!(other.as_deref(), Some("OK-2"));
        assert_eq!(runs.get(), 2);
        // Tokens that differ only before their hashed tail are told apart by their bytes.
        let tail = "x".repeat(HASHED);
        let (a, b) = (format!("ok-a{tail}"), format!("ok-b{tail}"));
        let got_a = cache.get_or_verify(&a, || counting(&runs, &a));
        let got_b = cache.get_or_verify(&b, || counting(&runs, &b));
        assert_eq!(
            (got_a, got_b),
            (Some(a.to_uppercase()), Some(b.to_uppercase()))
        );
        assert_eq!(runs.get(), 4);
        assert_eq!(cache.len(), 4);
    }

    #[test]
    fn a_token_that_failed_is_checked_every_time_and_evicts_nothing() {
        let cache = VerifiedCache::new(WAYS);
        let runs = Cell::new(0);
        for i in 0..WAYS {
            let token = format!("ok-{i}");
            assert!(cache
                .get_or_verify(&token, || counting(&runs, &token))
                .is_some());
        }
        for _ in 0..10 {
            assert_eq!(cache.get_or_verify("bad", || counting(&runs, "bad")), None);
        }
        assert_eq!(runs.get(), WAYS + 10);
        // Every token that passed is still kept.
        for i in 0..WAYS {
            let token = format!("ok-{i}");
            assert!(cache
                .get_or_verify(&token, || counting(&runs, &token))
                .is_some());
        }
        assert_eq!(runs.get(), WAYS + 10);
    }

    #[test]
    fn the_cache_stays_bounded_and_forgets_the_oldest_first() {
        let cache = VerifiedCache::new(1000);
        let runs = Cell::new(0);
        for i in 0..20_000 {
            let token = format!("ok-{i}");
            assert!(cache
                .get_or_verify(&token, || counting(&runs, &token))
                .is_some());
        }
        assert_eq!(runs.get(), 20_000);
        assert!(cache.len() <= 1000, "{} kept", cache.len());
        // One set: the fifth token forgets the first, then the second.
        let small = VerifiedCache::new(WAYS);
        let runs = Cell::new(0);
        for i in 0..=WAYS {
            let token = format!("ok-{i}");
            small.get_or_verify(&token, || counting(&runs, &token));
        }
        assert_eq!(small.len(), WAYS);
        small.get_or_verify("ok-1", || counting(&runs, "ok-1"));
        assert_eq!(runs.get(), WAYS + 1, "ok-1 is still kept");
        small.get_or_verify("ok-0", || counting(&runs, "ok-0"));
        assert_eq!(runs.get(), WAYS + 2, "ok-0 was forgotten");
    }
}
