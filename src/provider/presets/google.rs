//! "Sign in with Google": the [`Oidc`] provider preset for `https://accounts.google.com`.

use jsonwebtoken::Algorithm;

use crate::provider::Oidc;

/// Google's issuer.
const ISSUER: &str = "https://accounts.google.com";

oidc_preset! {
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
    pub struct Google;
    name: "google",
    issuer: ISSUER,
    new: "A Google provider with the OAuth client's id and secret.",
    configure: |oidc| {
        oidc.allowed_algorithms(&[Algorithm::RS256])
            .issuer_alias("accounts.google.com")
    },
}
