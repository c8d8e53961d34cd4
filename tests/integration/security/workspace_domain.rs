//! A Google Workspace domain is decided on `hd`, not on the email's domain: Google's ID token
//! carries `hd` only for accounts of a Workspace (or Cloud) organization, and "the absence of
//! this claim indicates that the account does not belong to a Google hosted domain"
//! (https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload).
//! A personal Google account may have a verified address at any domain. The Google preset
//! passes `hd` to the authorize hook, which admits a domain's members by it.
//!
//! Against the strict OpenID Connect fake, its ID tokens carrying `hd` as Google's do.

use serde_json::{json, Value};
use socialauth::{Denied, Google, Grant, SocialAuthLayer, UserProfile};

use crate::common::app::{json_of, serve_layer, SECRET};
use crate::common::browser::Browser;
use crate::common::fake_oidc::{self, FakeOidc, OidcConfig};

/// A fake Google whose user has a verified address at example.com, and whose ID tokens
/// carry these extra claims.
async fn google_user(claims: Value) -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig {
        email: "jane@example.com".into(),
        ..OidcConfig::new()
    })
    .await;
    fake.set_extra_claims(claims);
    fake
}

/// Signs in through the Google preset at `fake`, with an authorize hook that admits members
/// of the example.com Workspace only: the login's final status, and the `hd` the hook saw.
async fn login_to_example_com_app(fake: &FakeOidc) -> (u16, Option<Value>) {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let keep = seen.clone();
    let cfg = fake.config();
    let layer = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(Google::new(&cfg.client_id, &cfg.client_secret).issuer_url(fake.issuer()))
        .authorize(move |user: UserProfile| {
            let keep = keep.clone();
            async move {
                let hd = user.claim("hd").cloned();
                *keep.lock().unwrap() = hd.clone();
                if hd.as_ref().and_then(Value::as_str) == Some("example.com") {
                    Ok(Grant::new())
                } else {
                    Err(Denied::new("Sign in with your example.com account."))
                }
            }
        })
        .build()
        .expect("valid configuration");
    let base = serve_layer(layer).await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/google?login=start"))
        .await;
    if visit.status == 200 {
        let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
        assert_eq!(who["email"], "jane@example.com", "{who}");
    }
    let hd = seen.lock().unwrap().clone();
    (visit.status, hd)
}

#[tokio::test]
async fn google_hd_reaches_the_authorize_hook_and_an_email_domain_alone_does_not_admit() {
    // A member of the example.com Workspace.
    let member = google_user(json!({"hd": "example.com"})).await;
    let (status, hd) = login_to_example_com_app(&member).await;
    assert_eq!(hd, Some(json!("example.com")));
    assert_eq!(status, 200);

    // A personal account with a verified example.com address: no `hd`, refused.
    let personal = google_user(json!({})).await;
    let (status, hd) = login_to_example_com_app(&personal).await;
    assert_eq!(hd, None);
    assert_eq!(status, 403);

    // A member of another Workspace with an example.com address: its own `hd`, refused.
    let other = google_user(json!({"hd": "example.org"})).await;
    let (status, hd) = login_to_example_com_app(&other).await;
    assert_eq!(hd, Some(json!("example.org")));
    assert_eq!(status, 403);
}
