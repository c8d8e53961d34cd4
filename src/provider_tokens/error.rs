//! [`ProviderTokensError`]: why a handler has no valid provider access token.

use std::fmt;

use http::StatusCode;

/// Why [`ProviderTokens`](crate::ProviderTokens) has no valid access token to give. Each is
/// answered (by the axum extractor, or by the app with [`status`](Self::status) and
/// [`code`](Self::code)) as a short JSON error; none carries a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderTokensError {
    /// No tokens for this sign-in: the provider issued none the layer keeps (OAuth 1.0a),
    /// `keep_provider_tokens` is off, or the tokens cookie is missing, damaged, or belongs to
    /// another sign-in. `401 provider_tokens_missing`.
    Missing,
    /// The access token expired and there is no refresh token, or the provider refused the
    /// refresh (revoked, or a refresh token already used elsewhere), or the sign-in's tenant
    /// is no longer known: the user must sign in again. `401 provider_tokens_expired`.
    Expired,
    /// The provider could not be reached, or answered with garbage (or, for a tenant's
    /// sign-in, the tenant resolver failed). `502 provider_error`.
    ProviderFailed,
    /// The provider (or, for a tenant's sign-in, the tenant resolver) did not answer in
    /// time. `504 provider_timeout`.
    ProviderTimeout,
    /// The layer could not write the refreshed tokens (too large for a cookie). `500
    /// internal_error`.
    Internal,
}

impl ProviderTokensError {
    /// The HTTP status to answer with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Missing | Self::Expired => StatusCode::UNAUTHORIZED,
            Self::ProviderFailed => StatusCode::BAD_GATEWAY,
            Self::ProviderTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON `error` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "provider_tokens_missing",
            Self::Expired => "provider_tokens_expired",
            Self::ProviderFailed => "provider_error",
            Self::ProviderTimeout => "provider_timeout",
            Self::Internal => "internal_error",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::Missing => "no provider tokens for this sign-in",
            Self::Expired => "the provider's access has expired; sign in again",
            Self::ProviderFailed => "the provider could not refresh the access token",
            Self::ProviderTimeout => "the provider did not answer in time",
            Self::Internal => "the refreshed tokens could not be kept",
        }
    }

    /// `{"error": "<code>", "message": "<text>"}`.
    pub fn json(self) -> String {
        serde_json::json!({ "error": self.code(), "message": self.message() }).to_string()
    }
}

impl fmt::Display for ProviderTokensError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ProviderTokensError {}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum_core::response::IntoResponse for ProviderTokensError {
    fn into_response(self) -> axum_core::response::Response {
        let mut response = (self.status(), self.json()).into_response();
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    }
}
