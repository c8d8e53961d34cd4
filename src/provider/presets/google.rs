//! "Sign in with Google": the [`Oidc`] provider preset for `https://accounts.google.com`.

use jsonwebtoken::Algorithm;

use crate::provider::Oidc;

/// Google's issuer.
const ISSUER: &str = "https://accounts.google.com";

/// Google sign-in over OpenID Connect: an [`Oidc`] provider named `google` for the issuer
/// `https://accounts.google.com`, with everything [`Oidc`] checks (discovery, `state`,
/// PKCE, `nonce`, the ID token's signature and claims).
///
/// Google's ID tokens carry the name and the verified email when the scope has `profile`
/// and `email` (the default), so no userinfo call is made. `iss` may be either
/// `https://accounts.google.com` or `accounts.google.com`, as Google documents. Google signs
/// with RS256 only, so no other algorithm is accepted.
///
/// The `hd` authorization parameter only preselects a Workspace domain on Google's page: it
/// does not restrict who can sign in, so check the identity's email domain yourself.
///
/// ```
/// use socialauth::Google;
/// let google = Google::new("1234.apps.googleusercontent.com", "client-secret")
///     .authorize_param("prompt", "select_account");
/// # let _ = google;
/// ```
#[derive(Debug, Clone)]
pub struct Google {
    pub(super) oidc: Oidc,
}

impl Google {
    /// A Google provider with the OAuth client's id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            oidc: Oidc::new(ISSUER, client_id, client_secret)
                .name("google")
                .allowed_algorithms(&[Algorithm::RS256])
                .issuer_alias("accounts.google.com"),
        }
    }

    /// Another issuer URL in place of `https://accounts.google.com`. For tests.
    ///
    /// ```
    /// let google = socialauth::Google::new("id", "secret").issuer_url("http://127.0.0.1:9000");
    /// # let _ = google;
    /// ```
    pub fn issuer_url(mut self, issuer: impl Into<String>) -> Self {
        self.oidc.set_issuer(issuer);
        self
    }
}

code_flow_setters!(Google.oidc.config, name: "google", scope: "openid email profile",
    "Must hold `openid`.");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Provider;

    #[test]
    fn google_is_an_oidc_provider_for_its_issuer() {
        let oidc = Oidc::from(Google::new("id", "secret"));
        assert_eq!(oidc.issuer(), "https://accounts.google.com");
        let provider = Provider::from(Google::new("id", "secret"));
        assert_eq!(provider.name(), "google");
        assert!(provider.built.is_ok());
    }
}
