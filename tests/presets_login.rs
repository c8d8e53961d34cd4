//! Logins through the layer with the X, Discord, GitLab, LinkedIn, Slack and Microsoft
//! presets, each against a strict fake of its provider: the whole login, what the provider
//! is sent, and its refusals as the layer's JSON errors.

mod common;

use common::app::{self, json_of, serve_with, IDENTITY_COOKIE};
use common::browser::{query_param, with_param, Browser};
use common::fake_discord::{self, DiscordConfig, FakeDiscord};
use common::fake_x::{self, FakeX, XConfig};
use common::server;
use serde_json::Value;
use socialauth::{Discord, X};

fn x_for(fake: &FakeX) -> X {
    let cfg = fake.config();
    X::new(&cfg.client_id, &cfg.client_secret)
        .web_base_url(&fake.base_url)
        .api_base_url(&fake.base_url)
}

fn discord_for(fake: &FakeDiscord) -> Discord {
    let cfg = fake.config();
    Discord::new(&cfg.client_id, &cfg.client_secret).base_url(&fake.base_url)
}

/// Signs in with `provider` at `/auth/<route>`: the `/whoami` answer.
async fn whoami_after_login(provider: impl Into<socialauth::Provider>, route: &str) -> Value {
    let (browser, visit, base) = app::login_with(provider, route).await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    json_of(&browser.follow(&format!("{base}/whoami")).await.body)
}

/// A login whose callback carries a code already redeemed: the answer's status and error.
async fn replayed_code(provider: impl Into<socialauth::Provider>, route: &str) -> (u16, Value) {
    let base = serve_with(provider).await;
    let browser = Browser::new();
    let start = format!("{base}/auth/{route}?login=start");
    let callback = browser.callback_from(&start).await;
    assert_eq!(browser.get(&callback).await.status(), 303);
    let used = query_param(&callback, "code").unwrap();
    let callback = browser.callback_from(&start).await;
    let replayed = browser
        .get(&with_param(&callback, "code", Some(&used)))
        .await;
    let status = replayed.status().as_u16();
    (status, json_of(&replayed.text().await.unwrap()))
}

#[tokio::test]
async fn x_login_with_pkce_and_basic_client_authentication() {
    let fake = fake_x::start(XConfig::new()).await;
    let who = whoami_after_login(x_for(&fake), "x").await;
    assert_eq!(who["provider"], "x");
    assert_eq!(who["user_id"], "2244994945");
    assert_eq!(who["name"], "X Dev");
    assert_eq!(who["email"], Value::Null, "no email without include_email");
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    let params = fake.last_authorize_params();
    assert_eq!(
        server::param(&params, "scope"),
        Some("users.read tweet.read")
    );
    assert_eq!(
        server::param(&params, "code_challenge_method"),
        Some("S256")
    );
}

#[tokio::test]
async fn x_include_email_reads_the_confirmed_email() {
    let fake = fake_x::start(XConfig::new()).await;
    let who = whoami_after_login(x_for(&fake).include_email(), "x").await;
    assert_eq!(who["email"], "dev@x.example");
    assert_eq!(
        server::param(&fake.last_authorize_params(), "scope"),
        Some("users.read tweet.read users.email")
    );
}

#[tokio::test]
async fn x_refusals_are_the_layers_errors() {
    let fake = fake_x::start(XConfig::new()).await;
    let (status, body) = replayed_code(x_for(&fake), "x").await;
    assert_eq!(
        (status, &body["error"]),
        (401, &Value::from("login_failed"))
    );

    let (browser, visit, _) = app::login_with(
        X::new(&fake.config().client_id, "not-the-secret")
            .web_base_url(&fake.base_url)
            .api_base_url(&fake.base_url),
        "x",
    )
    .await;
    assert_eq!(visit.status, 502, "{}", visit.body);
    assert_eq!(json_of(&visit.body)["error"], "provider_error");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);

    fake.set_user_denies(true);
    let (_, visit, _) = app::login_with(x_for(&fake), "x").await;
    assert_eq!(visit.status, 401);
    assert_eq!(json_of(&visit.body)["error"], "access_denied");
}

#[tokio::test]
async fn discord_login_with_a_verified_email() {
    let fake = fake_discord::start(DiscordConfig::new()).await;
    let who = whoami_after_login(discord_for(&fake), "discord").await;
    assert_eq!(who["provider"], "discord");
    assert_eq!(who["user_id"], "80351110224678912");
    assert_eq!(who["name"], "Nelly");
    assert_eq!(who["email"], "nelly@discord.example");
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    assert_eq!(
        server::param(&fake.last_authorize_params(), "scope"),
        Some("identify email")
    );
}

#[tokio::test]
async fn discord_unverified_email_is_dropped_and_username_stands_in_for_the_name() {
    let fake = fake_discord::start(DiscordConfig {
        verified: false,
        global_name: None,
        ..DiscordConfig::new()
    })
    .await;
    let who = whoami_after_login(discord_for(&fake), "discord").await;
    assert_eq!(who["user_id"], "80351110224678912");
    assert_eq!(who["name"], "nelly");
    assert_eq!(who["email"], Value::Null);
}

#[tokio::test]
async fn discord_refusals_are_the_layers_errors() {
    let fake = fake_discord::start(DiscordConfig::new()).await;
    let (status, body) = replayed_code(discord_for(&fake), "discord").await;
    assert_eq!(
        (status, &body["error"]),
        (401, &Value::from("login_failed"))
    );

    let (_, visit, _) = app::login_with(
        Discord::new(&fake.config().client_id, "wrong").base_url(&fake.base_url),
        "discord",
    )
    .await;
    assert_eq!(visit.status, 502, "{}", visit.body);
    assert_eq!(json_of(&visit.body)["error"], "provider_error");

    fake.set_user_denies(true);
    let (_, visit, _) = app::login_with(discord_for(&fake), "discord").await;
    assert_eq!(visit.status, 401);
    assert_eq!(json_of(&visit.body)["error"], "access_denied");
}
