//! "Sign in with LinkedIn": the [`Oidc`] provider preset for `https://www.linkedin.com/oauth`.

use jsonwebtoken::Algorithm;

use crate::oauth2::ClientAuth;
use crate::provider::Oidc;

const ISSUER: &str = "https://www.linkedin.com/oauth";

oidc_preset! {
    /// LinkedIn sign-in ("Sign In with LinkedIn using OpenID Connect"): an [`Oidc`] provider
    /// named `linkedin` for the issuer `https://www.linkedin.com/oauth`. LinkedIn's token
    /// endpoint takes the client credentials in the request body only (`client_secret_post`),
    /// so that is what the layer sends. The identity is LinkedIn's member id (`sub`), the
    /// name, and the email when `email_verified` says so (LinkedIn sends it as a string; both
    /// forms are read).
    ///
    /// **No PKCE, and no `nonce` check**, because LinkedIn does neither for a web app:
    /// - PKCE is for native apps LinkedIn enabled it for; a web app's token request carrying
    ///   a `code_verifier` is answered `401 invalid_client` (the layer logs a hint saying so).
    /// - LinkedIn's ID tokens carry no `nonce`, so one without is accepted (one carrying
    ///   another login's nonce is still refused). See [`Oidc::id_token_nonce`].
    ///
    /// What still protects the login: `state` (256 random bits, bound to the browser's
    /// encrypted flow cookie and compared in constant time) stops login CSRF; the ID token
    /// comes from the token endpoint over TLS, signed by LinkedIn's keys, for this client id.
    /// What is lost: a code stolen from a callback (a leaked log or referrer) could be put
    /// into the thief's own login and sign the thief in as its owner (code injection); keep
    /// callback URLs out of logs. For an app LinkedIn enabled PKCE for, turn it back
    /// on: `Oidc::from(LinkedIn::new(..)).pkce(true)`.
    ///
    /// Set-up at LinkedIn: in the developer portal, create an app, add the product "Sign In with
    /// LinkedIn using OpenID Connect", and under "Auth" add the redirect URL
    /// `https://<your host>/auth/linkedin`; the client id and primary client secret are there.
    ///
    /// Checked on 2026-12-06 against
    /// <https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2>
    /// and, for PKCE, <https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow-native>.
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
            .pkce(false)
            .id_token_nonce(false)
    },
}
