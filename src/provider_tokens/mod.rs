//! [`ProviderTokens`]: the signed-in user's provider tokens, for a handler to call the
//! provider's API on the user's behalf, refreshed by the layer when they expire.
//!
//! With [`keep_provider_tokens`](crate::SocialAuthLayerBuilder::keep_provider_tokens) on, a
//! login also sets a second cookie (`__Host-socialauth-tokens`: HttpOnly, Secure,
//! SameSite=Lax, encrypted and authenticated, and bound to the sign-in's session id) with the
//! provider's tokens, and every signed-in request that carries it gets a [`ProviderTokens`]
//! in its extensions (and an axum extractor). Nothing is decrypted unless the handler asks.
//!
//! **Refresh.** [`access_token`](ProviderTokens::access_token) refreshes an access token that
//! has expired (or will within 30 s) with the refresh token, once per sign-in at a time in
//! this process: concurrent requests wait for that one refresh and share its result, and the
//! response carries the rewritten cookie. Across replicas, two replicas may refresh the same
//! tokens at once; with a provider that rotates refresh tokens and refuses a spent one
//! (Google does not rotate; some providers keep the previous refresh token valid for a grace
//! window, others do not), the slower replica's request gets
//! [`ProviderTokensError::Expired`] and the browser keeps the winner's cookie from the other
//! response. Route a user's requests to one replica (sticky sessions), or keep the tokens in
//! your database from the authorize hook, if that matters for your provider.
//!
//! **A refreshed ID token** replaces the login's only once checked as the login's was: an
//! OpenID Connect provider verifies its signature (the provider's JWKS), `iss`, `aud`,
//! `azp` and times (no `nonce`: a refresh answers no authorization request), and it must
//! name the login's user (the same `iss` and `sub`). A refresh answered with one that fails
//! is not kept: [`ProviderTokensError::Expired`].

mod cookie;
mod error;
mod refresh;
mod same_user;

use std::fmt;
use std::sync::{Arc, OnceLock};

use url::Url;

pub use self::error::ProviderTokensError;
pub(crate) use self::refresh::Refreshes;

use crate::error::AuthErrorKind;
use crate::identity::Identity;
use crate::oauth2::{AccessToken, RefreshToken};
use crate::provider::{ProviderContext, TokenSet};
use crate::settings::Settings;
use crate::state::pending_cookie::{LateCookie, PendingCookie};

/// Seconds before its expiry that an access token is refreshed.
const REFRESH_MARGIN_SECS: u64 = 30;

pub(crate) use self::cookie::{login_cookie, open};

/// The signed-in user's tokens at their provider: put in a request's extensions by the layer
/// when [`keep_provider_tokens`](crate::SocialAuthLayerBuilder::keep_provider_tokens) is on
/// and the request carries the tokens cookie of its sign-in. Cheap to clone.
///
/// ```
/// # #[cfg(feature = "axum")]
/// # mod demo {
/// use socialauth::ProviderTokens;
///
/// async fn repos(tokens: ProviderTokens) -> Result<String, socialauth::ProviderTokensError> {
///     let token = tokens.access_token().await?;
///     // GET https://api.github.com/user/repos with `Authorization: Bearer {token.secret()}`
///     # let _ = token;
///     Ok("...".into())
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct ProviderTokens {
    request: Arc<TokensRequest>,
}

/// What one request's [`ProviderTokens`] works from, and the cookie it may rewrite.
struct TokensRequest {
    settings: Arc<Settings>,
    identity: Identity,
    /// The tokens cookie's value as the request sent it.
    sealed: String,
    opened: OnceLock<Option<TokenSet>>,
    /// A refreshed tokens cookie, for the response.
    rewritten: LateCookie,
}

impl fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("provider", &self.request.identity.provider())
            .finish_non_exhaustive()
    }
}

impl ProviderTokens {
    /// The handle for one request; `rewritten` is read by the response.
    pub(crate) fn new(settings: Arc<Settings>, identity: Identity, sealed: String) -> Self {
        Self {
            request: Arc::new(TokensRequest {
                settings,
                identity,
                sealed,
                opened: OnceLock::new(),
                rewritten: LateCookie::default(),
            }),
        }
    }

    /// Where the response finds a tokens cookie rewritten by a refresh.
    pub(crate) fn rewritten(&self) -> LateCookie {
        self.request.rewritten.clone()
    }

    /// The tokens as the cookie holds them, possibly expired.
    pub fn current(&self) -> Result<TokenSet, ProviderTokensError> {
        let request = &*self.request;
        request
            .opened
            .get_or_init(|| {
                let settings = &request.settings;
                cookie::open(
                    &settings.keys,
                    settings.cookies.tokens_name(),
                    &request.sealed,
                    &request.identity,
                )
            })
            .clone()
            .ok_or(ProviderTokensError::Missing)
    }

    /// A valid access token: the cookie's, or, when it has expired (or will within 30 s), a
    /// new one from the provider with the refresh token.
    pub async fn access_token(&self) -> Result<AccessToken, ProviderTokensError> {
        let tokens = self.fresh().await?;
        Ok(tokens.access_token().clone())
    }

    /// The tokens, refreshed first when the access token has expired or will within 30 s.
    pub async fn fresh(&self) -> Result<TokenSet, ProviderTokensError> {
        let current = self.current()?;
        let settings = &self.request.settings;
        let now = settings.clock.now();
        if !current.expires_within(now, REFRESH_MARGIN_SECS) {
            return Ok(current);
        }
        let refresh_token = current
            .refresh_token()
            .ok_or(ProviderTokensError::Expired)?
            .clone();
        let identity = &self.request.identity;
        let session = identity.session_id().ok_or(ProviderTokensError::Missing)?;
        let refreshed = settings
            .refreshes
            .run(session, &refresh_token, now, || {
                self.refresh(&current, &refresh_token)
            })
            .await?;
        let cookie = cookie::set_cookie(settings, identity, &refreshed)
            .map_err(|_| ProviderTokensError::Internal)?;
        let name = settings.cookies.tokens_name();
        self.request.rewritten.set(PendingCookie { name, cookie });
        Ok(refreshed)
    }

    async fn refresh(
        &self,
        current: &TokenSet,
        refresh_token: &RefreshToken,
    ) -> Result<TokenSet, ProviderTokensError> {
        let settings = &self.request.settings;
        let name = self.request.identity.provider();
        let provider = settings
            .providers
            .iter()
            .find(|provider| provider.name() == name)
            .ok_or(ProviderTokensError::Missing)?;
        let nowhere = Url::parse("about:blank").map_err(|_| ProviderTokensError::Internal)?;
        let cx = ProviderContext {
            provider: name,
            outbound: &settings.outbound,
            callback_url: &nowhere,
            clock: &settings.clock,
        };
        match provider.refresh(&cx, refresh_token).await {
            Ok(response) => {
                let other_user = match (current.id_token(), response.id_token()) {
                    (Some(login), Some(refreshed)) => !same_user::same_user(login, refreshed),
                    _ => false,
                };
                if other_user {
                    tracing::warn!(
                        provider = name,
                        "the refreshed ID token names another user than the login's"
                    );
                    return Err(ProviderTokensError::Expired);
                }
                tracing::debug!(provider = name, "provider tokens refreshed");
                Ok(current.refreshed(&response, settings.clock.now()))
            }
            Err(error) => {
                tracing::warn!(
                    provider = name,
                    error = error.kind().code(),
                    "provider token refresh failed"
                );
                Err(match error.kind() {
                    AuthErrorKind::LoginFailed | AuthErrorKind::InvalidRequest => {
                        ProviderTokensError::Expired
                    }
                    AuthErrorKind::ProviderTimeout => ProviderTokensError::ProviderTimeout,
                    _ => ProviderTokensError::ProviderFailed,
                })
            }
        }
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S: Send + Sync> axum_core::extract::FromRequestParts<S> for ProviderTokens {
    type Rejection = ProviderTokensError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ProviderTokens>()
            .cloned()
            .ok_or(ProviderTokensError::Missing)
    }
}
