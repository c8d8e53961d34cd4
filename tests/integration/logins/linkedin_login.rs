//! LinkedIn logins through the layer, against a fake LinkedIn that does what LinkedIn does
//! for a web app: a `code_verifier` is `401 invalid_client`, and ID tokens carry no `nonce`.

use super::preset_support::{assert_whoami, refused_login, whoami_after_login};
use crate::common::captured_logs;
use crate::common::fake_linkedin;
use crate::common::fake_oidc::{FakeOidc, IdTokenFault};
use crate::common::server;
use serde_json::json;
use socialauth::{LinkedIn, Oidc};

fn linkedin_for(fake: &FakeOidc) -> LinkedIn {
    let cfg = fake.config();
    LinkedIn::new(&cfg.client_id, &cfg.client_secret).issuer_url(fake.issuer())
}

#[tokio::test]
async fn linkedin_signs_in_without_pkce_and_without_a_nonce_in_the_id_token() {
    let fake = fake_linkedin::start().await;
    let who = whoami_after_login(linkedin_for(&fake), "linkedin").await;
    assert_whoami(
        &who,
        json!({"provider": "linkedin", "user_id": "782bbtaQ", "name": "Jane Doe",
               "email": "janedoe@example.com"}),
    );
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    let params = fake.last_authorize_params();
    assert_eq!(server::param(&params, "code_challenge"), None, "{params:?}");
    assert!(server::param(&params, "state").is_some_and(|s| s.len() >= 43));
    assert!(server::param(&params, "nonce").is_some(), "still sent");

    fake.set_user_denies(true);
    refused_login(linkedin_for(&fake), "linkedin", 401, "access_denied").await;
}

#[tokio::test]
async fn a_linkedin_id_token_with_another_logins_nonce_is_still_refused() {
    let fake = fake_linkedin::start().await;
    fake.set_echo_nonce(true);
    fake.set_id_token_fault(IdTokenFault::WrongNonce);
    refused_login(linkedin_for(&fake), "linkedin", 401, "login_failed").await;
}

#[tokio::test(flavor = "current_thread")]
async fn pkce_refused_as_invalid_client_is_logged_with_a_pkce_hint() {
    let fake = fake_linkedin::start().await;
    let captured = captured_logs::capture();
    let with_pkce = Oidc::from(linkedin_for(&fake)).pkce(true);
    refused_login(with_pkce, "linkedin", 502, "provider_error").await;
    let logs = captured.text();
    assert!(
        logs.contains("refused this app's client credentials"),
        "{logs}"
    );
    assert!(logs.contains("may not accept PKCE for this app"), "{logs}");
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_credentials_without_pkce_get_no_pkce_hint() {
    let fake = fake_linkedin::start().await;
    let captured = captured_logs::capture();
    let wrong = LinkedIn::new(&fake.config().client_id, "wrong").issuer_url(fake.issuer());
    refused_login(wrong, "linkedin", 502, "provider_error").await;
    let logs = captured.text();
    assert!(
        logs.contains("refused this app's client credentials"),
        "{logs}"
    );
    assert!(!logs.contains("PKCE"), "{logs}");
}
