//! [`OAuth2`]: any OAuth 2.0 provider with an authorization endpoint, a token endpoint and a
//! JSON userinfo endpoint, configured by hand.

use serde_json::Value;

use super::oauth2::{self, check_authorize_params, check_client_id, ClientAuth};
use super::oauth2::{AuthorizeRequest, TokenRequest};
use super::{
    check_name, checked_endpoint, endpoint, BoxFuture, CallbackKey, CallbackParams, FlowContext,
    Profile, Provider, ProviderFlow, Started,
};
use crate::error::{AuthError, ConfigError};
use crate::flow::FlowState;
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

    async fn complete(
        &self,
        cx: FlowContext<'_>,
        params: &CallbackParams,
        flow: FlowState,
    ) -> Result<Profile, AuthError> {
        let code = params.require("code", "the callback has no code")?;
        let access = TokenRequest {
            token_url: checked_endpoint("oauth2 token_url", &self.token_url)?,
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            redirect_uri: cx.callback_url,
            code,
            verifier: &flow.secret,
        }
        .exchange_with(cx.outbound, self.client_auth)
        .await?;
        let userinfo = oauth2::get_json(
            cx.outbound,
            checked_endpoint("oauth2 userinfo_url", &self.userinfo_url)?,
            &access.token,
            "application/json",
            &[],
            "userinfo",
        )
        .await?;
        let user_id = string_field(&userinfo, &self.user_id_field, Numbers::Allowed)?
            .ok_or_else(|| AuthError::provider("the provider's profile has no user id"))?;
        Ok(Profile {
            user_id,
            name: string_field(&userinfo, &self.name_field, Numbers::Refused)?,
            email: string_field(&userinfo, &self.email_field, Numbers::Refused)?,
        })
    }
}

/// Whether a JSON number is read as its decimal string (ids) or refused (names, emails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Numbers {
    Allowed,
    Refused,
}

/// The string at `pointer` in `doc`: `None` when the pointer is empty or the value is
/// missing, `null` or `""`; an integer as its decimal string when `numbers` allows; any
/// other type is a provider error.
pub(crate) fn string_field(
    doc: &Value,
    pointer: &str,
    numbers: Numbers,
) -> Result<Option<String>, AuthError> {
    if pointer.is_empty() {
        return Ok(None);
    }
    match doc.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) if numbers == Numbers::Allowed && (n.is_u64() || n.is_i64()) => {
            Ok(Some(n.to_string()))
        }
        Some(_) => {
            tracing::warn!("a profile field has an unexpected JSON type");
            Err(AuthError::provider(
                "the provider's profile has a field of an unexpected type",
            ))
        }
    }
}

/// Checks a JSON pointer (RFC 6901): empty, or `/` segments with `~` only as `~0` or `~1`.
pub(crate) fn check_pointer(setting: &'static str, pointer: &str) -> Result<(), ConfigError> {
    let invalid = || ConfigError::InvalidSetting {
        setting,
        reason: "must be a JSON pointer such as \"/id\" or \"/data/email\"",
    };
    if pointer.is_empty() {
        return Ok(());
    }
    if !pointer.starts_with('/') {
        return Err(invalid());
    }
    let mut bytes = pointer.bytes();
    while let Some(b) = bytes.next() {
        if b == b'~' && !matches!(bytes.next(), Some(b'0' | b'1')) {
            return Err(invalid());
        }
    }
    Ok(())
}

fn required_url(setting: &'static str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::InvalidSetting {
            setting,
            reason: "is required",
        });
    }
    endpoint(setting, value).map(|_| ())
}

impl ProviderFlow for OAuth2 {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self) -> Result<(), ConfigError> {
        check_name(&self.name)?;
        check_client_id("oauth2 client_id", &self.client_id)?;
        required_url("oauth2 authorize_url", &self.authorize_url)?;
        required_url("oauth2 token_url", &self.token_url)?;
        required_url("oauth2 userinfo_url", &self.userinfo_url)?;
        if self.user_id_field.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "oauth2 user_id_field",
                reason: "is required",
            });
        }
        check_pointer("oauth2 user_id_field", &self.user_id_field)?;
        check_pointer("oauth2 name_field", &self.name_field)?;
        check_pointer("oauth2 email_field", &self.email_field)?;
        check_authorize_params("oauth2 authorize_param", &self.authorize_params)
    }

    fn start<'a>(&'a self, cx: FlowContext<'a>) -> BoxFuture<'a, Result<Started, AuthError>> {
        Box::pin(async move {
            AuthorizeRequest {
                authorize_url: checked_endpoint("oauth2 authorize_url", &self.authorize_url)?,
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

impl From<OAuth2> for Provider {
    fn from(provider: OAuth2) -> Self {
        Provider {
            flow: std::sync::Arc::new(provider),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuthErrorKind;
    use serde_json::json;

    #[test]
    fn fields_are_read_by_pointer_with_numeric_ids_as_strings() {
        let doc = json!({"id": 42, "data": {"mail": "a@b.c"}, "name": null, "empty": ""});
        assert_eq!(
            string_field(&doc, "/id", Numbers::Allowed).unwrap(),
            Some("42".to_owned())
        );
        assert_eq!(
            string_field(&doc, "/data/mail", Numbers::Refused).unwrap(),
            Some("a@b.c".to_owned())
        );
        assert_eq!(string_field(&doc, "/name", Numbers::Refused).unwrap(), None);
        assert_eq!(
            string_field(&doc, "/empty", Numbers::Refused).unwrap(),
            None
        );
        assert_eq!(
            string_field(&doc, "/absent", Numbers::Refused).unwrap(),
            None
        );
        assert_eq!(string_field(&doc, "", Numbers::Refused).unwrap(), None);
    }

    #[test]
    fn a_field_of_the_wrong_type_is_a_provider_error() {
        let doc = json!({"id": 1.5, "name": 7, "email": {"value": "x"}, "ok": true});
        for (pointer, numbers) in [
            ("/id", Numbers::Allowed),
            ("/name", Numbers::Refused),
            ("/email", Numbers::Refused),
            ("/ok", Numbers::Allowed),
        ] {
            let error = string_field(&doc, pointer, numbers).unwrap_err();
            assert_eq!(error.kind(), AuthErrorKind::ProviderError, "{pointer}");
        }
    }

    #[test]
    fn configuration_is_checked() {
        let complete = || {
            OAuth2::new("corp", "id", "secret")
                .authorize_url("https://sso.example/authorize")
                .token_url("https://sso.example/token")
                .userinfo_url("https://sso.example/me")
        };
        assert!(complete().check().is_ok());
        assert!(OAuth2::new("corp", "id", "secret").check().is_err());
        assert!(complete().user_id_field("id").check().is_err());
        assert!(complete().user_id_field("").check().is_err());
        assert!(complete().email_field("/a~2b").check().is_err());
        assert!(complete().email_field("/a~1b").check().is_ok());
        assert!(complete().authorize_param("state", "x").check().is_err());
        assert!(complete()
            .authorize_param("prompt", "consent")
            .check()
            .is_ok());
        assert!(OAuth2::new("corp", "", "secret")
            .authorize_url("https://sso.example/authorize")
            .check()
            .is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", OAuth2::new("corp", "id", "hunter2"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
