//! [`ResponseFuture`]: the inner service's future, or the layer's own answer on an auth route,
//! or, for a request carrying a provider access token the layer has no verdict on yet, that
//! token's check and then the inner service's future, boxed together.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use pin_project_lite::pin_project;

use crate::layer::body::ResponseBody;
use crate::state::pending_cookie::{LateCookie, PendingCookie};

type OwnAnswer = Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>;
/// A provider access token's check, then the inner service's answer to the request.
pub(crate) type Checked<F> = Pin<Box<dyn Future<Output = <F as Future>::Output> + Send>>;

pin_project! {
    /// The future of [`SocialAuth`](crate::SocialAuth)'s responses.
    pub struct ResponseFuture<F>
    where
        F: Future,
    {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F>
    where
        F: Future,
    {
        Inner { #[pin] future: F, renewal: Option<PendingCookie>, late: Option<LateCookie> },
        Own { future: OwnAnswer },
        Ready { response: Option<Response<Bytes>> },
        Checking { future: Checked<F> },
    }
}

impl<F: Future> ResponseFuture<F> {
    /// The inner service's future; `renewal` is a renewed identity cookie for its response,
    /// and `late` a cookie the handler may still set while it runs (refreshed provider
    /// tokens).
    pub(crate) fn inner(
        future: F,
        renewal: Option<PendingCookie>,
        late: Option<LateCookie>,
    ) -> Self {
        Self {
            kind: Kind::Inner {
                future,
                renewal,
                late,
            },
        }
    }

    /// A provider access token's check, then the inner service's answer.
    pub(crate) fn checking(future: Checked<F>) -> Self {
        Self {
            kind: Kind::Checking { future },
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

impl<F: Future> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            Kind::Inner { .. } => "ResponseFuture::Inner",
            Kind::Own { .. } => "ResponseFuture::Own",
            Kind::Ready { .. } => "ResponseFuture::Ready",
            Kind::Checking { .. } => "ResponseFuture::Checking",
        })
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    // Inlined into the caller's `poll`: with it, the cookie path costs what it did before
    // provider access tokens (instructions per request, `benches/e2e.rs`).
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner {
                future,
                renewal,
                late,
            } => future.poll(cx).map(|result| {
                result.map(|mut response| {
                    if let Some(renewal) = renewal.take() {
                        renewal.apply(response.headers_mut());
                    }
                    // A cookie the handler set while it ran (refreshed provider tokens),
                    // under the same rules as a renewal.
                    if let Some(cookie) = late.take().and_then(|late| late.take()) {
                        cookie.apply(response.headers_mut());
                    }
                    response.map(ResponseBody::inner)
                })
            }),
            // A provider access token's request: no cookie to set.
            KindProj::Checking { future } => future
                .as_mut()
                .poll(cx)
                .map(|result| result.map(|response| response.map(ResponseBody::inner))),
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
