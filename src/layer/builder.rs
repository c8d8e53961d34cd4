//! [`SocialAuthLayerBuilder`]: configuration, checked once by [`build`](SocialAuthLayerBuilder::build).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::api_tokens::ApiTokens;
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::events::{AuthEvent, EventHook, Observer};
use crate::hook::{AuthorizeHook, Denied, Grant, UserProfile};
use crate::identity::{DEFAULT_IDENTITY_LIFETIME, DEFAULT_SESSION_LIFETIME};
use crate::identity_token::IdentityCodec;
use crate::layer::SocialAuthLayer;
use crate::outbound::{Outbound, OutboundLimits};
use crate::provider::access_token::AccessTokenCheck;
use crate::provider::backchannel::BackchannelLogout;
use crate::provider::{check_name, endpoint, DynProvider, Provider};
use crate::provider_tokens::{CookieBudget, KeepTokens};
use crate::revocation::Revocations;
use crate::routes::origin::{check_allowed_hosts, is_loopback, PublicUrl};
use crate::routes::response::Location;
use crate::routes::Routes;
use crate::secret::IdentitySecret;
use crate::settings::{AfterLogin, Settings};
use crate::state::cookies::{CookieSettings, MAX_COOKIE_LIFETIME};
use crate::state::keys::{Keys, MIN_SECRET_LEN};

/// The longest a login may take between start and callback.
pub const MAX_FLOW_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Builds a [`SocialAuthLayer`]. Start with [`SocialAuthLayer::builder`].
///
/// Only [`secret`](Self::secret) and one [`provider`](Self::provider) are required; every
/// other setting has a secure default.
pub struct SocialAuthLayerBuilder {
    secret: Option<IdentitySecret>,
    previous_secrets: Vec<IdentitySecret>,
    /// The providers added, checked; the first that failed its configuration stops `build()`.
    providers: Result<Vec<Arc<dyn DynProvider>>, ConfigError>,
    /// The logout-token verifiers of the providers with back-channel logout on, by name.
    backchannel: Vec<(String, Arc<dyn BackchannelLogout>)>,
    /// Those of them whose access tokens the app accepts, checking them.
    access_checks: Vec<Arc<dyn AccessTokenCheck>>,
    route_prefix: String,
    public_url: Option<String>,
    allowed_hosts: Vec<String>,
    identity_lifetime: Duration,
    max_session_lifetime: Option<Duration>,
    token_endpoint: bool,
    bearer_lifetime: Duration,
    sliding_renewal: bool,
    flow_lifetime: Duration,
    after_login: AfterLogin<String>,
    failure_redirect: Option<String>,
    after_logout: String,
    authorize: Option<AuthorizeHook>,
    on_event: Option<EventHook>,
    secure_cookies: bool,
    provider_timeout: Duration,
    max_provider_response: usize,
    max_concurrent_provider_logins: usize,
    clock: Clock,
    revocations: Option<Revocations>,
    keep_provider_tokens: KeepTokens,
    cookie_budget: CookieBudget,
    tenants: Option<crate::tenants::Tenants>,
}

impl Default for SocialAuthLayerBuilder {
    fn default() -> Self {
        Self {
            secret: None,
            previous_secrets: Vec::new(),
            providers: Ok(Vec::new()),
            backchannel: Vec::new(),
            access_checks: Vec::new(),
            route_prefix: "/auth".to_owned(),
            public_url: None,
            allowed_hosts: Vec::new(),
            identity_lifetime: DEFAULT_IDENTITY_LIFETIME,
            max_session_lifetime: None,
            token_endpoint: false,
            bearer_lifetime: Duration::from_secs(60 * 60),
            sliding_renewal: false,
            flow_lifetime: MAX_FLOW_LIFETIME,
            after_login: AfterLogin::Redirect("/".to_owned()),
            failure_redirect: None,
            after_logout: "/".to_owned(),
            authorize: None,
            on_event: None,
            secure_cookies: true,
            provider_timeout: Duration::from_secs(10),
            max_provider_response: 1024 * 1024,
            max_concurrent_provider_logins: 64,
            clock: Clock::system(),
            revocations: None,
            keep_provider_tokens: KeepTokens::Off,
            cookie_budget: CookieBudget::new(),
            tenants: None,
        }
    }
}

impl fmt::Debug for SocialAuthLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocialAuthLayerBuilder")
            .field("secret", &self.secret)
            .field("previous_secrets", &self.previous_secrets.len())
            .field(
                "providers",
                &self
                    .providers
                    .as_ref()
                    .map(|added| added.iter().map(|p| p.name()).collect::<Vec<_>>()),
            )
            .field("route_prefix", &self.route_prefix)
            .field("public_url", &self.public_url)
            .field("identity_lifetime", &self.identity_lifetime)
            .field("max_session_lifetime", &self.max_session_lifetime)
            .field("flow_lifetime", &self.flow_lifetime)
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

impl SocialAuthLayerBuilder {
    /// The secret every key is derived from: at least 32 random bytes, the same on every
    /// replica. Identity tokens are signed and flow cookies encrypted with keys derived from it.
    ///
    /// ```
    /// let builder = socialauth::SocialAuthLayer::builder()
    ///     .secret(std::env::var("SOCIALAUTH_SECRET").unwrap_or_else(|_| "x".repeat(32)));
    /// # let _ = builder;
    /// ```
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = Some(IdentitySecret::new(secret.as_ref()));
        self
    }

    /// Secrets that were current before [`secret`](Self::secret), still accepted while their
    /// tokens may be around: identity tokens they signed still verify (each token names its
    /// key in a `kid` header), and logins they started still complete. Only the current secret
    /// signs. To rotate: make the new secret current and the old one previous; once every
    /// token it signed has expired (the identity lifetime), drop it: its tokens then become
    /// anonymous, never an error.
    ///
    /// ```
    /// # let (new_secret, old_secret) = ([1u8; 32], [2u8; 32]);
    /// let builder = socialauth::SocialAuthLayer::builder()
    ///     .secret(new_secret)
    ///     .previous_secrets([old_secret]);
    /// # let _ = builder;
    /// ```
    pub fn previous_secrets<I>(mut self, secrets: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.previous_secrets = secrets
            .into_iter()
            .map(|s| IdentitySecret::new(s.as_ref()))
            .collect();
        self
    }

    /// Adds a provider; it answers at `/auth/<its name>`.
    ///
    /// ```
    /// use socialauth::{Facebook, SocialAuthLayer, Twitter};
    /// let builder = SocialAuthLayer::builder()
    ///     .provider(Twitter::new("consumer-key", "consumer-secret"))
    ///     .provider(Facebook::new("app-id", "app-secret"));
    /// # let _ = builder;
    /// ```
    pub fn provider(mut self, provider: impl Into<Provider>) -> Self {
        let provider = provider.into();
        if let (Ok(built), Some(verifier)) = (&provider.built, provider.backchannel) {
            self.backchannel.push((built.name().to_owned(), verifier));
        }
        self.providers = match (self.providers, provider.built) {
            (Ok(mut providers), Ok(built)) => {
                providers.push(built);
                self.access_checks.extend(provider.access_tokens);
                Ok(providers)
            }
            (Err(first), _) | (Ok(_), Err(first)) => Err(first),
        };
        self
    }

    setters! {
        /// The path under which provider routes live (default `/auth`, giving `/auth/twitter`).
        route_prefix => route_prefix: String;
    }

    /// The app's public URL, e.g. `https://app.example.com`, used to build the callback URL
    /// the providers redirect to. Set it in production. Without it, the callback is built
    /// from the request's `Host` header only for loopback hosts (`localhost`, `127.0.0.1`,
    /// `[::1]`, with `http`) and the hosts of [`allowed_hosts`](Self::allowed_hosts) (with
    /// `https`); a login for any other host is refused with a `500` and a warning in the
    /// logs, because the `Host` header is the client's to choose.
    ///
    /// ```
    /// let builder = socialauth::SocialAuthLayer::builder().public_url("https://app.example.com");
    /// # let _ = builder;
    /// ```
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Hosts (`host` or `host:port`) whose `Host` header may build the callback URL when no
    /// [`public_url`](Self::public_url) is set, for an app served under several names. Prefer
    /// `public_url`: behind a proxy that does not check `Host`, every listed name must be one
    /// only you control.
    ///
    /// ```
    /// let builder = socialauth::SocialAuthLayer::builder()
    ///     .allowed_hosts(["app.example.com", "app.example.org"]);
    /// # let _ = builder;
    /// ```
    pub fn allowed_hosts<I>(mut self, hosts: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.allowed_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    setters! {
        /// **Weakens security: read before turning on.** Answers `GET /auth/token` (off by
        /// default): a signed-in browser gets a bearer token (`Authorization: Bearer`) for API
        /// clients and gRPC. Any script running on your origin can fetch it, so one XSS hands
        /// an attacker a credential that the `HttpOnly` identity cookie never exposes. The
        /// token has its own audience (it is not accepted as the identity cookie, nor the
        /// cookie's token as a bearer token) and its own, short lifetime
        /// ([`bearer_lifetime`](Self::bearer_lifetime)).
        ///
        /// ```
        /// let builder = socialauth::SocialAuthLayer::builder().token_endpoint(true);
        /// # let _ = builder;
        /// ```
        token_endpoint => token_endpoint: bool;

        /// How long a bearer token from `/auth/token` lasts (default 1 hour; never longer
        /// than the identity lifetime, nor past the identity it was made from).
        bearer_lifetime => bearer_lifetime: Duration;
    }

    /// Honours revocation ([`crate::revocation`]): every identity (cookie or bearer) is
    /// checked against the local copy of the revocation facts, `POST /auth/logout` revokes
    /// the current session, and `POST /auth/logout?everywhere=1` every session of the user.
    /// Off by default: without it, a token is valid until it expires.
    ///
    /// With revocation on, an identity token without a session id (made with the layer's key
    /// by something other than the layer) is refused. The handle's facts are made to live at
    /// least [`max_session_lifetime`](Self::max_session_lifetime) (plus the clock leeway),
    /// the longest any token of a revoked session can be valid.
    pub fn revocation(mut self, revocations: Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Per-customer sign-in (enterprise SSO): each tenant of the app signs in with its own
    /// provider at `/auth/sso/<tenant>`, which [`Tenants`](crate::tenants::Tenants) looks up
    /// at request time, and `/auth/sso?login=start&email=<address>` finds the tenant by the
    /// email's domain. The customer registers `<public_url>/auth/sso/<tenant>` as the redirect
    /// URI at its provider. With tenants, the layer needs no other provider; no provider
    /// may then be named `sso`. See [`tenants`](crate::tenants).
    ///
    /// ```
    /// use socialauth::tenants::{TenantError, TenantKey, Tenants};
    /// let tenants = Tenants::new(|_: TenantKey| async { Ok::<_, TenantError>(None) });
    /// let builder = socialauth::SocialAuthLayer::builder().tenants(tenants);
    /// # let _ = builder;
    /// ```
    pub fn tenants(mut self, tenants: crate::tenants::Tenants) -> Self {
        self.tenants = Some(tenants);
        self
    }

    /// Keeps the provider's tokens (access, refresh, expiry, scopes, ID token) after a login,
    /// for handlers to call the provider's API through
    /// [`ProviderTokens`](crate::ProviderTokens), refreshed when they expire (off by
    /// default). `true` keeps what fits the [`cookie_budget`](Self::cookie_budget)
    /// ([`KeepTokens::Fitting`]): every token when they fit, else without the ID token, else
    /// the refresh token alone, with access tokens from refreshes held in the process's
    /// memory; [`KeepTokens`] picks one way explicitly.
    ///
    /// They go in their own cookie, `__Host-socialauth-tokens` (HttpOnly, Secure,
    /// SameSite=Lax), or numbered chunks of it (`__Host-socialauth-tokens.0`, `.1`, ...) when
    /// one cookie cannot hold them, encrypted and authenticated with the layer's key as one
    /// value and bound to the sign-in: tokens cookies of another user or another login do
    /// not open, nor do chunks mixed from two. A login whose tokens do not fit in the way
    /// chosen fails with a `500` saying so. Apps with a database can leave this off and keep
    /// [`UserProfile::tokens`](crate::UserProfile::tokens) from the authorize hook.
    ///
    /// ```
    /// let builder = socialauth::SocialAuthLayer::builder().keep_provider_tokens(true);
    /// # let _ = builder;
    /// ```
    pub fn keep_provider_tokens(mut self, keep: impl Into<KeepTokens>) -> Self {
        self.keep_provider_tokens = keep.into();
        self
    }

    /// How many bytes of headers the layer's cookies may take (default:
    /// [`CookieBudget::new`], set for a default nginx in front of the app: a `Cookie` header
    /// of 6 KiB, `Set-Cookie` headers of 3.5 KiB per response). The provider tokens kept are
    /// cut down to fit it. Raise it only when every proxy in front of the app takes larger
    /// headers: past their limits, signed-in users get the proxy's `400` or `502` instead of
    /// the app.
    ///
    /// ```
    /// use socialauth::CookieBudget;
    /// let builder = socialauth::SocialAuthLayer::builder()
    ///     .cookie_budget(CookieBudget::new().cookie_header(14 * 1024).set_cookie(14 * 1024));
    /// # let _ = builder;
    /// ```
    pub fn cookie_budget(mut self, budget: CookieBudget) -> Self {
        self.cookie_budget = budget;
        self
    }

    setters! {
        /// How long a login lasts (default 7 days). The identity cookie expires then. At most
        /// [`max_session_lifetime`](Self::max_session_lifetime).
        identity_lifetime => identity_lifetime: Duration;

        /// Re-issue the identity cookie on a request once it is past half its lifetime, so active
        /// users stay signed in while idle ones expire (off by default), up to
        /// [`max_session_lifetime`](Self::max_session_lifetime) after their sign-in. Bearer
        /// tokens are never renewed this way.
        sliding_renewal => sliding_renewal: bool;

        /// How long a user may take at the provider (default and maximum 10 minutes).
        flow_lifetime => flow_lifetime: Duration;
    }

    /// The absolute lifetime of a session, counted from its sign-in: no token of it is valid
    /// after, however often [`sliding_renewal`](Self::sliding_renewal) renewed it, so an active user signs in
    /// at the provider again once per this lifetime, and a stolen cookie kept alive by
    /// renewal dies with it. Revocation facts live at least this long (see
    /// [`revocation`](Self::revocation)). At least the
    /// [`identity_lifetime`](Self::identity_lifetime) (`build()` refuses less), at most 400
    /// days.
    ///
    /// Unset, it is 30 days (Auth.js's session `maxAge`), or the `identity_lifetime` when
    /// that is longer (a single login is never cut short).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = socialauth::SocialAuthLayer::builder()
    ///     .identity_lifetime(Duration::from_secs(8 * 3600))
    ///     .sliding_renewal(true)
    ///     .max_session_lifetime(Duration::from_secs(7 * 24 * 3600));
    /// # let _ = builder;
    /// ```
    pub fn max_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_session_lifetime = Some(lifetime);
        self
    }

    /// Where to send the browser after a login (default `/`). A path on this site, or an
    /// absolute `http(s)` URL.
    pub fn after_login_redirect(mut self, location: impl Into<String>) -> Self {
        self.after_login = AfterLogin::Redirect(location.into());
        self
    }

    /// Answer a completed login with `200 {"status":"success"}` (the Python socialauth's
    /// answer) instead of a redirect.
    pub fn after_login_json(mut self) -> Self {
        self.after_login = AfterLogin::Json;
        self
    }

    /// On a failed callback (cancelled, refused, invalid), redirect here with
    /// `?error=<code>` instead of answering with a JSON error.
    pub fn failure_redirect(mut self, location: impl Into<String>) -> Self {
        self.failure_redirect = Some(location.into());
        self
    }

    /// Runs `hook` at the end of every login, with the provider's profile: return
    /// `Ok(Grant)` to let the user in (optionally adding app claims, such as your user id or
    /// roles, that [`Identity::claim`](crate::Identity::claim) reads on every request), or
    /// `Err(Denied)` to refuse the login with `403` and your message.
    ///
    /// ```
    /// use socialauth::{Denied, Grant, SocialAuthLayer};
    ///
    /// let builder = SocialAuthLayer::builder().authorize(|profile| async move {
    ///     match profile.email() {
    ///         Some(email) if email.ends_with("@example.com") => {
    ///             Ok(Grant::new().claim("role", "staff"))
    ///         }
    ///         _ => Err(Denied::new("only example.com accounts may sign in")),
    ///     }
    /// });
    /// # let _ = builder;
    /// ```
    pub fn authorize<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(UserProfile) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Grant, Denied>> + Send + 'static,
    {
        self.authorize = Some(AuthorizeHook::new(hook));
        self
    }

    /// Calls `hook` with every [`AuthEvent`]: a login that succeeded or failed, a logout. For
    /// audit trails and alerts; it cannot change the answer (a panic in it is caught and
    /// logged). It runs on the request's task before the answer is sent, so keep it quick:
    /// hand slow work (a database write) to a channel or a spawned task.
    ///
    /// Events carry provider names, user ids and error codes, never a code, token, cookie or
    /// secret. The same events are also logged at `info` level (target `socialauth`).
    ///
    /// ```
    /// use socialauth::{AuthEvent, SocialAuthLayer};
    ///
    /// let builder = SocialAuthLayer::builder().on_event(|event: &AuthEvent| {
    ///     if let Some(error) = event.error() {
    ///         eprintln!("login with {:?} failed: {}", event.provider(), error.code());
    ///     }
    /// });
    /// # let _ = builder;
    /// ```
    pub fn on_event(mut self, hook: impl Fn(&AuthEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(EventHook::new(hook));
        self
    }

    setters! {
        /// Where `POST /auth/logout` sends the browser (default `/`).
        after_logout_redirect => after_logout: String;
    }

    /// **Weakens security.** Drops the `Secure` flag and the `__Host-`/`__Secure-` cookie name
    /// prefixes, so the cookies also travel over plain `http`, where anyone on the network can
    /// read and replay them. Only for development on a non-loopback host without TLS:
    /// browsers already accept Secure cookies from `http://localhost` and `http://127.0.0.1`.
    pub fn insecure_http_cookies(mut self) -> Self {
        self.secure_cookies = false;
        self
    }

    setters! {
        /// The whole-request timeout for calls to providers (default 10 s).
        provider_timeout => provider_timeout: Duration;

        /// How many logins may talk to one provider at the same time (default 64). More wait
        /// for a turn, up to the provider timeout, then get `503 provider_busy`: a flood of
        /// logins cannot get the app's credentials throttled at the provider.
        max_concurrent_provider_logins => max_concurrent_provider_logins: usize;

        /// The largest provider response read, in bytes (default 1 MiB).
        max_provider_response => max_provider_response: usize;

        /// The clock the layer reads the time from (default the system clock). For tests that
        /// move time: token lifetimes, flow expiry and ID-token time checks all read it.
        ///
        /// ```
        /// use socialauth::{Clock, SocialAuthLayer};
        /// let builder = SocialAuthLayer::builder().clock(Clock::from_fn(|| 1_700_000_000));
        /// # let _ = builder;
        /// ```
        clock => clock: Clock;
    }

    /// Checks the configuration and builds the layer.
    pub fn build(self) -> Result<SocialAuthLayer, ConfigError> {
        let secret = self.secret.ok_or(ConfigError::MissingSecret)?;
        let secret = secret.secret();
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::SecretTooShort { len: secret.len() });
        }
        let keys = Keys::with_previous(secret, &self.previous_secrets)?;
        let added = self.providers?;
        if added.is_empty() && self.tenants.is_none() {
            return Err(ConfigError::NoProvider);
        }
        let mut providers: Vec<Arc<dyn DynProvider>> = Vec::with_capacity(added.len());
        for provider in added {
            check_name(provider.name())?;
            if self.tenants.is_some() && provider.name() == crate::routes::SSO {
                return Err(ConfigError::DuplicateProvider(provider.name().to_owned()));
            }
            if providers.iter().any(|p| p.name() == provider.name()) {
                return Err(ConfigError::DuplicateProvider(provider.name().to_owned()));
            }
            providers.push(provider);
        }
        if self.max_concurrent_provider_logins == 0 {
            return Err(ConfigError::InvalidSetting {
                setting: "max_concurrent_provider_logins",
                reason: "must be more than zero",
            });
        }
        let provider_slots = providers
            .iter()
            .map(|_| {
                Arc::new(tokio::sync::Semaphore::new(
                    self.max_concurrent_provider_logins,
                ))
            })
            .collect();
        let backchannel: Vec<Option<Arc<dyn BackchannelLogout>>> = providers
            .iter()
            .map(|provider| {
                (self.backchannel.iter())
                    .find(|(name, _)| name == provider.name())
                    .map(|(_, verifier)| verifier.clone())
            })
            .collect();
        if self.revocations.is_none() && backchannel.iter().any(Option::is_some) {
            return Err(ConfigError::InvalidSetting {
                setting: "backchannel_logout",
                reason: "needs .revocation(..): a logout token ends sessions on every replica through revocation facts, and its jti is recorded in the revocation store",
            });
        }
        let routes = Routes {
            prefix: check_prefix(&self.route_prefix)?,
            provider_names: providers.iter().map(|p| p.name().to_owned()).collect(),
            tenants: self.tenants.is_some(),
        };
        let mut tenants = self.tenants;
        let mut unknown_domain_redirect = None;
        if let Some(tenants) = &mut tenants {
            tenants.check()?;
            tenants.slots = self.max_concurrent_provider_logins;
            unknown_domain_redirect = tenants
                .unknown_domain_redirect
                .as_deref()
                .map(|location| check_location("tenants unknown_domain_redirect", location))
                .transpose()?;
        }
        let public_url = self
            .public_url
            .as_deref()
            .map(PublicUrl::parse)
            .transpose()?;
        for (provider, _) in providers
            .iter()
            .zip(&backchannel)
            .filter(|(_, b)| b.is_some())
        {
            tracing::info!(
                provider = provider.name(),
                path = routes.backchannel_logout_path(provider.name()),
                "back-channel logout on: register this path, on the public URL, as the client's backchannel_logout_uri"
            );
        }
        if let Some(public_url) = &public_url {
            check_cookies_can_travel(public_url, self.secure_cookies)?;
        }
        check_allowed_hosts(&self.allowed_hosts)?;
        check_lifetime(
            "identity_lifetime",
            self.identity_lifetime,
            MAX_COOKIE_LIFETIME,
        )?;
        check_lifetime("flow_lifetime", self.flow_lifetime, MAX_FLOW_LIFETIME)?;
        check_lifetime("bearer_lifetime", self.bearer_lifetime, MAX_COOKIE_LIFETIME)?;
        // Unset, the session lasts 30 days, or one login when that is longer.
        let max_session_lifetime = self
            .max_session_lifetime
            .unwrap_or(DEFAULT_SESSION_LIFETIME.max(self.identity_lifetime));
        check_lifetime(
            "max_session_lifetime",
            max_session_lifetime,
            MAX_COOKIE_LIFETIME,
        )?;
        if self.identity_lifetime > max_session_lifetime {
            return Err(ConfigError::InvalidSetting {
                setting: "identity_lifetime",
                reason:
                    "longer than the max_session_lifetime set: a login cannot outlast its session",
            });
        }
        let after_login = match &self.after_login {
            AfterLogin::Redirect(location) => {
                AfterLogin::Redirect(check_location("after_login_redirect", location)?)
            }
            AfterLogin::Json => AfterLogin::Json,
        };
        let after_logout = check_location("after_logout_redirect", &self.after_logout)?;
        let failure_redirect = self
            .failure_redirect
            .as_deref()
            .map(|location| check_location("failure_redirect", location))
            .transpose()?;
        self.cookie_budget.check()?;
        if self.provider_timeout.is_zero() || self.max_provider_response == 0 {
            return Err(ConfigError::InvalidSetting {
                setting: "provider_timeout / max_provider_response",
                reason: "must be more than zero",
            });
        }
        let outbound = Outbound::new(OutboundLimits {
            timeout: self.provider_timeout,
            max_body: self.max_provider_response,
        })
        .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let api_tokens = ApiTokens::new(self.access_checks, &outbound)?;
        if !self.secure_cookies {
            tracing::warn!("socialauth: Secure cookies are off (insecure_http_cookies); never do this in production");
        }
        if let Some(revocations) = &self.revocations {
            // Every token of a session, renewed or bearer, ends by the session's end.
            revocations.cover_session_lifetime(max_session_lifetime);
        }
        let settings = Settings {
            keys,
            codec: IdentityCodec::new(),
            cookies: CookieSettings {
                secure: self.secure_cookies,
            },
            providers,
            backchannel,
            provider_slots,
            consumed: Default::default(),
            routes,
            clock: self.clock,
            public_url,
            allowed_hosts: self.allowed_hosts,
            identity_lifetime: self.identity_lifetime,
            max_session_lifetime,
            token_endpoint: self.token_endpoint,
            bearer_lifetime: self.bearer_lifetime.min(self.identity_lifetime),
            sliding_renewal: self.sliding_renewal,
            flow_lifetime: self.flow_lifetime,
            after_login,
            failure_redirect,
            after_logout,
            authorize: self.authorize,
            outbound,
            observer: Observer::new(self.on_event),
            revocations: self.revocations,
            keep_provider_tokens: self.keep_provider_tokens,
            cookie_budget: self.cookie_budget,
            refreshes: Default::default(),
            held_access_tokens: Default::default(),
            tenants,
            unknown_domain_redirect,
            api_tokens,
        };
        Ok(SocialAuthLayer {
            settings: Arc::new(settings),
        })
    }
}

fn check_prefix(prefix: &str) -> Result<String, ConfigError> {
    let trimmed = prefix.trim_end_matches('/');
    let ok = trimmed.starts_with('/')
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
    if ok {
        Ok(trimmed.to_owned())
    } else {
        Err(ConfigError::InvalidSetting {
            setting: "route_prefix",
            reason: "must be a path like \"/auth\"",
        })
    }
}

/// A plain-`http` public URL on a host other than loopback would lose every cookie: they are
/// `Secure` (and `__Host-`), which browsers set only over `https` or on loopback. Refused
/// unless the app asked for [`insecure_http_cookies`](SocialAuthLayerBuilder::insecure_http_cookies).
fn check_cookies_can_travel(
    public_url: &PublicUrl,
    secure_cookies: bool,
) -> Result<(), ConfigError> {
    if !secure_cookies || public_url.is_https() || is_loopback(public_url.authority()) {
        return Ok(());
    }
    Err(ConfigError::InvalidUrl {
        setting: "public_url",
        reason: format!(
            "{:?} is plain http, where browsers drop the layer's Secure cookies (every login \
             would fail with missing_flow_cookie): use an https URL, or call \
             .insecure_http_cookies() for development without TLS",
            public_url.origin()
        ),
    })
}

fn check_lifetime(
    setting: &'static str,
    lifetime: Duration,
    max: Duration,
) -> Result<(), ConfigError> {
    if lifetime < Duration::from_secs(1) || lifetime > max {
        return Err(ConfigError::InvalidSetting {
            setting,
            reason: "out of range (flow: 1 s to 10 min; the other lifetimes: 1 s to 400 days)",
        });
    }
    Ok(())
}

/// A redirect target: a path on this site (not `//host`), or an absolute http(s) URL.
fn check_location(setting: &'static str, location: &str) -> Result<Location, ConfigError> {
    let is_path = location.starts_with('/')
        && !location.starts_with("//")
        && !location.starts_with("/\\")
        && !location.bytes().any(|b| b.is_ascii_control());
    let checked = (is_path || endpoint(setting, location).is_ok())
        .then(|| Location::new(location))
        .flatten();
    checked.ok_or_else(|| ConfigError::InvalidUrl {
        setting,
        reason: format!("{location:?} is neither a path nor an absolute http(s) URL"),
    })
}
