//! [`AccessTokens`]: which of a provider's access tokens the app accepts as
//! `Authorization: Bearer`, and the checked form the layer keeps.

use std::time::Duration;

use jsonwebtoken::Algorithm;
use url::Url;

use crate::error::ConfigError;
use crate::provider::endpoint;

/// The default for [`AccessTokens::cache_ttl`].
const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);
/// The longest [`AccessTokens::cache_ttl`].
const MAX_CACHE_TTL: Duration = Duration::from_secs(60 * 60);
/// The default for [`AccessTokens::max_introspections_per_second`].
const DEFAULT_INTROSPECTIONS_PER_SECOND: u32 = 50;

/// Which of a provider's own access tokens the app accepts as `Authorization: Bearer`, so an
/// API client (a mobile app, a CLI, a single-page app, another service) that signed in at the
/// provider itself gets the same [`Identity`](crate::Identity) as a signed-in browser. Off
/// unless given to [`Oidc::access_tokens`](crate::Oidc::access_tokens).
///
/// Every token must be for `audience`, your API's identifier at the provider (its resource
/// indicator, RFC 8707: Keycloak's audience, Entra ID's Application ID URI or client id, the
/// Auth0 API identifier, the Okta authorization server's audience). Tokens are checked one
/// of two ways:
///
/// - **JWTs** ([`jwt`](Self::jwt)), verified in the process with the provider's keys (the
///   JWKS the logins use, fetched once and kept): an allowed algorithm, `iss` the issuer,
///   `aud` holding the audience, `exp`/`nbf`/`iat` (60 s leeway), and the token's type: an
///   RFC 9068 token (`typ: at+jwt`), or a JWT carrying the claims of an access token
///   (`scope`, `scp`, `client_id`, `cid`, `appid`, Keycloak's `typ: Bearer`) and none of an
///   ID token's or a logout token's (`nonce`, `at_hash`, `c_hash`, `s_hash`, `events`,
///   another Keycloak `typ`). A token bound to a key of the client (`cnf`: DPoP, mTLS) is
///   refused: the layer does not check that proof.
/// - **Opaque tokens** ([`introspection`](Self::introspection)), sent to the provider's
///   introspection endpoint (RFC 7662) with the client's own authentication (the
///   provider's [`ClientAuth`](crate::ClientAuth)): `active` must be `true`, `aud` must
///   hold the audience, `exp` must be there and not past, `iss` (when sent) the issuer,
///   `token_type` (when sent) `Bearer`.
///
/// A verdict is kept in the process for [`cache_ttl`](Self::cache_ttl) (30 s), never past
/// the token's `exp`, for a bounded number of tokens; refused tokens are kept too, so a
/// flood of junk costs the provider nothing twice, and at most
/// [`max_introspections_per_second`](Self::max_introspections_per_second) introspections
/// go out. When the provider cannot be asked, a route that needs a user answers `503`,
/// never anonymous and never signed in.
///
/// ```
/// use socialauth::{AccessTokens, Oidc};
/// let keycloak = Oidc::new("https://sso.example.com/realms/main", "my-app", "secret")
///     .access_tokens(AccessTokens::jwt("https://api.example.com"));
/// # let _ = keycloak;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokens {
    audience: String,
    jwt: bool,
    introspection: bool,
    introspection_endpoint: Option<String>,
    algorithms: Option<Vec<Algorithm>>,
    cache_ttl: Duration,
    introspections_per_second: u32,
}

impl AccessTokens {
    fn new(audience: impl Into<String>, jwt: bool, introspection: bool) -> Self {
        Self {
            audience: audience.into(),
            jwt,
            introspection,
            introspection_endpoint: None,
            algorithms: None,
            cache_ttl: DEFAULT_CACHE_TTL,
            introspections_per_second: DEFAULT_INTROSPECTIONS_PER_SECOND,
        }
    }

    /// JWT access tokens for `audience`, verified with the provider's keys: RFC 9068 and
    /// the shapes Keycloak, Entra ID (v2.0 tokens), Auth0 and Okta (custom authorization
    /// servers) issue. Any other token is refused without a call to the provider.
    ///
    /// ```
    /// let tokens = socialauth::AccessTokens::jwt("api://orders");
    /// # let _ = tokens;
    /// ```
    pub fn jwt(audience: impl Into<String>) -> Self {
        Self::new(audience, true, false)
    }

    /// Every token for `audience` asked about at the provider's introspection endpoint
    /// (RFC 7662; from discovery's `introspection_endpoint`, or
    /// [`introspection_endpoint`](Self::introspection_endpoint)): opaque tokens, and JWTs
    /// too, so a token the provider revoked stops working within
    /// [`cache_ttl`](Self::cache_ttl).
    ///
    /// ```
    /// let tokens = socialauth::AccessTokens::introspection("https://api.example.com");
    /// # let _ = tokens;
    /// ```
    pub fn introspection(audience: impl Into<String>) -> Self {
        Self::new(audience, false, true)
    }

    /// Both: this provider's JWTs verified with its keys, any other token introspected. For
    /// a provider that issues both kinds (oidc-provider, Okta).
    ///
    /// Only one provider of a layer may introspect tokens that are not its JWTs: an opaque
    /// token does not say whose it is, and another provider must not see it.
    ///
    /// ```
    /// let tokens = socialauth::AccessTokens::jwt_or_introspection("https://api.example.com");
    /// # let _ = tokens;
    /// ```
    pub fn jwt_or_introspection(audience: impl Into<String>) -> Self {
        Self::new(audience, true, true)
    }

    /// The introspection endpoint, for a provider whose discovery document does not name
    /// one. `https` (plain `http` only on a loopback host).
    ///
    /// ```
    /// let tokens = socialauth::AccessTokens::introspection("https://api.example.com")
    ///     .introspection_endpoint("https://sso.example.com/oauth2/introspect");
    /// # let _ = tokens;
    /// ```
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        self.introspection_endpoint = Some(url.into());
        self
    }

    /// The JWT signature algorithms accepted (default: the provider's
    /// [`allowed_algorithms`](crate::Oidc::allowed_algorithms)). HMAC algorithms are
    /// refused when the layer is built; `none` is never accepted.
    ///
    /// ```
    /// use socialauth::{AccessTokens, Algorithm};
    /// let tokens = AccessTokens::jwt("api://orders").allowed_algorithms(&[Algorithm::PS256]);
    /// # let _ = tokens;
    /// ```
    pub fn allowed_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = Some(algorithms.to_vec());
        self
    }

    /// How long the layer keeps its verdict on a token (default 30 s, at most 1 hour), never
    /// past the token's `exp`: a token the provider revokes may still work this long after.
    /// Refused tokens are kept as long.
    ///
    /// ```
    /// use std::time::Duration;
    /// let tokens = socialauth::AccessTokens::introspection("https://api.example.com")
    ///     .cache_ttl(Duration::from_secs(10));
    /// # let _ = tokens;
    /// ```
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// At most this many introspection calls a second (default 50, in bursts of as many):
    /// tokens the layer has no verdict on past that are answered as if the provider were
    /// unreachable (`503` on routes that need a user) until the budget refills, so a flood
    /// of made-up tokens cannot get the app's credentials throttled at the provider.
    ///
    /// ```
    /// let tokens = socialauth::AccessTokens::introspection("https://api.example.com")
    ///     .max_introspections_per_second(200);
    /// # let _ = tokens;
    /// ```
    pub fn max_introspections_per_second(mut self, calls: u32) -> Self {
        self.introspections_per_second = calls;
        self
    }

    /// Checks the configuration for a provider with `client_id` whose ID tokens are signed
    /// with `algorithms`, and whose issuer is `https` unless `loopback`.
    pub(crate) fn check(
        &self,
        client_id: &str,
        algorithms: &[Algorithm],
    ) -> Result<Accepted, ConfigError> {
        let invalid = |reason| ConfigError::InvalidSetting {
            setting: "access_tokens",
            reason,
        };
        let audience_ok = !self.audience.is_empty()
            && !self
                .audience
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        if !audience_ok {
            return Err(invalid(
                "the audience must be a non-empty string without spaces",
            ));
        }
        let algorithms = self
            .algorithms
            .clone()
            .unwrap_or_else(|| algorithms.to_vec());
        let hmac = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
        if algorithms.is_empty() || algorithms.iter().any(|alg| hmac.contains(alg)) {
            return Err(invalid(
                "allowed_algorithms must name at least one algorithm, and no HMAC one",
            ));
        }
        if self.cache_ttl < Duration::from_secs(1) || self.cache_ttl > MAX_CACHE_TTL {
            return Err(invalid("cache_ttl must be 1 s to 1 hour"));
        }
        if self.introspections_per_second == 0 {
            return Err(invalid(
                "max_introspections_per_second must be more than zero",
            ));
        }
        let introspection_endpoint = match &self.introspection_endpoint {
            Some(url) => {
                let url = endpoint("access_tokens introspection_endpoint", url)?;
                if url.scheme() != "https" && !is_loopback(&url) {
                    return Err(ConfigError::InvalidSetting {
                        setting: "access_tokens introspection_endpoint",
                        reason: "must be https (plain http only on a loopback host)",
                    });
                }
                Some(url)
            }
            None => None,
        };
        if self.audience == client_id {
            tracing::warn!(
                "access_tokens: the audience is the client id, which the provider's ID tokens \
                 name too: an ID token is then told from an access token by its claims alone; \
                 prefer your API's own identifier"
            );
        }
        Ok(Accepted {
            audience: self.audience.clone(),
            jwt: self.jwt,
            introspection: self.introspection,
            introspection_endpoint,
            algorithms,
            ttl: self.cache_ttl,
            introspections_per_second: self.introspections_per_second,
        })
    }
}

/// [`AccessTokens`] checked when the layer is built.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub(crate) audience: String,
    /// This provider's JWTs are verified with its keys.
    pub(crate) jwt: bool,
    /// Tokens are introspected (all of them without `jwt`; the others with it).
    pub(crate) introspection: bool,
    /// The configured introspection endpoint, else discovery's.
    pub(crate) introspection_endpoint: Option<Url>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) ttl: Duration,
    pub(crate) introspections_per_second: u32,
}

/// Whether `url`'s host is a loopback name or address, where plain `http` is acceptable.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(tokens: AccessTokens) -> Result<Accepted, ConfigError> {
        tokens.check("client", &[Algorithm::RS256])
    }

    #[test]
    fn defaults_check_and_take_the_providers_algorithms() {
        let accepted = check(AccessTokens::jwt("https://api.example")).unwrap();
        assert_eq!(accepted.algorithms, [Algorithm::RS256]);
        assert_eq!(accepted.ttl, DEFAULT_CACHE_TTL);
        assert!(accepted.jwt && !accepted.introspection);
        let both = check(AccessTokens::jwt_or_introspection("a")).unwrap();
        assert!(both.jwt && both.introspection);
    }

    #[test]
    fn bad_settings_are_refused() {
        for tokens in [
            AccessTokens::jwt(""),
            AccessTokens::jwt("two words"),
            AccessTokens::jwt("a").allowed_algorithms(&[]),
            AccessTokens::jwt("a").allowed_algorithms(&[Algorithm::RS256, Algorithm::HS256]),
            AccessTokens::jwt("a").cache_ttl(Duration::ZERO),
            AccessTokens::jwt("a").cache_ttl(Duration::from_secs(3601)),
            AccessTokens::introspection("a").max_introspections_per_second(0),
            AccessTokens::introspection("a").introspection_endpoint("/introspect"),
            AccessTokens::introspection("a").introspection_endpoint("http://idp.example/i"),
        ] {
            assert!(check(tokens.clone()).is_err(), "{tokens:?}");
        }
        let loopback = AccessTokens::introspection("a")
            .introspection_endpoint("http://127.0.0.1:8080/introspect");
        assert!(check(loopback).unwrap().introspection_endpoint.is_some());
    }
}
