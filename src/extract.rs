//! axum extractors: `Identity` (401 when no one is signed in, 503 when a provider access
//! token could not be checked) and `Option<Identity>`.

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use crate::challenge;
use crate::identity::Identity;
use crate::settings::{BearerRefused, CheckedAnonymous};

/// Why the [`Identity`] extractor refused a request: a JSON body with the status each
/// variant says, and, for a bearer token, the `WWW-Authenticate` challenge of RFC 6750 §3.
///
/// More may come (the enum is `#[non_exhaustive]`).
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityRejection {
    /// The layer ran and found no valid identity cookie and no bearer token: nobody is
    /// signed in. `401`, `WWW-Authenticate: Bearer`.
    NotSignedIn,
    /// The request did not pass through `SocialAuthLayer`: the layer is missing from the stack
    /// (or added after the route with `route_layer` on another router). `401`.
    LayerMissing,
    /// The request's bearer token is not valid here (expired, forged, for another audience,
    /// inactive). `401 invalid_token`, `WWW-Authenticate: Bearer error="invalid_token"`.
    InvalidToken,
    /// The provider access token is valid, and the app's authorize hook refused its user,
    /// with this message. `403 forbidden`.
    Denied(String),
    /// The provider access token could not be checked (the provider unreachable). `503
    /// token_check_unavailable`, never taken as nobody signed in.
    TokenCheckUnavailable,
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for IdentityRejection {
    fn into_response(self) -> Response {
        let answer = match self {
            Self::NotSignedIn => crate::guard::unauthenticated_challenge(),
            Self::LayerMissing => {
                let body = r#"{"error":"unauthenticated","message":"no identity: is SocialAuthLayer installed in front of this route?"}"#;
                let mut response = (StatusCode::UNAUTHORIZED, body).into_response();
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                return response;
            }
            Self::InvalidToken => challenge::refused(&BearerRefused::Invalid),
            Self::Denied(message) => challenge::refused(&BearerRefused::Denied(message.into())),
            Self::TokenCheckUnavailable => challenge::refused(&BearerRefused::Unavailable),
        };
        let (parts, body) = answer.into_parts();
        Response::from_parts(parts, axum_core::body::Body::from(body))
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(identity) = parts.extensions.get::<Identity>() {
            return Ok(identity.clone());
        }
        if parts.extensions.get::<CheckedAnonymous>().is_none() {
            return Err(IdentityRejection::LayerMissing);
        }
        Err(match parts.extensions.get::<BearerRefused>() {
            None => IdentityRejection::NotSignedIn,
            Some(BearerRefused::Invalid) => IdentityRejection::InvalidToken,
            Some(BearerRefused::Denied(message)) => IdentityRejection::Denied(message.to_string()),
            Some(BearerRefused::Unavailable) => IdentityRejection::TokenCheckUnavailable,
        })
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Identity>().cloned())
    }
}
