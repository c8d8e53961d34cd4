//! Provider tokens of enterprise size: the strict OpenID Connect fake issuing Keycloak's and
//! Entra ID's tokens in their shape and size (JWT access tokens signed with its key, refresh
//! tokens of their lengths, rotated at every refresh with the old one still valid), and a
//! layer keeping them. A login keeps what fits the cookie budget (the README's sizes and
//! order), a handler gets an access token the provider takes, after expiry too, refreshes
//! stay one per sign-in and process, and what the handler is told matches what was kept.

use std::sync::Arc;

use crate::common::app::{json_of, IDENTITY_COOKIE, TOKENS_COOKIE};
use crate::common::browser::{location, Browser};
use crate::common::clock::Shifted;
use crate::common::fake_oidc::{FakeOidc, RefreshIdToken};
use crate::common::kept_tokens::{
    self, fake, login, provider_accepts, serve, tokens, ACCESS_TOKEN_LIFETIME, RAISED,
};
use crate::common::token_shapes::TokenShape;
use socialauth::{CookieBudget, KeepTokens, SocialAuthLayerBuilder};

/// The default budget's limits.
const COOKIE_HEADER: usize = 6 * 1024 - 1024;
const SET_COOKIE: usize = 3584;

/// One fake of `shape` as provider `idp` behind a layer made by `configure`.
async fn setup(
    shape: TokenShape,
    configure: impl FnOnce(SocialAuthLayerBuilder) -> SocialAuthLayerBuilder,
) -> (FakeOidc, String, Shifted) {
    let fake = fake(Some(shape)).await;
    let time = Shifted::default();
    let base = serve(configure(kept_tokens::builder(&[("idp", &fake)], &time))).await;
    (fake, base, time)
}

/// Every `Set-Cookie` within 4,096 bytes, with its name and attributes.
#[track_caller]
fn assert_each_cookie_fits(set_cookies: &[String]) {
    for value in set_cookies {
        assert!(
            value.len() <= 4096,
            "{} bytes: {}",
            value.len(),
            &value[..60]
        );
    }
}

/// The bytes of the `Cookie` header `browser` sends to `base`.
fn cookie_header_bytes(browser: &Browser, base: &str) -> usize {
    browser
        .cookie_header_for(base)
        .map_or(0, |header| header.len())
}

#[tokio::test]
async fn keycloak_sized_tokens_fit_the_default_budget_and_give_a_working_token_after_expiry() {
    let (fake, base, time) = setup(TokenShape::Keycloak, |b| b).await;
    let browser = Browser::new();
    let answer = login(&browser, &base, "idp").await;
    assert_eq!(answer.status, 303, "{:?}", answer.set_cookies);
    assert_each_cookie_fits(&answer.set_cookies);
    let (set_cookie, cookie) = (
        answer.set_cookie_bytes(),
        cookie_header_bytes(&browser, &base),
    );
    eprintln!("keycloak, default budget: Set-Cookie {set_cookie} B, Cookie {cookie} B");
    assert!(set_cookie <= SET_COOKIE && cookie <= COOKIE_HEADER);

    // The full set (sealed, some 5 KB) and the set without its ID token (some 3.3 KB) do
    // not fit beside the identity cookie in 3.5 KiB of Set-Cookie: the refresh token alone.
    let (status, first) = tokens(&browser, &base).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["kept"], "RefreshTokenOnly");
    assert_eq!(first["id_token"], false);
    let access_token = first["access_token"].as_str().unwrap();
    assert_eq!(
        access_token.split('.').count(),
        3,
        "Keycloak's access token is a JWT"
    );
    assert!(provider_accepts(&fake, access_token).await);
    assert_eq!(
        fake.refreshes(),
        0,
        "the login's access token is held: no refresh"
    );

    time.advance(ACCESS_TOKEN_LIFETIME + 1);
    let (status, second) = tokens(&browser, &base).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["access_token"], first["access_token"]);
    assert!(provider_accepts(&fake, second["access_token"].as_str().unwrap()).await);
    assert_eq!(fake.refreshes(), 1);
    // Held now: the next requests do not refresh.
    for _ in 0..3 {
        assert_eq!(
            tokens(&browser, &base).await.1["access_token"],
            second["access_token"]
        );
    }
    assert_eq!(fake.refreshes(), 1);
}

#[tokio::test]
async fn entra_sized_tokens_refresh_once_per_replica_for_concurrent_requests_then_are_held() {
    let (fake, base, time) = setup(TokenShape::entra_large(), |b| b).await;
    let browser = Browser::new();
    let answer = login(&browser, &base, "idp").await;
    assert_eq!(answer.status, 303);
    assert_each_cookie_fits(&answer.set_cookies);
    eprintln!(
        "entra (large), default budget: Set-Cookie {} B, Cookie {} B, tokens cookie {} B",
        answer.set_cookie_bytes(),
        cookie_header_bytes(&browser, &base),
        answer
            .tokens_cookies()
            .iter()
            .map(|c| c.len())
            .sum::<usize>(),
    );
    assert!(answer.set_cookie_bytes() <= SET_COOKIE);
    let (status, at_login) = tokens(&browser, &base).await;
    assert_eq!(
        (status, &at_login["kept"]),
        (200, &"RefreshTokenOnly".into())
    );

    // Another replica: the same secret and provider, none of this process's memory. Twenty
    // requests at once with the login's cookies: one refresh, one access token for all.
    let replica = serve(kept_tokens::builder(&[("idp", &fake)], &time)).await;
    let cookie = browser.cookie_header_for(&replica).unwrap();
    let replica = Arc::new(replica);
    let answers: Vec<_> = (0..20)
        .map(|_| {
            let (replica, cookie) = (replica.clone(), cookie.clone());
            tokio::spawn(async move {
                let answer = Browser::new()
                    .get_with_headers(&format!("{replica}/tokens"), &[("cookie", &cookie)])
                    .await;
                let rotated = answer
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .any(|v| v.to_str().unwrap().starts_with(TOKENS_COOKIE));
                (
                    answer.status().as_u16(),
                    rotated,
                    json_of(&answer.text().await.unwrap()),
                )
            })
        })
        .collect();
    let mut seen = Vec::new();
    for answer in answers {
        let (status, rotated, body) = answer.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(
            rotated,
            "the refresh rotated the refresh token: the cookie is rewritten"
        );
        seen.push(body["access_token"].clone());
    }
    assert_eq!(fake.refreshes(), 1, "one refresh for twenty requests");
    assert!(seen.iter().all(|token| *token == seen[0]));
    assert_ne!(seen[0], at_login["access_token"]);
    assert!(provider_accepts(&fake, seen[0].as_str().unwrap()).await);
    // The first replica still holds the login's token, the second its refresh's.
    assert_eq!(
        tokens(&browser, &base).await.1["access_token"],
        at_login["access_token"]
    );
    let (_, again) = tokens(&browser, &replica).await;
    assert_eq!(again["access_token"], seen[0]);
    assert_eq!(fake.refreshes(), 1);

    // Past the expiry, each replica refreshes once.
    time.advance(ACCESS_TOKEN_LIFETIME + 1);
    for base in [&base, &*replica, &base, &*replica] {
        let (status, body) = tokens(&browser, base).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(fake.refreshes(), 3);
}

#[tokio::test]
async fn with_a_raised_budget_every_token_is_kept_in_chunks_and_refreshed_in_place() {
    let (fake, base, time) = setup(TokenShape::entra_large(), |b| b.cookie_budget(RAISED)).await;
    fake.set_refresh_id_token(RefreshIdToken::Genuine);
    let browser = Browser::new();
    let answer = login(&browser, &base, "idp").await;
    assert_eq!(answer.status, 303);
    assert_each_cookie_fits(&answer.set_cookies);
    let chunks = answer.tokens_cookies();
    eprintln!(
        "entra (large), all kept: {} chunks, Set-Cookie {} B, Cookie {} B",
        chunks.len(),
        answer.set_cookie_bytes(),
        cookie_header_bytes(&browser, &base),
    );
    assert!(chunks.len() >= 2, "{chunks:?}");
    for (i, chunk) in chunks.iter().enumerate() {
        assert!(
            chunk.starts_with(&format!("{TOKENS_COOKIE}.{i}=")),
            "{chunk}"
        );
    }
    let (status, first) = tokens(&browser, &base).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (&first["kept"], &first["id_token"]),
        (&"All".into(), &true.into())
    );
    assert_eq!(fake.refreshes(), 0);

    time.advance(ACCESS_TOKEN_LIFETIME + 1);
    let refreshed = browser.get(&format!("{base}/tokens")).await;
    let rewritten: Vec<String> = refreshed
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_each_cookie_fits(&rewritten);
    assert!(rewritten
        .iter()
        .any(|c| c.starts_with(&format!("{TOKENS_COOKIE}.0="))));
    let body = json_of(&refreshed.text().await.unwrap());
    assert_eq!(
        (&body["kept"], &body["id_token"]),
        (&"All".into(), &true.into())
    );
    assert!(provider_accepts(&fake, body["access_token"].as_str().unwrap()).await);
    let (_, after) = tokens(&browser, &base).await;
    assert_eq!(after["access_token"], body["access_token"]);
    assert_eq!(
        fake.refreshes(),
        1,
        "the rewritten chunks hold the new token"
    );
}

#[tokio::test]
async fn provider_logout_sends_the_id_token_when_kept_and_logout_hint_when_dropped() {
    for (budget, hint) in [
        (RAISED, "id_token_hint"),
        (CookieBudget::new(), "logout_hint"),
    ] {
        let fake = fake(Some(TokenShape::entra())).await;
        let time = Shifted::default();
        let provider = crate::common::app::oidc_for(&fake)
            .name("idp")
            .provider_logout(true);
        let base = serve(
            socialauth::SocialAuthLayer::builder()
                .secret(crate::common::app::SECRET)
                .clock(time.clock())
                .provider(provider)
                .keep_provider_tokens(true)
                .cookie_budget(budget),
        )
        .await;
        let browser = Browser::new();
        assert_eq!(login(&browser, &base, "idp").await.status, 303);
        let (_, kept) = tokens(&browser, &base).await;
        let logout = browser
            .request(
                http::Method::POST,
                &format!("{base}/auth/logout"),
                &[("sec-fetch-site", "same-origin")],
                None,
            )
            .await;
        assert_eq!(logout.status(), 303);
        let at_provider = location(&logout);
        assert!(
            at_provider.starts_with(&fake.end_session_endpoint()),
            "{at_provider}"
        );
        assert!(
            at_provider.contains(&format!("{hint}=")),
            "{kept}: {at_provider}"
        );
        let back = browser.follow(&at_provider).await;
        assert_eq!(
            back.status, 200,
            "the provider took the {hint}: {:?}",
            back.hops
        );
        assert_eq!(fake.end_session_requests().len(), 1);
        assert!(browser.cookie(IDENTITY_COOKIE).is_none());
        assert!(browser
            .cookies()
            .iter()
            .all(|(name, _, _)| !name.starts_with(TOKENS_COOKIE)));
    }
}

#[tokio::test]
async fn explicit_modes_keep_what_they_say_or_fail_the_login_saying_so() {
    // Every token, or nothing: Entra's do not fit the default budget.
    let (_fake, base, _time) = setup(TokenShape::entra(), |b| {
        b.keep_provider_tokens(KeepTokens::All)
    })
    .await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/idp?login=start"))
        .await;
    visit.assert_error(500, "internal_error");
    assert!(visit.body.contains("cookie budget"), "{}", visit.body);
    assert!(browser.cookie(IDENTITY_COOKIE).is_none());

    // The refresh token alone, though everything would fit.
    let fake = fake(None).await;
    let time = Shifted::default();
    let builder = kept_tokens::builder(&[("idp", &fake)], &time)
        .keep_provider_tokens(KeepTokens::RefreshTokenOnly);
    let base = serve(builder).await;
    let browser = Browser::new();
    assert_eq!(login(&browser, &base, "idp").await.status, 303);
    let (status, body) = tokens(&browser, &base).await;
    assert_eq!(
        (status, &body["kept"]),
        (200, &"RefreshTokenOnly".into()),
        "{body}"
    );

    // A provider that issues no refresh token cannot be kept so.
    let fake = crate::common::fake_oidc::start(crate::common::fake_oidc::OidcConfig::new()).await;
    let builder = kept_tokens::builder(&[("idp", &fake)], &time)
        .keep_provider_tokens(KeepTokens::RefreshTokenOnly);
    let base = serve(builder).await;
    let visit = Browser::new()
        .follow(&format!("{base}/auth/idp?login=start"))
        .await;
    visit.assert_error(500, "internal_error");
}

#[tokio::test]
async fn a_refreshed_id_token_must_name_the_login_user_even_when_the_login_one_was_dropped() {
    for (kind, expected) in [
        (RefreshIdToken::Genuine, 200),
        (RefreshIdToken::OtherUser, 401),
    ] {
        let (fake, base, time) = setup(TokenShape::entra(), |b| b).await;
        fake.set_refresh_id_token(kind);
        let browser = Browser::new();
        assert_eq!(login(&browser, &base, "idp").await.status, 303);
        time.advance(ACCESS_TOKEN_LIFETIME + 1);
        let (status, body) = tokens(&browser, &base).await;
        assert_eq!(status, expected, "{kind:?}: {body}");
        if expected == 401 {
            assert_eq!(body["error"], "provider_tokens_expired");
        } else {
            assert_eq!(body["kept"], "RefreshTokenOnly", "{body}");
        }
        assert_eq!(fake.refreshes(), 1);
    }
}

#[tokio::test]
async fn a_new_login_clears_the_tokens_cookies_of_the_one_before() {
    let time = Shifted::default();
    let small = fake(None).await;
    let large = fake(Some(TokenShape::entra_large())).await;
    let builder =
        kept_tokens::builder(&[("small", &small), ("large", &large)], &time).cookie_budget(RAISED);
    let base = serve(builder).await;
    let browser = Browser::new();
    let tokens_names = |browser: &Browser| -> Vec<String> {
        let mut names: Vec<String> = (browser.cookies().into_iter())
            .map(|(name, _, _)| name)
            .filter(|name| name.starts_with(TOKENS_COOKIE))
            .collect();
        names.sort();
        names
    };
    // One cookie, then chunks, then one cookie again: nothing of the earlier set stays.
    for (provider, chunked) in [("small", false), ("large", true), ("small", false)] {
        let answer = login(&browser, &base, provider).await;
        assert_eq!(answer.status, 303);
        let names = tokens_names(&browser);
        if chunked {
            assert!(
                names.len() >= 2 && names.iter().all(|n| n.contains('.')),
                "{names:?}"
            );
        } else {
            assert_eq!(names, [TOKENS_COOKIE], "after {provider}");
        }
        let (status, body) = tokens(&browser, &base).await;
        assert_eq!((status, &body["kept"]), (200, &"All".into()), "{body}");
    }
}

#[tokio::test]
async fn the_fakes_issue_tokens_of_the_sizes_keycloak_and_entra_do() {
    // (shape, access token, refresh token, ID token): the ranges in bytes the README gives.
    let mut measured = Vec::new();
    for (shape, access, refresh, id) in [
        (TokenShape::Keycloak, 1400..=1800, 600..=800, 1200..=1500),
        (TokenShape::entra(), 1500..=2500, 1100..=1700, 1200..=1500),
        (
            TokenShape::entra_large(),
            2500..=3000,
            1100..=1700,
            1200..=1500,
        ),
    ] {
        let fake = fake(Some(shape)).await;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let keep = seen.clone();
        let time = Shifted::default();
        let builder = kept_tokens::builder(&[("idp", &fake)], &time).authorize(move |profile| {
            let keep = keep.clone();
            async move {
                *keep.lock().unwrap() = profile.tokens().cloned();
                Ok(socialauth::Grant::new())
            }
        });
        let base = serve(builder).await;
        assert_eq!(login(&Browser::new(), &base, "idp").await.status, 303);
        let tokens = seen.lock().unwrap().clone().unwrap();
        let sizes = (
            tokens.access_token().secret().len(),
            tokens.refresh_token().unwrap().secret().len(),
            tokens.id_token().unwrap().secret().len(),
        );
        eprintln!(
            "{shape:?}: access {} B, refresh {} B, ID {} B",
            sizes.0, sizes.1, sizes.2
        );
        let realistic =
            access.contains(&sizes.0) && refresh.contains(&sizes.1) && id.contains(&sizes.2);
        measured.push((shape, sizes, realistic));
    }
    assert!(
        measured.iter().all(|(_, _, realistic)| *realistic),
        "{measured:?}"
    );
}
