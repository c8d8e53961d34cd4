//! "Sign in with GitHub": OAuth 2.0 with `state` and PKCE, the user from the REST API.

use serde::Deserialize;

use super::generic::{string_field, Numbers};
use super::oauth2::{self, check_authorize_params, check_client_id, ClientAuth};
use super::oauth2::{AuthorizeRequest, TokenRequest};
use super::{
    check_name, checked_endpoint, endpoint, BoxFuture, CallbackKey, CallbackParams, FlowContext,
    Profile, Provider, ProviderFlow, Started,
};
use crate::error::{AuthError, ConfigError};
use crate::flow::FlowState;
use crate::secret::Secret;

const DEFAULT_WEB: &str = "https://github.com";
const DEFAULT_API: &str = "https://api.github.com";
/// The media type GitHub's REST API asks clients to accept.
const GITHUB_JSON: &str = "application/vnd.github+json";
/// The REST API version the responses are read as.
const API_VERSION: (&str, &str) = ("x-github-api-version", "2022-11-28");

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

    fn web_url(&self, path: &str) -> String {
        format!("{}/{path}", self.web_base_url)
    }

    fn api_url(&self, path: &str) -> String {
        format!("{}/{path}", self.api_base_url)
    }

    async fn complete(
        &self,
        cx: FlowContext<'_>,
        params: &CallbackParams,
        flow: FlowState,
    ) -> Result<Profile, AuthError> {
        let code = params.require("code", "the callback has no code")?;
        let access = TokenRequest {
            token_url: checked_endpoint(
                "github token url",
                &self.web_url("login/oauth/access_token"),
            )?,
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            redirect_uri: cx.callback_url,
            code,
            verifier: &flow.secret,
        }
        .exchange_with(cx.outbound, ClientAuth::Post)
        .await?;
        let user = oauth2::get_json(
            cx.outbound,
            checked_endpoint("github api url", &self.api_url("user"))?,
            &access.token,
            GITHUB_JSON,
            &[API_VERSION],
            "github_user",
        )
        .await?;
        let user_id = string_field(&user, "/id", Numbers::Allowed)?
            .ok_or_else(|| AuthError::provider("the provider's profile has no user id"))?;
        let name = match string_field(&user, "/name", Numbers::Refused)? {
            Some(name) => Some(name),
            None => string_field(&user, "/login", Numbers::Refused)?,
        };
        let email = match string_field(&user, "/email", Numbers::Refused)? {
            Some(email) => Some(email),
            None => self.primary_email(cx, &access.token).await?,
        };
        Ok(Profile {
            user_id,
            name,
            email,
        })
    }

    /// The primary verified address from `/user/emails`. A 403 or 404 (the token lacks
    /// `user:email`) means no email, not a failed login.
    async fn primary_email(
        &self,
        cx: FlowContext<'_>,
        token: &Secret,
    ) -> Result<Option<String>, AuthError> {
        #[derive(Deserialize)]
        struct Email {
            email: String,
            primary: bool,
            verified: bool,
        }
        let reply = oauth2::get(
            cx.outbound,
            checked_endpoint("github api url", &self.api_url("user/emails"))?,
            token,
            GITHUB_JSON,
            &[API_VERSION],
            "github_emails",
        )
        .await?;
        if matches!(reply.status.as_u16(), 403 | 404) {
            tracing::debug!(
                status = reply.status.as_u16(),
                "no access to the user's emails"
            );
            return Ok(None);
        }
        if !reply.status.is_success() {
            tracing::warn!(
                status = reply.status.as_u16(),
                "github emails endpoint failed"
            );
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

impl ProviderFlow for GitHub {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> Result<(), ConfigError> {
        check_name(&self.name)?;
        check_client_id("github client_id", &self.client_id)?;
        endpoint(
            "github web_base_url",
            &self.web_url("login/oauth/authorize"),
        )?;
        endpoint("github api_base_url", &self.api_url("user"))?;
        check_authorize_params("github authorize_param", &self.authorize_params)
    }

    fn start<'a>(&'a self, cx: FlowContext<'a>) -> BoxFuture<'a, Result<Started, AuthError>> {
        Box::pin(async move {
            AuthorizeRequest {
                authorize_url: checked_endpoint(
                    "github authorize url",
                    &self.web_url("login/oauth/authorize"),
                )?,
                client_id: &self.client_id,
                redirect_uri: cx.callback_url,
                scope: &self.scope,
            }
            .start_with(&self.authorize_params, false)
        })
    }

    fn callback_key<'q>(&self, params: &'q CallbackParams) -> Result<CallbackKey<'q>, AuthError> {
        oauth2::callback_key(params)
    }

    fn finish<'a>(
        &'a self,
        cx: FlowContext<'a>,
        params: &'a CallbackParams,
        flow: FlowState,
    ) -> BoxFuture<'a, Result<Profile, AuthError>> {
        Box::pin(self.complete(cx, params, flow))
    }
}

impl From<GitHub> for Provider {
    fn from(github: GitHub) -> Self {
        Provider {
            flow: std::sync::Arc::new(github),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_server_urls() {
        let ghe = GitHub::new("id", "secret").enterprise_base_url("https://ghe.example.com/");
        assert_eq!(
            ghe.web_url("login/oauth/authorize"),
            "https://ghe.example.com/login/oauth/authorize"
        );
        assert_eq!(ghe.api_url("user"), "https://ghe.example.com/api/v3/user");
        let public = GitHub::new("id", "secret");
        assert_eq!(
            public.web_url("login/oauth/access_token"),
            "https://github.com/login/oauth/access_token"
        );
        assert_eq!(
            public.api_url("user/emails"),
            "https://api.github.com/user/emails"
        );
        assert!(public.check().is_ok());
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", GitHub::new("id", "hunter2"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
