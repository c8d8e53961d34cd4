//! Slack logins through the layer, against a fake Slack for both kinds of Slack app: without
//! PKCE (confidential) and with PKCE turned on (a public client, which refuses a token request
//! carrying both the secret and a `code_verifier`).

use super::preset_support::{refused_login, serve_admitting, whoami_after_login};
use crate::common::app::json_of;
use crate::common::browser::Browser;
use crate::common::fake_oidc::FakeOidc;
use crate::common::fake_slack::{self, SlackApp};
use crate::common::server;
use serde_json::json;
use socialauth::{Slack, SLACK_TEAM_ID};

fn slack_for(fake: &FakeOidc) -> Slack {
    let cfg = fake.config();
    Slack::new(&cfg.client_id, &cfg.client_secret).issuer_url(fake.issuer())
}

#[tokio::test]
async fn the_default_confidential_flow_signs_in_with_either_kind_of_slack_app() {
    for app in [SlackApp::PkceEnabled, SlackApp::Confidential] {
        let fake = fake_slack::start(app, "T0123ABCD", "U0R7JM").await;
        let who = whoami_after_login(slack_for(&fake), "slack").await;
        assert_eq!(who["user_id"], "T0123ABCD:U0R7JM", "{app:?}");
        assert_eq!(who["email"], "janedoe@example.com", "{app:?}");
        assert!(
            fake.rejections().is_empty(),
            "{app:?}: {:?}",
            fake.rejections()
        );
        let params = fake.last_authorize_params();
        assert_eq!(server::param(&params, "code_challenge"), None, "{app:?}");
    }
}

#[tokio::test]
async fn a_pkce_enabled_slack_app_signs_in_as_a_public_client() {
    let fake = fake_slack::start(SlackApp::PkceEnabled, "T0123ABCD", "U0R7JM").await;
    let public = || Slack::public_client(&fake.config().client_id).issuer_url(fake.issuer());
    let who = whoami_after_login(public(), "slack").await;
    assert_eq!(who["user_id"], "T0123ABCD:U0R7JM");
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    let params = fake.last_authorize_params();
    let method = server::param(&params, "code_challenge_method");
    assert_eq!(method, Some("S256"), "{params:?}");

    // The same set-up against an app without PKCE lacks the secret Slack wants.
    let confidential = fake_slack::start(SlackApp::Confidential, "T0123ABCD", "U0R7JM").await;
    let public =
        Slack::public_client(&confidential.config().client_id).issuer_url(confidential.issuer());
    refused_login(public, "slack", 502, "provider_error").await;
}

#[tokio::test]
async fn one_user_id_in_two_workspaces_is_two_identities() {
    let mut user_ids = Vec::new();
    for team in ["T0123ABCD", "T9999ZZZZ"] {
        let fake = fake_slack::start(SlackApp::Confidential, team, "U0R7JM").await;
        let who = whoami_after_login(slack_for(&fake), "slack").await;
        user_ids.push(who["user_id"].clone());
    }
    assert_eq!(
        user_ids,
        [json!("T0123ABCD:U0R7JM"), json!("T9999ZZZZ:U0R7JM")]
    );
}

#[tokio::test]
async fn an_id_token_without_its_workspace_is_502_provider_error() {
    let fake = fake_slack::start(SlackApp::Confidential, "T0123ABCD", "U0R7JM").await;
    fake.set_extra_claims(json!({"https://slack.com/user_id": "U0R7JM"}));
    refused_login(slack_for(&fake), "slack", 502, "provider_error").await;
}

#[tokio::test]
async fn the_workspace_reaches_the_authorize_hook() {
    let fake = fake_slack::start(SlackApp::Confidential, "T0123ABCD", "U0R7JM").await;
    let base = serve_admitting(slack_for(&fake), SLACK_TEAM_ID, "T0123ABCD").await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/slack?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "slack");

    let other_workspace = serve_admitting(slack_for(&fake), SLACK_TEAM_ID, "T9999").await;
    let visit = Browser::new()
        .follow(&format!("{other_workspace}/auth/slack?login=start"))
        .await;
    visit.assert_error(403, "forbidden");
}
