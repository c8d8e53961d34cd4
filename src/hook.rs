//! The authorize hook: the app's say at the end of every login.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};

/// The user as the provider described them, handed to the
/// [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub(crate) provider: String,
    pub(crate) user_id: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) claims: Map<String, Value>,
    pub(crate) refresh_token: Option<crate::secret::RefreshToken>,
    pub(crate) tokens: Option<crate::provider::TokenSet>,
    /// The provider session the sign-in came from, hashed (for back-channel logout).
    pub(crate) provider_session: Option<crate::revocation::ProviderSessionKey>,
    /// For a provider access token: its client and scopes.
    pub(crate) grant: Option<crate::identity::TokenGrant>,
}

impl UserProfile {
    /// The provider's route name, e.g. `"github"`.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The user's id at the provider.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The user's name, when the provider shared one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The user's email, when the provider shared one (OIDC: only a verified one).
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// Another fact the provider stated about the user, by name: Slack's workspace
    /// (`https://slack.com/team_id`), Entra ID's tenant (`tid`), or a claim an [`Oidc`]
    /// provider was told to pass on with [`Oidc::profile_claim`]. For the hook to decide
    /// on; not kept in the identity unless the hook adds it to its [`Grant`].
    ///
    /// [`Oidc`]: crate::Oidc
    /// [`Oidc::profile_claim`]: crate::Oidc::profile_claim
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// The provider's refresh token, when the provider passes it on ([`Apple`] does, so the
    /// app can keep it and revoke it with [`AppleRevocation::revoke`] when the user deletes
    /// their account). Keep it as a secret (read it with `.secret()`); it is not in the
    /// identity.
    ///
    /// [`Apple`]: crate::Apple
    /// [`AppleRevocation::revoke`]: crate::AppleRevocation::revoke
    pub fn refresh_token(&self) -> Option<&crate::oauth2::RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// The tokens the provider issued at this login (access token, refresh token, expiry,
    /// granted scopes, ID token), to keep in the app's database for calling the provider's
    /// API on the user's behalf. Every OAuth 2.0 and OpenID Connect provider has them; OAuth
    /// 1.0a (Twitter) has none. Secrets: `Debug` never shows them.
    pub fn tokens(&self) -> Option<&crate::provider::TokenSet> {
        self.tokens.as_ref()
    }

    /// What the hook is asked about: a login ([`AuthMethod::Cookie`]: the browser gets the
    /// identity cookie), or a provider access token an API client presented
    /// ([`AuthMethod::ProviderAccessToken`], with
    /// [`Oidc::access_tokens`](crate::Oidc::access_tokens)). For a token, the hook runs once
    /// per token (its verdict is kept as long as the token's check), [`claim`](Self::claim)
    /// reads every claim of the token (or member of its introspection answer), and a
    /// [`Denied`] answers `403` to the client's requests.
    ///
    /// [`AuthMethod::Cookie`]: crate::AuthMethod::Cookie
    /// [`AuthMethod::ProviderAccessToken`]: crate::AuthMethod::ProviderAccessToken
    pub fn auth_method(&self) -> crate::AuthMethod {
        match self.grant {
            Some(_) => crate::AuthMethod::ProviderAccessToken,
            None => crate::AuthMethod::Cookie,
        }
    }

    /// The scopes of a provider access token; empty at a login.
    pub fn scopes(&self) -> &[String] {
        self.grant.as_ref().map_or(&[][..], |grant| &grant.scopes)
    }

    /// The client a provider access token was issued to; `None` at a login.
    pub fn client_id(&self) -> Option<&str> {
        self.grant.as_ref()?.client_id.as_deref()
    }
}

/// The hook's "yes": the login goes ahead, with these app claims (an app user id, roles, ...)
/// added to the identity, where [`Identity::claim`](crate::Identity::claim) reads them.
///
/// Claims travel in the identity cookie on every request: keep them small (a cookie holds
/// about 4 KB, and a login whose identity would not fit fails).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grant {
    pub(crate) claims: Map<String, Value>,
}

impl Grant {
    /// A grant with no app claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the app claim `name`.
    ///
    /// ```
    /// let grant = socialauth::Grant::new().claim("role", "admin").claim("user", 42);
    /// # let _ = grant;
    /// ```
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
}

/// The hook's "no": the login is refused with `403` and this message (shown to the user, so
/// write it for them; it is the app's text, never the provider's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub(crate) message: Cow<'static, str>,
}

impl Denied {
    /// A refusal with a message for the user.
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

pub(crate) type HookFuture = Pin<Box<dyn Future<Output = Result<Grant, Denied>> + Send>>;

/// The hook as the layer keeps it.
#[derive(Clone)]
pub(crate) struct AuthorizeHook(pub(crate) Arc<dyn Fn(UserProfile) -> HookFuture + Send + Sync>);

impl AuthorizeHook {
    pub(crate) fn new<F, Fut>(hook: F) -> Self
    where
        F: Fn(UserProfile) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Grant, Denied>> + Send + 'static,
    {
        Self(Arc::new(move |profile| Box::pin(hook(profile))))
    }
}

impl fmt::Debug for AuthorizeHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizeHook")
    }
}
