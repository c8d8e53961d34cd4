//! axum extractors: `Identity` (401 when no one is signed in) and `Option<Identity>`.

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use crate::identity::Identity;
use crate::settings::CheckedAnonymous;

/// Why the [`Identity`] extractor refused a request: `401` with a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityRejection {
    /// The layer ran and found no valid identity cookie: nobody is signed in.
    NotSignedIn,
    /// The request did not pass through `SocialAuthLayer`: the layer is missing from the stack
    /// (or added after the route with `route_layer` on another router).
    LayerMissing,
}

impl IntoResponse for IdentityRejection {
    fn into_response(self) -> Response {
        let body = match self {
            Self::NotSignedIn => crate::guard::UNAUTHENTICATED,
            Self::LayerMissing => {
                r#"{"error":"unauthenticated","message":"no identity: is SocialAuthLayer installed in front of this route?"}"#
            }
        };
        let mut response = (StatusCode::UNAUTHORIZED, body).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = IdentityRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(identity) = parts.extensions.get::<Identity>() {
            return Ok(identity.clone());
        }
        if parts.extensions.get::<CheckedAnonymous>().is_some() {
            Err(IdentityRejection::NotSignedIn)
        } else {
            Err(IdentityRejection::LayerMissing)
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Identity>().cloned())
    }
}
