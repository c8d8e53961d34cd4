//! Faults the fake providers can be told to answer with instead of doing their job: error
//! statuses, HTML or garbage where a token was expected, a server that never answers, a
//! body that trickles forever, a huge body, an unexpected redirect.

use std::time::Duration;

use http::Response;

use super::server::{self, FakeBody};

#[derive(Clone, Debug, Default)]
pub enum Fault {
    /// Behave normally.
    #[default]
    None,
    /// This status with this body (`application/json` if it starts with `{`, else text).
    Status(u16, String),
    /// `200 text/html`: a login/error page instead of the API answer.
    Html,
    /// `200` with bytes that are neither a form nor JSON (nor valid UTF-8).
    Garbage,
    /// Accept the request and never answer (sleeps an hour).
    Hang,
    /// `200 application/json`, then one byte per second, forever.
    Trickle,
    /// `200 application/json` with this many bytes of `{"data":"aaa…"}`, streamed in
    /// chunks without a Content-Length.
    Huge(usize),
    /// `302 Found` to this location.
    Redirect(String),
    /// Exactly this status, these headers and this body (e.g. a form where JSON belongs, a
    /// `429` with `Retry-After`, a gzip bomb with `Content-Encoding: gzip`).
    Raw(RawResponse),
}

/// A response given byte for byte; `Debug` shows the body's length, not the body.
#[derive(Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: bytes::Bytes,
}

impl RawResponse {
    pub fn new(status: u16, content_type: &str, body: impl Into<bytes::Bytes>) -> Self {
        RawResponse {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: body.into(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl std::fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

pub const GARBAGE: &[u8] = b"\x00\x9f\x92\x96 <<not a form {[ nor json \xff\xfe\x01";

pub const HTML_PAGE: &str = "<!DOCTYPE html><html><head><title>Something went wrong</title></head>\
<body><h1>Something went wrong</h1><p>Please try again later.</p></body></html>";

impl Fault {
    /// The response to send instead of normal handling, or `None` for [`Fault::None`].
    /// Never returns for [`Fault::Hang`] (well, after an hour).
    pub async fn respond(&self) -> Option<Response<FakeBody>> {
        Some(match self {
            Fault::None => return None,
            Fault::Status(status, body) => {
                let content_type = if body.trim_start().starts_with('{') {
                    "application/json; charset=utf-8"
                } else {
                    "text/plain; charset=utf-8"
                };
                server::response(*status, content_type, body.clone())
            }
            Fault::Html => server::html(200, HTML_PAGE),
            Fault::Garbage => server::response(200, "application/octet-stream", GARBAGE),
            Fault::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                server::response(504, "text/plain", "gave up hanging")
            }
            Fault::Trickle => streamed(FakeBody::trickle()),
            Fault::Huge(len) => streamed(FakeBody::huge(*len)),
            Fault::Redirect(location) => server::redirect(location),
            Fault::Raw(raw) => {
                let mut builder = Response::builder().status(raw.status);
                for (name, value) in &raw.headers {
                    builder = builder.header(*name, value);
                }
                builder
                    .body(FakeBody::full(raw.body.clone()))
                    .expect("valid raw response")
            }
        })
    }
}

fn streamed(body: FakeBody) -> Response<FakeBody> {
    Response::builder()
        .status(200)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(body)
        .expect("valid response")
}
