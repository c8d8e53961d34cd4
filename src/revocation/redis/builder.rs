//! [`RedisStoreBuilder`]: how to reach Redis (one node, Sentinel or a Cluster), over TCP or
//! TLS.

use redis::cluster::ClusterClientBuilder;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{ClientTlsConfig, ConnectionAddr, IntoConnectionInfo, TlsCertificates, TlsMode};

use super::cluster::Cluster;
use super::node::Node;
use super::sentinel::Primary;
use super::{RedisStore, Topology, REDIS_TIMEOUT};
use crate::revocation::RevocationError;
use crate::secret::new_secret_type;

/// Attempts per command in a Cluster (a moved slot, a node being replaced), so that a call
/// gives up within the store's time limit and the layer's outage path takes over.
const CLUSTER_RETRIES: u32 = 3;
/// The longest wait between two of those attempts, in milliseconds.
const CLUSTER_MAX_RETRY_WAIT_MS: u64 = 500;

new_secret_type! {
    /// The password of the primary that Sentinel names.
    pub(crate) struct PrimaryPassword(String) reads str;
}

/// How to connect a [`RedisStore`]: from [`RedisStore::builder`] (one node),
/// [`RedisStore::sentinel`] or [`RedisStore::cluster`].
///
/// TLS is chosen by the URLs (`rediss://`). The server's certificate is always checked: against
/// the system's trusted roots, or against [`root_certificate_pem`](Self::root_certificate_pem)
/// alone when given. There is no switch that turns the check off, and a URL with redis-rs's
/// `#insecure` fragment is refused.
#[must_use = "call .connect().await"]
pub struct RedisStoreBuilder {
    target: Target,
    prefix: String,
    root_certificate: Option<Vec<u8>>,
    client_certificate: Option<ClientTlsConfig>,
    primary_credentials: Option<(Option<String>, PrimaryPassword)>,
}

/// Where Redis is.
enum Target {
    Node(String),
    Sentinel {
        primary: String,
        sentinels: Vec<String>,
    },
    Cluster(Vec<String>),
}

impl std::fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // URLs may hold passwords and the client key is secret: neither is shown.
        let target = match &self.target {
            Target::Node(_) => "node",
            Target::Sentinel { .. } => "sentinel",
            Target::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStoreBuilder")
            .field("target", &target)
            .field("prefix", &self.prefix)
            .field("root_certificate", &self.root_certificate.is_some())
            .field("client_certificate", &self.client_certificate.is_some())
            .field("primary_credentials", &self.primary_credentials.is_some())
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    fn new(target: Target) -> Self {
        Self {
            target,
            prefix: "socialauth".to_owned(),
            root_certificate: None,
            client_certificate: None,
            primary_credentials: None,
        }
    }

    pub(super) fn node(url: &str) -> Self {
        Self::new(Target::Node(url.to_owned()))
    }

    pub(super) fn sentinel(primary: &str, sentinels: Vec<String>) -> Self {
        Self::new(Target::Sentinel {
            primary: primary.to_owned(),
            sentinels,
        })
    }

    pub(super) fn cluster(nodes: Vec<String>) -> Self {
        Self::new(Target::Cluster(nodes))
    }

    /// Keys and the channel under `prefix` (default `socialauth`), for several apps on one
    /// Redis: `<prefix>:revoked` and `<prefix>:revocations`; in a Cluster
    /// `{<prefix>}:revoked` and `{<prefix>}:revocations` (one slot for both).
    pub fn prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    /// For `rediss://`: trust only the CA certificates in `pem` (one or more PEM
    /// certificates), instead of the system's roots. For a Redis whose certificate a private
    /// CA signed (with Sentinel: the sentinels' and the primary's).
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificate = Some(pem.into());
        self
    }

    /// For `rediss://` to a Redis that asks for client certificates (`tls-auth-clients yes`):
    /// the certificate chain and its private key, both PEM.
    pub fn client_certificate_pem(
        mut self,
        certificate: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_certificate = Some(ClientTlsConfig {
            client_cert: certificate.into(),
            client_key: key.into(),
        });
        self
    }

    /// With [`RedisStore::sentinel`]: the user (`None`: the default user) and password the
    /// primary and its replicas ask for (`requirepass`, or an ACL user). The sentinels' own
    /// credentials go in their URLs. Refused by [`connect`](Self::connect) for one node or a
    /// Cluster, whose credentials go in their URLs.
    ///
    /// ```no_run
    /// # async fn run(password: String) -> Result<(), socialauth::revocation::RevocationError> {
    /// let store = socialauth::revocation::RedisStore::sentinel(
    ///     "mymaster",
    ///     ["redis://:sentinel-password@10.0.0.5:26379"],
    /// )
    /// .primary_credentials(Some("revocations"), &password)
    /// .connect()
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub fn primary_credentials(mut self, username: Option<&str>, password: &str) -> Self {
        self.primary_credentials =
            Some((username.map(str::to_owned), PrimaryPassword::new(password)));
        self
    }

    /// Connects (within 2 s) and checks that Redis answers: the node, the primary the
    /// sentinels name, or the cluster's map.
    ///
    /// Errors name the cause (a URL that does not parse, a certificate given for a plain
    /// `redis://` URL, a PEM that does not parse, a refused connection or handshake, no
    /// sentinel that knows the primary), never a URL or a key.
    pub async fn connect(self) -> Result<RedisStore, RevocationError> {
        let urls: &[String] = match &self.target {
            Target::Node(url) => std::slice::from_ref(url),
            Target::Sentinel { sentinels, .. } => sentinels,
            Target::Cluster(nodes) => nodes,
        };
        if urls.is_empty() {
            return Err(RevocationError::new("no Redis URL is given"));
        }
        if urls.iter().any(|url| url.contains('#')) {
            return Err(RevocationError::new(
                "the Redis URL has a fragment; #insecure (no certificate check) is not accepted",
            ));
        }
        if self.primary_credentials.is_some() && !matches!(self.target, Target::Sentinel { .. }) {
            return Err(RevocationError::new(
                "primary credentials are for Sentinel; give a node's or a Cluster's in its URL",
            ));
        }
        let opening = async {
            let topology = match &self.target {
                Target::Node(url) => {
                    Topology::Node(Box::new(Node::open(self.node_client(url)?).await?))
                }
                Target::Sentinel { primary, sentinels } => {
                    let client = self.sentinel_client(primary, sentinels)?;
                    Topology::Sentinel(Box::new(Primary::open(client).await?))
                }
                Target::Cluster(nodes) => {
                    Topology::Cluster(Box::new(Cluster::open(self.cluster_client(nodes)?).await?))
                }
            };
            Ok::<_, RevocationError>(topology)
        };
        let topology = tokio::time::timeout(REDIS_TIMEOUT, opening)
            .await
            .map_err(|_| RevocationError::new("redis connect: no answer in time"))??;
        Ok(RedisStore::new(topology, &self.prefix))
    }

    /// The certificates to use, for URLs that are (`tls`) or are not `rediss://`.
    fn certificates(&self, tls: bool) -> Result<Option<TlsCertificates>, RevocationError> {
        let given = self.root_certificate.is_some() || self.client_certificate.is_some();
        if !given {
            return Ok(None);
        }
        if !tls {
            return Err(RevocationError::new(
                "TLS certificates are given but the Redis URL is not rediss://",
            ));
        }
        Ok(Some(TlsCertificates {
            client_tls: self.client_certificate.clone(),
            root_cert: self.root_certificate.clone(),
        }))
    }

    fn node_client(&self, url: &str) -> Result<redis::Client, RevocationError> {
        match self.certificates(url.starts_with("rediss://"))? {
            None => redis::Client::open(url)
                .map_err(|_| RevocationError::new("the Redis URL is not valid")),
            Some(certificates) => redis::Client::build_with_tls(url, certificates)
                .map_err(|error| tls_refused(&error, "the Redis URL is not valid")),
        }
    }

    fn sentinel_client(
        &self,
        primary: &str,
        sentinels: &[String],
    ) -> Result<SentinelClient, RevocationError> {
        let invalid = || RevocationError::new("a Sentinel URL is not valid");
        let mut parsed = Vec::with_capacity(sentinels.len());
        for url in sentinels {
            parsed.push(url.as_str().into_connection_info().map_err(|_| invalid())?);
        }
        let first = parsed.first().ok_or_else(invalid)?;
        let settings = first.redis_settings();
        let (username, password) = (settings.username(), settings.password());
        let tls = matches!(first.addr(), ConnectionAddr::TcpTls { .. });
        let alike = parsed.iter().all(|info| {
            let other = info.redis_settings();
            matches!(info.addr(), ConnectionAddr::TcpTls { .. }) == tls
                && other.username() == username
                && other.password() == password
        });
        if !alike {
            return Err(RevocationError::new(
                "the Sentinel URLs differ in scheme or credentials; they must be alike",
            ));
        }
        let addresses = parsed.iter().map(|info| info.addr().clone());
        let mut builder =
            SentinelClientBuilder::new(addresses, primary, SentinelServerType::Master)
                .map_err(|_| invalid())?;
        if let Some(username) = username {
            builder = builder.set_client_to_sentinel_username(username);
        }
        if let Some(password) = password {
            builder = builder.set_client_to_sentinel_password(password);
        }
        if let Some((username, password)) = &self.primary_credentials {
            if let Some(username) = username {
                builder = builder.set_client_to_redis_username(username);
            }
            builder = builder.set_client_to_redis_password(password.secret());
        }
        if tls {
            builder = builder.set_client_to_redis_tls_mode(TlsMode::Secure);
        }
        if let Some(certificates) = self.certificates(tls)? {
            builder = builder
                .set_client_to_sentinel_certificates(certificates.clone())
                .set_client_to_redis_certificates(certificates);
        }
        builder
            .build()
            .map_err(|error| tls_refused(&error, "a Sentinel URL is not valid"))
    }

    fn cluster_client(
        &self,
        nodes: &[String],
    ) -> Result<redis::cluster::ClusterClient, RevocationError> {
        let tls = nodes.iter().all(|node| node.starts_with("rediss://"));
        let mut builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
            // RESP3: a subscription's messages come as pushes on the cluster connection.
            .use_protocol(redis::ProtocolVersion::RESP3)
            .retries(CLUSTER_RETRIES)
            .max_retry_wait(CLUSTER_MAX_RETRY_WAIT_MS);
        if let Some(certificates) = self.certificates(tls)? {
            builder = builder.certs(certificates);
        }
        builder.build().map_err(|error| {
            tls_refused(
                &error,
                "the Cluster URLs are not valid, or differ in scheme or credentials",
            )
        })
    }
}

/// Which input made redis-rs refuse a client, in our words: its text may quote PEM bytes.
fn tls_refused(error: &redis::RedisError, invalid_url: &'static str) -> RevocationError {
    let text = error.to_string();
    let why = if error.kind() == redis::ErrorKind::InvalidClientConfig {
        invalid_url
    } else if text.contains("root certificate") {
        "the Redis root certificate is not valid PEM"
    } else if text.contains("client certificate") {
        "the Redis client certificate is not valid PEM"
    } else if text.contains("private key") {
        "the Redis client key is not valid PEM"
    } else {
        "the Redis TLS certificates are not valid"
    };
    RevocationError::new(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connects `builder`, which must be refused before any connection is tried: the error.
    async fn refused(builder: RedisStoreBuilder) -> String {
        let error = builder.connect().await.expect_err("refused").to_string();
        assert!(!error.contains("hunter2"), "a password leaked: {error}");
        error
    }

    #[tokio::test]
    async fn configurations_that_cannot_work_are_refused_before_connecting() {
        let cases = [
            (
                RedisStore::sentinel("mymaster", Vec::<String>::new()),
                "no Redis URL",
            ),
            (
                RedisStore::sentinel(
                    "mymaster",
                    ["redis://:hunter2@127.0.0.1:1", "redis://127.0.0.1:2"],
                ),
                "differ in scheme or credentials",
            ),
            (
                RedisStore::sentinel(
                    "mymaster",
                    [
                        "rediss://:hunter2@127.0.0.1:1",
                        "redis://:hunter2@127.0.0.1:2",
                    ],
                ),
                "differ in scheme or credentials",
            ),
            (
                RedisStore::sentinel("mymaster", ["redis://127.0.0.1:1"])
                    .root_certificate_pem(b"-----BEGIN CERTIFICATE-----".to_vec()),
                "not rediss://",
            ),
            (
                RedisStore::sentinel("mymaster", ["not a url"]),
                "Sentinel URL is not valid",
            ),
            (
                RedisStore::cluster(["rediss://:hunter2@127.0.0.1:1/#insecure"]),
                "#insecure",
            ),
            (
                RedisStore::cluster(["redis://:hunter2@127.0.0.1:1", "redis://:other@127.0.0.1:2"]),
                "Cluster URLs are not valid",
            ),
            (
                RedisStore::builder("redis://:hunter2@127.0.0.1:1")
                    .primary_credentials(None, "hunter2"),
                "primary credentials are for Sentinel",
            ),
        ];
        for (builder, expected) in cases {
            let error = refused(builder).await;
            assert!(
                error.contains(expected),
                "{error:?} should say {expected:?}"
            );
        }
    }

    #[test]
    fn debug_shows_no_url_password_or_key() {
        let builder = RedisStore::sentinel("mymaster", ["redis://:hunter2@127.0.0.1:1"])
            .primary_credentials(Some("app"), "hunter2")
            .client_certificate_pem(b"cert".to_vec(), b"PRIVATE KEY".to_vec());
        let shown = format!("{builder:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("PRIVATE"),
            "{shown}"
        );
        assert!(shown.contains("sentinel"), "{shown}");
    }
}
