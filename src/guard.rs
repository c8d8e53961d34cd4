//! [`RequireIdentityLayer`]: a guard for routes that need a signed-in user, and optionally
//! a way of signing in and the scopes of a provider access token.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::ACCEPT;
use http::{Method, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::challenge;
use crate::error::AuthError;
use crate::identity::{AuthMethod, Identity};
use crate::layer::body::ResponseBody;
use crate::layer::future::ResponseFuture;
use crate::routes::response::{redirect, Location};
use crate::settings::BearerRefused;
use crate::state::return_to;

/// Refuses requests that carry no [`Identity`]: `401` with a JSON body, or, for a browser
/// opening a page, a redirect to the login with `return_to` set to the page.
///
/// Put it *inside* [`SocialAuthLayer`](crate::SocialAuthLayer) (e.g. axum's `route_layer`),
/// on the routes that need a user:
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::routing::get;
/// use socialauth::RequireIdentityLayer;
///
/// let app: axum::Router = axum::Router::new()
///     .route("/account", get(|| async { "private" }))
///     .route_layer(RequireIdentityLayer::new().login_url("/auth/github?login=start"))
///     .route("/", get(|| async { "public" }));
/// # let _ = app;
/// # }
/// ```
///
/// Only top-level page loads are redirected (`GET`/`HEAD`, `Accept: text/html`, and
/// `Sec-Fetch-Dest: document` when the browser sends it); images, scripts and `fetch` calls get
/// the `401`, so a sub-resource never starts a login.
///
/// API clients get what RFC 6750 §3 says: a `401` carries `WWW-Authenticate: Bearer`, with
/// `error="invalid_token"` when the request's bearer token was refused (expired, forged, for
/// another audience, inactive). With [`scope`](Self::scope), a provider access token lacking a
/// scope gets `403 insufficient_scope` and the scopes in the challenge. A provider access
/// token that could not be checked (its provider unreachable) gets `503
/// token_check_unavailable`, never a `401`, and never reaches the route.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::routing::get;
/// use socialauth::{AuthMethod, RequireIdentityLayer};
///
/// let api: axum::Router = axum::Router::new()
///     .route("/api/orders", get(|| async { "[]" }))
///     .route_layer(
///         RequireIdentityLayer::new()
///             .accept([AuthMethod::ProviderAccessToken])
///             .scope("orders:read"),
///     );
/// # let _ = api;
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequireIdentityLayer {
    login_url: Option<Arc<str>>,
    rules: Arc<Rules>,
}

/// What an identity must be to pass, beyond being there.
#[derive(Debug, Clone, Default)]
struct Rules {
    /// The ways of signing in taken (`None`: all).
    methods: Option<Vec<AuthMethod>>,
    /// The scopes a token must grant, all of them, space-separated as a challenge names them.
    scopes: Vec<String>,
    /// Some required scope is not a scope token: the guard cannot name it in a challenge.
    bad_scope: bool,
    /// The identity cookie and the layer's bearer token pass without scopes.
    sessions_exempt: bool,
}

impl RequireIdentityLayer {
    /// A guard that answers `401` to every request without an identity.
    pub fn new() -> Self {
        Self::default()
    }

    /// Browsers opening a page are sent here instead, with `return_to=<the page>` appended
    /// (e.g. `/auth/github?login=start`, or a page of yours listing the providers).
    pub fn login_url(mut self, url: impl Into<String>) -> Self {
        self.login_url = Some(url.into().into());
        self
    }

    /// Takes only identities proved these ways; any other gets `401` (with
    /// `WWW-Authenticate: Bearer`), as if it had none. E.g. an API route for API clients
    /// only: `[AuthMethod::ProviderAccessToken]`.
    ///
    /// ```
    /// use socialauth::{AuthMethod, RequireIdentityLayer};
    /// let guard = RequireIdentityLayer::new()
    ///     .accept([AuthMethod::BearerToken, AuthMethod::ProviderAccessToken]);
    /// # let _ = guard;
    /// ```
    pub fn accept(mut self, methods: impl IntoIterator<Item = AuthMethod>) -> Self {
        Arc::make_mut(&mut self.rules).methods = Some(methods.into_iter().collect());
        self
    }

    /// Requires `scope` (call again for more: all are required) of the request's access
    /// token: [`Identity::scopes`] must hold it, else `403 insufficient_scope`. The identity
    /// cookie and the layer's bearer token hold no scopes, so they are refused too, unless
    /// [`scopes_for_access_tokens_only`](Self::scopes_for_access_tokens_only). A scope must be
    /// a scope token (RFC 6749 §3.3: no space, `"` or `\`); one that is not makes the guard
    /// answer `500`.
    ///
    /// ```
    /// let guard = socialauth::RequireIdentityLayer::new().scope("orders:read");
    /// # let _ = guard;
    /// ```
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        let scope = scope.into();
        let rules = Arc::make_mut(&mut self.rules);
        rules.bad_scope |= !challenge::is_scope_token(&scope);
        rules.scopes.push(scope);
        self
    }

    /// **Weakens the scope check.** Lets the identity cookie and the layer's own bearer token
    /// through without the [`scope`](Self::scope)s: the user in person, signed in through the
    /// layer, rather than a client acting for them with rights the user delegated. For a route
    /// that serves a signed-in browser and API clients alike. Anyone who can sign in then has
    /// the route, whatever its scopes say: decide in the handler (the authorize hook's
    /// claims, [`Identity::auth_method`]) if some users must not.
    ///
    /// ```
    /// let guard = socialauth::RequireIdentityLayer::new()
    ///     .scope("orders:read")
    ///     .scopes_for_access_tokens_only();
    /// # let _ = guard;
    /// ```
    pub fn scopes_for_access_tokens_only(mut self) -> Self {
        Arc::make_mut(&mut self.rules).sessions_exempt = true;
        self
    }
}

impl Rules {
    /// The answer `identity` gets, or `None` when it passes.
    fn refusal(&self, identity: &Identity) -> Option<Response<Bytes>> {
        let method = identity.auth_method();
        if self
            .methods
            .as_ref()
            .is_some_and(|methods| !methods.contains(&method))
        {
            // Not the credential's fault: answered as a request without one.
            let mut response = crate::routes::response::json(
                StatusCode::UNAUTHORIZED,
                Bytes::from_static(UNAUTHENTICATED_METHOD.as_bytes()),
            );
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                challenge::bearer_challenge(),
            );
            return Some(response);
        }
        if self.scopes.is_empty() {
            return None;
        }
        if self.bad_scope {
            return Some(
                AuthError::internal("the guard's scope is not a scope token").into_response(),
            );
        }
        let session = matches!(method, AuthMethod::Cookie | AuthMethod::BearerToken);
        if self.sessions_exempt && session {
            return None;
        }
        if self.scopes.iter().all(|scope| identity.has_scope(scope)) {
            return None;
        }
        Some(challenge::insufficient_scope(&self.scopes.join(" ")))
    }
}

impl<S> Layer<S> for RequireIdentityLayer {
    type Service = RequireIdentity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireIdentity {
            inner,
            login_url: self.login_url.clone(),
            rules: self.rules.clone(),
        }
    }
}

/// The service made by [`RequireIdentityLayer`].
#[derive(Debug, Clone)]
pub struct RequireIdentity<S> {
    inner: S,
    login_url: Option<Arc<str>>,
    rules: Arc<Rules>,
}

inner_service_accessors!(RequireIdentity);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireIdentity<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if let Some(identity) = request.extensions().get::<Identity>() {
            return match self.rules.refusal(identity) {
                None => ResponseFuture::inner(self.inner.call(request), None, None),
                Some(response) => ResponseFuture::ready(response),
            };
        }
        let response = match (request.extensions().get::<BearerRefused>(), &self.login_url) {
            (Some(refused), _) => challenge::refused(refused),
            (None, Some(login_url)) if is_page_load(&request) => {
                login_redirect(login_url, &request)
            }
            (None, _) => unauthenticated_challenge(),
        };
        ResponseFuture::ready(response)
    }
}

/// A browser navigating to a page, as opposed to loading an image, a script or calling `fetch`.
fn is_page_load<B>(request: &Request<B>) -> bool {
    let method_ok = request.method() == Method::GET || request.method() == Method::HEAD;
    let wants_html = request
        .headers()
        .get(ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let is_document = request
        .headers()
        .get("sec-fetch-dest")
        .is_none_or(|dest| dest.as_bytes() == b"document");
    method_ok && wants_html && is_document
}

fn login_redirect<B>(login_url: &str, request: &Request<B>) -> Response<Bytes> {
    let Some(login) = Location::new(login_url) else {
        return AuthError::internal("the guard's login URL is not a valid header").into_response();
    };
    let here = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .and_then(return_to::validate);
    match here {
        Some(path) => redirect(&login.with_query_param("return_to", path)),
        None => redirect(&login),
    }
}

/// The body of every "nobody is signed in" answer: the guard's, `/auth/token`'s and the
/// axum extractor's.
pub(crate) const UNAUTHENTICATED: &str = r#"{"error":"unauthenticated","message":"sign in first"}"#;

/// The body of a guard's `401` to an identity proved a way the route does not take.
const UNAUTHENTICATED_METHOD: &str =
    r#"{"error":"unauthenticated","message":"this route does not take this way of signing in"}"#;

/// `401 {"error":"unauthenticated",...}`.
pub(crate) fn unauthenticated() -> Response<Bytes> {
    crate::routes::response::json(
        StatusCode::UNAUTHORIZED,
        Bytes::from_static(UNAUTHENTICATED.as_bytes()),
    )
}

/// [`unauthenticated`] with `WWW-Authenticate: Bearer`: a route that needs a user, to a
/// request with no credentials at all (RFC 6750 §3: no error code then).
pub(crate) fn unauthenticated_challenge() -> Response<Bytes> {
    let mut response = unauthenticated();
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        challenge::bearer_challenge(),
    );
    response
}
