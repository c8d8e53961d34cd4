//! A strict fake of Discord's OAuth 2.0 and `GET /api/users/@me`: `/oauth2/authorize`
//! (client id, redirect URI, `state`, S256 PKCE), `/api/oauth2/token` (HTTP Basic client
//! authentication, single-use code, byte-equal `redirect_uri`, PKCE) and `/api/users/@me`
//! (bearer token; `email` and `verified` only with the `email` scope). Refusals are
//! Discord's: 400 `invalid_grant` for a bad code, 401 `invalid_client` for wrong client
//! credentials.

use std::collections::HashMap;

use http::request::Parts;
use http::{Method, Response};
use serde_json::json;

use super::harness::{self, Fake, Provider, Reject, TokenAuth, TokenRefusal};
use super::server::{self, FakeBody};

#[derive(Clone, Debug)]
pub struct DiscordConfig {
    pub client_id: String,
    pub client_secret: String,
    pub user_id: String,
    pub username: String,
    pub global_name: Option<String>,
    pub email: String,
    pub verified: bool,
}

impl DiscordConfig {
    /// `discord-client` / `discord secret`, user 80351110224678912 `nelly` "Nelly",
    /// verified email.
    pub fn new() -> Self {
        DiscordConfig {
            client_id: "discord-client".into(),
            client_secret: "discord secret".into(),
            user_id: "80351110224678912".into(),
            username: "nelly".into(),
            global_name: Some("Nelly".into()),
            email: "nelly@discord.example".into(),
            verified: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Authorize,
    Token,
    Me,
}

pub type FakeDiscord = Fake<DiscordConfig>;

#[derive(Default)]
pub struct State {
    /// access token -> granted scopes
    tokens: HashMap<String, String>,
}

pub async fn start(cfg: DiscordConfig) -> FakeDiscord {
    harness::start(cfg).await
}

impl Provider for DiscordConfig {
    type Endpoint = Endpoint;
    type State = State;
    const AUTHORIZE: Endpoint = Endpoint::Authorize;

    fn route(&self, path: &str) -> Option<Endpoint> {
        Some(match path {
            "/oauth2/authorize" => Endpoint::Authorize,
            "/api/oauth2/token" => Endpoint::Token,
            "/api/users/@me" => Endpoint::Me,
            _ => return None,
        })
    }

    fn not_found(&self, _path: &str) -> Response<FakeBody> {
        server::json(404, &json!({"message": "404: Not Found", "code": 0}))
    }

    fn answer(
        fake: &FakeDiscord,
        endpoint: Endpoint,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Response<FakeBody>, Reject> {
        match (endpoint, &parts.method) {
            (Endpoint::Authorize, &Method::GET) => {
                let query = server::query_pairs(&parts.uri);
                let grant = harness::authorization(&query, &fake.config().client_id, 8)
                    .map_err(Reject::page)?;
                let location = fake.consent(grant, &[("error", "access_denied")], &[]);
                Ok(server::redirect(&location))
            }
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

fn token(fake: &FakeDiscord, parts: &Parts, body: &[u8]) -> Result<Response<FakeBody>, Reject> {
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
        TokenRefusal::Client(_, why) => harness::oauth_error(401, "invalid_client", why),
        TokenRefusal::GrantType => {
            harness::oauth_error(400, "unsupported_grant_type", "bad grant_type")
        }
        TokenRefusal::Code(_) | TokenRefusal::Pkce => {
            harness::oauth_error(400, "invalid_grant", "Invalid \"code\" in request.")
        }
    })?;
    let access_token = server::random_token("dc-", 16);
    fake.state()
        .tokens
        .insert(access_token.clone(), grant.scope.clone());
    Ok(server::json(
        200,
        &json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 604800,
                "refresh_token": server::random_token("dr-", 16), "scope": grant.scope}),
    ))
}

fn me(fake: &FakeDiscord, parts: &Parts) -> Result<Response<FakeBody>, Reject> {
    let unauthorized = || {
        Reject::new(
            "bad bearer token",
            server::json(401, &json!({"message": "401: Unauthorized", "code": 0})),
        )
    };
    let token = harness::authorization_value(parts, "Bearer").ok_or_else(unauthorized)?;
    let scopes = fake.state().tokens.get(token).cloned();
    let scopes = scopes.ok_or_else(unauthorized)?;
    let cfg = fake.config();
    let mut user = json!({"id": cfg.user_id, "username": cfg.username,
                          "global_name": cfg.global_name, "discriminator": "0"});
    if scopes.split(' ').any(|s| s == "email") {
        user["email"] = json!(cfg.email);
        user["verified"] = json!(cfg.verified);
    }
    Ok(server::json(200, &user))
}
