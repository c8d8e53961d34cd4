//! "Sign in with GitHub": OAuth 2.0 with `state` and PKCE, the user from the REST API.

use http::header::{HeaderName, ACCEPT};
use http::HeaderValue;
use serde::Deserialize;
use url::Url;

use super::fields::{string_field, Numbers};
use crate::error::{AuthError, ConfigError};
use crate::oauth2::{AccessToken, Client, ClientAuth};
use crate::provider::config::CodeFlowConfig;
use crate::provider::{endpoint, Profile, ProviderContext, ProviderRequest};

const DEFAULT_WEB: &str = "https://github.com";
const DEFAULT_API: &str = "https://api.github.com";
/// The media type GitHub's REST API asks clients to accept.
const GITHUB_JSON: HeaderValue = HeaderValue::from_static("application/vnd.github+json");
/// The REST API version the responses are read as.
const API_VERSION: (HeaderName, HeaderValue) = (
    HeaderName::from_static("x-github-api-version"),
    HeaderValue::from_static("2022-11-28"),
);

/// GitHub sign-in (an OAuth app, or a GitHub app's user authorization), also for GitHub
/// Enterprise Server.
///
/// Answers at `/auth/github`. Sends `state` and PKCE (S256) with every login and asks for
/// `read:user user:email`. The identity's user id is GitHub's numeric account id (stable
/// across renames), its name the display name or else the login, and its email an address
/// `/user/emails` says is verified: the primary one, or else the first other verified one.
/// The public profile email of `/user` is never used: GitHub does not say it is verified.
/// Without the `user:email` scope (or with an app that may not read emails) the identity
/// has no email.
///
/// GitHub's token endpoint answers a refused code with status 200 and an `error` member;
/// that is `login_failed` (401) like any refusal.
///
/// Checked on 2026-12-06 against
/// <https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps>,
/// <https://docs.github.com/en/rest/users/users#get-the-authenticated-user> and
/// <https://docs.github.com/en/rest/users/emails#list-email-addresses-for-the-authenticated-user>.
///
/// ```
/// use socialauth::GitHub;
/// let github = GitHub::new("client-id", "client-secret");
/// let enterprise = GitHub::new("client-id", "client-secret")
///     .name("ghe")
///     .enterprise_base_url("https://ghe.example.com");
/// # let _ = (github, enterprise);
/// ```
#[derive(Debug, Clone)]
pub struct GitHub {
    config: CodeFlowConfig,
    web_base_url: String,
    api_base_url: String,
}

impl GitHub {
    /// A GitHub provider with the app's client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            config: CodeFlowConfig::new("github", client_id, client_secret, "read:user user:email"),
            web_base_url: DEFAULT_WEB.to_owned(),
            api_base_url: DEFAULT_API.to_owned(),
        }
    }

    /// GitHub Enterprise Server at `base`: logins at `{base}/login/oauth/...`, the API at
    /// `{base}/api/v3`.
    ///
    /// ```
    /// let ghe = socialauth::GitHub::new("id", "secret").enterprise_base_url("https://ghe.example.com");
    /// # let _ = ghe;
    /// ```
    pub fn enterprise_base_url(mut self, base: impl AsRef<str>) -> Self {
        let base = base.as_ref().trim_end_matches('/');
        self.web_base_url = base.to_owned();
        self.api_base_url = format!("{base}/api/v3");
        self
    }

    /// Where `login/oauth/authorize` and `login/oauth/access_token` live (default
    /// `https://github.com`). For tests and proxies.
    ///
    /// ```
    /// let github = socialauth::GitHub::new("id", "secret").web_base_url("http://127.0.0.1:9000");
    /// # let _ = github;
    /// ```
    pub fn web_base_url(mut self, base: impl AsRef<str>) -> Self {
        self.web_base_url = base.as_ref().trim_end_matches('/').to_owned();
        self
    }

    /// Where the REST API lives (default `https://api.github.com`). For tests and proxies.
    ///
    /// ```
    /// let github = socialauth::GitHub::new("id", "secret").api_base_url("http://127.0.0.1:9001");
    /// # let _ = github;
    /// ```
    pub fn api_base_url(mut self, base: impl AsRef<str>) -> Self {
        self.api_base_url = base.as_ref().trim_end_matches('/').to_owned();
        self
    }

    pub(super) fn build(self) -> Result<RestUser, ConfigError> {
        let web = &self.web_base_url;
        let api = &self.api_base_url;
        let user = endpoint("github api_base_url", &format!("{api}/user"))?;
        let emails = endpoint("github api_base_url", &format!("{api}/user/emails"))?;
        let client = self.config.client(
            ClientAuth::Post,
            format!("{web}/login/oauth/authorize"),
            format!("{web}/login/oauth/access_token"),
        )?;
        let name = self.config.name;
        Ok(RestUser {
            name,
            client,
            user,
            emails,
        })
    }
}

code_flow_setters!(GitHub.config, name: "github", scope: "read:user user:email",
    "Without `user:email`, the identity has no email.");

/// A checked GitHub provider: the user from the REST API's `/user`, the email from
/// `/user/emails`.
pub(super) struct RestUser {
    name: String,
    client: Client,
    user: Url,
    emails: Url,
}

impl RestUser {
    fn api<'a>(
        cx: &ProviderContext<'a>,
        url: &Url,
        endpoint: &'static str,
        token: &AccessToken,
    ) -> ProviderRequest<'a> {
        let (version, value) = API_VERSION;
        cx.http()
            .get(url.clone(), endpoint)
            .bearer(token)
            .header(ACCEPT, GITHUB_JSON)
            .header(version, value)
    }

    /// A verified address from `/user/emails`: the primary one, else the first verified.
    /// A 403 or 404 (the token lacks `user:email`) means no email, not a failed login.
    async fn verified_email(
        &self,
        cx: &ProviderContext<'_>,
        token: &AccessToken,
    ) -> Result<Option<String>, AuthError> {
        let reply = Self::api(cx, &self.emails, "github_emails", token)
            .send()
            .await?;
        let status = reply.status().as_u16();
        if matches!(status, 403 | 404) {
            tracing::debug!(status, "no access to the user's emails");
            return Ok(None);
        }
        if !reply.status().is_success() {
            tracing::warn!(status, "github emails endpoint failed");
            return Err(AuthError::provider(
                "the provider's profile endpoint failed",
            ));
        }
        Ok(pick_verified(reply.json()?))
    }
}

/// One address of `/user/emails`.
#[derive(Deserialize)]
struct Email {
    email: String,
    primary: bool,
    verified: bool,
}

/// The primary address if it is verified, else the first verified one.
fn pick_verified(emails: Vec<Email>) -> Option<String> {
    let (primary, others): (Vec<Email>, Vec<Email>) = emails
        .into_iter()
        .filter(|e| e.verified && !e.email.is_empty())
        .partition(|e| e.primary);
    primary.into_iter().chain(others).next().map(|e| e.email)
}

code_flow_provider!(RestUser, |github, cx, token| async move {
    let token = token.access_token();
    let user: serde_json::Value = RestUser::api(cx, &github.user, "github_user", token)
        .json()
        .await?;
    let user_id = string_field(&user, "/id", Numbers::Allowed)?
        .ok_or_else(|| AuthError::provider("the provider's profile has no user id"))?;
    let name = match string_field(&user, "/name", Numbers::Refused)? {
        Some(name) => Some(name),
        None => string_field(&user, "/login", Numbers::Refused)?,
    };
    let email = github.verified_email(cx, token).await?;
    Ok(Profile::new(user_id).name(name).verified_email(email))
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_verified_address_else_any_verified_one() {
        let email = |email: &str, primary, verified| Email {
            email: email.to_owned(),
            primary,
            verified,
        };
        let pick = |emails| pick_verified(emails).unwrap_or_default();
        assert_eq!(
            pick(vec![email("a@x", false, true), email("b@x", true, true)]),
            "b@x"
        );
        assert_eq!(
            pick(vec![email("p@x", true, false), email("v@x", false, true)]),
            "v@x"
        );
        assert_eq!(pick(vec![email("p@x", true, false)]), "");
        assert_eq!(pick(vec![email("", true, true)]), "");
    }

    #[test]
    fn enterprise_server_urls() {
        let ghe = GitHub::new("id", "secret")
            .enterprise_base_url("https://ghe.example.com/")
            .build()
            .unwrap();
        assert_eq!(
            ghe.client.authorize_url.as_str(),
            "https://ghe.example.com/login/oauth/authorize"
        );
        assert_eq!(ghe.user.as_str(), "https://ghe.example.com/api/v3/user");
        let public = GitHub::new("id", "secret").build().unwrap();
        assert_eq!(
            public.client.token_url.as_str(),
            "https://github.com/login/oauth/access_token"
        );
        assert_eq!(public.emails.as_str(), "https://api.github.com/user/emails");
    }
}
