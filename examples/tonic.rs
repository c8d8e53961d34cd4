//! A gRPC service (tonic) behind `SocialAuthLayer`, reading the caller's identity from the
//! bearer token it sends as gRPC metadata, `authorization: Bearer <token>` (see
//! `examples/tonic/app.rs`: prost-derived messages and tonic's building blocks, no protoc).
//!
//! ```sh
//! cargo run --example tonic --features dev-provider
//! ```
//!
//! It starts the embedded dev provider (approving every login as Ada), serves the greeter
//! and the auth routes on one port, and calls `SayHello` without a token, with the layer's
//! own bearer token (a login through the layer, then `GET /auth/token`), and with the
//! provider's access token for the greeter, which a service gets from the provider itself
//! with its client credentials (the layer accepts those: `Oidc::access_tokens`).

#[path = "tonic/app.rs"]
mod app;

use socialauth::dev_provider::DevProvider;
use socialauth::{AccessTokens, SocialAuthLayer};

#[tokio::main]
async fn main() -> Result<(), app::Error> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).expect("system randomness");
    let dev = DevProvider::start("127.0.0.1:0".parse()?)
        .await?
        .sign_in_as("Ada", "ada@example.com");
    let auth = SocialAuthLayer::builder()
        .secret(key)
        // The provider's own access tokens for the greeter are bearer tokens too.
        .provider(dev.oidc().access_tokens(AccessTokens::jwt(app::GREETER)))
        // A signed-in browser gets the layer's bearer token from `GET /auth/token` (off by
        // default).
        .token_endpoint(true)
        .build()?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("greeter (gRPC) and auth routes on {base}");
    tokio::spawn(app::serve(listener, auth));

    let token = app::sign_in(&base).await?;
    println!("signed in through {base}/auth/dev; GET /auth/token gave a bearer token");

    // A service holding its own credentials at the provider.
    let token_url = format!("{}/token", dev.issuer());
    let access_token = app::client_credentials(
        &token_url,
        dev.client_id(),
        dev.client_secret(),
        app::GREETER,
        app::GREET,
    )
    .await?;
    println!(
        "a service got an access token for {} from the provider",
        app::GREETER
    );

    let channel = app::connect(&base).await?;
    let calls = [
        ("without a token", None),
        ("with the layer's token", Some(&*token)),
        ("with the provider's access token", Some(&*access_token)),
    ];
    for (label, token) in calls {
        match app::call_say_hello(channel.clone(), "Ada", token).await {
            Ok(message) => println!("SayHello {label}: {message}"),
            Err(status) => println!(
                "SayHello {label}: {:?}: {}",
                status.code(),
                status.message()
            ),
        }
    }
    Ok(())
}
