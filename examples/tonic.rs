//! A gRPC service (tonic) behind `SocialAuthLayer`, reading the caller's identity from the
//! bearer token it sends as gRPC metadata, `authorization: Bearer <token>` (see
//! `examples/tonic/app.rs`: prost-derived messages and tonic's building blocks, no protoc).
//!
//! ```sh
//! cargo run --example tonic --features dev-provider
//! ```
//!
//! It starts the embedded dev provider (approving every login as Ada), serves the greeter
//! and the auth routes on one port, signs in through the layer to get an identity token
//! from `GET /auth/token`, then calls `SayHello` once without and once with the token.

#[path = "tonic/app.rs"]
mod app;

use socialauth::dev_provider::DevProvider;
use socialauth::SocialAuthLayer;

#[tokio::main]
async fn main() -> Result<(), app::Error> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).expect("system randomness");
    let dev = DevProvider::start("127.0.0.1:0".parse()?)
        .await?
        .sign_in_as("Ada", "ada@example.com");
    let auth = SocialAuthLayer::builder()
        .secret(key)
        .provider(dev.oidc())
        // API clients get their bearer token from `GET /auth/token` (off by default).
        .token_endpoint(true)
        .build()?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("greeter (gRPC) and auth routes on {base}");
    tokio::spawn(app::serve(listener, auth));

    let token = app::sign_in(&base).await?;
    println!("signed in through {base}/auth/dev; GET /auth/token gave a bearer token");

    let channel = app::connect(&base).await?;
    for (label, token) in [("without a token", None), ("with the token", Some(&*token))] {
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
