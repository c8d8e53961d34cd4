//! The identity cookie on every other request: verified, or the request is anonymous; the
//! extractors; and the configuration errors `build()` reports.

use std::time::Duration;

use crate::common::app::{self, json_of, Stack, SECRET};
use crate::common::browser::Browser;
use crate::common::clock::now;
use crate::common::forge::{forge_with, identity_claims};
use serde_json::json;
use socialauth::{ConfigError, Facebook, SocialAuthLayer, Twitter};

/// Signs claims with the layer's identity key, derived from the secret as the crate does.
async fn forge(claims: serde_json::Value, secret: &[u8]) -> String {
    forge_with(&claims.to_string(), secret).await
}

fn claims() -> serde_json::Value {
    identity_claims("42")
}

async fn maybe_with_cookie(app: &app::App, cookie: &str) -> String {
    let browser = Browser::new();
    let response = browser
        .get_with_headers(&app.url("/maybe"), &[("cookie", cookie)])
        .await;
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_valid_identity_cookie_is_read_on_both_stacks() {
    for stack in [Stack::Axum, Stack::Hyper] {
        let app = app::start_with(stack, |b| b).await;
        let cookie = format!("__Host-socialauth={}", forge(claims(), SECRET).await);
        assert_eq!(maybe_with_cookie(&app, &cookie).await, "42", "{stack:?}");
        let browser = Browser::new();
        let whoami = browser
            .get_with_headers(&app.url("/whoami"), &[("cookie", &cookie)])
            .await;
        assert_eq!(whoami.status(), 200);
        assert_eq!(json_of(&whoami.text().await.unwrap())["name"], "Ada");
    }
}

#[tokio::test]
async fn no_cookie_is_anonymous_and_the_extractor_says_sign_in() {
    let app = app::start().await;
    let browser = Browser::new();
    assert_eq!(browser.follow(&app.url("/maybe")).await.body, "anonymous");
    let whoami = browser.follow(&app.url("/whoami")).await;
    whoami.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn without_the_layer_the_extractor_names_it() {
    let addr = crate::common::server::serve(app::axum_app()).await;
    let browser = Browser::new();
    let whoami = browser.follow(&format!("http://{addr}/whoami")).await;
    assert_eq!(whoami.status, 401);
    assert!(whoami.body.contains("SocialAuthLayer"), "{}", whoami.body);
}

#[tokio::test]
async fn invalid_identity_cookies_are_anonymous_never_errors() {
    let app = app::start().await;
    let with = |member: &str, value: serde_json::Value| {
        let mut c = claims();
        c[member] = value;
        c
    };
    let bad_tokens = vec![
        ("garbage", "not-a-jwt".to_owned()),
        ("empty", String::new()),
        (
            "other secret",
            forge(claims(), b"some-other-secret-some-other-sec").await,
        ),
        (
            "expired",
            forge(with("exp", json!(now() - 3600)), SECRET).await,
        ),
        (
            "issued in the future",
            forge(with("iat", json!(now() + 3600)), SECRET).await,
        ),
        (
            "not yet valid",
            forge(with("nbf", json!(now() + 3600)), SECRET).await,
        ),
        (
            "exp as string",
            forge(with("exp", json!("99999999999")), SECRET).await,
        ),
        (
            "email as number",
            forge(with("email", json!(7)), SECRET).await,
        ),
        (
            "name as object",
            forge(with("name", json!({"a": 1})), SECRET).await,
        ),
        (
            "wrong audience",
            forge(with("aud", json!("socialauth:flow")), SECRET).await,
        ),
        (
            "wrong issuer",
            forge(with("iss", json!("evil")), SECRET).await,
        ),
        ("no sub", {
            let mut c = claims();
            c.as_object_mut().unwrap().remove("sub");
            forge(c, SECRET).await
        }),
        ("huge", "a".repeat(100_000)),
    ];
    for (what, token) in bad_tokens {
        let body = maybe_with_cookie(&app, &format!("__Host-socialauth={token}")).await;
        assert_eq!(body, "anonymous", "{what}");
    }
}

#[tokio::test]
async fn a_flow_cookie_presented_as_identity_is_anonymous() {
    let app = app::start().await;
    let browser = Browser::new();
    browser.get(&app.url("/auth/twitter?login=start")).await;
    let (_, flow, _) = browser
        .cookies()
        .into_iter()
        .find(|(n, _, _)| n.contains("socialauth-flow"))
        .unwrap();
    let body = maybe_with_cookie(&app, &format!("__Host-socialauth={flow}")).await;
    assert_eq!(body, "anonymous");
}

#[tokio::test]
async fn two_identity_cookies_in_one_request_are_anonymous_not_first_wins() {
    let app = app::start().await;
    let good = forge(claims(), SECRET).await;
    let mut other = claims();
    other["sub"] = json!("attacker");
    let tossed = forge(other, SECRET).await;
    let body = maybe_with_cookie(
        &app,
        &format!("__Host-socialauth={tossed}; __Host-socialauth={good}"),
    )
    .await;
    assert_eq!(body, "anonymous");
}

#[tokio::test]
async fn the_identity_lifetime_sets_cookie_max_age_and_token_expiry() {
    let app = app::start_with(Stack::Axum, |b| {
        b.identity_lifetime(Duration::from_secs(90))
            .after_login_json()
    })
    .await;
    let browser = Browser::new();
    let callback = browser
        .callback_from(&app.url("/auth/facebook?login=start"))
        .await;
    let done = browser.get(&callback).await;
    let identity = done
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("__Host-socialauth="))
        .unwrap();
    for part in ["Max-Age=90", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(identity.contains(part), "{identity}");
    }
    let token = browser.cookie("__Host-socialauth").unwrap();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        90
    );
    assert_eq!(claims["aud"], "socialauth:identity");
}

#[test]
fn build_reports_configuration_mistakes() {
    let twitter = || Twitter::new("k", "s");
    let err = |b: socialauth::SocialAuthLayerBuilder| b.build().unwrap_err();
    assert_eq!(
        err(SocialAuthLayer::builder().provider(twitter())),
        ConfigError::MissingSecret
    );
    assert_eq!(
        err(SocialAuthLayer::builder()
            .secret([1u8; 16])
            .provider(twitter())),
        ConfigError::SecretTooShort { len: 16 }
    );
    assert_eq!(
        err(SocialAuthLayer::builder().secret(SECRET)),
        ConfigError::NoProvider
    );
    assert_eq!(
        err(SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(twitter())
            .provider(twitter())),
        ConfigError::DuplicateProvider("twitter".into())
    );
    assert!(matches!(
        err(SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(twitter().name("Bad Name"))),
        ConfigError::InvalidProviderName(_)
    ));
    assert!(matches!(
        err(SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(Facebook::new("a", "b").graph_base_url("ftp://x"))),
        ConfigError::InvalidUrl { .. }
    ));
    assert!(matches!(
        err(SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(twitter())
            .flow_lifetime(Duration::from_secs(3600))),
        ConfigError::InvalidSetting { .. }
    ));
    assert!(matches!(
        err(SocialAuthLayer::builder()
            .secret(SECRET)
            .provider(twitter())
            .after_login_redirect("//evil.example")),
        ConfigError::InvalidUrl { .. }
    ));
    let message = ConfigError::SecretTooShort { len: 3 }.to_string();
    assert!(message.contains("32"), "{message}");
}

#[test]
fn debug_output_never_shows_secrets() {
    let builder = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(Twitter::new("consumer-key", "consumer-secret-value"))
        .provider(Facebook::new("app-id", "app-secret-value"));
    let text = format!("{builder:?}");
    let layer = builder.build().unwrap();
    let text = format!("{text}{layer:?}");
    for secret in ["consumer-secret-value", "app-secret-value", "test-secret"] {
        assert!(!text.contains(secret), "Debug shows {secret}");
    }
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_during_the_overlap_and_drops_them_after() {
    const NEW: &[u8] = b"the-new-secret-the-new-secret-32";
    let old_token = forge(claims(), SECRET).await;
    // Rotated: the new secret signs, the old one still verifies.
    let rotated = app::start_with(Stack::Axum, |b| b.secret(NEW).previous_secrets([SECRET])).await;
    let cookie = format!("__Host-socialauth={old_token}");
    assert_eq!(maybe_with_cookie(&rotated, &cookie).await, "42");
    // New logins are signed with the new key: another kid.
    let browser = Browser::new();
    browser
        .follow(&rotated.url("/auth/facebook?login=start"))
        .await;
    let new_token = browser.cookie("__Host-socialauth").unwrap();
    assert_ne!(new_token.split('.').next(), old_token.split('.').next());
    assert_eq!(browser.follow(&rotated.url("/maybe")).await.body, "10001");

    // The old secret removed: its tokens are anonymous (not an error); new ones still work.
    let after = app::start_with(Stack::Axum, |b| b.secret(NEW)).await;
    assert_eq!(maybe_with_cookie(&after, &cookie).await, "anonymous");
    let whoami = Browser::new()
        .get_with_headers(&after.url("/whoami"), &[("cookie", &cookie)])
        .await;
    assert_eq!(whoami.status(), 401);
    let new_cookie = format!("__Host-socialauth={new_token}");
    assert_eq!(maybe_with_cookie(&after, &new_cookie).await, "10001");
}
