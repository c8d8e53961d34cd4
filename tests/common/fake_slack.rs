//! Slack's "Sign in with Slack" (OpenID Connect), as Slack documents it
//! (<https://docs.slack.dev/authentication/sign-in-with-slack>,
//! <https://docs.slack.dev/reference/methods/openid.connect.token>, read 2026-12-06): the
//! strict OpenID Connect fake with client credentials in the body, ID tokens naming the
//! user's workspace in `https://slack.com/team_id` (and the user again in
//! `https://slack.com/user_id`), Slack's error answers (status 200, `{"ok": false, ...}`), and
//! the app's PKCE setting ([`SlackApp`]).

use serde_json::json;

use super::fake_oidc::{self, FakeOidc, OidcConfig, TokenAuth};
use super::fake_pkce::PkceRule;

/// How the Slack app is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlackApp {
    /// PKCE not turned on: a confidential client, its secret required.
    Confidential,
    /// PKCE turned on (<https://docs.slack.dev/authentication/using-pkce>): a public client,
    /// which refuses a token request carrying both the secret and a verifier.
    PkceEnabled,
}

/// A fake Slack on a fresh port, its user `user` in the workspace `team`.
pub async fn start(app: SlackApp, team: &str, user: &str) -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig {
        client_id: "2141029472.691202649728".into(),
        client_secret: "slack-secret".into(),
        client_auth: TokenAuth::Post,
        sub: user.into(),
        ..OidcConfig::new()
    })
    .await;
    fake.set_pkce(match app {
        SlackApp::Confidential => PkceRule::SlackConfidentialApp,
        SlackApp::PkceEnabled => PkceRule::SlackPkceApp,
    });
    fake.set_extra_claims(json!({
        "https://slack.com/team_id": team,
        "https://slack.com/user_id": user,
    }));
    fake
}
