//! `POST /auth/logout`: clears the identity cookie and redirects.

use bytes::Bytes;
use http::header::{HOST, ORIGIN, SET_COOKIE};
use http::{HeaderMap, Method, Response};

use crate::error::{AuthError, AuthErrorKind};
use crate::login::RequestHead;
use crate::response::redirect;
use crate::settings::Settings;

/// Answers the logout route. Only `POST` (a link or an image cannot log anyone out), and only
/// from this site: a request the browser marks cross-site, or whose `Origin` is another host,
/// is refused with `403`.
pub(crate) fn answer(settings: &Settings, head: &RequestHead) -> Response<Bytes> {
    if head.method != Method::POST {
        return AuthError::new(AuthErrorKind::MethodNotAllowed, "log out with POST")
            .into_response_allowing("POST");
    }
    if is_cross_site(&head.headers) {
        tracing::warn!("cross-site logout refused");
        return AuthError::new(AuthErrorKind::Forbidden, "logout must come from this site")
            .into_response();
    }
    let mut response = match redirect(&settings.after_logout) {
        Ok(response) => response,
        Err(error) => return error.into_response(),
    };
    if let Some(removal) = settings
        .cookies
        .removal(settings.cookies.identity_name().to_owned(), "/".to_owned())
    {
        response.headers_mut().append(SET_COOKIE, removal);
    }
    tracing::debug!("logged out");
    response
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"cross-site";
    }
    let (Some(origin), Some(host)) = (headers.get(ORIGIN), headers.get(HOST)) else {
        return false;
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host);
    origin_host != host.to_str().ok()
}
