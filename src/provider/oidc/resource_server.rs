//! The OpenID Connect provider as the app's API sees it: checking an access token a client
//! presents ([`AccessTokenCheck`]). A JWT with the provider's keys, from the same discovery
//! document and JWKS cache as the logins (so a flood of made-up key ids costs at most one
//! key fetch a minute); any token by introspection, with the client's authentication.

use super::access_token::{self, Claims};
use super::{jws, OidcFlow};
use crate::error::AuthErrorKind;
use crate::oauth2::introspection::{self, Introspection};
use crate::oauth2::{AssertionAudience, ClientAuth};
use crate::provider::access_token::{Accepted, AccessTokenCheck, Method, Refusal, TokenFacts};
use crate::provider::{BoxFuture, ProviderContext};

impl OidcFlow {
    /// Whether the app accepts this provider's access tokens.
    pub(crate) fn accepts_access_tokens(&self) -> bool {
        self.accepted.is_some()
    }

    /// Verifies a JWT access token with the provider's keys.
    async fn verify_jwt(
        &self,
        cx: &ProviderContext<'_>,
        accepted: &Accepted,
        token: &str,
    ) -> Result<TokenFacts, Refusal> {
        let header = jws::read_header(token, &accepted.algorithms).map_err(Refusal::Invalid)?;
        let metadata = self
            .metadata(cx)
            .await
            .map_err(|_| Refusal::Unavailable("discovery failed"))?;
        let jwk = self
            .signing_key(cx, metadata, &header)
            .await
            .map_err(|error| match error.kind() {
                AuthErrorKind::LoginFailed => Refusal::Invalid("signed with an unknown key"),
                _ => Refusal::Unavailable("keys unreachable"),
            })?;
        let json = jws::verify(token, &jwk, header.alg).map_err(Refusal::Invalid)?;
        let claims: Claims = jws::json_object(&json).ok_or(Refusal::Invalid("claims malformed"))?;
        let all = jws::json_object(&json).ok_or(Refusal::Invalid("claims malformed"))?;
        let tenant_issuer = self
            .tenant_issuer(claims.tid.as_deref())
            .map_err(Refusal::Invalid)?;
        let expected = access_token::Expected {
            issuers: &self.issuers(tenant_issuer.as_deref()),
            audience: &accepted.audience,
            typ: header.typ.as_deref(),
        };
        access_token::check_claims(&claims, &expected, cx.now()).map_err(Refusal::Invalid)?;
        Ok(claims.into_facts(all, self.oidc.verified_emails))
    }

    /// Asks the provider's introspection endpoint about any token.
    async fn introspect(
        &self,
        cx: &ProviderContext<'_>,
        accepted: &Accepted,
        token: &str,
    ) -> Result<TokenFacts, Refusal> {
        let metadata = self
            .metadata(cx)
            .await
            .map_err(|_| Refusal::Unavailable("discovery failed"))?;
        let endpoint = accepted
            .introspection_endpoint
            .as_ref()
            .or(metadata.introspection_endpoint.as_ref())
            .ok_or_else(|| {
                tracing::error!(
                    provider = self.oidc.config.name,
                    "access tokens are to be introspected, but the provider's discovery \
                     document names no usable introspection_endpoint: set \
                     AccessTokens::introspection_endpoint"
                );
                Refusal::Unavailable("no introspection endpoint")
            })?;
        let credentials = self
            .credentials_at(cx.now())
            .map_err(|_| Refusal::Unavailable("client secret not signed"))?;
        let auth = self.client_auth(metadata);
        // A provider that wants the endpoint called as the assertion's audience (Okta,
        // Entra ID) wants this endpoint's URL here.
        let assertion_audience = match &auth {
            ClientAuth::PrivateKeyJwt {
                audience: AssertionAudience::TokenEndpoint,
                ..
            } => endpoint.as_str(),
            _ => self.oidc.issuer.as_str(),
        };
        let expected = introspection::Expected {
            issuers: &self.issuers(None),
            audience: &accepted.audience,
            verified_emails: self.oidc.verified_emails,
        };
        Introspection {
            endpoint,
            credentials: &credentials,
            auth: &auth,
            assertion_audience,
            now: cx.now(),
        }
        .ask(cx.outbound, token, &expected)
        .await
    }
}

impl AccessTokenCheck for OidcFlow {
    fn provider_name(&self) -> &str {
        &self.oidc.config.name
    }

    fn accepted(&self) -> Option<&Accepted> {
        self.accepted.as_ref()
    }

    fn issues(&self, iss: &str) -> bool {
        iss == self.oidc.issuer
            || self.oidc.issuer_aliases.iter().any(|alias| alias == iss)
            || self
                .oidc
                .tenant_issuer
                .as_ref()
                .is_some_and(|tenant| tenant.names_this_issuer(iss))
    }

    fn check<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        method: Method,
        token: &'a str,
    ) -> BoxFuture<'a, Result<TokenFacts, Refusal>> {
        Box::pin(async move {
            let accepted = self.accepted.as_ref().ok_or(Refusal::Invalid(
                "the provider's access tokens are not accepted",
            ))?;
            match method {
                Method::Jwt => self.verify_jwt(cx, accepted, token).await,
                Method::Introspection => self.introspect(cx, accepted, token).await,
            }
        })
    }
}
