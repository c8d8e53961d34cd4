//! `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): the client proves who it is
//! with a short JWT signed by its private key, so no shared secret exists to leak.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::signing_key::SigningKey;
use crate::error::{AuthError, ConfigError};
use crate::secret::ClientAssertion;
use crate::state::random::random_token;

/// `client_assertion_type` for a JWT client assertion (RFC 7523 §2.2).
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid: long enough for one token request, short enough that a
/// captured one is soon worthless (servers also refuse a reused `jti`).
const LIFETIME_SECS: u64 = 60;

/// The private key that signs the client's assertions for
/// [`ClientAuth::PrivateKeyJwt`](super::ClientAuth::PrivateKeyJwt): RS256 (an RSA key of
/// 2048 to 8192 bits) or ES256 (a P-256 key), read from PEM text when it is made, with the
/// key id (`kid`) the provider knows it by.
///
/// Register the public half with the provider (as a JWK: [`public_jwk`](Self::public_jwk)),
/// and the client's `token_endpoint_auth_method` as `private_key_jwt`. `Debug` never shows
/// the key.
///
/// ```
/// use socialauth::{ClientAssertionKey, ClientAuth, Oidc};
/// # fn main() -> Result<(), socialauth::ConfigError> {
/// # use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
/// # use base64::Engine as _;
/// # let der = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap().to_pkcs8v1().unwrap();
/// # let der = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
/// # let pem = format!("-----BEGIN PRIVATE KEY-----\n{der}\n-----END PRIVATE KEY-----\n");
/// // let pem = std::fs::read_to_string("client-key.pem")?;
/// let key = ClientAssertionKey::es256_pem(&pem)?.key_id("2025-01");
/// println!("register this public key: {}", key.public_jwk());
/// let provider = Oidc::new("https://sso.example.com", "client-id", "")
///     .client_auth(ClientAuth::private_key_jwt(key));
/// # let _ = provider;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ClientAssertionKey {
    key: Arc<SigningKey>,
    key_id: Option<String>,
}

impl ClientAssertionKey {
    /// An RS256 key from the PEM text of an RSA private key: PKCS#8 (`BEGIN PRIVATE KEY`,
    /// what `openssl genpkey -algorithm RSA` writes) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    /// Anything else, an RSA key shorter than 2048 bits included, is a [`ConfigError`].
    pub fn rs256_pem(pem: &str) -> Result<Self, ConfigError> {
        let key = SigningKey::rs256_pem(pem).ok_or(ConfigError::InvalidSetting {
            setting: "client assertion key",
            reason:
                "must be the PEM text of an RSA private key (PKCS#8 or PKCS#1), 2048 to 8192 bits",
        })?;
        Ok(Self::new(key))
    }

    /// An ES256 key from the PEM text of a P-256 private key: PKCS#8 (`BEGIN PRIVATE KEY`)
    /// or SEC 1 (`BEGIN EC PRIVATE KEY`, what `openssl ecparam -genkey -name prime256v1`
    /// writes). Anything else, a key on another curve included, is a [`ConfigError`].
    pub fn es256_pem(pem: &str) -> Result<Self, ConfigError> {
        let key = SigningKey::es256_pem(pem).ok_or(ConfigError::InvalidSetting {
            setting: "client assertion key",
            reason: "must be the PEM text of a P-256 private key (PKCS#8 or SEC 1)",
        })?;
        Ok(Self::new(key))
    }

    fn new(key: SigningKey) -> Self {
        Self {
            key: Arc::new(key),
            key_id: None,
        }
    }

    /// The key id sent as the assertions' `kid` header, as registered at the provider
    /// (default: none sent; a provider with one key for the client finds it without).
    pub fn key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// The JWS algorithm of the assertions: `RS256` or `ES256`.
    pub fn algorithm(&self) -> jsonwebtoken::Algorithm {
        self.key.algorithm()
    }

    /// The public half as a JWK (RFC 7517) with `kid`, `use` and `alg`: what to register at
    /// the provider (in the client's `jwks`). It holds no private part.
    pub fn public_jwk(&self) -> serde_json::Value {
        self.key.public_jwk(self.key_id.as_deref())
    }

    /// A new assertion: `iss` and `sub` the client id, `aud` the given audience, a random
    /// `jti`, issued `now` and valid for a minute.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
    ) -> Result<ClientAssertion, AuthError> {
        let jti = random_token()?;
        let claims = AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud: audience,
            jti: &jti,
            iat: now,
            exp: now + LIFETIME_SECS,
        };
        self.key
            .sign(self.key_id.as_deref(), &claims)
            .map(ClientAssertion::new)
            .map_err(|_| {
                tracing::error!("could not sign the client assertion");
                AuthError::internal("could not sign the client assertion")
            })
    }
}

/// The claims RFC 7523 §3 requires of a client assertion.
#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
    iat: u64,
    exp: u64,
}

/// Keys are equal when they are the same key pair (their public halves are equal), for the
/// same algorithm and key id.
impl PartialEq for ClientAssertionKey {
    fn eq(&self, other: &Self) -> bool {
        self.key.algorithm() == other.key.algorithm()
            && self.key_id == other.key_id
            && self.key.public_key_bytes() == other.key.public_key_bytes()
    }
}

impl Eq for ClientAssertionKey {}

impl fmt::Debug for ClientAssertionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAssertionKey")
            .field("key_id", &self.key_id)
            .field("key", &self.key)
            .finish()
    }
}

/// What a client assertion names as its audience (`aud`).
///
/// draft-ietf-oauth-rfc7523bis (which updates RFC 7523 after the "audience injection" attacks,
/// CVE-2025-27370 and CVE-2025-27371) has a client name the authorization server's issuer
/// identifier, alone: an assertion naming a URL a malicious server's metadata chose (its
/// "token endpoint" pointing at another server) could be replayed there. The default follows
/// it wherever there is an issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AssertionAudience {
    /// The issuer identifier for an OpenID Connect provider ([`Oidc`](crate::Oidc) and its
    /// presets: the configured issuer, which the discovery document must name exactly), and
    /// the token endpoint URL for a plain OAuth 2.0 client, which has no issuer and whose
    /// token endpoint is configured, never discovered. The default.
    #[default]
    Standard,
    /// The token endpoint URL, as sent to (from discovery, for [`Oidc`](crate::Oidc)), for a
    /// provider that does not take its issuer as the audience yet (Microsoft Entra ID and
    /// Okta ask for their token endpoint). The layer sends an assertion only to the URL it
    /// names, and only for a token request, so no other server receives one it would accept.
    TokenEndpoint,
    /// The issuer URL, as configured. Only for [`Oidc`](crate::Oidc) and its presets: a
    /// plain OAuth 2.0 client has no issuer, and refuses it when built.
    Issuer,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::signing_key::tests::{header_and_claims, p256_pem, rsa_pem};

    fn claims_of(assertion: &ClientAssertion) -> (serde_json::Value, serde_json::Value) {
        header_and_claims(assertion.secret())
    }

    #[test]
    fn an_assertion_names_the_client_the_audience_and_a_fresh_jti_for_a_minute() {
        let key = ClientAssertionKey::rs256_pem(&rsa_pem())
            .unwrap()
            .key_id("k1");
        let aud = "https://sso.example/token";
        let first = key.assertion("client", aud, 1_000_000).unwrap();
        let (header, claims) = claims_of(&first);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], "k1");
        assert_eq!(claims["iss"], "client");
        assert_eq!(claims["sub"], "client");
        assert_eq!(claims["aud"], aud);
        assert_eq!(claims["iat"], 1_000_000);
        assert_eq!(claims["exp"], 1_000_060);
        assert_eq!(claims["jti"].as_str().map(str::len), Some(43));
        let second = claims_of(&key.assertion("client", aud, 1_000_000).unwrap()).1;
        assert_ne!(claims["jti"], second["jti"]);
    }

    #[test]
    fn bad_keys_are_config_errors_and_debug_hides_the_key() {
        assert!(matches!(
            ClientAssertionKey::rs256_pem("not a key"),
            Err(ConfigError::InvalidSetting {
                setting: "client assertion key",
                ..
            })
        ));
        assert!(ClientAssertionKey::es256_pem(&rsa_pem()).is_err());
        assert!(ClientAssertionKey::rs256_pem(&p256_pem()).is_err());
        let pem = p256_pem();
        let key = ClientAssertionKey::es256_pem(&pem).unwrap().key_id("k1");
        let debug = format!("{key:?}");
        assert_eq!(
            debug,
            r#"ClientAssertionKey { key_id: Some("k1"), key: SigningKey { algorithm: ES256, key: KeyPair([redacted]) } }"#
        );
        assert_eq!(key.algorithm(), jsonwebtoken::Algorithm::ES256);
        assert_eq!(key.public_jwk()["kid"], "k1");
    }

    #[test]
    fn keys_are_equal_when_they_are_the_same_key_and_id() {
        let pem = p256_pem();
        let a = ClientAssertionKey::es256_pem(&pem).unwrap();
        assert_eq!(a, ClientAssertionKey::es256_pem(&pem).unwrap());
        assert_ne!(a, ClientAssertionKey::es256_pem(&p256_pem()).unwrap());
        assert_ne!(a, a.clone().key_id("k1"));
    }
}
