//! axum extractors: `Identity` (401 when no one is signed in) and `Option<Identity>`.

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use crate::identity::Identity;

/// Why the [`Identity`] extractor refused a request: `401` with a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityRejection {
    /// The layer ran and found no valid identity cookie: nobody is signed in.
    NotSignedIn,
    /// No service of this process is wrapped in `SocialAuthLayer`: the layer is missing from
    /// the stack. (A route left outside a layer that wraps others is `NotSignedIn`: the
    /// layer marks only the requests it signs in, so that anonymous ones cost nothing.)
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
        if crate::service::in_use() {
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
