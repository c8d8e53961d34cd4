//! Errors: [`ConfigError`] when the layer is built, [`AuthError`] when a request is answered.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

/// Why [`SocialAuthLayerBuilder::build`](crate::SocialAuthLayerBuilder::build) refused a configuration.
///
/// These are set-up mistakes: they are reported once, at start-up, never per request. Its
/// `Debug` reads as its `Display` (what to fix), followed by the variant, because `build()?`
/// in a `main` returning `Result` prints the error with `Debug`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No secret was given; see [`secret`](crate::SocialAuthLayerBuilder::secret).
    MissingSecret,
    /// The secret is shorter than 32 bytes.
    SecretTooShort {
        /// The length that was given, in bytes.
        len: usize,
    },
    /// No provider was added.
    NoProvider,
    /// Two providers share a name, so they would share a route.
    DuplicateProvider(String),
    /// A provider name is not made of `a-z`, `0-9`, `-` and `_` (1 to 32 characters).
    InvalidProviderName(String),
    /// A URL in the configuration is not an absolute `http`/`https` URL of the expected form.
    InvalidUrl {
        /// Which setting holds the URL.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting is outside its allowed range.
    InvalidSetting {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The outbound HTTP client could not be built.
    HttpClient(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSecret => {
                f.write_str("no secret: call .secret() with at least 32 random bytes")
            }
            Self::SecretTooShort { len } => {
                write!(
                    f,
                    "the secret is {len} bytes long; at least 32 random bytes are required"
                )
            }
            Self::NoProvider => f.write_str("no provider: add at least one with .provider()"),
            Self::DuplicateProvider(name) => write!(f, "two providers are named {name:?}"),
            Self::InvalidProviderName(name) => write!(
                f,
                "provider name {name:?} must be 1 to 32 characters of a-z, 0-9, '-' and '_'"
            ),
            Self::InvalidUrl { setting, reason } => write!(f, "{setting}: {reason}"),
            Self::InvalidSetting { setting, reason } => write!(f, "{setting}: {reason}"),
            Self::HttpClient(reason) => write!(f, "cannot build the HTTP client: {reason}"),
        }
    }
}

impl ConfigError {
    /// The variant's name, for `Debug`.
    fn variant(&self) -> &'static str {
        match self {
            Self::MissingSecret => "MissingSecret",
            Self::SecretTooShort { .. } => "SecretTooShort",
            Self::NoProvider => "NoProvider",
            Self::DuplicateProvider(_) => "DuplicateProvider",
            Self::InvalidProviderName(_) => "InvalidProviderName",
            Self::InvalidUrl { .. } => "InvalidUrl",
            Self::InvalidSetting { .. } => "InvalidSetting",
            Self::HttpClient(_) => "HttpClient",
        }
    }
}

/// `Error: <what to fix> (ConfigError::<Variant>)`, as a `main` returning `Result` prints it.
impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} (ConfigError::{})", self.variant())
    }
}

impl std::error::Error for ConfigError {}

/// What went wrong while answering a request on an `/auth/<provider>` route, or on a route
/// that needs a user ([`RequireIdentityLayer`](crate::RequireIdentityLayer), the `Identity`
/// extractor).
///
/// Every variant becomes a response with a short JSON body
/// `{"error": "<code>", "message": "<text>"}`; the error itself is also put in the
/// response's extensions, so an outer layer can log or restyle it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No provider has this name. `404`.
    UnknownProvider,
    /// The route exists, but not for this method. `405`.
    MethodNotAllowed,
    /// The request is not a login start nor a well-formed callback. `400`.
    InvalidRequest,
    /// The callback came without the flow cookie set at the start. `400`.
    MissingFlowCookie,
    /// The flow cookie does not decrypt, belongs to another provider, or is malformed. `400`.
    InvalidFlowCookie,
    /// The flow cookie is older than the flow lifetime. `400`.
    FlowExpired,
    /// The callback's `state` (or `oauth_token`) does not match the flow cookie's. `400`.
    StateMismatch,
    /// The request is refused: a cross-site logout, or a login the app's authorize hook denied. `403`.
    Forbidden,
    /// The user cancelled at the provider. `401`.
    AccessDenied,
    /// The provider refused to complete the login (e.g. `invalid_grant`). `401`.
    LoginFailed,
    /// The provider answered with an error, garbage, or too much. `502`.
    ProviderError,
    /// The provider did not answer in time. `504`.
    ProviderTimeout,
    /// Too many logins are talking to this provider at once; try again shortly. `503`.
    ProviderBusy,
    /// The revocation store did not take a revocation. `503`. It holds in this process and
    /// is written back to the store when it answers again.
    RevocationUnavailable,
    /// No tenant has this key, or no tenant signs in with this email domain
    /// ([`tenants`](crate::tenants)). `404`.
    UnknownTenant,
    /// The app's tenant resolver failed, or gave a provider configuration that does not
    /// build. `503`.
    TenantUnavailable,
    /// The app's tenant resolver did not answer within the provider timeout. `504`.
    TenantTimeout,
    /// A route that needs a user got a bearer token that is not valid here (expired,
    /// malformed, forged, for another audience, inactive). `401`, with
    /// `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
    InvalidToken,
    /// A provider access token lacks a scope the route needs. `403`, with
    /// `WWW-Authenticate: Bearer error="insufficient_scope"` and the scopes (RFC 6750 §3.1).
    InsufficientScope,
    /// A route that needs a user got a provider access token that could not be checked: the
    /// provider's keys, discovery or introspection endpoint unreachable or failing, or more
    /// introspections than allowed. `503`; the request is never taken as anonymous.
    TokenCheckUnavailable,
    /// Something on this server failed (e.g. no randomness). `500`.
    Internal,
}

impl AuthErrorKind {
    /// The HTTP status this kind is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::UnknownProvider | Self::UnknownTenant => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidRequest
            | Self::MissingFlowCookie
            | Self::InvalidFlowCookie
            | Self::FlowExpired
            | Self::StateMismatch => StatusCode::BAD_REQUEST,
            Self::AccessDenied | Self::LoginFailed | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::ProviderError => StatusCode::BAD_GATEWAY,
            Self::ProviderTimeout | Self::TenantTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::ProviderBusy
            | Self::RevocationUnavailable
            | Self::TenantUnavailable
            | Self::TokenCheckUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code in the JSON body's `error` member.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownProvider => "unknown_provider",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InvalidRequest => "invalid_request",
            Self::MissingFlowCookie => "missing_flow_cookie",
            Self::InvalidFlowCookie => "invalid_flow_cookie",
            Self::FlowExpired => "flow_expired",
            Self::StateMismatch => "state_mismatch",
            Self::AccessDenied => "access_denied",
            Self::Forbidden => "forbidden",
            Self::LoginFailed => "login_failed",
            Self::ProviderError => "provider_error",
            Self::ProviderTimeout => "provider_timeout",
            Self::ProviderBusy => "provider_busy",
            Self::RevocationUnavailable => "revocation_unavailable",
            Self::UnknownTenant => "unknown_tenant",
            Self::TenantUnavailable => "tenant_unavailable",
            Self::TenantTimeout => "tenant_timeout",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::TokenCheckUnavailable => "token_check_unavailable",
            Self::Internal => "internal_error",
        }
    }
}

/// A request-time failure on an auth route, answered as a JSON error response.
///
/// The message is written by this crate, never copied from the provider or the request,
/// so it holds nothing secret and nothing an attacker chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    kind: AuthErrorKind,
    message: Cow<'static, str>,
}

impl AuthError {
    pub(crate) fn new(kind: AuthErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The human-readable explanation sent in the body's `message` member.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A malformed request (`400 invalid_request`), e.g. a callback missing a parameter.
    pub fn invalid_request(message: &'static str) -> Self {
        Self::new(AuthErrorKind::InvalidRequest, message)
    }

    /// A provider failure: unreachable, refusing, or answering something unusable
    /// (`502 provider_error`). For [`LoginProvider`](crate::provider::LoginProvider) and
    /// [`CodeFlowProvider`](crate::oauth2::CodeFlowProvider) implementations; the message is
    /// shown to the user, so never put the provider's own text or a secret in it.
    ///
    /// ```
    /// let error = socialauth::AuthError::provider("the provider's profile has no id");
    /// assert_eq!(error.kind(), socialauth::AuthErrorKind::ProviderError);
    /// ```
    pub fn provider(message: &'static str) -> Self {
        Self::new(AuthErrorKind::ProviderError, message)
    }

    pub(crate) fn internal(message: &'static str) -> Self {
        Self::new(AuthErrorKind::Internal, message)
    }

    /// The JSON body: `{"error": "...", "message": "..."}`.
    pub(crate) fn json_body(&self) -> Bytes {
        let body = serde_json::json!({ "error": self.kind.code(), "message": self.message });
        Bytes::from(body.to_string())
    }

    /// The response for this error, with the error in its extensions.
    pub(crate) fn into_response(self) -> Response<Bytes> {
        self.into_response_allowing("GET")
    }

    /// The response, with `allow` as the `Allow` header of a `405`.
    pub(crate) fn into_response_allowing(self, allow: &'static str) -> Response<Bytes> {
        let mut response = crate::routes::response::json(self.kind.status(), self.json_body());
        if self.kind == AuthErrorKind::MethodNotAllowed {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response.extensions_mut().insert(self);
        response
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for AuthError {}
