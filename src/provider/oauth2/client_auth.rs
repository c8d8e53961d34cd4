//! How a client proves who it is at the token endpoint: [`ClientAuth`], and the id and
//! secret it does that with.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::client_assertion::{AssertionAudience, ClientAssertionKey, ASSERTION_TYPE};
use crate::error::{AuthError, ConfigError};
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

/// The client's authentication of a form `POST` to one of the provider's endpoints (the
/// token endpoint, the introspection endpoint), as `auth` says: its parameters added to
/// `form`, and, for `client_secret_basic`, the `Authorization` header value to send.
/// `assertion_audience` is the `aud` of a `private_key_jwt` assertion, signed at `now`.
pub(crate) fn authenticate(
    auth: &ClientAuth,
    credentials: &Credentials,
    assertion_audience: &str,
    now: u64,
    form: &mut form_urlencoded::Serializer<'_, String>,
) -> Result<Option<String>, AuthError> {
    let client_id = &credentials.client_id;
    match auth {
        ClientAuth::Basic => {
            return Ok(Some(basic_credentials(
                client_id,
                &credentials.client_secret,
            )))
        }
        ClientAuth::Post => {
            form.append_pair("client_id", client_id)
                .append_pair("client_secret", credentials.client_secret.secret());
        }
        ClientAuth::PrivateKeyJwt { key, .. } => {
            let assertion = key.assertion(client_id, assertion_audience, now)?;
            form.append_pair("client_id", client_id)
                .append_pair("client_assertion_type", ASSERTION_TYPE)
                .append_pair("client_assertion", assertion.secret());
        }
        ClientAuth::PublicClient => {
            form.append_pair("client_id", client_id);
        }
    }
    Ok(None)
}

/// The client's form `POST` of `body` to `url` asking for JSON, with the `Authorization`
/// header [`authenticate`] gave, if any.
pub(crate) fn form_post(
    outbound: &crate::outbound::Outbound,
    url: url::Url,
    body: String,
    basic: Option<String>,
) -> reqwest::RequestBuilder {
    let request = outbound
        .client()
        .post(url)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(http::header::ACCEPT, "application/json");
    match basic {
        Some(basic) => request.header(http::header::AUTHORIZATION, basic),
        None => request,
    }
    .body(body)
}

/// `Authorization: Basic` for `client_secret_basic`: RFC 6749 §2.3.1 has the id and the
/// secret form-urlencoded before they are joined with `:` and base64-encoded.
fn basic_credentials(client_id: &str, client_secret: &ClientSecret) -> String {
    let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let secret: String =
        form_urlencoded::byte_serialize(client_secret.secret().as_bytes()).collect();
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_urlencoded_before_base64() {
        // RFC 6749 §2.3.1: "client_id:secret" with each part form-urlencoded.
        let header = basic_credentials("my id", &ClientSecret::new("s3:cr+t/é"));
        let encoded = header.strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "my+id:s3%3Acr%2Bt%2F%C3%A9");
    }
}
