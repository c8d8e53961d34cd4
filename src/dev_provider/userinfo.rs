//! `/userinfo` (OpenID Connect Core §5.3): the signed-in user's claims, for a bearer
//! access token from `/token`.

use http::{HeaderMap, Response, StatusCode};
use serde_json::json;

use super::request;
use super::response::{self, Body};
use super::Shared;

/// `GET` or `POST /userinfo`, with the token in the `Authorization` header.
pub(super) fn userinfo(shared: &Shared, headers: &HeaderMap) -> Response<Body> {
    let token = match request::authorization(headers, "Bearer") {
        Ok(Some(token)) if !token.is_empty() => token,
        Ok(_) => {
            return response::oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "no bearer token",
            )
        }
        Err(why) => return response::oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why),
    };
    let Some(user) = shared.store().token(token) else {
        return response::oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is unknown, expired or revoked",
        );
    };
    response::json(
        StatusCode::OK,
        &json!({
            "sub": user.sub,
            "name": user.name,
            "email": user.email,
            "email_verified": true,
        }),
    )
}
