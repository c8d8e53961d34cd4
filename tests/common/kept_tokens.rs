//! An app keeping the provider's tokens (`keep_provider_tokens`), with fake OpenID Connect
//! providers issuing tokens of enterprise shape and size ([`super::token_shapes`]), on a
//! clock the test moves: what the tests of large provider tokens share (the integration
//! tests, the chunk attacks, headless Chromium behind nginx).

use axum::routing::get;
use axum::Json;
use http::HeaderMap;
use serde_json::json;
use socialauth::{
    CookieBudget, ProviderTokens, ProviderTokensError, SocialAuthLayer, SocialAuthLayerBuilder,
};

use super::app::{axum_app, oidc_for, SECRET};
use super::browser::Browser;
use super::clock::Shifted;
use super::fake_oidc::{self, FakeOidc, OidcConfig};
use super::server;
use super::token_shapes::TokenShape;

/// A budget for a proxy with 16 KiB header buffers (nginx with
/// `large_client_header_buffers 4 16k; proxy_buffer_size 16k;`), as the README advises.
pub const RAISED: CookieBudget = CookieBudget::new()
    .cookie_header(14 * 1024)
    .set_cookie(14 * 1024);

/// Seconds an access token lasts at the fakes.
pub const ACCESS_TOKEN_LIFETIME: u64 = 300;

/// A fake issuing `shape`'s tokens (short random ones for `None`), refresh tokens with every
/// login, and rotating them at every refresh as Entra ID and Keycloak do, the old one still
/// valid.
pub async fn fake(shape: Option<TokenShape>) -> FakeOidc {
    let fake = fake_oidc::start(OidcConfig::new()).await;
    fake.set_token_shape(shape);
    fake.set_refresh_tokens(ACCESS_TOKEN_LIFETIME, true);
    fake.set_refresh_rotation_keeps_old(true);
    fake
}

/// The layer's builder: the test secret, each fake as an OpenID Connect provider of that
/// name, the clock `time`, and `keep_provider_tokens(true)`.
pub fn builder(providers: &[(&str, &FakeOidc)], time: &Shifted) -> SocialAuthLayerBuilder {
    let mut builder = SocialAuthLayer::builder()
        .secret(SECRET)
        .clock(time.clock())
        .keep_provider_tokens(true);
    for (name, fake) in providers {
        builder = builder.provider(oidc_for(fake).name(*name));
    }
    builder
}

/// The test app ([`axum_app`]) with `/tokens`: what a handler gets from [`ProviderTokens`]
/// (what was kept, whether the ID token is available, a valid access token) and how many
/// bytes of `Cookie` header the request carried.
pub fn app() -> axum::Router {
    axum_app().route(
        "/tokens",
        get(|headers: HeaderMap, tokens: ProviderTokens| async move {
            let access_token = tokens.access_token().await?;
            let cookie_bytes: usize = headers
                .get_all(http::header::COOKIE)
                .iter()
                .map(|value| value.len())
                .sum();
            Ok::<_, ProviderTokensError>(Json(json!({
                "kept": format!("{:?}", tokens.kept()?),
                "id_token": tokens.id_token_available(),
                "access_token": access_token.secret(),
                "cookie_bytes": cookie_bytes,
            })))
        }),
    )
}

/// Serves [`app`] behind the layer `builder` makes: its base URL.
pub async fn serve(builder: SocialAuthLayerBuilder) -> String {
    let layer = builder.build().expect("valid configuration");
    format!("http://{}", server::serve(app().layer(layer)).await)
}

/// What a login's answer (the provider's callback) set.
pub struct LoginAnswer {
    pub status: u16,
    /// Every `Set-Cookie` value.
    pub set_cookies: Vec<String>,
}

impl LoginAnswer {
    /// The bytes its `Set-Cookie` header lines take (`set-cookie: <value>\r\n` each).
    pub fn set_cookie_bytes(&self) -> usize {
        self.set_cookies
            .iter()
            .map(|value| "set-cookie: ".len() + value.len() + 2)
            .sum()
    }

    /// The tokens cookies it set (`name=value`, not removals), in order.
    pub fn tokens_cookies(&self) -> Vec<&str> {
        self.set_cookies
            .iter()
            .filter(|value| value.starts_with(super::app::TOKENS_COOKIE))
            .filter(|value| !value.contains("Max-Age=0"))
            .map(String::as_str)
            .collect()
    }
}

/// Signs `browser` in at `base` through the provider `name`: the callback's answer.
pub async fn login(browser: &Browser, base: &str, name: &str) -> LoginAnswer {
    let callback = browser
        .callback_from(&format!("{base}/auth/{name}?login=start"))
        .await;
    let answer = browser.get(&callback).await;
    LoginAnswer {
        status: answer.status().as_u16(),
        set_cookies: answer
            .headers()
            .get_all(http::header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().expect("ASCII").to_owned())
            .collect(),
    }
}

/// `GET /tokens` in `browser`: the status and the JSON body.
pub async fn tokens(browser: &Browser, base: &str) -> (u16, serde_json::Value) {
    let answer = browser.get(&format!("{base}/tokens")).await;
    let status = answer.status().as_u16();
    let body = answer.text().await.unwrap_or_default();
    (status, super::app::json_of(&body))
}

/// Whether `fake`'s userinfo endpoint takes `access_token` (a token it issued, still known).
pub async fn provider_accepts(fake: &FakeOidc, access_token: &str) -> bool {
    let answer = reqwest::Client::new()
        .get(format!("{}/userinfo", fake.issuer()))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo answers");
    answer.status() == 200
}
