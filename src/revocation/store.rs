//! [`RevocationStore`]: where revocation facts are kept and how replicas hear of new ones.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

use super::Fact;

/// Facts a subscription holds before its sender waits for the layer to take them.
const SUBSCRIPTION_BUFFER: usize = 1024;

/// A revocation store failed or could not be reached. Its message names what failed, never a
/// credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationError {
    message: String,
}

impl RevocationError {
    /// An error saying what failed.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for RevocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "revocation store: {}", self.message)
    }
}

impl std::error::Error for RevocationError {}

/// Where revocation facts live, shared by every replica: Redis
/// ([`RedisStore`](super::RedisStore), feature `redis`), a database of the app's, or memory
/// ([`InMemoryStore`](super::InMemoryStore)).
///
/// The layer never asks a store anything while answering a request: it keeps a local copy,
/// filled by [`load`](Self::load) and kept current by [`subscribe`](Self::subscribe), and
/// checks that copy. A store only has to keep facts until their
/// [`expires_at`](Fact::expires_at) and may forget them after.
pub trait RevocationStore: Send + Sync + 'static {
    /// Keeps `fact` and tells every subscriber (other replicas included) about it.
    fn publish(&self, fact: &Fact) -> impl Future<Output = Result<(), RevocationError>> + Send;

    /// Keeps `facts` without telling subscribers: the layer gives back facts it knows that
    /// [`load`](Self::load) did not return (a store restarted empty).
    fn restore(&self, facts: &[Fact]) -> impl Future<Output = Result<(), RevocationError>> + Send;

    /// Every fact that has not expired. A fact the store cannot read is skipped, with a
    /// warning, rather than failing the whole load.
    fn load(&self) -> impl Future<Output = Result<Vec<Fact>, RevocationError>> + Send;

    /// Starts hearing about facts published from now on. The subscription ends (its
    /// [`FactSender`] dropped) when the connection behind it is lost; the layer then
    /// subscribes again and reloads.
    fn subscribe(&self) -> impl Future<Output = Result<Subscription, RevocationError>> + Send;

    /// Whether the store answers, for the staleness check.
    fn ping(&self) -> impl Future<Output = Result<(), RevocationError>> + Send;

    /// Records `key` until `expires_at` (Unix seconds), atomically across every replica:
    /// `Ok(true)` when it was not recorded yet, `Ok(false)` when it was (a replay). Back-channel
    /// logout records each logout token's `jti` here, so that a token is accepted once.
    ///
    /// The default records nothing and answers an error: a store of the app's that does not
    /// implement it makes every back-channel logout answer `503` (the logout still holds).
    fn record_once(
        &self,
        key: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<bool, RevocationError>> + Send {
        let _ = (key, expires_at);
        async {
            Err(RevocationError::new(
                "this store does not record one-time keys",
            ))
        }
    }
}

/// Facts published since a [`RevocationStore::subscribe`], as the layer receives them.
#[derive(Debug)]
pub struct Subscription {
    receiver: mpsc::Receiver<Fact>,
}

/// The store's end of a [`Subscription`]: it sends each fact it hears of.
#[derive(Debug, Clone)]
pub struct FactSender {
    sender: mpsc::Sender<Fact>,
}

impl Subscription {
    /// A new subscription and the sender a store feeds it through.
    pub fn channel() -> (FactSender, Subscription) {
        let (sender, receiver) = mpsc::channel(SUBSCRIPTION_BUFFER);
        (FactSender { sender }, Subscription { receiver })
    }

    /// The next fact, or `None` once every sender is gone (the connection was lost).
    pub(crate) async fn next(&mut self) -> Option<Fact> {
        self.receiver.recv().await
    }
}

impl FactSender {
    /// Passes a fact to the layer, waiting while it is behind; `false` once the layer has
    /// dropped the subscription (the store can stop listening).
    pub async fn send(&self, fact: Fact) -> bool {
        self.sender.send(fact).await.is_ok()
    }

    /// Passes a fact without waiting; `false` when the layer is behind by a whole buffer or
    /// gone (the fact then reaches it with the next reload).
    pub fn try_send(&self, fact: Fact) -> bool {
        self.sender.try_send(fact).is_ok()
    }

    /// Whether the layer has dropped the subscription.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Waits until the layer drops the subscription, so that a store can stop listening
    /// (and close its connection) without waiting for the next message.
    pub async fn closed(&self) {
        self.sender.closed().await;
    }
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, RevocationError>> + Send + 'a>>;

/// [`RevocationStore`] with boxed futures, so the layer can hold any store.
pub(crate) trait DynStore: Send + Sync {
    fn publish<'a>(&'a self, fact: &'a Fact) -> Boxed<'a, ()>;
    fn restore<'a>(&'a self, facts: &'a [Fact]) -> Boxed<'a, ()>;
    fn load(&self) -> Boxed<'_, Vec<Fact>>;
    fn subscribe(&self) -> Boxed<'_, Subscription>;
    fn ping(&self) -> Boxed<'_, ()>;
    fn record_once<'a>(&'a self, key: &'a str, expires_at: u64) -> Boxed<'a, bool>;
}

impl<T: RevocationStore> DynStore for T {
    fn publish<'a>(&'a self, fact: &'a Fact) -> Boxed<'a, ()> {
        Box::pin(RevocationStore::publish(self, fact))
    }

    fn restore<'a>(&'a self, facts: &'a [Fact]) -> Boxed<'a, ()> {
        Box::pin(RevocationStore::restore(self, facts))
    }

    fn load(&self) -> Boxed<'_, Vec<Fact>> {
        Box::pin(RevocationStore::load(self))
    }

    fn subscribe(&self) -> Boxed<'_, Subscription> {
        Box::pin(RevocationStore::subscribe(self))
    }

    fn ping(&self) -> Boxed<'_, ()> {
        Box::pin(RevocationStore::ping(self))
    }

    fn record_once<'a>(&'a self, key: &'a str, expires_at: u64) -> Boxed<'a, bool> {
        Box::pin(RevocationStore::record_once(self, key, expires_at))
    }
}
