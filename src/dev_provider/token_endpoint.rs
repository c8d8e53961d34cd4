//! `POST /token`: the authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6), with the
//! client authenticated by `client_secret_basic` or `client_secret_post`, answering an access
//! token and an ID token signed with the provider's key; and the client credentials grant
//! (RFC 6749 §4.4) for a resource (RFC 8707), answering a JWT access token (RFC 9068) for a
//! service holding the client's own credentials.

use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::request::{self, Params};
use super::response::{self, Body};
use super::store::{IssuedCode, TOKEN_LIFETIME};
use super::Shared;
use crate::secret::constant_time_eq;
use crate::state::random::{pkce_challenge, random_token};

fn invalid_request(description: &str) -> Response<Body> {
    response::oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_client(description: &str) -> Response<Body> {
    response::oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

fn invalid_grant(description: &str) -> Response<Body> {
    response::oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// `POST /token`, with the request's headers and its form.
pub(super) fn exchange(shared: &Shared, headers: &HeaderMap, form: &Params) -> Response<Body> {
    if let Err(refused) = authenticate(shared, headers, form) {
        return refused.into_response();
    }
    match form.get("grant_type") {
        Some("authorization_code") => {}
        Some("client_credentials") => return client_credentials(shared, form),
        _ => {
            return response::oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or client_credentials",
            )
        }
    }
    let Ok(code) = form.require("code") else {
        return invalid_request("the parameter \"code\" is missing");
    };
    let Ok(access_token) = random_token() else {
        return response::internal_error();
    };
    let mut store = shared.store();
    let Some(grant) = store.code(code) else {
        return invalid_grant("the code is unknown or expired");
    };
    if let Some(issued) = grant.redeemed.take() {
        // A code used twice: revoke what the first use gave (RFC 6749 §4.1.2).
        store.revoke_token(&issued);
        return invalid_grant("the code was already used");
    }
    // Whatever happens next, this code is spent.
    grant.redeemed = Some(access_token.clone());
    if let Err(why) = check_code(grant, form) {
        return invalid_grant(why);
    }
    let user = grant.user.clone();
    let scope = grant.authorization.scope.clone();
    let claims = id_token_claims(shared, grant);
    if store.add_token(access_token.clone(), user).is_err() {
        return response::oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many tokens at once",
        );
    }
    drop(store);
    let Ok(id_token) = shared.key.sign_jwt(&claims) else {
        return response::internal_error();
    };
    response::json(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME.as_secs(),
            "scope": scope,
            "id_token": id_token,
        }),
    )
}

/// Why the client is not authenticated: `invalid_request` (400) or `invalid_client` (401).
enum Refused {
    Request(&'static str),
    Client(&'static str),
}

impl Refused {
    fn into_response(self) -> Response<Body> {
        match self {
            Refused::Request(why) => invalid_request(why),
            Refused::Client(why) => invalid_client(why),
        }
    }
}

/// RFC 6749 §2.3.1: the client's id and secret, in the `Authorization` header or in the
/// form, not both.
fn authenticate(shared: &Shared, headers: &HeaderMap, form: &Params) -> Result<(), Refused> {
    let basic = request::authorization(headers, "Basic").map_err(Refused::Request)?;
    let in_form = (form.get("client_id"), form.get("client_secret"));
    let (id, secret) = match (basic, in_form) {
        (Some(_), (_, Some(_))) => {
            return Err(Refused::Request(
                "the client authenticates in the header and in the form",
            ))
        }
        (Some(credentials), _) => request::decode_basic(credentials)
            .ok_or(Refused::Client("the Basic credentials are malformed"))?,
        (None, (Some(id), Some(secret))) => (id.to_owned(), secret.to_owned()),
        (None, _) => return Err(Refused::Client("the client did not authenticate")),
    };
    let known = constant_time_eq(id.as_bytes(), shared.client_id.as_bytes())
        & constant_time_eq(secret.as_bytes(), shared.client_secret.secret().as_bytes());
    if !known {
        return Err(Refused::Client("unknown client or wrong secret"));
    }
    if form.get("client_id").is_some_and(|form_id| form_id != id) {
        return Err(Refused::Request(
            "client_id differs from the authenticated client",
        ));
    }
    Ok(())
}

/// The token request must name the authorization's redirect URI and prove PKCE.
fn check_code(grant: &IssuedCode, form: &Params) -> Result<(), &'static str> {
    if form.get("redirect_uri") != Some(grant.authorization.redirect_uri.as_str()) {
        return Err("redirect_uri is not the authorization request's");
    }
    let verifier = form.get("code_verifier").unwrap_or("");
    // RFC 7636 §4.1: 43 to 128 unreserved characters.
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return Err("code_verifier is missing or malformed");
    }
    let challenge = pkce_challenge(verifier);
    if !constant_time_eq(
        challenge.as_bytes(),
        grant.authorization.code_challenge.as_bytes(),
    ) {
        return Err("code_verifier does not match the code_challenge");
    }
    Ok(())
}

fn id_token_claims(shared: &Shared, grant: &IssuedCode) -> Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let user = &grant.user;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(shared.issuer));
    claims.insert("aud".into(), json!(shared.client_id));
    claims.insert("sub".into(), json!(user.sub));
    claims.insert("name".into(), json!(user.name));
    claims.insert("email".into(), json!(user.email));
    // Nobody checked it; the dev provider says so to act like Google.
    claims.insert("email_verified".into(), json!(true));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + TOKEN_LIFETIME.as_secs()));
    if let Some(nonce) = &grant.authorization.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    // Each sign-in is a session of its own, named in its ID token, for back-channel logout.
    if let Ok(sid) = crate::state::random::random_token() {
        claims.insert("sid".into(), json!(sid));
    }
    Value::Object(claims)
}

/// The client credentials grant (RFC 6749 §4.4) for one resource (RFC 8707 §2: `resource`,
/// an absolute URI without a fragment, required here): an RFC 9068 access token, `typ`
/// `at+jwt`, for the client itself (`sub` and `client_id` its id), with the scopes asked for.
fn client_credentials(shared: &Shared, form: &Params) -> Response<Body> {
    let Some(resource) = form
        .get("resource")
        .filter(|r| url::Url::parse(r).is_ok_and(|url| url.fragment().is_none()))
    else {
        return response::oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource must be an absolute URI without a fragment",
        );
    };
    let scope = form.get("scope").unwrap_or("");
    let scope_ok = scope.split(' ').all(|s| {
        s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
    });
    if !scope_ok {
        return response::oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope must be space-separated scope tokens",
        );
    }
    let Ok(jti) = random_token() else {
        return response::internal_error();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut claims = json!({
        "iss": shared.issuer,
        "sub": shared.client_id,
        "aud": resource,
        "client_id": shared.client_id,
        "iat": now,
        "exp": now + TOKEN_LIFETIME.as_secs(),
        "jti": jti,
    });
    if !scope.is_empty() {
        claims["scope"] = json!(scope);
    }
    let Ok(access_token) = shared.key.sign_typed(&claims, "at+jwt") else {
        return response::internal_error();
    };
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME.as_secs(),
    });
    if !scope.is_empty() {
        answer["scope"] = json!(scope);
    }
    response::json(StatusCode::OK, &answer)
}
