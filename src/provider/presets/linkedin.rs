//! "Sign in with LinkedIn": the [`Oidc`] provider preset for `https://www.linkedin.com/oauth`.

use jsonwebtoken::Algorithm;

use crate::oauth2::ClientAuth;
use crate::provider::Oidc;

const ISSUER: &str = "https://www.linkedin.com/oauth";

oidc_preset! {
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
    pub struct LinkedIn;
    name: "linkedin",
    issuer: ISSUER,
    new: "A LinkedIn provider with the app's client id and secret.",
    configure: |oidc| {
        oidc.client_auth(ClientAuth::Post)
            .allowed_algorithms(&[Algorithm::RS256])
    },
}
