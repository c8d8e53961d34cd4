//! [`Oidc`]: an OpenID Connect provider's configuration, and its checks when the layer is
//! built.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use jsonwebtoken::Algorithm;

use super::discovery::{discovery_url, DiscoveryCache};
use super::jwks::JwksCache;
use super::tenant::TenantIssuer;
use super::OidcFlow;
use crate::error::ConfigError;
use crate::oauth2::signed_secret::SignedSecret;
use crate::oauth2::{check_authorize_params, check_public_client_pkce, ClientAuth, Credentials};
use crate::provider::access_token::{AccessTokenCheck, AccessTokens};
use crate::provider::backchannel::BackchannelLogout;
use crate::provider::config::CodeFlowConfig;
use crate::provider::{endpoint, CallbackParams, Provider};

/// An OpenID Connect provider (Keycloak, Okta, Auth0, Microsoft Entra ID, Google, ...),
/// configured from its issuer URL.
///
/// Answers at `/auth/<name>` (default `/auth/oidc`). At the first login the layer fetches
/// `{issuer}/.well-known/openid-configuration` and keeps it (a failed fetch is answered
/// `provider_error`, 502, and tried again at the next login); its `issuer` must be the
/// configured one, character for character.
///
/// Every login sends `state`, a PKCE challenge (S256) and a fresh `nonce` (PKCE and the
/// `nonce` check can be turned off for a provider that cannot do them: [`pkce`](Self::pkce),
/// [`id_token_nonce`](Self::id_token_nonce), both weakening). The ID token from the token
/// endpoint must then pass every check of OpenID Connect Core §3.1.3.7:
///
/// | Check | On failure |
/// |---|---|
/// | signed with an algorithm of [`allowed_algorithms`](Self::allowed_algorithms) (never `none`, never HMAC), by a key of the matching type from the provider's JWKS, found by `kid`; `jku`, `x5u` and `jwk` headers refused, never followed | 401 `login_failed` |
/// | `iss` is the issuer; `aud` holds the client id; `azp`, when present (required with several audiences), is the client id | 401 `login_failed` |
/// | `exp`, `iat` and `nbf` hold, with 60 s leeway | 401 `login_failed` |
/// | `nonce` is this login's (compared in constant time); `sub` is a non-empty string | 401 `login_failed` |
/// | userinfo, when read, is about the same `sub` | 401 `login_failed` |
/// | a claim the layer reads is missing or of the wrong JSON type (in a correctly signed token) | 502 `provider_error` |
/// | no ID token, discovery or JWKS unreachable or malformed | 502 `provider_error` |
/// | RFC 9207: the callback's `iss` is another issuer, or missing when the provider advertises `authorization_response_iss_parameter_supported` (checked before the code is exchanged) | 400 `invalid_request` |
///
/// The JWKS is kept too. A token signed with a key not in it (the provider rotated its keys)
/// makes the layer fetch the JWKS again, once: logins missing at the same time share that
/// fetch, and there is at most one such fetch a minute. Keys are fetched anew after an hour.
///
/// The identity: `sub` as the user id, `name` (or `preferred_username`), and `email` only
/// when `email_verified` is `true` (as a boolean or the string `"true"`).
///
/// ```
/// use socialauth::{Algorithm, Oidc};
/// let keycloak = Oidc::new("https://sso.example.com/realms/staff", "client-id", "client-secret")
///     .name("staff")
///     .allowed_algorithms(&[Algorithm::RS256]);
/// # let _ = keycloak;
/// ```
#[derive(Debug, Clone)]
pub struct Oidc {
    pub(crate) config: CodeFlowConfig,
    pub(super) issuer: String,
    pub(super) client_auth: Option<ClientAuth>,
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) userinfo: Option<bool>,
    /// Other spellings of the issuer that ID tokens may carry in `iss` (Google's
    /// `accounts.google.com`). Never used for discovery or RFC 9207.
    pub(super) issuer_aliases: Vec<String>,
    /// A multi-tenant issuer's template, checked against each token's own tenant.
    pub(crate) tenant_issuer: Option<TenantIssuer>,
    /// ID-token claims passed on in the profile, for the authorize hook.
    pub(super) profile_claims: Vec<String>,
    /// False for a provider whose `email` is never verified, whatever it claims (Entra ID).
    pub(crate) verified_emails: bool,
    /// A client secret the layer signs (Apple's), in place of the configured one.
    pub(crate) signed_secret: Option<Arc<SignedSecret>>,
    /// The token answer's refresh token goes to the authorize hook (Apple's, for revocation).
    pub(crate) pass_refresh_token: bool,
    /// The provider posts its callback (`response_mode=form_post`).
    pub(crate) form_post: bool,
    /// The display name from the callback itself, when the ID token has none (Apple's
    /// unsigned `user` parameter: used for the name only, never for identity).
    pub(crate) callback_name: Option<fn(&CallbackParams) -> Option<String>>,
    /// Logout also ends the session at the provider (RP-Initiated Logout).
    pub(super) provider_logout: bool,
    /// The layer receives the provider's logout tokens (Back-Channel Logout).
    pub(super) backchannel_logout: bool,
    /// Logins send a PKCE challenge and the token request its verifier.
    pub(super) pkce: bool,
    /// ID tokens must carry this login's `nonce` (when false, one they carry must still be).
    pub(super) id_token_nonce: bool,
    /// The claim naming the tenant or workspace a `sub` is unique in (Slack's team): the
    /// identity's user id is then `<that claim>:<sub>`.
    pub(crate) subject_scope: Option<&'static str>,
    /// A mistake a preset found in its own settings, reported when the provider is built.
    pub(crate) preset_error: Option<ConfigError>,
    /// The provider's access tokens the app accepts as `Authorization: Bearer`.
    pub(super) access_tokens: Option<AccessTokens>,
}

impl Oidc {
    /// A provider for `issuer_url` (e.g. `https://accounts.google.com`, or
    /// `https://sso.example.com/realms/staff`), with the client's id and secret.
    pub fn new(
        issuer_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            config: CodeFlowConfig::new("oidc", client_id, client_secret, "openid email profile"),
            issuer: issuer_url.into(),
            client_auth: None,
            algorithms: vec![Algorithm::RS256, Algorithm::ES256],
            userinfo: None,
            issuer_aliases: Vec::new(),
            tenant_issuer: None,
            profile_claims: Vec::new(),
            verified_emails: true,
            signed_secret: None,
            pass_refresh_token: false,
            form_post: false,
            callback_name: None,
            provider_logout: false,
            backchannel_logout: false,
            pkce: true,
            id_token_nonce: true,
            subject_scope: None,
            preset_error: None,
            access_tokens: None,
        }
    }

    /// How the client authenticates to the token endpoint. By default `client_secret_basic`,
    /// or `client_secret_post` when the discovery document lists only that one; a method set
    /// here is used whatever the discovery document lists. With
    /// [`ClientAuth::PrivateKeyJwt`], the assertion's audience is the issuer
    /// (draft-ietf-oauth-rfc7523bis), or the token endpoint from discovery for a provider that asks
    /// for it ([`AssertionAudience`](crate::AssertionAudience)).
    ///
    /// ```
    /// use socialauth::{ClientAuth, Oidc};
    /// let p = Oidc::new("https://sso.example.com", "id", "secret").client_auth(ClientAuth::Post);
    /// # let _ = p;
    /// ```
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = Some(auth);
        self
    }

    /// The ID-token signature algorithms accepted (default RS256 and ES256). HMAC
    /// algorithms (HS256, HS384, HS512) are refused when the layer is built: they would
    /// make the client secret a signing key. `none` is never accepted.
    ///
    /// ```
    /// use socialauth::{Algorithm, Oidc};
    /// let p = Oidc::new("https://sso.example.com", "id", "secret")
    ///     .allowed_algorithms(&[Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA]);
    /// # let _ = p;
    /// ```
    pub fn allowed_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// Whether to read the userinfo endpoint after the ID token: `true` always, `false`
    /// never. By default, only when the ID token lacks the name or the email and the
    /// provider has a userinfo endpoint.
    ///
    /// ```
    /// let p = socialauth::Oidc::new("https://sso.example.com", "id", "secret").userinfo(true);
    /// # let _ = p;
    /// ```
    pub fn userinfo(mut self, fetch: bool) -> Self {
        self.userinfo = Some(fetch);
        self
    }

    /// Passes the ID-token claim `name` on to the
    /// [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook, which reads it with
    /// [`UserProfile::claim`](crate::UserProfile::claim) (e.g. `groups`, or a tenant or
    /// workspace id to restrict who may sign in). Absent claims are simply not there.
    ///
    /// ```
    /// let p = socialauth::Oidc::new("https://sso.example.com", "id", "secret").profile_claim("groups");
    /// # let _ = p;
    /// ```
    pub fn profile_claim(mut self, name: impl Into<String>) -> Self {
        self.profile_claims.push(name.into());
        self
    }

    /// Also ends the user's session at the provider when they log out of the app (OpenID
    /// Connect RP-Initiated Logout 1.0). Off by default.
    ///
    /// Without it, `POST /auth/logout` signs the user out of the app only: they stay signed
    /// in at the provider, and the next login there may go through without asking who they
    /// are (on a shared computer, as the same person). With it, and when the discovery
    /// document has an `end_session_endpoint`, logout clears the layer's cookies as always,
    /// then answers `303` to that endpoint with `client_id`, `post_logout_redirect_uri`,
    /// a random `state`, and `id_token_hint` (the sign-in's ID token, when
    /// [`keep_provider_tokens`](crate::SocialAuthLayerBuilder::keep_provider_tokens) keeps
    /// it) or else `logout_hint` (the user id). The provider may ask the user to confirm; it
    /// then sends the browser back to `post_logout_redirect_uri`.
    ///
    /// `post_logout_redirect_uri` is the
    /// [after-logout URL](crate::SocialAuthLayerBuilder::after_logout_redirect) made
    /// absolute on the [public URL](crate::SocialAuthLayerBuilder::public_url) (or, without
    /// one, the request's loopback or allowed host): register it at the provider as a
    /// post-logout redirect URI. An after-logout URL on another origin is never sent.
    ///
    /// The user is signed out of the app whatever happens at the provider: when the
    /// provider has no `end_session_endpoint`, discovery fails, or no absolute
    /// after-logout URL can be made, the logout stays local (a redirect to the after-logout
    /// URL) and a warning is logged. A logout the revocation store could not record answers
    /// its error without visiting the provider. A sign-in that expired or was revoked in the
    /// app still ends at the provider (the layer signed its cookie); a forged cookie gets a
    /// local logout. The OIDC presets ([`Google`](crate::Google),
    /// [`Microsoft`](crate::Microsoft), ...) become an `Oidc` with `Oidc::from(preset)`.
    ///
    /// ```
    /// let p = socialauth::Oidc::new("https://sso.example.com", "id", "secret").provider_logout(true);
    /// # let _ = p;
    /// ```
    pub fn provider_logout(mut self, on: bool) -> Self {
        self.provider_logout = on;
        self
    }

    /// Receives the provider's back-channel logout tokens (OpenID Connect Back-Channel
    /// Logout 1.0): when an administrator ends a user's session at the provider, or the user
    /// signs out there, every sign-in that came from that session stops working on every
    /// replica. Off by default; needs [`revocation`](crate::SocialAuthLayerBuilder::revocation),
    /// or [`build`](crate::SocialAuthLayerBuilder::build) answers a [`ConfigError`].
    ///
    /// The layer then answers `POST /auth/<name>/backchannel-logout` (under the route
    /// prefix): register that URL, made absolute on the app's public URL, as the client's
    /// `backchannel_logout_uri`, and set `backchannel_logout_session_required` to `true`
    /// so that the provider's ID tokens carry `sid` (and its logout tokens too). A token
    /// with `sid` ends the sign-ins of that provider session only; one with only `sub` ends
    /// every sign-in of that user at this provider begun until then. Each token is verified
    /// as section 2.6 says (signature by the provider's keys and
    /// [`allowed_algorithms`](Self::allowed_algorithms), `iss`, `aud`/`azp`, `iat` at most
    /// 5 minutes old, `exp`, `jti`, the back-channel logout event, `sid` or `sub`, no
    /// `nonce`, `typ` `logout+jwt` when present), and accepted once: its `jti` is recorded
    /// in the revocation store. The answer is `200` (`Cache-Control: no-store`), or `400`
    /// with a JSON error; never a redirect, never a cookie.
    ///
    /// The discovery document's `backchannel_logout_supported` is read at the first use:
    /// unless it is `true`, a warning says the provider may never send logout tokens.
    ///
    /// ```
    /// let p = socialauth::Oidc::new("https://sso.example.com", "id", "secret").backchannel_logout(true);
    /// # let _ = p;
    /// ```
    pub fn backchannel_logout(mut self, on: bool) -> Self {
        self.backchannel_logout = on;
        self
    }

    /// Whether logins use PKCE (RFC 7636, S256): on by default. **Weakens security** when
    /// off, for a provider that refuses PKCE for the app (LinkedIn, unless it enabled PKCE
    /// for the app, answers a `code_verifier` with `401 invalid_client`). `state` still binds
    /// the callback to the browser that started the login, and the `nonce` (unless also off)
    /// still binds the ID token to it; without both, a code stolen from a callback (a leaked
    /// log, a referrer) could be redeemed by whoever holds it, in their own login.
    /// [`ClientAuth::PublicClient`] needs PKCE: the layer refuses one without when built.
    ///
    /// ```
    /// let p = socialauth::Oidc::new("https://sso.example.com", "id", "secret").pkce(false);
    /// # let _ = p;
    /// ```
    pub fn pkce(mut self, on: bool) -> Self {
        self.pkce = on;
        self
    }

    /// Whether ID tokens must echo the login's `nonce` (OpenID Connect Core §3.1.3.7): on by
    /// default. **Weakens security** when off, for a provider whose ID tokens carry no
    /// `nonce` (LinkedIn): a token without one is then accepted; one with a `nonce` must
    /// still carry this login's. The login keeps `state` (bound to the browser's flow
    /// cookie) and PKCE (unless also off), and the ID token still comes straight from the
    /// token endpoint over TLS, never through the browser; what is lost is the check that
    /// this ID token was issued for this very login.
    ///
    /// ```
    /// let p = socialauth::Oidc::new("https://sso.example.com", "id", "secret").id_token_nonce(false);
    /// # let _ = p;
    /// ```
    pub fn id_token_nonce(mut self, required: bool) -> Self {
        self.id_token_nonce = required;
        self
    }

    /// Also accepts this provider's own access tokens as `Authorization: Bearer`, so an API
    /// client that signed in at the provider (a mobile app, a CLI, a single-page app with
    /// PKCE, a service with client credentials) gets an [`Identity`](crate::Identity) too,
    /// saying so ([`AuthMethod::ProviderAccessToken`](crate::AuthMethod)), with the token's
    /// scopes and client. Off by default: the layer's own bearer tokens only. See
    /// [`AccessTokens`] for the checks, the cache and the failures.
    ///
    /// ```
    /// use socialauth::{AccessTokens, Oidc};
    /// let okta = Oidc::new("https://example.okta.com/oauth2/default", "my-app", "secret")
    ///     .access_tokens(AccessTokens::jwt_or_introspection("api://default"));
    /// # let _ = okta;
    /// ```
    pub fn access_tokens(mut self, accepted: AccessTokens) -> Self {
        self.access_tokens = Some(accepted);
        self
    }

    /// The configured issuer URL.
    ///
    /// ```
    /// let p = socialauth::Oidc::new("https://sso.example.com", "id", "secret");
    /// assert_eq!(p.issuer(), "https://sso.example.com");
    /// ```
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client authentication set with [`client_auth`](Self::client_auth).
    #[cfg(test)]
    pub(crate) fn configured_client_auth(&self) -> Option<ClientAuth> {
        self.client_auth.clone()
    }

    /// Accepts `alias` as well as the issuer in ID tokens' `iss`.
    pub(crate) fn issuer_alias(mut self, alias: impl Into<String>) -> Self {
        self.issuer_aliases.push(alias.into());
        self
    }

    /// Replaces the issuer (presets pointed at a test server).
    pub(crate) fn set_issuer(&mut self, issuer: impl Into<String>) {
        self.issuer = issuer.into();
    }
}

code_flow_setters!(Oidc.config, name: "oidc", scope: "openid email profile",
    "Must hold `openid`.");

impl Oidc {
    /// Checks the configuration and parses the issuer.
    pub(crate) fn build(self) -> Result<OidcFlow, ConfigError> {
        if let Some(error) = &self.preset_error {
            return Err(error.clone());
        }
        let issuer = endpoint("oidc issuer", &self.issuer)?;
        if issuer.query().is_some() {
            return Err(ConfigError::InvalidSetting {
                setting: "oidc issuer",
                reason: "must have no query",
            });
        }
        if issuer.scheme() != "https" && !is_loopback(&issuer) {
            return Err(ConfigError::InvalidSetting {
                setting: "oidc issuer",
                reason: "must be https (plain http only on a loopback host)",
            });
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "oidc allowed_algorithms",
                reason: "must name at least one algorithm",
            });
        }
        let hmac = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        if self.algorithms.iter().any(|alg| hmac.contains(alg)) {
            return Err(ConfigError::InvalidSetting {
                setting: "oidc allowed_algorithms",
                reason: "HMAC algorithms (HS256, HS384, HS512) are not accepted for ID tokens",
            });
        }
        if !self.config.scope.split(' ').any(|scope| scope == "openid") {
            return Err(ConfigError::InvalidSetting {
                setting: "oidc scope",
                reason: "must include openid",
            });
        }
        check_authorize_params("oidc authorize_param", &self.config.authorize_params)?;
        if let Some(auth) = &self.client_auth {
            check_public_client_pkce("oidc client_auth", auth, self.pkce)?;
        }
        if self
            .tenant_issuer
            .as_ref()
            .is_some_and(|t| t.allowed.is_empty())
        {
            tracing::warn!(
                provider = self.config.name,
                "multi-tenant provider without allowed_tenants: users of every tenant in the world can sign in; list the tenants with allowed_tenants, or check the tid claim in the authorize hook"
            );
        }
        let credentials = Credentials::new(
            "oidc client_id",
            self.config.client_id.clone(),
            self.config.client_secret.clone(),
        )?;
        let accepted = self
            .access_tokens
            .as_ref()
            .map(|tokens| tokens.check(&self.config.client_id, &self.algorithms))
            .transpose()?;
        let mut authorize_params = self.config.authorize_params.clone();
        if self.form_post {
            authorize_params.push(("response_mode".to_owned(), "form_post".to_owned()));
        }
        Ok(OidcFlow {
            authorize_params,
            discovery_url: endpoint("oidc issuer", &discovery_url(&self.issuer))?,
            credentials,
            oidc: self,
            discovery: DiscoveryCache::default(),
            jwks: JwksCache::default(),
            backchannel_checked: AtomicBool::new(false),
            accepted,
        })
    }
}

/// Whether `host` is a loopback name or address, where plain `http` is acceptable.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// An OpenID Connect provider is checked and parsed when it becomes a [`Provider`]; a mistake
/// waits in the `Provider` for [`build`](crate::SocialAuthLayerBuilder::build) to report. When
/// the app accepts its access tokens, the same provider (the same keys, the same discovery
/// document) checks them; with back-channel logout on, it is also the layer's logout-token
/// verifier.
impl From<Oidc> for Provider {
    fn from(oidc: Oidc) -> Self {
        match oidc.build() {
            Ok(flow) => {
                let flow = Arc::new(flow);
                let backchannel = flow
                    .oidc
                    .backchannel_logout
                    .then(|| flow.clone() as Arc<dyn BackchannelLogout>);
                let access_tokens = flow
                    .accepts_access_tokens()
                    .then(|| flow.clone() as Arc<dyn AccessTokenCheck>);
                Provider {
                    built: Ok(flow),
                    backchannel,
                    access_tokens,
                }
            }
            Err(error) => Provider::failed(error),
        }
    }
}
