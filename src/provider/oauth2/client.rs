//! [`Client`]: one OAuth 2.0 client's registration at its provider, checked and parsed once.

use url::Url;

use super::authorize::{check_authorize_params, AuthorizeRequest};
use super::client_assertion::AssertionAudience;
use super::client_auth::{ClientAuth, Credentials};
use super::token_request::{GrantType, TokenRequest};
use super::token_response::TokenResponse;
use crate::error::{AuthError, ConfigError};
use crate::provider::{endpoint, LoginStart, ProviderContext};
use crate::secret::{ClientSecret, RefreshToken};

/// A registered OAuth 2.0 client and its provider's two endpoints, parsed when built.
///
/// The layer runs the authorization-code flow with it for every
/// [`CodeFlowProvider`](super::CodeFlowProvider): `state` and PKCE (S256) on every login
/// (unless [`pkce(false)`](ClientBuilder::pkce)), the token request with the configured
/// [`ClientAuth`], the token answer read strictly (an `error` member is a refused login, even
/// with status 200; a token type other than `Bearer` is refused).
///
/// ```
/// use socialauth::oauth2::Client;
/// let client = Client::builder("client-id", "client-secret")
///     .authorize_url("https://sso.example.com/oauth/authorize")
///     .token_url("https://sso.example.com/oauth/token")
///     .scope("read_user")
///     .build()?;
/// assert_eq!(client.client_id(), "client-id");
/// # Ok::<(), socialauth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) credentials: Credentials,
    pub(crate) auth: ClientAuth,
    pub(crate) authorize_url: Url,
    pub(crate) token_url: Url,
    pub(crate) scope: String,
    pub(crate) authorize_params: Vec<(String, String)>,
    /// Logins send a PKCE challenge and the token request its verifier.
    pub(crate) pkce: bool,
}

impl Client {
    /// A client with its id and secret at the provider; set both endpoints, then
    /// [`build`](ClientBuilder::build).
    pub fn builder(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> ClientBuilder {
        ClientBuilder {
            client_id: client_id.into(),
            client_secret: ClientSecret::new(client_secret),
            authorize_url: String::new(),
            token_url: String::new(),
            scope: String::new(),
            auth: ClientAuth::default(),
            authorize_params: Vec::new(),
            pkce: true,
        }
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.credentials.client_id
    }

    /// The authorization request for one login, with a fresh `state` and PKCE pair.
    pub(crate) fn start(&self, cx: &ProviderContext<'_>) -> Result<LoginStart, AuthError> {
        AuthorizeRequest {
            authorize_url: &self.authorize_url,
            client_id: &self.credentials.client_id,
            redirect_uri: cx.callback_url().as_str(),
            scope: &self.scope,
            extra: &self.authorize_params,
            with_nonce: false,
            with_pkce: self.pkce,
        }
        .start()
    }

    /// Exchanges the callback's `code`, with the flow's PKCE verifier when the login used
    /// PKCE.
    pub(crate) async fn exchange(
        &self,
        cx: &ProviderContext<'_>,
        code: &str,
        verifier: &str,
    ) -> Result<TokenResponse, AuthError> {
        let grant = GrantType::AuthorizationCode {
            redirect_uri: cx.callback_url().as_str(),
            code,
            verifier: self.pkce.then_some(verifier),
        };
        self.token_request(cx, grant).send(cx.outbound).await
    }

    /// Trades a refresh token for new tokens at the token endpoint.
    pub(crate) async fn refresh(
        &self,
        cx: &ProviderContext<'_>,
        refresh_token: &RefreshToken,
    ) -> Result<TokenResponse, AuthError> {
        let grant = GrantType::RefreshToken { refresh_token };
        self.token_request(cx, grant).send(cx.outbound).await
    }

    fn token_request<'a>(
        &'a self,
        cx: &ProviderContext<'a>,
        grant: GrantType<'a>,
    ) -> TokenRequest<'a> {
        TokenRequest {
            provider: cx.provider_name(),
            token_url: &self.token_url,
            credentials: &self.credentials,
            auth: &self.auth,
            // `build` refused the issuer as audience: a plain OAuth 2.0 client has none.
            assertion_audience: self.token_url.as_str(),
            now: cx.now(),
            grant,
        }
    }
}

/// Configures a [`Client`]; every URL is checked and parsed by [`build`](Self::build).
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    client_id: String,
    client_secret: ClientSecret,
    authorize_url: String,
    token_url: String,
    scope: String,
    auth: ClientAuth,
    authorize_params: Vec<(String, String)>,
    pkce: bool,
}

impl ClientBuilder {
    setters! {
        /// The authorization endpoint the browser is sent to (required).
        authorize_url => authorize_url: String;

        /// The token endpoint the code is exchanged at (required).
        token_url => token_url: String;

        /// The `scope` asked for, as the provider spells it (default: none sent).
        scope => scope: String;

        /// How the client authenticates to the token endpoint (default [`ClientAuth::Basic`]).
        client_auth => auth: ClientAuth;
    }

    /// Adds a parameter to the authorization request, e.g. `prompt=consent`. Parameters
    /// the flow sets itself (`state`, `scope`, `redirect_uri`, PKCE, ...) are refused by
    /// [`build`](Self::build).
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.push((name.into(), value.into()));
        self
    }

    /// Whether logins use PKCE (RFC 7636, S256): on by default. **Weakens security** when
    /// off: for a provider that refuses PKCE for the app (LinkedIn answers a `code_verifier`
    /// with `401 invalid_client` unless it enabled PKCE for the app). `state` still binds the
    /// callback to the browser that started the login, but a code stolen from the callback
    /// (a leaked log, a referrer) can then be redeemed by whoever holds it with this app's
    /// credentials, in their own login. A [`ClientAuth::PublicClient`] needs PKCE:
    /// [`build`](Self::build) refuses one without.
    ///
    /// ```
    /// use socialauth::oauth2::Client;
    /// let client = Client::builder("client-id", "client-secret")
    ///     .authorize_url("https://sso.example.com/oauth/authorize")
    ///     .token_url("https://sso.example.com/oauth/token")
    ///     .pkce(false)
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), socialauth::ConfigError>(())
    /// ```
    pub fn pkce(mut self, on: bool) -> Self {
        self.pkce = on;
        self
    }

    /// Adds several authorization parameters (see [`authorize_param`](Self::authorize_param)).
    pub(crate) fn authorize_params(mut self, params: Vec<(String, String)>) -> Self {
        self.authorize_params.extend(params);
        self
    }

    /// Checks the configuration: a client id, two absolute http(s) endpoints, no reserved
    /// authorization parameter, no [`AssertionAudience::Issuer`] (there is none), and PKCE
    /// for a [`ClientAuth::PublicClient`].
    pub fn build(self) -> Result<Client, ConfigError> {
        let credentials = Credentials::new("client_id", self.client_id, self.client_secret)?;
        check_authorize_params("authorize_param", &self.authorize_params)?;
        check_public_client_pkce("client_auth", &self.auth, self.pkce)?;
        if let ClientAuth::PrivateKeyJwt {
            audience: AssertionAudience::Issuer,
            ..
        } = self.auth
        {
            return Err(ConfigError::InvalidSetting {
                setting: "client_auth",
                reason: "a plain OAuth 2.0 client has no issuer: name the token endpoint as the audience",
            });
        }
        Ok(Client {
            credentials,
            auth: self.auth,
            authorize_url: required_url("authorize_url", &self.authorize_url)?,
            token_url: required_url("token_url", &self.token_url)?,
            scope: self.scope,
            authorize_params: self.authorize_params,
            pkce: self.pkce,
        })
    }
}

/// A public client (no secret) without PKCE would let anyone holding a code redeem it.
pub(crate) fn check_public_client_pkce(
    setting: &'static str,
    auth: &ClientAuth,
    pkce: bool,
) -> Result<(), ConfigError> {
    if matches!(auth, ClientAuth::PublicClient) && !pkce {
        return Err(ConfigError::InvalidSetting {
            setting,
            reason: "a public client (no secret) needs PKCE: turn pkce back on",
        });
    }
    Ok(())
}

/// A URL setting that must be there.
pub(crate) fn required_url(setting: &'static str, value: &str) -> Result<Url, ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::InvalidSetting {
            setting,
            reason: "is required",
        });
    }
    endpoint(setting, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::ClientAssertionKey;

    #[test]
    fn a_client_needs_an_id_two_urls_and_no_reserved_parameter() {
        let complete = || {
            Client::builder("id", "secret")
                .authorize_url("https://sso.example/authorize")
                .token_url("https://sso.example/token")
        };
        assert!(complete().build().is_ok());
        assert!(Client::builder("id", "secret").build().is_err());
        assert!(complete().token_url("/token").build().is_err());
        assert!(complete().authorize_param("state", "x").build().is_err());
        assert!(Client::builder("", "secret")
            .authorize_url("https://sso.example/authorize")
            .token_url("https://sso.example/token")
            .build()
            .is_err());
    }

    #[test]
    fn a_plain_client_has_no_issuer_to_name_as_assertion_audience() {
        use crate::oauth2::signing_key::tests::p256_pem;
        let key = || ClientAssertionKey::es256_pem(&p256_pem()).unwrap();
        let with = |auth| {
            Client::builder("id", "")
                .authorize_url("https://sso.example/authorize")
                .token_url("https://sso.example/token")
                .client_auth(auth)
                .build()
        };
        assert!(with(ClientAuth::private_key_jwt(key())).is_ok());
        let issuer = ClientAuth::PrivateKeyJwt {
            key: key(),
            audience: AssertionAudience::Issuer,
        };
        assert!(matches!(
            with(issuer),
            Err(ConfigError::InvalidSetting {
                setting: "client_auth",
                ..
            })
        ));
    }

    #[test]
    fn a_public_client_needs_pkce() {
        let with = |pkce| {
            Client::builder("id", "")
                .authorize_url("https://sso.example/authorize")
                .token_url("https://sso.example/token")
                .client_auth(ClientAuth::PublicClient)
                .pkce(pkce)
                .build()
        };
        assert!(with(true).is_ok());
        assert!(matches!(
            with(false),
            Err(ConfigError::InvalidSetting {
                setting: "client_auth",
                ..
            })
        ));
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", Client::builder("id", "hunter2"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
