//! `GET /auth/token` (when turned on): gives a signed-in browser a short-lived bearer token,
//! to present as `Authorization: Bearer <token>` from API clients and gRPC (tonic) calls.

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use crate::error::{AuthError, AuthErrorKind};
use crate::guard::unauthenticated;
use crate::identity_token::Audience;
use crate::routes::request::RequestHead;
use crate::settings::Settings;
use crate::state::cookies::{self, Found};

/// Answers the token route: `{"token": "...", "token_type": "Bearer", "expires_at": <unix>}`
/// for a request with a valid identity cookie, `401` otherwise, `404` when the endpoint is
/// off. The token has the bearer audience and the bearer lifetime, never outliving the
/// identity. Browsers never let another site read this answer (no CORS headers are sent),
/// and it is never cached.
pub(crate) fn answer(settings: &Settings, head: &RequestHead) -> Response<Bytes> {
    if !settings.token_endpoint {
        return AuthError::new(
            AuthErrorKind::UnknownProvider,
            "the token endpoint is not turned on",
        )
        .into_response();
    }
    if head.method != Method::GET {
        return AuthError::new(
            AuthErrorKind::MethodNotAllowed,
            "ask for the token with GET",
        )
        .into_response();
    }
    let cookie = match cookies::find(&head.headers, settings.cookies.identity_name()) {
        Found::One(token) => token,
        Found::None | Found::Many => return unauthenticated(),
    };
    let Some(mut identity) = settings.verify(cookie, Audience::Cookie) else {
        return unauthenticated();
    };
    let now = settings.clock.now();
    identity.issued_at = now;
    identity.expires_at = identity
        .expires_at
        .min(now.saturating_add(settings.bearer_lifetime.as_secs()));
    let token = match settings
        .codec
        .sign(&settings.keys, &identity, Audience::Bearer)
    {
        Ok(token) => token,
        Err(error) => return error.into_response(),
    };
    let body = serde_json::json!({
        "token": token,
        "token_type": "Bearer",
        "expires_at": identity.expires_at,
    });
    crate::routes::response::json(StatusCode::OK, body.to_string())
}
