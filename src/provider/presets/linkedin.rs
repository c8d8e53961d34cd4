//! "Sign in with LinkedIn": the [`Oidc`] provider preset for `https://www.linkedin.com/oauth`.

use jsonwebtoken::Algorithm;

use crate::oauth2::ClientAuth;
use crate::provider::Oidc;

const ISSUER: &str = "https://www.linkedin.com/oauth";

/// LinkedIn sign-in ("Sign In with LinkedIn using OpenID Connect"): an [`Oidc`] provider
/// named `linkedin` for the issuer `https://www.linkedin.com/oauth`, with everything [`Oidc`]
/// checks. LinkedIn's token endpoint takes the client credentials in the request body only
/// (`client_secret_post`), so that is what the layer sends. The identity is LinkedIn's
/// member id (`sub`), the name, and the email when `email_verified` says so (LinkedIn may
/// send it as a string; both forms are read).
///
/// Set-up at LinkedIn: in the developer portal, create an app, add the product "Sign In with
/// LinkedIn using OpenID Connect", and under "Auth" add the redirect URL
/// `https://<your host>/auth/linkedin`; the client id and primary client secret are there.
///
/// ```
/// use socialauth::LinkedIn;
/// let linkedin = LinkedIn::new("client-id", "client-secret");
/// # let _ = linkedin;
/// ```
#[derive(Debug, Clone)]
pub struct LinkedIn {
    pub(super) oidc: Oidc,
}

impl LinkedIn {
    /// A LinkedIn provider with the app's client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            oidc: Oidc::new(ISSUER, client_id, client_secret)
                .name("linkedin")
                .client_auth(ClientAuth::Post)
                .allowed_algorithms(&[Algorithm::RS256]),
        }
    }

    /// Another issuer URL in place of `https://www.linkedin.com/oauth`. For tests.
    ///
    /// ```
    /// let p = socialauth::LinkedIn::new("id", "secret").issuer_url("http://127.0.0.1:9000");
    /// # let _ = p;
    /// ```
    pub fn issuer_url(mut self, issuer: impl Into<String>) -> Self {
        self.oidc.set_issuer(issuer);
        self
    }
}

code_flow_setters!(LinkedIn.oidc.config, name: "linkedin", scope: "openid email profile",
    "Must hold `openid`.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkedin_issuer_and_client_secret_post() {
        let oidc = Oidc::from(LinkedIn::new("id", "s"));
        assert_eq!(oidc.issuer(), "https://www.linkedin.com/oauth");
        assert_eq!(oidc.configured_client_auth(), Some(ClientAuth::Post));
        assert_eq!(
            crate::Provider::from(LinkedIn::new("id", "s")).name(),
            "linkedin"
        );
    }
}
