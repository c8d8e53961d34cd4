//! "Sign in with Slack": the [`Oidc`] provider preset for `https://slack.com`.

use crate::oauth2::ClientAuth;
use crate::provider::Oidc;

const ISSUER: &str = "https://slack.com";

/// The ID-token claim naming the user's Slack workspace, passed on to the authorize hook.
pub const SLACK_TEAM_ID: &str = "https://slack.com/team_id";

oidc_preset! {
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
    pub struct Slack;
    name: "slack",
    issuer: ISSUER,
    new: "A Slack provider with the app's client id and secret.",
    configure: |oidc| oidc.client_auth(ClientAuth::Post).profile_claim(SLACK_TEAM_ID),
}
