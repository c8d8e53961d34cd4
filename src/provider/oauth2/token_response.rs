//! The token endpoint's answer (RFC 6749 §5.1, §5.2), read once for every code-flow provider:
//! [`TokenResponse`] and its [`AccessToken`].

use std::time::Duration;

use serde::Deserialize;

use crate::error::{AuthError, AuthErrorKind};
use crate::secret::{AccessToken, IdToken, RefreshToken};

/// A successful token answer. Secrets never show in `Debug`.
#[derive(Debug)]
pub struct TokenResponse {
    access_token: AccessToken,
    id_token: Option<IdToken>,
    refresh_token: Option<RefreshToken>,
    expires_in: Option<Duration>,
    scope: Option<String>,
}

impl TokenResponse {
    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The OpenID Connect ID token (a JWT), when the provider sent one.
    pub fn id_token(&self) -> Option<&IdToken> {
        self.id_token.as_ref()
    }

    /// The refresh token, when the provider sent one.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// How long the access token lasts, when the provider said.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }

    /// The scopes granted, when the provider said (they may differ from those asked for).
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

/// A token answer as served. Every member has a fixed JSON type: one of another type makes
/// the answer unusable (a provider error), never silently absent.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<ExpiresIn>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// `expires_in`: a number of seconds, which some providers send as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ExpiresIn {
    Seconds(u64),
    Text(String),
}

impl ExpiresIn {
    fn duration(&self) -> Option<Duration> {
        match self {
            Self::Seconds(s) => Some(Duration::from_secs(*s)),
            Self::Text(s) => s.parse().ok().map(Duration::from_secs),
        }
    }
}

/// The RFC 6749 §5.2 error codes, plus GitHub's and Slack's, which alone may appear in logs
/// (anything else a provider writes there is logged as `other`).
const KNOWN_TOKEN_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "bad_verification_code",
    "incorrect_client_credentials",
    "redirect_uri_mismatch",
    "bad_client_secret",
    "invalid_client_id",
];

fn loggable_error(error: &serde_json::Value) -> &'static str {
    error
        .as_str()
        .and_then(|code| KNOWN_TOKEN_ERRORS.iter().find(|known| **known == code))
        .copied()
        .unwrap_or("other")
}

/// Token-endpoint errors that say the client itself was refused: the app's client id or
/// secret is wrong (or, `unauthorized_client`, the app's registration does not allow this
/// grant; X answers wrong credentials so), not the user's login. GitHub and Slack have
/// their own names for it.
const CLIENT_REFUSED: &[&str] = &[
    "invalid_client",
    "incorrect_client_credentials",
    "unauthorized_client",
    "bad_client_secret",
    "invalid_client_id",
];

/// Reads a token endpoint's answer. `sent_verifier`: the request carried a PKCE
/// `code_verifier`, which some providers refuse as a client error for apps they did not
/// enable PKCE for (LinkedIn answers `401 invalid_client`).
pub(super) fn read_answer(
    provider: &str,
    status: http::StatusCode,
    body: &[u8],
    sent_verifier: bool,
) -> Result<TokenResponse, AuthError> {
    let parsed: Option<TokenAnswer> = serde_json::from_slice(body).ok();
    match parsed {
        Some(TokenAnswer {
            error: Some(serde_json::Value::String(code)),
            ..
        }) if CLIENT_REFUSED.contains(&code.as_str()) => {
            tracing::error!(
                provider,
                status = status.as_u16(),
                error = loggable_error(&serde_json::Value::String(code)),
                "the provider refused this app's client credentials; check the client id and its secret or key"
            );
            if sent_verifier {
                tracing::error!(
                    provider,
                    "the refused request carried a PKCE code_verifier: the provider may not accept PKCE for this app (LinkedIn refuses it for web apps); if the credentials are right, turn PKCE off for this provider (.pkce(false)) or have the provider enable PKCE for the app"
                );
            }
            Err(AuthError::provider(
                "the provider refused this site's credentials; the site must fix its settings",
            ))
        }
        Some(TokenAnswer {
            error: Some(error), ..
        }) if !error.is_null() && matches!(status.as_u16(), 200 | 400 | 401) => {
            tracing::warn!(
                status = status.as_u16(),
                error = loggable_error(&error),
                "token endpoint refused the code"
            );
            Err(AuthError::new(
                AuthErrorKind::LoginFailed,
                "the provider refused to complete the login; start it again",
            ))
        }
        Some(TokenAnswer {
            access_token: Some(token),
            token_type,
            id_token,
            refresh_token,
            expires_in,
            scope,
            error: None | Some(serde_json::Value::Null),
        }) if status.is_success() && !token.is_empty() => {
            let bearer = token_type.is_none_or(|t| t.eq_ignore_ascii_case("bearer"));
            if !bearer {
                tracing::warn!("token endpoint issued a token that is not a bearer token");
                return Err(AuthError::provider(
                    "the provider issued a token of an unknown type",
                ));
            }
            tracing::debug!("code exchanged for an access token");
            Ok(TokenResponse {
                access_token: AccessToken::new(token),
                id_token: id_token.map(IdToken::new),
                refresh_token: refresh_token.map(RefreshToken::new),
                expires_in: expires_in.as_ref().and_then(ExpiresIn::duration),
                scope,
            })
        }
        _ => {
            tracing::warn!(
                status = status.as_u16(),
                "token endpoint gave an unusable answer"
            );
            Err(AuthError::provider("the provider's token endpoint failed"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn a_full_answer_is_read_once_with_its_optional_members() {
        let body = br#"{"access_token":"at","token_type":"BEARER","refresh_token":"rt",
            "expires_in":"3600","scope":"a b","id_token":"x.y.z"}"#;
        let token = read_answer("test", StatusCode::OK, body, true).unwrap();
        assert_eq!(token.access_token().secret(), "at");
        assert_eq!(token.refresh_token().map(RefreshToken::secret), Some("rt"));
        assert_eq!(token.expires_in(), Some(Duration::from_secs(3600)));
        assert_eq!(token.scope(), Some("a b"));
        assert_eq!(token.id_token().map(IdToken::secret), Some("x.y.z"));
        let debug = format!("{token:?}");
        assert!(
            !debug.contains("at\"") && !debug.contains("rt") && !debug.contains("x.y.z"),
            "{debug}"
        );
    }

    #[test]
    fn errors_with_200_are_refusals_and_other_tokens_are_provider_errors() {
        let cases: [(StatusCode, &[u8], AuthErrorKind); 5] = [
            (
                StatusCode::OK,
                br#"{"error":"bad_verification_code"}"#,
                AuthErrorKind::LoginFailed,
            ),
            (
                StatusCode::OK,
                br#"{"access_token":"a","token_type":"mac"}"#,
                AuthErrorKind::ProviderError,
            ),
            (StatusCode::OK, b"<html>", AuthErrorKind::ProviderError),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                br#"{"error":"x"}"#,
                AuthErrorKind::ProviderError,
            ),
            (
                StatusCode::UNAUTHORIZED,
                br#"{"error":"invalid_client"}"#,
                AuthErrorKind::ProviderError,
            ),
        ];
        for (status, body, kind) in cases {
            let answer = read_answer("test", status, body, false);
            assert_eq!(answer.unwrap_err().kind(), kind, "{status} {body:?}");
        }
    }

    #[test]
    fn only_known_error_codes_reach_the_logs() {
        assert_eq!(
            loggable_error(&serde_json::json!("invalid_grant")),
            "invalid_grant"
        );
        assert_eq!(loggable_error(&serde_json::json!("<script>")), "other");
        assert_eq!(loggable_error(&serde_json::json!({"code": 1})), "other");
    }
}
