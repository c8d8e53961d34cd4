//! The examples' apps, served as their `main`s serve them, through whole logins with the
//! embedded dev provider: the hyper example (`examples/hyper/app.rs`) and the demo
//! (`examples/demo/app.rs`, which `browser_demo.rs` also drives in Chromium).

// The hyper example's own code; the test uses only part of it.
#[allow(dead_code)]
#[path = "../../../examples/hyper/app.rs"]
mod hyper_app;

use std::collections::HashMap;

use crate::app::demo;
use crate::common::app::{self, json_of};
use crate::common::browser::Browser;
use http::Method;

#[tokio::test]
async fn the_hyper_example_serves_a_whole_login() {
    let (_dev, auth) = app::dev_layer().await;
    let (listener, base) = app::listen().await;
    tokio::spawn(hyper_app::serve(listener, auth));

    let browser = Browser::new();
    assert_eq!(
        browser.follow(&format!("{base}/")).await.body,
        "hello, stranger"
    );
    assert_eq!(browser.follow(&format!("{base}/whoami")).await.status, 401);

    let visit = app::dev_sign_in(&browser, &base, "Grace Hopper", "grace@example.com").await;
    assert_eq!(visit.final_url, format!("{base}/"), "{:?}", visit.hops);
    assert_eq!(visit.body, "hello, Grace Hopper");
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "dev");
    assert_eq!(who["name"], "Grace Hopper");
    assert_eq!(who["email"], "grace@example.com");
    assert!(who["user_id"].as_str().unwrap().starts_with("dev-"));
}

async fn serve_demo() -> (demo::Demo, String) {
    let mut demo = demo::build(demo::Config {
        secret: app::SECRET.to_vec(),
        dev_provider_addr: "127.0.0.1:0".parse().unwrap(),
        providers: Vec::new(),
    })
    .await
    .unwrap();
    let (listener, base) = app::listen().await;
    let router = std::mem::take(&mut demo.router);
    tokio::spawn(async move { axum::serve(listener, router).await });
    (demo, base)
}

#[tokio::test]
async fn the_demo_signs_in_shows_who_escaped_and_signs_out() {
    let (demo, base) = serve_demo().await;
    assert_eq!(demo.providers, [("dev".to_owned(), "Dev")]);
    let browser = Browser::new();
    let home = browser.follow(&format!("{base}/")).await;
    assert!(
        home.body.contains("You are not signed in."),
        "{}",
        home.body
    );
    assert!(home
        .body
        .contains(r#"<a class="button" href="/auth/dev?login=start">Sign in with Dev</a>"#));
    assert_eq!(browser.follow(&format!("{base}/whoami")).await.status, 401);

    let visit = app::dev_sign_in(&browser, &base, "<i>Ada</i>", "ada@example.com").await;
    assert_eq!(visit.final_url, format!("{base}/"));
    assert!(
        visit.body.contains("Hello, &lt;i&gt;Ada&lt;/i&gt;!"),
        "{}",
        visit.body
    );
    assert!(!visit.body.contains("<i>Ada"), "{}", visit.body);
    assert!(visit.body.contains("ada@example.com"));
    assert!(visit
        .body
        .contains(r#"<form method="post" action="/auth/logout">"#));
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["name"], "<i>Ada</i>");

    // Sign out, as the button does: a same-origin form POST.
    let origin = [("origin", base.as_str()), ("sec-fetch-site", "same-origin")];
    let out = browser
        .request(
            Method::POST,
            &format!("{base}/auth/logout"),
            &origin,
            Some(String::new()),
        )
        .await;
    assert_eq!(out.status(), 303);
    let home = browser.follow(&format!("{base}/")).await;
    assert!(
        home.body.contains("You are not signed in."),
        "{}",
        home.body
    );
    assert_eq!(browser.follow(&format!("{base}/whoami")).await.status, 401);
}

#[tokio::test]
async fn a_cancelled_sign_in_comes_back_to_the_demo_home_page() {
    let (_demo, base) = serve_demo().await;
    let browser = Browser::new();
    let page = browser
        .follow(&format!("{base}/auth/dev?login=start"))
        .await;
    let marker = r#"name="ticket" value=""#;
    let start = page.body.find(marker).unwrap() + marker.len();
    let ticket = &page.body[start..start + page.body[start..].find('"').unwrap()];
    let authorize = page.final_url.split('?').next().unwrap().to_owned();
    let visit = browser
        .post_follow(&authorize, &[("ticket", ticket), ("action", "cancel")])
        .await;
    assert_eq!(visit.final_url, format!("{base}/?error=access_denied"));
    assert!(visit.body.contains("did not complete"), "{}", visit.body);
    assert!(visit.body.contains("You are not signed in."));
}

#[test]
fn the_demo_enables_the_providers_whose_credentials_are_set() {
    let all: HashMap<&str, &str> = [
        ("TWITTER_CONSUMER_KEY", "k"),
        ("TWITTER_CONSUMER_SECRET", "s"),
        ("FACEBOOK_APP_ID", "1"),
        ("FACEBOOK_APP_SECRET", "s"),
        ("GITHUB_CLIENT_ID", "id"),
        ("GITHUB_CLIENT_SECRET", "s"),
        ("GOOGLE_CLIENT_ID", "id"),
        ("GOOGLE_CLIENT_SECRET", "s"),
        ("OIDC_ISSUER", "https://sso.example.com"),
        ("OIDC_CLIENT_ID", "id"),
        ("OIDC_CLIENT_SECRET", "s"),
    ]
    .into_iter()
    .collect();
    let enabled = demo::real_providers(|name| all.get(name).map(|v| v.to_string()));
    let names: Vec<(&str, &str)> = enabled
        .iter()
        .map(|e| (e.provider.name(), e.label))
        .collect();
    assert_eq!(
        names,
        [
            ("twitter", "Twitter"),
            ("facebook", "Facebook"),
            ("github", "GitHub"),
            ("google", "Google"),
            ("oidc", "OpenID Connect"),
        ]
    );
    // Half a pair, or an OIDC client without its issuer, enables nothing.
    let partial = |name: &str| {
        [
            "TWITTER_CONSUMER_KEY",
            "OIDC_CLIENT_ID",
            "OIDC_CLIENT_SECRET",
        ]
        .contains(&name)
        .then(|| "x".to_owned())
    };
    assert!(demo::real_providers(partial).is_empty());
}
