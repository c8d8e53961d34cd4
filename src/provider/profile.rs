//! [`Profile`]: the user as a provider describes them.

use serde_json::{Map, Value};

use super::TokenSet;
use crate::secret::{ProviderSid, RefreshToken};

/// The user as the provider describes them, returned by a provider at the end of a login.
///
/// ```
/// use socialauth::provider::Profile;
/// let profile = Profile::new("42").name(Some("Ada")).verified_email(Some("ada@example.com"));
/// assert_eq!(profile.user_id(), "42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub(crate) user_id: String,
    pub(crate) name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) claims: Map<String, Value>,
    pub(crate) refresh_token: Option<RefreshToken>,
    /// The provider's tokens, attached by the layer's OAuth 2.0 / OpenID Connect core.
    pub(crate) tokens: Option<TokenSet>,
    /// The provider's session (OpenID Connect's `sid`), for back-channel logout.
    pub(crate) provider_session: Option<ProviderSid>,
}

impl Profile {
    /// A user with the provider's stable id for them (never an email or a user name, which
    /// can change hands).
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            name: None,
            email: None,
            claims: Map::new(),
            refresh_token: None,
            tokens: None,
            provider_session: None,
        }
    }

    /// The display name, if the provider shared one; an empty name counts as none.
    pub fn name(mut self, name: Option<impl Into<String>>) -> Self {
        self.name = name.map(Into::into).filter(|n: &String| !n.is_empty());
        self
    }

    /// An email address **the provider has verified** belongs to the user; an empty one
    /// counts as none. Apps may link accounts by it, so never pass an unverified address.
    pub fn verified_email(mut self, email: Option<impl Into<String>>) -> Self {
        self.email = email.map(Into::into).filter(|e: &String| !e.is_empty());
        self
    }

    /// Another fact the provider states about the user (a Slack workspace, an Entra ID
    /// tenant), for the [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook to decide
    /// on: it reads it with [`UserProfile::claim`](crate::UserProfile::claim). Such claims are
    /// not kept in the identity; the hook copies what the app needs into its
    /// [`Grant`](crate::Grant).
    ///
    /// ```
    /// use socialauth::provider::Profile;
    /// let profile = Profile::new("U1").claim("https://slack.com/team_id", "T42");
    /// assert_eq!(profile.get_claim("https://slack.com/team_id"), Some(&"T42".into()));
    /// ```
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// The provider's refresh token, for the
    /// [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook to keep where the app needs
    /// it (Apple: to revoke the user's tokens when the account is deleted). Never in the
    /// identity, never in `Debug`.
    pub fn refresh_token(mut self, token: Option<impl Into<String>>) -> Self {
        self.refresh_token = token.map(RefreshToken::new);
        self
    }

    /// The profile with the provider's tokens attached (by the layer's core, after the token
    /// request).
    pub(crate) fn with_tokens(mut self, tokens: TokenSet) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The profile with the provider's session id (the ID token's `sid`) attached.
    pub(crate) fn with_provider_session(mut self, sid: Option<ProviderSid>) -> Self {
        self.provider_session = sid;
        self
    }

    /// A claim set with [`claim`](Self::claim).
    pub fn get_claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// The provider's id for the user.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}
