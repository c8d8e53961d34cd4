//! [`Oidc`]: any OpenID Connect provider, found through its discovery document.
//!
//! The code flow with `state`, PKCE (S256) and a `nonce` (each of the last two switched off
//! only for a provider that cannot do it); the ID token verified against the provider's
//! published keys; the user from the ID token, and from the userinfo endpoint when the ID
//! token does not say enough.

pub(crate) mod access_token;
mod config;
mod discovery;
mod end_session;
pub(crate) mod id_token;
mod jwks;
pub(crate) mod jws;
pub(crate) mod logout_token;
mod resource_server;
pub(crate) mod tenant;

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use url::Url;

pub use self::config::Oidc;
use self::discovery::{DiscoveryCache, Metadata};
use self::id_token::{Claims, Expected, NonceRule, Verified};
use self::jwks::JwksCache;
use crate::error::{AuthError, AuthErrorKind};
use crate::oauth2::{
    callback_key, AccessToken, AssertionAudience, AuthorizeRequest, ClientAuth, Credentials,
    GrantType, RefreshToken, TokenRequest, TokenResponse,
};
use crate::provider::access_token::Accepted;
use crate::provider::backchannel::{BackchannelLogout, LogoutRefused, LogoutToken};
use crate::provider::{BoxFuture, EndSessionRequest};
use crate::provider::{
    CallbackKey, CallbackParams, FlowData, LoginProvider, LoginStart, Profile, ProviderContext,
    TokenSet,
};

/// A checked OpenID Connect provider: its configuration and its caches.
#[derive(Debug)]
pub(crate) struct OidcFlow {
    oidc: Oidc,
    /// The configured authorization parameters, and `response_mode` when it is not `query`.
    authorize_params: Vec<(String, String)>,
    credentials: Credentials,
    discovery_url: Url,
    discovery: DiscoveryCache,
    jwks: JwksCache,
    /// Set once the discovery document was checked for `backchannel_logout_supported`.
    backchannel_checked: AtomicBool,
    /// The provider's access tokens the app accepts, when it does.
    accepted: Option<Accepted>,
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

/// `<scope>:<sub>`, the user id of a provider whose `sub` is unique only within a tenant or
/// workspace named by the claim `scope` (Slack's team id). A token without that claim, or
/// with one that is not a plain id (`A-Za-z0-9-_`, 1 to 64), is the provider's error.
fn scoped_subject(claims: &Claims, scope: &str) -> Result<String, AuthError> {
    let value = claims.get(scope);
    let tenant = value
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .filter(|t| {
            (1..=64).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or_else(|| {
            tracing::warn!(
                claim = scope,
                "ID token without the claim that scopes its sub"
            );
            AuthError::provider(
                "the provider's ID token does not say which workspace the user is in",
            )
        })?;
    Ok(format!("{tenant}:{}", claims.sub))
}

impl OidcFlow {
    async fn metadata(&self, cx: &ProviderContext<'_>) -> Result<&Metadata, AuthError> {
        let metadata = self
            .discovery
            .get(
                cx.outbound,
                &self.discovery_url,
                &self.oidc.issuer,
                self.oidc.tenant_issuer.as_ref(),
            )
            .await?;
        let first_check =
            self.oidc.backchannel_logout && !self.backchannel_checked.swap(true, Ordering::Relaxed);
        if first_check && metadata.backchannel_logout_supported != Some(true) {
            tracing::warn!(
                provider = self.oidc.config.name,
                advertised = ?metadata.backchannel_logout_supported,
                "back-channel logout is on, but the provider's discovery document does not say backchannel_logout_supported: true; it may never send logout tokens"
            );
        }
        Ok(metadata)
    }

    /// The key the provider publishes for a token with this JOSE header (its `kid` and
    /// `alg`), from the JWKS cache: ID, logout and access tokens alike.
    async fn signing_key(
        &self,
        cx: &ProviderContext<'_>,
        metadata: &Metadata,
        header: &jws::TokenHeader,
    ) -> Result<jsonwebtoken::jwk::Jwk, AuthError> {
        self.jwks
            .key(
                cx.outbound,
                &metadata.jwks_uri,
                header.kid.as_deref(),
                header.alg,
            )
            .await
    }

    /// The configured client authentication, or the one the discovery document allows.
    fn client_auth(&self, metadata: &Metadata) -> ClientAuth {
        if let Some(auth) = &self.oidc.client_auth {
            return auth.clone();
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

    /// The `aud` of a client assertion ([`ClientAuth::PrivateKeyJwt`]) sent to this
    /// provider's token endpoint: the configured issuer (draft-ietf-oauth-rfc7523bis), unless the
    /// app asked for the token endpoint.
    fn assertion_audience<'m>(&'m self, auth: &ClientAuth, metadata: &'m Metadata) -> &'m str {
        match auth {
            ClientAuth::PrivateKeyJwt {
                audience: AssertionAudience::TokenEndpoint,
                ..
            } => metadata.token_endpoint.as_str(),
            _ => &self.oidc.issuer,
        }
    }

    /// The client's credentials at time `now`: the configured ones, or with Apple's signed
    /// secret, signed anew when due.
    fn credentials_at(&self, now: u64) -> Result<std::borrow::Cow<'_, Credentials>, AuthError> {
        Ok(match &self.oidc.signed_secret {
            Some(signer) => std::borrow::Cow::Owned(Credentials {
                client_id: self.credentials.client_id.clone(),
                client_secret: signer.at(now)?,
            }),
            None => std::borrow::Cow::Borrowed(&self.credentials),
        })
    }

    /// A request to the token endpoint, with the client's authentication.
    async fn token(
        &self,
        cx: &ProviderContext<'_>,
        metadata: &Metadata,
        grant: GrantType<'_>,
    ) -> Result<TokenResponse, AuthError> {
        let credentials = self.credentials_at(cx.now())?;
        let auth = self.client_auth(metadata);
        TokenRequest {
            provider: cx.provider_name(),
            token_url: &metadata.token_endpoint,
            credentials: &credentials,
            assertion_audience: self.assertion_audience(&auth, metadata),
            auth: &auth,
            now: cx.now(),
            grant,
        }
        .send(cx.outbound)
        .await
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

    /// For a multi-tenant issuer, the issuer of a token of tenant `tid`, if that tenant is
    /// allowed (`None` for a provider with one issuer).
    fn tenant_issuer(&self, tid: Option<&str>) -> Result<Option<String>, id_token::Rule> {
        self.oidc
            .tenant_issuer
            .as_ref()
            .map(|tenant| tenant.issuer_for(tid))
            .transpose()
    }

    /// The `iss` values a token may carry: the issuer (or, for a multi-tenant issuer, the
    /// token's tenant's, from [`tenant_issuer`](Self::tenant_issuer)) and its aliases.
    fn issuers<'a>(&'a self, tenant_issuer: Option<&'a str>) -> Vec<&'a str> {
        let mut issuers = vec![tenant_issuer.unwrap_or(&self.oidc.issuer)];
        issuers.extend(self.oidc.issuer_aliases.iter().map(String::as_str));
        issuers
    }

    async fn verify_id_token(
        &self,
        cx: &ProviderContext<'_>,
        metadata: &Metadata,
        token: &str,
        nonce: NonceRule<'_>,
    ) -> Result<Claims, AuthError> {
        let header =
            id_token::read_header(token, &self.oidc.algorithms).map_err(id_token::rejected)?;
        if header.typ.as_deref().is_some_and(jws::is_logout_typ) {
            return Err(id_token::rejected("a logout token (typ), not an ID token"));
        }
        let jwk = self.signing_key(cx, metadata, &header).await?;
        let claims = id_token::verify_signature(token, &jwk, header.alg)?;
        let tenant_issuer = self
            .tenant_issuer(claims.tid.as_deref())
            .map_err(id_token::rejected)?;
        let issuers = self.issuers(tenant_issuer.as_deref());
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
            with_pkce: self.oidc.pkce,
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
        let grant = GrantType::AuthorizationCode {
            redirect_uri: cx.callback_url().as_str(),
            code,
            verifier: self.oidc.pkce.then_some(flow.secret()),
        };
        let token = self.token(cx, metadata, grant).await?;
        let id_token = token.id_token().ok_or_else(|| {
            tracing::warn!(
                provider = self.oidc.config.name,
                "token answer without an ID token"
            );
            AuthError::provider("the provider sent no ID token")
        })?;
        let nonce = if self.oidc.id_token_nonce {
            NonceRule::Required(nonce)
        } else {
            NonceRule::IfPresent(nonce)
        };
        let claims = self
            .verify_id_token(cx, metadata, id_token.secret(), nonce)
            .await?;
        // The provider session, for back-channel logout: a non-empty string of sane length,
        // else none (a logout token then reaches this sign-in by its `sub` only).
        let provider_session = (claims.other.get("sid"))
            .and_then(serde_json::Value::as_str)
            .filter(|sid| !sid.is_empty() && sid.len() <= 255)
            .map(crate::secret::ProviderSid::new);
        let passed_on: Vec<(String, serde_json::Value)> = (self.oidc.profile_claims.iter())
            .filter_map(|name| Some((name.clone(), claims.get(name)?)))
            .collect();
        let user_id = match self.oidc.subject_scope {
            Some(scope) => scoped_subject(&claims, scope)?,
            None => claims.sub.clone(),
        };
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
            .filter(|_| self.oidc.pass_refresh_token)
            .map(|token| token.secret());
        let profile = Profile::new(user_id)
            .name(name)
            .verified_email(email)
            .refresh_token(refresh_token)
            .with_tokens(TokenSet::from_response(&token, cx.now()))
            .with_provider_session(provider_session);
        Ok(passed_on
            .into_iter()
            .fold(profile, |profile, (name, value)| profile.claim(name, value)))
    }

    async fn refresh(
        &self,
        cx: &ProviderContext<'_>,
        refresh_token: &RefreshToken,
    ) -> Result<TokenResponse, AuthError> {
        let metadata = self.metadata(cx).await?;
        let response = self
            .token(cx, metadata, GrantType::RefreshToken { refresh_token })
            .await?;
        // A refresh's ID token is verified as a login's (OpenID Connect Core 1.0 §12.2), but
        // for the nonce: it answers no authorization request. That it names the login's user
        // is checked against the login's ID token where it is kept.
        if let Some(id_token) = response.id_token() {
            self.verify_id_token(cx, metadata, id_token.secret(), NonceRule::Refresh)
                .await?;
        }
        Ok(response)
    }

    async fn end_session_url(
        &self,
        cx: &ProviderContext<'_>,
        request: &EndSessionRequest<'_>,
    ) -> Result<Option<Url>, AuthError> {
        if !self.oidc.provider_logout {
            return Ok(None);
        }
        let metadata = self.metadata(cx).await?;
        let endpoint = metadata.end_session_endpoint.as_ref().ok_or_else(|| {
            AuthError::provider("the provider's discovery document has no end_session_endpoint")
        })?;
        Ok(Some(end_session::end_session_url(
            endpoint,
            &self.credentials.client_id,
            request,
        )))
    }
}

impl OidcFlow {
    async fn logout_token(
        &self,
        cx: &ProviderContext<'_>,
        token: &str,
    ) -> Result<LogoutToken, LogoutRefused> {
        let metadata = self.metadata(cx).await.map_err(LogoutRefused::Provider)?;
        // §2.6 steps 2 and 3: the signature as an ID token's, never `none`, never HMAC.
        let header =
            id_token::read_header(token, &self.oidc.algorithms).map_err(LogoutRefused::Token)?;
        logout_token::check_typ(header.typ.as_deref()).map_err(LogoutRefused::Token)?;
        let jwk = self
            .signing_key(cx, metadata, &header)
            .await
            .map_err(|error| match error.kind() {
                AuthErrorKind::LoginFailed => {
                    LogoutRefused::Token("signed with a key the provider does not publish")
                }
                _ => LogoutRefused::Provider(error),
            })?;
        let json = jws::verify(token, &jwk, header.alg).map_err(LogoutRefused::Token)?;
        let unchecked = logout_token::Unchecked::read(&json).map_err(LogoutRefused::Token)?;
        let tenant_issuer = self
            .tenant_issuer(unchecked.tenant())
            .map_err(LogoutRefused::Token)?;
        let issuers = self.issuers(tenant_issuer.as_deref());
        unchecked
            .check(&issuers, &self.credentials.client_id, cx.now())
            .map_err(LogoutRefused::Token)
    }
}

impl BackchannelLogout for OidcFlow {
    fn verify_logout_token<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        token: &'a str,
    ) -> BoxFuture<'a, Result<LogoutToken, LogoutRefused>> {
        Box::pin(self.logout_token(cx, token))
    }

    fn user_id_for_sub(&self, sub: &str) -> Option<String> {
        self.oidc.subject_scope.is_none().then(|| sub.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;
    use jsonwebtoken::Algorithm;

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
    fn a_private_key_jwt_client_auth_is_kept_and_debug_hides_its_key() {
        use crate::oauth2::signing_key::tests::p256_pem;
        let pem = p256_pem();
        let key = crate::ClientAssertionKey::es256_pem(&pem).unwrap();
        let oidc = Oidc::new("https://idp.example", "id", "")
            .client_auth(ClientAuth::private_key_jwt(key.clone()));
        assert_eq!(
            oidc.configured_client_auth(),
            Some(ClientAuth::private_key_jwt(key))
        );
        let debug = format!("{oidc:?}");
        let body = pem.lines().nth(1).unwrap();
        assert!(!debug.contains(body), "{debug}");
        assert!(debug.contains("KeyPair([redacted])"), "{debug}");
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
