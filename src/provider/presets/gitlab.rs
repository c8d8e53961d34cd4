//! "Sign in with GitLab": the [`Oidc`] provider preset for `https://gitlab.com` or a
//! self-managed GitLab.

use jsonwebtoken::Algorithm;

use crate::provider::Oidc;

const ISSUER: &str = "https://gitlab.com";

oidc_preset! {
    /// GitLab sign-in over OpenID Connect: an [`Oidc`] provider named `gitlab` for
    /// `https://gitlab.com`, or a self-managed instance with [`base_url`](Self::base_url), with
    /// everything [`Oidc`] checks (discovery, `state`, PKCE, `nonce`, the ID token's signature
    /// and claims). The identity is GitLab's numeric user id (`sub`), the name, and the email
    /// when GitLab says it is verified.
    ///
    /// Set-up at GitLab: under "User settings > Applications" (or a group's or the instance's
    /// "Applications"), add an application with the redirect URI `https://<your host>/auth/gitlab`,
    /// "Confidential" checked and the scopes `openid`, `profile` and `email`. GitLab shows the
    /// application id (the client id) and the secret.
    ///
    /// Checked on 2026-12-06 against
    /// <https://docs.gitlab.com/integration/openid_connect_provider/>.
    ///
    /// ```
    /// use socialauth::GitLab;
    /// let gitlab = GitLab::new("application-id", "secret");
    /// let self_managed = GitLab::new("application-id", "secret")
    ///     .name("corp-gitlab")
    ///     .base_url("https://gitlab.example.com");
    /// # let _ = (gitlab, self_managed);
    /// ```
    pub struct GitLab;
    name: "gitlab",
    issuer: ISSUER,
    new: "A GitLab provider with the application's id and secret.",
    configure: |oidc| oidc.allowed_algorithms(&[Algorithm::RS256]),
}

impl GitLab {
    /// A self-managed GitLab at `base` (e.g. `https://gitlab.example.com`), which is its
    /// issuer.
    ///
    /// ```
    /// let gitlab = socialauth::GitLab::new("id", "secret").base_url("https://gitlab.example.com");
    /// # let _ = gitlab;
    /// ```
    pub fn base_url(mut self, base: impl AsRef<str>) -> Self {
        self.oidc
            .set_issuer(base.as_ref().trim_end_matches('/').to_owned());
        self
    }
}
