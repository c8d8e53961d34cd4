//! Keeping the local copy current: follow the store's messages, ping it, reload it, and say
//! when the copy has gone stale.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{Fact, RevocationError, Shared, StalePolicy, Subscription};

/// How long one call to the store may take.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);
/// The wait between two attempts to reach a store that failed.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// Up to this many facts that a reload finds missing from the store are published again
/// rather than given back silently.
const REPUBLISH_AT_MOST: usize = 100;

/// The timings of the background work, and the staleness policy.
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) staleness: Duration,
    pub(super) policy: StalePolicy,
    pub(super) resync_every: Duration,
    pub(super) ping_every: Duration,
    pub(super) fact_lifetime: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            staleness: Duration::from_secs(60),
            policy: StalePolicy::FailClosed,
            resync_every: Duration::from_secs(60),
            ping_every: Duration::from_secs(5),
            fact_lifetime: crate::identity::DEFAULT_SESSION_LIFETIME,
        }
    }
}

impl Shared {
    /// Runs a store call with a time limit.
    pub(super) async fn with_timeout<T>(
        &self,
        call: impl Future<Output = Result<T, RevocationError>>,
    ) -> Result<T, RevocationError> {
        let limit = STORE_TIMEOUT.min(self.config.staleness);
        tokio::time::timeout(limit, call)
            .await
            .map_err(|_| RevocationError::new("no answer in time"))?
    }

    /// Keeps `fact`, which the store did not take, to publish at the next reload.
    pub(super) fn hold(&self, fact: Fact) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.push(fact);
        }
    }

    /// Publishes the pending facts (made here while the store did not take them, or found
    /// missing from it at a reload), so that every replica hears of them now rather than at
    /// its next reload. Those the store does not take stay pending.
    async fn publish_pending(&self) -> Result<(), RevocationError> {
        let held = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Ok(()),
        };
        let now = self.clock.now();
        let mut held = held.into_iter().filter(|fact| fact.expires_at() > now);
        let mut published = 0usize;
        while let Some(fact) = held.next() {
            if let Err(error) = self.with_timeout(self.store.publish(&fact)).await {
                for fact in std::iter::once(fact).chain(held) {
                    self.hold(fact);
                }
                return Err(error);
            }
            published += 1;
        }
        if published > 0 {
            tracing::info!(
                facts = published,
                "revocations the store lacked (refused during an outage, or lost in a failover) are published"
            );
        }
        Ok(())
    }

    /// Publishes the facts made here that the store did not take, reloads every fact, gives
    /// the store back what else it lacks, and marks the copy fresh.
    ///
    /// A few facts missing are most likely the last a primary took before a failover, not
    /// replicated in time: they are published again, so that replicas which missed their
    /// message hear of them now. Many missing means a store restarted empty, whose facts
    /// every replica holds already: they are given back without a message each.
    pub(super) async fn resync(&self) -> Result<(), RevocationError> {
        self.publish_pending().await?;
        let loaded = self.with_timeout(self.store.load()).await?;
        let missing = self.copy.merge(loaded, self.clock.now());
        if !missing.is_empty() {
            tracing::warn!(
                facts = missing.len(),
                "the revocation store lacked facts this process knows (restarted empty, or a failover lost the last writes); writing them back"
            );
            if missing.len() <= REPUBLISH_AT_MOST {
                for fact in missing {
                    self.hold(fact);
                }
                self.publish_pending().await?;
            } else {
                self.with_timeout(self.store.restore(&missing)).await?;
            }
        }
        self.mark_fresh();
        Ok(())
    }

    fn mark_fresh(&self) {
        let elapsed = self.origin.elapsed().as_millis();
        self.fresh_at_ms.store(
            u64::try_from(elapsed).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn age(&self) -> Duration {
        let fresh_at = Duration::from_millis(self.fresh_at_ms.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(fresh_at)
    }

    /// Follows one subscription until the store fails: applies its facts, pings, reloads.
    async fn follow(&self, mut subscription: Subscription) -> Result<(), RevocationError> {
        let mut ping = tokio::time::interval(self.config.ping_every);
        let mut resync = tokio::time::interval(self.config.resync_every);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Both fire at once; the copy was just loaded.
        ping.tick().await;
        resync.tick().await;
        loop {
            tokio::select! {
                fact = subscription.next() => match fact {
                    Some(fact) => self.copy.apply(fact, self.clock.now()),
                    None => return Err(RevocationError::new("the subscription ended")),
                },
                _ = ping.tick() => {
                    self.with_timeout(self.store.ping()).await?;
                    self.mark_fresh();
                }
                _ = resync.tick() => self.resync().await?,
            }
        }
    }
}

/// Keeps the copy current for as long as the layer lives: follows the store, and when it
/// fails, warns, retries every second, subscribes again and reloads.
pub(super) async fn follow_store(shared: Arc<Shared>, first: Subscription) {
    let mut subscription = Some(first);
    let mut failing = false;
    loop {
        let outcome = async {
            let current = match subscription.take() {
                Some(current) => current,
                None => {
                    let current = shared.with_timeout(shared.store.subscribe()).await?;
                    shared.resync().await?;
                    current
                }
            };
            if failing {
                tracing::info!("revocation store reachable again; local copy reloaded");
            }
            failing = false;
            shared.follow(current).await
        }
        .await;
        if let Err(error) = outcome {
            super::metrics::store_failed();
            if failing {
                tracing::debug!(%error, "revocation store still out of reach");
            } else {
                tracing::warn!(
                    %error,
                    "revocation store out of reach: serving from the local copy, reconnecting"
                );
            }
            failing = true;
        }
        tokio::time::sleep(RETRY_EVERY.min(shared.config.ping_every)).await;
    }
}

/// Sets the stale flag the request path reads, and says when it changes.
pub(super) async fn watch_staleness(shared: Arc<Shared>) {
    let period = (shared.config.staleness / 10).clamp(Duration::from_millis(50), RETRY_EVERY);
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let age = shared.age();
        let stale = age > shared.config.staleness;
        let was = shared.stale.swap(stale, Ordering::Relaxed);
        super::metrics::copy_state(&shared.copy, age, stale);
        match (was, stale) {
            (false, true) => tracing::warn!(
                policy = ?shared.config.policy,
                staleness_secs = shared.config.staleness.as_secs_f64(),
                "revocation copy is stale; {}",
                match shared.config.policy {
                    StalePolicy::FailClosed => "signed-in requests are treated as anonymous",
                    StalePolicy::FailOpen => "checking against the last copy",
                }
            ),
            (true, false) => tracing::info!("revocation copy is current again"),
            _ => {}
        }
    }
}
