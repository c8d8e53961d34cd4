//! Twitter (OAuth 1.0a) logins through the layer, against a strict fake Twitter that verifies
//! every signature, nonce and verifier.

use crate::common::app::{self, json_of, Stack};
use crate::common::browser::Browser;
use crate::common::fake_twitter::Endpoint;
use crate::common::fault::Fault;

fn flow_cookies(browser: &Browser) -> Vec<String> {
    browser
        .cookies()
        .into_iter()
        .filter(|(name, _, _)| name.contains("socialauth-flow"))
        .map(|(name, _, _)| name)
        .collect()
}

async fn login_and_whoami(stack: Stack) {
    let app = app::start_with(stack, |b| b).await;
    let browser = Browser::new();

    let visit = browser.follow(&app.url("/auth/twitter?login=start")).await;

    // start -> fake authenticate -> callback -> home
    let statuses: Vec<u16> = visit.hops.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [303, 302, 303, 200], "{:?}", visit.hops);
    assert!(visit.hops[1].0.starts_with(&app.twitter.authenticate_url()));
    assert!(visit.hops[2].0.contains("oauth_verifier="));
    assert_eq!(visit.final_url, app.url("/"));
    assert_eq!(app.twitter.request_token_calls(), 1);
    assert_eq!(app.twitter.access_token_calls(), 1);
    assert!(
        app.twitter.rejections().is_empty(),
        "{:?}",
        app.twitter.rejections()
    );
    assert!(flow_cookies(&browser).is_empty(), "flow cookie not cleared");
    assert!(browser.cookie("__Host-socialauth").is_some());

    let whoami = browser.follow(&app.url("/whoami")).await;
    assert_eq!(whoami.status, 200, "{}", whoami.body);
    let who = json_of(&whoami.body);
    assert_eq!(who["provider"], "twitter");
    assert_eq!(who["user_id"], "12345");
    assert_eq!(who["name"], "jack");
    assert_eq!(who["email"], serde_json::Value::Null);
}

#[tokio::test]
async fn twitter_login_then_whoami_on_axum() {
    login_and_whoami(Stack::Axum).await;
}

#[tokio::test]
async fn twitter_login_then_whoami_on_plain_hyper() {
    login_and_whoami(Stack::Hyper).await;
}

#[tokio::test]
async fn include_email_fetches_name_and_email_from_verify_credentials() {
    let app = app::start_with(Stack::Axum, |b| b).await;
    // The default test builder has no include_email: build one that has.
    let twitter = &app.twitter;
    let facebook = &app.facebook;
    let layer = app::builder(twitter, facebook)
        .provider(
            socialauth::Twitter::new(
                &twitter.config().consumer_key,
                &twitter.config().consumer_secret,
            )
            .name("twitter-email")
            .api_base_url(&twitter.base_url)
            .include_email(),
        )
        .build()
        .unwrap();
    let base = app::serve_layer(layer).await;
    let browser = Browser::new();

    let visit = browser
        .follow(&format!("{base}/auth/twitter-email?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{:?}", visit.hops);
    assert_eq!(twitter.verify_credentials_calls(), 1);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "twitter-email");
    assert_eq!(who["name"], "Jack Dorsey");
    assert_eq!(who["email"], "jack@example.com");
}

#[tokio::test]
async fn the_request_token_secret_is_not_readable_in_the_flow_cookie() {
    let app = app::start().await;
    let browser = Browser::new();
    let start = browser.get(&app.url("/auth/twitter?login=start")).await;
    assert_eq!(start.status(), 303);
    let set_cookie = start
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    // `__Host-` flow cookies live on `/`: no sibling subdomain can plant one.
    assert!(
        set_cookie.contains("Path=/;") || set_cookie.ends_with("Path=/"),
        "{set_cookie}"
    );
    assert!(
        set_cookie.starts_with("__Host-socialauth-flow-twitter-"),
        "{set_cookie}"
    );
    assert!(set_cookie.contains("Max-Age=600"), "{set_cookie}");
    // The fake's issued token secrets are random; the flow cookie must not carry the request
    // token in clear either (the redirect does, the cookie need not).
    let location = start.headers()[http::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let token = location.split("oauth_token=").nth(1).unwrap();
    assert!(
        !set_cookie.contains(token),
        "request token readable in the cookie"
    );
}

#[tokio::test]
async fn cancelling_at_twitter_is_401_and_never_asks_for_an_access_token() {
    let app = app::start().await;
    app.twitter.set_user_denies(true);
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/twitter?login=start")).await;
    assert_eq!(visit.status, 401);
    let body = json_of(&visit.body);
    assert_eq!(body["error"], "access_denied");
    assert_eq!(app.twitter.access_token_calls(), 0);
    assert!(flow_cookies(&browser).is_empty(), "flow cookie not cleared");
    assert_eq!(browser.follow(&app.url("/whoami")).await.status, 401);
}

#[tokio::test]
async fn request_token_without_callback_confirmed_is_a_502_before_any_redirect() {
    let app = app::start().await;
    app.twitter.set_callback_confirmed(false);
    let browser = Browser::new();
    let visit = browser.follow(&app.url("/auth/twitter?login=start")).await;
    assert_eq!(visit.hops.len(), 1, "{:?}", visit.hops);
    visit.assert_error(502, "provider_error");
    assert!(flow_cookies(&browser).is_empty());
}

#[tokio::test]
async fn a_callback_with_another_oauth_token_is_refused_without_an_exchange() {
    let app = app::start().await;
    let browser = Browser::new();
    let start = browser.get(&app.url("/auth/twitter?login=start")).await;
    assert_eq!(start.status(), 303);
    let visit = browser
        .follow(&app.url("/auth/twitter?oauth_token=someone-elses-token&oauth_verifier=v"))
        .await;
    assert_eq!(visit.status, 400);
    assert!(json_of(&visit.body)["error"]
        .as_str()
        .unwrap()
        .contains("flow_cookie"));
    assert_eq!(app.twitter.access_token_calls(), 0);
}

#[tokio::test]
async fn a_callback_without_a_verifier_is_refused_without_an_exchange() {
    let app = app::start().await;
    let browser = Browser::new();
    let start = browser.get(&app.url("/auth/twitter?login=start")).await;
    let location = start.headers()[http::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let token = location.split("oauth_token=").nth(1).unwrap().to_owned();
    let visit = browser
        .follow(&app.url(&format!("/auth/twitter?oauth_token={token}")))
        .await;
    visit.assert_error(400, "invalid_request");
    assert_eq!(app.twitter.access_token_calls(), 0);
}

#[tokio::test]
async fn twitter_access_token_faults_become_502() {
    for fault in [
        Fault::Status(500, "oops".into()),
        Fault::Html,
        Fault::Garbage,
        Fault::Redirect("http://169.254.169.254/latest/meta-data".into()),
    ] {
        let app = app::start().await;
        app.twitter.set_fault(Endpoint::AccessToken, fault.clone());
        let browser = Browser::new();
        let visit = browser.follow(&app.url("/auth/twitter?login=start")).await;
        assert_eq!(visit.status, 502, "{fault:?}: {}", visit.body);
        assert_eq!(json_of(&visit.body)["error"], "provider_error", "{fault:?}");
        assert!(
            flow_cookies(&browser).is_empty(),
            "{fault:?}: flow cookie kept"
        );
    }
}
