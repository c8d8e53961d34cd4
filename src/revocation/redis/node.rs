//! One Redis node, reached at a fixed address: the tokio connection manager for commands,
//! and a dedicated pub/sub connection for each subscription (also used on the primary that
//! Sentinel names).

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{fact_from_message, Request, REDIS_TIMEOUT};
use crate::revocation::{RevocationError, Subscription};

/// One node at a fixed address; the connection manager reconnects by itself.
pub(super) struct Node {
    client: redis::Client,
    connection: ConnectionManager,
}

impl Node {
    /// Connects to the node `client` names.
    pub(super) async fn open(client: redis::Client) -> Result<Self, RevocationError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            // The whole error: for a refused TLS handshake, the cause (an unknown issuer, a
            // missing client certificate). redis-rs does not put the URL or password in it.
            .map_err(|error| RevocationError::new(format!("redis connect: {error}")))?;
        Ok(Self { client, connection })
    }

    pub(super) async fn run<T: redis::FromRedisValue>(
        &self,
        request: Request<'_>,
    ) -> redis::RedisResult<T> {
        request.run(&mut self.connection.clone()).await
    }

    pub(super) async fn subscribe(&self, channel: &str) -> Result<Subscription, RevocationError> {
        subscribe(&self.client, channel).await
    }
}

/// Subscribes to `channel` on the node `client` names, over a connection of its own. The
/// subscription ends when that connection is lost.
pub(super) async fn subscribe(
    client: &redis::Client,
    channel: &str,
) -> Result<Subscription, RevocationError> {
    let late = || RevocationError::new("redis subscribe: no answer in time");
    let failed = |error: redis::RedisError| {
        RevocationError::new(format!("redis subscribe: {:?}", error.kind()))
    };
    let mut pubsub = tokio::time::timeout(REDIS_TIMEOUT, client.get_async_pubsub())
        .await
        .map_err(|_| late())?
        .map_err(failed)?;
    tokio::time::timeout(REDIS_TIMEOUT, pubsub.subscribe(channel))
        .await
        .map_err(|_| late())?
        .map_err(failed)?;
    let (sender, subscription) = Subscription::channel();
    let channel = channel.to_owned();
    tokio::spawn(async move {
        let mut messages = pubsub.on_message();
        loop {
            let message = tokio::select! {
                message = messages.next() => message,
                () = sender.closed() => break,
            };
            // None: the connection is lost.
            let Some(message) = message else { break };
            match fact_from_message(message.get_payload_bytes()) {
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
