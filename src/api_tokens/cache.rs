//! [`VerdictCache`]: what the layer concluded about provider access tokens seen lately, kept
//! until a time, so that a client's following requests (and a flood of the same junk) cost
//! neither a signature check nor a call to the provider.
//!
//! Tokens are known by their SHA-256 digest only: the cache holds no token, and every entry
//! has the same small size whatever the token's (a junk token of 16 KiB costs 32 bytes).
//! Memory is bounded: a fixed number of sets of [`WAYS`] entries each, a set chosen by a
//! keyed hash (SipHash with this process's random keys) of the digest, so a client cannot aim
//! its tokens at the set of another's. A verdict that refuses a token never takes the place
//! of a live one that admits a token: junk can fill only what junk or time left.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::verdict::Verdict;

/// Entries per set.
const WAYS: usize = 8;

/// A token's SHA-256 digest: how the cache, and the single flight, know it.
pub(crate) type Digest = [u8; 32];

/// The digest of `token`.
pub(crate) fn digest(token: &str) -> Digest {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut key = [0; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

/// Verdicts on tokens, each kept until its time.
pub(crate) struct VerdictCache {
    hasher: RandomState,
    sets: Box<[Mutex<Set>]>,
    /// Increases with every insertion: the oldest entry has the lowest stamp.
    stamps: AtomicU64,
}

#[derive(Default)]
struct Set {
    entries: [Option<Entry>; WAYS],
}

struct Entry {
    key: Digest,
    /// Unix time (the layer's clock) from which the entry no longer answers.
    until: u64,
    stamp: u64,
    verdict: Verdict,
}

impl VerdictCache {
    /// A cache holding at most `capacity` verdicts (rounded up to a whole number of sets).
    pub(crate) fn new(capacity: usize) -> Self {
        let sets = capacity.div_ceil(WAYS).max(1);
        Self {
            hasher: RandomState::new(),
            sets: (0..sets).map(|_| Mutex::default()).collect(),
            stamps: AtomicU64::new(0),
        }
    }

    fn set(&self, key: &Digest) -> Option<MutexGuard<'_, Set>> {
        let hash = self.hasher.hash_one(key);
        let index = usize::try_from(hash % self.sets.len() as u64).ok()?;
        // A poisoned set is only a miss.
        self.sets.get(index)?.lock().ok()
    }

    /// The verdict kept for `key`, if it still answers at `now`.
    pub(crate) fn get(&self, key: &Digest, now: u64) -> Option<Verdict> {
        let set = self.set(key)?;
        set.entries
            .iter()
            .flatten()
            .find(|entry| entry.key == *key && now < entry.until)
            .map(|entry| entry.verdict.clone())
    }

    /// Keeps `verdict` for `key` until `until` (nothing when that is not after `now`). A
    /// refusal takes a free, expired or refusing entry's place, never a live admission's.
    pub(crate) fn put(&self, key: Digest, verdict: Verdict, until: u64, now: u64) {
        if until <= now {
            return;
        }
        let Some(mut set) = self.set(&key) else {
            return;
        };
        let admits = verdict.admits();
        // Any verdict may take a refusal's place; only an admission an admission's.
        let replaceable = |kept: &Entry| !kept.verdict.admits() || admits;
        // The same token, else a free or expired slot, else the oldest entry this verdict may
        // replace.
        let slot = set
            .entries
            .iter()
            .position(|entry| entry.as_ref().is_some_and(|kept| kept.key == key))
            .or_else(|| {
                set.entries
                    .iter()
                    .position(|entry| entry.as_ref().is_none_or(|kept| kept.until <= now))
            })
            .or_else(|| {
                set.entries
                    .iter()
                    .enumerate()
                    .filter_map(|(at, entry)| Some((at, entry.as_ref()?)))
                    .filter(|(_, kept)| replaceable(kept))
                    // Refusals go first, then the oldest.
                    .min_by_key(|(_, kept)| (kept.verdict.admits(), kept.stamp))
                    .map(|(at, _)| at)
            });
        let Some(slot) = slot else {
            return;
        };
        let stamp = self.stamps.fetch_add(1, Ordering::Relaxed);
        if let Some(entry) = set.entries.get_mut(slot) {
            *entry = Some(Entry {
                key,
                until,
                stamp,
                verdict,
            });
        }
    }

    /// How many verdicts are kept, answering or not.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sets
            .iter()
            .filter_map(|set| set.lock().ok())
            .map(|set| set.entries.iter().flatten().count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Identity, User};

    fn admitted(user: &str) -> Verdict {
        Verdict::Valid(Identity {
            user: User::from_parts("p", user, None, None, None, None)
                .build()
                .unwrap(),
            issued_at: 0,
            expires_at: 100,
        })
    }

    fn user_of(verdict: Option<Verdict>) -> Option<String> {
        match verdict? {
            Verdict::Valid(identity) => Some(identity.user_id().to_owned()),
            _ => None,
        }
    }

    #[test]
    fn a_verdict_answers_until_its_time_and_no_later() {
        let cache = VerdictCache::new(64);
        let key = digest("token-a");
        cache.put(key, admitted("a"), 50, 10);
        assert_eq!(user_of(cache.get(&key, 49)).as_deref(), Some("a"));
        assert!(cache.get(&key, 50).is_none());
        assert!(cache.get(&digest("token-b"), 10).is_none());
        // A time already past keeps nothing.
        cache.put(digest("late"), admitted("late"), 10, 10);
        assert!(cache.get(&digest("late"), 9).is_none());
        // The same token again replaces its verdict.
        cache.put(key, Verdict::Invalid, 80, 60);
        assert!(matches!(cache.get(&key, 61), Some(Verdict::Invalid)));
    }

    #[test]
    fn refusals_never_evict_live_admissions_and_the_cache_stays_bounded() {
        let cache = VerdictCache::new(WAYS);
        for i in 0..WAYS {
            cache.put(
                digest(&format!("good-{i}")),
                admitted(&i.to_string()),
                1000,
                0,
            );
        }
        for i in 0..10_000 {
            cache.put(digest(&format!("junk-{i}")), Verdict::Invalid, 1000, 1);
        }
        for i in 0..WAYS {
            let kept = cache.get(&digest(&format!("good-{i}")), 2);
            assert_eq!(user_of(kept), Some(i.to_string()), "good-{i}");
        }
        assert_eq!(cache.len(), WAYS);
        // Once they expire, refusals may take their place.
        cache.put(digest("junk-late"), Verdict::Invalid, 2000, 1000);
        assert!(cache.get(&digest("junk-late"), 1001).is_some());
        // An admission evicts refusals first, then the oldest admission.
        let big = VerdictCache::new(20_000);
        for i in 0..50_000 {
            big.put(digest(&format!("t-{i}")), admitted("x"), 1000, 0);
        }
        assert!(big.len() <= 20_000 + WAYS, "{}", big.len());
    }
}
