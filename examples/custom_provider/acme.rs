//! "Sign in with Acme": a provider the crate does not ship, written by the app on the public
//! `CodeFlowProvider` trait. The layer runs the OAuth 2.0 flow (state, PKCE, the token
//! request, every error); the app gives the endpoints and turns Acme's JSON into a profile.

use serde::Deserialize;
use socialauth::oauth2::{Client, ClientAuth, CodeFlowProvider, TokenResponse};
use socialauth::provider::{endpoint, Profile, ProviderContext};
use socialauth::{AuthError, ConfigError};
use url::Url;

/// Acme's OAuth 2.0 service at `base_url`: `/oauth/authorize`, `/oauth/token`, `/api/me`.
pub struct Acme {
    client: Client,
    me: Url,
}

impl Acme {
    pub fn new(base_url: &str, client_id: &str, client_secret: &str) -> Result<Self, ConfigError> {
        let client = Client::builder(client_id, client_secret)
            .authorize_url(format!("{base_url}/oauth/authorize"))
            .token_url(format!("{base_url}/oauth/token"))
            .scope("profile")
            .client_auth(ClientAuth::Basic)
            .build()?;
        let me = endpoint("acme me", &format!("{base_url}/api/me"))?;
        Ok(Self { client, me })
    }
}

/// Acme's own profile shape: `{"user": {"number": 7, "handle": "ada", ...}}`.
#[derive(Deserialize)]
struct Me {
    user: AcmeUser,
}

#[derive(Deserialize)]
struct AcmeUser {
    number: u64,
    handle: String,
    display_name: Option<String>,
    email: Option<String>,
    email_confirmed: bool,
}

impl CodeFlowProvider for Acme {
    fn name(&self) -> &str {
        "acme"
    }

    fn client(&self) -> &Client {
        &self.client
    }

    async fn profile(
        &self,
        cx: &ProviderContext<'_>,
        token: &TokenResponse,
    ) -> Result<Profile, AuthError> {
        let Me { user } = cx
            .http()
            .get_json(self.me.clone(), token.access_token())
            .await?;
        let email = user.email.filter(|_| user.email_confirmed);
        Ok(Profile::new(user.number.to_string())
            .name(Some(user.display_name.unwrap_or(user.handle)))
            .verified_email(email))
    }
}
