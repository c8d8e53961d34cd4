//! Logout at the provider (OpenID Connect RP-Initiated Logout, `Oidc::provider_logout`),
//! against the strict OIDC fake: `POST /auth/logout` clears the layer's cookie and sends the
//! browser to the provider's `end_session_endpoint`, which sends it back to the app's
//! after-logout page; and every case where the logout stays local.

use crate::common::app::{self, IDENTITY_COOKIE, TOKENS_COOKIE};
use crate::common::browser::{location, query_param, with_param, Browser};
use crate::common::captured_logs;
use crate::common::clock::Shifted;
use crate::common::fake_oidc::{self, Endpoint, FakeOidc, OidcConfig};
use crate::common::fault::Fault;
use socialauth::revocation::{InMemoryStore, Revocations};
use socialauth::{Oidc, SocialAuthLayer, SocialAuthLayerBuilder};

/// The test app behind a layer with `provider` (and whatever `configure` adds): its base URL.
async fn serve(
    provider: Oidc,
    configure: impl FnOnce(SocialAuthLayerBuilder) -> SocialAuthLayerBuilder,
) -> String {
    let builder = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(provider);
    let layer = configure(builder).build().expect("valid configuration");
    app::serve_layer(layer).await
}

/// Signs a new browser in at `base` through the fake.
async fn signed_in(base: &str) -> Browser {
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/oidc?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    assert_eq!(
        browser.follow(&format!("{base}/maybe")).await.body,
        "248289761001"
    );
    browser
}

/// `POST /auth/logout` from the app's own page: the `303`'s `Location`.
async fn log_out(browser: &Browser, url: &str) -> String {
    let answer = browser.post(url, &[]).await;
    assert_eq!(answer.status(), 303, "{url}");
    location(&answer)
}

async fn assert_signed_out(browser: &Browser, base: &str) {
    assert_eq!(
        browser.cookie(IDENTITY_COOKIE),
        None,
        "identity cookie left"
    );
    assert_eq!(
        browser.follow(&format!("{base}/maybe")).await.body,
        "anonymous"
    );
}

/// Signed out here, and the provider never asked to end a session: a local logout.
async fn assert_logged_out_locally(browser: &Browser, base: &str, fake: &FakeOidc) {
    assert_signed_out(browser, base).await;
    assert_eq!(
        fake.calls(Endpoint::EndSession),
        0,
        "the provider was sent an end-session request"
    );
}

/// The fake, the app behind a layer with provider logout (and whatever `configure` adds),
/// and a browser signed in there.
async fn signed_in_with_provider_logout(
    configure: impl FnOnce(SocialAuthLayerBuilder) -> SocialAuthLayerBuilder,
) -> (FakeOidc, String, Browser) {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    let base = serve(with_provider_logout(&fake), configure).await;
    let browser = signed_in(&base).await;
    (fake, base, browser)
}

/// The fake, and the app behind a layer with provider logout and in-memory revocation.
async fn with_revocation() -> (FakeOidc, String, Revocations) {
    let revocations = Revocations::builder(InMemoryStore::new())
        .start()
        .await
        .expect("an in-memory store starts");
    let fake = fake_oidc::start(OidcConfig::new()).await;
    let base = serve(with_provider_logout(&fake), {
        let revocations = revocations.clone();
        move |b| b.revocation(revocations)
    })
    .await;
    (fake, base, revocations)
}

fn with_provider_logout(fake: &FakeOidc) -> Oidc {
    app::oidc_for(fake).provider_logout(true)
}

#[tokio::test]
async fn logout_ends_the_session_at_the_provider_and_comes_back_to_the_after_logout_page() {
    let (fake, base, browser) =
        signed_in_with_provider_logout(|b| b.after_logout_redirect("/maybe?from=logout")).await;

    let to_provider = log_out(&browser, &format!("{base}/auth/logout")).await;
    assert!(
        to_provider.starts_with(&format!("{}?", fake.end_session_endpoint())),
        "{to_provider}"
    );
    let param = |name| query_param(&to_provider, name);
    assert_eq!(param("client_id").as_deref(), Some("oidc-client"));
    assert_eq!(
        param("post_logout_redirect_uri"),
        Some(format!("{base}/maybe?from=logout")),
        "the after-logout URL, absolute on the app's origin"
    );
    let state = param("state").expect("a state");
    assert_eq!(state.len(), 43, "{state}");
    assert_eq!(param("logout_hint").as_deref(), Some("248289761001"));
    assert_eq!(param("id_token_hint"), None);
    assert_eq!(
        browser.cookie(IDENTITY_COOKIE),
        None,
        "cleared before leaving"
    );

    let back = browser.follow(&to_provider).await;
    let statuses: Vec<u16> = back.hops.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [302, 200], "{:?} {}", back.hops, back.body);
    assert!(
        back.final_url
            .starts_with(&format!("{base}/maybe?from=logout&state=")),
        "{}",
        back.final_url
    );
    assert_eq!(back.body, "anonymous");
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    assert_eq!(fake.end_session_requests().len(), 1);
    assert_signed_out(&browser, &base).await;

    // Each logout has its own state.
    let again = signed_in(&base).await;
    let second = log_out(&again, &format!("{base}/auth/logout")).await;
    assert_ne!(
        query_param(&second, "state").as_deref(),
        Some(state.as_str())
    );
}

#[tokio::test]
async fn with_the_tokens_kept_the_id_token_is_the_hint_and_the_tokens_cookie_goes_too() {
    let (fake, base, browser) =
        signed_in_with_provider_logout(|b| b.keep_provider_tokens(true)).await;
    assert!(browser.cookie(TOKENS_COOKIE).is_some());

    let to_provider = log_out(&browser, &format!("{base}/auth/logout")).await;
    let hint = query_param(&to_provider, "id_token_hint").expect("an id_token_hint");
    assert!(
        fake.issued_tokens().contains(&hint),
        "the login's ID token: {hint}"
    );
    assert_eq!(query_param(&to_provider, "logout_hint"), None);
    assert_eq!(browser.cookie(TOKENS_COOKIE), None, "tokens cookie left");

    let back = browser.follow(&to_provider).await;
    assert_eq!(back.status, 200, "{:?} {}", back.hops, back.body);
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    assert_eq!(fake.end_session_requests().len(), 1);
    assert_signed_out(&browser, &base).await;
}

#[tokio::test]
async fn without_provider_logout_the_logout_stays_local() {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    let base = serve(app::oidc_for(&fake), |b| b).await;
    let browser = signed_in(&base).await;
    assert_eq!(log_out(&browser, &format!("{base}/auth/logout")).await, "/");
    assert_logged_out_locally(&browser, &base, &fake).await;
}

#[tokio::test]
async fn a_provider_without_an_end_session_endpoint_gets_a_local_logout_and_a_warning() {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_end_session_endpoint(false);
    let base = serve(with_provider_logout(&fake), |b| b).await;
    let browser = signed_in(&base).await;
    let captured = captured_logs::capture();
    assert_eq!(log_out(&browser, &format!("{base}/auth/logout")).await, "/");
    assert_signed_out(&browser, &base).await;
    let logs = captured.text();
    assert!(
        logs.contains("WARN") && logs.contains("no end_session_endpoint"),
        "{logs}"
    );
    assert_eq!(fake.calls(Endpoint::EndSession), 0);
}

#[tokio::test]
async fn an_after_logout_url_on_another_origin_is_never_sent_to_the_provider() {
    let (fake, base, browser) =
        signed_in_with_provider_logout(|b| b.after_logout_redirect("https://www.example/goodbye"))
            .await;
    assert_eq!(
        log_out(&browser, &format!("{base}/auth/logout")).await,
        "https://www.example/goodbye",
        "a local logout, to the configured page"
    );
    assert_logged_out_locally(&browser, &base, &fake).await;
}

#[tokio::test]
async fn a_discovery_failure_at_logout_still_logs_out_locally() {
    let (fake, first, browser) = signed_in_with_provider_logout(|b| b).await;
    // A second replica (same secret), which has not fetched discovery yet, and now cannot.
    let second = serve(with_provider_logout(&fake), |b| b).await;
    fake.set_fault(
        Endpoint::Discovery,
        Fault::Status(503, "unavailable".into()),
    );
    assert_eq!(
        log_out(&browser, &format!("{second}/auth/logout")).await,
        "/"
    );
    assert_logged_out_locally(&browser, &first, &fake).await;
}

#[tokio::test]
async fn a_cross_site_logout_is_refused_and_never_sent_to_the_provider() {
    let (fake, base, browser) = signed_in_with_provider_logout(|b| b).await;
    for header in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let refused = browser
            .request(
                http::Method::POST,
                &format!("{base}/auth/logout"),
                &[header],
                None,
            )
            .await;
        assert_eq!(refused.status(), 403, "{header:?}");
        assert!(refused.headers().get("location").is_none());
    }
    assert_eq!(
        browser.follow(&format!("{base}/maybe")).await.body,
        "248289761001",
        "still signed in"
    );
    assert_eq!(fake.calls(Endpoint::EndSession), 0);
}

#[tokio::test]
async fn logout_everywhere_revokes_every_session_and_ends_the_provider_session() {
    let (fake, base, _revocations) = with_revocation().await;
    let browser = signed_in(&base).await;
    let other_device = signed_in(&base).await;

    let to_provider = log_out(&browser, &format!("{base}/auth/logout?everywhere=1")).await;
    assert!(
        to_provider.starts_with(&format!("{}?", fake.end_session_endpoint())),
        "{to_provider}"
    );
    let back = browser.follow(&to_provider).await;
    assert_eq!(back.status, 200, "{:?} {}", back.hops, back.body);
    assert_eq!(
        other_device.follow(&format!("{base}/maybe")).await.body,
        "anonymous",
        "every session of the user is revoked"
    );
    assert_eq!(fake.end_session_requests().len(), 1);
}

#[tokio::test]
async fn an_expired_sign_in_still_ends_at_the_provider() {
    let time = Shifted::default();
    let (fake, base, browser) = signed_in_with_provider_logout({
        let clock = time.clock();
        move |b| b.clock(clock)
    })
    .await;
    time.advance(8 * 24 * 3600); // past the 7-day identity lifetime
    assert_eq!(
        browser.follow(&format!("{base}/maybe")).await.body,
        "anonymous",
        "expired here"
    );

    let to_provider = log_out(&browser, &format!("{base}/auth/logout")).await;
    assert!(
        to_provider.starts_with(&format!("{}?", fake.end_session_endpoint())),
        "an expired sign-in got only a local logout: {to_provider}"
    );
    assert_eq!(
        query_param(&to_provider, "logout_hint").as_deref(),
        Some("248289761001")
    );
    let back = browser.follow(&to_provider).await;
    assert_eq!(back.status, 200, "{:?} {}", back.hops, back.body);
    assert_signed_out(&browser, &base).await;
}

#[tokio::test]
async fn a_revoked_sign_in_ends_at_the_provider_without_revoking_more_on_its_word() {
    let (fake, base, revocations) = with_revocation().await;
    let browser = signed_in(&base).await;
    revocations
        .revoke_user("oidc", "248289761001")
        .await
        .expect("revoked");
    // Signed in again after the revocation, on another device.
    let other_device = signed_in(&base).await;
    assert_eq!(revocations.len(), 1);

    // The revoked cookie's "sign out everywhere" still reaches the provider, but revokes
    // nothing: a lapsed token is not trusted to end the newer session.
    let to_provider = log_out(&browser, &format!("{base}/auth/logout?everywhere=1")).await;
    assert!(
        to_provider.starts_with(&format!("{}?", fake.end_session_endpoint())),
        "{to_provider}"
    );
    assert_eq!(revocations.len(), 1, "nothing more revoked");
    assert_eq!(
        other_device.follow(&format!("{base}/maybe")).await.body,
        "248289761001"
    );
}

#[tokio::test]
async fn a_forged_identity_cookie_gets_a_local_logout_only() {
    let (fake, base, browser) = signed_in_with_provider_logout(|b| b).await;
    let real = browser.cookie(IDENTITY_COOKIE).expect("signed in");
    // Same header and claims, another signature.
    let (signed, _) = real.rsplit_once('.').expect("a JWT");
    let forged = format!("{signed}.{}", "A".repeat(43));
    browser.set_cookie("127.0.0.1", IDENTITY_COOKIE, &forged, "/");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), Some(forged));

    let answer = browser.post(&format!("{base}/auth/logout"), &[]).await;
    assert_eq!(answer.status(), 303);
    assert_eq!(location(&answer), "/", "a forged cookie is never sent on");
    assert!(fake.end_session_requests().is_empty());
}

/// The fake is strict, so the tests above mean something: it refuses what a real
/// provider would.
#[tokio::test]
async fn the_fake_refuses_end_session_requests_a_strict_provider_would() {
    let (fake, base, browser) = signed_in_with_provider_logout(|b| b).await;
    let good = log_out(&browser, &format!("{base}/auth/logout")).await;
    let endpoint = fake.end_session_endpoint();
    let with = |name: &str, value: Option<&str>| with_param(&good, name, value);
    let unknown_token = with_param(
        &with("logout_hint", None),
        "id_token_hint",
        Some("made.up.token"),
    );
    let cases = [
        with("client_id", Some("someone-else")),
        with("post_logout_redirect_uri", Some("https://evil.example/")),
        with("post_logout_redirect_uri", Some("/relative")),
        with("state", None),
        with("logout_hint", Some("another-user")),
        with("logout_hint", None),
        with("id_token_hint", Some("made.up.token")),
        unknown_token,
    ];
    for url in &cases {
        assert!(url.starts_with(&endpoint), "{url}");
        let refused = browser.get(url).await;
        assert_eq!(refused.status(), 400, "{url}");
    }
    assert_eq!(fake.rejections().len(), cases.len());
    assert!(fake.end_session_requests().is_empty());
    assert_eq!(browser.get(&good).await.status(), 302);
}
