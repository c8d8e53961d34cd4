//! What the layer hands a provider when a user logs out, so the provider can end its own
//! session too (OpenID Connect RP-Initiated Logout 1.0).

use std::fmt;

use url::Url;

use crate::secret::IdToken;

/// A logout the layer asks a provider to carry to its side, for
/// [`LoginProvider::end_session_url`](super::LoginProvider::end_session_url).
///
/// The layer has already cleared its cookies when a provider sees this: whatever the
/// provider answers, the user is signed out of the app.
pub struct EndSessionRequest<'a> {
    pub(crate) user_id: &'a str,
    pub(crate) post_logout_redirect_uri: &'a Url,
    pub(crate) state: &'a str,
    pub(crate) id_token: Option<&'a IdToken>,
}

impl<'a> EndSessionRequest<'a> {
    /// The user's id at this provider (OpenID Connect's `sub`): the `logout_hint` when
    /// there is no ID token.
    pub fn user_id(&self) -> &'a str {
        self.user_id
    }

    /// Where the provider sends the browser back once its session is over: the app's
    /// after-logout URL, absolute, on the app's own origin.
    pub fn post_logout_redirect_uri(&self) -> &'a Url {
        self.post_logout_redirect_uri
    }

    /// A fresh random value for the provider to echo back (`state`). The layer does not
    /// check it when the browser returns: the after-logout page is the app's own, and the
    /// return carries nothing the layer acts on.
    pub fn state(&self) -> &'a str {
        self.state
    }

    /// The ID token of the sign-in, when the layer kept it
    /// ([`keep_provider_tokens`](crate::SocialAuthLayerBuilder::keep_provider_tokens)): the
    /// `id_token_hint` (read it with `.secret()`).
    pub fn id_token(&self) -> Option<&'a IdToken> {
        self.id_token
    }
}

impl fmt::Debug for EndSessionRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndSessionRequest")
            .field("user_id", &self.user_id)
            .field(
                "post_logout_redirect_uri",
                &self.post_logout_redirect_uri.as_str(),
            )
            .field("state", &self.state)
            .field("id_token", &self.id_token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_id_token() {
        let uri = Url::parse("https://app.example/").unwrap();
        let request = EndSessionRequest {
            user_id: "u1",
            post_logout_redirect_uri: &uri,
            state: "s",
            id_token: Some(&IdToken::new("eyJ.secret.sig")),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("eyJ"), "{shown}");
        assert!(
            shown.contains("id_token: Some(IdToken([redacted]))"),
            "{shown}"
        );
    }
}
