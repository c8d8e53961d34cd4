//! Building the dev provider's responses: JSON, OAuth errors, HTML pages and redirects,
//! all uncacheable.

use bytes::Bytes;
use http::header::{
    HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION,
    REFERRER_POLICY, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

/// Every response body: one complete buffer.
pub(super) type Body = Full<Bytes>;

fn with_body(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

pub(super) fn json(status: StatusCode, value: &Value) -> Response<Body> {
    with_body(status, "application/json", value.to_string())
}

/// An RFC 6749 §5.2 error: `{"error": code, "error_description": description}`.
pub(super) fn oauth_error(
    status: StatusCode,
    code: &'static str,
    description: &str,
) -> Response<Body> {
    let mut response = json(
        status,
        &json!({"error": code, "error_description": description}),
    );
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if code == "invalid_token" {
            r#"Bearer error="invalid_token""#
        } else {
            r#"Basic realm="socialauth dev provider""#
        };
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    response
}

/// An HTML page that loads nothing, runs no script and cannot be framed.
pub(super) fn html(status: StatusCode, page: String) -> Response<Body> {
    let mut response = with_body(status, "text/html; charset=utf-8", page);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// `303 See Other` to `location`; a 500 if it cannot be a header (it always can: it is a
/// serialized URL).
pub(super) fn redirect(location: &str) -> Response<Body> {
    let Ok(value) = HeaderValue::from_str(location) else {
        return internal_error();
    };
    let mut response = with_body(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        String::new(),
    );
    response.headers_mut().insert(LOCATION, value);
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

pub(super) fn not_found() -> Response<Body> {
    oauth_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

pub(super) fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = oauth_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "method not allowed",
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

pub(super) fn internal_error() -> Response<Body> {
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "the dev provider failed",
    )
}
