//! [`Identity`]: the signed-in user, as the layer hands it to the inner service.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::state::provider_session::ProviderSessionKey;
use crate::state::session::{Session, SessionId};

/// How long an identity cookie lives unless
/// [`identity_lifetime`](crate::SocialAuthLayerBuilder::identity_lifetime) says otherwise.
pub(crate) const DEFAULT_IDENTITY_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How long a session lasts from its sign-in, renewed or not, unless
/// [`max_session_lifetime`](crate::SocialAuthLayerBuilder::max_session_lifetime) says
/// otherwise.
pub(crate) const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The provider of a tenant's identities is `sso:<tenant>` (per-customer sign-in).
pub(crate) const TENANT_PROVIDER_PREFIX: &str = "sso:";

/// The user a request is signed in as, verified by [`SocialAuthLayer`](crate::SocialAuthLayer).
///
/// The layer puts it in the request's extensions when, and only when, the request carries a
/// valid identity cookie, a valid bearer token of the layer's, or (with
/// [`Oidc::access_tokens`](crate::Oidc::access_tokens)) a valid access token of the
/// provider; nothing else a client sends can put it there.
/// [`auth_method`](Self::auth_method) says which.
///
/// ```
/// # use socialauth::Identity;
/// fn greet<B>(req: &http::Request<B>) -> String {
///     match req.extensions().get::<Identity>() {
///         Some(user) => format!("hello, {} from {}", user.display_name(), user.provider()),
///         None => "hello, stranger".to_owned(),
///     }
/// }
/// # assert_eq!(greet(&http::Request::new(())), "hello, stranger");
/// ```
///
/// Cheap to clone: the user's strings and claims are shared, immutable, behind one `Arc`, so
/// cloning it (as the axum extractor does) copies a pointer and two timestamps.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    pub(crate) user: Arc<User>,
    pub(crate) issued_at: u64,
    pub(crate) expires_at: u64,
}

/// How a request proved its [`Identity`]: what a handler or
/// [`RequireIdentityLayer::accept`](crate::RequireIdentityLayer::accept) can require.
///
/// More may come (the enum is `#[non_exhaustive]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// The identity cookie a login through the layer set: a browser.
    Cookie,
    /// `Authorization: Bearer` with a token from the layer's own `GET /auth/token`
    /// ([`token_endpoint`](crate::SocialAuthLayerBuilder::token_endpoint)).
    BearerToken,
    /// `Authorization: Bearer` with an access token the provider issued to a client
    /// ([`Oidc::access_tokens`](crate::Oidc::access_tokens)): the identity has the token's
    /// [`scopes`](Identity::scopes) and [`client_id`](Identity::client_id).
    ProviderAccessToken,
}

/// Who an [`Identity`] is: everything in it but its times, which renewal changes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) provider: String,
    pub(crate) user_id: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    /// App claims granted by the authorize hook at login.
    pub(crate) claims: Option<Map<String, Value>>,
    /// The sign-in this identity belongs to (absent only in tokens made elsewhere with the
    /// layer's key, which revocation refuses).
    pub(crate) session: Option<Session>,
    /// `(provider, user_id)` hashed once, for the revocation lookup of every request.
    pub(crate) key: u64,
    /// The provider session the sign-in came from (OpenID Connect's `sid`, hashed with the
    /// layer's key), for back-channel logout.
    pub(crate) provider_session: Option<ProviderSessionKey>,
    /// How the request proved it (one token, one way: kept with the user, so that an
    /// `Identity` stays three words).
    pub(crate) method: AuthMethod,
    /// What a provider access token grants (absent for the layer's own tokens).
    pub(crate) grant: Option<Box<TokenGrant>>,
}

/// The client and scopes of a provider access token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenGrant {
    pub(crate) client_id: Option<String>,
    pub(crate) scopes: Vec<String>,
}

impl User {
    /// A user, with the hash of its provider and id computed once, signed in by the identity
    /// cookie (set [`method`](Self::method) for another way).
    pub(crate) fn new(
        provider: String,
        user_id: String,
        name: Option<String>,
        email: Option<String>,
        claims: Option<Map<String, Value>>,
        session: Option<Session>,
    ) -> Self {
        let key = user_key(&provider, &user_id);
        Self {
            provider,
            user_id,
            name,
            email,
            claims,
            session,
            key,
            provider_session: None,
            method: AuthMethod::Cookie,
            grant: None,
        }
    }

    /// The user, from the provider session `key`.
    pub(crate) fn with_provider_session(mut self, key: Option<ProviderSessionKey>) -> Self {
        self.provider_session = key;
        self
    }
}

/// The hash of a user's provider and id: the same in every process, so that revocation
/// facts and identities meet in one table bucket.
pub(crate) fn user_key(provider: &str, user_id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the table compares the strings too, so a collision costs a
    // comparison, never a wrong answer.
    let mut hasher = std::hash::DefaultHasher::new();
    provider.hash(&mut hasher);
    user_id.hash(&mut hasher);
    hasher.finish()
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = &*self.user;
        f.debug_struct("Identity")
            .field("provider", &user.provider)
            .field("user_id", &user.user_id)
            .field("name", &user.name)
            .field("email", &user.email)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("claims", &user.claims)
            .field("session_id", &user.session.map(|session| session.id))
            .field("auth_method", &user.method)
            .field("client_id", &self.client_id())
            .field("scopes", &self.scopes())
            .finish()
    }
}

impl Identity {
    /// The provider's name as configured, e.g. `"twitter"` or `"facebook"`.
    pub fn provider(&self) -> &str {
        &self.user.provider
    }

    /// The tenant (customer) this user signed in through, for a per-customer sign-in at
    /// `/auth/sso/<tenant>` ([`tenants`](crate::tenants)); the identity's
    /// [`provider`](Self::provider) is then `sso:<tenant>`, so the same user id at two
    /// tenants is two users, for revocation too.
    pub fn tenant(&self) -> Option<&str> {
        self.user.provider.strip_prefix(TENANT_PROVIDER_PREFIX)
    }

    /// The user's id at the provider (stable; use it, with [`provider`](Self::provider), as the key
    /// of your user record).
    pub fn user_id(&self) -> &str {
        &self.user.user_id
    }

    /// The user's name or handle, when the provider shared one.
    pub fn name(&self) -> Option<&str> {
        self.user.name.as_deref()
    }

    /// The user's email, when the provider shared one.
    pub fn email(&self) -> Option<&str> {
        self.user.email.as_deref()
    }

    /// The name when known, else the user id: something to show.
    pub fn display_name(&self) -> &str {
        self.user.name.as_deref().unwrap_or(&self.user.user_id)
    }

    /// When this identity's token was issued: the sign-in, or its latest sliding renewal.
    pub fn issued_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.issued_at)
    }

    /// An app claim that the [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook
    /// added at login (e.g. `identity.claim("role")`).
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.user
            .claims
            .as_ref()
            .and_then(|claims| claims.get(name))
    }

    /// All app claims the authorize hook added at login (empty without a hook).
    pub fn claims(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.user
            .claims
            .iter()
            .flat_map(|claims| claims.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// The id of the sign-in this identity belongs to: the same for every request of that
    /// sign-in, across renewals and bearer tokens. Pass it to
    /// [`Revocations::revoke_session`](crate::revocation::Revocations::revoke_session) to
    /// end that session everywhere.
    pub fn session_id(&self) -> Option<SessionId> {
        self.user.session.map(|session| session.id)
    }

    /// When the sign-in stops being valid (for a provider access token, its `exp`).
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.expires_at)
    }

    /// How the request proved this identity: the identity cookie, the layer's bearer token,
    /// or a provider access token.
    ///
    /// ```
    /// # use socialauth::{AuthMethod, Identity};
    /// fn is_api_client(user: &Identity) -> bool {
    ///     user.auth_method() == AuthMethod::ProviderAccessToken
    /// }
    /// ```
    pub fn auth_method(&self) -> AuthMethod {
        self.user.method
    }

    /// The scopes of a provider access token (its `scope`, or `scp`): what the user let the
    /// client do. Empty for the identity cookie and the layer's bearer token, which are the
    /// user themself, not a client acting for them.
    pub fn scopes(&self) -> &[String] {
        self.user
            .grant
            .as_ref()
            .map_or(&[][..], |grant| &grant.scopes)
    }

    /// Whether a provider access token grants `scope` (never for the identity cookie or the
    /// layer's bearer token).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().iter().any(|granted| granted == scope)
    }

    /// The client a provider access token was issued to (`client_id`, `azp`, `cid` or
    /// `appid`), when the token says; `None` for the identity cookie and the layer's bearer
    /// token.
    pub fn client_id(&self) -> Option<&str> {
        self.user.grant.as_ref()?.client_id.as_deref()
    }
}
