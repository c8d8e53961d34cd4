//! [`Oidc`]: any OpenID Connect provider, found through its discovery document.
//!
//! The code flow with `state`, PKCE (S256) and a `nonce`; the ID token verified against the
//! provider's published keys; the user from the ID token, and from the userinfo endpoint
//! when the ID token does not say enough.

use std::sync::Arc;

mod discovery;
pub(crate) mod id_token;
mod jwks;
pub(crate) mod tenant;

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use url::Url;

use self::discovery::{discovery_url, DiscoveryCache, Metadata};
use self::id_token::{Claims, Expected, Verified};
use self::jwks::JwksCache;
use self::tenant::TenantIssuer;
use crate::error::{AuthError, AuthErrorKind, ConfigError};
use crate::oauth2::signed_secret::SignedSecret;
use crate::oauth2::{
    callback_key, check_authorize_params, AccessToken, AuthorizeRequest, ClientAuth, CodeExchange,
    Credentials,
};
use crate::provider::config::CodeFlowConfig;
use crate::provider::{
    endpoint, CallbackKey, CallbackParams, FlowData, LoginProvider, LoginStart, Profile,
    ProviderContext,
};

/// An OpenID Connect provider (Keycloak, Okta, Auth0, Microsoft Entra ID, Google, ...),
/// configured from its issuer URL.
///
/// Answers at `/auth/<name>` (default `/auth/oidc`). At the first login the layer fetches
/// `{issuer}/.well-known/openid-configuration` and keeps it (a failed fetch is answered
/// `provider_error`, 502, and tried again at the next login); its `issuer` must be the
/// configured one, character for character.
///
/// Every login sends `state`, a PKCE challenge (S256) and a fresh `nonce`. The ID token from
/// the token endpoint must then pass every check of OpenID Connect Core §3.1.3.7:
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
    issuer: String,
    client_auth: Option<ClientAuth>,
    algorithms: Vec<Algorithm>,
    userinfo: Option<bool>,
    /// Other spellings of the issuer that ID tokens may carry in `iss` (Google's
    /// `accounts.google.com`). Never used for discovery or RFC 9207.
    issuer_aliases: Vec<String>,
    /// A multi-tenant issuer's template, checked against each token's own tenant.
    pub(crate) tenant_issuer: Option<TenantIssuer>,
    /// ID-token claims passed on in the profile, for the authorize hook.
    profile_claims: Vec<String>,
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
        }
    }

    /// How the client authenticates to the token endpoint. By default `client_secret_basic`,
    /// or `client_secret_post` when the discovery document lists only that one.
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
        self.client_auth
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

/// A checked OpenID Connect provider: its configuration and its caches.
#[derive(Debug)]
struct OidcFlow {
    oidc: Oidc,
    /// The configured authorization parameters, and `response_mode` when it is not `query`.
    authorize_params: Vec<(String, String)>,
    credentials: Credentials,
    discovery_url: Url,
    discovery: DiscoveryCache,
    jwks: JwksCache,
}

/// The userinfo claims the layer reads, each of a fixed JSON type.
#[derive(Deserialize)]
struct Userinfo {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Verified>,
}

/// The identity claims of one source (ID token or userinfo).
struct Described {
    name: Option<String>,
    email: Option<String>,
}

fn describe(
    name: Option<String>,
    preferred_username: Option<String>,
    email: Option<String>,
    email_verified: Option<Verified>,
) -> Described {
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    Described {
        name: non_empty(name).or_else(|| non_empty(preferred_username)),
        // Only an address the provider says it verified: an email claim without
        // `email_verified` (Entra ID sends mutable, unverified addresses so) would let anyone
        // who sets that address take over an account linked by email.
        email: non_empty(email).filter(|_| email_verified == Some(Verified(true))),
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

impl OidcFlow {
    async fn metadata(&self, cx: &ProviderContext<'_>) -> Result<&Metadata, AuthError> {
        self.discovery
            .get(
                cx.outbound,
                &self.discovery_url,
                &self.oidc.issuer,
                self.oidc.tenant_issuer.as_ref(),
            )
            .await
    }

    /// The configured client authentication, or the one the discovery document allows.
    fn client_auth(&self, metadata: &Metadata) -> ClientAuth {
        if let Some(auth) = self.oidc.client_auth {
            return auth;
        }
        match &metadata.token_endpoint_auth_methods {
            Some(methods)
                if !methods.iter().any(|m| m == "client_secret_basic")
                    && methods.iter().any(|m| m == "client_secret_post") =>
            {
                ClientAuth::Post
            }
            _ => ClientAuth::Basic,
        }
    }

    /// RFC 9207: an `iss` in the callback must be the issuer, and must be there when the
    /// provider says it sends one. Checked before the code goes anywhere.
    fn check_callback_issuer(
        &self,
        params: &CallbackParams,
        metadata: &Metadata,
    ) -> Result<(), AuthError> {
        match params.get("iss") {
            Some(iss) if iss == self.oidc.issuer => Ok(()),
            Some(_) => {
                tracing::warn!(
                    provider = self.oidc.config.name,
                    "callback from another issuer (RFC 9207)"
                );
                Err(AuthError::invalid_request(
                    "the callback comes from another issuer than this provider",
                ))
            }
            None if metadata.iss_parameter_supported => {
                tracing::warn!(
                    provider = self.oidc.config.name,
                    "callback without iss from a provider that sends it (RFC 9207)"
                );
                Err(AuthError::invalid_request(
                    "the callback has no iss parameter",
                ))
            }
            None => Ok(()),
        }
    }

    async fn verify_id_token(
        &self,
        cx: &ProviderContext<'_>,
        metadata: &Metadata,
        token: &str,
        nonce: &str,
    ) -> Result<Claims, AuthError> {
        let header =
            id_token::read_header(token, &self.oidc.algorithms).map_err(id_token::rejected)?;
        let jwk = self
            .jwks
            .key(
                cx.outbound,
                &metadata.jwks_uri,
                header.kid.as_deref(),
                header.alg,
            )
            .await?;
        let claims = id_token::verify_signature(token, &jwk, header.alg)?;
        // A multi-tenant issuer has one issuer per tenant: the token's own, if allowed.
        let tenant_issuer = match &self.oidc.tenant_issuer {
            Some(tenant) => Some(
                tenant
                    .issuer_for(claims.tid.as_deref())
                    .map_err(id_token::rejected)?,
            ),
            None => None,
        };
        let mut issuers: Vec<&str> = match &tenant_issuer {
            Some(issuer) => vec![issuer],
            None => vec![&self.oidc.issuer],
        };
        issuers.extend(self.oidc.issuer_aliases.iter().map(String::as_str));
        let expected = Expected {
            issuers: &issuers,
            client_id: &self.credentials.client_id,
            nonce,
        };
        id_token::check_claims(&claims, &expected, cx.now()).map_err(id_token::rejected)?;
        tracing::debug!(provider = self.oidc.config.name, "ID token verified");
        Ok(claims)
    }

    async fn read_userinfo(
        &self,
        cx: &ProviderContext<'_>,
        metadata: &Metadata,
        access_token: &AccessToken,
        sub: &str,
    ) -> Result<Option<Described>, AuthError> {
        let Some(url) = &metadata.userinfo_endpoint else {
            if self.oidc.userinfo == Some(true) {
                tracing::warn!(
                    provider = self.oidc.config.name,
                    "userinfo required but not offered"
                );
                return Err(AuthError::provider("the provider has no userinfo endpoint"));
            }
            return Ok(None);
        };
        let userinfo: Userinfo = cx
            .http()
            .get(url.clone(), "userinfo")
            .bearer(access_token)
            .json()
            .await?;
        if userinfo.sub != sub {
            tracing::warn!(
                provider = self.oidc.config.name,
                "userinfo is about another user than the ID token"
            );
            return Err(AuthError::new(
                AuthErrorKind::LoginFailed,
                "the provider described another user than the one who signed in",
            ));
        }
        tracing::debug!(provider = self.oidc.config.name, "userinfo read");
        Ok(Some(describe(
            userinfo.name,
            userinfo.preferred_username,
            userinfo.email,
            userinfo.email_verified,
        )))
    }
}

impl LoginProvider for OidcFlow {
    fn name(&self) -> &str {
        &self.oidc.config.name
    }

    async fn start(&self, cx: &ProviderContext<'_>) -> Result<LoginStart, AuthError> {
        let metadata = self.metadata(cx).await?;
        AuthorizeRequest {
            authorize_url: &metadata.authorization_endpoint,
            client_id: &self.credentials.client_id,
            redirect_uri: cx.callback_url().as_str(),
            scope: &self.oidc.config.scope,
            extra: &self.authorize_params,
            with_nonce: true,
        }
        .start()
    }

    fn form_post(&self) -> bool {
        self.oidc.form_post
    }

    fn callback_key<'q>(&self, params: &'q CallbackParams) -> Result<CallbackKey<'q>, AuthError> {
        // RFC 9207 applies to error responses too: an `iss` naming another issuer is refused
        // before anything else, so a mix-up attacker cannot even end a login with its error.
        if params.get("iss").is_some_and(|iss| iss != self.oidc.issuer) {
            tracing::warn!(
                provider = self.oidc.config.name,
                "callback from another issuer (RFC 9207)"
            );
            return Err(AuthError::invalid_request(
                "the callback comes from another issuer than this provider",
            ));
        }
        callback_key(params)
    }

    async fn finish(
        &self,
        cx: &ProviderContext<'_>,
        params: &CallbackParams,
        flow: &FlowData,
    ) -> Result<Profile, AuthError> {
        let metadata = self.metadata(cx).await?;
        self.check_callback_issuer(params, metadata)?;
        let nonce = flow.nonce().ok_or_else(|| {
            AuthError::new(
                AuthErrorKind::InvalidFlowCookie,
                "the login cookie is not valid for this login; start the login again",
            )
        })?;
        let code = params.require("code", "the callback has no code")?;
        let signed;
        let credentials = match &self.oidc.signed_secret {
            Some(signer) => {
                signed = Credentials {
                    client_id: self.credentials.client_id.clone(),
                    client_secret: signer.at(cx.now())?,
                };
                &signed
            }
            None => &self.credentials,
        };
        let token = CodeExchange {
            provider: cx.provider_name(),
            token_url: &metadata.token_endpoint,
            credentials,
            auth: self.client_auth(metadata),
            redirect_uri: cx.callback_url().as_str(),
            code,
            verifier: flow.secret(),
        }
        .send(cx.outbound)
        .await?;
        let id_token = token.id_token().ok_or_else(|| {
            tracing::warn!(
                provider = self.oidc.config.name,
                "token answer without an ID token"
            );
            AuthError::provider("the provider sent no ID token")
        })?;
        let claims = self.verify_id_token(cx, metadata, id_token, nonce).await?;
        let passed_on: Vec<(String, serde_json::Value)> = (self.oidc.profile_claims.iter())
            .filter_map(|name| Some((name.clone(), claims.get(name)?)))
            .collect();
        let from_token = describe(
            claims.name,
            claims.preferred_username,
            claims.email,
            claims.email_verified,
        );
        let wanted = match self.oidc.userinfo {
            Some(wanted) => wanted,
            None => from_token.name.is_none() || from_token.email.is_none(),
        };
        let from_userinfo = if wanted {
            self.read_userinfo(cx, metadata, token.access_token(), &claims.sub)
                .await?
        } else {
            None
        };
        let (name, email) = match from_userinfo {
            Some(info) => (
                info.name.or(from_token.name),
                info.email.or(from_token.email),
            ),
            None => (from_token.name, from_token.email),
        };
        let email = email.filter(|_| self.oidc.verified_emails);
        let name = name.or_else(|| self.oidc.callback_name.and_then(|read| read(params)));
        let refresh_token = token
            .refresh_token()
            .filter(|_| self.oidc.pass_refresh_token);
        let profile = Profile::new(claims.sub)
            .name(name)
            .verified_email(email)
            .refresh_token(refresh_token);
        Ok(passed_on
            .into_iter()
            .fold(profile, |profile, (name, value)| profile.claim(name, value)))
    }
}

impl Oidc {
    /// Checks the configuration and parses the issuer.
    pub(crate) fn build(self) -> Result<impl LoginProvider, ConfigError> {
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
        let credentials = Credentials::new(
            "oidc client_id",
            self.config.client_id.clone(),
            self.config.client_secret.clone(),
        )?;
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(oidc: Oidc) -> Result<(), ConfigError> {
        oidc.build().map(|_| ())
    }

    #[test]
    fn defaults_build() {
        assert!(check(Oidc::new("https://idp.example", "id", "secret")).is_ok());
        assert!(check(Oidc::new("http://127.0.0.1:8080/realm", "id", "secret")).is_ok());
    }

    #[test]
    fn hmac_and_empty_algorithm_lists_are_refused() {
        let base = || Oidc::new("https://idp.example", "id", "secret");
        for algorithms in [
            &[Algorithm::HS256][..],
            &[Algorithm::RS256, Algorithm::HS512][..],
            &[][..],
        ] {
            assert!(
                matches!(
                    check(base().allowed_algorithms(algorithms)),
                    Err(ConfigError::InvalidSetting {
                        setting: "oidc allowed_algorithms",
                        ..
                    })
                ),
                "{algorithms:?}"
            );
        }
        assert!(check(base().allowed_algorithms(&[Algorithm::EdDSA])).is_ok());
    }

    #[test]
    fn issuers_scopes_and_params_are_checked() {
        for issuer in [
            "http://idp.example",
            "https://idp.example?tenant=a",
            "https://idp.example#x",
            "idp.example",
        ] {
            assert!(
                check(Oidc::new(issuer, "id", "secret")).is_err(),
                "{issuer}"
            );
        }
        let base = || Oidc::new("https://idp.example", "id", "secret");
        assert!(check(base().scope("email profile")).is_err());
        assert!(check(base().authorize_param("nonce", "fixed")).is_err());
        assert!(check(base().authorize_param("prompt", "login")).is_ok());
        assert!(check(Oidc::new("https://idp.example", "", "secret")).is_err());
    }

    #[test]
    fn an_unverified_email_is_dropped_and_names_fall_back() {
        let d = describe(
            None,
            Some("jo".into()),
            Some("a@b.c".into()),
            Some(Verified(false)),
        );
        assert_eq!(d.name.as_deref(), Some("jo"));
        assert_eq!(d.email, None);
        let d = describe(Some("".into()), None, Some("a@b.c".into()), None);
        assert_eq!(d.name, None);
        assert_eq!(d.email, None, "no email_verified is not verified");
        let d = describe(None, None, Some("a@b.c".into()), Some(Verified(true)));
        assert_eq!(d.email.as_deref(), Some("a@b.c"));
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!(
            "{:?}",
            crate::Provider::from(Oidc::new("https://idp.example", "id", "hunter2"))
        );
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
