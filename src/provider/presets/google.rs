//! "Sign in with Google": the [`Oidc`] provider preset for `https://accounts.google.com`.

use jsonwebtoken::Algorithm;

use crate::provider::Oidc;

/// Google's issuer.
const ISSUER: &str = "https://accounts.google.com";

/// The ID-token claim naming the account's Google Workspace domain, passed on to the
/// authorize hook.
const GOOGLE_HOSTED_DOMAIN: &str = "hd";

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
    /// **A Workspace domain is checked with `hd`, not with the email's domain.** Google's ID
    /// token carries `hd`, the Google Workspace (or Cloud) organization of the account, only
    /// for accounts that belong to one; a personal Google account can carry an address at any
    /// domain, yours included, so an email ending in `@example.com` does not make a member of
    /// example.com. `hd` reaches the [`authorize`](crate::SocialAuthLayerBuilder::authorize)
    /// hook through [`UserProfile::claim`](crate::UserProfile::claim) (absent for accounts
    /// outside any organization). The `hd` authorization parameter only preselects a domain
    /// on Google's page: it restricts nothing.
    ///
    /// ```
    /// use socialauth::{Denied, Google, Grant, SocialAuthLayer};
    /// # fn main() -> Result<(), socialauth::ConfigError> {
    /// let layer = SocialAuthLayer::builder()
    ///     .secret([7u8; 32])
    ///     .provider(
    ///         Google::new("1234.apps.googleusercontent.com", "client-secret")
    ///             .authorize_param("prompt", "select_account"),
    ///     )
    ///     .authorize(|user| async move {
    ///         if user.claim("hd").and_then(|hd| hd.as_str()) == Some("example.com") {
    ///             Ok(Grant::new())
    ///         } else {
    ///             Err(Denied::new("Sign in with your example.com account."))
    ///         }
    ///     })
    ///     .build()?;
    /// # let _ = layer;
    /// # Ok(())
    /// # }
    /// ```
    pub struct Google;
    name: "google",
    issuer: ISSUER,
    new: "A Google provider with the OAuth client's id and secret.",
    configure: |oidc| {
        oidc.allowed_algorithms(&[Algorithm::RS256])
            .issuer_alias("accounts.google.com")
            .profile_claim(GOOGLE_HOSTED_DOMAIN)
    },
}
