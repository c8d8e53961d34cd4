//! Logins through the layer with the X, Discord, GitLab, LinkedIn, Slack and Microsoft
//! presets, each against a strict fake of its provider: the whole login, what the provider
//! is sent, and its refusals as the layer's JSON errors.

use crate::common::app::{self, json_of, serve_with, IDENTITY_COOKIE};
use crate::common::browser::{query_param, with_param, Browser};
use crate::common::fake_discord::{self, DiscordConfig, FakeDiscord};
use crate::common::fake_oidc::{self, FakeOidc, OidcConfig, TokenAuth};
use crate::common::fake_x::{self, FakeX, XConfig};
use crate::common::harness::{self, Fake};
use crate::common::server;
use serde_json::{json, Value};
use socialauth::{
    Denied, Discord, GitLab, Grant, LinkedIn, Microsoft, Slack, SocialAuthLayer, UserProfile,
    SLACK_TEAM_ID, X,
};
use std::sync::Arc;

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

/// Checks each field of `expected` in the `/whoami` answer `who`.
fn assert_whoami(who: &Value, expected: Value) {
    for (field, value) in expected.as_object().expect("an object of fields") {
        assert_eq!(&who[field.as_str()], value, "{field} in {who}");
    }
}

/// The fake refused none of the login's requests, and the login asked for `scope`.
fn assert_clean_login_with_scope<P: harness::Provider>(fake: &Fake<P>, scope: &str) {
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    let params = fake.last_authorize_params();
    assert_eq!(server::param(&params, "scope"), Some(scope), "{params:?}");
}

/// A login through `provider` at `/auth/<route>` that the layer refuses with `status` and
/// the JSON error `error`: the browser it went through.
async fn refused_login(
    provider: impl Into<socialauth::Provider>,
    route: &str,
    status: u16,
    error: &str,
) -> Browser {
    let (browser, visit, _) = app::login_with(provider, route).await;
    visit.assert_error(status, error);
    browser
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

fn oidc_config(client_auth: TokenAuth) -> OidcConfig {
    OidcConfig {
        client_auth,
        ..OidcConfig::new()
    }
}

/// The test app behind a layer with `provider` and an authorize hook admitting only users
/// whose profile claim `claim` is `value`: its base URL.
async fn serve_admitting(
    provider: impl Into<socialauth::Provider>,
    claim: &'static str,
    value: &'static str,
) -> String {
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(provider)
        .authorize(move |user: UserProfile| async move {
            if user.claim(claim).and_then(Value::as_str) == Some(value) {
                Ok(Grant::new().claim("admitted", value))
            } else {
                Err(Denied::new("not your workspace"))
            }
        })
        .build()
        .expect("valid configuration");
    app::serve_layer(layer).await
}

#[tokio::test]
async fn gitlab_login_on_a_self_managed_base_url() {
    let fake = fake_oidc::start(oidc_config(TokenAuth::Basic)).await;
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

#[tokio::test]
async fn linkedin_login_with_client_secret_post_and_a_string_email_verified() {
    let fake = fake_oidc::start(oidc_config(TokenAuth::Post)).await;
    fake.set_extra_claims(json!({"email_verified": "true"}));
    let cfg = fake.config();
    let linkedin = || LinkedIn::new(&cfg.client_id, &cfg.client_secret).issuer_url(fake.issuer());
    let who = whoami_after_login(linkedin(), "linkedin").await;
    assert_whoami(
        &who,
        json!({"provider": "linkedin", "user_id": "248289761001",
               "email": "janedoe@example.com"}),
    );
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());

    fake.set_user_denies(true);
    refused_login(linkedin(), "linkedin", 401, "access_denied").await;
}

#[tokio::test]
async fn slack_workspace_reaches_the_authorize_hook() {
    let fake = fake_oidc::start(oidc_config(TokenAuth::Post)).await;
    fake.set_extra_claims(json!({SLACK_TEAM_ID: "T0123ABCD", "https://slack.com/user_id": "U1"}));
    let cfg = fake.config();
    let slack = || Slack::new(&cfg.client_id, &cfg.client_secret).issuer_url(fake.issuer());

    let base = serve_admitting(slack(), SLACK_TEAM_ID, "T0123ABCD").await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/slack?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "slack");

    let other_workspace = serve_admitting(slack(), SLACK_TEAM_ID, "T9999").await;
    let visit = Browser::new()
        .follow(&format!("{other_workspace}/auth/slack?login=start"))
        .await;
    visit.assert_error(403, "forbidden");
}

/// A fake Entra ID answering for `authority` (`common`, `organizations`), its user in
/// `tenant`.
async fn fake_entra(authority: &str, tenant: &str) -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig {
        issuer_path: format!("/{authority}/v2.0"),
        ..oidc_config(TokenAuth::Basic)
    })
    .await;
    fake.set_tenant(Some(tenant));
    fake
}

fn microsoft_for(fake: &FakeOidc, tenant: &str) -> Microsoft {
    let cfg = fake.config();
    Microsoft::new(tenant, &cfg.client_id, &cfg.client_secret).authority_url(&fake.base_url)
}

#[tokio::test]
async fn microsoft_multi_tenant_login_checks_the_issuer_with_the_tokens_own_tenant() {
    let fake = fake_entra("common", "tenant-a").await;
    let who = whoami_after_login(
        microsoft_for(&fake, "common").allowed_tenants(["tenant-a"]),
        "microsoft",
    )
    .await;
    assert_whoami(
        &who,
        json!({"provider": "microsoft", "user_id": "248289761001", "name": "Jane Doe"}),
    );
    assert_eq!(
        who["email"],
        Value::Null,
        "Entra ID's email is never a verified one, even with email_verified"
    );
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());

    // Any tenant by default; the tenant reaches the authorize hook.
    let base = serve_admitting(microsoft_for(&fake, "common"), "tid", "tenant-a").await;
    let visit = Browser::new()
        .follow(&format!("{base}/auth/microsoft?login=start"))
        .await;
    assert_eq!(visit.status, 200, "{}", visit.body);
}

#[tokio::test]
async fn microsoft_refuses_a_tenant_not_allowed_and_a_forged_tenant_issuer() {
    let fake = fake_entra("organizations", "tenant-b").await;
    let browser = refused_login(
        microsoft_for(&fake, "organizations").allowed_tenants(["tenant-a"]),
        "microsoft",
        401,
        "login_failed",
    )
    .await;
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);

    // A token whose `iss` names another tenant than its `tid` is refused.
    let base_url = fake.base_url.clone();
    fake.set_id_token_claims(Some(Arc::new(move |claims: &Value| {
        let mut claims = claims.clone();
        claims["iss"] = json!(format!("{base_url}/tenant-a/v2.0"));
        claims.to_string()
    })));
    refused_login(
        microsoft_for(&fake, "organizations"),
        "microsoft",
        401,
        "login_failed",
    )
    .await;
}
