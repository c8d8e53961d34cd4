//! [`RedisStore`]: revocation facts in Redis, shared by every replica.
//!
//! The facts are members of one sorted set (`<prefix>:revoked`), each scored by its expiry:
//! every write first drops the expired ones, and the set itself expires with its last fact,
//! so Redis holds only live facts. New facts are also published on `<prefix>:revocations`,
//! which every replica follows.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Fact, RevocationError, RevocationStore, Subscription};

mod builder;

pub use self::builder::RedisStoreBuilder;

/// How long connecting, or one command, may take.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// Facts per `ZADD` when giving many back.
const RESTORE_BATCH: usize = 1000;

/// Revocation facts in Redis (feature `redis`, with the `redis` crate's tokio connection
/// manager, which reconnects by itself), over TCP or TLS (`rediss://`, rustls). Needs Redis
/// 7.0 or later (`EXPIREAT` with `NX`/`GT`), or Valkey.
///
/// ```no_run
/// # async fn run() -> Result<(), socialauth::revocation::RevocationError> {
/// use socialauth::revocation::{RedisStore, Revocations};
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// let revocations = Revocations::builder(store).start().await?;
/// # Ok(()) }
/// ```
pub struct RedisStore {
    client: redis::Client,
    connection: ConnectionManager,
    key: String,
    channel: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the key names.
        f.debug_struct("RedisStore")
            .field("key", &self.key)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

fn failed(what: &'static str) -> impl Fn(redis::RedisError) -> RevocationError {
    move |error| RevocationError::new(format!("redis {what}: {:?}", error.kind()))
}

impl RedisStore {
    /// Connects to the Redis at `url`, with keys under the prefix `socialauth`.
    ///
    /// `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS, with the server's
    /// certificate checked against the system's trusted roots. For a private CA, a client
    /// certificate or another prefix: [`builder`](Self::builder).
    pub async fn connect(url: &str) -> Result<Self, RevocationError> {
        Self::builder(url).connect().await
    }

    /// How to connect to the Redis at `url`: the key prefix, and for `rediss://` the
    /// certificates.
    ///
    /// ```no_run
    /// # async fn run(ca_pem: Vec<u8>) -> Result<(), socialauth::revocation::RevocationError> {
    /// let store = socialauth::revocation::RedisStore::builder("rediss://redis.internal:6380/")
    ///     .prefix("shop")
    ///     .root_certificate_pem(ca_pem)
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder::new(url)
    }

    /// Connects with `client`, keys under `prefix`.
    async fn open(client: redis::Client, prefix: &str) -> Result<Self, RevocationError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(
            REDIS_TIMEOUT,
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| RevocationError::new("redis connect: no answer in time"))?
        // The whole error: for a refused TLS handshake, the cause (an unknown issuer, a
        // missing client certificate). redis-rs does not put the URL or password in it.
        .map_err(|error| RevocationError::new(format!("redis connect: {error}")))?;
        Ok(Self {
            client,
            connection,
            key: format!("{prefix}:revoked"),
            channel: format!("{prefix}:revocations"),
        })
    }

    /// Adds `facts` to the set after dropping expired ones, and keeps the set until its last
    /// fact expires.
    fn keep(&self, pipe: &mut redis::Pipeline, facts: &[Fact]) {
        let now = crate::clock::system_now();
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&self.key)
            .arg("-inf")
            .arg(now)
            .ignore();
        let mut last = 0;
        for batch in facts.chunks(RESTORE_BATCH) {
            let mut add = redis::cmd("ZADD");
            add.arg(&self.key);
            for fact in batch {
                add.arg(fact.expires_at()).arg(fact.to_line());
                last = last.max(fact.expires_at());
            }
            pipe.add_command(add).ignore();
        }
        // NX sets an expiry on a set that has none; GT only ever extends it.
        for flag in ["NX", "GT"] {
            pipe.cmd("EXPIREAT")
                .arg(&self.key)
                .arg(last)
                .arg(flag)
                .ignore();
        }
    }
}

impl RevocationStore for RedisStore {
    async fn publish(&self, fact: &Fact) -> Result<(), RevocationError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.keep(&mut pipe, std::slice::from_ref(fact));
        pipe.cmd("PUBLISH")
            .arg(&self.channel)
            .arg(fact.to_line())
            .ignore();
        let mut connection = self.connection.clone();
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(failed("publish"))
    }

    async fn restore(&self, facts: &[Fact]) -> Result<(), RevocationError> {
        if facts.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.keep(&mut pipe, facts);
        let mut connection = self.connection.clone();
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(failed("restore"))
    }

    async fn load(&self) -> Result<Vec<Fact>, RevocationError> {
        let now = crate::clock::system_now();
        let mut connection = self.connection.clone();
        let lines: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(&self.key)
            .arg(format!("({now}"))
            .arg("+inf")
            .query_async(&mut connection)
            .await
            .map_err(failed("load"))?;
        let mut facts = Vec::with_capacity(lines.len());
        let mut malformed = 0usize;
        for line in &lines {
            match Fact::from_line(line) {
                Ok(fact) => facts.push(fact),
                Err(_) => malformed += 1,
            }
        }
        if malformed > 0 {
            tracing::warn!(
                malformed,
                key = %self.key,
                "members of the revocation set that are not facts were ignored"
            );
        }
        Ok(facts)
    }

    async fn subscribe(&self) -> Result<Subscription, RevocationError> {
        let mut pubsub = tokio::time::timeout(REDIS_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| RevocationError::new("redis subscribe: no answer in time"))?
            .map_err(failed("subscribe"))?;
        tokio::time::timeout(REDIS_TIMEOUT, pubsub.subscribe(&self.channel))
            .await
            .map_err(|_| RevocationError::new("redis subscribe: no answer in time"))?
            .map_err(failed("subscribe"))?;
        let (sender, subscription) = Subscription::channel();
        let channel = self.channel.clone();
        tokio::spawn(async move {
            let mut messages = pubsub.on_message();
            // Ends when the connection is lost or the layer drops the subscription.
            while let Some(message) = messages.next().await {
                let fact = std::str::from_utf8(message.get_payload_bytes())
                    .ok()
                    .and_then(|line| Fact::from_line(line).ok());
                match fact {
                    Some(fact) => {
                        if !sender.send(fact).await {
                            break;
                        }
                    }
                    None => tracing::warn!(%channel, "a message that is not a fact was ignored"),
                }
            }
        });
        Ok(subscription)
    }

    async fn ping(&self) -> Result<(), RevocationError> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(|_| ())
            .map_err(failed("ping"))
    }
}
