//! A strict fake of X's OAuth 2.0 and `GET /2/users/me`, web and API on one base URL:
//! `/i/oauth2/authorize` (client id, redirect URI, `state`, S256 PKCE, the scopes
//! `users.read tweet.read`), `/2/oauth2/token` (a confidential client authenticates with
//! HTTP Basic only, as X requires; single-use code, byte-equal `redirect_uri`, PKCE) and
//! `/2/users/me` (bearer token; `confirmed_email` only with `user.fields=confirmed_email`
//! and the `users.email` scope). Refusals are X's: 400 `invalid_request` for a bad code,
//! 401 `unauthorized_client` for wrong client credentials.

use std::collections::HashMap;

use http::request::Parts;
use http::{Method, Response};
use serde_json::json;

use super::harness::{self, Fake, Provider, Reject, TokenAuth, TokenRefusal};
use super::server::{self, FakeBody};

#[derive(Clone, Debug)]
pub struct XConfig {
    pub client_id: String,
    pub client_secret: String,
    pub user_id: String,
    pub name: String,
    pub username: String,
    pub email: String,
}

impl XConfig {
    /// `x-client-id` / `x-client secret`, user 2244994945 "X Dev" `@XDevelopers`.
    pub fn new() -> Self {
        XConfig {
            client_id: "x-client-id".into(),
            client_secret: "x-client secret".into(),
            user_id: "2244994945".into(),
            name: "X Dev".into(),
            username: "XDevelopers".into(),
            email: "dev@x.example".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Authorize,
    Token,
    Me,
}

pub type FakeX = Fake<XConfig>;

#[derive(Default)]
pub struct State {
    /// access token -> granted scopes
    tokens: HashMap<String, String>,
}

pub async fn start(cfg: XConfig) -> FakeX {
    harness::start(cfg).await
}

impl Provider for XConfig {
    type Endpoint = Endpoint;
    type State = State;
    const AUTHORIZE: Endpoint = Endpoint::Authorize;

    fn route(&self, path: &str) -> Option<Endpoint> {
        Some(match path {
            "/i/oauth2/authorize" => Endpoint::Authorize,
            "/2/oauth2/token" => Endpoint::Token,
            "/2/users/me" => Endpoint::Me,
            _ => return None,
        })
    }

    fn not_found(&self, _path: &str) -> Response<FakeBody> {
        server::json(404, &json!({"title": "Not Found Error", "status": 404}))
    }

    fn answer(
        fake: &FakeX,
        endpoint: Endpoint,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Response<FakeBody>, Reject> {
        match (endpoint, &parts.method) {
            (Endpoint::Authorize, &Method::GET) => authorize(fake, parts),
            (Endpoint::Token, &Method::POST) if server::is_form(&parts.headers) => {
                token(fake, parts, body)
            }
            (Endpoint::Me, &Method::GET) => me(fake, parts),
            (_, method) => Err(harness::oauth_error(
                405,
                "invalid_request",
                format!("{method} not allowed"),
            )),
        }
    }
}

fn authorize(fake: &FakeX, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let query = server::query_pairs(&parts.uri);
    let grant =
        harness::authorization(&query, &fake.config().client_id, 8).map_err(Reject::page)?;
    let scopes: Vec<&str> = grant.scope.split(' ').collect();
    if !scopes.contains(&"users.read") || !scopes.contains(&"tweet.read") {
        return Err(Reject::page("users/me needs users.read and tweet.read"));
    }
    let location = fake.consent(grant, &[("error", "access_denied")], &[]);
    Ok(server::redirect(&location))
}

fn token(fake: &FakeX, parts: &Parts, body: &[u8]) -> Result<Response<FakeBody>, Reject> {
    let cfg = fake.config();
    let form = server::form_pairs(body);
    let exchanged = fake.exchange_code(
        parts,
        &form,
        TokenAuth::Basic,
        &cfg.client_id,
        &cfg.client_secret,
    );
    let grant = exchanged.map_err(|refusal| match refusal {
        TokenRefusal::Client(_, why) => harness::oauth_error(401, "unauthorized_client", why),
        TokenRefusal::GrantType => harness::oauth_error(400, "invalid_request", "bad grant_type"),
        TokenRefusal::Code(_) | TokenRefusal::Pkce => harness::oauth_error(
            400,
            "invalid_request",
            "Value passed for the authorization code was invalid.",
        ),
    })?;
    let access_token = server::random_token("x-at-", 16);
    fake.state()
        .tokens
        .insert(access_token.clone(), grant.scope.clone());
    Ok(server::json(
        200,
        &json!({"token_type": "bearer", "expires_in": 7200, "access_token": access_token,
                "scope": grant.scope}),
    ))
}

fn me(fake: &FakeX, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let unauthorized = || {
        Reject::new(
            "bad bearer token",
            server::json(401, &json!({"title": "Unauthorized", "status": 401})),
        )
    };
    let token = harness::authorization_value(parts, "Bearer").ok_or_else(unauthorized)?;
    let scopes = fake.state().tokens.get(token).cloned();
    let scopes = scopes.ok_or_else(unauthorized)?;
    let cfg = fake.config();
    let mut data = json!({"id": cfg.user_id, "name": cfg.name, "username": cfg.username});
    let query = server::query_pairs(&parts.uri);
    let wants_email = server::param(&query, "user.fields")
        .is_some_and(|fields| fields.split(',').any(|f| f == "confirmed_email"));
    if wants_email && scopes.split(' ').any(|s| s == "users.email") {
        data["confirmed_email"] = json!(cfg.email);
    }
    Ok(server::json(200, &json!({"data": data})))
}
