//! [`LocalCopy`]: the facts this process knows, looked up on every request.
//!
//! Three tables behind one read-write lock: revoked sessions by id, user revocations by
//! the hash of `(provider, user id)` that each verified identity carries already, and
//! provider sessions ended by a back-channel logout by the keyed hash each identity carries
//! too; so a request costs two table lookups (three for an identity from a provider session)
//! and hashes nothing. A revoked session takes 24 bytes of
//! table plus one control byte, at most twice that while the table grows: 100,000 revoked
//! sessions fit in under 6 MB.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::RwLock;

use super::Fact;
use crate::identity::{user_key, User};
use crate::state::provider_session::ProviderSessionKey;
use crate::state::session::Session;

/// Hashes keys that are already uniformly spread (random session ids, SipHash outputs) by
/// taking their low 64 bits.
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not reached by the tables' keys (u64 and u128); FNV-1a for completeness.
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    fn write_u128(&mut self, value: u128) {
        // The low half of a 128-bit random id (the cast keeps it on purpose).
        self.0 = value as u64;
    }
}

type SpreadMap<K, V> = HashMap<K, V, BuildHasherDefault<Spread>>;

/// One user's revocation: sessions begun at or before `before_ms` are revoked.
struct UserFact {
    provider: Box<str>,
    user_id: Box<str>,
    before_ms: u64,
    expires_at: u64,
}

#[derive(Default)]
struct Facts {
    /// Revoked session id -> when the fact expires.
    sessions: SpreadMap<u128, u64>,
    /// User hash -> the revocations of the users with that hash (almost always one).
    users: SpreadMap<u64, Vec<UserFact>>,
    /// Provider session key -> when the fact expires.
    provider_sessions: SpreadMap<u128, u64>,
}

impl Facts {
    /// Adds a fact; `true` when it told this table something new.
    fn add(&mut self, fact: Fact) -> bool {
        match fact {
            Fact::Session { id, expires_at } => {
                keep_latest(self.sessions.entry(id.as_u128()).or_insert(0), expires_at)
            }
            Fact::ProviderSession { key, expires_at } => keep_latest(
                self.provider_sessions.entry(key.as_u128()).or_insert(0),
                expires_at,
            ),
            Fact::User {
                provider,
                user_id,
                before_ms,
                expires_at,
            } => {
                let bucket = self.users.entry(user_key(&provider, &user_id)).or_default();
                let same = bucket
                    .iter_mut()
                    .find(|f| *f.provider == *provider && *f.user_id == *user_id);
                match same {
                    Some(kept) => {
                        let new = before_ms > kept.before_ms;
                        kept.before_ms = kept.before_ms.max(before_ms);
                        kept.expires_at = kept.expires_at.max(expires_at);
                        new
                    }
                    None => {
                        bucket.push(UserFact {
                            provider: provider.into(),
                            user_id: user_id.into(),
                            before_ms,
                            expires_at,
                        });
                        true
                    }
                }
            }
        }
    }

    fn revokes(&self, user: &User, session: Session) -> bool {
        if self.sessions.contains_key(&session.id.as_u128()) {
            return true;
        }
        if let Some(key) = user.provider_session() {
            if self.provider_sessions.contains_key(&key.as_u128()) {
                return true;
            }
        }
        self.users.get(&user.key()).is_some_and(|bucket| {
            bucket.iter().any(|fact| {
                session.started_ms <= fact.before_ms
                    && *fact.provider == *user.provider()
                    && *fact.user_id == *user.user_id()
            })
        })
    }

    fn drop_expired(&mut self, now: u64) {
        self.sessions.retain(|_, expires_at| *expires_at > now);
        self.provider_sessions
            .retain(|_, expires_at| *expires_at > now);
        self.users.retain(|_, bucket| {
            bucket.retain(|fact| fact.expires_at > now);
            !bucket.is_empty()
        });
    }

    fn facts(&self) -> impl Iterator<Item = Fact> + '_ {
        let sessions = self.sessions.iter().map(|(id, expires_at)| Fact::Session {
            id: crate::state::session::SessionId::from_u128(*id),
            expires_at: *expires_at,
        });
        let users = self.users.values().flatten().map(|fact| Fact::User {
            provider: fact.provider.to_string(),
            user_id: fact.user_id.to_string(),
            before_ms: fact.before_ms,
            expires_at: fact.expires_at,
        });
        let provider_sessions =
            self.provider_sessions
                .iter()
                .map(|(key, expires_at)| Fact::ProviderSession {
                    key: ProviderSessionKey::from_u128(*key),
                    expires_at: *expires_at,
                });
        sessions.chain(users).chain(provider_sessions)
    }

    fn len(&self) -> usize {
        self.sessions.len()
            + self.provider_sessions.len()
            + self.users.values().map(Vec::len).sum::<usize>()
    }
}

/// Keeps the later of two expiries of one fact; `true` when the fact is new (`kept` was 0).
fn keep_latest(kept: &mut u64, expires_at: u64) -> bool {
    let new = *kept == 0;
    *kept = (*kept).max(expires_at);
    new
}

/// The revocation facts this process knows.
#[derive(Default)]
pub(crate) struct LocalCopy {
    facts: RwLock<Facts>,
}

impl LocalCopy {
    /// Whether a fact revokes this session of `user`.
    pub(crate) fn revokes(&self, user: &User, session: Session) -> bool {
        match self.facts.read() {
            Ok(facts) => facts.revokes(user, session),
            // A writer panicked mid-update: the facts cannot be trusted to be complete.
            Err(_) => true,
        }
    }

    /// Adds a fact that has not expired at `now`.
    pub(crate) fn apply(&self, fact: Fact, now: u64) {
        if fact.expires_at() <= now {
            return;
        }
        if let Ok(mut facts) = self.facts.write() {
            facts.add(fact);
        }
    }

    /// Takes in a store's full list of facts, forgets expired ones, and returns the live
    /// facts this copy knows that the list lacks (for the store to get back: a store
    /// restarted empty, a fact written here while the store was out of reach).
    pub(crate) fn merge(&self, loaded: Vec<Fact>, now: u64) -> Vec<Fact> {
        let mut fresh = Facts::default();
        for fact in loaded {
            if fact.expires_at() > now {
                fresh.add(fact);
            }
        }
        let Ok(mut facts) = self.facts.write() else {
            return Vec::new();
        };
        facts.drop_expired(now);
        let missing: Vec<Fact> = facts
            .facts()
            .filter(|fact| fresh.add(fact.clone()))
            .collect();
        *facts = fresh;
        missing
    }

    /// How many facts are kept.
    pub(crate) fn len(&self) -> usize {
        self.facts.read().map_or(0, |facts| facts.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::state::session::SessionId;

    fn user(provider: &str, id: &str, started_ms: u64) -> (Arc<User>, Session) {
        let session = Session {
            id: SessionId::generate().unwrap(),
            started_ms,
        };
        let user = User::from_parts(provider, id, None, None, None, Some(session))
            .build()
            .unwrap();
        (user, session)
    }

    #[test]
    fn a_session_fact_revokes_that_session_only() {
        let copy = LocalCopy::default();
        let (ada, ada_session) = user("github", "ada", 1_000);
        let (_, other_session) = user("github", "ada", 1_000);
        copy.apply(
            Fact::Session {
                id: ada_session.id,
                expires_at: 100,
            },
            10,
        );
        assert!(copy.revokes(&ada, ada_session));
        assert!(!copy.revokes(&ada, other_session));
    }

    #[test]
    fn a_user_fact_revokes_sessions_begun_up_to_its_time_for_that_user_only() {
        let copy = LocalCopy::default();
        let (ada, before) = user("github", "ada", 1_000);
        let (_, at) = user("github", "ada", 2_000);
        let (_, after) = user("github", "ada", 2_001);
        let (grace, grace_session) = user("github", "grace", 1_000);
        let (ada_elsewhere, elsewhere) = user("gitlab", "ada", 1_000);
        copy.apply(
            Fact::User {
                provider: "github".into(),
                user_id: "ada".into(),
                before_ms: 2_000,
                expires_at: 100,
            },
            10,
        );
        assert!(copy.revokes(&ada, before));
        assert!(copy.revokes(&ada, at));
        assert!(!copy.revokes(&ada, after));
        assert!(!copy.revokes(&grace, grace_session));
        assert!(!copy.revokes(&ada_elsewhere, elsewhere));
    }

    #[test]
    fn a_provider_session_fact_revokes_the_sessions_from_that_provider_session_only() {
        let copy = LocalCopy::default();
        let (ada, ada_session) = user("oidc", "ada", 1_000);
        let (ada_too, same_session) = user("oidc", "ada", 2_000);
        let (elsewhere, other_session) = user("oidc", "ada", 3_000);
        let key = |n: u128| Some(ProviderSessionKey::from_u128(n));
        let with = |user: Arc<User>, n| {
            User::from_parts(
                user.provider(),
                user.user_id(),
                None,
                None,
                None,
                user.session(),
            )
            .with_provider_session(key(n))
            .build()
            .unwrap()
        };
        let (ada, ada_too, elsewhere) = (with(ada, 7), with(ada_too, 7), with(elsewhere, 8));
        copy.apply(
            Fact::ProviderSession {
                key: ProviderSessionKey::from_u128(7),
                expires_at: 100,
            },
            10,
        );
        assert!(copy.revokes(&ada, ada_session));
        assert!(copy.revokes(&ada_too, same_session));
        assert!(!copy.revokes(&elsewhere, other_session));
        assert_eq!(copy.len(), 1);
        assert_eq!(copy.merge(Vec::new(), 20).len(), 1);
        assert_eq!(copy.merge(Vec::new(), 100).len(), 0);
    }

    #[test]
    fn expired_facts_are_not_kept_and_merge_returns_what_the_store_lacks() {
        let copy = LocalCopy::default();
        let id = |n: u128| SessionId::from_u128(n);
        copy.apply(
            Fact::Session {
                id: id(1),
                expires_at: 5,
            },
            10,
        );
        assert_eq!(copy.len(), 0);
        copy.apply(
            Fact::Session {
                id: id(2),
                expires_at: 50,
            },
            10,
        );
        copy.apply(
            Fact::Session {
                id: id(3),
                expires_at: 15,
            },
            10,
        );
        let loaded = vec![
            Fact::Session {
                id: id(4),
                expires_at: 50,
            },
            Fact::Session {
                id: id(5),
                expires_at: 19,
            },
        ];
        // At 20: 3 and 5 have expired; 2 is missing from the store; 4 is new here.
        let missing = copy.merge(loaded, 20);
        assert_eq!(
            missing,
            vec![Fact::Session {
                id: id(2),
                expires_at: 50
            }]
        );
        assert_eq!(copy.len(), 2);
        // A store that lost everything gets both back, and the copy forgets nothing live.
        assert_eq!(copy.merge(Vec::new(), 20).len(), 2);
        assert_eq!(copy.len(), 2);
    }
}
