//! `/authorize`: `GET` checks the authorization request and shows the sign-in page;
//! `POST` is that page's form, which signs the user in (or cancels) and sends the browser
//! back to the app.
//!
//! The form carries no authorization parameters, only a ticket: a random, single-use key
//! to the checked request, which the provider keeps for ten minutes. Nothing the form sends
//! can change where the code goes or for which `state`. A page submitted from another site
//! only completes that site's own pending sign-in, whose `state` the app then refuses, so the
//! form needs no CSRF token of its own.
//!
//! Errors are answered with a 400 page here instead of a redirect to the app: this is a tool
//! for developers, and the page says at once what is wrong.

use http::{Response, StatusCode};
use url::Url;

use super::page::{self, SignInPage};
use super::request::Params;
use super::response::{self, Body};
use super::store::{Authorization, IssuedCode, User};
use super::Shared;
use crate::state::random::random_token;

/// The longest `state` and `nonce` accepted.
const MAX_OPAQUE: usize = 2048;
const MAX_NAME: usize = 100;
const MAX_EMAIL: usize = 254;

fn bad_request(message: &str) -> Response<Body> {
    response::html(StatusCode::BAD_REQUEST, page::error(message))
}

fn too_busy() -> Response<Body> {
    response::html(
        StatusCode::SERVICE_UNAVAILABLE,
        page::error("too many sign-ins at once; try again later"),
    )
}

/// `GET /authorize`.
pub(super) fn show(shared: &Shared, query: Option<&str>) -> Response<Body> {
    let authorization = match check(shared, query.unwrap_or("")) {
        Ok(authorization) => authorization,
        Err(message) => return bad_request(&message),
    };
    if let Some(user) = shared.auto_user() {
        return approve(shared, &authorization, user);
    }
    let Ok(ticket) = random_token() else {
        return response::internal_error();
    };
    let app = origin(&authorization.redirect_uri);
    if shared
        .store()
        .add_ticket(ticket.clone(), authorization)
        .is_err()
    {
        return too_busy();
    }
    let page = SignInPage {
        ticket: &ticket,
        app: &app,
        name: "",
        email: "",
        error: None,
    };
    response::html(StatusCode::OK, page::sign_in(&page))
}

/// Checks an authorization request (RFC 6749 §4.1.1, RFC 7636, OpenID Connect Core §3.1.2).
fn check(shared: &Shared, query: &str) -> Result<Authorization, String> {
    let params = Params::parse(query.as_bytes())?;
    if params.require("client_id")? != shared.client_id {
        return Err("unknown client_id".to_owned());
    }
    let redirect_uri = params.require("redirect_uri")?;
    if !shared.redirect_allowed(redirect_uri) {
        return Err(format!(
            "the redirect_uri {redirect_uri:?} is not registered (by default: http on \
             127.0.0.1, localhost or [::1], with a path ending in /auth/dev)"
        ));
    }
    if params.require("response_type")? != "code" {
        return Err("response_type must be code".to_owned());
    }
    if params
        .get("response_mode")
        .is_some_and(|mode| mode != "query")
    {
        return Err("response_mode must be query".to_owned());
    }
    if params.get("request").is_some() || params.get("request_uri").is_some() {
        return Err("request objects are not supported".to_owned());
    }
    let scope = params.require("scope")?;
    if !scope.split(' ').any(|s| s == "openid") {
        return Err("the scope must include openid".to_owned());
    }
    let state = params.require("state")?;
    let nonce = params.get("nonce");
    if state.len() > MAX_OPAQUE || nonce.is_some_and(|n| n.len() > MAX_OPAQUE) {
        return Err("state or nonce is too long".to_owned());
    }
    if params.get("code_challenge_method") != Some("S256") {
        return Err("PKCE is required: code_challenge_method must be S256".to_owned());
    }
    let challenge = params.require("code_challenge")?;
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err("code_challenge must be a base64url SHA-256 digest".to_owned());
    }
    Ok(Authorization {
        redirect_uri: redirect_uri.to_owned(),
        state: state.to_owned(),
        nonce: nonce.map(str::to_owned),
        code_challenge: challenge.to_owned(),
        scope: scope.to_owned(),
    })
}

/// `POST /authorize`: the sign-in page's form.
pub(super) fn submit(shared: &Shared, form: &Params) -> Response<Body> {
    let Ok(ticket) = form.require("ticket") else {
        return bad_request("the form has no ticket");
    };
    let Some(authorization) = shared.store().ticket(ticket) else {
        return bad_request("this sign-in has expired or is already done");
    };
    match form.get("action") {
        Some("cancel") => {
            shared.store().take_ticket(ticket);
            let location = callback(
                &authorization.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_description", "the user cancelled"),
                    ("state", &authorization.state),
                    ("iss", &shared.issuer),
                ],
            );
            location.map_or_else(response::internal_error, |l| response::redirect(&l))
        }
        Some("sign_in") | None => {
            let name = form.get("name").unwrap_or("").trim();
            let email = form.get("email").unwrap_or("").trim();
            if let Err(message) = check_user(name, email) {
                let page = SignInPage {
                    ticket,
                    app: &origin(&authorization.redirect_uri),
                    name,
                    email,
                    error: Some(message),
                };
                return response::html(StatusCode::BAD_REQUEST, page::sign_in(&page));
            }
            if shared.store().take_ticket(ticket).is_none() {
                return bad_request("this sign-in has expired or is already done");
            }
            approve(
                shared,
                &authorization,
                User::new(name.to_owned(), email.to_owned()),
            )
        }
        Some(_) => bad_request("unknown action"),
    }
}

fn check_user(name: &str, email: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err("Type a name (up to 100 characters).");
    }
    let well_formed = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    });
    if !well_formed
        || email.len() > MAX_EMAIL
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("Type an email address like ada@example.com.");
    }
    if name.chars().any(char::is_control) {
        return Err("The name may not hold control characters.");
    }
    Ok(())
}

/// Issues a code for `user` and sends the browser back with it.
fn approve(shared: &Shared, authorization: &Authorization, user: User) -> Response<Body> {
    let Ok(code) = random_token() else {
        return response::internal_error();
    };
    let Some(location) = callback(
        &authorization.redirect_uri,
        &[
            ("code", &code),
            ("state", &authorization.state),
            ("iss", &shared.issuer),
        ],
    ) else {
        return response::internal_error();
    };
    let grant = IssuedCode {
        authorization: authorization.clone(),
        user,
        redeemed: None,
    };
    if shared.store().add_code(code, grant).is_err() {
        return too_busy();
    }
    response::redirect(&location)
}

/// The redirect URI with `params` added to its query.
fn callback(redirect_uri: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut url = Url::parse(redirect_uri).ok()?;
    url.query_pairs_mut().extend_pairs(params);
    Some(url.into())
}

/// `http://127.0.0.1:3000` for `http://127.0.0.1:3000/auth/dev`: what the page names.
fn origin(redirect_uri: &str) -> String {
    Url::parse(redirect_uri).map_or_else(
        |_| redirect_uri.to_owned(),
        |url| url.origin().ascii_serialization(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_emails() {
        assert!(check_user("Ada", "ada@example.com").is_ok());
        assert!(check_user("", "ada@example.com").is_err());
        assert!(check_user(&"a".repeat(101), "ada@example.com").is_err());
        assert!(check_user("A\u{7}", "ada@example.com").is_err());
        for email in ["", "ada", "@example.com", "ada@", "a@b@c", "a b@c", "a@b\n"] {
            assert!(check_user("Ada", email).is_err(), "{email:?}");
        }
    }

    #[test]
    fn callbacks_keep_the_redirect_uri_and_encode_values() {
        assert_eq!(
            callback(
                "http://127.0.0.1:3000/auth/dev",
                &[("code", "a b"), ("state", "&=")]
            )
            .as_deref(),
            Some("http://127.0.0.1:3000/auth/dev?code=a+b&state=%26%3D")
        );
        assert_eq!(
            callback("https://app.test/cb?x=1", &[("code", "c")]).as_deref(),
            Some("https://app.test/cb?x=1&code=c")
        );
    }
}
