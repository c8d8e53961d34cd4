//! [`SocialAuth`]: the service the layer wraps around the app.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::identity::Identity;
use crate::layer::body::ResponseBody;
use crate::layer::future::ResponseFuture;
use crate::provider_tokens::ProviderTokens;
use crate::routes::login;
use crate::routes::request::RequestHead;
use crate::routes::Route;
use crate::settings::{CheckedAnonymous, Settings};
use crate::state::cookies::{find_raw, Found};
use crate::state::pending_cookie::LateCookie;

/// Middleware that answers `/auth/<provider>` itself and passes every other request to the
/// inner service with the verified [`Identity`] (if any) in its extensions.
///
/// Made by [`SocialAuthLayer`](crate::SocialAuthLayer). Auth failures are responses, so the
/// error type is the inner service's, unchanged.
#[derive(Debug, Clone)]
pub struct SocialAuth<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> SocialAuth<S> {
    pub(crate) fn new(inner: S, settings: Arc<Settings>) -> Self {
        Self { inner, settings }
    }
}

inner_service_accessors!(SocialAuth);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SocialAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    // Read only for a provider that posts its callback (`form_post`).
    ReqBody: http_body::Body + Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self.settings.routes.route(request.uri().path()) {
            Route::Pass => {
                let identity = self.settings.identify(request.headers());
                #[cfg(feature = "metrics")]
                self.settings.observer.identity_checked(&identity);
                // Only the layer puts an identity here: one from elsewhere is replaced or
                // dropped.
                let mut tokens = None;
                let renewal = match identity {
                    Ok((identity, source)) => {
                        let renewal = self.settings.renewal(&identity, source);
                        if self.settings.keep_provider_tokens.is_on() {
                            tokens = provider_tokens(&self.settings, &identity, &mut request);
                        }
                        request.extensions_mut().insert(identity);
                        renewal
                    }
                    Err(_) => {
                        let extensions = request.extensions_mut();
                        extensions.remove::<Identity>();
                        extensions.remove::<ProviderTokens>();
                        // So the axum extractor can tell "not signed in" from "the layer is
                        // not installed": zero-sized, so a table entry, not an allocation of
                        // its own.
                        extensions.insert(CheckedAnonymous);
                        None
                    }
                };
                ResponseFuture::inner(self.inner.call(request), renewal, tokens)
            }
            Route::Provider(index) => {
                let (parts, body) = request.into_parts();
                let head = RequestHead::from_request(http::Request::from_parts(parts, ()));
                let answer = login::answer(self.settings.clone(), index, head, body);
                ResponseFuture::own(Box::pin(answer))
            }
            Route::Sso => {
                let (parts, body) = request.into_parts();
                let head = RequestHead::from_request(http::Request::from_parts(parts, ()));
                let answer = crate::routes::sso::answer(self.settings.clone(), head, body);
                ResponseFuture::own(Box::pin(answer))
            }
            Route::BackchannelLogout(index) => {
                let (parts, body) = request.into_parts();
                let head = RequestHead::from_request(http::Request::from_parts(parts, ()));
                let answer = crate::routes::backchannel_logout::answer(
                    self.settings.clone(),
                    index,
                    head,
                    body,
                );
                ResponseFuture::own(Box::pin(answer))
            }
            Route::Logout => {
                let head = RequestHead::from_request(request);
                let answer = crate::routes::logout::answer(self.settings.clone(), head);
                ResponseFuture::own(Box::pin(answer))
            }
            Route::TokenEndpoint => {
                let head = RequestHead::from_request(request);
                let response = crate::routes::token_endpoint::answer(&self.settings, &head);
                ResponseFuture::ready(response)
            }
            Route::Unknown => {
                let response = login::unknown_provider(&self.settings.routes);
                ResponseFuture::ready(response)
            }
        }
    }
}

/// With `keep_provider_tokens`, gives a signed-in request carrying its tokens cookies a
/// [`ProviderTokens`] (nothing is decrypted until a handler asks): what the response reads
/// refreshed cookies from. Tokens cookies that are not one well-formed set give none.
fn provider_tokens<B>(
    settings: &Arc<Settings>,
    identity: &Identity,
    request: &mut Request<B>,
) -> Option<LateCookie> {
    request.extensions_mut().remove::<ProviderTokens>();
    let carrying = crate::provider_tokens::read(settings, request.headers());
    let sealed = carrying.sealed?;
    let identity_len = match find_raw(request.headers(), settings.cookies.identity_name()) {
        Found::One(token) => token.len(),
        Found::None | Found::Many => 0,
    };
    let handle = ProviderTokens::new(
        settings.clone(),
        identity.clone(),
        sealed,
        carrying.carried,
        identity_len,
    );
    let rewritten = handle.rewritten();
    request.extensions_mut().insert(handle);
    Some(rewritten)
}
