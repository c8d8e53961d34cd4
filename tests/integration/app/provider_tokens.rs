//! Provider tokens for the app: the authorize hook sees them, and with
//! `keep_provider_tokens` a handler gets a valid access token, refreshed by the layer when it
//! expires (once, however many requests ask at once), from a cookie bound to the sign-in.
//! Against the strict OpenID Connect fake, which issues and rotates refresh tokens and counts
//! refreshes; time is moved with the layer's clock.

use std::sync::{Arc, Mutex};

use crate::common::app::{axum_app, json_of, oidc_for, IDENTITY_COOKIE, SECRET, TOKENS_COOKIE};
use crate::common::browser::Browser;
use crate::common::clock::Shifted;
use crate::common::fake_oidc::{self, FakeOidc, OidcConfig, RefreshIdToken};
use crate::common::server;
use axum::routing::get;
use socialauth::{
    Grant, OAuth2, ProviderTokens, SocialAuthLayer, SocialAuthLayerBuilder, UserProfile,
};

struct Setup {
    fake: FakeOidc,
    base: String,
    time: Shifted,
}

async fn serve(
    fake: FakeOidc,
    configure: impl FnOnce(SocialAuthLayerBuilder) -> SocialAuthLayerBuilder,
) -> Setup {
    let time = Shifted::default();
    let builder = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(oidc_for(&fake))
        .clock(time.clock());
    let layer = configure(builder).build().expect("valid configuration");
    // The ID token kept for the sign-in, refreshed first when the access token expired.
    let app = axum_app().route(
        "/provider-id-token",
        get(|tokens: ProviderTokens| async move {
            let tokens = tokens.fresh().await?;
            let id_token = tokens.id_token().map(|token| token.secret().to_owned());
            Ok::<_, socialauth::ProviderTokensError>(id_token.unwrap_or_default())
        }),
    );
    let addr = server::serve(app.layer(layer)).await;
    Setup {
        fake,
        base: format!("http://{addr}"),
        time,
    }
}

/// The fake issuing refresh tokens and 300-second access tokens, behind a layer keeping the
/// tokens.
async fn keeping(rotate: bool) -> Setup {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_refresh_tokens(300, rotate);
    serve(fake, |b| b.keep_provider_tokens(true)).await
}

async fn login(setup: &Setup) -> Browser {
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{}/auth/oidc?login=start", setup.base))
        .await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    browser
}

/// The identity and tokens cookies a browser holds after signing in.
fn sign_in_cookies(browser: &Browser) -> (String, String) {
    let identity = browser.cookie(IDENTITY_COOKIE).expect("identity cookie");
    let tokens = browser.cookie(TOKENS_COOKIE).expect("tokens cookie");
    (identity, tokens)
}

/// Signs a new browser in: its identity and tokens cookies.
async fn signed_in(setup: &Setup) -> (String, String) {
    sign_in_cookies(&login(setup).await)
}

/// A `401` for the provider tokens, with the JSON error `error`.
fn assert_tokens_refused(status: u16, body: &str, error: &str) {
    assert_eq!(status, 401, "expected {error}: {body}");
    assert_eq!(json_of(body)["error"], error, "{body}");
}

/// `GET /provider-token` with exactly `cookie` as the `Cookie` header.
async fn provider_token_with_cookie(base: &str, cookie: &str) -> reqwest::Response {
    Browser::new()
        .get_with_headers(&format!("{base}/provider-token"), &[("cookie", cookie)])
        .await
}

/// `GET /provider-token` with exactly these cookies: status, body, and the tokens cookie the
/// response sets.
async fn provider_token(base: &str, identity: &str, tokens: &str) -> (u16, String, Option<String>) {
    get_with_tokens(base, "/provider-token", identity, tokens).await
}

/// `GET path` with exactly these cookies: status, body, and the tokens cookie the response
/// sets.
async fn get_with_tokens(
    base: &str,
    path: &str,
    identity: &str,
    tokens: &str,
) -> (u16, String, Option<String>) {
    let cookie = format!("{IDENTITY_COOKIE}={identity}; {TOKENS_COOKIE}={tokens}");
    let answer = Browser::new()
        .get_with_headers(&format!("{base}{path}"), &[("cookie", &cookie)])
        .await;
    let status = answer.status().as_u16();
    let set = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{TOKENS_COOKIE}=")))
        .map(|v| {
            let pair = v.split(';').next().unwrap_or_default();
            pair.trim_start_matches(&format!("{TOKENS_COOKIE}="))
                .to_owned()
        });
    (status, answer.text().await.unwrap_or_default(), set)
}

#[tokio::test]
async fn a_handler_gets_the_access_token_then_one_refresh_serves_50_concurrent_requests() {
    let setup = keeping(false).await;
    let (identity, tokens) = signed_in(&setup).await;
    assert!(!tokens.contains("at-"), "the tokens cookie is encrypted");

    let (status, first, set) = provider_token(&setup.base, &identity, &tokens).await;
    assert_eq!(status, 200, "{first}");
    assert!(first.starts_with("at-"), "{first}");
    assert!(set.is_none(), "nothing to rewrite while the token is valid");
    assert_eq!(setup.fake.refreshes(), 0);

    // Past the access token's 300 s: 50 requests at once, one refresh.
    setup.time.advance(301);
    let base = Arc::new(setup.base.clone());
    let answers: Vec<_> = (0..50)
        .map(|_| {
            let (base, identity, tokens) = (base.clone(), identity.clone(), tokens.clone());
            tokio::spawn(async move { provider_token(&base, &identity, &tokens).await })
        })
        .collect();
    let mut renewed = Vec::new();
    for answer in answers {
        let (status, body, set) = answer.await.unwrap();
        assert_eq!(status, 200, "{body}");
        renewed.push((body, set.expect("the refreshed tokens cookie")));
    }
    assert_eq!(setup.fake.refreshes(), 1, "one refresh for 50 requests");
    let second = &renewed[0].0;
    assert_ne!(second, &first);
    assert!(renewed.iter().all(|(body, _)| body == second));

    // The rewritten cookie holds the new token: no further refresh.
    let (status, body, set) = provider_token(&setup.base, &identity, &renewed[0].1).await;
    assert_eq!((status, body.as_str()), (200, second.as_str()));
    assert!(set.is_none());
    assert_eq!(setup.fake.refreshes(), 1);
}

#[tokio::test]
async fn with_rotating_refresh_tokens_a_late_request_with_the_old_cookie_reuses_the_refresh() {
    let setup = keeping(true).await;
    let (identity, old) = signed_in(&setup).await;
    setup.time.advance(301);
    let (status, refreshed, new_cookie) = provider_token(&setup.base, &identity, &old).await;
    assert_eq!(status, 200, "{refreshed}");
    // Sent before the browser had the new cookie: the spent refresh token is not sent again.
    let (status, again, _) = provider_token(&setup.base, &identity, &old).await;
    assert_eq!((status, again.as_str()), (200, refreshed.as_str()));
    assert_eq!(setup.fake.refreshes(), 1);

    // Past the next expiry, the rotated refresh token works.
    setup.time.advance(301);
    let (status, third, _) = provider_token(&setup.base, &identity, &new_cookie.unwrap()).await;
    assert_eq!(status, 200, "{third}");
    assert_ne!(third, refreshed);
    assert_eq!(setup.fake.refreshes(), 2);
}

#[tokio::test]
async fn a_refreshed_id_token_is_kept_only_when_it_verifies_and_names_the_same_user() {
    let setup = keeping(false).await;
    setup.fake.set_refresh_id_token(RefreshIdToken::Genuine);
    let (identity, tokens) = signed_in(&setup).await;
    let id_token = |tokens: String| {
        let (base, identity) = (setup.base.clone(), identity.clone());
        async move { get_with_tokens(&base, "/provider-id-token", &identity, &tokens).await }
    };
    let (status, at_login, _) = id_token(tokens.clone()).await;
    assert_eq!(status, 200, "{at_login}");
    assert_eq!(at_login.split('.').count(), 3, "{at_login}");
    // A refresh answered with a genuine ID token: kept, and it is the provider's newest.
    setup.time.advance(301);
    let (status, refreshed, set) = id_token(tokens).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_ne!(refreshed, at_login);
    assert_eq!(setup.fake.issued_tokens().last(), Some(&refreshed));
    assert!(set.is_some());

    for (kind, what) in [
        (RefreshIdToken::OtherUser, "about another user"),
        (RefreshIdToken::Forged, "signed by another key"),
    ] {
        let setup = keeping(false).await;
        setup.fake.set_refresh_id_token(kind);
        let (identity, tokens) = signed_in(&setup).await;
        setup.time.advance(301);
        let (status, body, set) =
            get_with_tokens(&setup.base, "/provider-id-token", &identity, &tokens).await;
        assert_tokens_refused(status, &body, "provider_tokens_expired");
        assert!(set.is_none(), "an ID token {what} is not kept");
        assert_eq!(setup.fake.refreshes(), 1, "{what}");
        // Nor is its access token handed out.
        let (status, body, _) = provider_token(&setup.base, &identity, &tokens).await;
        assert_tokens_refused(status, &body, "provider_tokens_expired");
    }
}

/// Another replica of `setup`'s app: the same secret, provider and clock, its own process
/// state (no refresh seen).
async fn replica(setup: &Setup) -> String {
    let layer = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(oidc_for(&setup.fake))
        .clock(setup.time.clock())
        .keep_provider_tokens(true)
        .build()
        .expect("valid configuration");
    format!("http://{}", server::serve(axum_app().layer(layer)).await)
}

#[tokio::test]
async fn a_tokens_cookie_from_before_a_rotation_replayed_after_the_reuse_window_spends_nothing() {
    let setup = keeping(true).await;
    setup.fake.set_refresh_reuse_detection(true);
    let (identity, old) = signed_in(&setup).await;
    setup.time.advance(301);
    let (status, body, new) = provider_token(&setup.base, &identity, &old).await;
    assert_eq!(status, 200, "{body}");
    let new = new.expect("the refreshed tokens cookie");
    assert_eq!(setup.fake.refreshes(), 1);

    // Past the minute a refresh answers for, the old cookie again (a copy, or a tab that
    // missed the new one): its refresh token is spent, and it is not sent again.
    setup.time.advance(61);
    let (status, body, set) = provider_token(&setup.base, &identity, &old).await;
    assert_tokens_refused(status, &body, "provider_tokens_expired");
    assert!(set.is_none());
    assert_eq!(setup.fake.refreshes(), 1, "no refresh with a spent token");
    // So the provider's reuse detection revoked nothing: the current cookie still refreshes.
    setup.time.advance(301);
    let (status, body, _) = provider_token(&setup.base, &identity, &new).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(setup.fake.refreshes(), 2);

    // A replica that never saw the refresh sends the spent token once: the provider's
    // invalid_grant is 401 provider_tokens_expired, and the token is not sent again.
    let other = replica(&setup).await;
    for _ in 0..2 {
        let (status, body, set) = provider_token(&other, &identity, &old).await;
        assert_tokens_refused(status, &body, "provider_tokens_expired");
        assert!(set.is_none());
    }
    assert_eq!(setup.fake.refreshes(), 3, "one refused refresh, then none");
    let rejections = setup.fake.rejections();
    assert!(
        rejections
            .iter()
            .any(|r| r.starts_with("Token: invalid_grant") && r.contains("reused")),
        "{rejections:?}"
    );
}

#[tokio::test]
async fn a_refused_refresh_is_a_401_and_no_refresh_token_is_one_too() {
    let setup = keeping(false).await;
    let (identity, tokens) = signed_in(&setup).await;
    setup.fake.revoke_refresh_tokens();
    setup.time.advance(301);
    let (status, body, set) = provider_token(&setup.base, &identity, &tokens).await;
    assert_tokens_refused(status, &body, "provider_tokens_expired");
    assert!(!body.contains("r-") && !body.contains("at-"), "{body}");
    assert!(set.is_none());
    assert_eq!(setup.fake.refreshes(), 1);

    // A provider that issues no refresh token: expired is expired.
    let fake = fake_oidc::start(OidcConfig::new()).await;
    let setup = serve(fake, |b| b.keep_provider_tokens(true)).await;
    let (identity, tokens) = signed_in(&setup).await;
    setup.time.advance(301);
    let (status, body, _) = provider_token(&setup.base, &identity, &tokens).await;
    assert_tokens_refused(status, &body, "provider_tokens_expired");
    assert_eq!(setup.fake.refreshes(), 0);
}

#[tokio::test]
async fn a_tokens_cookie_opens_only_with_the_identity_of_its_own_sign_in() {
    let setup = keeping(false).await;
    let first = login(&setup).await;
    let second = login(&setup).await;
    let identity = first.cookie(IDENTITY_COOKIE).unwrap();
    let own = first.cookie(TOKENS_COOKIE).unwrap();
    let other = second.cookie(TOKENS_COOKIE).unwrap();
    assert_eq!(provider_token(&setup.base, &identity, &own).await.0, 200);
    // Same user, another login: not this sign-in's tokens.
    let (status, body, _) = provider_token(&setup.base, &identity, &other).await;
    assert_tokens_refused(status, &body, "provider_tokens_missing");
    // A damaged cookie, and none at all.
    let mut damaged = own.clone();
    damaged.replace_range(10..11, if &own[10..11] == "A" { "B" } else { "A" });
    assert_eq!(
        provider_token(&setup.base, &identity, &damaged).await.0,
        401
    );
    let cookie = format!("{IDENTITY_COOKIE}={identity}");
    let none = provider_token_with_cookie(&setup.base, &cookie).await;
    assert_eq!(none.status(), 401);
    // Without an identity, the tokens cookie alone gives nothing.
    let cookie = format!("{TOKENS_COOKIE}={own}");
    let alone = provider_token_with_cookie(&setup.base, &cookie).await;
    assert_eq!(alone.status(), 401);
}

#[tokio::test]
async fn tokens_too_large_for_the_budget_without_a_refresh_token_fail_the_login_saying_so() {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_access_token_bytes(1600);
    let setup = serve(fake, |b| b.keep_provider_tokens(true)).await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{}/auth/oidc?login=start", setup.base))
        .await;
    assert_eq!(visit.status, 500, "{}", visit.body);
    let error = json_of(&visit.body);
    assert_eq!(error["error"], "internal_error");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("too large for the cookie budget"),
        "{error}"
    );
    assert!(browser.cookie(IDENTITY_COOKIE).is_none());
    assert!(browser.cookie(TOKENS_COOKIE).is_none());

    // The same tokens, not kept in a cookie: the login works.
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_access_token_bytes(1600);
    let setup = serve(fake, |b| b).await;
    let browser = login(&setup).await;
    assert!(browser.cookie(TOKENS_COOKIE).is_none());
}

#[tokio::test]
async fn the_authorize_hook_gets_the_tokens_and_debug_shows_none_of_them() {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_refresh_tokens(300, false);
    let seen: Arc<Mutex<Option<UserProfile>>> = Arc::default();
    let keep = seen.clone();
    let setup = serve(fake, move |b| {
        b.authorize(move |profile| {
            let keep = keep.clone();
            async move {
                *keep.lock().unwrap() = Some(profile);
                Ok(Grant::new())
            }
        })
    })
    .await;
    let browser = login(&setup).await;
    // Not kept in a cookie unless asked for.
    assert!(browser.cookie(TOKENS_COOKIE).is_none());
    let profile = seen.lock().unwrap().clone().expect("the hook ran");
    let tokens = profile.tokens().expect("an OIDC login has tokens");
    assert!(tokens.access_token().secret().starts_with("at-"));
    assert!(tokens.refresh_token().unwrap().secret().starts_with("r-"));
    assert_eq!(
        tokens.id_token().map(|t| t.secret().split('.').count()),
        Some(3)
    );
    let expires = tokens.expires_at().unwrap();
    let left = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap()
        .as_secs();
    assert!((290..=300).contains(&left), "{left}");
    let debug = format!("{profile:?}");
    for secret in [
        tokens.access_token().secret(),
        tokens.refresh_token().unwrap().secret(),
        tokens.id_token().unwrap().secret(),
    ] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[tokio::test]
async fn a_generic_oauth2_provider_refreshes_through_the_same_core() {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_plain_oauth2(true);
    fake.set_refresh_tokens(300, true);
    let issuer = fake.issuer();
    let cfg = fake.config();
    let provider = OAuth2::new("corp", &cfg.client_id, &cfg.client_secret)
        .authorize_url(format!("{issuer}/authorize"))
        .token_url(fake.token_endpoint())
        .userinfo_url(format!("{issuer}/userinfo"))
        .user_id_field("/sub");
    let time = Shifted::default();
    let layer = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(provider)
        .clock(time.clock())
        .keep_provider_tokens(true)
        .build()
        .unwrap();
    let base = format!("http://{}", server::serve(axum_app().layer(layer)).await);
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/corp?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let (identity, tokens) = sign_in_cookies(&browser);
    let (_, first, _) = provider_token(&base, &identity, &tokens).await;
    time.advance(301);
    let (status, second, set) = provider_token(&base, &identity, &tokens).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(first, second);
    assert!(set.is_some());
    assert_eq!(fake.refreshes(), 1);
}
