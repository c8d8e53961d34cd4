//! Bad input is an answer: every malformed request, cookie or provider reply on an auth route
//! gets a short JSON error with the right status, the flow cookie is cleared, and the token
//! endpoint is not called when the flow cookie or state is wrong.

use std::time::Duration;

use crate::common::app::{self, json_of, Stack};
use crate::common::browser::Browser;
use crate::common::fake_facebook::Endpoint;
use crate::common::fault::Fault;
use http::header::{CONTENT_TYPE, SET_COOKIE};

/// Starts a Facebook login and returns the callback URL the fake provider sends back,
/// without visiting it; the flow cookie stays in `browser`.
async fn callback_url(app: &app::App, browser: &Browser) -> String {
    browser
        .callback_from(&app.url("/auth/facebook?login=start"))
        .await
}

/// The test app, and a new browser holding a Facebook flow cookie: the callback URL the
/// fake provider sends back, not yet visited.
async fn at_callback() -> (app::App, Browser, String) {
    let app = app::start().await;
    let browser = Browser::new();
    let callback = callback_url(&app, &browser).await;
    (app, browser, callback)
}

/// Status, body and whether a `Set-Cookie` clears a flow cookie.
async fn answer(response: reqwest::Response) -> (u16, serde_json::Value, bool) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "application/json",
        "status {status}"
    );
    let clears = response.headers().get_all(SET_COOKIE).iter().any(|c| {
        c.to_str().unwrap().contains("socialauth-flow") && c.to_str().unwrap().contains("Max-Age=0")
    });
    let body = json_of(&response.text().await.unwrap());
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    (status, body, clears)
}

/// Checks that `response` is the JSON error `error` with `status`; whether it clears the
/// flow cookie.
async fn refused(response: reqwest::Response, status: u16, error: &str) -> bool {
    let (got, body, clears) = answer(response).await;
    assert_eq!(
        (got, body["error"].as_str()),
        (status, Some(error)),
        "{body}"
    );
    clears
}

/// The cookie in `browser` whose name contains `name_part`: name, value and path.
fn cookie_containing(browser: &Browser, name_part: &str) -> (String, String, String) {
    browser
        .cookies()
        .into_iter()
        .find(|(n, _, _)| n.contains(name_part))
        .unwrap_or_else(|| panic!("no cookie named like {name_part}"))
}

#[tokio::test]
async fn unknown_provider_is_404() {
    let app = app::start().await;
    let browser = Browser::new();
    for path in ["/auth/nope?login=start", "/auth/", "/auth/facebook/extra"] {
        let (status, body, _) = answer(browser.get(&app.url(path)).await).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"], "unknown_provider");
        // The answer says which login routes exist, so a mistyped name says what to type.
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("/auth/twitter") && message.contains("/auth/facebook"),
            "{message}"
        );
    }
    // Outside the prefix, the app answers (axum's own empty 404).
    let outside = browser.follow(&app.url("/authx")).await;
    assert_eq!((outside.status, outside.body.as_str()), (404, ""));
}

#[tokio::test]
async fn other_methods_are_405_and_a_bare_route_is_400() {
    let app = app::start().await;
    let browser = Browser::new();
    let response = browser
        .post(&app.url("/auth/facebook?login=start"), &[])
        .await;
    assert_eq!(response.headers()["allow"], "GET");
    refused(response, 405, "method_not_allowed").await;
    refused(
        browser.get(&app.url("/auth/facebook")).await,
        400,
        "invalid_request",
    )
    .await;
    let (status, _, _) = answer(
        browser
            .get(&app.url("/auth/facebook?code=a&code=b&state=s"))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(app.facebook.token_calls(), 0);
}

#[tokio::test]
async fn a_callback_without_its_flow_cookie_says_why_that_usually_happens() {
    let (app, browser, callback) = at_callback().await;
    browser.clear();
    let (status, body, _) = answer(browser.get(&callback).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "missing_flow_cookie");
    let message = body["message"].as_str().unwrap();
    for hint in ["http", "host name", "10"] {
        assert!(message.contains(hint), "{message}");
    }
    assert_eq!(app.facebook.token_calls(), 0);
}

#[tokio::test]
async fn a_tampered_flow_cookie_is_400_and_cleared() {
    let (app, browser, callback) = at_callback().await;
    let (name, value, path) = cookie_containing(&browser, "socialauth-flow");
    let mut bytes = value.into_bytes();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    browser.set_cookie(
        "127.0.0.1",
        &name,
        std::str::from_utf8(&bytes).unwrap(),
        &path,
    );
    let clears = refused(browser.get(&callback).await, 400, "invalid_flow_cookie").await;
    assert!(clears, "flow cookie not cleared");
    assert_eq!(app.facebook.token_calls(), 0);
}

#[tokio::test]
async fn a_flow_cookie_from_another_provider_is_refused() {
    let app = app::start().await;
    let browser = Browser::new();
    // A Twitter flow cookie, replayed under the Facebook callback's cookie name.
    let twitter_start = browser.get(&app.url("/auth/twitter?login=start")).await;
    assert_eq!(twitter_start.status(), 303);
    let (_, twitter_value, _) = cookie_containing(&browser, "socialauth-flow-twitter");
    let callback = callback_url(&app, &browser).await;
    let (fb_name, _, fb_path) = cookie_containing(&browser, "socialauth-flow-facebook");
    browser.set_cookie("127.0.0.1", &fb_name, &twitter_value, &fb_path);
    refused(browser.get(&callback).await, 400, "invalid_flow_cookie").await;
    assert_eq!(app.facebook.token_calls(), 0);
}

#[tokio::test]
async fn a_state_that_is_not_this_browsers_is_refused() {
    let (app, browser, callback) = at_callback().await;
    let forged = callback.replace("state=", "state=x");
    let (status, body, _) = answer(browser.get(&forged).await).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("flow_cookie"),
        "{body}"
    );
    let no_state = app.url("/auth/facebook?code=abc");
    refused(browser.get(&no_state).await, 400, "invalid_request").await;
    assert_eq!(app.facebook.token_calls(), 0);
}

#[tokio::test]
async fn an_expired_flow_cookie_is_refused_even_if_the_browser_keeps_it() {
    let app = app::start_with(Stack::Axum, |b| b.flow_lifetime(Duration::from_secs(1))).await;
    let browser = Browser::new();
    let callback = callback_url(&app, &browser).await;
    let cookie = browser.cookie_header_for(&callback).unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = browser
        .get_with_headers(&callback, &[("cookie", &cookie)])
        .await;
    let clears = refused(response, 400, "flow_expired").await;
    assert!(clears);
    assert_eq!(app.facebook.token_calls(), 0);
}

#[tokio::test]
async fn provider_faults_are_502_or_504_with_the_flow_cookie_cleared() {
    let cases = [
        (
            Endpoint::Token,
            Fault::Status(500, "{\"error\":\"boom\"}".into()),
            502,
        ),
        (Endpoint::Token, Fault::Status(503, "down".into()), 502),
        (Endpoint::Token, Fault::Html, 502),
        (Endpoint::Token, Fault::Garbage, 502),
        (Endpoint::Token, Fault::Huge(2 * 1024 * 1024), 502),
        (
            Endpoint::Token,
            Fault::Redirect("http://169.254.169.254/latest/meta-data/".into()),
            502,
        ),
        (Endpoint::Token, Fault::Hang, 504),
        (Endpoint::Token, Fault::Trickle, 504),
        (Endpoint::Me, Fault::Status(500, "oops".into()), 502),
        (Endpoint::Me, Fault::Html, 502),
        (Endpoint::Me, Fault::Status(200, "{\"id\": 5}".into()), 502),
    ];
    for (endpoint, fault, expected) in cases {
        let app =
            app::start_with(Stack::Axum, |b| b.provider_timeout(Duration::from_secs(1))).await;
        app.facebook.set_fault(endpoint, fault.clone());
        let browser = Browser::new();
        let callback = callback_url(&app, &browser).await;
        let started = std::time::Instant::now();
        let (status, body, clears) = answer(browser.get(&callback).await).await;
        assert_eq!(status, expected, "{endpoint:?} {fault:?}: {body}");
        assert!(clears, "{fault:?}: flow cookie kept");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{fault:?} took too long"
        );
        assert_eq!(
            app.facebook.token_calls(),
            1,
            "{fault:?}: the code was retried"
        );
        let text = body.to_string();
        for secret in ["fb-app-secret", "oops", "boom", "169.254"] {
            assert!(!text.contains(secret), "{fault:?} leaked {secret}: {text}");
        }
        assert_eq!(browser.follow(&app.url("/maybe")).await.body, "anonymous");
    }
}

#[tokio::test]
async fn an_unreachable_provider_is_502() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let layer = socialauth::SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(socialauth::Twitter::new("k", "s").api_base_url(&dead))
        .build()
        .unwrap();
    let addr = crate::common::server::serve(app::axum_app().layer(layer)).await;
    let browser = Browser::new();
    let start = browser
        .get(&format!("http://{addr}/auth/twitter?login=start"))
        .await;
    refused(start, 502, "provider_error").await;
}
