//! [`ResponseFuture`]: the inner service's future, or the layer's own answer on an auth route.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{HeaderValue, Response};
use pin_project_lite::pin_project;

use crate::body::ResponseBody;

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
        Inner { #[pin] future: F, renewal: Option<HeaderValue> },
        Own { future: OwnAnswer },
        Ready { response: Option<Response<Bytes>> },
    }
}

impl<F> ResponseFuture<F> {
    /// The inner service's future; `renewal` is a `Set-Cookie` to add to its response.
    pub(crate) fn inner(future: F, renewal: Option<HeaderValue>) -> Self {
        Self {
            kind: Kind::Inner { future, renewal },
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
            KindProj::Inner { future, renewal } => future.poll(cx).map(|result| {
                result.map(|mut response| {
                    if let Some(cookie) = renewal.take() {
                        response.headers_mut().append(SET_COOKIE, cookie);
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
