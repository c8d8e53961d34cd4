//! Logins through the layer with the X, Discord and GitLab presets, each against a strict
//! fake of its provider: the whole login, what the provider is sent, and its refusals as the
//! layer's JSON errors. LinkedIn, Slack and Microsoft have files of their own.

use super::preset_support::{assert_whoami, refused_login, whoami_after_login};
use crate::common::app::{json_of, serve_with, IDENTITY_COOKIE};
use crate::common::browser::{query_param, with_param, Browser};
use crate::common::fake_discord::{self, DiscordConfig, FakeDiscord};
use crate::common::fake_oidc::{self, OidcConfig, TokenAuth};
use crate::common::fake_x::{self, FakeX, XConfig};
use crate::common::harness::{self, Fake};
use crate::common::server;
use serde_json::{json, Value};
use socialauth::{Discord, GitLab, X};

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

/// The fake refused none of the login's requests, and the login asked for `scope`.
fn assert_clean_login_with_scope<P: harness::Provider>(fake: &Fake<P>, scope: &str) {
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    let params = fake.last_authorize_params();
    assert_eq!(server::param(&params, "scope"), Some(scope), "{params:?}");
}

/// A login whose callback carries a code already redeemed is a `401 login_failed`.
async fn assert_replayed_code_refused(provider: impl Into<socialauth::Provider>, route: &str) {
    let (status, body) = replayed_code(provider, route).await;
    assert_eq!(
        (status, &body["error"]),
        (401, &Value::from("login_failed")),
        "a replayed code at /auth/{route}"
    );
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
    assert_whoami(
        &who,
        json!({"provider": "x", "user_id": "2244994945", "name": "X Dev"}),
    );
    assert_eq!(who["email"], Value::Null, "no email without include_email");
    assert_clean_login_with_scope(&fake, "users.read tweet.read");
    let params = fake.last_authorize_params();
    let method = server::param(&params, "code_challenge_method");
    assert_eq!(method, Some("S256"), "{params:?}");
}

#[tokio::test]
async fn x_include_email_reads_the_confirmed_email() {
    let fake = fake_x::start(XConfig::new()).await;
    let who = whoami_after_login(x_for(&fake).include_email(), "x").await;
    assert_eq!(who["email"], "dev@x.example");
    let params = fake.last_authorize_params();
    let scope = server::param(&params, "scope");
    assert_eq!(scope, Some("users.read tweet.read users.email"));
}

#[tokio::test]
async fn x_refusals_are_the_layers_errors() {
    let fake = fake_x::start(XConfig::new()).await;
    assert_replayed_code_refused(x_for(&fake), "x").await;

    let browser = refused_login(
        X::new(&fake.config().client_id, "not-the-secret")
            .web_base_url(&fake.base_url)
            .api_base_url(&fake.base_url),
        "x",
        502,
        "provider_error",
    )
    .await;
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);

    fake.set_user_denies(true);
    refused_login(x_for(&fake), "x", 401, "access_denied").await;
}

#[tokio::test]
async fn discord_login_with_a_verified_email() {
    let fake = fake_discord::start(DiscordConfig::new()).await;
    let who = whoami_after_login(discord_for(&fake), "discord").await;
    assert_whoami(
        &who,
        json!({"provider": "discord", "user_id": "80351110224678912", "name": "Nelly",
               "email": "nelly@discord.example"}),
    );
    assert_clean_login_with_scope(&fake, "identify email");
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
    assert_whoami(
        &who,
        json!({"user_id": "80351110224678912", "name": "nelly", "email": null}),
    );
}

#[tokio::test]
async fn discord_refusals_are_the_layers_errors() {
    let fake = fake_discord::start(DiscordConfig::new()).await;
    assert_replayed_code_refused(discord_for(&fake), "discord").await;

    refused_login(
        Discord::new(&fake.config().client_id, "wrong").base_url(&fake.base_url),
        "discord",
        502,
        "provider_error",
    )
    .await;

    fake.set_user_denies(true);
    refused_login(discord_for(&fake), "discord", 401, "access_denied").await;
}

#[tokio::test]
async fn gitlab_login_on_a_self_managed_base_url() {
    let fake = fake_oidc::start(OidcConfig {
        client_auth: TokenAuth::Basic,
        ..OidcConfig::new()
    })
    .await;
    let cfg = fake.config();
    let gitlab = || GitLab::new(&cfg.client_id, &cfg.client_secret).base_url(fake.issuer());
    let who = whoami_after_login(gitlab(), "gitlab").await;
    assert_whoami(
        &who,
        json!({"provider": "gitlab", "user_id": "248289761001", "name": "Jane Doe",
               "email": "janedoe@example.com"}),
    );
    assert_clean_login_with_scope(&fake, "openid email profile");

    assert_replayed_code_refused(gitlab(), "gitlab").await;
    refused_login(
        GitLab::new(&cfg.client_id, "wrong").base_url(fake.issuer()),
        "gitlab",
        502,
        "provider_error",
    )
    .await;
}
