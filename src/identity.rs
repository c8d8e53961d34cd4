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
///
/// One allocation per user, kept by the verified-token cache for every token it holds, so it
/// is packed: the fixed members (`head`), then the provider, user id, name and email one after
/// the other in `text`, an array whose length is picked from a few size classes when the user
/// is built (`T` is that array while building, `[u8]` once behind the `Arc`). App claims and
/// a provider session, which most identities lack, live in a separate box.
#[derive(PartialEq, Eq)]
pub(crate) struct User<T: ?Sized = [u8]> {
    head: Head,
    /// `provider`, `user_id`, `name` and `email`, UTF-8, back to back (`head.ends`), then
    /// zeros up to the size class.
    text: T,
}

#[derive(PartialEq, Eq)]
struct Head {
    /// `(provider, user_id)` hashed once, for the revocation lookup of every request.
    key: u64,
    /// The sign-in's session id (`SessionId`'s number, as two halves: a `u128` would align
    /// the whole user to 16 bytes) and time, when `SESSION` is set.
    session_id: [u64; 2],
    started_ms: u64,
    /// App claims and the provider session, when there are any.
    extra: Option<Box<Extra>>,
    /// Where `provider`, `user_id`, `name` and `email` end in `text`.
    ends: [u16; 4],
    /// `SESSION`, `NAME`, `EMAIL`.
    flags: u8,
    /// How the request proved it (one token, one way: kept with the user, so that an
    /// `Identity` stays three words).
    method: AuthMethod,
}

#[derive(PartialEq, Eq)]
struct Extra {
    /// App claims granted by the authorize hook at login.
    claims: Option<Map<String, Value>>,
    /// The provider session the sign-in came from (OpenID Connect's `sid`, hashed with the
    /// layer's key), for back-channel logout.
    provider_session: Option<ProviderSessionKey>,
    /// What a provider access token grants (absent for the layer's own tokens).
    grant: Option<TokenGrant>,
}

/// The client and scopes of a provider access token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenGrant {
    pub(crate) client_id: Option<String>,
    pub(crate) scopes: Vec<String>,
}

const SESSION: u8 = 1;
const NAME: u8 = 2;
const EMAIL: u8 = 4;

/// The longest `text` a user holds: what fits in an identity token, whose claims carry all
/// of it (a longer profile makes a token no layer accepts).
pub(crate) const MAX_USER_TEXT: usize = 4096;

/// A user being built: [`User::from_parts`], then [`build`](Self::build).
pub(crate) struct NewUser<'a> {
    provider: &'a str,
    user_id: &'a str,
    name: Option<&'a str>,
    email: Option<&'a str>,
    claims: Option<Map<String, Value>>,
    session: Option<Session>,
    provider_session: Option<ProviderSessionKey>,
    method: AuthMethod,
    grant: Option<TokenGrant>,
}

impl User {
    /// A user, with the hash of its provider and id computed once, signed in by the identity
    /// cookie (see [`NewUser::with_method`] for another way).
    pub(crate) fn from_parts<'a>(
        provider: &'a str,
        user_id: &'a str,
        name: Option<&'a str>,
        email: Option<&'a str>,
        claims: Option<Map<String, Value>>,
        session: Option<Session>,
    ) -> NewUser<'a> {
        NewUser {
            provider,
            user_id,
            name,
            email,
            claims,
            session,
            provider_session: None,
            method: AuthMethod::Cookie,
            grant: None,
        }
    }

    /// The provider's name as configured.
    pub(crate) fn provider(&self) -> &str {
        self.part(0)
    }

    /// The user's id at the provider.
    pub(crate) fn user_id(&self) -> &str {
        self.part(1)
    }

    /// The user's name, when the provider shared one.
    pub(crate) fn name(&self) -> Option<&str> {
        (self.head.flags & NAME != 0).then(|| self.part(2))
    }

    /// The user's email, when the provider shared one.
    pub(crate) fn email(&self) -> Option<&str> {
        (self.head.flags & EMAIL != 0).then(|| self.part(3))
    }

    /// App claims granted by the authorize hook at login.
    pub(crate) fn claims(&self) -> Option<&Map<String, Value>> {
        self.head.extra.as_ref()?.claims.as_ref()
    }

    /// The sign-in this identity belongs to (absent only in tokens made elsewhere with the
    /// layer's key, which revocation refuses).
    pub(crate) fn session(&self) -> Option<Session> {
        let [high, low] = self.head.session_id;
        (self.head.flags & SESSION != 0).then(|| Session {
            id: SessionId::from_u128((u128::from(high) << 64) | u128::from(low)),
            started_ms: self.head.started_ms,
        })
    }

    /// The provider session the sign-in came from, for back-channel logout.
    pub(crate) fn provider_session(&self) -> Option<ProviderSessionKey> {
        self.head.extra.as_ref()?.provider_session
    }

    /// How the request proved this identity.
    pub(crate) fn method(&self) -> AuthMethod {
        self.head.method
    }

    /// What a provider access token grants (absent for the layer's own tokens).
    pub(crate) fn grant(&self) -> Option<&TokenGrant> {
        self.head.extra.as_ref()?.grant.as_ref()
    }

    /// `(provider, user_id)` hashed once, for the revocation lookup of every request.
    pub(crate) fn key(&self) -> u64 {
        self.head.key
    }

    /// The `i`-th string of `text`. Each was copied in whole from a `&str`, so the slice is
    /// always valid UTF-8; checking it again costs a few instructions for a short string.
    fn part(&self, i: usize) -> &str {
        let start = match i.checked_sub(1) {
            Some(before) => self.head.ends.get(before).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.head.ends.get(i).copied().unwrap_or(0);
        self.text
            .get(usize::from(start)..usize::from(end))
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

impl<'a> NewUser<'a> {
    /// The user, from the provider session `key`.
    pub(crate) fn with_provider_session(mut self, key: Option<ProviderSessionKey>) -> Self {
        self.provider_session = key;
        self
    }

    /// The user, proved by `method` (the identity cookie unless said otherwise).
    pub(crate) fn with_method(mut self, method: AuthMethod) -> Self {
        self.method = method;
        self
    }

    /// The user, with what a provider access token grants.
    pub(crate) fn with_grant(mut self, grant: Option<TokenGrant>) -> Self {
        self.grant = grant;
        self
    }

    /// The user, in one allocation (two with app claims or a provider session); `None` when
    /// its strings together are longer than [`MAX_USER_TEXT`].
    pub(crate) fn build(self) -> Option<Arc<User>> {
        let parts = [
            self.provider,
            self.user_id,
            self.name.unwrap_or_default(),
            self.email.unwrap_or_default(),
        ];
        let mut ends = [0u16; 4];
        let mut len = 0usize;
        for (end, part) in ends.iter_mut().zip(parts) {
            len = len.checked_add(part.len())?;
            *end = u16::try_from(len).ok()?;
        }
        if len > MAX_USER_TEXT {
            return None;
        }
        let flags = self.session.map_or(0, |_| SESSION)
            | self.name.map_or(0, |_| NAME)
            | self.email.map_or(0, |_| EMAIL);
        let id = self.session.map_or(0, |session| session.id.as_u128());
        let extra =
            (self.claims.is_some() || self.provider_session.is_some() || self.grant.is_some())
                .then(|| {
                    Box::new(Extra {
                        claims: self.claims,
                        provider_session: self.provider_session,
                        grant: self.grant,
                    })
                });
        let head = Head {
            key: user_key(self.provider, self.user_id),
            // The two halves of the id (the casts keep the low 64 bits of each).
            session_id: [(id >> 64) as u64, id as u64],
            started_ms: self.session.map_or(0, |session| session.started_ms),
            extra,
            ends,
            flags,
            method: self.method,
        };
        // The text in the smallest class that holds it: an array of that length, which the
        // `Arc` then holds as `[u8]`.
        macro_rules! in_class {
            ($($class:literal)*) => {
                match len {
                    $(len if len <= $class => {
                        let mut text = [0u8; $class];
                        let mut at = 0;
                        for part in parts {
                            text.get_mut(at..at + part.len())?.copy_from_slice(part.as_bytes());
                            at += part.len();
                        }
                        let user: Arc<User> = Arc::new(User { head, text });
                        Some(user)
                    })*
                    _ => None,
                }
            };
        }
        in_class!(16 32 48 64 80 96 128 192 256 384 512 768 1024 1536 2048 3072 4096)
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("provider", &self.provider())
            .field("user_id", &self.user_id())
            .finish_non_exhaustive()
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
            .field("provider", &user.provider())
            .field("user_id", &user.user_id())
            .field("name", &user.name())
            .field("email", &user.email())
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("claims", &user.claims())
            .field("session_id", &user.session().map(|session| session.id))
            .field("auth_method", &user.method())
            .field("client_id", &self.client_id())
            .field("scopes", &self.scopes())
            .finish()
    }
}

impl Identity {
    /// The provider's name as configured, e.g. `"twitter"` or `"facebook"`.
    pub fn provider(&self) -> &str {
        self.user.provider()
    }

    /// The tenant (customer) this user signed in through, for a per-customer sign-in at
    /// `/auth/sso/<tenant>` ([`tenants`](crate::tenants)); the identity's
    /// [`provider`](Self::provider) is then `sso:<tenant>`, so the same user id at two
    /// tenants is two users, for revocation too.
    pub fn tenant(&self) -> Option<&str> {
        self.user.provider().strip_prefix(TENANT_PROVIDER_PREFIX)
    }

    /// The user's id at the provider (stable; use it, with [`provider`](Self::provider), as the key
    /// of your user record).
    pub fn user_id(&self) -> &str {
        self.user.user_id()
    }

    /// The user's name or handle, when the provider shared one.
    pub fn name(&self) -> Option<&str> {
        self.user.name()
    }

    /// The user's email, when the provider shared one.
    pub fn email(&self) -> Option<&str> {
        self.user.email()
    }

    /// The name when known, else the user id: something to show.
    pub fn display_name(&self) -> &str {
        self.user.name().unwrap_or(self.user.user_id())
    }

    /// When this identity's token was issued: the sign-in, or its latest sliding renewal.
    pub fn issued_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.issued_at)
    }

    /// An app claim that the [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook
    /// added at login (e.g. `identity.claim("role")`).
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.user.claims().and_then(|claims| claims.get(name))
    }

    /// All app claims the authorize hook added at login (empty without a hook).
    pub fn claims(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.user
            .claims()
            .into_iter()
            .flat_map(|claims| claims.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// The id of the sign-in this identity belongs to: the same for every request of that
    /// sign-in, across renewals and bearer tokens. Pass it to
    /// [`Revocations::revoke_session`](crate::revocation::Revocations::revoke_session) to
    /// end that session everywhere.
    pub fn session_id(&self) -> Option<SessionId> {
        self.user.session().map(|session| session.id)
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
        self.user.method()
    }

    /// The scopes of a provider access token (its `scope`, or `scp`): what the user let the
    /// client do. Empty for the identity cookie and the layer's bearer token, which are the
    /// user themself, not a client acting for them.
    pub fn scopes(&self) -> &[String] {
        self.user
            .grant()
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
        self.user.grant()?.client_id.as_deref()
    }
}
