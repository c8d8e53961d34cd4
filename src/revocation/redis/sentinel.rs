//! The primary that Redis Sentinel names, found again after a failover.
//!
//! The sentinels are asked for the primary (redis-rs checks its `ROLE` before answering), and
//! one connection to it is kept. When a command on it fails (the primary died, or a failover
//! made it a replica that refuses writes), the connection is dropped and the sentinels are
//! asked again, once, within the same call. The subscription is made on the primary too. The
//! ping asks the sentinels which node is the primary; when it is not the one the store is
//! on, the ping fails, and the layer subscribes again on the new one and reloads, which
//! writes back whatever the new primary lacks.

use std::sync::Mutex;

use redis::aio::MultiplexedConnection;
use redis::sentinel::SentinelClient;
use redis::{AsyncConnectionConfig, Role};

use super::{node, Request, REDIS_TIMEOUT};
use crate::revocation::{RevocationError, Subscription};

/// The primary of one Sentinel-monitored set.
pub(super) struct Primary {
    sentinel: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Option<Current>>,
    /// The address of the primary the last subscription was made on.
    subscribed: Mutex<Option<String>>,
}

/// The primary last found, and the connection to it.
#[derive(Clone)]
struct Current {
    client: redis::Client,
    connection: MultiplexedConnection,
    address: String,
}

impl Primary {
    /// Asks the sentinels for the primary and connects to it.
    pub(super) async fn open(sentinel: SentinelClient) -> Result<Self, RevocationError> {
        let primary = Self {
            sentinel: tokio::sync::Mutex::new(sentinel),
            current: Mutex::default(),
            subscribed: Mutex::default(),
        };
        primary
            .current()
            .await
            .map_err(|error| RevocationError::new(format!("redis sentinel: {error}")))?;
        Ok(primary)
    }

    fn cached(&self) -> Option<Current> {
        self.current.lock().ok().and_then(|current| current.clone())
    }

    fn forget(&self) {
        if let Ok(mut current) = self.current.lock() {
            *current = None;
        }
    }

    /// The primary: the one last found, or the one the sentinels name now.
    async fn current(&self) -> redis::RedisResult<Current> {
        if let Some(current) = self.cached() {
            return Ok(current);
        }
        let mut sentinel = self.sentinel.lock().await;
        // Another call may have found it while this one waited.
        if let Some(current) = self.cached() {
            return Ok(current);
        }
        let client = sentinel.async_get_client().await?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let address = client.get_connection_info().addr().to_string();
        let current = Current {
            client,
            connection,
            address,
        };
        if let Ok(mut cached) = self.current.lock() {
            *cached = Some(current.clone());
        }
        Ok(current)
    }

    /// Runs `request` on the primary; when it fails, asks the sentinels again and runs it
    /// once more (every request the store makes can be repeated).
    pub(super) async fn run<T: redis::FromRedisValue>(
        &self,
        request: Request<'_>,
    ) -> redis::RedisResult<T> {
        let mut current = self.current().await?;
        if let Ok(value) = request.run(&mut current.connection).await {
            return Ok(value);
        }
        self.forget();
        let mut current = self.current().await?;
        let outcome = request.run(&mut current.connection).await;
        if outcome.is_err() {
            self.forget();
        }
        outcome
    }

    /// Subscribes to `channel` on the primary; when that fails (a subscription ends when its
    /// primary dies), asks the sentinels again and tries once more.
    pub(super) async fn subscribe(&self, channel: &str) -> Result<Subscription, RevocationError> {
        match self.subscribe_on_current(channel).await {
            Ok(subscription) => Ok(subscription),
            Err(_) => {
                self.forget();
                self.subscribe_on_current(channel).await
            }
        }
    }

    async fn subscribe_on_current(&self, channel: &str) -> Result<Subscription, RevocationError> {
        let current = self
            .current()
            .await
            .map_err(|error| RevocationError::new(format!("redis sentinel: {:?}", error.kind())))?;
        let subscription = node::subscribe(&current.client, channel).await?;
        if let Ok(mut subscribed) = self.subscribed.lock() {
            *subscribed = Some(current.address);
        }
        Ok(subscription)
    }

    /// Whether the primary answers as a primary, is still the one the sentinels name, and is
    /// the one the subscription is on. The sentinels are asked each time: after a planned
    /// failover the old primary goes on answering as one for seconds, until the sentinels
    /// make it a replica and it drops what it took meanwhile.
    pub(super) async fn ping(&self) -> Result<(), RevocationError> {
        let failed = |error: redis::RedisError| {
            RevocationError::new(format!("redis ping: {:?}", error.kind()))
        };
        let role: Role = self
            .run(Request::Cmd(&redis::cmd("ROLE")))
            .await
            .map_err(failed)?;
        if !matches!(role, Role::Primary { .. }) {
            self.forget();
            return Err(RevocationError::new(
                "redis sentinel: the primary became a replica (a failover)",
            ));
        }
        let primary = self.cached().map(|current| current.address);
        // Sentinels this process cannot reach: the primary that answers as one is kept
        // (failing here would reload the copy at every ping); a demoted one says so above.
        let named = self.sentinel.lock().await.async_get_client().await;
        match named {
            Ok(named) => {
                let named = named.get_connection_info().addr().to_string();
                if primary.as_deref() != Some(named.as_str()) {
                    self.forget();
                    return Err(RevocationError::new(
                        "redis sentinel: the sentinels name a new primary (a failover)",
                    ));
                }
            }
            Err(error) => tracing::debug!(
                kind = ?error.kind(),
                "the sentinels did not answer; the primary still answers as one"
            ),
        }
        let subscribed = self.subscribed.lock().ok().and_then(|s| s.clone());
        if primary != subscribed {
            return Err(RevocationError::new(
                "redis sentinel: the subscription is on a former primary",
            ));
        }
        Ok(())
    }
}
