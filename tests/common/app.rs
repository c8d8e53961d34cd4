//! The app under test: a small axum (or plain hyper `service_fn`) app behind
//! `SocialAuthLayer`, wired to the fake providers, served on 127.0.0.1.

use std::convert::Infallible;

use axum::routing::get;
use axum::Json;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::json;
use socialauth::{
    Facebook, GitHub, Identity, Oidc, Provider, ProviderTokens, SocialAuthLayer,
    SocialAuthLayerBuilder, Twitter,
};

use super::browser::{query_param, Browser, Visit};
use super::fake_facebook::{self, FacebookConfig, FakeFacebook};
use super::fake_github::FakeGitHub;
use super::fake_oidc::FakeOidc;
use super::fake_twitter::{self, FakeTwitter, TwitterConfig};
use super::server;

/// The secret every test app uses (32 bytes).
pub const SECRET: &[u8] = b"test-secret-test-secret-test-sec";

/// The identity cookie's name.
pub const IDENTITY_COOKIE: &str = "__Host-socialauth";

/// The provider tokens cookie's name (`.keep_provider_tokens(true)`).
pub const TOKENS_COOKIE: &str = "__Host-socialauth-tokens";

/// A running app and the fakes it talks to.
pub struct App {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub twitter: FakeTwitter,
    pub facebook: FakeFacebook,
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Signs a new browser in with the Facebook fake (user 10001): the browser and its
    /// identity cookie.
    pub async fn signed_in(&self) -> (Browser, String) {
        let browser = Browser::new();
        let visit = browser
            .follow(&self.url("/auth/facebook?login=start"))
            .await;
        assert_eq!(visit.status, 200, "login failed: {}", visit.body);
        let cookie = browser.cookie(IDENTITY_COOKIE).expect("an identity cookie");
        (browser, cookie)
    }

    /// Completes a Facebook login in `browser`, keeping every secret value it involves, for
    /// the tests that look for them where they must never be: the callback URL, and each
    /// secret as `(what, value)`.
    pub async fn facebook_login_secrets(
        &self,
        browser: &Browser,
    ) -> (String, Vec<(&'static str, String)>) {
        let callback = browser
            .callback_from(&self.url("/auth/facebook?login=start"))
            .await;
        let flow_cookie = browser
            .cookie_header_for(&self.url("/auth/facebook"))
            .unwrap();
        let param = |name| query_param(&callback, name).unwrap();
        let (code, state) = (param("code"), param("state"));
        assert_eq!(browser.follow(&callback).await.status, 200);
        let secrets = vec![
            ("app secret", self.facebook.config().app_secret.clone()),
            (
                "consumer secret",
                self.twitter.config().consumer_secret.clone(),
            ),
            ("code", code),
            ("state", state),
            ("identity token", browser.cookie(IDENTITY_COOKIE).unwrap()),
            (
                "flow cookie",
                flow_cookie.split_once('=').unwrap().1.to_owned(),
            ),
        ];
        (callback, secrets)
    }

    /// Who `/maybe` says a request with exactly this identity cookie is.
    pub async fn who(&self, cookie: &str) -> String {
        let header = format!("{IDENTITY_COOKIE}={cookie}");
        let answer = Browser::new()
            .get_with_headers(&self.url("/maybe"), &[("cookie", &header)])
            .await;
        answer.text().await.expect("a body")
    }
}

/// Which server stack the layer wraps.
#[derive(Clone, Copy, Debug)]
pub enum Stack {
    Axum,
    Hyper,
}

/// The layer builder the tests start from: both fake providers, the test secret.
pub fn builder(twitter: &FakeTwitter, facebook: &FakeFacebook) -> SocialAuthLayerBuilder {
    let fb = facebook.config();
    let tw = twitter.config();
    SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(
            Twitter::new(&tw.consumer_key, &tw.consumer_secret).api_base_url(&twitter.base_url),
        )
        .provider(
            Facebook::new(&fb.app_id, &fb.app_secret)
                .api_version(&fb.api_version)
                .dialog_base_url(&facebook.base_url)
                .graph_base_url(&facebook.base_url),
        )
}

/// The GitHub preset pointed at `fake`.
pub fn github_for(fake: &FakeGitHub) -> GitHub {
    let cfg = fake.config();
    GitHub::new(&cfg.client_id, &cfg.client_secret)
        .web_base_url(&fake.base_url)
        .api_base_url(fake.api_url())
}

/// An OpenID Connect provider discovering `fake`.
pub fn oidc_for(fake: &FakeOidc) -> Oidc {
    let cfg = fake.config();
    Oidc::new(fake.issuer(), &cfg.client_id, &cfg.client_secret)
}

/// The test app ([`axum_app`]) behind `layer`: its base URL.
pub async fn serve_layer(layer: SocialAuthLayer) -> String {
    let addr = server::serve(axum_app().layer(layer)).await;
    format!("http://{addr}")
}

/// The test app ([`axum_app`]) behind a layer with this one provider: its base URL.
pub async fn serve_with(provider: impl Into<Provider>) -> String {
    let layer = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(provider)
        .build()
        .expect("valid configuration");
    serve_layer(layer).await
}

/// Serves `provider` alone ([`serve_with`]) and signs in through its route `/auth/<route>`
/// in a new browser: the browser, the visit and the app's base URL.
pub async fn login_with(provider: impl Into<Provider>, route: &str) -> (Browser, Visit, String) {
    let base = serve_with(provider).await;
    let browser = Browser::new();
    let visit = browser
        .follow(&format!("{base}/auth/{route}?login=start"))
        .await;
    (browser, visit, base)
}

/// Starts both fakes and an axum app with the default test configuration.
pub async fn start() -> App {
    start_with(Stack::Axum, |b| b).await
}

/// Starts both fakes and an app on `stack`, with the builder adjusted by `configure`.
pub async fn start_with(
    stack: Stack,
    configure: impl FnOnce(SocialAuthLayerBuilder) -> SocialAuthLayerBuilder,
) -> App {
    let twitter = fake_twitter::start(TwitterConfig::new()).await;
    let facebook = fake_facebook::start(FacebookConfig::new()).await;
    let layer = configure(builder(&twitter, &facebook))
        .build()
        .expect("test configuration is valid");
    let addr = match stack {
        Stack::Axum => server::serve(axum_app().layer(layer)).await,
        Stack::Hyper => {
            let service = tower::ServiceBuilder::new()
                .layer(layer)
                .service(tower::service_fn(hyper_app));
            server::serve(service).await
        }
    };
    App {
        base_url: format!("http://{addr}"),
        twitter,
        facebook,
    }
}

fn describe(user: &Identity) -> serde_json::Value {
    json!({
        "provider": user.provider(),
        "tenant": user.tenant(),
        "user_id": user.user_id(),
        "name": user.name(),
        "email": user.email(),
    })
}

/// `/` public, `/whoami` needs a user (extractor), `/maybe` greets either way.
pub fn axum_app() -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { "home" }))
        .route(
            "/whoami",
            get(|user: Identity| async move { Json(describe(&user)) }),
        )
        .route(
            "/provider-token",
            get(|tokens: ProviderTokens| async move {
                tokens
                    .access_token()
                    .await
                    .map(|token| token.secret().to_owned())
            }),
        )
        .route(
            "/session",
            get(|user: Identity| async move {
                user.session_id()
                    .map(|id| id.to_string())
                    .unwrap_or_default()
            }),
        )
        .route(
            "/maybe",
            get(|user: Option<Identity>| async move {
                user.map_or("anonymous".to_owned(), |u| u.user_id().to_owned())
            }),
        )
        .route(
            "/grant",
            get(|user: Identity| async move {
                Json(json!({
                    "method": format!("{:?}", user.auth_method()),
                    "user_id": user.user_id(),
                    "client_id": user.client_id(),
                    "scopes": user.scopes(),
                }))
            }),
        )
}

/// The same app as a plain hyper `service_fn`, reading the extension directly.
async fn hyper_app(req: Request<Incoming>) -> Result<Response<Full<bytes::Bytes>>, Infallible> {
    let identity = req.extensions().get::<Identity>();
    let (status, body) = match (req.uri().path(), identity) {
        ("/whoami", Some(user)) => (200, describe(user).to_string()),
        ("/whoami", None) => (401, r#"{"error":"unauthenticated"}"#.to_owned()),
        ("/maybe", user) => (
            200,
            user.map_or("anonymous".to_owned(), |u| u.user_id().to_owned()),
        ),
        _ => (200, "home".to_owned()),
    };
    let mut response = Response::new(Full::new(bytes::Bytes::from(body)));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    Ok(response)
}

/// The JSON body of a response, or a panic naming what it was.
/// The embedded dev provider and a layer with only it, on the test secret.
#[cfg(feature = "dev-provider")]
pub async fn dev_layer() -> (socialauth::dev_provider::DevProvider, SocialAuthLayer) {
    let dev = socialauth::dev_provider::DevProvider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let auth = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(dev.oidc())
        .build()
        .unwrap();
    (dev, auth)
}

/// A listener on a free loopback port, and its base URL, for an app served as its `main`
/// serves it.
#[cfg(feature = "dev-provider")]
pub async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (listener, base)
}

/// Starts a login at `base`, fills in the dev provider's sign-in form and submits it.
#[cfg(feature = "dev-provider")]
pub async fn dev_sign_in(browser: &Browser, base: &str, name: &str, email: &str) -> Visit {
    let page = browser
        .follow(&format!("{base}/auth/dev?login=start"))
        .await;
    assert_eq!(page.status, 200, "{:?} {}", page.hops, page.body);
    let marker = r#"name="ticket" value=""#;
    let start = page.body.find(marker).expect("a ticket") + marker.len();
    let ticket = &page.body[start..start + page.body[start..].find('"').unwrap()];
    let authorize = page.final_url.split('?').next().unwrap().to_owned();
    browser
        .post_follow(
            &authorize,
            &[("ticket", ticket), ("name", name), ("email", email)],
        )
        .await
}

/// Asserts `response` is the JSON error `code` with `status`.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status(), status, "{}", response.url());
    let body = response.text().await.unwrap();
    assert_eq!(json_of(&body)["error"], code, "{body}");
}

pub fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}
