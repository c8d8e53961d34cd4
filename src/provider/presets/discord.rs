//! "Log in with Discord": OAuth 2.0 with `state` and PKCE, the user from `/api/users/@me`.

use serde::Deserialize;
use url::Url;

use super::bearer_json;
use crate::error::{AuthError, ConfigError};
use crate::oauth2::{Client, ClientAuth};
use crate::provider::config::CodeFlowConfig;
use crate::provider::{endpoint, Profile};

const DEFAULT_BASE: &str = "https://discord.com";

/// Discord login over OAuth 2.0.
///
/// Answers at `/auth/discord`. Sends `state` and PKCE (S256) to
/// `https://discord.com/oauth2/authorize` asking for `identify email`, exchanges the code at
/// `https://discord.com/api/oauth2/token` (HTTP Basic client authentication), and reads
/// `GET https://discord.com/api/users/@me`: the user id is Discord's snowflake `id`, the
/// name `global_name` (or else `username`), and the email only when Discord says it is
/// `verified`.
///
/// Set-up at Discord: in the developer portal, create an application; under "OAuth2", copy
/// the client id and reset the client secret, and add the redirect
/// `https://<your host>/auth/discord`.
///
/// Checked on 2026-12-06 against <https://discord.com/developers/docs/topics/oauth2> and
/// <https://discord.com/developers/docs/resources/user#get-current-user>.
///
/// ```
/// use socialauth::Discord;
/// let discord = Discord::new("client-id", "client-secret").scope("identify");
/// # let _ = discord;
/// ```
#[derive(Debug, Clone)]
pub struct Discord {
    config: CodeFlowConfig,
    base_url: String,
}

impl Discord {
    /// A Discord provider with the application's client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            config: CodeFlowConfig::new("discord", client_id, client_secret, "identify email"),
            base_url: DEFAULT_BASE.to_owned(),
        }
    }

    setters! {
        /// Where Discord lives (default `https://discord.com`). For tests.
        base_url => base_url: String;
    }

    pub(super) fn build(self) -> Result<UsersMe, ConfigError> {
        let base = self.base_url.trim_end_matches('/');
        let me = endpoint("discord base_url", &format!("{base}/api/users/@me"))?;
        let client = self.config.client(
            ClientAuth::Basic,
            format!("{base}/oauth2/authorize"),
            format!("{base}/api/oauth2/token"),
        )?;
        let name = self.config.name;
        Ok(UsersMe { name, client, me })
    }
}

code_flow_setters!(Discord.config, name: "discord", scope: "identify email",
    "Without `email`, no email is known.");

/// A checked Discord provider: the user from `GET /api/users/@me`.
pub(super) struct UsersMe {
    name: String,
    client: Client,
    me: Url,
}

/// Discord's `/api/users/@me`, as far as it is read.
#[derive(Deserialize)]
struct User {
    id: String,
    username: Option<String>,
    global_name: Option<String>,
    email: Option<String>,
    verified: Option<bool>,
}

code_flow_provider!(UsersMe, |discord, cx, token| async move {
    let user: User = bearer_json(cx, &discord.me, "discord_users_me", token).await?;
    if user.id.is_empty() {
        return Err(AuthError::provider("the provider's profile has no user id"));
    }
    let name = user.global_name.filter(|n| !n.is_empty()).or(user.username);
    let email = user.email.filter(|_| user.verified == Some(true));
    Ok(Profile::new(user.id).name(name).verified_email(email))
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_endpoints_and_scopes() {
        let discord = Discord::new("id", "secret").build().unwrap();
        assert_eq!(
            discord.client.authorize_url.as_str(),
            "https://discord.com/oauth2/authorize"
        );
        assert_eq!(
            discord.client.token_url.as_str(),
            "https://discord.com/api/oauth2/token"
        );
        assert_eq!(discord.client.scope, "identify email");
        assert_eq!(discord.me.as_str(), "https://discord.com/api/users/@me");
    }
}
