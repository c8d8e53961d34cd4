//! The tonic example's app (`examples/tonic/app.rs`) served as its `main` serves it: a gRPC
//! call is `Unauthenticated` without a bearer token or with a bad one, greets the dev user
//! with the token a login through the layer gave, and greets a service holding the
//! provider's access token for the greeter (client credentials at the dev provider) when
//! the token grants `greet`.

use crate::tonic_app as app;

use socialauth::dev_provider::DevProvider;
use socialauth::{AccessTokens, SocialAuthLayer};
use tonic::Code;

const SECRET: &[u8] = b"tonic example test secret, 32+ bytes long";

/// Serves the greeter behind a layer with the dev provider (approving as Ada); returns the
/// provider (keep it alive) and the server's base URL.
async fn serve(secret: &[u8]) -> (DevProvider, String) {
    let dev = DevProvider::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
        .sign_in_as("Ada", "ada@example.com");
    let auth = SocialAuthLayer::builder()
        .secret(secret)
        .provider(dev.oidc().access_tokens(AccessTokens::jwt(app::GREETER)))
        .token_endpoint(true)
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(app::serve(listener, auth));
    (dev, base)
}

#[tokio::test]
async fn say_hello_needs_the_bearer_token_from_a_login() {
    let (_dev, base) = serve(SECRET).await;
    let channel = app::connect(&base).await.unwrap();

    let anonymous = app::call_say_hello(channel.clone(), "Ada", None).await;
    assert_eq!(anonymous.unwrap_err().code(), Code::Unauthenticated);

    let token = app::sign_in(&base).await.unwrap();
    let message = app::call_say_hello(channel.clone(), "Ada", Some(&token))
        .await
        .unwrap();
    let user_id = message
        .strip_prefix("hello, Ada (dev:")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{message}"));
    assert!(user_id.starts_with("dev-"), "{message}");

    // The same token again: stateless, still good.
    let again = app::call_say_hello(channel, "Ada", Some(&token)).await;
    assert_eq!(again.unwrap(), message);
}

#[tokio::test]
async fn malformed_or_forged_tokens_are_unauthenticated_never_internal() {
    let (_dev, base) = serve(SECRET).await;
    let token = app::sign_in(&base).await.unwrap();
    // The same user's token from a server with another secret.
    let (_other_dev, other_base) = serve(b"another secret, also at least 32 bytes").await;
    let foreign = app::sign_in(&other_base).await.unwrap();

    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let (header, rest) = token.split_once('.').unwrap();
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}", rest);
    let unsigned = format!("{}.", token.rsplit_once('.').unwrap().0);
    let bad = [
        "",
        "not-a-token",
        "a.b.c",
        "...",
        header,
        &flipped,
        &alg_none,
        &unsigned,
        &foreign,
        "Bearer",
        &"x".repeat(10_000),
    ];
    let channel = app::connect(&base).await.unwrap();
    for token in bad {
        let status = app::call_say_hello(channel.clone(), "Ada", Some(token))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{token:.40}: {status:?}"
        );
    }
    // And the good one still works on that channel.
    assert!(app::call_say_hello(channel, "Ada", Some(&token))
        .await
        .unwrap()
        .starts_with("hello, Ada (dev:dev-"));
}

#[tokio::test]
async fn say_hello_greets_a_service_holding_the_providers_access_token() {
    let (dev, base) = serve(SECRET).await;
    let channel = app::connect(&base).await.unwrap();
    let token_url = format!("{}/token", dev.issuer());
    let token = |resource: &'static str, scope: &'static str| {
        let (url, id, secret) = (
            token_url.clone(),
            dev.client_id().to_owned(),
            dev.client_secret().to_owned(),
        );
        async move {
            app::client_credentials(&url, &id, &secret, resource, scope)
                .await
                .unwrap()
        }
    };

    let greet = token(app::GREETER, "greet other").await;
    let message = app::call_say_hello(channel.clone(), "Ada", Some(&greet))
        .await
        .unwrap();
    assert_eq!(
        message,
        "hello, Ada (dev:socialauth-dev) by client socialauth-dev with scopes greet other"
    );
    // Without the scope the greeter wants: permission denied, as the token is valid.
    let narrow = token(app::GREETER, "other").await;
    let status = app::call_say_hello(channel.clone(), "Ada", Some(&narrow))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // A token for another API: not the greeter's, unauthenticated.
    let elsewhere = token("https://elsewhere.example", "greet").await;
    let status = app::call_say_hello(channel, "Ada", Some(&elsewhere))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}
