//! The authorization request (RFC 6749 §4.1.1) with `state`, PKCE S256 (RFC 7636, unless the
//! provider refuses it) and, for OpenID Connect, a `nonce`; and the authorization response's
//! key.

use url::Url;

use crate::error::{AuthError, ConfigError};
use crate::provider::{CallbackKey, CallbackParams, LoginStart};
use crate::state::random::{pkce_challenge, random_token};

/// Authorization-request parameters the flow sets itself; configuring one of them is a
/// [`ConfigError`]. `response_mode` is here because the callback route answers `GET` only,
/// and `request`/`request_uri` because they could replace every other parameter.
const RESERVED_AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "response_mode",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "request",
    "request_uri",
];

/// Checks extra authorization parameters: a non-empty name, none the flow sets itself.
pub(crate) fn check_authorize_params(
    setting: &'static str,
    params: &[(String, String)],
) -> Result<(), ConfigError> {
    for (name, _) in params {
        if name.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting,
                reason: "a parameter name is empty",
            });
        }
        if RESERVED_AUTHORIZE_PARAMS.contains(&name.as_str()) {
            return Err(ConfigError::InvalidSetting {
                setting,
                reason: "state, nonce, PKCE, scope, client_id, redirect_uri, response_type, \
                         response_mode, request and request_uri are set by the login flow",
            });
        }
    }
    Ok(())
}

/// One authorization request: where the browser goes, with what it must carry.
pub(crate) struct AuthorizeRequest<'a> {
    pub(crate) authorize_url: &'a Url,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: &'a str,
    /// Omitted from the request when empty.
    pub(crate) scope: &'a str,
    /// Checked by [`check_authorize_params`] when configured.
    pub(crate) extra: &'a [(String, String)],
    /// Send a fresh OpenID Connect `nonce`.
    pub(crate) with_nonce: bool,
    /// Send a PKCE challenge; without, the flow cookie keeps no verifier.
    pub(crate) with_pkce: bool,
}

impl AuthorizeRequest<'_> {
    /// The redirect, with a fresh `state` and (when asked) PKCE pair and `nonce`; the flow
    /// cookie keeps `state`, the verifier (empty without PKCE) and the nonce.
    pub(crate) fn start(self) -> Result<LoginStart, AuthError> {
        let state = random_token()?;
        let verifier = if self.with_pkce {
            random_token()?
        } else {
            String::new()
        };
        let nonce = if self.with_nonce {
            Some(random_token()?)
        } else {
            None
        };
        let mut url = self.authorize_url.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", self.client_id)
                .append_pair("redirect_uri", self.redirect_uri);
            if !self.scope.is_empty() {
                query.append_pair("scope", self.scope);
            }
            query.append_pair("state", &state);
            if self.with_pkce {
                query
                    .append_pair("code_challenge", &pkce_challenge(&verifier))
                    .append_pair("code_challenge_method", "S256");
            }
            if let Some(nonce) = &nonce {
                query.append_pair("nonce", nonce);
            }
            for (name, value) in self.extra {
                query.append_pair(name, value);
            }
        }
        let start = LoginStart::new(url, state, verifier);
        Ok(match nonce {
            Some(nonce) => start.nonce(nonce),
            None => start,
        })
    }
}

/// Reads `state`, or the provider's `error`, from an authorization response.
pub(crate) fn callback_key(params: &CallbackParams) -> Result<CallbackKey<'_>, AuthError> {
    let state = params.get("state").filter(|s| !s.is_empty());
    if let Some(error) = params.get("error") {
        return Ok(CallbackKey::Refused {
            key: state,
            // Apple's cancel button answers `user_cancelled_authorize`.
            by_user: matches!(error, "access_denied" | "user_cancelled_authorize"),
        });
    }
    state
        .map(CallbackKey::Continue)
        .ok_or_else(|| AuthError::invalid_request("the callback has no state parameter"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_authorize_params_are_refused() {
        let ok = vec![("prompt".to_owned(), "consent".to_owned())];
        assert!(check_authorize_params("x", &ok).is_ok());
        for name in [
            "state",
            "nonce",
            "code_challenge",
            "redirect_uri",
            "response_mode",
            "",
        ] {
            let params = vec![(name.to_owned(), "v".to_owned())];
            assert!(check_authorize_params("x", &params).is_err(), "{name}");
        }
    }

    #[test]
    fn the_authorize_url_carries_state_pkce_nonce_and_extras() {
        let authorize_url = Url::parse("https://idp.example/authorize?tenant=a").unwrap();
        let started = AuthorizeRequest {
            authorize_url: &authorize_url,
            client_id: "cid",
            redirect_uri: "https://app.example/auth/x",
            scope: "",
            extra: &[("prompt".to_owned(), "consent".to_owned())],
            with_nonce: true,
            with_pkce: true,
        }
        .start()
        .unwrap();
        let pairs: Vec<(String, String)> = started.redirect_to.query_pairs().into_owned().collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("tenant"), Some("a"));
        assert_eq!(get("scope"), None, "an empty scope is left out");
        assert_eq!(get("prompt"), Some("consent"));
        assert_eq!(get("state"), Some(started.key.as_str()));
        assert_eq!(get("nonce"), started.nonce.as_deref());
        assert!(started.nonce.is_some());
        assert_eq!(
            get("code_challenge").map(str::to_owned),
            Some(pkce_challenge(started.secret.secret()))
        );
    }

    #[test]
    fn without_pkce_no_challenge_is_sent_and_no_verifier_kept() {
        let authorize_url = Url::parse("https://idp.example/authorize").unwrap();
        let started = AuthorizeRequest {
            authorize_url: &authorize_url,
            client_id: "cid",
            redirect_uri: "https://app.example/auth/x",
            scope: "openid",
            extra: &[],
            with_nonce: true,
            with_pkce: false,
        }
        .start()
        .unwrap();
        let names: Vec<String> = started
            .redirect_to
            .query_pairs()
            .map(|(name, _)| name.into_owned())
            .collect();
        assert!(names.contains(&"state".to_owned()), "{names:?}");
        assert!(names.contains(&"nonce".to_owned()), "{names:?}");
        assert!(
            !names.iter().any(|n| n.starts_with("code_challenge")),
            "{names:?}"
        );
        assert_eq!(started.secret.secret(), "");
    }
}
