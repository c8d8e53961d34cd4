//! Providers: what each one does at the start of a login and at its callback.
//!
//! Most apps pick a preset ([`Twitter`], [`X`], [`Apple`], [`Facebook`], [`GitHub`], [`Discord`],
//! [`Google`], [`Microsoft`], [`GitLab`], [`LinkedIn`], [`Slack`], [`Oidc`], [`OAuth2`]) and
//! hand it to
//! [`SocialAuthLayerBuilder::provider`](crate::SocialAuthLayerBuilder::provider). A provider
//! the crate does not ship is a type that implements one of two public traits:
//!
//! - [`CodeFlowProvider`](crate::oauth2::CodeFlowProvider), for any OAuth 2.0
//!   authorization-code provider: its [`Client`](crate::oauth2::Client) (endpoints parsed
//!   once) and how a token becomes a [`Profile`]. The layer runs the flow: `state`, PKCE,
//!   the token request, the errors. This is the one to implement.
//! - [`LoginProvider`], for another protocol: how a login starts and how its callback
//!   finishes.
//!
//! Either way, what the layer owns stays with the layer: the encrypted flow cookie, the
//! constant-time comparison of the callback's key with it, the flow's expiry, the capped,
//! no-redirect HTTP client ([`ProviderHttp`]), and the JSON error answers. A provider never
//! sees the layer's secret.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use url::Url;

use self::oauth2::{RefreshToken, TokenResponse};
use crate::error::{AuthError, AuthErrorKind, ConfigError};

#[macro_use]
mod config;
pub(crate) mod access_token;
pub(crate) mod backchannel;
mod callback;
pub(crate) mod claim_types;
mod context;
mod end_session;
mod http;
pub(crate) mod oauth1;
pub mod oauth2;
pub(crate) mod oidc;
pub(crate) mod presets;
mod profile;
mod start;
mod token_set;

pub use self::access_token::AccessTokens;
pub use self::callback::{CallbackKey, CallbackParams};
pub use self::context::{FlowData, ProviderContext};
pub use self::end_session::EndSessionRequest;
pub use self::http::{ProviderHttp, ProviderReply, ProviderRequest};
pub use self::presets::{
    Apple, AppleRevocation, Discord, Facebook, GitHub, GitLab, Google, LinkedIn, Microsoft, OAuth2,
    Slack, Twitter, DEFAULT_GRAPH_API_VERSION, SLACK_TEAM_ID, X,
};
pub use self::profile::Profile;
pub use self::start::LoginStart;
pub use self::token_set::TokenSet;
pub use jsonwebtoken::Algorithm;
pub use oidc::Oidc;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A way to sign users in: the two legs of a login, for any protocol.
///
/// Implement [`CodeFlowProvider`](crate::oauth2::CodeFlowProvider) instead for an OAuth 2.0
/// provider: every code-flow provider gets this trait from it, with `state` and PKCE made and
/// checked by the layer. Implement this one directly for another protocol (the crate's
/// OAuth 1.0a and OpenID Connect providers do).
///
/// The layer calls [`start`](Self::start) for `GET /auth/<name>?login=start`, keeps the
/// returned [`LoginStart`]'s key and secret in the encrypted flow cookie, and redirects the
/// browser. At the callback it reads the key with [`callback_key`](Self::callback_key),
/// opens the flow cookie of that key, checks that it is this provider's, unexpired, and holds
/// the same key (in constant time), and only then calls [`finish`](Self::finish).
pub trait LoginProvider: Send + Sync + 'static {
    /// The route name: the provider answers at `/auth/<name>`. 1 to 32 of `a-z0-9-_`.
    fn name(&self) -> &str;

    /// Begins a login: where to send the browser and what the callback must echo.
    fn start(
        &self,
        cx: &ProviderContext<'_>,
    ) -> impl Future<Output = Result<LoginStart, AuthError>> + Send;

    /// Reads, from a callback, the key of its login attempt, or the refusal it reports.
    /// The default reads an OAuth 2.0 authorization response (`state`, or `error`).
    fn callback_key<'q>(&self, callback: &'q CallbackParams) -> Result<CallbackKey<'q>, AuthError> {
        oauth2::callback_key(callback)
    }

    /// Whether the provider sends its callback as a form `POST` (OpenID Connect's
    /// `response_mode=form_post`, which Apple requires). The layer then accepts a
    /// size-capped form body on this route, and carries a cross-site `POST` over to a
    /// same-site one so the flow cookie (`SameSite=Lax`) is sent. Default `false`: `GET`
    /// only.
    fn form_post(&self) -> bool {
        false
    }

    /// Completes a login whose flow cookie the layer has checked: exchanges the grant and
    /// describes the user.
    fn finish(
        &self,
        cx: &ProviderContext<'_>,
        callback: &CallbackParams,
        flow: &FlowData,
    ) -> impl Future<Output = Result<Profile, AuthError>> + Send;

    /// Trades a refresh token for new tokens (RFC 6749 §6), for
    /// [`ProviderTokens`](crate::ProviderTokens). Every code-flow and OpenID Connect provider
    /// has it, with the client's authentication; the default says the provider cannot. A
    /// refresh has no callback: `cx.callback_url()` is `about:blank` here.
    fn refresh(
        &self,
        cx: &ProviderContext<'_>,
        refresh_token: &RefreshToken,
    ) -> impl Future<Output = Result<TokenResponse, AuthError>> + Send {
        let _ = (cx, refresh_token);
        async {
            Err(AuthError::new(
                AuthErrorKind::InvalidRequest,
                "this provider cannot refresh tokens",
            ))
        }
    }

    /// Where to send the browser to end the user's session at the provider too, once
    /// `POST /auth/logout` has cleared the layer's cookies (OpenID Connect RP-Initiated
    /// Logout: [`Oidc::provider_logout`]). `Ok(None)`, the default, leaves the logout
    /// local. An error is logged and the logout stays local as well: the user is signed out
    /// of the app either way.
    fn end_session_url(
        &self,
        cx: &ProviderContext<'_>,
        request: &EndSessionRequest<'_>,
    ) -> impl Future<Output = Result<Option<Url>, AuthError>> + Send {
        let _ = (cx, request);
        async { Ok(None) }
    }
}

/// [`LoginProvider`] with boxed futures, so the layer can keep providers of different types.
pub(crate) trait DynProvider: Send + Sync {
    fn name(&self) -> &str;
    fn start<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
    ) -> BoxFuture<'a, Result<LoginStart, AuthError>>;
    fn callback_key<'q>(&self, callback: &'q CallbackParams) -> Result<CallbackKey<'q>, AuthError>;
    fn form_post(&self) -> bool;
    fn finish<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        callback: &'a CallbackParams,
        flow: &'a FlowData,
    ) -> BoxFuture<'a, Result<Profile, AuthError>>;
    fn refresh<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        refresh_token: &'a RefreshToken,
    ) -> BoxFuture<'a, Result<TokenResponse, AuthError>>;
    fn end_session_url<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        request: &'a EndSessionRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<Url>, AuthError>>;
}

impl<P: LoginProvider> DynProvider for P {
    fn name(&self) -> &str {
        LoginProvider::name(self)
    }

    fn start<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
    ) -> BoxFuture<'a, Result<LoginStart, AuthError>> {
        Box::pin(LoginProvider::start(self, cx))
    }

    fn callback_key<'q>(&self, callback: &'q CallbackParams) -> Result<CallbackKey<'q>, AuthError> {
        LoginProvider::callback_key(self, callback)
    }

    fn form_post(&self) -> bool {
        LoginProvider::form_post(self)
    }

    fn finish<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        callback: &'a CallbackParams,
        flow: &'a FlowData,
    ) -> BoxFuture<'a, Result<Profile, AuthError>> {
        Box::pin(LoginProvider::finish(self, cx, callback, flow))
    }

    fn refresh<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        refresh_token: &'a RefreshToken,
    ) -> BoxFuture<'a, Result<TokenResponse, AuthError>> {
        Box::pin(LoginProvider::refresh(self, cx, refresh_token))
    }

    fn end_session_url<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        request: &'a EndSessionRequest<'a>,
    ) -> BoxFuture<'a, Result<Option<Url>, AuthError>> {
        Box::pin(LoginProvider::end_session_url(self, cx, request))
    }
}

/// A provider ready to be added to the layer: a preset, or any [`LoginProvider`].
///
/// Made with `.into()` (the builder does that for you). A preset's configuration is checked
/// and parsed when it becomes a `Provider`; a mistake is reported by
/// [`build`](crate::SocialAuthLayerBuilder::build) as a [`ConfigError`].
#[derive(Clone)]
pub struct Provider {
    pub(crate) built: Result<Arc<dyn DynProvider>, ConfigError>,
    /// With back-channel logout on (OpenID Connect only): the same provider, as the
    /// verifier of its logout tokens.
    pub(crate) backchannel: Option<Arc<dyn backchannel::BackchannelLogout>>,
    /// The same provider checking access tokens, when the app accepts its tokens.
    pub(crate) access_tokens: Option<Arc<dyn access_token::AccessTokenCheck>>,
}

impl Provider {
    /// A provider from a checked configuration, or the reason it is not one.
    pub(crate) fn checked<P: LoginProvider>(provider: Result<P, ConfigError>) -> Self {
        Self {
            built: provider.map(|p| Arc::new(p) as Arc<dyn DynProvider>),
            backchannel: None,
            access_tokens: None,
        }
    }

    /// A configuration that failed its checks, for `build()` to report.
    pub(crate) fn failed(error: ConfigError) -> Self {
        Self {
            built: Err(error),
            backchannel: None,
            access_tokens: None,
        }
    }

    /// The provider's route name: it answers at `/auth/<name>`. Empty for a configuration
    /// that failed its checks.
    pub fn name(&self) -> &str {
        match &self.built {
            Ok(provider) => provider.name(),
            Err(_) => "",
        }
    }
}

impl<P: LoginProvider> From<P> for Provider {
    fn from(provider: P) -> Self {
        Self::checked(Ok(provider))
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.built {
            Ok(provider) => f.debug_tuple("Provider").field(&provider.name()).finish(),
            Err(error) => f.debug_tuple("Provider").field(error).finish(),
        }
    }
}

/// Parses a configured endpoint URL: absolute, `http` or `https`, with a host, no fragment
/// and no user info.
///
/// ```
/// let url = socialauth::provider::endpoint("acme profile_url", "https://api.acme.test/me")?;
/// assert_eq!(url.host_str(), Some("api.acme.test"));
/// assert!(socialauth::provider::endpoint("acme profile_url", "/me").is_err());
/// # Ok::<(), socialauth::ConfigError>(())
/// ```
pub fn endpoint(setting: &'static str, value: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidUrl {
        setting,
        reason: format!("{value:?} {reason}"),
    };
    let url = Url::parse(value).map_err(|_| invalid("is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("is not http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host"));
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must have no fragment and no user info"));
    }
    Ok(url)
}

/// Checks a provider's route name: 1 to 32 of `a-z0-9-_`, and none of the layer's own routes.
pub(crate) fn check_name(name: &str) -> Result<(), ConfigError> {
    let ok = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok && !crate::routes::RESERVED.contains(&name) {
        Ok(())
    } else {
        Err(ConfigError::InvalidProviderName(name.to_owned()))
    }
}
