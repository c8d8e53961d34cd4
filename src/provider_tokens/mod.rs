//! [`ProviderTokens`]: the signed-in user's provider tokens, for a handler to call the
//! provider's API on the user's behalf, refreshed by the layer when they expire.
//!
//! With [`keep_provider_tokens`](crate::SocialAuthLayerBuilder::keep_provider_tokens) on, a
//! login also sets a second cookie (`__Host-socialauth-tokens`: HttpOnly, Secure,
//! SameSite=Lax, encrypted and authenticated, and bound to the sign-in's session id) with the
//! provider's tokens, split into numbered chunks (`__Host-socialauth-tokens.0`, `.1`, ...)
//! when one cookie cannot hold them, and every signed-in request that carries it gets a
//! [`ProviderTokens`] in its extensions (and an axum extractor). Nothing is decrypted unless
//! the handler asks.
//!
//! **Size.** Enterprise providers issue large tokens: Keycloak a JWT access token of about
//! 1.4-1.8 KB, a JWT refresh token of about 0.7 KB and an ID token of 1.2-1.5 KB; Entra ID an
//! access token of 1.5-2.5 KB, a refresh token of 1.1-1.7 KB and an ID token of 1.2-1.5 KB.
//! Sealed, that is 4.5-7.5 KB, more than a default nginx passes. The tokens kept are cut down
//! to the [`CookieBudget`] in the order [`KeepTokens::Fitting`] says: the ID token first, then
//! the access token, keeping the refresh token alone ([`TokensKept::RefreshTokenOnly`]):
//! access tokens then come from a refresh on first use in each process and are held in that
//! process's memory per sign-in until they expire (at most 10,000 sign-ins per process).
//! [`ProviderTokens::kept`] says what was kept.
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
//! your database from the authorize hook, if that matters for your provider. Keeping the
//! refresh token alone, every replica refreshes once per sign-in per access-token lifetime,
//! so two replicas refreshing with the same cookie at once is no longer rare (a page whose
//! first requests reach two replicas): Entra ID, which rotates refresh tokens but keeps the
//! previous one valid, and Keycloak with "Revoke Refresh Token" off (its default) take that;
//! a provider that refuses a spent refresh token needs sticky sessions in that mode.
//!
//! **A refreshed ID token** replaces the login's only once checked as the login's was: an
//! OpenID Connect provider verifies its signature (the provider's JWKS), `iss`, `aud`,
//! `azp` and times (no `nonce`: a refresh answers no authorization request), and it must
//! name the login's user (the same `iss` and `sub`). A refresh answered with one that fails
//! is not kept: [`ProviderTokensError::Expired`].

mod budget;
mod cookie;
mod error;
mod held;
mod keep;
mod refresh;
mod same_user;

use std::fmt;
use std::sync::{Arc, OnceLock};

use url::Url;

pub use self::budget::CookieBudget;
pub use self::error::ProviderTokensError;
pub use self::keep::{KeepTokens, TokensKept};
pub(crate) use self::refresh::Refreshes;

pub(crate) use self::cookie::Held;
use self::cookie::{Opened, ToKeep};
use crate::error::AuthErrorKind;
use crate::identity::Identity;
use crate::oauth2::{AccessToken, RefreshToken};
use crate::provider::{DynProvider, ProviderContext, TokenSet};
use crate::settings::Settings;
use crate::state::pending_cookie::{LateCookie, PendingCookie};
use crate::state::session::SessionId;
use crate::tenants::{Failure, Lookup};

/// Seconds before its expiry that an access token is refreshed.
const REFRESH_MARGIN_SECS: u64 = 30;

pub(crate) use self::budget::Cost;
pub(crate) use self::cookie::{login_cookies, open, read, removals};
pub(crate) use self::held::HeldAccessTokens;

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

/// What one request's [`ProviderTokens`] works from, and the cookies it may rewrite.
struct TokensRequest {
    settings: Arc<Settings>,
    identity: Identity,
    /// The tokens cookie's value as the request sent it (its chunks joined).
    sealed: String,
    /// Which tokens cookies the request carried: what a rewrite clears.
    carried: crate::state::chunked::Carried,
    /// The length of the request's identity cookie, which a rewrite's budget counts.
    identity_len: usize,
    opened: OnceLock<Option<Opened>>,
    /// Refreshed tokens cookies, for the response.
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
    /// The handle for one request carrying `sealed` (and the tokens cookies `carried`);
    /// `rewritten` is read by the response.
    pub(crate) fn new(
        settings: Arc<Settings>,
        identity: Identity,
        sealed: String,
        carried: crate::state::chunked::Carried,
        identity_len: usize,
    ) -> Self {
        Self {
            request: Arc::new(TokensRequest {
                settings,
                identity,
                sealed,
                carried,
                identity_len,
                opened: OnceLock::new(),
                rewritten: LateCookie::default(),
            }),
        }
    }

    /// Where the response finds tokens cookies rewritten by a refresh.
    pub(crate) fn rewritten(&self) -> LateCookie {
        self.request.rewritten.clone()
    }

    fn opened(&self) -> Result<&Opened, ProviderTokensError> {
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
            .as_ref()
            .ok_or(ProviderTokensError::Missing)
    }

    /// Which of the sign-in's tokens the layer kept ([`KeepTokens`] and the
    /// [`CookieBudget`] decide at the login).
    pub fn kept(&self) -> Result<TokensKept, ProviderTokensError> {
        Ok(self.opened()?.held.kept())
    }

    /// Whether the provider's ID token of the sign-in is available
    /// ([`TokenSet::id_token`] of [`current`](Self::current) and [`fresh`](Self::fresh)):
    /// `false` when the provider issued none, or the layer dropped it to fit the cookie
    /// budget (logout at the provider then sends `logout_hint` instead of `id_token_hint`).
    pub fn id_token_available(&self) -> bool {
        self.opened().is_ok_and(
            |opened| matches!(&opened.held, Held::All(tokens) if tokens.id_token().is_some()),
        )
    }

    /// The tokens known without calling the provider, possibly expired: the cookie's or,
    /// when it keeps the refresh token alone ([`TokensKept::RefreshTokenOnly`]), with the
    /// access token this process holds for the sign-in. In that mode, before this process
    /// has refreshed for the sign-in there is no access token to give:
    /// [`ProviderTokensError::Expired`] (call [`fresh`](Self::fresh), which refreshes).
    pub fn current(&self) -> Result<TokenSet, ProviderTokensError> {
        let opened = self.opened()?;
        let session = self
            .request
            .identity
            .session_id()
            .ok_or(ProviderTokensError::Missing)?;
        self.known(opened, session, self.request.settings.clock.now())
            .ok_or(ProviderTokensError::Expired)
    }

    /// The tokens of `opened` with the access token this process holds, when the cookie
    /// keeps the refresh token alone.
    fn known(&self, opened: &Opened, session: SessionId, now: u64) -> Option<TokenSet> {
        match &opened.held {
            Held::All(tokens) | Held::WithoutIdToken(tokens) => Some(tokens.clone()),
            Held::RefreshTokenOnly(refresh_token) => self
                .request
                .settings
                .held_access_tokens
                .get(session, now)
                .map(|tokens| tokens.with_refresh_token(refresh_token.clone())),
        }
    }

    /// A valid access token: the cookie's (or the one this process holds for the sign-in),
    /// or, when it has expired (or will within 30 s), a new one from the provider with the
    /// refresh token.
    pub async fn access_token(&self) -> Result<AccessToken, ProviderTokensError> {
        let tokens = self.fresh().await?;
        Ok(tokens.access_token().clone())
    }

    /// The tokens, refreshed first when the access token has expired or will within 30 s
    /// (or, keeping the refresh token alone, when this process holds none for the sign-in).
    pub async fn fresh(&self) -> Result<TokenSet, ProviderTokensError> {
        let opened = self.opened()?;
        let settings = &self.request.settings;
        let session = self
            .request
            .identity
            .session_id()
            .ok_or(ProviderTokensError::Missing)?;
        let now = settings.clock.now();
        let current = self.known(opened, session, now);
        if let Some(current) = current
            .as_ref()
            .filter(|tokens| !tokens.expires_within(now, REFRESH_MARGIN_SECS))
        {
            return Ok(current.clone());
        }
        let refresh_token = opened
            .held
            .refresh_token()
            .ok_or(ProviderTokensError::Expired)?
            .clone();
        let provider = self.provider().await?;
        let refreshed = settings
            .refreshes
            .run(session, &refresh_token, now, || {
                self.refresh(
                    provider.as_ref(),
                    current.as_ref(),
                    &refresh_token,
                    opened.user.as_deref(),
                )
            })
            .await?;
        self.keep(opened, session, &refresh_token, refreshed)
    }

    /// Keeps `refreshed`, got with `spent`: the rewritten cookies for the response (unless
    /// the cookie keeps the refresh token alone and the provider did not rotate it), and the
    /// access token in this process when the cookie keeps the refresh token alone. The
    /// tokens as kept.
    fn keep(
        &self,
        opened: &Opened,
        session: SessionId,
        spent: &RefreshToken,
        refreshed: TokenSet,
    ) -> Result<TokenSet, ProviderTokensError> {
        let settings = &self.request.settings;
        let identity = &self.request.identity;
        let unchanged = matches!(opened.held, Held::RefreshTokenOnly(_))
            && refreshed.refresh_token() == Some(spent);
        let kept = if unchanged {
            TokensKept::RefreshTokenOnly
        } else {
            let identity_name = settings.cookies.identity_name();
            let identity_len = self.request.identity_len;
            let identity_cookie = identity_name.len()
                + 1
                + identity_len
                + settings.cookies.attributes_len(settings.identity_lifetime);
            let others = Cost::default()
                .pair(identity_name.len(), identity_len)
                .set_cookie(identity_cookie);
            let keep = ToKeep {
                tokens: &refreshed,
                at_most: opened.held.kept(),
                user: opened.user.clone(),
            };
            let written = cookie::write(settings, identity, keep, others, self.request.carried)
                .map_err(|_| ProviderTokensError::Internal)?;
            self.request.rewritten.set(PendingCookie {
                name: settings.cookies.tokens_name(),
                cookies: written.cookies,
            });
            written.kept
        };
        Ok(match kept {
            TokensKept::All => refreshed,
            TokensKept::WithoutIdToken => refreshed.without_id_token(),
            TokensKept::RefreshTokenOnly => {
                let now = settings.clock.now();
                settings.held_access_tokens.put(session, &refreshed, now);
                refreshed.without_id_token()
            }
        })
    }

    /// The provider of the sign-in: a configured one by its name, or a tenant's
    /// (`sso:<tenant>`) through the tenant cache, as its login found it. Looked up before
    /// the refresh's single flight, so a tenant that does not resolve now spends no refresh
    /// token: unknown (removed) is [`ProviderTokensError::Expired`], the resolver failing or
    /// too slow [`ProviderFailed`](ProviderTokensError::ProviderFailed) or
    /// [`ProviderTimeout`](ProviderTokensError::ProviderTimeout).
    async fn provider(&self) -> Result<Arc<dyn DynProvider>, ProviderTokensError> {
        let settings = &self.request.settings;
        let name = self.request.identity.provider();
        if let Some(provider) = settings.providers.iter().find(|p| p.name() == name) {
            return Ok(provider.clone());
        }
        let tenants = settings
            .tenants
            .as_ref()
            .ok_or(ProviderTokensError::Missing)?;
        let (_, lookup) = tenants
            .resolve_session(name, settings.outbound.timeout())
            .await
            .ok_or(ProviderTokensError::Missing)?;
        match lookup {
            Lookup::Found(resolved) => Ok(resolved.provider.clone()),
            Lookup::Unknown => {
                tracing::warn!(provider = name, "refresh: the tenant is no longer known");
                Err(ProviderTokensError::Expired)
            }
            Lookup::Failed(failure) => {
                tracing::warn!(
                    provider = name,
                    "refresh: the tenant could not be looked up"
                );
                Err(match failure {
                    Failure::Unavailable => ProviderTokensError::ProviderFailed,
                    Failure::TooSlow => ProviderTokensError::ProviderTimeout,
                })
            }
        }
    }

    /// A refresh with `refresh_token` at `provider`: the tokens `base` (the known ones, if
    /// any) become. A refreshed ID token must name `user` (the login's ID token's).
    async fn refresh(
        &self,
        provider: &dyn DynProvider,
        base: Option<&TokenSet>,
        refresh_token: &RefreshToken,
        user: Option<&str>,
    ) -> Result<TokenSet, ProviderTokensError> {
        let settings = &self.request.settings;
        let name = self.request.identity.provider();
        let nowhere = Url::parse("about:blank").map_err(|_| ProviderTokensError::Internal)?;
        let cx = ProviderContext {
            provider: name,
            outbound: &settings.outbound,
            callback_url: &nowhere,
            clock: &settings.clock,
        };
        match provider.refresh(&cx, refresh_token).await {
            Ok(response) => {
                let other_user = match (user, response.id_token()) {
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
                let now = settings.clock.now();
                let refreshed = match base {
                    Some(base) => base.refreshed(&response, now),
                    None => TokenSet::from_response(&response, now),
                };
                Ok(match refreshed.refresh_token() {
                    Some(_) => refreshed,
                    None => refreshed.with_refresh_token(refresh_token.clone()),
                })
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
