//! "Sign in with Slack": the [`Oidc`] provider preset for `https://slack.com`.

use crate::oauth2::ClientAuth;
use crate::provider::Oidc;

const ISSUER: &str = "https://slack.com";

/// The ID-token claim naming the user's Slack workspace, passed on to the authorize hook.
pub const SLACK_TEAM_ID: &str = "https://slack.com/team_id";

oidc_preset! {
    /// Slack sign-in ("Sign in with Slack", OpenID Connect): an [`Oidc`] provider named `slack`
    /// for the issuer `https://slack.com`, as a confidential app: the client secret in the body
    /// (`client_secret_post`) and **no PKCE**, which Slack takes from every app, PKCE-enabled
    /// or not; a PKCE-enabled app (a public client) refuses a token request that carries both
    /// the secret and a `code_verifier`. For that set-up, use
    /// [`public_client`](Self::public_client). `state` and the `nonce` are checked as always.
    ///
    /// The identity's user id is `<team id>:<user id>` (e.g. `T0123ABCD:U0R7JM`): a Slack user
    /// id is unique only within its workspace, so two people in two workspaces could
    /// otherwise share one app account. The name and the verified email come with it. The
    /// workspace id ([`SLACK_TEAM_ID`], `https://slack.com/team_id`) also reaches the
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
    ///
    /// Checked on 2026-12-06 against <https://docs.slack.dev/authentication/sign-in-with-slack>,
    /// <https://docs.slack.dev/reference/methods/openid.connect.token> and
    /// <https://docs.slack.dev/authentication/using-pkce>.
    pub struct Slack;
    name: "slack",
    issuer: ISSUER,
    new: "A Slack provider with the app's client id and secret (a confidential app, without PKCE).",
    configure: |oidc| {
        let mut oidc = oidc
            .client_auth(ClientAuth::Post)
            .pkce(false)
            .profile_claim(SLACK_TEAM_ID);
        oidc.subject_scope = Some(SLACK_TEAM_ID);
        oidc
    },
}

impl Slack {
    /// A Slack app with PKCE turned on (its "PKCE" setting, which makes it a public client
    /// for good): every login sends a PKCE challenge, and the token request its verifier and
    /// the client id, never a secret ([`ClientAuth::PublicClient`]). Slack refuses a PKCE
    /// app's token request carrying both. A confidential app keeps [`Slack::new`], which a
    /// PKCE-enabled app accepts as well.
    ///
    /// ```
    /// let slack = socialauth::Slack::public_client("client-id");
    /// # let _ = slack;
    /// ```
    pub fn public_client(client_id: impl Into<String>) -> Self {
        let mut slack = Self::new(client_id, "");
        slack.oidc = slack.oidc.client_auth(ClientAuth::PublicClient).pkce(true);
        slack
    }
}
