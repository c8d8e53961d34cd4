//! [`RequireIdentityLayer`]: a guard for routes that need a signed-in user.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::ACCEPT;
use http::{Method, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::AuthError;
use crate::identity::Identity;
use crate::layer::body::ResponseBody;
use crate::layer::future::ResponseFuture;
use crate::routes::response::{redirect, Location};
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
#[derive(Debug, Clone, Default)]
pub struct RequireIdentityLayer {
    login_url: Option<Arc<str>>,
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
}

impl<S> Layer<S> for RequireIdentityLayer {
    type Service = RequireIdentity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireIdentity {
            inner,
            login_url: self.login_url.clone(),
        }
    }
}

/// The service made by [`RequireIdentityLayer`].
#[derive(Debug, Clone)]
pub struct RequireIdentity<S> {
    inner: S,
    login_url: Option<Arc<str>>,
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
        if request.extensions().get::<Identity>().is_some() {
            return ResponseFuture::inner(self.inner.call(request), None, None);
        }
        let response = match &self.login_url {
            Some(login_url) if is_page_load(&request) => login_redirect(login_url, &request),
            _ => unauthenticated(),
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

/// `401 {"error":"unauthenticated",...}`.
pub(crate) fn unauthenticated() -> Response<Bytes> {
    crate::routes::response::json(
        StatusCode::UNAUTHORIZED,
        Bytes::from_static(UNAUTHENTICATED.as_bytes()),
    )
}
