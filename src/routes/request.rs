//! What every route reads from a request: its head ([`RequestHead`]), the origin it was
//! made to, and the callback URL, built from the configured public URL or, for loopback
//! and allowed hosts only, from the request itself.

use http::{HeaderMap, Method, Uri};
use url::Url;

use crate::error::AuthError;
use crate::routes::origin::{is_loopback, is_plain_host};
use crate::settings::Settings;

/// The parts of a request the auth routes read (the body is read only for a posted
/// callback, by [`answer`]).
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
}

impl RequestHead {
    /// Keeps the head of a request; its body is dropped unread.
    pub(crate) fn from_request<B>(request: http::Request<B>) -> Self {
        let (parts, _body) = request.into_parts();
        Self {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
        }
    }
}

/// The URL the provider must call back: the configured public URL, or this request's origin.
pub(crate) fn callback_url(
    settings: &Settings,
    path: &str,
    head: &RequestHead,
) -> Result<Url, AuthError> {
    match &settings.public_url {
        Some(public) => Ok(public.url_for(path)),
        None => Url::parse(&(request_origin(settings, head)? + path))
            .map_err(|_| AuthError::invalid_request("the request has no usable Host header")),
    }
}

/// This request's origin, `scheme://host[:port]`, from its URI or `Host` header.
///
/// Only a loopback host (development) or one of the configured `allowed_hosts` is used: any
/// other `Host` could be the attacker's, and a provider with loose redirect matching would
/// send the code there.
fn request_origin(settings: &Settings, head: &RequestHead) -> Result<String, AuthError> {
    let host = head
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            head.headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .filter(|host| is_plain_host(host))
        .ok_or_else(|| AuthError::invalid_request("the request has no usable Host header"))?;
    let allowed = settings
        .allowed_hosts
        .iter()
        .any(|allowed| allowed.eq_ignore_ascii_case(host));
    if !allowed && !is_loopback(host) {
        tracing::warn!(
            "socialauth: a login came for a host that is neither loopback nor in allowed_hosts; \
             set public_url (or allowed_hosts) so callback URLs are never built from the Host header"
        );
        return Err(AuthError::internal(
            "the server's public URL is not configured for this host",
        ));
    }
    let scheme = match head.uri.scheme_str() {
        Some(scheme) => scheme,
        None if is_loopback(host) => "http",
        None => "https",
    };
    Ok(format!("{scheme}://{host}"))
}
