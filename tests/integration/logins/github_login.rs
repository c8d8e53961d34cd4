//! GitHub logins through the layer, against a strict fake GitHub (state, PKCE, redirect URI,
//! single-use codes, client authentication, GitHub's 200-with-error refusals), and the
//! generic `OAuth2` provider with both kinds of client authentication.

use crate::common::app::{self, github_for, json_of, serve_with, IDENTITY_COOKIE};
use crate::common::browser::{query_param, with_param, Browser};
use crate::common::fake_github::{self, Endpoint, FakeGitHub, GitHubConfig, TokenAuth};
use crate::common::fault::Fault;
use crate::common::server;
use http::header::SET_COOKIE;
use socialauth::{ClientAuth, GitHub, OAuth2, SocialAuthLayer};

#[tokio::test]
async fn github_login_then_whoami() {
    let fake = fake_github::start(GitHubConfig::new()).await;
    let (browser, visit, base) = app::login_with(github_for(&fake), "github").await;
    let statuses: Vec<u16> = visit.hops.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [303, 302, 303, 200], "{:?}", visit.hops);
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());

    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "github");
    assert_eq!(who["user_id"], "583231", "the numeric id becomes a string");
    assert_eq!(who["name"], "The Octocat");
    assert_eq!(
        who["email"], "octo.primary@example.com",
        "the primary verified address of /user/emails, not /user's public one"
    );

    // The authorize request: this route as redirect_uri, the default scope, state and PKCE.
    let params = fake.last_authorize_params();
    assert_eq!(
        server::param(&params, "redirect_uri"),
        Some(format!("{base}/auth/github").as_str())
    );
    assert_eq!(
        server::param(&params, "scope"),
        Some("read:user user:email")
    );
    assert_eq!(
        server::param(&params, "code_challenge_method"),
        Some("S256")
    );
    // GitHub documents client_secret_post; the API is asked for its own media type.
    assert_eq!(fake.token_auth_seen(), [TokenAuth::Post]);
    assert_eq!(
        fake.api_accept_seen(),
        ["application/vnd.github+json", "application/vnd.github+json"]
    );
    assert_eq!(fake.calls(Endpoint::Emails), 1);
}

#[tokio::test]
async fn enterprise_base_url_serves_web_and_api_from_one_host() {
    let fake = fake_github::start(GitHubConfig::new()).await;
    let cfg = fake.config();
    let provider = GitHub::new(&cfg.client_id, &cfg.client_secret)
        .name("ghe")
        .enterprise_base_url(&fake.base_url);
    let (browser, visit, base) = app::login_with(provider, "ghe").await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "ghe");
    assert_eq!(who["user_id"], "583231");
}

#[tokio::test]
async fn without_a_public_email_or_name_the_primary_verified_email_and_login_are_used() {
    let fake = fake_github::start(GitHubConfig {
        public_email: None,
        name: None,
        ..GitHubConfig::new()
    })
    .await;
    let (browser, visit, base) = app::login_with(github_for(&fake), "github").await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["email"], "octo.primary@example.com");
    assert_eq!(who["name"], "octocat");
    assert_eq!(fake.calls(Endpoint::Emails), 1);
}

/// `/whoami` after a GitHub login against a fake GitHub configured with `cfg`.
async fn whoami_with(cfg: GitHubConfig) -> serde_json::Value {
    let fake = fake_github::start(cfg).await;
    let (browser, visit, base) = app::login_with(github_for(&fake), "github").await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    json_of(&browser.follow(&format!("{base}/whoami")).await.body)
}

#[tokio::test]
async fn the_public_profile_email_is_never_the_identitys() {
    // GitHub lists the public email as unverified, and no other address is verified.
    let mut cfg = GitHubConfig::new();
    for email in &mut cfg.emails {
        email.verified = false;
    }
    let who = whoami_with(cfg).await;
    assert_eq!(who["user_id"], "583231");
    assert_eq!(who["email"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_unverified_primary_email_gives_way_to_another_verified_one() {
    let mut cfg = GitHubConfig::new();
    for email in &mut cfg.emails {
        email.verified = email.email == "old@example.com";
    }
    let who = whoami_with(cfg).await;
    assert_eq!(who["email"], "old@example.com");
}

#[tokio::test]
async fn without_the_user_email_scope_the_login_succeeds_without_an_email() {
    let fake = fake_github::start(GitHubConfig::new()).await;
    let (browser, visit, base) =
        app::login_with(github_for(&fake).scope("read:user"), "github").await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["email"], serde_json::Value::Null);
    assert_eq!(fake.calls(Endpoint::Emails), 1, "asked, and was told 404");
}

#[tokio::test]
async fn a_replayed_code_refused_with_status_200_is_401_login_failed() {
    let fake = fake_github::start(GitHubConfig::new()).await;
    let base = serve_with(github_for(&fake)).await;
    let browser = Browser::new();
    let start = format!("{base}/auth/github?login=start");
    let callback = browser.callback_from(&start).await;
    let first = browser.get(&callback).await;
    assert_eq!(first.status(), 303);
    let used_code = query_param(&callback, "code").unwrap();

    // A second login of this browser, its callback carrying the first one's (used) code:
    // the flow cookie is fresh, so the layer takes the code to GitHub, which answers a used
    // code with `200 {"error":"bad_verification_code"}`.
    let callback = browser.callback_from(&start).await;
    let replayed = with_param(&callback, "code", Some(&used_code));
    let second = browser.get(&replayed).await;
    assert_eq!(second.status(), 401);
    let sets_identity = second.headers().get_all(SET_COOKIE).iter().any(|c| {
        c.to_str()
            .unwrap_or("")
            .starts_with(&format!("{IDENTITY_COOKIE}="))
    });
    assert!(!sets_identity, "a refused login set an identity cookie");
    let body = json_of(&second.text().await.unwrap());
    assert_eq!(body["error"], "login_failed");
    assert!(fake
        .rejections()
        .iter()
        .any(|r| r.contains("bad_verification_code")));
}

#[tokio::test]
async fn a_wrong_client_secret_is_502_provider_error_and_nobody_is_signed_in() {
    // The app's own credentials are wrong: a server-side fault, not the user's failed login.
    let fake = fake_github::start(GitHubConfig::new()).await;
    let provider = GitHub::new(&fake.config().client_id, "not-the-secret")
        .web_base_url(&fake.base_url)
        .api_base_url(fake.api_url());
    let (browser, visit, _) = app::login_with(provider, "github").await;
    visit.assert_error(502, "provider_error");
    assert!(!visit.body.contains("incorrect"), "provider text reflected");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
    assert_eq!(fake.calls(Endpoint::User), 0);
}

#[tokio::test]
async fn token_endpoint_5xx_html_and_garbage_are_502_provider_error() {
    let fake = fake_github::start(GitHubConfig::new()).await;
    let base = serve_with(github_for(&fake)).await;
    for fault in [
        Fault::Status(500, r#"{"error":"server_error"}"#.into()),
        Fault::Html,
        Fault::Garbage,
    ] {
        fake.set_fault(Endpoint::Token, fault.clone());
        let browser = Browser::new();
        let visit = browser
            .follow(&format!("{base}/auth/github?login=start"))
            .await;
        visit.assert_error(502, "provider_error");
        assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
    }
}

#[tokio::test]
async fn cancelling_at_github_is_401_access_denied() {
    let fake = fake_github::start(GitHubConfig::new()).await;
    fake.set_user_denies(true);
    let (_, visit, _) = app::login_with(github_for(&fake), "github").await;
    visit.assert_error(401, "access_denied");
    assert_eq!(fake.calls(Endpoint::Token), 0);
}

#[tokio::test]
async fn extra_authorize_params_reach_github_and_reserved_ones_are_refused_at_build() {
    let fake = fake_github::start(GitHubConfig::new()).await;
    app::login_with(
        github_for(&fake).authorize_param("allow_signup", "false"),
        "github",
    )
    .await;
    assert_eq!(
        server::param(&fake.last_authorize_params(), "allow_signup"),
        Some("false")
    );

    let refused = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(GitHub::new("id", "secret").authorize_param("state", "fixed"))
        .build();
    assert!(refused.is_err());
}

// ---- The generic OAuth2 provider, pointed at the fake GitHub -------------------------

/// A secret that form-urlencoding changes, so a client that skips RFC 6749 §2.3.1's
/// encoding step (or double-encodes) fails.
const AWKWARD_SECRET: &str = "gh secret:+/%é";

/// A fake GitHub whose client secret needs escaping, authenticating the client as `auth`.
async fn with_awkward_secret(auth: TokenAuth) -> FakeGitHub {
    fake_github::start(GitHubConfig {
        client_secret: AWKWARD_SECRET.into(),
        token_auth: auth,
        ..GitHubConfig::new()
    })
    .await
}

fn generic_for(fake: &FakeGitHub) -> OAuth2 {
    let cfg = fake.config();
    OAuth2::new("corp", &cfg.client_id, &cfg.client_secret)
        .authorize_url(format!("{}/login/oauth/authorize", fake.base_url))
        .token_url(format!("{}/login/oauth/access_token", fake.base_url))
        .userinfo_url(format!("{}/user", fake.api_url()))
        .scope("read:user")
        .user_id_field("/id")
        .name_field("/login")
}

#[tokio::test]
async fn generic_oauth2_with_client_secret_basic() {
    let fake = with_awkward_secret(TokenAuth::Basic).await;
    let (browser, visit, base) = app::login_with(generic_for(&fake), "corp").await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    assert!(fake.rejections().is_empty(), "{:?}", fake.rejections());
    assert_eq!(fake.token_auth_seen(), [TokenAuth::Basic]);
    assert_eq!(fake.api_accept_seen(), ["application/json"]);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["provider"], "corp");
    assert_eq!(who["user_id"], "583231");
    assert_eq!(who["name"], "octocat");
    // `/user`'s `email` is the public profile address, which GitHub does not say is verified:
    // without `email_verified_field` it is not the identity's.
    assert_eq!(who["email"], serde_json::Value::Null);
    assert_eq!(
        server::param(&fake.last_authorize_params(), "scope"),
        Some("read:user")
    );
}

#[tokio::test]
async fn generic_oauth2_with_client_secret_post() {
    let fake = with_awkward_secret(TokenAuth::Post).await;
    let provider = generic_for(&fake).client_auth(ClientAuth::Post);
    let (browser, visit, base) = app::login_with(provider, "corp").await;
    assert_eq!(visit.status, 200, "{:?} {}", visit.hops, visit.body);
    assert_eq!(fake.token_auth_seen(), [TokenAuth::Post]);
    let who = json_of(&browser.follow(&format!("{base}/whoami")).await.body);
    assert_eq!(who["user_id"], "583231");
}

#[tokio::test]
async fn generic_oauth2_with_the_wrong_client_auth_is_502_provider_error() {
    // The default is client_secret_basic; this server wants the secret in the body.
    let fake = fake_github::start(GitHubConfig::new()).await;
    let (browser, visit, _) = app::login_with(generic_for(&fake), "corp").await;
    visit.assert_error(502, "provider_error");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
}

#[tokio::test]
async fn generic_oauth2_userinfo_field_of_the_wrong_type_is_502() {
    let fake = fake_github::start(GitHubConfig {
        token_auth: TokenAuth::Basic,
        ..GitHubConfig::new()
    })
    .await;
    // `site_admin` is a boolean: not a name.
    let provider = generic_for(&fake).name_field("/site_admin");
    let (browser, visit, _) = app::login_with(provider, "corp").await;
    visit.assert_error(502, "provider_error");
    assert_eq!(browser.cookie(IDENTITY_COOKIE), None);
}

#[test]
fn generic_oauth2_needs_its_endpoints() {
    let missing = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(OAuth2::new("corp", "id", "secret").token_url("https://sso.example/token"))
        .build();
    assert!(missing.is_err());
}
