//! A strict fake of Discord's OAuth 2.0 and `GET /api/users/@me`: `/oauth2/authorize`
//! (client id, redirect URI, `state`, S256 PKCE), `/api/oauth2/token` (HTTP Basic client
//! authentication, single-use code, byte-equal `redirect_uri`, PKCE) and `/api/users/@me`
//! (bearer token; `email` and `verified` only with the `email` scope). Refusals are
//! Discord's: 400 `invalid_grant` for a bad code, 401 `invalid_client` for wrong client
//! credentials.

use serde_json::{json, Value};

use super::harness::{self, Fake, Grant, Reject, TokenRefusal, UserApi};
use super::server;

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

pub type FakeDiscord = Fake<DiscordConfig>;

pub async fn start(cfg: DiscordConfig) -> FakeDiscord {
    harness::start(cfg).await
}

impl UserApi for DiscordConfig {
    const PATHS: [&'static str; 3] = ["/oauth2/authorize", "/api/oauth2/token", "/api/users/@me"];

    fn client(&self) -> (&str, &str) {
        (&self.client_id, &self.client_secret)
    }

    fn error(status: u16) -> Value {
        let reason = http::StatusCode::from_u16(status).map(|s| s.canonical_reason());
        json!({"message": format!("{status}: {}", reason.ok().flatten().unwrap_or("")), "code": 0})
    }

    fn token_refusal(refusal: TokenRefusal) -> Reject {
        let (status, code, why) = match refusal {
            TokenRefusal::Client(_, why) => (401, "invalid_client", why),
            TokenRefusal::GrantType => (400, "unsupported_grant_type", "bad grant_type".into()),
            TokenRefusal::Code(_) | TokenRefusal::Pkce => {
                (400, "invalid_grant", "Invalid \"code\" in request.".into())
            }
        };
        harness::oauth_error(status, code, why)
    }

    fn token_response(access_token: &str, grant: &Grant) -> Value {
        json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 604800,
               "refresh_token": server::random_token("dr-", 16), "scope": grant.scope})
    }

    /// `email` and `verified` only with the `email` scope.
    fn user(&self, scopes: &str, _query: &[(String, String)]) -> Value {
        let mut user = json!({"id": self.user_id, "username": self.username,
                              "global_name": self.global_name, "discriminator": "0"});
        if scopes.split(' ').any(|s| s == "email") {
            user["email"] = json!(self.email);
            user["verified"] = json!(self.verified);
        }
        user
    }
}
