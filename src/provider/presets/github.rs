//! "Sign in with GitHub": OAuth 2.0 with `state` and PKCE, the user from the REST API.

use http::header::{HeaderName, ACCEPT};
use http::HeaderValue;
use serde::Deserialize;
use url::Url;

use super::fields::{string_field, Numbers};
use crate::error::{AuthError, ConfigError};
use crate::oauth2::{AccessToken, Client, ClientAuth, CodeFlowProvider, TokenResponse};
use crate::provider::{endpoint, Profile, Provider, ProviderContext, ProviderRequest};
use crate::secret::Secret;

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
/// across renames), its name the display name or else the login, and its email the public
/// one, or else the primary verified address from `/user/emails`.
///
/// GitHub's token endpoint answers a refused code with status 200 and an `error` member;
/// that is `login_failed` (401) like any refusal.
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
    name: String,
    client_id: String,
    client_secret: Secret,
    scope: String,
    authorize_params: Vec<(String, String)>,
    web_base_url: String,
    api_base_url: String,
}

impl GitHub {
    /// A GitHub provider with the app's client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            name: "github".to_owned(),
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret),
            scope: "read:user user:email".to_owned(),
            authorize_params: Vec::new(),
            web_base_url: DEFAULT_WEB.to_owned(),
            api_base_url: DEFAULT_API.to_owned(),
        }
    }

    /// The route name (default `github`): the provider answers at `/auth/<name>`.
    ///
    /// ```
    /// let github = socialauth::GitHub::new("id", "secret").name("github-work");
    /// # let _ = github;
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The scopes asked for, space-separated (default `read:user user:email`). Without
    /// `user:email`, only a public email is known.
    ///
    /// ```
    /// let github = socialauth::GitHub::new("id", "secret").scope("read:user");
    /// # let _ = github;
    /// ```
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Adds a parameter to the authorization request, e.g. `allow_signup=false`.
    ///
    /// ```
    /// let github = socialauth::GitHub::new("id", "secret").authorize_param("allow_signup", "false");
    /// # let _ = github;
    /// ```
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.push((name.into(), value.into()));
        self
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

    fn build(self) -> Result<GitHubFlow, ConfigError> {
        let web = &self.web_base_url;
        let api = &self.api_base_url;
        let client = Client::builder(self.client_id, self.client_secret.expose())
            .authorize_url(format!("{web}/login/oauth/authorize"))
            .token_url(format!("{web}/login/oauth/access_token"))
            .scope(self.scope)
            .client_auth(ClientAuth::Post)
            .authorize_params(self.authorize_params)
            .build()?;
        Ok(GitHubFlow {
            name: self.name,
            client,
            user: endpoint("github api_base_url", &format!("{api}/user"))?,
            emails: endpoint("github api_base_url", &format!("{api}/user/emails"))?,
        })
    }
}

impl From<GitHub> for Provider {
    fn from(github: GitHub) -> Self {
        Provider::checked(github.build())
    }
}

/// A checked GitHub configuration.
struct GitHubFlow {
    name: String,
    client: Client,
    user: Url,
    emails: Url,
}

impl GitHubFlow {
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

    /// The primary verified address from `/user/emails`. A 403 or 404 (the token lacks
    /// `user:email`) means no email, not a failed login.
    async fn primary_email(
        &self,
        cx: &ProviderContext<'_>,
        token: &AccessToken,
    ) -> Result<Option<String>, AuthError> {
        #[derive(Deserialize)]
        struct Email {
            email: String,
            primary: bool,
            verified: bool,
        }
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
        let emails: Vec<Email> = reply.json()?;
        Ok(emails
            .into_iter()
            .find(|e| e.primary && e.verified && !e.email.is_empty())
            .map(|e| e.email))
    }
}

impl CodeFlowProvider for GitHubFlow {
    fn name(&self) -> &str {
        &self.name
    }

    fn client(&self) -> &Client {
        &self.client
    }

    async fn profile(
        &self,
        cx: &ProviderContext<'_>,
        token: &TokenResponse,
    ) -> Result<Profile, AuthError> {
        let token = token.access_token();
        let user: serde_json::Value = Self::api(cx, &self.user, "github_user", token)
            .json()
            .await?;
        let user_id = string_field(&user, "/id", Numbers::Allowed)?
            .ok_or_else(|| AuthError::provider("the provider's profile has no user id"))?;
        let name = match string_field(&user, "/name", Numbers::Refused)? {
            Some(name) => Some(name),
            None => string_field(&user, "/login", Numbers::Refused)?,
        };
        let email = match string_field(&user, "/email", Numbers::Refused)? {
            Some(email) => Some(email),
            None => self.primary_email(cx, token).await?,
        };
        Ok(Profile::new(user_id).name(name).verified_email(email))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", GitHub::new("id", "hunter2"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
