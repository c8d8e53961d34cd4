//! What a provider gets from the layer for one leg of a login.

use url::Url;

use super::http::ProviderHttp;
use crate::clock::Clock;
use crate::outbound::Outbound;
use crate::secret::FlowSecret;

/// The layer's side of one leg of a login, handed to a provider.
///
/// It carries the capped, no-redirect HTTP client every provider call goes through and the
/// URL the provider must call back. It never carries the layer's secret.
#[derive(Debug, Clone, Copy)]
pub struct ProviderContext<'a> {
    pub(crate) provider: &'a str,
    pub(crate) outbound: &'a Outbound,
    pub(crate) callback_url: &'a Url,
    pub(crate) clock: &'a Clock,
}

impl<'a> ProviderContext<'a> {
    /// The provider's route name, for logs.
    pub fn provider_name(&self) -> &'a str {
        self.provider
    }

    /// This provider's route as the provider must call it back (the OAuth `redirect_uri`):
    /// `public_url` plus `/auth/<name>`.
    pub fn callback_url(&self) -> &'a Url {
        self.callback_url
    }

    /// The HTTP client for calls to the provider: no redirects followed, a whole-request
    /// timeout, and a cap on the size of answers.
    pub fn http(&self) -> ProviderHttp<'a> {
        ProviderHttp {
            outbound: self.outbound,
        }
    }

    /// The current Unix time in seconds, from the layer's clock.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }
}

/// What the flow cookie kept between the start of a login and its callback, checked by the
/// layer before [`LoginProvider::finish`](super::LoginProvider::finish) sees it.
#[derive(Debug)]
pub struct FlowData {
    pub(crate) key: String,
    pub(crate) secret: FlowSecret,
    pub(crate) nonce: Option<String>,
}

impl FlowData {
    /// The attempt's key: the OAuth 2.0 `state`, or the OAuth 1.0a request token. The
    /// callback's key has already been compared with it.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The attempt's secret: the PKCE verifier, or the OAuth 1.0a request-token secret.
    pub fn secret(&self) -> &str {
        self.secret.secret()
    }

    /// The OpenID Connect `nonce` sent with the authorization request, if any.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }
}
