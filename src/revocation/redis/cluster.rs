//! A Redis Cluster, through redis-rs's cluster connection: it learns the slot map from the
//! nodes it is given, sends each command to the node that owns its key, and follows the map
//! when slots move or a replica is promoted.
//!
//! The facts are one key, so every read and write goes to one node. A subscription is made
//! on a cluster connection of its own (RESP3, whose pushes carry the messages); redis-rs
//! places it on a node and moves it when the map changes. Classic `PUBLISH` in a Cluster
//! reaches the subscribers of every node, so where it is placed does not matter. When one of
//! its node connections drops, messages may have been missed in between: the subscription
//! ends, and the layer subscribes again and reloads.

use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{PushKind, Value};

use super::{fact_from_message, Request, REDIS_TIMEOUT};
use crate::revocation::{RevocationError, Subscription};

/// A cluster connection for commands, and the client that makes subscriptions.
pub(super) struct Cluster {
    client: ClusterClient,
    connection: ClusterConnection,
}

impl Cluster {
    /// Connects to the cluster: the first node that answers gives the slot map.
    pub(super) async fn open(client: ClusterClient) -> Result<Self, RevocationError> {
        let connection = client
            .get_async_connection_with_config(config())
            .await
            .map_err(|error| RevocationError::new(format!("redis cluster connect: {error}")))?;
        Ok(Self { client, connection })
    }

    pub(super) async fn run<T: redis::FromRedisValue>(
        &self,
        request: Request<'_>,
    ) -> redis::RedisResult<T> {
        request.run(&mut self.connection.clone()).await
    }

    /// Subscribes to `channel` on a cluster connection of its own.
    pub(super) async fn subscribe(&self, channel: &str) -> Result<Subscription, RevocationError> {
        let late = || RevocationError::new("redis subscribe: no answer in time");
        let failed = |error: redis::RedisError| {
            RevocationError::new(format!("redis subscribe: {:?}", error.kind()))
        };
        let (pushes, mut received) = tokio::sync::mpsc::unbounded_channel();
        let connect = self
            .client
            .get_async_connection_with_config(config().set_push_sender(pushes));
        let mut connection = tokio::time::timeout(REDIS_TIMEOUT, connect)
            .await
            .map_err(|_| late())?
            .map_err(failed)?;
        tokio::time::timeout(REDIS_TIMEOUT, connection.subscribe(channel))
            .await
            .map_err(|_| late())?
            .map_err(failed)?;
        let (sender, subscription) = Subscription::channel();
        let channel = channel.to_owned();
        tokio::spawn(async move {
            // Kept for as long as the subscription is followed; dropped, it disconnects.
            let _connection = connection;
            loop {
                let push = tokio::select! {
                    push = received.recv() => push,
                    () = sender.closed() => break,
                };
                let Some(push) = push else { break };
                match push.kind {
                    PushKind::Message => {
                        let fact = match push.data.get(1) {
                            Some(Value::BulkString(payload)) => fact_from_message(payload),
                            _ => None,
                        };
                        match fact {
                            Some(fact) => {
                                if !sender.send(fact).await {
                                    break;
                                }
                            }
                            None => {
                                tracing::warn!(%channel, "a message that is not a fact was ignored");
                            }
                        }
                    }
                    PushKind::Disconnection => {
                        tracing::debug!(%channel, "a cluster node's connection dropped; subscribing again");
                        break;
                    }
                    _ => {}
                }
            }
        });
        Ok(subscription)
    }
}

fn config() -> ClusterConfig {
    ClusterConfig::new()
        .set_connection_timeout(REDIS_TIMEOUT)
        .set_response_timeout(REDIS_TIMEOUT)
}
