//! Revocation: end one session, or every session of a user, on every replica, with no store
//! lookup per request.
//!
//! Every identity token carries its session id (`sid`) and when its sign-in happened. A
//! revocation is a [`Fact`]: "session `sid` is revoked", "every session of user
//! `(provider, user id)` begun before time T is revoked", or "every session from this
//! provider session is revoked" (an OpenID Connect back-channel logout:
//! [`Oidc::backchannel_logout`](crate::Oidc::backchannel_logout)). Each process keeps a local copy of
//! the live facts, loaded when [`Revocations::builder`]`(..).start()` runs and kept current
//! from the [`RevocationStore`] (Redis pub/sub for [`RedisStore`], with a periodic full
//! reload that heals a missed message); a request only looks in that copy, which costs a
//! read lock and two table lookups.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socialauth::revocation::{RedisStore, Revocations};
//! use socialauth::SocialAuthLayer;
//!
//! let revocations = Revocations::builder(RedisStore::connect("redis://127.0.0.1/").await?)
//!     .start()
//!     .await?;
//! let layer = SocialAuthLayer::builder()
//!     .secret(b"a 32-byte (or longer) secret key")
//!     .revocation(revocations.clone())
//!     // .provider(..)
//!     .build()?;
//! // Later, from an admin page:
//! revocations.revoke_user("github", "583231").await?;
//! # Ok(()) }
//! ```
//!
//! With revocation configured, `POST /auth/logout` revokes the current session (so a copy of
//! the cookie taken before logout stops working), and `POST /auth/logout?everywhere=1` every
//! session of the user. Sliding renewal and bearer tokens go through the same check, and a
//! revoked session is never renewed.
//!
//! **When the store is out of reach**, the process keeps serving from its last copy and
//! logs a warning; it reconnects by itself, reloads, and writes back facts the store lacks
//! (a store restarted empty). Once the copy is older than
//! [`staleness`](RevocationsBuilder::staleness) (default 60 s), [`StalePolicy`] decides.
//! A revocation made during the outage holds in this process at once, and is published when
//! the store answers again, however long the outage lasted (unless this process stops
//! first): a logout then answers `503 revocation_unavailable`, and still clears the cookies.
//! A stale copy is not a revocation: under [`StalePolicy::FailClosed`] a logout still
//! revokes the session it was given.

mod copy;
mod fact;
mod memory;
mod metrics;
#[cfg(feature = "redis")]
mod redis;
mod store;
mod sync;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use self::fact::{Fact, InvalidFact};
pub use self::memory::InMemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{RedisStore, RedisStoreBuilder};
pub use self::store::{FactSender, RevocationError, RevocationStore, Subscription};
pub use crate::state::provider_session::ProviderSessionKey;

use self::copy::LocalCopy;
use self::store::DynStore;
use crate::clock::Clock;
use crate::identity::User;
use crate::state::session::SessionId;

/// What the layer does once its copy of the facts is older than the staleness limit (the
/// store has been out of reach that long).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StalePolicy {
    /// Treat every signed-in request as anonymous until the store answers again. A
    /// revocation is never missed, but a store outage signs everyone out for its duration.
    #[default]
    FailClosed,
    /// Keep checking against the last copy. Users stay signed in through a store outage, but
    /// a revocation made on another replica during the outage is not seen until it ends.
    FailOpen,
}

/// The revocation handle: give a clone to the layer
/// ([`SocialAuthLayerBuilder::revocation`](crate::SocialAuthLayerBuilder::revocation)) and
/// keep one to revoke from the app's own code. Clones share one local copy.
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

/// Builds [`Revocations`] over a store.
pub struct RevocationsBuilder {
    store: Arc<dyn DynStore>,
    config: sync::Config,
    clock: Clock,
}

struct Inner {
    shared: Arc<Shared>,
    /// The background tasks, stopped when the last handle goes.
    tasks: Vec<tokio::task::AbortHandle>,
}

/// What the handle and its background tasks share.
struct Shared {
    store: Arc<dyn DynStore>,
    copy: LocalCopy,
    config: sync::Config,
    /// Set by the staleness watch; read on every request.
    stale: AtomicBool,
    /// Milliseconds since `origin` of the last reload or ping that succeeded.
    fresh_at_ms: AtomicU64,
    origin: tokio::time::Instant,
    /// How long a fact must live: the longest session lifetime of the layers using it.
    fact_lifetime_secs: AtomicU64,
    /// Facts made here that the store did not take: published when it answers again.
    pending: Mutex<Vec<Fact>>,
    /// The time facts are made and expire in: the layers' clock.
    clock: Clock,
}

impl Revocations {
    /// Starts building revocation over `store`.
    pub fn builder(store: impl RevocationStore) -> RevocationsBuilder {
        RevocationsBuilder {
            store: Arc::new(store),
            config: sync::Config::default(),
            clock: Clock::system(),
        }
    }

    /// Revokes one session on every replica: every token it had, cookie or bearer, stops
    /// working. Applied here at once; an error means the store did not take it: the fact is
    /// then published when the store answers again, however long that takes (unless this
    /// process stops first).
    pub async fn revoke_session(&self, id: SessionId) -> Result<(), RevocationError> {
        let expires_at = self.fact_expiry();
        self.publish(Fact::Session { id, expires_at }).await
    }

    /// Revokes every session of a user begun until now, on every replica ("sign out
    /// everywhere", an account disabled or deleted). Sign-ins after it are not affected.
    pub async fn revoke_user(&self, provider: &str, user_id: &str) -> Result<(), RevocationError> {
        let fact = Fact::User {
            provider: provider.to_owned(),
            user_id: user_id.to_owned(),
            before_ms: self.inner.shared.clock.now_ms(),
            expires_at: self.fact_expiry(),
        };
        self.publish(fact).await
    }

    /// Revokes, on every replica, every session that began in the provider session `key`
    /// (an OpenID Connect back-channel logout naming its `sid`).
    pub(crate) async fn revoke_provider_session(
        &self,
        key: ProviderSessionKey,
    ) -> Result<(), RevocationError> {
        let expires_at = self.fact_expiry();
        self.publish(Fact::ProviderSession { key, expires_at })
            .await
    }

    /// Records `key` until `expires_at` in the store, for every replica: `Ok(false)` when it
    /// was recorded already (a replayed logout token).
    pub(crate) async fn record_once(
        &self,
        key: &str,
        expires_at: u64,
    ) -> Result<bool, RevocationError> {
        let shared = &self.inner.shared;
        shared
            .with_timeout(shared.store.record_once(key, expires_at))
            .await
    }

    /// Whether the local copy is current: the store answered within the staleness limit.
    pub fn is_fresh(&self) -> bool {
        !self.inner.shared.stale.load(Ordering::Relaxed)
    }

    /// How many live facts the local copy holds.
    pub fn len(&self) -> usize {
        self.inner.shared.copy.len()
    }

    /// Whether the local copy holds no facts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies `fact` here, then gives it to the store; when the store does not take it, the
    /// fact waits to be published at the next reload that reaches the store.
    async fn publish(&self, fact: Fact) -> Result<(), RevocationError> {
        let shared = &self.inner.shared;
        shared.copy.apply(fact.clone(), shared.clock.now());
        let published = shared.with_timeout(shared.store.publish(&fact)).await;
        if published.is_err() {
            shared.hold(fact);
        }
        published
    }

    fn fact_expiry(&self) -> u64 {
        let shared = &self.inner.shared;
        let lifetime = shared.fact_lifetime_secs.load(Ordering::Relaxed);
        shared.clock.now().saturating_add(lifetime)
    }

    /// Makes facts outlive every token of a session that lasts at most `session_lifetime`
    /// (a layer's absolute session lifetime), whenever the fact is made in it.
    pub(crate) fn cover_session_lifetime(&self, session_lifetime: Duration) {
        self.inner
            .shared
            .fact_lifetime_secs
            .fetch_max(fact_lifetime_secs(session_lifetime), Ordering::Relaxed);
    }

    /// Whether `user`'s session may be used: it has a session id, no fact revokes it, and
    /// the copy is fresh (or the policy is to fail open).
    pub(crate) fn allows(&self, user: &User) -> bool {
        let shared = &self.inner.shared;
        if shared.config.policy == StalePolicy::FailClosed && shared.stale.load(Ordering::Relaxed) {
            return false;
        }
        !self.known_revoked(user)
    }

    /// Whether a fact this process knows revokes `user`'s session (or it has no session to
    /// revoke), however old the copy is: a stale copy is not a revocation. For a logout,
    /// which must revoke whatever is not known to be revoked already.
    pub(crate) fn known_revoked(&self, user: &User) -> bool {
        match user.session() {
            Some(session) => self.inner.shared.copy.revokes(user, session),
            None => true,
        }
    }
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("facts", &self.len())
            .field("fresh", &self.is_fresh())
            .field("policy", &self.inner.shared.config.policy)
            .finish()
    }
}

impl std::fmt::Debug for RevocationsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationsBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RevocationsBuilder {
    setters! {
        /// How old the local copy may get while the store is out of reach before the
        /// [`StalePolicy`] applies (default 60 s).
        staleness => config.staleness: Duration;

        /// What to do past the staleness limit (default [`StalePolicy::FailClosed`]).
        policy => config.policy: StalePolicy;

        /// How often the whole copy is reloaded from the store, which heals a missed message
        /// (default 60 s).
        resync_every => config.resync_every: Duration;

        /// How often the store is pinged to know the copy is current (default 5 s; keep it
        /// well under the staleness limit).
        ping_every => config.ping_every: Duration;

        /// How long a fact lives at least (default 30 days, the default
        /// [`max_session_lifetime`](crate::SocialAuthLayerBuilder::max_session_lifetime)),
        /// plus the clock leeway: it must outlive every token it revokes, and no token of a
        /// session outlives the session's absolute lifetime. Each layer using this handle
        /// raises it to its own `max_session_lifetime`, so this matters for a process with
        /// no layer (an admin tool or a job that revokes) and lets a deployment with shorter
        /// sessions keep fewer facts.
        ///
        /// **Warning:** in a process with no layer, a lifetime shorter than the replicas'
        /// `max_session_lifetime` lets a revoked session work again once its fact expires.
        fact_lifetime => config.fact_lifetime: Duration;

        /// The clock facts are dated and expire by (default the system clock). For tests that
        /// move time: give it the layer's [`clock`](crate::SocialAuthLayerBuilder::clock).
        /// Stores keep their own time, so a clock behind the system's makes them forget facts
        /// early.
        clock => clock: Clock;
    }

    /// Subscribes, loads every live fact, and starts keeping the copy current in the
    /// background (on the current tokio runtime). Fails when the store cannot be reached
    /// now: a misconfigured store should stop a deployment, not sign everyone out.
    pub async fn start(self) -> Result<Revocations, RevocationError> {
        let fact_lifetime_secs = fact_lifetime_secs(self.config.fact_lifetime);
        let shared = Arc::new(Shared {
            store: self.store,
            copy: LocalCopy::default(),
            config: self.config,
            stale: AtomicBool::new(false),
            fresh_at_ms: AtomicU64::new(0),
            origin: tokio::time::Instant::now(),
            fact_lifetime_secs: AtomicU64::new(fact_lifetime_secs),
            pending: Mutex::default(),
            clock: self.clock,
        });
        let subscription = shared.with_timeout(shared.store.subscribe()).await?;
        shared.resync().await?;
        let tasks = vec![
            tokio::spawn(sync::follow_store(shared.clone(), subscription)).abort_handle(),
            tokio::spawn(sync::watch_staleness(shared.clone())).abort_handle(),
        ];
        Ok(Revocations {
            inner: Arc::new(Inner { shared, tasks }),
        })
    }
}

/// How long a fact made now must live to outlive every token of the sessions it revokes,
/// when no session lasts longer than `session_lifetime` from its sign-in: that lifetime,
/// the clock leeway every token is granted past its end, and a second for a sign-in time
/// (`auth_ms`) that falls in the second the fact is made.
fn fact_lifetime_secs(session_lifetime: Duration) -> u64 {
    session_lifetime
        .as_secs()
        .saturating_add(crate::identity_token::LEEWAY_SECS)
        .saturating_add(1)
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
