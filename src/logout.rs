//! `POST /auth/logout`: clears the identity cookie and redirects.

use bytes::Bytes;
use http::header::{HOST, ORIGIN, SET_COOKIE};
use http::{Method, Response};

use crate::error::{AuthError, AuthErrorKind};
use crate::login::RequestHead;
use crate::response::redirect;
use crate::settings::Settings;

/// Answers the logout route. Only `POST` (a link or an image cannot log anyone out), and only
/// from this site: a request the browser marks cross-site, or whose `Origin` is another host,
/// is refused with `403`.
pub(crate) fn answer(settings: &Settings, head: &RequestHead) -> Response<Bytes> {
    let _span = tracing::info_span!("socialauth.logout").entered();
    if head.method != Method::POST {
        return AuthError::new(AuthErrorKind::MethodNotAllowed, "log out with POST")
            .into_response_allowing("POST");
    }
    if is_cross_site(settings, head) {
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
        .removal(settings.cookies.identity_name().to_owned())
    {
        response.headers_mut().append(SET_COOKIE, removal);
    }
    let identity = settings.identify(&head.headers).ok();
    settings
        .observer
        .logout(identity.as_ref().map(|(identity, _)| identity));
    response
}

/// Whether the browser says the request did not come from this origin.
///
/// `Sec-Fetch-Site` decides when present: only `same-origin` and `none` (typed, bookmarked)
/// pass; `same-site` is a sibling subdomain, which must not log users out. Without it, an
/// `Origin` must be this app's: `public_url`'s when configured, else the request's own
/// authority (the URI's under HTTP/2, where there is no `Host` header, or `Host`).
fn is_cross_site(settings: &Settings, head: &RequestHead) -> bool {
    if let Some(site) = head.headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = head.headers.get(ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    let origin_authority = origin.split_once("://").map(|(_, authority)| authority);
    let own_authority = match &settings.public_url {
        Some(public) => public
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(rest)),
        None => head
            .uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| head.headers.get(HOST).and_then(|h| h.to_str().ok())),
    };
    match (origin_authority, own_authority) {
        (Some(origin), Some(own)) => !origin.eq_ignore_ascii_case(own),
        _ => true,
    }
}
