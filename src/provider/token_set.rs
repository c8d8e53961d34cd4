//! [`TokenSet`]: the tokens a provider issued at a login (or a refresh), for the app to call
//! the provider's API on the user's behalf.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::oauth2::TokenResponse;
use crate::secret::{AccessToken, IdToken, RefreshToken};

/// The provider's tokens: the access token, and the refresh token, expiry, granted scopes and
/// OpenID Connect ID token when the provider sent them. Every token is a secret: none shows
/// in `Debug`, in logs or in errors.
///
/// The [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook gets them
/// ([`UserProfile::tokens`](crate::UserProfile::tokens)) to keep in the app's database; with
/// [`keep_provider_tokens`](crate::SocialAuthLayerBuilder::keep_provider_tokens), handlers get
/// them through [`ProviderTokens`](crate::ProviderTokens), refreshed when they expire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    #[serde(rename = "a")]
    access_token: AccessToken,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<RefreshToken>,
    /// Unix seconds.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    id_token: Option<IdToken>,
}

impl TokenSet {
    /// The tokens of a token answer received at `now` (Unix seconds).
    pub(crate) fn from_response(response: &TokenResponse, now: u64) -> Self {
        Self {
            access_token: response.access_token().clone(),
            refresh_token: response.refresh_token().cloned(),
            expires_at: response
                .expires_in()
                .map(|lifetime| now.saturating_add(lifetime.as_secs())),
            scope: response.scope().map(str::to_owned),
            id_token: response.id_token().cloned(),
        }
    }

    /// These tokens after a refresh answered `response` at `now`: what the answer left out
    /// (a provider that does not rotate refresh tokens, a refresh without a new ID token) is
    /// kept.
    pub(crate) fn refreshed(&self, response: &TokenResponse, now: u64) -> Self {
        let fresh = Self::from_response(response, now);
        Self {
            refresh_token: fresh.refresh_token.or_else(|| self.refresh_token.clone()),
            scope: fresh.scope.or_else(|| self.scope.clone()),
            id_token: fresh.id_token.or_else(|| self.id_token.clone()),
            ..fresh
        }
    }

    /// The access token, to send to the provider's API (`Authorization: Bearer`); read it
    /// with [`AccessToken::secret`].
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The refresh token, when the provider issued one.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, when the provider said (`expires_in`).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// The scopes granted, when the provider said (they may differ from those asked for).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .iter()
            .flat_map(|scope| scope.split(' '))
            .filter(|scope| !scope.is_empty())
    }

    /// The OpenID Connect ID token (a JWT) of the login, when the provider issued one.
    pub fn id_token(&self) -> Option<&IdToken> {
        self.id_token.as_ref()
    }

    /// When the access token expires, in Unix seconds, when the provider said.
    pub(crate) fn expires_at_secs(&self) -> Option<u64> {
        self.expires_at
    }

    /// These tokens without the ID token.
    pub(crate) fn without_id_token(&self) -> Self {
        Self {
            id_token: None,
            ..self.clone()
        }
    }

    /// The access token, its expiry and scopes alone: no refresh token, no ID token.
    pub(crate) fn access_only(&self) -> Self {
        Self {
            refresh_token: None,
            id_token: None,
            ..self.clone()
        }
    }

    /// These tokens with `refresh_token` as their refresh token.
    pub(crate) fn with_refresh_token(self, refresh_token: RefreshToken) -> Self {
        Self {
            refresh_token: Some(refresh_token),
            ..self
        }
    }

    /// Tokens made of these parts, for tests.
    #[cfg(test)]
    pub(crate) fn for_tests(
        access_token: &str,
        refresh_token: Option<&str>,
        expires_at: Option<u64>,
        id_token: Option<&str>,
    ) -> Self {
        Self {
            access_token: AccessToken::new(access_token),
            refresh_token: refresh_token.map(RefreshToken::new),
            expires_at,
            scope: None,
            id_token: id_token.map(IdToken::new),
        }
    }

    /// Whether the access token has expired at `now`, or will within `margin` seconds.
    pub(crate) fn expires_within(&self, now: u64, margin: u64) -> bool {
        self.expires_at
            .is_some_and(|expires_at| expires_at <= now.saturating_add(margin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(access: &str, refresh: Option<&str>, expires_at: Option<u64>) -> TokenSet {
        TokenSet {
            access_token: AccessToken::new(access),
            refresh_token: refresh.map(RefreshToken::new),
            expires_at,
            scope: Some("read:user  repo".into()),
            id_token: Some(IdToken::new("h.p.s")),
        }
    }

    #[test]
    fn debug_hides_every_token_and_scopes_split_on_spaces() {
        let tokens = set("at-secret", Some("rt-secret"), Some(100));
        let debug = format!("{tokens:?}");
        for secret in ["at-secret", "rt-secret", "h.p.s"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(
            debug.contains("AccessToken([redacted])") && debug.contains("IdToken([redacted])"),
            "{debug}"
        );
        assert_eq!(tokens.scopes().collect::<Vec<_>>(), ["read:user", "repo"]);
        assert_eq!(
            tokens.expires_at(),
            Some(UNIX_EPOCH + Duration::from_secs(100))
        );
    }

    #[test]
    fn expiry_counts_the_margin_and_no_expiry_never_expires() {
        let tokens = set("a", None, Some(100));
        assert!(!tokens.expires_within(50, 30));
        assert!(tokens.expires_within(70, 30));
        assert!(tokens.expires_within(100, 0));
        assert!(!set("a", None, None).expires_within(u64::MAX - 1, 30));
    }
}
