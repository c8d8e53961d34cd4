//! [`SocialAuth`]: the service the layer wraps around the app.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use crate::api_tokens::{Lookup, Pending, Verdict};
use crate::events::NoIdentity;
use crate::identity::Identity;
use crate::layer::body::ResponseBody;
use crate::layer::future::ResponseFuture;
use crate::provider_tokens::ProviderTokens;
use crate::routes::login;
use crate::routes::request::RequestHead;
use crate::routes::Route;
use crate::settings::{BearerRefused, CheckedAnonymous, Settings};
use crate::state::cookies::{find_raw, Found};
use crate::state::pending_cookie::LateCookie;

/// Middleware that answers `/auth/<provider>` itself and passes every other request to the
/// inner service with the verified [`Identity`] (if any) in its extensions.
///
/// Made by [`SocialAuthLayer`](crate::SocialAuthLayer). Auth failures are responses, so the
/// error type is the inner service's, unchanged.
///
/// The identity cookie and the layer's own bearer tokens are checked on the caller's task,
/// before the inner service is called. A provider access token
/// ([`Oidc::access_tokens`](crate::Oidc::access_tokens)) whose verdict the layer keeps is
/// too; only a token it has no verdict on makes the request wait for its check, the ready
/// inner service taken into a boxed response future (hence `S: Clone` and a `Send` future,
/// as tower-http's `AsyncRequireAuthorization` asks `Clone`).
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
    // Cloned (the ready one taken into the future, as tower's docs say) only for a request
    // that waits for its provider access token's check.
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
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
                let (renewal, tokens) = match self.settings.identify(request.headers()) {
                    Ok((identity, source)) => {
                        #[cfg(feature = "metrics")]
                        self.settings.observer.identity_checked(None);
                        let renewal = self.settings.renewal(&identity, source);
                        // Only the layer puts an identity here: one from elsewhere is
                        // replaced.
                        let mut tokens = None;
                        if self.settings.keep_provider_tokens.is_on() {
                            tokens = provider_tokens(&self.settings, &identity, &mut request);
                        }
                        request.extensions_mut().insert(identity);
                        (renewal, tokens)
                    }
                    Err(refused) => {
                        let (why, bearer) = (refused.why, refused.bearer.is_some());
                        if bearer && self.settings.api_tokens.is_some() {
                            match self.bearer_token(request.headers()) {
                                Bearer::Known(verdict) => {
                                    apply(&self.settings, verdict, &mut request)
                                }
                                Bearer::Check(pending, token) => {
                                    return self.check_then_call(request, token, pending);
                                }
                                Bearer::Layers => {
                                    refuse(&self.settings, request.extensions_mut(), why, true)
                                }
                            }
                        } else {
                            refuse(&self.settings, request.extensions_mut(), why, bearer);
                        }
                        (None, None)
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

/// What a bearer token that is not a valid one of the layer's gets.
enum Bearer {
    /// A token of the layer's: refused.
    Layers,
    /// A provider's token: the verdict kept, or plain (malformed, no provider's).
    Known(Verdict),
    /// A provider's token to check, copied.
    Check(Pending, String),
}

impl<S> SocialAuth<S> {
    /// The request's bearer token, which gave no identity as one of the layer's own, with
    /// provider access tokens accepted: the verdict kept for a provider's token, read in
    /// place, or the check to make. Out of `call`, which stays as lean as without access
    /// tokens.
    #[cold]
    #[inline(never)]
    fn bearer_token(&self, headers: &http::HeaderMap) -> Bearer {
        match (&self.settings.api_tokens, self.settings.bearer(headers)) {
            (Some(api), Some(token)) if !self.settings.is_layer_token(token) => {
                match api.lookup(token, self.settings.clock.now()) {
                    Lookup::Known(verdict) => Bearer::Known(verdict),
                    Lookup::Unknown(pending) => Bearer::Check(pending, token.to_owned()),
                }
            }
            _ => Bearer::Layers,
        }
    }

    /// A request carrying a provider access token the layer has no verdict on: its check,
    /// then the inner service's answer, in one boxed future.
    #[cold]
    #[inline(never)]
    fn check_then_call<ReqBody>(
        &mut self,
        mut request: Request<ReqBody>,
        token: String,
        pending: Pending,
    ) -> ResponseFuture<S::Future>
    where
        S: Service<Request<ReqBody>> + Clone + Send + 'static,
        S::Future: Send,
        ReqBody: Send + 'static,
    {
        // The ready service goes with the request; its clone stays, to be made ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let settings = self.settings.clone();
        ResponseFuture::checking(Box::pin(async move {
            let verdict = match &settings.api_tokens {
                Some(api) => {
                    let hook = settings.authorize.as_ref();
                    api.verify(&token, pending, hook, &settings.clock).await
                }
                None => Verdict::Invalid,
            };
            apply(&settings, verdict, &mut request);
            inner.call(request).await
        }))
    }
}

/// No identity, for `why`; `bearer` when a bearer token was refused.
#[inline]
fn refuse(settings: &Settings, extensions: &mut http::Extensions, why: NoIdentity, bearer: bool) {
    #[cfg(feature = "metrics")]
    settings.observer.identity_checked(Some(why));
    #[cfg(not(feature = "metrics"))]
    let _ = (settings, why);
    anonymous(extensions, bearer.then_some(BearerRefused::Invalid));
}

/// A provider access token's verdict, into the request's extensions.
#[cold]
#[inline(never)]
fn apply<B>(settings: &Settings, verdict: Verdict, request: &mut Request<B>) {
    let refused = match verdict {
        Verdict::Valid(identity) => {
            #[cfg(feature = "metrics")]
            settings.observer.identity_checked(None);
            let extensions = request.extensions_mut();
            extensions.remove::<ProviderTokens>();
            extensions.remove::<BearerRefused>();
            extensions.insert(identity);
            return;
        }
        Verdict::Invalid => BearerRefused::Invalid,
        Verdict::Denied(message) => BearerRefused::Denied(message),
        Verdict::Unavailable => BearerRefused::Unavailable,
    };
    #[cfg(feature = "metrics")]
    settings.observer.identity_checked(Some(match refused {
        BearerRefused::Unavailable => NoIdentity::Unavailable,
        _ => NoIdentity::Invalid,
    }));
    #[cfg(not(feature = "metrics"))]
    let _ = settings;
    anonymous(request.extensions_mut(), Some(refused));
}

/// No identity for this request: only the layer puts one in the extensions (one from
/// elsewhere is dropped), and it says it looked, and why a bearer token gave none.
fn anonymous(extensions: &mut http::Extensions, bearer: Option<BearerRefused>) {
    extensions.remove::<Identity>();
    extensions.remove::<ProviderTokens>();
    extensions.remove::<BearerRefused>();
    // So the axum extractor can tell "not signed in" from "the layer is not installed":
    // zero-sized, so a table entry, not an allocation of its own.
    extensions.insert(CheckedAnonymous);
    if let Some(bearer) = bearer {
        extensions.insert(bearer);
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
