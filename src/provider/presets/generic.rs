//! [`OAuth2`]: any OAuth 2.0 provider with an authorization endpoint, a token endpoint and a
//! JSON userinfo endpoint, configured by hand.

use serde_json::Value;
use url::Url;

use super::fields::{check_pointer, string_field, Numbers};
use crate::error::{AuthError, ConfigError};
use crate::oauth2::{required_url, Client, ClientAuth, CodeFlowProvider, TokenResponse};
use crate::provider::{Profile, Provider, ProviderContext};
use crate::secret::Secret;

/// A generic OAuth 2.0 provider: authorization code with `state` and PKCE (S256), then the
/// user from a JSON userinfo endpoint.
///
/// Answers at `/auth/<name>`. The three endpoints are required. The user id, name and email
/// are read from the userinfo JSON with [JSON pointers](https://www.rfc-editor.org/rfc/rfc6901)
/// (default `/id`, `/name`, `/email`); a numeric id becomes its decimal string, and a field
/// of another JSON type than expected (an object where the email should be) fails the login
/// with `provider_error` (502) rather than being skipped.
///
/// The token endpoint answers JSON. An `error` member in it is the provider refusing the
/// code, `login_failed` (401), even with status 200; a 5xx, HTML or garbage is
/// `provider_error` (502). The userinfo endpoint is called with `Authorization: Bearer` and
/// `Accept: application/json`.
///
/// ```
/// use socialauth::{ClientAuth, OAuth2};
/// let gitlab = OAuth2::new("gitlab", "client-id", "client-secret")
///     .authorize_url("https://gitlab.example.com/oauth/authorize")
///     .token_url("https://gitlab.example.com/oauth/token")
///     .userinfo_url("https://gitlab.example.com/oauth/userinfo")
///     .scope("read_user")
///     .user_id_field("/sub")
///     .client_auth(ClientAuth::Post);
/// # let _ = gitlab;
/// ```
#[derive(Debug, Clone)]
pub struct OAuth2 {
    name: String,
    client_id: String,
    client_secret: Secret,
    authorize_url: String,
    token_url: String,
    userinfo_url: String,
    scope: String,
    client_auth: ClientAuth,
    authorize_params: Vec<(String, String)>,
    user_id_field: String,
    name_field: String,
    email_field: String,
}

impl OAuth2 {
    /// A provider answering at `/auth/<name>`, with the client's id and secret. Set the three
    /// endpoint URLs before building the layer.
    pub fn new(
        name: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret),
            authorize_url: String::new(),
            token_url: String::new(),
            userinfo_url: String::new(),
            scope: String::new(),
            client_auth: ClientAuth::default(),
            authorize_params: Vec::new(),
            user_id_field: "/id".to_owned(),
            name_field: "/name".to_owned(),
            email_field: "/email".to_owned(),
        }
    }

    /// The authorization endpoint the browser is sent to (required).
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret")
    ///     .authorize_url("https://sso.example.com/oauth2/authorize");
    /// # let _ = p;
    /// ```
    pub fn authorize_url(mut self, url: impl Into<String>) -> Self {
        self.authorize_url = url.into();
        self
    }

    /// The token endpoint the code is exchanged at (required).
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret")
    ///     .token_url("https://sso.example.com/oauth2/token");
    /// # let _ = p;
    /// ```
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }

    /// The JSON endpoint describing the signed-in user (required).
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret")
    ///     .userinfo_url("https://sso.example.com/api/me");
    /// # let _ = p;
    /// ```
    pub fn userinfo_url(mut self, url: impl Into<String>) -> Self {
        self.userinfo_url = url.into();
        self
    }

    /// The `scope` asked for, as the provider spells it (default: none sent).
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret").scope("profile email");
    /// # let _ = p;
    /// ```
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// How the client authenticates to the token endpoint (default [`ClientAuth::Basic`]).
    ///
    /// ```
    /// use socialauth::{ClientAuth, OAuth2};
    /// let p = OAuth2::new("corp", "id", "secret").client_auth(ClientAuth::Post);
    /// # let _ = p;
    /// ```
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// Adds a parameter to the authorization request, e.g. `prompt=consent`. Parameters
    /// the flow sets itself (`state`, `scope`, `redirect_uri`, PKCE, ...) are refused when
    /// the layer is built.
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret").authorize_param("prompt", "consent");
    /// # let _ = p;
    /// ```
    pub fn authorize_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.push((name.into(), value.into()));
        self
    }

    /// Where the user id is in the userinfo JSON, as a JSON pointer (default `/id`). A
    /// string or an integer; a login whose userinfo has no id fails.
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret").user_id_field("/data/user_id");
    /// # let _ = p;
    /// ```
    pub fn user_id_field(mut self, pointer: impl Into<String>) -> Self {
        self.user_id_field = pointer.into();
        self
    }

    /// Where the user's name is, as a JSON pointer (default `/name`); `""` reads none.
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret").name_field("/login");
    /// # let _ = p;
    /// ```
    pub fn name_field(mut self, pointer: impl Into<String>) -> Self {
        self.name_field = pointer.into();
        self
    }

    /// Where the user's email is, as a JSON pointer (default `/email`); `""` reads none.
    /// Use it only if the provider verifies the addresses it returns there.
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret").email_field("/mail");
    /// # let _ = p;
    /// ```
    pub fn email_field(mut self, pointer: impl Into<String>) -> Self {
        self.email_field = pointer.into();
        self
    }

    fn build(self) -> Result<OAuth2Flow, ConfigError> {
        if self.user_id_field.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "oauth2 user_id_field",
                reason: "is required",
            });
        }
        check_pointer("oauth2 user_id_field", &self.user_id_field)?;
        check_pointer("oauth2 name_field", &self.name_field)?;
        check_pointer("oauth2 email_field", &self.email_field)?;
        let client = Client::builder(self.client_id, self.client_secret.expose())
            .authorize_url(self.authorize_url)
            .token_url(self.token_url)
            .scope(self.scope)
            .client_auth(self.client_auth)
            .authorize_params(self.authorize_params)
            .build()?;
        Ok(OAuth2Flow {
            name: self.name,
            client,
            userinfo_url: required_url("oauth2 userinfo_url", &self.userinfo_url)?,
            user_id_field: self.user_id_field,
            name_field: self.name_field,
            email_field: self.email_field,
        })
    }
}

impl From<OAuth2> for Provider {
    fn from(provider: OAuth2) -> Self {
        Provider::checked(provider.build())
    }
}

/// A checked [`OAuth2`] configuration.
struct OAuth2Flow {
    name: String,
    client: Client,
    userinfo_url: Url,
    user_id_field: String,
    name_field: String,
    email_field: String,
}

impl CodeFlowProvider for OAuth2Flow {
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
        let userinfo: Value = cx
            .http()
            .get(self.userinfo_url.clone(), "userinfo")
            .bearer(token.access_token())
            .json()
            .await?;
        if !userinfo.is_object() {
            return Err(AuthError::provider(
                "the provider's answer is not the expected JSON",
            ));
        }
        let user_id = string_field(&userinfo, &self.user_id_field, Numbers::Allowed)?
            .ok_or_else(|| AuthError::provider("the provider's profile has no user id"))?;
        Ok(Profile::new(user_id)
            .name(string_field(&userinfo, &self.name_field, Numbers::Refused)?)
            .verified_email(string_field(
                &userinfo,
                &self.email_field,
                Numbers::Refused,
            )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(provider: OAuth2) -> Result<(), ConfigError> {
        provider.build().map(|_| ())
    }

    #[test]
    fn configuration_is_checked() {
        let complete = || {
            OAuth2::new("corp", "id", "secret")
                .authorize_url("https://sso.example/authorize")
                .token_url("https://sso.example/token")
                .userinfo_url("https://sso.example/me")
        };
        assert!(check(complete()).is_ok());
        assert!(check(OAuth2::new("corp", "id", "secret")).is_err());
        assert!(check(complete().userinfo_url("")).is_err());
        assert!(check(complete().user_id_field("id")).is_err());
        assert!(check(complete().user_id_field("")).is_err());
        assert!(check(complete().email_field("/a~2b")).is_err());
        assert!(check(complete().email_field("/a~1b")).is_ok());
        assert!(check(complete().authorize_param("state", "x")).is_err());
        assert!(check(complete().authorize_param("prompt", "consent")).is_ok());
        assert!(check(
            OAuth2::new("corp", "", "secret")
                .authorize_url("https://sso.example/authorize")
                .token_url("https://sso.example/token")
                .userinfo_url("https://sso.example/me")
        )
        .is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", OAuth2::new("corp", "id", "hunter2"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
