//! `POST /auth/logout`: clears the identity cookie (and the provider tokens cookies) and
//! redirects; with revocation on, also revokes the session (`?everywhere=1`: every session
//! of the user); for a provider that ends sessions too
//! ([`Oidc::provider_logout`](crate::Oidc::provider_logout)), the redirect goes to the
//! provider, which sends the browser on to the after-logout URL.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, HOST, LOCATION, ORIGIN, SET_COOKIE};
use http::{Method, Response};

use crate::error::{AuthError, AuthErrorKind};
use crate::events::NoIdentity;
use crate::identity::Identity;
use crate::revocation::{RevocationError, Revocations};
use crate::routes::provider_logout;
use crate::routes::request::RequestHead;
use crate::routes::response::redirect;
use crate::settings::{Settings, Source};

/// Answers the logout route. Only `POST` (a link or an image cannot log anyone out), and only
/// from this site: a request the browser marks cross-site, or whose `Origin` is another host,
/// is refused with `403`.
///
/// With revocation on, the session is revoked unless a fact this process knows revokes it
/// already: a stale copy (the store out of reach too long) does not stop a logout. When the
/// store does not take the revocation, it holds here at once, is published when the store
/// answers again, and the answer is `503 revocation_unavailable`, clearing the cookies all
/// the same.
pub(crate) async fn answer(settings: Arc<Settings>, head: RequestHead) -> Response<Bytes> {
    let everywhere = wants_everywhere(&head);
    if let Some(refusal) = refuse(&settings, &head, everywhere) {
        return refusal;
    }
    let found = settings.identify_to_revoke(&head.headers);
    let mut response = clear(
        &settings,
        &head,
        everywhere,
        found.as_ref().ok().map(|(identity, _)| identity),
    );
    let (identity, source, valid) = match found {
        Ok((identity, source)) => (identity, source, true),
        // A sign-in that lapsed here (expired, or revoked elsewhere) may still be open at the
        // provider: its cookie still names the provider and the user, so the logout still
        // goes there. Nothing is revoked on its word.
        Err(NoIdentity::Expired | NoIdentity::Revoked) => {
            match settings.lapsed_identity(&head.headers) {
                Some(lapsed) => (lapsed, Source::Cookie, false),
                None => return response,
            }
        }
        Err(NoIdentity::Absent | NoIdentity::Invalid | NoIdentity::Unavailable) => return response,
    };
    if let (Some(revocations), true) = (&settings.revocations, valid) {
        if let Err(error) = revoke(revocations, &identity, everywhere).await {
            tracing::warn!(%error, everywhere, "logout: the revocation store did not take the revocation");
            return revocation_unavailable(response);
        }
    }
    if source == Source::Cookie {
        // With the sign-in's tokens kept, its ID token goes as `id_token_hint`; else the
        // provider gets the user id as `logout_hint`.
        let id_token = provider_logout::kept_id_token(&settings, &head.headers, &identity);
        let at_provider =
            provider_logout::end_session_url(&settings, &head, &identity, id_token.as_ref()).await;
        if let Some(location) = at_provider.and_then(|url| HeaderValue::try_from(url.as_str()).ok())
        {
            response.headers_mut().insert(LOCATION, location);
        }
    }
    response
}

/// Revokes the session of `identity` (`everywhere`: every session of its user).
async fn revoke(
    revocations: &Revocations,
    identity: &Identity,
    everywhere: bool,
) -> Result<(), RevocationError> {
    match (everywhere, identity.session_id()) {
        (true, _) => {
            revocations
                .revoke_user(identity.provider(), identity.user_id())
                .await
        }
        (false, Some(session)) => revocations.revoke_session(session).await,
        // Refused by revocation already: nothing to revoke.
        (false, None) => Ok(()),
    }
}

/// The answer when the revocation store did not take a logout's revocation: that error,
/// still clearing every cookie `logout` clears (the identity and the provider tokens).
fn revocation_unavailable(logout: Response<Bytes>) -> Response<Bytes> {
    let mut response = AuthError::new(
        AuthErrorKind::RevocationUnavailable,
        "signed out here; the revocation reaches other servers once the store answers",
    )
    .into_response();
    for cookie in logout.headers().get_all(SET_COOKIE) {
        response.headers_mut().append(SET_COOKIE, cookie.clone());
    }
    response
}

/// `?everywhere=1` (or `true`): revoke every session of the user, not only this one.
fn wants_everywhere(head: &RequestHead) -> bool {
    form_urlencoded::parse(head.uri.query().unwrap_or_default().as_bytes())
        .any(|(name, value)| name == "everywhere" && matches!(&*value, "1" | "true"))
}

/// The refusal of a logout that is not allowed: `?everywhere=1` without revocation, not a
/// `POST`, or cross-site.
fn refuse(settings: &Settings, head: &RequestHead, everywhere: bool) -> Option<Response<Bytes>> {
    let _span = tracing::info_span!("socialauth.logout", everywhere).entered();
    let refusal = if everywhere && settings.revocations.is_none() {
        AuthError::new(
            AuthErrorKind::InvalidRequest,
            "signing out everywhere needs revocation, which is not configured",
        )
        .into_response()
    } else if head.method != Method::POST {
        AuthError::new(AuthErrorKind::MethodNotAllowed, "log out with POST")
            .into_response_allowing("POST")
    } else if is_cross_site(settings, head) {
        tracing::warn!("cross-site logout refused");
        AuthError::new(AuthErrorKind::Forbidden, "logout must come from this site").into_response()
    } else {
        return None;
    };
    Some(refusal)
}

/// Clears the identity cookie (and the provider tokens cookie) and tells the observer of the
/// logout of `identity`: the redirect.
fn clear(
    settings: &Settings,
    head: &RequestHead,
    everywhere: bool,
    identity: Option<&Identity>,
) -> Response<Bytes> {
    let _span = tracing::info_span!("socialauth.logout", everywhere).entered();
    let mut response = redirect(&settings.after_logout);
    if let Some(removal) = settings
        .cookies
        .removal(settings.cookies.identity_name().to_owned())
    {
        response.headers_mut().append(SET_COOKIE, removal);
    }
    // The provider tokens go with the sign-in they are bound to: every tokens cookie the
    // request carried (the whole value or its chunks), and the access token this process
    // holds for the sign-in.
    let carried = crate::provider_tokens::read(settings, &head.headers).carried;
    let mut removals = crate::provider_tokens::removals(settings, carried, &[]);
    if settings.keep_provider_tokens.is_on() && !carried.any() {
        removals.extend(
            settings
                .cookies
                .removal(settings.cookies.tokens_name().to_owned()),
        );
    }
    for removal in removals {
        response.headers_mut().append(SET_COOKIE, removal);
    }
    if let Some(session) = identity.and_then(Identity::session_id) {
        settings.held_access_tokens.forget(session);
    }
    settings.observer.logout(identity);
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
        Some(public) => Some(public.authority()),
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
