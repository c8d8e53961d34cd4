//! The layer's own answers: JSON and redirects, never cached. A redirect goes only to a
//! [`Location`], a target checked when it was made (at `build()` for the configured ones, at
//! the request for `return_to`), so answering with it cannot fail.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Response, StatusCode};
use url::Url;

/// `status` with a JSON body, `Cache-Control: no-store`.
pub(crate) fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `303 See Other` to `location`, `Cache-Control: no-store`.
pub(crate) fn redirect(location: &Location) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    headers.insert(LOCATION, location.0.clone());
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A redirect target that is a valid `Location` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location(HeaderValue);

impl Location {
    /// `target` as a location; `None` when it cannot be a header value (control characters).
    pub(crate) fn new(target: &str) -> Option<Self> {
        HeaderValue::try_from(target).ok().map(Self)
    }

    /// A URL as a location. A parsed URL is percent-encoded ASCII, so this is `None` only in
    /// theory.
    pub(crate) fn from_url(url: &Url) -> Option<Self> {
        Self::new(url.as_str())
    }

    /// This location with `name=value` added to its query (`value` is form-encoded).
    pub(crate) fn with_query_param(&self, name: &str, value: &str) -> Self {
        let target = self.as_str();
        let separator = if target.contains('?') { '&' } else { '?' };
        let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
        Self::new(&format!("{target}{separator}{name}={encoded}")).unwrap_or_else(|| self.clone())
    }

    /// The location as text. Made from `&str` only, so its bytes are UTF-8 (non-ASCII
    /// included, which `HeaderValue::to_str` would refuse); the empty fallback cannot happen.
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.0.as_bytes()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_parameter_joins_the_query_there_is() {
        let bare = Location::new("/login").unwrap();
        assert_eq!(
            bare.with_query_param("error", "a b").as_str(),
            "/login?error=a+b"
        );
        let query = Location::new("/login?x=1").unwrap();
        assert_eq!(
            query.with_query_param("error", "c").as_str(),
            "/login?x=1&error=c"
        );
    }

    #[test]
    fn a_non_ascii_location_reads_back_as_configured() {
        let location = Location::new("/adiós").unwrap();
        assert_eq!(location.as_str(), "/adiós");
        assert_eq!(
            location.with_query_param("error", "x").as_str(),
            "/adiós?error=x"
        );
    }

    #[test]
    fn control_characters_are_not_a_location() {
        assert!(Location::new("/a\r\nSet-Cookie: x=1").is_none());
        let response = redirect(&Location::new("/there").unwrap());
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/there");
    }
}
