//! [`InMemoryStore`]: revocation facts in this process, for one replica and for tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Fact, FactSender, RevocationError, RevocationStore, Subscription};

/// Facts kept in this process's memory. Clones share the facts, so two layers in one process
/// (two replicas in a test) can share one store. Nothing survives a restart: with several
/// processes, use a shared store such as [`RedisStore`](super::RedisStore).
#[derive(Debug, Clone, Default)]
pub struct InMemoryStore {
    shared: Arc<Mutex<Shared>>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Facts by their line, so a fact kept twice is kept once.
    facts: HashMap<String, Fact>,
    subscribers: Vec<FactSender>,
    writes: u64,
    /// One-time keys ([`RevocationStore::record_once`]) -> when they may be forgotten.
    once: HashMap<String, u64>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn shared(&self) -> Result<std::sync::MutexGuard<'_, Shared>, RevocationError> {
        self.shared
            .lock()
            .map_err(|_| RevocationError::new("in-memory store poisoned"))
    }
}

impl Shared {
    fn keep(&mut self, fact: &Fact, now: u64) {
        self.writes += 1;
        // Expired facts go every so many writes, so a write costs O(1) on average.
        if self.writes.is_multiple_of(1024) {
            self.facts.retain(|_, kept| kept.expires_at() > now);
        }
        self.facts.insert(fact.to_line(), fact.clone());
    }
}

impl RevocationStore for InMemoryStore {
    async fn publish(&self, fact: &Fact) -> Result<(), RevocationError> {
        let mut shared = self.shared()?;
        shared.keep(fact, crate::clock::system_now());
        // A subscriber a whole buffer behind gets the fact from its next reload.
        shared
            .subscribers
            .retain(|subscriber| subscriber.try_send(fact.clone()) || !subscriber.is_closed());
        Ok(())
    }

    async fn restore(&self, facts: &[Fact]) -> Result<(), RevocationError> {
        let mut shared = self.shared()?;
        let now = crate::clock::system_now();
        for fact in facts {
            shared.keep(fact, now);
        }
        Ok(())
    }

    async fn load(&self) -> Result<Vec<Fact>, RevocationError> {
        let now = crate::clock::system_now();
        let shared = self.shared()?;
        Ok(shared
            .facts
            .values()
            .filter(|fact| fact.expires_at() > now)
            .cloned()
            .collect())
    }

    async fn subscribe(&self) -> Result<Subscription, RevocationError> {
        let (sender, subscription) = Subscription::channel();
        self.shared()?.subscribers.push(sender);
        Ok(subscription)
    }

    async fn ping(&self) -> Result<(), RevocationError> {
        self.shared().map(|_| ())
    }

    async fn record_once(&self, key: &str, expires_at: u64) -> Result<bool, RevocationError> {
        let mut shared = self.shared()?;
        let now = crate::clock::system_now();
        shared.writes += 1;
        if shared.writes.is_multiple_of(1024) {
            shared.once.retain(|_, until| *until > now);
        }
        match shared.once.get(key) {
            Some(until) if *until > now => Ok(false),
            _ => {
                shared.once.insert(key.to_owned(), expires_at);
                Ok(true)
            }
        }
    }
}
