//! `/logout`: OpenID Connect RP-Initiated Logout 1.0, by `GET` (query) or `POST` (form).
//!
//! The dev provider keeps no browser session: every sign-in shows its page again (or
//! [`sign_in_as`](super::DevProvider::sign_in_as) approves it). What a logout can end is what
//! it issued: with an `id_token_hint` it signed for this client, every access token of that
//! user is revoked, and, when the app registered a back-channel logout URI
//! ([`backchannel_logout_uri`](super::DevProvider::backchannel_logout_uri)), a logout token
//! naming that user and that sign-in's `sid` is POSTed to it. A `logout_hint` is only a hint,
//! never trusted to revoke anything.
//!
//! Bad input is a 400 page, never a redirect: a logout request that names an unknown
//! client or an unregistered place to go back to must not send the browser anywhere.

use http::{Response, StatusCode};
use url::Url;

use super::page;
use super::request::Params;
use super::response::{self, Body};
use super::Shared;

/// The longest `state`, `logout_hint` and `id_token_hint` accepted.
const MAX_OPAQUE: usize = 4096;

fn bad_request(message: &str) -> Response<Body> {
    response::html(StatusCode::BAD_REQUEST, page::logout_error(message))
}

/// `GET /logout?...`.
pub(super) fn end(shared: &Shared, query: &str) -> Response<Body> {
    match Params::parse(query.as_bytes()) {
        Ok(params) => end_with(shared, &params),
        Err(why) => bad_request(&why),
    }
}

/// A logout request's parameters, from the query or the form.
pub(super) fn end_with(shared: &Shared, params: &Params) -> Response<Body> {
    let revoked_user = match check(shared, params) {
        Ok(user) => user,
        Err(message) => return bad_request(&message),
    };
    if let Some((sub, sid)) = revoked_user {
        shared.store().revoke_user(&sub);
        super::backchannel::send(shared, &sub, sid.as_deref());
    }
    let Some(back) = params.get("post_logout_redirect_uri") else {
        return response::html(StatusCode::OK, page::signed_out());
    };
    let Ok(mut url) = Url::parse(back) else {
        return response::internal_error();
    };
    if let Some(state) = params.get("state") {
        url.query_pairs_mut().append_pair("state", state);
    }
    response::redirect(url.as_str())
}

/// Checks the request; the user (and the sign-in's `sid`) a valid `id_token_hint` names, if
/// any.
fn check(shared: &Shared, params: &Params) -> Result<Option<(String, Option<String>)>, String> {
    let too_long = ["state", "logout_hint", "id_token_hint"]
        .iter()
        .any(|name| params.get(name).is_some_and(|v| v.len() > MAX_OPAQUE));
    if too_long {
        return Err("a parameter is too long".to_owned());
    }
    let client_id = params.get("client_id");
    if client_id.is_some_and(|id| id != shared.client_id) {
        return Err("unknown client_id".to_owned());
    }
    let user = match params.get("id_token_hint") {
        Some(hint) => Some(id_token_user(shared, hint)?),
        None if client_id.is_none() => {
            return Err("the parameter \"client_id\" (or \"id_token_hint\") is missing".to_owned())
        }
        None => None,
    };
    if let Some(back) = params.get("post_logout_redirect_uri") {
        if !shared.post_logout_allowed(back) {
            return Err(format!(
                "the post_logout_redirect_uri {back:?} is not allowed (by default: http on \
                 127.0.0.1, localhost or [::1])"
            ));
        }
    }
    Ok(user)
}

/// The `sub` (and `sid`) of an ID token this provider signed for its client. Expired tokens
/// are accepted, as RP-Initiated Logout 1.0 §2 asks: the hint names who, it grants nothing.
fn id_token_user(shared: &Shared, hint: &str) -> Result<(String, Option<String>), String> {
    let claims = shared
        .key
        .verify_jwt(hint)
        .ok_or_else(|| "the id_token_hint is not an ID token from this provider".to_owned())?;
    if claims["iss"] != shared.issuer.as_str() || claims["aud"] != shared.client_id.as_str() {
        return Err("the id_token_hint was not issued to this client".to_owned());
    }
    let sid = claims["sid"].as_str().map(str::to_owned);
    claims["sub"]
        .as_str()
        .map(|sub| (sub.to_owned(), sid))
        .ok_or_else(|| "the id_token_hint has no sub".to_owned())
}
