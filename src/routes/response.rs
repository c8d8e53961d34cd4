//! The layer's own answers: JSON and redirects, never cached.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Response, StatusCode};

use crate::error::AuthError;

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
pub(crate) fn redirect(location: &str) -> Result<Response<Bytes>, AuthError> {
    let location = HeaderValue::try_from(location)
        .map_err(|_| AuthError::internal("a redirect target is not a valid header"))?;
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(LOCATION, location);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
