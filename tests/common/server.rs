//! Real hyper 1 HTTP/1.1 servers on `127.0.0.1:0` for the fake providers and the app under
//! test, counting accepted TCP connections, plus the small HTTP helpers the fakes share
//! (response body type, responses, body/query parsing, random tokens).

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderMap, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

pub type BoxError = Box<dyn StdError + Send + Sync>;

/// A running server: its address and how many TCP connections it has accepted so far.
#[derive(Clone, Debug)]
pub struct Served {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
}

impl Served {
    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// What the test servers run: a cloneable tower service answering hyper requests.
pub trait HttpService<B>:
    tower::Service<
        http::Request<Incoming>,
        Response = Response<B>,
        Error: Into<BoxError>,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S, B> HttpService<B> for S where
    S: tower::Service<
            http::Request<Incoming>,
            Response = Response<B>,
            Error: Into<BoxError>,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// Serves `service` on a fresh `127.0.0.1` port until the test's runtime shuts down.
pub async fn serve<B>(service: impl HttpService<B>) -> SocketAddr
where
    B: Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
{
    serve_counted(service).await.addr
}

/// Like [`serve`], also reporting the number of accepted TCP connections.
pub async fn serve_counted<B>(service: impl HttpService<B>) -> Served
where
    B: Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
{
    let listener = bind().await;
    let served = Served {
        addr: listener.local_addr().expect("local_addr"),
        connections: Arc::default(),
    };
    serve_on(listener, served.connections.clone(), service);
    served
}

/// A listener on a fresh `127.0.0.1` port, for a server that must know its address before
/// it serves (a fake provider naming its own URLs).
pub async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

/// Serves `service` on `listener` until the test's runtime shuts down, counting accepted
/// TCP connections in `connections`.
pub fn serve_on<B>(
    listener: TcpListener,
    connections: Arc<AtomicUsize>,
    service: impl HttpService<B>,
) where
    B: Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // e.g. EMFILE: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            connections.fetch_add(1, Ordering::SeqCst);
            let svc = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

/// Response body used by the fakes: a complete buffer, or one of the slow/huge streams
/// that [`crate::common::fault::Fault`] needs.
pub struct FakeBody {
    kind: Kind,
}

enum Kind {
    Full(Option<Bytes>),
    /// One byte now, then one more every second, forever.
    Trickle(Pin<Box<tokio::time::Sleep>>),
    /// `{"data":"aaaa…"}` of exactly `total` bytes, in chunks, without a Content-Length.
    Huge {
        total: usize,
        sent: usize,
    },
}

impl FakeBody {
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        FakeBody {
            kind: Kind::Full(Some(bytes.into())),
        }
    }

    pub fn empty() -> Self {
        FakeBody {
            kind: Kind::Full(None),
        }
    }

    pub fn trickle() -> Self {
        FakeBody {
            kind: Kind::Trickle(Box::pin(tokio::time::sleep(Duration::ZERO))),
        }
    }

    pub fn huge(total: usize) -> Self {
        FakeBody {
            kind: Kind::Huge { total, sent: 0 },
        }
    }
}

const HUGE_HEAD: &[u8] = b"{\"data\":\"";
const HUGE_TAIL: &[u8] = b"\"}";
const HUGE_CHUNK: usize = 64 * 1024;

fn huge_chunk(total: usize, start: usize, len: usize) -> Bytes {
    let mut chunk = vec![b'a'; len];
    let end = start + len;
    if total >= HUGE_HEAD.len() + HUGE_TAIL.len() {
        let head_end = end.min(HUGE_HEAD.len());
        if start < head_end {
            chunk[..head_end - start].copy_from_slice(&HUGE_HEAD[start..head_end]);
        }
        let tail_start = total - HUGE_TAIL.len();
        let tail_from = tail_start.max(start);
        if tail_from < end {
            chunk[tail_from - start..]
                .copy_from_slice(&HUGE_TAIL[tail_from - tail_start..end - tail_start]);
        }
    }
    Bytes::from(chunk)
}

impl Body for FakeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Trickle(sleep) => match sleep.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    let next = tokio::time::Instant::now() + Duration::from_secs(1);
                    sleep.as_mut().reset(next);
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b" ")))))
                }
            },
            Kind::Huge { total, sent } => {
                if *sent >= *total {
                    return Poll::Ready(None);
                }
                let len = HUGE_CHUNK.min(*total - *sent);
                let chunk = huge_chunk(*total, *sent, len);
                *sent += len;
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.as_ref().is_none_or(|b| b.is_empty()),
            Kind::Trickle(_) => false,
            Kind::Huge { total, sent } => sent >= total,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            // Unknown length: streamed with chunked transfer encoding.
            Kind::Trickle(_) | Kind::Huge { .. } => SizeHint::default(),
        }
    }
}

/// A response with a complete body.
pub fn response(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<FakeBody> {
    Response::builder()
        .status(StatusCode::from_u16(status).expect("valid status"))
        .header(CONTENT_TYPE, content_type)
        .body(FakeBody::full(body))
        .expect("valid response")
}

pub fn json(status: u16, value: &serde_json::Value) -> Response<FakeBody> {
    response(status, "application/json; charset=utf-8", value.to_string())
}

pub fn html(status: u16, body: &str) -> Response<FakeBody> {
    response(status, "text/html; charset=utf-8", body.to_owned())
}

/// `302 Found` to `location`.
pub fn redirect(location: &str) -> Response<FakeBody> {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(LOCATION, location)
        .body(FakeBody::empty())
        .expect("valid redirect")
}

/// The whole request body (empty if the client broke off).
pub async fn read_body(body: Incoming) -> Bytes {
    body.collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default()
}

/// Decoded `application/x-www-form-urlencoded` pairs of the URI's query.
pub fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    form_pairs(uri.query().unwrap_or("").as_bytes())
}

pub fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

/// Whether the request declares an `application/x-www-form-urlencoded` body.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// First value of `name` among `pairs`.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `prefix` followed by `bytes` random bytes in lowercase hex.
pub fn random_token(prefix: &str, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("OS randomness");
    format!("{prefix}{}", hex::encode(buf))
}
