//! Providers: what each one does at the start of a login and at its callback.
//!
//! Users pick a preset ([`Twitter`], [`Facebook`]) and hand it to
//! [`SocialAuthLayerBuilder::provider`](crate::SocialAuthLayerBuilder::provider), which takes
//! anything that converts into a [`Provider`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use url::Url;

use crate::error::{AuthError, ConfigError};
use crate::flow::FlowState;
use crate::outbound::Outbound;
use crate::secret::Secret;

pub(crate) mod callback;
pub(crate) mod oauth1;
pub(crate) mod oauth2;

mod facebook;
mod generic;
mod github;
mod google;
mod oidc;
mod twitter;

pub use facebook::{Facebook, DEFAULT_GRAPH_API_VERSION};
pub use generic::OAuth2;
pub use github::GitHub;
pub use google::Google;
pub use jsonwebtoken::Algorithm;
pub use oauth2::ClientAuth;
pub use oidc::Oidc;
pub use twitter::Twitter;

pub(crate) use callback::{CallbackKey, CallbackParams};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A configured provider, ready to be added to the layer.
///
/// Made from a preset with `.into()` (the builder does that for you).
#[derive(Clone)]
pub struct Provider {
    pub(crate) flow: Arc<dyn ProviderFlow>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Provider").field(&self.flow).finish()
    }
}

impl Provider {
    /// The provider's route name: it answers at `/auth/<name>`.
    pub fn name(&self) -> &str {
        self.flow.name()
    }
}

/// What the layer needs from every kind of provider.
pub(crate) trait ProviderFlow: Send + Sync + fmt::Debug {
    /// The route name.
    fn name(&self) -> &str;

    /// Checks the configuration once, when the layer is built.
    fn check(&self) -> Result<(), ConfigError>;

    /// Starts a login: talks to the provider if the protocol needs it and returns where to
    /// send the browser, plus what the flow cookie must keep.
    fn start<'a>(&'a self, cx: FlowContext<'a>) -> BoxFuture<'a, Result<Started, AuthError>>;

    /// Reads, from a callback, the value that identifies the login attempt, or the user's
    /// refusal.
    fn callback_key<'q>(&self, params: &'q CallbackParams) -> Result<CallbackKey<'q>, AuthError>;

    /// Completes a login whose flow cookie has been checked: exchanges the grant for an
    /// access token and fetches the user.
    fn finish<'a>(
        &'a self,
        cx: FlowContext<'a>,
        params: &'a CallbackParams,
        flow: FlowState,
    ) -> BoxFuture<'a, Result<Profile, AuthError>>;
}

/// What a provider step gets from the layer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowContext<'a> {
    pub(crate) outbound: &'a Outbound,
    /// This provider's route as the provider must call it back.
    pub(crate) callback_url: &'a str,
}

/// The outcome of a login start.
#[derive(Debug)]
pub(crate) struct Started {
    /// Where to send the browser.
    pub(crate) redirect_to: String,
    /// What the callback must echo (`state`, or the OAuth 1.0a request token).
    pub(crate) key: String,
    /// The PKCE verifier or the request-token secret.
    pub(crate) secret: Secret,
    /// The OpenID Connect `nonce` sent in the authorization request, if any.
    pub(crate) nonce: Option<String>,
}

/// The user as the provider describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) user_id: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
}

/// Parses a configured endpoint URL: absolute, `http` or `https`, with a host, no fragment.
pub(crate) fn endpoint(setting: &'static str, value: &str) -> Result<Url, ConfigError> {
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

/// [`endpoint`] at request time, for a URL already checked at build time.
pub(crate) fn checked_endpoint(setting: &'static str, value: &str) -> Result<Url, AuthError> {
    endpoint(setting, value).map_err(|_| AuthError::internal("a provider URL is misconfigured"))
}

/// Checks a provider's route name: 1 to 32 of `a-z0-9-_`, and not `logout` or `token`.
pub(crate) fn check_name(name: &str) -> Result<(), ConfigError> {
    let ok = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok && name != crate::settings::LOGOUT && name != crate::settings::TOKEN {
        Ok(())
    } else {
        Err(ConfigError::InvalidProviderName(name.to_owned()))
    }
}
