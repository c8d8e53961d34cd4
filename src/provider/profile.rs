//! [`Profile`]: the user as a provider describes them.

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
}

impl Profile {
    /// A user with the provider's stable id for them (never an email or a user name, which
    /// can change hands).
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            name: None,
            email: None,
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

    /// The provider's id for the user.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}
