//! Item 11: OAuth 1.0a. A callback whose `oauth_token` is not the one this browser's flow
//! cookie holds, a callback without a verifier, and a request-token answer without
//! `oauth_callback_confirmed=true` all abort the login before any access-token request.

use crate::common::app;
use crate::common::browser::Browser;
use crate::common::browser::{query_param, with_param};
use crate::common::fake_twitter::Endpoint;
use crate::common::fault::{Fault, RawResponse};
use crate::common::forge::flow_cookie_name;
use crate::security::support::{world, Reply};

#[tokio::test]
async fn item_11_an_oauth_token_other_than_the_cookies_never_reaches_access_token() {
    let world = world().await;
    // The attacker's own request token and verifier, really issued by Twitter.
    let attacker = Browser::new();
    let attackers_callback = world.callback(&attacker, "twitter").await;
    let attackers_token = query_param(&attackers_callback, "oauth_token").unwrap();
    let path = url::Url::parse(&attackers_callback).unwrap();
    let attackers_callback_here = world.url(&format!("{}?{}", path.path(), path.query().unwrap()));

    let victim = Browser::new();
    let callback = world.callback(&victim, "twitter").await;
    let victims_token = query_param(&callback, "oauth_token").unwrap();
    // The attacker's callback in the victim's browser: no flow cookie for that token.
    let reply = Reply::read(victim.get(&attackers_callback_here).await).await;
    reply.assert_refused(400, "missing_flow_cookie", true, &[&attackers_token]);
    // The victim's callback with the attacker's token and verifier swapped in.
    let swapped = with_param(&callback, "oauth_token", Some(&attackers_token));
    let reply = Reply::read(victim.get(&swapped).await).await;
    reply.assert_refused(400, "missing_flow_cookie", true, &[&attackers_token]);
    // The victim's flow cookie moved under the name the attacker's token looks for.
    let (_, value, cookie_path) = victim
        .cookies()
        .into_iter()
        .find(|(n, _, _)| n.contains("socialauth-flow-twitter"))
        .unwrap();
    victim.set_cookie(
        "127.0.0.1",
        &flow_cookie_name("twitter", &attackers_token),
        &value,
        &cookie_path,
    );
    let reply = Reply::read(victim.get(&attackers_callback_here).await).await;
    reply.assert_refused(
        400,
        "invalid_flow_cookie",
        true,
        &[&attackers_token, &victims_token],
    );
    assert_eq!(world.exchanges("twitter"), 0, "access_token was called");

    // The victim's own callback is untouched by all that.
    let reply = Reply::read(victim.get(&callback).await).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(world.exchanges("twitter"), 1);
}

#[tokio::test]
async fn item_11_a_callback_without_a_usable_verifier_is_refused_and_cleared() {
    let world = world().await;
    let browser = Browser::new();
    let callback = world.callback(&browser, "twitter").await;
    let verifier = query_param(&callback, "oauth_verifier").unwrap();
    let repeated = {
        let mut url = url::Url::parse(&callback).unwrap();
        url.query_pairs_mut()
            .append_pair("oauth_verifier", &verifier);
        url.to_string()
    };
    for (what, url, clears) in [
        (
            "no verifier",
            with_param(&callback, "oauth_verifier", None),
            true,
        ),
        (
            "an empty verifier",
            with_param(&callback, "oauth_verifier", Some("")),
            true,
        ),
        ("the verifier twice", repeated, false),
        (
            "a verifier and no token",
            with_param(&callback, "oauth_token", None),
            false,
        ),
    ] {
        // Each refusal clears the attempt's cookie, so each case starts a fresh attempt.
        let browser = Browser::new();
        let fresh = world.callback(&browser, "twitter").await;
        let token = query_param(&fresh, "oauth_token").unwrap();
        let url = with_param(
            &url,
            "oauth_token",
            url.contains("oauth_token=").then_some(token.as_str()),
        );
        let reply = Reply::read(browser.get(&url).await).await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.body);
        reply.assert_refused(400, "invalid_request", clears, &[&verifier]);
    }
    assert_eq!(world.exchanges("twitter"), 0, "access_token was called");
}

#[tokio::test]
async fn item_11_a_request_token_without_callback_confirmed_true_aborts_the_start() {
    let app = app::start().await;
    let form = |body: &str| {
        Fault::Raw(RawResponse::new(
            200,
            "application/x-www-form-urlencoded",
            body.to_owned(),
        ))
    };
    let cases = [
        (
            "no oauth_callback_confirmed",
            "oauth_token=rt-a&oauth_token_secret=s",
        ),
        (
            "false",
            "oauth_token=rt-a&oauth_token_secret=s&oauth_callback_confirmed=false",
        ),
        (
            "TRUE",
            "oauth_token=rt-a&oauth_token_secret=s&oauth_callback_confirmed=TRUE",
        ),
        (
            "1",
            "oauth_token=rt-a&oauth_token_secret=s&oauth_callback_confirmed=1",
        ),
        (
            "empty",
            "oauth_token=rt-a&oauth_token_secret=s&oauth_callback_confirmed=",
        ),
        (
            "with a space",
            "oauth_token=rt-a&oauth_token_secret=s&oauth_callback_confirmed=true%20",
        ),
        (
            "no token",
            "oauth_token_secret=s&oauth_callback_confirmed=true",
        ),
        (
            "no secret",
            "oauth_token=rt-a&oauth_callback_confirmed=true",
        ),
        (
            "an empty token",
            "oauth_token=&oauth_token_secret=s&oauth_callback_confirmed=true",
        ),
        (
            "JSON",
            r#"{"oauth_token":"rt-a","oauth_token_secret":"s","oauth_callback_confirmed":"true"}"#,
        ),
    ];
    for (what, body) in cases {
        app.twitter.set_fault(Endpoint::RequestToken, form(body));
        let browser = Browser::new();
        let reply = Reply::read(browser.get(&app.url("/auth/twitter?login=start")).await).await;
        assert_eq!(reply.status, 502, "{what}: {}", reply.body);
        reply.assert_refused(502, "provider_error", false, &["rt-a"]);
        assert!(reply.location().is_none(), "{what}: sent to the provider");
        assert!(reply.set_cookies().is_empty(), "{what}: a cookie was set");
    }
    assert_eq!(app.twitter.authenticate_calls(), 0);
    assert_eq!(app.twitter.access_token_calls(), 0);
    // The same answer with `oauth_callback_confirmed=true`: the start goes on.
    app.twitter.set_fault(
        Endpoint::RequestToken,
        form("oauth_token=rt-a&oauth_token_secret=s&oauth_callback_confirmed=true"),
    );
    let reply = Reply::read(
        Browser::new()
            .get(&app.url("/auth/twitter?login=start"))
            .await,
    )
    .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
}
