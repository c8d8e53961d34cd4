//! [`RedisStoreBuilder`]: how to reach Redis, over TCP or TLS.

use redis::{ClientTlsConfig, TlsCertificates};

use super::RedisStore;
use crate::revocation::RevocationError;

/// How to connect a [`RedisStore`]: from [`RedisStore::builder`].
///
/// TLS is chosen by the URL (`rediss://`). The server's certificate is always checked: against
/// the system's trusted roots, or against [`root_certificate_pem`](Self::root_certificate_pem)
/// alone when given. There is no switch that turns the check off, and a URL with redis-rs's
/// `#insecure` fragment is refused.
#[must_use = "call .connect().await"]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    root_certificate: Option<Vec<u8>>,
    client_certificate: Option<ClientTlsConfig>,
}

impl std::fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password and the client key is secret: neither is shown.
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("root_certificate", &self.root_certificate.is_some())
            .field("client_certificate", &self.client_certificate.is_some())
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    pub(super) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            prefix: "socialauth".to_owned(),
            root_certificate: None,
            client_certificate: None,
        }
    }

    /// Keys and the channel under `prefix` (default `socialauth`), for several apps on one
    /// Redis: `<prefix>:revoked` and `<prefix>:revocations`.
    pub fn prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.prefix);
        self
    }

    /// For `rediss://`: trust only the CA certificates in `pem` (one or more PEM
    /// certificates), instead of the system's roots. For a Redis whose certificate a private
    /// CA signed.
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

    /// Connects (within 2 s) and checks that Redis answers.
    ///
    /// Errors name the cause (a URL that does not parse, a certificate given for a plain
    /// `redis://` URL, a PEM that does not parse, a refused connection or handshake), never
    /// the URL or a key.
    pub async fn connect(self) -> Result<RedisStore, RevocationError> {
        let client = self.client()?;
        RedisStore::open(client, &self.prefix).await
    }

    fn client(&self) -> Result<redis::Client, RevocationError> {
        if self.url.contains('#') {
            return Err(RevocationError::new(
                "the Redis URL has a fragment; #insecure (no certificate check) is not accepted",
            ));
        }
        let tls = self.url.starts_with("rediss://");
        let certificates = self.root_certificate.is_some() || self.client_certificate.is_some();
        if !certificates {
            return redis::Client::open(self.url.as_str())
                .map_err(|_| RevocationError::new("the Redis URL is not valid"));
        }
        if !tls {
            return Err(RevocationError::new(
                "TLS certificates are given but the Redis URL is not rediss://",
            ));
        }
        let certificates = TlsCertificates {
            client_tls: self.client_certificate.clone(),
            root_cert: self.root_certificate.clone(),
        };
        redis::Client::build_with_tls(self.url.as_str(), certificates).map_err(|error| {
            // Which input failed, in our words: redis-rs's text may quote PEM bytes.
            let text = error.to_string();
            let why = if error.kind() == redis::ErrorKind::InvalidClientConfig {
                "the Redis URL is not valid"
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
        })
    }
}
