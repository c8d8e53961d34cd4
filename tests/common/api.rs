//! An API behind the layer for clients holding the provider's own access tokens
//! (`Oidc::access_tokens`): the test app's routes plus guarded API routes, served with the
//! strict fake OpenID Connect provider (its JWT access tokens and its introspection
//! endpoint), on a clock the test moves.

use axum::routing::get;
use socialauth::{AccessTokens, AuthMethod, Oidc, RequireIdentityLayer, SocialAuthLayer};

use super::app::{self, SECRET};
use super::clock::Shifted;
use super::fake_oidc::{self, FakeOidc, OidcConfig};
use super::server;

/// The API's identifier at the provider: the audience its tokens must be for.
pub const API: &str = "https://api.example/orders";

/// The app's routes ([`app::axum_app`]) and:
/// - `/api/orders`: needs the scope `orders:read`;
/// - `/api/either`: the same, but a signed-in browser passes without scopes;
/// - `/api/tokens-only`: needs a provider access token, any scope.
pub fn router() -> axum::Router {
    let orders = axum::Router::new()
        .route("/api/orders", get(|| async { "orders" }))
        .route_layer(RequireIdentityLayer::new().scope("orders:read"));
    let either = axum::Router::new()
        .route("/api/either", get(|| async { "either" }))
        .route_layer(
            RequireIdentityLayer::new()
                .scope("orders:read")
                .scopes_for_access_tokens_only(),
        );
    let tokens_only = axum::Router::new()
        .route("/api/tokens-only", get(|| async { "tokens only" }))
        .route_layer(RequireIdentityLayer::new().accept([AuthMethod::ProviderAccessToken]));
    app::axum_app()
        .merge(orders)
        .merge(either)
        .merge(tokens_only)
}

/// A running API and the fake provider whose tokens it takes. Cheap to clone: every clone
/// calls the same app.
#[derive(Clone)]
pub struct Api {
    pub base_url: String,
    pub fake: FakeOidc,
    pub clock: Shifted,
    client: reqwest::Client,
}

/// Serves [`router`] behind a layer accepting the fake's tokens for [`API`] as `accepted`
/// says (JWTs and introspection by default), with the layer's builder adjusted by
/// `configure`; the provider timeout is 2 s.
pub async fn start_with(
    accepted: impl FnOnce(AccessTokens) -> AccessTokens,
    configure: impl FnOnce(socialauth::SocialAuthLayerBuilder) -> socialauth::SocialAuthLayerBuilder,
) -> Api {
    start_provider(
        OidcConfig::new(),
        |oidc| oidc.access_tokens(accepted(AccessTokens::jwt_or_introspection(API))),
        configure,
    )
    .await
}

/// [`start_with`] a fake configured as `config`, the layer's provider (an `Oidc` on the
/// fake, before any access tokens are accepted) made by `provider`.
pub async fn start_provider(
    config: OidcConfig,
    provider: impl FnOnce(Oidc) -> Oidc,
    configure: impl FnOnce(socialauth::SocialAuthLayerBuilder) -> socialauth::SocialAuthLayerBuilder,
) -> Api {
    let fake = fake_oidc::start(config).await;
    let clock = Shifted::default();
    let builder = SocialAuthLayer::builder()
        .secret(SECRET)
        .provider(provider(app::oidc_for(&fake)))
        .clock(clock.clock())
        .provider_timeout(std::time::Duration::from_secs(2));
    let layer = configure(builder).build().expect("a valid configuration");
    let addr = server::serve(router().layer(layer)).await;
    Api {
        base_url: format!("http://{addr}"),
        fake,
        clock,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .expect("a client"),
    }
}

/// [`start_with`] the defaults.
pub async fn start() -> Api {
    start_with(|accepted| accepted, |builder| builder).await
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `GET path` with `Authorization: Bearer <token>`.
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("the app answers")
    }

    /// `GET path` with this `Authorization` header (or none).
    pub async fn get_authorized(
        &self,
        path: &str,
        authorization: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send().await.expect("the app answers")
    }

    /// A valid RFC 9068 access token for [`API`] granting `scope`.
    pub fn jwt(&self, scope: &str) -> String {
        self.fake
            .jwt_access_token(&self.fake.access_token_claims(API, scope))
    }

    /// A valid opaque access token for [`API`] granting `scope`.
    pub fn opaque(&self, scope: &str) -> String {
        self.fake
            .opaque_access_token(self.fake.active_answer(API, scope))
    }

    /// Who `/maybe` (an `Option<Identity>` route) says a request with `token` is.
    pub async fn who(&self, token: &str) -> String {
        let answer = self.get("/maybe", token).await;
        assert_eq!(answer.status(), 200);
        answer.text().await.expect("a body")
    }
}

impl Api {
    /// `GET path` with each of `tokens` as the bearer token, all at once: the statuses, in
    /// the tokens' order.
    pub async fn get_all(&self, path: &str, tokens: &[String]) -> Vec<u16> {
        let mut requests = tokio::task::JoinSet::new();
        for (at, token) in tokens.iter().enumerate() {
            let (api, path, token) = (self.clone(), path.to_owned(), token.clone());
            requests.spawn(async move { (at, api.get(&path, &token).await.status().as_u16()) });
        }
        let mut statuses = vec![0; tokens.len()];
        while let Some(done) = requests.join_next().await {
            let (at, status) = done.expect("the request task");
            statuses[at] = status;
        }
        statuses
    }
}

/// The `WWW-Authenticate` header of `response`, if any.
pub fn challenge(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
