//! A strict fake of X's OAuth 2.0 and `GET /2/users/me`, web and API on one base URL:
//! `/i/oauth2/authorize` (client id, redirect URI, `state`, S256 PKCE, the scopes
//! `users.read tweet.read`), `/2/oauth2/token` (a confidential client authenticates with
//! HTTP Basic only, as X requires; single-use code, byte-equal `redirect_uri`, PKCE) and
//! `/2/users/me` (bearer token; `confirmed_email` only with `user.fields=confirmed_email`
//! and the `users.email` scope). Refusals are X's: 400 `invalid_request` for a bad code,
//! 401 `unauthorized_client` for wrong client credentials.

use serde_json::{json, Value};

use super::harness::{self, Fake, Grant, Reject, TokenRefusal, UserApi};
use super::server;

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

pub type FakeX = Fake<XConfig>;

pub async fn start(cfg: XConfig) -> FakeX {
    harness::start(cfg).await
}

impl UserApi for XConfig {
    const PATHS: [&'static str; 3] = ["/i/oauth2/authorize", "/2/oauth2/token", "/2/users/me"];

    fn client(&self) -> (&str, &str) {
        (&self.client_id, &self.client_secret)
    }

    fn error(status: u16) -> Value {
        let title = if status == 404 {
            "Not Found Error"
        } else {
            "Unauthorized"
        };
        json!({"title": title, "status": status})
    }

    fn refuse_authorization(grant: &Grant) -> Option<&'static str> {
        let scopes: Vec<&str> = grant.scope.split(' ').collect();
        let readable = scopes.contains(&"users.read") && scopes.contains(&"tweet.read");
        (!readable).then_some("users/me needs users.read and tweet.read")
    }

    fn token_refusal(refusal: TokenRefusal) -> Reject {
        match refusal {
            TokenRefusal::Client(_, why) => harness::oauth_error(401, "unauthorized_client", why),
            TokenRefusal::GrantType => {
                harness::oauth_error(400, "invalid_request", "bad grant_type")
            }
            TokenRefusal::Code(_) | TokenRefusal::Pkce => harness::oauth_error(
                400,
                "invalid_request",
                "Value passed for the authorization code was invalid.",
            ),
        }
    }

    fn token_response(access_token: &str, grant: &Grant) -> Value {
        json!({"token_type": "bearer", "expires_in": 7200, "access_token": access_token,
               "scope": grant.scope})
    }

    /// `confirmed_email` only when asked for in `user.fields` and granted by `users.email`.
    fn user(&self, scopes: &str, query: &[(String, String)]) -> Value {
        let mut data = json!({"id": self.user_id, "name": self.name, "username": self.username});
        let wants_email = server::param(query, "user.fields")
            .is_some_and(|fields| fields.split(',').any(|f| f == "confirmed_email"));
        if wants_email && scopes.split(' ').any(|s| s == "users.email") {
            data["confirmed_email"] = json!(self.email);
        }
        json!({"data": data})
    }
}
