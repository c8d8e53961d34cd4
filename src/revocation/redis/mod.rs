//! [`RedisStore`]: revocation facts in Redis, shared by every replica: one node, a primary
//! and its replicas under Sentinel, or a Redis Cluster.
//!
//! The facts are members of one sorted set (`<prefix>:revoked`), each scored by its expiry:
//! every write first drops the expired ones, and the set itself expires with its last fact,
//! so Redis holds only live facts. New facts are also published on `<prefix>:revocations`,
//! which every replica follows.
//!
//! One key, in every set-up: a reload is one `ZRANGEBYSCORE` on one node and a write one
//! transaction on it, in a Cluster too (a key lives in one slot), with no scan of every
//! node. The price is that the facts are not spread over the shards, which at about 60
//! bytes a fact (6 MB for 100,000) does not matter. A back-channel logout also records its
//! token's `jti` as a key of its own, `<prefix>:once:<hash>`, set only if absent and
//! expiring with the token (in a Cluster, in the set's slot). In a Cluster the names are
//! `{<prefix>}:revoked` and `{<prefix>}:revocations`: the hash tag puts the channel in the
//! set's slot, so that a write and its `PUBLISH` stay one transaction on one node. The
//! channel is classic pub/sub, which a Cluster forwards to every node, so a subscriber hears
//! every message whichever node it is on.

use std::time::Duration;

use super::{Fact, RevocationError, RevocationStore, Subscription};

mod builder;
mod cluster;
mod node;
mod sentinel;

pub use self::builder::RedisStoreBuilder;

/// How long connecting, or one command, may take.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);
/// Facts per `ZADD` when giving many back.
const RESTORE_BATCH: usize = 1000;

/// Revocation facts in Redis (feature `redis`, on the `redis` crate): one node, over TCP or
/// TLS (`rediss://`, rustls); a primary found through Sentinel
/// ([`sentinel`](Self::sentinel)), followed through failovers; or a Redis Cluster
/// ([`cluster`](Self::cluster)). Needs Redis 7.0 or later (`EXPIREAT` with `NX`/`GT`), or
/// Valkey.
///
/// ```no_run
/// # async fn run() -> Result<(), socialauth::revocation::RevocationError> {
/// use socialauth::revocation::{RedisStore, Revocations};
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// let revocations = Revocations::builder(store).start().await?;
/// # Ok(()) }
/// ```
///
/// **Through a failover** (Sentinel, or a Cluster promoting a replica), nothing accepted is
/// lost. Replication is asynchronous, so a fact the old primary acknowledged may not have
/// reached the replica that takes its place; every process that knows the fact (the one
/// that made it, and every one that heard its message) holds it in its local copy, reloads
/// as soon as it reaches the new primary, and writes back what the new primary lacks. A
/// revocation made while no primary answers holds at once in the process that made it
/// (the logout answers `503 revocation_unavailable`), and is published once one does.
pub struct RedisStore {
    topology: Topology,
    key: String,
    channel: String,
    /// The prefix of one-time keys ([`RevocationStore::record_once`]).
    once: String,
}

/// How the store reaches Redis (boxed: the set-ups differ in size, and one is made per
/// store).
enum Topology {
    Node(Box<node::Node>),
    Sentinel(Box<sentinel::Primary>),
    Cluster(Box<cluster::Cluster>),
}

/// One command or a pipeline, as the store sends them.
#[derive(Clone, Copy)]
enum Request<'a> {
    Cmd(&'a redis::Cmd),
    Pipe(&'a redis::Pipeline),
}

impl Request<'_> {
    async fn run<T: redis::FromRedisValue>(
        self,
        connection: &mut impl redis::aio::ConnectionLike,
    ) -> redis::RedisResult<T> {
        match self {
            Self::Cmd(cmd) => cmd.query_async(connection).await,
            Self::Pipe(pipe) => pipe.query_async(connection).await,
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs may hold passwords: only the set-up and the key names.
        let topology = match self.topology {
            Topology::Node(_) => "node",
            Topology::Sentinel(_) => "sentinel",
            Topology::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("topology", &topology)
            .field("key", &self.key)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

fn failed(what: &'static str) -> impl Fn(redis::RedisError) -> RevocationError {
    move |error| RevocationError::new(format!("redis {what}: {:?}", error.kind()))
}

/// The fact a pub/sub message carries, if it is one.
fn fact_from_message(payload: &[u8]) -> Option<Fact> {
    let line = std::str::from_utf8(payload).ok()?;
    Fact::from_line(line).ok()
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
        RedisStoreBuilder::node(url)
    }

    /// How to connect to the primary that the sentinels at `sentinels` monitor as `primary`
    /// (Sentinel's "master name"), and follow it through failovers.
    ///
    /// Each sentinel is a URL, `redis://[user:password@]host:port` (the sentinels' own
    /// credentials, the same for all), or `rediss://` for TLS to the sentinels and to the
    /// primary alike. The primary's credentials, when it has any, are
    /// [`primary_credentials`](RedisStoreBuilder::primary_credentials).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socialauth::revocation::RevocationError> {
    /// use socialauth::revocation::RedisStore;
    /// let sentinels = [
    ///     "redis://sentinel-0.internal:26379",
    ///     "redis://sentinel-1.internal:26379",
    ///     "redis://sentinel-2.internal:26379",
    /// ];
    /// let store = RedisStore::sentinel("mymaster", sentinels)
    ///     .primary_credentials(None, "the primary's password")
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn sentinel<I>(primary: &str, sentinels: I) -> RedisStoreBuilder
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let sentinels = sentinels.into_iter().map(|s| s.as_ref().to_owned());
        RedisStoreBuilder::sentinel(primary, sentinels.collect())
    }

    /// How to connect to the Redis Cluster that `nodes` belong to: any of its nodes, as
    /// URLs with the same credentials and scheme (`rediss://` for TLS). The first that
    /// answers gives the cluster's map; the nodes must announce addresses this process can
    /// reach.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socialauth::revocation::RevocationError> {
    /// use socialauth::revocation::RedisStore;
    /// let store = RedisStore::cluster(["redis://:password@redis-0.internal:6379"])
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn cluster<I>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let nodes = nodes.into_iter().map(|node| node.as_ref().to_owned());
        RedisStoreBuilder::cluster(nodes.collect())
    }

    fn new(topology: Topology, prefix: &str) -> Self {
        // In a Cluster, the prefix is a hash tag, which puts the set and the channel in one
        // slot: redis-rs sends a `PUBLISH` to its channel's slot, and a fact's write and its
        // message are one transaction, which must run on one node.
        let prefix = match topology {
            Topology::Cluster(_) => format!("{{{prefix}}}"),
            Topology::Node(_) | Topology::Sentinel(_) => prefix.to_owned(),
        };
        Self {
            topology,
            key: format!("{prefix}:revoked"),
            channel: format!("{prefix}:revocations"),
            once: format!("{prefix}:once:"),
        }
    }

    async fn run<T: redis::FromRedisValue>(&self, request: Request<'_>) -> redis::RedisResult<T> {
        match &self.topology {
            Topology::Node(node) => node.run(request).await,
            Topology::Sentinel(primary) => primary.run(request).await,
            Topology::Cluster(cluster) => cluster.run(request).await,
        }
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
        self.run::<()>(Request::Pipe(&pipe))
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
        self.run::<()>(Request::Pipe(&pipe))
            .await
            .map_err(failed("restore"))
    }

    async fn load(&self) -> Result<Vec<Fact>, RevocationError> {
        let now = crate::clock::system_now();
        let mut range = redis::cmd("ZRANGEBYSCORE");
        range.arg(&self.key).arg(format!("({now}")).arg("+inf");
        let lines: Vec<String> = self
            .run(Request::Cmd(&range))
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

    /// `SET <prefix>:once:<key> 1 EXAT <expires_at> NX`: one command, atomic on the node
    /// that holds the key, whichever replica sends it.
    async fn record_once(&self, key: &str, expires_at: u64) -> Result<bool, RevocationError> {
        let mut set = redis::cmd("SET");
        set.arg(format!("{}{key}", self.once))
            .arg(1)
            .arg("EXAT")
            .arg(expires_at.max(1))
            .arg("NX");
        let reply: Option<String> = self
            .run(Request::Cmd(&set))
            .await
            .map_err(failed("record_once"))?;
        Ok(reply.is_some())
    }

    async fn subscribe(&self) -> Result<Subscription, RevocationError> {
        match &self.topology {
            Topology::Node(node) => node.subscribe(&self.channel).await,
            Topology::Sentinel(primary) => primary.subscribe(&self.channel).await,
            Topology::Cluster(cluster) => cluster.subscribe(&self.channel).await,
        }
    }

    async fn ping(&self) -> Result<(), RevocationError> {
        match &self.topology {
            Topology::Node(_) => self
                .run::<String>(Request::Cmd(&redis::cmd("PING")))
                .await
                .map(|_| ())
                .map_err(failed("ping")),
            Topology::Sentinel(primary) => primary.ping().await,
            // The node that holds the facts (a PING would go to every primary).
            Topology::Cluster(_) => self
                .run::<bool>(Request::Cmd(redis::cmd("EXISTS").arg(&self.key)))
                .await
                .map(|_| ())
                .map_err(failed("ping")),
        }
    }
}
