//! The answers of a route that needs a user and did not get one it takes: RFC 6750 §3's
//! `WWW-Authenticate: Bearer` challenges (no error code without credentials, `invalid_token`
//! for a refused token, `insufficient_scope` with the scopes for a token that lacks one),
//! `403` for a user the app's authorize hook refused, and `503` when a token could not be
//! checked. Shared by [`RequireIdentityLayer`](crate::RequireIdentityLayer) and the axum
//! extractor.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response};

use crate::error::{AuthError, AuthErrorKind};
use crate::settings::BearerRefused;

/// Seconds a client is told to wait after a `503`: past the first pauses of a provider
/// that stopped answering.
const RETRY_AFTER_SECS: &str = "5";

/// The answer to a request whose bearer token gave no identity, as `refused` says why.
pub(crate) fn refused(refused: &BearerRefused) -> Response<Bytes> {
    match refused {
        BearerRefused::Invalid => invalid_token(),
        BearerRefused::Denied(message) => denied(message),
        BearerRefused::Unavailable => unavailable(),
    }
}

/// `401 invalid_token`, `WWW-Authenticate: Bearer error="invalid_token"`.
pub(crate) fn invalid_token() -> Response<Bytes> {
    let mut response = AuthError::new(
        AuthErrorKind::InvalidToken,
        "the bearer token is not valid here: expired, malformed, or for another service",
    )
    .into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static(r#"Bearer error="invalid_token""#),
    );
    response
}

/// `403 insufficient_scope`, `WWW-Authenticate: Bearer error="insufficient_scope",
/// scope="<scopes>"`. `scopes` are scope tokens (RFC 6749 §3.3), so a valid header.
pub(crate) fn insufficient_scope(scopes: &str) -> Response<Bytes> {
    let mut response = AuthError::new(
        AuthErrorKind::InsufficientScope,
        "the access token does not grant a scope this route needs",
    )
    .into_response();
    let challenge = format!(r#"Bearer error="insufficient_scope", scope="{scopes}""#);
    if let Ok(value) = HeaderValue::try_from(challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// `403 forbidden` with the app's message: the authorize hook refused the token's user.
fn denied(message: &Arc<str>) -> Response<Bytes> {
    AuthError::new(AuthErrorKind::Forbidden, message.to_string()).into_response()
}

/// `503 token_check_unavailable`, `Retry-After`.
pub(crate) fn unavailable() -> Response<Bytes> {
    let mut response = AuthError::new(
        AuthErrorKind::TokenCheckUnavailable,
        "the access token could not be checked with its provider; try again shortly",
    )
    .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    response
}

/// `WWW-Authenticate: Bearer`, the challenge of a `401` to a request without credentials
/// (RFC 6750 §3: no error code then).
pub(crate) fn bearer_challenge() -> HeaderValue {
    HeaderValue::from_static("Bearer")
}

/// Whether `scope` is a scope token (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`, at least
/// one), so it can stand in a challenge.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_rfc_6750s() {
        let invalid = invalid_token();
        assert_eq!(invalid.status(), 401);
        assert_eq!(
            invalid.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
        let scope = insufficient_scope("orders:read orders:write");
        assert_eq!(scope.status(), 403);
        assert_eq!(
            scope.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope", scope="orders:read orders:write""#
        );
        let down = unavailable();
        assert_eq!(down.status(), 503);
        assert_eq!(down.headers()[RETRY_AFTER], "5");
        assert_eq!(denied(&Arc::from("no")).status(), 403);
    }

    #[test]
    fn scope_tokens_have_no_space_quote_or_backslash() {
        for good in ["read", "orders:read", "https://api.example/x", "a!#[]~"] {
            assert!(is_scope_token(good), "{good}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\nb"] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }
}
