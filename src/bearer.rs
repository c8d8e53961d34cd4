//! `GET /auth/token`: hands a signed-in browser its identity token, to present as
//! `Authorization: Bearer <token>` from API clients and gRPC (tonic) calls.

use bytes::Bytes;
use http::{Method, Response, StatusCode};

use crate::cookies::{self, Found};
use crate::error::{AuthError, AuthErrorKind};
use crate::guard::unauthenticated;
use crate::login::RequestHead;
use crate::settings::Settings;

/// Answers the token route: `{"token": "...", "token_type": "Bearer", "expires_at": <unix>}`
/// for a request with a valid identity cookie, `401` otherwise. Browsers never let another
/// site read this answer (no CORS headers are sent), and it is never cached.
pub(crate) fn answer(settings: &Settings, head: &RequestHead) -> Response<Bytes> {
    if head.method != Method::GET {
        return AuthError::new(
            AuthErrorKind::MethodNotAllowed,
            "ask for the token with GET",
        )
        .into_response();
    }
    let token = match cookies::find(&head.headers, settings.cookies.identity_name()) {
        Found::One(token) => token,
        Found::None | Found::Many => return unauthenticated(),
    };
    let Some(identity) = settings.verify(token) else {
        return unauthenticated();
    };
    let body = serde_json::json!({
        "token": token,
        "token_type": "Bearer",
        "expires_at": identity.expires_at,
    });
    crate::response::json(StatusCode::OK, body.to_string())
}
