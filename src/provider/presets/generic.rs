//! [`OAuth2`]: any OAuth 2.0 provider with an authorization endpoint, a token endpoint and a
//! JSON userinfo endpoint, configured by hand.

use serde_json::Value;
use url::Url;

use super::bearer_json;
use super::fields::{check_pointer, flag_field, string_field, Numbers};
use crate::error::{AuthError, ConfigError};
use crate::oauth2::{required_url, Client, ClientAuth};
use crate::provider::config::CodeFlowConfig;
use crate::provider::Profile;

/// A generic OAuth 2.0 provider: authorization code with `state` and PKCE (S256), then the
/// user from a JSON userinfo endpoint.
///
/// Answers at `/auth/<name>`. The three endpoints are required. The user id, name and email
/// are read from the userinfo JSON with [JSON pointers](https://www.rfc-editor.org/rfc/rfc6901)
/// (default `/id`, `/name`, `/email`); a numeric id becomes its decimal string, and a field
/// of another JSON type than expected (an object where the email should be) fails the login
/// with `provider_error` (502) rather than being skipped.
///
/// **The email is the identity's only when the provider says it verified it**: point
/// [`email_verified_field`](Self::email_verified_field) at the provider's flag (e.g.
/// `/email_verified`), and a login gets the email when that flag is `true`. Without it the
/// identity has no email, whatever `/email` holds: an app that links accounts by email would
/// otherwise let anyone who types the victim's address at the provider into their account
/// ("nOAuth"). [`assume_email_verified`](Self::assume_email_verified) is the explicit way out
/// for a provider that never returns an address it has not verified.
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
///     .email_verified_field("/email_verified")
///     .client_auth(ClientAuth::Post);
/// # let _ = gitlab;
/// ```
#[derive(Debug, Clone)]
pub struct OAuth2 {
    config: CodeFlowConfig,
    authorize_url: String,
    token_url: String,
    userinfo_url: String,
    client_auth: ClientAuth,
    user_id_field: String,
    name_field: String,
    email_field: String,
    email_verified: EmailVerified,
}

/// What makes the userinfo's email a verified one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EmailVerified {
    /// Nothing: the identity has no email.
    Unknown,
    /// The flag at this JSON pointer is `true`.
    Flag(String),
    /// Every address the provider returns (the app's explicit word).
    Assumed,
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
            config: CodeFlowConfig::new(&name.into(), client_id, client_secret, ""),
            authorize_url: String::new(),
            token_url: String::new(),
            userinfo_url: String::new(),
            client_auth: ClientAuth::default(),
            user_id_field: "/id".to_owned(),
            name_field: "/name".to_owned(),
            email_field: "/email".to_owned(),
            email_verified: EmailVerified::Unknown,
        }
    }

    /// Where the provider says the email is verified, as a JSON pointer to a flag (`true`,
    /// or the string `"true"`): the login gets the email only when the flag is true. Missing,
    /// `null` or `false` is no email; another JSON type fails the login with
    /// `provider_error`. Without this (or [`assume_email_verified`](Self::assume_email_verified))
    /// the identity never has an email.
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret")
    ///     .email_verified_field("/email_verified");
    /// # let _ = p;
    /// ```
    pub fn email_verified_field(mut self, pointer: impl Into<String>) -> Self {
        self.email_verified = EmailVerified::Flag(pointer.into());
        self
    }

    /// **Weakens security.** Takes every address at [`email_field`](Self::email_field) as
    /// verified, for a provider that has no verification flag and documents that it only
    /// returns addresses it has verified. If it ever returns one it has not (a user can type
    /// any address into their profile at many providers), an app that links accounts by
    /// email hands the account of that address's owner to whoever typed it. Prefer
    /// [`email_verified_field`](Self::email_verified_field); `build()` logs a warning.
    ///
    /// ```
    /// let p = socialauth::OAuth2::new("corp", "id", "secret").assume_email_verified();
    /// # let _ = p;
    /// ```
    pub fn assume_email_verified(mut self) -> Self {
        self.email_verified = EmailVerified::Assumed;
        self
    }

    setters! {
        /// The authorization endpoint the browser is sent to (required).
        ///
        /// ```
        /// let p = socialauth::OAuth2::new("corp", "id", "secret")
        ///     .authorize_url("https://sso.example.com/oauth2/authorize");
        /// # let _ = p;
        /// ```
        authorize_url => authorize_url: String;

        /// The token endpoint the code is exchanged at (required).
        ///
        /// ```
        /// let p = socialauth::OAuth2::new("corp", "id", "secret")
        ///     .token_url("https://sso.example.com/oauth2/token");
        /// # let _ = p;
        /// ```
        token_url => token_url: String;

        /// The JSON endpoint describing the signed-in user (required).
        ///
        /// ```
        /// let p = socialauth::OAuth2::new("corp", "id", "secret")
        ///     .userinfo_url("https://sso.example.com/api/me");
        /// # let _ = p;
        /// ```
        userinfo_url => userinfo_url: String;

        /// How the client authenticates to the token endpoint (default [`ClientAuth::Basic`]).
        ///
        /// ```
        /// use socialauth::{ClientAuth, OAuth2};
        /// let p = OAuth2::new("corp", "id", "secret").client_auth(ClientAuth::Post);
        /// # let _ = p;
        /// ```
        client_auth => client_auth: ClientAuth;

        /// Where the user id is in the userinfo JSON, as a JSON pointer (default `/id`). A
        /// string or an integer; a login whose userinfo has no id fails.
        ///
        /// ```
        /// let p = socialauth::OAuth2::new("corp", "id", "secret").user_id_field("/data/user_id");
        /// # let _ = p;
        /// ```
        user_id_field => user_id_field: String;

        /// Where the user's name is, as a JSON pointer (default `/name`); `""` reads none.
        ///
        /// ```
        /// let p = socialauth::OAuth2::new("corp", "id", "secret").name_field("/login");
        /// # let _ = p;
        /// ```
        name_field => name_field: String;

        /// Where the user's email is, as a JSON pointer (default `/email`); `""` reads none.
        /// It becomes the identity's email only when the provider says it is verified
        /// ([`email_verified_field`](Self::email_verified_field)).
        ///
        /// ```
        /// let p = socialauth::OAuth2::new("corp", "id", "secret").email_field("/mail");
        /// # let _ = p;
        /// ```
        email_field => email_field: String;
    }

    pub(super) fn build(self) -> Result<UserinfoFields, ConfigError> {
        if self.user_id_field.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "oauth2 user_id_field",
                reason: "is required",
            });
        }
        check_pointer("oauth2 user_id_field", &self.user_id_field)?;
        check_pointer("oauth2 name_field", &self.name_field)?;
        check_pointer("oauth2 email_field", &self.email_field)?;
        match &self.email_verified {
            EmailVerified::Flag(pointer) if pointer.is_empty() => {
                return Err(ConfigError::InvalidSetting {
                    setting: "oauth2 email_verified_field",
                    reason: "must be a JSON pointer such as \"/email_verified\"",
                })
            }
            EmailVerified::Flag(pointer) => {
                check_pointer("oauth2 email_verified_field", pointer)?;
            }
            EmailVerified::Assumed => tracing::warn!(
                provider = self.config.name,
                "socialauth: every email this OAuth2 provider returns is taken as verified \
                 (assume_email_verified)"
            ),
            EmailVerified::Unknown => {}
        }
        let userinfo_url = required_url("oauth2 userinfo_url", &self.userinfo_url)?;
        let client = (self.config).client(self.client_auth, self.authorize_url, self.token_url)?;
        Ok(UserinfoFields {
            name: self.config.name,
            client,
            userinfo_url,
            user_id_field: self.user_id_field,
            name_field: self.name_field,
            email_field: self.email_field,
            email_verified: self.email_verified,
        })
    }
}

code_flow_setters!(OAuth2.config, scope: "", "Empty sends no `scope` parameter.");

/// A checked generic provider: the user from a JSON userinfo endpoint, read by JSON pointers.
pub(super) struct UserinfoFields {
    name: String,
    client: Client,
    userinfo_url: Url,
    user_id_field: String,
    name_field: String,
    email_field: String,
    email_verified: EmailVerified,
}

impl UserinfoFields {
    /// The userinfo's email when the provider says it verified it.
    fn verified_email(&self, userinfo: &Value) -> Result<Option<String>, AuthError> {
        let verified = match &self.email_verified {
            EmailVerified::Unknown => false,
            EmailVerified::Flag(pointer) => flag_field(userinfo, pointer)?,
            EmailVerified::Assumed => true,
        };
        if !verified {
            return Ok(None);
        }
        string_field(userinfo, &self.email_field, Numbers::Refused)
    }
}

code_flow_provider!(UserinfoFields, |provider, cx, token| async move {
    let userinfo: Value = bearer_json(cx, &provider.userinfo_url, "userinfo", token).await?;
    if !userinfo.is_object() {
        return Err(AuthError::provider(
            "the provider's answer is not the expected JSON",
        ));
    }
    let user_id = string_field(&userinfo, &provider.user_id_field, Numbers::Allowed)?
        .ok_or_else(|| AuthError::provider("the provider's profile has no user id"))?;
    Ok(Profile::new(user_id)
        .name(string_field(
            &userinfo,
            &provider.name_field,
            Numbers::Refused,
        )?)
        .verified_email(provider.verified_email(&userinfo)?))
});

#[cfg(test)]
mod tests {
    use super::*;

    fn check(provider: OAuth2) -> Result<(), ConfigError> {
        let built = provider.build()?;
        assert!(!built.name.is_empty());
        Ok(())
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
        assert!(check(complete().email_verified_field("/verified")).is_ok());
        assert!(check(complete().email_verified_field("verified")).is_err());
        assert!(check(complete().email_verified_field("")).is_err());
        assert!(check(complete().assume_email_verified()).is_ok());
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
}
