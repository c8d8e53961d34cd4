//! API clients with access tokens an OpenID Connect provider nobody here wrote issued:
//! panva's `oidc-provider` (OpenID Certified), configured for one API (its resource
//! indicators feature, RFC 8707) that gets RFC 9068 JWT access tokens for one client and
//! opaque ones for another, both by the client credentials grant, and serving token
//! introspection (RFC 7662). The tokens reach an axum route and the tonic example's greeter
//! as an `Identity` with their scopes and client; an opaque token is introspected once for
//! many requests.
//!
//! Needs `node` and `npm` (see `common::oidc_provider`).

use tonic::Code;

use crate::common::app;
use crate::common::oidc_provider::OidcProvider;
use crate::common::server;
use crate::tonic_app;
use socialauth::{AccessTokens, Oidc, SocialAuthLayer};

/// The layer's client (which introspects).
const CLIENT_ID: &str = "socialauth:interop:api";
const CLIENT_SECRET: &str = "api secret +/%&=:?# 0123456789abcdef";
/// Services holding their own credentials at the provider: JWT and opaque access tokens.
const JWT_SERVICE: &str = "service:jwt";
const OPAQUE_SERVICE: &str = "service:opaque";
const SERVICE_SECRET: &str = "service secret 0123456789abcdef";

/// oidc-provider with the greeter as its API, and the layer built for it.
async fn start() -> (OidcProvider, SocialAuthLayer) {
    let env = [
        ("OIDC_CLIENT_ID", CLIENT_ID.to_owned()),
        ("OIDC_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        (
            "OIDC_REDIRECT_URIS",
            "http://127.0.0.1:1/auth/oidc".to_owned(),
        ),
        ("OIDC_RESOURCE", tonic_app::GREETER.to_owned()),
        ("OIDC_RESOURCE_SCOPES", "greet api:read".to_owned()),
        ("OIDC_SERVICE_CLIENT_ID", JWT_SERVICE.to_owned()),
        ("OIDC_OPAQUE_CLIENT_ID", OPAQUE_SERVICE.to_owned()),
        ("OIDC_SERVICE_CLIENT_SECRET", SERVICE_SECRET.to_owned()),
    ];
    let provider = OidcProvider::start(&env).await;
    let layer = SocialAuthLayer::builder()
        .secret(app::SECRET)
        .provider(
            Oidc::new(&provider.issuer, CLIENT_ID, CLIENT_SECRET)
                .access_tokens(AccessTokens::jwt_or_introspection(tonic_app::GREETER)),
        )
        .build()
        .expect("a valid configuration");
    (provider, layer)
}

/// An access token for the greeter granting `scope`, from oidc-provider's token endpoint by
/// the client credentials grant, for `service`.
async fn access_token(provider: &OidcProvider, service: &str, scope: &str) -> String {
    let token_url = format!("{}/token", provider.issuer);
    tonic_app::client_credentials(
        &token_url,
        service,
        SERVICE_SECRET,
        tonic_app::GREETER,
        scope,
    )
    .await
    .expect("oidc-provider issues the token")
}

/// `GET /grant` of the app with `token`: the status and the JSON body.
async fn grant(base: &str, token: &str) -> (u16, serde_json::Value) {
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{base}/grant"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let body = answer.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or_default())
}

#[tokio::test]
async fn oidc_provider_access_tokens_reach_an_axum_route_and_the_tonic_greeter() {
    let (provider, layer) = start().await;
    let base = format!(
        "http://{}",
        server::serve(app::axum_app().layer(layer.clone())).await
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let greeter = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(tonic_app::serve(listener, layer));
    let channel = tonic_app::connect(&greeter).await.unwrap();

    // A JWT access token (RFC 9068), verified with oidc-provider's keys.
    let jwt = access_token(&provider, JWT_SERVICE, "greet api:read").await;
    assert_eq!(jwt.matches('.').count(), 2, "a JWT: {jwt:.20}");
    let (status, body) = grant(&base, &jwt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["method"], "ProviderAccessToken");
    assert_eq!(body["user_id"], JWT_SERVICE);
    assert_eq!(body["client_id"], JWT_SERVICE);
    assert_eq!(body["scopes"], serde_json::json!(["greet", "api:read"]));
    let hello = tonic_app::call_say_hello(channel.clone(), "Ada", Some(&jwt))
        .await
        .unwrap();
    assert_eq!(
        hello,
        format!(
            "hello, Ada (oidc:{JWT_SERVICE}) by client {JWT_SERVICE} with scopes greet api:read"
        )
    );
    assert_eq!(
        provider.introspections().await,
        0,
        "a JWT is not introspected"
    );

    // An opaque token: introspected once for all these requests, through both servers.
    let opaque = access_token(&provider, OPAQUE_SERVICE, "greet").await;
    assert_ne!(opaque.matches('.').count(), 2, "opaque");
    for _ in 0..10 {
        let (status, body) = grant(&base, &opaque).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["client_id"], OPAQUE_SERVICE);
        assert_eq!(body["scopes"], serde_json::json!(["greet"]));
    }
    for _ in 0..5 {
        let hello = tonic_app::call_say_hello(channel.clone(), "Ada", Some(&opaque))
            .await
            .unwrap();
        assert!(hello.ends_with("with scopes greet"), "{hello}");
    }
    assert_eq!(provider.introspections().await, 1);

    // Tokens without the greeter's scope, and tokens oidc-provider did not issue.
    let narrow = access_token(&provider, JWT_SERVICE, "api:read").await;
    let status = tonic_app::call_say_hello(channel.clone(), "Ada", Some(&narrow))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let mut forged = jwt.clone();
    forged.truncate(jwt.len() - 4);
    forged.push_str("AAAA");
    let unknown = "made-up-opaque-token-oidc-provider-never-issued";
    for token in [forged.as_str(), unknown] {
        let (status, _) = grant(&base, token).await;
        assert_eq!(status, 401, "{token:.30}");
        let status = tonic_app::call_say_hello(channel.clone(), "Ada", Some(token))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    assert_eq!(
        provider.introspections().await,
        2,
        "the unknown token was introspected once, for both servers"
    );
}
