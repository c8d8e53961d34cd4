//! The demo: sign in on a fresh machine, with no app registered anywhere and no network.
//!
//! ```sh
//! cargo run --example demo --features axum,dev-provider
//! ```
//!
//! Then open <http://127.0.0.1:3000> and press "Sign in with Dev": the embedded dev provider
//! (a real OpenID Connect provider on another loopback port) asks for any name and email.
//!
//! Real providers are added when their credentials are in the environment or in `.env`:
//!
//! | Provider | Settings | Callback URL to register |
//! |---|---|---|
//! | Twitter | `TWITTER_CONSUMER_KEY`, `TWITTER_CONSUMER_SECRET` | `http://127.0.0.1:3000/auth/twitter` |
//! | Facebook | `FACEBOOK_APP_ID`, `FACEBOOK_APP_SECRET` | `http://127.0.0.1:3000/auth/facebook` |
//! | GitHub | `GITHUB_CLIENT_ID`, `GITHUB_CLIENT_SECRET` | `http://127.0.0.1:3000/auth/github` |
//! | Google | `GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET` | `http://127.0.0.1:3000/auth/google` |
//! | any OpenID Connect issuer | `OIDC_ISSUER`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` | `http://127.0.0.1:3000/auth/oidc` |
//!
//! Also: `SOCIALAUTH_SECRET` (32+ random bytes; without it a random key is used and sign-ins
//! end with the process), `PORT` (default 3000), `DEV_PROVIDER_PORT` (default: any free port).

#[path = "demo/app.rs"]
mod app;
#[path = "demo/env.rs"]
mod env;

use std::net::{Ipv4Addr, SocketAddr};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = env::Settings::load();
    let port = |name: &str, default: u16| -> Result<u16, String> {
        settings.get(name).map_or(Ok(default), |p| {
            p.parse().map_err(|_| format!("{name}={p:?} is not a port"))
        })
    };
    let demo = app::build(app::Config {
        secret: settings.secret(),
        dev_provider_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port("DEV_PROVIDER_PORT", 0)?)),
        providers: app::real_providers(|name| settings.get(name)),
    })
    .await?;

    let listener =
        tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port("PORT", 3000)?)).await?;
    let labels: Vec<&str> = demo.providers.iter().map(|(_, label)| *label).collect();
    println!("providers: {}", labels.join(", "));
    println!("dev provider: {}", demo.dev.issuer());
    println!("socialauth demo: open http://{}", listener.local_addr()?);
    axum::serve(listener, demo.router).await?;
    Ok(())
}
