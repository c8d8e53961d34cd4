//! A provider the crate does not ship, added like any preset: `examples/custom_provider/acme.rs`
//! implements `socialauth::oauth2::CodeFlowProvider` for "Acme", an OAuth 2.0 service with its
//! own profile shape. `tests/logins/custom_provider.rs` logs in through it against a loopback Acme.
//!
//! ```sh
//! ACME_BASE_URL=https://acme.example ACME_CLIENT_ID=... ACME_CLIENT_SECRET=... \
//!   cargo run --example custom_provider --features axum
//! ```
//!
//! Then open <http://127.0.0.1:3000/auth/acme?login=start>.

#[path = "custom_provider/acme.rs"]
mod acme;

use axum::routing::get;
use socialauth::{Identity, SocialAuthLayer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let acme = acme::Acme::new(
        &var("ACME_BASE_URL", "https://acme.example"),
        &var("ACME_CLIENT_ID", "client-id"),
        &var("ACME_CLIENT_SECRET", "client-secret"),
    )?;
    let auth = SocialAuthLayer::builder()
        .secret(var(
            "SOCIALAUTH_SECRET",
            "an example secret, at least 32 bytes long",
        ))
        .provider(acme)
        .build()?;
    let app = axum::Router::new().route("/", get(home)).layer(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("http://127.0.0.1:3000/auth/acme?login=start");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn home(user: Option<Identity>) -> String {
    match user {
        Some(user) => format!(
            "Signed in with Acme as {} ({})",
            user.name().unwrap_or("?"),
            user.user_id()
        ),
        None => "Not signed in: /auth/acme?login=start".to_owned(),
    }
}
