//! Sign in with Apple through the layer against a strict fake Apple: the client secret JWT
//! the layer signs from the `.p8` key, the callback Apple posts cross-site
//! (`response_mode=form_post`) carried over to a same-site POST so the `SameSite=Lax` flow
//! cookie is sent, the unsigned `user` JSON used for the name only, string booleans, and the
//! refusals as the layer's JSON errors.

use crate::common::app::{self, json_of, IDENTITY_COOKIE};
use crate::common::browser::{location, Browser};
use crate::common::fake_oidc::{self, AppleClient, FakeOidc, OidcConfig, TokenAuth};
use crate::common::server;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::Engine as _;
use http::header::{CONTENT_TYPE, SET_COOKIE};
use serde_json::json;
use socialauth::{Apple, GitLab, Grant, SocialAuthLayer, UserProfile};
use std::sync::{Arc, Mutex};

const TEAM: &str = "TEAM123456";
const KEY_ID: &str = "KEY1234567";
const USER: &str =
    r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"forged@example.com"}"#;

/// A fresh P-256 key: its `.p8` PEM text and its public point.
fn p8_key() -> (String, Vec<u8>) {
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key");
    let der = key.to_pkcs8v1().expect("PKCS#8");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (pem, key.public_key().as_ref().to_vec())
}

/// A fake Apple for a Services ID whose key is `public`: ID tokens carry the email (with
/// Apple's string booleans) but no name.
async fn fake_apple(public: Vec<u8>, user: Option<&str>) -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig {
        client_id: "com.example.web".into(),
        client_auth: TokenAuth::Post,
        ..OidcConfig::new()
    })
    .await;
    fake.set_apple(Some(AppleClient {
        team_id: TEAM.into(),
        key_id: KEY_ID.into(),
        public_key: public,
        user: user.map(str::to_owned),
    }));
    fake.set_profile_in_id_token(false);
    fake.set_extra_claims(json!({
        "email": "x1y2@privaterelay.appleid.com",
        "email_verified": "true",
        "is_private_email": "true",
    }));
    fake
}

fn apple_for(fake: &FakeOidc, pem: &str) -> Apple {
    Apple::new(&fake.config().client_id, TEAM, KEY_ID, pem).issuer_url(fake.issuer())
}

/// The action and fields of the first form of `page`.
fn form_of(page: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = start + tag[start..].find('"')?;
        Some(
            tag[start..end]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    };
    let form_tag = page.split("<form").nth(1).expect("a form");
    let action = attr(form_tag, "action").expect("an action");
    let fields = page
        .split("<input")
        .skip(1)
        .filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value")?)))
        .collect();
    (action, fields)
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// Serves `apple` and starts a login in a new browser: the browser, the app's base URL and
/// the page where Apple posts the callback (its action and fields).
async fn at_apples_post(apple: Apple) -> (Browser, String, String, Vec<(String, String)>) {
    let base = app::serve_with(apple).await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/apple?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let (action, fields) = form_of(&visit.body);
    (browser, base, action, fields)
}

/// Apple's cross-site POST of `fields` to `action` from `browser`, then the POST to `base` of
/// the form the layer answers with, as the page's script sends it: the layer's answer.
async fn post_and_carry_over(
    browser: &Browser,
    base: &str,
    action: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    let page = browser.post_cross_site(action, &pairs(fields)).await;
    let (again, carried) = form_of(&page.text().await.unwrap());
    browser
        .post(&format!("{base}{again}"), &pairs(&carried))
        .await
}

#[tokio::test]
async fn apples_cross_site_post_is_carried_over_and_the_login_completes() {
    let (pem, public) = p8_key();
    let fake = fake_apple(public, Some(USER)).await;
    let base = app::serve_with(apple_for(&fake, &pem)).await;
    let browser = Browser::new();

    let started = browser.get(&format!("{base}/auth/apple?login=start")).await;
    assert_eq!(started.status(), 303);
    let flow_cookie = started
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.contains("flow"))
        .expect("a flow cookie")
        .to_owned();
    assert!(flow_cookie.contains("SameSite=Lax"), "{flow_cookie}");
    let at_apple = browser.follow(&location(&started)).await;
    assert_eq!(at_apple.status, 200, "{}", at_apple.body);
    let (action, fields) = form_of(&at_apple.body);
    assert_eq!(action, format!("{base}/auth/apple"));
    assert_eq!(
        server::param(&fake.last_authorize_params(), "response_mode"),
        Some("form_post")
    );

    // Apple's POST, from another site: the flow cookie stays in the browser.
    let posted = browser.post_cross_site(&action, &pairs(&fields)).await;
    assert_eq!(posted.status(), 200);
    assert!(posted.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(posted.headers().get(SET_COOKIE).is_none());
    let page = posted.text().await.unwrap();
    let (again, carried) = form_of(&page);
    assert_eq!(again, "/auth/apple");
    for (name, value) in &fields {
        assert_eq!(
            server::param(&carried, name),
            Some(value.as_str()),
            "{name}"
        );
    }

    // The page's own POST is same-site: the cookie goes with it and the login completes.
    let done = browser
        .post(&format!("{base}{again}"), &pairs(&carried))
        .await;
    assert_eq!(done.status(), 303, "{}", done.text().await.unwrap());
    assert!(browser.cookie(IDENTITY_COOKIE).is_some());
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "apple");
    assert_eq!(who["user_id"], "248289761001");
    assert_eq!(who["name"], "Ada Lovelace", "the name from the user JSON");
    assert_eq!(
        who["email"], "x1y2@privaterelay.appleid.com",
        "the email from the signed ID token, never from the user JSON"
    );
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
}

#[tokio::test]
async fn the_refresh_token_reaches_the_hook_and_is_revoked_at_apple() {
    let (pem, public) = p8_key();
    let fake = fake_apple(public, None).await;
    let kept: Arc<Mutex<Option<(String, String)>>> = Arc::default();
    let keep = kept.clone();
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(apple_for(&fake, &pem))
        .authorize(move |user: UserProfile| {
            let keep = keep.clone();
            async move {
                let debug = format!("{user:?}");
                *keep.lock().unwrap() =
                    user.refresh_token().map(|t| (t.secret().to_owned(), debug));
                Ok(Grant::new())
            }
        })
        .build()
        .unwrap();
    let base = app::serve_layer(layer).await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/apple?login=start"))
        .await;
    let (action, fields) = form_of(&visit.body);
    let done = post_and_carry_over(&browser, &base, &action, &fields).await;
    assert_eq!(done.status(), 303);
    let (token, debug) = kept
        .lock()
        .unwrap()
        .clone()
        .expect("the hook got Apple's refresh token");
    assert!(!debug.contains(&token), "{debug}");

    let (other_pem, _) = p8_key();
    let wrong_key = apple_for(&fake, &other_pem).revocation().unwrap();
    let refused = wrong_key.revoke(&token, "refresh_token").await.unwrap_err();
    assert_eq!(refused.kind(), socialauth::AuthErrorKind::ProviderError);
    assert!(fake.revoked_tokens().is_empty());

    let revocation = apple_for(&fake, &pem).revocation().unwrap();
    revocation.revoke(&token, "refresh_token").await.unwrap();
    assert_eq!(fake.revoked_tokens(), [token]);
}

#[tokio::test]
async fn a_carried_over_post_without_the_cookie_is_not_carried_again() {
    let (pem, public) = p8_key();
    let fake = fake_apple(public, None).await;
    let (_, _, action, fields) = at_apples_post(apple_for(&fake, &pem)).await;
    let stranger = Browser::new();
    let base = action.trim_end_matches("/auth/apple");
    let answer = post_and_carry_over(&stranger, base, &action, &fields).await;
    crate::common::app::assert_error(answer, 400, "missing_flow_cookie").await;
}

#[tokio::test]
async fn cancelling_at_apple_is_401_access_denied() {
    let (pem, public) = p8_key();
    let fake = fake_apple(public, None).await;
    fake.set_user_denies(true);
    let (browser, base, action, fields) = at_apples_post(apple_for(&fake, &pem)).await;
    let answer = post_and_carry_over(&browser, &base, &action, &fields).await;
    crate::common::app::assert_error(answer, 401, "access_denied").await;
}

#[tokio::test]
async fn a_secret_signed_with_another_key_is_502_provider_error() {
    let (_, public) = p8_key();
    let (other_pem, _) = p8_key();
    let fake = fake_apple(public, None).await;
    let (browser, base, action, fields) = at_apples_post(apple_for(&fake, &other_pem)).await;
    let answer = post_and_carry_over(&browser, &base, &action, &fields).await;
    crate::common::app::assert_error(answer, 502, "provider_error").await;
    assert!(fake
        .rejections()
        .iter()
        .any(|r| r.contains("signature does not verify")));
}

#[tokio::test]
async fn form_bodies_only_on_form_post_routes_and_only_small_ones() {
    let (pem, _) = p8_key();
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(Apple::new("com.example.web", TEAM, KEY_ID, pem).issuer_url("http://127.0.0.1:9"))
        .provider(GitLab::new("id", "secret").base_url("http://127.0.0.1:9"))
        .build()
        .unwrap();
    let base = app::serve_layer(layer).await;
    let browser = Browser::new();

    let gitlab = browser
        .post(
            &format!("{base}/auth/gitlab"),
            &[("code", "c"), ("state", "s")],
        )
        .await;
    assert_eq!(gitlab.status(), 405);

    let big = "x".repeat(20 * 1024);
    let apple = browser
        .post(
            &format!("{base}/auth/apple"),
            &[("code", &big), ("state", "s")],
        )
        .await;
    crate::common::app::assert_error(apple, 400, "invalid_request").await;

    let start = browser
        .post(&format!("{base}/auth/apple"), &[("login", "start")])
        .await;
    assert_eq!(start.status(), 400);
}

#[test]
fn a_malformed_key_fails_the_build() {
    let built = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(Apple::new(
            "com.example.web",
            TEAM,
            KEY_ID,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ))
        .build();
    let error = built.expect_err("a malformed key is refused");
    assert!(error.to_string().contains("apple private_key"), "{error}");
}
