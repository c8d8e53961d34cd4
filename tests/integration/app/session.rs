//! Session features around a login: `return_to`, logout and the `RequireIdentity` guard.

use crate::common::app::{self, json_of};
use crate::common::browser::Browser;
use crate::common::fake_facebook::{self, FacebookConfig};
use crate::common::fake_twitter::{self, TwitterConfig};
use axum::routing::get;
use http::header::LOCATION;
use socialauth::RequireIdentityLayer;

/// An app with a guarded `/account` route and the test routes of `app::axum_app`.
async fn guarded_app() -> app::App {
    let twitter = fake_twitter::start(TwitterConfig::new()).await;
    let facebook = fake_facebook::start(FacebookConfig::new()).await;
    let layer = app::builder(&twitter, &facebook)
        .after_logout_redirect("/maybe")
        .token_endpoint(true)
        .build()
        .unwrap();
    let router = axum::Router::new()
        .route("/account", get(|| async { "account page" }))
        .route_layer(RequireIdentityLayer::new().login_url("/auth/facebook?login=start"))
        .merge(app::axum_app())
        .layer(layer);
    let addr = crate::common::server::serve(router).await;
    app::App {
        base_url: format!("http://{addr}"),
        twitter,
        facebook,
    }
}

async fn login_with_return_to(app: &app::App, browser: &Browser, return_to: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    let start = app.url(&format!("/auth/facebook?login=start&return_to={encoded}"));
    let visit = browser.follow(&start).await;
    let (callback_hop, status) = &visit.hops[2];
    assert!(callback_hop.contains("code="), "{:?}", visit.hops);
    assert_eq!(*status, 303);
    visit.final_url
}

#[tokio::test]
async fn return_to_brings_the_user_back_to_the_page() {
    let app = guarded_app().await;
    let browser = Browser::new();
    let landed = login_with_return_to(&app, &browser, "/maybe?tab=2").await;
    assert_eq!(landed, app.url("/maybe?tab=2"));
}

#[tokio::test]
async fn return_to_never_leaves_the_origin() {
    let app = guarded_app().await;
    let payloads = [
        "//evil.com",
        "/\\evil.com",
        "\\/evil.com",
        "/%09/evil.com",
        "/%2f%2fevil.com",
        "/%5cevil.com",
        "https:evil.com",
        "http:/evil.com",
        "https://evil.com/",
        "javascript:alert(1)",
        "http://user@evil.com",
        "//127.0.0.1.evil.com",
        "/\r\nSet-Cookie: pwned=1",
        "/%0d%0aSet-Cookie:%20pwned=1",
    ];
    let too_long = format!("/{}", "a".repeat(2100));
    for payload in payloads.iter().copied().chain([too_long.as_str()]) {
        let browser = Browser::new();
        let landed = login_with_return_to(&app, &browser, payload).await;
        assert_eq!(landed, app.url("/"), "{payload:?}");
        assert!(
            browser.cookie("pwned").is_none(),
            "{payload:?} injected a header"
        );
    }
}

#[tokio::test]
async fn logout_clears_the_identity_and_needs_a_same_site_post() {
    let app = guarded_app().await;
    let browser = Browser::new();
    browser.follow(&app.url("/auth/facebook?login=start")).await;
    assert_eq!(browser.follow(&app.url("/maybe")).await.body, "10001");

    let get = browser.get(&app.url("/auth/logout")).await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    // A cross-site POST, and a POST from a foreign origin.
    for header in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ] {
        let logout = app.url("/auth/logout");
        let refused = browser
            .request(http::Method::POST, &logout, &[header], None)
            .await;
        assert_eq!(refused.status(), 403, "{header:?}");
    }
    assert_eq!(browser.follow(&app.url("/maybe")).await.body, "10001");

    let visit = browser.post_follow(&app.url("/auth/logout"), &[]).await;
    assert_eq!(visit.final_url, app.url("/maybe"));
    assert_eq!(visit.body, "anonymous");
    assert!(browser.cookie("__Host-socialauth").is_none());
}

#[tokio::test]
async fn the_guard_answers_401_to_api_calls_and_redirects_page_loads() {
    let app = guarded_app().await;
    let browser = Browser::new();

    let api = browser.get(&app.url("/account")).await;
    crate::common::app::assert_error(api, 401, "unauthenticated").await;

    let image = browser
        .get_with_headers(
            &app.url("/account"),
            &[("accept", "text/html,image/*"), ("sec-fetch-dest", "image")],
        )
        .await;
    assert_eq!(image.status(), 401, "a sub-resource must not start a login");

    let page = browser
        .get_with_headers(
            &app.url("/account?tab=keys"),
            &[("accept", "text/html"), ("sec-fetch-dest", "document")],
        )
        .await;
    assert_eq!(page.status(), 303);
    let location = page.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        "/auth/facebook?login=start&return_to=%2Faccount%3Ftab%3Dkeys"
    );

    // Following it logs in and lands back on the guarded page.
    let visit = browser.follow(&app.url(&location)).await;
    assert_eq!(visit.final_url, app.url("/account?tab=keys"));
    assert_eq!(visit.body, "account page");
    assert_eq!(app.facebook.token_calls(), 1);
}

#[tokio::test]
async fn a_signed_in_browser_gets_a_bearer_token_that_api_clients_present() {
    let app = guarded_app().await;
    let browser = Browser::new();
    browser.follow(&app.url("/auth/facebook?login=start")).await;

    let answer = browser.follow(&app.url("/auth/token")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers["cache-control"], "no-store");
    let body = json_of(&answer.body);
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_at"].as_u64().unwrap() > 0);

    // An API client with no cookies at all.
    let api = Browser::new();
    let auth = format!("Bearer {token}");
    let whoami = api
        .get_with_headers(&app.url("/whoami"), &[("authorization", &auth)])
        .await;
    assert_eq!(whoami.status(), 200);
    assert_eq!(json_of(&whoami.text().await.unwrap())["user_id"], "10001");
    let lower = format!("bearer {token}");
    let maybe = api
        .get_with_headers(&app.url("/maybe"), &[("authorization", &lower)])
        .await;
    assert_eq!(maybe.text().await.unwrap(), "10001");

    // Malformed headers are anonymous, never an error page.
    for header in [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Bearer {token} extra"),
        format!("Basic {token}"),
        format!("Bearer {token}x"),
        "Bearer ...".to_owned(),
        format!("Bearer {}", "a".repeat(10_000)),
    ] {
        let maybe = api
            .get_with_headers(&app.url("/maybe"), &[("authorization", &header)])
            .await;
        assert_eq!(maybe.status(), 200, "{header:.40}");
        assert_eq!(maybe.text().await.unwrap(), "anonymous", "{header:.40}");
    }
    // Without a cookie there is no token to hand out; and only GET.
    assert_eq!(api.follow(&app.url("/auth/token")).await.status, 401);
    assert_eq!(
        browser.post(&app.url("/auth/token"), &[]).await.status(),
        405
    );
}

#[tokio::test]
async fn sliding_renewal_reissues_the_cookie_past_half_its_life() {
    let app = app::start_with(app::Stack::Axum, |b| {
        b.identity_lifetime(std::time::Duration::from_secs(4))
            .sliding_renewal(true)
    })
    .await;
    let browser = Browser::new();
    browser.follow(&app.url("/auth/facebook?login=start")).await;
    let first = browser.cookie("__Host-socialauth").unwrap();

    let early = browser.get(&app.url("/maybe")).await;
    assert!(
        early.headers().get("set-cookie").is_none(),
        "renewed too early"
    );

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let late = browser.get(&app.url("/maybe")).await;
    let renewed = late.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(renewed.starts_with("__Host-socialauth="), "{renewed}");
    assert!(renewed.contains("Max-Age=4"), "{renewed}");
    assert_eq!(late.text().await.unwrap(), "10001");
    let second = browser.cookie("__Host-socialauth").unwrap();
    assert_ne!(first, second);

    // A bearer token is never renewed.
    let api = Browser::new();
    let auth = format!("Bearer {second}");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let with_bearer = api
        .get_with_headers(&app.url("/maybe"), &[("authorization", &auth)])
        .await;
    assert!(with_bearer.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn the_authorize_hook_can_deny_a_login_or_add_app_claims() {
    use socialauth::{Denied, Grant};
    let allow = app::start_with(app::Stack::Axum, |b| {
        b.authorize(|profile| async move {
            // Facebook's email is never a verified one: the app admits by provider and id.
            match (profile.provider(), profile.user_id()) {
                ("facebook", "10001") => {
                    Ok(Grant::new().claim("role", "staff").claim("app_user", 7))
                }
                _ => Err(Denied::new("only known accounts may sign in")),
            }
        })
    })
    .await;
    let browser = Browser::new();
    let visit = browser
        .follow(&allow.url("/auth/facebook?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{}", visit.body);
    let token = browser.cookie("__Host-socialauth").unwrap();
    // The claims are in the signed token, and the app reads them on every request.
    use base64::Engine;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        claims["app"],
        serde_json::json!({"role": "staff", "app_user": 7})
    );

    let deny = app::start_with(app::Stack::Axum, |b| {
        b.authorize(|_| async { Err(Denied::new("only example.org accounts may sign in")) })
    })
    .await;
    let browser = Browser::new();
    let visit = browser
        .follow(&deny.url("/auth/facebook?login=start"))
        .await;
    assert_eq!(visit.status, 403);
    let body = json_of(&visit.body);
    assert_eq!(body["error"], "forbidden");
    assert_eq!(body["message"], "only example.org accounts may sign in");
    assert!(browser.cookie("__Host-socialauth").is_none());
    assert!(browser
        .cookies()
        .iter()
        .all(|(name, _, _)| !name.contains("socialauth-flow")));
}

#[tokio::test]
async fn claims_read_in_a_handler() {
    use socialauth::{Grant, Identity};
    let twitter = fake_twitter::start(TwitterConfig::new()).await;
    let facebook = fake_facebook::start(FacebookConfig::new()).await;
    let layer = app::builder(&twitter, &facebook)
        .authorize(|profile| async move {
            Ok(Grant::new().claim("seen_as", profile.user_id().to_owned()))
        })
        .build()
        .unwrap();
    let router = axum::Router::new()
        .route(
            "/role",
            get(|user: Identity| async move {
                user.claim("seen_as")
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            }),
        )
        .layer(layer);
    let addr = crate::common::server::serve(router).await;
    let browser = Browser::new();
    browser
        .follow(&format!("http://{addr}/auth/twitter?login=start"))
        .await;
    let visit = browser.follow(&format!("http://{addr}/role")).await;
    assert_eq!(visit.body, "\"12345\"");
}
