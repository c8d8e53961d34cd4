//! [`VerifiedCache`]: what a costly, deterministic check said of tokens seen lately, so that
//! a browser's following requests skip the check.
//!
//! The cache knows nothing of tokens but their bytes: the caller passes the check to run on
//! a miss (for identity tokens, the HMAC and the claims), and only what passed is kept, so
//! invalid tokens can neither fill the cache nor evict anything. The check must not depend
//! on anything that changes (such as the clock): what is kept is reused as it is.
//!
//! # What an entry answers for
//!
//! An entry does not keep the token (a few hundred bytes, and as many cache lines to compare),
//! only two things every request's token is compared with:
//!
//! - its last [`TAIL`] bytes. For the tokens this cache is given (one of the layer's headers,
//!   then claims, then a 43-character base64url HMAC-SHA256 tag), those are the last 12
//!   characters of the tag: 72 bits of a MAC under the layer's key.
//! - a 64-bit keyed hash of the whole token ([`TokenHasher`], keys drawn at random for each
//!   cache): its high 32 bits are the entry's tag in its set, its low 32 bits are kept in the
//!   entry (and the lowest of them pick the set).
//!
//! So a token that differs from a verified one in any byte is answered from the entry only if
//! it has the same last 12 characters *and* the same 64-bit hash under keys no client ever
//! sees (neither the hashes nor the sets leave the process; a client learns only whether its
//! token was accepted). Without the verified token, its 72 bits of MAC are a guess; with it,
//! a hit on a forged neighbour gives its holder the identity the genuine token gives them
//! already. What a hit returns is what the full check returned for the token that passed
//! it, and the caller re-checks everything that changes (the times, revocation).
//!
//! The hash is not SipHash (which `std` has): it has to read the whole token on every
//! request, and SipHash-1-3 takes about 0.3 µs for 450 bytes on the machines we measure,
//! more than the rest of a cache hit; four lanes of 64-bit multiplies take a tenth of that.
//!
//! # Memory and cache lines
//!
//! A fixed number of sets of [`WAYS`] entries each (a power of two of sets: at least the
//! capacity asked), allocated [`SEGMENT`] sets at a time as tokens are kept. A token may be kept in one of two sets picked by its hash:
//! the first if it has room, else the second, else in place of the first's oldest entry. With
//! one set a token, the sets that more than eight tokens pick (a fifth of them, with 100,000
//! tokens in 16,384 sets) would forget one each time another comes, and with tokens in
//! rotation, miss on every request; the second choice takes that overflow.
//!
//! A set is 512 bytes, aligned to a 64-byte line: eight 56-byte entries, then the eight
//! 32-bit tags, which share the last line with the set's lock. A lookup takes the lock, reads
//! that one line, and reads one entry (one or two lines) only when a tag matches; then, if
//! the token was not there and that set is full, the same in its second set.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, OnceLock};

use super::token_hash::TokenHasher;

/// Entries per set: tokens whose hashes pick the same set share it without evicting each
/// other until there are more of them.
const WAYS: usize = 8;
/// How many of a token's last bytes an entry compares (12 base64url characters of a tag).
const TAIL: usize = 12;

/// What a check says of a token.
pub(crate) enum Checked<V> {
    /// It passed: answer with this value, now and for the same token later.
    Keep(V),
    /// It passed: answer with this value now, and check the token again next time.
    Once(V),
    /// It failed.
    Failed,
}

/// Sets per segment: the table is allocated a segment (8 KiB) at a time, when a token is
/// first kept in it, so a layer that sees few tokens holds little.
const SEGMENT: usize = 16;

/// A bounded cache of tokens that passed a check, with what the check returned.
pub(crate) struct VerifiedCache<V> {
    hasher: TokenHasher,
    /// How many sets: a power of two.
    sets: usize,
    /// The sets, `segment_sets` a segment (a power of two), each allocated on first use.
    segments: Box<[Segment<V>]>,
    segment_sets: usize,
    /// The sets in use, a power of two: one segment's at first, doubled (up to `sets`) each
    /// time the tokens kept in a free way pass three quarters of their room. So the tokens of
    /// a site with few users sit in a few pages, not spread over the whole table.
    active: AtomicUsize,
    /// Tokens kept in a free way so far (an entry is never removed, only replaced).
    kept: AtomicUsize,
}

/// `segment_sets` sets, allocated when a token is first kept in one of them.
type Segment<V> = OnceLock<Box<[Slot<V>]>>;

/// A set, aligned so that its tags and lock share one cache line.
#[repr(align(64))]
struct Slot<V>(Mutex<Set<V>>);

/// `repr(C)`: the tags after the entries, next to the lock, which `Mutex` places after its
/// value.
#[repr(C)]
struct Set<V> {
    entries: [Option<Entry<V>>; WAYS],
    /// The high 32 bits of each kept token's hash (meaningful where `entries` has one).
    tags: [u32; WAYS],
    /// The entry to replace when the set is full: the oldest.
    oldest: u8,
    /// Whether a token whose first set this is was ever kept in its second (this one
    /// full then): only then can a token missing here be there. Never cleared.
    overflowed: bool,
}

struct Entry<V> {
    /// The low 32 bits of the token's hash.
    check: u32,
    /// The token's last bytes.
    tail: [u8; TAIL],
    value: V,
}

/// What a token is looked up by: its hash and its last bytes.
#[derive(Clone, Copy)]
struct Key {
    hash: u64,
    tail: [u8; TAIL],
}

impl Key {
    fn of(hasher: &TokenHasher, token: &[u8]) -> Self {
        let mut tail = [0u8; TAIL];
        let from = token.len().saturating_sub(TAIL);
        if let (Some(last), Some(into)) = (token.get(from..), tail.get_mut(..token.len() - from)) {
            into.copy_from_slice(last);
        }
        Self {
            hash: hasher.hash(token),
            tail,
        }
    }

    fn tag(self) -> u32 {
        (self.hash >> 32) as u32
    }

    fn check(self) -> u32 {
        // The low half (the cast keeps it).
        self.hash as u32
    }
}

impl<V: Clone> VerifiedCache<V> {
    /// A cache holding at most `capacity` tokens (rounded up to a power of two of sets).
    pub(crate) fn new(capacity: usize) -> Self {
        let sets = capacity.div_ceil(WAYS).max(1).next_power_of_two();
        let segment_sets = sets.min(SEGMENT);
        Self {
            hasher: TokenHasher::new(),
            sets,
            segments: (0..sets / segment_sets).map(|_| OnceLock::new()).collect(),
            segment_sets,
            active: AtomicUsize::new(segment_sets),
            kept: AtomicUsize::new(0),
        }
    }

    /// What `check` returned for `token` when it was last run and said to keep it, or else
    /// what it returns now, kept if it says so. `check` runs without any lock held.
    pub(crate) fn get_or_verify<T: AsRef<[u8]> + ?Sized>(
        &self,
        token: &T,
        check: impl FnOnce() -> Checked<V>,
    ) -> Option<V> {
        let key = Key::of(&self.hasher, token.as_ref());
        // A token is in its second set only if its first had no free way then, which the
        // first remembers: the second is read only for a first set that is full or was.
        // (A set not allocated yet is empty.)
        let second_too = match self.set(key, Choice::First, Use::Read) {
            Some(set) => match set.find(key) {
                Some(value) => return Some(value.clone()),
                None => set.overflowed || set.is_full(),
            },
            None => false,
        };
        if second_too {
            if let Some(value) = self
                .set(key, Choice::Second, Use::Read)
                .and_then(|set| set.find(key).cloned())
            {
                return Some(value);
            }
        }
        let value = match check() {
            Checked::Keep(value) => value,
            Checked::Once(value) => return Some(value),
            Checked::Failed => return None,
        };
        // The first set if it has room, else the second, else the first's oldest entry.
        let kept = |choice| {
            self.set(key, choice, Use::Keep)
                .is_some_and(|mut set| set.insert_if_room(key, &value))
        };
        if kept(Choice::First) {
            self.note_kept();
        } else if kept(Choice::Second) {
            self.overflowed(key);
            self.note_kept();
        } else {
            let forgotten = self
                .set(key, Choice::First, Use::Keep)
                .and_then(|mut set| set.replace_oldest(key, value.clone()));
            // Dropped after the set's lock is released.
            drop(forgotten);
        }
        Some(value)
    }

    /// Marks `key`'s first set as having had a token of its kept in the second.
    fn overflowed(&self, key: Key) {
        if let Some(mut set) = self.set(key, Choice::First, Use::Keep) {
            set.overflowed = true;
        }
    }

    /// Counts a token kept in a free way, and doubles the sets in use when the tokens kept
    /// pass three quarters of their room; the request that doubles them then
    /// [spreads](Self::spread) the kept tokens over the new sets (at most ten times in a
    /// cache's life: from 16 sets to 16,384 for the default capacity).
    fn note_kept(&self) {
        let kept = self.kept.fetch_add(1, Relaxed) + 1;
        let active = self.active.load(Relaxed);
        // Another request may have doubled them meanwhile: then this one does not.
        if active < self.sets
            && kept > active * WAYS / 4 * 3
            && self
                .active
                .compare_exchange(active, active * 2, Relaxed, Relaxed)
                .is_ok()
        {
            self.spread(active);
        }
    }

    /// After the sets in use doubled from `before`: every kept token whose two sets under the
    /// new number are no longer the one it is in moves to the first of them with a free way
    /// (or, with none, is forgotten), so a token keeps its verdict and no stale copy takes a
    /// place. One set's lock at a time; a request meanwhile that misses a token in transit
    /// checks it and keeps it, and the move then finds it kept.
    fn spread(&self, before: usize) {
        let mask = before * 2 - 1;
        for index in 0..before {
            // Tokens that stay here as their second set: their first sets are to know it.
            let mut second_of = Vec::new();
            let moving: Vec<(Key, V)> = {
                let Some(mut set) = self.slot(index, Use::Read) else {
                    continue;
                };
                let Set { entries, tags, .. } = &mut *set;
                entries
                    .iter_mut()
                    .zip(tags.iter())
                    .filter_map(|(way, tag)| {
                        let entry = way.as_ref()?;
                        let key = Key {
                            hash: (u64::from(*tag) << 32) | u64::from(entry.check),
                            tail: entry.tail,
                        };
                        let (first, second) = sets_of(key, mask);
                        if first == index {
                            return None;
                        }
                        if second == index {
                            second_of.push(first);
                            return None;
                        }
                        way.take().map(|entry| (key, entry.value))
                    })
                    .collect()
            };
            for first in second_of {
                if let Some(mut set) = self.slot(first, Use::Keep) {
                    set.overflowed = true;
                }
            }
            for (key, value) in moving {
                let (first, second) = sets_of(key, mask);
                let room = |index| {
                    self.slot(index, Use::Keep)
                        .is_some_and(|mut set| set.insert_if_room(key, &value))
                };
                if !room(first) && room(second) {
                    if let Some(mut set) = self.slot(first, Use::Keep) {
                        set.overflowed = true;
                    }
                }
            }
        }
    }

    /// One of the two sets a token may be kept in ([`sets_of`]) among the sets in use,
    /// locked; `None` for a set not allocated yet (unless it is to keep a token) or poisoned.
    fn set(&self, key: Key, choice: Choice, to: Use) -> Option<MutexGuard<'_, Set<V>>> {
        // The sets in use are a power of two, at most `sets`. A request that reads the number
        // just before it doubles looks in the sets of the smaller table: a miss at worst.
        let mask = self.active.load(Relaxed).min(self.sets) - 1;
        let (first, second) = sets_of(key, mask);
        let index = match choice {
            Choice::First => first,
            Choice::Second => second,
        };
        self.slot(index, to)
    }

    /// The set at `index`, locked; `None` for a set not allocated yet (unless it is to keep
    /// a token) or poisoned.
    fn slot(&self, index: usize, to: Use) -> Option<MutexGuard<'_, Set<V>>> {
        let segment = self.segments.get(index / self.segment_sets)?;
        let slots = match to {
            Use::Read => segment.get()?,
            Use::Keep => segment.get_or_init(|| {
                (0..self.segment_sets)
                    .map(|_| {
                        Slot(Mutex::new(Set {
                            entries: std::array::from_fn(|_| None),
                            tags: [0; WAYS],
                            oldest: 0,
                            overflowed: false,
                        }))
                    })
                    .collect()
            }),
        };
        // A poisoned set is only a miss.
        slots.get(index % self.segment_sets)?.0.lock().ok()
    }

    /// How many tokens can be kept.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.sets * WAYS
    }

    /// How many tokens are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.segments
            .iter()
            .filter_map(OnceLock::get)
            .flat_map(|slots| slots.iter())
            .filter_map(|slot| slot.0.lock().ok())
            .map(|set| set.entries.iter().flatten().count())
            .sum()
    }

    /// How many segments are allocated.
    #[cfg(test)]
    fn segments_allocated(&self) -> usize {
        self.segments.iter().filter_map(OnceLock::get).count()
    }
}

impl<V> Set<V> {
    fn find(&self, key: Key) -> Option<&V> {
        // The tags first, all in one line: an entry is read only when its tag matches.
        let way = self.tags.iter().zip(&self.entries).find(|(tag, entry)| {
            **tag == key.tag()
                && entry
                    .as_ref()
                    .is_some_and(|entry| entry.check == key.check() && entry.tail == key.tail)
        })?;
        way.1.as_ref().map(|entry| &entry.value)
    }

    fn is_full(&self) -> bool {
        self.entries.iter().all(Option::is_some)
    }

    /// Keeps `value` for `key` if the set has it already (another request may have kept
    /// the same token meanwhile) or has a free way; whether it did.
    fn insert_if_room(&mut self, key: Key, value: &V) -> bool
    where
        V: Clone,
    {
        if self.find(key).is_some() {
            return true;
        }
        let Some(way) = self.entries.iter().position(Option::is_none) else {
            return false;
        };
        self.put(way, key, value.clone());
        true
    }

    /// Keeps `value` for `key` in place of the oldest entry; the entry it replaces.
    fn replace_oldest(&mut self, key: Key, value: V) -> Option<Entry<V>> {
        let way = usize::from(self.oldest);
        self.oldest = u8::try_from((way + 1) % WAYS).unwrap_or(0);
        self.put(way, key, value)
    }

    fn put(&mut self, way: usize, key: Key, value: V) -> Option<Entry<V>> {
        let tag = self.tags.get_mut(way)?;
        *tag = key.tag();
        self.entries.get_mut(way)?.replace(Entry {
            check: key.check(),
            tail: key.tail,
            value,
        })
    }
}

/// The two sets a token may be kept in among `mask + 1`: the low bits of its hash pick the
/// first, the bits from the 16th up the second (the first's neighbour when they pick the same).
fn sets_of(key: Key, mask: usize) -> (usize, usize) {
    let first = (key.hash as usize) & mask;
    let second = match ((key.hash >> 16) as usize) & mask {
        same if same == first => (first ^ 1) & mask,
        other => other,
    };
    (first, second)
}

/// Which of a token's two sets.
#[derive(Clone, Copy)]
enum Choice {
    First,
    Second,
}

/// What a set is looked up for: to read (a set not allocated yet is empty), or to keep a
/// token (its segment is allocated then).
#[derive(Clone, Copy)]
enum Use {
    Read,
    Keep,
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A check that counts its runs and passes tokens starting with `ok`.
    fn counting(runs: &Cell<usize>, token: &str) -> Checked<String> {
        runs.set(runs.get() + 1);
        match token.strip_prefix("ok") {
            Some(_) => Checked::Keep(token.to_uppercase()),
            None => Checked::Failed,
        }
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
        assert_eq!(cache.len(), 2);
        // What passed but is not to be kept is answered, and checked again next time.
        for _ in 0..2 {
            let once = cache.get_or_verify("once", || {
                runs.set(runs.get() + 1);
                Checked::Once("ONCE".to_owned())
            });
            assert_eq!(once.as_deref(), Some("ONCE"));
        }
        assert_eq!((runs.get(), cache.len()), (4, 2));
    }

    #[test]
    fn a_token_that_differs_in_any_one_byte_is_checked_on_its_own() {
        // A token shaped like an identity token: header, claims, a 43-character tag.
        let token = format!("ok.{}.{}", "c".repeat(300), "t".repeat(43));
        let cache = VerifiedCache::new(64);
        let runs = Cell::new(0);
        assert!(cache
            .get_or_verify(&token, || counting(&runs, &token))
            .is_some());
        for at in 0..token.len() {
            let mut other = token.clone().into_bytes();
            other[at] ^= 1;
            let other = String::from_utf8(other).unwrap();
            // The check refuses it (say, a bad MAC): it is not answered from the entry.
            let refused = cache.get_or_verify(&other, || {
                runs.set(runs.get() + 1);
                Checked::Failed
            });
            assert_eq!(refused, None, "byte {at}");
        }
        assert_eq!(runs.get(), 1 + token.len());
        // Longer or shorter by one byte, too.
        for other in [format!("{token}t"), token[1..].to_owned()] {
            let refused = cache.get_or_verify(&other, || Checked::Failed);
            assert_eq!(refused, None);
        }
        // And the verified token is still kept.
        assert!(cache.get_or_verify(&token, || Checked::Failed).is_some());
    }

    #[test]
    fn the_table_is_allocated_as_tokens_are_kept() {
        let cache = VerifiedCache::new(1 << 17);
        assert_eq!(cache.segments_allocated(), 0);
        let runs = Cell::new(0);
        for _ in 0..2 {
            assert_eq!(cache.get_or_verify("bad", || counting(&runs, "bad")), None);
            assert!(cache
                .get_or_verify("ok-1", || counting(&runs, "ok-1"))
                .is_some());
        }
        // One segment of 1,024, for the one token kept; the refused one allocated nothing.
        assert_eq!((cache.segments_allocated(), runs.get()), (1, 3));
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
        for i in 0..1000 {
            let bad = format!("bad-{i}");
            assert_eq!(cache.get_or_verify(&bad, || counting(&runs, &bad)), None);
            assert_eq!(cache.get_or_verify("bad", || counting(&runs, "bad")), None);
        }
        assert_eq!(runs.get(), WAYS + 2000);
        assert_eq!(cache.len(), WAYS);
        // Every token that passed is still kept.
        for i in 0..WAYS {
            let token = format!("ok-{i}");
            assert!(cache
                .get_or_verify(&token, || counting(&runs, &token))
                .is_some());
        }
        assert_eq!(runs.get(), WAYS + 2000);
    }

    #[test]
    fn the_cache_stays_bounded_and_forgets_the_oldest_first() {
        let cache = VerifiedCache::new(1000);
        assert_eq!(cache.capacity(), 1024);
        let runs = Cell::new(0);
        for i in 0..20_000 {
            let token = format!("ok-{i}");
            assert!(cache
                .get_or_verify(&token, || counting(&runs, &token))
                .is_some());
        }
        assert_eq!(runs.get(), 20_000);
        assert!(cache.len() <= 1024, "{} kept", cache.len());
        // One set: the ninth token forgets the first, then the second.
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

    #[test]
    fn tokens_in_rotation_are_all_kept_while_they_fill_two_thirds_of_the_cache() {
        // With one set a token, some sets would be picked by more than eight of them, and in
        // rotation those would miss on every pass; and tokens kept before the sets in use
        // doubled would take places twice over, were they not moved.
        for count in [512, 700] {
            let cache = VerifiedCache::new(1024);
            let runs = Cell::new(0);
            let tokens: Vec<String> = (0..count).map(|i| format!("ok-{i}")).collect();
            let mut runs_per_pass = Vec::new();
            for _ in 0..3 {
                let before = runs.get();
                for token in &tokens {
                    assert!(cache
                        .get_or_verify(token, || counting(&runs, token))
                        .is_some());
                }
                runs_per_pass.push(runs.get() - before);
            }
            // The first pass checks each token and grows the sets in use from 16 to 128 on
            // the way, moving the tokens kept; the second checks again only the few that a
            // small table's two full sets forgot before it grew; the third at most a few
            // whose two sets are both full (a token goes to its first set when it has room,
            // so sets fill unevenly). Bounds from 1,000 runs of each count (hash keys are
            // random): second at most 21 and 26, third 0 in 999 runs of 512 and at most 6
            // of 700; and never a stale copy.
            let [first, second, third] = runs_per_pass[..] else {
                unreachable!()
            };
            assert_eq!(first, count, "{count} tokens");
            assert!(
                second <= count / 16,
                "{count} tokens: {second} checked again"
            );
            assert!(third <= count / 64, "{count} tokens: {third} checked again");
            let kept = cache.len();
            assert!(kept <= count && kept + third >= count, "{kept} kept");
        }
    }

    #[test]
    fn few_tokens_use_few_sets_and_the_sets_grow_with_the_tokens() {
        let cache = VerifiedCache::new(1 << 17);
        let runs = Cell::new(0);
        let keep = |n: usize| {
            for i in 0..n {
                let token = format!("ok-{i}");
                cache.get_or_verify(&token, || counting(&runs, &token));
            }
        };
        // 90 tokens: one segment's 16 sets (128 ways) hold them all.
        keep(90);
        assert_eq!(cache.active.load(Relaxed), 16);
        assert_eq!(cache.segments_allocated(), 1);
        // 3,000 tokens: the sets in use doubled until three quarters of them hold 3,000
        // (512 sets), in the first 32 segments, not all over the 1,024.
        keep(3000);
        let active = cache.active.load(Relaxed);
        assert!((512..=1024).contains(&active), "{active} sets in use");
        assert!(cache.segments_allocated() <= active / SEGMENT);
    }

    #[test]
    fn a_set_is_eight_lines_and_an_entry_of_a_verified_token_56_bytes() {
        use std::mem::{align_of, size_of};
        type Value = super::super::claims::Verified;
        assert_eq!(size_of::<Option<Entry<Value>>>(), 56);
        assert_eq!(
            (size_of::<Slot<Value>>(), align_of::<Slot<Value>>()),
            (512, 64)
        );
    }

    /// A kept token costs its share of the table, and its user: one allocation (`Arc`'s two
    /// counts, then the user) for an identity with a session, a name and an email, rounded
    /// as the system allocator rounds (8 bytes of header, 16-byte steps): at most 200 bytes.
    #[test]
    fn a_kept_identity_token_costs_at_most_200_bytes() {
        use crate::identity::User;
        use crate::state::session::{Session, SessionId};
        let session = Session {
            id: SessionId::generate().unwrap(),
            started_ms: 1_700_000_000_000,
        };
        let user = User::from_parts(
            "facebook",
            "user-123456",
            Some("Mark Z"),
            Some("mark@example.com"),
            None,
            Some(session),
        )
        .build()
        .unwrap();
        let allocation = 16 + std::mem::size_of_val(&*user);
        let allocated = (allocation + 8).next_multiple_of(16);
        let table = std::mem::size_of::<Slot<super::super::claims::Verified>>() / WAYS;
        assert_eq!((table, allocated), (64, 128));
        assert!(table + allocated <= 200);
    }
}
