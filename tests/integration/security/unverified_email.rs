//! An unverified email is never the identity's ("nOAuth"): an app linking accounts by email
//! would hand an account to whoever typed its owner's address at the provider. The generic
//! `OAuth2` provider has no standard claim to go by, so the email is the identity's only when
//! the app points at the provider's verification flag and it is true (or the app says, in so
//! many words, that the provider verifies every address it returns).
//!
//! Against the strict OpenID Connect fake in plain OAuth 2.0 mode, whose `/userinfo` answers
//! `email` with `email_verified` as configured (`null` when it has none).

use crate::common::app::{json_of, login_with};
use crate::common::fake_oidc::{self, FakeOidc, OidcConfig};
use socialauth::OAuth2;

/// A fake whose userinfo says `email_verified` is `verified` (absent: `null`).
async fn fake_saying(verified: Option<bool>) -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig {
        email_verified: verified,
        ..OidcConfig::new()
    })
    .await;
    fake.set_plain_oauth2(true);
    fake
}

/// The generic provider for `fake`, reading the user id from `/sub` and the email from
/// `/email` (the default).
fn generic_for(fake: &FakeOidc) -> OAuth2 {
    let cfg = fake.config();
    let issuer = fake.issuer();
    OAuth2::new("corp", &cfg.client_id, &cfg.client_secret)
        .authorize_url(format!("{issuer}/authorize"))
        .token_url(fake.token_endpoint())
        .userinfo_url(format!("{issuer}/userinfo"))
        .user_id_field("/sub")
}

/// Signs in with `provider` and answers the identity's email (`null` for none).
async fn email_after_login(provider: OAuth2) -> serde_json::Value {
    let (browser, visit, base) = login_with(provider, "corp").await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["user_id"], "248289761001", "{who}");
    who["email"].clone()
}

#[tokio::test]
async fn generic_oauth2_email_is_the_identitys_only_with_the_providers_verified_flag() {
    // Nothing says the address was verified: no email, whatever the provider says.
    for verified in [None, Some(false), Some(true)] {
        let fake = fake_saying(verified).await;
        assert_eq!(
            email_after_login(generic_for(&fake)).await,
            serde_json::Value::Null,
            "no verification flag configured, the provider says {verified:?}"
        );
    }
    // The flag pointed at: the email only when it is true.
    for (verified, expected) in [
        (None, serde_json::Value::Null),
        (Some(false), serde_json::Value::Null),
        (Some(true), "janedoe@example.com".into()),
    ] {
        let fake = fake_saying(verified).await;
        let provider = generic_for(&fake).email_verified_field("/email_verified");
        assert_eq!(
            email_after_login(provider).await,
            expected,
            "the provider says {verified:?}"
        );
    }
    // The app's explicit word that every address is verified.
    let fake = fake_saying(None).await;
    let provider = generic_for(&fake).assume_email_verified();
    assert_eq!(email_after_login(provider).await, "janedoe@example.com");
}

#[tokio::test]
async fn generic_oauth2_verification_flag_of_another_type_is_502() {
    // `preferred_username` is a string other than "true"/"false": not a flag.
    let fake = fake_saying(Some(true)).await;
    let provider = generic_for(&fake).email_verified_field("/preferred_username");
    let (_, visit, _) = login_with(provider, "corp").await;
    visit.assert_error(502, "provider_error");
}
