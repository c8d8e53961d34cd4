//! "Sign in with X": OAuth 2.0 with PKCE and a confidential client, the user from
//! `GET /2/users/me`.

use serde::Deserialize;
use url::Url;

use super::bearer_json;
use crate::error::{AuthError, ConfigError};
use crate::oauth2::{Client, ClientAuth};
use crate::provider::config::CodeFlowConfig;
use crate::provider::{endpoint, Profile};

const DEFAULT_WEB: &str = "https://x.com";
const DEFAULT_API: &str = "https://api.x.com";
const SCOPE: &str = "users.read tweet.read";

/// X (formerly Twitter) sign-in over OAuth 2.0, for new apps. [`Twitter`](crate::Twitter)
/// is the OAuth 1.0a login, for apps registered with a consumer key.
///
/// Answers at `/auth/x`. Sends `state` and PKCE (S256, which X requires) to
/// `https://x.com/i/oauth2/authorize`, exchanges the code at
/// `https://api.x.com/2/oauth2/token` with HTTP Basic client authentication, and reads
/// `GET https://api.x.com/2/users/me`: the user id is `data.id`, the name `data.name` (or
/// else `data.username`). With [`include_email`](Self::include_email), the scope adds
/// `users.email` and the identity carries X's `confirmed_email`.
///
/// Set-up at X: in the developer portal, open the app's "User authentication settings",
/// choose OAuth 2.0 with type "Web App" (a confidential client), and add the callback URL
/// `https://<your host>/auth/x`. The OAuth 2.0 client id and client secret are given on the
/// "Keys and tokens" page.
///
/// Checked on 2026-12-06 against
/// <https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token> and
/// <https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code>.
///
/// ```
/// use socialauth::X;
/// let x = X::new("client-id", "client-secret").include_email();
/// # let _ = x;
/// ```
#[derive(Debug, Clone)]
pub struct X {
    config: CodeFlowConfig,
    include_email: bool,
    web_base_url: String,
    api_base_url: String,
}

impl X {
    /// An X provider with the app's OAuth 2.0 client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            config: CodeFlowConfig::new("x", client_id, client_secret, SCOPE),
            include_email: false,
            web_base_url: DEFAULT_WEB.to_owned(),
            api_base_url: DEFAULT_API.to_owned(),
        }
    }

    /// Asks for the user's email (`users.email` is added to the scope) and reads X's
    /// `confirmed_email`. The app must have "Request email from users" turned on at X.
    ///
    /// ```
    /// let x = socialauth::X::new("id", "secret").include_email();
    /// # let _ = x;
    /// ```
    pub fn include_email(mut self) -> Self {
        self.include_email = true;
        self
    }

    setters! {
        /// Where `i/oauth2/authorize` lives (default `https://x.com`). For tests.
        web_base_url => web_base_url: String;

        /// Where the token endpoint and `/2/users/me` live (default `https://api.x.com`).
        /// For tests.
        api_base_url => api_base_url: String;
    }

    pub(super) fn build(mut self) -> Result<UsersMe, ConfigError> {
        if self.include_email && !self.config.scope.split(' ').any(|s| s == "users.email") {
            self.config.scope.push_str(" users.email");
        }
        let web = self.web_base_url.trim_end_matches('/');
        let api = self.api_base_url.trim_end_matches('/');
        let mut me = endpoint("x api_base_url", &format!("{api}/2/users/me"))?;
        if self.include_email {
            me.query_pairs_mut()
                .append_pair("user.fields", "confirmed_email");
        }
        let client = self.config.client(
            ClientAuth::Basic,
            format!("{web}/i/oauth2/authorize"),
            format!("{api}/2/oauth2/token"),
        )?;
        let name = self.config.name;
        Ok(UsersMe { name, client, me })
    }
}

code_flow_setters!(X.config, name: "x", scope: "users.read tweet.read",
    "`users.read` and `tweet.read` are both needed to read `/2/users/me`.");

/// A checked X provider: the user from `GET /2/users/me`.
pub(super) struct UsersMe {
    name: String,
    client: Client,
    me: Url,
}

#[derive(Deserialize)]
struct Me {
    data: User,
}

#[derive(Deserialize)]
struct User {
    id: String,
    name: Option<String>,
    username: Option<String>,
    confirmed_email: Option<String>,
}

code_flow_provider!(UsersMe, |x, cx, token| async move {
    let me: Me = bearer_json(cx, &x.me, "x_users_me", token).await?;
    let user = me.data;
    if user.id.is_empty() {
        return Err(AuthError::provider("the provider's profile has no user id"));
    }
    let name = user.name.filter(|n| !n.is_empty()).or(user.username);
    Ok(Profile::new(user.id)
        .name(name)
        .verified_email(user.confirmed_email))
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_endpoints_and_scopes() {
        let x = X::new("id", "secret").build().unwrap();
        assert_eq!(
            x.client.authorize_url.as_str(),
            "https://x.com/i/oauth2/authorize"
        );
        assert_eq!(
            x.client.token_url.as_str(),
            "https://api.x.com/2/oauth2/token"
        );
        assert_eq!(x.client.auth, ClientAuth::Basic);
        assert_eq!(x.client.scope, "users.read tweet.read");
        assert_eq!(x.me.as_str(), "https://api.x.com/2/users/me");
        let with_email = X::new("id", "secret").include_email().build().unwrap();
        assert_eq!(with_email.client.scope, "users.read tweet.read users.email");
        assert_eq!(
            with_email.me.as_str(),
            "https://api.x.com/2/users/me?user.fields=confirmed_email"
        );
    }
}
