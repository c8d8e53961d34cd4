//! How a client proves who it is at the token endpoint: [`ClientAuth`], and the id and
//! secret it does that with.

use super::client_assertion::{AssertionAudience, ClientAssertionKey};
use crate::error::ConfigError;
use crate::secret::ClientSecret;

/// How the client authenticates itself to the token endpoint (RFC 6749 §2.3.1, RFC 7523).
///
/// ```
/// use socialauth::{ClientAuth, OAuth2};
/// let provider = OAuth2::new("corp", "client-id", "client-secret").client_auth(ClientAuth::Post);
/// # let _ = provider;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic authentication, the id and the secret each
    /// form-urlencoded first, as RFC 6749 §2.3.1 requires. The default, and the method every
    /// authorization server must support.
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the request body, for servers
    /// that do not take Basic authentication (Facebook, GitHub).
    Post,
    /// `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): no secret is sent. Each
    /// token request carries `client_id`, `client_assertion_type`
    /// (`urn:ietf:params:oauth:client-assertion-type:jwt-bearer`) and `client_assertion`, a
    /// JWT signed with `key`: `iss` and `sub` the client id, `aud` as `audience` says (by
    /// default the issuer of an OpenID Connect provider, as draft-ietf-oauth-rfc7523bis asks), a
    /// random `jti`, `iat` now and `exp` a minute later. The client secret given to the provider is
    /// not used (pass `""`).
    ///
    /// ```
    /// use socialauth::{AssertionAudience, ClientAssertionKey, ClientAuth, Oidc};
    /// # fn main() -> Result<(), socialauth::ConfigError> {
    /// # use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    /// # use base64::Engine as _;
    /// # let der = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap().to_pkcs8v1().unwrap();
    /// # let der = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    /// # let pem = format!("-----BEGIN PRIVATE KEY-----\n{der}\n-----END PRIVATE KEY-----\n");
    /// // let pem = std::fs::read_to_string("client-key.pem")?;
    /// let auth = ClientAuth::PrivateKeyJwt {
    ///     key: ClientAssertionKey::es256_pem(&pem)?.key_id("2025-01"),
    ///     audience: AssertionAudience::TokenEndpoint,   // for a provider that asks for it
    /// };
    /// let provider = Oidc::new("https://sso.example.com", "client-id", "").client_auth(auth);
    /// # let _ = provider;
    /// # Ok(())
    /// # }
    /// ```
    PrivateKeyJwt {
        /// The client's private key, its algorithm and key id.
        key: ClientAssertionKey,
        /// What the assertions name as `aud`.
        audience: AssertionAudience,
    },
    /// `none` (RFC 7591 §2): a public client, registered without a secret. The token request
    /// carries `client_id` and no credential at all; PKCE is then what binds the code to this
    /// login, so a provider configured so without PKCE is refused when the layer is built.
    /// For a provider app registered as a public client (a Slack app with PKCE turned on:
    /// [`Slack::public_client`](crate::Slack::public_client)); a confidential app should keep
    /// its secret.
    PublicClient,
}

impl ClientAuth {
    /// [`PrivateKeyJwt`](Self::PrivateKeyJwt) with `key`, naming the audience
    /// draft-ietf-oauth-rfc7523bis asks for ([`AssertionAudience::Standard`]): the issuer of an
    /// OpenID Connect provider, the token endpoint of a plain OAuth 2.0 one.
    pub fn private_key_jwt(key: ClientAssertionKey) -> Self {
        Self::PrivateKeyJwt {
            key,
            audience: AssertionAudience::Standard,
        }
    }
}

/// The client's id and secret. `Debug` never shows the secret.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
}

impl Credentials {
    /// Credentials with a non-empty client id.
    pub(crate) fn new(
        setting: &'static str,
        client_id: String,
        client_secret: ClientSecret,
    ) -> Result<Self, ConfigError> {
        if client_id.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting,
                reason: "must not be empty",
            });
        }
        Ok(Self {
            client_id,
            client_secret,
        })
    }
}
