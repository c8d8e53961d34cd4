//! "Sign in with Slack": the [`Oidc`] provider preset for `https://slack.com`.

use crate::oauth2::ClientAuth;
use crate::provider::Oidc;

const ISSUER: &str = "https://slack.com";

/// The ID-token claim naming the user's Slack workspace, passed on to the authorize hook.
pub const SLACK_TEAM_ID: &str = "https://slack.com/team_id";

/// Slack sign-in ("Sign in with Slack", OpenID Connect): an [`Oidc`] provider named `slack`
/// for the issuer `https://slack.com`, with everything [`Oidc`] checks. The token endpoint
/// takes the client credentials in the body (`client_secret_post`).
///
/// The identity is Slack's user id (`sub`), the name and the verified email. A Slack user id
/// belongs to one workspace: the workspace id ([`SLACK_TEAM_ID`],
/// `https://slack.com/team_id`) reaches the
/// [`authorize`](crate::SocialAuthLayerBuilder::authorize) hook through
/// [`UserProfile::claim`](crate::UserProfile::claim), so an app can admit one workspace only:
///
/// ```
/// use socialauth::{Denied, Grant, Slack, SocialAuthLayer, SLACK_TEAM_ID};
/// # fn main() -> Result<(), socialauth::ConfigError> {
/// let layer = SocialAuthLayer::builder()
///     .secret([7u8; 32])
///     .provider(Slack::new("client-id", "client-secret"))
///     .authorize(|user| async move {
///         if user.claim(SLACK_TEAM_ID).and_then(|t| t.as_str()) == Some("T0123ABCD") {
///             Ok(Grant::new())
///         } else {
///             Err(Denied::new("Sign in with the Acme workspace."))
///         }
///     })
///     .build()?;
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
///
/// Set-up at Slack: at api.slack.com/apps, create an app; under "OAuth & Permissions" add
/// the redirect URL `https://<your host>/auth/slack` and the user token scopes `openid`,
/// `profile` and `email`; the client id and secret are under "Basic Information".
#[derive(Debug, Clone)]
pub struct Slack {
    pub(super) oidc: Oidc,
}

impl Slack {
    /// A Slack provider with the app's client id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            oidc: Oidc::new(ISSUER, client_id, client_secret)
                .name("slack")
                .client_auth(ClientAuth::Post)
                .profile_claim(SLACK_TEAM_ID),
        }
    }

    /// Another issuer URL in place of `https://slack.com`. For tests.
    ///
    /// ```
    /// let p = socialauth::Slack::new("id", "secret").issuer_url("http://127.0.0.1:9000");
    /// # let _ = p;
    /// ```
    pub fn issuer_url(mut self, issuer: impl Into<String>) -> Self {
        self.oidc.set_issuer(issuer);
        self
    }
}

code_flow_setters!(Slack.oidc.config, name: "slack", scope: "openid email profile",
    "Must hold `openid`.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_issuer_and_client_secret_post() {
        let oidc = Oidc::from(Slack::new("id", "s"));
        assert_eq!(oidc.issuer(), "https://slack.com");
        assert_eq!(oidc.configured_client_auth(), Some(ClientAuth::Post));
        assert_eq!(crate::Provider::from(Slack::new("id", "s")).name(), "slack");
    }
}
