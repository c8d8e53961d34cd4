//! "Sign in with GitLab": the [`Oidc`] provider preset for `https://gitlab.com` or a
//! self-managed GitLab.

use jsonwebtoken::Algorithm;

use crate::provider::Oidc;

const ISSUER: &str = "https://gitlab.com";

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
/// ```
/// use socialauth::GitLab;
/// let gitlab = GitLab::new("application-id", "secret");
/// let self_managed = GitLab::new("application-id", "secret")
///     .name("corp-gitlab")
///     .base_url("https://gitlab.example.com");
/// # let _ = (gitlab, self_managed);
/// ```
#[derive(Debug, Clone)]
pub struct GitLab {
    pub(super) oidc: Oidc,
}

impl GitLab {
    /// A GitLab provider with the application's id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            oidc: Oidc::new(ISSUER, client_id, client_secret)
                .name("gitlab")
                .allowed_algorithms(&[Algorithm::RS256]),
        }
    }

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

code_flow_setters!(GitLab.oidc.config, name: "gitlab", scope: "openid email profile",
    "Must hold `openid`.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_com_or_a_self_managed_issuer() {
        assert_eq!(
            Oidc::from(GitLab::new("id", "s")).issuer(),
            "https://gitlab.com"
        );
        let own = GitLab::new("id", "s").base_url("https://gitlab.example.com/");
        assert_eq!(Oidc::from(own).issuer(), "https://gitlab.example.com");
        assert_eq!(
            crate::Provider::from(GitLab::new("id", "s")).name(),
            "gitlab"
        );
    }
}
