//! Provider access tokens presented to the app as `Authorization: Bearer`: which ones the app
//! accepts from a provider ([`AccessTokens`]), what a provider that checked one says about it
//! ([`TokenFacts`]) or why it says nothing ([`Refusal`]), and the check itself
//! ([`AccessTokenCheck`], which the OpenID Connect provider implements).
//!
//! Nothing here caches, counts or answers a request: the layer does that, once for every
//! provider (`api_tokens`).

mod config;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

pub(crate) use self::config::Accepted;
pub use self::config::AccessTokens;
use super::context::ProviderContext;
use super::BoxFuture;

pub(crate) use super::claim_types::Rule;

/// What a provider established about a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenFacts {
    /// Whom the token is about: `sub`, or the client for a token of its own (client
    /// credentials).
    pub(crate) subject: String,
    /// The client the token was issued to.
    pub(crate) client_id: Option<String>,
    /// The scopes it grants.
    pub(crate) scopes: Vec<String>,
    /// When it was issued, when the provider says.
    pub(crate) issued_at: Option<u64>,
    /// When it expires.
    pub(crate) expires_at: u64,
    /// A name to show, when the token carries one.
    pub(crate) name: Option<String>,
    /// An email the provider says it verified.
    pub(crate) email: Option<String>,
    /// Every claim (or introspection member) as sent, for the authorize hook.
    pub(crate) claims: Map<String, Value>,
}

/// Why a provider gave no facts about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The token is not valid here: malformed, forged, expired, for another audience, of
    /// another type, or inactive. The rule says which, for the logs.
    Invalid(Rule),
    /// The provider could not be asked (its keys, discovery or introspection endpoint
    /// unreachable, failing or answering nonsense): the token is neither valid nor invalid.
    Unavailable(Rule),
}

/// How a token is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// A JWT, verified here with the provider's keys.
    Jwt,
    /// Any token, asked about at the provider's introspection endpoint (RFC 7662).
    Introspection,
}

/// A provider that checks access tokens for the app: the OpenID Connect provider given
/// [`Oidc::access_tokens`](crate::Oidc::access_tokens).
pub(crate) trait AccessTokenCheck: Send + Sync + 'static {
    /// The provider's route name.
    fn provider_name(&self) -> &str;

    /// What the app accepts from this provider, checked (`None`: nothing).
    fn accepted(&self) -> Option<&Accepted>;

    /// Whether a JWT claiming the issuer `iss` (not yet verified) is this provider's to
    /// check.
    fn issues(&self, iss: &str) -> bool;

    /// Checks `token` as `method` says, at the time of `cx`.
    fn check<'a>(
        &'a self,
        cx: &'a ProviderContext<'a>,
        method: Method,
        token: &'a str,
    ) -> BoxFuture<'a, Result<TokenFacts, Refusal>>;
}

/// Scopes as providers send them: a space-separated string (RFC 6749 §3.3, RFC 7662 §2.2,
/// RFC 9068 §2.2.3, Keycloak, Auth0, Entra ID's `scp`) or an array of strings (Okta's `scp`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scopes(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScopesVisitor;

        impl<'de> Visitor<'de> for ScopesVisitor {
            type Value = Scopes;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a space-separated string or an array of strings")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Scopes, E> {
                Ok(Scopes(
                    text.split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scopes, A::Error> {
                let mut scopes = Vec::new();
                while let Some(scope) = seq.next_element::<String>()? {
                    if !scope.is_empty() {
                        scopes.push(scope);
                    }
                }
                Ok(Scopes(scopes))
            }
        }

        deserializer.deserialize_any(ScopesVisitor)
    }
}

/// The first of `names` that `claims` holds as a non-empty string.
pub(crate) fn first_string(claims: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|name| claims.get(*name)?.as_str())
        .find(|value| !value.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_read_from_a_string_or_an_array() {
        let read = |json: &str| serde_json::from_str::<Scopes>(json).map(|s| s.0);
        assert_eq!(read(r#""a  b c""#).unwrap(), ["a", "b", "c"]);
        assert_eq!(read(r#"["a", "", "b"]"#).unwrap(), ["a", "b"]);
        assert_eq!(read(r#""""#).unwrap(), Vec::<String>::new());
        assert!(read("5").is_err());
        assert!(read(r#"["a", 5]"#).is_err());
        assert!(read(r#"{"a": 1}"#).is_err());
    }
}
