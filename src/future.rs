//! [`ResponseFuture`]: the inner service's future, or the layer's own answer on an auth route.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue, Response};
use pin_project_lite::pin_project;

use std::sync::Arc;

use crate::body::ResponseBody;
use crate::provider_tokens::TokensRequest;

type OwnAnswer = Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>;

pin_project! {
    /// The future of [`SocialAuth`](crate::SocialAuth)'s responses.
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F, renewal: Option<Renewal>, tokens: Option<Arc<TokensRequest>> },
        Own { future: OwnAnswer },
        Ready { response: Option<Response<Bytes>> },
    }
}

impl<F> ResponseFuture<F> {
    /// The inner service's future; `renewal` is a renewed identity cookie for its response.
    pub(crate) fn inner(
        future: F,
        renewal: Option<Renewal>,
        tokens: Option<Arc<TokensRequest>>,
    ) -> Self {
        Self {
            kind: Kind::Inner {
                future,
                renewal,
                tokens,
            },
        }
    }

    pub(crate) fn own(future: OwnAnswer) -> Self {
        Self {
            kind: Kind::Own { future },
        }
    }

    /// An answer the layer already has: no future to box.
    pub(crate) fn ready(response: Response<Bytes>) -> Self {
        Self {
            kind: Kind::Ready {
                response: Some(response),
            },
        }
    }
}

/// A renewed identity cookie, waiting for the app's response.
#[derive(Debug)]
pub(crate) struct Renewal {
    /// The identity cookie's name.
    pub(crate) name: &'static str,
    /// Its `Set-Cookie` value.
    pub(crate) cookie: HeaderValue,
}

impl Renewal {
    /// Adds the cookie to a response, unless the app set or cleared the identity cookie
    /// itself (its word wins), or a shared cache may store the response (`public`,
    /// `s-maxage`): a cache must never hand one user's cookie to another. The response is
    /// marked `private` and `Vary: Cookie` when the cookie is added.
    fn apply(self, headers: &mut HeaderMap) {
        let app_set_it = headers.get_all(SET_COOKIE).iter().any(|value| {
            value
                .as_bytes()
                .strip_prefix(self.name.as_bytes())
                .is_some_and(|rest| rest.first() == Some(&b'='))
        });
        let directives: Vec<String> = headers
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|directive| directive.trim().to_ascii_lowercase())
            .collect();
        let shared = directives
            .iter()
            .any(|d| d == "public" || d.starts_with("s-maxage"));
        if app_set_it || shared {
            tracing::debug!(
                app_set_it,
                shared,
                "identity cookie not renewed on this response"
            );
            return;
        }
        headers.append(SET_COOKIE, self.cookie);
        if !directives.iter().any(|d| d == "private" || d == "no-store") {
            headers.append(CACHE_CONTROL, HeaderValue::from_static("private"));
        }
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            Kind::Inner { .. } => "ResponseFuture::Inner",
            Kind::Own { .. } => "ResponseFuture::Own",
            Kind::Ready { .. } => "ResponseFuture::Ready",
        })
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner {
                future,
                renewal,
                tokens,
            } => future.poll(cx).map(|result| {
                result.map(|mut response| {
                    if let Some(renewal) = renewal.take() {
                        renewal.apply(response.headers_mut());
                    }
                    // Provider tokens a handler refreshed: their new cookie, under the same
                    // rules as a renewal.
                    let refreshed = tokens
                        .take()
                        .and_then(|tokens| tokens.rewritten.lock().ok()?.take());
                    if let Some(refreshed) = refreshed {
                        refreshed.apply(response.headers_mut());
                    }
                    response.map(ResponseBody::inner)
                })
            }),
            KindProj::Own { future } => future
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map(ResponseBody::own))),
            // Polled again after completion: an empty 500 rather than a panic.
            KindProj::Ready { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| {
                    let mut done = Response::new(Bytes::new());
                    *done.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                    done
                })
                .map(ResponseBody::own))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renewal() -> Renewal {
        Renewal {
            name: "__Host-socialauth",
            cookie: HeaderValue::from_static("__Host-socialauth=new; Path=/"),
        }
    }

    fn set_cookies(headers: &HeaderMap) -> Vec<&str> {
        headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn a_renewal_marks_the_response_private_and_varying_on_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        renewal().apply(&mut headers);
        assert_eq!(set_cookies(&headers), ["__Host-socialauth=new; Path=/"]);
        let cache: Vec<_> = headers.get_all(CACHE_CONTROL).iter().collect();
        assert_eq!(cache, ["max-age=60", "private"]);
        assert_eq!(headers[VARY], "Cookie");
    }

    #[test]
    fn shared_cacheable_responses_are_not_renewed() {
        for value in ["public, max-age=600", "s-maxage=60", "Public"] {
            let mut headers = HeaderMap::new();
            headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
            renewal().apply(&mut headers);
            assert!(set_cookies(&headers).is_empty(), "{value}");
        }
    }

    #[test]
    fn the_apps_own_identity_cookie_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(
            SET_COOKIE,
            HeaderValue::from_static("__Host-socialauth=; Max-Age=0; Path=/"),
        );
        renewal().apply(&mut headers);
        assert_eq!(
            set_cookies(&headers),
            ["__Host-socialauth=; Max-Age=0; Path=/"]
        );
        // Another cookie of the app's does not stop the renewal.
        let mut headers = HeaderMap::new();
        headers.insert(
            SET_COOKIE,
            HeaderValue::from_static("__Host-socialauth-x=1"),
        );
        renewal().apply(&mut headers);
        assert_eq!(set_cookies(&headers).len(), 2);
    }
}
