//! The OAuth 2.0 authorization-code flow (RFC 6749, PKCE per RFC 7636), written once for
//! every code-flow provider, and [`CodeFlowProvider`], the trait to implement for a provider
//! the crate does not ship.
//!
//! ```
//! use socialauth::oauth2::{Client, CodeFlowProvider, TokenResponse};
//! use socialauth::provider::{Profile, ProviderContext};
//! use socialauth::AuthError;
//!
//! /// "Sign in with Acme": endpoints, and Acme's JSON turned into a profile.
//! struct Acme {
//!     client: Client,
//!     me: url::Url,
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct AcmeUser {
//!     id: u64,
//!     display_name: Option<String>,
//! }
//!
//! impl CodeFlowProvider for Acme {
//!     fn name(&self) -> &str {
//!         "acme"
//!     }
//!
//!     fn client(&self) -> &Client {
//!         &self.client
//!     }
//!
//!     async fn profile(
//!         &self,
//!         cx: &ProviderContext<'_>,
//!         token: &TokenResponse,
//!     ) -> Result<Profile, AuthError> {
//!         let me: AcmeUser = cx.http().get_json(self.me.clone(), token.access_token()).await?;
//!         Ok(Profile::new(me.id.to_string()).name(me.display_name))
//!     }
//! }
//!
//! # fn main() -> Result<(), socialauth::ConfigError> {
//! let acme = Acme {
//!     client: Client::builder("client-id", "client-secret")
//!         .authorize_url("https://acme.test/oauth/authorize")
//!         .token_url("https://acme.test/oauth/token")
//!         .scope("profile")
//!         .build()?,
//!     me: socialauth::provider::endpoint("acme me", "https://api.acme.test/me")?,
//! };
//! let layer = socialauth::SocialAuthLayer::builder()
//!     .secret([7u8; 32])
//!     .provider(acme)
//!     .build()?;
//! # let _ = layer;
//! # Ok(())
//! # }
//! ```

use std::future::Future;

use crate::error::AuthError;
use crate::provider::{
    CallbackParams, FlowData, LoginProvider, LoginStart, Profile, ProviderContext, TokenSet,
};

mod authorize;
mod client;
mod client_assertion;
mod client_auth;
pub(crate) mod introspection;
pub(crate) mod signed_secret;
pub(crate) mod signing_key;
mod token_request;
mod token_response;

pub(crate) use self::authorize::{callback_key, check_authorize_params, AuthorizeRequest};
pub(crate) use self::client::{check_public_client_pkce, required_url};
pub use self::client::{Client, ClientBuilder};
pub use self::client_assertion::{AssertionAudience, ClientAssertionKey};
pub use self::client_auth::ClientAuth;
pub(crate) use self::client_auth::Credentials;
pub(crate) use self::token_request::{GrantType, TokenRequest};
pub use self::token_response::TokenResponse;
pub use crate::secret::{AccessToken, IdToken, RefreshToken};

/// An OAuth 2.0 authorization-code provider: its [`Client`] and how a token becomes a
/// [`Profile`]. Every such type is a [`LoginProvider`], and goes to
/// [`SocialAuthLayerBuilder::provider`](crate::SocialAuthLayerBuilder::provider) as it is.
///
/// The layer does the rest, the same way for every provider: a fresh `state` and PKCE pair
/// per login (PKCE unless the client turns it off), kept in the encrypted flow cookie and
/// checked at the callback; the token request with the client's authentication; refusals and
/// broken answers as JSON errors.
pub trait CodeFlowProvider: Send + Sync + 'static {
    /// The route name: the provider answers at `/auth/<name>`.
    fn name(&self) -> &str;

    /// The client registration and the provider's endpoints.
    fn client(&self) -> &Client;

    /// Describes the user the token belongs to, usually from one API call through
    /// [`ProviderContext::http`].
    fn profile(
        &self,
        cx: &ProviderContext<'_>,
        token: &TokenResponse,
    ) -> impl Future<Output = Result<Profile, AuthError>> + Send;
}

impl<P: CodeFlowProvider> LoginProvider for P {
    fn name(&self) -> &str {
        CodeFlowProvider::name(self)
    }

    async fn start(&self, cx: &ProviderContext<'_>) -> Result<LoginStart, AuthError> {
        self.client().start(cx)
    }

    async fn finish(
        &self,
        cx: &ProviderContext<'_>,
        callback: &CallbackParams,
        flow: &FlowData,
    ) -> Result<Profile, AuthError> {
        let code = callback.require("code", "the callback has no code")?;
        let token = self.client().exchange(cx, code, flow.secret()).await?;
        let profile = self.profile(cx, &token).await?;
        Ok(profile.with_tokens(TokenSet::from_response(&token, cx.now())))
    }

    async fn refresh(
        &self,
        cx: &ProviderContext<'_>,
        refresh_token: &RefreshToken,
    ) -> Result<TokenResponse, AuthError> {
        self.client().refresh(cx, refresh_token).await
    }
}
